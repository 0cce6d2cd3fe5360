"""What every history store keeps, and the one query logic they share.

A store holds saved runs (:class:`RunInfo`) and, per run, one
:class:`TimingRecord` per test and timer. Two stores exist: a SQLite file (the
default, :mod:`.sqlite`) and a PostgreSQL database that CI runners share
(:mod:`.postgres`). Both run the same SQL through :class:`HistoryStore`; a
store only opens its connection, checks and migrates its schema, and wraps
each transaction.
"""

from __future__ import annotations

import math
import sys
from abc import ABC, abstractmethod
from array import array
from collections.abc import Callable, Iterable, Sequence
from contextlib import AbstractContextManager
from dataclasses import dataclass
from pathlib import Path
from types import TracebackType
from typing import Any, Final, Protocol

from pytest_tracer._config import is_store_url
from pytest_tracer._stats import DEFAULT_CAP, quantile

from .meta import RunMeta

__all__ = [
    "ALL_TESTS",
    "MAX_SAMPLES",
    "SCHEMA_VERSION",
    "HistoryStore",
    "RunInfo",
    "StoreError",
    "TimingRecord",
    "open_store",
]

#: The most samples one :class:`TimingRecord` may carry: what a test keeps.
MAX_SAMPLES: Final = DEFAULT_CAP
#: ``test_id`` of a record that :meth:`HistoryStore.trend` merged across tests.
ALL_TESTS: Final = "*"
#: The schema version both stores write and read: each store has one
#: migration per version, and version N means the same tables in both.
SCHEMA_VERSION: Final = 4
#: The value of ``meta.application`` in every history.
APPLICATION: Final = "pytest-tracer"
#: Ids and counts are 64-bit integers in both databases.
_LARGEST: Final = 2**63 - 1

_RUN_COLUMNS: Final = (
    "id, created, label, git_commit, branch, python, pytest, platform, system,"
    " machine, cpu_model, cores, workers, ci_provider, ci_url, incomplete,"
    " (SELECT count(*) FROM timings WHERE timings.run_id = runs.id)"
)
#: The columns of ``timings`` besides ``run_id``, in the order rows give them.
TIMING_COLUMNS: Final = "test_id, name, count, total, min, max, median, p95, samples"
INSERT_RUN: Final = (
    "INSERT INTO runs (created, label, git_commit, branch, python, pytest,"
    " platform, system, machine, cpu_model, cores, workers, ci_provider, ci_url,"
    " incomplete) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)"
)
INSERT_TIMING: Final = (
    f"INSERT INTO timings (run_id, {TIMING_COLUMNS})"
    " VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)"
)


class StoreError(Exception):
    """The history cannot be used; the message names it and the fix."""


class _RollbackError(Exception):
    """Ends a transaction that was only a test."""


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


class Database(Protocol):
    """One transaction of a store, with ``?`` placeholders whatever the driver."""

    def execute(
        self, sql: str, params: Sequence[object] = ()
    ) -> Iterable[tuple[Any, ...]]: ...

    def insert_timings(self, rows: Iterable[Sequence[object]]) -> None:
        """Insert rows of ``timings`` (:data:`TIMING_COLUMNS`, after run_id)."""
        ...

    def insert_run(self, params: Sequence[object]) -> int:
        """Insert a row of ``runs`` (:data:`INSERT_RUN`) and return its id."""
        ...


