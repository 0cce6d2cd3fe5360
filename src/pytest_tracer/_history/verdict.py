"""Decide whether a timer got slower, faster or stayed the same.

CI machines are noisy: a single slow sample, or a run on a busy neighbour,
must not fail a build, yet a real 20% slowdown must. So a verdict asks for two
things at once: evidence that the change is real, and a change big enough to
matter. Durations are in seconds; the baseline is earlier saved runs, the
current side is this run.

Decision rule
-------------

1. **Both sides have at least** ``min_samples`` **measurements** (default 8):
   method ``mann-whitney``. The Mann-Whitney U test compares the two samples
   by rank only, so one stalled sample cannot carry a verdict. The result is
   ``slower`` when all three hold:

   - the one-sided p-value for "this run tends to be slower" is below
     ``p_value`` (default 0.01);
   - the median grew by more than ``tolerance``, a fraction of the baseline
     median (0.1 means 10%);
   - the median grew by more than ``noise_floor`` seconds.

   ``faster`` is the mirror image; anything else is ``unchanged``. The p-value
   comes from the exact distribution of U when both sides have at most 20
   samples and no ties, and from the normal approximation with tie and
   continuity corrections otherwise.
2. **Otherwise, with at least 3 baseline values**: method ``mad``. The baseline
   is read as a history, one median per earlier run (:func:`judge_history`).
   The result is ``slower`` when the median of this run exceeds the median of
   the history by more than the largest of ``tolerance`` times that median,
   ``noise_floor``, and ``sigmas`` (default 3) times the history's MAD-sigma.
   The MAD-sigma is 1.4826 times the median absolute deviation: it estimates
   the standard deviation of normal data, and one odd run cannot inflate it.
   ``faster`` is the mirror image. Raw samples from a single earlier run work
   too; their wider spread only makes the sigma gate stricter.

   This rule is a screen, not a test. Feed it medians of runs with as many
   samples as this one: the median of fewer samples scatters more than the
   history shows. With few earlier runs the MAD is itself a rough estimate,
   and with one sample per run a single stall looks like a slowdown, so
   expect an occasional false alarm. The rank test is the stronger check.
3. **Otherwise (one or two baseline values)**: method ``tolerance``. The median
   must move by more than ``tolerance`` and by more than ``noise_floor``.
   There is no test, so no p-value.
4. **An empty side** gives ``insufficient``.

A zero baseline median does not divide by zero: any growth counts as beyond
the tolerance, which leaves the decision to the noise floor.
"""

from __future__ import annotations

import math
import statistics
from collections.abc import Sequence
from dataclasses import dataclass
from functools import lru_cache
from typing import Final, Literal

from pytest_tracer._stats import midranks
from pytest_tracer._units import format_duration

Kind = Literal["slower", "faster", "unchanged", "insufficient"]
Method = Literal["mann-whitney", "mad", "tolerance"]
Alternative = Literal["greater", "less"]
Distribution = Literal["auto", "exact", "normal"]

#: Largest sample size, per side, for which the exact distribution of U is used.
EXACT_MAX_SAMPLES: Final = 20
#: Fewest baseline values read as a history of per-run medians.
MIN_HISTORY: Final = 3
#: Turns a median absolute deviation into a standard deviation for normal data.
MAD_TO_SIGMA: Final = 1.4826


