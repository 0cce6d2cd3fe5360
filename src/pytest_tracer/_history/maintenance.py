"""``history prune`` and ``history delete``: keep a history to the runs that
matter, in either store.

- ``history prune --keep N [--label L] [--branch B] [--dry-run]`` keeps the
  newest N runs (of those with the label and branch, when given) and deletes
  the older ones;
- ``history delete RUN [RUN ...]`` deletes runs by id, and none of them when
  one id is unknown.
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence
from typing import Final

from pytest_tracer._render.printable import printable_lines

from .cli import CliError, add_store_argument, is_missing, locate, opened
from .store import HistoryStore, StoreError

COMMANDS: Final = ("prune", "delete")
PROG: Final = "python -m pytest_tracer history"


def build_parser(command: str) -> argparse.ArgumentParser:
    """The parser of ``history prune`` or ``history delete``."""
    parser = argparse.ArgumentParser(
        prog=f"{PROG} {command}", description=__doc__, add_help=True
    )
    add_store_argument(parser)
    if command == "prune":
        parser.add_argument(
            "--keep",
            type=_count,
            required=True,
            metavar="N",
            help="How many of the newest runs to keep (0: delete them all)",
        )
        parser.add_argument("--label", help="Only runs saved with this label")
        parser.add_argument("--branch", help="Only runs of this branch")
        parser.add_argument(
            "--dry-run",
            action="store_true",
            help="Say which runs would be deleted, and delete nothing",
        )
    else:
        parser.add_argument(
            "ids", nargs="+", type=_run_id, metavar="RUN", help="A run id"
        )
    return parser


def main(command: str, argv: Sequence[str]) -> int:
    """Run ``history COMMAND`` with *argv*; 0: done, 1: no such run, 2: error."""
    args = build_parser(command).parse_args(argv)
    try:
        location, _ = locate(args.db)
        if is_missing(location):
            _error(f"no history at {location}: nothing to {command}")
            return 1
        with opened(location, "history") as store:
            if command == "prune":
                return _prune(store, args.keep, args.label, args.branch, args.dry_run)
            return _delete(store, args.ids)
    except (CliError, StoreError) as exc:
        _error(str(exc))
        return 2


def _prune(
    store: HistoryStore,
    keep: int,
    label: str | None,
    branch: str | None,
    dry_run: bool,
) -> int:
    runs = store.runs(label=label, branch=branch)
    which = "".join(
        (
            f" with label {label!r}" if label is not None else "",
            f" on branch {branch!r}" if branch is not None else "",
        )
    )
    old = [info.run_id for info in runs[keep:]]
    if not old:
        _print(
            f"nothing to delete: {store.where} has {_runs(len(runs))}{which},"
            f" --keep {keep}"
        )
        return 0
    listing = _ids(old)
    if dry_run:
        _print(f"would delete {_runs(len(old))}{which} from {store.where}: {listing}")
        return 0
    deleted = store.delete_runs(old)
    kept = min(keep, len(runs))
    _print(
        f"deleted {_runs(deleted)}{which} from {store.where} ({listing});"
        f" kept the newest {kept}"
    )
    return 0


def _delete(store: HistoryStore, ids: Sequence[int]) -> int:
    wanted = sorted(set(ids))
    found = {info.run_id for info in store.runs(ids=wanted)}
    unknown = [run_id for run_id in wanted if run_id not in found]
    if unknown:
        _error(
            f"no run {_ids(unknown)} in {store.where}: nothing was deleted"
            " (python -m pytest_tracer history lists the runs)"
        )
        return 1
    store.delete_runs(wanted)
    noun = "run" if len(wanted) == 1 else "runs"
    _print(f"deleted {noun} {_ids(wanted)} from {store.where}")
    return 0


def _runs(count: int) -> str:
    return f"{count} run" if count == 1 else f"{count} runs"


def _ids(ids: Sequence[int]) -> str:
    ordered = sorted(ids)
    if len(ordered) > 10:
        return f"{', '.join(map(str, ordered[:10]))}, ... ({len(ordered)} in all)"
    return ", ".join(map(str, ordered))


def _count(text: str) -> int:
    try:
        value = int(text)
    except ValueError:
        value = -1
    if value < 0:
        msg = f"expected a whole number of runs >= 0, got {text!r}"
        raise argparse.ArgumentTypeError(msg)
    return value


def _run_id(text: str) -> int:
    # Ids are 64-bit in both stores.
    if not (text.isascii() and text.isdigit()) or int(text) >= 2**63:
        msg = f"expected a run id (a whole number), got {text!r}"
        raise argparse.ArgumentTypeError(msg)
    return int(text)


def _print(text: str) -> None:
    sys.stdout.write(printable_lines(text) + "\n")


def _error(text: str) -> None:
    sys.stderr.write(f"pytest-tracer history: {printable_lines(text)}\n")
