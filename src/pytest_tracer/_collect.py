"""Where timings land while pytest runs: the running test phase, or the session.

Pure bookkeeping with no pytest import: the session decides when a phase
begins and ends, and what its timings mean.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterable
from typing import Final, final

from ._stats import Accumulator

#: A name's timings are held as a plain list and added to its accumulator
#: this many at a time, or when the bucket is read: appending is the cheapest
#: thing a timing can cost, and the batch is small enough to keep memory
#: bounded whatever a test records.
BATCH: Final = 256


@final
class Bucket:
    """Timings of one test phase (or of the session), fed from any thread.

    A timing is appended to its name's list without a lock (``list.append``
    and ``dict.setdefault`` are atomic); the lock guards draining lists into
    the accumulators, which takes the values present and leaves any appended
    meanwhile. Hold :attr:`lock` while reading :attr:`timers` if threads may
    still add.
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
        self._drain()
        return self._timers

    def read(self) -> dict[str, Accumulator]:
        """Every name's accumulator so far, in a new dict; threads may still add."""
        lock = self.lock
        lock.acquire()  # cheaper than a with block, on a path every test takes
        try:
            self._drain()
            return dict(self._timers)
        finally:
            lock.release()

    def undrained(self) -> dict[str, list[float]] | None:
        """A copy of every name's timings as appended, while none reached an
        accumulator (None once some did): a check of the max needs none.
        Threads may still add to the bucket, not to the copy."""
        lock = self.lock
        lock.acquire()  # no drain empties a list meanwhile
        try:
            if self._timers:
                return None
            return {name: values[:] for name, values in self.pending.items() if values}
        finally:
            lock.release()

    def add(self, name: str, seconds: float) -> None:
        values = self.pending.get(name)
        if values is None:
            values = self.pending.setdefault(name, [])
        values.append(seconds)
        if len(values) >= BATCH:
            self.drain(values)

    def drain(self, values: list[float]) -> None:
        """Add a full batch of timings to their accumulators."""
        with self.lock:
            if len(values) >= BATCH:  # another thread may have drained it
                self._drain()

    def _drain(self) -> None:
        # Under the lock. Values appended meanwhile stay for next time.
        timers = self._timers
        for name, values in self.pending.items():
            if values:
                taken = values[:]
                del values[: len(taken)]
                accumulator = timers.get(name)
                if accumulator is None:
                    timers[name] = Accumulator.of(taken)
                else:
                    accumulator.extend(taken)

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


#: Put in a phase's slot when the phase ends: a thread that raced the end
#: finds it there and takes the slot current then.
_CLOSED: Final = Bucket()


