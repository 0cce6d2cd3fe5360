"""Re-run a test whose timings failed it, to confirm the breach holds.

Registered only with ``--timer-confirm=N`` (``confirm = N``): it replaces
pytest's run of each test so that failed attempts are not reported, and
reports the last attempt with the number of runs it took.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import final

import pytest
from _pytest.runner import call_and_report, show_test_item

from . import _xdist
from ._results import Confirmation
from ._session import TestSession, attempt_key


def _parent_of(item: pytest.Item) -> pytest.Item | None:
    # Teardown keeps what the "next item" needs: the test's own parent keeps
    # every fixture above function scope alive.
    return item.parent  # type: ignore[return-value]


@final
class ConfirmRuns:
    """Runs each test up to ``1 + retries`` times while its timings fail it.

    :param record: Where confirmations go on the reporting process; on an
        xdist worker (None) they travel on the reports.
    """

    def __init__(
        self,
        retries: int,
        session: TestSession,
        record: Callable[[Confirmation], None] | None,
    ) -> None:
        self.retries = retries
        self.session = session
        self.record = record

    @pytest.hookimpl(tryfirst=True)
    def pytest_runtest_protocol(
        self, item: pytest.Item, nextitem: pytest.Item | None
    ) -> bool:
        item.ihook.pytest_runtest_logstart(nodeid=item.nodeid, location=item.location)
        attempt = 1
        while True:
            item.stash[attempt_key] = attempt
            reports = self._attempt(item, nextitem, retry_left=attempt <= self.retries)
            if attempt > self.retries or not self.session.failed_on_timings:
                break
            attempt += 1
        held = self.session.failed_on_timings
        passed = all(not report.failed for report in reports)
        for report in reports:
            if attempt > 1:
                _xdist.set_runs(report, attempt, passed=passed, held=held)
            item.ihook.pytest_runtest_logreport(report=report)
        if attempt > 1 and self.record is not None:
            self.record(Confirmation(item.nodeid, attempt, passed, held))
        item.ihook.pytest_runtest_logfinish(nodeid=item.nodeid, location=item.location)
        return True

    def _attempt(
        self, item: pytest.Item, nextitem: pytest.Item | None, *, retry_left: bool
    ) -> list[pytest.TestReport]:
        """pytest's runtestprotocol, with one change: when the test failed on
        its timings and will run again, teardown keeps the fixtures above
        function scope (the test's parent is the "next item")."""
        has_request = hasattr(item, "_request")
        if has_request and not item._request:  # type: ignore[attr-defined]
            item._initrequest()  # type: ignore[attr-defined]
        try:
            report = call_and_report(item, "setup", log=False)
            reports = [report]
            if report.passed:
                setup_only = item.config.getoption("setuponly", False)
                if item.config.getoption("setupshow", False):
                    show_test_item(item, add_space=not setup_only)
                if not setup_only:
                    self.session.call_starts(item)
                    reports.append(call_and_report(item, "call", log=False))
            session = item.session
            keep = _parent_of(item)
            if not (retry_left and self.session.failed_on_timings):
                keep = None if session.shouldfail or session.shouldstop else nextitem
            self.session.teardown_starts(item)
            reports.append(call_and_report(item, "teardown", log=False, nextitem=keep))
        finally:
            if has_request:
                item._request = False  # type: ignore[attr-defined]
                item.funcargs = None  # type: ignore[attr-defined]
        return reports
