"""``python -m pytest_tracer export``: one saved run for other tools.

- ``json``: the run as the document ``--timer-json`` writes (schema 1), with
  the statistics and samples of each test and timer;
- ``bmf``: Bencher Metric Format, ``{"<test>::<timer>": {"latency": {...}}}``
  with the median as the value and the min and max as its bounds, in
  nanoseconds;
- ``github-action-benchmark``: its ``customSmallerIsBetter`` input, a list of
  ``{"name", "unit", "value", "range", "extra"}`` with the median in ns.
"""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Sequence
from pathlib import Path
from typing import Any, Final

from pytest_tracer._render import document
from pytest_tracer._render.printable import printable_lines
from pytest_tracer._results import SESSION
from pytest_tracer._stats import Summary, quantile

from .cli import CliError, add_store_argument, is_missing, locate, opened
from .meta import RunMeta
from .store import HistoryStore, RunInfo, StoreError, TimingRecord

PROG: Final = "python -m pytest_tracer export"
FORMATS: Final = ("json", "bmf", "github-action-benchmark")
RUN_HELP: Final = "A run id, or a label (its newest run); default: the newest run"
_NS: Final = 1e9


def build_parser(
    parser: argparse.ArgumentParser | None = None,
) -> argparse.ArgumentParser:
    """Add the ``export`` arguments to *parser* (a new one if None)."""
    if parser is None:
        parser = argparse.ArgumentParser(prog=PROG, description=__doc__)
    parser.add_argument("run", nargs="?", metavar="RUN", help=RUN_HELP)
    parser.add_argument(
        "--format", choices=FORMATS, default="json", help="What to write (json)"
    )
    parser.add_argument(
        "-o", "--output", type=Path, metavar="PATH", help="Write to PATH, not stdout"
    )
    add_store_argument(parser)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    return run(args)


def run(args: argparse.Namespace) -> int:
    """0: written; 1: no such run or no history; 2: unusable file or settings."""
    try:
        location, _ = locate(args.db)
        if is_missing(location):
            _error(f"no history at {location}: run pytest with --timer-save first")
            return 1
        with opened(location, "export") as store:
            info = find_run(store, args.run)
            if info is None:
                wanted = "no runs saved" if args.run is None else f"no run {args.run!r}"
                _error(f"{wanted} in {store.where}")
                return 1
            records = list(store.records(info.run_id).values())
        text = render(args.format, info, records)
        if args.output is None:
            sys.stdout.write(text)
        else:
            try:
                args.output.parent.mkdir(parents=True, exist_ok=True)
                args.output.write_text(text, encoding="utf-8")
            except OSError as exc:
                raise CliError(
                    f"cannot write {args.output}: {exc.strerror or exc}"
                ) from None
    except (CliError, StoreError) as exc:
        _error(str(exc))
        return 2
    return 0


def find_run(store: HistoryStore, wanted: str | None) -> RunInfo | None:
    """The run named by an id or a label; the newest run when *wanted* is None."""
    if wanted is None:
        runs = store.runs(limit=1)
    elif wanted.isdigit():
        runs = store.runs(ids=[int(wanted)])
    else:
        runs = store.runs(label=wanted, limit=1)
    return runs[0] if runs else None


def render(kind: str, info: RunInfo, records: Sequence[TimingRecord]) -> str:
    """The run in format *kind* (one of :data:`FORMATS`), as text."""
    ordered = sorted(records, key=lambda r: (r.test_id, r.name))
    if kind == "bmf":
        return _json(bmf(ordered))
    if kind == "github-action-benchmark":
        return _json(github_action_benchmark(ordered))
    return document.dumps(run_document(info, ordered))


def run_document(info: RunInfo, records: Sequence[TimingRecord]) -> dict[str, Any]:
    """The saved run as the JSON document of ``--timer-json``.

    Saved runs keep no limits, statuses or breaches: those are empty, and
    ``duration`` is null.
    """
    run = document_run(info.meta, duration=None, run_id=info.run_id)
    return {
        "schema": document.SCHEMA,
        "run": document.run_builtins(run),
        "timers": [
            document.timer_entry(
                _test(record), record.name, _summary(record), samples=record.samples
            )
            for record in records
        ],
        "breaches": [],
    }


def document_run(
    meta: RunMeta, *, duration: float | None, run_id: int | None = None
) -> document.RunInfo:
    """The document's ``run`` for a run described by *meta*."""
    return document.RunInfo(
        started=meta.created,
        duration=duration,
        commit=meta.commit,
        branch=meta.branch,
        python=meta.python,
        pytest=meta.pytest,
        platform=meta.platform,
        fingerprint=meta.fingerprint,
        workers=meta.workers,
        label=meta.label,
        run_id=run_id,
        system=meta.system,
        architecture=meta.machine,
        cpu=meta.cpu_model,
        cores=meta.cores,
        ci_provider=meta.ci_provider,
        ci_url=meta.ci_url,
        incomplete=meta.incomplete,
    )


def bmf(records: Sequence[TimingRecord]) -> dict[str, Any]:
    """Bencher Metric Format: one benchmark per test and timer."""
    return {
        f"{_test(r)}::{r.name}": {
            "latency": {
                "value": r.median * _NS,
                "lower_value": r.min * _NS,
                "upper_value": r.max * _NS,
            }
        }
        for r in records
    }


def github_action_benchmark(records: Sequence[TimingRecord]) -> list[dict[str, Any]]:
    """github-action-benchmark's ``customSmallerIsBetter`` entries."""
    return [
        {
            "name": f"{_test(r)}::{r.name}",
            "unit": "ns",
            "value": r.median * _NS,
            "range": f"± {(r.p95 - r.median) * _NS:.0f}",
            "extra": (
                f"calls: {r.count}\nmin: {r.min * _NS:.0f} ns\n"
                f"p95: {r.p95 * _NS:.0f} ns\nmax: {r.max * _NS:.0f} ns"
            ),
        }
        for r in records
    ]


def _summary(record: TimingRecord) -> Summary:
    ordered = sorted(record.samples)
    exact = len(ordered) == record.count
    return Summary(
        count=record.count,
        total=record.total,
        min=record.min,
        max=record.max,
        mean=record.total / record.count if record.count else float("nan"),
        median=record.median,
        p95=record.p95,
        # Not saved: estimated from the kept samples, or unknown without them.
        p99=quantile(ordered, 99) if ordered else float("nan"),
        exact=exact,
    )


def _test(record: TimingRecord) -> str:
    return record.test_id or SESSION


def _json(value: object) -> str:
    return json.dumps(value, indent=2, allow_nan=False, ensure_ascii=False) + "\n"


def _error(text: str) -> None:
    sys.stderr.write(f"pytest-tracer export: {printable_lines(text)}\n")
