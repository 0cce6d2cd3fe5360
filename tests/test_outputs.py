"""The files a run writes (JSON, Markdown, JUnit properties) and the hooks,
checked by parsing what real pytest runs wrote, serial and under ``-n 2``."""

from __future__ import annotations

import json
import platform
import xml.etree.ElementTree as ET
from pathlib import Path
from typing import Any

import pytest

from pytest_tracer._config import Limit
from pytest_tracer._render.markdown import summary_markdown
from pytest_tracer._results import Breach, PhaseResult, RunResults, TimerResult
from pytest_tracer._stats import Accumulator
from runs import timed_project

SERIAL_AND_XDIST = pytest.mark.parametrize(
    "args", [(), ("-n", "2")], ids=["serial", "xdist"]
)


SUITE = """
import pytest
from ops import op

op("at_import")

def test_fast():
    op("parse")
    op("parse")

def test_slow():
    op("db_query", 0.03)

@pytest.mark.timer_thresholds(parse="5s")
def test_marked():
    op("parse")
"""


@pytest.fixture
def project(pytester: pytest.Pytester) -> pytest.Pytester:
    return timed_project(pytester, SUITE)


def read_json(path: Path) -> dict[str, Any]:
    document: dict[str, Any] = json.loads(path.read_text(encoding="utf-8"))
    return document


def markdown_tables(text: str) -> dict[str, list[list[str]]]:
    """Each table under its ``###`` heading, as rows of cells; checks the shape."""
    tables: dict[str, list[list[str]]] = {}
    heading = ""
    for line in text.splitlines():
        if line.startswith("### "):
            heading = line[4:]
        elif line.startswith("|"):
            assert line.endswith(" |"), line
            cells = [c.strip() for c in line[1:-1].replace("\\|", "\0").split("|")]
            tables.setdefault(heading, []).append([c.replace("\0", "|") for c in cells])
    for heading, rows in tables.items():
        assert all(len(row) == len(rows[0]) for row in rows), heading
        assert set("".join(rows[1])) <= set("-: "), rows[1]  # the delimiter row
    return {heading: rows[2:] for heading, rows in tables.items()}


