"""Neo4jStore: the one seam between idgraph and Neo4j.

``Neo4jStore`` owns the driver and runs transaction functions; ``GraphTx`` wraps one
transaction and offers the graph operations resolution needs. Driver errors are mapped
to ``idgraph.errors`` here and nowhere else.
"""

from __future__ import annotations

import json
import logging
import time
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any, LiteralString, Protocol, TypeVar, cast

import neo4j
from neo4j import Driver, GraphDatabase, ManagedTransaction
from neo4j import exceptions as neo4j_errors
from neo4j.time import DateTime as Neo4jDateTime

from idgraph.domain.records import BLOCKING_PREFIX, KEY_SEPARATOR, IdKey, PreparedRecord
from idgraph.domain.resolution import FAR_FUTURE
from idgraph.domain.rules import MAX_BLOCKING_KEYS
from idgraph.domain.working_set import Change, ChangeType, WritePlan
from idgraph.errors import DatabaseDown, DeadlineExceeded, Unavailable
from idgraph.metrics import NEO4J_TX_RETRIES, NEO4J_TX_SECONDS
from idgraph.store import cypher
from idgraph.store.migrations import load_migrations

T = TypeVar("T")

# Positions of the change feed: write epoch * CHANGES_PER_EPOCH + index in the transaction.
CHANGES_PER_EPOCH = 1 << 20
log = logging.getLogger(__name__)


class StaleSnapshot(Exception):
    """What the graph answered does not fit together (a holder that is no longer an active
    person): the view was out of date; drop it and run the transaction again."""


@dataclass(frozen=True)
class PersonRow:
    """A person with what scoring needs: identifiers and every record's attributes."""

    one_id: str
    status: str
    created_at: datetime
    identifiers: tuple[IdKey, ...]
    attributes: tuple[dict[str, str], ...]
    apart_from: frozenset[str] = frozenset()


@dataclass(frozen=True)
class ReviewTaskRow:
    """A review task as stored."""

    task_id: str
    status: str  # OPEN | DECIDED
    created_at: datetime | None
    record_key: str
    one_id: str
    candidates: tuple[str, ...]
    score: float
    reason: str
    evidence: str
    decision: str = ""
    decided_by: str = ""
    decided_at: datetime | None = None
    decision_reason: str = ""
    people_involved: int = 0  # the task's people now, and the records they hold
    records_involved: int = 0


# Where a page of review tasks starts: after (records involved, people involved, created
# ms, task id) in the listing's order.
ReviewPageKey = tuple[int, int, int, str]
FIRST_PAGE: ReviewPageKey = (1 << 62, 1 << 62, -1, "")


@dataclass(frozen=True)
class ReviewFilter:
    """Which review tasks to list."""

    status: str = ""  # "" any
    min_score: float | None = None
    max_score: float | None = None
    reason_contains: str = ""
    source: str = ""
    largest_first: bool = False  # most records involved first, else oldest first


def _task_row(row: Mapping[str, Any]) -> ReviewTaskRow:
    return ReviewTaskRow(
        task_id=row["task_id"], status=row["status"], created_at=from_epoch_ms(row["created_ms"]),
        record_key=row["record_key"] or "", one_id=row["one_id"] or "",
        candidates=tuple(row["candidates"] or ()), score=float(row["score"] or 0.0),
        reason=row["reason"] or "", evidence=row["evidence"] or "",
        decision=row["decision"] or "", decided_by=row["decided_by"] or "",
        decided_at=from_epoch_ms(row["decided_ms"]), decision_reason=row["decision_reason"] or "",
        people_involved=int(row.get("people_involved") or 0),
        records_involved=int(row.get("records_involved") or 0))


@dataclass(frozen=True)
class HistoryEntry:
    """One step in the lineage of a OneID."""

    at: datetime | None
    kind: str  # CREATED | MERGED | SPLIT | REVIEW_OPENED | REVIEW_DECIDED | ERASED
    actor: str
    one_id: str
    related: tuple[str, ...]
    rule: str = ""
    score: float = 0.0
    reason: str = ""
    task_id: str = ""
    decision: str = ""


@dataclass(frozen=True)
class ChangeRow:
    """A change as stored in the feed."""

    position: int
    change: Change
    at: datetime | None


def epoch_ms(value: datetime | None) -> int | None:
    """Aware datetime -> epoch milliseconds; Cypher turns it back with datetime({epochMillis})
    (much cheaper than the driver's datetime packing)."""
    return None if value is None else int(value.timestamp() * 1000)


def from_epoch_ms(value: int | None) -> datetime | None:
    """Epoch milliseconds -> aware UTC datetime."""
    return None if value is None else datetime.fromtimestamp(value / 1000, UTC)


