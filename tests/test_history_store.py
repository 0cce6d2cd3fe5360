from __future__ import annotations

import multiprocessing
import sqlite3
import statistics
import struct
import threading
from collections.abc import Iterator, Sequence
from dataclasses import replace
from pathlib import Path
from typing import Any

import pytest

from pytest_tracer._history import postgres as _postgres
from pytest_tracer._history import sqlite as _sqlite
from pytest_tracer._history.sqlite import APPLICATION_ID, SQLiteStore
from pytest_tracer._history.store import (
    ALL_TESTS,
    MAX_SAMPLES,
    SCHEMA_VERSION,
    HistoryStore,
    RunInfo,
    StoreError,
    TimingRecord,
    open_store,
)
from runs import make_meta


def make_record(test_id: str, name: str, samples: Sequence[float]) -> TimingRecord:
    ordered = sorted(samples)
    return TimingRecord(
        test_id=test_id,
        name=name,
        count=len(ordered),
        total=sum(ordered),
        min=ordered[0],
        max=ordered[-1],
        median=statistics.median(ordered),
        p95=ordered[-1],
        samples=tuple(samples),
    )


@pytest.fixture
def path(tmp_path: Path) -> Path:
    return tmp_path / "history" / "history.sqlite"


@pytest.fixture
def store(store_location: Path | str) -> Iterator[HistoryStore]:
    """A new history in each kind of store."""
    with open_store(store_location) as store:
        yield store


def save_labelled(
    store: HistoryStore, *labels: tuple[str | None, str | None]
) -> list[int]:
    return [
        store.save_run(
            make_meta(label=label, branch=branch, created=1_700_000_000.0 + i),
            [make_record("t.py::test", "step", [0.001 * (i + 1)])],
        )
        for i, (label, branch) in enumerate(labels)
    ]


def schema_objects(path: Path) -> set[str]:
    conn = sqlite3.connect(path)
    try:
        return {name for (name,) in conn.execute("SELECT name FROM sqlite_master")}
    finally:
        conn.close()


def pragma(path: Path, name: str) -> object:
    conn = sqlite3.connect(path)
    try:
        return conn.execute(f"PRAGMA {name}").fetchone()[0]
    finally:
        conn.close()


class TestRoundTrip:
    def test_a_saved_run_reads_back_equal(self, store: HistoryStore) -> None:
        """Metadata and every record field, samples included, survive a save."""
        meta = make_meta(label="baseline", workers=4)
        records = [
            make_record("", "session_setup", [0.5]),
            make_record("t.py::test_a", "db", [0.01, 0.03, 0.02]),
            make_record("t.py::test_b", "db", [1e-9, 123.456789]),
            TimingRecord("t.py::test_c", "empty", 0, 0.0, 0.0, 0.0, 0.0, 0.0, ()),
        ]
        run_id = store.save_run(meta, records)

        assert store.runs() == [RunInfo(run_id, meta, timings=4)]
        assert store.records(run_id) == {(r.test_id, r.name): r for r in records}

    def test_save_run_accepts_a_generator_and_counts_up_ids(
        self, store: HistoryStore
    ) -> None:
        """Records may be any iterable; ids grow with every saved run."""
        first = store.save_run(make_meta(), (make_record("t", n, [1.0]) for n in "ab"))
        second = store.save_run(make_meta(), iter([]))

        assert second > first
        assert len(store.records(first)) == 2
        assert store.records(second) == {}

    def test_records_of_an_unknown_run_are_empty(self, store: HistoryStore) -> None:
        """An id that was never saved has no timings rather than an error."""
        save_labelled(store, (None, None))

        assert store.records(999) == {}

    def test_samples_are_stored_as_one_little_endian_blob(self, path: Path) -> None:
        """Samples take eight bytes each in a single row, not a row per sample."""
        samples = [0.25 * i for i in range(MAX_SAMPLES)]
        with SQLiteStore(path) as store:
            store.save_run(make_meta(), [make_record("t", "loop", samples)])

        conn = sqlite3.connect(path)
        rows = conn.execute("SELECT samples FROM timings").fetchall()
        conn.close()
        assert len(rows) == 1
        (blob,) = rows[0]
        assert len(blob) == 8 * MAX_SAMPLES
        assert blob[8:16] == struct.pack("<d", 0.25)

    def test_the_file_is_marked_as_ours_and_in_wal_mode(self, path: Path) -> None:
        """Application id, schema version and WAL mode are set on creation."""
        with SQLiteStore(path) as store:
            save_labelled(store, (None, None))

        assert pragma(path, "application_id") == APPLICATION_ID
        assert pragma(path, "user_version") == SCHEMA_VERSION
        assert pragma(path, "journal_mode") == "wal"

    def test_the_store_reopens_after_close(self, store: HistoryStore) -> None:
        """close() only drops the connection: the next call opens it again."""
        save_labelled(store, ("a", None))
        store.close()

        assert [info.meta.label for info in store.runs()] == ["a"]


