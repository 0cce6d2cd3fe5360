"""The history store: one SQLite file holding every saved run's timer statistics.

Several pytest runs may save at once (CI shards, two terminals), so the file is
in WAL mode, waits for locks instead of failing, and writes each run in one
transaction. A file that is not ours is reported and never written to.
"""

from __future__ import annotations

import math
import sqlite3
import sys
import time
from array import array
from collections.abc import Iterable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from types import TracebackType
from typing import Any, Final

from pytest_tracer._stats import DEFAULT_CAP, quantile

from .meta import RunMeta

__all__ = [
    "ALL_TESTS",
    "APPLICATION_ID",
    "MAX_SAMPLES",
    "SCHEMA_VERSION",
    "HistoryStore",
    "RunInfo",
    "StoreError",
    "TimingRecord",
]

#: ``PRAGMA application_id`` of every history file ("PTTR"), so a SQLite file of
#: another program is recognised before anything is written to it.
APPLICATION_ID: Final = 0x50545452
#: The most samples one :class:`TimingRecord` may carry: what a test keeps.
MAX_SAMPLES: Final = DEFAULT_CAP
#: ``test_id`` of a record that :meth:`HistoryStore.trend` merged across tests.
ALL_TESTS: Final = "*"
#: Seconds a writer waits for another process to finish its transaction.
BUSY_TIMEOUT: Final = 30.0

_APPLICATION: Final = "pytest-tracer"
_SQLITE_MAGIC: Final = b"SQLite format 3\x00"
_HEADER_SIZE: Final = 100
_APPLICATION_ID_OFFSET: Final = 68

# Each entry upgrades the schema by one version; entry i leaves the file at
# version i + 1. Append only: released entries must never change, because
# files written by older versions replay them from where they stopped.
_MIGRATIONS: Final[tuple[tuple[str, ...], ...]] = (
    (
        """
        CREATE TABLE meta (
            key TEXT PRIMARY KEY,
            value TEXT NOT NULL
        )
        """,
        """
        CREATE TABLE runs (
            id INTEGER PRIMARY KEY,
            created REAL NOT NULL,
            label TEXT,
            git_commit TEXT,
            branch TEXT,
            python TEXT NOT NULL,
            pytest TEXT NOT NULL,
            platform TEXT NOT NULL,
            system TEXT NOT NULL,
            machine TEXT NOT NULL,
            cpu_model TEXT NOT NULL,
            cores INTEGER NOT NULL,
            workers INTEGER NOT NULL
        )
        """,
        """
        CREATE TABLE timings (
            run_id INTEGER NOT NULL REFERENCES runs (id) ON DELETE CASCADE,
            test_id TEXT NOT NULL,
            name TEXT NOT NULL,
            count INTEGER NOT NULL,
            total REAL NOT NULL,
            min REAL NOT NULL,
            max REAL NOT NULL,
            median REAL NOT NULL,
            p95 REAL NOT NULL,
            samples BLOB NOT NULL,
            PRIMARY KEY (run_id, test_id, name)
        ) WITHOUT ROWID
        """,
    ),
    # Trends and label/branch lookups scanned every row without these.
    (
        "CREATE INDEX timings_by_name ON timings (name, run_id)",
        "CREATE INDEX runs_by_label ON runs (label, id)",
        "CREATE INDEX runs_by_branch ON runs (branch, id)",
    ),
)
#: The schema version this pytest-tracer writes and reads.
SCHEMA_VERSION: Final = len(_MIGRATIONS)

_RUN_COLUMNS: Final = (
    "id, created, label, git_commit, branch, python, pytest, platform, system,"
    " machine, cpu_model, cores, workers,"
    " (SELECT count(*) FROM timings WHERE timings.run_id = runs.id)"
)
_TIMING_COLUMNS: Final = "test_id, name, count, total, min, max, median, p95, samples"


class StoreError(Exception):
    """The history file cannot be used; the message names it and the fix."""


@dataclass(frozen=True)
class RunInfo:
    """A saved run: its id, its metadata and how many timings it holds."""

    run_id: int
    meta: RunMeta
    timings: int = 0


