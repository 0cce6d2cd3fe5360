"""Run the rounds of an A/B comparison: pytest once per side per round.

Each side runs in an interpreter of its own, started in the side's own
directory with the side's ``src/`` (when present) and the directory itself
first on ``sys.path``, so each side imports its own code. That interpreter
runs pytest once per round, so a round pays no start-up and the two runs of
a round follow each other closely: the machine's speed has less time to
change between them. The order alternates, base first in odd
rounds and head first in even ones (A B, B A, A B...), so a steady drift of
the machine's speed hits both sides alike.
"""

from __future__ import annotations

import contextlib
import json
import os
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path

from pytest_tracer._ab.probe import VERSION
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
        where = f"round {round_number}" if round_number else "its warm-up run"
        super().__init__(
            f"the {side.name} side ({side.label}) failed in {where}: "
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


# What each side's process runs: pytest once per line read (a path for the
# timings), in the same interpreter, so a round pays no start-up and the two
# sides' runs of a round follow each other closely. Its output goes to a log
# per run; a sentinel line on stdout tells the run ended, and how.
_DRIVER = """
import contextlib, json, sys
import pytest
args = json.loads(sys.argv[1])
for line in sys.stdin:
    output = line.rstrip("\\n")
    with open(output + ".log", "w", encoding="utf-8") as log:
        with contextlib.redirect_stdout(log), contextlib.redirect_stderr(log):
            code = int(pytest.main([*args, "--timer-ab-output=" + output]))
    print("%s %d" % (SENTINEL, code), flush=True)
"""
_SENTINEL = "pytest-tracer-ab-run-ended"


class SideProcess:
    """One side's long-lived interpreter, running pytest when asked."""

    def __init__(self, side: Side, pytest_args: Sequence[str], scratch: Path) -> None:
        self.side = side
        self.scratch = scratch
        args = [
            "-q", "-p", "no:cacheprovider", "-p", "pytest_tracer._ab.probe",
            # Limits are the thresholds' business; here only speed counts.
            "--timer-no-enforce",
            *pytest_args,
        ]  # fmt: skip
        self.process = subprocess.Popen(
            [sys.executable, "-c", _DRIVER.replace("SENTINEL", repr(_SENTINEL)),
             json.dumps(args)],
            cwd=side.workdir,
            env=environment(side),
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            text=True,
        )  # fmt: skip
        self.runs = 0

    def __enter__(self) -> SideProcess:
        return self

    def run(self, round_number: int) -> Timings:
        """Run pytest once more; return what it measured.

        :raises SideError: pytest did not pass, or the process died.
        """
        self.runs += 1
        output = self.scratch / f"{self.side.name}-{self.runs}.json"
        assert self.process.stdin is not None
        assert self.process.stdout is not None
        code = -1
        try:
            self.process.stdin.write(f"{output}\n")
            self.process.stdin.flush()
            for line in self.process.stdout:
                if line.startswith(_SENTINEL):
                    code = int(line.split()[1])
                    break
        except (BrokenPipeError, ValueError):
            pass
        log = Path(f"{output}.log")
        text = log.read_text(encoding="utf-8") if log.exists() else ""
        if code != 0 or not output.exists():
            raise SideError(self.side, round_number, code, text)
        return _read(output)

    def close(self, *, abort: bool = False) -> None:
        """End the process: let it finish, or, on *abort*, stop it now."""
        if self.process.stdin is not None:
            with contextlib.suppress(OSError):
                self.process.stdin.close()
        if abort:
            self.process.kill()
        try:
            self.process.wait(timeout=30)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait()
        if self.process.stdout is not None:
            self.process.stdout.close()

    def __exit__(self, *exc: object) -> None:
        self.close(abort=exc[0] is not None)


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

    Each side first runs once uncounted, to import its code and warm up.

    :raises SideError: A side's pytest failed; its ``rounds`` attribute
        holds what finished before.
    """
    done = Rounds()
    start = time.monotonic()
    with (
        tempfile.TemporaryDirectory(prefix="pytest-tracer-ab-runs-") as scratch,
        contextlib.ExitStack() as stack,
    ):
        processes = {}
        for side in (base, head):
            process = processes[side.name] = SideProcess(
                side, pytest_args, Path(scratch)
            )
            stack.callback(process.close)
        try:
            for side in (base, head):
                processes[side.name].run(0)
            for index in range(rounds):
                order = (base, head) if index % 2 == 0 else (head, base)
                for side in order:
                    timings = processes[side.name].run(index + 1)
                    (done.base if side is base else done.head).append(timings)
                if progress is not None:
                    elapsed = time.monotonic() - start
                    left = elapsed / (index + 1) * (rounds - index - 1)
                    progress(
                        f"round {index + 1}/{rounds}: {elapsed:.0f} s elapsed, "
                        f"about {left:.0f} s left"
                    )
        except SideError as error:
            error.rounds = done
            raise
    return done