def to_native(value: Any) -> datetime | None:
    """Neo4j temporal (or epoch milliseconds) -> Python datetime (None stays None)."""
    if value is None:
        return None
    if isinstance(value, Neo4jDateTime):
        return value.to_native()
    if isinstance(value, int):  # read as epoch milliseconds (cheaper than a datetime)
        return from_epoch_ms(value)
    return cast(datetime, value)


class GraphTx:
    """One open transaction and the graph operations run inside it."""

    def __init__(self, tx: ManagedTransaction) -> None:
        self._tx = tx
        self.epoch = 0  # the write epoch this transaction claimed (write transactions only)

    def _run(self, query: LiteralString, **params: Any) -> list[neo4j.Record]:
        return list(self._tx.run(query, params))

    def claim_epoch(self) -> int:
        """Take the graph's write turn and answer the new write epoch."""
        (row,) = self._run(cypher.CLAIM_EPOCH)
        return int(row["epoch"])

    def lookup_batch(self, record_keys: Sequence[str], keys: Iterable[str], lookup: set[str],
                     cap: int) -> tuple[dict[str, tuple[str, str]], dict[str, list[str]],
                                        dict[str, tuple[str, ...]]]:
        """Stored (fingerprint, one_id) of the records sent before, and for every identifier
        key that exists its holders (up to `cap`; empty unless the key is in `lookup`) and
        the different people its records name. Keys missing from the answer do not exist
        yet."""
        rows = [{"key": key, "lookup": key in lookup, "block": key.startswith(BLOCKING_PREFIX)}
                for key in sorted(set(keys))]
        if not rows and not record_keys:
            return {}, {}, {}
        (result,) = self._run(cypher.LOOKUP_BATCH, record_keys=list(record_keys), rows=rows,
                              cap=cap)
        stored = {key: (fingerprint, one_id) for key, fingerprint, one_id in result["stored"]}
        holders = {key: list(people) for key, people, _ in result["holders"]}
        identities = {key: tuple(found) for key, _, found in result["holders"]}
        return stored, holders, identities

    def identities(self, keys: Iterable[str]) -> dict[str, tuple[str, ...]]:
        """The different people the records carrying each identifier key name."""
        rows = self._run(cypher.IDENTITIES, keys=sorted(set(keys)))
        return {r["key"]: tuple(r["identities"]) for r in rows}

    def resolve_lookup(self, rows: Sequence[tuple[str, int]], cap: int
                       ) -> tuple[dict[str, list[str]], list[PersonRow]]:
        """Read-only: holders (capped) of each (key, max_holders) and, for keys with at most
        max_holders holders, those people loaded for scoring."""
        (result,) = self._run(cypher.RESOLVE_LOOKUP, cap=cap, rows=[
            {"key": key, "max_holders": max_holders, "lookup": True,
             "block": key.startswith(BLOCKING_PREFIX)} for key, max_holders in rows])
        holders = {key: list(people) for key, people in result["holders"]}
        return holders, [_person_row(p) for p in result["persons"]]

    def load_persons(self, one_ids: Iterable[str]) -> list[PersonRow]:
        """Load people for scoring."""
        wanted = sorted(set(one_ids))
        if not wanted:
            return []
        return [_person_row(r) for r in self._run(cypher.LOAD_PERSONS, one_ids=wanted)]

    def write_plan(self, plan: WritePlan, now: datetime, block_slots: Mapping[str, int],
                   new_identifiers: Sequence[IdKey] = (),
                   new_records: frozenset[str] | set[str] = frozenset()) -> None:
        """Carry out a batch's write plan in a few batched statements: `new_identifiers` are
        created, the records in `new_records` were never stored and are created, the others
        are written in place. A record's blocking key of type t goes to the property slot
        `block_slots[t]`."""
        ms = epoch_ms(now)
        if new_identifiers:
            self._run(cypher.CREATE_IDENTIFIERS, rows=[
                {"key": k.key, "type": k.type, "scope": k.scope, "value": k.value,
                 "hashed": k.hashed} for k in new_identifiers], now=ms)
        # Survivors and new people are created with the records, which therefore are written
        # before the merges that point absorbed people at them.
        created = [_record_row(r, one_id, block_slots)
                   for key, (r, one_id) in plan.records.items() if key in new_records]
        updated = [_record_row(r, one_id, block_slots)
                   for key, (r, one_id) in plan.records.items() if key not in new_records]
        if created:
            self._run(cypher.CREATE_RECORDS, rows=created, now=ms)
        if updated:
            self._run(cypher.UPSERT_RECORDS, rows=updated, now=ms)
        if plan.redirects:
            event_of = {a: m.event_id for m in plan.merges for a in m.absorbed}
            rows = [{"absorbed": a, "survivor": s, "event_id": event_of[a]}
                    for a, s in plan.redirects.items()]
            self._run(cypher.MERGE_PERSONS, rows=rows, now=ms)
        if plan.splits:
            self._run(cypher.SPLIT_SHARED, now=ms, splits=[
                {"event_id": x.event_id, "one_id": x.one_id, "new_one_id": x.new_one_id,
                 "record_keys": list(x.record_keys), "reason": x.reason} for x in plan.splits])
        if plan.identities:
            self._run(cypher.SET_IDENTITIES, rows=[
                {"key": key, "identities": list(found)}
                for key, found in sorted(plan.identities.items())])
        if plan.merges:
            self._run(cypher.RECORD_MERGE_EVENTS, events=[
                {"event_id": m.event_id, "survivor": m.survivor, "absorbed": list(m.absorbed),
                 "rule": m.rule, "score": m.score, "record_key": m.record_key,
                 "evidence": m.evidence, "actor": m.actor} for m in plan.merges], now=ms)
        if plan.changes:
            self.record_changes(plan.changes, now)
        with_vehicles = [r for r, _ in plan.records.values() if any(v.vin for v in r.vehicles)]
        if with_vehicles:
            self._run(cypher.LINK_VEHICLES, rows=[_vehicle_row(r) for r in with_vehicles],
                      now=ms)
        with_interests = [r for r, _ in plan.records.values()
                          if any(not v.vin for v in r.vehicles)]
        if with_interests:
            self._run(cypher.LINK_MODEL_INTERESTS,
                      rows=[_interest_row(r) for r in with_interests])
        related = [r for r, _ in plan.records.values() if r.referrers or r.dealers]
        if related:
            self._run(cypher.LINK_RELATIONS, rows=[{
                "key": r.key, "dealers": list(r.dealers),
                "referrers": [{"key": k.key, "type": k.type, "scope": k.scope,
                               "value": k.value, "hashed": k.hashed} for k in r.referrers]}
                for r in related], now=ms)
        if plan.review_tasks:
            self._run(cypher.CREATE_REVIEW_TASKS, tasks=[
                {"task_id": t.task_id, "record_key": t.record_key, "one_id": t.one_id,
                 "candidates": list(t.candidates), "score": t.score, "reason": t.reason,
                 "evidence": t.evidence} for t in plan.review_tasks], now=ms)

    def record_changes(self, changes: Sequence[Change], now: datetime) -> None:
        """Append changes to the feed at positions after every earlier commit's."""
        if len(changes) >= CHANGES_PER_EPOCH:
            raise ValueError(f"{len(changes)} changes in one transaction; at most "
                             f"{CHANGES_PER_EPOCH - 1}")
        if self.epoch <= 0:
            raise RuntimeError("changes are recorded in write transactions only")
        base = self.epoch * CHANGES_PER_EPOCH
        self._run(cypher.RECORD_CHANGES, changes=[
            {"position": base + index, "type": c.type.value, "one_id": c.one_id,
             "related": list(c.related), "actor": c.actor, "rule": c.rule, "score": c.score}
            for index, c in enumerate(changes)], now=epoch_ms(now))

    def keep_apart(self, pairs: Sequence[tuple[str, str]], now: datetime, actor: str,
                   reason: str, task_id: str = "") -> list[tuple[str, str]]:
        """Record that the active people behind each pair of OneIDs stay apart; answers the
        pairs (as active OneIDs) that were not kept apart already."""
        rows = self._run(cypher.KEEP_APART, pairs=[list(p) for p in pairs], now=epoch_ms(now),
                         actor=actor, reason=reason, task_id=task_id)
        return [(r["first"], r["second"]) for r in rows]

    def review_tasks(self, where: ReviewFilter, after: ReviewPageKey, limit: int
                     ) -> list[ReviewTaskRow]:
        """Review tasks matching `where` after a page key (records and people involved,
        created ms, task id), oldest first or most records involved first."""
        banded = where.min_score is not None or where.max_score is not None
        query = cypher.LIST_REVIEW_TASKS_LARGEST if where.largest_first else \
            cypher.LIST_REVIEW_TASKS
        return [_task_row(r) for r in self._run(
            query, status=where.status, banded=banded,
            min_score=where.min_score if where.min_score is not None else -1e308,
            max_score=where.max_score if where.max_score is not None else 1e308,
            reason=where.reason_contains,
            source_prefix=where.source + KEY_SEPARATOR if where.source else "",
            after_records=after[0], after_people=after[1], after_ms=after[2],
            after_id=after[3], limit=limit)]

    def review_task(self, task_id: str) -> ReviewTaskRow | None:
        """One review task, or None."""
        rows = self._run(cypher.GET_REVIEW_TASK, task_id=task_id)
        return _task_row(rows[0]) if rows else None

    def decide_review_task(self, task_id: str, decision: str, actor: str, reason: str,
                           now: datetime) -> ReviewTaskRow | None:
        """Close an open task with its decision; None when it is not open."""
        rows = self._run(cypher.DECIDE_REVIEW_TASK, task_id=task_id, decision=decision,
                         actor=actor, reason=reason, now=epoch_ms(now))
        return _task_row(rows[0]) if rows else None

    def erase_person(self, one_id: str, now: datetime, actor: str, reason: str
                     ) -> tuple[str, ...]:
        """Erase an active person and every OneID merged into it: records, identifiers and
        vehicles no one else's records hold, the values kept in its lineage, steward
        decisions about it; the OneIDs stay as tombstones. Answers the erased OneIDs."""
        rows = self._run(cypher.ERASURE_SCOPE, one_id=one_id)
        if not rows:
            return ()
        scope = rows[0]
        ids = tuple(scope["ids"])
        self._run(cypher.ERASE_RECORDS, records=scope["records"])
        self._run(cypher.ERASE_ORPHANS, identifiers=scope["identifiers"], vins=scope["vins"],
                  referrers=scope["referrers"])
        self._run(cypher.SCRUB_LINEAGE, ids=list(ids))
        self._run(cypher.TOMBSTONE_PERSONS, ids=list(ids), one_id=one_id, now=epoch_ms(now),
                  actor=actor, reason=reason)
        return ids

    def save_checkpoint(self, name: str, state: Mapping[str, int | str | bool],
                        now: datetime) -> None:
        """Store a backfill's progress (in the transaction of the batch it follows)."""
        self._run(cypher.SAVE_CHECKPOINT, name=name, state=dict(state), now=epoch_ms(now))

    def load_checkpoint(self, name: str) -> dict[str, Any] | None:
        """A backfill's stored progress, or None."""
        rows = self._run(cypher.LOAD_CHECKPOINT, name=name)
        return dict(rows[0]["state"]) if rows else None

    def suppress(self, digest: str, type_: str, actor: str, reason: str, now: datetime
                 ) -> bool:
        """Put a value's keyed hash on the suppression list; False when it was there."""
        return bool(self._run(cypher.SUPPRESS, digest=digest, type=type_, actor=actor,
                              reason=reason, now=epoch_ms(now))[0]["created"])

    def lift_suppression(self, digest: str) -> bool:
        """Take a value's keyed hash off the suppression list; False when it was not on."""
        return bool(self._run(cypher.LIFT_SUPPRESSION, digest=digest)[0]["lifted"])

    def suppressed(self, digests: Sequence[str]) -> set[str]:
        """The digests on the suppression list."""
        if not digests:
            return set()
        return set(self._run(cypher.SUPPRESSED, digests=list(digests))[0]["found"])

    def history(self, one_id: str, reads: bool = False) -> list[HistoryEntry]:
        """The lineage of an active person and of every OneID merged into it (and who read
        their data, with `reads`)."""
        return [HistoryEntry(
            at=from_epoch_ms(r["at_ms"]), kind=r["kind"], actor=r["actor"] or "",
            one_id=r["one_id"] or "", related=tuple(r["related"] or ()), rule=r["rule"] or "",
            score=float(r["score"] or 0.0), reason=r["reason"] or "",
            task_id=r["task_id"] or "", decision=r["decision"] or "")
            for r in self._run(cypher.HISTORY, one_id=one_id, reads=reads)]

    def must_link(self, survivor: str, absorbed: Sequence[str], event_id: str, actor: str,
                  now: datetime) -> None:
        """Tie the first record of each absorbed person to the survivor's first record
        (call before the merge moves the records)."""
        firsts = {r["one_id"]: r["first"] for r in self._run(cypher.FIRST_RECORDS,
                                                             one_ids=list(absorbed))}
        self._run(cypher.MUST_LINK, survivor=survivor, absorbed_firsts=list(firsts.values()),
                  event_id=event_id, actor=actor, now=epoch_ms(now))

    def cut_must_links(self, one_id: str, moving: Sequence[str]) -> list[tuple[str, str, str]]:
        """(moving record, staying record, actor) of every must-link a split would cut."""
        return [(r["moving"], r["staying"], r["actor"] or "")
                for r in self._run(cypher.CUT_MUST_LINKS, one_id=one_id, moving=list(moving))]

    def person_record_keys(self, one_id: str) -> list[str]:
        """The keys of the records a person is made of."""
        return [r["key"] for r in self._run(cypher.PERSON_RECORD_KEYS, one_id=one_id)]

    def split_person(self, one_id: str, new_one_id: str, record_keys: Sequence[str],
                     event_id: str, actor: str, reason: str, now: datetime,
                     siblings: Sequence[str] = ()) -> None:
        """Move records of an active person to a new person kept apart from it (and not
        from `siblings`, the other new people of the same split)."""
        self._run(cypher.SPLIT_PERSON, one_id=one_id, new_one_id=new_one_id,
                  record_keys=list(record_keys), event_id=event_id, actor=actor, reason=reason,
                  now=epoch_ms(now), siblings=list(siblings))

    def assign_tag(self, kind: str, target: str, path: str, source: str, actor: str,
                   now: datetime) -> bool:
        """Tag an active person (kind "person", target a OneID) or a vehicle (a VIN);
        False when there is no such target."""
        query = cypher.ASSIGN_PERSON_TAG if kind == "person" else cypher.ASSIGN_VEHICLE_TAG
        key = "one_id" if kind == "person" else "vin"
        return bool(self._run(query, path=path, source=source, actor=actor,
                              now=epoch_ms(now), **{key: target}))

    def remove_tag(self, kind: str, target: str, path: str, now: datetime) -> bool:
        """Remove an assigned tag; False when it was not there."""
        query = cypher.REMOVE_PERSON_TAG if kind == "person" else cypher.REMOVE_VEHICLE_TAG
        key = "one_id" if kind == "person" else "vin"
        return int(self._run(query, path=path, now=epoch_ms(now),
                             **{key: target})[0]["removed"]) > 0

    def vehicle(self, vin: str) -> dict[str, Any] | None:
        """A vehicle with every mention of it (relation, time bounds, record, person)."""
        rows = self._run(cypher.GET_VEHICLE, vin=vin)
        return dict(rows[0]) if rows else None

    def person_status(self, one_id: str) -> tuple[str, str | None] | None:
        """(status, merged_into) of a person, or None when no such OneID was issued."""
        rows = self._run(cypher.PERSON_STATUS, one_id=one_id)
        return (rows[0]["status"], rows[0]["merged_into"]) if rows else None

    def people_by_identifier(self, key: str, limit: int) -> list[str]:
        """OneIDs of people holding an identifier (at most `limit`)."""
        return [r["one_id"] for r in self._run(cypher.PEOPLE_BY_IDENTIFIER, key=key, limit=limit)]

    def profile(self, one_id: str) -> dict[str, Any] | None:
        """Raw profile data: the person, its records with identifiers and vehicles."""
        return self.profiles([one_id]).get(one_id)

    def profiles(self, one_ids: Sequence[str]) -> dict[str, dict[str, Any]]:
        """Raw profile data of several people (any status), by OneID; a OneID that does
        not exist is absent."""
        return {r["one_id"]: dict(r) for r in self._run(cypher.PROFILE, one_ids=list(one_ids))}

    def stored_records(self, one_ids: Sequence[str]) -> dict[str, list[dict[str, Any]]]:
        """The stored records of people by OneID, as PROFILE's record maps (no ingestion
        time; times as epoch ms); a OneID without records is absent."""
        found: dict[str, list[dict[str, Any]]] = {}
        if one_ids:
            for row in self._run(cypher.STORED_RECORDS_OF, one_ids=list(one_ids)):
                found.setdefault(row["one_id"], []).append(row["record"])
        return found

    def records_page(self, after: str, limit: int) -> list[dict[str, Any]]:
        """Up to `limit` records after key `after`, in key order, each with its person's
        OneID and age (key, one_id, created_ms, record: STORED_RECORDS_OF's map)."""
        return [dict(r) for r in self._run(cypher.RULE_PREVIEW_RECORDS, after=after,
                                           limit=limit)]

    def steward_decisions(self) -> dict[str, list[Any]]:
        """Pairs of active OneIDs kept apart, pairs of must-linked record keys, and the
        record keys a review task was opened for."""
        (row,) = self._run(cypher.RULE_PREVIEW_DECISIONS)
        return dict(row)

    def write_epoch(self) -> int:
        """The graph's write epoch now (without taking the write turn)."""
        return int(self._run(cypher.WRITE_EPOCH)[0]["epoch"])

    def record_applied_rules(self, digest: str, toml: str, actor: str, now: datetime) -> None:
        """Keep the rules an apply made the graph's (text and digest, who, when)."""
        self._run(cypher.RECORD_APPLIED_RULES, digest=digest, toml=toml, actor=actor,
                  now=epoch_ms(now))

    def applied_rules(self) -> dict[str, Any] | None:
        """The rules last applied (digest, toml, actor, at_ms), or None."""
        rows = self._run(cypher.APPLIED_RULES)
        return dict(rows[0]) if rows else None

    def relations(self, one_id: str, types: Sequence[str], cap: int) -> dict[str, Any]:
        """What a person's relationships are read from (see PERSON_RELATIONS)."""
        return self.relations_of([one_id], types, cap).get(
            one_id, {"named": [], "naming": [], "shared": []})

    def relations_of(self, one_ids: Sequence[str], types: Sequence[str], cap: int
                     ) -> dict[str, dict[str, Any]]:
        """What several people's relationships are read from, by OneID."""
        return {r["one_id"]: dict(r) for r in self._run(
            cypher.PERSON_RELATIONS, one_ids=list(one_ids), types=list(types), cap=cap)}

    def person_summaries(self, one_ids: Iterable[str]) -> dict[str, dict[str, Any]]:
        """Active people's records (source, time, attributes, dealers, vehicle mentions)
        and assigned tags, by OneID (missing: not an active person)."""
        wanted = sorted(set(one_ids))
        if not wanted:
            return {}
        return {r["one_id"]: dict(r) for r in self._run(cypher.PERSON_SUMMARIES,
                                                        one_ids=wanted)}

    def model_touches(self) -> Iterator[list[tuple[str, str, int | None, bool]]]:
        """Each active person's owned, test-driven and wanted models: (model, relation,
        first start ms, still open), one list per person, streamed: consume it inside
        the transaction."""
        for row in self._tx.run(cypher.MODEL_TOUCHES):
            yield [(m, relation, since, bool(open_)) for m, relation, since, open_
                   in row["touched"]]

    def feature_neighbours(self, models: Sequence[str], dealers: Sequence[str], cap: int
                           ) -> dict[str, list[str]]:
        """For each feature (`model:X`, `dealer:D`), up to `cap` people holding it: current
        owners of the model, customers of the dealer."""
        (row,) = self._run(cypher.FEATURE_NEIGHBOURS, models=list(models),
                           dealers=list(dealers), cap=cap)
        return {feature: list(people) for feature, people in row["features"]}

    def holder_counts(self, keys: Iterable[str], cap: int) -> dict[str, int]:
        """Distinct people holding each identifier key, counted up to `cap`."""
        rows = self._run(cypher.HOLDER_COUNTS, cap=cap, rows=[
            {"key": key, "lookup": True, "block": key.startswith(BLOCKING_PREFIX)}
            for key in keys])
        return {r["key"]: r["holders"] for r in rows}

    def lead_facts(self, one_ids: Iterable[str]) -> dict[str, list[dict[str, Any]]]:
        """Active people's records as lead grading reads them (see LEAD_FACTS), by OneID
        (missing: not an active person)."""
        wanted = sorted(set(one_ids))
        if not wanted:
            return {}
        return {r["one_id"]: list(r["records"])
                for r in self._run(cypher.LEAD_FACTS, one_ids=wanted)}

    def lead_people(self, sources: Iterable[str]) -> list[str]:
        """The active people with a record from one of `sources`, by OneID."""
        return [r["one_id"] for r in self._run(cypher.LEAD_PEOPLE, sources=sorted(sources))]

    # ------------------------------------------------------------------ audiences
    def active_one_ids(self) -> list[str]:
        """Every active person's OneID."""
        return [r["one_id"] for r in self._tx.run(cypher.ACTIVE_ONE_IDS)]

    def people_updated_since(self, since: datetime) -> list[str]:
        """The people written (updated, merged away or erased) since a time."""
        return [r["one_id"] for r in self._run(cypher.PEOPLE_UPDATED_SINCE,
                                               since=epoch_ms(since))]

    def export_people(self, one_ids: Sequence[str]) -> list[dict[str, Any]]:
        """What an export reads afresh of its members (the active ones): identifiers
        (key, type, value, hashed) and consent statements (observed ms, attributes)."""
        return [dict(r) for r in self._run(cypher.EXPORT_PEOPLE, one_ids=list(one_ids))]

    def suppression_digests(self, cap: int) -> set[str] | None:
        """Every digest on the suppression list; None when there are more than `cap`."""
        found = self._run(cypher.SUPPRESSION_DIGESTS, cap=cap)[0]["digests"]
        return None if found is None else set(found)

    def save_audience(self, name: str, owner: str, description: str, definition: str,
                      actor: str, size: int, kind: str, now: datetime) -> None:
        """Create or change an audience, with an event in its history."""
        self._run(cypher.SAVE_AUDIENCE, name=name, owner=owner, description=description,
                  definition=definition, actor=actor, size=size, kind=kind,
                  now=epoch_ms(now))

    def audience(self, name: str) -> dict[str, Any] | None:
        """A stored audience with its history."""
        rows = self._run(cypher.AUDIENCE, name=name)
        return dict(rows[0]) if rows else None

    def audiences(self, after: str, limit: int) -> list[dict[str, Any]]:
        """Stored audiences by name, after a name."""
        return [dict(r) for r in self._run(cypher.AUDIENCES, after=after, limit=limit)]

    def delete_audience(self, name: str) -> bool:
        """Remove an audience and its history; False when there was none."""
        return int(self._run(cypher.DELETE_AUDIENCE, name=name)[0]["deleted"]) > 0

    def record_export(self, name: str, actor: str, size: int, exported: int,
                      identifiers: Sequence[str], fmt: str, excluded: str,
                      now: datetime) -> None:
        """An export in the audience's history."""
        self._run(cypher.RECORD_EXPORT, name=name, actor=actor, size=size, exported=exported,
                  identifiers=list(identifiers), format=fmt, excluded=excluded,
                  now=epoch_ms(now))


