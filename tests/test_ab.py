"""``python -m pytest_tracer ab``: real git repositories and worktrees, real runs."""

from __future__ import annotations

import json
import math
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from pytest_tracer._ab.report import change_text, table_lines
from pytest_tracer._ab.verdict import Pair, judge_pair, stratified_mann_whitney
from pytest_tracer._config import TracerConfig, load_config
from runs import git, needs_git

WORK = """\
from pytest_tracer import Timer

LOOPS = {loops}


def work():
    with Timer("work"):
        total = 0
        for number in range(LOOPS):
            total += number
    return total
"""

TEST = """\
import time

from shop.work import work


def test_work():
    for _ in range(20):
        work()
"""


def write_project(root: Path, loops: int = 20_000) -> None:
    (root / "src" / "shop").mkdir(parents=True, exist_ok=True)
    (root / "tests").mkdir(exist_ok=True)
    (root / "pyproject.toml").write_text(
        '[tool.pytest.ini_options]\ntestpaths = ["tests"]\n', encoding="utf-8"
    )
    (root / "src" / "shop" / "__init__.py").write_text("", encoding="utf-8")
    (root / "src" / "shop" / "work.py").write_text(
        WORK.format(loops=loops), encoding="utf-8"
    )
    (root / "tests" / "test_work.py").write_text(TEST, encoding="utf-8")


@pytest.fixture
def repo(tmp_path: Path) -> Path:
    """A git repository with one commit of a small timed project."""
    root = tmp_path / "repo"
    root.mkdir()
    write_project(root)
    git(root, "init", "-q", "-b", "main")
    git(root, "add", "-A")
    git(root, "commit", "-q", "-m", "base")
    return root


def ab(cwd: Path, *args: str, timeout: float = 300) -> subprocess.CompletedProcess[str]:
    environ = dict(os.environ)
    environ.pop("PYTEST_ADDOPTS", None)
    environ.pop("GITHUB_STEP_SUMMARY", None)
    return subprocess.run(
        [sys.executable, "-m", "pytest_tracer", "ab", *args],
        cwd=cwd,
        capture_output=True,
        text=True,
        timeout=timeout,
        env=environ,
        check=False,
    )


def state(root: Path) -> tuple[str, str, str, str]:
    """Everything of the user's repository an A/B run must leave as it was."""
    return (
        git(root, "rev-parse", "HEAD"),
        git(root, "status", "--porcelain"),
        git(root, "branch", "--list"),
        git(root, "worktree", "list", "--porcelain"),
    )


