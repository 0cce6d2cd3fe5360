"""``Timer``: time a block or a function and log how long it took.

Each measurement is logged at DEBUG on the logger named after the timer and
handed to the registered receivers (the pytest plugin is one). With DEBUG off
and no receiver, a measurement costs two clock reads and a level check.
"""

from __future__ import annotations

import copy
import functools
import inspect
import logging
import threading
from collections.abc import AsyncGenerator, Awaitable, Callable, Generator
from contextvars import ContextVar, Token
from types import TracebackType
from typing import Any, Final, NamedTuple, TypeVar, cast

from ._clock import CLOCK_NAMES, Clock, Clocks, clock_named
from ._log import Logger, rearm

_F = TypeVar("_F", bound=Callable[..., Any])
_T = TypeVar("_T", bound="Timer")

_DEBUG: Final = logging.DEBUG
_MESSAGE: Final = "executed in %f ms"
_diagnostics: Final = logging.getLogger("pytest_tracer")


class TimerError(RuntimeError):
    """A Timer was used in a way it cannot support."""


class Measurement(NamedTuple):
    """One finished timing, as handed to receivers.

    .. versionadded:: 0.1.0
    """

    #: The timer's name.
    name: str
    #: How long it took, in seconds.
    duration: float
    #: The clock reading when it started (seconds, arbitrary origin).
    start: float
    #: ``threading.get_ident()`` of the thread that ran it.
    thread_id: int
    #: The name of the timer it ran inside (same thread or task), if any.
    parent: str | None


Receiver = Callable[[Measurement], object]
_new_tuple: Final[Callable[..., Any]] = tuple.__new__

# Rebound, never mutated, so a measurement in flight iterates a stable tuple.
_receivers: tuple[Receiver, ...] = ()
_receivers_lock: Final = threading.Lock()
# The innermost running timer of this thread or task; only kept up to date
# while a receiver is registered, since nothing else reads it.
_enclosing: ContextVar[str | None] = ContextVar("pytest_tracer_enclosing", default=None)


def add_receiver(receiver: Receiver) -> None:
    """Hand every measurement that finishes from now on to *receiver*.

    A receiver is called in the thread that ran the timer, right after the
    timed code. Whatever it raises is logged on the ``pytest_tracer`` logger
    and never reaches the timed code. Timers that started before the first
    receiver was added are not delivered.

    :param receiver: Called with one :class:`Measurement`.

    .. versionadded:: 0.1.0
    """
    global _receivers
    with _receivers_lock:
        _receivers = (*_receivers, receiver)


def remove_receiver(receiver: Receiver) -> None:
    """Stop handing measurements to *receiver*.

    :raises ValueError: *receiver* was not added.

    .. versionadded:: 0.1.0
    """
    global _receivers
    with _receivers_lock:
        remaining = list(_receivers)
        remaining.remove(receiver)
        _receivers = tuple(remaining)


def _deliver(name: str, duration: float, start: float, parent: str | None) -> None:
    # tuple.__new__ skips the Python-level __new__ a NamedTuple gets.
    measurement: Measurement = _new_tuple(
        Measurement, (name, duration, start, threading.get_ident(), parent)
    )
    for receiver in _receivers:
        try:
            receiver(measurement)
        except Exception:
            _diagnostics.exception(
                "receiver %r failed on timer %r; the timed code was not affected",
                receiver,
                name,
            )


def _emit(logger: logging.Logger, name: str, duration: float) -> None:
    # Built by hand rather than through logger.debug(): the record must name
    # Timer.__exit__ whichever way the timer ran (block, decorator, coroutine),
    # and skipping the stack walk of findCaller keeps it cheap.
    record = logger.makeRecord(
        logger.name,
        _DEBUG,
        __file__,
        _EXIT_LINE,
        _MESSAGE,
        (duration * 1000.0,),
        None,
        "__exit__",
        {"timer_name": name, "timer_duration": duration},
    )
    logger.handle(record)


