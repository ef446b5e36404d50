"""Resolve a batch of records in order against an in-memory view of the graph around them.

The store loads the view (stored records, identifier holders, candidate people) once per
batch; each record is decided by the same pure ``decide`` as a single ingest, and its
effect (a new person, a link, a merge) is applied to the view before the next record, so a
batch gives the answers that ingesting its records one by one would. The result is a write
plan the store carries out in a handful of batched statements.
"""

from __future__ import annotations

import json
from collections import Counter, defaultdict
from collections.abc import Callable, Container, Iterable, Mapping, Sequence
from dataclasses import dataclass, field, replace
from datetime import datetime
from enum import StrEnum

from idgraph.domain.identities import identity_of, shared_keys, with_identity
from idgraph.domain.records import IdKey, PreparedRecord, person_blocking_keys
from idgraph.domain.resolution import (
    Action,
    CandidatePerson,
    Resolution,
    Snapshot,
    conflicting_namesake,
    decide,
    evidence_filter,
)
from idgraph.domain.rules import Rules
from idgraph.domain.scoring import Evidence


@dataclass(frozen=True)
class IngestOutcome:
    """What Ingest answers for one record."""

    one_id: str
    action: Action
    score: float = 0.0
    merged_one_ids: tuple[str, ...] = ()
    review_task_id: str = ""


@dataclass(frozen=True)
class MergeStep:
    """One merge as it happened: recorded as a MergeEvent with its evidence."""

    event_id: str
    survivor: str
    absorbed: tuple[str, ...]
    rule: str
    score: float
    record_key: str  # the record that caused it ("" for a steward's merge)
    evidence: str
    actor: str = ""  # who sent the record, or the steward who merged


@dataclass(frozen=True)
class ReviewTaskPlan:
    """A review task to open."""

    task_id: str
    record_key: str
    one_id: str
    candidates: tuple[str, ...]
    score: float
    reason: str
    evidence: str


class ChangeType(StrEnum):
    """What a change event reports."""

    CREATED = "CREATED"  # a new OneID
    MERGED = "MERGED"  # related OneIDs were absorbed into one_id
    SPLIT = "SPLIT"  # records of one_id moved to the related OneIDs
    ERASED = "ERASED"  # one_id and its data were erased


@dataclass(frozen=True)
class Change:
    """One change of the identity graph, as the change feed tells it (no personal data)."""

    type: ChangeType
    one_id: str
    related: tuple[str, ...] = ()
    actor: str = ""
    rule: str = ""
    score: float = 0.0


@dataclass(frozen=True)
class SplitStep:
    """People merged through a value that turned out shared, taken apart again: the stored
    records (`record_keys`) move to `new_one_id` (records of the batch are written there)."""

    event_id: str
    one_id: str
    new_one_id: str
    record_keys: tuple[str, ...]
    reason: str


@dataclass
class WritePlan:
    """Everything a batch writes, with every OneID already pointing at its final person."""

    new_persons: list[str] = field(default_factory=list)
    changes: list[Change] = field(default_factory=list)  # in the order they happened
    records: dict[str, tuple[PreparedRecord, str]] = field(default_factory=dict)
    merges: list[MergeStep] = field(default_factory=list)
    redirects: dict[str, str] = field(default_factory=dict)  # absorbed -> final survivor
    review_tasks: list[ReviewTaskPlan] = field(default_factory=list)
    splits: list[SplitStep] = field(default_factory=list)
    # identifier key -> the different people its records name, for keys this batch changed
    identities: dict[str, tuple[str, ...]] = field(default_factory=dict)


def lookup_keys(keys: Sequence[IdKey], rules: Rules) -> set[str]:
    """Keys worth asking the graph about: blocking keys and evidence types not blocklisted."""
    lookup = set()
    for key in keys:
        if key.is_blocking:
            lookup.add(key.key)
            continue
        rule = rules.identifier_types[key.type]
        if rule.evidence and key.value not in rule.blocklist:
            lookup.add(key.key)
    return lookup


def new_identifier_nodes(keys: Mapping[str, IdKey], known: Container[str] = ()
                         ) -> list[IdKey]:
    """The identifier nodes a write creates: the keys (by key) the graph does not hold yet,
    blocking keys aside, sorted by key."""
    return [keys[k] for k in sorted(keys) if k not in known and not keys[k].is_blocking]