@needs_git
class TestCommand:
    def test_a_threefold_slowdown_in_the_working_tree_is_flagged(
        self, repo: Path
    ) -> None:
        """4 rounds of 20 timings; each side imports its own code."""
        write_project(repo, loops=60_000)  # uncommitted: the head is 3x slower
        before = state(repo)
        result = ab(repo, "HEAD", "--rounds", "4")
        assert result.returncode == 1, result.stdout + result.stderr
        assert "SLOWER" in result.stdout
        assert "tests/test_work.py::test_work  work" in result.stdout
        assert result.stdout.rstrip().endswith("1 slower")
        assert state(repo) == before

    def test_unchanged_code_is_not_flagged_also_under_xdist(
        self, repo: Path, tmp_path: Path
    ) -> None:
        """The same code on both sides, pytest with -n 2; files for CI."""
        # Generous on purpose: four pytest processes share this machine with
        # the rest of the suite, and three rounds are few. The verdict's
        # statistics have their own tests below; this one is the path.
        (repo / "pyproject.toml").write_text(
            '[tool.pytest.ini_options]\ntestpaths = ["tests"]\n'
            '[tool.pytest-tracer]\ntolerance = "100%"\n',
            encoding="utf-8",
        )
        before = state(repo)
        report, summary = tmp_path / "ab.json", tmp_path / "ab.md"
        result = ab(
            repo, "main", "--rounds", "3", "--json", str(report),
            "--markdown", str(summary), "--", "-n", "2",
        )  # fmt: skip
        assert result.returncode == 0, result.stdout + result.stderr
        assert "UNCHANGED" in result.stdout
        assert state(repo) == before
        document = json.loads(report.read_text(encoding="utf-8"))
        assert document["schema"] == 1
        assert document["rounds"] == 3
        (row,) = document["results"]
        assert (row["test"], row["name"], row["verdict"]) == (
            "tests/test_work.py::test_work",
            "work",
            "unchanged",
        )
        assert row["ci95"][0] <= row["change"] <= row["ci95"][1]
        text = summary.read_text(encoding="utf-8")
        assert "| tests/test_work.py::test_work | work |" in text
        assert "main@" in text

    def test_a_directory_can_be_the_base_and_timers_on_one_side_are_listed(
        self, tmp_path: Path
    ) -> None:
        """No git needed with a directory; added and removed timers are named."""
        base, head = tmp_path / "base", tmp_path / "head"
        write_project(base)
        write_project(head)
        (head / "src" / "shop" / "work.py").write_text(
            WORK.format(loops=20_000).replace('Timer("work")', 'Timer("work_v2")'),
            encoding="utf-8",
        )
        result = ab(head, str(base), "--rounds", "2")
        assert result.returncode == 0, result.stdout + result.stderr
        assert "ADDED" in result.stdout
        assert "REMOVED" in result.stdout
        assert "1 added, 1 removed" in result.stdout

    def test_failing_tests_on_a_side_name_the_side_and_round(self, repo: Path) -> None:
        """Exit 3 with pytest's summary; the worktree is removed all the same."""
        (repo / "tests" / "test_work.py").write_text(
            "def test_work():\n    assert False\n", encoding="utf-8"
        )
        before = state(repo)
        result = ab(repo, "HEAD", "--rounds", "2")
        assert result.returncode == 3, result.stdout + result.stderr
        assert "the head side (working tree" in result.stderr
        assert (
            "failed in its warm-up run: pytest exited with 1 (tests failed)"
            in result.stderr
        )
        assert "1 failed" in result.stderr
        assert state(repo) == before

    @pytest.mark.parametrize(
        ("args", "message"),
        [
            (("nosuchref",), "BASE 'nosuchref': no such commit, branch or tag in "),
            (("./missing",), "BASE './missing': no such directory"),
            (("HEAD", "--head", "missing"), "--head missing: no such directory"),
        ],
    )
    def test_setup_errors_exit_2_with_one_line(
        self, repo: Path, args: tuple[str, ...], message: str
    ) -> None:
        """No traceback: what was wrong, in one line."""
        result = ab(repo, *args)
        assert result.returncode == 2
        assert result.stderr.startswith(f"pytest-tracer ab: {message}")
        assert result.stderr.count("\n") == 1
        assert git(repo, "worktree", "list").count("\n") == 0

    def test_a_ref_outside_a_repository_is_refused(self, tmp_path: Path) -> None:
        """A ref needs a repository to be found in."""
        write_project(tmp_path)
        result = ab(tmp_path, "main")
        assert result.returncode == 2
        assert "is not in a git repository" in result.stderr

    def test_too_few_rounds_is_a_usage_error(self, repo: Path) -> None:
        """One round cannot pair anything with its spread."""
        result = ab(repo, "HEAD", "--rounds", "1")
        assert result.returncode == 2
        assert "expected a whole number of rounds of at least 2, got '1'" in (
            result.stderr
        )

    def test_ctrl_c_leaves_no_worktree_behind(self, repo: Path) -> None:
        """Interrupted mid-round, the temporary worktree still goes."""
        (repo / "tests" / "test_work.py").write_text(
            "import time\n\ndef test_slow():\n    time.sleep(30)\n", encoding="utf-8"
        )
        git(repo, "commit", "-q", "-am", "slow")
        process = subprocess.Popen(
            [sys.executable, "-m", "pytest_tracer", "ab", "HEAD", "--rounds", "2"],
            cwd=repo,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        try:
            deadline = time.monotonic() + 60
            while git(repo, "worktree", "list").count("\n") < 1:
                assert time.monotonic() < deadline, "the worktree never appeared"
                time.sleep(0.1)
            time.sleep(1.0)  # into the first pytest run
            process.send_signal(signal.SIGINT)
            process.wait(timeout=60)
        finally:
            if process.poll() is None:
                process.kill()
        assert process.returncode == 130
        assert git(repo, "worktree", "list").count("\n") == 0
        assert "pytest-tracer-ab-" not in git(repo, "worktree", "list", "--porcelain")


def rounds_of(
    *medians: float, spread: float = 0.0, n: int = 20
) -> tuple[tuple[float, ...], ...]:
    """Per round, n timings around each median (a fixed, symmetric pattern)."""
    offsets = [spread * ((index % 5) - 2) / 2 for index in range(n)]
    return tuple(tuple(m * (1 + o) for o in offsets) for m in medians)


SETTINGS = TracerConfig()


class TestVerdict:
    def test_a_threefold_slowdown_in_four_rounds_is_slower(self) -> None:
        """Twenty timings a round, four rounds: clear evidence and effect."""
        pair = Pair("t", "x", rounds_of(1e-3, 1e-3, 1e-3, 1e-3, spread=0.1),
                    rounds_of(3e-3, 3e-3, 3e-3, 3e-3, spread=0.1))  # fmt: skip
        verdict = judge_pair(pair, SETTINGS)
        assert verdict.kind == "slower"
        assert verdict.change == pytest.approx(2.0)
        assert verdict.low > 0
        assert verdict.p_value < 1e-6

    def test_drift_between_rounds_cancels(self) -> None:
        """The machine doubles speed between rounds; both sides alike."""
        medians = (1e-3, 2e-3, 0.5e-3, 1.5e-3)
        pair = Pair("t", "x", rounds_of(*medians, spread=0.1),
                    rounds_of(*medians, spread=0.1))  # fmt: skip
        verdict = judge_pair(pair, SETTINGS)
        assert verdict.kind == "unchanged"
        assert verdict.change == pytest.approx(0.0)

    def test_a_slowdown_within_the_tolerance_is_unchanged(self) -> None:
        """5% is real here, but below the default 10% tolerance."""
        pair = Pair("t", "x", rounds_of(1e-3, 1e-3, 1e-3, spread=0.01),
                    rounds_of(1.05e-3, 1.05e-3, 1.05e-3, spread=0.01))  # fmt: skip
        verdict = judge_pair(pair, SETTINGS)
        assert verdict.kind == "unchanged"
        assert verdict.p_value < 0.01

    def test_a_speedup_is_faster(self) -> None:
        """The mirror image of slower."""
        pair = Pair("t", "x", rounds_of(2e-3, 2e-3, 2e-3, spread=0.1),
                    rounds_of(1e-3, 1e-3, 1e-3, spread=0.1))  # fmt: skip
        assert judge_pair(pair, SETTINGS).kind == "faster"

    def test_rounds_that_disagree_leave_it_unchanged(self) -> None:
        """Slower in one round, faster in another: the interval spans zero."""
        pair = Pair("t", "x", rounds_of(1e-3, 1e-3, 1e-3, spread=0.05),
                    rounds_of(2e-3, 0.6e-3, 1.3e-3, spread=0.05))  # fmt: skip
        verdict = judge_pair(pair, SETTINGS)
        assert verdict.kind == "unchanged"
        assert verdict.low < 0 < verdict.high

    def test_from_six_rounds_a_burst_hitting_one_side_cannot_block_a_slowdown(
        self,
    ) -> None:
        """Twenty rounds (the default), 20% slower, three hit by load on one side."""
        base = rounds_of(*([1e-3] * 20), spread=0.05)
        head = rounds_of(*([1.2e-3] * 17), 0.7e-3, 0.7e-3, 0.7e-3, spread=0.05)
        verdict = judge_pair(Pair("t", "x", base, head), SETTINGS)
        assert verdict.kind == "slower"
        assert verdict.change == pytest.approx(0.2, abs=0.01)
        assert verdict.low > 0

    def test_from_six_rounds_a_burst_cannot_make_a_false_alarm(self) -> None:
        """Unchanged code, four of twenty rounds hit hard by load on one side.

        Their mean would call it 20% slower, with an interval above zero.
        """
        base = rounds_of(*([1e-3] * 20), spread=0.05)
        head = rounds_of(*([1e-3] * 16), *([2.5e-3] * 4), spread=0.05)
        verdict = judge_pair(Pair("t", "x", base, head), SETTINGS)
        assert verdict.kind == "unchanged"
        assert verdict.change == pytest.approx(0.0, abs=0.01)

    def test_timers_on_one_side_are_added_or_removed(self) -> None:
        """No round has both: nothing to compare, but it is listed."""
        added = judge_pair(Pair("t", "x", ((), ()), ((1.0,), (1.0,))), SETTINGS)
        removed = judge_pair(Pair("t", "x", ((1.0,), (1.0,)), ((), ())), SETTINGS)
        assert (added.kind, removed.kind) == ("added", "removed")
        assert math.isnan(added.change)
        assert change_text(added) == "-"

    def test_the_rank_test_is_symmetric(self) -> None:
        """Swapping the sides swaps the two one-sided p-values."""
        rounds = [((1.0, 2.0, 3.0), (2.5, 3.5, 4.5)), ((1.1, 2.1), (3.0, 2.0))]
        slower, faster = stratified_mann_whitney(rounds)
        swapped = stratified_mann_whitney([(h, b) for b, h in rounds])
        assert swapped == pytest.approx((faster, slower))
        assert slower < faster

    def test_the_tolerance_comes_from_the_regression_table(
        self, tmp_path: Path
    ) -> None:
        """As --timer-compare reads it: a per-name entry wins over the default."""
        pyproject = tmp_path / "pyproject.toml"
        pyproject.write_text(
            '[tool.pytest-tracer.regression]\nx = "50%"\n', encoding="utf-8"
        )
        pair = Pair("t", "x", rounds_of(1e-3, 1e-3, 1e-3, spread=0.01),
                    rounds_of(1.2e-3, 1.2e-3, 1.2e-3, spread=0.01))  # fmt: skip
        assert judge_pair(pair, SETTINGS).kind == "slower"
        verdict = judge_pair(pair, load_config(pyproject))
        assert (verdict.kind, verdict.tolerance) == ("unchanged", 0.5)
        assert verdict.source.endswith("[tool.pytest-tracer.regression] x")


def test_long_names_get_a_line_of_their_own_at_80_columns() -> None:
    """Names are never cut."""
    pair = Pair("tests/integration/test_checkout_flow.py::test_pay[visa]",
                "checkout.payment.authorize", rounds_of(1e-3, 1e-3),
                rounds_of(1e-3, 1e-3))  # fmt: skip
    lines = table_lines([judge_pair(pair, SETTINGS)], width=80)
    assert lines[1] == (
        "tests/integration/test_checkout_flow.py::test_pay[visa]  "
        "checkout.payment.authorize"
    )
    assert lines[2].startswith("  UNCHANGED")
    assert all(len(line) <= 80 for line in lines if line != lines[1])
