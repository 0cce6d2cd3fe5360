from __future__ import annotations

import os
import sys
import time
from pathlib import Path

import pytest

from pytest_tracer._config import STORE_VARIABLE
from pytest_tracer._history.meta import CI_BRANCH_VARIABLES, RunMeta, _cpu_model
from pytest_tracer._history.store import TimingRecord, open_store
from runs import git, needs_git

SUITE = """
import os
import os
import sys
import time
from pytest_tracer import Timer

def test_work():
    pause = float(os.environ.get("WORK_SECONDS", "0.002"))
    for _ in range(20):
        with Timer("work"):
            time.sleep(pause)
"""


@pytest.fixture
def file_suite(
    pytester: pytest.Pytester, monkeypatch: pytest.MonkeyPatch
) -> pytest.Pytester:
    """The suite, saving to the default SQLite file."""
    # The branch a run is saved under must not come from the CI running this.
    for name in CI_BRANCH_VARIABLES:
        monkeypatch.delenv(name, raising=False)
    pytester.makepyfile(test_suite=SUITE)
    return pytester


@pytest.fixture(params=["sqlite", "postgresql"])
def suite(
    request: pytest.FixtureRequest,
    file_suite: pytest.Pytester,
    monkeypatch: pytest.MonkeyPatch,
) -> pytest.Pytester:
    """The suite, with the default SQLite file or a PostgreSQL database
    named by PYTEST_TRACER_STORE."""
    if request.param == "postgresql":
        monkeypatch.setenv(STORE_VARIABLE, request.getfixturevalue("postgres_url"))
    return file_suite


def store_of(pytester: pytest.Pytester) -> Path | str:
    return os.environ.get(
        STORE_VARIABLE, pytester.path / ".pytest-tracer" / "history.sqlite"
    )


def run_with(
    pytester: pytest.Pytester,
    monkeypatch: pytest.MonkeyPatch,
    seconds: float,
    *args: str,
) -> pytest.RunResult:
    monkeypatch.setenv("WORK_SECONDS", str(seconds))
    return pytester.runpytest(*args)


class TestSaving:
    def test_a_saved_run_lands_in_the_default_store_with_its_label(
        self, suite: pytest.Pytester
    ) -> None:
        result = suite.runpytest("--timer-save=first")
        result.assert_outcomes(passed=1)
        result.stdout.fnmatch_lines(["saved this run as 'first' as run 1 in *"])
        with open_store(store_of(suite)) as store:
            (run,) = store.runs()
            assert run.meta.label == "first"
            record = store.records(run.run_id)[("test_suite.py::test_work", "work")]
        assert record.count == 20
        assert len(record.samples) == 20

    def test_save_without_a_label_after_the_paths(self, suite: pytest.Pytester) -> None:
        suite.runpytest("test_suite.py", "--timer-save").assert_outcomes(passed=1)
        with open_store(store_of(suite)) as store:
            assert [run.meta.label for run in store.runs()] == [None]

    def test_a_test_path_taken_as_the_label_is_refused(
        self, suite: pytest.Pytester
    ) -> None:
        result = suite.runpytest("--timer-save", "test_suite.py")
        assert result.ret == pytest.ExitCode.USAGE_ERROR
        result.stderr.fnmatch_lines(
            ["*--timer-save took 'test_suite.py' as its value*--timer-save=*"]
        )

    def test_a_store_path_can_be_configured(self, file_suite: pytest.Pytester) -> None:
        suite = file_suite
        suite.makepyprojecttoml('[tool.pytest-tracer]\nstore = "perf/runs.db"')
        suite.runpytest("--timer-save").assert_outcomes(passed=1)
        assert (suite.path / "perf" / "runs.db").is_file()

    def test_a_corrupt_store_is_reported_and_left_untouched(
        self, file_suite: pytest.Pytester
    ) -> None:
        suite = file_suite
        path = suite.path / ".pytest-tracer" / "history.sqlite"
        path.parent.mkdir()
        path.write_bytes(b"not a database at all" * 10)
        result = suite.runpytest("--timer-save")
        assert result.ret == pytest.ExitCode.USAGE_ERROR
        result.stderr.fnmatch_lines([f"*{path}*"])
        result.stderr.no_fnmatch_line("*Traceback*")
        assert path.read_bytes() == b"not a database at all" * 10

    def test_the_history_command_lists_saved_runs(self, suite: pytest.Pytester) -> None:
        suite.runpytest("--timer-save=nightly").assert_outcomes(passed=1)
        result = suite.run(sys.executable, "-m", "pytest_tracer", "history")
        assert result.ret == 0
        result.stdout.fnmatch_lines(["*nightly*"])
        trend = suite.run(sys.executable, "-m", "pytest_tracer", "history", "work")
        assert trend.ret == 0
        trend.stdout.fnmatch_lines(["*nightly*20*"])


