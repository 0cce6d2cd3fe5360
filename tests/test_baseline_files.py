"""Baselines as files: a run's JSON document read back, compared with
(``--timer-compare=file:PATH``) and imported into either store."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from pytest_tracer._history.runfile import RunFileError, read_run_file
from pytest_tracer._history.store import open_store

SUITE = """
import os
import time
from pytest_tracer import Timer

with Timer("at_import"):
    pass

def test_work():
    pause = float(os.environ.get("WORK_SECONDS", "0.002"))
    for _ in range(20):
        with Timer("work"):
            time.sleep(pause)
"""


@pytest.fixture
def project(pytester: pytest.Pytester) -> pytest.Pytester:
    # Generous on purpose: this machine is shared, and a 2 ms sleep can take
    # three times as long under load. A tenfold slowdown still fails below.
    pytester.makepyprojecttoml('[tool.pytest-tracer]\ntolerance = "300%"')
    pytester.makepyfile(test_suite=SUITE)
    return pytester


def run_cli(root: Path, *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "pytest_tracer", *args],
        cwd=root,
        capture_output=True,
        text=True,
        check=False,
        timeout=60,
    )


def saved_and_exported(project: pytest.Pytester) -> Path:
    """A run saved as 'main', written by --timer-json and by export."""
    result = project.runpytest("--timer-save=main", "--timer-json=written.json")
    result.assert_outcomes(passed=1)
    done = run_cli(project.path, "export", "-o", "exported.json")
    assert done.returncode == 0, done.stderr
    return project.path / "exported.json"


class TestReading:
    def test_an_exported_run_reads_back_as_the_saved_one(
        self, project: pytest.Pytester
    ) -> None:
        path = saved_and_exported(project)
        with open_store(project.path / ".pytest-tracer" / "history.sqlite") as store:
            [info] = store.runs()
            saved = store.records(info.run_id)

        run = read_run_file(path)

        assert run.run_id == info.run_id
        assert {(r.test_id, r.name): r for r in run.records} == saved
        assert ("", "at_import") in saved
        assert run.meta.fingerprint == info.meta.fingerprint
        assert run.meta.label == "main"
        assert int(run.meta.created) == int(info.meta.created)

    def test_the_timer_json_document_reads_as_the_same_timings(
        self, project: pytest.Pytester
    ) -> None:
        exported = read_run_file(saved_and_exported(project))
        written = read_run_file(project.path / "written.json")

        assert written.run_id is None
        assert written.meta.fingerprint == exported.meta.fingerprint

        def key(run: Any) -> dict[tuple[str, str], tuple[int, tuple[float, ...]]]:
            return {
                (r.test_id, r.name): (r.count, tuple(sorted(r.samples)))
                for r in run.records
            }

        assert key(written) == key(exported)


def document(**changes: Any) -> dict[str, Any]:
    base: dict[str, Any] = {
        "schema": 1,
        "run": {
            "time": "2026-12-01T10:00:00Z",
            "commit": None,
            "branch": "main",
            "python": "CPython 3.11.7",
            "pytest": "9.0",
            "platform": "Linux",
            "workers": 0,
            "label": None,
            "id": 3,
            "machine": {
                "system": "Linux",
                "architecture": "x86_64",
                "cpu": "cpu",
                "cores": 2,
            },
        },
        "timers": [
            {
                "test": "t.py::test",
                "name": "db",
                "count": 2,
                "total": 3.0,
                "min": 1.0,
                "max": 2.0,
                "median": 1.5,
                "p95": 2.0,
                "samples": [1.0, 2.0],
            }
        ],
    }
    for dotted, value in changes.items():
        *parents, last = dotted.split("__")
        target: Any = base
        for part in parents:
            target = target[int(part)] if part.isdigit() else target[part]
        target[last] = value
    return base


class TestBadFiles:
    def write(self, tmp_path: Path, value: object) -> Path:
        path = tmp_path / "base.json"
        path.write_text(json.dumps(value), encoding="utf-8")
        return path

    def test_a_good_document_reads(self, tmp_path: Path) -> None:
        run = read_run_file(self.write(tmp_path, document()))
        assert run.meta.created == 1_796_119_200.0
        assert [r.samples for r in run.records] == [(1.0, 2.0)]

    @pytest.mark.parametrize(
        ("changes", "message"),
        [
            ({"schema": 2}, "schema 2 is not one this pytest-tracer reads"),
            (
                {"schema": "1"},
                'schema: expected 1 (a run document of pytest-tracer), got "1"',
            ),
            ({"run": []}, "run: expected an object, got []"),
            ({"run__time": "yesterday"}, "run.time: expected a UTC time such as"),
            ({"run__python": 3}, "run.python: expected a string, got 3"),
            ({"run__workers": -1}, "run.workers: expected a whole number >= 0, got -1"),
            ({"run__id": "3"}, 'run.id: expected a run id or null, got "3"'),
            (
                {"run__machine__cores": True},
                "run.machine.cores: expected a whole number",
            ),
            ({"timers": {}}, "timers: expected a list of timer entries, got {}"),
            (
                {"timers__0__median": "fast"},
                'timers[0].median: expected a duration in seconds >= 0, got "fast"',
            ),
            ({"timers__0__min": -1}, "timers[0].min: expected a duration"),
            ({"timers__0__count": 1.5}, "timers[0].count: expected a whole number"),
            (
                {"timers__0__samples": [1.0, None]},
                "timers[0].samples[1]: expected a duration",
            ),
            (
                {"timers__0__samples": [0.5] * 1025},
                "timers[0].samples: expected a list of at most 1024",
            ),
            ({"timers__0__name": ""}, 'timers[0].name: expected a string, got ""'),
        ],
    )
    def test_a_bad_value_names_the_file_and_the_key(
        self, tmp_path: Path, changes: dict[str, Any], message: str
    ) -> None:
        path = self.write(tmp_path, document(**changes))

        with pytest.raises(RunFileError) as info:
            read_run_file(path)

        assert str(info.value).startswith(f"{path}: ")
        assert message in str(info.value)

    def test_two_entries_for_one_timer_are_refused(self, tmp_path: Path) -> None:
        value = document()
        value["timers"].append(dict(value["timers"][0]))
        with pytest.raises(
            RunFileError, match=r"timers\[1\]: a second entry for timer 'db'"
        ):
            read_run_file(self.write(tmp_path, value))

    def test_text_that_is_not_json_is_refused(self, tmp_path: Path) -> None:
        path = tmp_path / "base.json"
        path.write_bytes(b"\xff\xfe not json")
        with pytest.raises(RunFileError, match="cannot read"):
            read_run_file(path)
        path.write_text("{", encoding="utf-8")
        with pytest.raises(RunFileError, match="is not JSON"):
            read_run_file(path)

    @settings(max_examples=150, deadline=None)
    @given(
        st.recursive(
            st.none()
            | st.booleans()
            | st.integers()
            | st.floats()
            | st.text(max_size=5),
            lambda inner: (
                st.lists(inner, max_size=3)
                | st.dictionaries(
                    st.sampled_from(
                        ["schema", "run", "timers", "time", "test", "name"]
                    ),
                    inner,
                    max_size=4,
                )
            ),
            max_leaves=12,
        )
    )
    def test_any_json_value_reads_or_is_refused_clearly(self, value: object) -> None:
        """Nothing but a RunFileError comes out of a document, however odd."""
        import tempfile

        with tempfile.TemporaryDirectory() as directory:
            path = Path(directory) / "doc.json"
            path.write_text(json.dumps(value), encoding="utf-8")
            message = str(path)
            try:
                read_run_file(path)
            except RunFileError as error:
                message = str(error)
            assert message.startswith(str(path))


class TestComparingWithAFile:
    def test_a_slowdown_against_a_file_fails_without_any_history(
        self, project: pytest.Pytester, monkeypatch: pytest.MonkeyPatch
    ) -> None:
        project.runpytest("--timer-json=base.json").assert_outcomes(passed=1)
        assert not (project.path / ".pytest-tracer").exists()

        monkeypatch.setenv("WORK_SECONDS", "0.02")
        result = project.runpytest("--timer-compare=file:base.json")

        result.assert_outcomes(failed=1)
        result.stdout.fnmatch_lines(
            [
                "*timer 'work' got slower than base.json: the run (*): median*",
                "*= timers compared with base.json: the run (*) =*",
                "SLOWER *test_suite.py::test_work  work",
            ]
        )
        assert not (project.path / ".pytest-tracer").exists()

    @pytest.mark.parametrize("workers", [[], ["-n", "2"]])
    def test_unchanged_code_against_an_exported_run_passes(
        self, project: pytest.Pytester, workers: list[str]
    ) -> None:
        saved_and_exported(project)
        result = project.runpytest(*workers, "--timer-compare=file:exported.json")
        result.assert_outcomes(passed=1)
        result.stdout.fnmatch_lines(
            [
                "*= timers compared with exported.json: run 1 'main' (*) =*",
                "UNCHANGED *test_suite.py::test_work  work",
            ]
        )

    def test_a_missing_file_is_a_note_unless_a_baseline_is_required(
        self, project: pytest.Pytester
    ) -> None:
        result = project.runpytest("--timer-compare=file:gone.json")
        result.assert_outcomes(passed=1)
        result.stdout.fnmatch_lines(
            ["--timer-compare=file:gone.json found no file at *gone.json: write one*"]
        )

        required = project.runpytest(
            "--timer-compare=file:gone.json", "--timer-require-baseline"
        )
        assert required.ret == pytest.ExitCode.USAGE_ERROR
        required.stderr.fnmatch_lines(
            ["ERROR: *found no file at *, and a baseline is required*"]
        )

    def test_a_damaged_file_is_a_usage_error_naming_it(
        self, project: pytest.Pytester
    ) -> None:
        project.path.joinpath("base.json").write_text('{"schema": 1}\n')
        result = project.runpytest("--timer-compare=file:base.json")
        assert result.ret == pytest.ExitCode.USAGE_ERROR
        result.stderr.fnmatch_lines(
            [
                "ERROR: --timer-compare=file:base.json: *base.json: run: expected"
                " an object*"
            ]
        )
        assert "Traceback" not in result.stderr.str()

    def test_an_empty_path_is_a_usage_error(self, project: pytest.Pytester) -> None:
        result = project.runpytest("--timer-compare=file:")
        assert result.ret == pytest.ExitCode.USAGE_ERROR
        result.stderr.fnmatch_lines(["*expected file:PATH of a run's JSON document"])


class TestImport:
    def test_an_exported_run_is_imported_once_into_either_store(
        self, project: pytest.Pytester, store_location: Path | str
    ) -> None:
        exported = saved_and_exported(project)

        first = run_cli(
            project.path, "import", str(exported), "--db", str(store_location)
        )
        again = run_cli(
            project.path, "import", str(exported), "--db", str(store_location)
        )

        assert first.returncode == 0, first.stderr
        assert first.stdout.startswith(f"imported {exported} as run 1 in ")
        assert again.returncode == 0, again.stderr
        assert "is already in" in again.stdout
        with open_store(store_location) as store:
            [info] = store.runs()
            assert info.meta.label == "main"
            records = store.records(info.run_id)
        assert {r.name for r in records.values()} == {"at_import", "work"}
        compare = project.runpytest(
            f"--timer-store={store_location}", "--timer-compare=main"
        )
        compare.assert_outcomes(passed=1)
        compare.stdout.fnmatch_lines(["UNCHANGED *test_suite.py::test_work  work"])

    def test_a_bad_file_is_one_line_and_exit_2(self, tmp_path: Path) -> None:
        bad = tmp_path / "bad.json"
        bad.write_text("[]")
        done = run_cli(tmp_path, "import", str(bad))
        assert done.returncode == 2
        assert done.stderr == (
            f"pytest-tracer import: {bad}: the document: expected an object, got []\n"
        )
        missing = run_cli(tmp_path, "import", "nope.json")
        assert missing.returncode == 2
        assert missing.stderr == "pytest-tracer import: no file nope.json\n"
        assert not (tmp_path / ".pytest-tracer").exists()
