"""Bounded running statistics of one timer name.

A test may record millions of timings of one name, so an :class:`Accumulator`
keeps exact count, total, minimum and maximum but at most ``cap`` samples: all
of them while they fit, then a uniform random sample (reservoir sampling). The
median and percentiles of a :class:`Summary` are exact while every sample was
kept and estimates afterwards.
"""

from __future__ import annotations

import math
import random
from array import array
from collections.abc import Callable, Sequence
from typing import Final, NamedTuple, cast, final

#: The statistics a :class:`Summary` can be asked for with :meth:`Summary.get`.
STATISTICS: Final = ("max", "min", "mean", "median", "p95", "p99", "total")
#: Samples kept per accumulator unless told otherwise: 8 KiB of floats.
DEFAULT_CAP: Final = 1024
# Statistics read straight off the running values (mean divides the total).
_DIRECT: Final = {"max": "_max", "min": "_min", "total": "_total", "mean": "_total"}
# The quantiles, by the percent each stands for.
_QUANTILES: Final = {"median": 50, "p95": 95, "p99": 99}
_FIELDS: Final = ("count", "total", "min", "max", "samples")
_FLOAT_ONLY: Final = {float}
_ONE_SAMPLE: Final = array("d", [0.0])
_finite: Final = math.isfinite


class Summary(NamedTuple):
    """The statistics of one timer name, in seconds.

    ``count``, ``total``, ``min``, ``max`` and ``mean`` are exact. ``median``,
    ``p95`` and ``p99`` interpolate linearly between the closest ranks of the
    kept samples (as ``statistics.quantiles(method="inclusive")`` and numpy's
    default do): exact when ``exact`` is true, estimates otherwise.
    """

    count: int  # type: ignore[assignment]  # the field, not tuple.count
    total: float
    min: float
    max: float
    mean: float
    median: float
    p95: float
    p99: float
    #: Whether every value was kept, so the quantiles are exact.
    exact: bool

    def get(self, statistic: str) -> float:
        """Return the statistic named *statistic*.

        :param statistic: One of :data:`STATISTICS`.
        :raises ValueError: *statistic* is not one of :data:`STATISTICS`.
        """
        if statistic not in STATISTICS:
            msg = (
                f"unknown statistic {statistic!r}, expected one of "
                f"{', '.join(STATISTICS)}"
            )
            raise ValueError(msg)
        value: float = getattr(self, statistic)
        return value


