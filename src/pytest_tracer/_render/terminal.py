"""The run's results as terminal lines: pure functions, the plugin writes them.

Timer names and test ids always print whole, since they are what users grep
for: columns are dropped first, then long names get a line of their own.
Widths count code points, so wide characters may look longer than counted.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from typing import Final, NamedTuple, TypeVar

from pytest_tracer._render.printable import printable
from pytest_tracer._results import Breach, Comparison, Confirmation, ReportLine
from pytest_tracer._units import format_change, format_duration

#: The option that sets ``max_rows``, named in the line about hidden rows.
ROWS_OPTION: Final = "--timer-report-rows"
_GAP: Final = "  "
_INDENT: Final = "  "
#: Names up to this long always fit beside their numbers.
MIN_NAME_WIDTH: Final = 12
_T = TypeVar("_T")


class _Column(NamedTuple):
    header: str
    cell: Callable[[ReportLine], str]
    is_numeric: bool = True


def _duration(statistic: str) -> Callable[[ReportLine], str]:
    return lambda row: format_duration(row.summary.get(statistic))


_NAME: Final = _Column("timer", lambda row: printable(row.name), is_numeric=False)
_CELLS: Final = (
    _Column("calls", lambda row: str(row.summary.count)),
    _Column("total", _duration("total")),
    _Column("mean", _duration("mean")),
    _Column("median", _duration("median")),
    _Column("p95", _duration("p95")),
    _Column("max", _duration("max")),
    _Column("limit", lambda row: printable(row.limit_text), is_numeric=False),
    _Column("status", lambda row: printable(row.status), is_numeric=False),
)
# Shown only when some row has a value in them.
_OPTIONAL: Final = frozenset({"limit", "status"})
# Dropped one after another while the table is too wide for the terminal.
_DROP_ORDER: Final = ("mean", "p95", "limit", "median")


class _Layout(NamedTuple):
    """Columns and widths; a name longer than *name_width* heads its row."""

    columns: tuple[_Column, ...]
    widths: tuple[int, ...]
    name_width: int

    def header(self) -> str:
        return self._line(_NAME.header, [column.header for column in self.columns])

    def row(self, row: ReportLine) -> list[str]:
        name = _NAME.cell(row)
        cells = [column.cell(row) for column in self.columns]
        if len(name) <= self.name_width:
            return [self._line(name, cells)]
        return [name, self._line("", cells)]

    def _line(self, name: str, cells: list[str]) -> str:
        padded = [name.ljust(self.name_width)]
        for column, width, cell in zip(self.columns, self.widths, cells, strict=True):
            padded.append(cell.rjust(width) if column.is_numeric else cell.ljust(width))
        return _GAP.join(padded).rstrip()


def _layout(rows: Sequence[ReportLine], width: int) -> _Layout:
    present = [
        column
        for column in _CELLS
        if column.header not in _OPTIONAL or any(column.cell(row) for row in rows)
    ]
    natural = {
        column.header: max(len(column.header), *(len(column.cell(row)) for row in rows))
        for column in present
    }
    lengths = [len(_NAME.header), *(len(_NAME.cell(row)) for row in rows)]
    longest = max(lengths)
    # Columns are dropped while the longest name does not fit beside them;
    # below MIN_NAME_WIDTH, longer names get a line of their own instead.
    for name_width in (longest, min(longest, MIN_NAME_WIDTH)):
        for dropped in range(len(_DROP_ORDER) + 1):
            columns = tuple(c for c in present if c.header not in _DROP_ORDER[:dropped])
            used = sum(natural[c.header] + len(_GAP) for c in columns)
            if name_width + used <= width:
                break
        else:
            continue
        break
    room = max(width - used, len(_NAME.header))
    widths = tuple(natural[c.header] for c in columns)
    return _Layout(columns, widths, max(n for n in lengths if n <= room))


def report_table(
    rows: Sequence[ReportLine], *, width: int, max_rows: int = 0
) -> list[str]:
    """The report: a header and one row per timer, longest total time first.

    Columns are dropped (mean, p95, limit, median) until the table fits
    *width*; if even then a name does not fit beside its numbers, every name
    gets a line of its own above them. Names are never cut.

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
    lines = [layout.header()]
    for row in shown:
        lines.extend(layout.row(row))
    if hidden:
        lines.append(_more(hidden, "timer"))
    return lines


