"""Count what the pytest plugin adds, in CPU instructions rather than seconds.

Run ``python bench/plugin_instructions.py`` (``--tests 500`` for a quicker
run). It needs valgrind: each pytest run executes under
``valgrind --tool=callgrind``, which counts the instructions the process
executed. The count does not depend on what else the machine is doing, so
on a shared or noisy machine, where ``plugin_overhead.py``'s wall-clock
medians swing by more than the targets, this script gives ratios that repeat
(hash randomisation is fixed with ``PYTHONHASHSEED=0``; the same run twice
differs by well under 0.5%).

It runs the suites of ``plugin_overhead.py``: three timers a test with the
plugin off, on, and on with ``--timer-report``, each also under ``-n 2``
(pytest-xdist; callgrind then follows the workers, and the count is the sum
over the controller and both workers: the work the run costs, where the
wall time also depends on how the two cores share it), and trivial tests
without timers off and on. ``--no-xdist`` leaves the ``-n 2`` runs out.
Then it counts one timing:
a decorated no-op called 200,000 times with the plugin's sink, without it,
and undecorated. Ratios compare with the "off" of the same kind, measured in
the same run. Targets as ``plugin_overhead.py``'s: 1.05x with timers (also
with the report), 1.02x idle. The exit status is 1 when a target is missed,
2 without valgrind.
"""

from __future__ import annotations

import argparse
import re
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path
from typing import Final

import plugin_overhead as po

CALLS: Final = 200_000
TIMING_SCRIPT: Final = """
import logging, sys
logging.getLogger().addHandler(logging.NullHandler())
from pytest_tracer import Timer, _log
from pytest_tracer._collect import Collector
from pytest_tracer._timer import add_sink
_log.set_fallback(False)
def noop(): pass
timed = Timer("noop")(noop)
mode = sys.argv[2]
if mode == "sink":
    collector = Collector(); add_sink(collector.receive); collector.begin()
call = noop if mode == "plain" else timed
for _ in range(int(sys.argv[1])): call()
"""


def instructions(command: list[str], cwd: Path, environ: dict[str, str]) -> int:
    """Instructions *command* executed, as callgrind counts them, summed over
    the processes it starts (xdist's workers)."""
    done = subprocess.run(
        [
            "valgrind",
            "--tool=callgrind",
            "--trace-children=yes",
            "--callgrind-out-file=/dev/null",
            *command,
        ],
        cwd=cwd,
        env=environ,
        capture_output=True,
        text=True,
        check=False,
    )
    found = re.findall(r"Collected : (\d+)", done.stderr)
    if done.returncode != 0 or not found:
        msg = f"{' '.join(command)} failed under valgrind:\n{done.stdout[-2000:]}"
        raise po.BenchError(msg)
    return sum(int(count) for count in found)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--tests", type=int, default=2000, metavar="N")
    parser.add_argument(
        "--no-xdist", action="store_true", help="leave out the -n 2 runs"
    )
    args = parser.parse_args()
    if shutil.which("valgrind") is None:
        print("valgrind is not installed: apt-get install valgrind", file=sys.stderr)
        return 2
    with tempfile.TemporaryDirectory(prefix="tracer-instructions-") as temp:
        root = Path(temp)
        suites = {
            True: po.write_suite(root, args.tests, idle=True),
            False: po.write_suite(root, args.tests),
        }
        environ = po.base_environment(root / "pycache")
        environ["PYTHONHASHSEED"] = "0"
        pytest = [sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider"]
        runs = {
            "off": (False, ["-p", "no:tracer"]),
            "on": (False, []),
            "report": (False, ["--timer-report"]),
            "idle off": (True, ["-p", "no:tracer"]),
            "idle on": (True, []),
        }
        if not args.no_xdist:
            runs["off -n 2"] = (False, ["-p", "no:tracer", "-n", "2"])
            runs["on -n 2"] = (False, ["-n", "2"])
            runs["report -n 2"] = (False, ["--timer-report", "-n", "2"])
        counts = {}
        for label, (idle, extra) in runs.items():
            # Uncounted first: it compiles the modules into the cache.
            po.run_pytest(suites[idle], extra, environ, passed=args.tests)
            counts[label] = instructions([*pytest, *extra], suites[idle], environ)
            print(f"  {label:11s} {counts[label]:>15,d} instructions", flush=True)
        script = root / "timing.py"
        script.write_text(TIMING_SCRIPT, encoding="utf-8")
        timing = {
            mode: instructions(
                [sys.executable, str(script), str(CALLS), mode], root, environ
            )
            for mode in ("plain", "nosink", "sink")
        }
    print(f"\n{args.tests} tests, Python {sys.version.split()[0]}, callgrind")
    missed = False
    checks = [
        ("on", "off", po.ON_TARGET),
        ("report", "off", po.REPORT_TARGET),
        ("idle on", "idle off", po.IDLE_TARGET),
    ]
    if not args.no_xdist:
        checks += [
            ("on -n 2", "off -n 2", po.ON_TARGET),
            ("report -n 2", "off -n 2", po.REPORT_TARGET),
        ]
    for label, base, target in checks:
        ratio = counts[label] / counts[base]
        extra = (counts[label] - counts[base]) / args.tests
        verdict = "ok" if ratio <= target else "MISSED"
        missed |= ratio > target
        print(
            f"{label:11s} {ratio:.4f}x {base}  ({extra:,.0f} more instructions"
            " a test, start-up included)"
            f"  target <= {target}x {verdict}"
        )
    timer = (timing["nosink"] - timing["plain"]) / CALLS
    sink = (timing["sink"] - timing["nosink"]) / CALLS
    print(
        f"one timing: {timer:,.0f} instructions for the Timer, "
        f"{sink:,.0f} more for the plugin's sink"
    )
    return 1 if missed else 0


if __name__ == "__main__":
    sys.exit(main())
