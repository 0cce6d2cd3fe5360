"""Compare timer statistics with their limits; pure, so the plugin only reports."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Protocol

from ._config import Thresholds
from ._results import Breach


class SummaryLike(Protocol):
    """What a check needs from a timer's statistics."""

    @property
    def max(self) -> float:
        """The largest value; -inf without calls."""
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
    known, checks_for = thresholds.known, thresholds.checks_for
    for name, summary in summaries.items():
        limits, bound = known.get(name) or checks_for(name)
        if not limits:
            continue
        if summary.max <= bound:
            # No quantile, nor the min, is above the max, and the max is at
            # hand: most timers hold their limits by far, and need no sort
            # to say so (nor do timers without calls: their max is -inf).
            continue
        calls = summary.count
        if calls == 0:
            continue
        for limit in limits:
            measured = summary.get(limit.statistic)
            if measured > limit.seconds:
                breach = Breach(name, limit.statistic, measured, calls, limit, enforced)
                breaches.append(breach)
    if len(breaches) > 1:  # by name; a stable sort keeps the limits' order
        breaches.sort(key=_name)
    return breaches


def _name(breach: Breach) -> str:
    return breach.name
