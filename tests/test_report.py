from __future__ import annotations

import json

import pytest
from hypothesis import given
from hypothesis import strategies as st

from pytest_tracer._report import (
    JSON_SCHEMA_VERSION,
    ReportRow,
    render_json,
    render_markdown,
    render_per_test,
    render_table,
    to_json_dict,
)
from pytest_tracer._stats import summarize

DB = ReportRow(
    "db.query", summarize([0.012, 0.0101, 0.025, 0.009]), "max 20 ms", "OVER"
)
PAGE = ReportRow("template.render_page", summarize([0.0031, 0.0029]))
HTTP = ReportRow("http.get", summarize([1.25]), "p95 2 s", "ok")
ROWS = [DB, PAGE, HTTP]


def row(name: str, total: float, calls: int = 1) -> ReportRow:
    return ReportRow(name, summarize([total / calls] * calls))


class TestTable:
    def test_a_wide_terminal_shows_every_column(self) -> None:
        """The format is pinned: numbers right-aligned, longest total first."""
        assert render_table(ROWS, width=100) == [
            "timer                 calls    total    mean   median      p95     max  limit      status",  # noqa: E501
            "http.get                  1   1.25 s  1.25 s   1.25 s   1.25 s  1.25 s  p95 2 s    ok",  # noqa: E501
            "db.query                  4  56.1 ms   14 ms  11.1 ms  23.1 ms   25 ms  max 20 ms  OVER",  # noqa: E501
            "template.render_page      2     6 ms    3 ms     3 ms   3.1 ms  3.1 ms",
        ]

    def test_limit_and_status_columns_appear_only_when_used(self) -> None:
        """Without limits the table ends at max."""
        assert render_table([PAGE], width=100) == [
            "timer                 calls  total  mean  median     p95     max",
            "template.render_page      2   6 ms  3 ms    3 ms  3.1 ms  3.1 ms",
        ]
        checked = ReportRow("x", summarize([1.0]), status="ok")
        assert render_table([PAGE, checked], width=100)[0].endswith("max  status")

    def test_no_rows_render_no_lines(self) -> None:
        """The caller decides what to say when nothing was timed."""
        assert render_table([], width=80) == []

    def test_ties_in_total_are_ordered_by_name(self) -> None:
        """Equal totals keep a stable, alphabetical order."""
        lines = render_table([row("b", 1.0), row("c", 2.0), row("a", 1.0)], width=80)
        assert [line.split()[0] for line in lines] == ["timer", "c", "a", "b"]

    def test_max_rows_shows_the_longest_and_counts_the_rest(self) -> None:
        """The last line says how many timers were left out and how to see them."""
        rows = [row(f"t{index}", float(index)) for index in range(1, 15)]
        lines = render_table(rows, width=100, max_rows=2)
        assert [line.split()[0] for line in lines[1:3]] == ["t14", "t13"]
        assert lines[3] == (
            "... 12 more timers not shown (use --timer-report-rows=0 to see all)"
        )
        assert len(lines) == 4

    def test_one_hidden_timer_is_singular(self) -> None:
        """'1 more timer', not '1 more timers'."""
        lines = render_table(ROWS, width=100, max_rows=2)
        assert lines[-1] == (
            "... 1 more timer not shown (use --timer-report-rows=0 to see all)"
        )

    def test_max_rows_at_least_the_row_count_shows_everything(self) -> None:
        """No 'more timers' line when nothing is hidden."""
        assert render_table(ROWS, width=100, max_rows=3) == render_table(
            ROWS, width=100
        )

    @pytest.mark.parametrize(
        ("width", "headers"),
        [
            (89, "timer calls total mean median p95 max limit status"),
            (80, "timer calls total median p95 max limit status"),
            (71, "timer calls total median max limit status"),
            (63, "timer calls total median max status"),
            (54, "timer calls total median max status"),
        ],
    )
    def test_columns_are_dropped_in_order_as_the_terminal_narrows(
        self, width: int, headers: str
    ) -> None:
        """p95 goes first, then mean, median and limit; status stays."""
        lines = render_table(ROWS, width=width)
        assert lines[0].split() == headers.split()
        assert max(map(len, lines)) <= width

    def test_long_names_are_cut_with_an_ellipsis(self) -> None:
        """Long names are cut with an ellipsis, keeping their start."""
        assert render_table(ROWS, width=56) == [
            "timer            calls    total   median     max  status",
            "http.get             1   1.25 s   1.25 s  1.25 s  ok",
            "db.query             4  56.1 ms  11.1 ms   25 ms  OVER",
            "template.rende…      2     6 ms     3 ms  3.1 ms",
        ]

    def test_a_very_narrow_terminal_shortens_names_below_twelve_to_keep_the_status(
        self,
    ) -> None:
        """Once nothing else can go, the status beats the name."""
        assert render_table(ROWS, width=40) == [
            "timer     calls    total     max  status",
            "http.get      1   1.25 s  1.25 s  ok",
            "db.query      4  56.1 ms   25 ms  OVER",
            "templat…      2     6 ms  3.1 ms",
        ]

    def test_lines_are_clipped_when_nothing_else_helps(self) -> None:
        """Even absurd widths never get a longer line."""
        assert render_table(ROWS, width=10) == [
            "…  calls …",
            "…      1 …",
            "…      4 …",
            "…      2 …",
        ]

    def test_unprintable_characters_in_names_cannot_break_lines(self) -> None:
        """A newline in a timer name stays on its row."""
        lines = render_table([row("a\nb\tc", 1.0)], width=80)
        assert lines[1].startswith("a\ufffdb\ufffdc ")
        assert len(lines) == 2

    @given(
        st.lists(
            st.tuples(
                st.text(max_size=80),
                st.floats(min_value=1e-9, max_value=1e5),
                st.integers(min_value=1, max_value=3),
                st.sampled_from(["", "max 20 ms", "p95 1.5 s"]),
                st.sampled_from(["", "ok", "OVER"]),
            ),
            min_size=1,
            max_size=6,
        ),
        st.integers(min_value=40, max_value=200),
        st.integers(min_value=0, max_value=4),
    )
    def test_no_line_is_ever_wider_than_the_terminal(
        self,
        specs: list[tuple[str, float, int, str, str]],
        width: int,
        max_rows: int,
    ) -> None:
        """Whatever the names and numbers, every line fits the width."""
        rows = [
            ReportRow(name, summarize([total / calls] * calls), limit, status)
            for name, total, calls, limit, status in specs
        ]
        lines = render_table(rows, width=width, max_rows=max_rows)
        assert all(len(line) <= width for line in lines)
        assert all("\n" not in line for line in lines)
        shown = min(len(rows), max_rows or len(rows))
        assert len(lines) == 1 + shown + (shown < len(rows))
        per_test = render_per_test(
            [(name * 3, rows) for name, *_ in specs], width=width, max_rows=max_rows
        )
        assert all(len(line) <= width for line in per_test)

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
            render_table(ROWS, **options)
        assert str(caught.value) == message
        with pytest.raises(ValueError, match="expected"):
            render_per_test([("t", ROWS)], **options)