@dataclass(frozen=True, slots=True)
class Verdict:
    """The outcome of comparing a run with its baseline, with the evidence.

    :param kind: ``slower``, ``faster``, ``unchanged``, or ``insufficient``
        when a side has no measurements.
    :param baseline_median: Median of the baseline in seconds (NaN when empty).
    :param current_median: Median of this run in seconds (NaN when empty).
    :param change: Relative change of the median, ``(current - base) / base``;
        infinite when growing from a zero baseline.
    :param method: ``mann-whitney``, ``mad`` or ``tolerance``; see the module
        documentation.
    :param p_value: One-sided p-value in the direction the median moved, for
        ``mann-whitney`` only.
    :param spread: MAD-sigma of the history in seconds, for ``mad`` only.
    :param tolerance: Relative change allowed, as a fraction.
    :param noise_floor: Absolute change ignored, in seconds.
    :param n_baseline: Number of baseline values.
    :param n_current: Number of values from this run.

    .. versionadded:: 0.1.0
    """

    kind: Kind
    baseline_median: float
    current_median: float
    change: float
    method: Method
    p_value: float | None
    spread: float | None
    tolerance: float
    noise_floor: float
    n_baseline: int
    n_current: int
    #: Why a verdict was overruled, shown at the end of :meth:`describe`.
    note: str = ""

    def describe(self) -> str:
        """Return one line with the evidence behind the verdict."""
        if self.kind == "insufficient":
            return (
                f"nothing to compare: {self.n_baseline} baseline vs "
                f"{self.n_current} current samples"
            )
        base, current = self.baseline_median, self.current_median
        parts = [
            f"median {format_duration(base)} -> {format_duration(current)} "
            f"({_format_change(self.change)})"
        ]
        if self.method == "mann-whitney":
            assert self.p_value is not None
            parts.append(
                f"{_format_p(self.p_value)} (Mann-Whitney, "
                f"{self.n_baseline} vs {self.n_current} samples)"
            )
        elif self.method == "mad":
            assert self.spread is not None
            parts.append(
                f"{_format_sigmas(current - base, self.spread)} the last "
                f"{self.n_baseline} runs (median {format_duration(base)}, "
                f"MAD-sigma {format_duration(self.spread)})"
            )
        else:
            parts.append(
                f"{self.n_baseline} vs {self.n_current} samples, "
                "too few for a statistical test"
            )
        parts.append(f"tolerance {_format_percent(self.tolerance)}")
        if self.noise_floor > 0:
            parts.append(f"noise floor {format_duration(self.noise_floor)}")
        if self.note:
            parts.append(self.note)
        return ", ".join(parts)


def median_abs_deviation(values: Sequence[float]) -> float:
    """Return the median absolute deviation from the median of *values*.

    This is the raw MAD; ``MAD_TO_SIGMA * mad`` estimates the standard
    deviation of normally distributed data.

    :raises ValueError: *values* is empty.

    .. versionadded:: 0.1.0
    """
    if not values:
        msg = "median_abs_deviation: got no values, expected at least one"
        raise ValueError(msg)
    center = statistics.median(values)
    return float(statistics.median([abs(value - center) for value in values]))


def mann_whitney_u(
    baseline: Sequence[float],
    current: Sequence[float],
    *,
    alternative: Alternative = "greater",
    distribution: Distribution = "auto",
) -> tuple[float, float]:
    """Return the Mann-Whitney U statistic of *current* and a one-sided p-value.

    U counts the (baseline, current) pairs in which the current value is the
    larger, ties counting one half.

    :param alternative: ``greater`` tests whether *current* tends to be larger
        than *baseline* (slower); ``less`` tests the other direction.
    :param distribution: ``exact`` counts every arrangement of the ranks;
        ``normal`` uses the normal approximation with tie and continuity
        corrections; ``auto`` picks ``exact`` when both sides have at most
        :data:`EXACT_MAX_SAMPLES` values and there are no ties.
    :raises ValueError: A side is empty or holds a value that is not finite,
        *alternative* or *distribution* is unknown, or ``exact`` was asked for
        with ties.

    .. versionadded:: 0.1.0
    """
    caller = "mann_whitney_u"
    if alternative not in ("greater", "less"):
        msg = f"{caller}: alternative={alternative!r}, expected 'greater' or 'less'"
        raise ValueError(msg)
    if distribution not in ("auto", "exact", "normal"):
        msg = (
            f"{caller}: distribution={distribution!r}, "
            "expected 'auto', 'exact' or 'normal'"
        )
        raise ValueError(msg)
    base = _finite(baseline, "baseline", caller)
    cur = _finite(current, "current", caller)
    for name, values in (("baseline", base), ("current", cur)):
        if not values:
            msg = f"{caller}: {name} is empty, expected at least one value"
            raise ValueError(msg)
    n_base, n_cur = len(base), len(cur)
    ranks, ties = midranks(base + cur)
    u = sum(ranks[n_base:]) - n_cur * (n_cur + 1) / 2
    if distribution == "exact" and ties:
        msg = f"{caller}: distribution='exact' needs values without ties, got ties"
        raise ValueError(msg)
    if distribution == "exact" or (
        distribution == "auto" and not ties and max(n_base, n_cur) <= EXACT_MAX_SAMPLES
    ):
        return u, _exact_p(round(u), n_base, n_cur, alternative)
    return u, _normal_p(u, n_base, n_cur, ties, alternative)


