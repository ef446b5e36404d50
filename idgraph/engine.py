"""IdentityEngine: the application facade the gRPC edge and the CLI call.

It turns raw input into domain objects, runs the pure decision inside a store
transaction, and carries out the decision through the store.
"""

from __future__ import annotations

import json
import logging
import os
import threading
import time
import uuid
from collections.abc import Callable, Iterable, Mapping, Sequence
from concurrent.futures import Future
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime
from typing import TypeVar

from idgraph.domain.identifiers import BadIdentifier, normalize_vin
from idgraph.domain.identities import shared_keys
from idgraph.domain.oneid import format_one_id, looks_like_one_id
from idgraph.domain.profile import (
    AssignedTag,
    Profile,
    Relationship,
    StoredRecord,
    StoredVehicle,
    golden_attributes,
    profile_identifiers,
    profile_vehicles,
)
from idgraph.domain.recommend import (
    Contact,
    FeatureGraph,
    ModelNeighbourhood,
    ModelStatistics,
    PersonNetwork,
    PersonSummary,
    Recommendation,
    RecordFacts,
    lookalike_candidates,
    model_statistics,
    recommend_models,
    referral_candidates,
    similar_customers,
    summarize,
)
from idgraph.domain.records import (
    IdKey,
    Limits,
    PreparedRecord,
    RawIdentifier,
    RawRecord,
    Vehicle,
    VehicleRelation,
    derive_blocking_keys,
    prepare_identifiers,
    prepare_record,
)
from idgraph.domain.relationships import (
    Referral,
    SharedValue,
    Sharer,
    addresses_of,
    dealer_affinity,
    household_types,
    households,
    referrals,
)
from idgraph.domain.resolution import (
    Action,
    CandidatePerson,
    PairVerdict,
    Resolution,
    ScoredCandidate,
    Snapshot,
    classify_pair,
    decide,
    evidence_filter,
    explain_verdict,
)
from idgraph.domain.rules import Rules
from idgraph.domain.scoring import Evidence, Score, forget_compared_values, probability, score
from idgraph.domain.tags import TagHierarchy, load_tags, person_tags, vehicle_tags
from idgraph.domain.vehicles import Mention, VehicleHistory, vehicle_history
from idgraph.domain.working_set import (
    Change,
    ChangeType,
    IngestOutcome,
    MergeStep,
    WorkingSet,
    WritePlan,
    candidate_ids,
    lookup_keys,
)
from idgraph.errors import Conflict, FieldViolation, InvalidInput, NotFound
from idgraph.graph_cache import BatchEffect, GraphView
from idgraph.group_commit import GroupCommitter
from idgraph.store.neo4j_store import (
    ChangeRow,
    GraphStore,
    GraphTx,
    HistoryEntry,
    PersonRow,
    ReviewFilter,
    ReviewPageKey,
    ReviewTaskRow,
    StaleSnapshot,
    to_native,
)

T = TypeVar("T")
Clock = Callable[[], datetime]
Entropy = Callable[[int], bytes]


log = logging.getLogger(__name__)


def system_clock() -> datetime:
    """The current UTC time."""
    return datetime.now(UTC)


@dataclass(frozen=True)
class ResolveOutcome:
    """What Resolve answers: the best OneID (or "") and every scored candidate."""

    one_id: str
    score: float
    confidence: float
    candidates: tuple[ScoredCandidate, ...]


@dataclass(frozen=True)
class SplitOutcome:
    """Where a split left things: the OneID the rest kept, the records that left it and
    the OneID each of them is on now."""

    one_id: str
    moved: tuple[str, ...]
    placements: Mapping[str, str]


@dataclass(frozen=True)
class ProfileOutcome:
    """A profile, and whether the OneID asked for was merged away into it."""

    profile: Profile
    redirected: bool
    requested_one_id: str


@dataclass(frozen=True)
class ExplainOutcome:
    """The comparisons between two sides, the total and the decision they lead to."""

    score: Score
    action: Action
    reason: str


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