class TestJson:
    @SERIAL_AND_XDIST
    def test_the_document_holds_every_timer_limit_and_breach(
        self, project: pytest.Pytester, args: tuple[str, ...]
    ) -> None:
        result = project.runpytest("--timer-json=out/timers.json", *args)
        result.assert_outcomes(passed=2, failed=1)
        path = project.path / "out" / "timers.json"
        result.stdout.fnmatch_lines([f"wrote the timer JSON to {path}"])
        document = read_json(path)
        assert document["schema"] == 1
        assert set(document) == {"schema", "run", "timers", "breaches"}
        run = document["run"]
        assert run["workers"] == (2 if args else 0)
        assert run["python"] == (
            f"{platform.python_implementation()} {platform.python_version()}"
        )
        assert run["pytest"] == pytest.__version__
        assert run["duration"] > 0
        assert len(run["fingerprint"]) == 10
        timers = {(t["test"], t["name"]): t for t in document["timers"]}
        assert set(timers) == {
            ("<session>", "at_import"),
            ("test_suite.py::test_fast", "parse"),
            ("test_suite.py::test_slow", "db_query"),
            ("test_suite.py::test_marked", "parse"),
        }
        fast = timers["test_suite.py::test_fast", "parse"]
        assert fast["count"] == 2
        assert 0 <= fast["min"] <= fast["median"] <= fast["max"] < 1
        assert fast["total"] == pytest.approx(fast["mean"] * 2)
        assert fast["status"] == "ok"
        assert [x["limit"] for x in fast["limits"]] == [1.0]
        marked = timers["test_suite.py::test_marked", "parse"]
        assert [x["limit"] for x in marked["limits"]] == [5.0]
        assert "timer_thresholds" in marked["limits"][0]["source"]
        slow = timers["test_suite.py::test_slow", "db_query"]
        assert slow["status"] == "over"
        assert timers["<session>", "at_import"]["status"] is None
        (breach,) = document["breaches"]
        assert breach["test"] == "test_suite.py::test_slow"
        assert breach["name"] == "db_query"
        assert breach["statistic"] == "max"
        assert breach["measured"] > breach["limit"] == 0.01
        assert breach["enforced"] is True
        assert "pyproject.toml" in breach["source"]

    def test_comparisons_are_listed_when_comparing(
        self, project: pytest.Pytester
    ) -> None:
        project.runpytest("--timer-save=base").assert_outcomes(passed=2, failed=1)
        result = project.runpytest(
            "--timer-compare=base", "--timer-json=timers.json", "--timer-no-enforce"
        )
        result.assert_outcomes(passed=3)
        comparisons = read_json(project.path / "timers.json")["comparisons"]
        rows = {(c["test"], c["name"]) for c in comparisons}
        assert ("test_suite.py::test_slow", "db_query") in rows
        for comparison in comparisons:
            assert comparison["verdict"] in {
                "slower",
                "faster",
                "unchanged",
                "insufficient",
            }
            assert comparison["baseline_median"] > 0
            assert "'base'" in comparison["baseline"]

    def test_the_path_can_be_set_in_pyproject_relative_to_it(
        self, project: pytest.Pytester
    ) -> None:
        project.makepyprojecttoml('[tool.pytest-tracer]\njson = "reports/t.json"\n')
        sub = project.mkdir("elsewhere")
        result = project.runpytest("--rootdir", str(project.path), str(project.path))
        result.assert_outcomes(passed=3)
        assert read_json(project.path / "reports" / "t.json")["schema"] == 1
        assert not (sub / "reports").exists()

    def test_a_directory_as_the_path_is_a_usage_error(
        self, project: pytest.Pytester
    ) -> None:
        project.mkdir("out")
        result = project.runpytest("--timer-json=out")
        assert result.ret == pytest.ExitCode.USAGE_ERROR
        result.stderr.fnmatch_lines(
            ["*--timer-json: * is a directory, expected a file path"]
        )
        assert "Traceback" not in result.stderr.str()

    def test_a_bad_value_in_pyproject_is_a_usage_error(
        self, project: pytest.Pytester
    ) -> None:
        project.makepyprojecttoml("[tool.pytest-tracer]\njson = 5\n")
        result = project.runpytest()
        assert result.ret == pytest.ExitCode.USAGE_ERROR
        result.stderr.fnmatch_lines(
            [
                '*pyproject.toml: [[]tool.pytest-tracer[]] "json" = 5: '
                "expected a file path*"
            ]
        )


class TestMarkdown:
    @SERIAL_AND_XDIST
    def test_the_summary_tables_parse(
        self, project: pytest.Pytester, args: tuple[str, ...]
    ) -> None:
        result = project.runpytest("--timer-markdown=summary.md", *args)
        result.assert_outcomes(passed=2, failed=1)
        text = (project.path / "summary.md").read_text(encoding="utf-8")
        assert text.startswith("## pytest-tracer\n")
        assert "3 timers · 3 tests with timings · **1 over its limit**" in text
        tables = markdown_tables(text)
        timers = {row[0]: row for row in tables["Timers"]}
        assert set(timers) == {"`parse`", "`db_query`", "`at_import`"}
        assert timers["`parse`"][1] == "3"
        assert timers["`parse`"][5] == "varies (2 sets)"
        assert timers["`db_query`"][6] == "**OVER**"
        (breach,) = tables["Breaches"]
        assert breach[:2] == ["`test_suite.py::test_slow`", "`db_query`"]
        assert breach[3] == "10 ms"

    def test_the_step_summary_is_appended_to_other_files_replaced(
        self, project: pytest.Pytester, monkeypatch: pytest.MonkeyPatch
    ) -> None:
        step = project.path / "step.md"
        step.write_text("# Tests\nfrom another tool", encoding="utf-8")
        other = project.path / "other.md"
        other.write_text("old content\n", encoding="utf-8")
        monkeypatch.setenv("GITHUB_STEP_SUMMARY", str(step))
        for _ in range(2):
            project.runpytest("--timer-markdown", str(step), "-p", "no:randomly")
            project.runpytest("--timer-markdown", str(other))
        appended = step.read_text(encoding="utf-8")
        assert appended.startswith("# Tests\nfrom another tool\n## pytest-tracer\n")
        assert appended.count("## pytest-tracer") == 2
        replaced = other.read_text(encoding="utf-8")
        assert replaced.count("## pytest-tracer") == 1
        assert "old content" not in replaced

    def test_rows_are_cut_to_stay_under_the_budget_with_a_note(self) -> None:
        results = RunResults()
        limit = Limit("max", 1e-9, "a limit | with a pipe")
        for index in range(400):
            stats = Accumulator()
            stats.add(1e-3)
            name = f"timer_{index:03d}"
            breach = Breach(name, "max", 1e-3, 1, limit)
            results.add(
                PhaseResult(
                    f"t.py::test_{index}",
                    "call",
                    (TimerResult(name, stats, (limit,)),),
                    (breach,),
                )
            )
        whole = summary_markdown(results)
        assert len(whole.encode()) < 200_000
        assert "not shown" not in whole
        assert len(markdown_tables(whole)["Breaches"]) == 400
        budget = 20_000
        cut = summary_markdown(results, budget=budget)
        assert len(cut.encode()) <= budget
        tables = markdown_tables(cut)
        # Breaches are kept first; the timers table gives way.
        breaches, timers = len(tables["Breaches"]), len(tables.get("Timers", []))
        assert breaches > timers
        assert f"*{400 - timers} more rows not shown" in cut
        assert f"*{400 - breaches} more rows not shown" in cut or breaches == 400
        assert "a limit \\| with a pipe" in cut


