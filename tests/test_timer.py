from __future__ import annotations

import asyncio
import contextvars
import inspect
import logging
import logging.config
import threading
import time
import traceback
import warnings
from collections.abc import AsyncGenerator, AsyncIterator, Generator, Iterator
from typing import Any, ClassVar

import pytest

import pytest_tracer._timer as timer_module
from pytest_tracer import Measurement, Timer, TimerError, add_receiver, remove_receiver
from pytest_tracer._clock import Clocks
from pytest_tracer._timer import add_sink, remove_sink


def import_test_client() -> Any:
    """Import FastAPI's TestClient, which warns when it finds httpx, not httpx2."""
    with warnings.catch_warnings():
        warnings.filterwarnings(
            "ignore", message="Using `httpx` with", category=UserWarning
        )
        from fastapi.testclient import TestClient
    return TestClient


class FakeClock:
    """A clock that moves only when told to."""

    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now

    def advance(self, seconds: float) -> None:
        self.now += seconds


@pytest.fixture
def fake_clock(monkeypatch: pytest.MonkeyPatch) -> FakeClock:
    """Make timers created in the test read a fake wall clock."""
    clock = FakeClock()
    monkeypatch.setattr(Clocks, "wall", clock)
    # Timers keep what they need per name; start from scratch and forget the
    # fake clock afterwards.
    entries: dict[str, Any] = {}
    monkeypatch.setitem(timer_module._entries, "wall", entries)
    monkeypatch.setattr(timer_module, "_default_entries", {})
    return clock


@pytest.fixture(autouse=True)
def only_own_receivers(monkeypatch: pytest.MonkeyPatch) -> None:
    """Hide receivers and sinks registered outside the test (the pytest plugin's)."""
    monkeypatch.setattr(timer_module, "_receivers", ())
    monkeypatch.setattr(timer_module, "_sinks", ())


@pytest.fixture(autouse=True)
def ask_for_debug(caplog: pytest.LogCaptureFixture) -> None:
    """Under pytest, a timer makes a record only when DEBUG is asked for."""
    # asyncio.run() logs its selector at DEBUG; the tests count timer lines.
    # (Set first: each call also sets caplog's handler level.)
    caplog.set_level(logging.INFO, logger="asyncio")
    caplog.set_level(logging.DEBUG)


@pytest.fixture
def received() -> Iterator[list[Measurement]]:
    got: list[Measurement] = []
    add_receiver(got.append)
    yield got
    remove_receiver(got.append)


@pytest.fixture
def sunk() -> Iterator[list[tuple[str, float, int]]]:
    """What a sink got: name, seconds and the thread it was called in."""
    got: list[tuple[str, float, int]] = []

    def sink(name: str, seconds: float) -> None:
        got.append((name, seconds, threading.get_ident()))

    add_sink(sink)
    yield got
    remove_sink(sink)


@pytest.fixture
def restore_levels() -> Iterator[None]:
    """Put back logger levels and switches a test changes."""
    manager = logging.Logger.manager
    saved = {
        name: (logger.level, logger.disabled)
        for name, logger in manager.loggerDict.items()
        if isinstance(logger, logging.Logger)
    }
    root_level = logging.root.level
    yield
    logging.disable(logging.NOTSET)
    logging.root.setLevel(root_level)
    for name, (level, disabled) in saved.items():
        logger = logging.getLogger(name)
        logger.setLevel(level)
        logger.disabled = disabled


def timer_lines(caplog: pytest.LogCaptureFixture, name: str) -> list[logging.LogRecord]:
    return [record for record in caplog.records if record.name == name]


class TestContextManager:
    def test_exit_logs_the_duration_at_debug_on_the_logger_named_after_the_timer(
        self, caplog: pytest.LogCaptureFixture, fake_clock: FakeClock
    ) -> None:
        with Timer("database_query"):
            fake_clock.advance(1.0)
        assert caplog.record_tuples == [
            ("database_query", logging.DEBUG, "executed in 1000.000000 ms")
        ]

    def test_the_record_names_exit_and_carries_the_timer_fields(
        self, caplog: pytest.LogCaptureFixture, fake_clock: FakeClock
    ) -> None:
        with Timer("query"):
            fake_clock.advance(0.25)
        (record,) = caplog.records
        assert record.funcName == "__exit__"
        assert record.lineno == inspect.getsourcelines(Timer.__exit__)[1]
        assert record.msg == "executed in %f ms"
        assert getattr(record, "timer_name", None) == "query"
        assert getattr(record, "timer_duration", None) == 0.25

    def test_async_with_times_the_block(
        self, caplog: pytest.LogCaptureFixture, fake_clock: FakeClock
    ) -> None:
        async def scenario() -> None:
            async with Timer("async_block") as timer:
                fake_clock.advance(0.5)
            assert timer._duration == 0.5
            assert caplog.record_tuples == [
                ("async_block", logging.DEBUG, "executed in 500.000000 ms")
            ]

        asyncio.run(scenario())

    def test_enter_returns_the_timer_and_name_and_duration_stay_readable(
        self, fake_clock: FakeClock
    ) -> None:
        with Timer("readable") as timer:
            fake_clock.advance(0.002)
        assert timer.name == "readable"
        assert timer._duration == pytest.approx(0.002)
        assert isinstance(timer._duration, float)

    def test_one_object_may_time_one_block_after_another(
        self, fake_clock: FakeClock
    ) -> None:
        timer = Timer("again")
        durations = []
        for seconds in (1.0, 2.0):
            with timer:
                fake_clock.advance(seconds)
            durations.append(timer._duration)
        assert durations == [1.0, 2.0]

    def test_one_object_entered_inside_itself_times_each_level(
        self, fake_clock: FakeClock, received: list[Measurement]
    ) -> None:
        timer = Timer("nested_self")
        with timer:
            fake_clock.advance(1.0)
            with timer:
                fake_clock.advance(2.0)
            assert timer._duration == 2.0
            fake_clock.advance(4.0)
        assert timer._duration == 7.0
        assert [(m.duration, m.parent) for m in received] == [
            (2.0, "nested_self"),
            (7.0, None),
        ]
        with pytest.raises(TimerError, match="exited without being entered"):
            timer.__exit__(None, None, None)

    def test_one_object_entered_inside_itself_without_receivers(
        self, fake_clock: FakeClock
    ) -> None:
        timer = Timer("nested_plain")
        with timer:
            fake_clock.advance(1.0)
            with timer:
                fake_clock.advance(2.0)
            assert timer._duration == 2.0
        assert timer._duration == 3.0
        with timer:
            fake_clock.advance(0.5)
        assert timer._duration == 0.5
        with pytest.raises(TimerError, match="exited without being entered"):
            timer.__exit__(None, None, None)

    def test_repr_and_clock_name(self) -> None:
        assert repr(Timer("shown")) == "Timer('shown')"
        assert Timer("shown").clock == "wall"
        assert Timer("shown", clock="cpu").clock == "cpu"
        assert Timer("shown", clock="cpu").clock == "cpu"

    @pytest.mark.parametrize("name", ["", None, 5, ["a"]])
    def test_a_name_must_be_a_non_empty_string(self, name: Any) -> None:
        with pytest.raises(TypeError, match="a Timer needs a non-empty name, got "):
            Timer(name)

    def test_an_unknown_clock_is_refused_with_the_choices(self) -> None:
        with pytest.raises(ValueError, match="unknown clock 'moon': expected one of"):
            Timer("moon_time", clock="moon")

    def test_a_clock_that_reads_nonsense_is_not_taken_for_a_missing_enter(
        self, fake_clock: FakeClock
    ) -> None:
        timer = Timer("nonsense")
        timer.__enter__()
        fake_clock.now = "later"  # type: ignore[assignment]
        with pytest.raises(TypeError, match="unsupported operand"):
            timer.__exit__(None, None, None)

    def test_exit_without_enter_says_how_to_use_it(self) -> None:
        with pytest.raises(TimerError, match="'lonely' exited without being entered"):
            Timer("lonely").__exit__(None, None, None)

    def test_the_cpu_clock_measures_work_done_by_the_thread(self) -> None:
        with Timer("cpu_work", clock="cpu") as timer:
            sum(i * i for i in range(200_000))
        assert timer._duration is not None
        assert timer._duration > 0


