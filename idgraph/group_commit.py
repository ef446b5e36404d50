"""Group commit: single-record ingests queue up and are committed together in batches.

Every Ingest call still gets its own answer, but concurrent calls share transactions, so
the per-transaction cost of Neo4j (begin, lock, commit, fsync) is paid once per batch.
A batch that fails is retried record by record, so one record's failure is its own.
"""

from __future__ import annotations

import logging
import queue
import threading
import time
from collections.abc import Callable, Sequence
from concurrent.futures import Future
from dataclasses import dataclass

from idgraph.domain.records import PreparedRecord
from idgraph.domain.working_set import IngestOutcome
from idgraph.errors import DeadlineExceeded, Unavailable

log = logging.getLogger(__name__)

BatchRunner = Callable[[Sequence[PreparedRecord], float | None], list[IngestOutcome]]


@dataclass
class _Pending:
    record: PreparedRecord
    deadline: float | None  # time.monotonic() value
    future: Future[IngestOutcome]


class GroupCommitter:
    """A queue drained by `writers` threads, each committing up to `max_batch` records."""

    def __init__(self, run_batch: BatchRunner, writers: int = 2, max_batch: int = 64) -> None:
        self._run_batch = run_batch
        self._max_batch = max_batch
        self._queue: queue.SimpleQueue[_Pending | None] = queue.SimpleQueue()
        self._closed = False
        self._threads = [threading.Thread(target=self._loop, name=f"group-commit-{i}",
                                          daemon=True) for i in range(writers)]
        for thread in self._threads:
            thread.start()

    def submit(self, record: PreparedRecord, timeout: float | None) -> Future[IngestOutcome]:
        """Queue one record; the future answers its outcome or raises its error."""
        if self._closed:
            raise Unavailable("the ingest queue is shut down")
        future: Future[IngestOutcome] = Future()
        deadline = None if timeout is None else time.monotonic() + timeout
        self._queue.put(_Pending(record, deadline, future))
        return future

    def close(self) -> None:
        """Finish what is queued, then stop the writer threads."""
        if self._closed:
            return
        self._closed = True
        for _ in self._threads:
            self._queue.put(None)
        for thread in self._threads:
            thread.join()

    def _loop(self) -> None:
        while True:
            first = self._queue.get()
            if first is None:
                return
            batch = [first]
            while len(batch) < self._max_batch:
                try:
                    item = self._queue.get_nowait()
                except queue.Empty:
                    break
                if item is None:
                    self._queue.put(None)  # leave the stop signal for this or another writer
                    break
                batch.append(item)
            self._commit(batch)

    def _commit(self, batch: list[_Pending]) -> None:
        now = time.monotonic()
        live = []
        for pending in batch:
            if pending.deadline is not None and pending.deadline <= now:
                pending.future.set_exception(DeadlineExceeded("deadline passed while queued"))
            else:
                live.append(pending)
        if not live:
            return
        deadlines = [p.deadline - now for p in live if p.deadline is not None]
        try:
            outcomes = self._run_batch([p.record for p in live], min(deadlines, default=None))
        except Exception as error:
            if len(live) == 1:
                live[0].future.set_exception(error)
                return
            log.info("batch of %d failed (%s); retrying record by record", len(live), error)
            for pending in live:
                self._commit([pending])
            return
        for pending, outcome in zip(live, outcomes, strict=True):
            pending.future.set_result(outcome)
