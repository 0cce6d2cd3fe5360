from __future__ import annotations

import math

import pytest
from hypothesis import given
from hypothesis import strategies as st

from pytest_tracer._config import Limit
from pytest_tracer._render.printable import printable
from pytest_tracer._render.terminal import (
    breach_lines,
    comparison_lines,
    confirmation_lines,
    per_test_tables,
    report_table,
)
from pytest_tracer._results import Breach, Comparison, Confirmation, ReportLine
from pytest_tracer._stats import Accumulator, Summary


def summarize(values: list[float]) -> Summary:
    accumulator = Accumulator(cap=len(values))
    for value in values:
        accumulator.add(value)
    return accumulator.summary()


def limits(text: str) -> tuple[Limit, ...]:
    """``"max 20 ms"`` -> a Limit of 20 ms on max."""
    if not text:
        return ()
    statistic, number, unit = text.split()
    scale = {"ms": 1e-3, "s": 1.0}[unit]
    return (Limit(statistic, float(number) * scale, "pyproject.toml"),)


def line(
    name: str, values: list[float], limit: str = "", status: str = ""
) -> ReportLine:
    return ReportLine(name, summarize(values), limits(limit), status)


DB = line("db.query", [0.012, 0.0101, 0.025, 0.009], "max 20 ms", "OVER")
PAGE = line("template.render_page", [0.0031, 0.0029])
HTTP = line("http.get", [1.25], "p95 2 s", "ok")
ROWS = [DB, PAGE, HTTP]


def row(name: str, total: float, calls: int = 1) -> ReportLine:
    return line(name, [total / calls] * calls)


