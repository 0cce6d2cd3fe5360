from __future__ import annotations

import math
import random

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from pytest_tracer._history.verdict import (
    MAD_TO_SIGMA,
    Alternative,
    Distribution,
    Verdict,
    judge,
    judge_history,
    mann_whitney_u,
    median_abs_deviation,
)

MS = 1e-3

# Reference p-values below match scipy.stats.mannwhitneyu(current, baseline,
# alternative=..., method="exact" or "asymptotic", use_continuity=True).
SMALL_BASELINE = [0.0101, 0.0098, 0.0105, 0.0102, 0.0099, 0.0103]
SMALL_CURRENT = [0.0110, 0.0104, 0.0112, 0.0108, 0.0115]
OVERLAP_BASELINE = [3.1, 1.2, 4.5, 2.2, 5.0, 0.7, 3.9]
OVERLAP_CURRENT = [2.8, 4.1, 6.3, 3.3, 5.5, 4.8]
TIED_BASELINE = [1.0, 2.0, 2.0, 3.0, 3.0, 3.0, 4.0]
TIED_CURRENT = [2.0, 3.0, 3.0, 4.0, 4.0, 5.0, 5.0, 6.0]

durations = st.floats(min_value=0.0, max_value=1e3, allow_nan=False)
jitter = st.floats(min_value=0.97, max_value=1.03)


def noisy_run(rng: random.Random, median: float, size: int = 30) -> list[float]:
    """Draw durations the way a shared CI runner scatters them.

    About 10% lognormal scatter, and one sample in twenty stalled by 1.2x to 3x.
    """
    values = []
    for _ in range(size):
        value = median * math.exp(rng.gauss(0.0, 0.1))
        if rng.random() < 0.05:
            value *= rng.uniform(1.2, 3.0)
        values.append(value)
    return values


