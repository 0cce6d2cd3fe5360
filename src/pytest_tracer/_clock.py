"""The clocks every Timer reads, bound once at import.

freezegun replaces ``time.perf_counter`` (and any module attribute that *is* the
real function) when it freezes time, which would make durations zero or
negative. The real functions are kept inside a class, where that module scan
does not look.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Final

Clock = Callable[[], float]


class Clocks:
    """The real clocks, out of reach of time-freezing libraries."""

    __slots__ = ()

    #: Wall time with the best resolution: the default.
    wall: Final[Clock] = time.perf_counter
    #: CPU time of the calling thread: steadier for CPU-bound code on busy machines.
    cpu: Final[Clock] = time.thread_time


#: The clock names a Timer and ``[tool.pytest-tracer.clocks]`` accept.
CLOCK_NAMES: Final = ("wall", "cpu")


def clock_named(name: str) -> Clock:
    """Return the clock called *name* (``"wall"`` or ``"cpu"``)."""
    if name == "wall":
        return Clocks.wall
    if name == "cpu":
        return Clocks.cpu
    msg = f"unknown clock {name!r}: expected one of {', '.join(CLOCK_NAMES)}"
    raise ValueError(msg)
