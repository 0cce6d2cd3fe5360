"""Measure how well ``--timer-compare`` tells a 20% slowdown from noise.

Run ``python bench/signal_quality.py`` (``--quick`` for a smoke run of a
minute or so). Everything runs in a temporary directory, nothing is left
behind.

A generated suite of a few tests times a pure-Python loop of known cost
(calibrated to about 1.5 ms) many times per test under ``Timer("block")``.
A background process spins on one core for the whole benchmark. A few runs
are saved as the baseline, then every trial runs the suite as a subprocess
with ``--timer-compare``; in half the trials, chosen at random with a fixed
seed, the loop does 20% more iterations. Each trial runs twice, without and
with ``--timer-confirm``, in alternating order, so drift on the machine hits
both modes alike.

A trial is flagged when pytest exits with 1 because a test's timer "got
slower". Any other failure (a crash, a usage error, a missing comparison)
stops the benchmark: it is never counted as a detection.

Targets: detection (slow trials flagged) at least 95% and false alarms
(unchanged trials flagged) at most 1%, on the point estimates; the 95% Wilson
intervals show how far a run of this size can pin them down. The exit status
is 1 unless some mode meets both targets.
"""

from __future__ import annotations

import argparse
import contextlib
import inspect
import math
import os
import random
import re
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Callable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Final

from pytest_tracer._history.store import open_store

SCALE_VARIABLE: Final = "TRACER_BENCH_SCALE"
TIMER_NAME: Final = "block"
BASELINE_LABEL: Final = "baseline"
SLOWDOWN: Final = 1.20
DETECTION_TARGET: Final = 0.95
FALSE_ALARM_TARGET: Final = 0.01
TOLERANCE: Final = "10%"
NOISE_FLOOR: Final = "100us"
P_VALUE: Final = 0.01
MIN_SAMPLES: Final = 8
Z_95: Final = 1.959964
CALIBRATION_REPEATS: Final = 15

# The documented defaults, written out so the run does not depend on them.
PYPROJECT: Final = f"""\
[tool.pytest.ini_options]
testpaths = ["tests"]

[tool.pytest-tracer]
store = ".pytest-tracer/history.sqlite"
tolerance = "{TOLERANCE}"
noise_floor = "{NOISE_FLOOR}"
p_value = {P_VALUE}
min_samples = {MIN_SAMPLES}
"""

MODULE_HEAD: Final = f"""\
from __future__ import annotations

import os

from pytest_tracer import Timer

SIZE = round({{size}} * {{scale}} * float(os.environ.get({SCALE_VARIABLE!r}, "1")))
TIMINGS = {{timings}}
CLOCK = {{clock!r}}

"""

TEST_TEMPLATE: Final = f"""

def test_block_{{index}}() -> None:
    for _ in range(TIMINGS):
        with Timer({TIMER_NAME!r}, clock=CLOCK):
            work(SIZE)
"""

# "SLOWER   +20.4%  1.5 ms  1.8 ms  tests/test_block.py::test_block_0  block":
# one line per compared test (COLUMNS is wide enough for one line each).
_VERDICT_LINE: Final = re.compile(
    r"^(?P<kind>[A-Z]+)\s+(?P<change>[+-]\d+(?:\.\d+)?)%\s.*?"
    rf"\s(?P<test>\S+)  {TIMER_NAME}$",
    re.MULTILINE,
)
_CONFIRM_LINE: Final = re.compile(
    r"^\S+: \d+ runs, the breach (did not hold|held every time)$", re.MULTILINE
)


def work(size: int) -> int:
    total = 0
    for index in range(size):
        total += index & 7
    return total


class BenchError(RuntimeError):
    """A pytest run did not end as the benchmark expects."""


@dataclass(frozen=True)
class Mode:
    """One way to run the trials."""

    label: str
    args: tuple[str, ...]


@dataclass(frozen=True)
class Outcome:
    """What one trial run reported."""

    is_flagged: bool
    #: Relative change of each test's median against the baseline.
    changes: tuple[float, ...]
    #: Tests re-run to confirm a breach, and how many of those it held for.
    rerun: int = 0
    held: int = 0


