from __future__ import annotations

import sys
import threading
import time
from collections.abc import Callable

import pytest

from pytest_tracer._collect import Bucket, Collector, merged


def in_threads(work: Callable[[], object], count: int = 8) -> None:
    """Run *work* in *count* threads that start together; wait for all."""
    barrier = threading.Barrier(count)

    def run() -> None:
        barrier.wait()
        work()

    threads = [threading.Thread(target=run) for _ in range(count)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()


class SlowAccumulator:
    """An accumulator whose add() lets other threads in between read and write,
    as a real one may: unserialised, concurrent adds lose counts."""

    def __init__(self) -> None:
        self.count = 0

    @classmethod
    def of(cls, values: list[float]) -> SlowAccumulator:
        accumulator = cls()
        accumulator.extend(values)
        return accumulator

    def add(self, seconds: float) -> None:
        self.extend([seconds])

    def extend(self, values: list[float]) -> None:
        count = self.count
        time.sleep(0)  # give up the GIL mid-update
        self.count = count + len(values)


class TestBucket:
    def test_threads_adding_at_once_lose_nothing(
        self, monkeypatch: pytest.MonkeyPatch
    ) -> None:
        """The bucket's lock serialises adds, so no count is lost."""
        monkeypatch.setattr("pytest_tracer._collect.Accumulator", SlowAccumulator)
        bucket = Bucket()

        def work() -> None:
            for _ in range(500):
                bucket.add("shared", 0.001)

        in_threads(work, 8)
        assert bucket.timers["shared"].count == 4_000

    def test_the_slow_accumulator_does_lose_counts_without_a_lock(self) -> None:
        """The check above can fail: the same adds, unserialised, lose counts."""
        accumulator = SlowAccumulator()

        def work() -> None:
            for _ in range(500):
                accumulator.add(0.001)

        in_threads(work, 8)
        assert accumulator.count < 4_000

    def test_a_snapshot_does_not_change_with_the_bucket(self) -> None:
        """Later timings do not leak into a snapshot already taken."""
        bucket = Bucket()
        bucket.add("a", 1.0)
        snapshot = bucket.snapshot()
        bucket.add("a", 2.0)
        assert snapshot["a"].count == 1


def test_undrained_timings_are_a_copy_that_later_timings_do_not_change() -> None:
    """What a check of the max reads is what is taken: a thread that adds
    afterwards adds to the bucket, and a drain never empties the copy."""
    bucket = Bucket()
    bucket.add("db", 0.5)
    bucket.pending["empty"] = []  # a name whose first value is on its way
    copy = bucket.undrained()
    assert copy == {"db": [0.5]}
    for _ in range(300):  # past a batch: the bucket drains its list
        bucket.add("db", 5.0)
    assert copy == {"db": [0.5]}
    assert bucket.undrained() is None  # some reached an accumulator
    assert bucket.timers["db"].count == 301


def test_merged_combines_phases_by_name_without_touching_them() -> None:
    """Setup and call timings of one name become one independent accumulator."""
    setup, call = Bucket(), Bucket()
    setup.add("db", 1.0)
    call.add("db", 3.0)
    call.add("parse", 2.0)
    result = merged([setup, call])
    assert result["db"].count == 2
    assert result["db"].max == 3.0
    assert result["parse"].count == 1
    result["parse"].add(5.0)
    assert call.timers["parse"].count == 1


class TestCollector:
    def test_timings_go_to_the_session_until_a_phase_begins(self) -> None:
        """Outside any phase, the session bucket is current."""
        collector = Collector()
        collector.receive("early", 1.0)
        collector.begin(None)
        collector.receive("during", 1.0)
        bucket = collector.end()
        collector.receive("late", 1.0)
        assert bucket is not None
        assert sorted(collector.session.timers) == ["early", "late"]
        assert list(bucket.timers) == ["during"]

    def test_a_phase_without_timings_makes_no_bucket(self) -> None:
        """Idle tests cost nothing: no bucket, nothing to check."""
        collector = Collector()
        collector.begin(None)
        assert collector.running is None
        assert collector.end() is None

    def test_threads_timing_at_once_lose_nothing(
        self, monkeypatch: pytest.MonkeyPatch
    ) -> None:
        """receive() serialises its adds as Bucket.add does."""
        monkeypatch.setattr("pytest_tracer._collect.Accumulator", SlowAccumulator)
        collector = Collector()
        collector.begin(None)

        def work() -> None:
            for _ in range(500):
                collector.receive("shared", 0.001)

        in_threads(work, 8)
        bucket = collector.end()
        assert bucket is not None
        assert bucket.timers["shared"].count == 4_000

    def test_the_first_timings_of_many_threads_share_one_bucket(self) -> None:
        """Threads racing for the phase's first timing all land in one bucket."""
        collector = Collector()
        collector.begin(None)

        def work() -> None:
            collector.receive("first", 1.0)

        in_threads(work, 16)
        bucket = collector.end()
        assert bucket is not None
        assert bucket.timers["first"].count == 16
        assert not collector.session.timers


def test_a_bucket_gives_exactly_what_one_accumulator_gives() -> None:
    """Timings go in batches, and reads drain them: the same result."""
    from pytest_tracer._collect import BATCH
    from pytest_tracer._stats import Accumulator

    bucket, reference = Bucket(), Accumulator()
    values = [(i % 97) * 1e-6 for i in range(5 * BATCH + 3)]
    for index, value in enumerate(values):
        bucket.add("x", value)
        reference.add(value)
        if index in (0, 15, 17, BATCH + 7):  # reads drain
            assert bucket.timers["x"].count == index + 1
    got = bucket.timers["x"]
    assert (got.count, got.total, got.min, got.max) == (
        reference.count,
        reference.total,
        reference.min,
        reference.max,
    )
    assert got.samples == reference.samples
    assert not any(bucket.pending.values())


@pytest.mark.parametrize("switching", [False, True], ids=["end-begin", "switch"])
def test_no_timing_is_lost_while_phases_begin_and_end(switching: bool) -> None:
    """Threads timing while the phases change without a lock: each timing
    lands in the phase it raced or in the one after, never nowhere, whether
    a phase ends before the next begins or one switches to the next."""
    collector = Collector()
    stop = threading.Event()
    made = [0] * 4

    def work(index: int) -> None:
        count = 0
        while not stop.is_set():
            collector.receive("x", 1e-6)
            count += 1
        made[index] = count

    threads = [threading.Thread(target=work, args=(i,)) for i in range(4)]
    for thread in threads:
        thread.start()
    buckets = [collector.session]
    interval = sys.getswitchinterval()
    sys.setswitchinterval(1e-6)  # threads switch often, so races happen
    try:
        collector.begin(None)
        for index in range(1_000):
            if index % 2:
                time.sleep(0)  # let the threads in while the phase runs
            if switching:
                bucket = collector.switch(None)
            else:
                bucket = collector.end()
                collector.begin(None)
            if bucket is not None:
                buckets.append(bucket)
        bucket = collector.end()
        if bucket is not None:
            buckets.append(bucket)
    finally:
        stop.set()
        sys.setswitchinterval(interval)
    for thread in threads:
        thread.join()
    assert len(buckets) > 1  # some phases did get timings
    landed = sum(b.timers["x"].count for b in buckets if "x" in b.timers)
    assert landed == sum(made)
