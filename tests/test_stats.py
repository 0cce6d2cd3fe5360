from __future__ import annotations

import itertools
import json
import math
import statistics
import sys
import threading
import tracemalloc
from collections import Counter
from collections.abc import Callable, Iterator

import pytest
from hypothesis import given
from hypothesis import strategies as st

from pytest_tracer._stats import (
    DEFAULT_CAP,
    STATISTICS,
    Accumulator,
    Summary,
    quantile,
)

durations = st.floats(min_value=0.0, max_value=1e3, allow_nan=False)
duration_lists = st.lists(durations, min_size=1, max_size=60)


def summarize(values: list[float]) -> Summary:
    """Exact statistics: every value kept."""
    return filled(values, cap=max(1, len(values))).summary()


def filled(
    values: list[float], *, cap: int = DEFAULT_CAP, seed: int = 0
) -> Accumulator:
    accumulator = Accumulator(cap=cap, seed=seed)
    for value in values:
        accumulator.add(value)
    return accumulator


def is_sub_multiset(part: tuple[float, ...], whole: list[float]) -> bool:
    return not Counter(part) - Counter(whole)


class TestAdd:
    def test_an_empty_accumulator_has_identity_min_and_max(self) -> None:
        """min and max start at the identities of min() and max()."""
        accumulator = Accumulator()
        assert (accumulator.count, accumulator.total) == (0, 0.0)
        assert (accumulator.min, accumulator.max) == (math.inf, -math.inf)
        assert accumulator.samples == ()
        assert accumulator.exact

    def test_values_up_to_the_cap_are_all_kept(self) -> None:
        """While the values fit, every one of them is kept, in order."""
        accumulator = filled([0.3, 0.1, 0.2], cap=3)
        assert accumulator.samples == (0.3, 0.1, 0.2)
        assert accumulator.exact
        assert (accumulator.count, accumulator.min, accumulator.max) == (3, 0.1, 0.3)
        assert accumulator.total == pytest.approx(0.6)

    def test_beyond_the_cap_the_samples_stay_bounded_and_the_counts_exact(
        self,
    ) -> None:
        """count, total, min and max stay exact after values are dropped."""
        values = [float(i) for i in range(1000)]
        accumulator = filled(values, cap=10)
        assert len(accumulator.samples) == 10
        assert not accumulator.exact
        assert is_sub_multiset(accumulator.samples, values)
        assert accumulator.count == 1000
        assert accumulator.total == sum(values)
        assert (accumulator.min, accumulator.max) == (0.0, 999.0)

    def test_the_same_seed_keeps_the_same_samples(self) -> None:
        """Sampling is reproducible from the seed, and depends on it."""
        values = [float(i) for i in range(5000)]
        first = filled(values, cap=50, seed=7).samples
        assert filled(values, cap=50, seed=7).samples == first
        assert filled(values, cap=50, seed=8).samples != first

    def test_the_samples_are_spread_over_all_values(self) -> None:
        """Late values are as likely to be kept as early ones."""
        accumulator = filled([float(i) for i in range(100_000)], cap=1000)
        late = sum(1 for value in accumulator.samples if value >= 50_000)
        assert 400 < late < 600

    @pytest.mark.parametrize("cap", [0, -1, 1.5, True, "10"])
    def test_a_cap_that_is_not_a_positive_integer_is_refused(self, cap: object) -> None:
        """The message quotes the value received."""
        with pytest.raises(ValueError, match=r"^cap: expected a positive integer, got"):
            Accumulator(cap=cap)  # type: ignore[arg-type]

    def test_a_million_values_keep_memory_bounded(self) -> None:
        """A million values of one name keep a bounded sample, not a million floats."""
        count = 1_000_000
        step = 2.0**-20  # exactly representable, so the total is exact
        tracemalloc.start()
        try:
            accumulator = Accumulator()
            add = accumulator.add
            for i in range(count):
                add(i * step)
            _, peak = tracemalloc.get_traced_memory()
        finally:
            tracemalloc.stop()
        # A list of a million floats alone would take over 30 MB.
        assert peak < 2_000_000
        assert accumulator.count == count
        assert accumulator.total == count * (count - 1) // 2 * step
        assert (accumulator.min, accumulator.max) == (0.0, (count - 1) * step)
        assert len(accumulator.samples) == DEFAULT_CAP

    def test_a_locked_accumulator_counts_every_value_from_several_threads(
        self,
    ) -> None:
        """With the calls serialised by a lock, nothing is lost."""
        accumulator = Accumulator(cap=100)
        lock = threading.Lock()

        def work() -> None:
            for _ in range(20_000):
                with lock:
                    accumulator.add(0.5)

        run_threads(work, 4)
        assert accumulator.count == 80_000
        assert accumulator.total == 40_000.0
        assert len(accumulator.samples) == 100

    def test_unlocked_adds_from_several_threads_never_raise_and_stay_bounded(
        self, switch_often: None
    ) -> None:
        """Without a lock updates may be lost, but the sample stays bounded."""
        accumulator = Accumulator(cap=100)
        errors: list[BaseException] = []

        def work() -> None:
            try:
                for _ in range(20_000):
                    accumulator.add(0.5)
            except BaseException as error:  # pragma: no cover - the failure
                errors.append(error)

        run_threads(work, 4)
        assert errors == []
        assert 100 <= len(accumulator.samples) <= 104
        assert 0 < accumulator.count <= 80_000