class TestStores:
    def test_a_url_on_the_command_line_saves_to_postgresql(
        self, file_suite: pytest.Pytester, postgres_url: str
    ) -> None:
        suite = file_suite
        result = suite.runpytest(f"--timer-store={postgres_url}", "--timer-save=pg")
        result.assert_outcomes(passed=1)
        result.stdout.fnmatch_lines(
            [f"saved this run as 'pg' as run 1 in {postgres_url}"]
        )
        assert not (suite.path / ".pytest-tracer").exists()
        history = suite.run(
            sys.executable, "-m", "pytest_tracer", "history", "--db", postgres_url
        )
        assert history.ret == 0
        history.stdout.fnmatch_lines([f"1 run in {postgres_url}, newest first", "*pg*"])

    def test_a_url_in_the_pyproject_saves_to_postgresql(
        self, file_suite: pytest.Pytester, postgres_url: str
    ) -> None:
        suite = file_suite
        suite.makepyprojecttoml(f'[tool.pytest-tracer]\nstore = "{postgres_url}"')
        suite.runpytest("--timer-save").assert_outcomes(passed=1)
        result = suite.runpytest("--timer-compare")
        result.assert_outcomes(passed=1)
        result.stdout.fnmatch_lines(["*= timers compared with run 1 *"])

    def test_without_psycopg_a_url_is_a_usage_error_naming_the_extra(
        self, file_suite: pytest.Pytester, monkeypatch: pytest.MonkeyPatch
    ) -> None:
        monkeypatch.setitem(sys.modules, "psycopg", None)
        result = file_suite.runpytest(
            "--timer-save", "--timer-store=postgresql://ci:pw@127.0.0.1:9/perf"
        )
        assert result.ret == pytest.ExitCode.USAGE_ERROR
        result.stderr.fnmatch_lines(
            [
                "ERROR: the history postgresql://ci:***@127.0.0.1:9/perf is a"
                " PostgreSQL database, which needs psycopg 3:"
                " pip install 'pytest-tracer[postgres]'"
            ]
        )
        assert "Traceback" not in result.stderr.str()

    def test_an_unreachable_server_fails_before_the_tests(
        self, file_suite: pytest.Pytester
    ) -> None:
        pytest.importorskip("psycopg")
        url = "postgresql://ci:pw@127.0.0.1:9/perf?connect_timeout=3"
        result = file_suite.runpytest("--timer-save", f"--timer-store={url}")
        assert result.ret == pytest.ExitCode.USAGE_ERROR
        result.stderr.fnmatch_lines(["ERROR: cannot connect to the history *"])
        assert "pw@" not in result.stderr.str()
        result.stdout.no_fnmatch_line("*passed*")


class TestBranches:
    def test_timer_branch_names_the_branch_a_run_is_saved_under(
        self, suite: pytest.Pytester
    ) -> None:
        suite.runpytest("--timer-save", "--timer-branch=release").assert_outcomes(
            passed=1
        )
        result = suite.runpytest("--timer-compare=branch:release")
        result.assert_outcomes(passed=1)
        result.stdout.fnmatch_lines(["*timers compared with *release*"])

    @needs_git
    def test_a_detached_head_on_ci_saves_under_the_ci_branch(
        self, suite: pytest.Pytester, monkeypatch: pytest.MonkeyPatch
    ) -> None:
        git(suite.path, "init", "-q", "-b", "work")
        git(suite.path, "add", "-A")
        git(suite.path, "commit", "-q", "-m", "first")
        git(suite.path, "checkout", "-q", "--detach")
        monkeypatch.setenv("GITHUB_HEAD_REF", "feature")
        suite.runpytest("--timer-save").assert_outcomes(passed=1)
        result = suite.runpytest("--timer-compare=branch:feature")
        result.assert_outcomes(passed=1)
        result.stdout.fnmatch_lines(["*timers compared with *feature@*"])

    def test_an_empty_branch_name_is_a_usage_error(
        self, suite: pytest.Pytester
    ) -> None:
        result = suite.runpytest("--timer-save", "--timer-branch=")
        assert result.ret == pytest.ExitCode.USAGE_ERROR
        result.stderr.fnmatch_lines(["*--timer-branch: expected a branch name, got ''"])


