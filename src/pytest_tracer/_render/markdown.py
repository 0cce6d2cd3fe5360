"""The run as GitHub-flavoured Markdown (``--timer-markdown``): a step summary.

A table of timers by name, the breaches and the comparison. GitHub refuses a
step summary over 1 MiB, so the text stays under the budget it is given:
rows are cut (breaches last) and a note says how many.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Final

from pytest_tracer._results import Breach, Comparison, ReportLine, RunResults
from pytest_tracer._units import format_change, format_duration

#: GitHub's limit for one step's summary.
STEP_SUMMARY_LIMIT: Final = 1024 * 1024
#: Kept free for the notes about cut rows.
_NOTE_ROOM: Final = 200
_VERDICT_ORDER: Final = {"slower": 0, "faster": 1, "insufficient": 2, "unchanged": 3}


def summary_markdown(
    results: RunResults,
    *,
    baseline: str | None = None,
    budget: int = STEP_SUMMARY_LIMIT,
) -> str:
    """The summary, at most *budget* bytes of UTF-8 (a heading at the least).

    :param baseline: What the run was compared with; None when not comparing.
    """
    lines = results.lines()
    comparisons = sorted(
        results.comparisons, key=lambda tc: _VERDICT_ORDER.get(tc[1].verdict, 9)
    )
    head = ["## pytest-tracer", "", _headline(results, lines, comparisons, baseline)]
    tables = [
        _Table(
            "### Timers",
            ["timer", "calls", "median", "p95", "max", "limit", "status"],
            "lrrrrll",
            [_timer_row(line) for line in sorted(lines, key=_by_total)],
            empty="No timer finished during the run.",
        ),
        _Table(
            "### Breaches",
            ["test", "timer", "measured", "limit", "set in"],
            "llrrl",
            [_breach_row(test, breach) for test, breach in results.breaches],
        ),
    ]
    if baseline is not None:
        tables.append(
            _Table(
                f"### Compared with {_text(baseline)}",
                ["test", "timer", "baseline", "now", "change", "verdict"],
                "llrrrl",
                [_comparison_row(test, c) for test, c in comparisons],
                empty="No timer of this run was in the baseline.",
            )
        )
    # Rows are spent in order of importance; the timers table comes first on
    # the page but is the first to be cut.
    text_head = "\n".join(head) + "\n"
    used = _size(text_head) + sum(table.fixed_size for table in tables)
    for table in (tables[1], *tables[2:], tables[0]):
        used = table.fill(budget - used - _NOTE_ROOM * len(tables), used)
    body = "\n".join(table.render() for table in tables if table.shown)
    text = text_head + ("\n" + body if body else "")
    if _size(text) > budget:  # only a budget too small for the tables' heads
        text = text_head
    return text


class _Table:
    """A Markdown table whose rows are taken while they fit."""

    def __init__(
        self,
        heading: str,
        headers: list[str],
        align: str,
        rows: list[list[str]],
        *,
        empty: str | None = None,
    ) -> None:
        self.heading = heading
        self.rows = rows
        self.empty = empty
        self.kept: list[str] = []
        self._head = [
            _row(headers),
            _row(["---:" if a == "r" else "---" for a in align]),
        ]
        self._lines = [_row(cells) for cells in rows]

    @property
    def shown(self) -> bool:
        return bool(self.rows) or self.empty is not None

    @property
    def fixed_size(self) -> int:
        if not self.shown:
            return 0
        if not self.rows:
            return _size(f"{self.heading}\n\n{self.empty}\n")
        return _size(f"{self.heading}\n\n" + "\n".join(self._head) + "\n")

    def fill(self, room: int, used: int) -> int:
        """Keep rows while they fit in *room* bytes; return the bytes used."""
        for line in self._lines:
            size = _size(line) + 1
            if size > room:
                break
            self.kept.append(line)
            room -= size
            used += size
        return used

    def render(self) -> str:
        if not self.rows:
            return f"{self.heading}\n\n{self.empty}\n"
        lines = [self.heading, "", *self._head, *self.kept]
        cut = len(self.rows) - len(self.kept)
        if cut:
            lines += [
                "",
                f"*{cut} more row{'s' if cut != 1 else ''} not shown, "
                "to stay under GitHub's 1 MiB limit for a step summary.*",
            ]
        return "\n".join(lines) + "\n"


def _headline(
    results: RunResults,
    lines: Sequence[ReportLine],
    comparisons: Sequence[tuple[str, Comparison]],
    baseline: str | None,
) -> str:
    tests = len(results.timed_tests)
    parts = [f"{len(lines)} timer{'s' if len(lines) != 1 else ''}"]
    if tests:
        parts.append(f"{tests} test{'s' if tests != 1 else ''} with timings")
    enforced = sum(1 for _, b in results.breaches if b.enforced)
    breaches = len(results.breaches)
    if breaches:
        detail = "" if enforced == breaches else f" ({enforced} enforced)"
        parts.append(
            f"**{breaches} over {'its' if breaches == 1 else 'their'} limit**{detail}"
        )
    else:
        parts.append("every limit held")
    if baseline is not None:
        counts: dict[str, int] = {}
        for _, comparison in comparisons:
            counts[comparison.verdict] = counts.get(comparison.verdict, 0) + 1
        verdicts = ", ".join(
            f"{counts[kind]} {kind}" for kind in _VERDICT_ORDER if counts.get(kind)
        )
        parts.append(f"compared with {_text(baseline)}: {verdicts or 'nothing'}")
    return " · ".join(parts)


def _timer_row(line: ReportLine) -> list[str]:
    summary = line.summary
    return [
        _code(line.name),
        str(summary.count),
        format_duration(summary.median),
        format_duration(summary.p95),
        format_duration(summary.max),
        _text(line.limit_text),
        "**OVER**" + line.status[4:] if line.status.startswith("OVER") else line.status,
    ]


def _breach_row(test_id: str, breach: Breach) -> list[str]:
    calls = f"{breach.calls} call{'s' if breach.calls != 1 else ''}"
    enforced = "" if breach.enforced else " (not enforced)"
    return [
        _code(test_id),
        _code(breach.name),
        f"{breach.statistic} {format_duration(breach.measured)} of {calls}",
        format_duration(breach.limit.seconds) + enforced,
        _text(breach.limit.source),
    ]


def _comparison_row(test_id: str, comparison: Comparison) -> list[str]:
    verdict = comparison.verdict
    return [
        _code(test_id),
        _code(comparison.name),
        format_duration(comparison.baseline_median),
        format_duration(comparison.current_median),
        format_change(comparison.change),
        f"**{verdict}**" if comparison.is_regression else verdict,
    ]


def _by_total(line: ReportLine) -> float:
    return -line.summary.total


def _row(cells: Sequence[str]) -> str:
    return "| " + " | ".join(cells) + " |"


def _code(text: str) -> str:
    """*text* as a code span inside a table cell, whatever it holds."""
    text = " ".join(text.split()).replace("|", "\\|")
    fence = "``" if "`" in text else "`"
    pad = " " if fence == "``" else ""
    return f"{fence}{pad}{text}{pad}{fence}"


def _text(text: str) -> str:
    """*text* as plain text in a cell: no markup, tags or line breaks of its own."""
    text = " ".join(text.split())
    for char, escaped in (("\\", "\\\\"), ("|", "\\|"), ("<", "&lt;"), (">", "&gt;")):
        text = text.replace(char, escaped)
    for char in "*_`[]#":
        text = text.replace(char, "\\" + char)
    return text


def _size(text: str) -> int:
    return len(text.encode("utf-8"))
