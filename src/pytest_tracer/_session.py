"""Per-test hooks: which test a timing belongs to, its checks, its results.

Used in every process that runs tests (each xdist worker, or the only
process). The per-test hooks are registered by the first test that records a
timing (see :meth:`TestSession.sleep`): until then tests cost nothing here.
Once registered, a test without timers costs an empty slot a phase: buckets,
checks and results exist only once a timing arrived.
"""

from __future__ import annotations

import os
import threading
from collections.abc import Callable, Iterable, Mapping, Sequence
from typing import Final, Protocol, final

import pytest

from ._check import find_breaches
from ._collect import Bucket, Collector, merged
from ._config import ConfigError, Limit, Thresholds
from ._reference import REFERENCE, measure_reference
from ._results import PHASES, Breach, Comparison, HeldTimer, PhaseResult, TimerResult
from ._stats import Accumulator

attempt_key: Final = pytest.StashKey[int]()
MARKER: Final = "timer_thresholds"
#: Where pytest names the running test and phase, as "<node id> (<phase>)".
CURRENT_TEST: Final = "PYTEST_CURRENT_TEST"


#: Takes a body's timings that broke no limit, with the call's report (see
#: TestSession.held_taker).
HeldTaker = Callable[[pytest.TestReport, Sequence[HeldTimer]], None]


class Comparer(Protocol):
    """Judges one test's timings against a baseline (the history provides it)."""

    def compare(
        self, test_id: str, timers: Mapping[str, Accumulator], *, enforced: bool
    ) -> list[Comparison]:
        """One comparison per timer the baseline has for *test_id*."""
        ...


