"""Ingestion: validating records, resolving them in batches against the writer's view and
the graph, writing them (group commit, optionally pipelined), Resolve and the change feed."""

from __future__ import annotations

import logging
import threading
import time
from collections import Counter
from collections.abc import Callable, Mapping, Sequence, Set
from concurrent.futures import Future
from dataclasses import dataclass, field
from datetime import datetime

from idgraph.domain.identities import shared_keys
from idgraph.domain.records import (
    IdKey,
    PreparedRecord,
    RawIdentifier,
    RawRecord,
    prepare_record,
)
from idgraph.domain.resolution import (
    Action,
    CandidatePerson,
    Resolution,
    Snapshot,
    decide,
    evidence_filter,
)
from idgraph.domain.scoring import probability
from idgraph.domain.working_set import (
    IngestOutcome,
    RecordsOf,
    WorkingSet,
    WritePlan,
    candidate_ids,
    lookup_keys,
    new_identifier_nodes,
)
from idgraph.engine.common import (
    ResolveOutcome,
    as_prepared,
    candidate,
    stored_record,
    suppressed_indexes,
)
from idgraph.engine.core import Core
from idgraph.errors import InvalidInput
from idgraph.graph_cache import BatchEffect
from idgraph.group_commit import GroupCommitter
from idgraph.metrics import (
    GROUP_COMMIT_BATCH,
    INGEST_DECISIONS,
    RECORDS_REFUSED,
    VALUES_DROPPED,
    field_label,
)
from idgraph.store.neo4j_store import ChangeRow, GraphTx, StaleSnapshot

log = logging.getLogger(__name__)


def _with_refused(outcomes: list[IngestOutcome], refused: Set[int], size: int
                  ) -> list[IngestOutcome]:
    """The answers of a batch's records in order: SUPPRESSED at the refused positions, the
    resolved records' answers in between."""
    if not refused:
        return outcomes
    answers = iter(outcomes)
    return [IngestOutcome("", Action.SUPPRESSED) if i in refused else next(answers)
            for i in range(size)]


def _count(outcomes: Sequence[IngestOutcome]) -> None:
    """Metrics of a committed batch: its size and each record's decision."""
    GROUP_COMMIT_BATCH.observe(len(outcomes))
    for action, count in Counter(o.action.value for o in outcomes).items():
        INGEST_DECISIONS.labels(action).inc(count)


@dataclass
class StageTimes:
    """Where batch ingestion spends its time (seconds, summed over batches): reading the
    graph, deciding in Python, writing the graph, and in all (with the commit and retries)."""

    batches: int = 0
    records: int = 0
    reads: float = 0.0
    decide: float = 0.0
    writes: float = 0.0
    total: float = 0.0

    @property
    def commit(self) -> float:
        """What the batches took beyond reading, deciding and writing: mostly the commit."""
        return max(0.0, self.total - self.reads - self.decide - self.writes)


class _PlanOutdated(Exception):
    """Someone wrote between a batch's planning and its transaction."""


@dataclass(frozen=True)
class ResolvedBatch:
    """A batch resolved against the graph: the answers, what to write and how the view
    changes once it is written."""

    outcomes: list[IngestOutcome]
    plan: WritePlan
    new_identifiers: list[IdKey]
    new_records: set[str]
    effect: BatchEffect


@dataclass(frozen=True)
class PlannedBatch:
    """A batch resolved ahead of its transaction, valid if that transaction claims `epoch`
    and no plan was invalidated since (`generation`)."""

    records: Sequence[PreparedRecord]
    now: datetime
    epoch: int
    generation: int
    resolved: ResolvedBatch
    refused: frozenset[int] = frozenset()  # positions of records with a suppressed value


