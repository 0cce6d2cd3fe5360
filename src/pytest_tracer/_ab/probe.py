"""A pytest plugin for one side's run of an A/B round: writes what it measured.

The A/B command loads it with ``-p pytest_tracer._ab.probe`` and
``--timer-ab-output=PATH``; at the end of the session the reporting process
writes each test's timings (the kept samples of every timer) there as
versioned JSON. Nothing else loads it.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Final

import pytest

from pytest_tracer._results import RunResults

#: Bumped whenever the file's form changes incompatibly.
VERSION: Final = 1
OPTION: Final = "--timer-ab-output"


def pytest_addoption(parser: pytest.Parser) -> None:
    parser.addoption(
        OPTION, metavar="PATH", help="Write this run's timings for the A/B command"
    )


@pytest.hookimpl(trylast=True)
def pytest_configure(config: pytest.Config) -> None:
    path = config.getoption("timer_ab_output")
    summary = config.pluginmanager.get_plugin("pytest-tracer-summary")
    if path is None or summary is None:  # an xdist worker, or nothing asked
        return
    summary.results.keep_per_test = True
    summary.finishers.append(lambda session, results: write(Path(path), results))


def write(path: Path, results: RunResults) -> None:
    """Every test's timers as ``{test: {name: [samples]}}``, with counts."""
    tests = {
        test_id: {
            name: {"count": stats.count, "samples": list(stats.samples)}
            for name, stats in table.timers.items()
            if stats.count
        }
        for test_id, table in results.by_test.items()
    }
    path.write_text(json.dumps({"version": VERSION, "tests": tests}), encoding="utf-8")