class TestDecorator:
    def test_a_function_is_timed_on_each_call_and_keeps_its_result(
        self, caplog: pytest.LogCaptureFixture, fake_clock: FakeClock
    ) -> None:
        @Timer("process_data")
        def process_data(data: list[int], *, factor: int = 1) -> list[int]:
            fake_clock.advance(0.01)
            return [item * factor for item in data]

        assert process_data([1, 2], factor=3) == [3, 6]
        assert process_data([4]) == [4]
        assert (
            caplog.record_tuples
            == [("process_data", logging.DEBUG, "executed in 10.000000 ms")] * 2
        )

    def test_methods_are_timed_and_see_their_instance(
        self, received: list[Measurement]
    ) -> None:
        class Repository:
            def __init__(self) -> None:
                self.rows: list[str] = []

            @Timer("repository_add")
            def add(self, row: str) -> int:
                self.rows.append(row)
                return len(self.rows)

        repository = Repository()
        assert repository.add("a") == 1
        assert repository.add("b") == 2
        assert repository.rows == ["a", "b"]
        assert [m.name for m in received] == ["repository_add"] * 2

    def test_the_wrapper_looks_like_the_function(self) -> None:
        def original(a: int, b: str = "x", *args: int, c: bool, **kw: float) -> str:
            """Original docstring."""
            return b

        wrapped = Timer("looks_alike")(original)
        assert wrapped.__name__ == "original"
        assert wrapped.__doc__ == "Original docstring."
        assert wrapped.__wrapped__ is original  # type: ignore[attr-defined]
        assert inspect.signature(wrapped) == inspect.signature(original)

    def test_the_decorating_timer_holds_the_latest_duration(
        self, fake_clock: FakeClock
    ) -> None:
        timer = Timer("latest")

        @timer
        def work(seconds: float) -> None:
            fake_clock.advance(seconds)

        work(0.5)
        assert timer._duration == 0.5
        work(0.25)
        assert timer._duration == 0.25

    def test_only_callables_can_be_decorated(self) -> None:
        with pytest.raises(
            TypeError, match=r"Timer\('odd'\) decorates functions, got 3"
        ):
            Timer("odd")(3)  # type: ignore[type-var]


class TestCoroutineFunctions:
    def test_the_wrapper_is_still_a_coroutine_function_with_the_signature(
        self,
    ) -> None:
        async def fetch(user_id: int, *, verbose: bool = False) -> int:
            return user_id

        wrapped = Timer("fetch")(fetch)
        assert inspect.iscoroutinefunction(wrapped)
        assert asyncio.iscoroutinefunction(wrapped)
        assert inspect.signature(wrapped) == inspect.signature(fetch)

    def test_timed_while_awaited_not_when_the_coroutine_is_made(
        self, fake_clock: FakeClock, received: list[Measurement]
    ) -> None:
        async def scenario() -> None:
            @Timer("awaited")
            async def fetch() -> str:
                fake_clock.advance(0.25)
                await asyncio.sleep(0)
                fake_clock.advance(0.25)
                return "done"

            coroutine = fetch()
            fake_clock.advance(10.0)
            assert received == []
            assert await coroutine == "done"
            assert [(m.name, m.duration) for m in received] == [("awaited", 0.5)]

        asyncio.run(scenario())

    def test_fastapi_treats_a_timed_async_endpoint_as_async_and_parses_its_parameters(
        self, caplog: pytest.LogCaptureFixture
    ) -> None:
        from fastapi import FastAPI

        client_type = import_test_client()

        app = FastAPI()

        @app.get("/users/{user_id}")
        @Timer("get_user_endpoint")
        async def get_user(user_id: int, verbose: bool = False) -> dict[str, Any]:
            # Only an endpoint FastAPI awaits runs inside the event loop.
            asyncio.get_running_loop()
            return {"id": user_id, "verbose": verbose}

        caplog.set_level(logging.DEBUG, logger="get_user_endpoint")
        with client_type(app) as client:
            response = client.get("/users/42", params={"verbose": "true"})
            invalid = client.get("/users/forty-two")
        assert response.status_code == 200
        assert response.json() == {"id": 42, "verbose": True}
        assert invalid.status_code == 422
        (record,) = [r for r in caplog.records if r.name == "get_user_endpoint"]
        assert record.levelno == logging.DEBUG
        duration = record.__dict__["timer_duration"]
        assert 0 < duration < 60
        # Only the valid request reached the endpoint, and the line is its own.
        assert record.getMessage() == f"executed in {duration * 1000:f} ms"


