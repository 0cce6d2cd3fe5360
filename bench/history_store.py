"""What a shared PostgreSQL history costs against the SQLite file.

Run ``python bench/history_store.py`` (``--quick`` for a smaller run). It
needs a PostgreSQL server that lets it create databases: the URL comes from
``--postgres URL``, else ``PYTEST_TRACER_TEST_POSTGRES``; without either, the
script starts a throwaway one with ``.ci/postgres`` (Debian's ``postgresql``).

Both stores get the same work, in turns, round after round:

- ``save``: one run of 2,000 tests with two timers each (4,000 records of 32
  samples), as ``--timer-save`` writes it at the end of a session;
- ``compare``: what ``--timer-compare`` reads: the newest run, then its
  records;
- ``16 savers``: 16 processes saving such a run at the same moment; the
  wall time until the last one finishes, and a check that all 16 runs are
  there whole.

The table shows medians, and PostgreSQL's as a ratio to SQLite's measured in
the same run. There is no target: it tells what choosing the shared store
costs a CI job. Exit status 2 when no server can be had.
"""

from __future__ import annotations

import argparse
import multiprocessing
import os
import statistics
import subprocess
import sys
import tempfile
import time
import uuid
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any, Final
from urllib.parse import urlsplit, urlunsplit

ROOT: Final = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "src"))

from pytest_tracer._history.meta import RunMeta  # noqa: E402
from pytest_tracer._history.store import (  # noqa: E402
    HistoryStore,
    TimingRecord,
    open_store,
)

SAVERS: Final = 16


def meta(label: str) -> RunMeta:
    return RunMeta(
        created=time.time(),
        label=label,
        commit="0" * 40,
        branch="main",
        python="CPython",
        pytest="9",
        platform="Linux",
        cpu_model="bench",
        cores=2,
        workers=0,
    )


def records(tests: int, seed: int) -> list[TimingRecord]:
    out = []
    for test in range(tests):
        for name in ("db_query", "render"):
            samples = tuple(1e-4 * (1 + (seed + test + i) % 7) for i in range(32))
            ordered = sorted(samples)
            out.append(
                TimingRecord(
                    f"tests/test_m{test // 100}.py::test_{test}",
                    name,
                    len(samples),
                    sum(samples),
                    ordered[0],
                    ordered[-1],
                    ordered[16],
                    ordered[30],
                    samples,
                )
            )
    return out


def timed(action: Callable[[], object]) -> float:
    start = time.perf_counter()
    action()
    return time.perf_counter() - start


def compare(store: HistoryStore) -> int:
    [run] = store.runs(limit=1)
    return len(store.records(run.run_id))


def _save_one(location: Path | str, barrier: Any, writer: int, tests: int) -> None:
    batch = records(tests, writer)
    barrier.wait()
    with open_store(location) as store:
        store.save_run(meta(f"saver-{writer}"), batch)


def concurrent_savers(location: Path | str, tests: int) -> float:
    """Wall time of 16 processes saving a run each at once; checks the runs."""
    context = multiprocessing.get_context("spawn")
    barrier = context.Barrier(SAVERS + 1)
    processes = [
        context.Process(target=_save_one, args=(location, barrier, w, tests))
        for w in range(SAVERS)
    ]
    for process in processes:
        process.start()
    barrier.wait()
    start = time.perf_counter()
    for process in processes:
        process.join(timeout=600)
    elapsed = time.perf_counter() - start
    if [p.exitcode for p in processes] != [0] * SAVERS:
        raise SystemExit(f"a saver failed: {[p.exitcode for p in processes]}")
    with open_store(location) as store:
        saved = [r for r in store.runs() if (r.meta.label or "").startswith("saver-")]
        whole = all(r.timings == tests * 2 for r in saved)
    if len(saved) != SAVERS or not whole:
        raise SystemExit(f"expected {SAVERS} whole runs, found {len(saved)}")
    return elapsed


@contextmanager
def server(given: str | None) -> Iterator[str]:
    """A server URL: the one given, or a throwaway cluster."""
    if given:
        yield given
        return
    directory = Path(tempfile.mkdtemp(prefix="tracer-pg-"))
    directory.chmod(0o755)
    script = ROOT / ".ci" / "postgres"
    cluster = directory / "cluster"
    try:
        started = subprocess.run(
            [str(script), "start", str(cluster)],
            capture_output=True,
            text=True,
            check=False,
        )
        if started.returncode != 0:
            sys.stderr.write(f"no PostgreSQL server: {started.stderr.strip()}\n")
            raise SystemExit(2)
        yield started.stdout.strip()
    finally:
        subprocess.run([str(script), "stop", str(cluster)], check=False)
        subprocess.run(["rm", "-rf", str(directory)], check=False)


@contextmanager
def database(server_url: str) -> Iterator[str]:
    import psycopg

    name = f"bench_{uuid.uuid4().hex[:12]}"
    with psycopg.connect(server_url, autocommit=True) as admin:
        admin.execute(f"CREATE DATABASE {name}".encode())
    try:
        yield urlunsplit(urlsplit(server_url)._replace(path=f"/{name}"))
    finally:
        with psycopg.connect(server_url, autocommit=True) as admin:
            admin.execute(f"DROP DATABASE IF EXISTS {name} WITH (FORCE)".encode())


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--postgres", metavar="URL", help="A server to use")
    parser.add_argument("--tests", type=int, default=2000)
    parser.add_argument("--rounds", type=int, default=7)
    parser.add_argument("--quick", action="store_true", help="200 tests, 3 rounds")
    args = parser.parse_args()
    tests, rounds = (200, 3) if args.quick else (args.tests, args.rounds)
    batch = records(tests, 0)
    given = args.postgres or os.environ.get("PYTEST_TRACER_TEST_POSTGRES")
    times: dict[tuple[str, str], list[float]] = {}
    with (
        server(given) as url,
        database(url) as pg_url,
        tempfile.TemporaryDirectory() as tmp,
    ):
        locations: dict[str, Path | str] = {
            "sqlite": Path(tmp) / "history.sqlite",
            "postgresql": pg_url,
        }
        for location in locations.values():  # create the schema, warm up
            with open_store(location) as store:
                store.save_run(meta("warm-up"), batch[:10])
        for round_ in range(rounds):
            order = list(locations.items())
            if round_ % 2:
                order.reverse()
            for kind, location in order:
                with open_store(location) as store:
                    times.setdefault((kind, "save"), []).append(
                        timed(lambda: store.save_run(meta("bench"), batch))
                    )
                with open_store(location) as store:
                    times.setdefault((kind, "compare"), []).append(
                        timed(lambda: compare(store))
                    )
        for kind, location in locations.items():
            times[(kind, "16 savers")] = [concurrent_savers(location, tests)]
    print(f"{tests} tests x 2 timers x 32 samples, {rounds} rounds (medians)")
    print(f"{'':<12}{'SQLite':>10}{'PostgreSQL':>12}{'ratio':>8}")
    for action in ("save", "compare", "16 savers"):
        lite = statistics.median(times[("sqlite", action)])
        pg = statistics.median(times[("postgresql", action)])
        print(f"{action:<12}{lite * 1e3:>8.1f}ms{pg * 1e3:>10.1f}ms{pg / lite:>7.2f}x")
    return 0


if __name__ == "__main__":
    sys.exit(main())
