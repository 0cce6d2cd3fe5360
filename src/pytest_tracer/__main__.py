"""``python -m pytest_tracer COMMAND``: tools that work on saved pytest-tracer data."""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence

from ._history import cli as _history_cli


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
    )
    _history_cli.build_parser(history)
    args = parser.parse_args(argv)
    if args.command is None:
        parser.print_usage(sys.stderr)
        return 2
    return _history_cli.run(args, history)


if __name__ == "__main__":
    sys.exit(main())