@final
class Accumulator:
    """Exact count, total, min and max, and a bounded sample of the values.

    Up to *cap* values are all kept; beyond that the kept samples are a uniform
    random sample of every value added (algorithm R, driven by a
    ``random.Random(seed)``, so the same values give the same samples).

    :meth:`add` is not atomic. Callers that share one accumulator between
    threads must serialise the calls (the plugin holds a lock): unserialised
    calls may lose counts, totals and samples, although they never raise and
    the kept samples stay bounded by *cap* plus the number of threads.

    :param cap: How many samples to keep, at least 1.
    :param seed: Seeds the sampling.
    :raises ValueError: *cap* is not a positive integer.
    """

    __slots__ = (
        "_cap",
        "_count",
        "_kept",
        "_max",
        "_min",
        "_random",
        "_rng",
        "_room",
        "_samples",
        "_seed",
        "_total",
    )

    def __init__(self, cap: int = DEFAULT_CAP, seed: int = 0) -> None:
        if cap != DEFAULT_CAP and (
            isinstance(cap, bool) or not isinstance(cap, int) or cap < 1
        ):
            msg = f"cap: expected a positive integer, got {cap!r}"
            raise ValueError(msg)
        self._cap = cap
        self._count = 0
        self._total = 0.0
        # The identities of min() and max(), so add() needs no empty check.
        self._min = math.inf
        self._max = -math.inf
        self._samples = array("d")
        # Made on first need: most accumulators never drop a value, and
        # seeding a generator costs more than everything else here.
        self._seed = seed
        self._rng: random.Random | None = None
        self._random: Callable[[], float] | None = None
        # add() appends while fewer than _room samples are kept (cap while
        # every value is kept, 0 once some were dropped) and otherwise
        # replaces one of the first _kept samples with probability _kept/count.
        self._room = cap
        self._kept = cap

    def add(self, seconds: float) -> None:
        """Record one value: a handful of attribute updates, no allocation once
        the cap is reached.

        :param seconds: A duration; not checked, so pass finite numbers.
        """
        count = self._count + 1
        self._count = count
        self._total += seconds
        if seconds < self._min:
            self._min = seconds
        if seconds > self._max:
            self._max = seconds
        samples = self._samples
        if len(samples) < self._room:
            samples.append(seconds)
        else:
            # int(random() * n) rather than randrange(n): twice as fast, and
            # its bias (about n / 2**53) is far below sampling noise.
            index = int((self._random or self._generator().random)() * count)
            if index < self._kept:
                samples[index] = seconds

    def extend(self, values: Sequence[float]) -> None:
        """Record *values*, exactly as :meth:`add` of each in turn would.

        The bulk of the work runs in C (``min``, ``max``, ``array.extend``),
        so a batch costs far less per value than single calls.
        """
        size = len(values)
        if not size:
            return
        count = self._count
        self._count = count + size
        total = self._total
        for value in values:  # the same rounding as one add() after another
            total += value
        self._total = total
        low, high = min(values), max(values)
        if low < self._min:
            self._min = low
        if high > self._max:
            self._max = high
        samples = self._samples
        taken = max(0, min(size, self._room - len(samples)))
        if taken:
            samples.extend(values[:taken] if taken < size else values)
        if taken < size:
            draw = self._random or self._generator().random
            kept = self._kept
            for offset in range(taken, size):
                index = int(draw() * (count + offset + 1))
                if index < kept:
                    samples[index] = values[offset]

    @classmethod
    def of(cls, values: Sequence[float]) -> Accumulator:
        """A new accumulator of *values*, exactly as adding each in turn gives.

        The plugin makes one per timer name and test phase: built in one go,
        it costs less than an empty one and an :meth:`add`.
        """
        size = len(values)
        if not size or size > DEFAULT_CAP:
            accumulator = cls()
            accumulator.extend(values)
            return accumulator
        if size == 1:  # most names, in most test phases: _exact, inlined
            (value,) = values
            accumulator = object.__new__(cls)
            accumulator._cap = accumulator._room = accumulator._kept = DEFAULT_CAP
            accumulator._count = 1
            accumulator._total = 0.0 + value
            accumulator._min = accumulator._max = value
            # Copying a one-value array costs less than building one.
            samples = accumulator._samples = _ONE_SAMPLE * 1
            samples[0] = value
            accumulator._seed = 0
            accumulator._rng = accumulator._random = None
            return accumulator
        total = 0.0
        for value in values:  # the same rounding as one add() after another
            total += value
        return cls._exact(size, total, min(values), max(values), array("d", values))

    @classmethod
    def _exact(
        cls, count: int, total: float, low: float, high: float, samples: array[float]
    ) -> Accumulator:
        # An accumulator that kept all its *count* values, with the default
        # cap and seed, set slot by slot: cheaper than __init__ and updates.
        accumulator = object.__new__(cls)
        accumulator._cap = accumulator._room = accumulator._kept = DEFAULT_CAP
        accumulator._count = count
        accumulator._total = total
        accumulator._min = low
        accumulator._max = high
        accumulator._samples = samples
        accumulator._seed = 0
        accumulator._rng = accumulator._random = None
        return accumulator

    def _generator(self) -> random.Random:
        if self._rng is None:
            self._rng = random.Random(self._seed)
            self._random = self._rng.random
        return self._rng

    def copy(self) -> Accumulator:
        """An independent accumulator with the same values and random state."""
        clone = Accumulator.__new__(Accumulator)
        clone._cap = self._cap
        clone._count = self._count
        clone._total = self._total
        clone._min = self._min
        clone._max = self._max
        clone._samples = array("d", self._samples)
        clone._seed = self._seed
        clone._room = self._room
        clone._kept = self._kept
        if self._rng is None:
            clone._rng = clone._random = None
        else:
            clone._rng = random.Random()
            clone._rng.setstate(self._rng.getstate())
            clone._random = clone._rng.random
        return clone

    def merge(self, other: Accumulator) -> None:
        """Add every value *other* recorded, as if they had been added here.

        Count, total, min and max stay exact, and the kept samples stay a
        uniform sample of every value of both, at most ``cap`` (of this
        accumulator) of them. When a side kept all its values they are simply
        added to the other; only two sides that both dropped values need a
        draw, which picks each sample's side in proportion to the values it
        still stands for. The result depends only on both states and seeds.
        """
        if other._count == 0:
            return
        if not other.exact and self.exact:
            # Continue the side that dropped values, with this side's values.
            base = other.copy()
            base._seed = self._seed
            base._rng = base._random = None
            base._cap = self._cap
            if len(base._samples) > self._cap:
                base._set_samples(array("d", base._draw(base._samples, self._cap)))
            for value in self._samples:
                base.add(value)
            for slot in Accumulator.__slots__:
                setattr(self, slot, getattr(base, slot))
            return
        if other.exact:
            for value in tuple(other._samples):  # other may be self
                self.add(value)
            return
        self._merge_samples(other)

    def _merge_samples(self, other: Accumulator) -> None:
        own, theirs = self._samples, other._samples
        rng = self._generator()
        size = min(self._cap, len(own) + len(theirs))
        # How many of `size` values drawn from the union, without replacement,
        # come from this side: a hypergeometric draw over the true counts.
        left, right, from_own = self._count, other._count, 0
        for _ in range(size):
            if rng.random() * (left + right) < left:
                from_own += 1
                left -= 1
            else:
                right -= 1
        from_own = min(from_own, len(own))
        from_theirs = min(size - from_own, len(theirs))
        merged = array("d", self._draw(own, from_own))
        merged.extend(self._draw(theirs, from_theirs))
        self._count += other._count
        self._total += other._total
        self._min = min(self._min, other._min)
        self._max = max(self._max, other._max)
        self._set_samples(merged)

    def _draw(self, samples: Sequence[float], size: int) -> Sequence[float]:
        if size == len(samples):
            return samples
        return self._generator().sample(samples, size)

    def _set_samples(self, samples: array[float]) -> None:
        self._samples = samples
        if len(samples) == self._count:
            self._room = self._kept = self._cap
        else:
            # Dropped values cannot come back: keep the sample size from here.
            self._room, self._kept = 0, len(samples)

    @property
    def cap(self) -> int:
        """The most samples kept."""
        return self._cap

    @property
    def count(self) -> int:
        """How many values were added (exact)."""
        return self._count

    @property
    def total(self) -> float:
        """The sum of the values (exact up to float rounding)."""
        return self._total

    @property
    def min(self) -> float:
        """The smallest value; ``math.inf`` while empty."""
        return self._min

    @property
    def max(self) -> float:
        """The largest value; ``-math.inf`` while empty."""
        return self._max

    @property
    def exact(self) -> bool:
        """Whether every value added is still kept as a sample."""
        return len(self._samples) == self._count

    @property
    def samples(self) -> tuple[float, ...]:
        """A copy of the kept samples, in no particular order."""
        return tuple(self._samples)

    def get(self, statistic: str) -> float:
        """One statistic, without sorting the samples unless it is a quantile.

        :raises ValueError: Nothing was added, or *statistic* is not one of
            :data:`STATISTICS`.
        """
        if self._count:
            if statistic in _DIRECT:
                value: float = getattr(self, _DIRECT[statistic])
                return value if statistic != "mean" else value / self._count
            percent = _QUANTILES.get(statistic)
            if percent is not None:
                return quantile(sorted(self._samples), percent)
        return self.summary().get(statistic)

    def summary(self) -> Summary:
        """Return the statistics of the values added so far.

        :raises ValueError: Nothing was added.
        """
        if not self._count:
            msg = "cannot summarize an accumulator with no values"
            raise ValueError(msg)
        ordered = sorted(self._samples)
        return Summary(
            count=self._count,
            total=self._total,
            min=self._min,
            max=self._max,
            mean=self._total / self._count,
            median=quantile(ordered, 50),
            p95=quantile(ordered, 95),
            p99=quantile(ordered, 99),
            exact=len(ordered) == self._count,
        )

    def to_builtins(self) -> dict[str, object]:
        """Return the state as JSON-safe builtins for :meth:`from_builtins`.

        ``min`` and ``max`` are ``None`` while empty.
        """
        empty = not self._count
        return {
            "count": self._count,
            "total": self._total,
            "min": None if empty else self._min,
            "max": None if empty else self._max,
            "samples": self._samples.tolist(),
        }

    @classmethod
    def from_builtins(
        cls, data: object, *, cap: int = DEFAULT_CAP, seed: int = 0
    ) -> Accumulator:
        """Rebuild an accumulator from :meth:`to_builtins` output.

        Keys other than those :meth:`to_builtins` writes are ignored. More than
        *cap* samples are reduced to a fair sample of *cap*.

        :param data: A dict with ``count``, ``total``, ``min``, ``max`` and
            ``samples``.
        :param cap: The rebuilt accumulator's cap.
        :param seed: The rebuilt accumulator's seed.
        :raises ValueError: *data* is not such a dict; the message names the
            field, what it holds and what was expected.
        """
        if not isinstance(data, dict):
            msg = (
                f"accumulator: expected a dict with keys {', '.join(_FIELDS)}, "
                f"got {data!r}"
            )
            raise ValueError(msg)
        missing = [key for key in _FIELDS if key not in data]
        if missing:
            msg = f"accumulator: missing field(s) {', '.join(missing)} in {data!r}"
            raise ValueError(msg)
        count = data["count"]
        if isinstance(count, bool) or not isinstance(count, int) or count < 0:
            msg = f"accumulator field 'count': expected an integer >= 0, got {count!r}"
            raise ValueError(msg)
        total = _number("total", data["total"])
        raw_samples = data["samples"]
        if not isinstance(raw_samples, list):
            msg = f"accumulator field 'samples': expected a list, got {raw_samples!r}"
            raise ValueError(msg)
        if count == 0:
            for key in ("min", "max"):
                if data[key] is not None:
                    msg = (
                        f"accumulator field {key!r}: expected None when count is 0, "
                        f"got {data[key]!r}"
                    )
                    raise ValueError(msg)
            if raw_samples or total:
                msg = (
                    "accumulator fields 'samples' and 'total': expected [] and 0 "
                    f"when count is 0, got {raw_samples!r} and {total!r}"
                )
                raise ValueError(msg)
            return cls(cap, seed)
        low = _number("min", data["min"])
        high = _number("max", data["max"])
        if low > high:
            msg = f"accumulator fields 'min', 'max': min {low!r} exceeds max {high!r}"
            raise ValueError(msg)
        if not 1 <= len(raw_samples) <= count:
            msg = (
                "accumulator field 'samples': expected 1 to count "
                f"({count}) values, got {len(raw_samples)}"
            )
            raise ValueError(msg)
        samples = _checked_samples(raw_samples, low, high)
        result = cls(cap, seed)
        result._count = count
        result._total = total
        result._min = low
        result._max = high
        result._set_samples(array("d", result._draw(samples, min(cap, len(samples)))))
        return result

    def to_row(self) -> list[object]:
        """The state as one flat JSON-safe list, for :meth:`from_row`.

        The compact form of :meth:`to_builtins`: every test phase's timings
        cross xdist in it, once per name.
        """
        empty = not self._count
        return [
            self._count,
            self._total,
            None if empty else self._min,
            None if empty else self._max,
            self._samples.tolist(),
        ]

    @classmethod
    def from_row(cls, row: object) -> Accumulator:
        """Rebuild an accumulator from :meth:`to_row`, with the default cap and seed.

        :raises ValueError: *row* does not describe an accumulator; the message
            names the field, as :meth:`from_builtins` does.
        """
        if type(row) is not list or len(row) != len(_FIELDS):
            msg = f"accumulator: expected a list of {', '.join(_FIELDS)}, got {row!r}"
            raise ValueError(msg)
        count, total, low, high, samples = row
        # The common cases, checked with no message built: every value kept,
        # finite floats (a NaN makes the sum NaN), the least and greatest
        # equal to min and max.
        if (
            type(count) is int
            and type(samples) is list
            and type(total) is float
            and type(low) is float
            and type(high) is float
            and len(samples) == count
        ):
            if count == 1:  # most names, in most test phases
                if (
                    type(samples[0]) is float
                    and samples[0] == low == high == total
                    and _finite(total)
                ):
                    return cls._exact(1, total, low, high, array("d", samples))
            elif (
                1 < count <= DEFAULT_CAP
                and {*map(type, samples)} == _FLOAT_ONLY
                and _finite(sum(samples))
                and _finite(total)
                and min(samples) == low
                and max(samples) == high
            ):
                return cls._exact(count, total, low, high, array("d", samples))
        # Anything else is checked field by field, and named when wrong.
        return cls.from_builtins(dict(zip(_FIELDS, row, strict=True)))

    def __repr__(self) -> str:
        return (
            f"Accumulator(count={self._count}, total={self._total!r}, "
            f"kept={len(self._samples)}, cap={self._cap})"
        )


