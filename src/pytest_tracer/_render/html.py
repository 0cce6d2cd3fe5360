"""The run as one self-contained HTML page (``--timer-html``, ``history --html``).

Everything is inline: the CSS, the plots (SVG drawn here) and a few lines of
script that sort the table, so the file opens from ``file://`` and as a CI
artifact with nothing fetched. Text from tests and timers is escaped.
"""

from __future__ import annotations

import math
import time
from collections.abc import Sequence
from html import escape
from typing import Final, NamedTuple

from pytest_tracer._config import Limit
from pytest_tracer._render.document import RunInfo
from pytest_tracer._results import ReportLine, RunResults
from pytest_tracer._units import format_change, format_duration

#: Bars in a distribution plot.
BINS: Final = 40
#: A trend point is marked when its median exceeds the median of this many
#: runs before it by more than the tolerance and the noise floor.
TREND_WINDOW: Final = 5
_WIDTH: Final = 640
_HEIGHT: Final = 150
_PAD: Final = 34


class TrendPoint(NamedTuple):
    """One saved run's median of a timer, for the trend plot.

    :param run: The run's id in the history; None for this run, not saved.
    """

    run: int | None
    label: str | None
    commit: str | None
    created: float
    median: float


class Trend(NamedTuple):
    """A timer's median over saved runs, oldest first, and what counts as slower."""

    name: str
    points: tuple[TrendPoint, ...]
    tolerance: float
    noise_floor: float
    #: The limits the project's pyproject.toml sets for the name today.
    limits: tuple[Limit, ...] = ()


class Page(NamedTuple):
    """What a report shows; either part may be empty.

    :param source: Where the data comes from, for the heading.
    """

    title: str
    source: str
    run: RunInfo | None = None
    results: RunResults | None = None
    trends: tuple[Trend, ...] = ()
    baseline: str | None = None


def html_report(page: Page) -> str:
    """The whole page as one string."""
    results = page.results
    lines = sorted(results.lines(), key=lambda x: -x.summary.total) if results else []
    trends = {trend.name: trend for trend in page.trends}
    names = [line.name for line in lines] + [
        name for name in sorted(trends) if name not in {x.name for x in lines}
    ]
    body = [
        f"<header><h1>{escape(page.title)}</h1>"
        f"<p class='source'>{escape(page.source)}</p>{_run_facts(page.run)}</header>",
        _summary(page, lines),
    ]
    if results is not None and results.breaches:
        body.append(_breaches(results))
    if results is not None and page.baseline is not None:
        body.append(_comparisons(results, page.baseline))
    if lines:
        body.append(_table(lines))
    elif trends:
        body.append(_trend_table(page.trends))
    by_name = {line.name: line for line in lines}
    sections = [
        _timer_section(name, by_name.get(name), trends.get(name), results)
        for name in names
    ]
    if sections:
        body.append("<h2>Timers</h2>" + "".join(sections))
    else:
        body.append("<p class='empty'>No timer finished during the run.</p>")
    return _DOCUMENT.format(
        title=escape(page.title), style=_STYLE, body="\n".join(body), script=_SCRIPT
    )


# --- parts of the page --------------------------------------------------------


def _run_facts(run: RunInfo | None) -> str:
    if run is None:
        return ""
    facts = [
        ("started", time.strftime("%Y-%m-%d %H:%M:%S UTC", time.gmtime(run.started))),
        ("duration", "-" if run.duration is None else format_duration(run.duration)),
        ("commit", (run.commit or "-")[:12]),
        ("branch", run.branch or "-"),
        ("label", run.label or "-"),
        ("Python", run.python),
        ("pytest", run.pytest),
        ("workers", str(run.workers) if run.workers else "none"),
        ("machine", run.fingerprint),
    ]
    cells = "".join(f"<dt>{k}</dt><dd>{escape(v)}</dd>" for k, v in facts)
    return f"<dl class='facts'>{cells}</dl>"


