"""Typed results, from the test phase that recorded them to every output.

A finished phase gives a :class:`PhaseResult`: each timer's statistics with the
limits that applied to *that* test, the limits it broke (:class:`Breach`) and
how it compares with a baseline (:class:`Comparison`). It crosses xdist as
versioned builtins and is rebuilt as the same types; :class:`RunResults`
gathers them where the run is reported, and every output reads them there, so
none derives a status of its own.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Iterable, Iterator, Sequence
from typing import Any, Final, Literal, NamedTuple, final

from ._config import Limit
from ._stats import DEFAULT_CAP, Accumulator, Summary
from ._units import format_duration

#: Bumped whenever the builtins form changes incompatibly.
SCHEMA_VERSION: Final = 5
#: The test id of timings made outside any test (imports, conftests, collection).
SESSION: Final = "<session>"
PHASES: Final = ("setup", "call", "teardown")

VerdictKind = Literal["slower", "faster", "unchanged", "insufficient"]
_KINDS: Final = ("slower", "faster", "unchanged", "insufficient")


#: The limits of a timer name both ends of xdist read from the same pyproject.
SharedLimits = Callable[[str], "tuple[Limit, ...]"]
_new: Final = tuple.__new__


class ResultError(ValueError):
    """Builtins that do not describe a result of this schema version."""


# The records are NamedTuples: immutable and typed like frozen dataclasses,
# and made several times faster, both the class (at import, in every pytest
# run) and each instance (several per test).


class Breach(NamedTuple):
    """A timer statistic over its limit in one test.

    :param measured: The statistic's value in seconds.
    :param calls: How many calls the statistic covers.
    :param enforced: Whether it fails the test (``enforce`` was on).
    """

    name: str
    statistic: str
    measured: float
    calls: int
    limit: Limit
    enforced: bool = True

    @property
    def message(self) -> str:
        """One line naming the timer, both values and where the limit was set."""
        calls = "call" if self.calls == 1 else "calls"
        return (
            f"timer {self.name!r} took {format_duration(self.measured)} "
            f"({self.statistic} of {self.calls} {calls}), over its limit of "
            f"{format_duration(self.limit.seconds)} ({self.limit.source})"
        )

    def to_builtins(self) -> list[object]:
        return [
            self.name,
            self.statistic,
            self.measured,
            self.calls,
            _limit_builtins(self.limit),
            self.enforced,
        ]

    @classmethod
    def from_builtins(cls, data: object) -> Breach:
        name, statistic, measured, calls, limit, enforced = _fields(data, 6, "breach")
        return cls(
            _text(name),
            _text(statistic),
            _number(measured),
            _count(calls),
            _limit(limit),
            bool(enforced),
        )


class Comparison(NamedTuple):
    """How one timer of one test compares with the baseline.

    :param baseline: Which saved runs it was compared with, as shown.
    :param evidence: The numbers behind the verdict, as one line.
    :param source: Where the tolerance and noise floor were set.
    :param enforced: Whether a ``slower`` verdict fails the test.
    """

    name: str
    verdict: VerdictKind
    baseline_median: float
    current_median: float
    change: float
    evidence: str
    baseline: str
    source: str
    enforced: bool = True

    @property
    def is_regression(self) -> bool:
        return self.verdict == "slower"

    @property
    def message(self) -> str:
        return (
            f"timer {self.name!r} got slower than {self.baseline}: "
            f"{self.evidence} ({self.source})"
        )

    def to_builtins(self) -> list[object]:
        return [
            self.name,
            self.verdict,
            self.baseline_median,
            self.current_median,
            self.change,
            self.evidence,
            self.baseline,
            self.source,
            self.enforced,
        ]

    @classmethod
    def from_builtins(cls, data: object) -> Comparison:
        fields = _fields(data, 9, "comparison")
        verdict = fields[1]
        if verdict not in _KINDS:
            msg = f"comparison: expected a verdict among {_KINDS}, got {verdict!r}"
            raise ResultError(msg)
        return cls(
            _text(fields[0]),
            verdict,
            _number(fields[2], finite=False),
            _number(fields[3], finite=False),
            _number(fields[4], finite=False),
            _text(fields[5]),
            _text(fields[6]),
            _text(fields[7]),
            bool(fields[8]),
        )


#: A timer's name, its values as timed, and the limits that applied.
HeldTimer = tuple[str, Sequence[float], tuple[Limit, ...]]


def note_names(
    timers: Iterable[tuple[str, object, tuple[Limit, ...]]],
    names: set[str],
    checked: set[str],
) -> None:
    """Add each timer's name to *names*, and to *checked* if limits applied:
    what a run that keeps no timings needs of a result."""
    for name, _, limits in timers:
        names.add(name)
        if limits:
            checked.add(name)


class TimerResult(NamedTuple):
    """One timer name's timings in one test phase, and the limits of that test."""

    name: str
    stats: Accumulator
    limits: tuple[Limit, ...] = ()