class TestJunit:
    @SERIAL_AND_XDIST
    def test_each_test_case_carries_its_timings(
        self, project: pytest.Pytester, args: tuple[str, ...]
    ) -> None:
        result = project.runpytest("--junitxml=junit.xml", *args)
        result.assert_outcomes(passed=2, failed=1)
        result.stdout.no_fnmatch_line("*warnings summary*")
        root = ET.parse(project.path / "junit.xml").getroot()
        properties: dict[str, dict[str, str]] = {}
        for case in root.iter("testcase"):
            properties[case.get("name", "")] = {
                p.get("name", ""): p.get("value", "") for p in case.iter("property")
            }
        fast = properties["test_fast"]
        assert set(fast) == {
            "timer:parse:count",
            "timer:parse:median",
            "timer:parse:max",
        }
        assert fast["timer:parse:count"] == "2"
        assert 0 <= float(fast["timer:parse:median"]) <= float(fast["timer:parse:max"])
        assert float(properties["test_slow"]["timer:db_query:max"]) >= 0.03


HOOKS_CONFTEST = """
import json

SINK = []

def pytest_tracer_test_result(config, result):
    for name, timer in sorted(result.timers.items()):
        SINK.append(["test", result.test_id, name, timer.stats.count,
                     [b.name for b in result.breaches]])

def pytest_tracer_run_results(config, results):
    SINK.append(["run", sorted(results.by_name), len(results.breaches),
                 sorted(results.by_test)])
    with open("metrics.json", "w") as sink:
        json.dump(SINK, sink)
"""


class TestHooks:
    @SERIAL_AND_XDIST
    def test_a_conftest_receives_each_test_and_the_run(
        self, project: pytest.Pytester, args: tuple[str, ...]
    ) -> None:
        project.makeconftest(HOOKS_CONFTEST)
        result = project.runpytest(*args)
        result.assert_outcomes(passed=2, failed=1)
        sink = json.loads((project.path / "metrics.json").read_text(encoding="utf-8"))
        tests = sorted(tuple(entry[1:4]) for entry in sink if entry[0] == "test")
        assert tests == [
            ("test_suite.py::test_fast", "parse", 2),
            ("test_suite.py::test_marked", "parse", 1),
            ("test_suite.py::test_slow", "db_query", 1),
        ]
        slow = next(e for e in sink if e[0] == "test" and e[2] == "db_query")
        assert slow[4] == ["db_query"]
        assert sink[-1] == [
            "run",
            ["at_import", "db_query", "parse"],
            1,
            [
                "<session>",
                "test_suite.py::test_fast",
                "test_suite.py::test_marked",
                "test_suite.py::test_slow",
            ],
        ]

    def test_tests_without_timings_are_not_reported(
        self, pytester: pytest.Pytester
    ) -> None:
        pytester.makeconftest(HOOKS_CONFTEST)
        pytester.makepyfile("def test_nothing(): pass")
        pytester.runpytest().assert_outcomes(passed=1)
        sink = json.loads((pytester.path / "metrics.json").read_text(encoding="utf-8"))
        assert sink == [["run", [], 0, []]]
