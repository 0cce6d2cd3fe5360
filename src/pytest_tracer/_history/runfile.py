"""A run read back from its JSON document: a baseline carried as a file.

``export --format json`` and ``--timer-json`` write the same document (schema
1). Read back, it is one saved run: ``import`` adds it to a store, and
``--timer-compare=file:PATH`` compares with it directly, with no database.
Every value is checked; an error names the file, the key and what it expects.
"""

from __future__ import annotations

import json
import math
import time
from calendar import timegm
from collections.abc import Mapping
from pathlib import Path
from typing import Any, Final, NamedTuple

from pytest_tracer._render.document import SCHEMA
from pytest_tracer._results import SESSION

from .meta import RunMeta
from .store import MAX_SAMPLES, TimingRecord

__all__ = ["RunFile", "RunFileError", "read_run_file"]

_TIME_FORMAT: Final = "%Y-%m-%dT%H:%M:%SZ"
_UNKNOWN: Final = "unknown"


class RunFileError(ValueError):
    """The file is not a usable run document; the message says where and why."""


class RunFile(NamedTuple):
    """The run a document describes, and its timings."""

    path: Path
    meta: RunMeta
    records: tuple[TimingRecord, ...]
    #: The run's id in the history it was exported from, if it was.
    run_id: int | None


def read_run_file(path: Path) -> RunFile:
    """The run in the JSON document at *path*.

    :raises FileNotFoundError: There is no file at *path*.
    :raises RunFileError: It cannot be read, is not JSON, or a value is not
        what the document's schema says.
    """
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise
    except (OSError, UnicodeDecodeError) as exc:
        reason = exc.strerror if isinstance(exc, OSError) and exc.strerror else exc
        raise RunFileError(f"cannot read {path}: {reason}") from None
    try:
        document = json.loads(text)
    except ValueError as exc:
        msg = f"{path} is not JSON ({exc}): expected a run document of pytest-tracer"
        raise RunFileError(msg) from None
    return _Reader(path).run_file(document)