class TestValidation:
    def test_two_records_with_the_same_key_are_refused(
        self, store: HistoryStore, store_location: Path | str
    ) -> None:
        """A duplicate (test_id, name) is a caller bug; nothing is written."""
        records = [make_record("t", "db", [1.0]), make_record("t", "db", [2.0])]

        with pytest.raises(ValueError, match="two records for timer 'db' in test 't'"):
            store.save_run(make_meta(), records)
        assert store.runs() == []
        assert not isinstance(store_location, Path) or not store_location.exists()

    def test_more_samples_than_the_bound_are_refused(
        self, store: HistoryStore, store_location: Path | str
    ) -> None:
        """The store keeps at most MAX_SAMPLES per record; more is a caller bug."""
        record = make_record("t", "db", [1.0] * (MAX_SAMPLES + 1))

        with pytest.raises(ValueError, match=r"1025 samples, expected at most 1024"):
            store.save_run(make_meta(), [record])
        assert store.runs() == []
        assert not isinstance(store_location, Path) or not store_location.exists()

    def test_a_negative_runs_limit_is_refused(self, store: HistoryStore) -> None:
        """limit counts runs; a negative one is a mistake, not 'all'."""
        with pytest.raises(ValueError, match="got -1"):
            store.runs(limit=-1)

    def test_a_trend_limit_below_one_is_refused(self, store: HistoryStore) -> None:
        """A trend of zero runs is a mistake."""
        with pytest.raises(ValueError, match="at least 1 run, got 0"):
            store.trend("db", limit=0)


class TestQueries:
    def test_runs_are_listed_newest_first(self, store: HistoryStore) -> None:
        """The latest save comes first whatever its timestamp says."""
        ids = save_labelled(store, ("a", None), ("b", None), ("c", None))

        assert [info.run_id for info in store.runs()] == ids[::-1]

    def test_runs_filter_by_label_branch_and_limit(self, store: HistoryStore) -> None:
        """Filters combine, and limit keeps the newest matches."""
        ids = save_labelled(
            store,
            ("base", "main"),
            ("base", "feature"),
            (None, "main"),
            ("base", "main"),
        )

        assert [r.run_id for r in store.runs(label="base")] == [ids[3], ids[1], ids[0]]
        assert [r.run_id for r in store.runs(branch="main")] == [ids[3], ids[2], ids[0]]
        assert [r.run_id for r in store.runs(label="base", branch="main")] == [
            ids[3],
            ids[0],
        ]
        assert [r.run_id for r in store.runs(limit=2)] == [ids[3], ids[2]]
        assert store.runs(limit=0) == []
        assert store.runs(label="nope") == []

    def test_runs_filter_by_label_branch_and_ids(self, store: HistoryStore) -> None:
        """label=, branch= and ids= each narrow the runs, newest first."""
        ids = save_labelled(store, ("base", "main"), (None, "feature"), ("base", None))

        assert [r.run_id for r in store.runs(label="base")] == [ids[2], ids[0]]
        assert [r.run_id for r in store.runs(branch="main")] == [ids[0]]
        assert [r.run_id for r in store.runs(ids=[ids[0], ids[1]])] == [ids[1], ids[0]]
        assert store.runs(ids=[]) == []
        assert store.runs(label="missing") == []

    def test_names_lists_every_timer_once(self, store: HistoryStore) -> None:
        """Timer names across runs and tests, sorted and deduplicated."""
        store.save_run(make_meta(), [make_record("a", "z", [1.0])])
        store.save_run(
            make_meta(), [make_record("a", "y", [1.0]), make_record("b", "z", [1.0])]
        )

        assert store.names() == ["y", "z"]


