"""Compare timer summaries with their thresholds; pure, so the plugin only reports."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Protocol

from ._config import Limit, Thresholds
from ._units import format_duration


class SummaryLike(Protocol):
    """What a check needs from a timer's statistics."""

    @property
    def count(self) -> int:
        """How many calls were measured."""
        ...

    def get(self, statistic: str) -> float:
        """Return *statistic* (one of ``STATISTICS``) in seconds."""
        ...


@dataclass(frozen=True, slots=True)
class Breach:
    """A timer statistic that went over its limit.

    :param measured: The statistic's value in seconds.
    :param count: How many calls the statistic covers.
    """

    name: str
    statistic: str
    measured: float
    count: int
    limit: Limit

    @property
    def message(self) -> str:
        """One line naming the timer, both values and where the limit was set."""
        calls = "call" if self.count == 1 else "calls"
        return (
            f"timer {self.name!r} took {format_duration(self.measured)} "
            f"({self.statistic} of {self.count} {calls}), over its limit of "
            f"{format_duration(self.limit.seconds)} ({self.limit.source})"
        )


def find_breaches(
    summaries: Mapping[str, SummaryLike], thresholds: Thresholds
) -> list[Breach]:
    """Return every limit exceeded, by timer name, then in the limits' order.

    A value equal to its limit passes; timers without calls are skipped.
    """
    breaches = []
    for name in sorted(summaries):
        summary = summaries[name]
        if summary.count == 0:
            continue
        for limit in thresholds.limits_for(name):
            measured = summary.get(limit.statistic)
            if measured > limit.seconds:
                breaches.append(
                    Breach(name, limit.statistic, measured, summary.count, limit)
                )
    return breaches