class HistoryStore(ABC):
    """Saved runs, newest first by id, in some database.

    The connection opens on first use. Reading a history that does not exist
    yet finds no runs and creates nothing; :meth:`save_run` creates it. A
    history of an older schema version is upgraded when opened.

    :raises StoreError: from any method, when the history belongs to another
        application, is damaged, comes from a newer pytest-tracer, or cannot
        be reached. Such a history is left untouched.
    """

    #: What messages call the history: a path, or a URL without its password.
    where: str

    def __init__(self) -> None:
        #: Rows that could not be read, each said once and skipped.
        self.problems: list[str] = []

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
        return f"{type(self).__name__}({self.where!r})"

    @abstractmethod
    def close(self) -> None:
        """Close the connection; the store opens it again when used."""

    @abstractmethod
    def _transaction(self, *, write: bool) -> AbstractContextManager[Database | None]:
        """One transaction; None when only reading and no history exists."""

    def check_writable(self) -> None:
        """Open the history for writing (creating it if needed) and make a
        write that is rolled back: a store that cannot take a save fails
        here, before the tests, and nothing changes."""
        try:
            with self._transaction(write=True) as db:
                assert db is not None
                db.execute("UPDATE meta SET value = value WHERE key = 'application'")
                raise _RollbackError
        except _RollbackError:
            pass

    def save_run(self, meta: RunMeta, records: Iterable[TimingRecord]) -> int:
        """Save one run and return its id.

        :raises ValueError: two records share ``(test_id, name)``, or a record
            has more than :data:`MAX_SAMPLES` samples.
        """
        rows = _timing_rows(records)
        with self._transaction(write=True) as db:
            assert db is not None
            run_id = db.insert_run(
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
                    meta.ci_provider,
                    meta.ci_url,
                    meta.incomplete,
                )
            )
            db.insert_timings((run_id, *row) for row in rows)
        return run_id

    def delete_runs(self, run_ids: Sequence[int]) -> int:
        """Delete the runs with *run_ids* and their timings; return how many
        existed."""
        run_ids = [i for i in run_ids if 0 <= i <= _LARGEST]
        if not run_ids:
            return 0
        marks = ", ".join("?" * len(run_ids))
        with self._transaction(write=True) as db:
            assert db is not None
            found = [
                run_id
                for (run_id,) in db.execute(
                    f"SELECT id FROM runs WHERE id IN ({marks})", run_ids
                )
            ]
            if found:
                found_marks = ", ".join("?" * len(found))
                db.execute(
                    f"DELETE FROM timings WHERE run_id IN ({found_marks})", found
                )
                db.execute(f"DELETE FROM runs WHERE id IN ({found_marks})", found)
        return len(found)

    def runs(
        self,
        *,
        label: str | None = None,
        branch: str | None = None,
        ids: Sequence[int] | None = None,
        limit: int | None = None,
        whole: bool = False,
    ) -> list[RunInfo]:
        """Saved runs, newest first, optionally only those with *label*/*branch*
        or among *ids*, and with *whole* only complete runs with timings.

        :raises ValueError: *limit* is negative.
        """
        if limit is not None and limit < 0:
            msg = f"limit must be a positive number of runs or None, got {limit!r}"
            raise ValueError(msg)
        where: list[str] = []
        params: list[object] = []
        if label is not None:
            where.append("label = ?")
            params.append(label)
        if branch is not None:
            where.append("branch = ?")
            params.append(branch)
        if whole:
            where.append(
                "incomplete IS NULL"
                " AND EXISTS (SELECT 1 FROM timings WHERE timings.run_id = runs.id)"
            )
        if ids is not None:
            ids = [i for i in ids if 0 <= i <= _LARGEST]  # no other id exists
            where.append(f"id IN ({', '.join('?' * len(ids))})" if ids else "1 = 0")
            params.extend(ids)
        sql = f"SELECT {_RUN_COLUMNS} FROM runs"
        if where:
            sql += " WHERE " + " AND ".join(where)
        sql += " ORDER BY id DESC"
        if limit is None:
            with self._transaction(write=False) as db:
                return [] if db is None else self._runs(db.execute(sql, params))
        # Rows that cannot be read do not count against the limit.
        wanted = fetch = min(limit, _LARGEST)
        with self._transaction(write=False) as db:
            if db is None:
                return []
            while True:
                rows = list(db.execute(sql + " LIMIT ?", (*params, fetch)))
                runs = self._runs(rows)
                if len(runs) >= wanted or len(rows) < fetch:
                    return runs[:wanted]
                fetch += len(rows) - len(runs)

    def records(self, run_id: int) -> dict[tuple[str, str], TimingRecord]:
        """The timings of a run by ``(test_id, name)``; empty for an unknown id."""
        if not 0 <= run_id <= _LARGEST:
            return {}
        with self._transaction(write=False) as db:
            if db is None:
                return {}
            rows = db.execute(
                f"SELECT {TIMING_COLUMNS} FROM timings WHERE run_id = ?", (run_id,)
            )
            records = [self._record(run_id, row) for row in rows]
        return {(r.test_id, r.name): r for r in records if r is not None}

    def names(self) -> list[str]:
        """Every timer name saved in any run, sorted."""
        with self._transaction(write=False) as db:
            if db is None:
                return []
            rows = db.execute("SELECT DISTINCT name FROM timings ORDER BY name")
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
        limit = min(limit, _LARGEST)
        with self._transaction(write=False) as db:
            if db is None:
                return []
            if test_id is None:
                ids_sql = (
                    "SELECT run_id FROM timings WHERE name = ?"
                    " GROUP BY run_id ORDER BY run_id DESC LIMIT ?"
                )
                found = db.execute(ids_sql, (name, limit))
            else:
                ids_sql = (
                    "SELECT run_id FROM timings WHERE name = ? AND test_id = ?"
                    " ORDER BY run_id DESC LIMIT ?"
                )
                found = db.execute(ids_sql, (name, test_id, limit))
            run_ids = [r for (r,) in found if type(r) is int]
            if not run_ids:
                return []
            marks = ", ".join("?" * len(run_ids))
            infos = {
                info.run_id: info
                for info in self._runs(
                    db.execute(
                        f"SELECT {_RUN_COLUMNS} FROM runs WHERE id IN ({marks})",
                        run_ids,
                    )
                )
            }
            timing_sql = (
                f"SELECT run_id, {TIMING_COLUMNS} FROM timings"
                f" WHERE name = ? AND run_id IN ({marks})"
            )
            params: list[object] = [name, *run_ids]
            if test_id is not None:
                timing_sql += " AND test_id = ?"
                params.append(test_id)
            per_run: dict[int, list[TimingRecord]] = {}
            for row in db.execute(timing_sql + " ORDER BY test_id", params):
                record = self._record(row[0], row[1:])
                if record is not None and row[0] in infos:
                    per_run.setdefault(row[0], []).append(record)
        return [(infos[r], _merge(per_run[r])) for r in sorted(per_run)]

    def _runs(self, rows: Iterable[tuple[Any, ...]]) -> list[RunInfo]:
        runs = []
        for row in rows:
            try:
                runs.append(_run_info(row))
            except _BadRowError as exc:
                self._problem(f"run {_shown(row[0])}: {exc}")
        return runs

    def _record(self, run_id: object, row: tuple[Any, ...]) -> TimingRecord | None:
        try:
            return _timing_record(row)
        except _BadRowError as exc:
            where = (
                f"run {_shown(run_id)}, test {_shown(row[0])}, timer {_shown(row[1])}"
            )
            self._problem(f"{where}: {exc}; skipped")
            return None

    def _problem(self, text: str) -> None:
        problem = f"{self.where}: {text}; that row was skipped"
        if problem not in self.problems:
            self.problems.append(problem)


