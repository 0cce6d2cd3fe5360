"""The run as one versioned JSON document (``--timer-json``).

Top-level keys, schema 1 (durations in seconds; the README documents each):

- ``schema``: this format's version, bumped on incompatible changes;
- ``run``: when, how long, the git commit and branch, Python, pytest, the
  platform, the machine (its fingerprint, and what it is made from), the CI
  job, the xdist workers and the label;
- ``timers``: one entry per test and timer name, with the limits that applied
  to that test, its status and the kept samples; timings outside any test
  have the test ``"<session>"``;
- ``breaches``: every limit a test (or the session) went over;
- ``comparisons``: how each (test, timer) compares with the baseline, only
  when comparing.
"""

from __future__ import annotations

import json
import math
import time
from collections.abc import Sequence
from typing import Any, Final, NamedTuple

from pytest_tracer._config import Limit
from pytest_tracer._results import Breach, Comparison, RunResults
from pytest_tracer._stats import Summary

SCHEMA: Final = 1
#: The order of the statistics in a timer entry.
STATISTICS: Final = ("total", "min", "max", "mean", "median", "p95", "p99")


class RunInfo(NamedTuple):
    """Where and when the run happened, as the document's ``run`` shows it.

    :param started: When the session started, in seconds since the epoch.
    :param fingerprint: The machine's, as the history keeps it.
    :param workers: xdist workers, or 0 without xdist.
    :param run_id: The run's id in the history, for a saved run exported.
    :param system: What the fingerprint is made from: the OS, the
        architecture, the CPU model and the cores.
    :param ci_provider: The CI service of the job (``github``, ...), if any.
    """

    started: float
    duration: float | None
    commit: str | None
    branch: str | None
    python: str
    pytest: str
    platform: str
    fingerprint: str
    workers: int
    label: str | None
    run_id: int | None = None
    system: str = ""
    architecture: str = ""
    cpu: str = ""
    cores: int = 0
    ci_provider: str | None = None
    ci_url: str | None = None
    incomplete: str | None = None


def run_document(
    results: RunResults, run: RunInfo, *, comparing: bool
) -> dict[str, Any]:
    """The run as builtins, ready for :func:`json.dumps`."""
    document: dict[str, Any] = {
        "schema": SCHEMA,
        "run": run_builtins(run),
        "timers": _timers(results),
        "breaches": [_breach(test, breach) for test, breach in results.breaches],
    }
    if comparing:
        document["comparisons"] = [
            _comparison(test, comparison) for test, comparison in results.comparisons
        ]
    return document


def dumps(document: dict[str, Any]) -> str:
    """Strict JSON: a value that is not a finite number cannot slip in."""
    return json.dumps(document, indent=2, allow_nan=False, ensure_ascii=False) + "\n"


def run_builtins(run: RunInfo) -> dict[str, Any]:
    """The document's ``run``."""
    return {
        "time": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(run.started)),
        "duration": None if run.duration is None else _finite(run.duration),
        "commit": run.commit,
        "branch": run.branch,
        "python": run.python,
        "pytest": run.pytest,
        "platform": run.platform,
        "fingerprint": run.fingerprint,
        "machine": {
            "system": run.system,
            "architecture": run.architecture,
            "cpu": run.cpu,
            "cores": run.cores,
        },
        "ci": None
        if run.ci_provider is None
        else {"provider": run.ci_provider, "url": run.ci_url},
        "workers": run.workers,
        "incomplete": run.incomplete,
        "label": run.label,
        "id": run.run_id,
    }


def _timers(results: RunResults) -> list[dict[str, Any]]:
    entries = []
    for test_id, table in results.by_test.items():
        for name, stats in table.timers.items():
            if not stats.count:
                continue
            summary = stats.summary()
            status = results.status(name, test_id)
            entries.append(
                timer_entry(
                    test_id,
                    name,
                    summary,
                    limits=table.limits.get(name, ()),
                    status=status.lower() if status else None,
                    samples=stats.samples,
                )
            )
    return entries


def timer_entry(
    test_id: str,
    name: str,
    summary: Summary,
    *,
    limits: Sequence[Limit] = (),
    status: str | None = None,
    samples: Sequence[float] = (),
) -> dict[str, Any]:
    """One entry of ``timers``; *samples* are the kept values, in no order."""
    return {
        "test": test_id,
        "name": name,
        "count": summary.count,
        **{key: _finite(summary.get(key)) for key in STATISTICS},
        "exact": summary.exact,
        "limits": [_limit(x) for x in limits],
        "status": status,
        "samples": [float(x) for x in samples if math.isfinite(x)],
    }


def _limit(limit: Limit) -> dict[str, Any]:
    return {
        "statistic": limit.statistic,
        "limit": _finite(limit.seconds),
        "source": limit.source,
    }


def _breach(test_id: str, breach: Breach) -> dict[str, Any]:
    return {
        "test": test_id,
        "name": breach.name,
        "statistic": breach.statistic,
        "measured": _finite(breach.measured),
        "limit": _finite(breach.limit.seconds),
        "calls": breach.calls,
        "source": breach.limit.source,
        "enforced": breach.enforced,
    }


def _comparison(test_id: str, comparison: Comparison) -> dict[str, Any]:
    return {
        "test": test_id,
        "name": comparison.name,
        "baseline_median": _finite(comparison.baseline_median),
        "current_median": _finite(comparison.current_median),
        "change": _finite(comparison.change),
        "verdict": comparison.verdict,
        "evidence": comparison.evidence,
        "baseline": comparison.baseline,
        "source": comparison.source,
        "enforced": comparison.enforced,
    }


def _finite(value: float) -> float | None:
    # JSON has no infinity: a change against a zero baseline has no number.
    return value if math.isfinite(value) else None
