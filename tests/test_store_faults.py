"""A damaged history: every command and the plugin's history steps either
work or say what is wrong, never a traceback, and never write into a file
that fails ``PRAGMA quick_check``."""

from __future__ import annotations

import os
import random
import shutil
import sqlite3
import statistics
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path

import pytest

from pytest_tracer import __main__ as entry
from pytest_tracer._config import TracerConfig
from pytest_tracer._history import hooks
from pytest_tracer._history.sqlite import SQLiteStore
from pytest_tracer._history.store import StoreError, TimingRecord, open_store
from runs import make_meta

FLIPS = 120
TRUNCATIONS = (0, 50, 100, 4096, 8192, 20000)


def record(test: str, name: str, samples: list[float]) -> TimingRecord:
    ordered = sorted(samples)
    return TimingRecord(
        test,
        name,
        len(ordered),
        sum(ordered),
        ordered[0],
        ordered[-1],
        statistics.median(ordered),
        ordered[-1],
        tuple(samples),
    )


@pytest.fixture(scope="module")
def healthy(tmp_path_factory: pytest.TempPathFactory) -> bytes:
    """The bytes of a history with three runs of 30 records each."""
    path = tmp_path_factory.mktemp("healthy") / "history.sqlite"
    with SQLiteStore(path) as store:
        for run in range(3):
            store.save_run(
                make_meta(label=f"r{run}", created=1_700_000_000.0 + run),
                [
                    record(f"t.py::test_{i}", name, [0.001 * (i + 1 + run)] * 12)
                    for i in range(15)
                    for name in ("db", "io")
                ],
            )
    # One file, no WAL beside it: what a copied or cached history looks like.
    conn = sqlite3.connect(path)
    conn.execute("PRAGMA journal_mode = DELETE")
    conn.close()
    return path.read_bytes()


def passes_quick_check(data: bytes, scratch: Path) -> bool:
    copy = scratch / "probe.sqlite"
    copy.write_bytes(data)
    try:
        conn = sqlite3.connect(f"{copy.as_uri()}?mode=ro", uri=True)
        try:
            return [r[0] for r in conn.execute("PRAGMA quick_check")] == ["ok"]
        finally:
            conn.close()
    except sqlite3.DatabaseError:
        return False
    finally:
        copy.unlink()


def save(path: Path) -> None:
    with open_store(path) as store:
        store.save_run(make_meta(), [])


def exercise(path: Path, capsys: pytest.CaptureFixture[str]) -> list[str]:
    """Everything that reads or writes a history, on *path*; the tracebacks."""
    settings = TracerConfig(store=path)
    steps: list[tuple[str, Callable[[], object]]] = [
        ("history", lambda: entry.main(["history", "--db", str(path)])),
        ("history db", lambda: entry.main(["history", "db", "--db", str(path)])),
        ("export", lambda: entry.main(["export", "--db", str(path)])),
        (
            "prune",
            lambda: entry.main(["history", "prune", "--keep", "2", "--db", str(path)]),
        ),
        ("check_writable", lambda: hooks.check_writable(path)),
        (
            "compare",
            lambda: hooks.resolve_baseline("latest", path, settings, [], cwd=path),
        ),
        ("save", lambda: save(path)),
    ]
    tracebacks = []
    for name, step in steps:
        try:
            step()
        except (StoreError, pytest.UsageError, SystemExit):
            pass
        except Exception as exc:  # what this test counts
            tracebacks.append(f"{name}: {type(exc).__name__}: {exc}")
    captured = capsys.readouterr()
    assert "Traceback" not in captured.err
    return tracebacks


