"""The read audit's queue: events are written in chunks, kept (oldest first, bounded) while
the store fails, written once it answers, and none are taken after shutdown."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from idgraph import audit
from idgraph.audit import ReadAudit


class Store:
    def __init__(self) -> None:
        self.down, self.batches = False, []  # type: ignore[var-annotated]

    def write(self, rows: Sequence[dict[str, Any]]) -> None:
        if self.down:
            raise ConnectionError("down")
        self.batches.append(list(rows))


def test_events_wait_out_a_failing_store_in_order_and_in_chunks(monkeypatch: Any) -> None:
    monkeypatch.setattr(audit, "CHUNK", 3)
    store = Store()
    reads = ReadAudit(store.write, interval=3600, max_pending=5)
    store.down = True
    for n in range(7):
        reads.record("GetProfile", "alice", [f"oid_{n}", f"oid_{n}"])  # repeats count once
    assert not reads.flush()  # kept, bounded to the newest five
    store.down = False
    assert reads.flush()
    written = [row["one_id"] for batch in store.batches for row in batch]
    assert written == [f"oid_{n}" for n in range(2, 7)]
    assert [len(b) for b in store.batches] == [3, 2]
    reads.close()
    reads.record("GetProfile", "alice", ["oid_late"])
    assert reads.flush() and [row["one_id"] for row in store.batches[-1]] != ["oid_late"]
