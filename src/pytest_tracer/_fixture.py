"""The ``timer`` fixture's object: time blocks, assert on the test's timings."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any, final

from ._records import timer_durations
from ._session import TestSession
from ._stats import STATISTICS, Summary
from ._timer import Timer
from ._units import format_duration, parse_duration


@final
class TimerFixture:
    """Time blocks in a test and assert on every timing the test recorded."""

    __test__ = False

    def __init__(self, session: TestSession) -> None:
        self._session = session

    def __call__(self, name: str) -> Timer:
        """A :class:`~pytest_tracer.Timer` named *name*, recorded for this test."""
        return Timer(name)

    def stats(self, name: str) -> Summary:
        """Statistics over every timing of *name* this test recorded so far.

        :raises LookupError: No timer of that name finished in this test yet.
        """
        so_far = self._session.so_far()
        accumulator = so_far.get(name)
        if accumulator is None:
            known = ", ".join(sorted(so_far)) or "none"
            msg = f"no timing named {name!r} in this test so far (timers seen: {known})"
            raise LookupError(msg)
        return accumulator.summary()

    def assert_under(
        self, name: str, limit: str | float, statistic: str = "max"
    ) -> None:
        """Fail unless the *statistic* of *name*'s timings is under *limit*.

        :param limit: A duration: ``"50ms"``, ``"1.5s"``, or a number of ms.
        :param statistic: One of max, min, mean, median, p95, p99, total.
        :raises AssertionError: Over the limit, or no such timing yet.
        :raises ValueError: *limit* is not a duration or *statistic* unknown.
        """
        __tracebackhide__ = True
        try:
            seconds = parse_duration(limit)
        except ValueError as error:
            msg = f"assert_under({name!r}, ...): limit {error}"
            raise ValueError(msg) from None
        if statistic not in STATISTICS:
            msg = (
                f"assert_under({name!r}, ...): statistic {statistic!r}, expected "
                f"one of {', '.join(STATISTICS)}"
            )
            raise ValueError(msg)
        try:
            summary = self.stats(name)
        except LookupError as error:
            raise AssertionError(str(error)) from None
        measured = summary.get(statistic)
        if measured >= seconds:
            calls = "call" if summary.count == 1 else "calls"
            msg = (
                f"timer {name!r} took {format_duration(measured)} ({statistic} of "
                f"{summary.count} {calls}), not under {format_duration(seconds)}"
            )
            raise AssertionError(msg)

    @staticmethod
    def durations(records: Iterable[Any], name: str | None = None) -> list[float]:
        """Durations in seconds of the timer log records among *records*.

        Pass ``caplog.records``; no text is parsed.
        """
        return timer_durations(records, name)