class TestMannWhitneyU:
    @pytest.mark.parametrize(
        ("baseline", "current", "alternative", "expected_u", "expected_p"),
        [
            (SMALL_BASELINE, SMALL_CURRENT, "greater", 29.0, 0.004329004329004329),
            (SMALL_BASELINE, SMALL_CURRENT, "less", 29.0, 0.9978354978354979),
            (OVERLAP_BASELINE, OVERLAP_CURRENT, "greater", 32.0, 0.06876456876456877),
            (OVERLAP_BASELINE, OVERLAP_CURRENT, "less", 32.0, 0.9493006993006993),
        ],
    )
    def test_small_samples_without_ties_match_the_exact_reference(
        self,
        baseline: list[float],
        current: list[float],
        alternative: Alternative,
        expected_u: float,
        expected_p: float,
    ) -> None:
        """Small samples without ties use the exact distribution of U."""
        u, p = mann_whitney_u(baseline, current, alternative=alternative)
        assert u == expected_u
        assert p == pytest.approx(expected_p, rel=1e-12)

    def test_three_above_three_has_a_one_in_twenty_chance(self) -> None:
        """Of the 20 ways to split six ranks, one puts all of current on top."""
        assert mann_whitney_u([1.0, 2.0, 3.0], [4.0, 5.0, 6.0]) == (9.0, 0.05)

    @pytest.mark.parametrize(
        ("alternative", "expected_p"),
        [("greater", 0.02494221848996294), ("less", 0.98122802559914)],
    )
    def test_ties_use_the_normal_approximation_with_tie_correction(
        self, alternative: Alternative, expected_p: float
    ) -> None:
        """Tied values share their mean rank and shrink the variance of U."""
        u, p = mann_whitney_u(TIED_BASELINE, TIED_CURRENT, alternative=alternative)
        assert u == 45.0
        assert p == pytest.approx(expected_p, rel=1e-12)

    @pytest.mark.parametrize(
        ("baseline", "current", "expected_p"),
        [
            (SMALL_BASELINE, SMALL_CURRENT, 0.00685541503906661),
            (OVERLAP_BASELINE, OVERLAP_CURRENT, 0.06680720126885807),
        ],
    )
    def test_the_normal_approximation_matches_the_reference(
        self, baseline: list[float], current: list[float], expected_p: float
    ) -> None:
        """The normal approximation applies the continuity correction."""
        _, p = mann_whitney_u(baseline, current, distribution="normal")
        assert p == pytest.approx(expected_p, rel=1e-12)

    def test_exact_and_normal_agree_for_moderate_samples(self) -> None:
        """From a dozen samples a side the approximation is within 0.005."""
        rng = random.Random(7)
        for _ in range(100):
            shift = rng.uniform(-1.5, 1.5)
            baseline = [rng.gauss(0, 1) for _ in range(rng.randint(12, 20))]
            current = [rng.gauss(shift, 1) for _ in range(rng.randint(12, 20))]
            _, exact = mann_whitney_u(baseline, current, distribution="exact")
            _, normal = mann_whitney_u(baseline, current, distribution="normal")
            assert abs(exact - normal) < 0.005

    def test_auto_switches_to_the_normal_approximation_above_twenty_samples(
        self,
    ) -> None:
        """Twenty a side is still exact; twenty-one is approximated."""
        cases: list[tuple[int, Distribution, Distribution]] = [
            (20, "exact", "normal"),
            (21, "normal", "exact"),
        ]
        for size, used, other in cases:
            baseline = [float(i) for i in range(0, 2 * size, 2)]
            current = [float(i) for i in range(1, 2 * size, 2)]
            auto = mann_whitney_u(baseline, current)
            assert auto == mann_whitney_u(baseline, current, distribution=used)
            assert auto != mann_whitney_u(baseline, current, distribution=other)

    def test_equal_values_everywhere_give_no_evidence(self) -> None:
        """With every value tied there is nothing to rank."""
        assert mann_whitney_u([1.0] * 10, [1.0] * 12) == (60.0, 1.0)

    @given(st.lists(durations, min_size=1, max_size=25), st.data())
    def test_u_counts_the_pairs_where_current_is_larger(
        self, baseline: list[float], data: st.DataObject
    ) -> None:
        """U is the number of pairs won by current, a tie counting one half."""
        current = data.draw(st.lists(durations, min_size=1, max_size=25))
        pairs = sum(
            1.0 if c > b else 0.5 if c == b else 0.0 for b in baseline for c in current
        )
        assert mann_whitney_u(baseline, current)[0] == pairs

    @settings(deadline=None)
    @given(
        st.lists(durations, min_size=1, max_size=30),
        st.lists(durations, min_size=1, max_size=30),
    )
    def test_the_two_directions_are_mirror_images(
        self, first: list[float], second: list[float]
    ) -> None:
        """Testing b above a is the same as testing a below b."""
        _, greater = mann_whitney_u(first, second, alternative="greater")
        _, less = mann_whitney_u(second, first, alternative="less")
        assert greater == pytest.approx(less, rel=1e-9, abs=1e-15)

    @pytest.mark.parametrize(
        ("baseline", "current", "message"),
        [
            ([], [1.0], "mann_whitney_u: baseline is empty, expected at least one"),
            ([1.0], [], "mann_whitney_u: current is empty, expected at least one"),
            (
                [1.0, math.nan],
                [1.0],
                "mann_whitney_u: baseline holds nan, expected finite durations",
            ),
        ],
    )
    def test_bad_samples_are_named_in_the_error(
        self, baseline: list[float], current: list[float], message: str
    ) -> None:
        """An empty or non-finite side is refused with the side's name."""
        with pytest.raises(ValueError, match=message):
            mann_whitney_u(baseline, current)

    def test_an_unknown_alternative_is_refused(self) -> None:
        """A typo in the direction does not silently test the other one."""
        with pytest.raises(
            ValueError,
            match="mann_whitney_u: alternative='bigger', expected 'greater' or 'less'",
        ):
            mann_whitney_u([1.0], [2.0], alternative="bigger")  # type: ignore[arg-type]

    def test_an_unknown_distribution_is_refused(self) -> None:
        """Only auto, exact and normal exist."""
        with pytest.raises(
            ValueError,
            match="distribution='t', expected 'auto', 'exact' or 'normal'",
        ):
            mann_whitney_u([1.0], [2.0], distribution="t")  # type: ignore[arg-type]

    def test_the_exact_distribution_is_refused_with_ties(self) -> None:
        """The exact count of arrangements assumes distinct values."""
        with pytest.raises(ValueError, match="'exact' needs values without ties"):
            mann_whitney_u([1.0, 2.0], [2.0, 3.0], distribution="exact")