def candidate_ids(keys: Sequence[IdKey], holders: Mapping[str, Sequence[str]],
                  rules: Rules, current: str | None, shared: Mapping[str, int] | None = None
                  ) -> list[str]:
    """People to score: holders of the record's usable keys, most shared keys first."""
    counts = {k.key: len(holders.get(k.key, ())) for k in keys}
    ignored = evidence_filter(tuple(keys), counts, rules, shared).ignored
    votes: Counter[str] = Counter()
    for key in keys:
        if key.key not in ignored:
            votes.update(holders.get(key.key, ()))
    ranked = sorted(votes, key=lambda oid: (-votes[oid], oid))[: rules.max_candidates]
    if current is not None and current not in ranked:
        ranked.append(current)
    return ranked


_IDENTITY_VALUES = ("birth_date", "gender")
# The stored records of people, by OneID (one call for all the people a step needs).
RecordsOf = Callable[[Sequence[str]], Mapping[str, Sequence[PreparedRecord]]]
HoldersOf = Callable[[Sequence[IdKey]], Mapping[str, Sequence[str]]]


# Holders of a value that became shared resolved together, at most (a consultant's phone on
# fifty leads is resolved person by person).
_JOINT_REEVALUATION = 8


def _no_stored_records(one_ids: Sequence[str]) -> Mapping[str, Sequence[PreparedRecord]]:
    return {}


