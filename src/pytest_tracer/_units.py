"""Durations as people write them (``"50ms"``, ``100``) and as reports print them."""

from __future__ import annotations

import math
import re
from typing import Final

#: Seconds per unit. A bare number means milliseconds.
UNITS: Final = {"ns": 1e-9, "us": 1e-6, "µs": 1e-6, "ms": 1e-3, "s": 1.0}
#: The shortest duration a limit may be: what a clock can tell apart.
SHORTEST: Final = 1e-9
# Compiled on first use (re keeps it): a run without limits never needs it.
_DURATION: Final = r"\s*([0-9]*\.?[0-9]+(?:[eE][-+]?[0-9]+)?)\s*([a-zµ]*)\s*"
EXPECTED_DURATION: Final = (
    "a duration of at least 1 ns: a number of milliseconds (50) or a string "
    'with a unit ns, us, ms or s ("50ms", "1.5s")'
)


def parse_duration(value: object) -> float:
    """Return *value* in seconds.

    :raises ValueError: *value* is not a positive duration; the message says
        what was received and :data:`EXPECTED_DURATION`.
    """
    seconds: float | None = None
    try:
        if isinstance(value, bool):
            seconds = None
        elif isinstance(value, (int, float)):
            seconds = float(value) * UNITS["ms"]
        elif isinstance(value, str):
            match = re.fullmatch(_DURATION, value)
            if match and match.group(2) in UNITS:
                seconds = float(match.group(1)) * UNITS[match.group(2)]
    except OverflowError:  # an integer too large for a float
        seconds = None
    # Below a nanosecond a limit is a typo or an underflow (1e-320).
    if seconds is None or not math.isfinite(seconds) or seconds < SHORTEST:
        msg = f"got {_shown(value)}, expected {EXPECTED_DURATION}"
        raise ValueError(msg)
    return seconds


def _shown(value: object) -> str:
    # A 400-digit number is named, not printed.
    text = repr(value)
    return text if len(text) <= 40 else f"{text[:20]}... ({len(text)} characters)"


def format_duration(seconds: float) -> str:
    """Render *seconds* with a unit that keeps three or four significant digits."""
    magnitude = abs(seconds)
    if magnitude >= 1.0:
        return f"{_trim(f'{seconds:.3f}')} s"
    for unit, scale in (("ms", 1e-3), ("us", 1e-6)):
        if magnitude >= scale:
            return f"{_trim(f'{seconds / scale:.1f}')} {unit}"
    return f"{seconds / 1e-9:.0f} ns"


def _trim(number: str) -> str:
    return number.rstrip("0").rstrip(".") if "." in number else number


def format_change(change: float) -> str:
    """Render a relative change (0.25 for 25% slower) with its sign."""
    if math.isnan(change):  # a side had no samples
        return "-"
    if math.isinf(change):
        return "from 0"
    return f"{change:+.1%}"
