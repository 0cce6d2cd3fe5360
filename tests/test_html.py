"""The HTML report, opened in a real headless Chromium: it renders without
console errors, shows every timer name, draws its plots, and sorts."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from browser import Browser, needs_browser
from runs import THRESHOLDS, git, needs_git, timed_project

pytestmark = needs_browser


SUITE = """
import pytest
from ops import op

@pytest.mark.parametrize("i", range(5))
def test_parse(i):
    for _ in range(20):
        op("parse", 0.0005)

def test_slow():
    op("db_query", 0.03)

def test_odd_name():
    op("<script>alert(1)</script> & co", 0.0001)
"""

# Every timer section, its heading's box and its plots' drawn shapes.
SECTIONS = """
[...document.querySelectorAll('section.timer')].map(function (s) {
  var box = s.querySelector('h3').getBoundingClientRect();
  return {
    name: s.dataset.timer,
    heading: s.querySelector('h3').innerText,
    visible: box.width > 0 && box.height > 0,
    plots: [...s.querySelectorAll('svg.plot')].map(function (svg) {
      var shapes = svg.querySelectorAll('rect.bar, circle.point, path.regression');
      return {
        kind: svg.classList.contains('trend-plot') ? 'trend' : 'distribution',
        width: svg.getBoundingClientRect().width,
        drawn: [...shapes].filter(function (x) {
          return x.getBBox().width > 0;
        }).length,
        limits: svg.querySelectorAll('line.limit').length,
        titles: [...svg.querySelectorAll('title')].map(function (t) {
          return t.textContent;
        }),
      };
    }),
  };
})
"""

TIMER_COLUMN = (
    "[...document.querySelectorAll('#timers tbody tr')]"
    ".map(function (r) { return r.cells[0].innerText; })"
)


@pytest.fixture
def project(pytester: pytest.Pytester) -> pytest.Pytester:
    return timed_project(pytester, SUITE)


def load(page: Path, profile: Path) -> tuple[list[dict[str, Any]], Browser]:
    browser = Browser(profile)
    browser.open(page.resolve().as_uri())
    sections: list[dict[str, Any]] = browser.evaluate(SECTIONS)
    return sections, browser


@pytest.mark.parametrize("args", [(), ("-n", "2")], ids=["serial", "xdist"])
def test_the_report_renders_every_timer_and_its_plot(
    project: pytest.Pytester, tmp_path: Path, args: tuple[str, ...]
) -> None:
    result = project.runpytest("--timer-html=report/index.html", *args)
    result.assert_outcomes(passed=6, failed=1)
    page = project.path / "report" / "index.html"
    result.stdout.fnmatch_lines([f"wrote the timer HTML report to {page}"])
    sections, browser = load(page, tmp_path / "profile")
    with browser:
        assert browser.errors() == []
        names = {s["name"]: s for s in sections}
        odd = "<script>alert(1)</script> & co"
        assert set(names) == {"parse", "db_query", odd}
        for section in sections:
            assert section["visible"], section
            assert section["heading"] == section["name"]
            (plot,) = section["plots"]
            assert plot["kind"] == "distribution"
            assert plot["width"] > 200
            assert plot["drawn"] >= 1
        assert names["db_query"]["plots"][0]["limits"] == 2
        assert names[odd]["plots"][0]["limits"] == 0
        # The breach stands out: its own section, and its table row marked.
        assert "test_suite.py::test_slow" in browser.evaluate(
            "document.querySelector('section.breaches').innerText"
        )
        assert browser.evaluate(
            "[...document.querySelectorAll('#timers tr.over')]"
            ".map(function (r) { return r.cells[0].innerText; })"
        ) == ["db_query"]
        cards = browser.evaluate(
            "[...document.querySelectorAll('.card')].map(function (c) {"
            " return c.innerText.replace(/\\s+/g, ' '); })"
        )
        assert cards == ["3 timers", "7 tests with timings", "1 over their limits"]
        text = browser.evaluate("document.body.innerText")
        assert all(name in text for name in names)
        # Sorting by a column reorders the rows, and back.
        browser.evaluate("document.querySelectorAll('#timers th')[0].click()")
        ascending = browser.evaluate(TIMER_COLUMN)
        assert ascending == sorted(ascending, key=str.lower)
        browser.evaluate("document.querySelectorAll('#timers th')[1].click()")
        browser.evaluate("document.querySelectorAll('#timers th')[1].click()")
        assert browser.evaluate(TIMER_COLUMN)[0] == "parse"  # 100 calls, the most
        assert browser.errors() == []


@needs_git
def test_with_a_history_each_timer_has_its_trend_with_regressions_marked(
    project: pytest.Pytester, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Steps smaller than the noise floor are never marked, whatever the load.
    project.makepyprojecttoml(
        '[tool.pytest-tracer]\nnoise_floor = "3ms"\n' + THRESHOLDS
    )
    monkeypatch.setenv("SLOWDOWN", "4")  # each parse sleeps 2 ms
    git(project.path, "init", "-q")
    git(project.path, "add", "-A")
    git(project.path, "commit", "-q", "-m", "first")
    commit = git(project.path, "rev-parse", "HEAD")
    for _ in range(3):
        project.runpytest("--timer-save").assert_outcomes(passed=6, failed=1)
    monkeypatch.setenv("SLOWDOWN", "16")  # 8 ms: 6 ms slower
    result = project.runpytest("--timer-save", "--timer-html=report.html")
    result.assert_outcomes(passed=6, failed=1)
    sections, browser = load(project.path / "report.html", tmp_path / "profile")
    with browser:
        assert browser.errors() == []
        parse = next(s for s in sections if s["name"] == "parse")
        distribution, trend = parse["plots"]
        assert (distribution["kind"], trend["kind"]) == ("distribution", "trend")
        assert trend["drawn"] == 4
        assert trend["limits"] == 1
        # Each point names its run and commit; the 4x slower run is marked.
        assert all(f"commit {commit[:10]}" in title for title in trend["titles"])
        assert [t.split(" · ")[0] for t in trend["titles"]] == [
            "run 1",
            "run 2",
            "run 3",
            "run 4",
        ]
        assert "slower than the runs before" in trend["titles"][-1]
        assert not any("slower" in title for title in trend["titles"][:-1])
        assert browser.evaluate("document.querySelectorAll('path.regression').length")


def test_history_html_reports_the_trends_from_the_history_alone(
    project: pytest.Pytester, tmp_path: Path
) -> None:
    for _ in range(2):
        project.runpytest("--timer-save").assert_outcomes(passed=6, failed=1)
    page = tmp_path / "out" / "history.html"
    done = subprocess.run(
        [sys.executable, "-m", "pytest_tracer", "history", "--html", str(page)],
        cwd=project.path,
        capture_output=True,
        text=True,
        check=False,
    )
    assert done.returncode == 0, done.stderr
    assert done.stdout == f"wrote the trends of 3 timers to {page}\n"
    sections, browser = load(page, tmp_path / "profile")
    with browser:
        assert browser.errors() == []
        assert {s["name"] for s in sections} == {
            "parse",
            "db_query",
            "<script>alert(1)</script> & co",
        }
        for section in sections:
            (trend,) = section["plots"]
            assert trend["kind"] == "trend"
            assert trend["drawn"] == 2
        db_query = next(s for s in sections if s["name"] == "db_query")
        # The pyproject's limits, as the plugin would apply them today.
        assert db_query["plots"][0]["limits"] == 2


def test_history_html_without_a_history_says_so(tmp_path: Path) -> None:
    done = subprocess.run(
        [sys.executable, "-m", "pytest_tracer", "history", "--html", "x.html"],
        cwd=tmp_path,
        capture_output=True,
        text=True,
        check=False,
    )
    assert done.returncode == 1
    assert done.stderr.count("\n") == 1
    assert "no history at" in done.stderr
    assert not (tmp_path / "x.html").exists()


def test_comparing_without_saving_adds_this_run_to_the_trend(
    project: pytest.Pytester, tmp_path: Path
) -> None:
    for _ in range(2):
        project.runpytest("--timer-save").assert_outcomes(passed=6, failed=1)
    result = project.runpytest(
        "--timer-compare", "--timer-no-enforce", "--timer-html=report.html"
    )
    result.assert_outcomes(passed=7)
    sections, browser = load(project.path / "report.html", tmp_path / "profile")
    with browser:
        assert browser.errors() == []
        parse = next(s for s in sections if s["name"] == "parse")
        trend = parse["plots"][1]
        assert [t.split(" · ")[0] for t in trend["titles"]] == [
            "run 1",
            "run 2",
            "this run",
        ]
        compared = browser.evaluate(
            "[...document.querySelectorAll('section h2')]"
            ".map(function (h) { return h.innerText; })"
        )
        assert any(h.startswith("Compared with") for h in compared)