@dataclass(frozen=True)
class TimingRecord:
    """Statistics of one timer in one test (``test_id == ""``: the session)."""

    test_id: str
    name: str
    count: int
    total: float
    min: float
    max: float
    median: float
    p95: float
    samples: tuple[float, ...] = ()


class HistoryStore:
    """Saved runs in the SQLite file at *path*.

    The file is opened on first use. Reading a missing file finds no runs and
    does not create it; :meth:`save_run` creates it and its directory. A file
    of an older schema version is upgraded when opened.

    :raises StoreError: from any method, when the file is not a pytest-tracer
        history, is damaged, comes from a newer pytest-tracer, or stays locked
        longer than :data:`BUSY_TIMEOUT`. Such a file is left untouched.
    """

    def __init__(self, path: Path | str) -> None:
        self.path = Path(path)
        self._conn: sqlite3.Connection | None = None

    def __enter__(self) -> HistoryStore:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.close()

    def __repr__(self) -> str:
        return f"HistoryStore({str(self.path)!r})"

    def close(self) -> None:
        """Close the connection; the store opens it again when used."""
        if self._conn is not None:
            self._conn.close()
            self._conn = None

    def save_run(self, meta: RunMeta, records: Iterable[TimingRecord]) -> int:
        """Save one run and return its id.

        :raises ValueError: two records share ``(test_id, name)``, or a record
            has more than :data:`MAX_SAMPLES` samples.
        """
        rows = _timing_rows(records)
        conn = self._open(write=True)
        assert conn is not None
        with self._errors(), _transaction(conn, "IMMEDIATE"):
            cursor = conn.execute(
                "INSERT INTO runs (created, label, git_commit, branch, python,"
                " pytest, platform, system, machine, cpu_model, cores, workers)"
                " VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
                (
                    meta.created,
                    meta.label,
                    meta.commit,
                    meta.branch,
                    meta.python,
                    meta.pytest,
                    meta.platform,
                    meta.system,
                    meta.machine,
                    meta.cpu_model,
                    meta.cores,
                    meta.workers,
                ),
            )
            run_id = cursor.lastrowid
            assert run_id is not None
            conn.executemany(
                f"INSERT INTO timings (run_id, {_TIMING_COLUMNS})"
                " VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
                ((run_id, *row) for row in rows),
            )
        return run_id

    def runs(
        self,
        *,
        label: str | None = None,
        branch: str | None = None,
        ids: Sequence[int] | None = None,
        limit: int | None = None,
    ) -> list[RunInfo]:
        """Saved runs, newest first, optionally only those with *label*/*branch*
        or among *ids*.

        :raises ValueError: *limit* is negative.
        """
        if limit is not None and limit < 0:
            msg = f"limit must be a positive number of runs or None, got {limit!r}"
            raise ValueError(msg)
        conn = self._open(write=False)
        if conn is None:
            return []
        where: list[str] = []
        params: list[object] = []
        if label is not None:
            where.append("label = ?")
            params.append(label)
        if branch is not None:
            where.append("branch = ?")
            params.append(branch)
        if ids is not None:
            where.append(f"id IN ({', '.join('?' * len(ids))})" if ids else "0")
            params.extend(ids)
        sql = f"SELECT {_RUN_COLUMNS} FROM runs"
        if where:
            sql += " WHERE " + " AND ".join(where)
        sql += " ORDER BY id DESC LIMIT ?"
        with self._errors():
            rows = conn.execute(sql, (*params, -1 if limit is None else limit))
            return [_run_info(row) for row in rows]

    def records(self, run_id: int) -> dict[tuple[str, str], TimingRecord]:
        """The timings of a run by ``(test_id, name)``; empty for an unknown id."""
        conn = self._open(write=False)
        if conn is None:
            return {}
        with self._errors():
            rows = conn.execute(
                f"SELECT {_TIMING_COLUMNS} FROM timings WHERE run_id = ?",
                (run_id,),
            )
            records = [_timing_record(row) for row in rows]
        return {(r.test_id, r.name): r for r in records}

    def names(self) -> list[str]:
        """Every timer name saved in any run, sorted."""
        conn = self._open(write=False)
        if conn is None:
            return []
        with self._errors():
            rows = conn.execute("SELECT DISTINCT name FROM timings ORDER BY name")
            return [name for (name,) in rows]

    def trend(
        self, name: str, *, test_id: str | None = None, limit: int = 20
    ) -> list[tuple[RunInfo, TimingRecord]]:
        """Timer *name* in the last *limit* runs that have it, oldest first.

        With *test_id*, the record of that test (``""``: the session). Without
        it, the run's records of *name* are merged: a run with one record gives
        it unchanged; otherwise counts and totals are summed, min and max taken
        over all, and median and p95 computed from the pooled samples (each
        record keeps at most :data:`MAX_SAMPLES`, so tests called more often
        than that weigh less than their share). When no record kept samples,
        median and p95 are those of the record with the largest count. A merged
        record has ``test_id`` :data:`ALL_TESTS` and at most
        :data:`MAX_SAMPLES` samples spread over the pooled ones.

        :raises ValueError: *limit* is below 1.
        """
        if limit < 1:
            msg = f"limit must be at least 1 run, got {limit!r}"
            raise ValueError(msg)
        conn = self._open(write=False)
        if conn is None:
            return []
        with self._errors():
            if test_id is None:
                ids_sql = (
                    "SELECT run_id FROM timings WHERE name = ?"
                    " GROUP BY run_id ORDER BY run_id DESC LIMIT ?"
                )
                run_ids = [r for (r,) in conn.execute(ids_sql, (name, limit))]
            else:
                ids_sql = (
                    "SELECT run_id FROM timings WHERE name = ? AND test_id = ?"
                    " ORDER BY run_id DESC LIMIT ?"
                )
                run_ids = [r for (r,) in conn.execute(ids_sql, (name, test_id, limit))]
            if not run_ids:
                return []
            marks = ", ".join("?" * len(run_ids))
            infos = {
                info.run_id: info
                for info in map(
                    _run_info,
                    conn.execute(
                        f"SELECT {_RUN_COLUMNS} FROM runs WHERE id IN ({marks})",
                        run_ids,
                    ),
                )
            }
            timing_sql = (
                f"SELECT run_id, {_TIMING_COLUMNS} FROM timings"
                f" WHERE name = ? AND run_id IN ({marks})"
            )
            params: list[object] = [name, *run_ids]
            if test_id is not None:
                timing_sql += " AND test_id = ?"
                params.append(test_id)
            per_run: dict[int, list[TimingRecord]] = {}
            for row in conn.execute(timing_sql + " ORDER BY test_id", params):
                per_run.setdefault(row[0], []).append(_timing_record(row[1:]))
        return [(infos[r], _merge(per_run[r])) for r in sorted(run_ids)]

    def _open(self, *, write: bool) -> sqlite3.Connection | None:
        # None: there is no history yet and the caller only reads.
        if self._conn is not None:
            return self._conn
        is_empty = _sniff(self.path)
        if is_empty and not write:
            return None
        if write:
            try:
                self.path.parent.mkdir(parents=True, exist_ok=True)
            except OSError as exc:
                msg = (
                    f"cannot create the directory of the history file {self.path}"
                    f" ({exc}): choose a writable location"
                )
                raise StoreError(msg) from exc
        uri = f"{self.path.absolute().as_uri()}?mode={'rwc' if write else 'rw'}"
        with self._errors():
            conn = sqlite3.connect(
                uri, uri=True, timeout=BUSY_TIMEOUT, isolation_level=None
            )
        try:
            with self._errors():
                if not self._prepare(conn, write=write):
                    conn.close()
                    return None
        except BaseException:
            conn.close()
            raise
        self._conn = conn
        return conn

    def _prepare(self, conn: sqlite3.Connection, *, write: bool) -> bool:
        # Check before any write: even switching to WAL rewrites the header.
        # One read transaction, so the checks see a single state of a file
        # that another process may be creating right now.
        with _transaction(conn, "DEFERRED"):
            version = self._check_schema(conn)
        if version is None and not write:
            return False
        if version != SCHEMA_VERSION:
            with _transaction(conn, "IMMEDIATE"):
                # Another process may have created or upgraded it meanwhile.
                version = self._check_schema(conn)
                if version is None:
                    conn.execute(f"PRAGMA application_id = {APPLICATION_ID}")
                    version = 0
                for steps in _MIGRATIONS[version:]:
                    for statement in steps:
                        conn.execute(statement)
                if version == 0:
                    conn.execute(
                        "INSERT INTO meta (key, value) VALUES ('application', ?)",
                        (_APPLICATION,),
                    )
                conn.execute(f"PRAGMA user_version = {SCHEMA_VERSION}")
        _use_wal(conn)
        conn.execute("PRAGMA foreign_keys = ON")
        return True

    def _check_schema(self, conn: sqlite3.Connection) -> int | None:
        # The schema version of a pytest-tracer file, None for an empty one.
        tables = {
            name
            for (name,) in conn.execute(
                "SELECT name FROM sqlite_master WHERE type = 'table'"
            )
        }
        (application_id,) = conn.execute("PRAGMA application_id").fetchone()
        (version,) = conn.execute("PRAGMA user_version").fetchone()
        if application_id == 0 and version == 0 and not tables:
            return None
        application = None
        if application_id == APPLICATION_ID and "meta" in tables:
            row = conn.execute(
                "SELECT value FROM meta WHERE key = 'application'"
            ).fetchone()
            application = row and row[0]
        if application != _APPLICATION:
            raise StoreError(_foreign_message(self.path))
        if version > SCHEMA_VERSION:
            msg = (
                f"{self.path} was written by a newer pytest-tracer (schema version"
                f" {version}, this one knows up to {SCHEMA_VERSION}): upgrade"
                " pytest-tracer (pip install --upgrade pytest-tracer); the file"
                " was left untouched"
            )
            raise StoreError(msg)
        return int(version)

    @contextmanager
    def _errors(self) -> Iterator[None]:
        try:
            yield
        except sqlite3.Error as exc:
            raise StoreError(_sqlite_message(self.path, exc)) from exc