def _summary(page: Page, lines: Sequence[ReportLine]) -> str:
    results = page.results
    cards = []
    if results is not None:
        tests = len(results.timed_tests)
        cards += [
            ("timers", str(len(lines)), ""),
            ("tests with timings", str(tests), ""),
        ]
        breaches = len(results.breaches)
        cards.append(
            ("over their limits", str(breaches), "bad" if breaches else "good")
        )
        if page.baseline is not None:
            slower = sum(1 for _, c in results.comparisons if c.is_regression)
            cards.append(
                ("slower than the baseline", str(slower), "bad" if slower else "good")
            )
    if page.trends:
        runs = {
            p.run for trend in page.trends for p in trend.points if p.run is not None
        }
        cards.append(("saved runs shown", str(len(runs)), ""))
    html = "".join(
        f"<div class='card {kind}'><b>{escape(value)}</b>"
        f"<span>{escape(label)}</span></div>"
        for label, value, kind in cards
    )
    return f"<section class='cards'>{html}</section>"


def _breaches(results: RunResults) -> str:
    rows = "".join(
        "<tr>"
        f"<td class='id'>{escape(test)}</td><td class='id'>{escape(b.name)}</td>"
        f"<td>{escape(b.statistic)} {format_duration(b.measured)}</td>"
        f"<td>{format_duration(b.limit.seconds)}"
        f"{'' if b.enforced else ' (not enforced)'}</td>"
        f"<td>{escape(b.limit.source)}</td></tr>"
        for test, b in results.breaches
    )
    return (
        "<section class='breaches'><h2>Over their limits</h2><table><thead><tr>"
        "<th>test</th><th>timer</th><th>measured</th><th>limit</th><th>set in</th>"
        f"</tr></thead><tbody>{rows}</tbody></table></section>"
    )


def _comparisons(results: RunResults, baseline: str) -> str:
    order = {"slower": 0, "faster": 1, "insufficient": 2, "unchanged": 3}
    rows = "".join(
        f"<tr class='{'over' if c.is_regression else ''}'>"
        f"<td class='id'>{escape(test)}</td><td class='id'>{escape(c.name)}</td>"
        f"<td>{format_duration(c.baseline_median)}</td>"
        f"<td>{format_duration(c.current_median)}</td>"
        f"<td>{escape(format_change(c.change))}</td><td>{escape(c.verdict)}</td></tr>"
        for test, c in sorted(results.comparisons, key=lambda tc: order[tc[1].verdict])
    )
    if not rows:
        rows = "<tr><td colspan='6'>No timer of this run was in the baseline.</td></tr>"
    return (
        f"<section><h2>Compared with {escape(baseline)}</h2><table><thead><tr>"
        "<th>test</th><th>timer</th><th>baseline</th><th>now</th><th>change</th>"
        f"<th>verdict</th></tr></thead><tbody>{rows}</tbody></table></section>"
    )


def _table(lines: Sequence[ReportLine]) -> str:
    head = "".join(
        f"<th data-type='{kind}' title='sort'>{label}</th>"
        for label, kind in (
            ("timer", "text"),
            ("calls", "num"),
            ("total", "num"),
            ("median", "num"),
            ("p95", "num"),
            ("max", "num"),
            ("limit", "text"),
            ("status", "text"),
        )
    )
    rows = []
    for line in lines:
        s = line.summary
        over = line.status.startswith("OVER")
        cells = [
            f"<td class='id' data-sort='{escape(line.name)}'>"
            f"<a href='#{_anchor(line.name)}'>{escape(line.name)}</a></td>",
            f"<td data-sort='{s.count}'>{s.count}</td>",
        ]
        for value in (s.total, s.median, s.p95, s.max):
            cells.append(f"<td data-sort='{value!r}'>{format_duration(value)}</td>")
        cells.append(f"<td>{escape(line.limit_text)}</td>")
        cells.append(f"<td class='status'>{escape(line.status)}</td>")
        rows.append(f"<tr class='{'over' if over else ''}'>{''.join(cells)}</tr>")
    return (
        "<section><h2>Timers of this run</h2>"
        f"<table id='timers' class='sortable'><thead><tr>{head}</tr></thead>"
        f"<tbody>{''.join(rows)}</tbody></table>"
        "<p class='hint'>Click a column to sort by it.</p></section>"
    )