class TestTrend:
    def test_a_test_timing_is_followed_oldest_first(self, store: HistoryStore) -> None:
        """With test_id, each run contributes that test's own record."""
        ids = []
        for median in (1.0, 2.0, 3.0):
            ids.append(
                store.save_run(
                    make_meta(),
                    [
                        make_record("t::a", "db", [median]),
                        make_record("t::b", "db", [median * 10]),
                    ],
                )
            )

        trend = store.trend("db", test_id="t::a")

        assert [info.run_id for info, _ in trend] == ids
        assert [record.median for _, record in trend] == [1.0, 2.0, 3.0]
        assert {record.test_id for _, record in trend} == {"t::a"}

    def test_the_limit_keeps_the_newest_runs_having_the_timer(
        self, store: HistoryStore
    ) -> None:
        """Runs without the timer are skipped, not counted against the limit."""
        with_db = []
        for i in range(5):
            with_db.append(store.save_run(make_meta(), [make_record("t", "db", [i])]))
            store.save_run(make_meta(), [make_record("t", "other", [1.0])])

        trend = store.trend("db", limit=3)

        assert [info.run_id for info, _ in trend] == with_db[2:]

    def test_session_level_timings_have_an_empty_test_id(
        self, store: HistoryStore
    ) -> None:
        """test_id "" selects the session record, not every test."""
        store.save_run(
            make_meta(),
            [make_record("", "startup", [5.0]), make_record("t", "startup", [1.0])],
        )

        [(_, record)] = store.trend("startup", test_id="")

        assert record.median == 5.0

    def test_a_single_record_is_returned_unchanged(self, store: HistoryStore) -> None:
        """Merging one record would only change its percentile definition."""
        record = replace(make_record("t", "db", [1.0, 2.0, 9.0]), p95=8.123)
        store.save_run(make_meta(), [record])

        assert [r for _, r in store.trend("db")] == [record]

    def test_records_of_one_run_are_merged_across_tests(
        self, store: HistoryStore
    ) -> None:
        """Counts and totals add up; min/max span; median/p95 use pooled samples."""
        store.save_run(
            make_meta(),
            [
                make_record("t::a", "db", [1.0, 3.0]),
                make_record("t::b", "db", [2.0, 4.0, 5.0]),
                make_record("t::c", "other", [100.0]),
            ],
        )

        [(_, merged)] = store.trend("db")

        assert merged.test_id == ALL_TESTS
        assert merged.name == "db"
        assert merged.count == 5
        assert merged.total == pytest.approx(15.0)
        assert (merged.min, merged.max) == (1.0, 5.0)
        assert merged.median == 3.0
        # Linear interpolation: position 0.95 * 4 = 3.8 between 4.0 and 5.0.
        assert merged.p95 == pytest.approx(4.8)
        assert merged.samples == (1.0, 2.0, 3.0, 4.0, 5.0)

    def test_without_samples_the_busiest_record_gives_the_percentiles(
        self, store: HistoryStore
    ) -> None:
        """No pooled sample: median and p95 come from the largest count."""
        quiet = TimingRecord("t::a", "db", 2, 2.0, 1.0, 1.0, 1.0, 1.0, ())
        busy = TimingRecord("t::b", "db", 50, 150.0, 2.0, 4.0, 3.0, 3.9, ())
        store.save_run(make_meta(), [quiet, busy])

        [(_, merged)] = store.trend("db")

        assert (merged.median, merged.p95) == (3.0, 3.9)
        assert merged.count == 52
        assert merged.samples == ()

    def test_a_large_pool_is_thinned_to_the_sample_bound(
        self, store: HistoryStore
    ) -> None:
        """The merged samples keep the extremes and at most MAX_SAMPLES values."""
        records = [
            make_record(f"t::{i}", "db", [float(i * 1000 + j) for j in range(1000)])
            for i in range(3)
        ]
        store.save_run(make_meta(), records)

        [(_, merged)] = store.trend("db")

        assert len(merged.samples) == MAX_SAMPLES
        assert merged.samples[0] == 0.0
        assert merged.samples[-1] == 2999.0
        assert list(merged.samples) == sorted(merged.samples)
        assert merged.median == 1499.5

    def test_an_unknown_timer_has_no_trend(self, store: HistoryStore) -> None:
        """A name never saved gives an empty list."""
        save_labelled(store, (None, None))

        assert store.trend("nope") == []
        assert store.trend("step", test_id="other") == []


