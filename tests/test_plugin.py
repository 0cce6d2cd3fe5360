from __future__ import annotations

import textwrap

import pytest

SLOW_OP = """
import time
from pytest_tracer import Timer

def slow_op():
    with Timer("slow_op"):
        time.sleep(0.05)

def fast_op():
    with Timer("fast_op"):
        pass
"""


@pytest.fixture
def project(pytester: pytest.Pytester) -> pytest.Pytester:
    pytester.makepyfile(ops=SLOW_OP)
    pytester.syspathinsert()
    return pytester


def thresholds(pytester: pytest.Pytester, body: str) -> None:
    pytester.makepyprojecttoml(
        "[tool.pytest-tracer.thresholds]\n" + textwrap.dedent(body)
    )


class TestCollection:
    def test_timings_from_body_fixtures_code_and_threads_belong_to_the_test(
        self, project: pytest.Pytester
    ) -> None:
        project.makepyfile(
            """
            import threading
            import pytest
            from pytest_tracer import Timer
            from ops import fast_op

            @pytest.fixture
            def prepared():
                with Timer("in_fixture"):
                    pass
                yield
                with Timer("in_teardown"):
                    pass

            def test_everything(prepared, timer):
                with Timer("in_body"):
                    pass
                fast_op()
                worker = threading.Thread(target=fast_op)
                worker.start()
                worker.join()
                assert timer.stats("in_fixture").count == 1
                assert timer.stats("in_body").count == 1
                assert timer.stats("fast_op").count == 2

            def test_next_test_starts_empty(timer):
                with pytest.raises(LookupError, match="no timing named 'fast_op'"):
                    timer.stats("fast_op")
            """
        )
        result = project.runpytest("--timer-report")
        result.assert_outcomes(passed=2)
        result.stdout.fnmatch_lines(["*= timer report =*"])
        result.stdout.fnmatch_lines_random(
            ["fast_op * 2 *", "in_fixture * 1 *", "in_teardown * 1 *", "in_body * 1 *"]
        )

    def test_timers_outside_any_test_belong_to_the_session(
        self, pytester: pytest.Pytester
    ) -> None:
        pytester.makeconftest(
            """
            from pytest_tracer import Timer
            with Timer("at_collection"):
                pass
            """
        )
        pytester.makepyfile("def test_nothing(): pass")
        result = pytester.runpytest("--timer-report", "--timer-report-per-test")
        result.assert_outcomes(passed=1)
        result.stdout.fnmatch_lines(
            ["*timers per test*", "<session>*", "*at_collection*"]
        )

    def test_a_million_timings_do_not_keep_a_million_objects(
        self, pytester: pytest.Pytester
    ) -> None:
        pytester.makepyfile(
            """
            import logging
            import tracemalloc
            from pytest_tracer import Timer

            def test_many(timer):
                # pytest keeps every log record it captures: keep the timer's
                # lines out of the capture, to measure the plugin alone.
                logging.getLogger("tiny").setLevel(logging.INFO)
                tracemalloc.start()
                decorated = Timer("tiny")(lambda: None)
                for _ in range(200_000):
                    decorated()
                _, peak = tracemalloc.get_traced_memory()
                tracemalloc.stop()
                assert timer.stats("tiny").count == 200_000
                # Bounded by the reservoir, not by the number of timings.
                assert peak < 2_000_000
            """
        )
        pytester.runpytest().assert_outcomes(passed=1)


