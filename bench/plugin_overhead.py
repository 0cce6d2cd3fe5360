"""Measure what the pytest plugin adds to a test run: wall time and peak memory.

Run ``python bench/plugin_overhead.py`` (``--quick`` for a smoke run of about a
minute). Everything runs in a temporary directory, nothing is left behind.

Wall time: a generated suite of small tests, each timing three blocks of
trivial work under names shared by every test, with loose thresholds in its
pyproject.toml, runs as a subprocess with the plugin off (``-p no:tracer``),
on, and on with ``--timer-report``; then each of those with ``-n 2``
(pytest-xdist); then a suite of as many trivial tests without any timer, off
and on, for what the idle plugin costs per test. The configurations take
turns, round after round, so a busy spell on the machine slows them all
alike; each keeps its median and its best round, and ratios compare against
the "off" of the same kind measured in the same run.

One test calls a decorated no-op function a million times: its peak RSS
(VmHWM, written by the generated conftest as pytest ends) and CPU time, with
the plugin off and on, with default logging (no log record is made under
pytest unless DEBUG is asked for), with ``--log-level=DEBUG`` (pytest then
keeps every record, as users who ask get it), and with the timer logger at
INFO. The same test with an undecorated no-op, plugin on, gives the loop's
own cost: the difference, per call, is what one timing costs in a test.

Targets: the idle plugin costs at most 1.02x on trivial tests; with three
timers a test the plugin costs at most 1.05x, also under ``-n 2`` and with
``--timer-report``; one timing in a test costs at most 1.5 us; the plugin
adds at most 64 MB of peak memory. The exit status is 1 when a target is
missed.
"""

from __future__ import annotations

import argparse
import importlib.util
import os
import resource
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Final, NamedTuple

TIMER_NAMES: Final = ("parse", "db_query", "render")
MANY_NAME: Final = "noop"
LEVEL_VARIABLE: Final = "TRACER_BENCH_TIMER_LEVEL"
PEAK_VARIABLE: Final = "TRACER_BENCH_PEAK_FILE"
COUNT_VARIABLE: Final = "TRACER_BENCH_TIMINGS"
TESTS_PER_FILE: Final = 100

PLAIN_VARIABLE: Final = "TRACER_BENCH_PLAIN"
ON_TARGET: Final = 1.05
REPORT_TARGET: Final = 1.05
IDLE_TARGET: Final = 1.02
TIMING_TARGET_US: Final = 1.5
MEMORY_TARGET_MB: Final = 64.0

# Loose enough never to fail, but every name is checked after every test.
PYPROJECT: Final = f"""\
[tool.pytest.ini_options]
testpaths = ["tests"]

[tool.pytest-tracer.thresholds]
parse = "10s"
"db_*" = {{ max = "10s", p95 = "5s" }}
render = {{ median = "5s" }}
{MANY_NAME} = "10s"
"""

CONFTEST: Final = f"""\
from __future__ import annotations

import logging
import os
import resource
import sys
from pathlib import Path

_LEVEL = os.environ.get({LEVEL_VARIABLE!r})
if _LEVEL:
    # Set before any Timer is made: a Timer keeps a level that was set.
    for _name in {(*TIMER_NAMES, MANY_NAME)!r}:
        logging.getLogger(_name).setLevel(_LEVEL)


def _peak_kib() -> int:
    try:
        with open("/proc/self/status", encoding="ascii") as status:
            for line in status:
                if line.startswith("VmHWM:"):
                    return int(line.split()[1])
    except OSError:
        pass
    import resource

    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    return peak // 1024 if sys.platform == "darwin" else peak


def pytest_unconfigure(config: object) -> None:
    path = os.environ.get({PEAK_VARIABLE!r})
    if path:
        Path(path).write_text(str(_peak_kib()), encoding="ascii")
"""

MODULE_HEAD: Final = """\
from __future__ import annotations

from pytest_tracer import Timer


def _work() -> int:
    return sum(range(20))
"""

IDLE_TEMPLATE: Final = """

def test_{index:05d}() -> None:
    _work()
"""