@final
class TestSession:
    """Routes timings to the running test and checks them after each phase."""

    __test__ = False

    def __init__(
        self,
        collector: Collector,
        thresholds: Thresholds,
        *,
        enforce: bool,
        normalize: bool,
        deliver: Callable[[pytest.TestReport, PhaseResult], bool],
    ) -> None:
        self.collector = collector
        self.thresholds = thresholds
        self.enforce = enforce
        self.normalize = normalize
        self.comparer: Comparer | None = None
        # The running test, its open phase (None between phases), its
        # finished phases' buckets, what it reported.
        self._item: pytest.Item | None = None
        # Its id, once a phase needed it (Item.nodeid is a property).
        self._test_id: str | None = None
        self._open: str | None = None
        self._before: float | None = None
        self._buckets: dict[str, Bucket] = {}
        self._reported: set[tuple[str, str]] = set()
        # The running test's results by phase, until its reports are logged.
        self._pending: dict[str, PhaseResult] = {}
        #: Where each phase's result goes with its report: onto the report on
        #: an xdist worker, into the summary elsewhere. True: call
        #: :attr:`done` once the test is reported in full.
        self.deliver = deliver
        #: Told when a test whose delivery asked for it was reported in full.
        self.done: Callable[[str], None] | None = None
        #: Put the test's timings on its JUnit XML test case (``--junitxml``).
        self.junit = False
        #: ``--setup-only`` (or ``--setup-plan``): tests run no body.
        self.setup_only = False
        self._delivered = False
        # Whether the running test's xfail marker expects a TimerBreach.
        self._expected_breach = False
        # The limits of the tests whose markers change them, by id(item).
        self._marked: dict[int, Thresholds] = {}
        #: Whether the per-test hooks are registered. A session that may
        #: sleep (see :meth:`sleep`) registers them with the first timing.
        self.awake = False
        self._register: Callable[[object], object] | None = None
        self._unregister: Callable[[object], object] | None = None
        self._items: list[pytest.Item] = []
        self._by_id: dict[str, pytest.Item] | None = None
        self._wake_lock = threading.Lock()
        #: Asked once the tests are collected: what takes a body's timings
        #: that broke no limit, without their result, as the call's report
        #: is logged (a re-run that logs none leaves them untaken); None:
        #: every result is made and delivered.
        self.held_taker: Callable[[], HeldTaker | None] | None = None
        self._take_held: HeldTaker | None = None
        # The running test's id and held timings, until the call's report.
        self._held: tuple[str, list[HeldTimer]] | None = None

    # Collection and waking ----------------------------------------------------

    def sleep(
        self,
        register: Callable[[object], object],
        unregister: Callable[[object], object],
    ) -> None:
        """Register the per-test hooks only once a test records a timing.

        Until then tests cost the plugin nothing. The first timing in a test
        finds the test and its phase in ``PYTEST_CURRENT_TEST``, which pytest
        sets for every phase; a timing outside any test leaves it asleep.

        :param register: Registers a plugin object with pytest.
        :param unregister: Unregisters one.
        """
        self._register, self._unregister = register, unregister

    def collected(self, items: list[pytest.Item]) -> None:
        """The tests to run are known: check their markers; sleep if allowed."""
        self._items, self._by_id = items, None
        self._check_markers(items)
        # Every plugin that may read results is registered by now.
        if self.held_taker is not None:
            self._take_held = self.held_taker()
        if self._register is not None and not self.awake:
            self.collector.sleep(self._wake_from_timing)

    def _wake_from_timing(self) -> bool:
        # Called by the collector for a timing while asleep, in any thread.
        current = os.environ.get(CURRENT_TEST)
        if current is None:
            return False  # between tests
        test_id, _, phase = current.rpartition(" (")
        phase = phase[:-1]
        if phase not in PHASES:
            return False
        with self._wake_lock:
            if self.awake:
                return True
            if self._by_id is None:  # once: pytest run inside this one may ask often
                self._by_id = {item.nodeid: item for item in self._items}
            item = self._by_id.get(test_id)
            if item is None:  # a test this session does not run
                return False
            self._wake(item, phase)
        return True

    def _wake(self, item: pytest.Item, phase: str) -> None:
        register, unregister = self._register, self._unregister
        assert register is not None
        assert unregister is not None
        self.awake = True
        self._item = item
        self._open = phase
        # The phase runs from now: threads started in the body are the test's.
        self.collector.begin(None if phase == "setup" else item.nodeid)
        if phase != "setup":
            # This phase's last hook was called before this registration:
            # the phase ends when its report is made.
            register(_LateEnd(self, item, phase, unregister))
        register(self)

    def _check_markers(self, items: list[pytest.Item]) -> None:
        # Bad markers are usage errors, found before any test runs. A marker
        # sits on the item or on a parent; each parent is looked at once.
        marked: dict[int, bool] = {}

        def has_marker(node: pytest.Item | pytest.Collector) -> bool:
            found = marked.get(id(node))
            if found is None:
                found = False
                for mark in node.own_markers:
                    if mark.name == MARKER:
                        found = True
                        break
                parent = node.parent
                if not found and parent is not None:
                    found = has_marker(parent)
                marked[id(node)] = found
            return found

        for item in items:
            if has_marker(item):
                self._marked[id(item)] = thresholds_for(item, self.thresholds)

    # Phases -------------------------------------------------------------------
    #
    # Plain hooks, as few as the phases need: setup starts first and ends
    # when its report is logged; the body starts there and ends last in its
    # phase; teardown starts where the body (or a setup that failed) ended
    # and ends last. A phase that raised never reaches its last hook; it is
    # closed when its report is logged, or when the next test starts.
    # Re-runs to confirm log no reports until the end, and say when the
    # body and teardown start.

    @pytest.hookimpl(tryfirst=True)
    def pytest_runtest_setup(self, item: pytest.Item) -> None:
        if self._open is not None:
            self._close_raised()
        # A new test, or a new attempt at it: forget what the last reported.
        self._item = item
        self._test_id = None
        if self._buckets:
            self._buckets.clear()
            self._held = None
            if self._reported:
                self._reported.clear()
            if self._pending:
                self._pending.clear()
            self._delivered = False
        # Threads the last test's body started are no test's from now on.
        self._open = "setup"
        self.collector.begin(None)

    def call_starts(self, item: pytest.Item) -> None:
        """End setup and start the body: for re-runs to confirm, which log no
        reports until the end."""
        if self._open == "setup":
            self._end_setup(item)

    def _end_setup(self, item: pytest.Item) -> None:
        # Setup passed: the next phase starts where it ended (pytest runs the
        # body next), and its timings are checked with the body's.
        if self.setup_only:  # no body runs: teardown follows
            self._open = "teardown"
        else:
            self._open = "call"
        # Threads started from now on belong to the test.
        test_id = self._test_id = item.nodeid
        bucket = self.collector.switch(test_id)
        if self.normalize and not self.setup_only:
            self._before = measure_reference()
        if bucket is not None:
            self._buckets["setup"] = bucket
            self._pending["setup"] = _result(
                test_id, "setup", bucket.read(), self._limits(item), [], [], False
            )

    @pytest.hookimpl(trylast=True, specname="pytest_runtest_call")
    def pytest_runtest_call_ends(self, item: pytest.Item) -> None:
        # Teardown starts where the body ended: one hook less a test, and
        # what other plugins time in between, while the test is reported,
        # counts for the test. Threads started now still belong to it.
        self._open = "teardown"
        test_id = self._test_id
        if test_id is None or item is not self._item:
            test_id = item.nodeid
        bucket = self.collector.switch(test_id)
        # Most timed tests take the first branch: only the body timed.
        if not (self._buckets or self._before is not None or self.comparer is not None):
            if bucket is not None and not self._end_body_only(item, test_id, bucket):
                self._end_call(item, bucket, failed=False)
        else:
            self._end_call(item, bucket, failed=False)

    def _end_body_only(self, item: pytest.Item, test_id: str, bucket: Bucket) -> bool:
        """End a body whose timings are the test's only ones, with no baseline.

        Most timed tests end here: the result is made in one pass over the
        timers, which also tells that every one holds its limits. False when
        one may not: then :meth:`_end_call` checks in full.
        """
        thresholds = self._marked.get(id(item), self.thresholds)
        if self._take_held is not None:
            timings = bucket.undrained()
            if timings is not None:
                held = _held(timings, thresholds)
                if held is not None:
                    self._buckets["call"] = bucket
                    self._held = (test_id, held)
                    return True
        records = _timer_results(bucket.read(), thresholds, held_only=True)
        if records is None:
            return False
        self._buckets["call"] = bucket
        self._pending["call"] = _new(
            PhaseResult, (test_id, "call", records, (), (), False)
        )
        return True

    def teardown_starts(self, item: pytest.Item) -> None:
        """Close the phase still open (it raised) and start teardown: for
        re-runs to confirm, which log no reports until the end."""
        if self._open is not None and self._open != "teardown":
            self._close_raised()

    @pytest.hookimpl(trylast=True, specname="pytest_runtest_teardown")
    def pytest_runtest_teardown_ends(self, item: pytest.Item) -> None:
        self._open = None
        bucket = self.collector.end()
        if bucket is not None:
            self._end_teardown(item, bucket, failed=False)

    def _close_raised(self) -> None:
        """End the open phase, which raised before its last hook ran."""
        phase, item = self._open, self._item
        if phase is None or item is None:
            return
        if phase == "setup":
            # A failed setup ends the test: teardown starts, and what setup
            # recorded is checked now, to show beside the failure.
            self._open = "teardown"
            bucket = self.collector.switch(item.nodeid)
            if bucket is not None:
                self._buckets = {"setup": bucket}
                own = bucket.read()
                thresholds = self._limits(item)
                breaches = self._new_breaches(thresholds, own)
                self._pending["setup"] = _result(
                    item.nodeid, "setup", own, thresholds, breaches, [], False
                )
        elif phase == "call":
            self._open = "teardown"
            bucket = self.collector.switch(item.nodeid)
            self._end_call(item, bucket, failed=True)
        else:
            self._open = None
            bucket = self.collector.end()
            if bucket is not None:
                self._end_teardown(item, bucket, failed=True)

    def _end_call(
        self, item: pytest.Item, bucket: Bucket | None, *, failed: bool
    ) -> None:
        before, self._before = self._before, None
        if before is not None:
            # How fast the machine ran right before and right after the body.
            if bucket is None:
                bucket = Bucket()
            bucket.add(REFERENCE, before)
            bucket.add(REFERENCE, measure_reference())
        if bucket is not None:
            self._buckets["call"] = bucket
        elif not self._buckets:
            return
        # Setup and call are checked together: the body is what limits and
        # baselines are about.
        own = {} if bucket is None else bucket.read()
        # With only its own bucket, the body's timings are all there are.
        so_far = (
            own if len(self._buckets) == 1 and bucket is not None else self._so_far()
        )
        thresholds = self._limits(item)
        breaches = self._new_breaches(thresholds, so_far)
        comparer = self.comparer
        comparisons = (
            []
            if comparer is None
            else comparer.compare(item.nodeid, so_far, enforced=self.enforce)
        )
        self._finish(item, "call", own, thresholds, breaches, comparisons, failed)

    def _end_teardown(self, item: pytest.Item, bucket: Bucket, *, failed: bool) -> None:
        self._buckets["teardown"] = bucket
        thresholds = self._limits(item)
        breaches = self._new_breaches(thresholds, self._so_far())
        self._finish(item, "teardown", bucket.read(), thresholds, breaches, [], failed)

    def _finish(
        self,
        item: pytest.Item,
        phase: str,
        timers: Mapping[str, Accumulator],
        thresholds: Thresholds,
        breaches: list[Breach],
        comparisons: list[Comparison],
        failed: bool,
    ) -> None:
        fails = (
            self.enforce
            and not failed
            and bool(
                breaches or (comparisons and any(c.is_regression for c in comparisons))
            )
        )
        result = self._pending[phase] = _result(
            item.nodeid, phase, timers, thresholds, breaches, comparisons, fails
        )
        if fails:
            __tracebackhide__ = True
            text = "\n".join(result.problems)
            runs = item.stash.get(attempt_key, 1)
            if runs > 1:
                text += f"\n(held on all {runs} runs)"
            self._expected_breach = expected = _expects_breach(item)
            if item.get_closest_marker("xfail") is not None and not expected:
                text += (
                    "\n(an xfail marker covers the test's own failure, not a"
                    " timer limit: to expect the breach, write"
                    " @pytest.mark.xfail(raises=pytest_tracer.TimerBreach))"
                )
            raise TimerBreach(text)

    def _limits(self, item: pytest.Item) -> Thresholds:
        """The limits of the running test: the pyproject's, or its markers'."""
        if self._marked:
            return self._marked.get(id(item), self.thresholds)
        return self.thresholds

    def _so_far(self) -> dict[str, Accumulator]:
        # Checks only read: one phase's own accumulators need no copies.
        if len(self._buckets) == 1:
            (bucket,) = self._buckets.values()
            return bucket.read()
        return merged(self._buckets.values())

    def _new_breaches(
        self, thresholds: Thresholds, so_far: Mapping[str, Accumulator]
    ) -> list[Breach]:
        # No early return without limits: Thresholds.__bool__ is a call, and
        # the check skips a name without limits at a dict lookup.
        if REFERENCE in so_far:  # the machine's speed has no limits
            so_far = {name: s for name, s in so_far.items() if name != REFERENCE}
        found = find_breaches(so_far, thresholds, enforced=self.enforce)
        if not found:
            return found
        fresh = []
        for breach in found:
            key = (breach.name, breach.statistic)
            if key not in self._reported:
                self._reported.add(key)
                fresh.append(breach)
        return fresh

    # Reports ------------------------------------------------------------------

    @property
    def failed_on_timings(self) -> bool:
        """Whether the test that ran last failed because of its timings."""
        return any(result.failed_on_timings for result in self._pending.values())

    @pytest.hookimpl(tryfirst=True)
    def pytest_runtest_logreport(self, report: pytest.TestReport) -> None:
        # First, so the result is on the report before xdist sends it.
        when = report.when
        if self._open == when:
            item = self._item
            if when == "setup" and item is not None and report.outcome == "passed":
                self._end_setup(item)
            else:
                self._close_raised()
        if self._held is not None and when == "call":
            (test_id, held), self._held = self._held, None
            take_held = self._take_held
            if take_held is not None and report.nodeid == test_id:
                take_held(report, held)
        elif self._pending:
            result = self._pending.pop(when, None)
            # A report logged by a plugin for another test is not this one's.
            if result is not None and result.test_id == report.nodeid:
                if result.breaches or result.comparisons:
                    self._show(report, result)
                if self.deliver(report, result):
                    self._delivered = True
        if when == "teardown" and self._buckets:
            if self.junit:
                report.user_properties.extend(junit_properties(self._buckets.values()))
            if self._delivered and self.done is not None:
                self.done(report.nodeid)

    def _show(self, report: pytest.TestReport, result: PhaseResult) -> None:
        # The phase's report, for a phase with breaches or comparisons.
        if result.failed_on_timings:
            if hasattr(report, "wasxfail") and not self._expected_breach:
                # An xfail marker expects the test's own failure: it does
                # not cover a limit the test's timings broke, unless it
                # says so.
                del report.wasxfail
                report.outcome = "failed"
        elif report.failed and result.problems:
            # The phase failed for a reason of its own: the breach is
            # shown beside that failure.
            report.sections.append(
                ("timers over their limits", "\n".join(result.problems))
            )

    # The fixture --------------------------------------------------------------

    def so_far(self) -> dict[str, Accumulator]:
        """Every timing of the running test so far, by name (independent copies)."""
        buckets = list(self._buckets.values())
        running = self.collector.running
        if running is not None:
            buckets.append(running)
        return merged(buckets)