class TestThresholds:
    def test_a_timing_over_its_limit_fails_a_passing_test(
        self, project: pytest.Pytester
    ) -> None:
        thresholds(project, 'slow_op = "20ms"')
        project.makepyfile(
            """
            from ops import slow_op, fast_op
            def test_slow():
                slow_op()
            def test_fast():
                fast_op()
            """
        )
        result = project.runpytest()
        result.assert_outcomes(passed=1, failed=1)
        assert result.ret == pytest.ExitCode.TESTS_FAILED
        result.stdout.fnmatch_lines(
            [
                "*timer 'slow_op' took * ms (max of 1 call), over its limit of 20 ms "
                "(pyproject.toml [[]tool.pytest-tracer.thresholds[]] slow_op)*",
                "*= timers over their limits =*",
                "test_a_timing_over_its_limit_fails_a_passing_test.py::test_slow: "
                "timer 'slow_op' took *",
                "FAILED *::test_slow - Time*",
            ]
        )
        result.stdout.no_fnmatch_line("*INTERNALERROR*")
        result.stdout.no_fnmatch_line("*= timer report =*")

    def test_a_breach_is_added_to_a_test_that_already_failed(
        self, project: pytest.Pytester
    ) -> None:
        thresholds(project, 'slow_op = "20ms"')
        project.makepyfile(
            """
            from ops import slow_op
            def test_slow_and_wrong():
                slow_op()
                assert 1 == 2
            """
        )
        result = project.runpytest()
        result.assert_outcomes(failed=1)
        result.stdout.fnmatch_lines(
            ["*assert 1 == 2*", "*timers over their limits*", "*timer 'slow_op' took*"]
        )

    def test_nothing_extra_is_printed_when_every_limit_holds(
        self, project: pytest.Pytester
    ) -> None:
        thresholds(project, 'slow_op = "5s"\nfast_op = "1s"')
        project.makepyfile(
            """
            from ops import slow_op, fast_op
            def test_both():
                slow_op()
                fast_op()
            """
        )
        result = project.runpytest()
        result.assert_outcomes(passed=1)
        result.stdout.no_fnmatch_line("*timer*")

    def test_exact_names_win_over_patterns(self, project: pytest.Pytester) -> None:
        thresholds(project, '"slow_*" = "1ms"\nslow_op = "5s"')
        project.makepyfile("from ops import slow_op\ndef test_slow(): slow_op()")
        result = project.runpytest("--timer-report")
        result.assert_outcomes(passed=1)
        result.stdout.fnmatch_lines(["slow_op *max 5 s *ok"])
        # The pattern alone does fail the test: the exact name is what saved it.
        thresholds(project, '"slow_*" = "1ms"')
        project.runpytest().assert_outcomes(failed=1)

    def test_the_most_specific_pattern_wins(self, project: pytest.Pytester) -> None:
        thresholds(project, '"s*" = "5s"\n"slow_*" = "1ms"')
        project.makepyfile("from ops import slow_op\ndef test_slow(): slow_op()")
        result = project.runpytest()
        result.assert_outcomes(failed=1)
        result.stdout.fnmatch_lines(["*over its limit of 1 ms (*slow_[*][)]*"])

    def test_a_statistic_table_bounds_the_median(
        self, project: pytest.Pytester
    ) -> None:
        thresholds(project, 'slow_op = { max = "5s", median = "10ms" }')
        project.makepyfile(
            """
            from ops import slow_op
            def test_twice():
                slow_op()
                slow_op()
            """
        )
        result = project.runpytest()
        result.assert_outcomes(failed=1)
        result.stdout.fnmatch_lines(["*timer 'slow_op' took * (median of 2 calls)*"])

    def test_a_marker_overrides_the_limit_for_one_test(
        self, project: pytest.Pytester
    ) -> None:
        thresholds(project, 'slow_op = "1ms"')
        project.makepyfile(
            """
            import pytest
            from ops import slow_op, fast_op

            @pytest.mark.timer_thresholds(slow_op="5s")
            def test_loosened():
                slow_op()

            @pytest.mark.timer_thresholds({"fast_*": "1ns"})
            def test_tightened():
                fast_op()
            """
        )
        result = project.runpytest("--strict-markers")
        result.assert_outcomes(passed=1, failed=1)
        result.stdout.fnmatch_lines(
            ["*timer 'fast_op' took*@pytest.mark.timer_thresholds(fast_[*]=...) on *"]
        )

    def test_a_bad_marker_value_is_a_usage_error(
        self, project: pytest.Pytester
    ) -> None:
        project.makepyfile(
            """
            import pytest
            @pytest.mark.timer_thresholds(slow_op="fast")
            def test_it():
                pass
            """
        )
        result = project.runpytest()
        assert result.ret == pytest.ExitCode.USAGE_ERROR
        result.stderr.fnmatch_lines(["*timer_thresholds*slow_op*'fast'*"])

    def test_breaches_can_be_reported_without_failing(
        self, project: pytest.Pytester
    ) -> None:
        thresholds(project, 'slow_op = "1ms"')
        project.makepyfile("from ops import slow_op\ndef test_slow(): slow_op()")
        result = project.runpytest("--timer-no-enforce")
        result.assert_outcomes(passed=1)
        assert result.ret == pytest.ExitCode.OK
        result.stdout.fnmatch_lines(["(not enforced) *::test_slow: timer 'slow_op'*"])

    def test_enforce_false_in_pyproject_reports_without_failing(
        self, project: pytest.Pytester
    ) -> None:
        project.makepyprojecttoml(
            """
            [tool.pytest-tracer]
            enforce = false
            [tool.pytest-tracer.thresholds]
            slow_op = "1ms"
            """
        )
        project.makepyfile("from ops import slow_op\ndef test_slow(): slow_op()")
        result = project.runpytest()
        result.assert_outcomes(passed=1)
        assert result.ret == pytest.ExitCode.OK
        result.stdout.fnmatch_lines(
            [
                "*= timers over their limits =*",
                "(not enforced) *::test_slow: timer 'slow_op' took * over its limit*",
            ]
        )

    @pytest.mark.parametrize(("args", "passed"), [((), 1), (("--setup-only",), 0)])
    def test_a_breach_in_teardown_errors_the_teardown(
        self, project: pytest.Pytester, args: tuple[str, ...], passed: int
    ) -> None:
        """Also with --setup-only, where teardown starts when setup ends."""
        thresholds(project, 'slow_op = "1ms"')
        project.makepyfile(
            """
            import pytest
            from ops import slow_op

            @pytest.fixture
            def cleanup():
                yield
                slow_op()

            def test_it(cleanup):
                pass
            """
        )
        result = project.runpytest(*args)
        result.assert_outcomes(passed=passed, errors=1)
        result.stdout.fnmatch_lines(["*ERROR at teardown of test_it*"])

    @pytest.mark.parametrize("args", [(), ("-n", "2")])
    def test_a_fixture_timing_over_its_limit_fails_the_test(
        self, project: pytest.Pytester, args: tuple[str, ...]
    ) -> None:
        """A setup that passed is checked with the body, whose phase fails:
        its report being logged first must not use up the breach."""
        thresholds(project, 'slow_op = "20ms"')
        project.makepyfile(
            """
            import pytest
            from ops import slow_op, fast_op

            @pytest.fixture
            def prepared():
                slow_op()

            def test_slow_fixture(prepared):
                fast_op()

            def test_fast():
                fast_op()
            """
        )
        result = project.runpytest(*args)
        result.assert_outcomes(passed=1, failed=1)
        result.stdout.fnmatch_lines(
            [
                "*timer 'slow_op' took * over its limit of 20 ms*",
                "FAILED *test_slow_fixture*",
            ]
        )

    @pytest.mark.parametrize("args", [(), ("-n", "2")])
    def test_a_fixture_breach_fails_a_test_whose_body_times_nothing(
        self, project: pytest.Pytester, args: tuple[str, ...]
    ) -> None:
        """The body has no timings of its own: setup's are still checked."""
        thresholds(project, 'slow_op = "20ms"')
        project.makepyfile(
            """
            import pytest
            from ops import slow_op, fast_op

            @pytest.fixture
            def prepared():
                slow_op()

            def test_first():
                fast_op()

            def test_slow_fixture(prepared):
                pass
            """
        )
        result = project.runpytest("-p", "no:randomly", *args)
        result.assert_outcomes(passed=1, failed=1)
        result.stdout.fnmatch_lines(["FAILED *::test_slow_fixture*"])

    @pytest.mark.parametrize("args", [(), ("-n", "2")])
    def test_phases_that_raise_keep_their_timings_and_show_their_breaches(
        self, project: pytest.Pytester, args: tuple[str, ...]
    ) -> None:
        """A phase that raised never reaches the hook after it: its timings are
        taken when its report is logged, shown beside its own error and kept
        for the report."""
        thresholds(project, 'slow_op = "1ms"')
        project.makepyfile(
            """
            import pytest
            from ops import slow_op

            @pytest.fixture
            def broken_setup():
                slow_op()
                raise RuntimeError("setup broke")

            @pytest.fixture
            def broken_teardown():
                yield
                slow_op()
                raise RuntimeError("teardown broke")

            def test_setup(broken_setup):
                pass

            def test_teardown(broken_teardown):
                pass

            def test_call():
                slow_op()
                raise RuntimeError("call broke")
            """
        )
        result = project.runpytest("--timer-report-per-test", *args)
        result.assert_outcomes(passed=1, failed=1, errors=2)
        output = result.stdout.str()
        for phase in ("setup", "teardown", "call"):
            assert f"RuntimeError: {phase} broke" in output
        # Each error shows its breach in its own section, once.
        assert output.count("- timers over their limits -") == 3
        per_test = output.split("= timers per test =")[1]
        for test in ("test_setup", "test_teardown", "test_call"):
            assert f"::{test}\n  slow_op      1 " in per_test

    @pytest.mark.parametrize("workers", [[], ["-n", "2"]])
    def test_a_rerun_to_confirm_counts_only_its_last_run(
        self, project: pytest.Pytester, workers: list[str]
    ) -> None:
        """A body that held, in a test whose teardown broke a limit, runs
        again: the report counts the run that was kept, not both."""
        thresholds(project, 'slow_op = "20ms"\nfast_op = "10s"')
        project.makepyfile(
            """
            import pytest
            from ops import slow_op, fast_op
            RUNS = []

            @pytest.fixture
            def slow_once():
                yield
                RUNS.append(1)
                if len(RUNS) == 1:
                    slow_op()

            def test_held(slow_once):
                fast_op()
            """
        )
        result = project.runpytest("--timer-confirm=2", "--timer-report", *workers)
        result.assert_outcomes(passed=1)
        result.stdout.fnmatch_lines(["*= timer report =*", "fast_op * 1 *"])

    @pytest.mark.parametrize("workers", [[], ["-n", "2"]])
    def test_a_run_whose_reports_a_plugin_never_logs_counts_for_nothing(
        self, project: pytest.Pytester, workers: list[str]
    ) -> None:
        """A plugin that runs a test twice and logs only the second run's
        reports (as flaky does): the report counts the run that was logged."""
        thresholds(project, 'fast_op = "10s"')
        project.makeconftest(
            """
            import pytest
            from _pytest.runner import runtestprotocol

            @pytest.hookimpl(tryfirst=True)
            def pytest_runtest_protocol(item, nextitem):
                runtestprotocol(item, nextitem=item, log=False)
                item.ihook.pytest_runtest_logstart(
                    nodeid=item.nodeid, location=item.location
                )
                runtestprotocol(item, nextitem=nextitem, log=True)
                item.ihook.pytest_runtest_logfinish(
                    nodeid=item.nodeid, location=item.location
                )
                return True
            """
        )
        project.makepyfile(
            """
            from ops import fast_op

            def test_twice():
                fast_op()
            """
        )
        result = project.runpytest("--timer-report", *workers)
        result.assert_outcomes(passed=1)
        result.stdout.fnmatch_lines(["*= timer report =*", "fast_op * 1 *"])

    def test_a_call_that_raises_is_not_rerun_to_confirm(
        self, project: pytest.Pytester
    ) -> None:
        """Re-runs log no reports until the end: a call that raised is closed
        when teardown starts, and the breach still shows beside the error."""
        thresholds(project, 'slow_op = "1ms"')
        project.makepyfile(
            """
            from ops import slow_op
            RUNS = []

            def test_call():
                RUNS.append(1)
                slow_op()
                raise RuntimeError(f"call broke on run {len(RUNS)}")
            """
        )
        result = project.runpytest("--timer-confirm=2")
        result.assert_outcomes(failed=1)
        result.stdout.fnmatch_lines(
            [
                "*RuntimeError: call broke on run 1*",
                "*timers over their limits*",
                "*timer 'slow_op' took*",
            ]
        )

    def test_a_breach_outside_any_test_fails_the_run(
        self, project: pytest.Pytester
    ) -> None:
        thresholds(project, 'slow_op = "1ms"')
        project.makeconftest("from ops import slow_op\nslow_op()")
        project.makepyfile("def test_nothing(): pass")
        result = project.runpytest()
        result.assert_outcomes(passed=1)
        assert result.ret == pytest.ExitCode.TESTS_FAILED
        result.stdout.fnmatch_lines(
            [
                "<session>: timer 'slow_op' took*",
                "*= 1 passed, 1 session timer breach in *",
            ]
        )

    def test_the_plugin_can_be_turned_off(self, project: pytest.Pytester) -> None:
        thresholds(project, 'slow_op = "1ms"')
        project.makepyfile("from ops import slow_op\ndef test_slow(): slow_op()")
        result = project.runpytest("-p", "no:tracer")
        result.assert_outcomes(passed=1)
        result.stdout.no_fnmatch_line("*timer*")


