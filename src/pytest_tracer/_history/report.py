"""Trends for the HTML report: each timer's median over the saved runs."""

from __future__ import annotations

from collections.abc import Iterable

from pytest_tracer._config import TracerConfig
from pytest_tracer._render.html import Trend, TrendPoint

from .store import HistoryStore

#: Saved runs a trend shows, unless told otherwise.
TREND_RUNS = 20


def load_trends(
    store: HistoryStore,
    names: Iterable[str],
    settings: TracerConfig,
    *,
    runs: int = TREND_RUNS,
) -> list[Trend]:
    """The trend of each of *names* that the history has, over its last *runs*.

    A run's point is the median of that timer over all its tests, as
    ``history NAME`` shows it.

    :raises StoreError: The history cannot be read.
    """
    trends = []
    for name in names:
        saved = store.trend(name, limit=runs)
        if not saved:
            continue
        rule = settings.regression_for(name)
        trends.append(
            Trend(
                name,
                tuple(
                    TrendPoint(
                        info.run_id,
                        info.meta.label,
                        info.meta.commit,
                        info.meta.created,
                        record.median,
                    )
                    for info, record in saved
                ),
                rule.tolerance,
                rule.noise_floor,
                settings.thresholds.limits_for(name),
            )
        )
    return trends
