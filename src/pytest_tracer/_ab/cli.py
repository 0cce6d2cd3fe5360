"""``python -m pytest_tracer ab BASE``: compare two versions of the code in one job.

Exit status: 0 when no timer got slower, 1 when one did, 2 for a usage or
setup error, 3 when pytest failed on a side (the comparison of the rounds
that finished is still printed).
"""

from __future__ import annotations

import argparse
import os
import shutil
import sys
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Final

from pytest_tracer._ab import report
from pytest_tracer._ab.rounds import Rounds, SideError, prepare, run_rounds
from pytest_tracer._ab.trees import SetupError, Side, base_side, head_side
from pytest_tracer._ab.verdict import ABVerdict, judge_pair
from pytest_tracer._config import ConfigError, TracerConfig, load_config

PROG: Final = "python -m pytest_tracer ab"
#: Chosen with bench/signal_quality.py --ab: see bench/README.md.
DEFAULT_ROUNDS: Final = 20
MIN_ROUNDS: Final = 2

BASE_HELP: Final = (
    "The other version: a git ref or commit of the repository here (checked out "
    "in a temporary worktree), or a directory holding it"
)
HEAD_HELP: Final = "The version to judge (default: the working tree here, as it is)"
ROUNDS_HELP: Final = (
    f"Rounds, each running pytest once per side (default {DEFAULT_ROUNDS}, "
    f"at least {MIN_ROUNDS})"
)
JSON_HELP: Final = "Also write the result as JSON to PATH"
MARKDOWN_HELP: Final = (
    "Also write the result as Markdown to PATH (appended when PATH is "
    "$GITHUB_STEP_SUMMARY)"
)
SETUP_HELP: Final = (
    "A shell command run once in each side's directory before the rounds, "
    "e.g. to build extensions in place"
)
PYTEST_HELP: Final = (
    "Arguments after -- go to pytest on both sides, e.g. -- -n 2 tests/perf "
    "(default: none, so pytest's configured testpaths)"
)


def _rounds(text: str) -> int:
    try:
        value = int(text)
    except ValueError:
        value = 0
    if value < MIN_ROUNDS:
        msg = (
            f"expected a whole number of rounds of at least {MIN_ROUNDS}, got {text!r}"
        )
        raise argparse.ArgumentTypeError(msg)
    return value


def build_parser(
    parser: argparse.ArgumentParser | None = None,
) -> argparse.ArgumentParser:
    """Add the ``ab`` arguments to *parser* (a new one if None)."""
    if parser is None:
        parser = argparse.ArgumentParser(prog=PROG, description=__doc__)
    parser.add_argument("base", metavar="BASE", help=BASE_HELP)
    parser.add_argument("--head", type=Path, metavar="DIR", help=HEAD_HELP)
    parser.add_argument(
        "--rounds", type=_rounds, default=DEFAULT_ROUNDS, metavar="N", help=ROUNDS_HELP
    )
    parser.add_argument("--json", type=Path, metavar="PATH", help=JSON_HELP)
    parser.add_argument("--markdown", type=Path, metavar="PATH", help=MARKDOWN_HELP)
    parser.add_argument("--setup", metavar="COMMAND", help=SETUP_HELP)
    parser.epilog = PYTEST_HELP
    return parser


def split_pytest_args(argv: Sequence[str]) -> tuple[list[str], list[str]]:
    """The command's own arguments, and those after ``--`` for pytest."""
    own = list(argv)
    if "--" not in own:
        return own, []
    index = own.index("--")
    return own[:index], own[index + 1 :]


def main(argv: Sequence[str] | None = None) -> int:
    """Run ``ab`` with *argv* (default: ``sys.argv[1:]``); return the exit status."""
    own, pytest_args = split_pytest_args(sys.argv[1:] if argv is None else argv)
    args = build_parser().parse_args(own)
    args.pytest_args = pytest_args
    return run(args)


def run(args: argparse.Namespace) -> int:
    """Carry out parsed ``ab`` arguments; see the module documentation."""
    try:
        head = head_side(args.head if args.head is not None else Path.cwd())
        settings = _settings(head)
        with base_side(args.base, head) as base:
            prepare((base, head), args.setup)
            _say(f"comparing {base.label} (base) with {head.label} (head)")
            try:
                rounds = run_rounds(
                    base, head, args.rounds, args.pytest_args, _progress()
                )
            except SideError as failure:
                _say(f"pytest-tracer ab: {failure}")
                _say(failure.summary)
                finished = failure.rounds or Rounds()
                if finished.base and finished.head:
                    _show(args, base, head, finished, settings)
                return 3
            verdicts = _show(args, base, head, rounds, settings)
    except (SetupError, ConfigError) as error:
        sys.stderr.write(f"pytest-tracer ab: {error}\n")
        return 2
    except KeyboardInterrupt:
        # The temporary worktree is gone already: base_side cleaned up.
        sys.stderr.write("pytest-tracer ab: interrupted\n")
        return 130
    return 1 if any(v.kind == "slower" for v in verdicts) else 0


def _settings(head: Side) -> TracerConfig:
    # The head's [tool.pytest-tracer], read as --timer-compare reads it.
    return load_config(head.workdir / "pyproject.toml", root=head.workdir)


def _show(
    args: argparse.Namespace,
    base: Side,
    head: Side,
    rounds: Rounds,
    settings: TracerConfig,
) -> list[ABVerdict]:
    verdicts = [judge_pair(pair, settings) for pair in rounds.pairs()]
    done = min(len(rounds.base), len(rounds.head))
    width = shutil.get_terminal_size().columns
    sys.stdout.write("\n".join(report.table_lines(verdicts, width=width)) + "\n")
    if args.json is not None:
        text = report.to_json(verdicts, base=base.label, head=head.label, rounds=done)
        args.json.write_text(text, encoding="utf-8")
    if args.markdown is not None:
        text = report.markdown(verdicts, base=base.label, head=head.label, rounds=done)
        summary = os.environ.get("GITHUB_STEP_SUMMARY")
        mode = (
            "a"
            if summary and Path(summary).resolve() == args.markdown.resolve()
            else "w"
        )
        with args.markdown.open(mode, encoding="utf-8") as file:
            file.write(text)
    return verdicts


def _progress() -> Callable[[str], None] | None:
    # A line per round on a terminal; CI logs get the result only.
    return _say if sys.stderr.isatty() else None


def _say(text: str) -> None:
    sys.stderr.write(text + "\n")
    sys.stderr.flush()
