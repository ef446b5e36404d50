"""A writer's write-through view of the graph, so batches read from Neo4j only what is new.

Every write transaction first claims the write epoch (one counter node in the graph, so
writers take turns). A writer that claims epoch n + 1 after committing epoch n knows that
nobody wrote in between: what it cached from earlier batches (who holds an identifier, what a
person is made of, which records are stored) is still exactly what the graph holds. When the
epochs do not follow on, someone else wrote, and the view is dropped.

The view is bounded: the holder and record maps keep at most ``max_entries`` entries, the
people (much larger) a quarter of that, and each forgets its oldest half when full.
Forgetting is always safe, since the graph answers whatever the view lacks.
"""

from __future__ import annotations

from collections import deque
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from itertools import islice
from typing import TypeVar

from idgraph.domain.resolution import CandidatePerson

K = TypeVar("K")
V = TypeVar("V")


PROTECTED_FOLDS = 4  # the batch being folded and up to three planned batches not committed


def _bounded_put(target: dict[K, V], key: K, value: V, limit: int, protected: int) -> None:
    """Put as the newest entry; when full, forget the oldest half first, but never the
    `protected` newest entries (those of batches that may not be committed yet: a batch
    planned later must find them here, since the graph does not show them yet)."""
    if key in target:
        del target[key]
    elif len(target) >= limit:
        for old in list(islice(target, max(0, min(limit // 2, len(target) - protected)))):
            del target[old]
    target[key] = value


@dataclass
class BatchEffect:
    """What a committed batch changed, in the terms of the view."""

    epoch: int
    holders: Mapping[str, Iterable[str]]  # identifier key -> holders after the batch
    persons: Iterable[CandidatePerson]  # every person the batch touched, as it now is
    records: Mapping[str, tuple[str, str]]  # record key -> (fingerprint, one_id)
    redirects: Mapping[str, str]  # absorbed -> survivor
    rewritten: Iterable[str]  # people whose stored records were replaced by a new version
    # identifier key -> the different people its records name (every key of `holders`)
    identities: Mapping[str, tuple[str, ...]] = field(default_factory=dict)


@dataclass
class GraphView:
    """Identifier holders, people and stored records a writer has seen, while valid."""

    max_entries: int = 200_000
    epoch: int | None = None
    holders: dict[str, tuple[str, ...]] = field(default_factory=dict)
    identities: dict[str, tuple[str, ...]] = field(default_factory=dict)
    persons: dict[str, CandidatePerson] = field(default_factory=dict)
    records: dict[str, tuple[str, str]] = field(default_factory=dict)
    redirects: dict[str, str] = field(default_factory=dict)
    suspect: set[str] = field(default_factory=set)  # people whose holder entries may be stale
    recent_puts: deque[int] = field(default_factory=lambda: deque(maxlen=PROTECTED_FOLDS))

    @property
    def enabled(self) -> bool:
        """False when configured with no room (every batch then reads the graph)."""
        return self.max_entries > 0

    def begin(self, epoch: int) -> None:
        """Start a batch that claimed `epoch`: keep the view only if nobody wrote since."""
        if self.epoch is None or epoch != self.epoch + 1:
            self.clear()

    def clear(self) -> None:
        """Forget everything (another writer committed, or a batch failed)."""
        self.epoch = None
        self.holders.clear()
        self.identities.clear()
        self.persons.clear()
        self.records.clear()
        self.redirects.clear()
        self.suspect.clear()
        self.recent_puts.clear()

    def final(self, one_id: str) -> str:
        """Where a OneID's records live now, as far as this view knows."""
        while one_id in self.redirects:
            one_id = self.redirects[one_id]
        return one_id

    def holders_of(self, key: str) -> list[str] | None:
        """Holders of an identifier key, or None when the view does not know them."""
        known = self.holders.get(key)
        if known is None:
            return None
        people = list(dict.fromkeys(self.final(p) for p in known))
        if self.suspect and any(p in self.suspect for p in people):
            return None
        return people

    def identities_of(self, key: str) -> tuple[str, ...] | None:
        """The different people the records carrying a key name, or None when not known."""
        return self.identities.get(key)

    def person(self, one_id: str) -> CandidatePerson | None:
        """A person as last written, or None."""
        return self.persons.get(one_id)

    def record(self, key: str) -> tuple[str, str] | None:
        """(fingerprint, one_id) of a stored record, or None when not known here."""
        stored = self.records.get(key)
        return None if stored is None else (stored[0], self.final(stored[1]))

    def commit(self, effect: BatchEffect) -> None:
        """Fold a committed batch into the view."""
        if not self.enabled:
            return
        self.epoch = effect.epoch
        limit = self.max_entries
        persons = list(effect.persons)
        self.recent_puts.append(max(len(effect.holders), len(persons), len(effect.records)))
        protected = sum(self.recent_puts)
        for absorbed, survivor in effect.redirects.items():
            self.persons.pop(absorbed, None)
            self.redirects[absorbed] = survivor
        for key, people in effect.holders.items():
            _bounded_put(self.holders, key, tuple(people), limit, protected)
        for key, named in effect.identities.items():
            _bounded_put(self.identities, key, named, limit, protected)
        for person in persons:  # people weigh most: a quarter as many of them
            _bounded_put(self.persons, person.one_id, person, max(1, limit // 4), protected)
        for key, stored in effect.records.items():
            _bounded_put(self.records, key, stored, limit, protected)
        for one_id in effect.rewritten:
            # A replaced record may have dropped identifiers or attributes: reload the person
            # and distrust what the view says about who holds what through them.
            self.persons.pop(one_id, None)
            self.suspect.add(one_id)
        if len(self.suspect) > limit // 10 or len(self.redirects) > limit:
            # Cheaper to start over than to chase stale entries. The epoch is forgotten too,
            # so the next batch reads the graph inside its own transaction, after any batch
            # still committing.
            self.clear()