class TestMissingFile:
    def test_reading_a_missing_file_finds_nothing_and_creates_nothing(
        self, path: Path
    ) -> None:
        """Neither the file nor its directory appears after reading."""
        store = SQLiteStore(path)

        assert store.runs() == []
        assert store.records(1) == {}
        assert store.trend("db") == []
        assert store.names() == []
        store.close()
        assert not path.parent.exists()

    def test_saving_creates_the_missing_directories(self, tmp_path: Path) -> None:
        """save_run makes the parent directories of the file."""
        path = tmp_path / "a" / "b" / "history.sqlite"

        with SQLiteStore(path) as store:
            store.save_run(make_meta(), [])

        assert path.is_file()

    def test_an_empty_file_reads_as_no_history_and_can_be_saved_to(
        self, path: Path
    ) -> None:
        """A zero-byte file (touched, or a crashed first save) is not an error."""
        path.parent.mkdir()
        path.touch()
        store = SQLiteStore(path)

        assert store.runs() == []
        assert path.stat().st_size == 0
        run_id = store.save_run(make_meta(), [])
        assert [info.run_id for info in store.runs()] == [run_id]

    def test_a_directory_that_cannot_be_created_is_reported(
        self, tmp_path: Path
    ) -> None:
        """A file where the directory should be gives a StoreError naming it."""
        (tmp_path / "blocker").write_text("")
        path = tmp_path / "blocker" / "history.sqlite"

        with pytest.raises(StoreError, match="cannot create the directory") as info:
            SQLiteStore(path).save_run(make_meta(), [])
        assert str(path) in str(info.value)


class TestUnusableFiles:
    """Every refused file is named in the message and left byte for byte."""

    def assert_refused(self, path: Path, match: str) -> None:
        before = path.read_bytes()
        store = SQLiteStore(path)
        with pytest.raises(StoreError, match=match) as read_error:
            store.runs()
        with pytest.raises(StoreError, match=match) as write_error:
            store.save_run(make_meta(), [make_record("t", "db", [1.0])])
        store.close()
        assert str(path) in str(read_error.value)
        assert str(path) in str(write_error.value)
        assert path.read_bytes() == before

    def test_garbage_bytes_are_not_a_database(self, path: Path) -> None:
        """A file without the SQLite header is refused before SQLite sees it."""
        path.parent.mkdir()
        path.write_bytes(b"\x00garbage, not a database\xff" * 200)

        self.assert_refused(path, "is not a SQLite database .* left it untouched")

    def test_a_truncated_header_is_not_a_database(self, path: Path) -> None:
        """A few bytes of a SQLite header are not enough."""
        path.parent.mkdir()
        path.write_bytes(b"SQLite format 3\x00\x10\x00")

        self.assert_refused(path, "is not a SQLite database")

    def test_a_history_with_a_damaged_schema_page_is_refused(self, path: Path) -> None:
        """Our header but a broken first page is reported as damaged."""
        with SQLiteStore(path) as store:
            save_labelled(store, ("a", None))
        data = bytearray(path.read_bytes())
        data[100:4096] = b"\xa5" * (4096 - 100)
        path.write_bytes(bytes(data))

        self.assert_refused(path, "is damaged .* delete it to start a new history")

    def test_a_database_of_another_program_is_refused(self, path: Path) -> None:
        """A foreign SQLite file gets no tables, no WAL switch, no version."""
        path.parent.mkdir()
        conn = sqlite3.connect(path)
        conn.execute("CREATE TABLE notes (body TEXT)")
        conn.execute("INSERT INTO notes VALUES ('keep me')")
        conn.commit()
        conn.close()

        self.assert_refused(path, "database of another program, not a pytest-tracer")

    def test_our_application_id_without_our_meta_table_is_refused(
        self, path: Path
    ) -> None:
        """The application id alone does not make a file ours."""
        path.parent.mkdir()
        conn = sqlite3.connect(path)
        conn.execute(f"PRAGMA application_id = {APPLICATION_ID}")
        conn.execute("CREATE TABLE runs (id INTEGER)")
        conn.commit()
        conn.close()

        self.assert_refused(path, "not a pytest-tracer history")

    def test_an_empty_database_of_another_program_is_refused(self, path: Path) -> None:
        """A non-empty file without our id is foreign, even with no tables."""
        path.parent.mkdir()
        conn = sqlite3.connect(path)
        conn.execute("PRAGMA user_version = 7")
        conn.close()
        assert path.stat().st_size > 0

        self.assert_refused(path, "database of another program")

    def test_a_history_from_a_newer_version_asks_for_an_upgrade(
        self, path: Path
    ) -> None:
        """A schema version above ours is never read or downgraded."""
        with SQLiteStore(path) as store:
            save_labelled(store, ("a", None))
        conn = sqlite3.connect(path)
        conn.execute(f"PRAGMA user_version = {SCHEMA_VERSION + 1}")
        conn.close()

        self.assert_refused(
            path,
            rf"newer pytest-tracer \(schema version {SCHEMA_VERSION + 1}, this one"
            rf" knows up to {SCHEMA_VERSION}\): upgrade pytest-tracer",
        )


