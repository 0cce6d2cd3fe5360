"""Re-run a test whose timings failed it, to confirm the breach holds.

Registered only with ``--timer-confirm=N`` (``confirm = N``): it replaces
pytest's run of each test so that failed attempts are not reported, and
reports the last attempt with the number of runs it took.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import final

import pytest
from _pytest.runner import runtestprotocol

from . import _xdist
from ._results import Confirmation
from ._session import TestSession, attempt_key


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
            reports = runtestprotocol(item, nextitem=nextitem, log=False)
            if attempt > self.retries or not self.session.failed_on_timings:
                break
            # runtestprotocol left the item ready for a fresh request.
            attempt += 1
        for report in reports:
            if attempt > 1:
                _xdist.set_runs(report, attempt)
                if self.record is not None and report.when == "call":
                    self.record(Confirmation(item.nodeid, attempt, report.passed))
            item.ihook.pytest_runtest_logreport(report=report)
        item.ihook.pytest_runtest_logfinish(nodeid=item.nodeid, location=item.location)
        return True