@dataclass
class Ingestion:
    """Ingest, group commit and Resolve over the core's store and view."""

    core: Core
    pipeline: bool = False  # resolve the next batch while the previous one commits
    group_commit_max_batch: int = 512
    stage_times: StageTimes = field(default_factory=StageTimes, init=False, repr=False)
    _committer: GroupCommitter[PlannedBatch] | None = field(default=None, init=False, repr=False)
    _committer_lock: threading.Lock = field(default_factory=threading.Lock, init=False,
                                            repr=False)

    # ------------------------------------------------------------------ ingest
    def ingest(self, raw: RawRecord, timeout: float | None = None, actor: str = "ingest"
               ) -> IngestOutcome:
        """Validate, resolve and store one record; InvalidInput writes nothing.

        Concurrent calls are committed together (group commit); each gets its own answer.
        `actor` (who sent it) is recorded with the changes it causes.
        """
        return self.submit(raw, timeout, actor=actor).result()

    def submit(self, raw: RawRecord, timeout: float | None = None,
               prefix: str = "record", actor: str = "ingest") -> Future[IngestOutcome]:
        """Validate now (InvalidInput raises here, nothing queued) and queue for group commit."""
        return self.enqueue(self.prepare(raw, prefix, actor), timeout)

    def enqueue(self, record: PreparedRecord, timeout: float | None = None
                ) -> Future[IngestOutcome]:
        """Queue a prepared record for group commit."""
        return self._group_committer().submit(record, timeout)

    def prepare(self, raw: RawRecord, prefix: str = "record", actor: str = "ingest", *,
                lenient: bool = False) -> PreparedRecord:
        """Validate and normalize one record without writing anything; lenient, bad
        optional values are dropped and listed in ``dropped`` instead of refused."""
        core = self.core
        try:
            prepared = prepare_record(raw, core.rules, core.limits, core.secret, core.clock(),
                                      prefix, actor, lenient=lenient)
        except InvalidInput as error:
            RECORDS_REFUSED.labels(field_label(error.violations[0].field)
                                   if error.violations else "record").inc()
            raise
        for dropped in prepared.dropped:
            VALUES_DROPPED.labels(dropped.kind).inc()
        return prepared

    # ------------------------------------------------------------------ change feed
    def changes(self, after: int, limit: int) -> list[ChangeRow]:
        """Up to `limit` changes after feed position `after`, in commit order (to wait for
        the next commit: ``core.commits`` and ``core.wait_for_commit``)."""
        return self.core.store.changes_after(after, limit)

    # ------------------------------------------------------------------ batches
    def ingest_batch(self, records: Sequence[PreparedRecord], timeout: float | None = None,
                     *, update_view: bool = True, recheck: bool = False,
                     also: Callable[[GraphTx, list[IngestOutcome]], None] | None = None
                     ) -> list[IngestOutcome]:
        """Resolve and store validated records in one transaction, in order: the answers are
        those of ingesting them one by one. Without `update_view` the view stays empty
        afterwards (plans made before may still be queued: none may be made on top of them)."""
        if not records:
            return []
        core = self.core
        now = core.now()
        with core.view_lock:
            started = time.perf_counter()
            try:
                outcomes, effect = core.store.write(
                    lambda tx: self._ingest_batch_in(tx, records, now, recheck, also), timeout)
            except BaseException:
                core.invalidate_view()
                raise
            if update_view:
                core.view.commit(effect)
            _count(outcomes)
            times = self.stage_times
            times.batches += 1
            times.records += len(records)
            times.total += time.perf_counter() - started
        core.notify_commit()
        return outcomes

    def plan_batch(self, records: Sequence[PreparedRecord], timeout: float | None = None
                   ) -> PlannedBatch | None:
        """Resolve a batch ahead of its transaction, against the view as it will be once the
        batches planned before it commit (they may still be committing): the pipeline's
        first stage. None when the view cannot tell (the batch then resolves in its own
        transaction)."""
        if not records:
            return None
        core = self.core
        now = core.now()
        with core.view_lock:
            if core.view.epoch is None or not core.view.enabled:
                return None
            epoch, generation = core.view.epoch + 1, core.generation

            def work(tx: GraphTx) -> tuple[ResolvedBatch, set[int]] | None:
                # a suppression claims a write epoch: a plan made before it is outdated
                refused = suppressed_indexes(tx, records, core.secret)
                try:
                    return self._resolve_batch(tx, [r for i, r in enumerate(records)
                                                    if i not in refused],
                                               now, epoch), refused
                except StaleSnapshot:
                    return None

            try:
                found = core.store.read(work, timeout)
            except BaseException:
                core.invalidate_view()
                raise
            if found is None:
                core.invalidate_view()
                return None
            resolved, refused = found
            core.view.commit(resolved.effect)
            return PlannedBatch(records, now, epoch, generation, resolved, frozenset(refused))

    def commit_planned(self, planned: PlannedBatch, timeout: float | None = None
                       ) -> list[IngestOutcome]:
        """Write a planned batch: the pipeline's second stage. When another writer (or a
        failed batch) came in between, the batch is resolved again inside the transaction."""
        core = self.core

        def work(tx: GraphTx) -> list[IngestOutcome]:
            if tx.epoch != planned.epoch or planned.generation != core.generation:
                raise _PlanOutdated  # rolls the transaction back, epoch claim included
            self._write(tx, planned.resolved, planned.now)
            return _with_refused(planned.resolved.outcomes, planned.refused,
                                 len(planned.records))

        try:
            outcomes = core.store.write(work, timeout)
        except _PlanOutdated:
            log.info("a batch planned for write epoch %d is outdated (another writer or a "
                     "failed batch came in between); resolving it again", planned.epoch)
            with core.view_lock:
                core.invalidate_view()
            # The view stays empty, so the planner waits until every outdated plan queued
            # behind this one is redone like it, and then starts afresh.
            return self.ingest_batch(planned.records, timeout, update_view=False)
        except BaseException:
            with core.view_lock:
                core.invalidate_view()
            raise
        _count(outcomes)
        core.notify_commit()
        return outcomes

    def queue_depth(self) -> int:
        """Records queued for group commit and not in a transaction yet."""
        committer = self._committer
        return committer.queued() if committer is not None else 0

    def close(self) -> None:
        """Drain and stop the group-commit writers."""
        with self._committer_lock:
            committer, self._committer = self._committer, None
        if committer is not None:
            committer.close()

    def _group_committer(self) -> GroupCommitter[PlannedBatch]:
        with self._committer_lock:
            if self._committer is None:
                self._committer = GroupCommitter(
                    self.ingest_batch, self.group_commit_max_batch,
                    (self.plan_batch, self.commit_planned) if self.pipeline else None)
            return self._committer

    def _ingest_batch_in(self, tx: GraphTx, records: Sequence[PreparedRecord], now: datetime,
                         recheck: bool = False,
                         also: Callable[[GraphTx, list[IngestOutcome]], None] | None = None
                         ) -> tuple[list[IngestOutcome], BatchEffect]:
        self.core.view.begin(tx.epoch)
        # inside the write turn: a suppression answered before this batch is seen
        refused = suppressed_indexes(tx, records, self.core.secret)
        kept = [r for i, r in enumerate(records) if i not in refused] if refused else records
        try:
            resolved = self._resolve_batch(tx, kept, now, tx.epoch, recheck,
                                           lambda one_ids: self._stored_records(tx, one_ids))
        except StaleSnapshot:
            self.core.invalidate_view()  # then the store runs the transaction again
            raise
        self._write(tx, resolved, now)
        outcomes = _with_refused(resolved.outcomes, refused, len(records))
        if also is not None:  # e.g. a backfill's checkpoint, committed with the batch
            also(tx, outcomes)
        return outcomes, resolved.effect

    def _write(self, tx: GraphTx, resolved: ResolvedBatch, now: datetime) -> None:
        started = time.perf_counter()
        tx.write_plan(resolved.plan, now, self.core.rules.blocking_slots,
                      resolved.new_identifiers, resolved.new_records)
        self.stage_times.writes += time.perf_counter() - started

    @staticmethod
    def _no_reevaluation(one_ids: Sequence[str]) -> dict[str, list[PreparedRecord]]:
        """A batch planned ahead of earlier batches' commits cannot read the records of the
        people a newly shared value merged: it resolves in its own transaction instead."""
        raise StaleSnapshot

    @staticmethod
    def _active_person(tx: GraphTx, one_id: str) -> CandidatePerson | None:
        rows = [r for r in tx.load_persons([one_id]) if r.status == "active"]
        return candidate(rows[0]) if rows else None

    def _holders_of(self, tx: GraphTx, keys: Sequence[IdKey]) -> dict[str, list[str]]:
        """Holders of keys a batch did not load (a person's name keys, to find the people
        named exactly like them): from the view where it knows them, else the graph."""
        view = self.core.view
        found: dict[str, list[str]] = {}
        ask = []
        for key in keys:
            known = view.holders_of(key.key)
            if known is not None:
                found[key.key] = list(known)
            else:
                ask.append(key.key)
        if ask:
            _, read, _ = tx.lookup_batch([], ask, set(ask), self.core.rules.hub_cap)
            found.update((key, list(dict.fromkeys(view.final(p) for p in people)))
                         for key, people in read.items())
        return found

    def _stored_records(self, tx: GraphTx, one_ids: Sequence[str]
                        ) -> dict[str, list[PreparedRecord]]:
        """The stored records of people by OneID, as prepared records (to resolve them
        again), in one round trip."""
        rules = self.core.rules
        return {one_id: [as_prepared(stored_record(r), "idgraph", rules) for r in records]
                for one_id, records in tx.stored_records(one_ids).items()}

    def _resolve_batch(self, tx: GraphTx, records: Sequence[PreparedRecord], now: datetime,
                       epoch: int, recheck: bool = False,
                       records_of: RecordsOf | None = None
                       ) -> ResolvedBatch:
        """Resolve records in order against the view, reading from the graph only what the
        view lacks; what the view holds is mapped through the merges it knows of."""
        started = time.perf_counter()
        reading = 0.0
        core = self.core
        view = core.view
        rules = core.rules
        keys = {k.key: k for r in records for k in r.all_keys}
        lookup = lookup_keys(list(keys.values()), rules)
        holders: dict[str, list[str]] = {}
        identities: dict[str, tuple[str, ...]] = {}
        for key in keys:
            known = view.holders_of(key)
            named = view.identities_of(key)
            if known is not None and named is not None:
                holders[key], identities[key] = known, named
        stored: dict[str, tuple[str, str]] = {}
        for record in records:
            found = view.record(record.key)
            if found is not None:
                stored[record.key] = found
        mark = time.perf_counter()
        read_stored, read_holders, read_identities = tx.lookup_batch(
            [r.key for r in records if r.key not in stored],
            [k for k in keys if k not in holders], lookup, rules.hub_cap)
        identities.update(read_identities)
        reading += time.perf_counter() - mark
        stored.update((key, (fingerprint, view.final(one_id)))
                      for key, (fingerprint, one_id) in read_stored.items())
        holders.update((key, list(dict.fromkeys(view.final(p) for p in people)))
                       for key, people in read_holders.items())
        new_identifiers = new_identifier_nodes(keys, holders)
        new_records = {r.key for r in records if r.key not in stored}
        counts = {key: len(people) for key, people in holders.items()}
        ignored = evidence_filter(tuple(keys.values()), counts, rules).ignored
        wanted = {oid for key, people in holders.items() if key not in ignored
                  for oid in people} | {one_id for _, one_id in stored.values()}
        persons = {oid: p for oid in wanted if (p := view.person(oid)) is not None}
        mark = time.perf_counter()
        rows = tx.load_persons(wanted - persons.keys())
        reading += time.perf_counter() - mark
        if len(rows) + len(persons) != len(wanted) or any(r.status != "active" for r in rows):
            raise StaleSnapshot
        persons.update((r.one_id, candidate(r)) for r in rows)
        working = WorkingSet(rules, stored, holders, list(persons.values()),
                             lambda: core.mint_one_id(now), core.new_id, now, recheck,
                             identities, records_of or self._no_reevaluation,
                             person_of=lambda one_id: self._active_person(tx, one_id),
                             holders_of=lambda wanted: self._holders_of(tx, wanted))
        outcomes = [working.ingest(record) for record in records]
        plan = working.finished_plan()
        cap = rules.hub_cap
        rewritten = {stored[key][1] for key in plan.records if key in stored}
        effect = BatchEffect(
            epoch=epoch,
            holders={key: [working.final(p) for p in people[:cap]]
                     for key, people in working.holders.items()},
            persons=list(working.persons.values()),
            records={key: (fingerprint, working.final(one_id))
                     for key, (fingerprint, one_id) in working.stored.items()},
            redirects=dict(plan.redirects),
            rewritten={working.final(oid) for oid in rewritten | working.split_persons},
            identities={key: working.identities.get(key, ()) for key in working.holders})
        self.stage_times.reads += reading
        self.stage_times.decide += time.perf_counter() - started - reading
        return ResolvedBatch(outcomes, plan, new_identifiers, new_records, effect)

    # ----------------------------------------------------------------- resolve
    def resolve(self, identifiers: Sequence[RawIdentifier], attributes: Mapping[str, str],
                timeout: float | None = None) -> ResolveOutcome:
        """Read-only: which OneID would these identifiers and attributes join?"""
        record = self._probe(identifiers, attributes)
        if not record.all_keys:
            raise InvalidInput.one("identifiers", "at least one valid identifier (or a "
                                   "complete blocking key of attributes) is required")
        resolution = self.core.store.read(lambda tx: self._resolve_in(tx, record), timeout)
        one_id = resolution.target_one_id if resolution.action in (
            Action.LINKED, Action.MERGED) else None
        confidence = probability(resolution.score) if one_id else 0.0
        return ResolveOutcome(one_id or "", resolution.score if one_id else 0.0, confidence,
                              resolution.scored)

    def _probe(self, identifiers: Sequence[RawIdentifier], attributes: Mapping[str, str]
               ) -> PreparedRecord:
        core = self.core
        return prepare_record(
            RawRecord("resolve", "probe", None, tuple(identifiers), dict(attributes)),
            core.rules, core.limits, core.secret, core.clock(), prefix="")

    def _resolve_in(self, tx: GraphTx, record: PreparedRecord) -> Resolution:
        rules = self.core.rules
        rows = [(key, self._max_holders(record, key))
                for key in sorted(lookup_keys(record.all_keys, rules))]
        holders, people = tx.resolve_lookup(rows, rules.hub_cap)
        counts = {key: len(found) for key, found in holders.items()}
        shared = shared_keys(record.all_keys, tx.identities(k.key for k in record.identifiers),
                             rules)
        wanted = set(candidate_ids(record.all_keys, holders, rules, None, shared))
        candidates = tuple(candidate(p) for p in people
                           if p.one_id in wanted and p.status == "active")
        return decide(Snapshot(record, candidates, counts, shared=shared), rules)

    def _max_holders(self, record: PreparedRecord, key: str) -> int:
        """Holders a key may have and still find candidates (its hub threshold)."""
        rules = self.core.rules
        found = next(k for k in record.all_keys if k.key == key)
        if found.is_blocking:
            return rules.blocking_hub_threshold
        threshold = rules.identifier_types[found.type].hub_threshold
        return rules.hub_cap if threshold is None else threshold