class TestMigrations:
    def make_version_1(self, path: Path) -> None:
        """Write a file exactly as schema version 1 left it."""
        path.parent.mkdir()
        conn = sqlite3.connect(path, isolation_level=None)
        conn.execute(f"PRAGMA application_id = {APPLICATION_ID}")
        conn.execute("PRAGMA journal_mode = WAL")
        for statement in _sqlite._MIGRATIONS[0]:
            conn.execute(statement)
        conn.execute("INSERT INTO meta VALUES ('application', 'pytest-tracer')")
        conn.execute(
            "INSERT INTO runs VALUES (7, 1.5, 'old', 'abc', 'main', 'CPython 3.10',"
            " '8.0', 'Linux', 'Linux', 'x86_64', 'cpu', 4, 1)"
        )
        conn.execute(
            "INSERT INTO timings VALUES (7, 't', 'db', 1, 2.0, 2.0, 2.0, 2.0, 2.0, ?)",
            (struct.pack("<d", 2.0),),
        )
        conn.execute("PRAGMA user_version = 1")
        conn.close()

    def test_a_version_1_file_is_upgraded_and_keeps_its_runs(self, path: Path) -> None:
        """Opening replays the later migrations and the old run reads back."""
        self.make_version_1(path)
        assert "timings_by_name" not in schema_objects(path)

        with SQLiteStore(path) as store:
            [info] = store.runs()
            trend = store.trend("db")
            new_id = store.save_run(make_meta(), [make_record("t", "db", [3.0])])

        assert info.run_id == 7
        assert info.meta.label == "old"
        assert [record.samples for _, record in trend] == [(2.0,)]
        assert new_id == 8
        assert pragma(path, "user_version") == SCHEMA_VERSION
        assert {"timings_by_name", "runs_by_label", "runs_by_branch"} <= schema_objects(
            path
        )

    def test_the_schema_version_counts_the_migrations(self) -> None:
        """Every migration adds one version, so none can be skipped, and a
        version means the same tables in both stores."""
        assert len(_sqlite._MIGRATIONS) == SCHEMA_VERSION
        assert len(_postgres._MIGRATIONS) == SCHEMA_VERSION

    def test_a_failing_migration_leaves_the_file_at_its_old_version(
        self, path: Path, monkeypatch: pytest.MonkeyPatch
    ) -> None:
        """All pending migrations share one transaction: none or all apply."""
        with SQLiteStore(path) as store:
            save_labelled(store, ("a", None))
        broken = ("CREATE TABLE extra (x)", "CREATE INDEX broken ON nowhere (x)")
        monkeypatch.setattr(_sqlite, "_MIGRATIONS", (*_sqlite._MIGRATIONS, broken))

        with pytest.raises(StoreError, match=r"no such table: main\.nowhere") as info:
            SQLiteStore(path).runs()

        assert str(path) in str(info.value)
        assert pragma(path, "user_version") == SCHEMA_VERSION
        assert "extra" not in schema_objects(path)