@dataclass
class IdentityEngine:
    """Resolution, look-ups and profiles over a graph store."""

    store: GraphStore
    rules: Rules
    secret: bytes
    limits: Limits = field(default_factory=Limits)
    clock: Clock = system_clock
    entropy: Entropy = os.urandom

    pipeline: bool = False  # resolve the next batch while the previous one commits
    group_commit_max_batch: int = 512
    _committer: GroupCommitter[PlannedBatch] | None = field(default=None, init=False, repr=False)
    _committer_lock: threading.Lock = field(default_factory=threading.Lock, init=False,
                                            repr=False)
    _mint_lock: threading.Lock = field(default_factory=threading.Lock, init=False, repr=False)
    _view_lock: threading.RLock = field(default_factory=threading.RLock, init=False,
                                        repr=False)
    _generation: int = field(default=0, init=False, repr=False)
    view: GraphView = field(default_factory=GraphView)
    _last_mint: tuple[int, int] = field(default=(0, -1), init=False, repr=False)
    _committed: threading.Condition = field(default_factory=threading.Condition, init=False,
                                            repr=False)
    _commits: int = field(default=0, init=False, repr=False)
    stage_times: StageTimes = field(default_factory=StageTimes, init=False, repr=False)
    tags: TagHierarchy = field(default_factory=load_tags)
    model_statistics_seconds: float = 300.0  # how long next-model statistics are reused
    _statistics: tuple[ModelStatistics | None, float] = \
        field(default=(None, 0.0), init=False, repr=False)
    _statistics_refreshing: bool = field(default=False, init=False, repr=False)
    _statistics_took: float = field(default=0.0, init=False, repr=False)  # last read, s
    _statistics_lock: threading.Lock = field(default_factory=threading.Lock, init=False,
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
        return prepare_record(raw, self.rules, self.limits, self.secret, self.clock(), prefix,
                              actor, lenient=lenient)

    # ------------------------------------------------------------------ steward decisions
    def keep_apart(self, one_ids: Sequence[str], actor: str, reason: str, task_id: str = "",
                   timeout: float | None = None) -> list[tuple[str, str]]:
        """Record that the people behind `one_ids` (merged-away OneIDs follow their
        redirect) are never merged with each other, by any later ingest or re-evaluation;
        answers the newly constrained pairs."""
        pairs = [(a, b) for i, a in enumerate(one_ids) for b in one_ids[i + 1:]]
        now = self._now()
        return self._steward_write(
            lambda tx: tx.keep_apart(pairs, now, actor, reason, task_id), timeout)

    def merge_persons(self, one_ids: Sequence[str], actor: str, reason: str,
                      timeout: float | None = None) -> tuple[str, tuple[str, ...]]:
        """A steward's merge of the people behind `one_ids` into the oldest of them: their
        records move to it, the others redirect to it, and the merge is recorded (rule
        "manual") with the actor and reason. Answers (survivor, absorbed). Conflict when
        they are one person already or a steward decided to keep them apart."""
        now = self._now()
        return self._steward_write(
            lambda tx: self._merge_in(tx, one_ids, actor, reason, now), timeout)

    def _merge_in(self, tx: GraphTx, one_ids: Sequence[str], actor: str, reason: str,
                  now: datetime) -> tuple[str, tuple[str, ...]]:
        people = list(dict.fromkeys(self._follow_redirects(tx, oid) for oid in one_ids))
        if len(people) < 2:
            raise Conflict(f"the OneIDs already point at one person, {people[0]}")
        persons = sorted((_candidate(row) for row in tx.load_persons(people)),
                         key=lambda p: p.age_key)
        for person in persons:
            apart = person.apart_from.intersection(people)
            if apart:
                raise Conflict(f"{person.one_id} is kept apart from {', '.join(sorted(apart))} "
                               "by a steward's decision")
        survivor, absorbed = persons[0].one_id, tuple(p.one_id for p in persons[1:])
        evidence = json.dumps({"decision": "MERGED", "reason": reason,
                               "requested": list(one_ids)}, ensure_ascii=False)
        event_id = self._new_id()
        tx.must_link(survivor, absorbed, event_id, actor, now)
        plan = WritePlan(
            merges=[MergeStep(event_id, survivor, absorbed, "manual", 0.0, "", evidence,
                              actor)],
            redirects=dict.fromkeys(absorbed, survivor),
            changes=[Change(ChangeType.MERGED, survivor, absorbed, actor, "manual")])
        tx.write_plan(plan, now, self.rules.blocking_slots)
        return survivor, absorbed

    def review_tasks(self, where: ReviewFilter, after: ReviewPageKey, limit: int,
                     timeout: float | None = None) -> list[ReviewTaskRow]:
        """Review tasks matching `where` in its order, after a page key."""
        return self.store.read(lambda tx: tx.review_tasks(where, after, limit), timeout)

    def review_task(self, task_id: str, timeout: float | None = None
                    ) -> tuple[ReviewTaskRow, list[ProfileOutcome]]:
        """A review task and the profiles of its people as they are now (its person first;
        people erased since are left out)."""
        def work(tx: GraphTx) -> tuple[ReviewTaskRow, list[ProfileOutcome]]:
            task = tx.review_task(task_id)
            if task is None:
                raise NotFound(f"review task {task_id} does not exist")
            sides: dict[str, ProfileOutcome] = {}
            for one_id in (task.one_id, *task.candidates):
                try:
                    side = self._profile_in(tx, one_id, None)
                except NotFound:
                    continue
                sides.setdefault(side.profile.one_id, side)
            return task, list(sides.values())

        return self.store.read(work, timeout)

    def decide_review_task(self, task_id: str, merge: bool, actor: str, reason: str,
                           timeout: float | None = None
                           ) -> tuple[ReviewTaskRow, str, tuple[str, ...]]:
        """Close an open review task: merge its people (answers the survivor and the
        absorbed) or keep each candidate apart from the task's person. One transaction."""
        now = self._now()

        def work(tx: GraphTx) -> tuple[ReviewTaskRow, str, tuple[str, ...]]:
            task = tx.review_task(task_id)
            if task is None:
                raise NotFound(f"review task {task_id} does not exist")
            if task.status != "OPEN":
                raise Conflict(f"review task {task_id} was decided already "
                               f"({task.decision} by {task.decided_by})")
            people = [self._follow_redirects(tx, oid) for oid in (task.one_id, *task.candidates)]
            survivor = people[0]
            absorbed: tuple[str, ...] = ()
            if merge and len(set(people)) > 1:
                survivor, absorbed = self._merge_in(tx, people, actor, reason, now)
            elif not merge:
                if people[0] in people[1:]:
                    raise Conflict(f"the task's people are one person ({people[0]}) by now; "
                                   "split it instead")
                tx.keep_apart([(people[0], other) for other in people[1:]], now, actor, reason,
                              task_id)
            decided = tx.decide_review_task(task_id, "MERGE" if merge else "KEEP_APART",
                                            actor, reason, now)
            assert decided is not None  # the task was open inside this transaction
            return decided, survivor, absorbed

        return self._steward_write(work, timeout)

    def erase_person(self, one_id: str, actor: str, reason: str,
                     timeout: float | None = None) -> tuple[str, tuple[str, ...]]:
        """Erase the person a OneID points at (PIPL / GDPR): its records, the identifiers
        and vehicles no one else's records hold, the values its lineage kept and the
        steward decisions about it; its OneIDs stay as tombstones and the feed says ERASED.
        Answers (the person, every OneID erased). This process's caches forget it too."""
        now = self._now()

        def work(tx: GraphTx) -> tuple[str, tuple[str, ...]]:
            person = self._follow_redirects(tx, one_id)
            erased = tx.erase_person(person, now, actor, reason)
            tx.record_changes([Change(ChangeType.ERASED, person,
                                      tuple(i for i in erased if i != person), actor)], now)
            return person, erased

        try:
            return self._steward_write(work, timeout)
        finally:
            with self._view_lock:
                self._invalidate_view()
            forget_compared_values()

    def history(self, one_id: str, timeout: float | None = None
                ) -> tuple[str, list[HistoryEntry]]:
        """The person a OneID points at now, and the lineage of it and of every OneID
        merged into it, oldest first."""
        def work(tx: GraphTx) -> tuple[str, list[HistoryEntry]]:
            person = self._follow_redirects(tx, one_id, erased=True)
            return person, tx.history(person)

        return self.store.read(work, timeout)

    def split_person(self, one_id: str, record_keys: Sequence[str], actor: str, reason: str,
                     timeout: float | None = None, *, re_resolve: bool = False
                     ) -> SplitOutcome:
        """A steward's split of the chosen records (keys ``source|source_record_id``) from
        the rest of a person; the parts are kept apart, so no later record re-merges them.

        Moving (the default): the chosen records become one new person; the larger part
        keeps the OneID (the chosen part on a tie moves). Re-resolving: each chosen record
        leaves on its own and is then resolved again like a record arriving now (it may
        join other people, never the one it left, or stay alone); the rest keeps the OneID.
        """
        now = self._now()

        def work(tx: GraphTx) -> tuple[str, dict[str, str]]:
            person = self._follow_redirects(tx, one_id)
            held = set(tx.person_record_keys(person))
            chosen = list(dict.fromkeys(record_keys))
            unknown = [i for i, key in enumerate(record_keys) if key not in held]
            if unknown:
                raise InvalidInput([FieldViolation(f"records[{i}]", f"not a record of {person}")
                                    for i in unknown])
            rest = sorted(held - set(chosen))
            if not chosen or not rest:
                raise InvalidInput.one("records", "choose some of the person's records, "
                                       "not none and not all")
            parts: list[tuple[str, ...]]
            if re_resolve:
                parts = [(key,) for key in sorted(chosen)]
            else:
                parts = [tuple(sorted(chosen)) if len(chosen) <= len(rest) else tuple(rest)]
            cut = tx.cut_must_links(person, [key for part in parts for key in part])
            if cut:
                raise Conflict("a steward merged these records' people: " + "; ".join(
                    f"{a} and {b} (by {who})" for a, b, who in cut)
                    + "; move them together or not at all")
            placed: dict[str, str] = {}
            for part in parts:
                new_one_id = self.mint_one_id(now)
                tx.split_person(person, new_one_id, part, self._new_id(), actor, reason, now,
                                siblings=tuple(placed.values()))
                placed.update(dict.fromkeys(part, new_one_id))
            news = tuple(dict.fromkeys(placed.values()))
            tx.record_changes([*(Change(ChangeType.CREATED, n, actor=actor) for n in news),
                               Change(ChangeType.SPLIT, person, news, actor, "manual")], now)
            return person, placed

        with self._view_lock:  # no batch of this engine comes between the two steps
            person, placed = self._steward_write(work, timeout)
            if re_resolve:
                records = self.store.read(lambda tx: [
                    self._stored_as_prepared(tx, new_one_id, actor)
                    for new_one_id in dict.fromkeys(placed.values())], timeout)
                outcomes = self.ingest_batch(records, timeout, recheck=True)
                placed = {r.key: o.one_id for r, o in zip(records, outcomes, strict=True)}
        return SplitOutcome(person, tuple(sorted(placed)), placed)

    def _stored_as_prepared(self, tx: GraphTx, one_id: str, actor: str) -> PreparedRecord:
        """The one record of a person as stored, ready to be resolved again."""
        (stored,) = self._profile_in(tx, one_id, None).profile.records
        return self._as_prepared(stored, actor)

    def _as_prepared(self, stored: StoredRecord, actor: str) -> PreparedRecord:
        """A stored record as a prepared one, ready to be resolved again."""
        attributes = dict(stored.attributes)
        return PreparedRecord(
            source=stored.source, source_record_id=stored.source_record_id,
            observed_at=stored.observed_at, identifiers=tuple(sorted(stored.identifiers)),
            blocking_keys=derive_blocking_keys(attributes, self.rules), attributes=attributes,
            vehicles=tuple(Vehicle(v.vin, VehicleRelation(v.relation), v.model, v.plate,
                                   v.since, v.until) for v in stored.vehicles),
            fingerprint=stored.fingerprint, actor=actor)

    def _steward_write(self, work: Callable[[GraphTx], T], timeout: float | None) -> T:
        """A steward's write: it moves the write epoch on, so this engine's view is
        dropped at its next batch; watchers of this server's change feed wake at once."""
        with self._view_lock:
            result = self.store.write(work, timeout)
        self._notify_commit()
        return result

    # ------------------------------------------------------------------ change feed
    def changes(self, after: int, limit: int) -> list[ChangeRow]:
        """Up to `limit` changes after feed position `after`, in commit order."""
        return self.store.changes_after(after, limit)

    @property
    def commits(self) -> int:
        """How many batches this engine has committed (to wait for the next one)."""
        return self._commits

    def wait_for_commit(self, seen: int, timeout: float) -> None:
        """Block until this engine commits a batch after the `seen`-th, or `timeout` seconds
        pass (other writers' commits are only seen by asking again)."""
        with self._committed:
            self._committed.wait_for(lambda: self._commits != seen, timeout)

    def _notify_commit(self) -> None:
        with self._committed:
            self._commits += 1
            self._committed.notify_all()

    def ingest_batch(self, records: Sequence[PreparedRecord], timeout: float | None = None,
                     *, update_view: bool = True, recheck: bool = False,
                     also: Callable[[GraphTx, list[IngestOutcome]], None] | None = None
                     ) -> list[IngestOutcome]:
        """Resolve and store validated records in one transaction, in order: the answers are
        those of ingesting them one by one. Without `update_view` the view stays empty
        afterwards (plans made before may still be queued: none may be made on top of them)."""
        if not records:
            return []
        now = self._now()
        with self._view_lock:
            started = time.perf_counter()
            try:
                outcomes, effect = self.store.write(
                    lambda tx: self._ingest_batch_in(tx, records, now, recheck, also), timeout)
            except BaseException:
                self._invalidate_view()
                raise
            if update_view:
                self.view.commit(effect)
            times = self.stage_times
            times.batches += 1
            times.records += len(records)
            times.total += time.perf_counter() - started
        self._notify_commit()
        return outcomes

    def plan_batch(self, records: Sequence[PreparedRecord], timeout: float | None = None
                   ) -> PlannedBatch | None:
        """Resolve a batch ahead of its transaction, against the view as it will be once the
        batches planned before it commit (they may still be committing): the pipeline's
        first stage. None when the view cannot tell (the batch then resolves in its own
        transaction)."""
        if not records:
            return None
        now = self._now()
        with self._view_lock:
            if self.view.epoch is None or not self.view.enabled:
                return None
            epoch, generation = self.view.epoch + 1, self._generation

            def work(tx: GraphTx) -> ResolvedBatch | None:
                try:
                    return self._resolve_batch(tx, records, now, epoch)
                except StaleSnapshot:
                    return None

            try:
                resolved = self.store.read(work, timeout)
            except BaseException:
                self._invalidate_view()
                raise
            if resolved is None:
                self._invalidate_view()
                return None
            self.view.commit(resolved.effect)
            return PlannedBatch(records, now, epoch, generation, resolved)

    def commit_planned(self, planned: PlannedBatch, timeout: float | None = None
                       ) -> list[IngestOutcome]:
        """Write a planned batch: the pipeline's second stage. When another writer (or a
        failed batch) came in between, the batch is resolved again inside the transaction."""
        def work(tx: GraphTx) -> list[IngestOutcome]:
            if tx.epoch != planned.epoch or planned.generation != self._generation:
                raise _PlanOutdated  # rolls the transaction back, epoch claim included
            self._write(tx, planned.resolved, planned.now)
            return planned.resolved.outcomes

        try:
            outcomes = self.store.write(work, timeout)
        except _PlanOutdated:
            log.info("a batch planned for write epoch %d is outdated (another writer or a "
                     "failed batch came in between); resolving it again", planned.epoch)
            with self._view_lock:
                self._invalidate_view()
            # The view stays empty, so the planner waits until every outdated plan queued
            # behind this one is redone like it, and then starts afresh.
            return self.ingest_batch(planned.records, timeout, update_view=False)
        except BaseException:
            with self._view_lock:
                self._invalidate_view()
            raise
        self._notify_commit()
        return outcomes

    def _invalidate_view(self) -> None:
        """Forget the view and every plan made on it (callers hold the view lock)."""
        self.view.clear()
        self._generation += 1

    def batch_time(self) -> datetime:
        """The time a batch written now is stored with (whole milliseconds)."""
        return self._now()

    def _now(self) -> datetime:
        now = self.clock()
        return now.replace(microsecond=now.microsecond // 1000 * 1000)  # stored at ms

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
        self.view.begin(tx.epoch)
        try:
            resolved = self._resolve_batch(tx, records, now, tx.epoch, recheck,
                                           lambda one_ids: self._stored_records(tx, one_ids))
        except StaleSnapshot:
            self._invalidate_view()  # then the store runs the transaction again
            raise
        self._write(tx, resolved, now)
        if also is not None:  # e.g. a backfill's checkpoint, committed with the batch
            also(tx, resolved.outcomes)
        return resolved.outcomes, resolved.effect

    def _write(self, tx: GraphTx, resolved: ResolvedBatch, now: datetime) -> None:
        started = time.perf_counter()
        tx.write_plan(resolved.plan, now, self.rules.blocking_slots, resolved.new_identifiers,
                      resolved.new_records)
        self.stage_times.writes += time.perf_counter() - started

    @staticmethod
    def _no_reevaluation(one_ids: Sequence[str]) -> list[PreparedRecord]:
        """A batch planned ahead of earlier batches' commits cannot read the records of the
        people a newly shared value merged: it resolves in its own transaction instead."""
        raise StaleSnapshot

    @staticmethod
    def _active_person(tx: GraphTx, one_id: str) -> CandidatePerson | None:
        rows = [r for r in tx.load_persons([one_id]) if r.status == "active"]
        return _candidate(rows[0]) if rows else None

    def _holders_of(self, tx: GraphTx, keys: Sequence[IdKey]) -> dict[str, list[str]]:
        """Holders of keys a batch did not load (a person's name keys, to find the people
        named exactly like them): from the view where it knows them, else the graph."""
        view = self.view
        found: dict[str, list[str]] = {}
        ask = []
        for key in keys:
            known = view.holders_of(key.key)
            if known is not None:
                found[key.key] = list(known)
            else:
                ask.append(key.key)
        if ask:
            _, read, _ = tx.lookup_batch([], ask, set(ask), self.rules.hub_cap)
            found.update((key, list(dict.fromkeys(view.final(p) for p in people)))
                         for key, people in read.items())
        return found

    def _stored_records(self, tx: GraphTx, one_ids: Sequence[str]) -> list[PreparedRecord]:
        """The stored records of people, as prepared records (to resolve them again)."""
        found: list[PreparedRecord] = []
        for one_id in one_ids:
            raw = tx.profile(one_id)
            if raw is not None:
                found.extend(self._as_prepared(_stored_record(r), "idgraph")
                             for r in raw["records"])
        return found

    def _resolve_batch(self, tx: GraphTx, records: Sequence[PreparedRecord], now: datetime,
                       epoch: int, recheck: bool = False,
                       records_of: Callable[[Sequence[str]], list[PreparedRecord]] | None = None
                       ) -> ResolvedBatch:
        """Resolve records in order against the view, reading from the graph only what the
        view lacks; what the view holds is mapped through the merges it knows of."""
        started = time.perf_counter()
        reading = 0.0
        view = self.view
        keys = {k.key: k for r in records for k in r.all_keys}
        lookup = lookup_keys(list(keys.values()), self.rules)
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
            [k for k in keys if k not in holders], lookup, self.rules.hub_cap)
        identities.update(read_identities)
        reading += time.perf_counter() - mark
        stored.update((key, (fingerprint, view.final(one_id)))
                      for key, (fingerprint, one_id) in read_stored.items())
        holders.update((key, list(dict.fromkeys(view.final(p) for p in people)))
                       for key, people in read_holders.items())
        new_identifiers = [keys[k] for k in sorted(keys)
                           if k not in holders and not keys[k].is_blocking]
        new_records = {r.key for r in records if r.key not in stored}
        counts = {key: len(people) for key, people in holders.items()}
        ignored = evidence_filter(tuple(keys.values()), counts, self.rules).ignored
        wanted = {oid for key, people in holders.items() if key not in ignored
                  for oid in people} | {one_id for _, one_id in stored.values()}
        persons = {oid: p for oid in wanted if (p := view.person(oid)) is not None}
        mark = time.perf_counter()
        rows = tx.load_persons(wanted - persons.keys())
        reading += time.perf_counter() - mark
        if len(rows) + len(persons) != len(wanted) or any(r.status != "active" for r in rows):
            raise StaleSnapshot
        persons.update((r.one_id, _candidate(r)) for r in rows)
        working = WorkingSet(self.rules, stored, holders, list(persons.values()),
                             lambda: self.mint_one_id(now), self._new_id, now, recheck,
                             identities, records_of or self._no_reevaluation,
                             person_of=lambda one_id: self._active_person(tx, one_id),
                             holders_of=lambda wanted: self._holders_of(tx, wanted))
        outcomes = [working.ingest(record) for record in records]
        plan = working.finished_plan()
        cap = self.rules.hub_cap
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

    def _new_id(self) -> str:
        return str(uuid.UUID(bytes=self.entropy(16), version=4))

    def new_id(self) -> str:
        """A new event or task id (random, from the engine's entropy)."""
        return self._new_id()

    # ----------------------------------------------------------------- resolve
    def resolve(self, identifiers: Sequence[RawIdentifier], attributes: Mapping[str, str],
                timeout: float | None = None) -> ResolveOutcome:
        """Read-only: which OneID would these identifiers and attributes join?"""
        record = self._probe(identifiers, attributes)
        if not record.all_keys:
            raise InvalidInput.one("identifiers", "at least one valid identifier (or a "
                                   "complete blocking key of attributes) is required")
        resolution = self.store.read(lambda tx: self._resolve_in(tx, record), timeout)
        one_id = resolution.target_one_id if resolution.action in (
            Action.LINKED, Action.MERGED) else None
        confidence = probability(resolution.score) if one_id else 0.0
        return ResolveOutcome(one_id or "", resolution.score if one_id else 0.0, confidence,
                              resolution.scored)

    def _probe(self, identifiers: Sequence[RawIdentifier], attributes: Mapping[str, str]
               ) -> PreparedRecord:
        return prepare_record(
            RawRecord("resolve", "probe", None, tuple(identifiers), dict(attributes)),
            self.rules, self.limits, self.secret, self.clock(), prefix="")

    def _resolve_in(self, tx: GraphTx, record: PreparedRecord) -> Resolution:
        rows = [(key, self._max_holders(record, key))
                for key in sorted(lookup_keys(record.all_keys, self.rules))]
        holders, people = tx.resolve_lookup(rows, self.rules.hub_cap)
        counts = {key: len(found) for key, found in holders.items()}
        shared = shared_keys(record.all_keys, tx.identities(k.key for k in record.identifiers),
                             self.rules)
        wanted = set(candidate_ids(record.all_keys, holders, self.rules, None, shared))
        candidates = tuple(_candidate(p) for p in people
                           if p.one_id in wanted and p.status == "active")
        return decide(Snapshot(record, candidates, counts, shared=shared), self.rules)

    def _max_holders(self, record: PreparedRecord, key: str) -> int:
        """Holders a key may have and still find candidates (its hub threshold)."""
        found = next(k for k in record.all_keys if k.key == key)
        if found.is_blocking:
            return self.rules.blocking_hub_threshold
        threshold = self.rules.identifier_types[found.type].hub_threshold
        return self.rules.hub_cap if threshold is None else threshold

    # ----------------------------------------------------------------- profile
    def profile(self, one_id: str = "", identifier: RawIdentifier | None = None,
                timeout: float | None = None) -> ProfileOutcome:
        """The profile behind a OneID (following redirects) or behind an identifier."""
        key = self._identifier_key(identifier) if identifier is not None else None
        if key is None and not looks_like_one_id(one_id):
            raise InvalidInput.one("one_id", "a OneID (oid_ + 26 characters) or an identifier "
                                   "is required")
        return self.store.read(lambda tx: self._profile_in(tx, one_id, key), timeout)

    # ----------------------------------------------------------------- vehicles
    def vehicle(self, vin: str, timeout: float | None = None) -> VehicleHistory:
        """A vehicle's make, model, year, current owner and relations over time."""
        normalized = self._normalized_vin(vin)
        raw = self.store.read(lambda tx: tx.vehicle(normalized), timeout)
        if raw is None:
            raise NotFound(f"no record mentions vehicle {normalized}")
        mentions = [Mention(m["relation"], to_native(m["since"]), to_native(m["until"]),
                            to_native(m["observed_at"]), m["one_id"], m["source"],
                            m["source_record_id"]) for m in raw["mentions"] if m]
        now = self._now()
        history = vehicle_history(normalized, raw["model"] or "", raw["plate"] or "", mentions,
                                  now, self.rules.makes)
        return replace(history, tags=vehicle_tags(history, self.tags, now,
                                                  _assigned_tags(raw["tags"])))

    # ---------------------------------------------------------- recommendations
    def recommend_models(self, one_id: str, k: int, timeout: float | None = None
                         ) -> tuple[str, list[Recommendation]]:
        """The next models for a person (trade-in or upgrade), each with its explanation;
        answers the OneID (after redirects) and the ranked models."""
        _check_k(k)
        _check_one_id(one_id)
        statistics = self._model_statistics(timeout)

        def work(tx: GraphTx) -> tuple[str, list[Recommendation]]:
            me = self._subject(tx, one_id)
            if me.consent is False:
                raise Conflict(f"{me.one_id} withdrew marketing consent")
            relationships = self._relationships(tx, me.one_id, me.addresses)
            summaries = self._summaries(tx, {r.one_id for r in relationships})
            contacts = [Contact(r.one_id, r.type.value) for r in relationships
                        if r.one_id in summaries and summaries[r.one_id].reachable]
            hood = ModelNeighbourhood(
                me.one_id, me.touches, me.dealers[0] if me.dealers else "", contacts,
                {c.one_id: summaries[c.one_id].touches for c in contacts},
                statistics.transitions, statistics.popularity, statistics.co_interest,
                statistics.interested)
            return me.one_id, recommend_models(hood, k)

        return self.store.read(work, timeout)

    def referral_candidates(self, one_id: str, k: int, with_tags: Sequence[str] = (),
                            without_tags: Sequence[str] = (), timeout: float | None = None
                            ) -> list[Recommendation]:
        """In-market people (a lead or a test drive, no car owned) within two household or
        referral hops of a person, nearest first, each with the path that links them."""
        _check_k(k)
        _check_one_id(one_id)
        self._check_tags(with_tags, "with_tags")
        self._check_tags(without_tags, "without_tags")

        def work(tx: GraphTx) -> list[Recommendation]:
            me = self._subject(tx, one_id)
            owner = me.one_id
            relationships = self._relationships(tx, owner, me.addresses)
            near = self._summaries(tx, {r.one_id for r in relationships})
            first = [r for r in relationships if r.one_id in near][:MAX_CONTACTS]
            edges = [(owner, r.one_id, r.type.value) for r in first]
            for rel in first:
                for further in self._relationships(tx, rel.one_id, near[rel.one_id].addresses):
                    if further.one_id != owner:
                        edges.append((rel.one_id, further.one_id, further.type.value))
            people = {b for _, b, _ in edges}
            summaries = {oid: near[oid] for oid in people & near.keys()}
            summaries.update(self._summaries(tx, people - near.keys()))  # second hop
            in_market = {oid: why for oid, s in summaries.items()
                         if s.reachable and (why := s.in_market())}
            ranked = referral_candidates(
                PersonNetwork(owner, [e for e in edges if e[1] in summaries], in_market),
                len(in_market))
            return self._tag_filtered(tx, ranked, with_tags, without_tags, k, summaries)

        return self.store.read(work, timeout)

    def similar_customers(self, one_ids: Sequence[str], k: int, with_tags: Sequence[str] = (),
                          without_tags: Sequence[str] = (), timeout: float | None = None
                          ) -> list[Recommendation]:
        """Lookalikes of a seed group: people sharing the seeds' models, dealers and cities,
        ranked by personalized PageRank from the seeds, each with what it shares."""
        _check_k(k)
        if not one_ids or len(one_ids) > MAX_SEEDS:
            raise InvalidInput.one("one_ids", f"1 to {MAX_SEEDS} OneIDs")
        for index, seed in enumerate(one_ids):
            _check_one_id(seed, f"one_ids[{index}]")
        self._check_tags(with_tags, "with_tags")
        self._check_tags(without_tags, "without_tags")

        def work(tx: GraphTx) -> list[Recommendation]:
            seeds = list(dict.fromkeys(self._follow_redirects(tx, s) for s in one_ids))
            seed_summaries = self._summaries(tx, seeds)
            features = {oid: s.features() for oid, s in seed_summaries.items()}
            models = sorted({m for s in seed_summaries.values() for m in s.owns})
            dealers = sorted({d for s in seed_summaries.values() for d in s.feature_dealers})
            cap = min(NEIGHBOURS_PER_FEATURE,
                      max(MIN_NEIGHBOURS_PER_FEATURE,
                          MAX_NEIGHBOURS // max(1, len(models) + len(dealers))))
            holders = tx.feature_neighbours(models, dealers, cap)
            others = self._summaries(tx, lookalike_candidates(features, holders,
                                                              MAX_LOOKALIKE_CANDIDATES))
            features.update((oid, s.features()) for oid, s in others.items() if s.reachable)
            ranked = similar_customers(FeatureGraph(seeds, features), len(features))
            return self._tag_filtered(tx, ranked, with_tags, without_tags, k, others)

        return self.store.read(work, timeout)

    def _model_statistics(self, timeout: float | None) -> ModelStatistics:
        """What owners buy next, what people interested in a model also consider, and how
        many own each model. They are read from the whole graph, then reused for
        `model_statistics_seconds`, or ten times as long as the last read took if that is
        longer (so a large graph is not scanned without pause). A stale copy is answered
        while a refresh runs in the background; 0 reads them afresh every time."""
        if self.model_statistics_seconds <= 0:
            return self._refresh_statistics(timeout)
        with self._statistics_lock:
            cached, at = self._statistics
            reuse = max(self.model_statistics_seconds, 10 * self._statistics_took)
            fresh = cached is not None and time.monotonic() - at < reuse
            if cached is not None and (fresh or self._statistics_refreshing):
                return cached
            if cached is not None:  # stale: answer it, refresh behind
                self._statistics_refreshing = True
                threading.Thread(target=self._refresh_statistics, args=(None,),
                                 daemon=True, name="model-statistics").start()
                return cached
        return self._refresh_statistics(timeout)

    def _refresh_statistics(self, timeout: float | None) -> ModelStatistics:
        try:
            started = time.monotonic()
            statistics = self.store.read(lambda tx: model_statistics(tx.model_touches()),
                                         timeout)
            with self._statistics_lock:
                self._statistics = (statistics, time.monotonic())
                self._statistics_took = time.monotonic() - started
            return statistics
        finally:
            with self._statistics_lock:
                self._statistics_refreshing = False

    def _summaries(self, tx: GraphTx, one_ids: Iterable[str]) -> dict[str, PersonSummary]:
        rows = tx.person_summaries(one_ids)
        return {oid: summarize(oid, [
            RecordFacts(r["source"], r["at"], json.loads(r["attributes"] or "{}"),
                        r["dealers"], [(t["model"], t["relation"], bool(t["current"]),
                                        t["since"]) for t in r["touches"]])
            for r in row["records"]], row["assigned_tags"]) for oid, row in rows.items()}

    def _subject(self, tx: GraphTx, one_id: str) -> PersonSummary:
        """The person a OneID points at now, summarized; NotFound when there is none."""
        target = self._follow_redirects(tx, one_id)
        found = self._summaries(tx, [target]).get(target)
        if found is None:
            raise NotFound(f"OneID {one_id} has no active person")
        return found

    def _check_tags(self, tags: Sequence[str], field_name: str) -> None:
        for index, tag in enumerate(tags):
            if not self.tags.defined("person", tag):
                raise InvalidInput.one(f"{field_name}[{index}]",
                                       f"not a person tag of the hierarchy: {tag!r}")

    def _tag_filtered(self, tx: GraphTx, ranked: Sequence[Recommendation],
                      with_tags: Sequence[str], without_tags: Sequence[str], k: int,
                      summaries: Mapping[str, PersonSummary]) -> list[Recommendation]:
        """The first k results whose tags (from data and assigned) include every
        `with_tags` and none of `without_tags`. Tags only ever assigned (no rule gives
        them) are read from the summaries at hand; a tag from data needs the person's
        profile (one query set per result checked, at most MAX_TAG_CHECKS)."""
        if not with_tags and not without_tags:
            return list(ranked[:k])
        from_data = any(self.tags.person[t].when is not None
                        for t in (*with_tags, *without_tags))
        kept = []
        for result in ranked[:MAX_TAG_CHECKS]:
            summary = summaries.get(result.item)
            if from_data or summary is None:
                tags = {t.path for t in self._profile_in(tx, result.item, None).profile.tags}
            else:
                tags = set(summary.assigned_tags)
            if set(with_tags) <= tags and not tags & set(without_tags):
                kept.append(result)
                if len(kept) == k:
                    break
        return kept

    # --------------------------------------------------------------------- tags
    def assign_tag(self, path: str, source: str, actor: str, one_id: str = "", vin: str = "",
                   timeout: float | None = None) -> str:
        """Tag a person (merged-away OneIDs follow their redirect) or a vehicle with a tag
        of the hierarchy; answers the OneID or VIN tagged."""
        kind, target = self._tag_target(path, one_id, vin)
        if not source.strip():
            raise InvalidInput.one("source", "required: who says so (a system or a campaign)")

        def work(tx: GraphTx) -> str:
            found = self._follow_redirects(tx, target) if kind == "person" else target
            if not tx.assign_tag(kind, found, path, source.strip()[:128], actor, self._now()):
                raise NotFound(f"no {'person' if kind == 'person' else 'vehicle'} {target}")
            return found

        return self._steward_write(work, timeout)

    def remove_tag(self, path: str, one_id: str = "", vin: str = "",
                   timeout: float | None = None) -> bool:
        """Remove an assigned tag; False when the target did not have it."""
        kind, target = self._tag_target(path, one_id, vin)

        def work(tx: GraphTx) -> bool:
            found = self._follow_redirects(tx, target) if kind == "person" else target
            return tx.remove_tag(kind, found, path)

        return self._steward_write(work, timeout)

    def _tag_target(self, path: str, one_id: str, vin: str) -> tuple[str, str]:
        if bool(one_id) == bool(vin):
            raise InvalidInput.one("target", "give a one_id or a vin")
        kind = "person" if one_id else "vehicle"
        if not self.tags.defined(kind, path):
            raise InvalidInput.one("tag", f"not a {kind} tag of the hierarchy: {path!r}")
        if kind == "person":
            _check_one_id(one_id)
            return kind, one_id
        return kind, self._normalized_vin(vin)

    def _normalized_vin(self, vin: str) -> str:
        """A VIN as stored; InvalidInput names `vin` when it is not a valid one."""
        try:
            return normalize_vin(vin, self.rules.format_options(None,
                                                                self.limits.max_value_length))
        except BadIdentifier as exc:
            raise InvalidInput.one("vin", f"invalid vin: {exc}") from None

    def _identifier_key(self, identifier: RawIdentifier) -> IdKey:
        try:
            keys = prepare_identifiers((identifier,), self.rules, self.limits, self.secret)
        except InvalidInput as exc:
            raise InvalidInput([FieldViolation(v.field.replace("identifiers[0]", "identifier"),
                                               v.description) for v in exc.violations]) from None
        if not keys:
            raise InvalidInput.one("identifier.value", "the value stands for \"no value\"")
        return keys[0]

    def _profile_in(self, tx: GraphTx, one_id: str, key: IdKey | None) -> ProfileOutcome:
        requested = one_id
        if key is not None:
            people = tx.people_by_identifier(key.key, limit=self.rules.hub_cap)
            if not people:
                raise NotFound(f"no person holds this {key.type}")
            if len(people) > 1:
                raise Conflict(f"this {key.type} is held by {len(people)} people; ask by OneID")
            requested = one_id = people[0]
        target = self._follow_redirects(tx, one_id)
        raw = tx.profile(target)
        if raw is None:
            raise NotFound(f"OneID {one_id} does not exist")
        records = tuple(_stored_record(r) for r in raw["records"])
        keys = {k.key for r in records for k in r.identifiers}
        counts = tx.holder_counts(keys, self.rules.hub_cap)
        named = {key: len(found) for key, found in tx.identities(keys).items()}
        profile = Profile(
            one_id=raw["one_id"], created_at=_dt(raw["created_at"]),
            updated_at=_dt(raw["updated_at"]),
            attributes=golden_attributes(records, self.rules),
            identifiers=profile_identifiers(records, counts, self.rules, named),
            records=tuple(sorted(records, key=lambda r: (r.observed_at, r.source,
                                                         r.source_record_id))),
            vehicles=profile_vehicles(records),
            merged_one_ids=tuple(sorted(raw["merged"])),
            relationships=self._relationships(tx, target, addresses_of(records)),
            dealers=tuple(dealer_affinity(records, self.rules)),
        )
        profile = replace(profile, tags=person_tags(profile, self.tags, self._now(),
                                                    _assigned_tags(raw["tags"])))
        return ProfileOutcome(profile, target != requested, requested)

    def _relationships(self, tx: GraphTx, one_id: str, addresses: Iterable[str]
                       ) -> tuple[Relationship, ...]:
        """Households and referrals, read from what the records share and name."""
        types = household_types(self.rules)
        cap = max((t.hub_threshold or 1 for name, t in self.rules.identifier_types.items()
                   if name in types), default=1)
        raw = tx.relations(one_id, types, cap)
        shared = [SharedValue(s["type"], s["value"], bool(s["hashed"]),
                              to_native(s["first_seen"]),
                              [Sharer(o["one_id"], to_native(o["first_seen"]), bool(o["apart"]),
                                      [json.loads(a) for a in o["attributes"]])
                               for o in s["others"]])
                  for s in raw["shared"]]
        named = [Referral(n["type"], n["value"], bool(n["hashed"]), to_native(n["at"]),
                          n["holders"][0] if n["holders"] else "", len(n["holders"]))
                 for n in raw["named"]]
        naming = [Referral(n["type"], n["value"], bool(n["hashed"]), to_native(n["at"]),
                           n["one_id"], int(n["holders"])) for n in raw["naming"]]
        return tuple(households(addresses, shared, self.rules) + referrals(named, naming))

    def _follow_redirects(self, tx: GraphTx, one_id: str, erased: bool = False) -> str:
        """The person a OneID points at now; NotFound for an erased one unless `erased`."""
        current = one_id
        for _ in range(16):  # redirects are kept one hop deep; the bound guards bad data
            status = tx.person_status(current)
            if status is None:
                raise NotFound(f"OneID {one_id} does not exist")
            if status[0] == "erased" and not erased:
                raise NotFound(f"OneID {one_id} was erased")
            if status[0] not in ("merged", "erased") or not status[1]:
                return current
            current = status[1]
        raise Conflict(f"OneID {one_id} redirects in a loop")

    # ----------------------------------------------------------------- explain
    def explain(self, other_one_id: str, record: RawRecord | None = None,
                one_id: str = "", timeout: float | None = None) -> ExplainOutcome:
        """Score a record (or a OneID) against another OneID and say what it would lead to."""
        _check_one_id(other_one_id, "other_one_id")
        prepared = self.prepare(record) if record is not None else None
        if prepared is None and not looks_like_one_id(one_id):
            raise InvalidInput.one("one_id", "give a record or a OneID to explain")
        return self.store.read(lambda tx: self._explain_in(tx, prepared, one_id, other_one_id),
                               timeout)

    def _explain_in(self, tx: GraphTx, record: PreparedRecord | None, one_id: str,
                    other_one_id: str) -> ExplainOutcome:
        other = self._load_one(tx, other_one_id)
        if record is not None:
            subject = Evidence.of(record.identifiers, [record.attributes])
            keys = record.all_keys
        else:
            person = self._load_one(tx, one_id)
            subject = person.evidence
            keys = tuple(person.evidence.identifiers)
        counts = tx.holder_counts([k.key for k in keys], self.rules.hub_cap)
        shared = shared_keys(keys, tx.identities(k.key for k in keys), self.rules)
        filt = evidence_filter(tuple(keys), counts, self.rules, shared)
        result = score(subject, other.evidence, self.rules, filt)
        verdict = classify_pair(result, self.rules)
        action = {PairVerdict.MATCH: Action.LINKED, PairVerdict.UNCERTAIN: Action.REVIEW,
                  PairVerdict.NON_MATCH: Action.NEW}[verdict]
        return ExplainOutcome(result, action, explain_verdict(result, self.rules))

    def _load_one(self, tx: GraphTx, one_id: str) -> CandidatePerson:
        target = self._follow_redirects(tx, one_id)
        rows = tx.load_persons([target])
        if not rows:
            raise NotFound(f"OneID {one_id} does not exist")
        return _candidate(rows[0])


MAX_K = 100
MAX_SEEDS = 1000
MAX_CONTACTS = 50  # first-hop contacts a referral search follows
MAX_TAG_CHECKS = 200  # ranked results whose tags are checked, at most
# A lookalike search reads up to NEIGHBOURS_PER_FEATURE people per model or dealer of the
# seeds (fewer when the seeds have many, down to MIN_NEIGHBOURS_PER_FEATURE, so that about
# MAX_NEIGHBOURS are read in all), then walks to the MAX_LOOKALIKE_CANDIDATES of them
# sharing the most with the seeds.
NEIGHBOURS_PER_FEATURE = 100
MIN_NEIGHBOURS_PER_FEATURE = 20
MAX_NEIGHBOURS = 2000
MAX_LOOKALIKE_CANDIDATES = 300


def _check_k(k: int) -> None:
    if not 1 <= k <= MAX_K:
        raise InvalidInput.one("k", f"between 1 and {MAX_K}")


def _check_one_id(one_id: str, field_name: str = "one_id") -> None:
    if not looks_like_one_id(one_id):
        raise InvalidInput.one(field_name, "a OneID (oid_ + 26 characters) is required")


def _iso(value: object) -> str:
    native = to_native(value)
    return native.isoformat() if native else ""


def _assigned_tags(rows: Sequence[Mapping[str, object]]) -> list[AssignedTag]:
    return [AssignedTag(str(r["path"]), str(r["source"] or ""), str(r["actor"] or ""),
                        to_native(r["at"])) for r in rows]


def _candidate(row: PersonRow) -> CandidatePerson:
    return CandidatePerson(row.one_id, row.created_at,
                           Evidence.of(row.identifiers, row.attributes), row.apart_from)


def _dt(value: object) -> datetime:
    return to_native(value) or datetime.fromtimestamp(0, UTC)


def _stored_record(raw: Mapping[str, object]) -> StoredRecord:
    identifiers = tuple(
        IdKey(str(i["type"]), str(i["scope"]), str(i["value"]), bool(i["hashed"]))
        for i in raw["identifiers"]  # type: ignore[attr-defined]
    )
    vehicles = tuple(  # a mention without a VIN is interest in a model (vin "")
        StoredVehicle(str(v["vin"] or ""), str(v["model"] or ""), str(v["plate"] or ""),
                      str(v["relation"]), to_native(v["since"]), to_native(v["until"]))
        for v in raw["vehicles"]  # type: ignore[attr-defined]
        if v["vin"] is not None or v["model"] is not None
    )
    return StoredRecord(
        source=str(raw["source"]), source_record_id=str(raw["source_record_id"]),
        observed_at=_dt(raw["observed_at"]), ingested_at=_dt(raw["ingested_at"]),
        attributes=json.loads(str(raw["attributes"] or "{}")),
        identifiers=identifiers, vehicles=vehicles, fingerprint=str(raw.get("fingerprint") or ""),
    )
