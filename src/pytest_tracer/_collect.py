"""Where timings land while pytest runs: the running test phase, or the session.

Pure bookkeeping with no pytest import: the session decides when a phase
begins and ends, and what its timings mean.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterable
from typing import Final, final

from ._stats import Accumulator

#: A name's first timings in a bucket go straight to its accumulator: most
#: tests time a name a few times, and a batch would cost them more.
DIRECT: Final = 16
#: From then on a name's timings are held as a plain list and added to the
#: accumulator this many at a time: appending is the cheapest thing a timing
#: can cost, and the batch is small enough to leave memory bounded.
BATCH: Final = 256


@final
class Bucket:
    """Timings of one test phase (or of the session), fed from any thread.

    A batched timing is appended to its name's list without a lock
    (``list.append`` is atomic); the lock guards the rest: a name's first
    timings, making its list, and draining lists into the accumulators, which
    takes the values present and leaves any appended meanwhile. Hold
    :attr:`lock` while reading :attr:`timers` if threads may still add.
    """

    __slots__ = ("_timers", "lock", "pending")

    def __init__(self) -> None:
        self._timers: dict[str, Accumulator] = {}
        #: Timings not yet in their accumulator, by name (see :data:`BATCH`).
        #: A name's list is never replaced, so an appender cannot lose a value.
        self.pending: dict[str, list[float]] = {}
        self.lock = threading.Lock()

    @property
    def timers(self) -> dict[str, Accumulator]:
        """Every name's accumulator, holding every timing added so far."""
        if self.pending:
            for name, values in self.pending.items():
                if values:
                    self._drain(name, values)
        return self._timers

    def add(self, name: str, seconds: float) -> None:
        values = self.pending.get(name)
        if values is not None and len(values) < BATCH:
            values.append(seconds)
        else:
            self.add_slowly(name, seconds)

    def add_slowly(self, name: str, seconds: float) -> None:
        """:meth:`add` for a name's first timings, or a full batch."""
        with self.lock:
            values = self.pending.get(name)
            if values is not None:
                values.append(seconds)
                if len(values) >= BATCH:
                    self._drain(name, values)
                return
            accumulator = self._timers.get(name)
            if accumulator is None:
                accumulator = self._timers[name] = Accumulator()
            accumulator.add(seconds)
            if accumulator.count >= DIRECT:
                self.pending[name] = []

    def _drain(self, name: str, values: list[float]) -> None:
        # Under the lock. Values appended after the copy stay for next time.
        taken = values[:]
        del values[: len(taken)]
        self._timers[name].extend(taken)

    def snapshot(self) -> dict[str, Accumulator]:
        """Independent copies, safe to keep while threads still add."""
        with self.lock:
            return {name: acc.copy() for name, acc in self.timers.items()}


def merged(buckets: Iterable[Bucket]) -> dict[str, Accumulator]:
    """Independent accumulators, one per name, over several buckets."""
    result: dict[str, Accumulator] = {}
    for bucket in buckets:
        with bucket.lock:
            for name, accumulator in bucket.timers.items():
                existing = result.get(name)
                if existing is None:
                    result[name] = accumulator.copy()
                else:
                    existing.merge(accumulator)
    return result


#: The start of the attribute a started thread carries, the test that
#: started it; each collector has its own (pytest may run inside pytest).
OWNER: Final = "_pytest_tracer_test_"
_get_ident: Final = threading.get_ident
_current_thread: Final = threading.current_thread


@final
class Collector:
    """The Timer sink: adds each timing to the bucket of the running phase.

    One test runs at a time in a pytest process, so "running" is global. A
    thread started by a test's body belongs to that test (see
    :meth:`watch_threads`): its timings while the test runs count for it,
    and those that finish after the test ended go to :attr:`late`, never to
    the test running then. Other threads (a server a fixture started, a
    pool made at import) count for whichever test is running. A phase's
    bucket is made by its first timing, so a test without timers costs
    nothing here.
    """

    __slots__ = (
        "_attribute",
        "_current",
        "_lock",
        "_main",
        "_owner",
        "_start",
        "late",
        "session",
    )

    def __init__(self) -> None:
        self.session = Bucket()
        #: Timings from threads whose test had ended, by the test that
        #: started the thread.
        self.late: dict[str, Bucket] = {}
        # None: a phase runs and has no timing yet.
        self._current: Bucket | None = self.session
        self._lock = threading.Lock()
        # The thread running the tests, and the test whose body runs (the
        # owner of threads started now).
        self._main = _get_ident()
        self._owner: str | None = None
        self._attribute = f"{OWNER}{id(self):x}"
        # Thread.start as it was before watch_threads.
        self._start: Callable[[threading.Thread], None] | None = None

    def receive(self, name: str, seconds: float) -> None:
        bucket = self._current
        if _get_ident() != self._main:
            bucket = self._of_thread(bucket)
        if bucket is None:
            bucket = self._open()
        # Bucket.add, inlined: this runs once per timing.
        values = bucket.pending.get(name)
        if values is not None and len(values) < BATCH:
            values.append(seconds)
        else:
            bucket.add_slowly(name, seconds)

    def _of_thread(self, bucket: Bucket | None) -> Bucket | None:
        # A timing from another thread than the tests': the running phase's,
        # unless a test that has ended started that thread.
        owner = getattr(_current_thread(), self._attribute, None)
        if owner is None or owner == self._owner:
            return bucket
        with self._lock:
            late = self.late.get(owner)
            if late is None:
                late = self.late[owner] = Bucket()
        return late

    def late_counts(self) -> dict[str, dict[str, int]]:
        """How many timings of each name came late, by the thread's test."""
        return {
            test: {name: stats.count for name, stats in bucket.snapshot().items()}
            for test, bucket in self.late.items()
        }

    def owner(self, test_id: str | None) -> None:
        """*test_id*'s body runs (None: no test's): threads started from now
        on belong to it."""
        self._owner = test_id
        self._main = _get_ident()

    def watch_threads(self) -> None:
        """Mark each thread started from now on with the test whose body runs."""
        if self._start is not None:
            return
        original = threading.Thread.start
        collector, attribute = self, self._attribute

        def start(thread: threading.Thread) -> None:
            owner = collector._owner
            if owner is not None:
                setattr(thread, attribute, owner)
            original(thread)

        start.__wrapped__ = original  # type: ignore[attr-defined]
        start.__doc__ = original.__doc__
        self._start = original
        threading.Thread.start = start  # type: ignore[method-assign, assignment]

    def unwatch_threads(self) -> None:
        """Undo :meth:`watch_threads`."""
        if self._start is not None:
            threading.Thread.start = self._start  # type: ignore[method-assign, assignment]
            self._start = None

    def _open(self) -> Bucket:
        with self._lock:  # two threads' first timings must share one bucket
            bucket = self._current
            if bucket is None:
                bucket = self._current = Bucket()
            return bucket

    def begin(self) -> None:
        """A test phase starts: its timings go to a bucket of their own."""
        self._current = None

    def end(self) -> Bucket | None:
        """The phase ended: its bucket (None without timings); back to the session."""
        with self._lock:
            bucket, self._current = self._current, self.session
        return None if bucket is self.session else bucket

    @property
    def running(self) -> Bucket | None:
        """The running phase's bucket, if it has timings yet."""
        bucket = self._current
        return None if bucket is self.session else bucket