class TestComparing:
    def test_without_saved_runs_there_is_nothing_to_compare_with(
        self, suite: pytest.Pytester
    ) -> None:
        result = suite.runpytest("--timer-compare")
        result.assert_outcomes(passed=1)
        result.stdout.fnmatch_lines(
            ["--timer-compare=latest found no saved run in *: save one with*"]
        )

    @pytest.mark.parametrize(
        "how", ["--timer-require-baseline", "require_baseline = true"]
    )
    def test_a_required_baseline_that_is_missing_is_a_usage_error(
        self, suite: pytest.Pytester, how: str
    ) -> None:
        args = ["--timer-compare"]
        if how.startswith("--"):
            args.append(how)
        else:
            suite.makepyprojecttoml(f"[tool.pytest-tracer]\n{how}\n")
        result = suite.runpytest(*args)
        assert result.ret == pytest.ExitCode.USAGE_ERROR
        result.stderr.fnmatch_lines(
            [
                "ERROR: --timer-compare=latest found no saved run in *,"
                " and a baseline is required (*): save one with --timer-save*"
            ]
        )
        assert "Traceback" not in result.stderr.str()
        suite.runpytest("--timer-save").assert_outcomes(passed=1)
        suite.runpytest(*args).assert_outcomes(passed=1)

    def test_an_unknown_label_is_a_usage_error_listing_the_known_ones(
        self, suite: pytest.Pytester
    ) -> None:
        suite.runpytest("--timer-save=main").assert_outcomes(passed=1)
        result = suite.runpytest("--timer-compare=mian")
        assert result.ret == pytest.ExitCode.USAGE_ERROR
        result.stderr.fnmatch_lines(
            [
                "*--timer-compare=mian: no saved run has label 'mian'*"
                "(saved labels: main)"
            ]
        )

    def test_a_clear_slowdown_fails_the_test_with_the_evidence(
        self, suite: pytest.Pytester, monkeypatch: pytest.MonkeyPatch
    ) -> None:
        run_with(suite, monkeypatch, 0.002, "--timer-save=base").assert_outcomes(
            passed=1
        )
        result = run_with(suite, monkeypatch, 0.02, "--timer-compare=base")
        result.assert_outcomes(failed=1)
        result.stdout.fnmatch_lines(
            [
                "*timer 'work' got slower than run 1 'base' (*): median * ms -> "
                "* ms (+*%), p*(Mann-Whitney, 20 vs 20 samples), tolerance 10%* "
                "(pytest-tracer defaults)",
                "*= timers compared with run 1 'base' *",
                "verdict *change *baseline *now *test  timer",
                "SLOWER *+*% *ms *ms  test_suite.py::test_work  work",
                "1 slower",
            ]
        )

    def test_under_xdist_workers_compare_with_the_saved_run(
        self, suite: pytest.Pytester, monkeypatch: pytest.MonkeyPatch
    ) -> None:
        """Workers read the baseline the controller chose from either store."""
        suite.runpytest("-n", "2", "--timer-save=base").assert_outcomes(passed=1)
        result = run_with(suite, monkeypatch, 0.02, "-n", "2", "--timer-compare=base")
        result.assert_outcomes(failed=1)
        result.stdout.fnmatch_lines(
            [
                "*= timers compared with run 1 'base' *",
                "SLOWER *test_suite.py::test_work  work",
            ]
        )

    def test_unchanged_code_passes_and_is_counted(
        self, suite: pytest.Pytester, monkeypatch: pytest.MonkeyPatch
    ) -> None:
        # Generous on purpose: this machine is shared, and one run is not a
        # trial. The same tolerance still fails a tenfold slowdown below.
        suite.makepyprojecttoml('[tool.pytest-tracer]\ntolerance = "300%"')
        run_with(suite, monkeypatch, 0.005, "--timer-save").assert_outcomes(passed=1)
        result = run_with(suite, monkeypatch, 0.005, "--timer-compare")
        result.assert_outcomes(passed=1)
        result.stdout.fnmatch_lines(
            ["UNCHANGED *test_suite.py::test_work  work", "1 unchanged"]
        )
        slower = run_with(suite, monkeypatch, 0.05, "--timer-compare")
        slower.assert_outcomes(failed=1)
        slower.stdout.fnmatch_lines(["1 slower"])

    def test_an_improvement_is_reported_and_never_fails(
        self, suite: pytest.Pytester, monkeypatch: pytest.MonkeyPatch
    ) -> None:
        run_with(suite, monkeypatch, 0.02, "--timer-save").assert_outcomes(passed=1)
        result = run_with(suite, monkeypatch, 0.002, "--timer-compare=latest")
        result.assert_outcomes(passed=1)
        result.stdout.fnmatch_lines(["FASTER *-*%*test_work  work", "1 faster"])

    def test_a_per_name_tolerance_is_named_in_the_message(
        self, suite: pytest.Pytester, monkeypatch: pytest.MonkeyPatch
    ) -> None:
        suite.makepyprojecttoml(
            '[tool.pytest-tracer.regression]\nwork = { tolerance = "50%" }'
        )
        run_with(suite, monkeypatch, 0.002, "--timer-save").assert_outcomes(passed=1)
        result = run_with(suite, monkeypatch, 0.02, "--timer-compare")
        result.assert_outcomes(failed=1)
        result.stdout.fnmatch_lines(
            ["*tolerance 50%*(pyproject.toml [[]tool.pytest-tracer.regression[]] work)"]
        )

    def test_normalizing_scales_this_run_by_the_reference_loop(
        self, suite: pytest.Pytester, monkeypatch: pytest.MonkeyPatch
    ) -> None:
        suite.makepyprojecttoml('[tool.pytest-tracer]\ntolerance = "300%"')
        run_with(
            suite, monkeypatch, 0.002, "--timer-save", "--timer-normalize"
        ).assert_outcomes(passed=1)
        with open_store(store_of(suite)) as store:
            (run,) = store.runs()
            saved = store.records(run.run_id)
        reference = saved[("test_suite.py::test_work", "pytest-tracer.reference")]
        assert reference.count == 2
        result = run_with(
            suite,
            monkeypatch,
            0.002,
            "--timer-compare",
            "--timer-normalize",
            "--timer-report",
        )
        result.assert_outcomes(passed=1)
        result.stdout.fnmatch_lines(
            [
                "UNCHANGED *test_work  work",
                "  median *normalised x* by the reference loop",
            ]
        )
        result.stdout.no_fnmatch_line("*test_work  pytest-tracer.reference*")

    def test_the_last_runs_of_a_branch_can_be_the_baseline(
        self, suite: pytest.Pytester
    ) -> None:
        save_run(store_of(suite), branch="main", median=0.002, runs=3)
        result = suite.runpytest("--timer-compare=branch:main:3")
        result.assert_outcomes(passed=1)
        result.stdout.fnmatch_lines(["*= timers compared with 3 runs 1..3 *"])

    def test_a_baseline_from_another_machine_is_compared_with_a_warning(
        self, suite: pytest.Pytester
    ) -> None:
        save_run(store_of(suite), cpu_model="Some Other CPU")
        result = suite.runpytest("--timer-compare")
        result.assert_outcomes(passed=1)
        result.stdout.fnmatch_lines(["*was measured on another machine*"])

    def test_a_baseline_from_another_machine_can_be_refused(
        self, suite: pytest.Pytester
    ) -> None:
        suite.makepyprojecttoml('[tool.pytest-tracer]\nforeign_baseline = "refuse"')
        save_run(store_of(suite), cpu_model="Some Other CPU")
        result = suite.runpytest("--timer-compare")
        assert result.ret == pytest.ExitCode.USAGE_ERROR
        result.stderr.fnmatch_lines(["*another machine*forbids comparing with it*"])


