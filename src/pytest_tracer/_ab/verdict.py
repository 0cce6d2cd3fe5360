"""The paired verdict of an A/B run, per (test, timer name).

Each round ran both sides back to back, so whatever the machine did between
rounds hits both alike; only the comparison *within* a round is trusted.

- **Evidence**: a stratified Mann-Whitney test, one stratum per round. In
  each round, U counts the (base, head) pairs of timings where head is the
  slower (ties count one half); the sum over rounds is set against its
  distribution when both sides are alike (normal approximation, tie and
  continuity corrected). It uses every timing of every round, and never
  compares a timing of one round with one of another.
- **Effect**: per round, the ratio of the head's median to the base's. From
  six rounds on, the change is the median of those ratios minus one, with a
  95% confidence interval between two of them chosen by the binomial
  distribution (the sign test's interval): a round that a burst of load hit
  while only one side ran cannot carry or block a verdict. With fewer rounds,
  the geometric mean of the ratios with Student's t over the rounds.
- **Slower** needs all of: a one-sided p-value below ``p_value``, a
  confidence interval above zero, a change beyond the tolerance, and a
  median that grew by more than the noise floor, with the tolerance and
  noise floor of ``[tool.pytest-tracer]`` and its ``regression`` table.
  **Faster** is the mirror image; anything else is unchanged.
"""

from __future__ import annotations

import math
import statistics
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Final, Literal

from pytest_tracer._config import TracerConfig
from pytest_tracer._stats import midranks

Kind = Literal["slower", "faster", "unchanged", "added", "removed"]

# Two-sided 95% quantiles of Student's t by degrees of freedom.
_T_975: Final = (
    12.706, 4.303, 3.182, 2.776, 2.571, 2.447, 2.365, 2.306, 2.262, 2.228,
    2.201, 2.179, 2.160, 2.145, 2.131, 2.120, 2.110, 2.101, 2.093, 2.086,
    2.080, 2.074, 2.069, 2.064, 2.060, 2.056, 2.052, 2.048, 2.045, 2.042,
)  # fmt: skip
_Z_975: Final = 1.959964
#: From this many rounds on, the median of the rounds and a sign-test interval.
MIN_ORDER_ROUNDS: Final = 6
# A duration of zero (a coarse clock) would make a ratio infinite.
_TINY: Final = 1e-12


@dataclass(frozen=True, slots=True)
class Pair:
    """The timings of one (test, timer name): per round, base and head."""

    test_id: str
    name: str
    base: tuple[tuple[float, ...], ...]
    head: tuple[tuple[float, ...], ...]


@dataclass(frozen=True, slots=True)
class ABVerdict:
    """How one timer of one test compares between base and head.

    :param change: Relative change of the median, head against base
        (0.2: 20% slower); NaN for added and removed timers.
    :param low: Lower end of the 95% confidence interval of *change*.
    :param high: Upper end of the 95% confidence interval of *change*.
    :param p_value: One-sided, in the direction the median moved.
    :param rounds: Rounds in which both sides measured the timer.
    :param source: Where the tolerance and noise floor were set.
    """

    test_id: str
    name: str
    kind: Kind
    base_median: float
    head_median: float
    change: float
    low: float
    high: float
    p_value: float
    rounds: int
    tolerance: float
    noise_floor: float
    source: str


