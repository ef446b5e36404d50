"""Stewardship: a data steward's decisions: keeping people apart, merging, review tasks,
splitting a person, and erasure."""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime

from idgraph.domain.records import PreparedRecord, RawIdentifier
from idgraph.domain.scoring import forget_compared_values
from idgraph.domain.working_set import Change, ChangeType, MergeStep, WritePlan
from idgraph.engine.common import (
    ProfileOutcome,
    SplitOutcome,
    as_prepared,
    candidate,
    follow_redirects,
    suppression_digest,
)
from idgraph.engine.core import Core
from idgraph.engine.ingestion import Ingestion
from idgraph.engine.reads import Reads
from idgraph.errors import Conflict, FieldViolation, InvalidInput, NotFound
from idgraph.store.neo4j_store import GraphTx, ReviewFilter, ReviewPageKey, ReviewTaskRow


@dataclass
class Stewardship:
    """Steward writes through the core (a split that re-resolves ingests again; review
    tasks show the people's profiles)."""

    core: Core
    ingestion: Ingestion
    reads: Reads

    def keep_apart(self, one_ids: Sequence[str], actor: str, reason: str, task_id: str = "",
                   timeout: float | None = None) -> list[tuple[str, str]]:
        """Record that the people behind `one_ids` (merged-away OneIDs follow their
        redirect) are never merged with each other, by any later ingest or re-evaluation;
        answers the newly constrained pairs."""
        pairs = [(a, b) for i, a in enumerate(one_ids) for b in one_ids[i + 1:]]
        now = self.core.now()
        return self.core.steward_write(
            lambda tx: tx.keep_apart(pairs, now, actor, reason, task_id), timeout)

    def merge_persons(self, one_ids: Sequence[str], actor: str, reason: str,
                      timeout: float | None = None) -> tuple[str, tuple[str, ...]]:
        """A steward's merge of the people behind `one_ids` into the oldest of them: their
        records move to it, the others redirect to it, and the merge is recorded (rule
        "manual") with the actor and reason. Answers (survivor, absorbed). Conflict when
        they are one person already or a steward decided to keep them apart."""
        now = self.core.now()
        return self.core.steward_write(
            lambda tx: self._merge_in(tx, one_ids, actor, reason, now), timeout)

    def _merge_in(self, tx: GraphTx, one_ids: Sequence[str], actor: str, reason: str,
                  now: datetime) -> tuple[str, tuple[str, ...]]:
        people = list(dict.fromkeys(follow_redirects(tx, oid) for oid in one_ids))
        if len(people) < 2:
            raise Conflict(f"the OneIDs already point at one person, {people[0]}")
        persons = sorted((candidate(row) for row in tx.load_persons(people)),
                         key=lambda p: p.age_key)
        for person in persons:
            apart = person.apart_from.intersection(people)
            if apart:
                raise Conflict(f"{person.one_id} is kept apart from {', '.join(sorted(apart))} "
                               "by a steward's decision")
        survivor, absorbed = persons[0].one_id, tuple(p.one_id for p in persons[1:])
        evidence = json.dumps({"decision": "MERGED", "reason": reason,
                               "requested": list(one_ids)}, ensure_ascii=False)
        event_id = self.core.new_id()
        tx.must_link(survivor, absorbed, event_id, actor, now)
        plan = WritePlan(
            merges=[MergeStep(event_id, survivor, absorbed, "manual", 0.0, "", evidence,
                              actor)],
            redirects=dict.fromkeys(absorbed, survivor),
            changes=[Change(ChangeType.MERGED, survivor, absorbed, actor, "manual")])
        tx.write_plan(plan, now, self.core.rules.blocking_slots)
        return survivor, absorbed

    def review_tasks(self, where: ReviewFilter, after: ReviewPageKey, limit: int,
                     timeout: float | None = None) -> list[ReviewTaskRow]:
        """Review tasks matching `where` in its order, after a page key."""
        return self.core.store.read(lambda tx: tx.review_tasks(where, after, limit), timeout)

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
                    side = self.reads.profile_in(tx, one_id, None)
                except NotFound:
                    continue
                sides.setdefault(side.profile.one_id, side)
            return task, list(sides.values())

        return self.core.store.read(work, timeout)

    def decide_review_task(self, task_id: str, merge: bool, actor: str, reason: str,
                           timeout: float | None = None
                           ) -> tuple[ReviewTaskRow, str, tuple[str, ...]]:
        """Close an open review task: merge its people (answers the survivor and the
        absorbed) or keep each candidate apart from the task's person. One transaction."""
        now = self.core.now()

        def work(tx: GraphTx) -> tuple[ReviewTaskRow, str, tuple[str, ...]]:
            task = tx.review_task(task_id)
            if task is None:
                raise NotFound(f"review task {task_id} does not exist")
            if task.status != "OPEN":
                raise Conflict(f"review task {task_id} was decided already "
                               f"({task.decision} by {task.decided_by})")
            people = [follow_redirects(tx, oid) for oid in (task.one_id, *task.candidates)]
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

        return self.core.steward_write(work, timeout)

    def erase_person(self, one_id: str, actor: str, reason: str,
                     timeout: float | None = None) -> tuple[str, tuple[str, ...]]:
        """Erase the person a OneID points at (PIPL / GDPR): its records, the identifiers
        and vehicles no one else's records hold, the values its lineage kept and the
        steward decisions about it; its OneIDs stay as tombstones and the feed says ERASED.
        Answers (the person, every OneID erased). This process's caches forget it too."""
        now = self.core.now()

        def work(tx: GraphTx) -> tuple[str, tuple[str, ...]]:
            person = follow_redirects(tx, one_id)
            erased = tx.erase_person(person, now, actor, reason)
            tx.record_changes([Change(ChangeType.ERASED, person,
                                      tuple(i for i in erased if i != person), actor)], now)
            return person, erased

        try:
            return self.core.steward_write(work, timeout)
        finally:
            with self.core.view_lock:
                self.core.invalidate_view()
            forget_compared_values()

    def suppress_identifier(self, identifier: RawIdentifier, actor: str, reason: str,
                            timeout: float | None = None) -> bool:
        """Put a value on the suppression list ("do not process me"): every record arriving
        after this answer that carries it is refused (SUPPRESSED). False when it was on the
        list already. The list holds a keyed hash of the normalized value."""
        key = self.reads.identifier_key(identifier)
        digest, now = suppression_digest(self.core.secret, key.key), self.core.now()
        return self.core.steward_write(
            lambda tx: tx.suppress(digest, key.type, actor, reason, now), timeout)

    def lift_suppression(self, identifier: RawIdentifier, timeout: float | None = None
                         ) -> bool:
        """Take a value off the suppression list; False when it was not on it."""
        key = self.reads.identifier_key(identifier)
        digest = suppression_digest(self.core.secret, key.key)
        return self.core.steward_write(lambda tx: tx.lift_suppression(digest), timeout)

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
        core = self.core
        now = core.now()

        def work(tx: GraphTx) -> tuple[str, dict[str, str]]:
            person = follow_redirects(tx, one_id)
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
                new_one_id = core.mint_one_id(now)
                tx.split_person(person, new_one_id, part, core.new_id(), actor, reason, now,
                                siblings=tuple(placed.values()))
                placed.update(dict.fromkeys(part, new_one_id))
            news = tuple(dict.fromkeys(placed.values()))
            tx.record_changes([*(Change(ChangeType.CREATED, n, actor=actor) for n in news),
                               Change(ChangeType.SPLIT, person, news, actor, "manual")], now)
            return person, placed

        with core.view_lock:  # no batch of this engine comes between the two steps
            person, placed = core.steward_write(work, timeout)
            if re_resolve:
                records = core.store.read(lambda tx: [
                    self._stored_as_prepared(tx, new_one_id, actor)
                    for new_one_id in dict.fromkeys(placed.values())], timeout)
                outcomes = self.ingestion.ingest_batch(records, timeout, recheck=True)
                # a record refused (a suppressed value) stays where the split put it
                placed = {r.key: o.one_id or placed[r.key]
                          for r, o in zip(records, outcomes, strict=True)}
        return SplitOutcome(person, tuple(sorted(placed)), placed)

    def _stored_as_prepared(self, tx: GraphTx, one_id: str, actor: str) -> PreparedRecord:
        """The one record of a person as stored, ready to be resolved again."""
        (stored,) = self.reads.profile_in(tx, one_id, None).profile.records
        return as_prepared(stored, actor, self.core.rules)