class PhaseResult(NamedTuple):
    """What one phase (setup, call, teardown) of one test recorded and found.

    :param failed_on_timings: The phase failed because of its breaches or
        regressions, not for a reason of its own.
    """

    test_id: str
    phase: str
    timers: tuple[TimerResult, ...] = ()
    breaches: tuple[Breach, ...] = ()
    comparisons: tuple[Comparison, ...] = ()
    failed_on_timings: bool = False

    @property
    def problems(self) -> list[str]:
        """The message of each breach and regression, in that order."""
        return [breach.message for breach in self.breaches] + [
            comparison.message
            for comparison in self.comparisons
            if comparison.is_regression
        ]

    def to_builtins(self, shared: SharedLimits | None = None) -> dict[str, object]:
        """JSON-safe builtins, for :meth:`from_builtins` in another process.

        :param shared: The limits both processes read alike (the pyproject's),
            by timer name: a timer whose limits are exactly those is sent
            without them, and :meth:`from_builtins` fills them in from its own.
        """
        timers: list[list[object]] = []
        for name, stats, limits in self.timers:
            sent: list[list[object]] | None
            if shared is not None and limits is shared(name):
                sent = None
            else:
                sent = [_limit_builtins(limit) for limit in limits]
            timers.append([name, stats.to_row(), sent])
        return {
            "version": SCHEMA_VERSION,
            "test": self.test_id,
            "phase": self.phase,
            "timers": timers,
            "breaches": [breach.to_builtins() for breach in self.breaches],
            "comparisons": [c.to_builtins() for c in self.comparisons],
            "failed_on_timings": self.failed_on_timings,
        }

    @classmethod
    def of_held(cls, test_id: str, timers: Sequence[HeldTimer]) -> PhaseResult:
        """The result of a body whose timings broke no limit, from its timings."""
        return cls(
            test_id,
            "call",
            tuple(
                TimerResult(name, Accumulator.of(values), limits)
                for name, values, limits in timers
            ),
        )

    @classmethod
    def from_builtins(
        cls, data: object, shared: SharedLimits | None = None
    ) -> PhaseResult:
        """Rebuild a result from :meth:`to_builtins`.

        :param shared: Gives the limits of a timer sent without them.
        :raises ResultError: *data* is of another schema version or damaged.
        """
        if not isinstance(data, dict) or data.get("version") != SCHEMA_VERSION:
            version = data.get("version") if isinstance(data, dict) else None
            msg = (
                f"timings of schema version {version!r}, expected {SCHEMA_VERSION}: "
                "use the same pytest-tracer version on the controller and the workers"
            )
            raise ResultError(msg)
        try:
            timers = []
            for name, row, limits in data["timers"]:
                if type(name) is not str:  # marshal makes exact strings
                    name = _text(name)
                if limits is None and shared is not None:
                    own = shared(name)
                else:
                    own = _limits(limits)
                timers.append(_new(TimerResult, (name, Accumulator.from_row(row), own)))
            breaches, comparisons = data["breaches"], data["comparisons"]
            return _new(
                cls,
                (
                    _text(data["test"]),
                    _text(data["phase"]),
                    tuple(timers),
                    tuple(map(Breach.from_builtins, breaches)) if breaches else (),
                    tuple(map(Comparison.from_builtins, comparisons))
                    if comparisons
                    else (),
                    bool(data["failed_on_timings"]),
                ),
            )
        except (KeyError, TypeError, ValueError) as error:
            if isinstance(error, ResultError):
                raise
            msg = f"damaged timings: {error}"
            raise ResultError(msg) from None


