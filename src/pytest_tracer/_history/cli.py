"""``python -m pytest_tracer history``: saved runs, and one timer's trend over them.

``history prune`` and ``history delete`` are in :mod:`.maintenance`; a timer
named ``prune`` or ``delete`` is shown with ``--timer NAME``.
"""

from __future__ import annotations

import argparse
import os
import sys
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from datetime import datetime
from pathlib import Path
from typing import Final

from pytest_tracer._config import (
    DEFAULT_STORE,
    MAX_RUNS,
    STORE_VARIABLE,
    ConfigError,
    TracerConfig,
    load_config,
    resolve_store,
)
from pytest_tracer._render.printable import printable, printable_lines
from pytest_tracer._units import format_duration

from .store import HistoryStore, RunInfo, StoreError, TimingRecord, open_store

__all__ = ["build_parser", "locate", "main", "run"]

PROG: Final = "python -m pytest_tracer history"
DEFAULT_LIMIT: Final = 20
_BAR_WIDTH: Final = 20
_EIGHTHS: Final = " ▏▎▍▌▋▊▉"
_FULL: Final = "█"
_COMMIT_LENGTH: Final = 10
_NAMES_SHOWN: Final = 10

DB_HELP: Final = (
    "The history: a SQLite file or a postgresql:// URL (default:"
    f" ${STORE_VARIABLE}, else [tool.pytest-tracer] store in the nearest"
    f" pyproject.toml, else {DEFAULT_STORE} next to it)"
)
LIMIT_HELP: Final = f"Show at most N runs (default: {DEFAULT_LIMIT})"
NAME_HELP: Final = "Timer name whose trend to show; without it, list the saved runs"
TEST_HELP: Final = "Only the timings of this test id ('' for session-level timings)"
HTML_HELP: Final = (
    "Write the trend of every timer over the last runs (--limit) to PATH as a "
    "self-contained HTML report"
)


class CliError(Exception):
    """A user error: printed without a traceback, exit status 2."""


def build_parser(
    parser: argparse.ArgumentParser | None = None,
) -> argparse.ArgumentParser:
    """Add the ``history`` arguments to *parser* (a new one if None)."""
    if parser is None:
        parser = argparse.ArgumentParser(prog=PROG, description=__doc__)
    add_store_argument(parser)
    parser.add_argument(
        "--limit",
        type=_positive_int,
        default=DEFAULT_LIMIT,
        metavar="N",
        help=LIMIT_HELP,
    )
    parser.add_argument("name", nargs="?", metavar="NAME", help=NAME_HELP)
    parser.add_argument(
        "--timer",
        metavar="NAME",
        help="The same as NAME, for a timer named like a subcommand (prune)",
    )
    parser.add_argument("--test", metavar="TEST_ID", help=TEST_HELP)
    parser.add_argument("--html", type=Path, metavar="PATH", help=HTML_HELP)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    """Run ``history`` with *argv* (default: ``sys.argv[1:]``); return the exit status.

    0: printed; 1: no history or no such timer; 2: unusable file or settings.
    Invalid arguments exit through argparse with status 2.
    """
    parser = build_parser()
    args = parser.parse_args(argv)
    return run(args, parser)


def run(args: argparse.Namespace, parser: argparse.ArgumentParser) -> int:
    """Carry out parsed ``history`` arguments; see :func:`main`."""
    if args.timer is not None:
        if args.name is not None:
            parser.error("give the timer as NAME or as --timer NAME, not both")
        args.name = args.timer
    if args.test is not None and args.name is None:
        parser.error("--test needs a timer NAME")
    if args.html is not None and (args.name is not None or args.test is not None):
        parser.error("--html reports every timer: drop NAME and --test")
    try:
        location, settings = locate(args.db)
        if is_missing(location):
            _error(f"no history at {location}: run pytest with --timer-save first")
            return 1
        with opened(location, "history") as store:
            if args.html is not None:
                return _write_html(store, settings, args.html, args.limit)
            if args.name is None:
                return _show_runs(store, args.limit)
            return _show_trend(store, args.name, args.test, args.limit)
    except (CliError, StoreError) as exc:
        _error(str(exc))
        return 2


@contextmanager
def opened(location: Path | str, command: str) -> Iterator[HistoryStore]:
    """The store at *location*; rows it had to skip are warned of on stderr."""
    with open_store(location) as store:
        try:
            yield store
        finally:
            for problem in store.problems:
                warning = printable_lines(problem)
                sys.stderr.write(f"pytest-tracer {command}: warning: {warning}\n")


def add_store_argument(parser: argparse.ArgumentParser) -> None:
    """``--db`` (also ``--store``): the history a command reads."""
    parser.add_argument("--db", "--store", dest="db", metavar="PATH|URL", help=DB_HELP)


def locate(given: str | None) -> tuple[Path | str, TracerConfig]:
    """The history a command uses (*given*, else the environment, else the
    project's settings) and those settings.

    :raises CliError: the pyproject's ``[tool.pytest-tracer]`` is invalid, or
        *given* is blank.
    """
    cwd = Path.cwd()
    settings = find_settings(cwd)
    try:
        location = resolve_store(
            given, cwd=cwd, settings=settings, environ=os.environ, option="--db"
        )
    except ConfigError as exc:
        raise CliError(str(exc)) from None
    return location, settings


def is_missing(location: Path | str) -> bool:
    """Whether *location* is a SQLite file that does not exist yet."""
    return isinstance(location, Path) and not location.exists()


