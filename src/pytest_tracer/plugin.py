"""The pytest plugin: per-test timings, thresholds that fail tests, the report.

Entry point name ``tracer``, so ``-p no:tracer`` turns everything off.
"""

from __future__ import annotations

import argparse
import threading
from collections.abc import Generator, Iterable, Mapping
from pathlib import Path
from typing import Any, Final, final

import pytest

from . import _xdist
from ._check import Breach, find_breaches
from ._config import ConfigError, Thresholds, TracerConfig, load_config
from ._records import timer_durations
from ._report import ReportRow, render_per_test, render_table
from ._stats import Accumulator, Summary
from ._timer import Measurement, Timer, add_receiver, remove_receiver
from ._units import format_duration, parse_duration

REPORT_HELP: Final = "Print a table of every timer's statistics after the run"
REPORT_ROWS_HELP: Final = "Show at most N rows in the timer report (0: all; default 20)"
REPORT_PER_TEST_HELP: Final = "Add a per-test breakdown to the timer report"
NO_ENFORCE_HELP: Final = (
    "Report timers over their thresholds without failing the tests"
)
MARKER_HELP: Final = (
    "timer_thresholds(mapping=None, **limits): override [tool.pytest-tracer."
    'thresholds] for this test, e.g. timer_thresholds(db_query="200ms") or '
    'timer_thresholds({"db_*": "50ms"})'
)

PHASES: Final = ("setup", "call", "teardown")
SESSION: Final = "<session>"


def _non_negative_int(value: str) -> int:
    try:
        number = int(value)
    except ValueError:
        number = -1
    if number < 0:
        msg = f"expected a whole number >= 0, got {value!r}"
        raise argparse.ArgumentTypeError(msg)
    return number


def pytest_addoption(parser: pytest.Parser) -> None:
    group = parser.getgroup("tracer", "performance checks (pytest-tracer)")
    group.addoption(
        "--timer-report", action="store_true", default=None, help=REPORT_HELP
    )
    group.addoption(
        "--timer-report-rows",
        type=_non_negative_int,
        default=None,
        metavar="N",
        help=REPORT_ROWS_HELP,
    )
    group.addoption(
        "--timer-report-per-test",
        action="store_true",
        default=None,
        help=REPORT_PER_TEST_HELP,
    )
    group.addoption(
        "--timer-no-enforce",
        action="store_false",
        dest="timer_enforce",
        default=None,
        help=NO_ENFORCE_HELP,
    )


def find_pyproject(config: pytest.Config) -> Path:
    """The pyproject.toml beside the inifile, or else the rootdir's."""
    if config.inipath is not None:
        return config.inipath.parent / "pyproject.toml"
    return config.rootpath / "pyproject.toml"


def _load(config: pytest.Config) -> TracerConfig:
    path = find_pyproject(config)
    try:
        label = str(path.relative_to(config.rootpath))
    except ValueError:
        label = str(path)
    try:
        return load_config(path, label=label, root=config.rootpath)
    except ConfigError as error:
        raise pytest.UsageError(str(error)) from None


def _option(config: pytest.Config, name: str, fallback: Any) -> Any:
    value = config.getoption(name)
    return fallback if value is None else value


@final
class Bucket:
    """Timings of one test phase (or of the session), fed from any thread."""

    __slots__ = ("lock", "timers")

    def __init__(self) -> None:
        self.timers: dict[str, Accumulator] = {}
        self.lock = threading.Lock()

    def add(self, name: str, seconds: float) -> None:
        with self.lock:
            accumulator = self.timers.get(name)
            if accumulator is None:
                accumulator = self.timers[name] = Accumulator()
            accumulator.add(seconds)

    def snapshot(self) -> dict[str, Accumulator]:
        with self.lock:
            return {name: _copy(acc) for name, acc in self.timers.items()}


def _copy(accumulator: Accumulator) -> Accumulator:
    return Accumulator.from_builtins(accumulator.to_builtins())


def merged(buckets: Iterable[Bucket]) -> dict[str, Accumulator]:
    """One accumulator per name over several buckets (the phases of a test)."""
    result: dict[str, Accumulator] = {}
    for bucket in buckets:
        for name, accumulator in bucket.snapshot().items():
            if name in result:
                result[name].merge(accumulator)
            else:
                result[name] = accumulator
    return result