class TestHostileNumbers:
    def test_a_huge_number_in_a_marker_is_a_usage_error(
        self, pytester: pytest.Pytester
    ) -> None:
        pytester.makepyfile(
            """
            import pytest
            from pytest_tracer import Timer

            @pytest.mark.timer_thresholds(db_query=10**400)
            def test_a():
                with Timer("db_query"):
                    pass
            """
        )
        result = pytester.runpytest()
        assert result.ret == pytest.ExitCode.USAGE_ERROR
        result.stderr.fnmatch_lines(
            [
                "*timer_thresholds(db_query=...)*db_query=1000000*"
                "(a number of 401 digits): expected a duration of at least 1 ns*"
            ]
        )
        result.stdout.no_fnmatch_line("*INTERNALERROR*")

    def test_assert_under_a_huge_number_raises_the_documented_value_error(
        self, pytester: pytest.Pytester
    ) -> None:
        pytester.makepyfile(
            """
            import pytest

            def test_a(timer):
                with timer("x"):
                    pass
                with pytest.raises(ValueError, match=r"got 1000000000.*characters"):
                    timer.assert_under("x", 10**400)
            """
        )
        pytester.runpytest().assert_outcomes(passed=1)


class TestBadConfiguration:
    @pytest.mark.parametrize(
        ("toml", "expected"),
        [
            (
                "[tool.pytest-tracer.thresholds]\ndb_query = true",
                "*pyproject.toml*thresholds*db_query*true*expected a duration*",
            ),
            (
                '[tool.pytest-tracer.thresholds]\ndb_query = "5 minutes"',
                '*db_query*"5 minutes"*expected*',
            ),
            ("[tool.pytest-tracer.thresholds]\ndb_query = -3", "*db_query*-3*"),
            (
                '[tool.pytest-tracer.thresholds]\ndb = { p96 = "1ms" }',
                "*p96*p95*",
            ),
            ("[tool.pytest-tracer]\nreprot_rows = 3", "*reprot_rows*report_rows*"),
            ("[tool.pytest-tracer\nreport = 1", "*pyproject.toml*"),
        ],
    )
    def test_bad_configuration_is_a_usage_error_without_traceback(
        self, pytester: pytest.Pytester, toml: str, expected: str
    ) -> None:
        (pytester.path / "pyproject.toml").write_text(toml)
        pytester.makepyfile("def test_nothing(): pass")
        result = pytester.runpytest()
        assert result.ret == pytest.ExitCode.USAGE_ERROR
        result.stderr.fnmatch_lines([expected])
        result.stderr.no_fnmatch_line("*Traceback*")
        result.stdout.no_fnmatch_line("*INTERNALERROR*")

    def test_a_bad_report_rows_option_quotes_the_value(
        self, pytester: pytest.Pytester
    ) -> None:
        result = pytester.runpytest("--timer-report-rows=many")
        assert result.ret == pytest.ExitCode.USAGE_ERROR
        result.stderr.fnmatch_lines(
            ["*--timer-report-rows*expected a whole number >= 0, got 'many'*"]
        )


