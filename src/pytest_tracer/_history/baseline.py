"""Which saved runs a run is compared with, and the verdict per test and timer.

A baseline is named on the command line (``--timer-compare[=BASELINE]``):

- ``latest`` (the default): the newest saved run;
- ``last:N``: the newest N saved runs (``last`` alone: ``history_runs`` of them);
- ``branch:NAME`` or ``branch:NAME:N``: the newest run, or N runs, of a git
  branch;
- ``file:PATH``: the run in a JSON document (``export --format json`` or
  ``--timer-json``), with no history at all;
- anything else: the newest run saved with that label.

With one baseline run, this run's samples are ranked against that run's. With
several, their samples are pooled; when either side has too few samples for a
rank test, this run's median is set against the medians of those runs.

With ``normalize`` on, each test also times a fixed reference loop
(:mod:`._reference`), and this run's durations are scaled by how much faster
or slower that loop ran than in the baseline before they are compared.

With three or more baseline runs, a slower or faster verdict of the rank test
must also hold against the spread of those runs' medians: on a shared machine
whole runs drift, and a change no larger than that drift is called unchanged.
"""

from __future__ import annotations

import re
import statistics
from collections.abc import Sequence
from dataclasses import dataclass, field, replace
from datetime import datetime
from pathlib import Path
from typing import Final

from pytest_tracer._config import MAX_RUNS, RegressionRule
from pytest_tracer._reference import REFERENCE
from pytest_tracer._render.printable import printable
from pytest_tracer._units import format_duration

from .runfile import RunFile
from .store import HistoryStore, RunInfo, TimingRecord
from .verdict import MIN_HISTORY, Verdict, judge, judge_history

_LAST: Final = re.compile(r"last:(\d+)")
_BRANCH: Final = re.compile(r"branch:(.+?)(?::(\d+))?")


class BaselineError(ValueError):
    """The baseline asked for cannot be found; the message says what exists."""


@dataclass(frozen=True)
class BaselineSpec:
    """A parsed ``--timer-compare`` value."""

    text: str
    label: str | None = None
    branch: str | None = None
    count: int = 1
    #: ``file:PATH``: the document to read, as written.
    file: str | None = None


def parse_baseline(text: str) -> BaselineSpec:
    """Parse a ``--timer-compare`` value.

    :raises BaselineError: A count is not a whole number of at least 1.
    """
    if text in ("", "latest"):
        return BaselineSpec("latest")
    if text.startswith("last:"):
        match = _LAST.fullmatch(text)
        if not match or not 1 <= int(match.group(1)) <= MAX_RUNS:
            msg = (
                f"--timer-compare={text}: expected last:N with N from 1 to {MAX_RUNS:,}"
            )
            raise BaselineError(msg)
        return BaselineSpec(text, count=int(match.group(1)))
    if text.startswith("file:"):
        path = text.removeprefix("file:")
        if not path.strip():
            msg = f"--timer-compare={text}: expected file:PATH of a run's JSON document"
            raise BaselineError(msg)
        return BaselineSpec(text, file=path)
    if text.startswith("branch:"):
        match = _BRANCH.fullmatch(text)
        if not match or (
            match.group(2) is not None and not 1 <= int(match.group(2)) <= MAX_RUNS
        ):
            msg = (
                f"--timer-compare={text}: expected branch:NAME or branch:NAME:N"
                f" with N from 1 to {MAX_RUNS:,}"
            )
            raise BaselineError(msg)
        count = int(match.group(2)) if match.group(2) else 1
        return BaselineSpec(text, branch=match.group(1), count=count)
    return BaselineSpec(text, label=text)


def describe_run(run: RunInfo) -> str:
    """``run 12 'nightly' (2026-11-29 19:02, main@0123456789)``."""
    meta = run.meta
    when = datetime.fromtimestamp(meta.created).strftime("%Y-%m-%d %H:%M")
    where = "@".join(part for part in (meta.branch, (meta.commit or "")[:10]) if part)
    where = printable(where)  # a branch from a CI variable, say
    incomplete = f"incomplete: {meta.incomplete}" if meta.incomplete else ""
    details = ", ".join(part for part in (when, where, incomplete) if part)
    label = f" {meta.label!r}" if meta.label else ""
    return f"run {run.run_id}{label} ({details})"


def describe_runs(spec: BaselineSpec, runs: Sequence[RunInfo]) -> str:
    """One run as :func:`describe_run`, several as ``3 runs 10..12 (last:3)``,
    a file's as ``base.json: run 12 'nightly' (...)``."""
    if spec.file is not None:
        described = describe_run(runs[0])
        if not runs[0].run_id:  # a --timer-json document: never saved
            described = "the run" + described.removeprefix("run 0")
        return f"{spec.file}: {described}"
    if len(runs) == 1:
        return describe_run(runs[0])
    first, last = runs[-1].run_id, runs[0].run_id
    return f"{len(runs)} runs {first}..{last} ({spec.text})"