class TestGeneratorFunctions:
    def test_a_generator_is_timed_over_the_whole_iteration(
        self, fake_clock: FakeClock, received: list[Measurement]
    ) -> None:
        @Timer("rows")
        def rows(count: int) -> Iterator[int]:
            for row in range(count):
                fake_clock.advance(1.0)
                yield row

        iterator = rows(3)
        fake_clock.advance(100.0)  # before the first item: not timed
        items = []
        for item in iterator:
            items.append(item)
            fake_clock.advance(10.0)  # the consumer's share is timed
        assert items == [0, 1, 2]
        assert [(m.name, m.duration) for m in received] == [("rows", 33.0)]
        assert inspect.isgeneratorfunction(rows)

    def test_send_throw_close_and_return_are_relayed(
        self, received: list[Measurement]
    ) -> None:
        seen: list[object] = []

        @Timer("echo")
        def echo() -> Generator[object, object, None]:
            try:
                value = yield "ready"
                while True:
                    try:
                        value = yield value
                    except KeyError as error:
                        seen.append(error)
                        value = yield "caught"
                    seen.append(value)
            finally:
                seen.append("closed")

        generator = echo()
        assert next(generator) == "ready"
        assert generator.send(1) == 1
        assert generator.throw(KeyError("k")) == "caught"
        assert received == []
        generator.close()
        assert [type(item) for item in seen] == [KeyError, str]
        assert seen[1] == "closed"
        assert [m.name for m in received] == ["echo"]

        @Timer("returns")
        def returns() -> Generator[int, None, str]:
            yield 1
            return "result"

        finishing = returns()
        next(finishing)
        with pytest.raises(StopIteration) as stop:
            next(finishing)
        assert stop.value.value == "result"

    def test_an_uncaught_throw_ends_the_timing_and_propagates(
        self, received: list[Measurement]
    ) -> None:
        @Timer("fragile")
        def fragile() -> Generator[int, None, None]:
            yield 1

        generator = fragile()
        next(generator)
        error = ValueError("thrown")
        with pytest.raises(ValueError, match="thrown") as raised:
            generator.throw(error)
        assert raised.value is error
        assert [m.name for m in received] == ["fragile"]

    def test_an_async_generator_is_timed_over_the_whole_iteration(
        self, fake_clock: FakeClock, received: list[Measurement]
    ) -> None:
        async def scenario() -> None:
            @Timer("stream")
            async def stream(count: int) -> AsyncIterator[int]:
                for row in range(count):
                    fake_clock.advance(1.0)
                    await asyncio.sleep(0)
                    yield row

            iterator = stream(2)
            fake_clock.advance(100.0)
            items = []
            async for item in iterator:
                items.append(item)
                fake_clock.advance(10.0)
            assert items == [0, 1]
            assert [(m.name, m.duration) for m in received] == [("stream", 22.0)]
            assert inspect.isasyncgenfunction(stream)

        asyncio.run(scenario())

    def test_asend_athrow_and_aclose_are_relayed(
        self, received: list[Measurement]
    ) -> None:
        async def scenario() -> None:
            seen: list[object] = []

            @Timer("async_echo")
            async def echo() -> AsyncGenerator[object, object]:
                try:
                    value = yield "ready"
                    while True:
                        try:
                            value = yield value
                        except KeyError as error:
                            seen.append(error)
                            value = yield "caught"
                finally:
                    seen.append("closed")

            generator = echo()
            assert await generator.__anext__() == "ready"
            assert await generator.asend(1) == 1
            assert await generator.asend(2) == 2
            assert await generator.athrow(KeyError("k")) == "caught"
            assert received == []
            await generator.aclose()
            assert isinstance(seen[0], KeyError)
            assert seen[-1] == "closed"
            assert [m.name for m in received] == ["async_echo"]

        asyncio.run(scenario())

    def test_an_empty_async_generator_and_an_uncaught_athrow_end_the_timing(
        self, received: list[Measurement]
    ) -> None:
        async def scenario() -> None:
            @Timer("empty")
            async def empty() -> AsyncIterator[int]:
                return
                yield  # pragma: no cover

            assert [item async for item in empty()] == []

            @Timer("async_fragile")
            async def fragile() -> AsyncGenerator[int, None]:
                yield 1

            generator = fragile()
            await generator.__anext__()
            error = ValueError("thrown")
            with pytest.raises(ValueError, match="thrown") as raised:
                await generator.athrow(error)
            assert raised.value is error
            assert [m.name for m in received] == ["empty", "async_fragile"]

        asyncio.run(scenario())

    def test_a_generator_encloses_only_its_own_code(
        self, received: list[Measurement]
    ) -> None:
        @Timer("producer")
        def produce() -> Iterator[int]:
            with Timer("inside_first"):
                pass
            yield 1
            with Timer("inside_second"):
                pass
            yield 2

        with Timer("outer"):
            iterator = produce()
            assert next(iterator) == 1
            with Timer("between"):
                pass
        with Timer("consumer"):
            assert list(iterator) == [2]
            with Timer("after_exhaustion"):
                pass
        assert [(m.name, m.parent) for m in received] == [
            ("inside_first", "producer"),
            ("between", "outer"),
            ("outer", None),
            ("inside_second", "producer"),
            # Its own parent is what enclosed it when it started.
            ("producer", "outer"),
            ("after_exhaustion", "consumer"),
            ("consumer", None),
        ]

    def test_a_timer_after_a_generator_and_everything_else_finished_has_no_parent(
        self, received: list[Measurement]
    ) -> None:
        @Timer("producer")
        def produce() -> Iterator[int]:
            yield 1
            yield 2

        iterator = produce()
        assert next(iterator) == 1
        with Timer("consumer"):
            assert list(iterator) == [2]
        with Timer("after"):
            pass
        abandoned = produce()
        assert next(abandoned) == 1
        with Timer("after_abandoning"):
            pass
        assert [(m.name, m.parent) for m in received] == [
            ("producer", None),
            ("consumer", None),
            ("after", None),
            ("after_abandoning", None),
        ]

    def test_an_async_generator_encloses_only_its_own_code(
        self, received: list[Measurement]
    ) -> None:
        async def scenario() -> None:
            @Timer("stream")
            async def stream() -> AsyncIterator[int]:
                with Timer("inside_first"):
                    await asyncio.sleep(0)
                yield 1
                with Timer("inside_second"):
                    await asyncio.sleep(0)
                yield 2

            with Timer("outer"):
                iterator = stream()
                assert await iterator.__anext__() == 1
                with Timer("between"):
                    await asyncio.sleep(0)
            with Timer("consumer"):
                assert [item async for item in iterator] == [2]
                with Timer("after_exhaustion"):
                    pass
            with Timer("after"):
                pass

        asyncio.run(scenario())
        assert [(m.name, m.parent) for m in received] == [
            ("inside_first", "stream"),
            ("between", "outer"),
            ("outer", None),
            ("inside_second", "stream"),
            ("stream", "outer"),
            ("after_exhaustion", "consumer"),
            ("consumer", None),
            ("after", None),
        ]

    def test_a_timer_after_an_async_generator_and_everything_else_has_no_parent(
        self, received: list[Measurement]
    ) -> None:
        async def scenario() -> None:
            @Timer("stream")
            async def stream() -> AsyncIterator[int]:
                yield 1
                yield 2

            iterator = stream()
            assert await iterator.__anext__() == 1
            with Timer("consumer"):
                assert [item async for item in iterator] == [2]
            with Timer("after"):
                pass

        asyncio.run(scenario())
        assert [(m.name, m.parent) for m in received] == [
            ("stream", None),
            ("consumer", None),
            ("after", None),
        ]

    def test_a_generator_closed_by_its_consumer_encloses_its_cleanup(
        self, received: list[Measurement]
    ) -> None:
        @Timer("producer")
        def produce() -> Generator[int, None, None]:
            try:
                yield 1
            finally:
                with Timer("cleanup"):
                    pass

        @Timer("stream")
        async def stream() -> AsyncGenerator[int, None]:
            try:
                yield 1
            finally:
                with Timer("async_cleanup"):
                    pass

        async def consume() -> None:
            iterator = stream()
            assert await iterator.__anext__() == 1
            await iterator.aclose()
            with Timer("after_aclose"):
                pass

        generator = produce()
        assert next(generator) == 1
        generator.close()
        with Timer("after_close"):
            pass
        asyncio.run(consume())
        assert [(m.name, m.parent) for m in received] == [
            ("cleanup", "producer"),
            ("producer", None),
            ("after_close", None),
            ("async_cleanup", "stream"),
            ("stream", None),
            ("after_aclose", None),
        ]

    def test_without_receivers_generators_relay_everything_too(
        self, sunk: list[tuple[str, float, int]]
    ) -> None:
        @Timer("plain_echo")
        def echo() -> Generator[object, object, str]:
            value = yield "ready"
            try:
                value = yield value
            except KeyError:
                value = yield "caught"
            return f"done after {value}"

        generator = echo()
        assert next(generator) == "ready"
        assert generator.send(1) == 1
        assert generator.throw(KeyError("k")) == "caught"
        with pytest.raises(StopIteration) as stop:
            generator.send(2)
        assert stop.value.value == "done after 2"

        async def scenario() -> list[object]:
            @Timer("plain_stream")
            async def stream() -> AsyncGenerator[object, object]:
                value = yield "ready"
                try:
                    value = yield value
                except KeyError:
                    yield "caught"

            iterator = stream()
            got = [await iterator.__anext__(), await iterator.asend(1)]
            got.append(await iterator.athrow(KeyError("k")))
            await iterator.aclose()
            return got

        assert asyncio.run(scenario()) == ["ready", 1, "caught"]
        assert [name for name, _, _ in sunk] == ["plain_echo", "plain_stream"]
        assert timer_module._enclosing.get() is None


