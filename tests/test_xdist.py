from __future__ import annotations

import json
import marshal

import pytest

from pytest_tracer._results import SCHEMA_VERSION

pytest.importorskip("xdist")

OPS = """
import time
from pytest_tracer import Timer

def op(name, seconds=0.0):
    with Timer(name):
        time.sleep(seconds)
"""


@pytest.fixture
def project(pytester: pytest.Pytester) -> pytest.Pytester:
    pytester.makepyfile(ops=OPS)
    pytester.syspathinsert()
    pytester.makepyprojecttoml(
        """
        [tool.pytest-tracer.thresholds]
        slow = "150ms"
        """
    )
    return pytester


def test_workers_timings_all_reach_the_report(project: pytest.Pytester) -> None:
    project.makepyfile(
        """
        import pytest
        from ops import op

        @pytest.mark.parametrize("i", range(20))
        def test_many(i):
            op("shared")
            op(f"only_{i % 2}")
        """
    )
    result = project.runpytest("-n", "2", "--timer-report")
    result.assert_outcomes(passed=20)
    result.stdout.fnmatch_lines_random(
        ["*shared * 20 *", "*only_0 * 10 *", "*only_1 * 10 *"]
    )


def test_a_breach_fails_the_right_test_under_xdist(project: pytest.Pytester) -> None:
    project.makepyfile(
        """
        import pytest
        from ops import op

        @pytest.mark.parametrize("i", range(6))
        def test_some_slow(i):
            op("slow", 0.4 if i == 3 else 0.0)
        """
    )
    result = project.runpytest("-n", "2")
    result.assert_outcomes(passed=5, failed=1)
    result.stdout.fnmatch_lines(
        [
            "*test_some_slow?3?: timer 'slow' took*over its limit of 150 ms*",
            "FAILED *test_some_slow?3?*",
        ]
    )
    result.stdout.no_fnmatch_line("*INTERNALERROR*")


def test_session_timings_of_workers_reach_the_controller(
    project: pytest.Pytester,
) -> None:
    project.makeconftest("from ops import op\nop('at_collection')")
    project.makepyfile("def test_a(): pass\ndef test_b(): pass")
    result = project.runpytest("-n", "2", "--timer-report")
    result.assert_outcomes(passed=2)
    # Every worker (and the controller) imports the conftest once.
    result.stdout.fnmatch_lines(["*at_collection * 3 *"])


def test_a_crashing_worker_loses_only_the_test_it_was_running(
    project: pytest.Pytester,
) -> None:
    project.makepyfile(
        """
        import os
        import pytest
        from ops import op

        @pytest.mark.parametrize("i", range(8))
        def test_work(i):
            op("work")
            if i == 4:
                os._exit(1)
        """
    )
    result = project.runpytest("-n", "2", "--timer-report")
    result.assert_outcomes(passed=7, failed=1)
    result.stdout.fnmatch_lines(["*worker * crashed while running*test_work?4?*"])
    result.stdout.fnmatch_lines(["*work * 7 *"])


CARRIED = """
import pytest

WORKER = []


def pytest_configure(config):
    WORKER.append(hasattr(config, "workerinput"))


@pytest.hookimpl(tryfirst=True)
def pytest_runtest_logreport(report):
    if not WORKER[0] and hasattr(report, "pytest_tracer"):
        with open("carried.txt", "a") as carried:
            carried.write(report.nodeid + "\\n")
    if not WORKER[0] and hasattr(report, "pytest_tracer_held"):
        with open("held.txt", "a") as held:
            held.write(report.nodeid + "\\n")
"""