@final
class Collected:
    """Registered from the start: the session learns which tests run."""

    def __init__(self, session: TestSession) -> None:
        self._session = session

    @pytest.hookimpl(trylast=True)
    def pytest_collection_modifyitems(self, items: list[pytest.Item]) -> None:
        self._session.collected(items)


@final
class _LateEnd:
    """Ends the phase a sleeping session woke in, as the report is made.

    The phase's last hook had been called before the session registered,
    so this ends the phase at the next moment: a breach it finds becomes the
    phase's exception, just as if it had been raised in the phase.
    """

    def __init__(
        self,
        session: TestSession,
        item: pytest.Item,
        phase: str,
        unregister: Callable[[object], object],
    ) -> None:
        self._session, self._item, self._phase = session, item, phase
        self._unregister = unregister

    @pytest.hookimpl(tryfirst=True)
    def pytest_runtest_makereport(
        self, item: pytest.Item, call: pytest.CallInfo[None]
    ) -> None:
        if call.when != self._phase:
            return
        self._unregister(self)
        session = self._session
        # A phase that raised is closed when its report is logged.
        if item is not self._item or session._open != call.when or call.excinfo:
            return
        try:
            if call.when == "call":
                session.pytest_runtest_call_ends(item)
            else:
                session.pytest_runtest_teardown_ends(item)
        except TimerBreach:
            call.excinfo = pytest.ExceptionInfo.from_current()


