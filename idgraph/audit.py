"""Who read whose data: every answer that shows a person's data (a profile, a review task's
sides, an explanation, a vehicle's owners, a lineage) is recorded as a read event (OneID,
actor, method, time), which `GetHistory(include_reads)` lists.

Reads must stay reads: events are queued and written in batches by a thread of their own,
outside the graph's write turn (they do not touch what resolution reads), every
`interval` seconds. While Neo4j does not answer they are kept (up to `max_pending`) and
written once it does; a process killed outright loses at most the last interval's."""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable, Iterable, Sequence
from typing import Any

log = logging.getLogger(__name__)

Writer = Callable[[Sequence[dict[str, Any]]], None]
CHUNK = 5000  # read events per transaction


class ReadAudit:
    """Read events, queued and written in batches (`write` receives rows of one_id, actor,
    method, at_ms); `write=None` records nothing."""

    def __init__(self, write: Writer | None, interval: float = 0.5,
                 max_pending: int = 200_000) -> None:
        self._write, self.interval, self.max_pending = write, interval, max_pending
        self._pending: list[dict[str, Any]] = []
        self._lock = threading.Lock()
        self._wake = threading.Event()
        self._closed = False
        self._thread: threading.Thread | None = None

    def record(self, method: str, actor: str, one_ids: Iterable[str]) -> None:
        """Note that `actor` was shown the data of these people through `method`."""
        if self._write is None:
            return
        at = int(time.time() * 1000)
        rows = [{"one_id": one_id, "actor": actor, "method": method, "at_ms": at}
                for one_id in dict.fromkeys(one_ids) if one_id]
        if not rows:
            return
        with self._lock:
            if self._closed:
                log.warning("read audit: %d read events after shutdown not recorded",
                            len(rows))
                return
            if self._thread is None:
                self._thread = threading.Thread(target=self._loop, name="read-audit",
                                                daemon=True)
                self._thread.start()
            self._pending.extend(rows)
            if len(self._pending) > self.max_pending:
                lost = len(self._pending) - self.max_pending
                del self._pending[:lost]
                log.error("read audit: Neo4j has not answered for a while; %d oldest read "
                          "events dropped", lost)

    def flush(self) -> bool:
        """Write what is queued now, in transactions of at most CHUNK events; False when
        Neo4j did not take them all (the rest is kept for later, oldest first)."""
        with self._lock:
            rows, self._pending = self._pending, []
        if self._write is None:
            return True
        for start in range(0, len(rows), CHUNK):
            try:
                self._write(rows[start:start + CHUNK])
            except Exception as error:  # Neo4j unavailable: keep the rest
                left = rows[start:]
                log.warning("read audit: %d read events not written yet (%s)", len(left),
                            type(error).__name__)
                with self._lock:
                    self._pending[:0] = left
                    del self._pending[:max(0, len(self._pending) - self.max_pending)]
                return False
        return True

    def close(self) -> None:
        """Write what is queued and stop."""
        with self._lock:
            self._closed = True
            thread = self._thread
        self._wake.set()
        if thread is not None:
            thread.join(10)
        if not self.flush():
            log.error("read audit: %d read events could not be written before shutdown",
                      len(self._pending))

    def _loop(self) -> None:
        while not self._closed:
            self._wake.wait(self.interval)
            self.flush()