@pytest.mark.parametrize("option", [[], ["--timer-report"]])
def test_without_per_test_outputs_only_results_that_broke_travel(
    project: pytest.Pytester, option: list[str]
) -> None:
    """The controller that keeps no timings per test tells the workers so: a
    passing test's result stays on its worker, and only its names follow."""
    project.makeconftest(CARRIED)
    project.makepyfile(
        test_work="""
        import pytest
        from ops import op

        @pytest.mark.parametrize("i", range(6))
        def test_work(i):
            op("slow", 0.4 if i == 3 else 0.0)
        """
    )
    result = project.runpytest("-n", "2", *option)
    result.assert_outcomes(passed=5, failed=1)
    carried = project.path.joinpath("carried.txt").read_text().split()
    if option:
        # The report merges timings by name: bodies that held their limits
        # travel as timed, the one that broke them as its result.
        assert carried == ["test_work.py::test_work[3]"]
        held = project.path.joinpath("held.txt").read_text().split()
        assert sorted(held) == [
            f"test_work.py::test_work[{i}]" for i in (0, 1, 2, 4, 5)
        ]
        result.stdout.fnmatch_lines(["*= timer report =*", "*slow*6*"])
    else:
        assert not project.path.joinpath("held.txt").exists()
        assert carried == ["test_work.py::test_work[3]"]
        result.stdout.fnmatch_lines(
            ["*= timers over their limits =*", "test_work.py::test_work[[]3[]]: *"]
        )


TAKER = """
def pytest_tracer_test_result(config, result):
    with open("taken.txt", "a") as taken:
        taken.write(result.test_id + "\\n")
"""


def test_a_plugin_that_takes_each_tests_result_gets_all_of_them(
    project: pytest.Pytester,
) -> None:
    """A hook implementation on the controller is a reader of every result:
    the workers then send each one, also for tests that passed."""
    project.makeconftest(CARRIED + TAKER)
    project.makepyfile(
        test_work="""
        import pytest
        from ops import op

        @pytest.mark.parametrize("i", range(4))
        def test_work(i):
            op("fast")
        """
    )
    project.runpytest("-n", "2").assert_outcomes(passed=4)
    expected = [f"test_work.py::test_work[{i}]" for i in range(4)]
    assert sorted(project.path.joinpath("taken.txt").read_text().split()) == expected
    assert sorted(project.path.joinpath("carried.txt").read_text().split()) == expected


@pytest.mark.parametrize("option", [[], ["--timer-report"]])
def test_names_lost_with_a_crashed_worker_name_no_limit_as_unmatched(
    project: pytest.Pytester, option: list[str]
) -> None:
    """A crashed worker never sent what its last test timed (nor, when the
    controller keeps nothing per test, what the others timed): the run
    cannot tell which limits no timer met, so it does not say."""
    project.makepyprojecttoml(
        '[tool.pytest-tracer.thresholds]\nearly = "10s"\ndoomed = "10s"\nlate = "10s"\n'
    )
    project.makepyfile(
        """
        import os
        from ops import op

        def test_0():
            op("early")

        def test_1():
            op("doomed")
            os._exit(1)

        def test_2():
            op("late")
        """
    )
    result = project.runpytest("-n", "1", *option)
    result.assert_outcomes(passed=2, failed=1)
    result.stdout.fnmatch_lines(["*worker * crashed while running*test_1*"])
    result.stdout.no_fnmatch_line("*matched no timer*")


