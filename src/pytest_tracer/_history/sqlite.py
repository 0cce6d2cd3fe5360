"""The default history: one SQLite file in the project.

Several pytest runs may save at once (CI shards, two terminals), so the file is
in WAL mode, waits for locks instead of failing, and writes each run in one
transaction. A file that is not ours is reported and never written to.
"""

from __future__ import annotations

import sqlite3
import stat
import time
from collections.abc import Iterable, Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path
from typing import Any, Final

from .store import APPLICATION, INSERT_RUN, INSERT_TIMING, HistoryStore, StoreError

__all__ = ["APPLICATION_ID", "BUSY_TIMEOUT", "SQLiteStore"]

#: ``PRAGMA application_id`` of every history file ("PTTR"), so a SQLite file of
#: another program is recognised before anything is written to it.
APPLICATION_ID: Final = 0x50545452
#: Seconds a writer waits for another process to finish its transaction.
BUSY_TIMEOUT: Final = 30.0

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
    # Which CI service ran the job, and the job's page.
    (
        "ALTER TABLE runs ADD COLUMN ci_provider TEXT",
        "ALTER TABLE runs ADD COLUMN ci_url TEXT",
    ),
    # Why a run is not a whole one (interrupted, ...); NULL for a whole run.
    ("ALTER TABLE runs ADD COLUMN incomplete TEXT",),
)


class SQLiteStore(HistoryStore):
    """Saved runs in the SQLite file at *path*.

    Reading a missing file finds no runs and does not create it; a save
    creates it and its directory.
    """

    def __init__(self, path: Path | str) -> None:
        super().__init__()
        self.path = Path(path)
        self.where = str(self.path)
        self._conn: sqlite3.Connection | None = None
        # Whether the open connection passed the checks a write needs.
        self._writable = False

    def close(self) -> None:
        if self._conn is not None:
            self._conn.close()
            self._conn = None
            self._writable = False

    @contextmanager
    def _transaction(self, *, write: bool) -> Iterator[_SQLite | None]:
        conn = self._open(write=write)
        if conn is None:
            yield None
            return
        # Writers use IMMEDIATE: it takes the write lock up front, so a
        # concurrent writer waits in the busy handler instead of failing on
        # lock upgrade.
        with self._errors(), _transaction(conn, "IMMEDIATE" if write else "DEFERRED"):
            yield _SQLite(conn)

    def _open(self, *, write: bool) -> sqlite3.Connection | None:
        # None: there is no history yet and the caller only reads.
        if self._conn is not None:
            if write and not self._writable:
                with self._errors():
                    self._make_writable(self._conn, checked=False)
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
        # Reading a file of this version changes nothing in it; anything else
        # writes (a migration, the switch to WAL), and only to a sound file.
        if write or version != len(_MIGRATIONS):
            if version is not None:
                self._check_integrity(conn)
            self._migrate(conn, version)
            self._make_writable(conn, checked=True)
        conn.execute("PRAGMA foreign_keys = ON")
        return True

    def _make_writable(self, conn: sqlite3.Connection, *, checked: bool) -> None:
        if not checked:
            self._check_integrity(conn)
        _use_wal(conn)
        self._writable = True

    def _migrate(self, conn: sqlite3.Connection, version: int | None) -> None:
        if version != len(_MIGRATIONS):
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
                        (APPLICATION,),
                    )
                conn.execute(f"PRAGMA user_version = {len(_MIGRATIONS)}")

    def _check_integrity(self, conn: sqlite3.Connection) -> None:
        # A damaged file that still opens must not be written to: a save
        # could make the damage worse. quick_check reads every page once.
        problems = [row[0] for row in conn.execute("PRAGMA quick_check(5)")]
        if problems != ["ok"]:
            msg = (
                f"{self.path} is damaged (quick_check: {'; '.join(problems)}):"
                " pytest-tracer did not write to it; move it away or delete it"
                " to start a new history (python -m pytest_tracer history may"
                " still read what is left)"
            )
            raise StoreError(msg)

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
        if application != APPLICATION:
            raise StoreError(_foreign_message(self.path))
        if version > len(_MIGRATIONS):
            msg = (
                f"{self.path} was written by a newer pytest-tracer (schema version"
                f" {version}, this one knows up to {len(_MIGRATIONS)}): upgrade"
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
        except UnicodeDecodeError as exc:  # text SQLite kept is not UTF-8
            msg = (
                f"{self.path} is damaged (text that is not UTF-8: {exc.reason}):"
                " pytest-tracer left it untouched; move it away or delete it to"
                " start a new history"
            )
            raise StoreError(msg) from exc


class _SQLite:
    """A transaction on a SQLite connection, as :class:`.store.Database`."""

    def __init__(self, conn: sqlite3.Connection) -> None:
        self._conn = conn

    def execute(
        self, sql: str, params: Sequence[object] = ()
    ) -> Iterable[tuple[Any, ...]]:
        return self._conn.execute(sql, params)

    def insert_timings(self, rows: Iterable[Sequence[object]]) -> None:
        self._conn.executemany(INSERT_TIMING, rows)

    def insert_run(self, params: Sequence[object]) -> int:
        run_id = self._conn.execute(INSERT_RUN, params).lastrowid
        assert run_id is not None
        return run_id


def _sniff(path: Path) -> bool:
    """Whether *path* is missing or empty; raise unless it may be ours.

    Reads the header with plain file I/O, so a foreign or broken file is
    rejected before SQLite could touch it (a rollback of a foreign hot
    journal, say). The application id never changes after creation and is
    set before WAL mode is, so the main file's header always has it.
    """
    try:
        mode = path.stat().st_mode
    except (FileNotFoundError, NotADirectoryError):
        return True
    except OSError as exc:
        msg = f"cannot read the history file {path} ({exc}): check its permissions"
        raise StoreError(msg) from exc
    if not stat.S_ISREG(mode):
        # Opening a FIFO would wait forever for a writer.
        kind = "a directory" if stat.S_ISDIR(mode) else "not a regular file"
        msg = (
            f"{path} is {kind}, not a history file: pytest-tracer left it"
            " untouched; pass the path of a file (--timer-store or store)"
        )
        raise StoreError(msg)
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
