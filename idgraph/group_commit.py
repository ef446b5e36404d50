"""Group commit: single-record ingests queue up and are committed together in batches.

Every Ingest call still gets its own answer, but concurrent calls share transactions, so
the per-transaction cost of Neo4j (begin, lock, commit, fsync) is paid once per batch.
A batch that fails is retried record by record, so one record's failure is its own.

With a planner, two threads form a pipeline: one resolves the next batch (Python) while
the other writes and commits the previous one (Neo4j), so the two cores work at once.
"""

from __future__ import annotations

import logging
import queue
import threading
import time
from collections.abc import Callable, Sequence
from concurrent.futures import Future
from dataclasses import dataclass
from typing import Generic, TypeVar

from idgraph.domain.records import PreparedRecord
from idgraph.domain.working_set import IngestOutcome
from idgraph.errors import DatabaseDown, DeadlineExceeded, Unavailable
from idgraph.logs import failed_fields

log = logging.getLogger(__name__)

BatchRunner = Callable[[Sequence[PreparedRecord], float | None], list[IngestOutcome]]
Plan = TypeVar("Plan")
Planner = tuple[Callable[[Sequence[PreparedRecord], float | None], Plan | None],
                Callable[[Plan, float | None], list[IngestOutcome]]]


@dataclass
class _Pending:
    record: PreparedRecord
    deadline: float | None  # time.monotonic() value
    future: Future[IngestOutcome]


class GroupCommitter(Generic[Plan]):
    """A queue drained by one writer, committing up to `max_batch` records at a time; with
    a `planner` (plan, commit_planned), batches are resolved a step ahead of their commit."""

    def __init__(self, run_batch: BatchRunner, max_batch: int = 64,
                 planner: Planner[Plan] | None = None) -> None:
        self._run_batch = run_batch
        self._max_batch = max_batch
        self._planner = planner
        self._queue: queue.SimpleQueue[_Pending | None] = queue.SimpleQueue()
        self._handoff: queue.Queue[tuple[list[_Pending], Plan] | None] = queue.Queue(maxsize=1)
        self._closed = False
        targets = [self._loop] if planner is None else [self._plan_loop, self._commit_loop]
        self._threads = [threading.Thread(target=target, name=f"group-commit-{i}",
                                          daemon=True) for i, target in enumerate(targets)]
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

    def queued(self) -> int:
        """Records waiting for a transaction."""
        return self._queue.qsize()

    def close(self) -> None:
        """Finish what is queued, then stop the writer threads."""
        if self._closed:
            return
        self._closed = True
        self._queue.put(None)
        for thread in self._threads:
            thread.join()

    def _next_batch(self, busy: Callable[[], bool] = lambda: False) -> list[_Pending] | None:
        """The next records to commit (waiting for the first), or None when closed. While
        `busy()` (the committer has a batch waiting already) more records are awaited, up
        to `max_batch`: bigger batches under load, no added latency when idle."""
        first = self._queue.get()
        if first is None:
            return None
        batch = [first]
        while len(batch) < self._max_batch:
            try:
                item = self._queue.get(timeout=0.001) if busy() else self._queue.get_nowait()
            except queue.Empty:
                if busy():
                    continue
                break
            if item is None:
                self._queue.put(None)  # seen again by the next call, which then stops
                break
            batch.append(item)
        return batch

    def _loop(self) -> None:
        while (batch := self._next_batch()) is not None:
            self._commit(batch)

    def _plan_loop(self) -> None:
        assert self._planner is not None
        plan_batch = self._planner[0]
        while (batch := self._next_batch(self._handoff.full)) is not None:
            live = self._live(batch)
            if not live:
                continue
            try:
                planned = plan_batch([p.record for p in live], self._timeout(live))
            except Exception as error:
                log.info("planning a batch of %d failed (%s)", len(live), failed_fields(error))
                planned = None
            if planned is None:
                # Not plannable ahead (the view does not know the graph): once every batch
                # handed over is committed, resolve this one in its own transaction.
                self._handoff.join()
                self._commit(live)
            else:
                self._handoff.put((live, planned))
        self._handoff.put(None)

    def _commit_loop(self) -> None:
        assert self._planner is not None
        commit_planned = self._planner[1]
        while (item := self._handoff.get()) is not None:
            live, planned = item
            try:
                outcomes = commit_planned(planned, self._timeout(live))
            except Exception as error:
                log.info("planned batch of %d failed (%s); committing it again", len(live),
                         failed_fields(error))
                self._commit(live)
            else:
                for pending, outcome in zip(live, outcomes, strict=True):
                    pending.future.set_result(outcome)
            finally:
                self._handoff.task_done()

    @staticmethod
    def _live(batch: list[_Pending]) -> list[_Pending]:
        """The records whose deadline has not passed; the others are answered now."""
        now = time.monotonic()
        live = []
        for pending in batch:
            if pending.deadline is not None and pending.deadline <= now:
                pending.future.set_exception(DeadlineExceeded("deadline passed while queued"))
            else:
                live.append(pending)
        return live

    @staticmethod
    def _timeout(live: list[_Pending]) -> float | None:
        now = time.monotonic()
        return min((p.deadline - now for p in live if p.deadline is not None), default=None)

    def _commit(self, batch: list[_Pending]) -> None:
        live = self._live(batch)
        if not live:
            return
        try:
            outcomes = self._run_batch([p.record for p in live], self._timeout(live))
        except Exception as error:
            if len(live) == 1 or isinstance(error, DatabaseDown):
                # Neo4j down: every record would fail alike, and one by one each would wait
                # out the store's retries again; all of them are answered now. (A deadline
                # or a transient error is retried record by record: the others' own
                # deadlines may be longer, and a smaller transaction may pass.)
                for pending in live:
                    pending.future.set_exception(error)
                return
            log.info("batch of %d failed (%s); retrying record by record", len(live),
                     failed_fields(error))
            for pending in live:
                self._commit([pending])
            return
        for pending, outcome in zip(live, outcomes, strict=True):
            pending.future.set_result(outcome)
