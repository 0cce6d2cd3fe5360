"""``Logger(name)`` and the rules a Timer follows to log its line.

The line format is ``2038-01-19 03:14:07,000 | DEBUG | name:function:line - message``.
Loggers made by ``Logger(name)`` get one shared handler that prints to stderr
only when no other handler on the record's way up would take it: an
application that configures logging (or pytest's ``caplog``, or
``unittest``'s ``assertLogs``) gets every record exactly once through its own
handlers, and an application that configures nothing still sees the lines.

A Timer never changes a logger's level or handlers. The standard effective
level decides whether it makes a record, with one exception, like the
stdlib's ``lastResort``: when nobody configured logging at all, the line is
printed through the fallback handler anyway.
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
    redirect it. A logger whose level is unset is set to ``DEBUG`` so that its
    lines show out of the box; a level set before (by ``dictConfig``, say) is
    kept. Records propagate as usual, so ``caplog`` and ``assertLogs`` see them.

    :param name: The logger's name.
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


#: Read by Timers on every timing; change it with set_fallback().
is_fallback_enabled = True


def set_fallback(enabled: bool) -> bool:
    """Let Timers print through the fallback handler on their own, or not.

    On by default. The pytest plugin turns it off while pytest runs, so that
    a timing makes a record only when the user asked for DEBUG.

    :param enabled: False: only the standard effective level decides, and a
        record no handler would take is dropped as the stdlib drops it.
    :returns: The previous setting, to restore it.
    """
    global is_fallback_enabled
    previous, is_fallback_enabled = is_fallback_enabled, enabled
    if previous != enabled:
        # Timers remember a quiet logger in its level cache: forget it.
        clear = getattr(logging.Logger.manager, "_clear_cache", None)
        if clear is not None:
            clear()
    return previous


def needs_fallback(logger: logging.Logger, *, is_enabled: bool) -> bool:
    """Whether a Timer's DEBUG record for *logger* goes to the fallback handler
    directly, instead of through ``logger.handle``.

    :param is_enabled: ``logger.isEnabledFor(logging.DEBUG)``.
    """
    if not is_fallback_enabled:
        return False
    if is_enabled:
        # The stdlib's lastResort would drop a DEBUG record nobody takes.
        return not _reaches_a_handler(logger)
    return _nobody_configured(logger)


def print_with_fallback(logger: logging.Logger, record: logging.LogRecord) -> None:
    """Print *record* through the fallback handler, unless *logger*'s filters
    refuse it."""
    if logger.filter(record):
        FALLBACK_HANDLER.handle(record)


def _reaches_a_handler(logger: logging.Logger) -> bool:
    # The fallback handler counts: on the way up, it decides for itself.
    node: logging.Logger | None = logger
    while node is not None:
        if node.handlers:
            return True
        if not node.propagate:
            return False
        node = node.parent
    return False


def _nobody_configured(logger: logging.Logger) -> bool:
    # Everything as the stdlib leaves it, the fallback handler aside. Anything
    # else (a handler, a level, logging.disable) is configuration, which the
    # standard effective level then speaks for.
    root = logging.root
    if (
        root.handlers
        or root.level != logging.WARNING
        or logger.disabled
        or logger.manager.disable >= logging.DEBUG
    ):
        return False
    node: logging.Logger | None = logger
    while node is not None and node is not root:
        if node.level != logging.NOTSET:
            return False
        for handler in node.handlers:
            if handler is not FALLBACK_HANDLER:
                return False
        node = node.parent
    return True