@pytest.fixture
def switch_often() -> Iterator[None]:
    interval = sys.getswitchinterval()
    sys.setswitchinterval(1e-6)
    yield
    sys.setswitchinterval(interval)


def run_threads(work: Callable[[], None], number: int) -> None:
    threads = [threading.Thread(target=work) for _ in range(number)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()


class TestExtend:
    @given(
        st.lists(durations, max_size=120),
        st.lists(st.integers(min_value=0, max_value=120), max_size=6),
        st.integers(min_value=1, max_value=40),
        st.integers(min_value=0, max_value=3),
    )
    def test_a_batch_gives_exactly_what_one_add_after_another_gives(
        self, values: list[float], cuts: list[int], cap: int, seed: int
    ) -> None:
        """Count, total, min, max, samples and the random state all match."""
        one_by_one = filled(values, cap=cap, seed=seed)
        batched = Accumulator(cap=cap, seed=seed)
        edges = sorted({0, len(values), *(min(c, len(values)) for c in cuts)})
        for start, end in itertools.pairwise(edges):
            batched.extend(values[start:end])
        assert batched.count == one_by_one.count
        assert batched.total == one_by_one.total
        assert (batched.min, batched.max) == (one_by_one.min, one_by_one.max)
        assert batched.samples == one_by_one.samples
        batched.add(0.5)
        one_by_one.add(0.5)
        assert batched.samples == one_by_one.samples

    def test_an_empty_batch_changes_nothing(self) -> None:
        accumulator = Accumulator()
        accumulator.extend([])
        assert accumulator.count == 0
        assert accumulator.max == -math.inf


class TestSummary:
    def test_an_exact_summary_of_a_small_example(self) -> None:
        """Quantiles interpolate between the closest ranks."""
        summary = summarize([4.0, 1.0, 3.0, 2.0, 10.0])
        assert summary == Summary(
            count=5,
            total=20.0,
            min=1.0,
            max=10.0,
            mean=4.0,
            median=3.0,
            p95=pytest.approx(8.8),  # type: ignore[arg-type]
            p99=pytest.approx(9.76),  # type: ignore[arg-type]
            exact=True,
        )

    def test_one_value_is_every_statistic(self) -> None:
        """A single value is its own median and percentiles."""
        summary = summarize([0.25])
        assert [summary.get(name) for name in STATISTICS] == [0.25] * 7
        assert summary.count == 1

    @given(duration_lists.filter(lambda values: len(values) >= 2))
    def test_summaries_agree_with_the_statistics_module(
        self, values: list[float]
    ) -> None:
        """median, p95 and p99 match statistics' inclusive quantiles."""
        summary = summarize(values)
        cuts = statistics.quantiles(values, n=100, method="inclusive")
        assert summary.count == len(values)
        assert (summary.min, summary.max) == (min(values), max(values))
        assert summary.total == pytest.approx(math.fsum(values), abs=1e-9)
        assert summary.mean == pytest.approx(statistics.fmean(values), abs=1e-9)
        assert summary.median == pytest.approx(statistics.median(values), abs=1e-9)
        assert summary.p95 == pytest.approx(cuts[94], abs=1e-9)
        assert summary.p99 == pytest.approx(cuts[98], abs=1e-9)
        assert summary.exact

    @given(duration_lists, st.integers(min_value=1, max_value=8))
    def test_estimated_statistics_stay_within_min_and_max(
        self, values: list[float], cap: int
    ) -> None:
        """Whatever was dropped, the quantiles lie between min and max."""
        summary = filled(values, cap=cap).summary()
        assert summary.min <= summary.median <= summary.p95 <= summary.p99
        assert summary.p99 <= summary.max
        assert summary.exact == (len(values) <= cap)

    def test_get_returns_each_statistic_by_name(self) -> None:
        """Every name in STATISTICS is a field of the summary."""
        summary = summarize([1.0, 2.0, 3.0])
        assert {name: summary.get(name) for name in STATISTICS} == {
            "max": 3.0,
            "min": 1.0,
            "mean": 2.0,
            "median": 2.0,
            "p95": pytest.approx(2.9),
            "p99": pytest.approx(2.98),
            "total": 6.0,
        }

    @pytest.mark.parametrize("name", ["p50", "count", "exact", "MAX", ""])
    def test_get_refuses_an_unknown_statistic_and_lists_the_known_ones(
        self, name: str
    ) -> None:
        """The message names the statistic asked for and every known one."""
        with pytest.raises(ValueError, match="expected one of") as caught:
            summarize([1.0]).get(name)
        assert str(caught.value) == (
            f"unknown statistic {name!r}, expected one of "
            "max, min, mean, median, p95, p99, total"
        )

    def test_summarizing_nothing_is_an_error(self) -> None:
        """There is no median of no values."""
        with pytest.raises(ValueError, match=r"^cannot summarize an accumulator with"):
            Accumulator().summary()

    def test_summaries_are_frozen(self) -> None:
        """A summary can be shared and hashed safely."""
        summary = summarize([1.0])
        with pytest.raises(AttributeError):
            summary.count = 2  # type: ignore[misc]
        assert hash(summary) == hash(summarize([1.0]))


class TestMerge:
    def test_merging_small_accumulators_keeps_every_value(self) -> None:
        """Below the cap the merge is exact."""
        left = filled([1.0, 2.0], cap=10)
        left.merge(filled([5.0, 0.5, 3.0], cap=10))
        assert sorted(left.samples) == [0.5, 1.0, 2.0, 3.0, 5.0]
        assert left.summary() == summarize([1.0, 2.0, 5.0, 0.5, 3.0])

    def test_merged_exact_accumulators_keep_sampling_with_algorithm_r(
        self,
    ) -> None:
        """An exact merge leaves room to keep appending up to the cap."""
        merged = filled([1.0], cap=3)
        merged.merge(filled([2.0], cap=3))
        merged.add(3.0)
        assert merged.samples == (1.0, 2.0, 3.0)
        for _ in range(100):
            merged.add(4.0)
        assert merged.count == 103
        assert len(merged.samples) == 3

    def test_each_side_contributes_in_proportion_to_its_count(self) -> None:
        """Every value of the union had the same chance to be kept."""
        small = filled([1.0] * 10_000, cap=100)
        large = filled([2.0] * 30_000, cap=100)
        small.merge(large)
        assert Counter(small.samples) == {1.0: 25, 2.0: 75}
        assert small.count == 40_000
        assert small.total == 70_000.0

    def test_a_tiny_side_may_contribute_nothing(self) -> None:
        """Ten values among 100,000 weigh less than one of 100 kept samples."""
        big = filled([2.0] * 100_000, cap=100)
        big.merge(filled([1.0] * 10, cap=100))
        assert Counter(big.samples) == {2.0: 100}
        assert (big.count, big.min) == (100_010, 1.0)

    def test_a_side_that_dropped_values_keeps_its_sample_size(self) -> None:
        """Values merged into a thinned sample enter it by reservoir sampling."""
        picks = []
        for seed in range(200):
            sparse = Accumulator.from_builtins(
                {
                    "count": 1000,
                    "total": 1000.0,
                    "min": 1.0,
                    "max": 1.0,
                    "samples": [1.0],
                },
                seed=seed,
            )
            sparse.merge(filled([2.0] * 1000, cap=DEFAULT_CAP))
            assert sparse.count == 2000
            (sample,) = sparse.samples
            picks.append(sample)
        # Each value had the same chance: about half the draws are 2.0.
        assert 60 <= picks.count(2.0) <= 140

    def test_many_small_merges_keep_a_uniform_sample(self) -> None:
        """Merging one value at a time, 10,000 times, samples all of them alike."""
        total = Accumulator()
        for value in range(10_000):
            single = Accumulator()
            single.add(float(value))
            total.merge(single)
        assert total.count == 10_000
        summary = total.summary()
        assert 4_000 < summary.median < 6_000
        assert summary.p95 > 9_000

    def test_two_thinned_samples_merge_in_proportion_to_their_counts(self) -> None:
        """A side standing for three times the values gives about 3/4 of the sample."""
        big = filled([1.0] * 30_000)
        small = filled([2.0] * 10_000)
        big.merge(small)
        assert big.count == 40_000
        assert len(big.samples) == DEFAULT_CAP
        share = big.samples.count(2.0) / DEFAULT_CAP
        assert 0.18 < share < 0.32

    def test_the_merged_sample_is_bounded_by_the_receiving_cap(self) -> None:
        """A larger cap on the other side does not grow this one."""
        receiving = filled([1.0] * 5, cap=10)
        receiving.merge(filled([2.0] * 50, cap=100))
        assert len(receiving.samples) == 10
        assert receiving.cap == 10

    def test_merging_an_empty_accumulator_changes_nothing(self) -> None:
        """No values, no change, in either direction."""
        accumulator = filled([1.0, 2.0])
        accumulator.merge(Accumulator())
        assert accumulator.to_builtins() == filled([1.0, 2.0]).to_builtins()
        empty = Accumulator()
        empty.merge(accumulator)
        assert empty.to_builtins() == accumulator.to_builtins()

    def test_an_accumulator_can_merge_itself(self) -> None:
        """Merging with itself counts every value twice."""
        accumulator = filled([1.0, 3.0])
        accumulator.merge(accumulator)
        assert accumulator.count == 4
        assert sorted(accumulator.samples) == [1.0, 1.0, 3.0, 3.0]

    def test_merging_is_deterministic(self) -> None:
        """The same accumulators merged the same way keep the same samples."""

        def merged() -> tuple[float, ...]:
            accumulator = filled([float(i) for i in range(500)], cap=50, seed=3)
            accumulator.merge(filled([float(i) for i in range(500, 2000)], cap=50))
            return accumulator.samples

        assert merged() == merged()

    @given(
        st.lists(duration_lists, min_size=1, max_size=5),
        st.integers(min_value=1, max_value=20),
    )
    def test_merging_parts_keeps_the_exact_statistics_of_the_whole(
        self, parts: list[list[float]], cap: int
    ) -> None:
        """count, min and max are exact and the samples come from the union."""
        merged = Accumulator(cap=cap)
        for part in parts:
            merged.merge(filled(part, cap=cap))
        union = [value for part in parts for value in part]
        assert merged.count == len(union)
        assert merged.total == pytest.approx(math.fsum(union), abs=1e-9)
        assert (merged.min, merged.max) == (min(union), max(union))
        assert 1 <= len(merged.samples) <= cap
        assert is_sub_multiset(merged.samples, union)
        assert merged.exact == (len(merged.samples) == len(union))


def refusal(read: Callable[[object], Accumulator], data: object) -> str:
    """The message of the ValueError *read* refuses *data* with."""
    with pytest.raises(ValueError, match=r"^accumulator") as caught:
        read(data)
    return str(caught.value)


MALFORMED: list[tuple[object, str]] = [
    ([], "accumulator: expected a dict with keys count, total, min, max, "),
    ({"count": 1}, "accumulator: missing field(s) total, min, max, samples"),
    (
        {"count": -1, "total": 0, "min": None, "max": None, "samples": []},
        "accumulator field 'count': expected an integer >= 0, got -1",
    ),
    (
        {"count": True, "total": 0, "min": None, "max": None, "samples": []},
        "accumulator field 'count': expected an integer >= 0, got True",
    ),
    (
        {"count": 1, "total": "1", "min": 1, "max": 1, "samples": [1]},
        "accumulator field 'total': expected a finite number, got '1'",
    ),
    (
        {"count": 1, "total": 1, "min": 1, "max": 1, "samples": (1,)},
        "accumulator field 'samples': expected a list, got (1,)",
    ),
    (
        {"count": 0, "total": 0, "min": 0.0, "max": None, "samples": []},
        "accumulator field 'min': expected None when count is 0, got 0.0",
    ),
    (
        {"count": 0, "total": 0, "min": None, "max": 1, "samples": []},
        "accumulator field 'max': expected None when count is 0, got 1",
    ),
    (
        {"count": 0, "total": 1.0, "min": None, "max": None, "samples": []},
        "accumulator fields 'samples' and 'total': expected [] and 0 when "
        "count is 0, got [] and 1.0",
    ),
    (
        {"count": 1, "total": 1, "min": None, "max": 1, "samples": [1]},
        "accumulator field 'min': expected a finite number, got None",
    ),
    (
        {"count": 1, "total": 1, "min": 1, "max": math.inf, "samples": [1]},
        "accumulator field 'max': expected a finite number, got inf",
    ),
    (
        {"count": 1, "total": 1, "min": 2, "max": 1, "samples": [1]},
        "accumulator fields 'min', 'max': min 2.0 exceeds max 1.0",
    ),
    (
        {"count": 1, "total": 1, "min": 1, "max": 1, "samples": []},
        "accumulator field 'samples': expected 1 to count (1) values, got 0",
    ),
    (
        {"count": 1, "total": 1, "min": 1, "max": 1, "samples": [1, 1]},
        "accumulator field 'samples': expected 1 to count (1) values, got 2",
    ),
    (
        {"count": 2, "total": 2, "min": 1, "max": 1, "samples": [1, "x"]},
        "accumulator field 'samples[1]': expected a finite number, got 'x'",
    ),
    (
        {"count": 1, "total": 1, "min": 1, "max": 1, "samples": [0.5]},
        "accumulator field 'samples[0]': expected a value between min 1.0 "
        "and max 1.0, got 0.5",
    ),
]


class TestBuiltins:
    def test_the_state_round_trips_through_json(self) -> None:
        """to_builtins is JSON-safe and from_builtins restores it."""
        accumulator = filled([float(i) for i in range(50)], cap=8)
        data = json.loads(json.dumps(accumulator.to_builtins(), allow_nan=False))
        restored = Accumulator.from_builtins(data, cap=8)
        assert restored.to_builtins() == accumulator.to_builtins()
        assert restored.summary() == accumulator.summary()

    def test_an_empty_accumulator_writes_none_for_min_and_max(self) -> None:
        """inf is not JSON, so an empty accumulator writes None."""
        data = Accumulator().to_builtins()
        assert data == {
            "count": 0,
            "total": 0.0,
            "min": None,
            "max": None,
            "samples": [],
        }
        assert Accumulator.from_builtins(data).count == 0

    def test_unknown_keys_are_ignored(self) -> None:
        """A newer writer may add fields."""
        data = {**filled([1.0]).to_builtins(), "p50": 1.0}
        assert Accumulator.from_builtins(data).samples == (1.0,)

    def test_more_samples_than_the_cap_are_reduced_to_a_fair_sample(self) -> None:
        """The restored accumulator respects its own cap."""
        data = filled([float(i) for i in range(100)], cap=100).to_builtins()
        restored = Accumulator.from_builtins(data, cap=10, seed=1)
        assert len(restored.samples) == 10
        assert not restored.exact
        assert restored.count == 100
        assert (
            restored.samples == Accumulator.from_builtins(data, cap=10, seed=1).samples
        )

    def test_a_reduced_sample_keeps_its_size_after_more_values(self) -> None:
        """Dropped values cannot come back, so the sample does not grow."""
        data = filled([float(i) for i in range(100)], cap=5).to_builtins()
        restored = Accumulator.from_builtins(data, cap=50)
        for value in range(100, 1000):
            restored.add(float(value))
        assert len(restored.samples) == 5
        assert restored.count == 1000

    @pytest.mark.parametrize(("data", "message"), MALFORMED)
    def test_malformed_data_is_refused_naming_the_field(
        self, data: object, message: str
    ) -> None:
        """Each message names the field, the expectation and the value."""
        assert refusal(Accumulator.from_builtins, data).startswith(message)

    def test_the_repr_shows_the_counts(self) -> None:
        """The repr says how much was recorded and kept."""
        assert repr(filled([1.0, 2.0], cap=4)) == (
            "Accumulator(count=2, total=3.0, kept=2, cap=4)"
        )


class TestRows:
    @given(st.lists(durations, max_size=DEFAULT_CAP + 80))
    def test_a_row_rebuilds_what_the_builtins_rebuild(
        self, values: list[float]
    ) -> None:
        """The compact form xdist sends gives the same accumulator, kept or sampled."""
        accumulator = Accumulator()
        accumulator.extend(values)
        row = json.loads(json.dumps(accumulator.to_row()))
        data = json.loads(json.dumps(accumulator.to_builtins()))
        rebuilt = Accumulator.from_row(row)
        assert rebuilt.to_builtins() == Accumulator.from_builtins(data).to_builtins()
        assert rebuilt.to_row() == accumulator.to_row()

    @pytest.mark.parametrize(
        ("data", "message"),
        [case for case in MALFORMED if isinstance(case[0], dict) and len(case[0]) == 5],
    )
    def test_a_malformed_row_is_refused_naming_the_field(
        self, data: dict[str, object], message: str
    ) -> None:
        """As the builtins are: the same message for the same damage."""
        row = [data[field] for field in ("count", "total", "min", "max", "samples")]
        assert refusal(Accumulator.from_row, row).startswith(message)

    @pytest.mark.parametrize(
        ("row", "message"),
        [
            ([2, 2.0, 1.0, 1.0, [1.0, math.nan]], "accumulator field 'samples[1]'"),
            ([2, 2.0, 1.0, 1.0, [1.0, math.inf]], "accumulator field 'samples[1]'"),
            ([1, 1.0, 1.0, 1.0, [True]], "accumulator field 'samples[0]'"),
            ([2, 2.0, 1.0, 1.0, [1.0, True]], "accumulator field 'samples[1]'"),
            ([True, 1.0, 1.0, 1.0, [1.0]], "accumulator field 'count'"),
            ([1, math.nan, 1.0, 1.0, [1.0]], "accumulator field 'total'"),
            ([1, 1.0, 1.0], "accumulator: expected a list of count, total, min,"),
            ({"count": 1}, "accumulator: expected a list of count, total, min,"),
        ],
    )
    def test_what_the_quick_check_lets_by_is_refused_too(
        self, row: object, message: str
    ) -> None:
        """NaN, infinity and booleans are caught, not only what JSON makes."""
        assert refusal(Accumulator.from_row, row).startswith(message)


class TestCopy:
    def test_a_copy_has_the_same_values_and_changes_independently(self) -> None:
        """Adding to a copy leaves the original as it was, and vice versa."""
        original = Accumulator(cap=4, seed=3)
        for value in (1.0, 2.0, 3.0, 4.0, 5.0, 6.0):
            original.add(value)
        clone = original.copy()
        assert clone.to_builtins() == original.to_builtins()
        clone.add(100.0)
        assert original.max == 6.0
        assert clone.max == 100.0

    def test_a_copy_samples_the_same_way_as_its_original(self) -> None:
        """The random state is copied, so both keep the same samples."""
        original = Accumulator(cap=4, seed=3)
        for value in range(10):
            original.add(float(value))
        clone = original.copy()
        for value in range(10, 50):
            original.add(float(value))
            clone.add(float(value))
        assert clone.samples == original.samples

    @pytest.mark.parametrize("values", [0, 3, 10])
    def test_a_copy_carries_every_slot(self, values: int) -> None:
        """copy() names its slots one by one: none may be forgotten."""
        original = Accumulator(cap=4, seed=5)
        for value in range(values):
            original.add(float(value))
        clone = original.copy()
        for slot in Accumulator.__slots__:
            mine, theirs = getattr(original, slot), getattr(clone, slot)
            if slot == "_rng":
                assert (mine is None) == (theirs is None)
                if mine is not None:
                    assert theirs is not mine
                    assert theirs.getstate() == mine.getstate()
            elif slot == "_random":
                assert (mine is None) == (theirs is None)
            elif slot == "_samples":
                assert theirs == mine
                assert theirs is not mine
            else:
                assert theirs == mine, slot


class TestGet:
    def test_each_statistic_matches_the_summary(self) -> None:
        """get() reads max, min, mean and total directly, the rest via summary."""
        accumulator = filled([3.0, 1.0, 2.0, 10.0])
        summary = accumulator.summary()
        for statistic in STATISTICS:
            assert accumulator.get(statistic) == summary.get(statistic)

    def test_an_empty_accumulator_has_no_statistics(self) -> None:
        """Nothing added: nothing to report, even for max."""
        with pytest.raises(ValueError, match="no values"):
            Accumulator().get("max")


@pytest.mark.parametrize(
    ("percent", "expected"), [(0, 1.0), (50, 2.5), (95, 3.85), (100, 4.0)]
)
def test_quantile_interpolates_between_closest_ranks(
    percent: int, expected: float
) -> None:
    """The one quantile function: rank (n - 1) * p / 100, linearly interpolated."""
    assert quantile([1.0, 2.0, 3.0, 4.0], percent) == pytest.approx(expected)


@given(st.lists(st.floats(min_value=0, max_value=1e3), max_size=1100))
def test_an_accumulator_built_at_once_equals_one_added_to(values: list[float]) -> None:
    """Accumulator.of gives what adding each value in turn gives."""
    built, added = Accumulator.of(values), Accumulator()
    for value in values:
        added.add(value)
    assert (built.count, built.total, built.min, built.max, built.samples) == (
        added.count,
        added.total,
        added.min,
        added.max,
        added.samples,
    )