class TestReport:
    @pytest.fixture
    def suite(self, project: pytest.Pytester) -> pytest.Pytester:
        thresholds(project, 'fast_op = "1s"')
        project.makepyfile(
            """
            from ops import slow_op, fast_op
            def test_a():
                slow_op()
                fast_op()
            def test_b():
                fast_op()
                fast_op()
            """
        )
        return project

    def test_the_report_has_a_row_per_timer_sorted_by_total(
        self, suite: pytest.Pytester
    ) -> None:
        result = suite.runpytest("--timer-report")
        result.assert_outcomes(passed=2)
        result.stdout.fnmatch_lines(
            [
                "*= timer report =*",
                "*timer*calls*total*mean*median*p95*max*limit*",
                "*slow_op*1*",
                "*fast_op*3*max 1 s*ok*",
            ]
        )

    @pytest.mark.parametrize("workers", [[], ["-n", "2"]])
    def test_the_report_counts_alike_whether_each_result_is_read_or_not(
        self, suite: pytest.Pytester, workers: list[str]
    ) -> None:
        """Bodies that held their limits reach the report without their
        records unless a plugin reads each result: the rows are the same."""

        def rows(result: pytest.RunResult) -> list[tuple[str, str, str]]:
            lines = [line.split() for line in result.outlines]
            return sorted(
                (words[0], words[1], words[-1])
                for words in lines
                if words and words[0] in ("slow_op", "fast_op")
            )

        plain = rows(suite.runpytest("--timer-report", *workers))
        suite.makeconftest("def pytest_tracer_test_result(config, result):\n    pass\n")
        read = rows(suite.runpytest("--timer-report", *workers))
        # slow_op has no limit: its last column is its max's unit.
        assert plain == read == [("fast_op", "3", "ok"), ("slow_op", "1", "ms")]

    def test_rows_can_be_limited(self, suite: pytest.Pytester) -> None:
        result = suite.runpytest("--timer-report", "--timer-report-rows=1")
        result.stdout.fnmatch_lines(["*slow_op*", "*1 more timer*"])
        result.stdout.no_fnmatch_line("*fast_op*max 1 s*")

    def test_the_report_can_be_turned_on_in_pyproject(
        self, suite: pytest.Pytester
    ) -> None:
        suite.makepyprojecttoml(
            """
            [tool.pytest-tracer]
            report = true
            report_per_test = true
            """
        )
        result = suite.runpytest()
        result.stdout.fnmatch_lines(["*= timer report =*", "*timers per test*"])

    def test_the_report_fits_a_narrow_terminal(
        self, suite: pytest.Pytester, monkeypatch: pytest.MonkeyPatch
    ) -> None:
        monkeypatch.setenv("COLUMNS", "60")
        result = suite.runpytest("--timer-report")
        start = result.stdout.lines.index(
            next(line for line in result.stdout.lines if "timer report" in line)
        )
        assert all(len(line) <= 60 for line in result.stdout.lines[start:])