def _trend_table(trends: Sequence[Trend]) -> str:
    rows = []
    for trend in trends:
        last = trend.points[-1]
        before = trend.points[-2] if len(trend.points) > 1 else None
        change = (
            format_change(last.median / before.median - 1)
            if before is not None and before.median > 0
            else "-"
        )
        rows.append(
            f"<tr><td class='id' data-sort='{escape(trend.name)}'>"
            f"<a href='#{_anchor(trend.name)}'>{escape(trend.name)}</a></td>"
            f"<td data-sort='{len(trend.points)}'>{len(trend.points)}</td>"
            f"<td data-sort='{last.median!r}'>{format_duration(last.median)}</td>"
            f"<td>{escape(change)}</td></tr>"
        )
    return (
        "<section><h2>Timers in the history</h2>"
        "<table id='timers' class='sortable'><thead><tr>"
        "<th data-type='text'>timer</th><th data-type='num'>runs</th>"
        "<th data-type='num'>latest median</th><th data-type='text'>change</th>"
        f"</tr></thead><tbody>{''.join(rows)}</tbody></table></section>"
    )


def _timer_section(
    name: str, line: ReportLine | None, trend: Trend | None, results: RunResults | None
) -> str:
    parts = [f"<h3 class='timer-name'>{escape(name)}</h3>"]
    over = line is not None and line.status.startswith("OVER")
    if line is not None and results is not None:
        stats = results.by_name.get(name)
        samples = stats.samples if stats is not None else ()
        parts.append(
            "<figure><figcaption>This run: "
            f"{line.summary.count} calls, median {format_duration(line.summary.median)}"
            f"{', ' + escape(line.status) if line.status else ''}</figcaption>"
            f"{_distribution_svg(name, samples, line.limits)}</figure>"
        )
    if trend is not None and trend.points:
        limits = line.limits if line is not None else trend.limits
        parts.append(
            "<figure><figcaption>Median over saved runs (oldest first)</figcaption>"
            f"{_trend_svg(trend, limits)}</figure>"
        )
    return (
        f"<section class='timer{' over' if over else ''}' id='{_anchor(name)}' "
        f"data-timer='{escape(name)}'>{''.join(parts)}</section>"
    )


# --- plots ------------------------------------------------------------------


def _distribution_svg(
    name: str, samples: Sequence[float], limits: Sequence[Limit]
) -> str:
    """A histogram of the kept samples, with each limit as a vertical line."""
    values = sorted(v for v in samples if math.isfinite(v) and v >= 0)
    if not values:
        return "<p class='empty'>No samples kept.</p>"
    low, high = values[0], max([values[-1], *(x.seconds for x in limits)])
    log = low > 0 and high / low > 50
    scale = _Scale(low, high, log=log)
    counts = [0] * BINS
    for value in values:
        counts[min(BINS - 1, int(scale.fraction(value) * BINS))] += 1
    top = max(counts)
    inner_w, inner_h = _WIDTH - 2 * _PAD, _HEIGHT - 2 * _PAD + 10
    bar_w = inner_w / BINS
    bars = []
    for index, count in enumerate(counts):
        if not count:
            continue
        h = max(1.0, inner_h * count / top)
        x = _PAD + index * bar_w
        bars.append(
            f"<rect class='bar' x='{x:.1f}' y='{_PAD + inner_h - h:.1f}' "
            f"width='{max(bar_w - 1, 1):.1f}' height='{h:.1f}'>"
            f"<title>{count} call{'s' if count != 1 else ''}</title></rect>"
        )
    lines = []
    for limit in limits:
        x = _PAD + scale.fraction(limit.seconds) * inner_w
        # The label sits on the side of the line with room for it.
        side = "end" if x > _WIDTH * 0.6 else "start"
        text_x = x - 3 if side == "end" else x + 3
        lines.append(
            f"<line class='limit' x1='{x:.1f}' x2='{x:.1f}' y1='{_PAD - 8}' "
            f"y2='{_PAD + inner_h}'/><text class='limit-label' x='{text_x:.1f}' "
            f"y='{_PAD - 10}' text-anchor='{side}'>{escape(limit.statistic)} limit "
            f"{format_duration(limit.seconds)}</text>"
        )
    axis = _axis(scale, inner_w, _PAD + inner_h)
    return (
        f"<svg class='plot distribution' viewBox='0 0 {_WIDTH} {_HEIGHT}' role='img' "
        f"aria-label='distribution of {escape(name)}'>{''.join(bars)}{axis}"
        f"{''.join(lines)}</svg>"
    )