class TestMedianAbsDeviation:
    def test_it_is_the_median_distance_from_the_median(self) -> None:
        """Distances from 2 are 1, 1, 0, 0, 2, 4, 7: their median is 1."""
        assert median_abs_deviation([1.0, 1.0, 2.0, 2.0, 4.0, 6.0, 9.0]) == 1.0

    def test_one_wild_value_barely_moves_it(self) -> None:
        """A stalled run changes the MAD far less than the standard deviation."""
        steady = [10.0, 10.2, 9.8, 10.1, 9.9, 10.0, 10.3]
        assert median_abs_deviation([*steady, 100.0]) <= 2 * median_abs_deviation(
            steady
        )

    def test_no_values_is_an_error(self) -> None:
        """The MAD of nothing is undefined."""
        with pytest.raises(ValueError, match="got no values, expected at least one"):
            median_abs_deviation([])


class TestJudgeWithEnoughSamples:
    def test_a_clear_slowdown_is_slower(self) -> None:
        """Thirty samples each, +50% and barely overlapping: slower."""
        rng = random.Random(1)
        baseline = [10 * MS * rng.uniform(0.95, 1.05) for _ in range(30)]
        current = [15 * MS * rng.uniform(0.95, 1.05) for _ in range(30)]
        verdict = judge(baseline, current, tolerance=0.1, noise_floor=1 * MS)
        assert verdict.kind == "slower"
        assert verdict.method == "mann-whitney"
        assert verdict.p_value is not None
        assert verdict.p_value < 1e-6
        assert verdict.change == pytest.approx(0.5, abs=0.05)
        assert (verdict.n_baseline, verdict.n_current) == (30, 30)

    def test_a_clear_speedup_is_faster(self) -> None:
        """The same samples the other way round: faster."""
        rng = random.Random(1)
        baseline = [15 * MS * rng.uniform(0.95, 1.05) for _ in range(30)]
        current = [10 * MS * rng.uniform(0.95, 1.05) for _ in range(30)]
        verdict = judge(baseline, current, tolerance=0.1, noise_floor=1 * MS)
        assert verdict.kind == "faster"
        assert verdict.p_value is not None
        assert verdict.p_value < 1e-6
        assert verdict.change == pytest.approx(-1 / 3, abs=0.05)

    def test_a_significant_change_within_the_tolerance_is_unchanged(self) -> None:
        """+5% with no overlap is real, but a 10% tolerance lets it pass."""
        baseline = [10 * MS + i * 0.01 * MS for i in range(10)]
        current = [value * 1.05 for value in baseline]
        verdict = judge(baseline, current, tolerance=0.1, noise_floor=0.0)
        assert verdict.p_value is not None
        assert verdict.p_value < 0.01
        assert verdict.change == pytest.approx(0.05)
        assert verdict.kind == "unchanged"

    def test_a_significant_change_below_the_noise_floor_is_unchanged(self) -> None:
        """+50% of 10 us is 5 us, well under a 1 ms noise floor."""
        baseline = [10e-6 + i * 1e-8 for i in range(10)]
        current = [value * 1.5 for value in baseline]
        slower = judge(baseline, current, tolerance=0.1, noise_floor=0.0)
        floored = judge(baseline, current, tolerance=0.1, noise_floor=1 * MS)
        assert (slower.kind, floored.kind) == ("slower", "unchanged")

    def test_a_large_change_without_significance_is_unchanged(self) -> None:
        """The median moved 11%, but eight overlapping samples prove nothing."""
        baseline = [float(i) for i in range(1, 9)]
        current = [value + 0.5 for value in baseline]
        verdict = judge(baseline, current, tolerance=0.1, noise_floor=0.0)
        assert verdict.change > 0.1
        assert verdict.p_value is not None
        assert verdict.p_value > 0.01
        assert verdict.kind == "unchanged"

    def test_a_change_of_exactly_the_tolerance_is_not_beyond_it(self) -> None:
        """The gates are strict: the median must grow by more than allowed."""
        baseline = [1.0 + i / 64 for i in range(9)]
        current = [value + 0.5 for value in baseline]
        verdict = judge(baseline, current, tolerance=0.5 / 1.0625, noise_floor=0.0)
        assert verdict.baseline_median == 1.0625
        assert verdict.kind == "unchanged"

    def test_the_significance_level_is_a_parameter(self) -> None:
        """p=0.0043 is not enough when asking for p < 0.001."""
        loose, strict = (
            judge(
                SMALL_BASELINE,
                SMALL_CURRENT,
                tolerance=0.05,
                noise_floor=0.0,
                min_samples=5,
                p_value=level,
            )
            for level in (0.01, 0.001)
        )
        assert (loose.kind, strict.kind) == ("slower", "unchanged")
        assert loose.p_value == pytest.approx(0.004329004329004329)

    @pytest.mark.parametrize(
        ("current", "noise_floor", "kind", "change"),
        [
            ([0.002] * 8, 0.001, "slower", math.inf),
            ([0.002] * 8, 0.01, "unchanged", math.inf),
            ([0.0] * 8, 0.0, "unchanged", 0.0),
        ],
    )
    def test_a_zero_baseline_leaves_the_decision_to_the_noise_floor(
        self, current: list[float], noise_floor: float, kind: str, change: float
    ) -> None:
        """No division by zero: any growth from zero is beyond the tolerance."""
        verdict = judge([0.0] * 8, current, tolerance=0.1, noise_floor=noise_floor)
        assert (verdict.kind, verdict.change) == (kind, change)

    @settings(deadline=None)
    @given(st.lists(durations, max_size=40), st.data())
    def test_a_shuffle_of_the_baseline_is_never_slower(
        self, baseline: list[float], data: st.DataObject
    ) -> None:
        """Even with no tolerance and no noise floor, the same values pass."""
        current = data.draw(st.permutations(baseline))
        verdict = judge(baseline, current, tolerance=0.0, noise_floor=0.0)
        assert verdict.kind in ("unchanged", "insufficient")

    @settings(deadline=None)
    @given(
        st.floats(min_value=1e-5, max_value=10.0),
        st.lists(jitter, min_size=30, max_size=30),
        st.lists(jitter, min_size=30, max_size=30),
    )
    def test_a_fifty_percent_shift_of_steady_timings_is_slower(
        self, median: float, base_jitter: list[float], current_jitter: list[float]
    ) -> None:
        """With 3% jitter, thirty samples a side always reveal +50%."""
        baseline = [median * factor for factor in base_jitter]
        current = [median * 1.5 * factor for factor in current_jitter]
        verdict = judge(baseline, current, tolerance=0.1, noise_floor=1e-6)
        assert verdict.kind == "slower"

    def test_unchanged_noisy_timings_rarely_raise_a_false_alarm(self) -> None:
        """Two hundred comparisons of the same noisy timer: at most four alarms."""
        rng = random.Random(2024)
        alarms = 0
        for _ in range(200):
            baseline, current = noisy_run(rng, 12 * MS), noisy_run(rng, 12 * MS)
            verdict = judge(baseline, current, tolerance=0.1, noise_floor=0.1 * MS)
            alarms += verdict.kind != "unchanged"
        assert alarms <= 4

    def test_a_twenty_percent_slowdown_of_noisy_timings_is_caught(self) -> None:
        """Two hundred comparisons after a +20% slowdown: at least 190 caught."""
        rng = random.Random(2025)
        caught = 0
        for _ in range(200):
            baseline, current = noisy_run(rng, 12 * MS), noisy_run(rng, 14.4 * MS)
            verdict = judge(baseline, current, tolerance=0.1, noise_floor=0.1 * MS)
            caught += verdict.kind == "slower"
        assert caught >= 190


