"""Run the rounds of an A/B comparison: pytest once per side per round.

Each run is a subprocess in the side's own directory, with the side's
``src/`` (when present) and the directory itself first on ``sys.path``, so
each side imports its own code. The order alternates, base first in odd
rounds and head first in even ones (A B, B A, A B...), so a steady drift of
the machine's speed hits both sides alike.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path

from pytest_tracer._ab.probe import OPTION, VERSION
from pytest_tracer._ab.trees import SetupError, Side
from pytest_tracer._ab.verdict import Pair

#: pytest's exit codes that mean a side's tests did not all pass.
_TEST_FAILURES = {1: "tests failed", 2: "interrupted", 3: "internal error",
                  4: "usage error", 5: "no tests collected"}  # fmt: skip
_SUMMARY_LINES = 15

#: (test id, timer name) -> the kept samples of one run.
Timings = dict[tuple[str, str], tuple[float, ...]]


class SideError(Exception):
    """pytest did not pass on one side in one round."""

    def __init__(self, side: Side, round_number: int, code: int, output: str) -> None:
        self.side = side
        self.round_number = round_number
        self.code = code
        self.summary = "\n".join(output.rstrip().splitlines()[-_SUMMARY_LINES:])
        #: The rounds that finished before, set by :func:`run_rounds`.
        self.rounds: Rounds | None = None
        reason = _TEST_FAILURES.get(code, f"exit code {code}")
        super().__init__(
            f"the {side.name} side ({side.label}) failed in round {round_number}: "
            f"pytest exited with {code} ({reason})"
        )


@dataclass
class Rounds:
    """What every finished round measured, per side."""

    base: list[Timings] = field(default_factory=list)
    head: list[Timings] = field(default_factory=list)

    def pairs(self) -> list[Pair]:
        """Per (test, timer), the rounds both sides finished, in order."""
        done = min(len(self.base), len(self.head))
        keys = sorted({key for run in (*self.base, *self.head) for key in run})
        return [
            Pair(
                test_id,
                name,
                tuple(run.get((test_id, name), ()) for run in self.base[:done]),
                tuple(run.get((test_id, name), ()) for run in self.head[:done]),
            )
            for test_id, name in keys
        ]


def environment(side: Side) -> dict[str, str]:
    """The side's subprocess environment: its own code first on ``sys.path``."""
    environ = dict(os.environ)
    first = [str(side.workdir / "src")] if (side.workdir / "src").is_dir() else []
    first.append(str(side.workdir))
    rest = environ.get("PYTHONPATH")
    environ["PYTHONPATH"] = os.pathsep.join([*first, *([rest] if rest else [])])
    return environ


def prepare(sides: Sequence[Side], command: str | None) -> None:
    """Run the build command once in each side's directory.

    :raises SetupError: It failed on a side.
    """
    if command is None:
        return
    for side in sides:
        done = subprocess.run(
            command,
            shell=True,
            cwd=side.workdir,
            env=environment(side),
            capture_output=True,
            text=True,
            check=False,
        )
        if done.returncode != 0:
            tail = (done.stdout + done.stderr).strip().splitlines()[-5:]
            msg = (
                f"--setup {command!r} failed with exit code {done.returncode} on "
                f"the {side.name} side ({side.workdir}): " + " / ".join(tail)
            )
            raise SetupError(msg)


def run_side(side: Side, round_number: int, pytest_args: Sequence[str]) -> Timings:
    """Run pytest once on *side*; return what it measured.

    :raises SideError: pytest did not pass.
    """
    with tempfile.TemporaryDirectory(prefix="pytest-tracer-ab-run-") as scratch:
        output = Path(scratch) / "timings.json"
        command = [
            sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider",
            "-p", "pytest_tracer._ab.probe", f"{OPTION}={output}",
            # Limits are the thresholds' business; here only speed counts.
            "--timer-no-enforce",
            *pytest_args,
        ]  # fmt: skip
        done = subprocess.run(
            command,
            cwd=side.workdir,
            env=environment(side),
            stdin=subprocess.DEVNULL,
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            text=True,
            check=False,
        )
        if done.returncode != 0 or not output.exists():
            raise SideError(side, round_number, done.returncode, done.stdout)
        return _read(output)


def _read(path: Path) -> Timings:
    data = json.loads(path.read_text(encoding="utf-8"))
    if data.get("version") != VERSION:
        msg = f"{path}: timings of another pytest-tracer version"
        raise SetupError(msg)
    return {
        (test_id, name): tuple(timer["samples"])
        for test_id, timers in data["tests"].items()
        for name, timer in timers.items()
    }


def run_rounds(
    base: Side,
    head: Side,
    rounds: int,
    pytest_args: Sequence[str],
    progress: Callable[[str], None] | None = None,
) -> Rounds:
    """Run *rounds* rounds, alternating which side goes first.

    :raises SideError: A side's pytest failed; its ``rounds`` attribute
        holds what finished before.
    """
    done = Rounds()
    start = time.monotonic()
    for index in range(rounds):
        order = (base, head) if index % 2 == 0 else (head, base)
        for side in order:
            try:
                timings = run_side(side, index + 1, pytest_args)
            except SideError as error:
                error.rounds = done
                raise
            (done.base if side is base else done.head).append(timings)
        if progress is not None:
            elapsed = time.monotonic() - start
            left = elapsed / (index + 1) * (rounds - index - 1)
            progress(
                f"round {index + 1}/{rounds}: {elapsed:.0f} s elapsed, "
                f"about {left:.0f} s left"
            )
    return done
