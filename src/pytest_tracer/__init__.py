"""Time code with ``Timer`` and fail tests that got slower than allowed."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from ._log import LINE_FORMAT, Logger
from ._records import timer_durations
from ._settings import Settings, SettingsError
from ._timer import (
    Measurement,
    Receiver,
    Timer,
    TimerError,
    add_receiver,
    remove_receiver,
    set_default_clocks,
)

if TYPE_CHECKING:  # imported on first use: production code never needs them
    from ._config import Limit
    from ._results import (
        Breach,
        Comparison,
        FinishedTest,
        PhaseResult,
        RunResults,
        TimerResult,
    )
    from ._session import TimerBreach
    from ._stats import Accumulator, Summary

#: The typed results the plugin's hooks receive, and where each is defined.
_RESULT_TYPES = {
    "Accumulator": "_stats",
    "Breach": "_results",
    "Comparison": "_results",
    "FinishedTest": "_results",
    "Limit": "_config",
    "PhaseResult": "_results",
    "RunResults": "_results",
    "Summary": "_stats",
    "TimerBreach": "_session",
    "TimerResult": "_results",
}

__all__ = [
    "LINE_FORMAT",
    "Accumulator",
    "Breach",
    "Comparison",
    "FinishedTest",
    "Limit",
    "Logger",
    "Measurement",
    "PhaseResult",
    "Receiver",
    "RunResults",
    "Settings",
    "SettingsError",
    "Summary",
    "Timer",
    "TimerBreach",
    "TimerError",
    "TimerResult",
    "__version__",
    "add_receiver",
    "remove_receiver",
    "set_default_clocks",
    "timer_durations",
]


def __getattr__(name: str) -> Any:
    # Read lazily: importing the package must stay cheap for production code.
    if name == "__version__":
        from importlib.metadata import version

        return version("pytest-tracer")
    module = _RESULT_TYPES.get(name)
    if module is not None:
        from importlib import import_module

        return getattr(import_module(f"{__name__}.{module}"), name)
    msg = f"module {__name__!r} has no attribute {name!r}"
    raise AttributeError(msg)
