"""``Logger(name)``: stdlib loggers that print the project's line format.

The line format is ``2038-01-19 03:14:07,000 | DEBUG | name:function:line - message``.
Loggers made here get one shared handler that prints to stderr only when no
other handler on the record's way up would take it: an application that
configures logging (or pytest's ``caplog``, or ``unittest``'s ``assertLogs``)
gets every record exactly once through its own handlers, and an application
that configures nothing still sees the lines.
"""

from __future__ import annotations

import logging
import sys
import threading
from typing import Final

LINE_FORMAT: Final = (
    "%(asctime)s | %(levelname)s | %(name)s:%(funcName)s:%(lineno)d - %(message)s"
)


class FallbackHandler(logging.StreamHandler):  # type: ignore[type-arg]
    """Prints a record only when nothing else on its way up would handle it."""

    def __init__(self) -> None:
        super().__init__()
        self.setFormatter(logging.Formatter(LINE_FORMAT))
        self._last_seen = threading.local()

    @property
    def stream(self) -> object:
        # Resolved at each use, so redirected or captured stderr is honoured.
        return sys.stderr

    @stream.setter
    def stream(self, value: object) -> None:
        pass

    def handle(self, record: logging.LogRecord) -> bool:
        # The handler may sit on a logger and on its parent, and a record
        # climbs the tree in one thread: print it once.
        if getattr(self._last_seen, "record", None) is record:
            return False
        self._last_seen.record = record
        if _another_handler_takes(record):
            return False
        return bool(super().handle(record))


def _another_handler_takes(record: logging.LogRecord) -> bool:
    # Any other handler counts, whatever its level: like logging.lastResort,
    # the fallback is for applications that configured nothing at all, and
    # one whose handlers filter DEBUG out asked not to see these lines.
    logger: logging.Logger | None = logging.getLogger(record.name)
    while logger is not None:
        for handler in logger.handlers:
            if handler is not FALLBACK_HANDLER:
                return True
        if not logger.propagate:
            return False
        logger = logger.parent
    return False


FALLBACK_HANDLER: Final = FallbackHandler()

_made: dict[str, logging.Logger] = {}
_lock = threading.Lock()


def Logger(name: str) -> logging.Logger:  # noqa: N802 - the public name is a noun
    """Return the stdlib logger *name*, set up to print the project's line format.

    The logger is a plain :class:`logging.Logger`, so everything the standard
    library offers applies: set its level to silence it, add handlers to
    redirect it. A logger whose level is unset is set to ``DEBUG`` so that timer
    lines show out of the box; a level set before (by ``dictConfig``, say) is
    kept. Records propagate as usual, so ``caplog`` and ``assertLogs`` see them.

    :param name: The logger's name; a Timer uses its own name.
    """
    logger = _made.get(name)
    if logger is not None:
        return logger
    with _lock:
        logger = logging.getLogger(name)
        if logger.level == logging.NOTSET:
            logger.setLevel(logging.DEBUG)
        if FALLBACK_HANDLER not in logger.handlers:
            logger.addHandler(FALLBACK_HANDLER)
        _made[name] = logger
    return logger


def rearm(logger: logging.Logger) -> None:
    """Set a logger made by :func:`Logger` up again if its level was unset.

    ``unittest``'s ``assertLogs`` restores the level and handlers it found;
    when the first Timer of a name is made inside it, that is an unset level,
    which would silence the timer for good. A level inherited from a parent
    other than the root logger is configuration, and is kept.
    """
    if logger.level != logging.NOTSET or _made.get(logger.name) is not logger:
        return
    parent = logger.parent
    while parent is not None and parent.parent is not None:
        if parent.level != logging.NOTSET:
            return
        parent = parent.parent
    with _lock:
        logger.setLevel(logging.DEBUG)
        if FALLBACK_HANDLER not in logger.handlers:
            logger.addHandler(FALLBACK_HANDLER)