@dataclass(frozen=True)
class Baseline:
    """The runs compared with, and their timings by ``(test_id, name)``."""

    spec: BaselineSpec
    runs: tuple[RunInfo, ...]
    records: dict[tuple[str, str], list[TimingRecord]] = field(repr=False)

    @property
    def description(self) -> str:
        return describe_runs(self.spec, self.runs)

    def reference_scale(
        self, test_id: str, current_reference: Sequence[float]
    ) -> float | None:
        """How much faster the machine ran the reference loop in the baseline.

        Multiply this run's durations by it to put them on the baseline's
        footing; None when either side lacks the reference.
        """
        records = self.records.get((test_id, REFERENCE))
        if not records or not current_reference:
            return None
        now = statistics.median(current_reference)
        if now <= 0:
            return None
        return statistics.median(record.median for record in records) / now

    def verdict(
        self,
        test_id: str,
        name: str,
        current: Sequence[float],
        rule: RegressionRule,
        *,
        p_value: float,
        min_samples: int,
        scale: float | None = None,
    ) -> Verdict | None:
        """Compare *current* samples with the baseline; None when it has none.

        :param scale: From :meth:`reference_scale`: this run's durations are
            multiplied by it before they are compared.
        """
        records = self.records.get((test_id, name))
        if not records or not current:
            return None
        if scale is not None:
            current = [value * scale for value in current]
            note = f"normalised x{scale:.2f} by the reference loop"
            verdict = self._judge(records, current, rule, p_value, min_samples)
            joined = f"{verdict.note}; {note}" if verdict.note else note
            return replace(verdict, note=joined)
        return self._judge(records, current, rule, p_value, min_samples)

    def _judge(
        self,
        records: list[TimingRecord],
        current: Sequence[float],
        rule: RegressionRule,
        p_value: float,
        min_samples: int,
    ) -> Verdict:
        pooled = [sample for record in records for sample in record.samples]
        if len(pooled) >= min_samples and len(current) >= min_samples:
            verdict = judge(
                pooled,
                current,
                tolerance=rule.tolerance,
                noise_floor=rule.noise_floor,
                p_value=p_value,
                min_samples=min_samples,
            )
            if verdict.kind in ("slower", "faster") and len(records) >= MIN_HISTORY:
                drift = judge_history(
                    [record.median for record in records],
                    current,
                    tolerance=rule.tolerance,
                    noise_floor=rule.noise_floor,
                )
                if drift.kind != verdict.kind:
                    assert drift.spread is not None
                    note = (
                        f"but within the spread of the last {len(records)} runs "
                        f"(MAD-sigma {format_duration(drift.spread)}): unchanged"
                    )
                    return replace(verdict, kind="unchanged", note=note)
            return verdict
        return judge_history(
            [record.median for record in records],
            current,
            tolerance=rule.tolerance,
            noise_floor=rule.noise_floor,
        )


def select_runs(store: HistoryStore, spec: BaselineSpec) -> tuple[RunInfo, ...]:
    """The saved runs *spec* names, newest first; empty when nothing is saved.

    :raises BaselineError: A label or branch was named and no run has it.
    :raises StoreError: The history file cannot be read.
    """
    runs = store.runs(
        label=spec.label, branch=spec.branch, limit=spec.count, whole=True
    )
    if runs:
        return tuple(runs)
    if spec.label is not None:
        # Named by its label: an incomplete run is still what was asked for.
        runs = store.runs(label=spec.label, limit=spec.count)
        if runs:
            return tuple(runs)
    if spec.label is None and spec.branch is None:
        return ()
    known = sorted(
        {
            value
            for run in store.runs()
            for value in ((run.meta.label,) if spec.label else (run.meta.branch,))
            if value
        }
    )
    what = f"label {spec.label!r}" if spec.label else f"branch {spec.branch!r}"
    listing = ", ".join(known) if known else "none"
    kind = "labels" if spec.label else "branches"
    msg = (
        f"--timer-compare={spec.text}: no saved run has {what} in {store.where} "
        f"(saved {kind}: {listing})"
    )
    raise BaselineError(msg)


def file_baseline(spec: BaselineSpec, run: RunFile) -> Baseline:
    """The run of a document (from :func:`.runfile.read_run_file`) as the
    baseline *spec* (``file:PATH``)."""
    info = RunInfo(run.run_id or 0, run.meta, timings=len(run.records))
    records = {(r.test_id, r.name): [r] for r in run.records}
    return Baseline(spec, (info,), records)


def file_path(spec: BaselineSpec, cwd: Path) -> Path:
    """Where the document of a ``file:PATH`` baseline is: PATH from *cwd*."""
    assert spec.file is not None
    return cwd / Path(spec.file).expanduser()


def load_baseline(
    store: HistoryStore, spec: BaselineSpec, runs: Sequence[RunInfo]
) -> Baseline:
    """The timings of *runs* (from :func:`select_runs`), as the baseline *spec*.

    :raises StoreError: The history file cannot be read.
    """
    records: dict[tuple[str, str], list[TimingRecord]] = {}
    for run in runs:
        for key, record in store.records(run.run_id).items():
            records.setdefault(key, []).append(record)
    return Baseline(spec, tuple(runs), records)
