"""``python -m pytest_tracer import FILE``: a run's JSON document into a history.

FILE is what ``export --format json`` or ``--timer-json`` wrote: the run keeps
its time, label, branch, commit, machine and CI job, and gets a new id. A run
that the history already holds (same time, label and commit) is not added
twice, so a CI step that imports the same artifact again changes nothing.
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence
from pathlib import Path
from typing import Final

from pytest_tracer._render.printable import printable_lines

from .baseline import describe_run
from .cli import CliError, add_store_argument, locate, opened
from .meta import RunMeta
from .runfile import RunFileError, read_run_file
from .store import RunInfo, StoreError

PROG: Final = "python -m pytest_tracer import"


def build_parser(
    parser: argparse.ArgumentParser | None = None,
) -> argparse.ArgumentParser:
    """Add the ``import`` arguments to *parser* (a new one if None)."""
    if parser is None:
        parser = argparse.ArgumentParser(prog=PROG, description=__doc__)
    parser.add_argument(
        "file", type=Path, metavar="FILE", help="A run's JSON document to add"
    )
    add_store_argument(parser)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    return run(build_parser().parse_args(argv))


def run(args: argparse.Namespace) -> int:
    """0: imported, or there already; 2: unusable file, history or settings."""
    path: Path = args.file
    try:
        document = read_run_file(path)
    except FileNotFoundError:
        _error(f"no file {path}")
        return 2
    except RunFileError as exc:
        _error(str(exc))
        return 2
    try:
        location, _ = locate(args.db)
        with opened(location, "import") as store:
            same = _same_run(store.runs(label=document.meta.label), document.meta)
            if same is not None:
                _print(f"{path} is already in {store.where} as {describe_run(same)}")
                return 0
            run_id = store.save_run(document.meta, document.records)
            where = store.where
    except (CliError, StoreError) as exc:
        _error(str(exc))
        return 2
    count = len(document.records)
    _print(f"imported {path} as run {run_id} in {where} ({count} timings)")
    return 0


def _same_run(runs: Sequence[RunInfo], meta: RunMeta) -> RunInfo | None:
    for info in runs:
        if (
            # The document keeps whole seconds.
            abs(info.meta.created - meta.created) < 1.0
            and info.meta.label == meta.label
            and info.meta.commit == meta.commit
            and info.meta.branch == meta.branch
        ):
            return info
    return None


def _print(text: str) -> None:
    sys.stdout.write(printable_lines(text) + "\n")


def _error(text: str) -> None:
    sys.stderr.write(f"pytest-tracer import: {printable_lines(text)}\n")