def save_run(
    path: Path | str,
    *,
    branch: str | None = None,
    median: float = 0.002,
    runs: int = 1,
    cpu_model: str | None = None,
) -> None:
    with open_store(path) as store:
        for _ in range(runs):
            meta = RunMeta(
                created=time.time(),
                label=None,
                commit=None,
                branch=branch,
                python="CPython",
                pytest=pytest.__version__,
                platform="test",
                cpu_model=cpu_model or _cpu_model(),
                cores=os.cpu_count() or 0,
                workers=0,
            )
            record = TimingRecord(
                "test_suite.py::test_work",
                "work",
                count=1,
                total=median,
                min=median,
                max=median,
                median=median,
                p95=median,
                samples=(median,),
            )
            store.save_run(meta, [record])


class TestConfirmation:
    def test_a_breach_that_does_not_hold_on_a_rerun_passes(
        self, pytester: pytest.Pytester
    ) -> None:
        pytester.makepyprojecttoml('[tool.pytest-tracer.thresholds]\nflaky = "100ms"')
        pytester.makepyfile(
            """
            import time
            from pathlib import Path
            from pytest_tracer import Timer

            def test_first_run_is_slow(tmp_path_factory):
                marker = tmp_path_factory.getbasetemp() / "ran-once"
                with Timer("flaky"):
                    if not marker.exists():
                        marker.touch()
                        time.sleep(0.3)
            """
        )
        result = pytester.runpytest("--timer-confirm=2")
        result.assert_outcomes(passed=1)
        result.stdout.fnmatch_lines(
            ["*test_first_run_is_slow: 2 runs, the breach did not hold"]
        )

    def test_a_breach_that_holds_fails_after_every_rerun(
        self, pytester: pytest.Pytester
    ) -> None:
        pytester.makepyprojecttoml(
            "[tool.pytest-tracer]\nconfirm = 2\n"
            '[tool.pytest-tracer.thresholds]\nslow = "1ms"'
        )
        pytester.makepyfile(
            """
            import time
            from pytest_tracer import Timer

            calls = []

            def test_always_slow():
                calls.append(1)
                with Timer("slow"):
                    time.sleep(0.01)

            def test_ran_three_times():
                assert len(calls) == 3
            """
        )
        result = pytester.runpytest("-p", "no:randomly")
        result.assert_outcomes(passed=1, failed=1)
        result.stdout.fnmatch_lines(
            ["*(held on all 3 runs)*", "*test_always_slow: 3 runs, the breach held*"]
        )

    SCOPED = """
        import time
        from pathlib import Path
        import pytest
        from pytest_tracer import Timer

        SETUPS = []

        @pytest.fixture(scope="session")
        def session_thing():
            SETUPS.append("session")
            yield
            SETUPS.append("session down")

        @pytest.fixture(scope="module")
        def module_thing():
            SETUPS.append("module")
            yield
            SETUPS.append("module down")

        @pytest.fixture
        def function_thing():
            SETUPS.append("function")

        def test_first(session_thing, module_thing):
            pass

        def test_last_of_module(session_thing, module_thing, function_thing):
            with Timer("slow"):
                time.sleep(0.01)
        """

    @pytest.mark.parametrize("workers", [[], ["-n", "1"]])
    def test_reruns_keep_higher_scoped_fixtures_alive(
        self, pytester: pytest.Pytester, workers: list[str]
    ) -> None:
        pytester.makepyprojecttoml('[tool.pytest-tracer.thresholds]\nslow = "1ms"')
        pytester.makepyfile(test_scoped=self.SCOPED)
        pytester.makeconftest(
            """
            import test_scoped

            def pytest_sessionfinish(session):
                # On the process that ran the tests (a worker under xdist).
                if test_scoped.SETUPS:
                    path = session.config.rootpath / "setups.txt"
                    path.write_text(repr(test_scoped.SETUPS))
            """
        )
        result = pytester.runpytest("--timer-confirm=2", *workers)
        result.assert_outcomes(passed=1, failed=1)
        result.stdout.fnmatch_lines(
            ["*test_last_of_module: 3 runs, the breach held every time"]
        )
        # Three runs of the function fixture; one of each above it.
        assert (pytester.path / "setups.txt").read_text() == (
            "['session', 'module', 'function', 'function', 'function',"
            " 'module down', 'session down']"
        )

    def test_a_rerun_that_fails_otherwise_is_said_so(
        self, pytester: pytest.Pytester
    ) -> None:
        pytester.makepyprojecttoml('[tool.pytest-tracer.thresholds]\nslow = "1ms"')
        pytester.makepyfile(
            """
            import time
            from pytest_tracer import Timer

            RUNS = []

            def test_breach_then_assertion():
                RUNS.append(1)
                if len(RUNS) == 1:
                    with Timer("slow"):
                        time.sleep(0.01)
                else:
                    assert False, "a failure of its own"
            """
        )
        result = pytester.runpytest("--timer-confirm=2")
        result.assert_outcomes(failed=1)
        result.stdout.fnmatch_lines(
            [
                "*test_breach_then_assertion: 2 runs, the breach did not hold on"
                " the last run, which failed for another reason"
            ]
        )
        result.stdout.no_fnmatch_line("*held every time*")

    def test_a_teardown_breach_is_confirmed_in_the_summary(
        self, pytester: pytest.Pytester
    ) -> None:
        pytester.makepyprojecttoml('[tool.pytest-tracer.thresholds]\nslow = "1ms"')
        pytester.makepyfile(
            """
            import time
            import pytest
            from pytest_tracer import Timer

            @pytest.fixture
            def slow_teardown():
                yield
                with Timer("slow"):
                    time.sleep(0.01)

            def test_with_slow_teardown(slow_teardown):
                pass
            """
        )
        result = pytester.runpytest("--timer-confirm=1")
        result.assert_outcomes(passed=1, errors=1)
        result.stdout.fnmatch_lines(
            ["*test_with_slow_teardown: 2 runs, the breach held every time"]
        )

    def test_an_ordinary_failure_is_not_rerun(self, pytester: pytest.Pytester) -> None:
        pytester.makepyfile(
            """
            calls = []

            def test_wrong():
                calls.append(1)
                assert False

            def test_ran_once():
                assert len(calls) == 1
            """
        )
        result = pytester.runpytest("--timer-confirm=3")
        result.assert_outcomes(passed=1, failed=1)