def open_store(location: Path | str) -> HistoryStore:
    """The store at *location*: a ``postgresql://`` URL, or a SQLite file.

    :raises StoreError: A URL was given and psycopg is not installed.
    """
    if isinstance(location, str) and is_store_url(location):
        from .postgres import PostgresStore

        return PostgresStore(location)
    from .sqlite import SQLiteStore

    return SQLiteStore(Path(location))


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
                pack(r.samples),
            )
        )
    return rows


def pack(samples: Sequence[float]) -> bytes:
    """Little-endian doubles whatever the host, so histories move between
    machines."""
    values = array("d", samples)
    if sys.byteorder == "big":  # pragma: no cover - no big-endian CI
        values.byteswap()
    return values.tobytes()


def unpack(blob: bytes) -> tuple[float, ...]:
    """The samples :func:`pack` wrote."""
    values = array("d")
    values.frombytes(blob)
    if sys.byteorder == "big":  # pragma: no cover - no big-endian CI
        values.byteswap()
    return tuple(values)


class _BadRowError(Exception):
    """A row holds a value no save writes; ``args[0]`` says which."""


#: The latest time a saved run may carry (the end of year 9999, UTC).
_LATEST: Final = 253_402_300_799.0


def _shown(value: object) -> str:
    text = repr(value)
    return text if len(text) <= 60 else text[:57] + "..."


