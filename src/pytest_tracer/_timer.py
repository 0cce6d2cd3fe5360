"""``Timer``: time a block or a function and log how long it took.

Each measurement is handed to the registered sinks and receivers (the pytest
plugin is one) and logged at DEBUG on the logger named after the timer. With
DEBUG off and neither sink nor receiver, a measurement costs two clock reads,
one call and a few checks.
"""

from __future__ import annotations

import contextlib
import copy
import functools
import inspect
import logging
import math
import threading
import traceback
from collections.abc import AsyncGenerator, Awaitable, Callable, Generator
from contextvars import ContextVar, Token
from types import TracebackType
from typing import Any, Final, NamedTuple, TypeVar, cast

from ._clock import CLOCK_NAMES, Clock, Clocks, clock_named
from ._log import needs_fallback, print_with_fallback

_F = TypeVar("_F", bound=Callable[..., Any])
_T = TypeVar("_T", bound="Timer")

_DEBUG: Final = logging.DEBUG
#: A key of a logger's level cache (levels are never negative): a timing of
#: that logger logs nothing.
_QUIET: Final = -1
_MESSAGE: Final = "executed in %f ms"
_diagnostics: Final = logging.getLogger("pytest_tracer")
_get_ident: Final = threading.get_ident
_wall: Final = Clocks.wall


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
#: Called with the timer's name and the duration in seconds.
Sink = Callable[[str, float], object]
_new_tuple: Final[Callable[..., Any]] = tuple.__new__

# Rebound, never mutated, so a measurement in flight iterates a stable tuple.
_receivers: tuple[Receiver, ...] = ()
_sinks: tuple[Sink, ...] = ()
# The one sink when there is exactly one (the plugin's): a block's timing
# then reaches it without a call to _finish.
_sink: Sink | None = None
_registry_lock: Final = threading.Lock()
# Guards the frames of Timer objects entered while running (_enter_slowly).
_frames_lock: Final = threading.Lock()
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
    with _registry_lock:
        _receivers = (*_receivers, receiver)


def remove_receiver(receiver: Receiver) -> None:
    """Stop handing measurements to *receiver*.

    :raises ValueError: *receiver* was not added.

    .. versionadded:: 0.1.0
    """
    global _receivers
    with _registry_lock:
        _receivers = _without(_receivers, receiver)
        _failures.pop(id(receiver), None)


def add_sink(sink: Sink) -> None:
    """Call *sink* with (name, seconds) for every timing that finishes from now on.

    The cheap cousin of a receiver, for the pytest plugin: no
    :class:`Measurement`, no thread id, no enclosing timer. A sink is called
    in the thread that ran the timer, right after the timed code; whatever it
    raises is logged on the ``pytest_tracer`` logger and never reaches the
    timed code.
    """
    global _sinks, _sink
    with _registry_lock:
        _sinks = (*_sinks, sink)
        _sink = _sinks[0] if len(_sinks) == 1 else None


def remove_sink(sink: Sink) -> None:
    """Stop calling *sink*.

    :raises ValueError: *sink* was not added.
    """
    global _sinks, _sink
    with _registry_lock:
        _sinks = _without(_sinks, sink)
        _sink = _sinks[0] if len(_sinks) == 1 else None
        _failures.pop(id(sink), None)


_C = TypeVar("_C")


def _without(callables: tuple[_C, ...], unwanted: _C) -> tuple[_C, ...]:
    remaining = list(callables)
    remaining.remove(unwanted)
    return tuple(remaining)


# What a Timer needs, made once per name and clock so that
# `with Timer("query"):` stays cheap: the clock, the logger, the logger's own
# cache of isEnabledFor answers, and the name. Logging clears that cache
# whenever a level changes (setLevel, logging.disable, dictConfig), so a
# cached False can be trusted and anything else is left to isEnabledFor,
# which also honours `disabled`.
_Entry = tuple[Clock, logging.Logger, dict[int, bool], str]
_entries: Final[dict[str, dict[str, _Entry]]] = {name: {} for name in CLOCK_NAMES}
# Entries of Timers made without a clock, which the default clocks decide.
_default_entries: Final[dict[str, _Entry]] = {}
_default_clock: Callable[[str], str] | None = None


