"""The contract between an xdist controller and its workers.

- Each test report carries its phase's :class:`~._results.PhaseResult` as
  versioned builtins, marshalled, in one string (pytest serialises extra
  report attributes as they are; execnet sends one string much faster than
  nested lists, and marshal writes and reads builtins several times faster
  than JSON), so the controller learns of a test's timings as soon as that
  test ends and a crashing worker loses at most the test it was running.
  Limits both ends read from the same pyproject are left out.
- When the controller keeps no timings per test (no report, no per-test
  output, no file, no plugin asking for them), only results with breaches
  or comparisons travel on reports: the names the other tests timed are all
  it needs of them, and they travel once, at the end.
- When it keeps timings by name only (``--timer-report`` without per-test
  tables), a body whose timings broke no pyproject limit travels as its
  names and values, marshalled, on the call's report: the controller merges
  them by name without rebuilding a result.
- Timings outside any test travel once, in ``workeroutput``, at the end of
  the worker's session.
- What the controller decides for the whole run (which baseline runs a
  comparison uses) reaches every worker in ``workerinput``.

xdist's dynamic attributes are read here only, through ``getattr``; the
entry point tells whether xdist runs at all, and loads this module only then.
"""

from __future__ import annotations

import marshal
from collections.abc import Callable, Mapping, Sequence
from typing import Any, Final, Protocol

import pytest

from ._collect import Collector
from ._config import Thresholds
from ._results import (
    SCHEMA_VERSION,
    Confirmation,
    HeldTimer,
    PhaseResult,
    ResultError,
    SharedLimits,
    note_names,
)
from ._stats import Accumulator

REPORT_ATTRIBUTE: Final = "pytest_tracer"
#: The marshal format the payload is written in, which every supported
#: Python reads alike for builtins.
MARSHAL_VERSION: Final = 4
_dumps: Final = marshal.dumps
_loads: Final = marshal.loads
#: How many runs a test confirmed by re-runs took, on its reports.
RUNS_ATTRIBUTE: Final = "pytest_tracer_runs"
WORKEROUTPUT_KEY: Final = "pytest_tracer_session"
#: The ids of the baseline runs, chosen on the controller.
WORKERINPUT_BASELINE: Final = "pytest_tracer_baseline_runs"
#: The controller's pyproject limits, as text: a worker that reads the same
#: leaves them out of its results.
WORKERINPUT_LIMITS: Final = "pytest_tracer_limits"
#: True when the controller keeps no timings per test (see :class:`Sender`).
WORKERINPUT_BRIEF: Final = "pytest_tracer_brief"
#: True when the controller takes a body's timings that broke no limit
#: without their result (see :meth:`Sender.held_taker`).
WORKERINPUT_HELD: Final = "pytest_tracer_held"
#: The report attribute of such timings: names and values, marshalled.
HELD_ATTRIBUTE: Final = "pytest_tracer_held"


