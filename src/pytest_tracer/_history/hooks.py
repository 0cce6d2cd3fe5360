"""The history's part of a pytest run: save it, compare it with a baseline.

Loaded only with ``--timer-save`` or ``--timer-compare``. The reporting
process (the xdist controller, or the only process) resolves the baseline
once; workers get the same run ids through ``workerinput`` and read their
timings from the store, so a run saved meanwhile cannot split them.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any, final

import pytest

from pytest_tracer import _xdist
from pytest_tracer._config import TracerConfig, describe_store
from pytest_tracer._reference import REFERENCE
from pytest_tracer._results import SESSION, Comparison, RunResults
from pytest_tracer._stats import Accumulator

from .baseline import (
    Baseline,
    BaselineError,
    BaselineSpec,
    describe_runs,
    file_baseline,
    file_path,
    load_baseline,
    parse_baseline,
    select_runs,
)
from .meta import collect_run_meta, machine_fingerprint
from .runfile import RunFileError, read_run_file
from .store import RunInfo, StoreError, TimingRecord, open_store


@final
class BaselineComparer:
    """Compares each test's timings with the chosen runs, read on first use."""

    def __init__(
        self,
        store: Path | str,
        spec: BaselineSpec,
        runs: Sequence[RunInfo],
        settings: TracerConfig,
        baseline: Baseline | None = None,
    ) -> None:
        self.store = store
        self.spec = spec
        self.runs = tuple(runs)
        self.settings = settings
        #: Read already (a file's run), or from the store on first use.
        self._baseline = baseline

    @property
    def description(self) -> str:
        return describe_runs(self.spec, self.runs)

    def _load(self) -> Baseline:
        if self._baseline is None:
            with open_store(self.store) as history:
                self._baseline = load_baseline(history, self.spec, self.runs)
        return self._baseline

    def compare(
        self, test_id: str, timers: Mapping[str, Accumulator], *, enforced: bool
    ) -> list[Comparison]:
        baseline = self._load()
        settings = self.settings
        reference = timers.get(REFERENCE)
        scale = (
            baseline.reference_scale(test_id, reference.samples)
            if reference is not None
            else None
        )
        comparisons = []
        for name in sorted(timers):
            if name == REFERENCE:
                continue
            rule = settings.regression_for(name)
            verdict = baseline.verdict(
                test_id,
                name,
                timers[name].samples,
                rule,
                p_value=settings.p_value,
                min_samples=settings.min_samples,
                scale=scale,
            )
            if verdict is None:
                continue
            comparisons.append(
                Comparison(
                    name=name,
                    verdict=verdict.kind,
                    baseline_median=verdict.baseline_median,
                    current_median=verdict.current_median,
                    change=verdict.change,
                    evidence=verdict.describe(),
                    baseline=self.description,
                    source=rule.source,
                    enforced=enforced,
                )
            )
        return comparisons


def resolve_baseline(
    text: str,
    store: Path | str,
    settings: TracerConfig,
    notes: list[str],
    *,
    required: bool = False,
    cwd: Path | None = None,
) -> BaselineComparer | None:
    """The runs ``--timer-compare=TEXT`` names; None (with a note) when none is saved.

    :param required: No saved run is a usage error instead
        (``--timer-require-baseline``).
    :param cwd: Where a ``file:PATH`` is found from (default: the current
        directory).
    :raises pytest.UsageError: The baseline cannot be found or is refused.
    """
    if text == "last":
        text = f"last:{settings.history_runs}"
    try:
        spec = parse_baseline(text)
    except BaselineError as error:
        raise pytest.UsageError(str(error)) from None
    cwd = cwd or Path.cwd()
    if spec.file is not None:
        comparer = _file_comparer(spec, store, settings, cwd)
        found = f"--timer-compare={text} found no file at {file_path(spec, cwd)}"
        fill = "write one with --timer-json=PATH or python -m pytest_tracer export"
        reach = "check that the baseline file reached this job"
    else:
        try:
            with open_store(store) as history:
                runs = select_runs(history, spec)
                # Read now, so that rows the store must skip are said once.
                baseline = load_baseline(history, spec, runs) if runs else None
                notes.extend(history.problems)
        except (BaselineError, StoreError) as error:
            raise pytest.UsageError(str(error)) from None
        comparer = (
            BaselineComparer(store, spec, runs, settings, baseline)
            if baseline is not None
            else None
        )
        found = f"--timer-compare={text} found no saved run in {describe_store(store)}"
        fill = "save one with --timer-save"
        reach = "check that the history reached this job"
    if comparer is None:
        if required:
            msg = (
                f"{found}, and a baseline is required (--timer-require-baseline "
                f"or require_baseline = true): {fill}, or {reach}"
            )
            raise pytest.UsageError(msg)
        notes.append(f"{found}: {fill}")
        return None
    notes.extend(
        f"the baseline {describe_runs(spec, (run,))} is incomplete"
        f" ({run.meta.incomplete}): its timings may cover only some tests"
        for run in comparer.runs
        if run.meta.incomplete
    )
    here = machine_fingerprint()
    foreign = sorted({run.meta.fingerprint for run in comparer.runs} - {here})
    if foreign:
        text = (
            f"the baseline ({comparer.description}) was measured on another "
            f"machine (fingerprint {', '.join(foreign)}, this one {here})"
        )
        if settings.foreign_baseline == "refuse":
            msg = (
                f'{text}; [tool.pytest-tracer] foreign_baseline = "refuse" '
                "forbids comparing with it"
            )
            raise pytest.UsageError(msg)
        notes.append(f"{text}: timings may differ for that reason alone")
    return comparer