class FinishedTest(NamedTuple):
    """Every phase of one finished test, as the per-test hook receives it."""

    test_id: str
    phases: tuple[PhaseResult, ...]

    @property
    def timers(self) -> dict[str, TimerResult]:
        """Each timer name over every phase (merged copies), with its limits."""
        table = TestTimers()
        for phase in self.phases:
            for timer in phase.timers:
                table.add(timer)
        return {
            name: TimerResult(name, stats, table.limits.get(name, ()))
            for name, stats in table.timers.items()
        }

    @property
    def breaches(self) -> tuple[Breach, ...]:
        return tuple(b for phase in self.phases for b in phase.breaches)

    @property
    def comparisons(self) -> tuple[Comparison, ...]:
        return tuple(c for phase in self.phases for c in phase.comparisons)

    @property
    def failed_on_timings(self) -> bool:
        """Whether a phase failed because of its breaches or regressions."""
        return any(phase.failed_on_timings for phase in self.phases)


@final
class TestTimers:
    """Every phase of one test merged, per timer name, with its limits."""

    __test__ = False  # not a test class, whatever pytest's name rules say
    __slots__ = ("limits", "timers")

    def __init__(self) -> None:
        self.timers: dict[str, Accumulator] = {}
        self.limits: dict[str, tuple[Limit, ...]] = {}

    def add(self, timer: TimerResult) -> None:
        _merge_into(self.timers, timer.name, timer.stats)
        if timer.limits:
            self.limits[timer.name] = timer.limits


class Confirmation(NamedTuple):
    """A test re-run because of its timings: how many runs, and the outcome.

    :param passed: The last run passed.
    :param held: The last run failed on its timings again (when it failed for
        another reason, the breach did not hold, but the test still failed).
    """

    test_id: str
    runs: int
    passed: bool
    held: bool = False


class ReportLine(NamedTuple):
    """One timer name's statistics, limits and status, as the outputs show them.

    :param status: ``ok``, ``OVER`` (``OVER m/n`` when m of n tests broke a
        limit), or ``""`` when no limit applied.
    """

    name: str
    summary: Summary
    limits: tuple[Limit, ...] = ()
    status: str = ""
    #: Set when tests applied different limits (markers): how many sets.
    limit_sets: int = 1

    @property
    def limit_text(self) -> str:
        if self.limit_sets > 1:
            return f"varies ({self.limit_sets} sets)"
        return ", ".join(
            f"{limit.statistic} {format_duration(limit.seconds)}"
            for limit in self.limits
        )


