"""Time code with ``Timer`` and fail tests that got slower than allowed."""

from __future__ import annotations

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

__all__ = [
    "LINE_FORMAT",
    "Logger",
    "Measurement",
    "Receiver",
    "Settings",
    "SettingsError",
    "Timer",
    "TimerError",
    "__version__",
    "add_receiver",
    "remove_receiver",
    "set_default_clocks",
    "timer_durations",
]


def __getattr__(name: str) -> str:
    # Read lazily: importing the package must stay cheap for production code.
    if name == "__version__":
        from importlib.metadata import version

        return version("pytest-tracer")
    msg = f"module {__name__!r} has no attribute {name!r}"
    raise AttributeError(msg)