@dataclass
class Tally:
    """The outcomes of one mode, split by whether the trial was slowed."""

    slow: list[Outcome] = field(default_factory=list)
    unchanged: list[Outcome] = field(default_factory=list)


def calibrate(seconds: float) -> tuple[int, float]:
    """Return a loop size costing about *seconds*, and its measured cost."""
    size = 10_000
    best = 0.0
    for _ in range(4):
        best = min(_time_work(size) for _ in range(CALIBRATION_REPEATS))
        size = max(1, round(size * seconds / best))
    return size, min(_time_work(size) for _ in range(CALIBRATION_REPEATS))


def _time_work(size: int) -> float:
    start = time.perf_counter()
    work(size)
    return time.perf_counter() - start


def write_suite(
    root: Path,
    *,
    size: int,
    tests: int,
    timings: int,
    clock: str,
    name: str = "suite",
    scale: float = 1.0,
) -> Path:
    """Write the suite under *root*; return its directory.

    :param scale: Baked into the code: how many times the loop's iterations
        this version runs (the A/B mode's slowed head).
    """
    suite = root / name
    (suite / "tests").mkdir(parents=True, exist_ok=True)
    (suite / "pyproject.toml").write_text(PYPROJECT, encoding="utf-8")
    body = [
        MODULE_HEAD.format(size=size, timings=timings, clock=clock, scale=scale),
        inspect.getsource(work),
    ]
    body += [TEST_TEMPLATE.format(index=index) for index in range(tests)]
    (suite / "tests" / "test_block.py").write_text("".join(body), encoding="utf-8")
    return suite


@contextmanager
def busy_core() -> Iterator[subprocess.Popen[bytes]]:
    """Keep one core busy with a spinning process until the block ends."""
    spinner = subprocess.Popen([sys.executable, "-c", "while True: pass"])
    try:
        yield spinner
    finally:
        spinner.terminate()
        try:
            spinner.wait(timeout=10)
        except subprocess.TimeoutExpired:
            spinner.kill()
            spinner.wait()


@contextmanager
def drifting_load(period: float) -> Iterator[None]:
    """Switch one more spinning process on and off every *period* seconds,
    so the machine's speed changes over time as on a shared CI runner."""
    stop = threading.Event()

    def toggle() -> None:
        spinner: subprocess.Popen[bytes] | None = None
        while not stop.wait(period):
            if spinner is None:
                spinner = subprocess.Popen([sys.executable, "-c", "while True: pass"])
            else:
                spinner.terminate()
                spinner.wait()
                spinner = None
        if spinner is not None:
            spinner.terminate()
            spinner.wait()

    thread = threading.Thread(target=toggle, daemon=True)
    thread.start()
    try:
        yield
    finally:
        stop.set()
        thread.join()


# "SLOWER     +20.3% [+15.1%, +25.8%]  1.5 ms  1.8 ms  tests/...::test_block_0  block"
_AB_LINE: Final = re.compile(
    r"^\s*(?P<kind>[A-Z]+)\s+(?P<change>[+-]\d+(?:\.\d+)?)%\s\[.*?"
    rf"\s(?P<test>\S+)  {TIMER_NAME}$",
    re.MULTILINE,
)


def run_ab_trial(
    base: Path, head: Path, rounds: int, environ: Mapping[str, str], tests: int
) -> tuple[Outcome, float]:
    """Run the A/B command on the two trees; its outcome and wall time.

    :raises BenchError: it ended in any way but 0 (unchanged) or 1 (slower).
    """
    command = [
        sys.executable, "-m", "pytest_tracer", "ab", str(base),
        "--head", str(head), "--rounds", str(rounds),
    ]  # fmt: skip
    start = time.perf_counter()
    completed = subprocess.run(
        command,
        cwd=head,
        env=dict(environ),
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
        check=False,
    )
    seconds = time.perf_counter() - start
    if completed.returncode not in (0, 1):
        raise _fail(completed, "expected 0 (unchanged) or 1 (slower)")
    verdicts = list(_AB_LINE.finditer(completed.stdout))
    if len(verdicts) != tests:
        raise _fail(completed, f"expected {tests} verdicts, got {len(verdicts)}")
    is_flagged = completed.returncode == 1
    if is_flagged != any(match["kind"] == "SLOWER" for match in verdicts):
        raise _fail(completed, "the exit status and the verdicts disagree")
    return (
        Outcome(
            is_flagged=is_flagged,
            changes=tuple(float(match["change"]) / 100 for match in verdicts),
        ),
        seconds,
    )