@final
class RunResults:
    """Every result of the run, gathered where it is reported.

    :param keep_per_test: Keep each test's own table (memory grows with the
        number of tests); the session's is always kept.
    :param keep_by_name: Merge every test's timings by name, for the report.
        With neither, the tests' statuses are not kept either: the names,
        the breaches and the comparisons are.
    """

    def __init__(
        self, *, keep_per_test: bool = True, keep_by_name: bool = True
    ) -> None:
        self.keep_per_test = keep_per_test
        self.keep_by_name = keep_by_name
        self._by_name: dict[str, Accumulator] = {}
        # The values of timers that kept every one, not yet merged by name:
        # merged a batch at a time, in the order they came, they cost a
        # fraction of one merge a test (see by_name).
        self._unmerged: dict[str, list[float]] = {}
        self.by_test: dict[str, TestTimers] = {}
        self.breaches: list[tuple[str, Breach]] = []
        self.comparisons: list[tuple[str, Comparison]] = []
        self.confirmations: list[Confirmation] = []
        #: The tests that recorded timings (not the session).
        self.timed_tests: set[str] = set()
        #: Every timer name that finished, in any test or the session.
        self.names: set[str] = set()
        # name -> the tests where a limit applied / was broken, and the
        # distinct limit sets seen (markers make them differ).
        self._checked: dict[str, set[str]] = {}
        self._broken: dict[str, set[str]] = {}
        self._limit_sets: dict[str, list[tuple[Limit, ...]]] = {}
        # Checked names of the tests added briefly (nothing keeps statuses).
        self._checked_names: set[str] = set()

    @property
    def by_name(self) -> dict[str, Accumulator]:
        """Every test's timings merged by name (with ``keep_by_name``)."""
        if self._unmerged:
            for name in list(self._unmerged):
                self._merge_waiting(name)
        return self._by_name

    def _merge_waiting(self, name: str) -> None:
        # As merging each test's accumulator in turn would: they kept every
        # value, so merging them adds each value in order.
        self._by_name[name].extend(self._unmerged.pop(name))

    @property
    def checked_names(self) -> frozenset[str]:
        """The timer names that ran with a limit, in some test or the session."""
        return frozenset(self._checked).union(self._checked_names)

    def add_names(self, names: Iterable[str], checked: Iterable[str]) -> None:
        """Take in the names timed in results not sent (an xdist worker's),
        and those of them that had limits."""
        self.names.update(names)
        self._checked_names.update(checked)

    def add(self, result: PhaseResult) -> None:
        """Take in one phase's result."""
        test_id = result.test_id
        if not (self.keep_per_test or self.keep_by_name or test_id == SESSION):
            # Nothing shows statuses: the names, the breaches and the
            # comparisons are all the run needs.
            note_names(result.timers, self.names, self._checked_names)
            if result.breaches:
                self.breaches.extend((test_id, b) for b in result.breaches)
            if result.comparisons:
                self.comparisons.extend((test_id, c) for c in result.comparisons)
            return
        if result.timers and test_id != SESSION:
            self.timed_tests.add(test_id)
        table = None
        if result.timers and (self.keep_per_test or test_id == SESSION):
            table = self.by_test.get(test_id)
            if table is None:
                table = self.by_test[test_id] = TestTimers()
        by_name = self._by_name if self.keep_by_name else None
        unmerged = self._unmerged
        names = self.names
        for timer in result.timers:
            name = timer.name
            names.add(name)
            if by_name is not None:
                stats = timer.stats
                existing = by_name.get(name)
                if existing is None:
                    by_name[name] = stats.copy()
                elif stats.exact:
                    waiting = unmerged.get(name)
                    if waiting is None:
                        waiting = unmerged[name] = []
                    waiting += stats.samples
                    if len(waiting) >= _MERGE_BATCH:
                        self._merge_waiting(name)
                else:
                    if name in unmerged:
                        self._merge_waiting(name)
                    existing.merge(stats)
            if table is not None:
                table.add(timer)
            if timer.limits:
                self._checked_in(name, test_id, timer.limits)
        for breach in result.breaches:
            self.breaches.append((test_id, breach))
            self._broken.setdefault(breach.name, set()).add(test_id)
        if result.comparisons:
            self.comparisons.extend((test_id, c) for c in result.comparisons)

    def _checked_in(self, name: str, test_id: str, limits: tuple[Limit, ...]) -> None:
        # Where a limit of *name* applied, and the distinct limit sets.
        tests = self._checked.get(name)
        if tests is None:
            tests = self._checked[name] = set()
        tests.add(test_id)
        seen = self._limit_sets.get(name)
        if seen is None:
            self._limit_sets[name] = [limits]
        # The same tuple object, test after test, unless a marker (or the
        # trip through xdist, see _limit) made another.
        elif limits is not seen[-1] and limits not in seen:
            seen.append(limits)

    def add_held(self, test_id: str, timers: Sequence[HeldTimer]) -> bool:
        """Take in a phase's timings that broke no limit, as they were timed:
        the same as :meth:`add` of their result, without making it.

        :returns: False, and nothing taken, where the result is needed: each
            test's table is kept, or a timer has more values than its
            accumulator would keep.
        """
        if self.keep_per_test:
            return False
        if not self.keep_by_name:
            note_names(timers, self.names, self._checked_names)
            return True
        for _, values, _ in timers:
            if len(values) > DEFAULT_CAP:
                return False
        if timers:
            self.timed_tests.add(test_id)
        names, by_name, unmerged = self.names, self._by_name, self._unmerged
        checked, limit_sets = self._checked, self._limit_sets
        for name, values, limits in timers:
            names.add(name)
            waiting = unmerged.get(name)
            if waiting is not None:
                waiting += values
                if len(waiting) >= _MERGE_BATCH:
                    self._merge_waiting(name)
            elif name in by_name:
                unmerged[name] = list(values)
            else:
                by_name[name] = Accumulator.of(values)
            if limits:
                # Most tests: the limits of the test before, a set to add to.
                tests = checked.get(name)
                if tests is not None and limit_sets[name][-1] is limits:
                    tests.add(test_id)
                else:
                    self._checked_in(name, test_id, limits)
        return True

    @property
    def session_breaches(self) -> list[Breach]:
        return [breach for test_id, breach in self.breaches if test_id == SESSION]

    def status(self, name: str, test_id: str | None = None) -> str:
        """``ok``/``OVER`` for one test, or over every test when *test_id* is None."""
        checked = self._checked.get(name, ())
        broken = self._broken.get(name, set())
        if test_id is not None:
            if test_id not in checked:
                return ""
            return "OVER" if test_id in broken else "ok"
        if not checked:
            return ""
        if not broken:
            return "ok"
        return "OVER" if len(checked) == 1 else f"OVER {len(broken)}/{len(checked)}"

    def lines(self) -> list[ReportLine]:
        """One :class:`ReportLine` per timer name over the whole run."""
        result = []
        for name, stats in self.by_name.items():
            sets = self._limit_sets.get(name, [])
            limits = sets[0] if len(sets) == 1 else ()
            result.append(
                ReportLine(
                    name, stats.summary(), limits, self.status(name), max(1, len(sets))
                )
            )
        return result

    def test_lines(self) -> Iterator[tuple[str, list[ReportLine]]]:
        """Per kept test, its :class:`ReportLine` s with that test's own status."""
        for test_id, table in self.by_test.items():
            yield (
                test_id,
                [
                    ReportLine(
                        name,
                        stats.summary(),
                        table.limits.get(name, ()),
                        self.status(name, test_id),
                    )
                    for name, stats in table.timers.items()
                ],
            )