def judge(
    baseline: Sequence[float],
    current: Sequence[float],
    *,
    tolerance: float,
    noise_floor: float,
    p_value: float = 0.01,
    min_samples: int = 8,
    sigmas: float = 3.0,
) -> Verdict:
    """Compare this run's durations with a baseline; see the module docs.

    With at least *min_samples* values on both sides this runs the
    Mann-Whitney test on the raw samples. Otherwise it hands over to
    :func:`judge_history`, which reads *baseline* as one median per earlier
    run. :attr:`Verdict.method` records which rule decided.

    :param baseline: Durations in seconds from earlier runs.
    :param current: Durations in seconds from this run.
    :param tolerance: Relative change of the median to ignore (0.1 is 10%).
    :param noise_floor: Absolute change of the median to ignore, in seconds.
    :param p_value: Significance level of the one-sided test.
    :param min_samples: Fewest values per side for the statistical test.
    :param sigmas: MAD-sigmas a run must move for the history rule.
    :raises ValueError: A parameter is out of range or a duration is not
        finite.

    .. versionadded:: 0.1.0
    """
    caller = "judge"
    _check_gates(tolerance, noise_floor, sigmas, caller)
    if not (math.isfinite(p_value) and 0 < p_value <= 1):
        msg = f"{caller}: p_value={p_value!r}, expected a probability in (0, 1]"
        raise ValueError(msg)
    if (
        isinstance(min_samples, bool)
        or not isinstance(min_samples, int)
        or (min_samples < 1)
    ):
        msg = f"{caller}: min_samples={min_samples!r}, expected an integer >= 1"
        raise ValueError(msg)
    base = _finite(baseline, "baseline", caller)
    cur = _finite(current, "current", caller)
    if len(base) < min_samples or len(cur) < min_samples:
        return _judge_history(base, cur, tolerance, noise_floor, sigmas)

    base_median = statistics.median(base)
    cur_median = statistics.median(cur)
    delta = cur_median - base_median
    _, p_greater = mann_whitney_u(base, cur, alternative="greater")
    _, p_less = mann_whitney_u(base, cur, alternative="less")
    if delta > 0:
        p = p_greater
    elif delta < 0:
        p = p_less
    else:
        p = min(p_greater, p_less)
    kind = _gate(delta, base_median, tolerance, noise_floor)
    if p >= p_value:
        kind = "unchanged"
    return Verdict(
        kind=kind,
        baseline_median=base_median,
        current_median=cur_median,
        change=_relative_change(base_median, cur_median),
        method="mann-whitney",
        p_value=p,
        spread=None,
        tolerance=tolerance,
        noise_floor=noise_floor,
        n_baseline=len(base),
        n_current=len(cur),
    )


def judge_history(
    history_medians: Sequence[float],
    current_values: Sequence[float],
    *,
    tolerance: float,
    noise_floor: float,
    sigmas: float = 3.0,
) -> Verdict:
    """Compare this run's median with the medians of earlier runs.

    With at least :data:`MIN_HISTORY` earlier runs the median of this run must
    leave the band of ``max(tolerance * median, noise_floor, sigmas *
    MAD-sigma)`` around the history's median (method ``mad``). With fewer,
    only the tolerance and the noise floor apply (method ``tolerance``).

    :param history_medians: One median per earlier run, in seconds.
    :param current_values: Durations in seconds from this run, any number.
    :param tolerance: Relative change of the median to ignore (0.1 is 10%).
    :param noise_floor: Absolute change of the median to ignore, in seconds.
    :param sigmas: MAD-sigmas the median must move.
    :raises ValueError: A parameter is out of range or a duration is not
        finite.

    .. versionadded:: 0.1.0
    """
    caller = "judge_history"
    _check_gates(tolerance, noise_floor, sigmas, caller)
    history = _finite(history_medians, "history_medians", caller)
    current = _finite(current_values, "current_values", caller)
    return _judge_history(history, current, tolerance, noise_floor, sigmas)


def _judge_history(
    history: list[float],
    current: list[float],
    tolerance: float,
    noise_floor: float,
    sigmas: float,
) -> Verdict:
    if not history or not current:
        nan = math.nan
        return Verdict(
            kind="insufficient",
            baseline_median=statistics.median(history) if history else nan,
            current_median=statistics.median(current) if current else nan,
            change=nan,
            method="tolerance",
            p_value=None,
            spread=None,
            tolerance=tolerance,
            noise_floor=noise_floor,
            n_baseline=len(history),
            n_current=len(current),
        )
    base_median = statistics.median(history)
    cur_median = statistics.median(current)
    delta = cur_median - base_median
    method: Method
    if len(history) >= MIN_HISTORY:
        method = "mad"
        sigma = MAD_TO_SIGMA * median_abs_deviation(history)
        spread: float | None = sigma
        kind = _gate(delta, base_median, tolerance, noise_floor, sigmas * sigma)
    else:
        method = "tolerance"
        spread = None
        kind = _gate(delta, base_median, tolerance, noise_floor)
    return Verdict(
        kind=kind,
        baseline_median=base_median,
        current_median=cur_median,
        change=_relative_change(base_median, cur_median),
        method=method,
        p_value=None,
        spread=spread,
        tolerance=tolerance,
        noise_floor=noise_floor,
        n_baseline=len(history),
        n_current=len(current),
    )