class TestPerTest:
    def test_each_test_heads_its_indented_timers(self) -> None:
        """The format is pinned; columns line up across tests."""
        lines = render_per_test(
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
        lines = render_per_test(
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
        assert render_per_test(tests, width=80, max_rows=2) == [
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

    def test_long_test_ids_keep_their_end(self) -> None:
        """The test function and parameters matter more than the path."""
        test_id = "tests/deeply/nested/test_module.py::test_case[param]"
        lines = render_per_test([(test_id, [HTTP])], width=40)
        assert lines[1] == "…nested/test_module.py::test_case[param]"
        assert len(lines[1]) == 40

    def test_no_tests_render_no_lines(self) -> None:
        """Nothing timed, nothing shown."""
        assert render_per_test([("t", [])], width=80) == []


class TestMarkdown:
    def test_a_markdown_table_has_every_column(self) -> None:
        """The format is pinned: GitHub alignment row, same order as the table."""
        assert render_markdown(ROWS) == (
            "| timer | calls | total | mean | median | p95 | max | limit | status |\n"
            "| :--- | ---: | ---: | ---: | ---: | ---: | ---: | :--- | :--- |\n"
            "| http.get | 1 | 1.25 s | 1.25 s | 1.25 s | 1.25 s | 1.25 s | p95 2 s | ok |\n"  # noqa: E501
            "| db.query | 4 | 56.1 ms | 14 ms | 11.1 ms | 23.1 ms | 25 ms | max 20 ms | OVER |\n"  # noqa: E501
            "| template.render_page | 2 | 6 ms | 3 ms | 3 ms | 3.1 ms | 3.1 ms |  |  |\n"  # noqa: E501
        )

    def test_pipes_in_names_are_escaped(self) -> None:
        """A '|' in a name does not split the cell."""
        assert "| a\\|b | 1 |" in render_markdown([row("a|b", 1.0)])


class TestJson:
    def test_the_json_report_has_a_schema_version_and_seconds(self) -> None:
        """Durations are plain seconds, timers in table order."""
        data = to_json_dict([PAGE, HTTP])
        assert data == {
            "schema_version": JSON_SCHEMA_VERSION,
            "timers": [
                {
                    "name": "http.get",
                    "calls": 1,
                    "total_s": 1.25,
                    "mean_s": 1.25,
                    "median_s": 1.25,
                    "p95_s": 1.25,
                    "max_s": 1.25,
                    "limit": "p95 2 s",
                    "status": "ok",
                },
                {
                    "name": "template.render_page",
                    "calls": 2,
                    "total_s": pytest.approx(0.006),
                    "mean_s": pytest.approx(0.003),
                    "median_s": pytest.approx(0.003),
                    "p95_s": pytest.approx(0.00309),
                    "max_s": 0.0031,
                    "limit": "",
                    "status": "",
                },
            ],
        }
        assert JSON_SCHEMA_VERSION == 1

    def test_render_json_is_the_dict_as_text(self) -> None:
        """The text parses back to the same dict."""
        text = render_json(ROWS)
        assert text.endswith("}\n")
        assert json.loads(text) == to_json_dict(ROWS)
