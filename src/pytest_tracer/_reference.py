"""A reference workload timed beside the tests, to cancel machine speed swings.

Shared CI machines change speed from minute to minute (other tenants, CPU
steal, frequency scaling): a whole run of unchanged code can come out 30%
faster or slower. Timing a fixed pure-Python loop right before and after each
test tells how fast the machine was at that moment; a comparison can then
scale this run's timings by how much faster or slower the reference ran than
in the baseline. It suits CPU-bound Python code; waiting on I/O does not
follow the reference.
"""

from __future__ import annotations

from typing import Final

from ._clock import Clock, Clocks

#: The timer name the reference is recorded under, per test.
REFERENCE: Final = "pytest-tracer.reference"
_LOOP: Final = 2_000
_REPEATS: Final = 5


def _workload() -> int:
    # Integer arithmetic, calls and a loop: the mix most Python code runs.
    total = 0
    for number in range(_LOOP):
        total += abs(number * 7 - 3) % 11
    return total


def measure_reference(clock: Clock = Clocks.wall) -> float:
    """Seconds the reference workload takes now: the best of a few runs.

    The best, not the mean, because an interruption only ever adds time.
    """
    best = float("inf")
    for _ in range(_REPEATS):
        start = clock()
        _workload()
        best = min(best, clock() - start)
    return best
