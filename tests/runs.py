"""Run metadata for the history tests: one made-up machine, changed per test."""

from __future__ import annotations

from dataclasses import replace
from typing import Any

from pytest_tracer._history.meta import RunMeta


def make_meta(**changes: Any) -> RunMeta:
    meta = RunMeta(
        created=1_700_000_000.25,
        label=None,
        commit="0123456789abcdef0123456789abcdef01234567",
        branch="main",
        python="CPython 3.11.7",
        pytest="8.3.0",
        platform="Linux-6.1-x86_64-with-glibc2.36",
        cpu_model="Example CPU @ 3.00GHz",
        cores=8,
        workers=1,
        system="Linux",
        machine="x86_64",
    )
    return replace(meta, **changes)