HISTORY = [v * MS for v in (12.0, 12.1, 12.3, 11.9, 12.2, 12.1, 12.6, 11.8, 12.1, 12.4)]


class TestJudgeHistory:
    def test_a_run_far_outside_the_history_is_slower(self) -> None:
        """Ten steady runs around 12.1 ms; this one took 14.8 ms."""
        verdict = judge_history(
            HISTORY, [14.6 * MS, 14.8 * MS, 15.1 * MS], tolerance=0.1, noise_floor=0
        )
        assert verdict.kind == "slower"
        assert verdict.method == "mad"
        assert verdict.p_value is None
        assert verdict.spread == pytest.approx(MAD_TO_SIGMA * 0.15 * MS)
        assert verdict.baseline_median == pytest.approx(12.1 * MS)

    def test_a_run_far_below_the_history_is_faster(self) -> None:
        """The sigma band works both ways."""
        verdict = judge_history(HISTORY, [9.0 * MS], tolerance=0.1, noise_floor=0)
        assert verdict.kind == "faster"

    def test_a_change_inside_the_sigma_band_is_unchanged(self) -> None:
        """+15% beats the tolerance but not three sigmas of a jumpy history."""
        jumpy = [v * MS for v in (10.0, 12.0, 14.0, 11.0, 13.0)]
        verdict = judge_history(jumpy, [13.8 * MS], tolerance=0.1, noise_floor=0)
        assert verdict.spread == pytest.approx(MAD_TO_SIGMA * MS)
        assert verdict.change == pytest.approx(0.15)
        assert verdict.kind == "unchanged"
        loose = judge_history(
            jumpy, [13.8 * MS], tolerance=0.1, noise_floor=0, sigmas=1
        )
        assert loose.kind == "slower"

    def test_a_steady_history_still_allows_the_tolerance(self) -> None:
        """A history with no scatter at all does not turn +5% into a failure."""
        verdict = judge_history(
            [12 * MS] * 5, [12.6 * MS], tolerance=0.1, noise_floor=0
        )
        assert (verdict.kind, verdict.spread) == ("unchanged", 0.0)

    def test_one_stalled_run_in_the_history_does_not_hide_a_slowdown(self) -> None:
        """The MAD ignores a single 40 ms outlier among 12 ms runs."""
        history = [v * MS for v in (12.0, 12.1, 12.2, 11.9, 12.0, 40.0)]
        verdict = judge_history(history, [14.5 * MS], tolerance=0.1, noise_floor=0)
        assert verdict.kind == "slower"

    def test_the_noise_floor_applies_to_the_history_too(self) -> None:
        """+50% of 10 us is ignored under a 1 ms noise floor."""
        history = [10e-6, 10.1e-6, 9.9e-6]
        verdict = judge_history(history, [15e-6], tolerance=0.1, noise_floor=1 * MS)
        assert verdict.kind == "unchanged"

    def test_judge_reads_the_baseline_as_history_when_samples_are_few(self) -> None:
        """Five current samples are too few for the rank test."""
        current = [14.6 * MS, 14.8 * MS, 15.1 * MS, 14.7 * MS, 14.9 * MS]
        verdict = judge(HISTORY, current, tolerance=0.1, noise_floor=0)
        assert (verdict.kind, verdict.method) == ("slower", "mad")

    def test_two_earlier_values_fall_back_to_the_tolerance(self) -> None:
        """Without three runs there is no spread to measure: no p, no sigma."""
        verdict = judge([10 * MS, 10.2 * MS], [12 * MS], tolerance=0.1, noise_floor=0)
        assert verdict.method == "tolerance"
        assert (verdict.kind, verdict.p_value, verdict.spread) == ("slower", None, None)
        within = judge([10 * MS, 10.2 * MS], [11 * MS], tolerance=0.1, noise_floor=0)
        assert within.kind == "unchanged"

    @pytest.mark.parametrize(
        ("baseline", "current"), [([], [1.0, 2.0]), ([1.0, 2.0, 3.0], []), ([], [])]
    )
    def test_an_empty_side_is_insufficient(
        self, baseline: list[float], current: list[float]
    ) -> None:
        """Nothing to compare is neither a pass nor a failure."""
        for verdict in (
            judge(baseline, current, tolerance=0.1, noise_floor=0),
            judge_history(baseline, current, tolerance=0.1, noise_floor=0),
        ):
            assert verdict.kind == "insufficient"
            assert math.isnan(verdict.change)
            assert (verdict.n_baseline, verdict.n_current) == (
                len(baseline),
                len(current),
            )

    @given(st.lists(durations, min_size=1, max_size=7), st.data())
    def test_a_shuffle_of_the_history_is_never_slower(
        self, history: list[float], data: st.DataObject
    ) -> None:
        """The current median equal to the history's median always passes."""
        current = data.draw(st.permutations(history))
        verdict = judge_history(history, current, tolerance=0.0, noise_floor=0.0)
        assert verdict.kind == "unchanged"