def _sniff(path: Path) -> bool:
    """Whether *path* is missing or empty; raise unless it may be ours.

    Reads the header with plain file I/O, so a foreign or broken file is
    rejected before SQLite could touch it (a rollback of a foreign hot
    journal, say). The application id never changes after creation and is
    set before WAL mode is, so the main file's header always has it.
    """
    try:
        with path.open("rb") as file:
            header = file.read(_HEADER_SIZE)
    except (FileNotFoundError, NotADirectoryError):
        return True
    except OSError as exc:
        msg = f"cannot read the history file {path} ({exc}): check its permissions"
        raise StoreError(msg) from exc
    if not header:
        return True
    if len(header) < _HEADER_SIZE or not header.startswith(_SQLITE_MAGIC):
        msg = (
            f"{path} is not a SQLite database (corrupt, or another kind of file):"
            " pytest-tracer left it untouched; move it away or delete it to start"
            " a new history, or pass another path"
        )
        raise StoreError(msg)
    offset = _APPLICATION_ID_OFFSET
    application_id = int.from_bytes(header[offset : offset + 4], "big")
    if application_id != APPLICATION_ID:
        raise StoreError(_foreign_message(path))
    return False


def _foreign_message(path: Path) -> str:
    return (
        f"{path} is a SQLite database of another program, not a pytest-tracer"
        " history: pytest-tracer left it untouched; pass another path for the"
        " history"
    )


