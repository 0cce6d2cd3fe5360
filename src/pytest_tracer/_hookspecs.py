"""Hooks pytest-tracer calls, for other plugins and conftests.

Both are called on the process that reports the run (the xdist controller
under ``-n``), with the same typed results every output of pytest-tracer
reads::

    # conftest.py
    def pytest_tracer_test_result(config, result):
        for name, timer in result.timers.items():
            metrics.gauge(f"tests.{name}.median", timer.stats.summary().median)
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import pytest

if TYPE_CHECKING:
    from pytest_tracer._results import FinishedTest, RunResults


@pytest.hookspec
def pytest_tracer_test_result(config: pytest.Config, result: FinishedTest) -> None:
    """A test that recorded timings finished: its phases' results.

    Called once per test (per attempt kept, with ``--timer-confirm``) after
    its teardown was reported. Tests without timings are skipped.
    """


@pytest.hookspec
def pytest_tracer_run_results(config: pytest.Config, results: RunResults) -> None:
    """The session ended: every result of the run, timings outside tests included.

    Called before the terminal summary, after pytest-tracer saved the run
    (``--timer-save``) and wrote its files.
    """