def _finish(
    entry: _Entry, start: float, duration: float, token: Token[str | None] | None
) -> None:
    # Every way a timing ends comes here: a block, a decorated function or
    # coroutine, a generator. *token* made the timer the enclosing one when
    # it started, if a receiver was registered then. Never raises, so the
    # timed code's result or exception goes on unchanged. On the hot path the
    # callers skip the call when there is nothing to do: no receiver, no
    # sink, and a logger found quiet before (`_QUIET in levels`).
    name = entry[3]
    for sink in _sinks:  # the plugin's, first: then receivers, then the log line
        try:
            sink(name, duration)
        except Exception:
            _report_failure("sink", sink, name)
    if token is not None:
        _reset_enclosing(token)
        _deliver(name, duration, start, token)
    if _QUIET not in entry[2]:
        _log_timing(entry, duration)


def _deliver(
    name: str, duration: float, start: float, token: Token[str | None]
) -> None:
    if getattr(_delivering, "active", False):
        # Timed inside a receiver: delivering it would call the receiver
        # again, and again, until the stack ran out.
        return
    old = token.old_value
    parent = None if old is Token.MISSING else old
    # tuple.__new__ skips the Python-level __new__ a NamedTuple gets.
    measurement: Measurement = _new_tuple(
        Measurement, (name, duration, start, _get_ident(), parent)
    )
    _delivering.active = True
    try:
        for receiver in _receivers:
            try:
                receiver(measurement)
            except Exception:
                _report_failure("receiver", receiver, name)
    finally:
        _delivering.active = False


# Per thread: whether its receivers are running right now.
_delivering: Final = threading.local()
# How often each sink or receiver failed; only the first failure is logged
# with its traceback, then every tenfold count.
_failures: Final[dict[int, int]] = {}


def _report_failure(kind: str, failed: object, name: str) -> None:
    count = _failures[id(failed)] = _failures.get(id(failed), 0) + 1
    if count == 1:
        _report(
            f"{kind} %r failed on timer %r; the timed code was not affected"
            " (further failures are counted, not logged)",
            failed,
            name,
        )
    elif math.log10(count).is_integer():
        with contextlib.suppress(Exception):
            _diagnostics.error(
                f"{kind} %r has failed %d times (the latest on timer %r)",
                failed,
                count,
                name,
            )


def _log_timing(entry: _Entry, duration: float) -> None:
    logger, name = entry[1], entry[3]
    try:
        is_enabled = logger.isEnabledFor(_DEBUG)
        is_direct = needs_fallback(logger, is_enabled=is_enabled)
        if not (is_enabled or is_direct):
            # Remembered in the logger's own level cache, which logging
            # clears on every level change (set_fallback clears it too); a
            # handler removed later may leave a timer silent, never noisy.
            # `disabled` is not cached by logging, so neither is it here.
            if not logger.disabled:
                entry[2][_QUIET] = True
            return
        # Built by hand rather than through logger.debug(): the record must
        # name Timer.__exit__ whichever way the timer ran (block, decorator,
        # coroutine), and skipping the stack walk of findCaller keeps it cheap.
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
        if is_direct:
            print_with_fallback(logger, record)
        else:
            logger.handle(record)
    except Exception:
        # A handler, filter or formatter of the application's.
        _report("logging failed on timer %r; the timed code was not affected", name)


_warned: Final[set[str]] = set()


def _warn_once(name: str, message: str) -> None:
    if name not in _warned:
        _warned.add(name)
        with contextlib.suppress(Exception):
            _diagnostics.warning(message, name)


def _report(message: str, *args: object) -> None:
    # Called while handling the failure. The failing handler may also sit on
    # the way of "pytest_tracer" (on the root logger, say): then stderr it is.
    try:
        _diagnostics.error(message, *args, exc_info=True)
    except Exception:
        with contextlib.suppress(Exception):
            traceback.print_exc()