SLEEPS = (0.01, 0.06, 0.12, 0.2)


def sleep_in_threads_at_once(timer: Timer) -> dict[int, float]:
    """Call a function decorated by *timer* from one thread per SLEEPS entry,
    all released together; return each thread's sleep by thread id."""
    barrier = threading.Barrier(len(SLEEPS))

    @timer
    def work(seconds: float) -> None:
        barrier.wait()
        time.sleep(seconds)

    slept: dict[int, float] = {}

    def run(seconds: float) -> None:
        slept[threading.get_ident()] = seconds
        work(seconds)

    threads = [threading.Thread(target=run, args=(s,)) for s in SLEEPS]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    return slept


class TestConcurrency:
    def test_one_decorated_function_in_many_threads_times_each_call(
        self, received: list[Measurement]
    ) -> None:
        slept = sleep_in_threads_at_once(Timer("threaded"))
        by_sleep = sorted((slept[m.thread_id], m.duration) for m in received)
        assert [s for s, _ in by_sleep] == sorted(SLEEPS)
        durations = [d for _, d in by_sleep]
        assert durations == sorted(durations)
        for seconds, duration in by_sleep:
            assert seconds <= duration < seconds + 5

    def test_one_decorated_coroutine_function_in_many_tasks_times_each_call(
        self, received: list[Measurement]
    ) -> None:
        async def scenario() -> None:
            @Timer("gathered")
            async def work(seconds: float) -> float:
                await asyncio.sleep(seconds)
                return seconds

            async def task(index: int, seconds: float) -> float:
                with Timer(f"task_{index}"):
                    return await work(seconds)

            results = await asyncio.gather(
                *(task(i, s) for i, s in reversed(list(enumerate(SLEEPS))))
            )
            assert sorted(results) == list(SLEEPS)
            inner = {m.parent: m.duration for m in received if m.name == "gathered"}
            assert set(inner) == {f"task_{i}" for i in range(len(SLEEPS))}
            durations = [inner[f"task_{i}"] for i in range(len(SLEEPS))]
            assert durations == sorted(durations)
            for seconds, duration in zip(SLEEPS, durations, strict=True):
                assert seconds <= duration < seconds + 5

        asyncio.run(scenario())

    def test_a_recursive_decorated_function_times_each_level(
        self, received: list[Measurement]
    ) -> None:
        @Timer("recursive")
        def descend(depth: int) -> int:
            time.sleep(0.01)
            return depth if depth == 0 else descend(depth - 1) + 1

        assert descend(3) == 3
        durations = [m.duration for m in received]
        assert len(durations) == 4
        # The innermost call finishes first and each caller outlasts its callee.
        assert durations == sorted(durations)
        for level, duration in enumerate(durations, start=1):
            assert duration >= 0.01 * level
        assert [m.parent for m in received] == ["recursive"] * 3 + [None]


class TestExceptions:
    def test_an_exception_in_a_block_propagates_unchanged_and_is_timed(
        self, caplog: pytest.LogCaptureFixture, fake_clock: FakeClock
    ) -> None:
        error = ValueError("boom")

        def fail() -> None:
            fake_clock.advance(0.003)
            raise error

        with (
            pytest.raises(ValueError, match="boom") as raised,
            Timer("failing") as timer,
        ):
            fail()
        assert raised.value is error
        frames = [frame.name for frame in traceback.extract_tb(error.__traceback__)]
        assert frames[-1] == "fail"
        assert timer._duration == pytest.approx(0.003)
        assert [r[0] for r in caplog.record_tuples] == ["failing"]

    def test_an_exception_in_a_decorated_function_propagates_and_is_timed(
        self, received: list[Measurement]
    ) -> None:
        error = KeyError("missing")

        @Timer("failing_call")
        def fail() -> None:
            raise error

        with pytest.raises(KeyError) as raised:
            fail()
        assert raised.value is error
        assert traceback.extract_tb(error.__traceback__)[-1].name == "fail"
        assert [m.name for m in received] == ["failing_call"]

    def test_an_exception_in_a_decorated_coroutine_propagates_and_is_timed(
        self, received: list[Measurement]
    ) -> None:
        async def scenario() -> None:
            error = RuntimeError("async boom")

            @Timer("failing_coroutine")
            async def fail() -> None:
                await asyncio.sleep(0)
                raise error

            with pytest.raises(RuntimeError) as raised:
                await fail()
            assert raised.value is error
            assert [m.name for m in received] == ["failing_coroutine"]

        asyncio.run(scenario())