class Sender:
    """On a worker: puts each phase's result on its report, for the controller.

    :param shared: The pyproject's limits by name, when the controller
        reads the same (see :func:`limits_agreed`): they are not sent.
    :param brief: The controller keeps no timings per test: a result then
        travels only with breaches or comparisons, and of the others the
        controller gets the names timed (:attr:`names`, :attr:`checked`) at
        the end, in ``workeroutput``.
    :param held: The controller takes a body's timings that broke the
        pyproject's limits nowhere without their result: they travel as
        names and values on the call's report.
    """

    def __init__(
        self, shared: SharedLimits | None, *, brief: bool = False, held: bool = False
    ) -> None:
        self._shared = shared
        self._brief = brief
        #: Whether held timings travel as they were timed.
        self.sends_held = held and not brief and shared is not None
        #: The timer names of the results not sent, and those with limits.
        self.names: set[str] = set()
        self.checked: set[str] = set()

    def held_taker(
        self,
    ) -> Callable[[pytest.TestReport, Sequence[HeldTimer]], None] | None:
        """What takes a body's timings that broke no limit, without their
        result (see :attr:`TestSession.held_taker`): notes their names, or
        puts them on the call's report as timed; None when every result is
        sent."""
        if self._brief:
            return self._note_held
        return self._send_held if self.sends_held else None

    def _send_held(
        self, report: pytest.TestReport, timers: Sequence[HeldTimer]
    ) -> None:
        shared = self._shared
        assert shared is not None
        sent = []
        for name, values, limits in timers:
            if limits is not shared(name):  # a marker's: the result says which
                self.send(report, PhaseResult.of_held(report.nodeid, timers))
                return
            sent.append([name, list(values)])
        payload = _dumps([SCHEMA_VERSION, report.nodeid, sent], MARSHAL_VERSION)
        setattr(report, HELD_ATTRIBUTE, payload.decode("latin-1"))

    def _note_held(
        self, report: pytest.TestReport, timers: Sequence[HeldTimer]
    ) -> None:
        note_names(timers, self.names, self.checked)

    def send(self, report: pytest.TestReport, result: PhaseResult) -> bool:
        """Put *result* on *report*, or only note its names.

        :returns: False: nothing on a worker waits for the test's end (the
            controller sees it in the teardown report).
        """
        if self._brief and not (result.breaches or result.comparisons):
            note_names(result.timers, self.names, self.checked)
            return False
        payload = _dumps(result.to_builtins(self._shared), MARSHAL_VERSION)
        setattr(report, REPORT_ATTRIBUTE, payload.decode("latin-1"))
        return False


def read(
    report: pytest.TestReport, shared: SharedLimits | None = None
) -> PhaseResult | None:
    """On the controller: the result a worker's report carries, if any.

    The payload is taken off the report: what else reads reports (pytest's
    report log, say) never sees it.

    :param shared: Gives the limits of a timer sent without them.
    :raises ResultError: The payload is from another schema version or damaged.
    """
    try:
        data = _payload(report, REPORT_ATTRIBUTE)
        return None if data is None else PhaseResult.from_builtins(data, shared)
    except (ValueError, EOFError, TypeError) as error:
        raise _damaged(report, error) from None


def _payload(report: pytest.TestReport, attribute: str) -> object:
    """The builtins a worker marshalled onto *report*, taken off it; None
    without them."""
    payload = report.__dict__.pop(attribute, None)
    if payload is None:
        return None
    if not isinstance(payload, str):
        msg = f"expected a string, got {type(payload).__name__}"
        raise ValueError(msg)
    return _loads(payload.encode("latin-1"))


def _damaged(report: pytest.TestReport, error: Exception) -> ResultError:
    # ResultError, or bytes that are no marshalled builtins.
    msg = f"timings on the report of {report.nodeid}: {error}"
    if not isinstance(error, ResultError):
        msg += " (is the same pytest-tracer version on the controller and the workers?)"
    return ResultError(msg)


_EXPECTED_HELD: Final = "expected each timer's name once, with its durations in seconds"
_INFINITY: Final = float("inf")


def read_held(
    report: pytest.TestReport, shared: SharedLimits
) -> list[HeldTimer] | None:
    """On the controller: the held timings a worker's call report carries,
    with the pyproject's limits, if any (taken off the report).

    :raises ResultError: The payload is from another schema version or damaged.
    """
    try:
        data = _payload(report, HELD_ATTRIBUTE)
        if data is None:
            return None
        if not isinstance(data, list) or len(data) != 3:
            raise ValueError("expected [version, test, timers]")
        version, test_id, sent = data
        if version != SCHEMA_VERSION:
            msg = f"timings of schema version {version!r}, expected {SCHEMA_VERSION}"
            raise ResultError(msg)
        if test_id != report.nodeid or not isinstance(sent, list):
            raise ValueError(f"expected the timers of {report.nodeid}")
        timers: list[HeldTimer] = []
        seen: set[str] = set()
        for name, values in sent:
            if not isinstance(name, str) or name in seen:
                raise ValueError(_EXPECTED_HELD)
            if not isinstance(values, list) or not values:
                raise ValueError(_EXPECTED_HELD)
            for value in values:
                # Finite durations only: NaN fails both comparisons.
                if type(value) is not float or not 0.0 <= value < _INFINITY:
                    raise ValueError(_EXPECTED_HELD)
            seen.add(name)
            timers.append((name, values, shared(name)))
    except (ValueError, EOFError, TypeError) as error:
        raise _damaged(report, error) from None
    return timers


