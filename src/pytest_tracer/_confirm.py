"""Re-run a test whose timings failed it, to confirm the breach holds.

Registered only with ``--timer-confirm=N`` (``confirm = N``): it replaces
pytest's run of each test so that failed attempts are not reported, and
reports the last attempt with the number of runs it took.
"""

from __future__ import annotations

from typing import final

import pytest
from _pytest.runner import runtestprotocol

from ._session import TestSession, attempt_key


@final
class ConfirmRuns:
    """Runs each test up to ``1 + retries`` times while its timings fail it."""

    def __init__(self, retries: int, session: TestSession) -> None:
        self.retries = retries
        self.session = session

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
                report.pytest_tracer_runs = attempt  # type: ignore[attr-defined]
            item.ihook.pytest_runtest_logreport(report=report)
        item.ihook.pytest_runtest_logfinish(nodeid=item.nodeid, location=item.location)
        return True
