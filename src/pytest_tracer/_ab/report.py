"""An A/B result for people and machines: terminal lines, Markdown, JSON.

Pure functions of the verdicts. Test ids and timer names are never cut: when
they do not fit beside the numbers, they get a line of their own above them.
"""

from __future__ import annotations

import json
import math
from collections.abc import Sequence
from typing import Final

from pytest_tracer._ab.verdict import ABVerdict
from pytest_tracer._render.printable import printable
from pytest_tracer._units import format_duration

#: Bumped whenever the JSON document changes incompatibly.
SCHEMA: Final = 1
_ORDER: Final = {"slower": 0, "faster": 1, "added": 2, "removed": 3, "unchanged": 4}
_GAP: Final = "  "
_INDENT: Final = "  "
_HEADERS: Final = ("verdict", "change [95% CI]", "base", "head", "test  timer")


def ordered(verdicts: Sequence[ABVerdict]) -> list[ABVerdict]:
    """Slower first, then faster, added, removed and unchanged; then by name."""
    return sorted(verdicts, key=lambda v: (_ORDER[v.kind], v.test_id, v.name))


def _percent(value: float) -> str:
    if math.isnan(value):
        return "-"
    if math.isinf(value):
        return "+inf" if value > 0 else "-inf"
    return f"{value:+.1%}"


def change_text(verdict: ABVerdict) -> str:
    """``+20.3% [+15.1%, +25.8%]``, or ``-`` for a timer on one side only."""
    if math.isnan(verdict.change):
        return "-"
    low, high = _percent(verdict.low), _percent(verdict.high)
    return f"{_percent(verdict.change)} [{low}, {high}]"


def _median(seconds: float) -> str:
    return "-" if math.isnan(seconds) else format_duration(seconds)


def _cells(verdict: ABVerdict) -> tuple[str, str, str, str, str]:
    return (
        verdict.kind.upper(),
        change_text(verdict),
        _median(verdict.base_median),
        _median(verdict.head_median),
        printable(f"{verdict.test_id}  {verdict.name}"),
    )


def counts(verdicts: Sequence[ABVerdict]) -> str:
    """``1 slower, 3 unchanged``."""
    found: dict[str, int] = {}
    for verdict in verdicts:
        found[verdict.kind] = found.get(verdict.kind, 0) + 1
    return ", ".join(f"{found[kind]} {kind}" for kind in _ORDER if kind in found)


def table_lines(verdicts: Sequence[ABVerdict], *, width: int) -> list[str]:
    """The comparison as a table that fits *width*, then the counts."""
    if not verdicts:
        return ["no timer finished on either side"]
    rows = [_cells(verdict) for verdict in ordered(verdicts)]
    widths = [max(len(h), *(len(r[i]) for r in rows)) for i, h in enumerate(_HEADERS)]
    numbers_width = sum(widths[:4]) + len(_GAP) * 4
    stacked = numbers_width + widths[4] > width

    def numbers(row: Sequence[str]) -> str:
        return _GAP.join(
            (row[0].ljust(widths[0]), row[1].rjust(widths[1]),
             row[2].rjust(widths[2]), row[3].rjust(widths[3]))
        )  # fmt: skip

    lines = [numbers(_HEADERS) + ("" if stacked else _GAP + _HEADERS[4])]
    for row in rows:
        if stacked:
            lines.extend((row[4], _INDENT + numbers(row).rstrip()))
        else:
            lines.append(numbers(row) + _GAP + row[4])
    lines.append(counts(verdicts))
    return lines


def markdown(
    verdicts: Sequence[ABVerdict], *, base: str, head: str, rounds: int
) -> str:
    """GitHub-flavoured Markdown, for a CI step summary or a comment."""

    def cell(text: str) -> str:
        return text.replace("|", "\\|")

    lines = [
        "## pytest-tracer A/B",
        "",
        f"Base `{cell(base)}` against head `{cell(head)}`, {rounds} rounds: "
        f"{counts(verdicts) or 'no timer finished'}.",
        "",
        "| test | timer | base median | head median | change [95% CI] | verdict |",
        "| :--- | :--- | ---: | ---: | ---: | :--- |",
    ]
    for verdict in ordered(verdicts):
        kind = verdict.kind.upper() if verdict.kind == "slower" else verdict.kind
        lines.append(
            f"| {cell(verdict.test_id)} | {cell(verdict.name)} "
            f"| {_median(verdict.base_median)} | {_median(verdict.head_median)} "
            f"| {change_text(verdict)} | {kind} |"
        )
    return "\n".join(lines) + "\n"


def to_json(verdicts: Sequence[ABVerdict], *, base: str, head: str, rounds: int) -> str:
    """The result as a versioned JSON document; seconds, and fractions."""

    def number(value: float) -> float | None:
        return None if math.isnan(value) or math.isinf(value) else value

    document = {
        "schema": SCHEMA,
        "base": base,
        "head": head,
        "rounds": rounds,
        "results": [
            {
                "test": v.test_id,
                "name": v.name,
                "verdict": v.kind,
                "base_median": number(v.base_median),
                "head_median": number(v.head_median),
                "change": number(v.change),
                "ci95": [number(v.low), number(v.high)],
                "p_value": number(v.p_value),
                "rounds": v.rounds,
                "tolerance": v.tolerance,
                "noise_floor": v.noise_floor,
                "source": v.source,
            }
            for v in ordered(verdicts)
        ],
    }
    return json.dumps(document, indent=2, allow_nan=False) + "\n"