def _write_runs(location: Path | str, barrier: Any, writer: int, runs: int) -> None:
    # Runs in a spawned process: each saves its runs as a separate pytest would.
    barrier.wait()
    for i in range(runs):
        with open_store(location) as store:
            records = [
                make_record(f"t.py::test_{j}", "db", [writer + i / 100 + j] * 64)
                for j in range(40)
            ]
            store.save_run(make_meta(label=f"w{writer}-{i}", workers=writer), records)


class TestConcurrency:
    def test_16_processes_saving_at_once_all_succeed_without_interleaving(
        self, store_location: Path | str
    ) -> None:
        """SQLite: WAL, a busy timeout and one IMMEDIATE transaction per run.
        PostgreSQL: one transaction per run, and the first save's tables
        created under an advisory lock that the others wait for."""
        writers, runs = 16, 2
        context = multiprocessing.get_context("spawn")
        barrier = context.Barrier(writers)
        processes = [
            context.Process(target=_write_runs, args=(store_location, barrier, w, runs))
            for w in range(writers)
        ]
        for process in processes:
            process.start()
        for process in processes:
            process.join(timeout=180)

        assert [p.exitcode for p in processes] == [0] * writers
        with open_store(store_location) as store:
            saved = store.runs()
            assert sorted(info.meta.label or "" for info in saved) == sorted(
                f"w{w}-{i}" for w in range(writers) for i in range(runs)
            )
            assert {info.timings for info in saved} == {40}
            for info in saved:
                writer, i = map(int, (info.meta.label or "")[1:].split("-"))
                records = store.records(info.run_id)
                # Every record of a run is the one its writer saved in it.
                assert {
                    key: set(record.samples) for key, record in records.items()
                } == {
                    (f"t.py::test_{j}", "db"): {writer + i / 100 + j} for j in range(40)
                }
        if isinstance(store_location, Path):
            assert pragma(store_location, "integrity_check") == "ok"

    def test_a_save_waits_for_another_writer_to_finish(self, path: Path) -> None:
        """A held write lock delays the save instead of failing it."""
        with SQLiteStore(path) as store:
            store.save_run(make_meta(label="first"), [])
        holder = sqlite3.connect(path, isolation_level=None, check_same_thread=False)
        holder.execute("BEGIN IMMEDIATE")
        release = threading.Timer(0.2, holder.execute, ("COMMIT",))
        release.start()
        try:
            with SQLiteStore(path) as store:
                store.save_run(make_meta(label="second"), [])
                labels = [info.meta.label for info in store.runs()]
        finally:
            release.join()
            holder.close()

        assert labels == ["second", "first"]

    def make_rollback_mode_file_being_written(self, path: Path) -> sqlite3.Connection:
        """A history not yet in WAL mode, as its creator leaves it for a moment,
        with another connection in the middle of a write."""
        with SQLiteStore(path) as store:
            store.save_run(make_meta(label="first"), [])
        conn = sqlite3.connect(path, isolation_level=None)
        conn.execute("PRAGMA journal_mode = DELETE")
        conn.close()
        holder = sqlite3.connect(
            path, isolation_level=None, check_same_thread=False, timeout=10
        )
        holder.execute("BEGIN IMMEDIATE")
        holder.execute("INSERT INTO meta VALUES ('other', 'writer')")
        return holder

    def test_the_switch_to_wal_waits_for_a_writer(self, path: Path) -> None:
        """SQLite fails that switch at once on a lock; the store retries."""
        holder = self.make_rollback_mode_file_being_written(path)
        release = threading.Timer(0.2, holder.execute, ("COMMIT",))
        release.start()
        try:
            with SQLiteStore(path) as store:
                store.save_run(make_meta(label="second"), [])
                labels = [info.meta.label for info in store.runs()]
        finally:
            release.join()
            holder.close()

        assert labels == ["second", "first"]
        assert pragma(path, "journal_mode") == "wal"

    def test_a_reader_leaves_the_journal_mode_alone(self, path: Path) -> None:
        """Reading writes nothing, not even the switch to WAL."""
        holder = self.make_rollback_mode_file_being_written(path)
        holder.execute("COMMIT")
        holder.close()
        before = path.read_bytes()

        with SQLiteStore(path) as store:
            assert [info.meta.label for info in store.runs()] == ["first"]

        assert pragma(path, "journal_mode") == "delete"
        assert path.read_bytes() == before

    def test_the_switch_to_wal_gives_up_after_the_busy_timeout(
        self, path: Path, monkeypatch: pytest.MonkeyPatch
    ) -> None:
        """A writer that never finishes makes the store report a lock."""
        holder = self.make_rollback_mode_file_being_written(path)
        monkeypatch.setattr(_sqlite, "BUSY_TIMEOUT", 0.05)
        try:
            with pytest.raises(StoreError, match="stayed locked"):
                SQLiteStore(path).check_writable()
        finally:
            holder.close()

    def test_a_lock_held_too_long_is_reported(
        self, path: Path, monkeypatch: pytest.MonkeyPatch
    ) -> None:
        """After the busy timeout the error says to try again later."""
        with SQLiteStore(path) as store:
            store.save_run(make_meta(), [])
        monkeypatch.setattr(_sqlite, "BUSY_TIMEOUT", 0.05)
        holder = sqlite3.connect(path, isolation_level=None)
        holder.execute("BEGIN IMMEDIATE")
        try:
            with (
                SQLiteStore(path) as store,
                pytest.raises(StoreError, match=r"stayed locked .* try again") as info,
            ):
                store.save_run(make_meta(), [])
        finally:
            holder.close()

        assert str(path) in str(info.value)


