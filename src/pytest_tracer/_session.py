"""Per-test hooks: which test a timing belongs to, its checks, its results.

Registered in every process that runs tests (each xdist worker, or the only
process). A test without timers costs two attribute writes a phase: buckets,
checks and results exist only once a timing arrived.
"""

from __future__ import annotations

from collections.abc import Callable, Generator, Mapping
from typing import Final, Protocol, final

import pytest

from . import _xdist
from ._check import find_breaches
from ._collect import Bucket, Collector, merged
from ._config import ConfigError, Thresholds
from ._reference import REFERENCE, measure_reference
from ._results import Breach, Comparison, PhaseResult, TimerResult
from ._stats import Accumulator

thresholds_key: Final = pytest.StashKey[Thresholds]()
attempt_key: Final = pytest.StashKey[int]()
MARKER: Final = "timer_thresholds"


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
    ) -> None:
        self.collector = collector
        self.thresholds = thresholds
        self.enforce = enforce
        self.normalize = normalize
        self.comparer: Comparer | None = None
        # The running test: its finished phases' buckets, what it reported.
        self._buckets: dict[str, Bucket] = {}
        self._reported: set[tuple[str, str]] = set()
        # The running test's results by phase, until its reports are logged.
        self._pending: dict[str, PhaseResult] = {}
        #: Where results go on the reporting process; None on an xdist worker.
        self.deliver: Callable[[pytest.TestReport, PhaseResult | None], None] | None = (
            None
        )

    # Collection ---------------------------------------------------------------

    @pytest.hookimpl(trylast=True)
    def pytest_collection_modifyitems(self, items: list[pytest.Item]) -> None:
        # Bad markers are usage errors, found before any test runs.
        for item in items:
            if item.get_closest_marker(MARKER) is not None:
                item.stash[thresholds_key] = thresholds_for(item, self.thresholds)

    # Phases -------------------------------------------------------------------

    @pytest.hookimpl(wrapper=True)
    def pytest_runtest_setup(self, item: pytest.Item) -> Generator[None, None, None]:
        if self._reported:  # what an earlier test (or attempt) reported
            self._reported = set()
        if self._pending:  # an attempt re-run to confirm logs no reports
            self._pending = {}
        self.collector.begin()
        try:
            result = yield
        except BaseException:
            self._after_setup(item, failed=True)
            raise
        self._after_setup(item, failed=False)
        return result

    @pytest.hookimpl(wrapper=True)
    def pytest_runtest_call(self, item: pytest.Item) -> Generator[None, None, None]:
        before = measure_reference() if self.normalize else None
        self.collector.begin()
        try:
            result = yield
        except BaseException:
            self._after_call(item, before, failed=True)
            raise
        self._after_call(item, before, failed=False)
        return result

    @pytest.hookimpl(wrapper=True)
    def pytest_runtest_teardown(self, item: pytest.Item) -> Generator[None, None, None]:
        self.collector.begin()
        try:
            result = yield
        except BaseException:
            self._after_teardown(item, failed=True)
            raise
        self._after_teardown(item, failed=False)
        return result

    def _after_setup(self, item: pytest.Item, *, failed: bool) -> None:
        bucket = self.collector.end()
        self._buckets = {} if bucket is None else {"setup": bucket}
        if bucket is None:
            return
        # A setup that failed ends the test: check what it recorded now, to
        # show beside the failure. Otherwise the check waits for the body.
        breaches = self._new_breaches(item, self._so_far_read_only()) if failed else []
        self._pending["setup"] = self._result(item, "setup", bucket, breaches)

    def _after_call(
        self, item: pytest.Item, before: float | None, *, failed: bool
    ) -> None:
        bucket = self.collector.end()
        if before is not None:
            # How fast the machine ran right before and right after the body.
            if bucket is None:
                bucket = Bucket()
            bucket.add(REFERENCE, before)
            bucket.add(REFERENCE, measure_reference())
        if bucket is not None:
            self._buckets["call"] = bucket
        if not self._buckets:
            return
        # Setup and call are checked together: the body is what limits and
        # baselines are about.
        so_far = self._so_far_read_only()
        breaches = self._new_breaches(item, so_far)
        comparisons = self._compare(item, so_far)
        self._finish(item, "call", bucket, breaches, comparisons, failed=failed)

    def _after_teardown(self, item: pytest.Item, *, failed: bool) -> None:
        bucket = self.collector.end()
        if bucket is None:
            self._buckets = {}
            return
        self._buckets["teardown"] = bucket
        breaches = self._new_breaches(item, self._so_far_read_only())
        self._buckets = {}
        self._finish(item, "teardown", bucket, breaches, (), failed=failed)

    def _finish(
        self,
        item: pytest.Item,
        phase: str,
        bucket: Bucket | None,
        breaches: list[Breach],
        comparisons: list[Comparison] | tuple[()],
        *,
        failed: bool,
    ) -> None:
        regressions = [c for c in comparisons if c.is_regression]
        fails = self.enforce and not failed and bool(breaches or regressions)
        result = self._pending[phase] = self._result(
            item,
            phase,
            bucket,
            breaches,
            comparisons,
            failed_on_timings=fails,
        )
        if fails:
            __tracebackhide__ = True
            text = "\n".join(result.problems)
            runs = item.stash.get(attempt_key, 1)
            if runs > 1:
                text += f"\n(held on all {runs} runs)"
            pytest.fail(text, pytrace=False)

    def _result(
        self,
        item: pytest.Item,
        phase: str,
        bucket: Bucket | None,
        breaches: list[Breach] | tuple[()] = (),
        comparisons: list[Comparison] | tuple[()] = (),
        *,
        failed_on_timings: bool = False,
    ) -> PhaseResult:
        thresholds = item.stash.get(thresholds_key, self.thresholds)
        timers: tuple[TimerResult, ...] = ()
        if bucket is not None:
            with bucket.lock:  # a thread the test started may still add
                items = list(bucket.timers.items())
            timers = tuple(
                TimerResult(
                    name,
                    stats,
                    () if name == REFERENCE else thresholds.limits_for(name),
                )
                for name, stats in items
            )
        return PhaseResult(
            item.nodeid,
            phase,
            timers,
            tuple(breaches),
            tuple(comparisons),
            failed_on_timings,
        )

    def _so_far_read_only(self) -> Mapping[str, Accumulator]:
        # Checks only read: one phase's own accumulators need no copies.
        if len(self._buckets) == 1:
            (bucket,) = self._buckets.values()
            with bucket.lock:
                return dict(bucket.timers)
        return merged(self._buckets.values())

    def _new_breaches(
        self, item: pytest.Item, so_far: Mapping[str, Accumulator]
    ) -> list[Breach]:
        thresholds = item.stash.get(thresholds_key, self.thresholds)
        if not thresholds:
            return []
        # Accumulators answer max, min, mean and total without sorting.
        limited = {
            name: stats
            for name, stats in so_far.items()
            if name != REFERENCE and thresholds.limits_for(name)
        }
        fresh = []
        for breach in find_breaches(limited, thresholds, enforced=self.enforce):
            key = (breach.name, breach.statistic)
            if key not in self._reported:
                self._reported.add(key)
                fresh.append(breach)
        return fresh

    def _compare(
        self, item: pytest.Item, so_far: Mapping[str, Accumulator]
    ) -> list[Comparison]:
        if self.comparer is None:
            return []
        return self.comparer.compare(item.nodeid, so_far, enforced=self.enforce)

    # Reports ------------------------------------------------------------------

    @property
    def failed_on_timings(self) -> bool:
        """Whether the test that ran last failed because of its timings."""
        return any(result.failed_on_timings for result in self._pending.values())

    @pytest.hookimpl(tryfirst=True)
    def pytest_runtest_logreport(self, report: pytest.TestReport) -> None:
        # First, so the result is on the report before xdist sends it.
        result = self._pending.pop(report.when, None)
        if result is not None and result.test_id != report.nodeid:
            result = None  # not this report's: a report logged by a plugin
        if (
            result is not None
            and report.failed
            and not result.failed_on_timings
            and result.problems
        ):
            # The phase failed for a reason of its own: the breach is shown
            # beside that failure.
            report.sections.append(
                ("timers over their limits", "\n".join(result.problems))
            )
        if self.deliver is None:
            if result is not None:
                _xdist.attach(report, result)
        else:
            self.deliver(report, result)

    # The fixture --------------------------------------------------------------

    def so_far(self) -> dict[str, Accumulator]:
        """Every timing of the running test so far, by name (independent copies)."""
        buckets = list(self._buckets.values())
        running = self.collector.running
        if running is not None:
            buckets.append(running)
        return merged(buckets)


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