TEST_TEMPLATE: Final = """

def test_{index:05d}() -> None:
    with Timer("parse"):
        _work()
    with Timer("db_query"):
        _work()
    with Timer("render"):
        _work()
"""

MANY_TEST: Final = f"""\
from __future__ import annotations

import os
import resource

from pytest_tracer import Timer

COUNT = int(os.environ[{COUNT_VARIABLE!r}])


def noop() -> None:
    pass


if not os.environ.get({PLAIN_VARIABLE!r}):
    noop = Timer({MANY_NAME!r})(noop)


def test_many_timings_of_one_name() -> None:
    for _ in range(COUNT):
        noop()
"""


class BenchError(RuntimeError):
    """A pytest run did not end as the benchmark expects."""


@dataclass(frozen=True)
class Configuration:
    """One way to run the suite, and what it is compared with."""

    label: str
    args: tuple[str, ...]
    #: The label of the run with the plugin off that this one is compared to.
    baseline: str | None = None
    target: float | None = None
    #: Text the output must contain, proving the plugin did its part.
    expect: str | None = None
    #: Which suite: three timers a test, or none.
    idle: bool = False


def configurations(*, xdist: bool) -> list[Configuration]:
    """Plugin off, on and reporting, serial and with ``-n 2``, then idle."""
    kinds: list[tuple[str, tuple[str, ...]]] = [("", ())]
    if xdist:
        kinds.append((" -n 2", ("-n", "2")))
    result = []
    for suffix, extra in kinds:
        off = f"off{suffix}"
        result += [
            Configuration(off, ("-p", "no:tracer", *extra)),
            Configuration(f"on{suffix}", extra, baseline=off, target=ON_TARGET),
            Configuration(
                f"report{suffix}",
                ("--timer-report", *extra),
                baseline=off,
                target=REPORT_TARGET,
                expect="timer report",
            ),
        ]
    result += [
        Configuration("idle off", ("-p", "no:tracer"), idle=True),
        Configuration(
            "idle on", (), baseline="idle off", target=IDLE_TARGET, idle=True
        ),
    ]
    return result


def write_suite(root: Path, tests: int, *, idle: bool = False) -> Path:
    """Write the many-small-tests suite under *root*; return its directory."""
    suite = root / ("idle" if idle else "suite")
    (suite / "tests").mkdir(parents=True)
    (suite / "pyproject.toml").write_text(PYPROJECT, encoding="utf-8")
    (suite / "conftest.py").write_text(CONFTEST, encoding="utf-8")
    template = IDLE_TEMPLATE if idle else TEST_TEMPLATE
    for first in range(0, tests, TESTS_PER_FILE):
        body = [MODULE_HEAD]
        for index in range(first, min(first + TESTS_PER_FILE, tests)):
            body.append(template.format(index=index))
        module = suite / "tests" / f"test_module_{first // TESTS_PER_FILE:03d}.py"
        module.write_text("".join(body), encoding="utf-8")
    return suite


def write_memory_suite(root: Path) -> Path:
    """Write the one-test, many-timings suite under *root*; return its directory."""
    suite = root / "memory"
    (suite / "tests").mkdir(parents=True)
    (suite / "pyproject.toml").write_text(PYPROJECT, encoding="utf-8")
    (suite / "conftest.py").write_text(CONFTEST, encoding="utf-8")
    (suite / "tests" / "test_many.py").write_text(MANY_TEST, encoding="utf-8")
    return suite


def base_environment(pycache: Path) -> dict[str, str]:
    """The subprocesses' environment: the caller's, minus what skews the runs."""
    environ = dict(os.environ)
    # The caller's pytest settings must not change what is measured.
    for variable in (
        "PYTEST_ADDOPTS",
        "PYTEST_PLUGINS",
        LEVEL_VARIABLE,
        PLAIN_VARIABLE,
    ):
        environ.pop(variable, None)
    # Without bytecode caching every run would compile and assertion-rewrite
    # the whole suite again, a fixed cost that hides the plugin's; the cache
    # goes to the temporary directory, not beside the sources.
    environ.pop("PYTHONDONTWRITEBYTECODE", None)
    environ["PYTHONPYCACHEPREFIX"] = str(pycache)
    environ["COLUMNS"] = "120"
    return environ