def midranks(values: Sequence[float]) -> tuple[list[float], list[int]]:
    """Return each value's rank (ties share their mean rank) and tie group sizes."""
    order = sorted(range(len(values)), key=values.__getitem__)
    ranks = [0.0] * len(values)
    ties: list[int] = []
    start = 0
    while start < len(order):
        end = start + 1
        while end < len(order) and values[order[end]] == values[order[start]]:
            end += 1
        # Positions start..end-1 hold ranks start+1..end; each gets their mean.
        rank = (start + 1 + end) / 2
        for index in order[start:end]:
            ranks[index] = rank
        if end - start > 1:
            ties.append(end - start)
        start = end
    return ranks, ties


def quantile(ordered: Sequence[float], percent: int) -> float:
    """The *percent* quantile of sorted values, interpolated between closest ranks."""
    # The rank (n - 1) * percent / 100, as statistics.quantiles(method=
    # "inclusive") computes it, split exactly into integer and fraction.
    index, fraction = divmod((len(ordered) - 1) * percent, 100)
    if not fraction:
        return ordered[index]
    low, high = ordered[index], ordered[index + 1]
    # Interpolated from low, and capped, so that rounding never leaves
    # [low, high]: equal neighbours give that value, and the quantiles stay
    # ordered (statistics' weighted mean of the two can miss by an ulp).
    return min(high, low + (high - low) * fraction / 100)


def _checked_samples(raw: list[object], low: float, high: float) -> array[float]:
    # The common case in one pass, with no message built; the slow loop
    # below only runs to name what is wrong.
    if not any(type(value) is bool for value in raw):
        try:
            samples: array[float] = array("d", cast("list[float]", raw))
        except TypeError:
            pass
        else:
            if all(low <= value <= high for value in samples):
                return samples
    for index, value in enumerate(raw):
        number = _number(f"samples[{index}]", value)
        if not low <= number <= high:
            msg = (
                f"accumulator field 'samples[{index}]': expected a value "
                f"between min {low!r} and max {high!r}, got {number!r}"
            )
            raise ValueError(msg)
    raise AssertionError  # pragma: no cover - the fast path took every good list


def _number(field: str, value: object) -> float:
    if (
        isinstance(value, bool)
        or not isinstance(value, (int, float))
        or not math.isfinite(value)
    ):
        msg = f"accumulator field {field!r}: expected a finite number, got {value!r}"
        raise ValueError(msg)
    return float(value)