#: How many values of a name wait to be merged, at most (see RunResults).
_MERGE_BATCH: Final = 256


def _merge_into(table: dict[str, Accumulator], name: str, stats: Accumulator) -> None:
    existing = table.get(name)
    if existing is None:
        table[name] = stats.copy()
    else:
        existing.merge(stats)


def _limit_builtins(limit: Limit) -> list[object]:
    return [limit.statistic, limit.seconds, limit.source]


def _limit(data: object) -> Limit:
    statistic, seconds, source = _fields(data, 3, "limit")
    return Limit(_text(statistic), _number(seconds), _text(source))


# Decoded limit sets, so that every test's copy of the same limits is the
# same object again on the controller.
_decoded_limits: dict[str, tuple[Limit, ...]] = {}


def _limits(data: object) -> tuple[Limit, ...]:
    if not isinstance(data, list):
        msg = f"limits: expected a list, got {data!r}"
        raise ResultError(msg)
    key = str(data)
    found = _decoded_limits.get(key)
    if found is None:
        found = tuple(_limit(limit) for limit in data)
        if len(_decoded_limits) < 10_000:  # bounded, whatever comes in
            _decoded_limits[key] = found
    return found


def _fields(data: object, size: int, what: str) -> list[Any]:
    if not isinstance(data, (list, tuple)) or len(data) != size:
        msg = f"{what}: expected a list of {size} fields, got {data!r}"
        raise ResultError(msg)
    return list(data)


def _text(value: object) -> str:
    if not isinstance(value, str):
        msg = f"expected a string, got {value!r}"
        raise ResultError(msg)
    return value


def _count(value: object) -> int:
    if isinstance(value, bool) or not isinstance(value, int) or value < 0:
        msg = f"expected a count >= 0, got {value!r}"
        raise ResultError(msg)
    return value


def _number(value: object, *, finite: bool = True) -> float:
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        msg = f"expected a number, got {value!r}"
        raise ResultError(msg)
    if finite and not math.isfinite(value):
        msg = f"expected a finite number, got {value!r}"
        raise ResultError(msg)
    return float(value)
