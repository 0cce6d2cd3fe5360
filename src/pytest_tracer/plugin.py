"""The pytest plugin: per-test timings, thresholds and regressions that fail
tests, the report, and the history of runs.

Entry point name ``tracer``, so ``-p no:tracer`` turns everything off.
"""

from __future__ import annotations

import argparse
from collections.abc import Generator, Iterable, Mapping
from pathlib import Path
from typing import TYPE_CHECKING, Any, Final, final

import pytest

from . import _xdist
from ._check import find_breaches
from ._collect import PHASES, SESSION, Collector, Results, TestTimings
from ._config import ConfigError, Thresholds, TracerConfig, load_config
from ._records import timer_durations
from ._reference import REFERENCE, measure_reference
from ._report import ReportRow, render_per_test, render_table
from ._stats import Accumulator, Summary
from ._timer import Timer, add_receiver, remove_receiver, set_default_clocks
from ._units import format_duration, parse_duration

if TYPE_CHECKING:
    # The history modules load only when --timer-save or --timer-compare asks.
    from ._baseline import Baseline

BASELINE_HELP: Final = "latest (default), last[:N], branch:NAME[:N], or a label"

REPORT_HELP: Final = "Print a table of every timer's statistics after the run"
REPORT_ROWS_HELP: Final = "Show at most N rows in the timer report (0: all; default 20)"
REPORT_PER_TEST_HELP: Final = "Add a per-test breakdown to the timer report"
NO_ENFORCE_HELP: Final = "Report timers over their limits without failing the tests"
SAVE_HELP: Final = "Save this run's timings in the history, with an optional label"
COMPARE_HELP: Final = (
    f"Compare this run with saved runs and fail regressions: {BASELINE_HELP}"
)
STORE_HELP: Final = (
    "History file (default: [tool.pytest-tracer] store, "
    "else .pytest-tracer/history.sqlite in the rootdir)"
)
CONFIRM_HELP: Final = (
    "Re-run a test whose timings broke a limit up to N times; "
    "fail only if every run breaks it (default 0)"
)
NORMALIZE_HELP: Final = (
    "Time a reference loop around each test and scale comparisons by the "
    "machine's speed against the baseline's"
)
MARKER_HELP: Final = (
    "timer_thresholds(mapping=None, **limits): override [tool.pytest-tracer."
    'thresholds] for this test, e.g. timer_thresholds(db_query="200ms") or '
    'timer_thresholds({"db_*": "50ms"})'
)


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
    group.addoption(
        "--timer-save", nargs="?", const="", metavar="LABEL", help=SAVE_HELP
    )
    group.addoption(
        "--timer-compare",
        nargs="?",
        const="latest",
        metavar="BASELINE",
        help=COMPARE_HELP,
    )
    group.addoption("--timer-store", metavar="PATH", help=STORE_HELP)
    group.addoption(
        "--timer-normalize",
        action="store_true",
        default=None,
        help=NORMALIZE_HELP,
    )
    group.addoption(
        "--timer-confirm",
        type=_non_negative_int,
        default=None,
        metavar="N",
        help=CONFIRM_HELP,
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


def _optional_value(config: pytest.Config, flag: str, dest: str) -> str | None:
    """The value of ``--flag[=VALUE]``, refusing a test path taken by mistake."""
    value: str | None = config.getoption(dest)
    if not value:
        return value
    args = config.invocation_params.args
    written_with_equals = any(str(arg).startswith(f"{flag}=") for arg in args)
    looks_like_path = (
        "::" in value
        or value.endswith(".py")
        or (config.invocation_params.dir / value).exists()
    )
    if looks_like_path and not written_with_equals:
        msg = (
            f"{flag} took {value!r} as its value, but it looks like a test path: "
            f"write {flag}={value} to mean it, or put {flag} after the paths"
        )
        raise pytest.UsageError(msg)
    return value


timings_key: Final = pytest.StashKey[TestTimings]()
thresholds_key: Final = pytest.StashKey[Thresholds]()
attempt_key: Final = pytest.StashKey[int]()
plugin_key: Final = pytest.StashKey["TracerPlugin"]()
collector_key: Final = pytest.StashKey[Collector]()


def _collector(config: pytest.Config) -> Collector:
    collector = config.stash.get(collector_key, None)
    if collector is None:
        collector = config.stash[collector_key] = Collector()
        add_receiver(collector.receive)
    return collector


settings_key: Final = pytest.StashKey[TracerConfig]()


def _settings(config: pytest.Config) -> TracerConfig:
    settings = config.stash.get(settings_key, None)
    if settings is None:
        settings = config.stash[settings_key] = _load(config)
        if settings.clocks:
            set_default_clocks(settings.clock_for)
    return settings


@pytest.hookimpl(tryfirst=True)
def pytest_load_initial_conftests(early_config: pytest.Config) -> None:
    # Conftests load before pytest_configure: their timers count for the
    # session, and use the configured clocks.
    _settings(early_config)
    _collector(early_config)


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
        self.confirm: int = _option(config, "timer_confirm", settings.confirm)
        self.normalize: bool = _option(config, "timer_normalize", settings.normalize)
        self.save_label = _optional_value(config, "--timer-save", "timer_save")
        compare = _optional_value(config, "--timer-compare", "timer_compare")
        store_option = config.getoption("timer_store")
        self.store_path = (
            config.invocation_params.dir / store_option
            if store_option
            else settings.store_path
        )
        self.collector = _collector(config)
        self.results = Results(
            keep_per_test=self.per_test or self.save_label is not None
        )
        self.is_worker = _xdist.is_worker(config)
        self.notes: list[str] = []
        self.baseline: Baseline | None = None
        if compare is not None:
            self.baseline = self._load_baseline(compare)
        if self.save_label is not None and not self.is_worker:
            self._check_store_writable()

    # History -----------------------------------------------------------------

    def _load_baseline(self, text: str) -> Baseline | None:
        from ._baseline import BaselineError, load_baseline, parse_baseline
        from ._store import HistoryStore, StoreError, machine_fingerprint

        if text == "last":
            text = f"last:{self.settings.history_runs}"
        try:
            spec = parse_baseline(text)
            with HistoryStore(self.store_path) as store:
                baseline = load_baseline(store, spec)
        except (BaselineError, StoreError) as error:
            raise pytest.UsageError(str(error)) from None
        if baseline is None:
            self.notes.append(
                f"no saved run to compare with in {self.store_path} yet: "
                "save one with --timer-save"
            )
            return None
        here = machine_fingerprint()
        foreign = sorted(baseline.fingerprints - {here})
        if foreign:
            text = (
                f"the baseline ({baseline.description}) was measured on another "
                f"machine (fingerprint {', '.join(foreign)}, this one {here})"
            )
            if self.settings.foreign_baseline == "refuse":
                msg = (
                    f'{text}; [tool.pytest-tracer] foreign_baseline = "refuse" '
                    "forbids comparing with it"
                )
                raise pytest.UsageError(msg)
            self.notes.append(f"{text}: timings may differ for that reason alone")
        return baseline

    def _check_store_writable(self) -> None:
        from ._store import HistoryStore, StoreError

        # Refuse a damaged or foreign history before the tests run, not after.
        try:
            with HistoryStore(self.store_path) as store:
                store.runs(limit=1)
        except StoreError as error:
            raise pytest.UsageError(str(error)) from None

    def _save(self, session: pytest.Session) -> None:
        from ._store import HistoryStore, StoreError, collect_run_meta

        workers = getattr(self.config.option, "numprocesses", None)
        meta = collect_run_meta(
            self.config.rootpath,
            label=self.save_label or None,
            workers=workers if isinstance(workers, int) else 0,
            pytest_version=pytest.__version__,
        )
        try:
            with HistoryStore(self.store_path) as store:
                run_id = store.save_run(meta, self.results.timing_records())
        except StoreError as error:
            self.notes.append(f"could not save this run: {error}")
            session.exitstatus = pytest.ExitCode.USAGE_ERROR
            return
        label = f" as {self.save_label!r}" if self.save_label else ""
        self.notes.append(f"saved this run{label} as run {run_id} in {self.store_path}")

    # Measurements ------------------------------------------------------------

    def _enter(self, item: pytest.Item, phase: str) -> None:
        self.collector.current = self._timings(item).phases[phase]

    def _leave(self) -> None:
        self.collector.current = self.collector.session

    def _timings(self, item: pytest.Item) -> TestTimings:
        """The test's bookkeeping, made when it starts and dropped when it ends."""
        timings = item.stash.get(timings_key, None)
        if timings is None:
            thresholds = item.stash.get(thresholds_key, self.settings.thresholds)
            timings = item.stash[timings_key] = TestTimings(thresholds)
        return timings

    # Test protocol -----------------------------------------------------------

    @pytest.hookimpl(trylast=True)
    def pytest_collection_modifyitems(self, items: list[pytest.Item]) -> None:
        # Bad markers are usage errors, found before any test runs.
        for item in items:
            if item.get_closest_marker("timer_thresholds") is not None:
                item.stash[thresholds_key] = thresholds_for(
                    item, self.settings.thresholds
                )

    @pytest.hookimpl(tryfirst=True)
    def pytest_runtest_protocol(
        self, item: pytest.Item, nextitem: pytest.Item | None
    ) -> bool | None:
        if self.confirm == 0:
            return None
        from _pytest.runner import runtestprotocol

        item.ihook.pytest_runtest_logstart(nodeid=item.nodeid, location=item.location)
        attempt = 1
        while True:
            item.stash[attempt_key] = attempt
            reports = runtestprotocol(item, nextitem=nextitem, log=False)
            failed_on_timings = any(
                getattr(report, "pytest_tracer_failed_on_timings", False)
                for report in reports
            )
            if not failed_on_timings or attempt > self.confirm:
                break
            # runtestprotocol left the item ready for a fresh request.
            attempt += 1
        for report in reports:
            if attempt > 1:
                report.pytest_tracer_runs = attempt  # type: ignore[attr-defined]
            item.ihook.pytest_runtest_logreport(report=report)
        item.ihook.pytest_runtest_logfinish(nodeid=item.nodeid, location=item.location)
        return True

    @pytest.hookimpl(wrapper=True)
    def pytest_runtest_setup(self, item: pytest.Item) -> Generator[None, None, None]:
        self._enter(item, "setup")
        try:
            return (yield)
        finally:
            self._leave()

    @pytest.hookimpl(wrapper=True)
    def pytest_runtest_call(self, item: pytest.Item) -> Generator[None, None, None]:
        before = measure_reference() if self.normalize else None
        self._enter(item, "call")
        try:
            result = yield
        finally:
            self._leave()
            if before is not None:
                # How fast the machine ran right before and right after.
                bucket = self._timings(item).phases["call"]
                bucket.add(REFERENCE, before)
                bucket.add(REFERENCE, measure_reference())
        self._fail_on_new_problems(item, "call")
        return result

    @pytest.hookimpl(wrapper=True)
    def pytest_runtest_teardown(self, item: pytest.Item) -> Generator[None, None, None]:
        self._enter(item, "teardown")
        try:
            result = yield
        finally:
            self._leave()
        self._fail_on_new_problems(item, "teardown")
        return result

    def _new_problems(self, item: pytest.Item, phase: str) -> list[tuple[str, str]]:
        """(name, message) of breaches and regressions not reported before.

        Regressions are judged once, over setup and call: the test body is
        what a baseline measured.
        """
        timings = self._timings(item)
        compare = phase == "call" and self.baseline is not None
        if not (timings.thresholds or compare):
            return []
        if phase == "teardown" and not timings.phases[phase].timers:
            return []  # nothing new since the check after the call
        so_far = timings.so_far()
        # Accumulators answer max, min, mean and total without sorting.
        limited = {
            name: accumulator
            for name, accumulator in so_far.items()
            if name != REFERENCE and timings.thresholds.limits_for(name)
        }
        found = [
            ((breach.name, breach.statistic), breach.message)
            for breach in find_breaches(limited, timings.thresholds)
        ]
        if compare:
            found.extend(self._regressions(item, timings, so_far))
        fresh = [(key, text) for key, text in found if key not in timings.reported]
        timings.reported.update(key for key, _ in fresh)
        return [(key[0], text) for key, text in fresh]

    def _regressions(
        self,
        item: pytest.Item,
        timings: TestTimings,
        so_far: Mapping[str, Accumulator],
    ) -> Iterable[tuple[tuple[str, str], str]]:
        assert self.baseline is not None
        reference = so_far.get(REFERENCE)
        scale = (
            self.baseline.reference_scale(item.nodeid, reference.samples)
            if reference is not None
            else None
        )
        for name, accumulator in sorted(so_far.items()):
            if name == REFERENCE:
                continue
            rule = self.settings.regression_for(name)
            verdict = self.baseline.verdict(
                item.nodeid,
                name,
                accumulator.samples,
                rule,
                p_value=self.settings.p_value,
                min_samples=self.settings.min_samples,
                scale=scale,
            )
            if verdict is None:
                continue
            timings.verdicts.append(
                {
                    "name": name,
                    "kind": verdict.kind,
                    "baseline": verdict.baseline_median,
                    "now": verdict.current_median,
                    "change": verdict.change,
                    "evidence": verdict.describe(),
                }
            )
            if verdict.kind == "slower":
                yield (
                    (name, "regression"),
                    f"timer {name!r} got slower than {self.baseline.description}: "
                    f"{verdict.describe()} ({rule.source})",
                )

    def _fail_on_new_problems(self, item: pytest.Item, phase: str) -> None:
        timings = self._timings(item)
        problems = timings.problems[phase] = self._new_problems(item, phase)
        if problems and self.enforce:
            __tracebackhide__ = True
            text = "\n".join(message for _, message in problems)
            runs = item.stash.get(attempt_key, 1)
            if runs > 1:
                text += f"\n(held on all {runs} runs)"
            pytest.fail(text, pytrace=False)

    @pytest.hookimpl(wrapper=True)
    def pytest_runtest_makereport(
        self, item: pytest.Item, call: pytest.CallInfo[None]
    ) -> Generator[None, pytest.TestReport, pytest.TestReport]:
        report = yield
        timings = item.stash.get(timings_key, None)
        if timings is None or call.when not in PHASES:
            return report
        phase = call.when
        problems = timings.problems.get(phase)
        if problems is None and report.failed:
            # The phase failed before the check ran: check now, so a breach
            # still shows beside the failure.
            problems = timings.problems[phase] = self._new_problems(item, phase)
            if problems:
                text = "\n".join(message for _, message in problems)
                report.sections.append(("timers over their limits", text))
        elif problems and self.enforce:
            report.pytest_tracer_failed_on_timings = True  # type: ignore[attr-defined]
        timers = timings.phases[phase].finished()  # the phase is over
        verdicts = timings.verdicts if phase == "call" else []
        if phase == "teardown":
            del item.stash[timings_key]
        if not (timers or problems or verdicts):
            return report
        _xdist.attach(
            report,
            phase,
            timers,
            problems or [],
            verdicts,
            enforced=self.enforce,
            as_builtins=self.is_worker,
        )
        return report

    def pytest_runtest_logreport(self, report: pytest.TestReport) -> None:
        if self.is_worker:
            return
        try:
            payload = _xdist.read(report)
        except ValueError as error:
            self.notes.append(str(error))
            return
        if payload is None:
            return
        test_id = report.nodeid
        self.results.merge(test_id, payload.timers)
        self.results.breaches.extend(
            (test_id, name, message, payload.enforced)
            for name, message in payload.problems
        )
        self.results.verdicts.extend((test_id, verdict) for verdict in payload.verdicts)
        runs = getattr(report, "pytest_tracer_runs", 1)
        if runs > 1 and report.when == "call":
            self.results.confirmations.append((test_id, runs, report.passed))

    # End of session ----------------------------------------------------------

    def merge_session_timers(self, timers: Mapping[str, Accumulator]) -> None:
        self.results.merge(SESSION, timers)

    @pytest.hookimpl(tryfirst=True)
    def pytest_sessionfinish(self, session: pytest.Session) -> None:
        timers = self.collector.session.snapshot()
        if self.is_worker:
            _xdist.store_session_timers(self.config, timers)
            return
        self.merge_session_timers(timers)
        session_timers = self.results.by_test.get(SESSION, {})
        breaches = find_breaches(
            {name: acc.summary() for name, acc in session_timers.items()},
            self.settings.thresholds,
        )
        self.results.breaches.extend(
            (SESSION, breach.name, breach.message, self.enforce) for breach in breaches
        )
        if breaches and self.enforce and session.exitstatus == pytest.ExitCode.OK:
            session.exitstatus = pytest.ExitCode.TESTS_FAILED
        if self.save_label is not None:
            self._save(session)

    def pytest_terminal_summary(self, terminalreporter: Any) -> None:
        if self.is_worker:
            return
        write_sep, write_line = terminalreporter.write_sep, terminalreporter.write_line
        width = terminalreporter._tw.fullwidth
        if self.results.breaches:
            write_sep("=", "timers over their limits")
            for test_id, _, message, enforced in self.results.breaches:
                prefix = "" if enforced else "(not enforced) "
                write_line(f"{prefix}{test_id}: {message}")
        if self.results.confirmations:
            write_sep("-", "timer breaches re-run to confirm")
            for test_id, runs, passed in self.results.confirmations:
                outcome = "did not hold" if passed else "held every time"
                write_line(f"{test_id}: {runs} runs, the breach {outcome}")
        if self.baseline is not None:
            self._write_comparison(write_sep, write_line)
        if self.report:
            self._write_report(write_sep, write_line, width)
        if self.notes:
            write_sep("-", "pytest-tracer")
            for note in self.notes:
                write_line(note)

    def _write_comparison(self, write_sep: Any, write_line: Any) -> None:
        assert self.baseline is not None
        write_sep("=", f"timers compared with {self.baseline.description}")
        counts: dict[str, int] = {}
        for test_id, verdict in self.results.verdicts:
            kind = verdict["kind"]
            counts[kind] = counts.get(kind, 0) + 1
            if kind in ("slower", "faster") or self.report or self.per_test:
                write_line(
                    f"{kind.upper():9} {test_id} {verdict['name']}: "
                    f"{verdict['evidence']}"
                )
        summary = ", ".join(f"{n} {kind}" for kind, n in sorted(counts.items()))
        write_line(summary or "no timer of this run was in the baseline")

    def _write_report(self, write_sep: Any, write_line: Any, width: int) -> None:
        write_sep("=", "timer report")
        rows = self._rows(self.results.by_name)
        if not rows:
            write_line("no timer finished during the run")
            return
        for line in render_table(rows, width=width, max_rows=self.report_rows):
            write_line(line)
        if self.per_test:
            write_sep("-", "timers per test")
            tests = [
                (test_id, self._rows(timers))
                for test_id, timers in self.results.by_test.items()
            ]
            for line in render_per_test(tests, width=width, max_rows=self.report_rows):
                write_line(line)

    def _rows(self, timers: Mapping[str, Accumulator]) -> list[ReportRow]:
        over = {name for _, name, _, _ in self.results.breaches}
        rows = []
        for name, accumulator in timers.items():
            limits = (
                () if name == REFERENCE else self.settings.thresholds.limits_for(name)
            )
            limit = ", ".join(
                f"{limit.statistic} {format_duration(limit.seconds)}"
                for limit in limits
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
    plugin = TracerPlugin(config, _settings(config))
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
    if settings_key in config.stash:
        del config.stash[settings_key]
    set_default_clocks(None)


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
        so_far = self._timings.so_far()
        accumulator = so_far.get(name)
        if accumulator is None:
            known = ", ".join(sorted(so_far)) or "none"
            msg = f"no timing named {name!r} in this test so far (timers seen: {known})"
            raise LookupError(msg)
        return accumulator.summary()

    def assert_under(
        self, name: str, limit: str | float, statistic: str = "max"
    ) -> None:
        """Fail unless the *statistic* of *name*'s timings is under *limit*.

        :param limit: A duration: ``"50ms"``, ``"1.5s"``, or a number of ms.
        :param statistic: One of max, min, mean, median, p95, p99, total.
        :raises AssertionError: Over the limit, or no such timing yet.
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
    return TimerFixture(plugin._timings(request.node))