class _Reader:
    def __init__(self, path: Path) -> None:
        self.path = path

    def error(self, key: str, expected: str, value: object) -> RunFileError:
        shown = json.dumps(value, ensure_ascii=False)
        if len(shown) > 60:
            shown = shown[:57] + "..."
        return RunFileError(f"{self.path}: {key}: expected {expected}, got {shown}")

    def table(self, value: object, key: str) -> Mapping[str, Any]:
        if not isinstance(value, Mapping):
            raise self.error(key, "an object", value)
        return value

    def text(self, table: Mapping[str, Any], key: str, where: str) -> str:
        value = table.get(key)
        if not isinstance(value, str) or not value:
            raise self.error(f"{where}.{key}", "a string", value)
        return value

    def optional_text(
        self, table: Mapping[str, Any], key: str, where: str
    ) -> str | None:
        value = table.get(key)
        if value is not None and not isinstance(value, str):
            raise self.error(f"{where}.{key}", "a string or null", value)
        return value or None

    def whole(self, table: Mapping[str, Any], key: str, where: str) -> int:
        value = table.get(key)
        if isinstance(value, bool) or not isinstance(value, int) or value < 0:
            raise self.error(f"{where}.{key}", "a whole number >= 0", value)
        return value

    def seconds(self, table: Mapping[str, Any], key: str, where: str) -> float:
        return self.duration(table.get(key), f"{where}.{key}")

    def duration(self, value: object, key: str) -> float:
        if (
            isinstance(value, bool)
            or not isinstance(value, (int, float))
            or not math.isfinite(value)
            or value < 0
        ):
            raise self.error(key, "a duration in seconds >= 0", value)
        return float(value)

    def run_file(self, document: object) -> RunFile:
        top = self.table(document, "the document")
        schema = top.get("schema")
        if schema != SCHEMA:
            if isinstance(schema, int) and not isinstance(schema, bool):
                msg = (
                    f"{self.path}: schema {schema} is not one this pytest-tracer"
                    f" reads (it reads schema {SCHEMA}): upgrade pytest-tracer,"
                    " or export the run with this version"
                )
                raise RunFileError(msg)
            raise self.error(
                "schema", f"{SCHEMA} (a run document of pytest-tracer)", schema
            )
        run = self.table(top.get("run"), "run")
        meta = self.meta(run)
        timers = top.get("timers")
        if not isinstance(timers, list):
            raise self.error("timers", "a list of timer entries", timers)
        records: list[TimingRecord] = []
        seen: set[tuple[str, str]] = set()
        for index, entry in enumerate(timers):
            record = self.record(entry, f"timers[{index}]")
            key = (record.test_id, record.name)
            if key in seen:
                msg = (
                    f"{self.path}: timers[{index}]: a second entry for timer"
                    f" {record.name!r} in test {entry['test']!r}"
                )
                raise RunFileError(msg)
            seen.add(key)
            records.append(record)
        run_id = run.get("id")
        if run_id is not None and (
            isinstance(run_id, bool) or not isinstance(run_id, int)
        ):
            raise self.error("run.id", "a run id or null", run_id)
        return RunFile(self.path, meta, tuple(records), run_id)

    def meta(self, run: Mapping[str, Any]) -> RunMeta:
        stamp = run.get("time")
        try:
            if not isinstance(stamp, str):
                raise ValueError
            created = float(timegm(time.strptime(stamp, _TIME_FORMAT)))
        except ValueError:
            raise self.error(
                "run.time", 'a UTC time such as "2026-12-01T10:00:00Z"', stamp
            ) from None
        machine = run.get("machine")
        if machine is None:
            # A document without it: the fingerprint will not match this machine.
            system, architecture, cpu, cores = _UNKNOWN, _UNKNOWN, _UNKNOWN, 0
        else:
            table = self.table(machine, "run.machine")
            system = self.text(table, "system", "run.machine")
            architecture = self.text(table, "architecture", "run.machine")
            cpu = self.text(table, "cpu", "run.machine")
            cores = self.whole(table, "cores", "run.machine")
        ci = run.get("ci")
        provider = url = None
        if ci is not None:
            table = self.table(ci, "run.ci")
            provider = self.text(table, "provider", "run.ci")
            url = self.optional_text(table, "url", "run.ci")
        return RunMeta(
            created=created,
            label=self.optional_text(run, "label", "run"),
            commit=self.optional_text(run, "commit", "run"),
            branch=self.optional_text(run, "branch", "run"),
            python=self.text(run, "python", "run"),
            pytest=self.text(run, "pytest", "run"),
            platform=self.text(run, "platform", "run"),
            cpu_model=cpu,
            cores=cores,
            workers=self.whole(run, "workers", "run"),
            system=system,
            machine=architecture,
            ci_provider=provider,
            ci_url=url,
            incomplete=self.optional_text(run, "incomplete", "run"),
        )

    def record(self, value: object, where: str) -> TimingRecord:
        entry = self.table(value, where)
        test = self.text(entry, "test", where)
        name = self.text(entry, "name", where)
        count = self.whole(entry, "count", where)
        samples = entry.get("samples", [])
        if not isinstance(samples, list) or len(samples) > MAX_SAMPLES:
            raise self.error(
                f"{where}.samples",
                f"a list of at most {MAX_SAMPLES} durations in seconds",
                samples,
            )
        kept = [
            self.duration(sample, f"{where}.samples[{index}]")
            for index, sample in enumerate(samples)
        ]
        return TimingRecord(
            test_id="" if test == SESSION else test,
            name=name,
            count=count,
            total=self.seconds(entry, "total", where),
            min=self.seconds(entry, "min", where),
            max=self.seconds(entry, "max", where),
            median=self.seconds(entry, "median", where),
            p95=self.seconds(entry, "p95", where),
            samples=tuple(kept),
        )