def tables_of(url: str, schema: str = "public") -> set[str]:
    import psycopg

    with psycopg.connect(url) as conn:
        rows = conn.execute(
            "SELECT table_name FROM information_schema.tables WHERE table_schema = %s",
            (schema,),
        ).fetchall()
    return {name for (name,) in rows}


def run_sql(url: str, *statements: str) -> None:
    import psycopg

    with psycopg.connect(url, autocommit=True) as conn:
        for statement in statements:
            conn.execute(statement.encode())


class TestPostgres:
    """What only a PostgreSQL history does: the rest runs against both."""

    def test_reading_an_empty_database_creates_nothing(self, postgres_url: str) -> None:
        with open_store(postgres_url) as store:
            assert store.runs() == []
            assert store.trend("db") == []

        assert tables_of(postgres_url) == set()

    def test_a_save_creates_the_tables_at_the_current_version(
        self, postgres_url: str
    ) -> None:
        with open_store(postgres_url) as store:
            store.save_run(make_meta(), [make_record("t", "db", [1.0])])

        assert tables_of(postgres_url) == {"meta", "runs", "timings"}
        import psycopg

        with psycopg.connect(postgres_url) as conn:
            rows = conn.execute("SELECT key, value FROM meta").fetchall()
        values: dict[str, str] = dict(rows)
        assert values == {
            "application": "pytest-tracer",
            "schema_version": str(SCHEMA_VERSION),
        }

    def test_the_url_can_name_a_schema_of_its_own(self, postgres_url: str) -> None:
        """libpq's options=-csearch_path puts the history beside other tables."""
        run_sql(
            postgres_url,
            "CREATE TABLE users (name TEXT)",
            "CREATE SCHEMA perf",
        )
        url = f"{postgres_url}?options=-csearch_path%3Dperf"

        with open_store(url) as store:
            run_id = store.save_run(make_meta(label="a"), [])
            assert [info.run_id for info in store.runs()] == [run_id]

        assert tables_of(postgres_url, "perf") == {"meta", "runs", "timings"}
        assert tables_of(postgres_url) == {"users"}

    def test_a_schema_of_another_application_is_refused_and_untouched(
        self, postgres_url: str
    ) -> None:
        run_sql(
            postgres_url,
            "CREATE TABLE runs (id INTEGER, note TEXT)",
            "INSERT INTO runs VALUES (1, 'keep me')",
        )
        store = open_store(postgres_url)

        for attempt in (store.runs, lambda: store.save_run(make_meta(), [])):
            with pytest.raises(
                StoreError, match="tables of another application"
            ) as info:
                attempt()
            assert "(runs)" in str(info.value)
            assert "left it untouched" in str(info.value)
        store.close()
        assert tables_of(postgres_url) == {"runs"}

    def test_a_foreign_meta_table_is_refused(self, postgres_url: str) -> None:
        run_sql(postgres_url, "CREATE TABLE meta (id INTEGER)")

        with pytest.raises(StoreError, match="another application"):
            open_store(postgres_url).save_run(make_meta(), [])
        assert tables_of(postgres_url) == {"meta"}

    def test_a_history_from_a_newer_version_asks_for_an_upgrade(
        self, postgres_url: str
    ) -> None:
        with open_store(postgres_url) as store:
            store.save_run(make_meta(label="a"), [])
        run_sql(
            postgres_url,
            f"UPDATE meta SET value = '{SCHEMA_VERSION + 1}'"
            " WHERE key = 'schema_version'",
        )

        with pytest.raises(StoreError, match=r"newer pytest-tracer .* upgrade"):
            open_store(postgres_url).save_run(make_meta(label="b"), [])
        with open_store(postgres_url) as store, pytest.raises(StoreError):
            store.runs()

    def test_a_version_1_schema_is_upgraded_and_keeps_its_runs(
        self, postgres_url: str
    ) -> None:
        run_sql(
            postgres_url,
            *_postgres._MIGRATIONS[0],
            "INSERT INTO meta VALUES ('application', 'pytest-tracer')",
            "INSERT INTO meta VALUES ('schema_version', '1')",
            "INSERT INTO runs (created, label, git_commit, branch, python, pytest,"
            " platform, system, machine, cpu_model, cores, workers) VALUES (1.5,"
            " 'old', 'abc', 'main', 'CPython 3.10', '8.0', 'Linux', 'Linux',"
            " 'x86_64', 'cpu', 4, 1)",
        )

        with open_store(postgres_url) as store:
            [info] = store.runs()
            store.save_run(make_meta(ci_provider="github"), [])
            newest = store.runs(limit=1)[0]

        assert (info.run_id, info.meta.label) == (1, "old")
        assert info.meta.ci_provider is None
        assert newest.meta.ci_provider == "github"

    def test_an_unreachable_server_is_one_clear_error(self) -> None:
        import socket

        with socket.socket() as probe:  # a port nothing listens on
            probe.bind(("127.0.0.1", 0))
            port = probe.getsockname()[1]
        url = f"postgresql://ci:secret@127.0.0.1:{port}/perf?connect_timeout=5"
        pytest.importorskip("psycopg")

        with pytest.raises(StoreError, match="cannot connect to the history") as info:
            open_store(url).runs()

        assert "secret" not in str(info.value)
        assert f"postgresql://ci:***@127.0.0.1:{port}/perf" in str(info.value)
        assert "PGPASSWORD" in str(info.value)

    def test_without_psycopg_the_url_says_what_to_install(
        self, monkeypatch: pytest.MonkeyPatch
    ) -> None:
        import sys

        monkeypatch.setitem(sys.modules, "psycopg", None)

        with pytest.raises(
            StoreError, match=r"pip install 'pytest-tracer\[postgres\]'"
        ):
            open_store("postgresql://ci@db.example/perf")


class TestCheckWritable:
    def test_it_creates_the_history_and_changes_nothing_after(
        self, store: HistoryStore
    ) -> None:
        store.check_writable()
        run_id = store.save_run(make_meta(label="a"), [])
        store.check_writable()

        assert [info.run_id for info in store.runs()] == [run_id]