def _person_row(row: Mapping[str, Any]) -> PersonRow:
    return PersonRow(
        one_id=row["one_id"], status=row["status"],
        created_at=from_epoch_ms(row["created_ms"]) or FAR_FUTURE,
        identifiers=tuple(IdKey(t, s, v, bool(h)) for t, s, v, h in row["identifiers"]),
        attributes=tuple(json.loads(a) for a in row["attributes"]),
        apart_from=frozenset(row.get("apart") or ()),
    )


def _record_row(record: PreparedRecord, one_id: str, block_slots: Mapping[str, int]
                ) -> dict[str, Any]:
    blocks: list[str | None] = [None] * MAX_BLOCKING_KEYS
    for key in record.blocking_keys:
        blocks[block_slots[key.type]] = key.key
    return {"key": record.key, "one_id": one_id, "source": record.source,
            "source_record_id": record.source_record_id,
            "observed_at": epoch_ms(record.observed_at),
            "attributes": json.dumps(record.attributes, ensure_ascii=False, sort_keys=True),
            "fingerprint": record.fingerprint,
            "identifier_keys": [k.key for k in record.identifiers], "blocks": blocks}


def _vehicle_row(record: PreparedRecord) -> dict[str, Any]:
    return {"key": record.key, "observed_at": epoch_ms(record.observed_at),
            "vehicles": [{"vin": v.vin, "relation": v.relation.value, "model": v.model,
                          "plate": v.plate, "since": epoch_ms(v.since),
                          "until": epoch_ms(v.until), "make": v.make,
                          "model_year": v.model_year} for v in record.vehicles if v.vin]}


