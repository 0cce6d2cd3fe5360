"""Read timer durations back from log records, without parsing text."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any


def timer_durations(records: Iterable[Any], name: str | None = None) -> list[float]:
    """Durations in seconds of the timer records among *records*, in order.

    Each Timer log record carries ``timer_name`` and ``timer_duration``; other
    records are skipped.

    :param records: Log records, e.g. pytest's ``caplog.records``.
    :param name: Only this timer's records, when given.

    .. versionadded:: 0.1.0
    """
    return [
        record.timer_duration
        for record in records
        if hasattr(record, "timer_duration")
        and (name is None or record.timer_name == name)
    ]
