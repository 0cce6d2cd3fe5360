from __future__ import annotations

import threading

from pytest_tracer._collect import SESSION, Bucket, Collector, Results, merged
from pytest_tracer._stats import Accumulator
from pytest_tracer._timer import Measurement


def measurement(name: str, seconds: float) -> Measurement:
    return Measurement(name, seconds, 0.0, threading.get_ident(), None)


class TestBucket:
    def test_many_threads_adding_at_once_lose_nothing(self) -> None:
        """The lock keeps count and total exact across threads."""
        bucket = Bucket()

        def work() -> None:
            for _ in range(5_000):
                bucket.add("shared", 0.001)

        threads = [threading.Thread(target=work) for _ in range(8)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
        summary = bucket.snapshot()["shared"].summary()
        assert summary.count == 40_000

    def test_a_snapshot_does_not_change_with_the_bucket(self) -> None:
        """Later timings do not leak into a snapshot already taken."""
        bucket = Bucket()
        bucket.add("a", 1.0)
        snapshot = bucket.snapshot()
        bucket.add("a", 2.0)
        assert snapshot["a"].count == 1


def test_merged_combines_phases_by_name() -> None:
    """Setup and call timings of one name become one accumulator."""
    setup, call = Bucket(), Bucket()
    setup.add("db", 1.0)
    call.add("db", 3.0)
    call.add("parse", 2.0)
    result = merged([setup, call])
    assert result["db"].count == 2
    assert result["db"].max == 3.0
    assert result["parse"].count == 1


def test_the_collector_feeds_whatever_bucket_is_current() -> None:
    """Measurements go to the session until a test's bucket is current."""
    collector = Collector()
    collector.receive(measurement("early", 1.0))
    test_bucket = Bucket()
    collector.current = test_bucket
    collector.receive(measurement("during", 1.0))
    assert list(collector.session.snapshot()) == ["early"]
    assert list(test_bucket.snapshot()) == ["during"]


class TestResults:
    def test_merging_keeps_per_name_and_per_test_tables(self) -> None:
        """The same name from two tests adds up by name and stays apart by test."""
        results = Results()
        for test_id, value in (("t::a", 1.0), ("t::b", 2.0)):
            accumulator = Accumulator()
            accumulator.add(value)
            results.merge(test_id, {"db": accumulator})
        assert results.by_name["db"].count == 2
        assert results.by_test["t::b"]["db"].max == 2.0

    def test_history_records_name_session_timings_with_an_empty_test_id(self) -> None:
        """Session-level timings are stored under test id ''."""
        results = Results()
        accumulator = Accumulator()
        for value in (1.0, 2.0, 3.0):
            accumulator.add(value)
        results.merge(SESSION, {"import": accumulator})
        (record,) = results.timing_records()
        assert (record.test_id, record.name, record.count) == ("", "import", 3)
        assert record.median == 2.0
        assert record.samples == (1.0, 2.0, 3.0)
