"""What crosses from an xdist worker to the controller, with a schema version.

Each test report carries its phase's timings as plain builtins (pytest
serialises extra report attributes as they are), so the controller learns of
a test's timings as soon as that test ends and a crashing worker loses at most
the test it was running. Timings outside any test travel once, in
``workeroutput`` at the end of the worker's session.
"""

from __future__ import annotations

import weakref
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, Final

import pytest

from ._stats import Accumulator

SCHEMA_VERSION: Final = 1
REPORT_ATTRIBUTE: Final = "pytest_tracer"
WORKEROUTPUT_KEY: Final = "pytest_tracer_session"


@dataclass(frozen=True)
class PhaseTimings:
    """The timings one test phase recorded, and the breaches found in it."""

    phase: str
    timers: dict[str, Accumulator]
    #: (timer name, message) of each threshold breach or regression
    problems: tuple[tuple[str, str], ...]
    #: comparisons with the baseline, as builtins
    verdicts: tuple[dict[str, Any], ...]
    enforced: bool


_local: weakref.WeakKeyDictionary[pytest.TestReport, PhaseTimings] = (
    weakref.WeakKeyDictionary()
)


def encode_timers(timers: Mapping[str, Accumulator]) -> dict[str, Any]:
    return {name: accumulator.to_builtins() for name, accumulator in timers.items()}


def decode_timers(data: object) -> dict[str, Accumulator]:
    if not isinstance(data, dict):
        msg = f"expected a table of timers, got {type(data).__name__}"
        raise ValueError(msg)
    return {str(name): Accumulator.from_builtins(value) for name, value in data.items()}


def attach(
    report: pytest.TestReport,
    phase: str,
    timers: Mapping[str, Accumulator],
    problems: list[tuple[str, str]],
    verdicts: list[dict[str, Any]],
    *,
    enforced: bool,
    as_builtins: bool,
) -> None:
    """Put one phase's timings on its report.

    :param as_builtins: Encode them for the trip to the xdist controller;
        without xdist the report stays in this process and is only marked.
    """
    if not as_builtins:
        # Kept beside the report, not on it: a report must stay serialisable
        # for plugins such as pytest-reportlog.
        _local[report] = PhaseTimings(
            phase, dict(timers), tuple(problems), tuple(verdicts), enforced
        )
        return
    setattr(
        report,
        REPORT_ATTRIBUTE,
        {
            "version": SCHEMA_VERSION,
            "phase": phase,
            "timers": encode_timers(timers),
            "problems": [list(problem) for problem in problems],
            "verdicts": list(verdicts),
            "enforced": enforced,
        },
    )


def read(report: pytest.TestReport) -> PhaseTimings | None:
    """Return the timings a report carries, or None when it carries none.

    :raises ValueError: The payload is from another schema version or damaged.
    """
    local = _local.get(report)
    if local is not None:
        return local
    data = getattr(report, REPORT_ATTRIBUTE, None)
    if data is None:
        return None
    if not isinstance(data, dict) or data.get("version") != SCHEMA_VERSION:
        version = data.get("version") if isinstance(data, dict) else None
        msg = (
            f"timings on the report of {report.nodeid} have schema version "
            f"{version!r}, expected {SCHEMA_VERSION}: use the same pytest-tracer "
            "version on the controller and the workers"
        )
        raise ValueError(msg)
    return PhaseTimings(
        phase=str(data["phase"]),
        timers=decode_timers(data["timers"]),
        problems=tuple((str(name), str(text)) for name, text in data["problems"]),
        verdicts=tuple(dict(verdict) for verdict in data["verdicts"]),
        enforced=bool(data["enforced"]),
    )


def is_worker(config: pytest.Config) -> bool:
    return hasattr(config, "workerinput")


def store_session_timers(
    config: pytest.Config, timers: Mapping[str, Accumulator]
) -> None:
    """On a worker: hand the timings made outside any test to the controller."""
    workeroutput = getattr(config, "workeroutput", None)
    if workeroutput is not None:
        workeroutput[WORKEROUTPUT_KEY] = {
            "version": SCHEMA_VERSION,
            "timers": encode_timers(timers),
        }


def read_session_timers(node: object) -> dict[str, Accumulator]:
    """On the controller: the timings a finished worker made outside any test."""
    workeroutput = getattr(node, "workeroutput", None) or {}
    data = workeroutput.get(WORKEROUTPUT_KEY)
    if not isinstance(data, dict) or data.get("version") != SCHEMA_VERSION:
        return {}
    return decode_timers(data["timers"])


class ControllerHooks:
    """Registered on the xdist controller only."""

    def __init__(self, merge: Any) -> None:
        self._merge = merge

    @pytest.hookimpl
    def pytest_testnodedown(self, node: object, error: object) -> None:
        self._merge(read_session_timers(node))