def _interest_row(record: PreparedRecord) -> dict[str, Any]:
    """Mentions of a model without a VIN (interest, test drive)."""
    return {"key": record.key, "observed_at": epoch_ms(record.observed_at),
            "interests": [{"model": v.model, "relation": v.relation.value,
                           "since": epoch_ms(v.since), "until": epoch_ms(v.until)}
                          for v in record.vehicles if not v.vin]}


class GraphStore(Protocol):
    """What the engine needs from a graph store."""

    def write(self, work: Callable[[GraphTx], T], timeout: float | None = None) -> T: ...
    def read(self, work: Callable[[GraphTx], T], timeout: float | None = None) -> T: ...
    def changes_after(self, position: int, limit: int) -> list[ChangeRow]: ...
    def reachable(self) -> bool: ...


class Neo4jStore:
    """Owns the driver; runs idempotent transaction functions with retries and timeouts."""

    STALE_RETRIES = 8

    def __init__(self, uri: str, user: str, password: str, database: str = "neo4j",
                 max_pool_size: int = 100, retry_seconds: float = 5.0) -> None:
        auth = (user, password) if password else None
        self.database = database
        self.driver: Driver = GraphDatabase.driver(
            uri, auth=auth, max_connection_pool_size=max_pool_size,
            notifications_min_severity="OFF", max_transaction_retry_time=retry_seconds,
        )

    def close(self) -> None:
        """Close the driver and its connections."""
        self.driver.close()

    def open_review_tasks(self) -> int:
        """How many review tasks are open."""
        return int(self.run_cypher(cypher.COUNT_OPEN_TASKS)[0]["open"])

    def value_holders(self, key: str, limit: int = 100) -> list[str]:
        """The active people whose records hold an identifier key (at most `limit`)."""
        return [str(r["one_id"]) for r in self.run_cypher(cypher.VALUE_HOLDERS, key=key,
                                                          limit=limit)]

    def review_reasons(self, limit: int = 20) -> list[tuple[str, int]]:
        """Open review tasks counted by reason, the commonest first."""
        return [(str(r["reason"] or ""), int(r["n"]))
                for r in self.run_cypher(cypher.REVIEW_REASONS, limit=limit)]

    def record_reads(self, rows: Sequence[Mapping[str, Any]]) -> None:
        """Store read events (no write turn: they change nothing resolution reads)."""
        self.run_cypher(cypher.RECORD_READS, rows=[dict(r) for r in rows])

    def shared_values(self, hubs: Mapping[str, int]) -> list[tuple[str, int, bool, int]]:
        """(type, people named, hub?, how many values) for the values whose records name two
        or more people or that more people hold than `hubs[type]` (a full scan of the
        identifiers: metrics read it now and then, never a request)."""
        rows = self.run_cypher(cypher.SHARED_VALUES, hubs=dict(hubs),
                               min_hub=min(hubs.values(), default=None))
        return [(str(r["type"]), int(r["named"]), bool(r["is_hub"]), int(r["values"]))
                for r in rows]

    def reachable(self) -> bool:
        """True when Neo4j answers a query now (no retries: a readiness probe)."""
        try:
            with self.driver.session(database=self.database) as session:
                session.run("RETURN 1").consume()
            return True
        except (neo4j_errors.DriverError, neo4j_errors.Neo4jError, OSError):
            return False

    def wait_until_ready(self, timeout: float = 60.0) -> None:
        """Poll connectivity until Neo4j answers, or raise Unavailable."""
        deadline = time.monotonic() + timeout
        while True:
            try:
                self.driver.verify_connectivity()
                return
            except (neo4j_errors.DriverError, neo4j_errors.Neo4jError, OSError) as exc:
                if time.monotonic() > deadline:
                    raise Unavailable(f"Neo4j did not answer within {timeout:.0f}s: {exc}") from exc
                time.sleep(0.5)

    def migrate(self) -> list[int]:
        """Apply pending schema migrations in order; answer the versions applied now."""
        self._execute(cypher.MIGRATION_CONSTRAINT)
        records, _, _ = self.driver.execute_query(cypher.APPLIED_MIGRATIONS,
                                                  database_=self.database)
        done = {r["version"] for r in records}
        applied = []
        for migration in load_migrations():
            if migration.version in done:
                continue
            for statement in migration.statements:
                self._execute(statement)  # migration file text, never request data
            self._execute(cypher.RECORD_MIGRATION, version=migration.version,
                          name=migration.name)
            applied.append(migration.version)
        if applied:
            self._execute(cypher.AWAIT_INDEXES)
        return applied

    def _execute(self, query: LiteralString, **params: Any) -> None:
        with _mapped_errors():
            self.driver.execute_query(query, params, database_=self.database)

    def write(self, work: Callable[[GraphTx], T], timeout: float | None = None) -> T:
        """Run `work` in a write transaction (retried on transient errors and stale reads)."""
        return self._transact(work, timeout, write=True)

    def read(self, work: Callable[[GraphTx], T], timeout: float | None = None) -> T:
        """Run `work` in a read transaction."""
        return self._transact(work, timeout, write=False)

    def _transact(self, work: Callable[[GraphTx], T], timeout: float | None, write: bool) -> T:
        if timeout is not None and timeout <= 0:
            raise DeadlineExceeded("deadline already passed")

        attempts = 0

        @neo4j.unit_of_work(timeout=timeout)
        def run(tx: ManagedTransaction) -> T:
            nonlocal attempts
            attempts += 1
            graph = GraphTx(tx)
            if write:
                graph.epoch = graph.claim_epoch()
            return work(graph)

        started = time.perf_counter()
        try:
            with _mapped_errors(), self.driver.session(database=self.database) as session:
                for attempt in range(self.STALE_RETRIES):
                    try:
                        if write:
                            return session.execute_write(run)
                        return session.execute_read(run)
                    except StaleSnapshot:
                        log.debug("stale snapshot, attempt %d", attempt + 1)
                        time.sleep(0.001 * (attempt + 1))
                raise Unavailable("graph kept changing under the transaction; try again")
        finally:
            NEO4J_TX_SECONDS.labels("write" if write else "read").observe(
                time.perf_counter() - started)
            if attempts > 1:
                NEO4J_TX_RETRIES.inc(attempts - 1)

    def changes_after(self, position: int, limit: int) -> list[ChangeRow]:
        """Up to `limit` changes after `position`, in commit order."""
        return [ChangeRow(int(r["position"]), Change(
            ChangeType(r["type"]), r["one_id"], tuple(r["related"] or ()), r["actor"] or "",
            r["rule"] or "", float(r["score"] or 0.0)), from_epoch_ms(r["at_ms"]))
            for r in self.run_cypher(cypher.CHANGES_AFTER, after=position, limit=limit)]

    def mapping(self, page_size: int = 10_000) -> Iterator[tuple[str, str, str]]:
        """Every (source, source_record_id, one_id), in record-key order, page by page."""
        after = ""
        while True:
            rows = self.run_cypher(cypher.MAPPING_PAGE, after=after, limit=page_size)
            for row in rows:
                yield row["source"], row["source_record_id"], row["one_id"]
            if len(rows) < page_size:
                return
            after = rows[-1]["key"]

    def run_cypher(self, query: LiteralString, **params: Any) -> list[dict[str, Any]]:
        """Run one statement and answer its rows as dicts (tests and admin tools)."""
        with _mapped_errors():
            records, _, _ = self.driver.execute_query(query, params, database_=self.database)
        return [dict(r) for r in records]


@contextmanager
def _mapped_errors() -> Iterator[None]:
    """Map driver errors to idgraph errors, keeping the cause; other errors pass through."""
    try:
        yield
    except (neo4j_errors.Neo4jError, neo4j_errors.DriverError) as exc:
        code = getattr(exc, "code", "") or ""
        if "TransactionTimedOut" in code:
            raise DeadlineExceeded("the transaction ran past the caller's deadline") from exc
        if isinstance(exc, neo4j_errors.ServiceUnavailable | neo4j_errors.SessionExpired):
            raise DatabaseDown(f"Neo4j unavailable: {exc}") from exc
        if isinstance(exc, neo4j_errors.TransientError | neo4j_errors.DriverError):
            raise Unavailable(f"Neo4j unavailable: {exc}") from exc
        raise