def _is_text(value: object) -> bool:
    return isinstance(value, str)


def _is_optional_text(value: object) -> bool:
    return value is None or isinstance(value, str)


def _is_count(value: object) -> bool:
    return type(value) is int and value >= 0


def _is_seconds(value: object) -> bool:
    return (
        isinstance(value, (int, float))
        and not isinstance(value, bool)
        and (0 <= value < math.inf)
    )


def _is_time(value: object) -> bool:
    return (
        isinstance(value, (int, float))
        and not isinstance(value, bool)
        and (0 <= value <= _LATEST)
    )


def _is_samples(value: object) -> bool:
    return isinstance(value, (bytes, memoryview)) and len(value) % 8 == 0


#: What each kind of column must hold, and how a message says it.
_KINDS: Final[dict[str, tuple[Callable[[object], bool], str]]] = {
    "text": (_is_text, "text"),
    "text?": (_is_optional_text, "text or null"),
    "count": (_is_count, "a whole number >= 0"),
    "seconds": (_is_seconds, "a duration in seconds"),
    "time": (_is_time, "a time in seconds since 1970"),
    "samples": (_is_samples, "8 bytes per sample"),
}


def _check(value: object, column: str, kind: str) -> None:
    valid, expected = _KINDS[kind]
    if not valid(value):
        if kind == "samples" and isinstance(value, (bytes, memoryview)):
            shown = f"{len(value)} bytes"
        else:
            shown = _shown(value)
        raise _BadRowError(f"{column} = {shown}, expected {expected}")


def _run_info(row: tuple[Any, ...]) -> RunInfo:
    run_id, created, label, commit, branch, python, pytest, platform = row[:8]
    system, machine, cpu_model, cores, workers, ci_provider, ci_url = row[8:15]
    incomplete = row[15]
    for value, column, kind in (
        (run_id, "id", "count"),
        (created, "created", "time"),
        (label, "label", "text?"),
        (commit, "git_commit", "text?"),
        (branch, "branch", "text?"),
        (python, "python", "text"),
        (pytest, "pytest", "text"),
        (platform, "platform", "text"),
        (system, "system", "text"),
        (machine, "machine", "text"),
        (cpu_model, "cpu_model", "text"),
        (cores, "cores", "count"),
        (workers, "workers", "count"),
        (ci_provider, "ci_provider", "text?"),
        (ci_url, "ci_url", "text?"),
        (incomplete, "incomplete", "text?"),
    ):
        _check(value, column, kind)
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
        ci_provider=ci_provider,
        ci_url=ci_url,
        incomplete=incomplete,
    )
    return RunInfo(run_id=run_id, meta=meta, timings=row[16])


def _timing_record(row: tuple[Any, ...]) -> TimingRecord:
    test_id, name, count, total, min_, max_, median, p95, samples = row
    for value, column, kind in (
        (test_id, "test_id", "text"),
        (name, "name", "text"),
        (count, "count", "count"),
        (total, "total", "seconds"),
        (min_, "min", "seconds"),
        (max_, "max", "seconds"),
        (median, "median", "seconds"),
        (p95, "p95", "seconds"),
        (samples, "samples", "samples"),
    ):
        _check(value, column, kind)
    values = unpack(bytes(samples))
    if not all(0 <= v < math.inf for v in values):
        raise _BadRowError("samples hold a value that is not a duration")
    return TimingRecord(
        test_id=test_id,
        name=name,
        count=count,
        total=total,
        min=min_,
        max=max_,
        median=median,
        p95=p95,
        samples=values,
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