class MetricsTimer(Timer):
    """The seed's subclass: extends __exit__ and reads name and _duration."""

    recorded: ClassVar[list[tuple[str, float, int]]] = []

    def __exit__(self, *exc: Any) -> None:
        super().__exit__(*exc)
        assert self._duration is not None
        self.recorded.append((self.name, self._duration * 1000, threading.get_ident()))


@pytest.fixture
def metrics() -> Iterator[list[tuple[str, float, int]]]:
    MetricsTimer.recorded = []
    yield MetricsTimer.recorded
    MetricsTimer.recorded = []


class TestSubclass:
    def test_a_subclass_extending_exit_works_as_a_context_manager(
        self,
        metrics: list[tuple[str, float, int]],
        fake_clock: FakeClock,
        caplog: pytest.LogCaptureFixture,
    ) -> None:
        with MetricsTimer("api_call"):
            fake_clock.advance(0.25)
        assert [(name, ms) for name, ms, _ in metrics] == [("api_call", 250.0)]
        assert [r[0] for r in caplog.record_tuples] == ["api_call"]

    def test_a_subclass_extending_exit_works_as_a_decorator(
        self, metrics: list[tuple[str, float, int]], fake_clock: FakeClock
    ) -> None:
        async def scenario() -> None:
            timer = MetricsTimer("metric_call")

            @timer
            def call(seconds: float) -> str:
                fake_clock.advance(seconds)
                return "ok"

            @MetricsTimer("metric_coroutine")
            async def call_async() -> str:
                fake_clock.advance(0.5)
                return "async ok"

            assert call(0.25) == "ok"
            assert timer._duration == 0.25
            assert await call_async() == "async ok"
            assert inspect.iscoroutinefunction(call_async)
            assert [(name, ms) for name, ms, _ in metrics] == [
                ("metric_call", 250.0),
                ("metric_coroutine", 500.0),
            ]

        asyncio.run(scenario())

    def test_concurrent_calls_of_a_decorating_subclass_each_see_their_own_duration(
        self, metrics: list[tuple[str, float, int]]
    ) -> None:
        slept = sleep_in_threads_at_once(MetricsTimer("metric_threads"))
        by_sleep = sorted((slept[thread_id], ms) for _, ms, thread_id in metrics)
        assert [s for s, _ in by_sleep] == sorted(SLEEPS)
        for seconds, ms in by_sleep:
            assert seconds * 1000 <= ms < (seconds + 5) * 1000
        durations = [ms for _, ms in by_sleep]
        assert durations == sorted(durations)

    def test_a_subclass_extending_exit_times_generators_with_the_right_parents(
        self,
        metrics: list[tuple[str, float, int]],
        received: list[Measurement],
        fake_clock: FakeClock,
    ) -> None:
        @MetricsTimer("metric_rows")
        def rows() -> Iterator[int]:
            with Timer("row"):
                fake_clock.advance(1.0)
            yield 1

        @MetricsTimer("metric_stream")
        async def stream() -> AsyncIterator[int]:
            with Timer("item"):
                fake_clock.advance(2.0)
            yield 1

        async def consume() -> None:
            async for _ in stream():
                with Timer("between_items"):
                    pass

        with Timer("consumer"):
            for _ in rows():
                with Timer("between_rows"):
                    pass
            asyncio.run(consume())
        assert [(name, ms) for name, ms, _ in metrics] == [
            ("metric_rows", 1000.0),
            ("metric_stream", 2000.0),
        ]
        assert [(m.name, m.parent) for m in received] == [
            ("row", "metric_rows"),
            ("between_rows", "consumer"),
            ("metric_rows", "consumer"),
            ("item", "metric_stream"),
            ("between_items", "consumer"),
            ("metric_stream", "consumer"),
            ("consumer", None),
        ]

    @pytest.mark.parametrize("overridden", ["__aenter__", "__aexit__"])
    def test_a_subclass_overriding_one_async_method_gets_it_called_for_async_def(
        self, overridden: str, fake_clock: FakeClock
    ) -> None:
        calls: list[tuple[str, str]] = []

        class AenterOnly(Timer):
            async def __aenter__(self) -> AenterOnly:
                calls.append(("__aenter__", self.name))
                return await super().__aenter__()

        class AexitOnly(Timer):
            async def __aexit__(self, *exc: Any) -> None:
                await super().__aexit__(*exc)
                calls.append(("__aexit__", self.name))

        subclass = {"__aenter__": AenterOnly, "__aexit__": AexitOnly}[overridden]

        @subclass("one_method")
        async def call() -> str:
            fake_clock.advance(0.5)
            return "ok"

        assert asyncio.run(call()) == "ok"
        assert calls == [(overridden, "one_method")]


class TestReceivers:
    def test_a_receiver_gets_each_measurement_with_its_parent(
        self, received: list[Measurement], fake_clock: FakeClock
    ) -> None:
        with Timer("outer"):
            fake_clock.advance(1.0)
            with Timer("inner"):
                fake_clock.advance(2.0)
        inner, outer = received
        assert inner == Measurement(
            "inner", 2.0, 1001.0, threading.get_ident(), "outer"
        )
        assert outer == Measurement("outer", 3.0, 1000.0, threading.get_ident(), None)

    def test_a_timer_in_another_thread_has_no_parent_from_this_one(
        self, received: list[Measurement]
    ) -> None:
        def work() -> None:
            with Timer("in_thread"):
                pass

        with Timer("spawning"):
            thread = threading.Thread(target=work)
            thread.start()
            thread.join()
        by_name = {m.name: m for m in received}
        assert by_name["in_thread"].parent is None
        assert by_name["in_thread"].thread_id != by_name["spawning"].thread_id

    def test_concurrent_tasks_keep_their_own_parents(
        self, received: list[Measurement]
    ) -> None:
        async def scenario() -> None:
            async def task(name: str, delay: float) -> None:
                with Timer(name):
                    await asyncio.sleep(delay)
                    with Timer(f"{name}_child"):
                        await asyncio.sleep(delay)

            await asyncio.gather(task("first", 0.02), task("second", 0.01))
            parents = {m.name: m.parent for m in received}
            assert parents == {
                "first": None,
                "second": None,
                "first_child": "first",
                "second_child": "second",
            }

        asyncio.run(scenario())

    def test_a_block_that_exits_in_another_context_leaves_both_alone(
        self, received: list[Measurement]
    ) -> None:
        def spanning() -> Iterator[int]:
            with Timer("spanning"):
                yield 1
                yield 2

        iterator = spanning()
        assert contextvars.copy_context().run(next, iterator) == 1
        assert timer_module._enclosing.get() is None
        assert list(iterator) == [2]
        assert timer_module._enclosing.get() is None
        assert [(m.name, m.parent) for m in received] == [("spanning", None)]

    def test_a_failing_receiver_is_logged_and_never_reaches_the_timed_code(
        self, caplog: pytest.LogCaptureFixture, received: list[Measurement]
    ) -> None:
        def broken(measurement: Measurement) -> None:
            raise RuntimeError("receiver bug")

        add_receiver(broken)
        try:
            with Timer("guarded"):
                result = "still runs"
        finally:
            remove_receiver(broken)
        assert result == "still runs"
        assert [m.name for m in received] == ["guarded"]
        (failure,) = [r for r in caplog.records if r.name == "pytest_tracer"]
        assert failure.levelno == logging.ERROR
        assert "failed on timer 'guarded'" in failure.getMessage()
        assert failure.exc_info is not None
        assert failure.exc_info[0] is RuntimeError

    def test_a_removed_receiver_gets_nothing_more(self) -> None:
        got: list[Measurement] = []
        add_receiver(got.append)
        with Timer("before_removal"):
            pass
        remove_receiver(got.append)
        with Timer("after_removal"):
            pass
        assert [m.name for m in got] == ["before_removal"]

    def test_removing_an_unknown_receiver_raises(self) -> None:
        with pytest.raises(ValueError, match="not in list"):
            remove_receiver(print)

    def test_without_receivers_no_enclosing_timer_is_tracked(self) -> None:
        with Timer("untracked"):
            assert timer_module._enclosing.get() is None