def find_settings(start: Path) -> TracerConfig:
    """The settings of the project containing *start*, as the plugin reads them.

    The first directory from *start* upwards that holds ``pyproject.toml`` is
    the project root. Without a pyproject, *start* is the root.

    :raises CliError: the pyproject's ``[tool.pytest-tracer]`` is invalid.
    """
    for directory in (start, *start.parents):
        pyproject = directory / "pyproject.toml"
        if pyproject.is_file():
            try:
                return load_config(pyproject)
            except ConfigError as exc:
                raise CliError(f"{exc}: fix it, or pass --db PATH|URL") from None
    return load_config(None, root=start)


def _write_html(
    store: HistoryStore, settings: TracerConfig, path: Path, limit: int
) -> int:
    from pytest_tracer._render.html import Page, html_report

    from .report import load_trends

    trends = load_trends(store, store.names(), settings, runs=limit)
    if not trends:
        _error(f"no runs saved in {store.where}: run pytest with --timer-save first")
        return 1
    page = Page(
        title="pytest-tracer history",
        source=f"the last {limit} runs in {store.where}",
        trends=tuple(trends),
    )
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(html_report(page), encoding="utf-8")
    except OSError as exc:
        raise CliError(f"cannot write {path}: {exc.strerror or exc}") from None
    _print(f"wrote the trends of {len(trends)} timers to {path}")
    return 0


def _show_runs(store: HistoryStore, limit: int) -> int:
    runs = store.runs(limit=limit)
    if not runs:
        _error(f"no runs saved in {store.where}: run pytest with --timer-save first")
        return 1
    headers = (
        "id",
        "date",
        "label",
        "branch",
        "commit",
        "python",
        "workers",
        "machine",
        "timings",
        "incomplete",
        "ci job",
    )
    rows = [
        (
            str(info.run_id),
            _date(info),
            _text(info.meta.label),
            _text(info.meta.branch),
            _text(info.meta.commit and info.meta.commit[:_COMMIT_LENGTH]),
            info.meta.python,
            str(info.meta.workers),
            info.meta.fingerprint,
            str(info.timings),
            _text(info.meta.incomplete),
            _text(info.meta.ci_url or info.meta.ci_provider),
        )
        for info in runs
    ]
    noun = "run" if len(runs) == 1 else "runs"
    _print(f"{len(runs)} {noun} in {store.where}, newest first")
    _print(_table(headers, rows, right={0, 6, 8}))
    return 0


def _show_trend(store: HistoryStore, name: str, test_id: str | None, limit: int) -> int:
    trend = store.trend(name, test_id=test_id, limit=limit)
    where = "all tests" if test_id is None else f"test {test_id!r}"
    if not trend:
        known = store.names()
        hint = ", ".join(known[:_NAMES_SHOWN]) + (
            ", ..." if len(known) > _NAMES_SHOWN else ""
        )
        msg = f"no timings of {name!r} ({where}) in {store.where}"
        _error(f"{msg}; saved timers: {hint}" if known else msg)
        return 1
    headers = (
        "run",
        "date",
        "label",
        "calls",
        "median",
        "p95",
        "max",
        "change",
        "trend",
    )
    top = max(record.median for _, record in trend)
    full, eighths = _bar_glyphs()
    rows = []
    previous: TimingRecord | None = None
    for info, record in trend:
        rows.append(
            (
                str(info.run_id),
                _date(info),
                _text(info.meta.label),
                str(record.count),
                format_duration(record.median),
                format_duration(record.p95),
                format_duration(record.max),
                _change(previous, record),
                _bar(record.median, top, full, eighths),
            )
        )
        previous = record
    _print(f"timer {name!r} ({where}) in {store.where}, oldest first")
    _print(_table(headers, rows, right={0, 3, 4, 5, 6, 7}))
    return 0


def _change(previous: TimingRecord | None, record: TimingRecord) -> str:
    if previous is None or previous.median <= 0:
        return "-"
    return f"{(record.median - previous.median) / previous.median:+.1%}"


def _bar(value: float, top: float, full: str, eighths: str) -> str:
    if top <= 0:
        return ""
    units = round(value / top * _BAR_WIDTH * len(eighths))
    whole, part = divmod(units, len(eighths))
    return (full * whole + eighths[part]).rstrip()


def _bar_glyphs() -> tuple[str, str]:
    # Block characters need a Unicode terminal; fall back to ASCII otherwise.
    encoding = getattr(sys.stdout, "encoding", None) or "ascii"
    try:
        (_FULL + _EIGHTHS).encode(encoding)
    except (UnicodeEncodeError, LookupError):
        return "#", " "
    return _FULL, _EIGHTHS


def _date(info: RunInfo) -> str:
    return datetime.fromtimestamp(info.meta.created).isoformat(" ", "minutes")


def _text(value: str | None) -> str:
    return "-" if value is None or value == "" else value


def _table(
    headers: Sequence[str], rows: Sequence[Sequence[str]], right: set[int]
) -> str:
    # A newline in a label must not start a row of its own.
    rows = [[printable(cell) for cell in row] for row in rows]
    widths = [
        max(len(cell) for cell in column) for column in zip(headers, *rows, strict=True)
    ]
    lines = []
    for row in (headers, *rows):
        cells = (
            cell.rjust(width) if index in right else cell.ljust(width)
            for index, (cell, width) in enumerate(zip(row, widths, strict=True))
        )
        lines.append("  ".join(cells).rstrip())
    return "\n".join(lines)


def _positive_int(text: str) -> int:
    try:
        value = int(text)
    except ValueError:
        value = 0
    if not 1 <= value <= MAX_RUNS:
        msg = f"expected a whole number of runs from 1 to {MAX_RUNS:,}, got {text!r}"
        raise argparse.ArgumentTypeError(msg)
    return value


def _print(text: str) -> None:
    sys.stdout.write(printable_lines(text) + "\n")


def _error(text: str) -> None:
    sys.stderr.write(f"pytest-tracer history: {printable_lines(text)}\n")
