"""The pytest plugin's entry point (``tracer``, so ``-p no:tracer`` turns it off).

It adds the options, the marker and the ``timer`` fixture, and registers the
parts a run needs, each in its own module: the per-test session
(:mod:`._session`) wherever tests run, the summary (:mod:`._summary`) where
the run is reported, re-runs (:mod:`._confirm`) and the history
(:mod:`._history`) only when asked for, and the xdist contract
(:mod:`._xdist`) under xdist.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING, Final

import pytest

from . import _log
from ._collect import Collector
from ._config import Thresholds, TracerConfig
from ._options import add_options, read_settings, resolve
from ._results import Confirmation, PhaseResult
from ._session import MARKER, Collected, HeldTaker, TestSession
from ._summary import RunSummary
from ._timer import add_sink, remove_sink, set_default_clocks

if TYPE_CHECKING:
    from . import _xdist
    from ._fixture import TimerFixture

MARKER_HELP: Final = (
    f"{MARKER}(mapping=None, **limits): override [tool.pytest-tracer."
    f'thresholds] for this test, e.g. {MARKER}(db_query="200ms") or '
    f'{MARKER}({{"db_*": "50ms"}})'
)

settings_key: Final = pytest.StashKey[TracerConfig]()
collector_key: Final = pytest.StashKey[Collector]()
fallback_key: Final = pytest.StashKey[bool]()
session_key: Final = pytest.StashKey[TestSession]()
SESSION_NAME: Final = "pytest-tracer-session"


def pytest_addoption(parser: pytest.Parser) -> None:
    add_options(parser)


def pytest_addhooks(pluginmanager: pytest.PytestPluginManager) -> None:
    from . import _hookspecs

    pluginmanager.add_hookspecs(_hookspecs)


def _settings(config: pytest.Config) -> TracerConfig:
    settings = config.stash.get(settings_key, None)
    if settings is None:
        settings = config.stash[settings_key] = read_settings(config)
        if settings.clocks:
            set_default_clocks(settings.clock_for)
    return settings


def _collector(config: pytest.Config) -> Collector:
    collector = config.stash.get(collector_key, None)
    if collector is None:
        collector = config.stash[collector_key] = Collector()
        add_sink(collector.receive)
        collector.watch_threads()
        # Under pytest the standard log levels decide: a timing makes a log
        # record only where the user asked for DEBUG.
        config.stash[fallback_key] = _log.set_fallback(False)
    return collector


@pytest.hookimpl(tryfirst=True)
def pytest_load_initial_conftests(early_config: pytest.Config) -> None:
    # Conftests load before pytest_configure: their timers count for the
    # session, and use the configured clocks.
    _settings(early_config)
    _collector(early_config)


def _is_worker(config: pytest.Config) -> bool:
    return hasattr(config, "workerinput")  # set by xdist on its workers only


def _is_distributing(config: pytest.Config) -> bool:
    """Whether this process is an xdist controller that sends tests to workers."""
    return config.pluginmanager.hasplugin("xdist") and (
        getattr(config.option, "dist", "no") != "no"
    )


def _worker_sender(config: pytest.Config, thresholds: Thresholds) -> _xdist.Sender:
    """On a worker: what hands results to the controller, without the limits
    the controller reads from the same pyproject."""
    from . import _xdist

    agreed = _xdist.limits_agreed(config, thresholds)
    return _xdist.Sender(
        thresholds.limits_for if agreed else None,
        brief=_xdist.brief(config),
        held=_xdist.takes_held(config),
    )


def pytest_configure(config: pytest.Config) -> None:
    config.addinivalue_line("markers", MARKER_HELP)
    options = resolve(config, _settings(config))
    collector = _collector(config)
    thresholds = options.settings.thresholds
    summary: RunSummary | None = None
    sender: _xdist.Sender | None = None
    deliver: Callable[[pytest.TestReport, PhaseResult], bool]
    held: Callable[[], HeldTaker | None]
    if _is_worker(config):
        sender = _worker_sender(config, thresholds)
        deliver, held = sender.send, sender.held_taker
    else:
        summary = RunSummary(config, options, collector)
        deliver, held = summary.take, summary.held_taker
    session = TestSession(
        collector,
        thresholds,
        enforce=options.enforce,
        normalize=options.normalize,
        deliver=deliver,
    )
    if not options.confirm:  # a re-run's results replace the run's before
        session.held_taker = held
    config.stash[session_key] = session
    session.junit = bool(getattr(config.option, "xmlpath", None))
    session.setup_only = bool(getattr(config.option, "setuponly", False))
    manager = config.pluginmanager
    manager.register(Collected(session), "pytest-tracer-collected")
    if options.confirm or options.normalize:
        # Re-runs and the machine's speed need every test followed.
        session.awake = True
        manager.register(session, SESSION_NAME)
    else:
        session.sleep(
            lambda plugin: manager.register(
                plugin, SESSION_NAME if plugin is session else None
            ),
            manager.unregister,
        )
    if summary is None:  # an xdist worker
        from . import _xdist

        assert sender is not None
        if options.confirm:
            register_confirm(manager, options.confirm, session, None)
        manager.register(_xdist.WorkerHooks(collector, sender), "pytest-tracer-worker")
        if options.compare is not None:
            from ._history import hooks

            session.comparer = hooks.worker_comparer(
                config, options.compare, options.store, options.settings
            )
        return
    session.done = summary.test_done
    manager.register(summary, "pytest-tracer-summary")
    if options.confirm:
        register_confirm(manager, options.confirm, session, summary.confirm)
    inputs: dict[str, object] = {}
    if options.uses_history:
        from ._history import hooks

        if options.compare is not None:
            comparer = hooks.resolve_baseline(
                options.compare,
                options.store,
                options.settings,
                summary.notes,
                required=options.require_baseline,
                cwd=config.invocation_params.dir,
            )
            if comparer is not None:
                session.comparer = comparer
                summary.baseline = comparer.description
                inputs = hooks.worker_inputs(comparer)
        if options.save_label is not None:
            hooks.check_writable(options.store)
            summary.finishers.append(
                hooks.Saver(
                    config,
                    options.save_label,
                    options.store,
                    summary.notes,
                    options.branch,
                )
            )
    if options.writes_files:
        from ._outputs import Outputs

        outputs = Outputs(config, options, summary.notes)
        outputs.baseline = summary.baseline
        summary.finishers.append(outputs)
    if _is_distributing(config):
        from . import _xdist

        inputs.update(_xdist.limits_input(thresholds))
        manager.register(
            _xdist.ControllerHooks(summary, thresholds.limits_for, inputs),
            "pytest-tracer-controller",
        )


def register_confirm(
    manager: pytest.PytestPluginManager,
    retries: int,
    session: TestSession,
    record: Callable[[Confirmation], None] | None,
) -> None:
    """Re-run tests whose timings fail them (``--timer-confirm``)."""
    from ._confirm import ConfirmRuns

    manager.register(ConfirmRuns(retries, session, record), "pytest-tracer-confirm")


def pytest_unconfigure(config: pytest.Config) -> None:
    collector = config.stash.get(collector_key, None)
    if collector is not None:
        remove_sink(collector.receive)
        collector.unwatch_threads()
        _log.set_fallback(config.stash[fallback_key])
        del config.stash[collector_key]
    if session_key in config.stash:
        del config.stash[session_key]
    if settings_key in config.stash:
        del config.stash[settings_key]
    set_default_clocks(None)


@pytest.fixture
def timer(request: pytest.FixtureRequest) -> TimerFixture:
    """Time blocks and check every timing this test recorded.

    ``with timer("parse"): ...`` times a block; ``timer.stats("parse")`` gives
    count, total, min, max, mean, median, p95 and p99 of every ``parse``
    timing recorded in this test so far (in fixtures, the code under test and
    its threads too); ``timer.assert_under("parse", "50ms")`` fails the test
    when the max (or another statistic) is not under the limit.
    """
    from ._fixture import TimerFixture  # loaded by the first test that asks

    return TimerFixture(request.config.stash[session_key])
