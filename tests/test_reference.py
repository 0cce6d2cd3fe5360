from __future__ import annotations

import math
from collections.abc import Iterator

from pytest_tracer._reference import measure_reference


def test_the_reference_takes_a_positive_finite_time() -> None:
    """A real run of the loop on the real clock."""
    seconds = measure_reference()
    assert 0 < seconds < 1
    assert math.isfinite(seconds)


def test_the_best_of_the_repeats_is_kept() -> None:
    """An interruption only adds time, so the shortest run stands."""
    durations: Iterator[float] = iter([5.0, 2.0, 9.0, 3.0, 4.0])
    readings: list[float] = []
    now = 0.0

    def clock() -> float:
        nonlocal now
        if len(readings) % 2:
            now += next(durations)
        readings.append(now)
        return now

    assert measure_reference(clock) == 2.0
    assert len(readings) == 10