def test_a_label_cannot_drive_the_terminal(
    file_suite: pytest.Pytester, monkeypatch: pytest.MonkeyPatch
) -> None:
    nasty = "x\x1b[2J\x1b]0;owned\x07\ry"
    file_suite.runpytest(f"--timer-save={nasty}", f"--timer-branch={nasty}")
    result = run_with(file_suite, monkeypatch, 0.02, f"--timer-compare={nasty}")
    result.assert_outcomes(failed=1)
    text = result.stdout.str()
    assert not set(text) & {"\x1b", "\x07", "\r"}
    result.stdout.fnmatch_lines(["*= timers compared with run 1 *x*[[]2J*"])


@pytest.mark.parametrize("label", ["latest", "last", "last:2", "branch:main", "file:x"])
def test_a_label_compare_would_read_as_another_baseline_is_refused(
    file_suite: pytest.Pytester, label: str
) -> None:
    result = file_suite.runpytest(f"--timer-save={label}")
    assert result.ret == pytest.ExitCode.USAGE_ERROR
    result.stderr.fnmatch_lines(
        [f"ERROR: --timer-save={label}: --timer-compare={label} means another*"]
    )
    assert not (file_suite.path / ".pytest-tracer").exists()


class TestIncompleteRuns:
    INTERRUPTING = """
        import os
        import time
        from pytest_tracer import Timer

        def test_work():
            for _ in range(20):
                with Timer("work"):
                    time.sleep(0.002)

        def test_stop():
            if os.environ.get("INTERRUPT"):
                raise KeyboardInterrupt
        """

    def saved(self, suite: pytest.Pytester) -> list[tuple[int, str | None, str | None]]:
        with open_store(store_of(suite)) as store:
            return [
                (run.run_id, run.meta.label, run.meta.incomplete)
                for run in store.runs()
            ]

    def test_partial_and_empty_runs_are_marked_and_never_become_latest(
        self, suite: pytest.Pytester, monkeypatch: pytest.MonkeyPatch
    ) -> None:
        suite.makepyfile(test_suite=self.INTERRUPTING)
        suite.runpytest("--timer-save=whole").assert_outcomes(passed=2)
        monkeypatch.setenv("INTERRUPT", "1")
        # In a process of its own: Ctrl-C must not reach the process running this.
        interrupted = suite.runpytest_subprocess("--timer-save=nightly")
        assert interrupted.ret == pytest.ExitCode.INTERRUPTED
        monkeypatch.delenv("INTERRUPT")
        suite.runpytest("--co", "--timer-save")
        suite.runpytest("-k", "nomatch", "--timer-save")

        assert self.saved(suite) == [
            (4, None, "no test ran"),
            (3, None, "collect only"),
            (2, "nightly", "interrupted"),
            (1, "whole", None),
        ]
        latest = suite.runpytest("--timer-compare")
        latest.stdout.fnmatch_lines(["*= timers compared with run 1 'whole' *"])
        named = suite.runpytest("--timer-compare=nightly")
        named.stdout.fnmatch_lines(
            [
                "*= timers compared with run 2 'nightly' (*incomplete: interrupted) =*",
                "the baseline run 2 'nightly' * is incomplete (interrupted): *",
            ]
        )

    def test_only_incomplete_runs_leave_nothing_to_compare_with(
        self, suite: pytest.Pytester
    ) -> None:
        suite.runpytest("--co", "--timer-save")
        result = suite.runpytest("--timer-compare", "--timer-require-baseline")
        assert result.ret == pytest.ExitCode.USAGE_ERROR
        result.stderr.fnmatch_lines(
            ["ERROR: --timer-compare=latest found no saved run*"]
        )

    def test_a_baseline_sharing_no_timer_is_said_loudly(
        self, suite: pytest.Pytester
    ) -> None:
        suite.makepyfile(
            test_other="""
            from pytest_tracer import Timer

            def test_other():
                with Timer("other"):
                    pass
            """
        )
        suite.runpytest("test_other.py", "--timer-save").assert_outcomes(passed=1)
        result = suite.runpytest("test_suite.py", "--timer-compare")
        result.assert_outcomes(passed=1)
        assert result.ret == pytest.ExitCode.OK
        result.stdout.fnmatch_lines(
            ["WARNING: nothing was compared: no timer of this run is in the baseline*"]
        )
        required = suite.runpytest(
            "test_suite.py", "--timer-compare", "--timer-require-baseline"
        )
        assert required.ret == pytest.ExitCode.USAGE_ERROR


#: A test body that breaks the history while the tests run (a disk fills).
BREAK_HISTORY = """
    path = pytestconfig.rootpath / ".pytest-tracer" / "history.sqlite"
    for extra in ("-wal", "-shm"):
        path.with_name(path.name + extra).unlink(missing_ok=True)
    path.write_bytes(b"garbage" * 100)
"""


def test_a_failed_save_keeps_the_exit_status_of_failing_tests(
    file_suite: pytest.Pytester,
) -> None:
    file_suite.makepyfile(
        test_fails=f"def test_wrong(pytestconfig):{BREAK_HISTORY}    assert False\n"
    )
    result = file_suite.runpytest("--timer-save")
    assert result.ret == pytest.ExitCode.TESTS_FAILED
    result.stdout.fnmatch_lines(["could not save this run: *is not a SQLite database*"])
    (file_suite.path / "test_fails.py").unlink()
    (file_suite.path / ".pytest-tracer" / "history.sqlite").unlink()
    file_suite.makepyfile(
        test_breaks=f"def test_breaks_it(pytestconfig):{BREAK_HISTORY}"
    )
    passing = file_suite.runpytest("--timer-save")
    assert passing.ret == pytest.ExitCode.USAGE_ERROR
