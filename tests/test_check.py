from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st

from pytest_tracer._check import SummaryLike, find_breaches
from pytest_tracer._config import Limit, Thresholds, load_config
from pytest_tracer._results import Breach

SOURCE = "pyproject.toml [tool.pytest-tracer.thresholds] slow_op"


@dataclass(frozen=True)
class Summary:
    count: int
    values: Mapping[str, float] = field(default_factory=dict)

    def get(self, statistic: str) -> float:
        return self.values[statistic]

    @property
    def max(self) -> float:
        # Unknown: no statistic can be ruled out without reading it.
        return self.values.get("max", math.inf)


def summary(count: int = 1, **values: float) -> SummaryLike:
    return Summary(count, values)


def thresholds(**entries: object) -> Thresholds:
    return Thresholds().with_overrides(entries, "test")


class TestBreachMessage:
    def test_one_call_reads_in_the_singular(self) -> None:
        """The message names the timer, both values and where the limit is set."""
        breach = Breach("slow_op", "max", 0.1013, 1, Limit("max", 0.020, SOURCE))
        assert breach.message == (
            "timer 'slow_op' took 101.3 ms (max of 1 call), over its limit of "
            "20 ms (pyproject.toml [tool.pytest-tracer.thresholds] slow_op)"
        )

    def test_several_calls_read_in_the_plural(self) -> None:
        """The statistic and the number of calls it covers are both shown."""
        breach = Breach("db_query", "median", 1.5, 12, Limit("median", 0.25, "here"))
        assert breach.message == (
            "timer 'db_query' took 1.5 s (median of 12 calls), over its limit of "
            "250 ms (here)"
        )


class TestFindBreaches:
    def test_a_value_over_its_limit_is_a_breach(self) -> None:
        """The breach carries everything the message needs."""
        limits = thresholds(slow_op=20)
        breaches = find_breaches({"slow_op": summary(max=0.1013)}, limits)
        assert breaches == [
            Breach("slow_op", "max", 0.1013, 1, limits.limits_for("slow_op")[0])
        ]

    def test_a_value_equal_to_its_limit_is_not_a_breach(self) -> None:
        """The limit itself is allowed."""
        limits = thresholds(op="1s")
        assert find_breaches({"op": summary(max=1.0)}, limits) == []
        assert len(find_breaches({"op": summary(max=1.000001)}, limits)) == 1

    def test_a_value_under_its_limit_is_not_a_breach(self) -> None:
        """Fast timers pass."""
        assert find_breaches({"op": summary(max=0.001)}, thresholds(op=20)) == []

    def test_each_limited_statistic_is_checked_in_the_order_written(self) -> None:
        """Several limits of one timer can all be breached."""
        limits = thresholds(op={"p95": 10, "median": 5, "max": 1000})
        breaches = find_breaches(
            {"op": summary(count=20, p95=0.02, median=0.006, max=0.5)}, limits
        )
        assert [(b.statistic, b.measured, b.calls) for b in breaches] == [
            ("p95", 0.02, 20),
            ("median", 0.006, 20),
        ]

    def test_breaches_come_in_name_order(self) -> None:
        """The order of the summaries does not matter."""
        limits = thresholds(**{"*": 1})
        summaries = {name: summary(max=1.0) for name in ["b", "c", "a"]}
        assert [b.name for b in find_breaches(summaries, limits)] == ["a", "b", "c"]

    def test_timers_without_limits_are_not_checked(self) -> None:
        """Only the statistics that have a limit are read."""

        class Exploding:
            count = 1
            max = math.inf

            def get(self, statistic: str) -> float:
                raise AssertionError(statistic)

        assert find_breaches({"free": Exploding()}, thresholds(op=1)) == []

    def test_timers_without_calls_are_skipped(self) -> None:
        """No measurement, no verdict."""
        assert find_breaches({"op": summary(count=0, max=9.0)}, thresholds(op=1)) == []

    def test_no_thresholds_give_no_breaches(self) -> None:
        """Without limits nothing can breach."""
        assert find_breaches({"op": summary(max=9.0)}, Thresholds()) == []

    def test_patterns_and_overrides_decide_which_limit_applies(
        self, tmp_path: Path
    ) -> None:
        """The check uses the same name resolution as the config."""
        pyproject = tmp_path / "pyproject.toml"
        pyproject.write_text('[tool.pytest-tracer.thresholds]\n"db_*" = 10\n')
        limits = load_config(pyproject).thresholds.with_overrides(
            {"db_bulk": "1s"}, "@pytest.mark.timer_thresholds(db_bulk=...) on test_x"
        )
        summaries = {"db_query": summary(max=0.05), "db_bulk": summary(max=0.05)}
        (breach,) = find_breaches(summaries, limits)
        assert breach.message == (
            "timer 'db_query' took 50 ms (max of 1 call), over its limit of 10 ms "
            "(pyproject.toml [tool.pytest-tracer.thresholds] db_*)"
        )

    @given(
        measured=st.floats(min_value=1e-9, max_value=1e3),
        limit_ms=st.floats(min_value=1e-3, max_value=1e6),
    )
    def test_a_breach_is_exactly_a_value_over_the_limit(
        self, measured: float, limit_ms: float
    ) -> None:
        """No rounding: the comparison is on seconds as measured."""
        limits = thresholds(op=limit_ms)
        breaches = find_breaches({"op": summary(max=measured)}, limits)
        assert bool(breaches) == (measured > limits.limits_for("op")[0].seconds)


@pytest.mark.parametrize("count", [2, 3, 1000])
def test_any_count_above_one_reads_calls(count: int) -> None:
    """Only exactly one call is singular."""
    breach = Breach("op", "total", 2.0, count, Limit("total", 1.0, "s"))
    assert f"(total of {count} calls)" in breach.message


@given(
    values=st.lists(
        st.floats(min_value=0, max_value=10, allow_nan=False), min_size=1, max_size=40
    ),
    limit=st.floats(min_value=1e-6, max_value=10),
)
def test_a_limit_breaks_exactly_when_its_statistic_is_over_it(
    values: list[float], limit: float
) -> None:
    """The check skips what the max rules out: the same verdicts as reading
    every statistic."""
    from pytest_tracer._stats import STATISTICS, Accumulator

    accumulator = Accumulator()
    for value in values:
        accumulator.add(value)
    for statistic in STATISTICS:
        limits = thresholds(op={statistic: limit})
        (applied,) = limits.limits_for("op")
        found = find_breaches({"op": accumulator}, limits)
        assert bool(found) == (accumulator.get(statistic) > applied.seconds), statistic