@final
class TestTimings:
    """What one test recorded, phase by phase, and its effective thresholds."""

    __test__ = False  # not a test class, whatever pytest's name rules say

    def __init__(self, thresholds: Thresholds) -> None:
        self.thresholds = thresholds
        self.phases = {phase: Bucket() for phase in PHASES}
        self.reported: set[tuple[str, str]] = set()
        self.breaches: dict[str, list[Breach]] = {}

    def so_far(self) -> dict[str, Accumulator]:
        return merged(self.phases.values())

    def new_breaches(self) -> list[Breach]:
        """Breaches over every phase so far that were not reported before."""
        summaries = {name: acc.summary() for name, acc in self.so_far().items()}
        fresh = [
            breach
            for breach in find_breaches(summaries, self.thresholds)
            if (breach.name, breach.statistic) not in self.reported
        ]
        self.reported.update((breach.name, breach.statistic) for breach in fresh)
        return fresh


@final
class Collector:
    """Sends each measurement to the bucket of whatever is running now."""

    __slots__ = ("current", "session")

    def __init__(self) -> None:
        self.session = Bucket()
        self.current = self.session

    def receive(self, measurement: Measurement) -> None:
        self.current.add(measurement.name, measurement.duration)


timings_key: Final = pytest.StashKey[TestTimings]()
plugin_key: Final = pytest.StashKey["TracerPlugin"]()
collector_key: Final = pytest.StashKey[Collector]()


def _collector(config: pytest.Config) -> Collector:
    collector = config.stash.get(collector_key, None)
    if collector is None:
        collector = config.stash[collector_key] = Collector()
        add_receiver(collector.receive)
    return collector


@pytest.hookimpl(tryfirst=True)
def pytest_load_initial_conftests(early_config: pytest.Config) -> None:
    # Conftests load before pytest_configure: their timers count for the session.
    _collector(early_config)


def _breach_text(breaches: list[Breach]) -> str:
    return "\n".join(breach.message for breach in breaches)


@final
class Results:
    """Everything the run recorded, merged where the report is printed."""

    def __init__(self) -> None:
        self.by_name: dict[str, Accumulator] = {}
        self.by_test: dict[str, dict[str, Accumulator]] = {}
        self.breaches: list[tuple[str, str, bool]] = []

    def merge(self, test_id: str, timers: Mapping[str, Accumulator]) -> None:
        per_test = self.by_test.setdefault(test_id, {})
        for name, accumulator in timers.items():
            for table in (self.by_name, per_test):
                if name in table:
                    table[name].merge(accumulator)
                else:
                    table[name] = _copy(accumulator)