def _trend_svg(trend: Trend, limits: Sequence[Limit]) -> str:
    """The median per run, the limit line, and steps up marked as regressions."""
    points = trend.points
    medians = [p.median for p in points]
    marks = [x.seconds for x in limits if x.statistic in ("max", "median")]
    high = max([*medians, *marks]) * 1.1
    inner_w, inner_h = _WIDTH - 2 * _PAD, _HEIGHT - 2 * _PAD
    step = inner_w / max(1, len(points) - 1)

    def x_of(i: int) -> float:
        return _PAD + (i * step if len(points) > 1 else inner_w / 2)

    def y_of(v: float) -> float:
        return _PAD + inner_h - inner_h * (v / high if high > 0 else 0)

    path = " ".join(f"{x_of(i):.1f},{y_of(v):.1f}" for i, v in enumerate(medians))
    shapes = [f"<polyline class='trend-line' points='{path}'/>"]
    for i, point in enumerate(points):
        window = medians[max(0, i - TREND_WINDOW) : i]
        before = sorted(window)[len(window) // 2] if window else None
        slower = before is not None and (
            point.median > before * (1 + trend.tolerance)
            and point.median - before > trend.noise_floor
        )
        run = "this run" if point.run is None else f"run {point.run}"
        tip = " · ".join(
            part
            for part in (
                run,
                point.label and f"label {point.label}",
                point.commit and f"commit {point.commit[:10]}",
                time.strftime("%Y-%m-%d %H:%M", time.gmtime(point.created)),
                f"median {format_duration(point.median)}",
                slower and "slower than the runs before",
            )
            if part
        )
        x, y = x_of(i), y_of(point.median)
        if slower:
            shape = (
                f"<path class='regression' d='M{x:.1f},{y - 6:.1f} l6,10 l-12,0 z'>"
                f"<title>{escape(tip)}</title></path>"
            )
        else:
            shape = (
                f"<circle class='point' cx='{x:.1f}' cy='{y:.1f}' r='3.5'>"
                f"<title>{escape(tip)}</title></circle>"
            )
        label = "now" if point.run is None else f"#{point.run}"
        if point.commit:
            label += f" {point.commit[:7]}"
        shapes.append(
            f"{shape}<text class='point-label' x='{x:.1f}' y='{_PAD + inner_h + 14}' "
            f"text-anchor='middle'>{escape(label)}</text>"
        )
    for limit in limits:
        if limit.statistic not in ("max", "median"):
            continue
        y = y_of(limit.seconds)
        shapes.append(
            f"<line class='limit' x1='{_PAD}' x2='{_PAD + inner_w}' y1='{y:.1f}' "
            f"y2='{y:.1f}'/><text class='limit-label' x='{_PAD + inner_w}' "
            f"y='{y - 3:.1f}' text-anchor='end'>"
            f"{escape(limit.statistic)} limit {format_duration(limit.seconds)}</text>"
        )
    top_label = (
        f"<text class='tick' x='2' y='{_PAD + 4}'>{format_duration(high)}</text>"
        f"<text class='tick' x='2' y='{_PAD + inner_h}'>0</text>"
    )
    return (
        f"<svg class='plot trend-plot' viewBox='0 0 {_WIDTH} {_HEIGHT}' role='img' "
        f"aria-label='trend of {escape(trend.name)}'>{top_label}{''.join(shapes)}</svg>"
    )


class _Scale:
    """Maps durations to 0..1, linearly or on a log scale for wide ranges."""

    def __init__(self, low: float, high: float, *, log: bool) -> None:
        self.log = log
        if log:
            self.low, self.high = math.log10(low), math.log10(high)
        else:
            self.low, self.high = 0.0, high if high > 0 else 1.0
        if self.high <= self.low:
            self.high = self.low + 1.0

    def fraction(self, value: float) -> float:
        if self.log:
            value = math.log10(max(value, 1e-12))
        return min(1.0, max(0.0, (value - self.low) / (self.high - self.low)))

    def value(self, fraction: float) -> float:
        value = self.low + fraction * (self.high - self.low)
        return 10**value if self.log else value


def _axis(scale: _Scale, inner_w: float, y: float) -> str:
    ticks = [
        f"<line class='axis' x1='{_PAD}' x2='{_PAD + inner_w}' y1='{y}' y2='{y}'/>"
    ]
    for i in range(5):
        fraction = i / 4
        x = _PAD + fraction * inner_w
        ticks.append(
            f"<text class='tick' x='{x:.1f}' y='{y + 14}' text-anchor='middle'>"
            f"{format_duration(scale.value(fraction))}</text>"
        )
    if scale.log:
        ticks.append(f"<text class='tick' x='{_PAD}' y='{_PAD - 20}'>log scale</text>")
    return "".join(ticks)


def _anchor(name: str) -> str:
    return "timer-" + "".join(c if c.isalnum() else f"-{ord(c):x}-" for c in name)


_DOCUMENT: Final = """<!DOCTYPE html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>{title}</title>
<style>{style}</style>
</head>
<body>
{body}
<script>{script}</script>
</body>
</html>
"""

_STYLE: Final = """
:root { --bad: #b42318; --bad-bg: #fef3f2; --good: #067647; --ink: #1d2939;
  --muted: #667085; --line: #d0d5dd; --bar: #5b8def; }
body { font: 14px/1.45 system-ui, -apple-system, "Segoe UI", sans-serif;
  color: var(--ink); margin: 24px auto; max-width: 1040px; padding: 0 16px; }
h1 { font-size: 22px; margin: 0; } h2 { font-size: 17px; margin: 28px 0 8px; }
h3 { font-size: 15px; margin: 0 0 6px; font-family: ui-monospace, monospace; }
.source, .hint, figcaption { color: var(--muted); }
.facts { display: grid; grid-template-columns: repeat(auto-fill, minmax(220px, 1fr));
  gap: 2px 16px; margin: 12px 0; }
.facts dt { color: var(--muted); float: left; margin-right: 6px; }
.facts dd { margin: 0; font-family: ui-monospace, monospace; overflow-wrap: anywhere; }
.cards { display: flex; flex-wrap: wrap; gap: 12px; margin: 16px 0; }
.card { border: 1px solid var(--line); border-radius: 8px; padding: 10px 16px;
  min-width: 140px; }
.card b { display: block; font-size: 24px; } .card span { color: var(--muted); }
.card.bad { border-color: var(--bad); background: var(--bad-bg); }
.card.bad b { color: var(--bad); }
.card.good b { color: var(--good); }
table { border-collapse: collapse; width: 100%; }
th, td { text-align: left; padding: 4px 8px; border-bottom: 1px solid var(--line);
  vertical-align: top; }
th { cursor: pointer; user-select: none; white-space: nowrap; }
th.asc::after { content: " \\25B2"; } th.desc::after { content: " \\25BC"; }
td.id { font-family: ui-monospace, monospace; overflow-wrap: anywhere; }
tr.over td { background: var(--bad-bg); }
tr.over td.status { color: var(--bad); font-weight: 700; }
.breaches { border: 2px solid var(--bad); border-radius: 8px; padding: 4px 12px 12px;
  background: var(--bad-bg); }
.breaches h2 { color: var(--bad); }
section.timer { border-top: 1px solid var(--line); padding: 12px 0; }
section.timer.over h3 { color: var(--bad); }
figure { margin: 6px 0 10px; }
svg.plot { width: 100%; max-width: 720px; height: auto; display: block; }
.bar { fill: var(--bar); } .axis { stroke: var(--muted); }
.tick, .point-label { font-size: 10px; fill: var(--muted); }
.limit { stroke: var(--bad); stroke-width: 1.5; stroke-dasharray: 5 3; }
.limit-label { font-size: 10px; fill: var(--bad); }
.trend-line { fill: none; stroke: var(--bar); stroke-width: 2; }
.point { fill: var(--bar); } .regression { fill: var(--bad); }
.empty { color: var(--muted); font-style: italic; }
"""

# Sorts a table by the clicked column: numbers by their data-sort value.
_SCRIPT: Final = """
document.querySelectorAll("table.sortable").forEach(function (table) {
  table.querySelectorAll("th").forEach(function (th, column) {
    th.addEventListener("click", function () {
      var numeric = th.dataset.type === "num";
      var ascending = !th.classList.contains("asc");
      table.querySelectorAll("th").forEach(function (other) {
        other.classList.remove("asc", "desc");
      });
      th.classList.add(ascending ? "asc" : "desc");
      var body = table.tBodies[0];
      var rows = Array.prototype.slice.call(body.rows);
      rows.sort(function (a, b) {
        var x = a.cells[column], y = b.cells[column];
        var p = x.dataset.sort !== undefined ? x.dataset.sort : x.textContent;
        var q = y.dataset.sort !== undefined ? y.dataset.sort : y.textContent;
        var order = numeric ? parseFloat(p) - parseFloat(q) : p.localeCompare(q);
        return ascending ? order : -order;
      });
      rows.forEach(function (row) { body.appendChild(row); });
    });
  });
});
"""
