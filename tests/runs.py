"""Helpers for the tests: made-up run metadata, git, and a project of timed tests."""

from __future__ import annotations

import shutil
import subprocess
from dataclasses import replace
from pathlib import Path
from typing import Any

import pytest

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


needs_git = pytest.mark.skipif(shutil.which("git") is None, reason="needs git")


def git(root: Path, *args: str) -> str:
    """Run git in *root* as a throwaway identity; its output, stripped."""
    done = subprocess.run(
        ["git", "-c", "user.name=t", "-c", "user.email=t@example.com", *args],
        cwd=root,
        capture_output=True,
        text=True,
        check=True,
    )
    return done.stdout.strip()


#: ``op(name, seconds)`` times a sleep; ``SLOWDOWN`` in the environment scales it.
OPS = """
import os
import time
from pytest_tracer import Timer

def op(name, seconds=0.0):
    with Timer(name):
        time.sleep(seconds * float(os.environ.get("SLOWDOWN", "1")))
"""

#: ``parse`` may take a second, ``db_query`` at most 10 ms (median 1 s).
THRESHOLDS = """
[tool.pytest-tracer.thresholds]
parse = "1s"
db_query = { max = "10ms", median = "1s" }
"""


def timed_project(pytester: pytest.Pytester, suite: str) -> pytest.Pytester:
    """*suite* as ``test_suite.py`` beside ``ops.py``, with :data:`THRESHOLDS`."""
    pytester.makepyfile(ops=OPS, test_suite=suite)
    pytester.syspathinsert()
    pytester.makepyprojecttoml(THRESHOLDS)
    return pytester
