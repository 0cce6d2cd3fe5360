from __future__ import annotations

import datetime as dt
import time
from collections.abc import Iterator

import pytest
import time_machine
from freezegun import freeze_time

import pytest_tracer._timer as timer_module
from pytest_tracer import Measurement, Timer, add_receiver, remove_receiver
from pytest_tracer._clock import CLOCK_NAMES, Clocks, clock_named

SEED_MOMENT = dt.datetime(2038, 1, 19, 3, 14, 7, tzinfo=dt.timezone.utc)


@pytest.fixture
def received(monkeypatch: pytest.MonkeyPatch) -> Iterator[list[Measurement]]:
    monkeypatch.setattr(timer_module, "_receivers", ())
    got: list[Measurement] = []
    add_receiver(got.append)
    yield got
    remove_receiver(got.append)


def timed_sleeps(name: str) -> list[float]:
    """Time a block and a decorated function, each sleeping 2 ms."""
    decorating = Timer(f"{name}.decorated")

    @decorating
    def sleeper() -> None:
        time.sleep(0.002)

    with Timer(f"{name}.block") as timer:
        time.sleep(0.002)
    sleeper()
    durations = [timer._duration, decorating._duration]
    assert None not in durations
    return [d for d in durations if d is not None]


class TestClocks:
    def test_the_clocks_are_the_real_time_functions(self) -> None:
        assert Clocks.wall is time.perf_counter
        assert Clocks.cpu is time.thread_time

    def test_clocks_are_found_by_name(self) -> None:
        assert [clock_named(name) for name in CLOCK_NAMES] == [
            time.perf_counter,
            time.thread_time,
        ]

    def test_an_unknown_clock_name_lists_the_known_ones(self) -> None:
        with pytest.raises(ValueError, match=r"unknown clock 'sundial': .* wall, cpu"):
            clock_named("sundial")


class TestFrozenTime:
    def test_freezegun_without_tick_leaves_durations_positive(
        self, received: list[Measurement]
    ) -> None:
        with freeze_time(SEED_MOMENT):
            assert time.time() == SEED_MOMENT.timestamp()
            durations = timed_sleeps("frozen")
        assert all(d >= 0.002 for d in durations)
        assert [m.duration >= 0.002 for m in received] == [True, True]

    def test_freezegun_with_tick_leaves_durations_positive(
        self, received: list[Measurement]
    ) -> None:
        with freeze_time(SEED_MOMENT, tick=True):
            durations = timed_sleeps("ticking")
        assert all(d >= 0.002 for d in durations)
        assert len(received) == 2

    def test_freezegun_as_a_decorator_leaves_durations_positive(self) -> None:
        @freeze_time("2038-01-19")
        def frozen() -> list[float]:
            return timed_sleeps("frozen_decorator")

        assert all(d >= 0.002 for d in frozen())

    def test_a_timer_made_while_frozen_still_reads_the_real_clock(self) -> None:
        with freeze_time(SEED_MOMENT):
            timer = Timer("made_frozen")
        with timer:
            time.sleep(0.002)
        assert timer._duration is not None
        assert timer._duration >= 0.002

    @pytest.mark.parametrize("tick", [False, True])
    def test_time_machine_travel_leaves_durations_positive(
        self, tick: bool, received: list[Measurement]
    ) -> None:
        with time_machine.travel(SEED_MOMENT, tick=tick):
            assert abs(time.time() - SEED_MOMENT.timestamp()) < 60
            durations = timed_sleeps(f"travelled_{tick}")
        assert all(d >= 0.002 for d in durations)
        assert len(received) == 2
