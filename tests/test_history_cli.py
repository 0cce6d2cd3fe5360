from __future__ import annotations

import io
import subprocess
import sys
import time
from collections.abc import Iterator, Sequence
from pathlib import Path

import pytest

from pytest_tracer import __main__ as entry
from pytest_tracer._config import DEFAULT_STORE
from pytest_tracer._history.cli import CliError, find_settings, main
from pytest_tracer._history.meta import RunMeta
from pytest_tracer._history.store import TimingRecord, open_store

# 2023-11-14 22:13:20 UTC
CREATED = 1_700_000_000.0


def make_meta(created: float = CREATED, **changes: object) -> RunMeta:
    fields: dict[str, object] = {
        "created": created,
        "label": None,
        "commit": "0123456789abcdef0123456789abcdef01234567",
        "branch": "main",
        "python": "CPython 3.11.7",
        "pytest": "8.3.0",
        "platform": "Linux-6.1-x86_64",
        "cpu_model": "Example CPU",
        "cores": 8,
        "workers": 1,
        "system": "Linux",
        "machine": "x86_64",
    }
    fields.update(changes)
    return RunMeta(**fields)  # type: ignore[arg-type]


def record(
    name: str, median: float, *, test_id: str = "t.py::test", count: int = 1
) -> TimingRecord:
    return TimingRecord(
        test_id, name, count, median * count, median, median * 2, median, median * 1.5
    )


def save(path: Path | str, meta: RunMeta, records: Sequence[TimingRecord]) -> int:
    with open_store(path) as store:
        return store.save_run(meta, records)


