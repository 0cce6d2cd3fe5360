"""The reporting process's plugin: gathers every result and writes the summary.

Registered where the run is reported (the xdist controller, or the only
process). The session hands it each phase's result as its report is logged
(under xdist, :mod:`._xdist` hands it what the workers sent); it adds the
timings made outside any test, decides the exit status they call for, and
writes the terminal summary through the pure functions of :mod:`._render.terminal`.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from types import SimpleNamespace
from typing import Any, final

import pytest

from ._check import find_breaches
from ._collect import Collector
from ._options import Options
from ._results import (
    SESSION,
    Confirmation,
    FinishedTest,
    HeldTimer,
    PhaseResult,
    RunResults,
    TimerResult,
)
from ._stats import Accumulator


@final
class RunSummary:
    """Every result of the run, and the summary written from them."""

    def __init__(
        self, config: pytest.Config, options: Options, collector: Collector
    ) -> None:
        self.config = config
        self.options = options
        self.collector = collector
        # A plugin that takes the run's results gets them whole.
        hooked = bool(config.hook.pytest_tracer_run_results.get_hookimpls())
        self.results = RunResults(
            keep_per_test=hooked
            or options.per_test
            or options.save_label is not None
            or options.json_path is not None,
            keep_by_name=hooked
            or options.report
            or options.markdown_path is not None
            or options.html_path is not None,
        )
        # Each running test's phases, while a plugin wants them per test.
        self._test_hook = config.hook.pytest_tracer_test_result
        self._phases: dict[str, list[PhaseResult]] = {}
        self._hooked: bool | None = None
        self.notes: list[str] = []
        self._deselected = 0
        self._late: dict[str, dict[str, int]] = {}
        # False when an xdist worker crashed: names it timed may be lost.
        self._names_complete = True
        #: Set by the history part: the baseline's description, when comparing.
        self.baseline: str | None = None
        #: Called at the end of the session with the results (saving, say).
        self.finishers: list[Callable[[pytest.Session, RunResults], None]] = []

    def take(self, report: pytest.TestReport, result: PhaseResult) -> bool:
        """Take in the result of a phase run here (the report is not needed).

        :returns: Whether :meth:`test_done` is wanted once the test is reported.
        """
        self.results.add(result)
        hooked = self._hooked
        if hooked is None:
            # Asked once, when tests run: every plugin is registered by then.
            hooked = self._hooked = bool(self._test_hook.get_hookimpls())
        if hooked:
            self._phases.setdefault(result.test_id, []).append(result)
        return hooked

    def take_held(self, report: pytest.TestReport, timers: Sequence[HeldTimer]) -> None:
        """Take in a body's timings that broke no limit (here, or from a
        worker), without their result where the tables allow."""
        if not self.results.add_held(report.nodeid, timers):
            self.take(report, PhaseResult.of_held(report.nodeid, timers))

    def test_done(self, test_id: str) -> None:
        """A test was reported in full: hand its results to the per-test hook."""
        phases = self._phases.pop(test_id, None)
        if phases:
            self._test_hook(
                config=self.config, result=FinishedTest(test_id, tuple(phases))
            )

    def confirm(self, confirmation: Confirmation) -> None:
        """Note a test re-run because of its timings."""
        self.results.confirmations.append(confirmation)

    def merge_session_timers(self, timers: Mapping[str, Accumulator]) -> None:
        """Add timings made outside any test (here, or on a worker)."""
        thresholds = self.options.settings.thresholds
        self.results.add(
            PhaseResult(
                SESSION,
                "session",
                tuple(
                    TimerResult(name, stats, thresholds.limits_for(name))
                    for name, stats in timers.items()
                ),
            )
        )

    def keeps_every_result(self) -> bool:
        """Whether anything here reads each test's timings (a report, an
        output, a plugin), not only the names and what broke or was compared."""
        results = self.results
        return (
            results.keep_per_test
            or results.keep_by_name
            or bool(self._test_hook.get_hookimpls())
        )

    def held_taker(
        self,
    ) -> Callable[[pytest.TestReport, Sequence[HeldTimer]], None] | None:
        """What takes a body's timings that broke no limit without their
        result (see :attr:`TestSession.held_taker`); None when a plugin or
        each test's table needs the result."""
        if self.results.keep_per_test or self._test_hook.get_hookimpls():
            return None
        return self.take_held

    def merge_names(self, names: tuple[set[str], set[str]] | None) -> None:
        """Add the names a worker timed in results it did not send, and those
        with limits; None: the worker ended without saying (it crashed, and
        the names of its last test, or of all its tests, are lost)."""
        if names is None:
            self._names_complete = False
        else:
            self.results.add_names(*names)

    def merge_late(self, late: Mapping[str, Mapping[str, int]]) -> None:
        """Count timings that finished in a thread after its test ended."""
        for test, counts in late.items():
            mine = self._late.setdefault(test, {})
            for name, count in counts.items():
                mine[name] = mine.get(name, 0) + count

    def _note_late(self) -> None:
        for test, counts in sorted(self._late.items()):
            listing = ", ".join(
                f"{count} of {name!r}" for name, count in sorted(counts.items())
            )
            self.notes.append(
                f"timings from a thread that {test} started finished after that"
                f" test ended, and count for no test: {listing}"
            )

    @pytest.hookimpl(tryfirst=True)
    def pytest_sessionfinish(self, session: pytest.Session) -> None:
        self.merge_session_timers(self.collector.session.snapshot())
        self.merge_late(self.collector.late_counts())
        self._note_late()
        outside = self.results.by_test.get(SESSION)
        breaches = find_breaches(
            outside.timers if outside is not None else {},
            self.options.settings.thresholds,
            enforced=self.options.enforce,
        )
        self.results.add(PhaseResult(SESSION, "session", breaches=tuple(breaches)))
        enforced = breaches and self.options.enforce
        if enforced and session.exitstatus == pytest.ExitCode.OK:
            session.exitstatus = pytest.ExitCode.TESTS_FAILED
        self._note_unmatched(session)
        self._note_nothing_compared(session)
        for finish in self.finishers:
            finish(session, self.results)
        self.config.hook.pytest_tracer_run_results(
            config=self.config, results=self.results
        )

    def _note_nothing_compared(self, session: pytest.Session) -> None:
        # A baseline that shares no (test, timer) with this run checks
        # nothing: that must not pass for a check that held.
        if self.baseline is None or self.results.comparisons:
            return
        self.notes.append(
            f"WARNING: nothing was compared: no timer of this run is in the"
            f" baseline ({self.baseline}); check that it ran the same tests"
        )
        required = self.options.require_baseline
        if required and session.exitstatus == pytest.ExitCode.OK:
            session.exitstatus = pytest.ExitCode.USAGE_ERROR

    def pytest_deselected(self, items: Sequence[object]) -> None:
        self._deselected += len(items)

    def _note_unmatched(self, session: pytest.Session) -> None:
        """After a run of the whole suite, name the limits no timer met."""
        thresholds = self.options.settings.thresholds
        if (
            not thresholds
            or not self._names_complete
            or not self._ran_whole_suite(session)
        ):
            return
        unmatched = thresholds.unmatched(self.results.checked_names)
        if not unmatched:
            return
        import difflib  # only for a message

        ran = {name.lower(): name for name in sorted(self.results.names)}
        parts = []
        for entry in unmatched:
            near = difflib.get_close_matches(entry.pattern.lower(), ran, n=1)
            hint = f"; did you mean {ran[near[0]]!r}?" if near else ""
            parts.append(f"{entry.pattern!r} ({entry.source}{hint})")
        self.notes.append(
            "these limits matched no timer in this run (a typo, or a timer that"
            f" is gone?): {'; '.join(parts)}"
        )

    def _ran_whole_suite(self, session: pytest.Session) -> bool:
        config = self.config
        option = config.option
        return (
            config.args_source != pytest.Config.ArgsSource.ARGS
            and not getattr(option, "keyword", "")
            and not getattr(option, "markexpr", "")
            and not getattr(option, "lf", False)
            and not getattr(option, "collectonly", False)
            and not self._deselected
            and not session.shouldstop
            and not session.shouldfail
            and session.exitstatus in (pytest.ExitCode.OK, pytest.ExitCode.TESTS_FAILED)
            and session.testscollected > 0
        )

    def pytest_terminal_summary(self, terminalreporter: Any) -> None:
        options, results = self.options, self.results
        tables = bool(
            results.breaches
            or results.confirmations
            or self.baseline is not None
            or options.report
            or options.per_test
        )
        if not tables and not self.notes:
            return
        from ._render.printable import printable, printable_lines

        # Names, labels and branches come from users and CI variables: none
        # may move the cursor or clear the screen.
        def write_sep(sep: str, title: str) -> None:
            terminalreporter.write_sep(sep, printable(title))

        def write_line(line: str) -> None:
            terminalreporter.write_line(printable_lines(line))

        if not tables:
            self._write_notes(write_sep, write_line)
            return
        from ._render import terminal  # only for more than notes

        width = terminalreporter._tw.fullwidth
        if results.breaches:
            write_sep("=", "timers over their limits")
            for line in terminal.breach_lines(results.breaches):
                write_line(line)
        session_breaches = [b for b in results.session_breaches if b.enforced]
        if session_breaches:
            # The summary line must say why a run of passing tests failed.
            noun = "session timer breach" + ("es" if len(session_breaches) > 1 else "")
            # Other plugins read stats entries as reports: give them attributes.
            terminalreporter.stats.setdefault(noun, []).extend(
                SimpleNamespace(nodeid=SESSION, when="session", message=b.message)
                for b in session_breaches
            )
        if results.confirmations:
            write_sep("-", "timer breaches re-run to confirm")
            for line in terminal.confirmation_lines(results.confirmations):
                write_line(line)
        if self.baseline is not None:
            write_sep("=", f"timers compared with {self.baseline}")
            for line in terminal.comparison_lines(
                results.comparisons,
                width=width,
                max_rows=options.report_rows,
                detail=options.report,
            ):
                write_line(line)
        if options.report:
            write_sep("=", "timer report")
            lines = terminal.report_table(
                results.lines(), width=width, max_rows=options.report_rows
            )
            for line in lines or ["no timer finished during the run"]:
                write_line(line)
        if options.per_test:
            write_sep("-" if options.report else "=", "timers per test")
            lines = terminal.per_test_tables(
                list(results.test_lines()), width=width, max_rows=options.report_rows
            )
            for line in lines or ["no test recorded a timing"]:
                write_line(line)
        self._write_notes(write_sep, write_line)

    def _write_notes(
        self,
        write_sep: Callable[[str, str], None],
        write_line: Callable[[str], None],
    ) -> None:
        if self.notes:
            write_sep("-", "pytest-tracer")
            for note in self.notes:
                write_line(note)