class TestStatus:
    """Each test's status comes from that test's own limits and breaches."""

    @pytest.fixture
    def suite(self, project: pytest.Pytester) -> pytest.Pytester:
        thresholds(project, 'slow_op = "1ms"\nfast_op = "1s"')
        project.makepyfile(
            """
            import pytest
            from ops import slow_op, fast_op

            @pytest.mark.timer_thresholds(slow_op="5s")
            def test_loosened():
                slow_op()

            def test_over():
                slow_op()

            def test_fast():
                fast_op()
            """
        )
        return project

    def test_the_per_test_report_reads_each_tests_own_limit(
        self, suite: pytest.Pytester, monkeypatch: pytest.MonkeyPatch
    ) -> None:
        """A marker that loosened the limit shows ok; a quick timer shows ok."""
        monkeypatch.setenv("COLUMNS", "120")
        result = suite.runpytest("--timer-report-per-test", "--timer-no-enforce")
        result.assert_outcomes(passed=3)
        result.stdout.fnmatch_lines(["*= timers per test =*"])
        for test, row in [
            ("test_loosened", "  slow_op * max 5 s *ok"),
            ("test_over", "  slow_op * max 1 ms *OVER"),
            ("test_fast", "  fast_op * max 1 s *ok"),
        ]:
            result.stdout.fnmatch_lines([f"*::{test}", row], consecutive=True)

    def test_the_main_table_counts_the_tests_that_broke_a_limit(
        self, suite: pytest.Pytester, monkeypatch: pytest.MonkeyPatch
    ) -> None:
        """One of two tests broke slow_op's limits, whose limits differ."""
        monkeypatch.setenv("COLUMNS", "120")
        result = suite.runpytest("--timer-report", "--timer-no-enforce")
        result.stdout.fnmatch_lines(
            ["slow_op *varies (2 sets) *OVER 1/2", "fast_op * max 1 s *ok"]
        )

    def test_the_per_test_report_alone_prints(self, suite: pytest.Pytester) -> None:
        """--timer-report-per-test does not need --timer-report."""
        result = suite.runpytest("--timer-report-per-test", "--timer-no-enforce")
        result.stdout.fnmatch_lines(["*= timers per test =*", "*::test_fast"])
        result.stdout.no_fnmatch_line("*= timer report =*")

    def test_names_print_whole_at_80_columns(
        self, project: pytest.Pytester, monkeypatch: pytest.MonkeyPatch
    ) -> None:
        """Names sharing their first 15 characters stay apart in a CI log."""
        monkeypatch.setenv("COLUMNS", "80")
        names = [
            "unthresholded_step",
            "checkout.payment.authorize_card",
            "checkout.payment.authorize_bank_transfer",
        ]
        thresholds(project, "\n".join(f'"{name}" = "5s"' for name in names[1:]))
        project.makepyfile(
            f"""
            from pytest_tracer import Timer
            def test_it():
                for name in {names!r}:
                    with Timer(name):
                        pass
            """
        )
        result = project.runpytest("--timer-report", "--timer-report-per-test")
        text = result.stdout.str()
        assert "…" not in text
        for name in names:
            assert any(line.split()[:1] == [name] for line in result.stdout.lines)