@final
class Collector:
    """The Timer sink: adds each timing to the bucket of the running phase.

    One test runs at a time in a pytest process, so "running" is global. A
    thread started by a test's body belongs to that test (see
    :meth:`watch_threads`): its timings while the test runs count for it,
    and those that finish after the test ended go to :attr:`late`, never to
    the test running then. Other threads (a server a fixture started, a
    pool made at import) count for whichever test is running.

    Each phase has a slot, a dict that holds its bucket once the first
    timing made one. Phases change without a lock: ``dict.setdefault`` is
    atomic, so threads racing for a phase's first timing share one bucket,
    and one racing the phase's end finds the slot closed and moves on. A test
    without timers costs a new dict per phase here, and nothing else.
    """

    __slots__ = (
        "_attribute",
        "_dormant",
        "_lock",
        "_main",
        "_owner",
        "_owners",
        "_session_slot",
        "_slot",
        "_start",
        "_waker",
        "late",
        "session",
    )

    def __init__(self) -> None:
        self.session = Bucket()
        #: Timings from threads whose test had ended, by the test that
        #: started the thread.
        self.late: dict[str, Bucket] = {}
        self._session_slot: Final = {0: self.session}
        # The slot while no test phase is followed (see sleep): closed, so a
        # timing asks the waker.
        self._dormant: Final[dict[int, Bucket]] = {0: _CLOSED}
        self._waker: Callable[[], bool] | None = None
        # The running phase's slot (the session's between phases).
        self._slot: dict[int, Bucket] = self._session_slot
        self._lock = threading.Lock()
        # The thread running the tests, and the test whose body runs (the
        # owner of threads started now).
        self._main = _get_ident()
        self._owner: str | None = None
        # Whether a thread was started while a test owned new threads: only
        # then may a timing belong to a test that has ended.
        self._owners = False
        self._attribute = f"{OWNER}{id(self):x}"
        # Thread.start as it was before watch_threads.
        self._start: Callable[[threading.Thread], None] | None = None

    def receive(self, name: str, seconds: float) -> None:
        bucket: Bucket | None
        if self._owners and _get_ident() != self._main:
            bucket = self._of_thread()
        else:
            slot = self._slot
            bucket = slot.get(0)
            if bucket is None:
                bucket = slot.setdefault(0, Bucket())
            if bucket is _CLOSED:
                bucket = self._open()
        # Bucket.add, inlined: this runs once per timing.
        values = bucket.pending.get(name)
        if values is None:
            values = bucket.pending.setdefault(name, [])
        values.append(seconds)
        if len(values) >= BATCH:
            bucket.drain(values)

    def _open(self) -> Bucket:
        # The phase's first timing makes its bucket; racing threads agree on
        # one through setdefault. A slot closed meanwhile is no longer current.
        while True:
            slot = self._slot
            bucket = slot.get(0)
            if bucket is None:
                bucket = slot.setdefault(0, Bucket())
            if bucket is not _CLOSED:
                return bucket
            if slot is self._dormant:
                waker = self._waker
                if waker is None or not waker():
                    return self.session  # no test runs: the session's

    def _of_thread(self) -> Bucket:
        # A timing from another thread than the tests': the running phase's,
        # unless a test that has ended started that thread.
        owner = getattr(_current_thread(), self._attribute, None)
        if owner is not None and self._slot is self._dormant:
            self._open()  # wakes the session, if a test runs
        if owner is None or owner == self._owner:
            return self._open()
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

    def watch_threads(self) -> None:
        """Mark each thread started from now on with the test whose body runs."""
        if self._start is not None:
            return
        original = threading.Thread.start
        collector, attribute = self, self._attribute

        def start(thread: threading.Thread) -> None:
            if collector._slot is collector._dormant:
                # A thread started in a test wakes the session, which knows
                # the test: it owns the thread.
                waker = collector._waker
                if waker is not None:
                    waker()
            owner = collector._owner
            if owner is not None:
                setattr(thread, attribute, owner)
                collector._owners = True
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

    def sleep(self, waker: Callable[[], bool]) -> None:
        """Follow no phase until a timing arrives: then *waker* either begins
        one (and returns True) or returns False, and the timing is the
        session's. Until a timer is used, the session needs no per-test hooks.
        """
        self._waker = waker
        self._owner = None
        self._slot = self._dormant

    def begin(self, owner: str | None = None) -> None:
        """A test phase starts: its timings go to a bucket of their own.

        :param owner: The test that threads started from now on belong to
            (None: no test's; a fixture's thread counts for every test).
        """
        self._owner = owner
        self._slot = {}

    def switch(self, owner: str | None) -> Bucket | None:
        """One phase ends and the next begins: :meth:`end` and :meth:`begin`
        in one call, with no moment in between where timings go to the session.

        :returns: The ended phase's bucket (None without timings).
        """
        slot = self._slot
        self._owner = owner
        # The next phase's slot first: a thread that finds the ended slot
        # closed moves on to it.
        self._slot = {}
        bucket = slot.setdefault(0, _CLOSED)
        return None if bucket is _CLOSED or bucket is self.session else bucket

    def end(self) -> Bucket | None:
        """The phase ended: its bucket (None without timings); back to the session."""
        slot = self._slot
        self._slot = self._session_slot
        bucket = slot.setdefault(0, _CLOSED)
        return None if bucket is _CLOSED or bucket is self.session else bucket

    @property
    def running(self) -> Bucket | None:
        """The running phase's bucket, if it has timings yet."""
        bucket = self._slot.get(0)
        return None if bucket is _CLOSED or bucket is self.session else bucket