class TestDescribe:
    def test_the_rank_test_shows_medians_p_value_and_sample_counts(self) -> None:
        """The line carries what a reader needs to trust the verdict."""
        baseline = [0.0121 + 0.0001 * k for k in range(-4, 5)]
        current = [v * MS for v in (11.5, 12.45, 13.5, 14.2, 14.8, 15, 15.5, 16, 17)]
        verdict = judge(baseline, current, tolerance=0.1, noise_floor=0)
        # Exact p-value 0.002817770464829288, as scipy.stats.mannwhitneyu gives.
        assert verdict.describe() == (
            "median 12.1 ms -> 14.8 ms (+22.3%), p=0.0028 "
            "(Mann-Whitney, 9 vs 9 samples), tolerance 10%"
        )

    def test_a_tiny_p_value_is_shown_as_a_bound(self) -> None:
        """Digits beyond four decimals say nothing useful."""
        baseline = [10 * MS + i * 0.01 * MS for i in range(30)]
        current = [value * 1.5 for value in baseline]
        verdict = judge(baseline, current, tolerance=0.1, noise_floor=0.5 * MS)
        assert verdict.describe() == (
            "median 10.1 ms -> 15.2 ms (+50.0%), p<0.0001 "
            "(Mann-Whitney, 30 vs 30 samples), tolerance 10%, noise floor 500 us"
        )

    def test_the_history_method_shows_sigmas_and_the_history(self) -> None:
        """How far outside the usual scatter of the last runs this one landed."""
        verdict = judge_history(
            HISTORY, [14.6 * MS, 14.8 * MS, 15.1 * MS], tolerance=0.1, noise_floor=0
        )
        assert verdict.describe() == (
            "median 12.1 ms -> 14.8 ms (+22.3%), 12.1 sigma above the last 10 runs "
            "(median 12.1 ms, MAD-sigma 222.4 us), tolerance 10%"
        )

    def test_a_history_without_scatter_shows_no_sigma_count(self) -> None:
        """Dividing by a zero spread would print infinity."""
        verdict = judge_history([12 * MS] * 3, [11 * MS], tolerance=0.05, noise_floor=0)
        assert verdict.describe() == (
            "median 12 ms -> 11 ms (-8.3%), below the last 3 runs "
            "(median 12 ms, MAD-sigma 0 ns), tolerance 5%"
        )

    def test_the_tolerance_method_says_there_was_no_test(self) -> None:
        """A reader sees why there is no p-value."""
        verdict = judge([2.0], [2.5, 2.6], tolerance=0.125, noise_floor=0)
        assert verdict.describe() == (
            "median 2 s -> 2.55 s (+27.5%), 1 vs 2 samples, "
            "too few for a statistical test, tolerance 12.5%"
        )

    def test_growth_from_zero_is_worded_without_a_percentage(self) -> None:
        """An infinite percentage would help nobody."""
        verdict = judge([0.0], [1 * MS], tolerance=0.1, noise_floor=0)
        assert verdict.describe().startswith("median 0 ns -> 1 ms (up from zero), ")

    def test_an_insufficient_verdict_counts_the_samples(self) -> None:
        """It says which side had nothing."""
        verdict = judge([], [1.0, 2.0], tolerance=0.1, noise_floor=0)
        assert (
            verdict.describe() == "nothing to compare: 0 baseline vs 2 current samples"
        )

    def test_a_verdict_is_immutable(self) -> None:
        """Reports can share verdicts without copying them."""
        verdict = judge([], [], tolerance=0.1, noise_floor=0)
        assert isinstance(verdict, Verdict)
        with pytest.raises(AttributeError):
            verdict.kind = "slower"  # type: ignore[misc]


