"""Core: what the engine's parts share: the store, the configuration (rules, limits, secret,
tag hierarchy), the clock and entropy, and the write state: the writer's view with its lock,
OneID minting and the commit notification."""

from __future__ import annotations

import os
import threading
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import TypeVar

from idgraph.domain.oneid import format_one_id
from idgraph.domain.records import Limits
from idgraph.domain.rules import Rules
from idgraph.domain.tags import TagHierarchy, load_tags
from idgraph.graph_cache import GraphView
from idgraph.store.neo4j_store import GraphStore, GraphTx

T = TypeVar("T")
Clock = Callable[[], datetime]
Entropy = Callable[[int], bytes]


def system_clock() -> datetime:
    """The current UTC time."""
    return datetime.now(UTC)


@dataclass
class Core:
    """The store and configuration every part uses, and the write state they share."""

    store: GraphStore
    rules: Rules
    secret: bytes
    limits: Limits = field(default_factory=Limits)
    clock: Clock = system_clock
    entropy: Entropy = os.urandom
    view: GraphView = field(default_factory=GraphView)
    tags: TagHierarchy = field(default_factory=load_tags)
    # Held while the view is read or changed: batches, and steward writes around them.
    view_lock: threading.RLock = field(default_factory=threading.RLock, init=False,
                                       repr=False)
    generation: int = field(default=0, init=False, repr=False)  # plans made before are void
    _mint_lock: threading.Lock = field(default_factory=threading.Lock, init=False, repr=False)
    _last_mint: tuple[int, int] = field(default=(0, -1), init=False, repr=False)
    _committed: threading.Condition = field(default_factory=threading.Condition, init=False,
                                            repr=False)
    _commits: int = field(default=0, init=False, repr=False)

    def now(self) -> datetime:
        """The clock's time, as stored (whole milliseconds)."""
        now = self.clock()
        return now.replace(microsecond=now.microsecond // 1000 * 1000)  # stored at ms

    def batch_time(self) -> datetime:
        """The time a batch written now is stored with (whole milliseconds)."""
        return self.now()

    def mint_one_id(self, now: datetime) -> str:
        """A new OneID, strictly greater than every OneID this engine minted before, so that
        people created in the same millisecond still have a definite age order."""
        with self._mint_lock:
            ms = max(int(now.timestamp() * 1000), self._last_mint[0])
            entropy = int.from_bytes(self.entropy(10), "big")
            if ms == self._last_mint[0] and entropy <= self._last_mint[1]:
                entropy = self._last_mint[1] + 1
                if entropy >= 1 << 80:
                    ms, entropy = ms + 1, 0
            self._last_mint = (ms, entropy)
            return format_one_id(ms, entropy.to_bytes(10, "big"))

    def new_id(self) -> str:
        """A new event or task id (random, from the engine's entropy)."""
        return str(uuid.UUID(bytes=self.entropy(16), version=4))

    def invalidate_view(self) -> None:
        """Forget the view and every plan made on it (callers hold the view lock)."""
        self.view.clear()
        self.generation += 1

    def steward_write(self, work: Callable[[GraphTx], T], timeout: float | None) -> T:
        """A steward's write: it moves the write epoch on, so this engine's view is
        dropped at its next batch; watchers of this server's change feed wake at once."""
        with self.view_lock:
            result = self.store.write(work, timeout)
        self.notify_commit()
        return result

    @property
    def commits(self) -> int:
        """How many batches this engine has committed (to wait for the next one)."""
        return self._commits

    def wait_for_commit(self, seen: int, timeout: float) -> None:
        """Block until this engine commits a batch after the `seen`-th, or `timeout` seconds
        pass (other writers' commits are only seen by asking again)."""
        with self._committed:
            self._committed.wait_for(lambda: self._commits != seen, timeout)

    def wake_watchers(self) -> None:
        """Wake the change feed's waiting watchers (one of them hung up): each looks at its
        own call again."""
        with self._committed:
            self._committed.notify_all()

    def notify_commit(self) -> None:
        """Count a commit and wake the change feed's watchers."""
        with self._committed:
            self._commits += 1
            self._committed.notify_all()