# What a Timer needs besides its name, made once per name and clock so that
# `with Timer("query"):` stays cheap.
#
# Logger.isEnabledFor costs a Python call on every exit. Its answers are kept
# in the logger's own cache, which logging clears whenever a level changes
# (setLevel, logging.disable, dictConfig), so a cached False can be trusted
# and anything else is left to isEnabledFor, which also honours `disabled`.
_Entry = tuple[Clock, logging.Logger, dict[int, bool]]
_entries: Final[dict[str, dict[str, _Entry]]] = {name: {} for name in CLOCK_NAMES}
# Entries of Timers made without a clock, which the default clocks decide.
_default_entries: Final[dict[str, _Entry]] = {}
_default_clock: Callable[[str], str] | None = None


def set_default_clocks(choose: Callable[[str], str] | None) -> None:
    """Choose the clock of Timers made from now on without one, by name.

    The pytest plugin sets it from ``[tool.pytest-tracer.clocks]``.

    :param choose: Maps a timer name to ``"wall"`` or ``"cpu"``; None means
        wall time for every name.

    .. versionadded:: 0.1.0
    """
    global _default_clock
    _default_clock = choose
    _default_entries.clear()


def _default_entry(name: object) -> _Entry:
    choose = _default_clock
    clock = choose(name) if choose is not None and isinstance(name, str) else "wall"
    entry = _entry(name, clock)
    _default_entries[name] = entry  # type: ignore[index]  # _entry checked it
    return entry


# The start of an enclosing entry of the same Timer, and the token that made
# the Timer the enclosing one of its thread or task.
_Frame = tuple["float | None", "Token[str | None] | None"]


def _entry(name: object, clock: str) -> _Entry:
    if not isinstance(name, str) or not name:
        msg = f"a Timer needs a non-empty name, got {name!r}"
        raise TypeError(msg)
    read = clock_named(clock)
    entry = _entries[clock].get(name)
    if entry is None:
        logger = Logger(name)
        levels = getattr(logger, "_cache", None)
        # Without that cache (another logging implementation) every check
        # falls through to isEnabledFor.
        entry = (read, logger, levels if isinstance(levels, dict) else {})
        _entries[clock][name] = entry
    return entry