class TestTable:
    def test_a_wide_terminal_shows_every_column(self) -> None:
        """The format is pinned: numbers right-aligned, longest total first."""
        assert report_table(ROWS, width=100) == [
            "timer                 calls    total    mean   median      p95     max  limit      status",  # noqa: E501
            "http.get                  1   1.25 s  1.25 s   1.25 s   1.25 s  1.25 s  p95 2 s    ok",  # noqa: E501
            "db.query                  4  56.1 ms   14 ms  11.1 ms  23.1 ms   25 ms  max 20 ms  OVER",  # noqa: E501
            "template.render_page      2     6 ms    3 ms     3 ms   3.1 ms  3.1 ms",
        ]

    def test_limit_and_status_columns_appear_only_when_used(self) -> None:
        """Without limits the table ends at max."""
        assert report_table([PAGE], width=100) == [
            "timer                 calls  total  mean  median     p95     max",
            "template.render_page      2   6 ms  3 ms    3 ms  3.1 ms  3.1 ms",
        ]
        checked = line("x", [1.0], status="ok")
        assert report_table([PAGE, checked], width=100)[0].endswith("max  status")

    def test_tests_with_different_limits_say_so(self) -> None:
        """A name whose limits differ between tests (markers) shows no one limit."""
        varied = ReportLine("db", summarize([1.0]), (), "OVER 1/3", limit_sets=2)
        assert report_table([varied], width=100)[1].endswith(
            "varies (2 sets)  OVER 1/3"
        )

    def test_no_rows_render_no_lines(self) -> None:
        """The caller decides what to say when nothing was timed."""
        assert report_table([], width=80) == []

    def test_ties_in_total_are_ordered_by_name(self) -> None:
        """Equal totals keep a stable, alphabetical order."""
        lines = report_table([row("b", 1.0), row("c", 2.0), row("a", 1.0)], width=80)
        assert [line.split()[0] for line in lines] == ["timer", "c", "a", "b"]

    def test_max_rows_shows_the_longest_and_counts_the_rest(self) -> None:
        """The last line says how many timers were left out and how to see them."""
        rows = [row(f"t{index}", float(index)) for index in range(1, 15)]
        lines = report_table(rows, width=100, max_rows=2)
        assert [line.split()[0] for line in lines[1:3]] == ["t14", "t13"]
        assert lines[3] == (
            "... 12 more timers not shown (use --timer-report-rows=0 to see all)"
        )
        assert len(lines) == 4

    def test_one_hidden_timer_is_singular(self) -> None:
        """'1 more timer', not '1 more timers'."""
        lines = report_table(ROWS, width=100, max_rows=2)
        assert lines[-1] == (
            "... 1 more timer not shown (use --timer-report-rows=0 to see all)"
        )

    @pytest.mark.parametrize(
        ("width", "headers"),
        [
            (89, "timer calls total mean median p95 max limit status"),
            (81, "timer calls total median p95 max limit status"),
            (80, "timer calls total median max limit status"),
            (63, "timer calls total median max status"),
            (56, "timer calls total max status"),
        ],
    )
    def test_columns_are_dropped_in_order_as_the_terminal_narrows(
        self, width: int, headers: str
    ) -> None:
        """mean goes first, then p95, limit and median; status stays."""
        lines = report_table(ROWS, width=width)
        assert lines[0].split() == headers.split()
        assert max(map(len, lines)) <= width

    def test_names_that_share_a_long_start_print_whole_at_80_columns(self) -> None:
        """Names are what users grep for: never cut, never confused."""
        rows = [
            line("unthresholded_step", [0.001], "max 20 ms", "ok"),
            line("payments.gateway.authorize_card", [0.002], "max 20 ms", "ok"),
            line("payments.gateway.authorize_bank", [0.003], "max 20 ms", "OVER"),
        ]
        lines = report_table(rows, width=80)
        text = "\n".join(lines)
        for expected in rows:
            assert expected.name in text
        assert "…" not in text
        assert max(map(len, lines)) <= 80

    def test_a_name_too_long_for_its_numbers_gets_a_line_of_its_own(self) -> None:
        """Columns go first; then a long name heads its row, the others stay."""
        long_name = "service.module.submodule.function_with_a_long_name_" * 2
        rows = [line(long_name, [0.5], "max 1 s", "ok"), HTTP]
        assert report_table(rows, width=60) == [
            "timer     calls   total  median     max  limit    status",
            "http.get      1  1.25 s  1.25 s  1.25 s  p95 2 s  ok",
            long_name,
            "              1  500 ms  500 ms  500 ms  max 1 s  ok",
        ]

    def test_unprintable_characters_in_names_cannot_break_lines(self) -> None:
        """A newline in a timer name stays on its row."""
        lines = report_table([row("a\nb\tc", 1.0)], width=80)
        assert lines[1].startswith("a\ufffdb\ufffdc ")
        assert len(lines) == 2

    @given(
        st.lists(
            st.tuples(
                st.text(max_size=30),
                st.floats(min_value=1e-9, max_value=1e5),
                st.integers(min_value=1, max_value=3),
                st.sampled_from(["", "max 20 ms", "p95 1.5 s"]),
                st.sampled_from(["", "ok", "OVER"]),
            ),
            min_size=1,
            max_size=6,
        ),
        st.integers(min_value=50, max_value=200),
        st.integers(min_value=0, max_value=4),
    )
    def test_every_name_prints_whole_and_numbers_fit(
        self,
        specs: list[tuple[str, float, int, str, str]],
        width: int,
        max_rows: int,
    ) -> None:
        """Whatever the names: each shown name whole, every other line fits."""
        rows = [
            line(name, [total / calls] * calls, limit, status)
            for name, total, calls, limit, status in specs
        ]
        lines = report_table(rows, width=width, max_rows=max_rows)
        assert all("\n" not in text for text in lines)
        ordered = sorted(rows, key=lambda r: (-r.summary.total, r.name))
        names = [printable(r.name) for r in ordered[: max_rows or None]]
        for name in names:
            assert any(text.startswith(name) for text in lines)
        for text in lines:
            # Only a name longer than the terminal overflows, on its own line.
            assert len(text) <= width or text in names or text.startswith("... ")

    @pytest.mark.parametrize(
        ("options", "message"),
        [
            ({"width": 0}, "width: expected a positive number of columns, got 0"),
            (
                {"width": 80, "max_rows": -1},
                "max_rows: expected 0 (all) or a positive number, got -1",
            ),
        ],
    )
    def test_out_of_range_options_are_refused(
        self, options: dict[str, int], message: str
    ) -> None:
        """The message names the option and quotes the value."""
        with pytest.raises(ValueError, match="expected") as caught:
            report_table(ROWS, **options)
        assert str(caught.value) == message
        with pytest.raises(ValueError, match="expected"):
            per_test_tables([("t", ROWS)], **options)
        with pytest.raises(ValueError, match="expected"):
            comparison_lines(
                [], width=options["width"], max_rows=options.get("max_rows", 0)
            )