def _file_comparer(
    spec: BaselineSpec, store: Path | str, settings: TracerConfig, cwd: Path
) -> BaselineComparer | None:
    """The run of a ``file:PATH`` baseline; None when there is no such file.

    :raises pytest.UsageError: The file is there but cannot be used.
    """
    try:
        run = read_run_file(file_path(spec, cwd))
    except FileNotFoundError:
        return None
    except RunFileError as error:
        raise pytest.UsageError(f"--timer-compare={spec.text}: {error}") from None
    baseline = file_baseline(spec, run)
    return BaselineComparer(store, spec, baseline.runs, settings, baseline)


def worker_comparer(
    config: pytest.Config, text: str, store: Path | str, settings: TracerConfig
) -> BaselineComparer | None:
    """On an xdist worker: the runs the controller chose, or None."""
    ids = _xdist.workerinput(config).get(_xdist.WORKERINPUT_BASELINE)
    if not ids:
        return None
    spec = parse_baseline(text)
    if spec.file is not None:  # read again: a file does not change meanwhile
        return _file_comparer(spec, store, settings, config.invocation_params.dir)
    try:
        with open_store(store) as history:
            runs = history.runs(ids=[int(run_id) for run_id in ids])
    except StoreError as error:
        raise pytest.UsageError(str(error)) from None
    if text == "last":
        spec = parse_baseline(f"last:{settings.history_runs}")
    return BaselineComparer(store, spec, runs, settings)


def check_writable(store: Path | str) -> None:
    """Refuse a damaged or foreign history before the tests run, not after.

    :raises pytest.UsageError: The file cannot be used.
    """
    try:
        with open_store(store) as history:
            history.check_writable()
    except StoreError as error:
        raise pytest.UsageError(str(error)) from None


@final
class Saver:
    """Saves the run's results at the end of the session."""

    def __init__(
        self,
        config: pytest.Config,
        label: str,
        store: Path | str,
        notes: list[str],
        branch: str | None = None,
    ) -> None:
        self.config = config
        self.label = label
        self.store = store
        self.notes = notes
        self.branch = branch

    def __call__(self, session: pytest.Session, results: RunResults) -> None:
        workers = getattr(self.config.option, "numprocesses", None)
        meta = collect_run_meta(
            self.config.rootpath,
            label=self.label or None,
            workers=workers if isinstance(workers, int) else 0,
            pytest_version=pytest.__version__,
            branch=self.branch,
        )
        incomplete = run_incomplete(session)
        if incomplete is not None:
            meta = dataclasses.replace(meta, incomplete=incomplete)
        try:
            with open_store(self.store) as history:
                run_id = history.save_run(meta, timing_records(results))
        except StoreError as error:
            self.notes.append(f"could not save this run: {error}")
            if session.exitstatus == pytest.ExitCode.OK:
                session.exitstatus = pytest.ExitCode.USAGE_ERROR
            return
        label = f" as {self.label!r}" if self.label else ""
        where = describe_store(self.store)
        self.notes.append(f"saved this run{label} as run {run_id} in {where}")
        if incomplete is not None:
            self.notes.append(
                f"run {run_id} is marked incomplete ({incomplete}): a baseline"
                " is chosen among whole runs, unless its label is asked for"
            )


def run_incomplete(session: pytest.Session) -> str | None:
    """Why this run is not a whole one, or None: a baseline it must not be."""
    option = session.config.option
    if session.exitstatus == pytest.ExitCode.INTERRUPTED:
        return "interrupted"
    if getattr(option, "collectonly", False):
        return "collect only"
    if session.shouldstop or session.shouldfail:
        return "stopped early"
    if session.testscollected == 0:
        return "no test ran"
    return None


def timing_records(results: RunResults) -> list[TimingRecord]:
    """Every (test, timer) of the run as the history stores it."""
    records = []
    for test_id, table in results.by_test.items():
        for name, stats in table.timers.items():
            if not stats.count:
                continue
            summary = stats.summary()
            records.append(
                TimingRecord(
                    test_id="" if test_id == SESSION else test_id,
                    name=name,
                    count=summary.count,
                    total=summary.total,
                    min=summary.min,
                    max=summary.max,
                    median=summary.median,
                    p95=summary.p95,
                    samples=stats.samples,
                )
            )
    return records


def worker_inputs(comparer: BaselineComparer | None) -> dict[str, Any]:
    """What every xdist worker needs to compare with the same runs."""
    if comparer is None:
        return {}
    return {_xdist.WORKERINPUT_BASELINE: [run.run_id for run in comparer.runs]}