class Timer:
    """Time a block (``with``/``async with``) or every call of a function.

    On exit the duration is logged at DEBUG on the logger named *name* as
    ``executed in 12.345678 ms`` and delivered to the registered receivers.
    The record carries ``timer_name`` and ``timer_duration`` (seconds).

    As a decorator, each call is timed on its own, so one decorated function
    may run in many threads, many asyncio tasks and recursively at once. A
    ``Timer`` object used as a context manager times one block at a time (or
    blocks nested in one another); use a new ``Timer(...)`` per block, as in
    ``with Timer("query"):``, when blocks may overlap in threads or tasks.

    After exit, ``name`` and ``_duration`` (seconds, the latest measurement)
    are readable, so subclasses may extend ``__exit__``.

    :param name: The measurement's name, also the logger's name.
    :param clock: ``"wall"`` for elapsed time, or ``"cpu"`` for the running
        thread's CPU time. When omitted: wall time, unless
        :func:`set_default_clocks` (``[tool.pytest-tracer.clocks]`` under
        pytest) chose another clock for this name.
    :raises TypeError: *name* is not a non-empty string.
    :raises ValueError: *clock* is not a known clock.

    .. versionadded:: 0.1.0
    """

    __slots__ = ("_duration", "_entry", "_frames", "_start", "name")

    def __init__(self, name: str, clock: str | None = None) -> None:
        # Kept lean: `with Timer("query"):` builds one per block.
        if clock is None:
            try:
                entry = _default_entries[name]
            except (KeyError, TypeError):  # a new name, or not a name at all
                entry = _default_entry(name)
        else:
            entry = _entry(name, clock)
        self.name: Final = name
        self._entry = entry
        self._start: float | None = None
        self._duration: float | None = None
        # One frame per running entry that needs more than two clock reads
        # (see _enter_slowly); empty or None otherwise.
        self._frames: list[_Frame] | None = None

    @property
    def clock(self) -> str:
        """The clock's name: ``"wall"`` or ``"cpu"``."""
        return "wall" if self._entry[0] is Clocks.wall else "cpu"

    def __repr__(self) -> str:
        return f"{type(self).__name__}({self.name!r})"

    def __enter__(self: _T) -> _T:
        if self._start is not None or _receivers:
            self._enter_slowly()
        self._start = self._entry[0]()
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        read, logger, levels = self._entry
        end = read()
        start = self._start
        try:
            self._duration = duration = end - start  # type: ignore[operator]
        except TypeError:
            if start is not None:
                raise
            msg = (
                f"Timer {self.name!r} exited without being entered: "
                "use it as `with Timer(...):` or call __enter__ first"
            )
            raise TimerError(msg) from None
        if self._frames:
            self._exit_slowly(start, duration)  # type: ignore[arg-type]
        else:
            self._start = None
        try:
            is_debug = levels[_DEBUG]
        except KeyError:
            is_debug = True
        if is_debug and _debug_enabled(logger):
            _emit(logger, self.name, duration)

    async def __aenter__(self: _T) -> _T:
        return self.__enter__()

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        self.__exit__(exc_type, exc, traceback)

    def _enter_slowly(self) -> None:
        # Entered again while running (recursion through one shared object)
        # keeps the outer start for the outer exit; a receiver needs to know
        # which timer encloses the timers started inside this one.
        token = _enclosing.set(self.name) if _receivers else None
        if self._frames is None:
            self._frames = []
        self._frames.append((self._start, token))

    def _exit_slowly(self, start: float, duration: float) -> None:
        assert self._frames is not None
        self._start, token = self._frames.pop()
        if token is not None:
            _reset_enclosing(token)
            _deliver(self.name, duration, start, _parent(token))

    def __call__(self, func: _F) -> _F:
        """Time every call of *func*; ``async def`` is timed while awaited.

        Generator and async generator functions are timed over the whole
        iteration, from the first item asked for until exhaustion or close,
        including the time the consumer spends between items.

        :raises TypeError: *func* is not callable.
        """
        candidate: object = func
        if not callable(candidate):
            msg = f"Timer({self.name!r}) decorates functions, got {func!r}"
            raise TypeError(msg)
        wrapper: Callable[..., Any]
        if inspect.isasyncgenfunction(func):
            wrapper = self._wrap_async_generator(func)
        elif inspect.isgeneratorfunction(func):
            wrapper = self._wrap_generator(func)
        elif inspect.iscoroutinefunction(func):
            if self._is_plain:
                wrapper = self._wrap_coroutine(func)
            else:
                wrapper = self._wrap_coroutine_via_exit(func)
        elif self._is_plain:
            wrapper = self._wrap_function(func)
        else:
            wrapper = self._wrap_via_exit(func)
        return cast(_F, functools.wraps(func)(wrapper))

    @property
    def _is_plain(self) -> bool:
        cls = type(self)
        return cls.__enter__ is Timer.__enter__ and cls.__exit__ is Timer.__exit__

    def _fresh(self: _T) -> _T:
        # Each call gets its own copy, so a subclass's __exit__ reads the
        # duration of its own call in self._duration.
        clone = copy.copy(self)
        clone._start = None
        clone._frames = None
        return clone

    def _wrap_function(self, func: Callable[..., Any]) -> Callable[..., Any]:
        timer, name = self, self.name
        clock, logger, levels = self._entry

        def timed(*args: Any, **kwargs: Any) -> Any:
            token = _enclosing.set(name) if _receivers else None
            start = clock()
            try:
                return func(*args, **kwargs)
            finally:
                timer._duration = duration = clock() - start
                if token is not None:
                    _reset_enclosing(token)
                    _deliver(name, duration, start, _parent(token))
                if levels.get(_DEBUG, True) and _debug_enabled(logger):
                    _emit(logger, name, duration)

        return timed

    def _wrap_coroutine(
        self, func: Callable[..., Awaitable[Any]]
    ) -> Callable[..., Awaitable[Any]]:
        timer, name = self, self.name
        clock, logger, levels = self._entry

        async def timed(*args: Any, **kwargs: Any) -> Any:
            token = _enclosing.set(name) if _receivers else None
            start = clock()
            try:
                return await func(*args, **kwargs)
            finally:
                timer._duration = duration = clock() - start
                if token is not None:
                    _reset_enclosing(token)
                    _deliver(name, duration, start, _parent(token))
                if levels.get(_DEBUG, True) and _debug_enabled(logger):
                    _emit(logger, name, duration)

        return timed

    def _wrap_via_exit(self, func: Callable[..., Any]) -> Callable[..., Any]:
        def timed(*args: Any, **kwargs: Any) -> Any:
            timer = self._fresh()
            try:
                with timer:
                    return func(*args, **kwargs)
            finally:
                self._duration = timer._duration

        return timed

    def _wrap_coroutine_via_exit(
        self, func: Callable[..., Awaitable[Any]]
    ) -> Callable[..., Awaitable[Any]]:
        async def timed(*args: Any, **kwargs: Any) -> Any:
            timer = self._fresh()
            try:
                async with timer:
                    return await func(*args, **kwargs)
            finally:
                self._duration = timer._duration

        return timed

    def _wrap_generator(
        self, func: Callable[..., Generator[Any, Any, Any]]
    ) -> Callable[..., Generator[Any, Any, Any]]:
        def timed(*args: Any, **kwargs: Any) -> Generator[Any, Any, Any]:
            generator = func(*args, **kwargs)
            timer = self._fresh()
            try:
                with timer:
                    # yield from relays send(), throw() and close() as they are.
                    return (yield from generator)
            finally:
                self._duration = timer._duration

        return timed

    def _wrap_async_generator(
        self, func: Callable[..., AsyncGenerator[Any, Any]]
    ) -> Callable[..., AsyncGenerator[Any, Any]]:
        async def timed(*args: Any, **kwargs: Any) -> AsyncGenerator[Any, Any]:
            generator = func(*args, **kwargs)
            timer = self._fresh()
            try:
                async with timer:
                    # An async generator has no "yield from": relay by hand.
                    try:
                        item = await generator.__anext__()
                    except StopAsyncIteration:
                        return
                    while True:
                        try:
                            sent = yield item
                        except GeneratorExit:
                            await generator.aclose()
                            raise
                        except BaseException as thrown:
                            try:
                                item = await generator.athrow(thrown)
                            except StopAsyncIteration:
                                return
                        else:
                            try:
                                item = await generator.asend(sent)
                            except StopAsyncIteration:
                                return
            finally:
                self._duration = timer._duration

        return timed


def _parent(token: Token[str | None]) -> str | None:
    old = token.old_value
    return None if old is Token.MISSING else cast("str | None", old)


def _debug_enabled(logger: logging.Logger) -> bool:
    # Reached only when the level cache does not say "off".
    if logger.level == logging.NOTSET:
        rearm(logger)
    return logger.isEnabledFor(_DEBUG)


def _reset_enclosing(token: Token[str | None]) -> None:
    try:  # noqa: SIM105 - suppress() would cost more than the reset
        _enclosing.reset(token)
    except ValueError:
        # Exited in another context than it entered (a block spanning a
        # generator's yield, say): that context keeps its own value.
        pass


_EXIT_LINE: Final = Timer.__exit__.__code__.co_firstlineno