class TestTimerFixture:
    def test_assert_under_names_the_timer_the_value_and_the_limit(
        self, project: pytest.Pytester
    ) -> None:
        project.makepyfile(
            """
            import pytest
            from ops import slow_op

            def test_under(timer):
                with timer("parse"):
                    pass
                timer.assert_under("parse", "1s")
                timer.assert_under("parse", 1000, statistic="median")

            def test_over(timer):
                slow_op()
                timer.assert_under("slow_op", "1ms")

            def test_missing(timer):
                timer.assert_under("never_ran", "1s")
            """
        )
        result = project.runpytest()
        result.assert_outcomes(passed=1, failed=2)
        result.stdout.fnmatch_lines(
            [
                "*AssertionError: timer 'slow_op' took * ms (max of 1 call), "
                "not under 1 ms",
                "*AssertionError: no timing named 'never_ran'*",
            ]
        )

    def test_durations_come_from_log_records(self, project: pytest.Pytester) -> None:
        project.makepyfile(
            """
            import logging
            from pytest_tracer import Timer

            def test_records(caplog, timer):
                caplog.set_level(logging.DEBUG)
                with Timer("parse"):
                    pass
                with Timer("other"):
                    pass
                durations = timer.durations(caplog.records, "parse")
                assert len(durations) == 1
                assert 0 <= durations[0] == timer.stats("parse").max
            """
        )
        project.runpytest().assert_outcomes(passed=1)


class TestClocks:
    def test_a_configured_name_is_timed_in_cpu_time(
        self, pytester: pytest.Pytester
    ) -> None:
        pytester.makepyprojecttoml('[tool.pytest-tracer.clocks]\n"sleepy_*" = "cpu"\n')
        pytester.makepyfile(
            """
            import time
            from pytest_tracer import Timer

            def test_sleeping_costs_no_cpu(timer):
                with Timer("sleepy_cpu") as on_cpu:
                    time.sleep(0.2)
                with Timer("awake_wall") as on_wall:
                    time.sleep(0.2)
                assert on_cpu.clock == "cpu"
                assert on_wall.clock == "wall"
                # Sleeping takes wall time, almost no CPU time.
                assert timer.stats("sleepy_cpu").max < 0.1
                assert timer.stats("awake_wall").max >= 0.2
            """
        )
        pytester.runpytest().assert_outcomes(passed=1)

    def test_an_explicit_clock_wins_and_the_default_returns_after_the_run(
        self, pytester: pytest.Pytester
    ) -> None:
        pytester.makepyprojecttoml('[tool.pytest-tracer.clocks]\n"*" = "cpu"\n')
        pytester.makepyfile(
            """
            from pytest_tracer import Timer

            def test_explicit():
                assert Timer("x", clock="wall").clock == "wall"
                assert Timer("x").clock == "cpu"
            """
        )
        pytester.runpytest().assert_outcomes(passed=1)
        from pytest_tracer import Timer

        assert Timer("x").clock == "wall"


def test_reports_stay_serialisable_for_other_plugins(project: pytest.Pytester) -> None:
    thresholds(project, 'slow_op = "1ms"')
    project.makeconftest(
        """
        import json

        def pytest_configure(config):
            global seen_config
            seen_config = config

        def pytest_runtest_logreport(report):
            data = seen_config.hook.pytest_report_to_serializable(
                config=seen_config, report=report
            )
            json.dumps(data)
        """
    )
    project.makepyfile("from ops import slow_op\ndef test_slow(): slow_op()")
    result = project.runpytest()
    result.assert_outcomes(failed=1)
    result.stdout.no_fnmatch_line("*INTERNALERROR*")