class TestPerTest:
    def test_each_test_heads_its_indented_timers(self) -> None:
        """The format is pinned; columns line up across tests."""
        lines = per_test_tables(
            [
                ("tests/test_app.py::test_home", [DB, PAGE]),
                ("tests/test_app.py::test_api", [HTTP]),
            ],
            width=100,
        )
        assert lines == [
            "  timer                 calls    total    mean   median      p95     max  limit      status",  # noqa: E501
            "tests/test_app.py::test_api",
            "  http.get                  1   1.25 s  1.25 s   1.25 s   1.25 s  1.25 s  p95 2 s    ok",  # noqa: E501
            "tests/test_app.py::test_home",
            "  db.query                  4  56.1 ms   14 ms  11.1 ms  23.1 ms   25 ms  max 20 ms  OVER",  # noqa: E501
            "  template.render_page      2     6 ms    3 ms     3 ms   3.1 ms  3.1 ms",
        ]

    def test_tests_are_ordered_by_the_sum_of_their_totals(self) -> None:
        """Ties go by test id; tests without timers are left out."""
        lines = per_test_tables(
            [
                ("t_b", [row("x", 1.0), row("y", 1.0)]),
                ("t_c", [row("x", 3.0)]),
                ("t_a", [row("x", 2.0)]),
                ("t_empty", []),
            ],
            width=60,
        )
        assert [line for line in lines if line.startswith("t_")] == [
            "t_c",
            "t_a",
            "t_b",
        ]

    def test_max_rows_limits_the_tests_and_the_timers_of_each(self) -> None:
        """Both hidden timers and hidden tests are counted."""
        tests = [
            (f"test_{index}", [row(f"t{n}", float(index + n)) for n in range(3)])
            for index in range(4)
        ]
        assert per_test_tables(tests, width=80, max_rows=2) == [
            "  timer  calls  total  mean  median  p95  max",
            "test_3",
            "  t2         1    5 s   5 s     5 s  5 s  5 s",
            "  t1         1    4 s   4 s     4 s  4 s  4 s",
            "  ... 1 more timer not shown (use --timer-report-rows=0 to see all)",
            "test_2",
            "  t2         1    4 s   4 s     4 s  4 s  4 s",
            "  t1         1    3 s   3 s     3 s  3 s  3 s",
            "  ... 1 more timer not shown (use --timer-report-rows=0 to see all)",
            "... 2 more tests not shown (use --timer-report-rows=0 to see all)",
        ]

    def test_long_test_ids_print_whole(self) -> None:
        """A test id is grepped for as much as a timer name."""
        test_id = "tests/deeply/nested/test_module.py::test_case[param]"
        lines = per_test_tables([(test_id, [HTTP])], width=40)
        assert test_id in lines

    def test_no_tests_render_no_lines(self) -> None:
        """Nothing timed, nothing shown."""
        assert per_test_tables([("t", [])], width=80) == []


def comparison(name: str, verdict: str, base: float, now: float) -> Comparison:
    return Comparison(
        name,
        verdict,  # type: ignore[arg-type]
        base,
        now,
        (now - base) / base,
        f"median {base} -> {now}",
        "run 1",
        "defaults",
    )