class TestLevelCheck:
    """The cached DEBUG check follows every way logging changes levels."""

    def lines(self, caplog: pytest.LogCaptureFixture, name: str) -> int:
        caplog.clear()
        with Timer(name):
            pass
        return len(timer_lines(caplog, name))

    @pytest.mark.usefixtures("restore_levels")
    def test_it_follows_setlevel_on_the_timer_logger(
        self, caplog: pytest.LogCaptureFixture
    ) -> None:
        assert self.lines(caplog, "levels.own") == 1
        logging.getLogger("levels.own").setLevel(logging.INFO)
        assert self.lines(caplog, "levels.own") == 0
        logging.getLogger("levels.own").setLevel(logging.DEBUG)
        assert self.lines(caplog, "levels.own") == 1

    @pytest.mark.usefixtures("restore_levels")
    def test_it_follows_setlevel_on_a_parent_logger(
        self, caplog: pytest.LogCaptureFixture
    ) -> None:
        Timer("levels.parent.child")
        logging.getLogger("levels.parent.child").setLevel(logging.NOTSET)
        logging.getLogger("levels.parent").setLevel(logging.INFO)
        assert self.lines(caplog, "levels.parent.child") == 0
        logging.getLogger("levels.parent").setLevel(logging.DEBUG)
        assert self.lines(caplog, "levels.parent.child") == 1

    @pytest.mark.usefixtures("restore_levels")
    def test_it_follows_logging_disable(self, caplog: pytest.LogCaptureFixture) -> None:
        assert self.lines(caplog, "levels.disable") == 1
        logging.disable(logging.DEBUG)
        assert self.lines(caplog, "levels.disable") == 0
        logging.disable(logging.NOTSET)
        assert self.lines(caplog, "levels.disable") == 1

    @pytest.mark.usefixtures("restore_levels")
    def test_it_follows_dictconfig(self, caplog: pytest.LogCaptureFixture) -> None:
        def configure(level: str) -> None:
            logging.config.dictConfig(
                {
                    "version": 1,
                    "incremental": True,
                    "loggers": {"levels.dict": {"level": level}},
                }
            )

        assert self.lines(caplog, "levels.dict") == 1
        configure("WARNING")
        assert self.lines(caplog, "levels.dict") == 0
        configure("DEBUG")
        assert self.lines(caplog, "levels.dict") == 1

    @pytest.mark.usefixtures("restore_levels")
    def test_it_follows_a_disabled_logger(
        self, caplog: pytest.LogCaptureFixture
    ) -> None:
        assert self.lines(caplog, "levels.off") == 1
        logging.getLogger("levels.off").disabled = True
        assert self.lines(caplog, "levels.off") == 0
        logging.getLogger("levels.off").disabled = False
        assert self.lines(caplog, "levels.off") == 1

    @pytest.mark.usefixtures("restore_levels")
    def test_decorated_functions_follow_level_changes_too(
        self, caplog: pytest.LogCaptureFixture
    ) -> None:
        @Timer("levels.decorated")
        def work() -> None:
            pass

        @Timer("levels.decorated")
        async def work_async() -> None:
            pass

        logging.getLogger("levels.decorated").setLevel(logging.INFO)
        work()
        asyncio.run(work_async())
        assert timer_lines(caplog, "levels.decorated") == []
        logging.getLogger("levels.decorated").setLevel(logging.DEBUG)
        work()
        asyncio.run(work_async())
        assert len(timer_lines(caplog, "levels.decorated")) == 2


class Untouchable:
    """Stands in for what a Timer must leave alone; records every use."""

    def __init__(self, what: str, touched: list[str]) -> None:
        self.what = what
        self.touched = touched

    def __call__(self, *args: object) -> Any:
        self.touched.append(self.what)
        raise AssertionError(f"{self.what} was called")

    def __getattr__(self, name: str) -> Any:
        self.touched.append(f"{self.what}.{name}")
        raise AssertionError(f"{self.what}.{name} was used")