@final
class TracerPlugin:
    """Collects every Timer measurement of the run and checks it."""

    def __init__(self, config: pytest.Config, settings: TracerConfig) -> None:
        self.config = config
        self.settings = settings
        self.report: bool = _option(config, "timer_report", settings.report)
        self.report_rows: int = _option(
            config, "timer_report_rows", settings.report_rows
        )
        self.per_test: bool = _option(
            config, "timer_report_per_test", settings.report_per_test
        )
        self.enforce: bool = _option(config, "timer_enforce", settings.enforce)
        self.collector = _collector(config)
        self.session_bucket = self.collector.session
        self.results = Results()
        self.is_worker = _xdist.is_worker(config)

    # Measurements ------------------------------------------------------------

    def _enter(self, item: pytest.Item, phase: str) -> None:
        self.collector.current = self._timings(item).phases[phase]

    def _leave(self) -> None:
        self.collector.current = self.session_bucket

    def _timings(self, item: pytest.Item) -> TestTimings:
        timings = item.stash.get(timings_key, None)
        if timings is None:
            timings = item.stash[timings_key] = TestTimings(
                thresholds_for(item, self.settings.thresholds)
            )
        return timings

    # Test protocol -----------------------------------------------------------

    @pytest.hookimpl(trylast=True)
    def pytest_collection_modifyitems(self, items: list[pytest.Item]) -> None:
        # Bad markers are usage errors, found before any test runs.
        for item in items:
            self._timings(item)

    @pytest.hookimpl(wrapper=True)
    def pytest_runtest_setup(self, item: pytest.Item) -> Generator[None, None, None]:
        self._enter(item, "setup")
        try:
            return (yield)
        finally:
            self._leave()

    @pytest.hookimpl(wrapper=True)
    def pytest_runtest_call(self, item: pytest.Item) -> Generator[None, None, None]:
        self._enter(item, "call")
        try:
            result = yield
        finally:
            self._leave()
        self._fail_on_new_breaches(item, "call")
        return result

    @pytest.hookimpl(wrapper=True)
    def pytest_runtest_teardown(
        self, item: pytest.Item
    ) -> Generator[None, None, None]:
        self._enter(item, "teardown")
        try:
            result = yield
        finally:
            self._leave()
        self._fail_on_new_breaches(item, "teardown")
        return result

    def _fail_on_new_breaches(self, item: pytest.Item, phase: str) -> None:
        timings = self._timings(item)
        breaches = timings.new_breaches()
        timings.breaches[phase] = breaches
        if breaches and self.enforce:
            __tracebackhide__ = True
            pytest.fail(_breach_text(breaches), pytrace=False)

    @pytest.hookimpl(wrapper=True)
    def pytest_runtest_makereport(
        self, item: pytest.Item, call: pytest.CallInfo[None]
    ) -> Generator[None, pytest.TestReport, pytest.TestReport]:
        report = yield
        timings = item.stash.get(timings_key, None)
        if timings is None or call.when not in PHASES:
            return report
        phase = call.when
        breaches = timings.breaches.get(phase)
        if breaches is None and report.failed:
            # The phase itself failed before the check ran: check now, so the
            # breach still shows beside the failure.
            breaches = timings.breaches[phase] = timings.new_breaches()
            if breaches:
                report.sections.append(
                    ("timers over their limits", _breach_text(breaches))
                )
        _xdist.attach(
            report,
            phase,
            timings.phases[phase].snapshot(),
            [breach.message for breach in breaches or ()],
            enforced=self.enforce,
        )
        if phase == "teardown":
            del item.stash[timings_key]
        return report

    def pytest_runtest_logreport(self, report: pytest.TestReport) -> None:
        if self.is_worker:
            return
        try:
            payload = _xdist.read(report)
        except ValueError as error:
            self.config.issue_config_time_warning(
                pytest.PytestWarning(str(error)), stacklevel=2
            )
            return
        if payload is None:
            return
        self.results.merge(report.nodeid, payload.timers)
        self.results.breaches.extend(
            (report.nodeid, message, payload.enforced) for message in payload.breaches
        )

    # End of session ----------------------------------------------------------

    def merge_session_timers(self, timers: Mapping[str, Accumulator]) -> None:
        self.results.merge(SESSION, timers)

    @pytest.hookimpl(tryfirst=True)
    def pytest_sessionfinish(self, session: pytest.Session) -> None:
        timers = self.session_bucket.snapshot()
        if self.is_worker:
            _xdist.store_session_timers(self.config, timers)
            return
        self.merge_session_timers(timers)
        session_timers = self.results.by_test.get(SESSION, {})
        summaries = {name: acc.summary() for name, acc in session_timers.items()}
        breaches = find_breaches(summaries, self.settings.thresholds)
        self.results.breaches.extend(
            (SESSION, breach.message, self.enforce) for breach in breaches
        )
        if breaches and self.enforce and session.exitstatus == pytest.ExitCode.OK:
            session.exitstatus = pytest.ExitCode.TESTS_FAILED

    def pytest_terminal_summary(self, terminalreporter: Any) -> None:
        if self.is_worker:
            return
        width = terminalreporter._tw.fullwidth
        if self.results.breaches:
            terminalreporter.write_sep("=", "timers over their limits")
            for test_id, message, enforced in self.results.breaches:
                prefix = "" if enforced else "(not enforced) "
                terminalreporter.write_line(f"{prefix}{test_id}: {message}")
        if not self.report:
            return
        terminalreporter.write_sep("=", "timer report")
        rows = self._rows(self.results.by_name)
        if not rows:
            terminalreporter.write_line("no timer finished during the run")
            return
        for line in render_table(rows, width=width, max_rows=self.report_rows):
            terminalreporter.write_line(line)
        if self.per_test:
            terminalreporter.write_sep("-", "timers per test")
            tests = [
                (test_id, self._rows(timers))
                for test_id, timers in self.results.by_test.items()
            ]
            for line in render_per_test(tests, width=width, max_rows=self.report_rows):
                terminalreporter.write_line(line)

    def _rows(self, timers: Mapping[str, Accumulator]) -> list[ReportRow]:
        over = {
            message.split("'")[1]
            for _, message, _ in self.results.breaches
            if message.startswith("timer '")
        }
        rows = []
        for name, accumulator in timers.items():
            limits = self.settings.thresholds.limits_for(name)
            limit = ", ".join(
                f"{limit.statistic} {format_duration(limit.seconds)}" for limit in limits
            )
            status = ("OVER" if name in over else "ok") if limits else ""
            rows.append(ReportRow(name, accumulator.summary(), limit, status))
        return rows


