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
from contextvars import ContextVar, Token
from types import TracebackType
from typing import (
    Any,
    AsyncGenerator,
    Awaitable,
    Callable,
    Final,
    Generator,
    NamedTuple,
    TypeVar,
    cast,
)

from ._clock import Clock, clock_named
from ._log import Logger

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
    measurement = Measurement(name, duration, start, threading.get_ident(), parent)
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


class Timer:
    """Time a block (``with``/``async with``) or every call of a function.

    On exit the duration is logged at DEBUG on the logger named *name* as
    ``executed in 12.345678 ms`` and delivered to the registered receivers.
    The record carries ``timer_name`` and ``timer_duration`` (seconds).

    As a decorator, each call is timed on its own, so one decorated function
    may run in many threads, many asyncio tasks and recursively at once. A
    ``Timer`` object used as a context manager times one block at a time; use
    a new ``Timer(...)`` per block, as in ``with Timer("query"):``.

    After exit, ``name`` and ``_duration`` (seconds, the latest measurement)
    are readable, so subclasses may extend ``__exit__``.

    :param name: The measurement's name, also the logger's name.
    :param clock: ``"wall"`` (default) for elapsed time, or ``"cpu"`` for the
        running thread's CPU time.

    .. versionadded:: 0.1.0
    """

    __slots__ = ("_clock", "_duration", "_logger", "_nested", "_start", "_token", "clock", "name")

    def __init__(self, name: str, *, clock: str = "wall") -> None:
        if not isinstance(name, str) or not name:
            msg = f"a Timer needs a non-empty name, got {name!r}"
            raise TypeError(msg)
        self.name: Final = name
        self.clock: Final = clock
        self._clock: Clock = clock_named(clock)
        self._logger = Logger(name)
        self._start: float | None = None
        self._duration: float | None = None
        self._token: Token[str | None] | None = None
        self._nested: list[tuple[float, Token[str | None] | None]] | None = None

    def __repr__(self) -> str:
        return f"{type(self).__name__}({self.name!r})"

    def __enter__(self: _T) -> _T:
        if self._start is not None:
            self._push_nested()
        if _receivers:
            self._token = _enclosing.set(self.name)
        self._start = self._clock()
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        end = self._clock()
        start = self._start
        if start is None:
            msg = f"Timer {self.name!r} exited without being entered"
            raise TimerError(msg)
        self._duration = duration = end - start
        token = self._token
        if self._nested:
            self._start, self._token = self._nested.pop()
        else:
            self._start = self._token = None
        if token is not None:
            _reset_enclosing(token)
            _deliver(self.name, duration, start, _parent(token))
        if self._logger.isEnabledFor(_DEBUG):
            _emit(self._logger, self.name, duration)

    async def __aenter__(self: _T) -> _T:
        return self.__enter__()

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        self.__exit__(exc_type, exc, traceback)

    def _push_nested(self) -> None:
        # The same object entered again inside itself (recursion through a
        # shared context manager): keep the outer start for its own exit.
        if self._nested is None:
            self._nested = []
        assert self._start is not None
        self._nested.append((self._start, self._token))
        self._token = None

    def __call__(self, func: _F) -> _F:
        """Time every call of *func*; ``async def`` is timed while awaited.

        Generator and async generator functions are timed over the whole
        iteration, from the first item asked for until exhaustion or close,
        including the time the consumer spends between items.
        """
        if not callable(func):
            msg = f"Timer({self.name!r}) decorates functions, got {func!r}"
            raise TypeError(msg)
        if inspect.isasyncgenfunction(func):
            wrapper: Callable[..., Any] = self._wrap_async_generator(func)
        elif inspect.isgeneratorfunction(func):
            wrapper = self._wrap_generator(func)
        elif inspect.iscoroutinefunction(func):
            wrapper = (
                self._wrap_coroutine(func)
                if self._is_plain
                else self._wrap_coroutine_via_exit(func)
            )
        else:
            wrapper = (
                self._wrap_function(func) if self._is_plain else self._wrap_via_exit(func)
            )
        return cast(_F, functools.wraps(func)(wrapper))

    @property
    def _is_plain(self) -> bool:
        cls = type(self)
        return cls.__enter__ is Timer.__enter__ and cls.__exit__ is Timer.__exit__

    def _fresh(self: _T) -> _T:
        # Each call gets its own copy, so a subclass's __exit__ reads the
        # duration of its own call in self._duration.
        clone = copy.copy(self)
        clone._start = clone._token = clone._nested = None
        return clone

    def _wrap_function(self, func: Callable[..., Any]) -> Callable[..., Any]:
        timer, name, clock, logger = self, self.name, self._clock, self._logger

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
                if logger.isEnabledFor(_DEBUG):
                    _emit(logger, name, duration)

        return timed

    def _wrap_coroutine(
        self, func: Callable[..., Awaitable[Any]]
    ) -> Callable[..., Awaitable[Any]]:
        timer, name, clock, logger = self, self.name, self._clock, self._logger

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
                if logger.isEnabledFor(_DEBUG):
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
                        except BaseException as thrown:  # relay what the consumer throws
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


def _reset_enclosing(token: Token[str | None]) -> None:
    try:
        _enclosing.reset(token)
    except ValueError:
        # Exited in another context than it entered (a block spanning a
        # generator's yield, say): that context keeps its own value.
        pass


_EXIT_LINE: Final = Timer.__exit__.__code__.co_firstlineno