def judge_pair(pair: Pair, settings: TracerConfig) -> ABVerdict:
    """The verdict for one (test, timer); see the module documentation."""
    rule = settings.regression_for(pair.name)
    rounds = [
        (base, head)
        for base, head in zip(pair.base, pair.head, strict=True)
        if base and head
    ]
    base_all = [value for values in pair.base for value in values]
    head_all = [value for values in pair.head for value in values]
    base_median = statistics.median(base_all) if base_all else math.nan
    head_median = statistics.median(head_all) if head_all else math.nan
    common = (pair.test_id, pair.name)
    if not rounds:
        kind: Kind = "added" if head_all else "removed"
        nan = math.nan
        return ABVerdict(
            *common, kind, base_median, head_median, nan, nan, nan, nan, 0,
            rule.tolerance, rule.noise_floor, rule.source,
        )  # fmt: skip
    logs = [
        math.log(
            max(statistics.median(head), _TINY) / max(statistics.median(base), _TINY)
        )
        for base, head in rounds
    ]
    center, low_log, high_log = _interval(logs)
    change = math.expm1(center)
    low, high = math.expm1(low_log), math.expm1(high_log)
    p_slower, p_faster = stratified_mann_whitney(rounds)
    delta = head_median - base_median
    kind = "unchanged"
    if (
        p_slower < settings.p_value
        and low > 0
        and change > rule.tolerance
        and delta > rule.noise_floor
    ):
        kind = "slower"
    elif (
        p_faster < settings.p_value
        and high < 0
        and -change > rule.tolerance
        and -delta > rule.noise_floor
    ):
        kind = "faster"
    return ABVerdict(
        *common, kind, base_median, head_median, change, low, high,
        p_slower if center >= 0 else p_faster, len(rounds),
        rule.tolerance, rule.noise_floor, rule.source,
    )  # fmt: skip


def stratified_mann_whitney(
    rounds: Sequence[tuple[Sequence[float], Sequence[float]]],
) -> tuple[float, float]:
    """One-sided p-values that head tends to be slower, and faster, than base.

    :param rounds: Per round, the base's timings and the head's; each round is
        a stratum, ranked on its own.
    """
    u_sum = expected = variance = 0.0
    for base, head in rounds:
        n_base, n_head = len(base), len(head)
        ranks, ties = midranks([*base, *head])
        u_sum += sum(ranks[n_base:]) - n_head * (n_head + 1) / 2
        expected += n_base * n_head / 2
        n = n_base + n_head
        tie_term = sum(t**3 - t for t in ties) / (n * (n - 1)) if n > 1 else 0.0
        variance += n_base * n_head / 12 * (n + 1 - tie_term)
    if variance <= 0:
        return 1.0, 1.0  # every timing alike: no evidence either way
    scale = math.sqrt(variance)
    excess = u_sum - expected
    return _upper_tail((excess - 0.5) / scale), _upper_tail((-excess - 0.5) / scale)


def _interval(logs: Sequence[float]) -> tuple[float, float, float]:
    """The center of the per-round log-ratios and its 95% confidence interval.

    From :data:`MIN_ORDER_ROUNDS` rounds on: their median, between two of
    them chosen by the binomial distribution (the sign test's interval), so a
    round or two that a burst of load hit cannot move the verdict. Fewer
    rounds: their mean, with Student's t.
    """
    count = len(logs)
    if count >= MIN_ORDER_ROUNDS:
        ordered = sorted(logs)
        rank = _order_rank(count)
        return statistics.median(ordered), ordered[rank - 1], ordered[count - rank]
    mean = statistics.fmean(logs)
    if count < 2:
        return mean, -math.inf, math.inf
    margin = _t_975(count - 1) * statistics.stdev(logs) / math.sqrt(count)
    return mean, mean - margin, mean + margin


def _order_rank(count: int) -> int:
    # The largest k with P(B <= k - 1) <= 2.5% for B ~ Binomial(count, 1/2):
    # the k-th smallest and k-th largest of the values bound the median.
    tail, rank = 0, 0
    for k in range(count + 1):
        tail += math.comb(count, k)
        if tail / 2**count > 0.025:
            break
        rank = k + 1
    return max(rank, 1)


def _upper_tail(z: float) -> float:
    return 0.5 * math.erfc(z / math.sqrt(2))


def _t_975(degrees: int) -> float:
    return _T_975[degrees - 1] if degrees <= len(_T_975) else _Z_975