def _sqlite_message(path: Path, exc: sqlite3.Error) -> str:
    text = str(exc)
    if "locked" in text or "busy" in text:
        return (
            f"{path} stayed locked by another process for more than"
            f" {BUSY_TIMEOUT:g} s ({text}): try again when the other pytest run"
            " has finished"
        )
    if "malformed" in text or "not a database" in text:
        return (
            f"{path} is damaged ({text}): pytest-tracer left it untouched; move"
            " it away or delete it to start a new history"
        )
    return f"cannot use the history file {path} ({text}): check that it is writable"


def _use_wal(conn: sqlite3.Connection) -> None:
    # WAL lets readers and a writer work at once. Switching to it needs a
    # moment alone with the file and SQLite reports a conflict at once instead
    # of calling the busy handler, so wait here as the busy timeout would.
    deadline = time.monotonic() + BUSY_TIMEOUT
    while True:
        try:
            conn.execute("PRAGMA journal_mode = WAL")
        except sqlite3.OperationalError as exc:
            if "locked" not in str(exc) or time.monotonic() > deadline:
                raise
            time.sleep(0.01)
        else:
            return


@contextmanager
def _transaction(conn: sqlite3.Connection, kind: str) -> Iterator[None]:
    # Writers use IMMEDIATE: it takes the write lock up front, so a concurrent
    # writer waits in the busy handler instead of failing on lock upgrade.
    conn.execute(f"BEGIN {kind}")
    try:
        yield
    except BaseException:
        # SQLite ends the transaction itself after some errors (corruption).
        if conn.in_transaction:
            conn.execute("ROLLBACK")
        raise
    conn.execute("COMMIT")