def _result(
    test_id: str,
    phase: str,
    timers: Mapping[str, Accumulator],
    thresholds: Thresholds,
    breaches: list[Breach],
    comparisons: list[Comparison],
    failed_on_timings: bool,
) -> PhaseResult:
    records = _timer_results(timers, thresholds)
    assert records is not None  # only held_only gives None
    return _new(
        PhaseResult,
        (
            test_id,
            phase,
            records,
            tuple(breaches),
            tuple(comparisons),
            failed_on_timings,
        ),
    )


def _held(
    timings: Mapping[str, list[float]], thresholds: Thresholds
) -> list[HeldTimer] | None:
    """Each timer's values and limits, or None when one may break a limit.

    :param timings: Each name's values, none empty (see :meth:`Bucket.undrained`).
    """
    known, checks_for = thresholds.known, thresholds.checks_for
    timers: list[HeldTimer] = []
    for name, values in timings.items():
        limits, bound = known.get(name) or checks_for(name)
        if limits and max(values) > bound:
            return None
        timers.append((name, values, limits))
    return timers


def _timer_results(
    timers: Mapping[str, Accumulator],
    thresholds: Thresholds,
    *,
    held_only: bool = False,
) -> tuple[TimerResult, ...] | None:
    """Each timer with the limits that apply to this test.

    :param held_only: Give None as soon as a timer may break a limit (its
        max is over the lowest limit): the caller then checks in full.
    """
    known, checks_for = thresholds.known, thresholds.checks_for
    records = []
    for name, stats in timers.items():
        if name == REFERENCE:  # the machine's speed has no limits
            limits: tuple[Limit, ...] = ()
        else:
            limits, bound = known.get(name) or checks_for(name)
            if held_only and limits and stats.max > bound:
                return None
        # tuple.__new__ builds the same record as calling the class, at
        # half the cost: every phase with timings makes them.
        records.append(_new(TimerResult, (name, stats, limits)))
    return tuple(records)