def test_flipped_bits_and_truncations_give_no_traceback_and_no_write(
    healthy: bytes, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    rng = random.Random(20261202)
    variants: list[tuple[str, bytes]] = []
    for _ in range(FLIPS):
        flipped = bytearray(healthy)
        offset = rng.randrange(len(flipped))
        flipped[offset] ^= 1 << rng.randrange(8)
        variants.append((f"bit flip at {offset}", bytes(flipped)))
    variants += [(f"truncated to {n}", healthy[:n]) for n in TRUNCATIONS]
    tracebacks: list[str] = []
    damaged = written_damaged = 0
    for index, (what, data) in enumerate(variants):
        path = tmp_path / f"v{index}" / "history.sqlite"
        path.parent.mkdir()
        path.write_bytes(data)
        intact = passes_quick_check(data, tmp_path)
        tracebacks += [f"{what}: {t}" for t in exercise(path, capsys)]
        if not intact and data:
            damaged += 1
            if (
                path.read_bytes() != data
                or path.with_name("history.sqlite-wal").exists()
            ):
                written_damaged += 1

    assert tracebacks == []
    assert written_damaged == 0
    assert damaged >= 5  # the flips reached the pages, not only the header


def bad_row_history(path: Path, healthy: bytes, sql: str) -> None:
    for suffix in ("-wal", "-shm"):
        path.with_name(path.name + suffix).unlink(missing_ok=True)
    path.write_bytes(healthy)
    conn = sqlite3.connect(path)
    conn.execute("PRAGMA foreign_keys = OFF")
    conn.execute(sql)
    conn.commit()
    conn.close()


@pytest.mark.parametrize(
    ("sql", "said"),
    [
        (
            "UPDATE timings SET samples = x'010203' WHERE test_id = 't.py::test_3'",
            "samples = 3 bytes",
        ),
        (
            "UPDATE timings SET samples = 'text' WHERE test_id = 't.py::test_3'",
            "samples = 'text'",
        ),
        ("UPDATE runs SET created = 1e20 WHERE id = 3", "created = 1e+20"),
        ("UPDATE runs SET created = 'yesterday' WHERE id = 3", "created = 'yesterday'"),
        (
            "UPDATE timings SET count = 'many' WHERE test_id = 't.py::test_3'",
            "count = 'many'",
        ),
        (
            "UPDATE timings SET run_id = 99"
            " WHERE test_id = 't.py::test_3' AND run_id = 3",
            None,
        ),
        (
            "UPDATE timings SET median = -1 WHERE test_id = 't.py::test_3'",
            "median = -1",
        ),
    ],
)
def test_a_bad_row_is_reported_and_skipped(
    healthy: bytes,
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
    sql: str,
    said: str | None,
) -> None:
    path = tmp_path / "history.sqlite"
    bad_row_history(path, healthy, sql)

    assert exercise(path, capsys) == []

    bad_row_history(path, healthy, sql)
    assert entry.main(["history", "db", "--db", str(path)]) == 0
    out, err = capsys.readouterr()
    assert "timer 'db' (all tests)" in out
    if said is not None:
        assert f"warning: {path}: run " in err
        assert said in err
        assert "that row was skipped" in err
    notes: list[str] = []
    comparer = hooks.resolve_baseline(
        "latest", path, TracerConfig(store=path), notes, cwd=tmp_path
    )
    if "runs SET created" in sql:
        assert comparer is not None  # run 3 skipped: run 2 is the baseline
        assert [run.run_id for run in comparer.runs] == [2]
    elif said is not None:
        assert any(said in note for note in notes)


@pytest.mark.skipif(not hasattr(os, "mkfifo"), reason="needs os.mkfifo")
def test_a_fifo_at_the_store_path_is_refused_at_once(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    path = tmp_path / "history.sqlite"
    os.mkfifo(path)

    assert exercise(path, capsys) == []
    with pytest.raises(StoreError, match="is not a regular file, not a history"):
        SQLiteStore(path).runs()


def test_a_directory_at_the_store_path_is_refused(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    path = tmp_path / "history.sqlite"
    path.mkdir()

    assert exercise(path, capsys) == []
    with pytest.raises(StoreError, match="is a directory, not a history file"):
        SQLiteStore(path).save_run(make_meta(), [])


def test_a_read_only_history_is_refused_before_the_tests(
    healthy: bytes, tmp_path: Path
) -> None:
    """With write permission removed from the file and its directory."""
    if os.geteuid() == 0:
        # Root writes whatever the mode says: take it away with a read-only
        # SQLite connection instead, as a read-only mount would.
        path = tmp_path / "history.sqlite"
        path.write_bytes(healthy)
        store = SQLiteStore(path)
        conn = sqlite3.connect(
            f"{path.as_uri()}?mode=ro", uri=True, isolation_level=None
        )
        store._conn = conn
        with pytest.raises(StoreError, match="readonly"):
            store.check_writable()
        store.close()
        assert path.read_bytes() == healthy
        return
    path = tmp_path / "ro" / "history.sqlite"
    path.parent.mkdir()
    path.write_bytes(healthy)
    path.chmod(0o444)
    path.parent.chmod(0o555)
    try:
        with pytest.raises(StoreError, match="check that it is writable"):
            hooks_check(path)
    finally:
        path.parent.chmod(0o755)
        path.chmod(0o644)


def hooks_check(path: Path) -> None:
    with SQLiteStore(path) as store:
        store.check_writable()


def test_history_into_a_closed_pipe_is_quiet(tmp_path: Path, healthy: bytes) -> None:
    path = tmp_path / "history.sqlite"
    path.write_bytes(healthy)
    with SQLiteStore(path) as store:
        for run in range(200):
            store.save_run(make_meta(label=f"many-{run}"), [])
    command = (
        f"{shutil.which('python3') and sys.executable} -m pytest_tracer history"
        f" --limit 200 --db {path} | head -1"
    )
    done = subprocess.run(
        ["bash", "-o", "pipefail", "-c", command],
        capture_output=True,
        text=True,
        check=False,
        timeout=60,
    )
    assert done.stdout.startswith("200 runs in")
    assert done.stderr == ""
    assert done.returncode in (0, 141)


def test_a_flipped_byte_in_the_schema_text_is_reported_as_damage(
    healthy: bytes, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    path = tmp_path / "history.sqlite"
    at = healthy.index(b"TABLE meta")
    # "meta" becomes text that is not UTF-8, as one flipped bit can make it.
    path.write_bytes(healthy[: at + 6] + b"\xcc" + healthy[at + 7 :])

    assert exercise(path, capsys) == []
    with pytest.raises(StoreError, match=r"damaged|malformed|not a pytest-tracer"):
        SQLiteStore(path).runs()
    assert path.read_bytes()[at + 6 : at + 7] == b"\xcc"