def _reset_enclosing(token: Token[str | None]) -> None:
    try:
        _enclosing.reset(token)
    except ValueError:
        # Exited in another context than it entered (a block spanning a
        # generator's yield, say): that context keeps its own value.
        pass
    except RuntimeError:
        # Reset already: a generator's wrapper ends the first turn of the
        # generator's code at its first yield (see _relay_in_turns).
        pass


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


def _entry(name: object, clock: str) -> _Entry:
    if not isinstance(name, str) or not name:
        msg = f"a Timer needs a non-empty name, got {name!r}"
        raise TypeError(msg)
    read = clock_named(clock)
    entry = _entries[clock].get(name)
    if entry is None:
        logger = logging.getLogger(name)
        levels = getattr(logger, "_cache", None)
        # Without that cache (another logging implementation) every check
        # falls through to isEnabledFor.
        entry = (read, logger, levels if isinstance(levels, dict) else {}, name)
        _entries[clock][name] = entry
    return entry


# One running entry of a Timer that needs more than two clock reads: its
# start, the token that made the Timer the enclosing one of its thread or
# task, who entered it (see _owner; None for the first entry, whose owner is
# never asked), and for a CPU clock the thread whose CPU time it reads.
_Frame = tuple[float, "Token[str | None] | None", object, "int | None"]


def _owner() -> object:
    """Who is running: the asyncio task, else the thread."""
    global _running_loop, _current_task
    if _running_loop is None:
        from asyncio import current_task
        from asyncio.events import _get_running_loop

        _running_loop, _current_task = _get_running_loop, current_task
    if _running_loop() is not None:
        task = _current_task()  # type: ignore[misc]
        if task is not None:
            return task
    return _get_ident()


_running_loop: Callable[[], object] | None = None
_current_task: Callable[[], object] | None = None


