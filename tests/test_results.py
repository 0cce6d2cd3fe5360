from __future__ import annotations

import json
import math

import pytest

from pytest_tracer._config import Limit
from pytest_tracer._results import (
    SCHEMA_VERSION,
    SESSION,
    Breach,
    Comparison,
    PhaseResult,
    ResultError,
    RunResults,
    TimerResult,
)
from pytest_tracer._stats import Accumulator

LIMIT = Limit("max", 0.005, "pyproject.toml [tool.pytest-tracer.thresholds] db")
LOOSE = Limit("max", 5.0, "@pytest.mark.timer_thresholds(db=...) on t::b")


def stats(*values: float) -> Accumulator:
    accumulator = Accumulator()
    for value in values:
        accumulator.add(value)
    return accumulator


def result(
    test_id: str,
    *values: float,
    limit: Limit = LIMIT,
    breached: bool = False,
) -> PhaseResult:
    accumulator = stats(*values)
    breaches = (
        (Breach("db", "max", accumulator.max, accumulator.count, limit),)
        if breached
        else ()
    )
    return PhaseResult(
        test_id, "call", (TimerResult("db", accumulator, (limit,)),), breaches
    )


class TestBuiltins:
    def test_a_phase_result_survives_json_as_the_same_types(self) -> None:
        """What a worker sends is rebuilt field for field on the controller."""
        comparison = Comparison(
            "db", "slower", 0.001, 0.002, 1.0, "median 1 ms -> 2 ms", "run 3", "x"
        )
        original = PhaseResult(
            "t.py::test_a",
            "call",
            (TimerResult("db", stats(0.001, 0.002), (LIMIT,)),),
            (Breach("db", "max", 0.006, 2, LIMIT, enforced=False),),
            (comparison,),
            failed_on_timings=True,
        )
        rebuilt = PhaseResult.from_builtins(
            json.loads(json.dumps(original.to_builtins()))
        )
        assert rebuilt.test_id == original.test_id
        assert rebuilt.phase == "call"
        assert rebuilt.breaches == original.breaches
        assert rebuilt.comparisons == original.comparisons
        assert rebuilt.failed_on_timings
        (timer,) = rebuilt.timers
        assert (timer.name, timer.limits) == ("db", (LIMIT,))
        assert timer.stats.summary() == original.timers[0].stats.summary()

    def test_limits_both_ends_read_alike_are_left_out_and_filled_in(self) -> None:
        """A worker that reads the controller's pyproject does not send its
        limits; a marker's limits, which only the worker knows, are sent."""
        pyproject = (LIMIT,)
        shared = {"db": pyproject, "api": pyproject}.__getitem__
        original = PhaseResult(
            "t",
            "call",
            (
                TimerResult("db", stats(0.001), pyproject),
                TimerResult("api", stats(0.002), (LOOSE,)),
            ),
        )
        data = json.loads(json.dumps(original.to_builtins(shared)))
        assert [limits for _, _, limits in data["timers"]] == [None, [list(LOOSE)]]
        rebuilt = PhaseResult.from_builtins(data, shared)
        assert [t.limits for t in rebuilt.timers] == [pyproject, (LOOSE,)]
        with pytest.raises(ResultError, match="limits: expected a list, got None"):
            PhaseResult.from_builtins(data)

    def test_an_infinite_change_survives_too(self) -> None:
        """Growth from a zero baseline is infinite, and stays so."""
        comparison = Comparison("db", "slower", 0.0, 1.0, math.inf, "e", "b", "s")
        data = PhaseResult("t", "call", comparisons=(comparison,)).to_builtins()
        assert PhaseResult.from_builtins(data).comparisons == (comparison,)

    def test_another_schema_version_is_refused_with_advice(self) -> None:
        """Controller and workers must run the same pytest-tracer."""
        data = PhaseResult("t", "call").to_builtins()
        data["version"] = SCHEMA_VERSION + 1
        with pytest.raises(ResultError, match="use the same pytest-tracer version"):
            PhaseResult.from_builtins(data)

    @pytest.mark.parametrize(
        ("key", "value"),
        [
            ("timers", [["db", {"count": "many"}, []]]),
            ("breaches", [["db", "max"]]),
            ("comparisons", [["db", "worse", 1, 1, 0, "", "", "", True]]),
            ("test", 7),
            ("phase", None),
        ],
    )
    def test_damaged_payloads_raise_one_error_type(
        self, key: str, value: object
    ) -> None:
        """Whatever is damaged, the reader gets a ResultError, not a crash."""
        data = result("t", 0.001).to_builtins()
        data[key] = value
        with pytest.raises(ResultError):
            PhaseResult.from_builtins(data)