def per_test_tables(
    tests: Sequence[tuple[str, Sequence[ReportLine]]],
    *,
    width: int,
    max_rows: int = 0,
) -> list[str]:
    """Each test id, then its timers indented, as in :func:`report_table`.

    Tests come by the sum of their timers' totals, longest first (ties by
    id); tests without timers are left out. The columns line up across tests.

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
    layout = _layout(
        [row for _, rows, _ in shown for row in rows], max(1, width - len(_INDENT))
    )
    lines = [_INDENT + layout.header()]
    for test_id, rows, hidden in shown:
        lines.append(printable(test_id))
        for row in rows:
            lines.extend(_INDENT + line for line in layout.row(row))
        if hidden:
            lines.append(_INDENT + _more(hidden, "timer"))
    if hidden_tests:
        lines.append(_more(hidden_tests, "test"))
    return lines


def comparison_lines(
    comparisons: Sequence[tuple[str, Comparison]],
    *,
    width: int,
    max_rows: int = 0,
    detail: bool = False,
) -> list[str]:
    """One row per compared (test, timer), then the counts of each verdict.

    Slower, then faster rows come first and are always shown; *max_rows*
    limits the others. When the test and timer do not fit beside the numbers,
    they get a line of their own.

    :param detail: Add each row's evidence on a line below it.
    :raises ValueError: *width* or *max_rows* is out of range.
    """
    _check(width, max_rows)
    if not comparisons:
        return ["no timer of this run was in the baseline"]
    order = {"slower": 0, "faster": 1, "unchanged": 2, "insufficient": 3}
    ranked = sorted(comparisons, key=lambda item: order[item[1].verdict])
    changed = [item for item in ranked if item[1].verdict in ("slower", "faster")]
    rest, hidden = _first(ranked[len(changed) :], max_rows)
    shown = changed + rest
    cells = [
        (
            c.verdict.upper(),
            format_change(c.change),
            _median(c.baseline_median),
            _median(c.current_median),
            printable(f"{test_id}  {c.name}"),
        )
        for test_id, c in shown
    ]
    headers = ("verdict", "change", "baseline", "now", "test  timer")
    widths = [
        max(len(h), *(len(row[i]) for row in cells)) for i, h in enumerate(headers)
    ]
    fixed = sum(widths[:4]) + len(_GAP) * 4
    stacked = fixed + widths[4] > width

    def numbers(row: Sequence[str]) -> str:
        return _GAP.join(
            (row[0].ljust(widths[0]), *(row[i].rjust(widths[i]) for i in (1, 2, 3)))
        )

    lines = [numbers(headers) + ("" if stacked else _GAP + headers[4])]
    for row, (_, comparison) in zip(cells, shown, strict=True):
        if stacked:
            lines.extend((row[4], _INDENT + numbers(row)))
        else:
            lines.append(numbers(row) + _GAP + row[4])
        if detail:
            lines.append(_INDENT + comparison.evidence)
    if hidden:
        lines.append(_more(hidden, "unchanged comparison"))
    counts: dict[str, int] = {}
    for _, comparison in comparisons:
        counts[comparison.verdict] = counts.get(comparison.verdict, 0) + 1
    lines.append(
        ", ".join(f"{counts[kind]} {kind}" for kind in order if kind in counts)
    )
    return lines


def breach_lines(breaches: Sequence[tuple[str, Breach]]) -> list[str]:
    """One line per breach: the test and the message."""
    return [
        f"{'' if breach.enforced else '(not enforced) '}{test_id}: {breach.message}"
        for test_id, breach in breaches
    ]


def confirmation_lines(confirmations: Sequence[Confirmation]) -> list[str]:
    """One line per test re-run to confirm its timings."""
    return [f"{c.test_id}: {c.runs} runs, {_outcome(c)}" for c in confirmations]


def _outcome(confirmation: Confirmation) -> str:
    if confirmation.passed:
        return "the breach did not hold"
    if confirmation.held:
        return "the breach held every time"
    return "the breach did not hold on the last run, which failed for another reason"


def _median(seconds: float) -> str:
    return "-" if math.isnan(seconds) else format_duration(seconds)


def _by_total(rows: Sequence[ReportLine]) -> list[ReportLine]:
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