class WorkingSet:
    """The graph around a batch, updated in memory as each record is resolved.

    `identities` holds, per identifier key, the different people its records name; a key
    whose count reaches its type's `shared_identities` stops being evidence, and the people
    holding it are resolved again from their records (`records_of` reads the stored ones of
    some OneIDs, `person_of` a stored person the batch did not load; records of this batch
    are known here)."""

    def __init__(self, rules: Rules, stored: Mapping[str, tuple[str, str]],
                 holders: Mapping[str, Sequence[str]], persons: Sequence[CandidatePerson],
                 mint_one_id: Callable[[], str], new_id: Callable[[], str],
                 now: datetime, recheck: bool = False,
                 identities: Mapping[str, Sequence[str]] | None = None,
                 records_of: RecordsOf = _no_stored_records, reevaluate: bool = True,
                 person_of: Callable[[str], CandidatePerson | None] = lambda one_id: None,
                 holders_of: HoldersOf = lambda keys: {},
                 ) -> None:
        self.rules = rules
        self.recheck = recheck  # decide again even for records sent before unchanged
        self.stored = dict(stored)  # record key -> (fingerprint, one_id)
        self.holders = {key: list(people) for key, people in holders.items()}
        # Indexes that keep each step independent of the batch's size (a whole partition
        # of a backfill may be resolved in one view): the keys each person holds, the
        # records of the batch each OneID owns, and the OneIDs merged into each survivor.
        self._keys_of: dict[str, set[str]] = defaultdict(set)
        for key, people in self.holders.items():
            for one_id in people:
                self._keys_of[one_id].add(key)
        self._members: dict[str, set[str]] = defaultdict(set)
        self._absorbed: dict[str, list[str]] = defaultdict(list)
        self.persons = {p.one_id: p for p in persons}
        self.mint_one_id, self.new_id, self.now = mint_one_id, new_id, now
        self.identities = {key: tuple(found) for key, found in (identities or {}).items()}
        self.records_of, self.reevaluate = records_of, reevaluate
        # The stored records of each OneID read so far: the graph does not change while a
        # batch resolves, and a common name's namesakes are checked again and again.
        self._stored_of: dict[str, Sequence[PreparedRecord]] = {}
        self.person_of = person_of  # a stored person the batch did not load (a hub's holder)
        self.holders_of = holders_of  # the stored holders of keys the batch did not load
        self.moved: dict[str, tuple[PreparedRecord, str]] = {}  # stored records split off
        self.split_persons: set[str] = set()
        self.split_born: set[str] = set()  # people a split in this batch created
        self.plan = WritePlan()

    def final(self, one_id: str) -> str:
        """The person a OneID points at after this batch's merges so far."""
        return self.plan.redirects.get(one_id, one_id)

    def ingest(self, record: PreparedRecord) -> IngestOutcome:
        """Decide one record and apply the decision to the view and the plan."""
        stored = self.stored.get(record.key)
        if stored and stored[0] == record.fingerprint and not self.recheck:
            return IngestOutcome(self.final(stored[1]), Action.UNCHANGED)
        current = self.final(stored[1]) if stored else None
        counts = {k.key: len(self.holders.get(k.key, ())) for k in record.all_keys}
        shared = shared_keys(record.all_keys, self.identities, self.rules)
        wanted = candidate_ids(record.all_keys, self.holders, self.rules, current, shared)
        snapshot = Snapshot(record, tuple(self.persons[oid] for oid in wanted), counts, current,
                            shared)
        resolution = decide(snapshot, self.rules)
        outcome = self._apply(record, resolution)
        newly_shared = self._note_identity(record)
        namesakes = self._conflicting_namesakes(record, outcome) if self.reevaluate else []
        if namesakes:
            self._regroup([outcome.one_id, *namesakes], "re-evaluated: a person named "
                          "exactly like another now differs from them")
            outcome = replace(outcome, one_id=self.final(self.stored[record.key][1]))
        if self.reevaluate and (newly_shared or resolution.unsettled):
            for key in newly_shared:
                self._reevaluate_holders(key)
            if resolution.unsettled:
                self._regroup([self.final(self.stored[record.key][1]),
                               *resolution.unsettled],
                              "re-evaluated: a record matched people who do not match each other")
            return replace(outcome, one_id=self.final(self.stored[record.key][1]))
        return outcome

    def _conflicting_namesakes(self, record: PreparedRecord, outcome: IngestOutcome
                               ) -> list[str]:
        """People named exactly like the person a record joined, who can no longer be that
        person now that the record told its birth date, gender or resident ID: whichever
        of their records (a test drive on a relative's phone, the relative's nameless app
        account, the owner's contract) came first must not decide who is who."""
        if outcome.action is Action.UNCHANGED or not any(
                a in record.attributes for a in _IDENTITY_VALUES):
            return []
        person = self.persons.get(outcome.one_id)
        if person is None or "name" not in person.evidence.attributes:
            return []
        keys = person_blocking_keys(person.evidence.attributes, self.rules, "name")
        missing = [k for k in keys if k.key not in self.holders]
        if missing:
            for key, people in self.holders_of(missing).items():
                self.holders[key] = list(dict.fromkeys(self.final(p) for p in people))
                for one_id in self.holders[key]:
                    self._keys_of[one_id].add(key)
        limit = self.rules.blocking_hub_threshold
        found = [p for k in keys if len(people := self.holders.get(k.key, ())) <= limit
                 for p in people]
        rivals = [one_id for one_id in self._loaded(self.final(p) for p in found)
                  if one_id != person.one_id
                  and conflicting_namesake(person, self.persons[one_id], self.rules)]
        # Resolving them again can only change who is who when one side holds a nameless
        # record (whose identifiers may have pulled a named record to the wrong person);
        # two named namesakes who differ are two people already (at a million records a
        # common name in a city has dozens: regrouping each pair again every time one of
        # them grows was most of the resolution time).
        if not rivals:
            return rivals
        self._read_stored(o for o in (person.one_id, *rivals) if self.persons[o].nameless is None)
        if self._holds_nameless(person.one_id):
            return rivals
        return [one_id for one_id in rivals if self._holds_nameless(one_id)]

    def _holds_nameless(self, one_id: str) -> bool:
        """True when one of the person's records carries no name (known from loading or
        kept up to date by this batch, else read from its records)."""
        known = self.persons[one_id].nameless if one_id in self.persons else None
        if known is not None:
            return known
        return any("name" not in r.attributes for r in self._records_of_person(one_id))

    def _apply(self, record: PreparedRecord, resolution: Resolution) -> IngestOutcome:
        one_id = resolution.target_one_id
        if one_id is None:
            one_id = self.mint_one_id()
            self.plan.new_persons.append(one_id)
            self.plan.changes.append(Change(ChangeType.CREATED, one_id, actor=record.actor))
            self.persons[one_id] = CandidatePerson(one_id, self.now, Evidence(frozenset(), {}),
                                                   nameless=False)  # no records yet
        if resolution.absorbed_one_ids:
            self._merge(one_id, resolution, record)
        self._attach(record, one_id)
        task_id = self._review(record, one_id, resolution) if resolution.needs_review else ""
        return IngestOutcome(one_id, resolution.action, resolution.score,
                             resolution.absorbed_one_ids, task_id)

    def _merge(self, survivor: str, resolution: Resolution, record: PreparedRecord) -> None:
        self._merge_into(MergeStep(self.new_id(), survivor, resolution.absorbed_one_ids,
                                   resolution.rule, resolution.score, record.key,
                                   evidence_json(record, resolution), record.actor))

    def _merge_into(self, step: MergeStep) -> None:
        survivor, absorbed = step.survivor, step.absorbed
        self.plan.changes.append(Change(ChangeType.MERGED, survivor, absorbed, step.actor,
                                        step.rule, step.score))
        self.plan.merges.append(step)
        merged = self.persons[survivor]
        for one_id in absorbed:
            gone = self.persons.pop(one_id)
            merged = _union(merged, gone.evidence, gone.apart_from)
            for partner in gone.apart_from:  # the survivor inherits the steward's decisions
                other = self.persons.get(self.final(partner))
                if other is not None:
                    self.persons[other.one_id] = replace(
                        other, apart_from=(other.apart_from - {one_id}) | {survivor})
            sources = [one_id, *self._absorbed.pop(one_id, ())]
            for source in sources:
                self.plan.redirects[source] = survivor
            self._absorbed[survivor].extend(sources)
            self._members[survivor] |= self._members.pop(one_id, set())
        self.persons[survivor] = merged
        held = self._keys_of[survivor]
        for one_id in absorbed:
            for key in self._keys_of.pop(one_id, ()):
                people = self.holders.get(key)
                if people is not None:
                    replaced = [survivor if p in absorbed else p for p in people]
                    people[:] = list(dict.fromkeys(replaced))
                    held.add(key)

    def _attach(self, record: PreparedRecord, one_id: str) -> None:
        person = self.persons[one_id]
        before = self.stored.get(record.key)
        grown = _union(person, Evidence.of(record.identifiers, [record.attributes]))
        if before is None and person.nameless is not None:  # one more record
            grown = replace(grown, nameless=person.nameless or "name" not in record.attributes)
        elif before is not None:  # a new version of a record: where it was is unknown now
            previous = self.persons.get(self.final(before[1]))
            if previous is not None and previous.nameless is not None:
                self.persons[previous.one_id] = replace(previous, nameless=None)
        self.persons[one_id] = grown
        for key in record.all_keys:
            people = self.holders.setdefault(key.key, [])
            if one_id not in people:
                people.append(one_id)
                self._keys_of[one_id].add(key.key)
        self.stored[record.key] = (record.fingerprint, one_id)
        self._own(record, one_id)
        self.plan.records[record.key] = (record, one_id)

    def _own(self, record: PreparedRecord, one_id: str) -> None:
        """Note that the batch's or a moved record now belongs to `one_id`."""
        before = self.plan.records.get(record.key) or self.moved.get(record.key)
        if before is not None:
            self._members[before[1]].discard(record.key)
        self._members[one_id].add(record.key)

    def _note_identity(self, record: PreparedRecord) -> list[str]:
        """Add who the record says it is to its values' identities; answer the keys that
        became shared by it."""
        identity = identity_of(record, self.rules)
        if identity is None:
            return []
        newly_shared = []
        for key in record.identifiers:
            rule = self.rules.identifier_types[key.type]
            if not rule.evidence or rule.shared_identities is None:
                continue
            grown = with_identity(self.identities.get(key.key, ()), identity)
            if grown is None:
                continue
            self.identities[key.key] = self.plan.identities[key.key] = grown
            if len(grown) in (2, rule.shared_identities):  # contested, then shared
                newly_shared.append(key.key)
        return newly_shared

    def _reevaluate_holders(self, key: str) -> None:
        """Resolve again the records of the people holding a value that became shared: the
        parts they fall into without it become people of their own. A few holders are
        resolved together, in the order their records were observed (a lead that fits two
        people sharing a family phone then joins the same one whichever came first)."""
        reason = (f"re-evaluated: a value its records shared names "
                  f"{len(self.identities[key])} different people")
        holders = self._loaded(self.final(p) for p in self.holders.get(key, ()))
        if 1 < len(holders) <= _JOINT_REEVALUATION and not any(
                self.persons[p].apart_from for p in holders):
            self._regroup(holders, reason)
            return
        self._read_stored(holders)
        for one_id in holders:
            records = self._records_of_person(one_id)
            known = {k.key for r in records for k in r.identifiers}
            parts = recluster(records, self.rules,
                              {k: self.identities[k] for k in known if k in self.identities},
                              self.now)
            if len(parts) > 1:
                self._split(one_id, parts, reason)

    def _loaded(self, one_ids: Iterable[str]) -> list[str]:
        """The distinct people, each in the view (a stored one the batch did not load is
        loaded; one the graph no longer has is left out)."""
        found = []
        for one_id in dict.fromkeys(one_ids):
            if one_id not in self.persons and (loaded := self.person_of(one_id)) is not None:
                self.persons[one_id] = loaded
            if one_id in self.persons:
                found.append(one_id)
        return found

    def _records_of_person(self, one_id: str) -> list[PreparedRecord]:
        """Every record of a person now: stored ones (under its OneID or one it absorbed in
        this batch) unless this batch moved them, and this batch's."""
        one_ids = [one_id, *self._absorbed.get(one_id, ())]
        self._read_stored(one_ids)
        found = {r.key: r for owner in one_ids for r in self._stored_of[owner]
                 if r.key not in self.plan.records and r.key not in self.moved}
        for owner in one_ids:
            for key in self._members.get(owner, ()):
                entry = self.plan.records.get(key) or self.moved.get(key)
                if entry is not None and self.final(entry[1]) == one_id:
                    found[key] = entry[0]
        return list(found.values())

    def _read_stored(self, one_ids: Iterable[str]) -> None:
        """Read the stored records of people (and of those they absorbed in this batch)
        not read yet, in one call."""
        wanted = [o for one_id in one_ids for o in (one_id, *self._absorbed.get(one_id, ()))
                  if o not in self._stored_of]
        if wanted:
            found = self.records_of(list(dict.fromkeys(wanted)))
            for one_id in wanted:
                self._stored_of[one_id] = found.get(one_id, ())

    def _regroup(self, one_ids: Sequence[str], reason: str) -> None:
        """Resolve again, in the order they were observed, the records of a record's person
        and of the people it matched who do not match them: which of them arrived first
        must not decide who is who (a lead that joined one of two people sharing a phone
        before the other's records came). Persons a steward decided on stay as they are."""
        people = self._loaded(self.final(o) for o in one_ids)
        if len(people) < 2 or any(self.persons[p].apart_from for p in people):
            return
        self._read_stored(people)
        records = {p: self._records_of_person(p) for p in people}
        everything = [r for p in people for r in records[p]]
        known = {k.key for r in everything for k in r.identifiers}
        parts = recluster(everything, self.rules,
                          {k: self.identities[k] for k in known if k in self.identities}, self.now)
        part_of = {r.key: index for index, part in enumerate(parts) for r in part}
        for one_id in people:
            groups: dict[int, list[PreparedRecord]] = {}
            for record in records[one_id]:
                groups.setdefault(part_of[record.key], []).append(record)
            if len(groups) > 1:
                self._split(one_id, sorted(groups.values(), key=lambda g: -len(g)), reason)
        self._join_parts(records, part_of)

    def _join_parts(self, records: Mapping[str, list[PreparedRecord]],
                    part_of: Mapping[str, int]) -> None:
        """Merge the people whose records (`records`: by their person before the splits)
        fell into one part."""
        owners: dict[int, list[str]] = {}
        for origin, found_records in records.items():
            for record in found_records:  # stored records a split did not move: origin's
                owner = self.final(self.stored[record.key][1] if record.key in self.stored
                                   else origin)
                found = owners.setdefault(part_of[record.key], [])
                if owner not in found:
                    found.append(owner)
        for found in owners.values():
            ordered = sorted(found, key=lambda o: self.persons[o].age_key)
            # a survivor must be in the graph before the merge is written: not one a split
            # of this batch creates (the absorbed may be: the split's records follow)
            if len(ordered) > 1 and ordered[0] not in self.split_born:
                self._merge_into(MergeStep(self.new_id(), ordered[0], tuple(ordered[1:]),
                                           "re-evaluation", 0.0, "", "{}", "idgraph"))

    def _split(self, one_id: str, parts: list[list[PreparedRecord]], reason: str) -> None:
        keep, *others = parts
        news = []
        for part in others:
            new_one_id = self.mint_one_id()
            news.append(new_one_id)
            self.plan.new_persons.append(new_one_id)
            self.plan.changes.append(Change(ChangeType.CREATED, new_one_id, actor="idgraph"))
            stored_keys = []
            for record in part:
                self._own(record, new_one_id)
                if record.key in self.plan.records:
                    self.plan.records[record.key] = (record, new_one_id)
                else:
                    self.moved[record.key] = (record, new_one_id)
                    stored_keys.append(record.key)
                self.stored[record.key] = (record.fingerprint, new_one_id)
            self.persons[new_one_id] = CandidatePerson(
                new_one_id, self.now, _evidence(part),
                nameless=any("name" not in r.attributes for r in part))
            self.split_born.add(new_one_id)
            self.plan.splits.append(SplitStep(self.new_id(), one_id, new_one_id,
                                              tuple(sorted(stored_keys)), reason))
        self.persons[one_id] = replace(self.persons[one_id], evidence=_evidence(keep),
                                       nameless=None)
        self.plan.changes.append(Change(ChangeType.SPLIT, one_id, tuple(news), "idgraph",
                                        "shared value"))
        self.split_persons.add(one_id)
        self._regroup_holders(one_id, keep, list(zip(news, others, strict=True)))

    def _regroup_holders(self, one_id: str, keep: list[PreparedRecord],
                         parts: list[tuple[str, list[PreparedRecord]]]) -> None:
        kept = {k.key for r in keep for k in r.all_keys}
        for new_one_id, part in parts:
            for key in {k.key for r in part for k in r.all_keys}:
                people = self.holders.get(key)
                if people is None:
                    continue  # not a key of this batch: the graph answers for it
                if key not in kept and one_id in people:
                    people.remove(one_id)
                    self._keys_of[one_id].discard(key)
                if new_one_id not in people:
                    people.append(new_one_id)
                    self._keys_of[new_one_id].add(key)

    def _review(self, record: PreparedRecord, one_id: str, resolution: Resolution) -> str:
        task = ReviewTaskPlan(
            task_id=self.new_id(), record_key=record.key, one_id=one_id,
            candidates=tuple(item.candidate_one_id for item in resolution.review),
            score=max(item.score for item in resolution.review),
            reason="; ".join(sorted({item.reason for item in resolution.review})),
            evidence=evidence_json(record, resolution))
        self.plan.review_tasks.append(task)
        return task.task_id

    def finished_plan(self) -> WritePlan:
        """The plan with record owners and review subjects resolved to their final person."""
        plan = self.plan
        plan.records = {key: (record, self.final(owner))
                        for key, (record, owner) in plan.records.items()}
        plan.splits = [replace(s, new_one_id=self.final(s.new_one_id)) for s in plan.splits]
        plan.review_tasks = [
            ReviewTaskPlan(t.task_id, t.record_key, self.final(t.one_id),
                           tuple(dict.fromkeys(self.final(c) for c in t.candidates)),
                           t.score, t.reason, t.evidence)
            for t in plan.review_tasks]
        return plan


