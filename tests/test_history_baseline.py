from __future__ import annotations

import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from pytest_tracer._config import RegressionRule
from pytest_tracer._history.baseline import (
    Baseline,
    BaselineError,
    BaselineSpec,
    describe_run,
    load_baseline,
    parse_baseline,
    select_runs,
)
from pytest_tracer._history.meta import RunMeta
from pytest_tracer._history.store import HistoryStore, RunInfo, TimingRecord, open_store

RULE = RegressionRule(tolerance=0.10, noise_floor=100e-6, source="test")


def meta(*, label: str | None = None, branch: str | None = None) -> RunMeta:
    return RunMeta(
        created=time.mktime((2026, 11, 29, 19, 2, 0, 0, 0, -1)),
        label=label,
        commit="0123456789abcdef",
        branch=branch,
        python="CPython 3.11",
        pytest="9",
        platform="linux",
        cpu_model="cpu",
        cores=2,
        workers=0,
    )


def record(samples: tuple[float, ...]) -> TimingRecord:
    ordered = sorted(samples)
    return TimingRecord(
        "t.py::test",
        "work",
        count=len(samples),
        total=sum(samples),
        min=ordered[0],
        max=ordered[-1],
        median=ordered[len(ordered) // 2],
        p95=ordered[-1],
        samples=samples,
    )


class TestParsing:
    @pytest.mark.parametrize(
        ("text", "expected"),
        [
            ("", BaselineSpec("latest")),
            ("latest", BaselineSpec("latest")),
            ("last:5", BaselineSpec("last:5", count=5)),
            ("branch:main", BaselineSpec("branch:main", branch="main")),
            (
                "branch:feature/x:3",
                BaselineSpec("branch:feature/x:3", branch="feature/x", count=3),
            ),
            ("nightly", BaselineSpec("nightly", label="nightly")),
        ],
    )
    def test_each_form_is_understood(self, text: str, expected: BaselineSpec) -> None:
        assert parse_baseline(text) == expected

    @pytest.mark.parametrize(
        "text",
        [
            "last:0",
            "last:x",
            "last:",
            "last:99999999999999999999",
            "branch:",
            "branch:a:0",
            "branch:a:99999999999999999999",
            "file:",
        ],
    )
    def test_bad_counts_are_refused_with_the_expected_form(self, text: str) -> None:
        with pytest.raises(BaselineError, match=f"--timer-compare={text}: expected"):
            parse_baseline(text)


def test_a_run_is_described_by_id_label_time_and_commit() -> None:
    run = RunInfo(12, meta(label="nightly", branch="main"))
    assert describe_run(run) == "run 12 'nightly' (2026-11-29 19:02, main@0123456789)"


def baseline_of(store: HistoryStore, text: str) -> Baseline | None:
    spec = parse_baseline(text)
    runs = select_runs(store, spec)
    return load_baseline(store, spec, runs) if runs else None


class TestLoading:
    @pytest.fixture
    def store(self, store_location: Path | str) -> Iterator[HistoryStore]:
        with open_store(store_location) as store:
            store.save_run(meta(label="a", branch="main"), [record((1.0,))])
            store.save_run(meta(label="b", branch="dev"), [record((2.0,))])
            store.save_run(meta(label="a", branch="main"), [record((3.0,))])
            yield store

    def test_latest_is_the_newest_run(self, store: HistoryStore) -> None:
        baseline = baseline_of(store, "latest")
        assert baseline is not None
        assert [run.run_id for run in baseline.runs] == [3]

    def test_last_n_takes_the_newest_runs(self, store: HistoryStore) -> None:
        baseline = baseline_of(store, "last:2")
        assert baseline is not None
        assert [run.run_id for run in baseline.runs] == [3, 2]
        assert baseline.description == "2 runs 2..3 (last:2)"
        assert len(baseline.records[("t.py::test", "work")]) == 2

    def test_a_label_takes_its_newest_run(self, store: HistoryStore) -> None:
        baseline = baseline_of(store, "b")
        assert baseline is not None
        assert [run.run_id for run in baseline.runs] == [2]

    def test_a_branch_takes_its_runs(self, store: HistoryStore) -> None:
        baseline = baseline_of(store, "branch:main:5")
        assert baseline is not None
        assert [run.run_id for run in baseline.runs] == [3, 1]

    def test_an_unknown_label_lists_the_saved_ones(self, store: HistoryStore) -> None:
        with pytest.raises(BaselineError, match=r"label 'c'.*\(saved labels: a, b\)"):
            baseline_of(store, "c")

    def test_an_unknown_branch_lists_the_saved_ones(self, store: HistoryStore) -> None:
        with pytest.raises(BaselineError, match=r"saved branches: dev, main"):
            baseline_of(store, "branch:nope")

    def test_an_empty_history_has_no_baseline(self, tmp_path: Path) -> None:
        with open_store(tmp_path / "none.sqlite") as store:
            assert baseline_of(store, "latest") is None
        assert not (tmp_path / "none.sqlite").exists()


class TestVerdicts:
    def baseline(self, *samples: tuple[float, ...]) -> Baseline:
        runs = tuple(RunInfo(i + 1, meta()) for i in range(len(samples)))
        records = {("t.py::test", "work"): [record(s) for s in samples]}
        return Baseline(BaselineSpec("latest"), runs, records)

    def test_enough_samples_use_the_rank_test(self) -> None:
        baseline = self.baseline(tuple(0.010 + i * 1e-5 for i in range(20)))
        current = [0.020 + i * 1e-5 for i in range(20)]
        verdict = baseline.verdict(
            "t.py::test", "work", current, RULE, p_value=0.01, min_samples=8
        )
        assert verdict is not None
        assert (verdict.kind, verdict.method) == ("slower", "mann-whitney")

    def test_few_samples_are_set_against_the_runs_medians(self) -> None:
        baseline = self.baseline((0.010,), (0.0101,), (0.0099,), (0.0100,))
        verdict = baseline.verdict(
            "t.py::test", "work", [0.020], RULE, p_value=0.01, min_samples=8
        )
        assert verdict is not None
        assert (verdict.kind, verdict.method) == ("slower", "mad")

    def test_a_timer_missing_from_the_baseline_has_no_verdict(self) -> None:
        baseline = self.baseline((0.01,))
        assert (
            baseline.verdict(
                "t.py::other", "work", [0.01], RULE, p_value=0.01, min_samples=8
            )
            is None
        )

    def test_a_shift_within_the_drift_between_runs_is_unchanged(self) -> None:
        """Runs whose medians wander by 40% cannot tell a 25% change from drift."""
        runs = [
            tuple(level + i * 1e-6 for i in range(30))
            for level in (0.010, 0.014, 0.012, 0.0141, 0.0099, 0.0125)
        ]
        baseline = self.baseline(*runs)
        current = [0.0155 + i * 1e-6 for i in range(30)]
        verdict = baseline.verdict(
            "t.py::test", "work", current, RULE, p_value=0.01, min_samples=8
        )
        assert verdict is not None
        assert verdict.kind == "unchanged"
        assert "but within the spread of the last 6 runs" in verdict.describe()
        assert verdict.method == "mann-whitney"

    def test_a_shift_beyond_steady_runs_stays_slower(self) -> None:
        """When the runs agree with each other, the rank test's verdict stands."""
        runs = [
            tuple(level + i * 1e-6 for i in range(30))
            for level in (0.010, 0.0101, 0.0099, 0.0100, 0.0101)
        ]
        baseline = self.baseline(*runs)
        current = [0.012 + i * 1e-6 for i in range(30)]
        verdict = baseline.verdict(
            "t.py::test", "work", current, RULE, p_value=0.01, min_samples=8
        )
        assert verdict is not None
        assert verdict.kind == "slower"
        assert "spread" not in verdict.describe()

    def test_the_reference_scale_compares_the_machine_speeds(self) -> None:
        """A reference loop twice as slow now halves this run's durations."""
        baseline = self.baseline((0.010,) * 20)
        baseline.records[("t.py::test", "pytest-tracer.reference")] = [
            record((0.001, 0.001))
        ]
        scale = baseline.reference_scale("t.py::test", [0.002, 0.002])
        assert scale == 0.5
        assert baseline.reference_scale("t.py::other", [0.002]) is None
        verdict = baseline.verdict(
            "t.py::test",
            "work",
            [0.020] * 20,
            RULE,
            p_value=0.01,
            min_samples=8,
            scale=scale,
        )
        assert verdict is not None
        assert verdict.kind == "unchanged"
        assert "normalised x0.50 by the reference loop" in verdict.describe()