def takes_held(config: pytest.Config) -> bool:
    """On a worker: whether the controller takes held timings as timed."""
    return workerinput(config).get(WORKERINPUT_HELD) is True


def limits_agreed(config: pytest.Config, thresholds: Thresholds) -> bool:
    """On a worker: whether the controller reads the same pyproject limits,
    so that results may leave them out."""
    return workerinput(config).get(WORKERINPUT_LIMITS) == repr(thresholds)


def limits_input(thresholds: Thresholds) -> dict[str, object]:
    """On the controller: what tells workers which limits it reads."""
    return {WORKERINPUT_LIMITS: repr(thresholds)}


def brief(config: pytest.Config) -> bool:
    """On a worker: whether the controller keeps no timings per test."""
    return workerinput(config).get(WORKERINPUT_BRIEF) is True


def set_runs(
    report: pytest.TestReport, runs: int, *, passed: bool = True, held: bool = False
) -> None:
    """Note on a report that its test ran *runs* times to confirm its timings,
    whether the last run passed, and whether it failed on its timings."""
    setattr(report, RUNS_ATTRIBUTE, [runs, passed, held])


def confirmation_of(report: pytest.TestReport) -> tuple[int, bool, bool]:
    """(runs, passed, held) as :func:`set_runs` noted them; (1, True, False)."""
    value = getattr(report, RUNS_ATTRIBUTE, None)
    if (
        isinstance(value, list)
        and len(value) == 3
        and isinstance(value[0], int)
        and all(isinstance(flag, bool) for flag in value[1:])
    ):
        return value[0], value[1], value[2]
    return 1, True, False


def workerinput(config: pytest.Config) -> Mapping[str, Any]:
    """On a worker: what the controller sent; empty elsewhere."""
    value = getattr(config, "workerinput", None)
    return value if isinstance(value, Mapping) else {}


def store_session_timers(
    config: pytest.Config,
    timers: Mapping[str, Accumulator],
    late: Mapping[str, Mapping[str, int]] | None = None,
    sender: Sender | None = None,
) -> None:
    """On a worker: hand the timings made outside any test to the controller,
    how many finished in a thread after its test ended, and the names timed
    in results that were not sent."""
    workeroutput = getattr(config, "workeroutput", None)
    if workeroutput is not None:
        workeroutput[WORKEROUTPUT_KEY] = {
            "version": SCHEMA_VERSION,
            "timers": {name: stats.to_builtins() for name, stats in timers.items()},
            "late": {test: dict(counts) for test, counts in (late or {}).items()},
            "names": sorted(sender.names) if sender is not None else [],
            "checked": sorted(sender.checked) if sender is not None else [],
        }


def _worker_output(node: object) -> dict[str, Any] | None:
    """What a finished worker stored for the controller; None without it
    (the worker crashed) or from another schema version."""
    workeroutput = getattr(node, "workeroutput", None) or {}
    data = workeroutput.get(WORKEROUTPUT_KEY)
    if not isinstance(data, dict) or data.get("version") != SCHEMA_VERSION:
        return None
    return data


def read_late_timings(node: object) -> dict[str, dict[str, int]]:
    """On the controller: a finished worker's timings from threads whose test
    had ended, counted by test and name."""
    data = _worker_output(node)
    if data is None:
        return {}
    late = data.get("late")
    if not isinstance(late, dict):
        return {}
    return {
        str(test): {str(name): int(count) for name, count in counts.items()}
        for test, counts in late.items()
        if isinstance(counts, dict)
    }


