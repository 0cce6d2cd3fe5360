"""Compare timer statistics with their limits; pure, so the plugin only reports."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Final, Protocol

from ._config import Thresholds
from ._results import Breach

#: The statistics that cannot exceed the max (the mean can, by rounding).
_UP_TO_MAX: Final = frozenset({"max", "min", "median", "p95", "p99"})


class SummaryLike(Protocol):
    """What a check needs from a timer's statistics."""

    @property
    def max(self) -> float:
        """The largest value."""
        ...

    @property
    def count(self) -> int:
        """How many calls were measured."""
        ...

    def get(self, statistic: str) -> float:
        """Return *statistic* (one of ``STATISTICS``) in seconds."""
        ...


def find_breaches(
    summaries: Mapping[str, SummaryLike],
    thresholds: Thresholds,
    *,
    enforced: bool = True,
) -> list[Breach]:
    """Return every limit exceeded, by timer name, then in the limits' order.

    A value equal to its limit passes; timers without calls are skipped.
    """
    breaches = []
    limits_for = thresholds.limits_for
    for name in sorted(summaries) if len(summaries) > 1 else summaries:
        limits = limits_for(name)
        if not limits:
            continue
        summary = summaries[name]
        calls = summary.count
        if calls == 0:
            continue
        high = summary.max
        for limit in limits:
            statistic = limit.statistic
            # No quantile, nor the min, is above the max, and the max is at
            # hand: most limits hold by far, and need no sort to say so.
            if high <= limit.seconds and statistic in _UP_TO_MAX:
                continue
            measured = summary.get(statistic)
            if measured > limit.seconds:
                breaches.append(
                    Breach(name, statistic, measured, calls, limit, enforced)
                )
    return breaches