class TestSinks:
    def test_a_sink_gets_name_and_seconds_right_after_the_timed_code(
        self, fake_clock: FakeClock
    ) -> None:
        events: list[object] = []

        def sink(name: str, seconds: float) -> None:
            events.append((name, seconds))

        @Timer("function")
        def function() -> None:
            fake_clock.advance(2.0)

        @Timer("coroutine")
        async def coroutine() -> None:
            fake_clock.advance(3.0)

        @Timer("generator")
        def generator() -> Iterator[int]:
            fake_clock.advance(4.0)
            yield 1

        add_sink(sink)
        try:
            with Timer("block"):
                fake_clock.advance(1.0)
                events.append("in the block")
            events.append("after the block")
            function()
            asyncio.run(coroutine())
            assert list(generator()) == [1]
        finally:
            remove_sink(sink)
        with Timer("after_removal"):
            pass
        assert events == [
            "in the block",
            ("block", 1.0),
            "after the block",
            ("function", 2.0),
            ("coroutine", 3.0),
            ("generator", 4.0),
        ]

    def test_with_sinks_only_a_timer_leaves_context_measurements_and_threads_alone(
        self, monkeypatch: pytest.MonkeyPatch, sunk: list[tuple[str, float, int]]
    ) -> None:
        touched: list[str] = []
        monkeypatch.setattr(
            timer_module, "_enclosing", Untouchable("_enclosing", touched)
        )
        monkeypatch.setattr(timer_module, "_new_tuple", Untouchable("tuple", touched))
        monkeypatch.setattr(timer_module, "_get_ident", Untouchable("ident", touched))

        @Timer("function")
        def function(depth: int) -> None:
            if depth:
                function(depth - 1)

        @Timer("coroutine")
        async def coroutine() -> None:
            pass

        @Timer("generator")
        def generator() -> Iterator[int]:
            yield 1

        @Timer("async_generator")
        async def async_generator() -> AsyncIterator[int]:
            yield 1

        async def scenario() -> None:
            await coroutine()
            assert [item async for item in async_generator()] == [1]

        shared = Timer("shared")
        with shared:
            function(1)
        asyncio.run(scenario())
        assert list(generator()) == [1]
        assert touched == []
        assert [name for name, _, _ in sunk] == [
            "function",
            "function",
            "shared",
            "coroutine",
            "async_generator",
            "generator",
        ]

    def test_a_sink_is_called_in_the_thread_that_ran_the_timer(
        self, sunk: list[tuple[str, float, int]]
    ) -> None:
        slept = sleep_in_threads_at_once(Timer("threaded_sink"))
        assert sorted(slept[thread_id] for _, _, thread_id in sunk) == sorted(SLEEPS)
        for _, seconds, thread_id in sunk:
            assert slept[thread_id] <= seconds < slept[thread_id] + 5

    def test_a_sink_sees_each_task_of_a_gather(
        self, sunk: list[tuple[str, float, int]]
    ) -> None:
        @Timer("gathered_sink")
        async def work(seconds: float) -> float:
            await asyncio.sleep(seconds)
            return seconds

        async def scenario() -> list[float]:
            return await asyncio.gather(*(work(s) for s in reversed(SLEEPS)))

        assert sorted(asyncio.run(scenario())) == list(SLEEPS)
        durations = [seconds for _, seconds, _ in sunk]
        # The shortest sleep finishes first, whatever order the tasks started.
        assert durations == sorted(durations)
        for slept, seconds in zip(SLEEPS, durations, strict=True):
            assert slept <= seconds < slept + 5

    def test_a_sink_sees_each_level_of_a_recursion(
        self, sunk: list[tuple[str, float, int]], fake_clock: FakeClock
    ) -> None:
        @Timer("recursive_sink")
        def descend(depth: int) -> int:
            fake_clock.advance(1.0)
            return depth if depth == 0 else descend(depth - 1) + 1

        assert descend(3) == 3
        assert [(name, seconds) for name, seconds, _ in sunk] == [
            ("recursive_sink", 1.0),
            ("recursive_sink", 2.0),
            ("recursive_sink", 3.0),
            ("recursive_sink", 4.0),
        ]

    @pytest.mark.parametrize("block_raises", [False, True])
    def test_a_failing_sink_is_logged_and_never_reaches_the_timed_code(
        self,
        block_raises: bool,
        caplog: pytest.LogCaptureFixture,
        sunk: list[tuple[str, float, int]],
        received: list[Measurement],
    ) -> None:
        def broken(name: str, seconds: float) -> None:
            raise RuntimeError("sink bug")

        error = ValueError("the block's own")
        caught: BaseException | None = None
        add_sink(broken)
        try:
            with Timer("guarded_sink"):
                result = "still runs"
                if block_raises:
                    raise error
        except ValueError as raised:
            caught = raised
        finally:
            remove_sink(broken)
        assert result == "still runs"
        assert caught is (error if block_raises else None)
        assert [name for name, _, _ in sunk] == ["guarded_sink"]
        assert [m.name for m in received] == ["guarded_sink"]
        (failure,) = [r for r in caplog.records if r.name == "pytest_tracer"]
        assert failure.levelno == logging.ERROR
        assert failure.getMessage() == (
            f"sink {broken!r} failed on timer 'guarded_sink';"
            " the timed code was not affected (further failures are counted,"
            " not logged)"
        )
        assert failure.exc_info is not None
        assert failure.exc_info[0] is RuntimeError

    def test_receivers_keep_their_parents_when_sinks_exist(
        self, sunk: list[tuple[str, float, int]], received: list[Measurement]
    ) -> None:
        with Timer("outer"), Timer("inner"):
            pass
        assert [(m.name, m.parent) for m in received] == [
            ("inner", "outer"),
            ("outer", None),
        ]
        assert [name for name, _, _ in sunk] == ["inner", "outer"]

    def test_removing_an_unknown_sink_raises(self) -> None:
        with pytest.raises(ValueError, match="not in list"):
            remove_sink(print)

    def test_sinks_come_and_go_from_many_threads_at_once(self) -> None:
        barrier = threading.Barrier(8)
        counts = [0] * 8

        def churn(index: int) -> None:
            def sink(name: str, seconds: float) -> None:
                counts[index] += 1

            barrier.wait()
            for _ in range(200):
                add_sink(sink)
                with Timer("churned"):
                    pass
                remove_sink(sink)

        threads = [threading.Thread(target=churn, args=(i,)) for i in range(8)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
        assert timer_module._sinks == ()
        # Each thread's own timer ran while its sink was registered.
        assert all(count >= 200 for count in counts)


class Raising(logging.Handler):
    """A handler whose *method* ("emit" or "handle") raises."""

    def __init__(self, method: str) -> None:
        super().__init__()
        self.method = method

    def emit(self, record: logging.LogRecord) -> None:
        if self.method == "emit":
            raise RuntimeError("handler bug")
        self.format(record)

    def handle(self, record: logging.LogRecord) -> bool:
        if self.method == "handle":
            raise RuntimeError("handler bug")
        return bool(super().handle(record))


def raising_filter(record: logging.LogRecord) -> bool:
    raise RuntimeError("filter bug")


class RaisingFormatter(logging.Formatter):
    def format(self, record: logging.LogRecord) -> str:
        raise RuntimeError("formatter bug")


@pytest.fixture(
    params=["emit", "handle", "formatter", "handler filter", "logger filter"]
)
def failing_logger(request: pytest.FixtureRequest) -> Iterator[str]:
    """The name of a logger whose handler, formatter or filter raises on every
    record."""
    kind: str = request.param
    name = f"failing.{kind.replace(' ', '_')}"
    logger = logging.getLogger(name)
    handler = Raising(kind)
    if kind == "formatter":
        handler.setFormatter(RaisingFormatter())
    elif kind == "handler filter":
        handler.addFilter(raising_filter)
    elif kind == "logger filter":
        logger.addFilter(raising_filter)
    logger.addHandler(handler)
    yield name
    logger.removeHandler(handler)
    logger.removeFilter(raising_filter)


class TestLoggingFailures:
    """A handler or filter that raises never reaches the timed code."""

    @pytest.mark.parametrize("how", ["block", "function", "coroutine"])
    @pytest.mark.parametrize("block_raises", [False, True])
    def test_the_timed_code_goes_on_and_the_failure_is_reported(
        self,
        failing_logger: str,
        how: str,
        block_raises: bool,
        caplog: pytest.LogCaptureFixture,
    ) -> None:
        error = KeyError("the timed code's own")
        timer = Timer(failing_logger)

        def work() -> str:
            if block_raises:
                raise error
            return "result"

        @timer
        async def work_async() -> str:
            return work()

        def run() -> str:
            if how == "block":
                with timer:
                    return work()
            if how == "function":
                return timer(work)()
            return asyncio.run(work_async())

        if block_raises:
            with pytest.raises(KeyError) as raised:
                run()
            assert raised.value is error
        else:
            assert run() == "result"
        assert timer._duration is not None
        (failure,) = [r for r in caplog.records if r.name == "pytest_tracer"]
        assert failure.getMessage() == (
            f"logging failed on timer {failing_logger!r};"
            " the timed code was not affected"
        )
        assert failure.exc_info is not None
        assert failure.exc_info[0] is RuntimeError

    def test_when_reporting_fails_too_the_failure_goes_to_stderr(
        self, capsys: pytest.CaptureFixture[str]
    ) -> None:
        handler = Raising("emit")
        logging.root.addHandler(handler)
        try:
            with Timer("failing.everywhere"):
                result = "still runs"
        finally:
            logging.root.removeHandler(handler)
        assert result == "still runs"
        err = capsys.readouterr().err
        assert err.startswith("Traceback (most recent call last):")
        assert err.count("RuntimeError: handler bug") == 2
        assert err.endswith("RuntimeError: handler bug\n")


class TestSharedTimerObjects:
    """One Timer object entered by many threads, tasks or recursively."""

    def test_threads_sharing_one_timer_each_get_their_own_duration(
        self, sunk: list[tuple[str, float, int]]
    ) -> None:
        shared = Timer("shared_db")
        barrier = threading.Barrier(8)

        def work() -> None:
            barrier.wait()
            for _ in range(50):
                with shared:
                    time.sleep(0.001)

        threads = [threading.Thread(target=work) for _ in range(8)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()

        durations = [d for name, d, _ in sunk if name == "shared_db"]
        assert len(durations) == 400
        # Every block slept 1 ms: none can be shorter (the clock is monotonic).
        assert min(durations) >= 0.001

    def test_staggered_tasks_sharing_one_timer_each_get_their_own_duration(
        self, sunk: list[tuple[str, float, int]]
    ) -> None:
        shared = Timer("shared_task")

        async def block(delay: float, hold: float) -> tuple[float, float]:
            await asyncio.sleep(delay)
            start = time.perf_counter()
            async with shared:
                await asyncio.sleep(hold)
            return hold, time.perf_counter() - start

        async def scenario() -> list[tuple[float, float]]:
            return await asyncio.gather(
                *(block(0.001 * i, 0.002 * (100 - i) / 10) for i in range(100))
            )

        outcomes = asyncio.run(scenario())
        durations = sorted(d for name, d, _ in sunk if name == "shared_task")
        assert len(durations) == 100
        # Each measured block is at least its own hold and at most what the
        # task saw around it, so the multiset of durations brackets them.
        holds = sorted(hold for hold, _ in outcomes)
        spans = sorted(span for _, span in outcomes)
        for measured, hold, span in zip(durations, holds, spans, strict=True):
            assert hold <= measured <= span + 1e-6

    def test_recursion_through_one_object_nests(
        self, sunk: list[tuple[str, float, int]]
    ) -> None:
        shared = Timer("nested_shared")

        def recurse(depth: int) -> None:
            with shared:
                time.sleep(0.002)
                if depth:
                    recurse(depth - 1)

        recurse(2)
        durations = [d for name, d, _ in sunk if name == "nested_shared"]
        # Innermost first, each enclosing the ones inside it.
        assert len(durations) == 3
        assert durations[0] < durations[1] < durations[2]
        assert durations[0] >= 0.002
        assert durations[2] >= 0.006


class TestCpuClockAcrossThreads:
    def test_a_cpu_generator_resumed_on_another_thread_is_not_recorded(
        self,
        sunk: list[tuple[str, float, int]],
        caplog: pytest.LogCaptureFixture,
    ) -> None:
        @Timer("stream", clock="cpu")
        def stream() -> Iterator[int]:
            yield 1
            yield 2

        items = stream()
        assert next(items) == 1
        rest: list[int] = []
        thread = threading.Thread(target=lambda: rest.extend(items))
        with caplog.at_level(logging.WARNING, logger="pytest_tracer"):
            thread.start()
            thread.join()

        assert rest == [2]
        assert [name for name, _, _ in sunk] == []
        assert "ended on another thread than it started on" in caplog.text

    def test_a_cpu_generator_on_one_thread_is_recorded(
        self, sunk: list[tuple[str, float, int]]
    ) -> None:
        @Timer("stream_here", clock="cpu")
        def stream() -> Iterator[int]:
            yield 1

        assert list(stream()) == [1]
        [(name, duration, _)] = sunk
        assert name == "stream_here"
        assert duration >= 0


class TestDecoratingDescriptors:
    def test_above_staticmethod_and_classmethod_calls_bind_as_before(
        self, sunk: list[tuple[str, float, int]]
    ) -> None:
        class Shop:
            @Timer("static")
            @staticmethod
            def total(a: int, b: int) -> int:
                return a + b

            @Timer("klass")
            @classmethod
            def make(cls) -> str:
                return cls.__name__

        shop = Shop()
        assert shop.total(1, 2) == 3
        assert Shop.total(3, 4) == 7
        assert shop.make() == "Shop"
        assert Shop.make() == "Shop"
        assert [name for name, _, _ in sunk] == ["static"] * 2 + ["klass"] * 2


class TestMisbehavingReceivers:
    def test_a_timing_inside_a_receiver_is_not_delivered_again(self) -> None:
        got: list[str] = []

        def receiver(measurement: Measurement) -> None:
            got.append(measurement.name)
            with Timer("inside_receiver"):
                pass

        add_receiver(receiver)
        try:
            with Timer("outer_timing"):
                pass
        finally:
            remove_receiver(receiver)

        assert got == ["outer_timing"]

    def test_a_failing_receiver_is_logged_once_then_counted(
        self, caplog: pytest.LogCaptureFixture
    ) -> None:
        def receiver(measurement: Measurement) -> None:
            raise RuntimeError("broken receiver")

        add_receiver(receiver)
        try:
            with caplog.at_level(logging.ERROR, logger="pytest_tracer"):
                for _ in range(100):
                    with Timer("often"):
                        pass
        finally:
            remove_receiver(receiver)

        records = [r for r in caplog.records if r.name == "pytest_tracer"]
        assert [r.exc_info is not None for r in records] == [True, False, False]
        assert "further failures are counted" in records[0].getMessage()
        assert "has failed 10 times" in records[1].getMessage()
        assert "has failed 100 times" in records[2].getMessage()