class TestComparison:
    def test_each_compared_row_shows_test_timer_medians_and_change(self) -> None:
        """The format is pinned, slower rows first, then the counts."""
        lines = comparison_lines(
            [
                ("t.py::test_a", comparison("parse", "unchanged", 0.002, 0.00201)),
                ("t.py::test_b", comparison("db", "slower", 0.001, 0.002)),
            ],
            width=80,
        )
        assert lines == [
            "verdict     change  baseline   now  test  timer",
            "SLOWER     +100.0%      1 ms  2 ms  t.py::test_b  db",
            "UNCHANGED    +0.5%      2 ms  2 ms  t.py::test_a  parse",
            "1 slower, 1 unchanged",
        ]

    def test_long_test_ids_go_on_their_own_line(self) -> None:
        """Names are never cut: too long for the row, they head it."""
        test_id = "tests/integration/payments/test_gateway.py::test_authorize[visa]"
        lines = comparison_lines(
            [(test_id, comparison("gateway.authorize", "faster", 0.01, 0.005))],
            width=80,
        )
        assert lines[1] == f"{test_id}  gateway.authorize"
        assert lines[2].startswith("  FASTER")
        assert all(len(text) <= 80 for text in lines if text != lines[1])

    def test_unchanged_rows_are_limited_but_changes_never(self) -> None:
        """max_rows hides unchanged rows only, and says how many."""
        rows = [("t", comparison(f"u{i}", "unchanged", 1.0, 1.0)) for i in range(5)]
        rows.append(("t", comparison("s", "slower", 1.0, 2.0)))
        lines = comparison_lines(rows, width=80, max_rows=2)
        assert [text.split()[0] for text in lines[1:4]] == [
            "SLOWER",
            "UNCHANGED",
            "UNCHANGED",
        ]
        assert lines[4].startswith("... 3 more unchanged comparisons not shown")
        assert lines[5] == "1 slower, 5 unchanged"

    def test_detail_adds_the_evidence(self) -> None:
        """--timer-report shows what the verdict rests on."""
        lines = comparison_lines(
            [("t", comparison("db", "unchanged", 1.0, 1.0))], width=80, detail=True
        )
        assert lines[2] == "  median 1.0 -> 1.0"

    def test_a_side_without_samples_has_no_change(self) -> None:
        """NaN is never printed."""
        nan = Comparison("x", "insufficient", math.nan, 1.0, math.nan, "", "b", "s")
        assert "nan" not in "\n".join(comparison_lines([("t", nan)], width=80))

    def test_nothing_compared_says_so(self) -> None:
        """No silent empty section."""
        assert comparison_lines([], width=80) == [
            "no timer of this run was in the baseline"
        ]


def test_breach_lines_name_the_test_and_mark_unenforced_ones() -> None:
    """One line each, with the message the failing test shows."""
    limit = Limit("max", 0.005, "pyproject.toml")
    breaches = [
        ("t::a", Breach("render", "max", 0.02, 1, limit)),
        ("t::b", Breach("render", "max", 0.02, 2, limit, enforced=False)),
    ]
    assert breach_lines(breaches) == [
        "t::a: timer 'render' took 20 ms (max of 1 call), over its limit of 5 ms "
        "(pyproject.toml)",
        "(not enforced) t::b: timer 'render' took 20 ms (max of 2 calls), over its "
        "limit of 5 ms (pyproject.toml)",
    ]


def test_confirmation_lines_say_whether_the_breach_held() -> None:
    """Re-runs are reported with their count and outcome."""
    assert confirmation_lines(
        [
            Confirmation("t::a", 3, passed=True),
            Confirmation("t::b", 2, passed=False, held=True),
            Confirmation("t::c", 2, passed=False, held=False),
        ]
    ) == [
        "t::a: 3 runs, the breach did not hold",
        "t::b: 2 runs, the breach held every time",
        "t::c: 2 runs, the breach did not hold on the last run, which failed for"
        " another reason",
    ]