def base_environment() -> dict[str, str]:
    environ = dict(os.environ)
    # The caller's pytest settings must not change what is measured.
    for variable in ("PYTEST_ADDOPTS", "PYTEST_PLUGINS", SCALE_VARIABLE):
        environ.pop(variable, None)
    environ["COLUMNS"] = "200"
    return environ


def run_pytest(
    suite: Path, args: Sequence[str], environ: Mapping[str, str]
) -> subprocess.CompletedProcess[str]:
    command = [sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", *args]
    return subprocess.run(
        command,
        cwd=suite,
        env=dict(environ),
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
        check=False,
    )


def _fail(completed: subprocess.CompletedProcess[str], why: str) -> BenchError:
    tail = "\n".join(completed.stdout.splitlines()[-30:])
    command = " ".join(str(arg) for arg in completed.args)
    return BenchError(
        f"{command} exited with {completed.returncode}: {why}; output ends:\n{tail}"
    )


def _count(output: str, word: str) -> int:
    match = re.search(rf"(\d+) {word}\b", output)
    return int(match.group(1)) if match else 0


def save_baseline(
    suite: Path, environ: Mapping[str, str], tests: int, extra: Sequence[str] = ()
) -> None:
    """Save one unslowed run under the baseline label.

    :raises BenchError: The run failed or was not saved.
    """
    completed = run_pytest(suite, [f"--timer-save={BASELINE_LABEL}", *extra], environ)
    if completed.returncode != 0 or _count(completed.stdout, "passed") != tests:
        raise _fail(completed, f"expected 0 and {tests} passed")
    if "saved this run" not in completed.stdout:
        raise _fail(completed, "expected 'saved this run'")


def run_trial(
    suite: Path, args: Sequence[str], environ: Mapping[str, str], tests: int
) -> Outcome:
    """Run one compared trial and read its verdicts.

    :raises BenchError: pytest ended in any way other than every test passing
        or failing because its timer got slower.
    """
    completed = run_pytest(suite, list(args), environ)
    output = completed.stdout
    if completed.returncode not in (0, 1):
        raise _fail(completed, "expected 0 (no regression) or 1 (got slower)")
    if "timers compared with" not in output:
        raise _fail(completed, "no comparison with the baseline was printed")
    # Keep one line per test, whatever else the output repeats.
    verdicts = list(
        {match["test"]: match for match in _VERDICT_LINE.finditer(output)}.values()
    )
    if len(verdicts) != tests:
        raise _fail(
            completed, f"expected verdicts of {tests} tests, got {len(verdicts)}"
        )
    slower = sum(match["kind"] == "SLOWER" for match in verdicts)
    failed = _count(output, "failed")
    passed = _count(output, "passed")
    errors = _count(output, "errors?")
    # Every failure must be a timer that got slower, and nothing else.
    is_flagged = completed.returncode == 1 and "got slower" in output
    consistent = (
        errors == 0
        and failed + passed == tests
        and failed == slower
        and is_flagged == (failed > 0)
    )
    if not consistent:
        raise _fail(
            completed,
            f"expected only 'got slower' failures ({failed} failed, {passed} passed,"
            f" {errors} errors, {slower} slower verdicts)",
        )
    confirmations = [match.group(1) for match in _CONFIRM_LINE.finditer(output)]
    return Outcome(
        is_flagged=is_flagged,
        changes=tuple(float(match["change"]) / 100 for match in verdicts),
        rerun=len(confirmations),
        held=confirmations.count("held every time"),
    )


def wilson(hits: int, total: int) -> tuple[float, float]:
    """The 95% Wilson score interval of a proportion."""
    if total == 0:
        return 0.0, 1.0
    p = hits / total
    z2 = Z_95 * Z_95
    denominator = 1 + z2 / total
    center = (p + z2 / (2 * total)) / denominator
    half = Z_95 * math.sqrt(p * (1 - p) / total + z2 / (4 * total**2)) / denominator
    return max(0.0, center - half), min(1.0, center + half)


def rate_cell(outcomes: Sequence[Outcome]) -> str:
    hits = sum(outcome.is_flagged for outcome in outcomes)
    total = len(outcomes)
    low, high = wilson(hits, total)
    rate = hits / total if total else math.nan
    return f"{hits:>3}/{total:<3} {rate:6.1%} [{low:5.1%}, {high:5.1%}]"


def describe_changes(outcomes: Sequence[Outcome]) -> str:
    changes = sorted(change for outcome in outcomes for change in outcome.changes)
    if not changes:
        return "none"
    middle = statistics.median(changes)
    return (
        f"min {changes[0]:+.1%}, median {middle:+.1%}, max {changes[-1]:+.1%}"
        f" over {len(changes)} test runs"
    )


def print_results(
    modes: Sequence[Mode], tallies: Mapping[str, Tally], tolerance: float
) -> bool:
    """Print the table and the analysis; return whether a mode met both targets."""
    header = (
        f"{'mode':<22} {'slow':>4} {'same':>4}  {'detection (95% CI)':<29}"
        f" {'target':<10}  {'false alarms (95% CI)':<29} {'target':<10}"
    )
    print(header)
    print("-" * len(header))
    any_met = False
    for mode in modes:
        tally = tallies[mode.label]
        detection = sum(o.is_flagged for o in tally.slow) / max(1, len(tally.slow))
        alarms = sum(o.is_flagged for o in tally.unchanged) / max(
            1, len(tally.unchanged)
        )
        detected = detection >= DETECTION_TARGET
        quiet = alarms <= FALSE_ALARM_TARGET
        any_met |= detected and quiet
        print(
            f"{mode.label:<22} {len(tally.slow):>4} {len(tally.unchanged):>4}"
            f"  {rate_cell(tally.slow):<29}"
            f" {'>= 95% ' + ('ok' if detected else 'MISSED'):<10}"
            f"  {rate_cell(tally.unchanged):<29}"
            f" {'<= 1% ' + ('ok' if quiet else 'MISSED'):<10}"
        )
    print()
    print("Change of each test's median against the pooled baseline:")
    for mode in modes:
        tally = tallies[mode.label]
        print(f"  {mode.label}")
        for kind, outcomes, beyond in (
            ("unchanged", tally.unchanged, "above"),
            ("slowed 20%", tally.slow, "below"),
        ):
            changes = [change for outcome in outcomes for change in outcome.changes]
            past = sum(
                change > tolerance if beyond == "above" else change <= tolerance
                for change in changes
            )
            print(
                f"    {kind:<11} {describe_changes(outcomes)};"
                f" {past} {beyond} the {tolerance:.0%} tolerance"
            )
        rerun = sum(o.rerun for o in (*tally.slow, *tally.unchanged))
        if rerun:
            held_slow = sum(o.held for o in tally.slow)
            held_same = sum(o.held for o in tally.unchanged)
            rerun_slow = sum(o.rerun for o in tally.slow)
            rerun_same = sum(o.rerun for o in tally.unchanged)
            print(
                f"    re-run to confirm: {rerun_slow} tests in slowed trials"
                f" ({held_slow} held), {rerun_same} in unchanged trials"
                f" ({held_same} held)"
            )
    return any_met


def print_baseline(store_path: Path, runs: int) -> None:
    """Print each baseline run's median per test: the run-to-run drift."""
    with open_store(store_path) as store:
        saved = list(reversed(store.runs(label=BASELINE_LABEL, limit=runs)))
        medians: dict[str, list[float]] = {}
        for run in saved:
            for (test_id, name), record in sorted(store.records(run.run_id).items()):
                if name == TIMER_NAME:
                    medians.setdefault(test_id, []).append(record.median)
    for test_id, values in medians.items():
        center = statistics.median(values)
        spread = (max(values) - min(values)) / center
        shown = " ".join(f"{value * 1e3:.3f}" for value in values)
        print(f"  {test_id}: {shown} ms (range {spread:.1%} of their median)")


def _at_least(minimum: int) -> Callable[[str], int]:
    def parse(text: str) -> int:
        try:
            value = int(text)
        except ValueError:
            value = minimum - 1
        if value < minimum:
            msg = f"expected a whole number >= {minimum}, got {text!r}"
            raise argparse.ArgumentTypeError(msg)
        return value

    return parse


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "--quick", action="store_true", help="Run a short smoke test (10 trials)"
    )
    parser.add_argument(
        "--trials", type=_at_least(2), metavar="N", help="Trials (default 60)"
    )
    parser.add_argument(
        "--seed", type=int, default=20240601, help="Seed of the slow/unchanged draw"
    )
    parser.add_argument(
        "--confirm",
        type=_at_least(1),
        default=2,
        metavar="N",
        help="--timer-confirm of the second mode (default 2)",
    )
    parser.add_argument(
        "--baseline-runs",
        type=_at_least(1),
        metavar="N",
        help="Runs saved as the baseline (default 5, 3 with --quick)",
    )
    parser.add_argument(
        "--tests", type=_at_least(1), default=3, metavar="N", help="Tests (default 3)"
    )
    parser.add_argument(
        "--timings",
        type=_at_least(MIN_SAMPLES),
        default=30,
        metavar="N",
        help="Timings of the block per test (default 30)",
    )
    parser.add_argument(
        "--clock",
        choices=("wall", "cpu"),
        default="wall",
        help="Clock of the timed block (default wall, the Timer default)",
    )
    parser.add_argument(
        "--normalize",
        action="store_true",
        help="Save and compare with --timer-normalize (a reference loop per test)",
    )
    parser.add_argument(
        "--ab",
        action="store_true",
        help="Judge the A/B command instead, beside the stored baseline, under a"
        " quiet and a drifting load (default 100 trials per condition)",
    )
    parser.add_argument(
        "--rounds", type=_at_least(2), metavar="N", help="--rounds of the A/B command"
    )
    parser.add_argument(
        "--conditions",
        nargs="+",
        choices=("quiet", "drift"),
        default=("quiet", "drift"),
        help="Which loads to run --ab under (default both)",
    )
    parser.add_argument(
        "--drift-period",
        type=float,
        default=3.0,
        metavar="S",
        help="Seconds between switching the drifting load on and off (default 3)",
    )
    parser.add_argument(
        "--block-ms",
        type=float,
        default=1.5,
        metavar="MS",
        help="Cost of the block, calibrated (default 1.5)",
    )
    return parser