class Run(NamedTuple):
    """One pytest subprocess: its wall time and the CPU time of its processes."""

    wall: float
    cpu: float


def _children_cpu() -> float:
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    return usage.ru_utime + usage.ru_stime


def run_pytest(
    suite: Path,
    args: Sequence[str],
    environ: Mapping[str, str],
    *,
    passed: int,
    expect: str | None = None,
) -> Run:
    """Run pytest on *suite* in a subprocess and time it.

    The CPU time covers pytest and the xdist workers it waited for; on a
    shared machine it suffers less than the wall time from other work.

    :raises BenchError: pytest failed, or its output lacks the test count or
        *expect*.
    """
    command = [sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", *args]
    cpu_before = _children_cpu()
    start = time.perf_counter()
    completed = subprocess.run(
        command,
        cwd=suite,
        env=dict(environ),
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
        check=False,
    )
    run = Run(time.perf_counter() - start, _children_cpu() - cpu_before)
    output = completed.stdout
    missing = [
        text for text in (f"{passed} passed", expect) if text and text not in output
    ]
    if completed.returncode != 0 or missing:
        last_lines = "\n".join(output.splitlines()[-30:])
        msg = (
            f"{' '.join(command)} in {suite} exited with {completed.returncode}"
            f" (expected 0, and output with {missing or 'the test count'}):\n"
            f"{last_lines}"
        )
        raise BenchError(msg)
    return run


def time_configurations(
    suites: Mapping[bool, Path],
    configs: Sequence[Configuration],
    environ: Mapping[str, str],
    *,
    tests: int,
    repeats: int,
) -> dict[str, list[Run]]:
    """Run every configuration *repeats* times, taking turns; return the runs.

    :param suites: The suite directory for idle (True) and timed (False) runs.
    """
    runs: dict[str, list[Run]] = {config.label: [] for config in configs}
    # Uncounted first runs: they compile the test modules and warm the caches.
    warm = {("-n" in config.args, config.idle): config for config in configs}
    for config in warm.values():
        run_pytest(suites[config.idle], config.args, environ, passed=tests)
    for round_index in range(repeats):
        # Each round starts one configuration further on, so none always runs
        # right after the same other one.
        shift = round_index % len(configs)
        for config in [*configs[shift:], *configs[:shift]]:
            runs[config.label].append(
                run_pytest(
                    suites[config.idle],
                    config.args,
                    environ,
                    passed=tests,
                    expect=config.expect,
                )
            )
        print(
            f"  round {round_index + 1}/{repeats}: "
            + ", ".join(f"{c.label} {runs[c.label][-1].wall:.2f}s" for c in configs),
            flush=True,
        )
    return runs


class Peak(NamedTuple):
    """One memory run: peak RSS in MB (10**6 bytes), and its times."""

    mb: float
    run: Run


@dataclass(frozen=True)
class MemoryCase:
    """The many-timings test with one logging setup, plugin off and on."""

    label: str
    level: str | None
    args: tuple[str, ...] = ()


MEMORY_CASES: Final = (
    MemoryCase("default logging", None),
    MemoryCase("--log-level=DEBUG", None, ("--log-level=DEBUG",)),
    MemoryCase("timer logger at INFO", "INFO"),
)


def measure_peak(
    suite: Path,
    args: Sequence[str],
    base: Mapping[str, str],
    *,
    level: str | None,
    timings: int,
    scratch: Path,
    plain: bool = False,
) -> Peak:
    """Run the many-timings test once; return pytest's peak RSS and times.

    :param plain: Call the no-op undecorated: the loop's own cost.
    """
    environ = dict(base)
    if plain:
        environ[PLAIN_VARIABLE] = "1"
    environ[COUNT_VARIABLE] = str(timings)
    peak_file = scratch / "peak.txt"
    peak_file.unlink(missing_ok=True)
    environ[PEAK_VARIABLE] = str(peak_file)
    if level is not None:
        environ[LEVEL_VARIABLE] = level
    run = run_pytest(suite, args, environ, passed=1)
    kib = int(peak_file.read_text(encoding="ascii"))
    return Peak(kib * 1024 / 1e6, run)


def measure_memory(
    suite: Path,
    environ: Mapping[str, str],
    *,
    timings: int,
    repeats: int,
    scratch: Path,
) -> tuple[dict[tuple[str, bool], list[Peak]], list[Peak]]:
    """Measure every memory case with the plugin off and on, *repeats* times.

    :returns: The peaks by (case, plugin on), and the plain loop's runs.
    """
    peaks: dict[tuple[str, bool], list[Peak]] = {}
    plain: list[Peak] = []
    for _ in range(repeats):
        plain.append(
            measure_peak(
                suite,
                (),
                environ,
                level=None,
                timings=timings,
                scratch=scratch,
                plain=True,
            )
        )
        print(f"  plain loop, plugin on: {plain[-1].run.cpu:.2f}s CPU", flush=True)
        for case in MEMORY_CASES:
            for is_on in (False, True):
                flags = case.args if is_on else ("-p", "no:tracer", *case.args)
                peak = measure_peak(
                    suite,
                    flags,
                    environ,
                    level=case.level,
                    timings=timings,
                    scratch=scratch,
                )
                peaks.setdefault((case.label, is_on), []).append(peak)
                print(
                    f"  {case.label}, plugin {'on' if is_on else 'off'}:"
                    f" {peak.mb:.1f} MB peak, {peak.run.wall:.2f}s",
                    flush=True,
                )
    return peaks, plain


def _verdict(value: float, target: float) -> str:
    return "ok" if value <= target else "MISSED"


def print_time_table(
    configs: Sequence[Configuration], runs: Mapping[str, Sequence[Run]]
) -> bool:
    """Print the run-time table; return whether every target was met."""
    wall = {label: statistics.median(r.wall for r in rs) for label, rs in runs.items()}
    best = {label: min(r.wall for r in rs) for label, rs in runs.items()}
    cpu = {label: statistics.median(r.cpu for r in rs) for label, rs in runs.items()}
    met = True
    print(
        f"{'':<20} {'wall time':^31} {'CPU time':^16}\n"
        f"{'configuration':<20} {'median':>7} {'min':>7} {'ratio':>7} {'of min':>7}"
        f" {'median':>7} {'ratio':>7}  target (median wall ratio)"
    )
    for config in configs:
        label = config.label
        line = f"{label:<20} {wall[label]:6.2f}s {best[label]:6.2f}s"
        if config.baseline is None or config.target is None:
            print(f"{line} {'':>7} {'':>7} {cpu[label]:6.2f}s")
            continue
        base = config.baseline
        ratio = wall[label] / wall[base]
        met &= ratio <= config.target
        print(
            f"{line} {ratio:6.3f}x {best[label] / best[base]:6.3f}x"
            f" {cpu[label]:6.2f}s {cpu[label] / cpu[base]:6.3f}x"
            f"  <= {config.target:.2f}x {_verdict(ratio, config.target)}"
        )
    return met


def print_memory_table(
    peaks: Mapping[tuple[str, bool], Sequence[Peak]],
    plain: Sequence[Peak],
    timings: int,
) -> bool:
    """Print the peak-memory table; return whether every target was met."""
    met = True
    print(
        f"{'case':<23} {'off':>9} {'on':>9} {'extra':>9}  {'target':<12}"
        f" {'CPU off':>8} {'CPU on':>8} {'wall on':>8}"
    )
    for case in MEMORY_CASES:
        off = peaks[(case.label, False)]
        on = peaks[(case.label, True)]
        off_mb = statistics.median(peak.mb for peak in off)
        on_mb = statistics.median(peak.mb for peak in on)
        extra = on_mb - off_mb
        met &= extra <= MEMORY_TARGET_MB
        off_cpu = statistics.median(peak.run.cpu for peak in off)
        on_cpu = statistics.median(peak.run.cpu for peak in on)
        on_wall = statistics.median(peak.run.wall for peak in on)
        print(
            f"{case.label:<23} {off_mb:6.1f} MB {on_mb:6.1f} MB {extra:6.1f} MB"
            f"  <= {MEMORY_TARGET_MB:.0f} MB {_verdict(extra, MEMORY_TARGET_MB):<6}"
            f" {off_cpu:7.2f}s {on_cpu:7.2f}s {on_wall:7.2f}s"
        )
    loop = statistics.median(peak.run.cpu for peak in plain)
    timed = statistics.median(
        peak.run.cpu for peak in peaks[(MEMORY_CASES[0].label, True)]
    )
    per_timing = (timed - loop) / timings * 1e6
    met &= per_timing <= TIMING_TARGET_US
    print(
        f"one timing in a test, plugin on, default logging: {per_timing:.2f} us"
        f" (CPU {timed:.2f}s timed - {loop:.2f}s plain loop, over {timings} calls)"
        f"  <= {TIMING_TARGET_US} us {_verdict(per_timing, TIMING_TARGET_US)}"
    )
    return met


def positive_int(value: str) -> int:
    try:
        number = int(value)
    except ValueError:
        number = 0
    if number < 1:
        msg = f"expected a whole number >= 1, got {value!r}"
        raise argparse.ArgumentTypeError(msg)
    return number


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "--quick",
        action="store_true",
        help="A smoke run: 100 tests, 2 rounds, 20000 timings",
    )
    parser.add_argument(
        "--tests", type=positive_int, metavar="N", help="Tests in the suite (2000)"
    )
    parser.add_argument(
        "--repeats",
        type=positive_int,
        metavar="N",
        help="Rounds, each running every configuration once (7)",
    )
    parser.add_argument(
        "--timings",
        type=positive_int,
        metavar="N",
        help="Timings of one name in the memory test (1000000)",
    )
    parser.add_argument(
        "--memory-repeats",
        type=positive_int,
        metavar="N",
        default=1,
        help="Runs of each memory case (1: peak RSS hardly varies)",
    )
    args = parser.parse_args(argv)
    tests: int = args.tests or (100 if args.quick else 2000)
    repeats: int = args.repeats or (2 if args.quick else 7)
    timings: int = args.timings or (20_000 if args.quick else 1_000_000)
    has_xdist = importlib.util.find_spec("xdist") is not None
    configs = configurations(xdist=has_xdist)

    print(
        f"Python {sys.version.split()[0]}, {os.cpu_count()} CPUs: {tests} tests"
        f" x {len(TIMER_NAMES)} timers, {repeats} rounds of {len(configs)}"
        " configurations taking turns"
    )
    if not has_xdist:
        print("pytest-xdist is not installed: skipping the -n 2 configurations")
    with tempfile.TemporaryDirectory(prefix="tracer-bench-") as directory:
        root = Path(directory)
        environ = base_environment(root / "pycache")
        suites = {
            False: write_suite(root, tests),
            True: write_suite(root, tests, idle=True),
        }
        runs = time_configurations(
            suites, configs, environ, tests=tests, repeats=repeats
        )
        print(f"memory: one test, {timings} timings of one name")
        peaks, plain = measure_memory(
            write_memory_suite(root),
            environ,
            timings=timings,
            repeats=args.memory_repeats,
            scratch=root,
        )

    print()
    print(f"Whole pytest run, {tests} tests, {repeats} rounds")
    met = print_time_table(configs, runs)
    print()
    print(
        f"Peak RSS of pytest, one test recording {timings} timings"
        f" (median of {args.memory_repeats})"
    )
    met &= print_memory_table(peaks, plain, timings)
    print()
    print("all targets met" if met else "some targets MISSED")
    return 0 if met else 1


if __name__ == "__main__":
    raise SystemExit(main())
