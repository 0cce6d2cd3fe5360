from __future__ import annotations

import pytest

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