@dataclass
class ABTally:
    """One condition's A/B and stored-baseline outcomes, by kind of trial."""

    ab: dict[str, list[Outcome]] = field(default_factory=dict)
    stored: dict[str, list[Outcome]] = field(default_factory=dict)
    seconds: list[float] = field(default_factory=list)


KINDS: Final = {"same": 1.0, "slow 20%": SLOWDOWN, "slow 10%": 1.10}


def ab_main(args: argparse.Namespace) -> int:
    """Both methods under a quiet load and a drifting one; see --ab."""
    from pytest_tracer._ab.cli import DEFAULT_ROUNDS

    trials: int = args.trials or (6 if args.quick else 100)
    rounds: int = args.rounds or DEFAULT_ROUNDS
    baseline_runs: int = args.baseline_runs or (3 if args.quick else 5)
    tests, timings = args.tests, args.timings
    size, cost = calibrate(args.block_ms / 1e3)
    plan = ["same"] * (trials // 2) + ["slow 20%"] * (trials // 2)
    plan += ["slow 10%"] * max(1, trials // 4)
    random.Random(args.seed).shuffle(plan)
    environ = base_environment()
    print(
        f"Python {sys.version.split()[0]} on {os.cpu_count()} CPUs; block: {size}"
        f" iterations, {cost * 1e3:.3f} ms; {tests} tests x {timings} timings;"
        f" A/B with --rounds {rounds}; stored baseline last:{baseline_runs};"
        f" per condition {plan.count('same')} unchanged, {plan.count('slow 20%')}"
        f" slowed 20%, {plan.count('slow 10%')} slowed 10% (A/B only); one other"
        " process spins on a core throughout"
    )
    tallies: dict[str, ABTally] = {}
    started = time.perf_counter()
    for condition in args.conditions:
        tally = tallies[condition] = ABTally()
        drift = (
            drifting_load(args.drift_period)
            if condition == "drift"
            else contextlib.nullcontext()
        )
        print(
            f"{condition}: "
            + (
                f"one more spinner switched on and off every {args.drift_period:g} s"
                if condition == "drift"
                else "no further load"
            ),
            flush=True,
        )
        with (
            tempfile.TemporaryDirectory(prefix="tracer-ab-signal-") as directory,
            busy_core(),
            drift,
        ):
            root = Path(directory)
            # Bytecode caches in the scratch directory; each rewritten head
            # gets a new modification time, so no stale cache is ever used.
            environ["PYTHONPYCACHEPREFIX"] = str(root / "pycache")
            environ.pop("PYTHONDONTWRITEBYTECODE", None)
            stamp = time.time() - 10 * len(plan)
            common = {"size": size, "tests": tests, "timings": timings,
                      "clock": args.clock}  # fmt: skip
            base = write_suite(root, name="base", **common)  # type: ignore[arg-type]
            for _ in range(baseline_runs):
                save_baseline(base, environ, tests)
            store = f"--timer-store={base / '.pytest-tracer' / 'history.sqlite'}"
            for index, kind in enumerate(plan):
                head = write_suite(
                    root,
                    name="head",
                    scale=KINDS[kind],
                    **common,  # type: ignore[arg-type]
                )
                stamp += 10
                os.utime(head / "tests" / "test_block.py", (stamp, stamp))
                outcome, seconds = run_ab_trial(base, head, rounds, environ, tests)
                tally.ab.setdefault(kind, []).append(outcome)
                tally.seconds.append(seconds)
                line = f"ab {'FLAGGED' if outcome.is_flagged else 'quiet':<7}"
                if kind != "slow 10%":
                    stored = run_trial(
                        head, (f"--timer-compare=last:{baseline_runs}", store),
                        environ, tests,
                    )  # fmt: skip
                    tally.stored.setdefault(kind, []).append(stored)
                    line += f", stored {'FLAGGED' if stored.is_flagged else 'quiet'}"
                print(
                    f"  {condition} trial {index + 1:>3}/{len(plan)} {kind:<8} {line}"
                    f" ({seconds:.1f} s)",
                    flush=True,
                )
    minutes = (time.perf_counter() - started) / 60
    print()
    print(f"{len(plan) * len(tallies)} A/B trials in {minutes:.1f} min")
    met = True
    header = (
        f"{'condition':<9} {'method':<16} {'detection 20% (95% CI)':<29}"
        f" {'false alarms (95% CI)':<29} {'detection 10% (95% CI)':<29}"
    )
    print(header)
    print("-" * len(header))
    for condition, tally in tallies.items():
        for method, found in (("ab", tally.ab), ("stored baseline", tally.stored)):
            slow, same = found.get("slow 20%", []), found.get("same", [])
            ten = found.get("slow 10%")
            label = f"ab, {rounds} rounds" if method == "ab" else method
            print(
                f"{condition:<9} {label:<16}"
                f" {rate_cell(slow):<29} {rate_cell(same):<29}"
                f" {rate_cell(ten) if ten else '-':<29}"
            )
            if method == "ab":
                detection = sum(o.is_flagged for o in slow) / max(1, len(slow))
                alarms = sum(o.is_flagged for o in same) / max(1, len(same))
                met &= detection >= DETECTION_TARGET and alarms <= FALSE_ALARM_TARGET
        times = sorted(tally.seconds)
        print(
            f"{condition:<9} A/B wall time per trial: median"
            f" {statistics.median(times):.1f} s, max {times[-1]:.1f} s"
        )
    print()
    print(
        "A/B targets met in every condition run (detection >= 95%, false alarms"
        " <= 1%, on the point estimates)"
        if met
        else "A/B targets MISSED (detection >= 95%, false alarms <= 1%)"
    )
    return 0 if met else 1


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    if args.ab:
        return ab_main(args)
    trials: int = args.trials or (10 if args.quick else 60)
    baseline_runs: int = args.baseline_runs or (3 if args.quick else 5)
    tests: int = args.tests
    timings: int = args.timings
    compare = f"--timer-compare=last:{baseline_runs}"
    extra: tuple[str, ...] = ("--timer-normalize",) if args.normalize else ()
    modes = [
        Mode("no confirmation", (compare, *extra)),
        Mode(
            f"--timer-confirm={args.confirm}",
            (compare, f"--timer-confirm={args.confirm}", *extra),
        ),
    ]
    size, cost = calibrate(args.block_ms / 1e3)
    draw = random.Random(args.seed)
    is_slow = [index < trials // 2 for index in range(trials)]
    draw.shuffle(is_slow)

    print(
        f"Python {sys.version.split()[0]} on {os.cpu_count()} CPUs,"
        f" load {' '.join(f'{load:.2f}' for load in os.getloadavg())}"
    )
    print(
        f"block: {size} loop iterations, {cost * 1e3:.3f} ms alone"
        f" (best of {CALIBRATION_REPEATS});"
        f" slowed trials run {SLOWDOWN:.2f}x the iterations ({SCALE_VARIABLE})"
    )
    print(
        f"suite: {tests} tests x {timings} timings of"
        f" Timer({TIMER_NAME!r}, clock={args.clock!r}) each;"
        f" tolerance {TOLERANCE}, noise_floor {NOISE_FLOOR}, p_value {P_VALUE},"
        f" min_samples {MIN_SAMPLES} ([tool.pytest-tracer])"
    )
    print(
        f"baseline: {baseline_runs} runs saved as {BASELINE_LABEL!r}, compared"
        f" with {compare}: pooling runs ({baseline_runs * timings} samples per"
        " test) puts the run-to-run drift into the reference, where one run would"
        " lend its own luck to every trial"
    )
    print(
        f"trials: {trials} ({sum(is_slow)} slowed), seed {args.seed}; each runs"
        f" {' and '.join(repr(mode.label) for mode in modes)}, in alternating"
        " order; one other process spins on a core throughout"
    )
    print(
        "normalize: "
        + (
            "on (--timer-normalize: scaled by a reference loop timed around each test)"
            if args.normalize
            else "off"
        )
    )
    print(
        "a trial is flagged when pytest exits 1 with 'got slower';"
        " any other failure stops the benchmark"
    )

    tallies = {mode.label: Tally() for mode in modes}
    environ = base_environment()
    slow_environ = {**environ, SCALE_VARIABLE: str(SLOWDOWN)}
    started = time.perf_counter()
    with (
        tempfile.TemporaryDirectory(prefix="tracer-signal-") as directory,
        busy_core(),
    ):
        suite = write_suite(
            Path(directory), size=size, tests=tests, timings=timings, clock=args.clock
        )
        # Uncounted: compiles the test module and warms the caches.
        run_pytest(suite, [], environ)
        for _ in range(baseline_runs):
            save_baseline(suite, environ, tests, extra)
        print("baseline medians per run (drift between runs of unchanged code):")
        print_baseline(suite / ".pytest-tracer" / "history.sqlite", baseline_runs)
        for index, slow in enumerate(is_slow):
            order = modes if index % 2 == 0 else list(reversed(modes))
            parts = []
            for mode in order:
                outcome = run_trial(
                    suite, mode.args, slow_environ if slow else environ, tests
                )
                tally = tallies[mode.label]
                (tally.slow if slow else tally.unchanged).append(outcome)
                changes = " ".join(f"{change:+.1%}" for change in outcome.changes)
                flag = "FLAGGED" if outcome.is_flagged else "quiet"
                parts.append(f"{mode.label}: {flag:<7} ({changes})")
            kind = "slow" if slow else "same"
            print(
                f"  trial {index + 1:>3}/{trials} {kind}  " + "; ".join(parts),
                flush=True,
            )
    minutes = (time.perf_counter() - started) / 60
    print()
    print(
        f"{trials} trials in {minutes:.1f} min; load now"
        f" {' '.join(f'{load:.2f}' for load in os.getloadavg())}"
    )
    tolerance = float(TOLERANCE.rstrip("%")) / 100
    met = print_results(modes, tallies, tolerance)
    print()
    print(
        "targets met (detection >= 95%, false alarms <= 1%)"
        if met
        else "targets MISSED: no mode reached both detection >= 95%"
        " and false alarms <= 1%"
    )
    return 0 if met else 1


if __name__ == "__main__":
    raise SystemExit(main())