def thresholds_for(item: pytest.Item, base: Thresholds) -> Thresholds:
    """The pyproject thresholds with the item's ``timer_thresholds`` markers on top."""
    thresholds = base
    # iter_markers yields the closest marker first; the closest must win.
    for marker in reversed(list(item.iter_markers("timer_thresholds"))):
        entries: dict[str, object] = {}
        for argument in marker.args:
            if not isinstance(argument, Mapping):
                msg = (
                    f"{item.nodeid}: @pytest.mark.timer_thresholds takes a mapping "
                    f"or keyword arguments, got {argument!r}"
                )
                raise pytest.UsageError(msg)
            entries.update(argument)
        entries.update(marker.kwargs)
        for name, value in entries.items():
            source = f"@pytest.mark.timer_thresholds({name}=...) on {item.nodeid}"
            try:
                thresholds = thresholds.with_overrides({name: value}, source)
            except ConfigError as error:
                raise pytest.UsageError(str(error)) from None
    return thresholds


def pytest_configure(config: pytest.Config) -> None:
    config.addinivalue_line("markers", MARKER_HELP)
    plugin = TracerPlugin(config, _load(config))
    config.stash[plugin_key] = plugin
    config.pluginmanager.register(plugin, "pytest-tracer-session")
    if not plugin.is_worker and config.pluginmanager.hasplugin("xdist"):
        config.pluginmanager.register(
            _xdist.ControllerHooks(plugin.merge_session_timers),
            "pytest-tracer-xdist-controller",
        )


def pytest_unconfigure(config: pytest.Config) -> None:
    collector = config.stash.get(collector_key, None)
    if collector is not None:
        remove_receiver(collector.receive)
        del config.stash[collector_key]
    if plugin_key in config.stash:
        del config.stash[plugin_key]


@final
class TimerFixture:
    """Time blocks in a test and assert on every timing the test recorded."""

    __test__ = False

    def __init__(self, timings: TestTimings) -> None:
        self._timings = timings

    def __call__(self, name: str) -> Timer:
        """A :class:`~pytest_tracer.Timer` named *name*, recorded for this test."""
        return Timer(name)

    def stats(self, name: str) -> Summary:
        """Statistics over every timing of *name* this test recorded so far.

        :raises LookupError: No timer of that name finished in this test yet.
        """
        accumulator = self._timings.so_far().get(name)
        if accumulator is None:
            known = ", ".join(sorted(self._timings.so_far())) or "none"
            msg = f"no timing named {name!r} in this test so far (timers seen: {known})"
            raise LookupError(msg)
        return accumulator.summary()

    def assert_under(self, name: str, limit: str | float, statistic: str = "max") -> None:
        """Fail unless the *statistic* of *name*'s timings is under *limit*.

        :param limit: A duration: ``"50ms"``, ``"1.5s"``, or a number of ms.
        :param statistic: One of max, min, mean, median, p95, p99, total.
        """
        __tracebackhide__ = True
        try:
            seconds = parse_duration(limit)
        except ValueError as error:
            msg = f"assert_under({name!r}, ...): limit {error}"
            raise ValueError(msg) from None
        try:
            summary = self.stats(name)
        except LookupError as error:
            raise AssertionError(str(error)) from None
        measured = summary.get(statistic)
        if measured >= seconds:
            calls = "call" if summary.count == 1 else "calls"
            msg = (
                f"timer {name!r} took {format_duration(measured)} ({statistic} of "
                f"{summary.count} {calls}), not under {format_duration(seconds)}"
            )
            raise AssertionError(msg)

    @staticmethod
    def durations(records: Iterable[Any], name: str | None = None) -> list[float]:
        """Durations in seconds of the timer log records among *records*.

        Pass ``caplog.records``; no text is parsed.
        """
        return timer_durations(records, name)


@pytest.fixture
def timer(request: pytest.FixtureRequest) -> TimerFixture:
    """Time blocks and check every timing this test recorded.

    ``with timer("parse"): ...`` times a block; ``timer.stats("parse")`` gives
    count, total, min, max, mean, median, p95 and p99 of every ``parse``
    timing recorded in this test so far (in fixtures, the code under test and
    its threads too); ``timer.assert_under("parse", "50ms")`` fails the test
    when the max (or another statistic) is not under the limit.
    """
    plugin = request.config.stash[plugin_key]
    return TimerFixture(plugin._timings(request.node))  # type: ignore[arg-type]