@pytest.fixture
def utc(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    """Dates print in local time; pin it so the expected text is fixed."""
    if not hasattr(time, "tzset"):
        pytest.skip("needs time.tzset")
    monkeypatch.setenv("TZ", "UTC")
    time.tzset()
    yield
    monkeypatch.undo()
    time.tzset()


@pytest.fixture
def db(store_location: Path | str) -> Path | str:
    """A new history in each kind of store (its URL has no password)."""
    return store_location


@pytest.fixture
def db_file(tmp_path: Path) -> Path:
    return tmp_path / "history.sqlite"


def lines(text: str) -> list[str]:
    return [" ".join(line.split()) for line in text.splitlines()]


@pytest.mark.usefixtures("utc")
class TestRunsList:
    def test_runs_are_listed_newest_first_with_their_metadata(
        self, db: Path | str, capsys: pytest.CaptureFixture[str]
    ) -> None:
        """One row per run: id, date, label, branch, short commit and the rest."""
        save(db, make_meta(label="baseline"), [record("db", 1.0), record("io", 2.0)])
        save(
            db,
            make_meta(CREATED + 3600, branch=None, commit=None, workers=4),
            [record("db", 1.0)],
        )
        job = "https://gitlab.example/g/p/-/jobs/77"
        save(
            db,
            make_meta(CREATED + 7200, ci_provider="gitlab", ci_url=job),
            [],
        )
        save(db, make_meta(CREATED + 7260, ci_provider="jenkins"), [])

        assert main(["--db", str(db)]) == 0

        out = capsys.readouterr().out
        fingerprint = make_meta().fingerprint
        assert lines(out) == [
            f"4 runs in {db}, newest first",
            "id date label branch commit python workers machine timings incomplete"
            " ci job",
            f"4 2023-11-15 00:14 - main 0123456789 CPython 3.11.7 1 {fingerprint}"
            " 0 - jenkins",
            f"3 2023-11-15 00:13 - main 0123456789 CPython 3.11.7 1 {fingerprint}"
            f" 0 - {job}",
            f"2 2023-11-14 23:13 - - - CPython 3.11.7 4 {fingerprint} 1 - -",
            f"1 2023-11-14 22:13 baseline main 0123456789 CPython 3.11.7 1"
            f" {fingerprint} 2 - -",
        ]

    def test_columns_are_aligned(
        self, db: Path | str, capsys: pytest.CaptureFixture[str]
    ) -> None:
        """Numbers align right, text left, under their headers."""
        save(db, make_meta(label="a-long-label"), [])
        save(db, make_meta(label="b"), [])

        main(["--db", str(db)])

        header, newest, oldest = capsys.readouterr().out.splitlines()[1:]
        assert (
            newest.index("b ") == oldest.index("a-long-label") == header.index("label")
        )
        assert header.index("workers") + len("workers") == newest.index("1 ") + 1

    def test_limit_keeps_the_newest_runs(
        self, db: Path | str, capsys: pytest.CaptureFixture[str]
    ) -> None:
        """--limit N shows N runs."""
        for label in ("a", "b", "c"):
            save(db, make_meta(label=label), [])

        assert main(["--db", str(db), "--limit", "2"]) == 0

        out = capsys.readouterr().out
        assert " c " in out
        assert " b " in out
        assert " a " not in out

    def test_an_empty_history_says_how_to_fill_it(
        self, db: Path | str, capsys: pytest.CaptureFixture[str]
    ) -> None:
        """An existing file without runs is reported like a missing one."""
        if isinstance(db, Path):
            db.parent.mkdir()
            db.touch()

        assert main(["--db", str(db)]) == 1

        err = capsys.readouterr().err
        assert err == (
            f"pytest-tracer history: no runs saved in {db}: run pytest with"
            " --timer-save first\n"
        )


@pytest.mark.usefixtures("utc")
class TestTrend:
    def test_a_timer_trend_shows_medians_changes_and_bars(
        self, db: Path | str, capsys: pytest.CaptureFixture[str]
    ) -> None:
        """Oldest first, change vs the previous run, bars scaled to the largest."""
        save(db, make_meta(label="base"), [record("db", 0.001, count=3)])
        save(db, make_meta(CREATED + 60), [record("other", 1.0)])
        save(db, make_meta(CREATED + 120), [record("db", 0.002, count=3)])
        save(db, make_meta(CREATED + 180), [record("db", 0.0015, count=3)])

        assert main(["--db", str(db), "db"]) == 0

        full = "█" * 20
        assert lines(capsys.readouterr().out) == [
            f"timer 'db' (all tests) in {db}, oldest first",
            "run date label calls median p95 max change trend",
            f"1 2023-11-14 22:13 base 3 1 ms 1.5 ms 2 ms - {full[:10]}",
            f"3 2023-11-14 22:15 - 3 2 ms 3 ms 4 ms +100.0% {full}",
            f"4 2023-11-14 22:16 - 3 1.5 ms 2.2 ms 3 ms -25.0% {full[:15]}",
        ]

    def test_partial_bar_cells_show_eighths(
        self, db: Path | str, capsys: pytest.CaptureFixture[str]
    ) -> None:
        """A median between whole cells ends in a partial block."""
        save(db, make_meta(), [record("db", 0.0033)])
        save(db, make_meta(), [record("db", 0.04)])

        main(["--db", str(db), "db"])

        first = capsys.readouterr().out.splitlines()[2]
        # 3.3 / 40 * 20 cells = 1.65 cells: one full block and five eighths.
        assert first.endswith(" █▋")

    def test_a_test_id_narrows_the_trend_to_that_test(
        self, db: Path | str, capsys: pytest.CaptureFixture[str]
    ) -> None:
        """--test picks one test's record instead of merging all tests."""
        save(
            db,
            make_meta(),
            [record("db", 0.001, test_id="t::a"), record("db", 0.5, test_id="t::b")],
        )

        assert main(["--db", str(db), "db", "--test", "t::a"]) == 0

        out = capsys.readouterr().out
        assert "timer 'db' (test 't::a')" in out
        assert "1 ms" in out
        assert "500 ms" not in out

    def test_limit_keeps_the_newest_runs_of_the_trend(
        self, db: Path | str, capsys: pytest.CaptureFixture[str]
    ) -> None:
        """--limit applies to runs that have the timer."""
        for median in (0.001, 0.002, 0.003):
            save(db, make_meta(), [record("db", median)])

        main(["--db", str(db), "--limit", "2", "db"])

        rows = capsys.readouterr().out.splitlines()[2:]
        assert [row.split()[0] for row in rows] == ["2", "3"]

    def test_an_ascii_terminal_gets_ascii_bars(
        self, db: Path | str, monkeypatch: pytest.MonkeyPatch
    ) -> None:
        """Block characters would not encode, so bars fall back to '#'."""
        save(db, make_meta(), [record("db", 0.001)])
        save(db, make_meta(), [record("db", 0.002)])
        stdout = io.TextIOWrapper(io.BytesIO(), encoding="ascii")
        monkeypatch.setattr(sys, "stdout", stdout)

        assert main(["--db", str(db), "db"]) == 0

        stdout.flush()
        out = stdout.buffer.getvalue().decode("ascii")
        assert out.splitlines()[2].endswith(" " + "#" * 10)
        assert out.splitlines()[3].endswith(" " + "#" * 20)

    def test_an_unknown_timer_lists_the_saved_ones(
        self, db: Path | str, capsys: pytest.CaptureFixture[str]
    ) -> None:
        """The message names the timer and suggests existing names."""
        save(db, make_meta(), [record("db", 1.0), record("io", 1.0)])

        assert main(["--db", str(db), "dbb"]) == 1

        assert capsys.readouterr().err == (
            f"pytest-tracer history: no timings of 'dbb' (all tests) in {db};"
            " saved timers: db, io\n"
        )


class TestErrors:
    def test_a_missing_history_says_how_to_create_it(
        self, db_file: Path, capsys: pytest.CaptureFixture[str]
    ) -> None:
        """Exit 1 with a hint, and the file is not created."""
        assert main(["--db", str(db_file)]) == 1

        assert capsys.readouterr().err == (
            f"pytest-tracer history: no history at {db_file}: run pytest with"
            " --timer-save first\n"
        )
        assert not db_file.exists()

    def test_an_unusable_file_exits_2_without_a_traceback(
        self, db_file: Path, capsys: pytest.CaptureFixture[str]
    ) -> None:
        """A StoreError becomes one line on stderr."""
        db_file.write_bytes(b"definitely not sqlite" * 10)

        assert main(["--db", str(db_file)]) == 2

        captured = capsys.readouterr()
        assert captured.out == ""
        assert captured.err.startswith(
            f"pytest-tracer history: {db_file} is not a SQLite database"
        )
        assert "Traceback" not in captured.err

    @pytest.mark.parametrize("value", ["0", "-3", "many", "99999999999999999999"])
    def test_a_bad_limit_is_quoted_in_the_error(
        self, value: str, capsys: pytest.CaptureFixture[str]
    ) -> None:
        """argparse exits with 2 and says what it expected."""
        with pytest.raises(SystemExit) as exit_info:
            main(["--limit", value])

        assert exit_info.value.code == 2
        assert (
            f"argument --limit: expected a whole number of runs from 1 to 10,000,"
            f" got '{value}'" in capsys.readouterr().err
        )

    def test_a_test_id_without_a_timer_name_is_a_usage_error(
        self, db_file: Path, capsys: pytest.CaptureFixture[str]
    ) -> None:
        """--test filters a trend, so it needs NAME."""
        with pytest.raises(SystemExit) as exit_info:
            main(["--db", str(db_file), "--test", "t::a"])

        assert exit_info.value.code == 2
        assert "error: --test needs a timer NAME" in capsys.readouterr().err


class TestStoreLocation:
    def write_pyproject(self, root: Path, text: str) -> None:
        root.mkdir(parents=True, exist_ok=True)
        (root / "pyproject.toml").write_text(text)

    def test_the_nearest_pyproject_sets_the_root(self, tmp_path: Path) -> None:
        """From a subdirectory, the default store sits next to pyproject.toml."""
        self.write_pyproject(tmp_path / "project", "[project]\nname = 'x'\n")
        start = tmp_path / "project" / "src" / "pkg"
        start.mkdir(parents=True)

        assert find_settings(start).store == tmp_path / "project" / DEFAULT_STORE

    def test_the_configured_store_is_relative_to_the_pyproject(
        self, tmp_path: Path
    ) -> None:
        """[tool.pytest-tracer] store is read relative to its file."""
        self.write_pyproject(tmp_path, '[tool.pytest-tracer]\nstore = "data/h.db"\n')
        start = tmp_path / "tests"
        start.mkdir()

        assert find_settings(start).store == tmp_path / "data" / "h.db"

    def test_an_absolute_configured_store_is_kept(self, tmp_path: Path) -> None:
        """An absolute path is used as it is."""
        target = tmp_path / "elsewhere" / "h.db"
        self.write_pyproject(
            tmp_path / "p", f"[tool.pytest-tracer]\nstore = '{target}'\n"
        )

        assert find_settings(tmp_path / "p").store == target

    def test_a_home_relative_store_is_expanded(
        self, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
    ) -> None:
        """``~`` means the home directory, as in the plugin's setting."""
        monkeypatch.setenv("HOME", str(tmp_path / "home"))
        self.write_pyproject(tmp_path / "p", "[tool.pytest-tracer]\nstore = '~/h.db'\n")

        assert find_settings(tmp_path / "p").store == tmp_path / "home" / "h.db"

    def test_without_a_pyproject_the_start_directory_is_the_root(
        self, tmp_path: Path
    ) -> None:
        """No project found: the current directory holds the default store."""
        if any((p / "pyproject.toml").exists() for p in tmp_path.parents):
            pytest.skip("a pyproject.toml above the temporary directory")

        assert find_settings(tmp_path).store == tmp_path / DEFAULT_STORE

    @pytest.mark.parametrize(
        ("text", "message"),
        [
            (
                "[tool.pytest-tracer\n",
                r"pyproject.toml: invalid TOML: .*: fix it, or pass --db PATH\|URL$",
            ),
            (
                "[tool.pytest-tracer]\nstore = 42\n",
                r'\] "store" = 42: expected a file path or a postgresql:// .*: fix it',
            ),
            (
                "[tool.pytest-tracer]\nstore = ' '\n",
                r'"store" = " ": expected a file path or a postgresql:// URL',
            ),
            (
                "[tool]\npytest-tracer = 1\n",
                r'"pytest-tracer" = 1: expected a table \[tool.pytest-tracer\]',
            ),
            (
                "[tool.pytest-tracer]\nreport_rows = -1\n",
                r'"report_rows" = -1: expected an integer from 0 to',
            ),
        ],
    )
    def test_a_bad_pyproject_is_reported(
        self, tmp_path: Path, text: str, message: str
    ) -> None:
        """Invalid TOML or a store that is not a path names the file."""
        self.write_pyproject(tmp_path, text)

        with pytest.raises(CliError, match=message) as info:
            find_settings(tmp_path)
        assert str(tmp_path / "pyproject.toml") in str(info.value)

    def test_main_reads_the_configured_store_from_the_cwd(
        self,
        tmp_path: Path,
        monkeypatch: pytest.MonkeyPatch,
        capsys: pytest.CaptureFixture[str],
    ) -> None:
        """Without --db, main finds the project's store from where it runs."""
        self.write_pyproject(tmp_path, '[tool.pytest-tracer]\nstore = "h.sqlite"\n')
        save(tmp_path / "h.sqlite", make_meta(label="found"), [])
        (tmp_path / "sub").mkdir()
        monkeypatch.chdir(tmp_path / "sub")

        assert main([]) == 0

        assert " found " in capsys.readouterr().out

    def test_a_bad_pyproject_makes_main_exit_2(
        self,
        tmp_path: Path,
        monkeypatch: pytest.MonkeyPatch,
        capsys: pytest.CaptureFixture[str],
    ) -> None:
        """The configuration error is one line on stderr."""
        self.write_pyproject(tmp_path, "[tool.pytest-tracer]\nstore = 1\n")
        monkeypatch.chdir(tmp_path)

        assert main([]) == 2

        err = capsys.readouterr().err
        assert err.startswith("pytest-tracer history: ")
        assert (
            '"store" = 1: expected a file path or a postgresql:// URL as a string'
            in err
        )
        assert err.count("\n") == 1


class TestModuleEntryPoint:
    def test_without_a_subcommand_usage_is_printed_and_2_returned(
        self, capsys: pytest.CaptureFixture[str]
    ) -> None:
        """There is nothing to do by default."""
        assert entry.main([]) == 2

        assert capsys.readouterr().err.startswith("usage: python -m pytest_tracer")

    def test_history_is_dispatched(
        self, db: Path, capsys: pytest.CaptureFixture[str]
    ) -> None:
        """The subcommand gets the remaining arguments."""
        save(db, make_meta(label="via-entry"), [record("db", 0.001)])

        assert entry.main(["history", "--db", str(db), "db", "--limit", "1"]) == 0

        assert "timer 'db' (all tests)" in capsys.readouterr().out

    def test_history_usage_errors_name_the_subcommand(
        self, capsys: pytest.CaptureFixture[str]
    ) -> None:
        """--test without NAME is reported by the history parser."""
        with pytest.raises(SystemExit) as exit_info:
            entry.main(["history", "--test", "x"])

        assert exit_info.value.code == 2
        assert "pytest_tracer history: error: --test needs" in capsys.readouterr().err

    def test_python_dash_m_runs_the_history_command(self, db: Path) -> None:
        """The installed package answers ``python -m pytest_tracer history``."""
        save(db, make_meta(label="subprocess"), [record("db", 0.001)])

        done = subprocess.run(
            [sys.executable, "-m", "pytest_tracer", "history", "--db", str(db)],
            capture_output=True,
            text=True,
            encoding="utf-8",
            timeout=60,
            check=False,
        )

        assert done.returncode == 0, done.stderr
        assert " subprocess " in done.stdout
        assert done.stderr == ""


class TestMaintenance:
    """``history prune`` and ``history delete``, against both stores."""

    def saved(self, db: Path | str) -> list[int]:
        return [
            save(db, make_meta(CREATED + i, label=label, branch=branch), [])
            for i, (label, branch) in enumerate(
                [
                    ("nightly", "main"),
                    (None, "dev"),
                    ("nightly", "main"),
                    (None, "main"),
                ]
            )
        ]

    def ids(self, db: Path | str) -> list[int]:
        with open_store(db) as store:
            return [info.run_id for info in store.runs()]

    def test_prune_keeps_the_newest_runs(
        self, db: Path | str, capsys: pytest.CaptureFixture[str]
    ) -> None:
        self.saved(db)

        assert entry.main(["history", "prune", "--keep", "2", "--db", str(db)]) == 0

        assert self.ids(db) == [4, 3]
        assert capsys.readouterr().out == (
            f"deleted 2 runs from {db} (1, 2); kept the newest 2\n"
        )

    def test_prune_by_label_and_branch_leaves_the_others(
        self, db: Path | str, capsys: pytest.CaptureFixture[str]
    ) -> None:
        self.saved(db)
        argv = ["history", "prune", "--keep", "1", "--label", "nightly"]

        assert entry.main([*argv, "--branch", "main", "--db", str(db)]) == 0

        assert self.ids(db) == [4, 3, 2]
        assert "deleted 1 run with label 'nightly' on branch 'main'" in (
            capsys.readouterr().out
        )

    def test_a_dry_run_deletes_nothing(
        self, db: Path | str, capsys: pytest.CaptureFixture[str]
    ) -> None:
        self.saved(db)
        argv = ["history", "prune", "--keep", "0", "--dry-run", "--db", str(db)]

        assert entry.main(argv) == 0

        assert self.ids(db) == [4, 3, 2, 1]
        assert capsys.readouterr().out == f"would delete 4 runs from {db}: 1, 2, 3, 4\n"

    def test_delete_removes_the_runs_and_their_timings(
        self, db: Path | str, capsys: pytest.CaptureFixture[str]
    ) -> None:
        save(db, make_meta(), [record("db", 1.0)])
        save(db, make_meta(), [record("db", 2.0)])

        assert entry.main(["history", "delete", "1", "--db", str(db)]) == 0

        assert capsys.readouterr().out == f"deleted run 1 from {db}\n"
        with open_store(db) as store:
            assert [info.run_id for info in store.runs()] == [2]
            assert store.records(1) == {}
            assert [r.median for _, r in store.trend("db")] == [2.0]

    def test_an_unknown_id_deletes_nothing(
        self, db: Path | str, capsys: pytest.CaptureFixture[str]
    ) -> None:
        self.saved(db)

        assert entry.main(["history", "delete", "2", "9", "--db", str(db)]) == 1

        assert self.ids(db) == [4, 3, 2, 1]
        assert capsys.readouterr().err == (
            f"pytest-tracer history: no run 9 in {db}: nothing was deleted"
            " (python -m pytest_tracer history lists the runs)\n"
        )

    @pytest.mark.parametrize(
        ("argv", "message"),
        [
            (["prune"], "the following arguments are required: --keep"),
            (["prune", "--keep", "-1"], "expected a whole number of runs >= 0"),
            (["delete"], "the following arguments are required: RUN"),
            (["delete", "x"], "expected a run id (a whole number), got 'x'"),
            (["delete", "9" * 20], "expected a run id (a whole number)"),
        ],
    )
    def test_bad_arguments_are_one_usage_error(
        self, argv: list[str], message: str, capsys: pytest.CaptureFixture[str]
    ) -> None:
        with pytest.raises(SystemExit) as info:
            entry.main(["history", *argv])
        assert info.value.code == 2
        assert message in capsys.readouterr().err

    def test_a_missing_history_has_nothing_to_prune(
        self, db_file: Path, capsys: pytest.CaptureFixture[str]
    ) -> None:
        argv = ["history", "prune", "--keep", "1", "--db", str(db_file)]
        assert entry.main(argv) == 1
        assert "nothing to prune" in capsys.readouterr().err
        assert not db_file.exists()

    def test_a_timer_named_like_a_subcommand_is_shown_with_timer(
        self, db: Path | str, capsys: pytest.CaptureFixture[str]
    ) -> None:
        save(db, make_meta(), [record("prune", 1.0)])

        assert entry.main(["history", "--timer", "prune", "--db", str(db)]) == 0

        assert "timer 'prune' (all tests)" in capsys.readouterr().out


class TestHostileText:
    """Labels, branches and names reach the terminal without their controls."""

    NASTY = "\x1b[2J\x1b]0;owned\x07\r\n"

    def test_history_lists_and_trends_without_control_characters(
        self, db: Path | str, capsys: pytest.CaptureFixture[str]
    ) -> None:
        save(
            db,
            make_meta(label=f"lab{self.NASTY}", branch=f"br{self.NASTY}"),
            [record(f"db{self.NASTY}", 1.0)],
        )

        assert main(["--db", str(db)]) == 0
        assert main(["--db", str(db), f"db{self.NASTY}"]) == 0
        assert main(["--db", str(db), "nope"]) == 1

        out, err = capsys.readouterr()
        for text in (out, err):
            assert not set(text) & {"\x1b", "\x07", "\r"}
        assert "lab\ufffd[2J" in out
        assert "br\ufffd[2J" in out
        # One line per run: a newline in a label does not start another.
        assert len(out.splitlines()) == 2 + 1 + 2 + 1
