"""``python -m pytest_tracer COMMAND`` (also ``pytest-tracer COMMAND``): the
history of saved runs, and A/B comparisons of two versions of the code."""

from __future__ import annotations

import argparse
import os
import sys
from collections.abc import Sequence

from ._ab import cli as _ab_cli
from ._history import cli as _history_cli
from ._history import export as _export
from ._history import importer as _importer
from ._history import maintenance as _maintenance


def main(argv: Sequence[str] | None = None) -> int:
    """Run the subcommand named first in *argv*; return its exit status.

    Without a subcommand, print the usage and return 2.
    """
    parser = argparse.ArgumentParser(
        prog="python -m pytest_tracer", description=__doc__
    )
    commands = parser.add_subparsers(dest="command", metavar="COMMAND")
    history = commands.add_parser(
        "history",
        help="List saved runs, or show one timer's trend over them",
        description=_history_cli.__doc__,
        epilog=(
            "maintenance: history prune --keep N [--label L] [--branch B] "
            "[--dry-run], and history delete RUN [RUN ...] (each has --help)"
        ),
    )
    _history_cli.build_parser(history)
    export = commands.add_parser(
        "export",
        help="Write one saved run as JSON, Bencher's BMF or github-action-benchmark",
        description=_export.__doc__,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    _export.build_parser(export)
    imported = commands.add_parser(
        "import",
        help="Add a run's JSON document (from export or --timer-json) to the history",
        description=_importer.__doc__,
    )
    _importer.build_parser(imported)
    ab = commands.add_parser(
        "ab",
        help="Compare two versions of the code, interleaved on this machine",
        description=_ab_cli.__doc__,
    )
    _ab_cli.build_parser(ab)
    own, pytest_args = _ab_cli.split_pytest_args(sys.argv[1:] if argv is None else argv)
    if own[:1] == ["history"] and own[1:2] and own[1] in _maintenance.COMMANDS:
        return _maintenance.main(own[1], own[2:])
    args = parser.parse_args(own)
    args.pytest_args = pytest_args
    if args.command is None:
        parser.print_usage(sys.stderr)
        return 2
    if args.command == "ab":
        return _ab_cli.run(args)
    if args.command == "export":
        return _export.run(args)
    if args.command == "import":
        return _importer.run(args)
    return _history_cli.run(args, history)


def run_main(argv: Sequence[str] | None = None) -> int:
    """:func:`main`, quiet when the reader of its output goes away
    (``history | head -1``): exit 141, as a process killed by SIGPIPE."""
    try:
        status = main(argv)
        sys.stdout.flush()
    except BrokenPipeError:
        # Python would report the failed flush at exit: point stdout elsewhere.
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())
        return 141
    return status


if __name__ == "__main__":
    sys.exit(run_main())
