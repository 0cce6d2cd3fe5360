"""The timer report as text lines, Markdown and JSON, from rows of statistics.

Pure functions: the plugin decides where the output goes. Widths count code
points, so names with wide characters may look longer than they are counted.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Final, TypeVar

from ._stats import Summary
from ._units import format_duration

#: The option that sets ``max_rows``, named in the line about hidden rows.
ROWS_OPTION: Final = "--timer-report-rows"
#: Bumped whenever :func:`to_json_dict` changes incompatibly.
JSON_SCHEMA_VERSION: Final = 1
#: Timer names are shortened down to this width before columns are dropped.
MIN_NAME_WIDTH: Final = 12
_GAP: Final = "  "
_INDENT: Final = "  "
_ELLIPSIS: Final = "…"
_T = TypeVar("_T")


@dataclass(frozen=True)
class ReportRow:
    """One timer name's line in the report.

    :param name: The timer's name.
    :param summary: Its statistics.
    :param limit: The limit that applies, as shown (``"max 20 ms"``), or ``""``.
    :param status: ``"ok"``, ``"OVER"``, or ``""`` when nothing was checked.
    """

    name: str
    summary: Summary
    limit: str = ""
    status: str = ""


@dataclass(frozen=True)
class _Column:
    header: str
    cell: Callable[[ReportRow], str]
    is_numeric: bool = True


def _duration(statistic: str) -> Callable[[ReportRow], str]:
    return lambda row: format_duration(row.summary.get(statistic))


_COLUMNS: Final = (
    _Column("timer", lambda row: _printable(row.name), is_numeric=False),
    _Column("calls", lambda row: str(row.summary.count)),
    _Column("total", _duration("total")),
    _Column("mean", _duration("mean")),
    _Column("median", _duration("median")),
    _Column("p95", _duration("p95")),
    _Column("max", _duration("max")),
    _Column("limit", lambda row: _printable(row.limit), is_numeric=False),
    _Column("status", lambda row: _printable(row.status), is_numeric=False),
)
# Shown only when some row has a value in them.
_OPTIONAL: Final = frozenset({"limit", "status"})
# Dropped one after another while the table is too wide for the terminal.
_DROP_ORDER: Final = ("mean", "p95", "limit", "median")


@dataclass(frozen=True)
class _Layout:
    columns: tuple[_Column, ...]
    widths: tuple[int, ...]
    width: int

    def header(self) -> str:
        return self._line([column.header for column in self.columns])

    def row(self, row: ReportRow) -> str:
        return self._line([column.cell(row) for column in self.columns])

    def _line(self, cells: list[str]) -> str:
        padded = [_clip(cells[0], self.widths[0]).ljust(self.widths[0])]
        for column, width, cell in zip(
            self.columns[1:], self.widths[1:], cells[1:], strict=True
        ):
            padded.append(cell.rjust(width) if column.is_numeric else cell.ljust(width))
        return _clip(_GAP.join(padded).rstrip(), self.width)


def render_table(
    rows: Sequence[ReportRow], *, width: int, max_rows: int = 0
) -> list[str]:
    """Return the report as a header line and one line per timer.

    Timers come by total time, longest first (ties by name). Names are
    shortened, then columns dropped (mean, p95, limit, median), until the
    table fits *width*; no line is ever longer than *width*.

    :param rows: One row per timer name.
    :param width: The terminal width, at least 1.
    :param max_rows: Show only the first this many timers (0 shows all), then
        a line saying how many were left out.
    :raises ValueError: *width* or *max_rows* is out of range.
    """
    _check(width, max_rows)
    shown, hidden = _first(_by_total(rows), max_rows)
    if not shown:
        return []
    layout = _layout(shown, width)
    lines = [layout.header(), *map(layout.row, shown)]
    if hidden:
        lines.append(_clip(_more(hidden, "timer"), width))
    return lines


def render_per_test(
    tests: Sequence[tuple[str, Sequence[ReportRow]]],
    *,
    width: int,
    max_rows: int = 0,
) -> list[str]:
    """Return a breakdown per test: each test id, then its timers indented.

    Tests come by the sum of their timers' totals, longest first (ties by
    id); tests without timers are left out. The columns line up across tests
    and fit *width* as in :func:`render_table`; long test ids keep their end.

    :param tests: ``(test id, rows)`` pairs.
    :param width: The terminal width, at least 1.
    :param max_rows: Show only the first this many tests, and the first this
        many timers of each (0 shows all).
    :raises ValueError: *width* or *max_rows* is out of range.
    """
    _check(width, max_rows)
    timed = [(test_id, _by_total(rows)) for test_id, rows in tests if rows]
    timed.sort(key=lambda test: (-sum(row.summary.total for row in test[1]), test[0]))
    shown_tests, hidden_tests = _first(timed, max_rows)
    if not shown_tests:
        return []
    shown = [(test_id, *_first(rows, max_rows)) for test_id, rows in shown_tests]
    inner = max(1, width - len(_INDENT))
    layout = _layout([row for _, rows, _ in shown for row in rows], inner)
    # Clipped again for widths narrower than the indent itself.
    lines = [_clip(_INDENT + layout.header(), width)]
    for test_id, rows, hidden in shown:
        lines.append(_clip_start(_printable(test_id), width))
        lines.extend(_clip(_INDENT + layout.row(row), width) for row in rows)
        if hidden:
            lines.append(_clip(_INDENT + _more(hidden, "timer"), width))
    if hidden_tests:
        lines.append(_clip(_more(hidden_tests, "test"), width))
    return lines


def render_markdown(rows: Sequence[ReportRow]) -> str:
    """Return the report as a GitHub-flavoured Markdown table, every column."""
    headers = [column.header for column in _COLUMNS]
    aligns = ["---:" if column.is_numeric else ":---" for column in _COLUMNS]
    lines = [_markdown_line(headers), _markdown_line(aligns)]
    for row in _by_total(rows):
        cells = [column.cell(row).replace("|", "\\|") for column in _COLUMNS]
        lines.append(_markdown_line(cells))
    return "\n".join(lines) + "\n"


def to_json_dict(rows: Sequence[ReportRow]) -> dict[str, object]:
    """Return the report as JSON-safe builtins, durations in seconds.

    ``{"schema_version": 1, "timers": [{"name", "calls", "total_s", "mean_s",
    "median_s", "p95_s", "max_s", "limit", "status"}, ...]}``, timers ordered as
    in :func:`render_table`.
    """
    timers: list[dict[str, object]] = [
        {
            "name": row.name,
            "calls": row.summary.count,
            "total_s": row.summary.total,
            "mean_s": row.summary.mean,
            "median_s": row.summary.median,
            "p95_s": row.summary.p95,
            "max_s": row.summary.max,
            "limit": row.limit,
            "status": row.status,
        }
        for row in _by_total(rows)
    ]
    return {"schema_version": JSON_SCHEMA_VERSION, "timers": timers}


def render_json(rows: Sequence[ReportRow]) -> str:
    """Return :func:`to_json_dict` as indented JSON text."""
    return json.dumps(to_json_dict(rows), indent=2, allow_nan=False) + "\n"


def _layout(rows: Sequence[ReportRow], width: int) -> _Layout:
    natural = {
        column.header: max(len(column.header), *(len(column.cell(row)) for row in rows))
        for column in _COLUMNS
    }
    present = [
        column
        for column in _COLUMNS
        if column.header not in _OPTIONAL or any(column.cell(row) for row in rows)
    ]
    name_natural = natural["timer"]
    for dropped in range(len(_DROP_ORDER) + 1):
        columns = tuple(c for c in present if c.header not in _DROP_ORDER[:dropped])
        rest = [natural[column.header] for column in columns[1:]]
        room = width - sum(rest) - len(_GAP) * len(rest)
        if min(name_natural, MIN_NAME_WIDTH) <= room:
            break
    # Narrower still, names shrink below MIN_NAME_WIDTH rather than the status
    # going, and only then are lines clipped at the right edge.
    name_width = max(1, min(name_natural, room))
    return _Layout(columns, (name_width, *rest), width)


def _by_total(rows: Sequence[ReportRow]) -> list[ReportRow]:
    return sorted(rows, key=lambda row: (-row.summary.total, row.name))


def _first(items: list[_T], limit: int) -> tuple[list[_T], int]:
    if limit and len(items) > limit:
        return items[:limit], len(items) - limit
    return items, 0


def _more(hidden: int, noun: str) -> str:
    plural = "" if hidden == 1 else "s"
    return (
        f"... {hidden} more {noun}{plural} not shown (use {ROWS_OPTION}=0 to see all)"
    )


def _check(width: int, max_rows: int) -> None:
    if width < 1:
        msg = f"width: expected a positive number of columns, got {width!r}"
        raise ValueError(msg)
    if max_rows < 0:
        msg = f"max_rows: expected 0 (all) or a positive number, got {max_rows!r}"
        raise ValueError(msg)


def _printable(text: str) -> str:
    # A newline or tab in a timer name would break the table's lines.
    if text.isprintable():
        return text
    return "".join(char if char.isprintable() else "\ufffd" for char in text)


def _clip(text: str, width: int) -> str:
    return text if len(text) <= width else text[: width - 1] + _ELLIPSIS


def _clip_start(text: str, width: int) -> str:
    return text if len(text) <= width else _ELLIPSIS + text[len(text) - width + 1 :]


def _markdown_line(cells: list[str]) -> str:
    return "| " + " | ".join(cells) + " |"