class Timer:
    """Time a block (``with``/``async with``) or every call of a function.

    On exit the duration is delivered to the registered receivers and logged
    at DEBUG on the logger named *name* as ``executed in 12.345678 ms``. The
    record carries ``timer_name`` and ``timer_duration`` (seconds). The
    logger's effective level decides, as for any record; only when nobody
    configured logging at all is the line printed to stderr anyway. A Timer
    never changes a logger's level or handlers.

    As a decorator, each call is timed on its own, so one decorated function
    may run in many threads, many asyncio tasks and recursively at once. So
    may one ``Timer`` object used as a context manager: a module-level
    ``db_timer = Timer("db")`` entered as ``with db_timer:`` by many threads
    or tasks at once, or recursively, times each block on its own (a little
    slower than a new ``Timer(...)`` per block). A ``clock="cpu"`` block that
    ends on another thread than it started on (a generator resumed
    elsewhere) has no CPU time to tell: it is not recorded, and a warning
    says so once per name.

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
        # The running entries that need more than two clock reads (see
        # _enter_slowly): None until there was one, and for a CPU clock
        # always a list, so that each entry notes its thread.
        self._frames: list[_Frame] | None = None if entry[0] is _wall else []

    @property
    def clock(self) -> str:
        """The clock's name: ``"wall"`` or ``"cpu"``."""
        return "wall" if self._entry[0] is Clocks.wall else "cpu"

    def __repr__(self) -> str:
        return f"{type(self).__name__}({self.name!r})"

    def __enter__(self: _T) -> _T:
        if self._start is not None or self._frames is not None or _receivers:
            self._enter_slowly()
            return self
        self._start = self._entry[0]()
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        entry = self._entry
        end = entry[0]()
        if self._frames:
            self._exit_slowly(entry, end)
            return
        start = self._start
        if start is None:
            msg = (
                f"Timer {self.name!r} exited without being entered: "
                "use it as `with Timer(...):` or call __enter__ first"
            )
            raise TimerError(msg)
        self._start = None
        self._duration = duration = end - start
        # Nothing to do costs no call (see _finish); nor does the plugin's
        # sink alone, with a quiet logger, what most timings under pytest are.
        if _QUIET in entry[2]:
            sink = _sink
            if sink is not None:
                try:
                    sink(entry[3], duration)
                except Exception:
                    _report_failure("sink", sink, entry[3])
                return
            if not _sinks:
                return
        _finish(entry, start, duration, None)

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
        # A receiver needs to know which timer encloses the timers started
        # inside this one; an entry while another runs (recursion, threads,
        # tasks) needs to know who entered, so that each exit finds its own
        # start; a CPU clock needs the thread whose time it reads.
        thread = _get_ident() if self._entry[0] is not _wall else None
        token = _enclosing.set(self.name) if _receivers else None
        # Other threads enter and exit this object too: look and append at
        # once. The clock is read last, as the frame is made.
        with _frames_lock:
            frames = self._frames
            if frames is None:
                frames = self._frames = []
            running = self._start is not None or bool(frames)
            owner = _owner() if running else None
            frames.append((self._entry[0](), token, owner, thread))

    def _exit_slowly(self, entry: _Entry, end: float) -> None:
        with _frames_lock:  # find and take this exit's frame at once
            frames = self._frames
            assert frames
            if len(frames) == 1 and self._start is None:
                index: int | None = 0
            else:
                # Several entries run: this exit's is the newest of its
                # owner's, else the first entry, whose owner was never asked.
                owner = _owner()
                index = next(
                    (
                        i
                        for i in range(len(frames) - 1, -1, -1)
                        if frames[i][2] == owner
                    ),
                    None,
                )
                if index is None and self._start is None:
                    index = next((i for i, f in enumerate(frames) if f[2] is None), 0)
            if index is None:
                start, token, thread = self._start, None, None
                self._start = None
            else:
                start, token, _, thread = frames.pop(index)
        assert start is not None
        if thread is not None and thread != _get_ident():
            # CPU time of one thread minus that of another means nothing.
            if token is not None:
                _reset_enclosing(token)
            _warn_once(
                entry[3],
                "Timer %r (clock='cpu') ended on another thread than it started"
                " on: a CPU time cannot be told, so it was not recorded",
            )
            return
        self._duration = duration = end - start
        if token is not None or _sinks or _QUIET not in entry[2]:
            _finish(entry, start, duration, token)

    def __call__(self, func: _F) -> _F:
        """Time every call of *func*; ``async def`` is timed while awaited.

        Generator and async generator functions are timed over the whole
        iteration, from the first item asked for until exhaustion or close,
        including the time the consumer spends between items. The generator
        is the enclosing timer (:attr:`Measurement.parent`) only while its
        own code runs, not while the consumer's does.

        :raises TypeError: *func* is not callable.
        """
        candidate: object = func
        if isinstance(candidate, (staticmethod, classmethod)):
            # Above @staticmethod or @classmethod: time the function inside
            # and wrap it the same way, so that calls bind as they did.
            return cast(_F, type(candidate)(self(candidate.__func__)))
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
        # Whether the fast wrappers may skip the context manager methods: a
        # subclass overriding any of them gets them called.
        cls = type(self)
        return (
            cls.__enter__ is Timer.__enter__
            and cls.__exit__ is Timer.__exit__
            and cls.__aenter__ is Timer.__aenter__
            and cls.__aexit__ is Timer.__aexit__
        )

    def _fresh(self: _T) -> _T:
        # Each call gets its own copy, so a subclass's __exit__ reads the
        # duration of its own call in self._duration.
        clone = copy.copy(self)
        clone._start = None
        clone._frames = None if self._entry[0] is _wall else []
        return clone

    def _wrap_function(self, func: Callable[..., Any]) -> Callable[..., Any]:
        timer, name, entry = self, self.name, self._entry
        clock, levels = entry[0], entry[2]

        def timed(*args: Any, **kwargs: Any) -> Any:
            token = _enclosing.set(name) if _receivers else None
            start = clock()
            try:
                return func(*args, **kwargs)
            finally:
                timer._duration = duration = clock() - start
                # Nothing to do costs no call (see _finish).
                if token is not None or _sinks or _QUIET not in levels:
                    _finish(entry, start, duration, token)

        return timed

    def _wrap_coroutine(
        self, func: Callable[..., Awaitable[Any]]
    ) -> Callable[..., Awaitable[Any]]:
        timer, name, entry = self, self.name, self._entry
        clock, levels = entry[0], entry[2]

        async def timed(*args: Any, **kwargs: Any) -> Any:
            token = _enclosing.set(name) if _receivers else None
            start = clock()
            try:
                return await func(*args, **kwargs)
            finally:
                timer._duration = duration = clock() - start
                if token is not None or _sinks or _QUIET not in levels:
                    _finish(entry, start, duration, token)

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

    # A generator runs in its consumer's thread and context, in turns: from
    # each resume to the next yield. The copy's __enter__ opened the first
    # turn (made the generator the enclosing timer) if a receiver is
    # registered; the wrappers close each turn at a yield and open the next
    # at the resume, and the copy's __exit__ delivers the measurement with
    # the parent the generator had when it started.

    def _wrap_generator(
        self, func: Callable[..., Generator[Any, Any, Any]]
    ) -> Callable[..., Generator[Any, Any, Any]]:
        name = self.name

        def timed(*args: Any, **kwargs: Any) -> Generator[Any, Any, Any]:
            generator = func(*args, **kwargs)
            timer = self._fresh()
            try:
                with timer:
                    token = _first_turn(timer)
                    if token is None:
                        # yield from relays send(), throw() and close() as
                        # they are, at C speed.
                        return (yield from generator)
                    return (yield from _relay_in_turns(generator, name, token))
            finally:
                self._duration = timer._duration

        return timed

    def _wrap_async_generator(
        self, func: Callable[..., AsyncGenerator[Any, Any]]
    ) -> Callable[..., AsyncGenerator[Any, Any]]:
        name = self.name

        async def timed(*args: Any, **kwargs: Any) -> AsyncGenerator[Any, Any]:
            generator = func(*args, **kwargs)
            timer = self._fresh()
            try:
                async with timer:
                    # An async generator has no "yield from": relay by hand.
                    token = _first_turn(timer)
                    is_tracked = token is not None
                    sent: Any = None
                    thrown: BaseException | None = None
                    while True:
                        try:
                            if thrown is None:
                                item = await generator.asend(sent)
                            else:
                                item = await generator.athrow(thrown)
                        except StopAsyncIteration:
                            return
                        finally:
                            if token is not None:
                                _reset_enclosing(token)
                        thrown = None
                        try:
                            sent = yield item
                        except GeneratorExit:
                            token = _enclosing.set(name) if is_tracked else None
                            try:
                                await generator.aclose()
                            finally:
                                if token is not None:
                                    _reset_enclosing(token)
                            raise
                        except BaseException as error:
                            thrown = error
                        token = _enclosing.set(name) if is_tracked else None
            finally:
                self._duration = timer._duration

        return timed


def _first_turn(timer: Timer) -> Token[str | None] | None:
    frames = timer._frames
    return frames[-1][1] if frames else None


def _relay_in_turns(
    generator: Generator[Any, Any, Any], name: str, token: Token[str | None]
) -> Generator[Any, Any, Any]:
    # What `yield from generator` does, with *name* the enclosing timer only
    # from each resume to the next yield; *token* opened the first turn.
    sent: Any = None
    thrown: BaseException | None = None
    while True:
        try:
            item = generator.send(sent) if thrown is None else generator.throw(thrown)
        except StopIteration as stop:
            return stop.value
        finally:
            _reset_enclosing(token)
        thrown = None
        try:
            sent = yield item
        except GeneratorExit:
            token = _enclosing.set(name)
            try:
                generator.close()
            finally:
                _reset_enclosing(token)
            raise
        except BaseException as error:
            thrown = error
        token = _enclosing.set(name)


_EXIT_LINE: Final = Timer.__exit__.__code__.co_firstlineno