class TestUnmatchedLimits:
    SUITE = """
        from pytest_tracer import Timer

        def test_a():
            with Timer("db_query"):
                pass
            with Timer("slow_op"):
                pass
        """
    TOML = """
        [tool.pytest-tracer.thresholds]
        SLOW_OP = "1s"
        db_query = "1s"
        "render_*" = "1s"
        """

    @pytest.mark.parametrize("workers", [[], ["-n", "2"]])
    def test_a_full_run_names_the_limits_no_timer_met(
        self, pytester: pytest.Pytester, workers: list[str]
    ) -> None:
        pytester.makepyfile(test_suite=self.SUITE)
        pytester.makepyprojecttoml(self.TOML)
        result = pytester.runpytest(*workers)
        result.assert_outcomes(passed=1)
        assert result.ret == pytest.ExitCode.OK
        result.stdout.fnmatch_lines(
            [
                "these limits matched no timer in this run (a typo, or a timer"
                " that is gone?): 'SLOW_OP' (pyproject.toml"
                " [[]tool.pytest-tracer.thresholds] SLOW_OP; did you mean"
                " 'slow_op'?); 'render_*' (*)"
            ]
        )
        result.stdout.no_fnmatch_line("*db_query' (*")

    @pytest.mark.parametrize("narrowed", [["test_suite.py"], ["-k", "test_a"]])
    def test_a_partial_run_says_nothing(
        self, pytester: pytest.Pytester, narrowed: list[str]
    ) -> None:
        pytester.makepyfile(test_suite=self.SUITE)
        pytester.makepyprojecttoml(self.TOML)
        result = pytester.runpytest(*narrowed)
        result.assert_outcomes(passed=1)
        result.stdout.no_fnmatch_line("*matched no timer*")


class TestExpectedFailures:
    SUITE = """
        import time
        import pytest
        from pytest_tracer import Timer, TimerBreach

        @pytest.mark.xfail(strict=True)
        def test_strict():
            with Timer("slow"):
                time.sleep(0.02)

        @pytest.mark.xfail
        def test_loose():
            with Timer("slow"):
                time.sleep(0.02)

        @pytest.mark.xfail
        def test_fails_on_its_own():
            with Timer("slow"):
                time.sleep(0.02)
            assert False

        @pytest.mark.xfail(raises=TimerBreach, strict=True)
        def test_expected_breach():
            with Timer("slow"):
                time.sleep(0.02)
        """

    @pytest.mark.parametrize("workers", [[], ["-n", "2"]])
    def test_xfail_covers_a_breach_only_when_it_names_timer_breach(
        self, pytester: pytest.Pytester, workers: list[str]
    ) -> None:
        pytester.makepyfile(test_suite=self.SUITE)
        pytester.makepyprojecttoml('[tool.pytest-tracer.thresholds]\nslow = "5ms"')
        result = pytester.runpytest(*workers, "-rA")
        result.assert_outcomes(failed=2, xfailed=2)
        assert result.ret == pytest.ExitCode.TESTS_FAILED
        result.stdout.fnmatch_lines(
            [
                "*an xfail marker covers the test's own failure, not a timer"
                " limit: to expect the breach, write"
                " @pytest.mark.xfail(raises=pytest_tracer.TimerBreach))",
            ]
        )
        for name in ("test_strict", "test_loose"):
            result.stdout.fnmatch_lines([f"FAILED test_suite.py::{name} - *"])
        for name in ("test_fails_on_its_own", "test_expected_breach"):
            result.stdout.fnmatch_lines([f"XFAIL test_suite.py::{name}*"])


class TestThreadsOutlivingTheirTest:
    # Events make the order certain on a busy machine: the thread times one
    # block while its test runs, and the rest while the next test runs.
    SUITE = """
        import threading
        import time
        from pytest_tracer import Timer

        first, go, done = threading.Event(), threading.Event(), threading.Event()

        def test_starts_thread():
            def work():
                with Timer("bg"):
                    time.sleep(0.003)
                first.set()
                go.wait(10)
                for _ in range(19):
                    with Timer("bg"):
                        time.sleep(0.003)
                done.set()
            threading.Thread(target=work, daemon=True).start()
            assert first.wait(10)

        def test_next():
            go.set()
            assert done.wait(10)

        def test_after():
            pass
        """

    @pytest.mark.parametrize("workers", [[], ["-n", "1"]])
    def test_late_timings_are_charged_to_no_other_test(
        self, pytester: pytest.Pytester, workers: list[str]
    ) -> None:
        pytester.makepyfile(test_suite=self.SUITE)
        pytester.makepyprojecttoml('[tool.pytest-tracer.thresholds]\nbg = "1ms"')
        result = pytester.runpytest(
            *workers, "--timer-report-per-test", "-p", "no:randomly"
        )
        # Only the test that started the thread breaks the limit.
        result.assert_outcomes(failed=1, passed=2)
        result.stdout.fnmatch_lines(["FAILED test_suite.py::test_starts_thread - *"])
        result.stdout.fnmatch_lines(
            [
                "timings from a thread that test_suite.py::test_starts_thread"
                " started finished after that test ended, and count for no"
                " test: * of 'bg'"
            ]
        )
        result.stdout.no_fnmatch_line("test_suite.py::test_next")

    def test_threads_of_a_fixture_still_count_for_the_running_test(
        self, pytester: pytest.Pytester
    ) -> None:
        pytester.makepyfile(
            test_server="""
            import queue
            import threading
            import pytest
            from pytest_tracer import Timer

            @pytest.fixture(scope="module")
            def server():
                requests = queue.Queue()
                def serve():
                    while True:
                        done = requests.get()
                        with Timer("handler"):
                            pass
                        done.set()
                threading.Thread(target=serve, daemon=True).start()
                def call():
                    done = threading.Event()
                    requests.put(done)
                    done.wait(5)
                return call

            def test_one(server, timer):
                server()
                assert timer.stats("handler").count == 1

            def test_two(server, timer):
                server()
                server()
                assert timer.stats("handler").count == 2
            """
        )
        pytester.runpytest().assert_outcomes(passed=2)


