"""Generated configurations: every one loads, or is refused with a message
that names the file, the key and the value; none raises anything else.

Each test draws at least 1,000 documents (or marker arguments) per run, in
this process, so the suite stays fast.
"""

from __future__ import annotations

import json
import math
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from pytest_tracer._config import (
    KNOWN_KEYS,
    REGRESSION_KEYS,
    ConfigError,
    Thresholds,
    load_config,
)
from pytest_tracer._stats import STATISTICS

EXAMPLES = 1000

# Values users write, and values nobody should: huge, tiny, negative,
# non-finite, the wrong type, control characters.
durations = st.sampled_from(
    ["50ms", "1.5s", "20us", "3ns", "0.1ns", "5 parsecs", "", "ms", "1e400s", "-1ms"]
)
numbers = st.one_of(
    st.integers(min_value=-(10**30), max_value=10**30),
    st.sampled_from([0, 1, 10**400, -(10**400), 2**63]),
    st.floats(allow_nan=True, allow_infinity=True),
)
texts = st.one_of(
    durations,
    st.sampled_from(["10%", "2.5%", "0%", "300%", "1e400%", "wall", "cpu", "warn"]),
    st.text(max_size=12),
)
scalars = st.one_of(numbers, texts, st.booleans())
values = st.recursive(
    scalars,
    lambda inner: (
        st.lists(inner, max_size=3)
        | st.dictionaries(
            st.one_of(
                st.sampled_from([*STATISTICS, *REGRESSION_KEYS]), st.text(max_size=6)
            ),
            inner,
            max_size=3,
        )
    ),
    max_leaves=6,
)
names = st.one_of(
    st.sampled_from(["db_query", "render_*", "*", "a.b", "[x]", "?"]),
    st.text(max_size=10),
)
tables = st.dictionaries(names, values, max_size=4)
# Mostly what the docs show, so that loading succeeds often enough too.
good_durations = st.sampled_from(["50ms", "1.5s", "20us", 5, 0.5])
good_limits = st.one_of(
    good_durations,
    st.dictionaries(st.sampled_from(STATISTICS), good_durations, min_size=1),
)
good_tables = st.dictionaries(
    st.sampled_from(["db_query", "render_*", "io"]), good_limits, max_size=3
)
documents = st.one_of(
    st.fixed_dictionaries(
        {},
        optional={
            **dict.fromkeys(KNOWN_KEYS, values),
            "thresholds": tables,
            "regression": tables,
            "clocks": tables,
            "reprot_rows": values,
        },
    ),
    st.fixed_dictionaries(
        {"thresholds": good_tables},
        optional={
            "report": st.booleans(),
            "tolerance": st.sampled_from(["10%", "2.5%", 0.1]),
            "clocks": st.dictionaries(
                st.sampled_from(["db_query", "io"]), st.sampled_from(["wall", "cpu"])
            ),
        },
    ),
)


def toml_key(key: str) -> str:
    return json.dumps(key)  # a JSON string is a TOML basic string


def toml_value(value: Any) -> str | None:
    """*value* as TOML, or None where TOML cannot hold it (NaN is fine)."""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int):
        return str(value)
    if isinstance(value, float):
        if math.isnan(value):
            return "nan"
        if math.isinf(value):
            return "inf" if value > 0 else "-inf"
        return repr(value)
    if isinstance(value, str):
        return json.dumps(value)
    if isinstance(value, list):
        items = [toml_value(v) for v in value]
        return None if None in items else "[" + ", ".join(items) + "]"  # type: ignore[arg-type]
    if isinstance(value, dict):
        pairs = [(toml_key(k), toml_value(v)) for k, v in value.items()]
        if any(v is None for _, v in pairs):
            return None
        return "{ " + ", ".join(f"{k} = {v}" for k, v in pairs) + " }"
    return None


def toml_document(document: dict[str, Any]) -> str | None:
    lines = ["[tool.pytest-tracer]"]
    for key, value in document.items():
        text = toml_value(value)
        if text is None:
            return None
        lines.append(f"{toml_key(key)} = {text}")
    return "\n".join(lines) + "\n"


@pytest.fixture(scope="module")
def pyproject(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("fuzz") / "pyproject.toml"


OUTCOMES: dict[str, int] = {"loaded": 0, "refused": 0, "not TOML": 0}
MARKER_OUTCOMES: dict[str, int] = {"applied": 0, "refused": 0}


@settings(
    max_examples=EXAMPLES,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(documents)
def test_a_generated_pyproject_loads_or_is_refused_clearly(
    pyproject: Path, document: dict[str, Any]
) -> None:
    text = toml_document(document)
    if text is None:
        OUTCOMES["not TOML"] += 1
        return
    pyproject.write_text(text, encoding="utf-8")
    try:
        load_config(pyproject)
    except ConfigError as error:
        OUTCOMES["refused"] += 1
        message = str(error)
        assert message.startswith(f"{pyproject}: ")
        assert "\x1b" not in message
        assert "\n" not in message
        if "invalid TOML" not in message and "cannot be read" not in message:
            # The key: a top-level one, or one inside a table.
            shown = [toml_key(key) for key in document]
            shown += [
                toml_key(name)
                for key in ("thresholds", "regression", "clocks")
                if isinstance(document.get(key), dict)
                for name in document[key]
            ]
            escaped = [
                key.encode("ascii", "backslashreplace").decode() for key in shown
            ]
            assert any(key in message for key in shown) or any(
                key[1:-1] in message for key in escaped
            ), message
    else:
        OUTCOMES["loaded"] += 1


marker_values = st.one_of(
    values,
    st.none(),
    st.sampled_from([10**400, -(10**400), 1e-320, float("nan"), float("inf")]),
    st.builds(object),
)


@settings(max_examples=EXAMPLES, deadline=None)
@given(st.dictionaries(names, marker_values, max_size=4))
def test_generated_marker_arguments_apply_or_are_refused_clearly(
    entries: dict[str, Any],
) -> None:
    source = "@pytest.mark.timer_thresholds(...) on t.py::test"
    try:
        Thresholds().with_overrides(entries, source)
        MARKER_OUTCOMES["applied"] += 1
    except ConfigError as error:
        MARKER_OUTCOMES["refused"] += 1
        message = str(error)
        assert message.startswith(f"{source}: ")
        assert any(repr(name) in message or name in message for name in entries)


def test_the_fuzzing_reached_both_outcomes() -> None:
    """Run after the fuzz test in this module: both kinds of documents came."""
    if sum(OUTCOMES.values()) == 0:
        pytest.skip("the fuzz test did not run in this process")
    assert OUTCOMES["loaded"] > 0
    assert OUTCOMES["refused"] > 0
    assert MARKER_OUTCOMES["applied"] > 0
    assert MARKER_OUTCOMES["refused"] > 0