def _timing_rows(records: Iterable[TimingRecord]) -> list[tuple[object, ...]]:
    rows: list[tuple[object, ...]] = []
    seen: set[tuple[str, str]] = set()
    for r in records:
        key = (r.test_id, r.name)
        if key in seen:
            msg = f"two records for timer {r.name!r} in test {r.test_id!r} of one run"
            raise ValueError(msg)
        seen.add(key)
        if len(r.samples) > MAX_SAMPLES:
            msg = (
                f"timer {r.name!r} in test {r.test_id!r} has {len(r.samples)}"
                f" samples, expected at most {MAX_SAMPLES}"
            )
            raise ValueError(msg)
        rows.append(
            (
                r.test_id,
                r.name,
                r.count,
                r.total,
                r.min,
                r.max,
                r.median,
                r.p95,
                _pack(r.samples),
            )
        )
    return rows


def _pack(samples: Sequence[float]) -> bytes:
    # Little-endian doubles whatever the host, so files move between machines.
    values = array("d", samples)
    if sys.byteorder == "big":  # pragma: no cover - no big-endian CI
        values.byteswap()
    return values.tobytes()


def _unpack(blob: bytes) -> tuple[float, ...]:
    values = array("d")
    values.frombytes(blob)
    if sys.byteorder == "big":  # pragma: no cover - no big-endian CI
        values.byteswap()
    return tuple(values)


def _run_info(row: tuple[Any, ...]) -> RunInfo:
    run_id, created, label, commit, branch, python, pytest, platform = row[:8]
    system, machine, cpu_model, cores, workers, timings = row[8:]
    meta = RunMeta(
        created=created,
        label=label,
        commit=commit,
        branch=branch,
        python=python,
        pytest=pytest,
        platform=platform,
        cpu_model=cpu_model,
        cores=cores,
        workers=workers,
        system=system,
        machine=machine,
    )
    return RunInfo(run_id=run_id, meta=meta, timings=timings)


def _timing_record(row: tuple[Any, ...]) -> TimingRecord:
    test_id, name, count, total, min_, max_, median, p95, samples = row
    return TimingRecord(
        test_id=test_id,
        name=name,
        count=count,
        total=total,
        min=min_,
        max=max_,
        median=median,
        p95=p95,
        samples=_unpack(samples),
    )


def _merge(records: list[TimingRecord]) -> TimingRecord:
    if len(records) == 1:
        return records[0]
    pooled = sorted(s for r in records for s in r.samples)
    if pooled:
        median, p95 = quantile(pooled, 50), quantile(pooled, 95)
    else:
        busiest = max(records, key=lambda r: r.count)
        median, p95 = busiest.median, busiest.p95
    return TimingRecord(
        test_id=ALL_TESTS,
        name=records[0].name,
        count=sum(r.count for r in records),
        total=math.fsum(r.total for r in records),
        min=min(r.min for r in records),
        max=max(r.max for r in records),
        median=median,
        p95=p95,
        samples=_thin(pooled),
    )


def _thin(ordered: list[float]) -> tuple[float, ...]:
    # Evenly spaced order statistics keep the shape of the distribution.
    if len(ordered) <= MAX_SAMPLES:
        return tuple(ordered)
    step = (len(ordered) - 1) / (MAX_SAMPLES - 1)
    return tuple(ordered[round(i * step)] for i in range(MAX_SAMPLES))
