"""Where measurements land while pytest runs: per test phase, or the session.

Pure bookkeeping with no pytest import; ``plugin`` decides which bucket is
current and what to do with the results.
"""

from __future__ import annotations

import threading
from collections.abc import Iterable, Mapping
from typing import TYPE_CHECKING, Any, Final, final

from ._config import Thresholds
from ._stats import Accumulator
from ._timer import Measurement

if TYPE_CHECKING:
    from ._store import TimingRecord

PHASES: Final = ("setup", "call", "teardown")
#: The test id of timings made outside any test.
SESSION: Final = "<session>"


@final
class Bucket:
    """Timings of one test phase (or of the session), fed from any thread."""

    __slots__ = ("lock", "timers")

    def __init__(self) -> None:
        self.timers: dict[str, Accumulator] = {}
        self.lock = threading.Lock()

    def add(self, name: str, seconds: float) -> None:
        with self.lock:
            accumulator = self.timers.get(name)
            if accumulator is None:
                accumulator = self.timers[name] = Accumulator()
            accumulator.add(seconds)

    def snapshot(self) -> dict[str, Accumulator]:
        """Independent copies, safe to keep while threads still add."""
        with self.lock:
            return {name: acc.copy() for name, acc in self.timers.items()}

    def finished(self) -> dict[str, Accumulator]:
        """The accumulators themselves, once nothing adds here any more."""
        with self.lock:
            return dict(self.timers)


def merged(buckets: Iterable[Bucket]) -> dict[str, Accumulator]:
    """One accumulator per name over several buckets (the phases of a test).

    Treat the result as read-only: a name found in one bucket only is that
    bucket's own accumulator.
    """
    result: dict[str, Accumulator] = {}
    shared: set[str] = set()
    for bucket in buckets:
        with bucket.lock:
            timers = list(bucket.timers.items())
        for name, accumulator in timers:
            if name not in result:
                result[name] = accumulator
                continue
            if name not in shared:
                result[name] = result[name].copy()
                shared.add(name)
            with bucket.lock:
                result[name].merge(accumulator)
    return result


@final
class Collector:
    """The Timer receiver: adds each measurement to the current bucket.

    One test runs at a time in a pytest process, so "current" is global, not
    per thread: threads a test starts are counted for that test.
    """

    __slots__ = ("current", "session")

    def __init__(self) -> None:
        self.session = Bucket()
        self.current = self.session

    def receive(self, measurement: Measurement) -> None:
        self.current.add(measurement.name, measurement.duration)


@final
class TestTimings:
    """What one test recorded, phase by phase, and what was found wrong."""

    __test__ = False  # not a test class, whatever pytest's name rules say

    def __init__(self, thresholds: Thresholds) -> None:
        self.thresholds = thresholds
        self.phases = {phase: Bucket() for phase in PHASES}
        #: (name, statistic or "regression") already reported
        self.reported: set[tuple[str, str]] = set()
        #: phase -> (name, message) found at the end of that phase
        self.problems: dict[str, list[tuple[str, str]]] = {}
        self.verdicts: list[dict[str, Any]] = []

    def so_far(self) -> dict[str, Accumulator]:
        return merged(self.phases.values())


@final
class Results:
    """Everything the run recorded, merged where the report is printed."""

    def __init__(self, *, keep_per_test: bool = True) -> None:
        # Per-test tables cost memory with every test; kept only when a
        # report or the history needs them (the session's always are).
        self.keep_per_test = keep_per_test
        self.by_name: dict[str, Accumulator] = {}
        self.by_test: dict[str, dict[str, Accumulator]] = {}
        #: (test id, timer name, message, enforced)
        self.breaches: list[tuple[str, str, str, bool]] = []
        #: (test id, verdict as builtins)
        self.verdicts: list[tuple[str, dict[str, Any]]] = []
        #: (test id, runs it took, passed) of tests re-run to confirm a breach
        self.confirmations: list[tuple[str, int, bool]] = []

    def merge(self, test_id: str, timers: Mapping[str, Accumulator]) -> None:
        tables = [self.by_name]
        if self.keep_per_test or test_id == SESSION:
            tables.append(self.by_test.setdefault(test_id, {}))
        for name, accumulator in timers.items():
            for table in tables:
                if name in table:
                    table[name].merge(accumulator)
                else:
                    table[name] = accumulator.copy()

    def timing_records(self) -> list[TimingRecord]:
        """Every (test, timer) as the history stores it."""
        from ._store import TimingRecord

        records = []
        for test_id, timers in self.by_test.items():
            for name, accumulator in timers.items():
                summary = accumulator.summary()
                records.append(
                    TimingRecord(
                        test_id="" if test_id == SESSION else test_id,
                        name=name,
                        count=summary.count,
                        total=summary.total,
                        min=summary.min,
                        max=summary.max,
                        median=summary.median,
                        p95=summary.p95,
                        samples=accumulator.samples,
                    )
                )
        return records