def test_each_tests_status_survives_the_trip_to_the_controller(
    project: pytest.Pytester, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Limits that applied to each test (markers too) cross xdist with it."""
    monkeypatch.setenv("COLUMNS", "120")
    project.makepyfile(
        """
        import pytest
        from ops import op

        @pytest.mark.timer_thresholds(slow="5s")
        def test_loosened():
            op("slow", 0.2)

        def test_over():
            op("slow", 0.2)
        """
    )
    result = project.runpytest(
        "-n", "2", "--timer-report", "--timer-report-per-test", "--timer-no-enforce"
    )
    result.assert_outcomes(passed=2)
    result.stdout.fnmatch_lines(["slow *varies (2 sets) *OVER 1/2"])
    result.stdout.fnmatch_lines(["*::test_loosened", "  slow * max 5 s *ok"])
    result.stdout.fnmatch_lines(["*::test_over", "  slow * max 150 ms *OVER"])


SNEAKY_SAVER = """
import pytest
from pytest_tracer._history.meta import collect_run_meta
from pytest_tracer._history.store import TimingRecord, open_store


@pytest.hookimpl(tryfirst=True)
def pytest_configure(config):
    # On each worker, before pytest-tracer configures it: a run saved while
    # the job starts, a hundred times faster than the real baseline.
    if not hasattr(config, "workerinput"):
        return
    meta = collect_run_meta(config.rootpath, label="sneaky", workers=0,
                            pytest_version="x")
    record = TimingRecord("test_work.py::test_work", "work", 20, 4e-4, 2e-5, 2e-5,
                          2e-5, 2e-5, (2e-5,) * 20)
    with open_store(config.rootpath / ".pytest-tracer" / "history.sqlite") as s:
        s.save_run(meta, [record])
"""


def test_workers_compare_with_the_runs_the_controller_chose(
    pytester: pytest.Pytester,
) -> None:
    """A run saved as workers start does not become their baseline."""
    pytester.makepyfile(
        test_work="""
        import time
        from pytest_tracer import Timer

        def test_work():
            for _ in range(20):
                with Timer("work"):
                    time.sleep(0.002)
        """,
    )
    pytester.makeconftest(SNEAKY_SAVER)
    pytester.makepyprojecttoml('[tool.pytest-tracer]\ntolerance = "300%"')
    pytester.runpytest("--timer-save=base").assert_outcomes(passed=1)
    result = pytester.runpytest("-n", "2", "--timer-compare")
    result.assert_outcomes(passed=1)
    result.stdout.fnmatch_lines(
        ["*= timers compared with run 1 'base' *", "UNCHANGED *test_work  work"]
    )
    result.stdout.no_fnmatch_line("SLOWER*")


def _report() -> pytest.TestReport:
    return pytest.TestReport(
        "t.py::test_x", ("t.py", 0, "test_x"), {}, "passed", None, "call"
    )


def test_a_result_crosses_as_one_string_and_comes_back_equal() -> None:
    """What a worker puts on the report is rebuilt, then taken off it."""
    from pytest_tracer import _xdist
    from pytest_tracer._config import Limit
    from pytest_tracer._results import Breach, PhaseResult, TimerResult
    from pytest_tracer._stats import Accumulator

    stats = Accumulator()
    for value in (0.001, 0.003):
        stats.add(value)
    limit = Limit("max", 0.002, "pyproject.toml")
    result = PhaseResult(
        "t.py::test_x",
        "call",
        (TimerResult("db", stats, (limit,)),),
        (Breach("db", "max", 0.003, 2, limit),),
    )
    report = _report()
    _xdist.Sender(None).send(report, result)
    assert isinstance(report.pytest_tracer, str)
    json.dumps(report.pytest_tracer)  # what a report log writes
    back = _xdist.read(report)
    assert back is not None
    assert not hasattr(report, "pytest_tracer")
    assert _xdist.read(report) is None
    assert back.breaches == result.breaches
    (timer,) = back.timers
    assert (timer.name, timer.limits, timer.stats.samples) == (
        "db",
        (limit,),
        (0.001, 0.003),
    )


def test_a_worker_leaves_out_only_limits_the_controller_reads_alike(
    pytester: pytest.Pytester,
) -> None:
    """The controller names its limits in workerinput; a worker whose own
    differ (another pyproject) sends its limits in full."""
    from pytest_tracer import _xdist
    from pytest_tracer._config import Thresholds

    pytester.makepyprojecttoml('[tool.pytest-tracer.thresholds]\nslow = "150ms"\n')
    config = pytester.parseconfig()
    thresholds = Thresholds().with_overrides({"slow": "150ms"}, "here")
    other = Thresholds().with_overrides({"slow": "1s"}, "here")
    assert not _xdist.limits_agreed(config, thresholds)  # not a worker
    config.workerinput = _xdist.limits_input(thresholds)  # type: ignore[attr-defined]
    assert _xdist.limits_agreed(config, thresholds)
    assert not _xdist.limits_agreed(config, other)


def _marshalled(data: dict[str, object]) -> str:
    return marshal.dumps(data, 4).decode("latin-1")


@pytest.mark.parametrize(
    ("payload", "message"),
    [
        (
            '{"version": 3, "test"',
            "timings on the report of t.py::test_x: .*is the same pytest-tracer"
            " version on the controller and the workers",
        ),
        (_marshalled({"version": 2}), f"schema version 2, expected {SCHEMA_VERSION}"),
        (
            _marshalled({"version": SCHEMA_VERSION, "test": "t"}),
            "damaged timings: 'timers'",
        ),
        (b"\xfb", "expected a string, got bytes"),
    ],
)
def test_a_damaged_or_foreign_payload_is_a_clear_error(
    payload: object, message: str
) -> None:
    from pytest_tracer import _xdist
    from pytest_tracer._results import ResultError

    report = _report()
    report.pytest_tracer = payload  # type: ignore[attr-defined]
    with pytest.raises(ResultError, match=message):
        _xdist.read(report)


def test_held_timings_cross_as_timed_with_the_controllers_limits() -> None:
    """A body that broke no pyproject limit travels as names and values; one
    with a marker's limits travels as its result (which says which held)."""
    from pytest_tracer import _xdist
    from pytest_tracer._config import Thresholds

    thresholds = Thresholds().with_overrides({"db": "1s"}, "pyproject.toml")
    marked = thresholds.with_overrides({"db": "5s"}, "a marker")
    shared = thresholds.limits_for
    take = _xdist.Sender(shared, held=True).held_taker()
    assert take is not None
    report = _report()
    take(report, [("db", [0.001, 0.002], shared("db")), ("free", [0.5], ())])
    assert not hasattr(report, "pytest_tracer")
    json.dumps(getattr(report, _xdist.HELD_ATTRIBUTE))  # what a report log writes
    assert _xdist.read_held(report, shared) == [
        ("db", [0.001, 0.002], shared("db")),
        ("free", [0.5], ()),
    ]
    assert _xdist.read_held(report, shared) is None  # taken off the report
    marked_report = _report()
    take(marked_report, [("db", [0.001], marked.limits_for("db"))])
    assert not hasattr(marked_report, _xdist.HELD_ATTRIBUTE)
    result = _xdist.read(marked_report, shared)
    assert result is not None
    assert [(t.name, t.limits, t.stats.count) for t in result.timers] == [
        ("db", marked.limits_for("db"), 1)
    ]
    # Brief, without the controller's limits, or not asked: no held timings.
    assert _xdist.Sender(shared, held=True, brief=True).sends_held is False
    assert _xdist.Sender(None, held=True).held_taker() is None
    assert _xdist.Sender(shared).held_taker() is None


@pytest.mark.parametrize(
    ("data", "message"),
    [
        ([2, "t.py::test_x", []], f"schema version 2, expected {SCHEMA_VERSION}"),
        ([SCHEMA_VERSION, "t.py::test_y", []], "expected the timers of t.py::test_x"),
        ([SCHEMA_VERSION, "t.py::test_x", [["db", ["1"]]]], "in seconds"),
        ([SCHEMA_VERSION, "t.py::test_x", [["db", [float("inf")]]]], "in seconds"),
        ([SCHEMA_VERSION, "t.py::test_x", [["db", [float("nan")]]]], "in seconds"),
        ([SCHEMA_VERSION, "t.py::test_x", [["db", [-0.5]]]], "in seconds"),
        ([SCHEMA_VERSION, "t.py::test_x", [["db", []]]], "in seconds"),
        ([SCHEMA_VERSION, "t.py::test_x", [["db", [0.1]], ["db", [0.2]]]], "once"),
        ([SCHEMA_VERSION, "t.py::test_x", [["db"]]], "is the same pytest-tracer"),
        ({"version": SCHEMA_VERSION}, r"expected \[version, test, timers\]"),
    ],
)
def test_damaged_held_timings_are_a_clear_error(
    data: list[object] | dict[str, object], message: str
) -> None:
    from pytest_tracer import _xdist
    from pytest_tracer._results import ResultError

    report = _report()
    setattr(report, _xdist.HELD_ATTRIBUTE, marshal.dumps(data, 4).decode("latin-1"))
    with pytest.raises(
        ResultError, match=f"timings on the report of t.py::test_x: .*{message}"
    ):
        _xdist.read_held(report, lambda name: ())