_new: Final = tuple.__new__


class TimerBreach(pytest.fail.Exception):  # type: ignore[misc,name-defined]
    """How a test fails on its timings: a limit broken, or a regression.

    ``@pytest.mark.xfail(raises=TimerBreach)`` expects exactly that; a plain
    ``xfail`` does not cover it.
    """

    # As pytest does for Failed: "TimerBreach: ..." in the short summary.
    __module__ = "builtins"

    def __init__(self, message: str) -> None:
        super().__init__(message, pytrace=False)


def _expects_breach(item: pytest.Item) -> bool:
    """Whether the test's xfail marker names TimerBreach in ``raises``."""
    marker = item.get_closest_marker("xfail")
    raises = marker.kwargs.get("raises") if marker is not None else None
    if raises is None:
        return False
    kinds = raises if isinstance(raises, tuple) else (raises,)
    return any(isinstance(k, type) and issubclass(TimerBreach, k) for k in kinds)


def junit_properties(buckets: Iterable[Bucket]) -> list[tuple[str, object]]:
    """The test's timings as JUnit XML properties: count, median and max by name."""
    properties: list[tuple[str, object]] = []
    for name, stats in sorted(merged(buckets).items()):
        if name == REFERENCE or not stats.count:
            continue
        properties += [
            (f"timer:{name}:count", stats.count),
            (f"timer:{name}:median", stats.get("median")),
            (f"timer:{name}:max", stats.max),
        ]
    return properties


def thresholds_for(item: pytest.Item, base: Thresholds) -> Thresholds:
    """The pyproject thresholds with the item's ``timer_thresholds`` markers on top."""
    thresholds = base
    # iter_markers yields the closest marker first; the closest must win.
    for marker in reversed(list(item.iter_markers(MARKER))):
        entries: dict[str, object] = {}
        for argument in marker.args:
            if not isinstance(argument, Mapping):
                msg = (
                    f"{item.nodeid}: @pytest.mark.{MARKER} takes a mapping "
                    f"or keyword arguments, got {argument!r}"
                )
                raise pytest.UsageError(msg)
            entries.update(argument)
        entries.update(marker.kwargs)
        for name, value in entries.items():
            source = f"@pytest.mark.{MARKER}({name}=...) on {item.nodeid}"
            try:
                thresholds = thresholds.with_overrides({name: value}, source)
            except ConfigError as error:
                raise pytest.UsageError(str(error)) from None
    return thresholds