def recluster(records: Sequence[PreparedRecord], rules: Rules,
              identities: Mapping[str, Sequence[str]], now: datetime
              ) -> list[list[PreparedRecord]]:
    """The parts one person's records fall into when resolved again in the order they were
    observed, with what is now known of their values (`identities`); the largest part
    first (on a tie, the one with the earliest record)."""
    ordered = sorted(records, key=lambda r: (r.observed_at, r.key))
    counter = iter(range(1 << 62))
    nested = WorkingSet(rules, {}, {}, [], lambda: f"part{next(counter):08d}",
                        lambda: f"event{next(counter)}", now, identities=identities,
                        reevaluate=False)
    for record in ordered:
        nested.ingest(record)
    plan = nested.finished_plan()
    parts: dict[str, list[PreparedRecord]] = {}
    for record in ordered:
        parts.setdefault(plan.records[record.key][1], []).append(record)
    return sorted(parts.values(), key=lambda part: -len(part))


def _evidence(records: Sequence[PreparedRecord]) -> Evidence:
    return Evidence.of([k for r in records for k in r.identifiers], [r.attributes for r in records])


def _union(person: CandidatePerson, extra: Evidence, apart_from: frozenset[str] = frozenset()
           ) -> CandidatePerson:
    return CandidatePerson(person.one_id, person.created_at, person.evidence.union(extra),
                           person.apart_from | apart_from)


def evidence_json(record: PreparedRecord, resolution: Resolution) -> str:
    """Evidence kept with merge events and review tasks: every candidate's comparisons."""
    return json.dumps({
        "record_key": record.key,
        "decision": resolution.action.value,
        "ignored": dict(resolution.evidence_filter.ignored),
        "candidates": [
            {"one_id": s.one_id, "score": s.score.total, "conflict": s.score.conflict,
             "comparisons": [c._asdict() for c in s.score.comparisons]}
            for s in resolution.scored
        ],
    }, ensure_ascii=False, sort_keys=True)