def read_names(node: object) -> tuple[set[str], set[str]] | None:
    """On the controller: the names a finished worker timed in results it did
    not send, and those with limits; None when it sent no output (it crashed)."""
    data = _worker_output(node)
    if data is None:
        return None
    names, checked = data.get("names"), data.get("checked")
    if not isinstance(names, list) or not isinstance(checked, list):
        return None
    return {str(name) for name in names}, {str(name) for name in checked}


def read_session_timers(node: object) -> dict[str, Accumulator]:
    """On the controller: the timings a finished worker made outside any test."""
    data = _worker_output(node)
    if data is None:
        return {}
    return {
        str(name): Accumulator.from_builtins(value)
        for name, value in data["timers"].items()
    }


class WorkerHooks:
    """Registered on an xdist worker only."""

    def __init__(self, collector: Collector, sender: Sender) -> None:
        self._collector = collector
        self._sender = sender

    @pytest.hookimpl(tryfirst=True)
    def pytest_sessionfinish(self, session: pytest.Session) -> None:
        collector = self._collector
        store_session_timers(
            session.config,
            collector.session.snapshot(),
            collector.late_counts(),
            self._sender,
        )


class Receiver(Protocol):
    """What the controller hands the workers' results to: the run's summary."""

    notes: list[str]

    def take(self, report: pytest.TestReport, result: PhaseResult) -> bool: ...

    def take_held(
        self, report: pytest.TestReport, timers: Sequence[HeldTimer]
    ) -> None: ...

    def held_taker(
        self,
    ) -> Callable[[pytest.TestReport, Sequence[HeldTimer]], None] | None: ...

    def test_done(self, test_id: str) -> None: ...

    def confirm(self, confirmation: Confirmation) -> None: ...

    def merge_session_timers(self, timers: Mapping[str, Accumulator]) -> None: ...

    def merge_late(self, late: Mapping[str, Mapping[str, int]]) -> None: ...

    def merge_names(self, names: tuple[set[str], set[str]] | None) -> None: ...

    def keeps_every_result(self) -> bool: ...


class ControllerHooks:
    """Registered on the xdist controller only, when it sends tests to workers.

    :param receiver: Takes the results the workers' reports carry.
    :param shared: The limits by name that workers leave out of results.
    :param inputs: Added to every worker's ``workerinput``.
    """

    def __init__(
        self,
        receiver: Receiver,
        shared: SharedLimits,
        inputs: Mapping[str, object],
    ) -> None:
        self._receiver = receiver
        self._shared = shared
        self._inputs = inputs

    def pytest_runtest_logreport(self, report: pytest.TestReport) -> None:
        receiver = self._receiver
        carried = report.__dict__
        try:
            if HELD_ATTRIBUTE in carried:
                timers = read_held(report, self._shared)
                if timers is not None:
                    receiver.take_held(report, timers)
            if REPORT_ATTRIBUTE in carried:
                result = read(report, self._shared)
                if result is not None:
                    receiver.take(report, result)
        except ResultError as error:
            receiver.notes.append(str(error))
            return
        if report.when == "teardown":
            receiver.test_done(report.nodeid)
            runs, passed, held = confirmation_of(report)
            if runs > 1:
                receiver.confirm(Confirmation(report.nodeid, runs, passed, held))

    @pytest.hookimpl(optionalhook=True)
    def pytest_configure_node(self, node: object) -> None:
        sent = getattr(node, "workerinput", None)
        if isinstance(sent, dict):
            sent.update(self._inputs)
            sent[WORKERINPUT_BRIEF] = not self._receiver.keeps_every_result()
            sent[WORKERINPUT_HELD] = self._receiver.held_taker() is not None

    @pytest.hookimpl(optionalhook=True)
    def pytest_testnodedown(self, node: object, error: object) -> None:
        receiver = self._receiver
        receiver.merge_session_timers(read_session_timers(node))
        receiver.merge_late(read_late_timings(node))
        receiver.merge_names(read_names(node))