AWAKE_PROBE = """
def pytest_sessionfinish(session):
    awake = session.config.pluginmanager.get_plugin("pytest-tracer-session")
    print()
    print("SESSION", "awake" if awake is not None else "asleep")
"""


class TestWaking:
    """The per-test hooks are registered by the first test that times
    something: tests before it cost the plugin nothing, and that first test
    is judged like any other, whichever phase its first timing is in."""

    @pytest.mark.parametrize("workers", [(), ("-n", "2")], ids=["serial", "xdist"])
    @pytest.mark.parametrize(
        ("phase", "outcome"),
        [
            ("setup", {"passed": 1, "failed": 1}),
            ("call", {"passed": 1, "failed": 1}),
            ("teardown", {"passed": 2, "errors": 1}),
        ],
    )
    def test_the_first_timed_test_fails_on_its_breach(
        self,
        project: pytest.Pytester,
        phase: str,
        outcome: dict[str, int],
        workers: tuple[str, ...],
    ) -> None:
        thresholds(project, 'slow_op = "1ms"')
        project.makepyfile(
            f"""
            import pytest
            from ops import slow_op

            PHASE = {phase!r}

            @pytest.fixture
            def timed():
                if PHASE == "setup":
                    slow_op()
                yield
                if PHASE == "teardown":
                    slow_op()

            def test_idle():
                pass

            def test_timed(timed):
                if PHASE == "call":
                    slow_op()
            """
        )
        # One worker gets both tests in order (-n 2 with --dist=loadfile).
        extra = (*workers, "--dist", "loadfile") if workers else ()
        result = project.runpytest("-p", "no:randomly", *extra)
        result.assert_outcomes(**outcome)
        result.stdout.fnmatch_lines(["*timer 'slow_op' took*over its limit of 1 ms*"])

    def test_an_xfail_expecting_the_breach_covers_the_first_timed_test(
        self, project: pytest.Pytester
    ) -> None:
        """The breach found as the body's report is made is the body's error."""
        thresholds(project, 'slow_op = "1ms"')
        project.makepyfile(
            """
            import pytest
            import pytest_tracer
            from ops import slow_op

            @pytest.mark.xfail(raises=pytest_tracer.TimerBreach, strict=True)
            def test_expected():
                slow_op()

            def test_next():
                slow_op()
            """
        )
        result = project.runpytest("-p", "no:randomly")
        result.assert_outcomes(xfailed=1, failed=1)

    def test_a_run_without_timers_never_registers_the_per_test_hooks(
        self, project: pytest.Pytester
    ) -> None:
        """And one timing is enough to register them (the check can fail)."""
        thresholds(project, 'slow_op = "10s"')
        project.makeconftest(AWAKE_PROBE)
        project.makepyfile(test_idle="def test_a():\n    pass\n")
        result = project.runpytest("-s", "test_idle.py")
        result.assert_outcomes(passed=1)
        result.stdout.fnmatch_lines(["SESSION asleep"])
        project.makepyfile(
            test_timed="from ops import fast_op\ndef test_b():\n    fast_op()\n"
        )
        result = project.runpytest("-s")
        result.assert_outcomes(passed=2)
        result.stdout.fnmatch_lines(["SESSION awake"])

    def test_a_timing_between_tests_leaves_it_asleep(
        self, project: pytest.Pytester
    ) -> None:
        """No test runs then: the timing is the session's."""
        thresholds(project, 'fast_op = "10s"')
        project.makeconftest(
            AWAKE_PROBE
            + "\nfrom ops import fast_op\n"
            + "def pytest_runtest_logfinish(nodeid, location):\n    fast_op()\n"
        )
        project.makepyfile("def test_a():\n    pass\n\ndef test_b():\n    pass\n")
        result = project.runpytest("-s", "--timer-report-per-test")
        result.assert_outcomes(passed=2)
        result.stdout.fnmatch_lines(["SESSION asleep", "<session>", "  fast_op  *2 *"])