def _gate(
    delta: float,
    base_median: float,
    tolerance: float,
    noise_floor: float,
    margin: float = 0.0,
) -> Kind:
    # Multiplying instead of dividing keeps a zero baseline harmless.
    threshold = max(tolerance * abs(base_median), noise_floor, margin)
    if delta > threshold:
        return "slower"
    if -delta > threshold:
        return "faster"
    return "unchanged"


def _relative_change(base: float, current: float) -> float:
    if base != 0:
        return (current - base) / abs(base)
    if current == base:
        return 0.0
    return math.copysign(math.inf, current - base)


def _check_gates(
    tolerance: float, noise_floor: float, sigmas: float, caller: str
) -> None:
    if not (math.isfinite(tolerance) and tolerance >= 0):
        msg = (
            f"{caller}: tolerance={tolerance!r}, "
            "expected a fraction >= 0 (0.1 means 10%)"
        )
        raise ValueError(msg)
    if not (math.isfinite(noise_floor) and noise_floor >= 0):
        msg = f"{caller}: noise_floor={noise_floor!r}, expected seconds >= 0"
        raise ValueError(msg)
    if not (math.isfinite(sigmas) and sigmas >= 0):
        msg = f"{caller}: sigmas={sigmas!r}, expected a number >= 0"
        raise ValueError(msg)


def _finite(values: Sequence[float], name: str, caller: str) -> list[float]:
    data = [float(value) for value in values]
    for value in data:
        if not math.isfinite(value):
            msg = (
                f"{caller}: {name} holds {value!r}, "
                "expected finite durations in seconds"
            )
            raise ValueError(msg)
    return data


@lru_cache(maxsize=64)
def _arrangements(m: int, n: int) -> tuple[int, ...]:
    """Count the rank arrangements of m against n values giving each U.

    The counts are the coefficients of the Gaussian binomial coefficient
    ``prod((1 - q**(n + i)) / (1 - q**i) for i in 1..m)``. Both steps only
    look at lower powers, so truncating at ``q**(m * n)`` stays exact.
    """
    m, n = min(m, n), max(m, n)
    top = m * n
    counts = [1] + [0] * top
    for i in range(1, m + 1):
        step = n + i
        for k in range(top, step - 1, -1):
            counts[k] -= counts[k - step]
        for k in range(i, top + 1):
            counts[k] += counts[k - i]
    return tuple(counts)


def _exact_p(u: int, n_base: int, n_cur: int, alternative: Alternative) -> float:
    counts = _arrangements(n_base, n_cur)
    total = math.comb(n_base + n_cur, n_cur)
    tail = sum(counts[u:]) if alternative == "greater" else sum(counts[: u + 1])
    return tail / total


def _normal_p(
    u: float, n_base: int, n_cur: int, ties: list[int], alternative: Alternative
) -> float:
    n = n_base + n_cur
    tie_term = sum(t**3 - t for t in ties) / (n * (n - 1))
    variance = n_base * n_cur / 12 * (n + 1 - tie_term)
    if variance <= 0:
        # Every value is the same: no evidence either way.
        return 1.0
    excess = u - n_base * n_cur / 2
    if alternative == "less":
        excess = -excess
    z = (excess - 0.5) / math.sqrt(variance)
    return 0.5 * math.erfc(z / math.sqrt(2))


def _format_change(change: float) -> str:
    if math.isinf(change):
        return "up from zero" if change > 0 else "down from zero"
    return f"{change:+.1%}"


def _format_percent(fraction: float) -> str:
    text = f"{fraction * 100:.1f}"
    return f"{text.rstrip('0').rstrip('.')}%"


def _format_p(p: float) -> str:
    return "p<0.0001" if p < 1e-4 else f"p={p:.2g}"


def _format_sigmas(delta: float, spread: float) -> str:
    direction = "above" if delta >= 0 else "below"
    if spread > 0:
        return f"{abs(delta) / spread:.1f} sigma {direction}"
    return "level with" if delta == 0 else direction