class TestRunResults:
    def test_status_is_per_test_and_counted_over_tests(self) -> None:
        """One test of two broke the limit: OVER there, ok in the other."""
        results = RunResults()
        results.add(result("t::a", 0.006, breached=True))
        results.add(result("t::b", 0.006, limit=LOOSE))
        assert results.status("db", "t::a") == "OVER"
        assert results.status("db", "t::b") == "ok"
        assert results.status("db") == "OVER 1/2"
        assert results.status("db", "t::unknown") == ""
        (line,) = results.lines()
        assert line.limit_text == "varies (2 sets)"
        per_test = dict(results.test_lines())
        assert [row.limit_text for row in per_test["t::b"]] == ["max 5 s"]

    def test_names_without_limits_have_no_status(self) -> None:
        """Nothing checked, nothing to say."""
        results = RunResults()
        results.add(PhaseResult("t::a", "call", (TimerResult("free", stats(1.0)),)))
        (line,) = results.lines()
        assert (line.status, line.limit_text) == ("", "")

    def test_phases_of_a_test_merge_and_tables_are_independent(self) -> None:
        """Setup and call add up; the results own copies of what they got."""
        results = RunResults()
        setup = result("t::a", 0.001)
        results.add(setup)
        results.add(result("t::a", 0.002))
        setup.timers[0].stats.add(9.0)
        assert results.by_name["db"].count == 2
        assert results.by_test["t::a"].timers["db"].max == 0.002

    @pytest.mark.parametrize("seed", range(4))
    def test_merging_by_name_in_batches_equals_merging_each_test_in_turn(
        self, seed: int
    ) -> None:
        """Tests that kept every value wait to be merged a batch at a time;
        one that dropped values (over the cap) is merged where it comes."""
        import random

        draw = random.Random(seed)
        results = RunResults(keep_per_test=False)
        expected: Accumulator | None = None
        for index in range(1500):
            stats = Accumulator()
            count = 1 if draw.random() < 0.9 else draw.choice([3, 1100])
            for _ in range(count):
                stats.add(draw.random())
            results.add(PhaseResult(f"t::{index}", "call", (TimerResult("db", stats),)))
            if expected is None:
                expected = stats.copy()
            else:
                expected.merge(stats)
            if index in (10, 700):  # reading merges what waits
                assert results.by_name["db"].count == expected.count
        assert expected is not None
        assert results.by_name["db"].to_builtins() == expected.to_builtins()

    def test_per_test_tables_can_be_skipped_but_never_the_sessions(self) -> None:
        """Memory stays flat over thousands of tests unless a table is needed."""
        results = RunResults(keep_per_test=False)
        results.add(result("t::a", 0.001))
        results.add(result(SESSION, 0.001))
        assert list(results.by_test) == [SESSION]
        assert results.by_name["db"].count == 2

    def test_without_a_report_nothing_is_merged_by_name_but_statuses_hold(
        self,
    ) -> None:
        """The by-name table costs a merge per timing: only the report needs it."""
        results = RunResults(keep_per_test=True, keep_by_name=False)
        results.add(result("t::a", 0.006, breached=True))
        results.add(result("t::b", 0.001))
        assert results.by_name == {}
        assert results.status("db") == "OVER 1/2"
        assert results.status("db", "t::b") == "ok"

    def test_keeping_neither_keeps_what_the_run_still_needs(self) -> None:
        """Without tables, the names, the checked names and the breaches stay."""
        results = RunResults(keep_per_test=False, keep_by_name=False)
        results.add(result("t::a", 0.006, breached=True))
        results.add(result("t::b", 0.001))
        assert results.by_name == {}
        assert results.by_test == {}
        assert results.names == {"db"}
        assert results.checked_names == {"db"}
        assert [(test, b.name) for test, b in results.breaches] == [("t::a", "db")]

    @pytest.mark.parametrize("keep_by_name", [True, False])
    def test_held_timings_taken_as_lists_equal_their_results(
        self, keep_by_name: bool
    ) -> None:
        """A body that broke no limit is taken without its records; the run's
        tables, names and statuses are the same as if its result was added."""
        import random

        draw = random.Random(7)
        held = RunResults(keep_per_test=False, keep_by_name=keep_by_name)
        added = RunResults(keep_per_test=False, keep_by_name=keep_by_name)
        loose = (LOOSE,)
        for index in range(600):
            test_id = f"t::{index}"
            timers = [
                ("db", [draw.random() for _ in range(draw.choice([1, 3]))], (LIMIT,)),
                ("free", [draw.random()], ()),
            ]
            if index % 100 == 5:  # a marker's limits, another tuple
                timers.append(("marked", [0.001], loose))
            assert held.add_held(test_id, timers)
            added.add(
                PhaseResult(
                    test_id,
                    "call",
                    tuple(
                        TimerResult(name, Accumulator.of(values), limits)
                        for name, values, limits in timers
                    ),
                )
            )
        assert held.names == added.names == {"db", "free", "marked"}
        assert held.checked_names == added.checked_names == {"db", "marked"}
        assert held.timed_tests == added.timed_tests
        assert {n: a.to_builtins() for n, a in held.by_name.items()} == {
            n: a.to_builtins() for n, a in added.by_name.items()
        }
        assert held.lines() == added.lines()
        assert held.status("db", "t::3") == added.status("db", "t::3")

    def test_held_timings_need_their_result_where_tables_keep_it(self) -> None:
        """Per-test tables, or more values than an accumulator keeps: the
        caller makes the result instead, and nothing was taken."""
        per_test = RunResults(keep_per_test=True)
        assert not per_test.add_held("t::a", [("db", [0.001], (LIMIT,))])
        many = RunResults(keep_per_test=False)
        assert not many.add_held("t::a", [("db", [0.001] * 5000, (LIMIT,))])
        assert per_test.names == many.names == set()

    def test_session_breaches_are_told_apart(self) -> None:
        """A breach outside any test is the run's, not a test's."""
        results = RunResults()
        results.add(result(SESSION, 0.006, breached=True))
        results.add(result("t::a", 0.006, breached=True))
        assert [b.name for b in results.session_breaches] == ["db"]
        assert len(results.breaches) == 2
