"""``python -m pytest_tracer export``: a saved run as JSON, BMF and
github-action-benchmark input, read back and checked."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from runs import timed_project

SUITE = """
from ops import op

op("at_import")

def test_parse():
    for _ in range(5):
        op("parse", 0.001)

def test_query():
    op("db_query", 0.002)
"""


@pytest.fixture
def saved(pytester: pytest.Pytester) -> pytest.Pytester:
    timed_project(pytester, SUITE)
    pytester.runpytest("--timer-save=first").assert_outcomes(passed=2)
    result = pytester.runpytest("--timer-save", "--timer-json=run.json")
    result.assert_outcomes(passed=2)
    return pytester


def export(root: Path, *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "pytest_tracer", "export", *args],
        cwd=root,
        capture_output=True,
        text=True,
        check=False,
        timeout=60,
    )


def loads(text: str) -> Any:
    return json.loads(text)


def test_json_is_the_document_of_timer_json(saved: pytest.Pytester) -> None:
    done = export(saved.path)
    assert done.returncode == 0, done.stderr
    exported = loads(done.stdout)
    written = loads((saved.path / "run.json").read_text(encoding="utf-8"))
    assert exported["schema"] == written["schema"] == 1
    assert set(exported) == set(written)
    assert set(exported["run"]) == set(written["run"])
    assert exported["run"]["id"] == 2
    assert exported["run"]["label"] is None
    assert exported["run"]["commit"] == written["run"]["commit"]
    assert exported["run"]["duration"] is None
    by_key = {(t["test"], t["name"]): t for t in written["timers"]}
    for timer in exported["timers"]:
        same = by_key[timer["test"], timer["name"]]
        assert set(timer) == set(same)
        for key in ("count", "total", "min", "max", "median", "p95"):
            assert timer[key] == pytest.approx(same[key]), key
        assert sorted(timer["samples"]) == sorted(same["samples"])
    assert {(t["test"], t["name"]) for t in exported["timers"]} == set(by_key)
    assert ("<session>", "at_import") in by_key


def test_a_label_or_an_id_selects_the_run(saved: pytest.Pytester) -> None:
    by_label = loads(export(saved.path, "first").stdout)
    by_id = loads(export(saved.path, "1").stdout)
    assert by_label["run"]["id"] == by_id["run"]["id"] == 1
    assert by_label["run"]["label"] == "first"


def test_bmf_gives_nanoseconds_per_test_and_timer(saved: pytest.Pytester) -> None:
    out = saved.path / "out" / "bmf.json"
    done = export(saved.path, "--format", "bmf", "-o", str(out))
    assert (done.returncode, done.stdout) == (0, "")
    bmf = loads(out.read_text(encoding="utf-8"))
    assert set(bmf) == {
        "<session>::at_import",
        "test_suite.py::test_parse::parse",
        "test_suite.py::test_query::db_query",
    }
    parse = bmf["test_suite.py::test_parse::parse"]
    assert set(parse) == {"latency"}
    latency = parse["latency"]
    assert latency["lower_value"] <= latency["value"] <= latency["upper_value"]
    assert 1e6 <= latency["value"] < 1e9  # a 1 ms sleep, in ns


def test_github_action_benchmark_is_custom_smaller_is_better(
    saved: pytest.Pytester,
) -> None:
    entries = loads(export(saved.path, "--format", "github-action-benchmark").stdout)
    assert isinstance(entries, list)
    names = [entry["name"] for entry in entries]
    assert "test_suite.py::test_query::db_query" in names
    for entry in entries:
        assert set(entry) == {"name", "unit", "value", "range", "extra"}
        assert entry["unit"] == "ns"
        assert isinstance(entry["value"], float)
        assert entry["range"].startswith("± ")
        assert entry["extra"].startswith("calls: ")
    query = entries[names.index("test_suite.py::test_query::db_query")]
    assert query["value"] >= 2e6


def test_errors_are_one_line_and_a_status(pytester: pytest.Pytester) -> None:
    done = export(pytester.path)
    assert done.returncode == 1
    assert done.stderr.count("\n") == 1
    assert "no history at" in done.stderr
    timed_project(pytester, SUITE)
    pytester.runpytest("--timer-save").assert_outcomes(passed=2)
    missing = export(pytester.path, "nosuchlabel")
    assert missing.returncode == 1
    assert missing.stderr.startswith("pytest-tracer export: no run 'nosuchlabel' in ")
    bad = export(pytester.path, "--format", "xml")
    assert bad.returncode == 2
    assert "invalid choice: 'xml'" in bad.stderr