class TestParameters:
    @pytest.mark.parametrize(
        ("kwargs", "message"),
        [
            (
                {"tolerance": -0.1},
                r"judge: tolerance=-0\.1, expected a fraction >= 0 \(0\.1 means 10%\)",
            ),
            ({"tolerance": math.inf}, "judge: tolerance=inf"),
            ({"noise_floor": -1.0}, r"judge: noise_floor=-1\.0, expected seconds >= 0"),
            ({"sigmas": math.nan}, r"judge: sigmas=nan, expected a number >= 0"),
            (
                {"p_value": 0.0},
                r"judge: p_value=0\.0, expected a probability in \(0, 1\]",
            ),
            ({"p_value": 1.5}, r"judge: p_value=1\.5"),
            ({"min_samples": 0}, "judge: min_samples=0, expected an integer >= 1"),
            ({"min_samples": 2.5}, r"judge: min_samples=2\.5, expected an integer"),
        ],
    )
    def test_judge_names_the_bad_parameter_and_its_value(
        self, kwargs: dict[str, float], message: str
    ) -> None:
        """A misconfigured threshold is reported, never silently used."""
        arguments: dict[str, float] = {"tolerance": 0.1, "noise_floor": 0.0, **kwargs}
        with pytest.raises(ValueError, match=message):
            judge([1.0], [1.0], **arguments)  # type: ignore[arg-type]

    def test_judge_history_names_itself_in_errors(self) -> None:
        """The message points at the function that was called."""
        with pytest.raises(
            ValueError, match=r"judge_history: noise_floor=-0\.5, expected seconds"
        ):
            judge_history([1.0], [1.0], tolerance=0.1, noise_floor=-0.5)

    @pytest.mark.parametrize(
        ("baseline", "current", "message"),
        [
            ([1.0, math.inf], [1.0], "judge: baseline holds inf"),
            ([1.0], [math.nan], "judge: current holds nan"),
        ],
    )
    def test_a_duration_that_is_not_finite_is_refused(
        self, baseline: list[float], current: list[float], message: str
    ) -> None:
        """A NaN would otherwise sort anywhere and corrupt the ranks."""
        with pytest.raises(ValueError, match=f"{message}, expected finite durations"):
            judge(baseline, current, tolerance=0.1, noise_floor=0)
