"""Lead grading read from the graph: a person's facts (records, vehicle mentions, household
and referral contacts with their cars), graded by the points file and, when one is
configured, scored by a trained model too."""

from __future__ import annotations

import json
from collections.abc import Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass, replace
from datetime import datetime
from functools import partial
from typing import Any, Protocol

from idgraph.domain.leads import (
    Contact,
    LeadFacts,
    LeadGrade,
    LeadPoints,
    Touchpoint,
    VehicleFact,
    features,
    grade,
)
from idgraph.domain.profile import RelationType
from idgraph.domain.records import RawIdentifier
from idgraph.engine.common import check_one_id, follow_redirects
from idgraph.engine.core import Core
from idgraph.engine.reads import Reads
from idgraph.errors import Conflict, FieldViolation, InvalidInput, NotFound
from idgraph.store.neo4j_store import GraphTx

MAX_BATCH = 1000  # OneIDs or identifiers graded in one call, at most
HISTORY_PAGE = 500  # people read per transaction when training
CONTACT_TYPES = {RelationType.HOUSEHOLD.value, RelationType.REFERRED_BY.value}


class LeadModel(Protocol):
    """A trained model: the signals it reads, and the probability of a purchase."""

    @property
    def features(self) -> Sequence[str]: ...

    def probability(self, values: Sequence[float]) -> float: ...


@dataclass(frozen=True)
class LeadQuery:
    """What to grade: a OneID, or an identifier someone holds."""

    one_id: str = ""
    identifier: RawIdentifier | None = None


def epoch_ms(at: datetime) -> int:
    """A time as epoch milliseconds."""
    return int(at.timestamp() * 1000)


@dataclass
class Leads:
    """Grades leads over the core's store, as of the core's clock."""

    core: Core
    reads: Reads
    points: LeadPoints
    model: LeadModel | None = None

    def grade(self, query: LeadQuery, timeout: float | None = None) -> LeadGrade:
        """The grade of the person a OneID points at now, or who holds an identifier
        (NotFound when erased or unknown); InvalidInput names `one_id` or
        `identifier.*`."""
        return self._graded_all([query], [self._key(query, "")], timeout)[0]

    def grade_many(self, queries: Sequence[LeadQuery], timeout: float | None = None
                   ) -> list[LeadGrade]:
        """The grades of several people, in order, all as of one time; InvalidInput names
        the bad one (`leads[i].one_id`, `leads[i].identifier.value`)."""
        if not 1 <= len(queries) <= MAX_BATCH:
            raise InvalidInput.one("leads", f"1 to {MAX_BATCH} leads")
        keys = [self._key(q, f"leads[{i}].") for i, q in enumerate(queries)]
        return self._graded_all(queries, keys, timeout)

    def _graded_all(self, queries: Sequence[LeadQuery], keys: Sequence[str | None],
                    timeout: float | None) -> list[LeadGrade]:
        at = epoch_ms(self.core.now())

        def work(tx: GraphTx) -> list[LeadGrade]:
            targets = [self._target(tx, q, key) for q, key in zip(queries, keys, strict=True)]
            found = self.facts(tx, set(targets))
            return [self.graded(found[t], at) for t in targets]

        return self.core.store.read(work, timeout)

    def graded(self, facts: LeadFacts, at: int) -> LeadGrade:
        """The points' grade of `facts` as of `at`, with the model's probability if any."""
        result = grade(facts, at, self.points)
        if self.model is None:
            return result
        return replace(result, probability=self.model.probability(features(result.signals)))

    def _key(self, query: LeadQuery, prefix: str) -> str | None:
        """The identifier's key to look the person up by, or None to go by OneID."""
        if query.identifier is None or query.one_id:
            check_one_id(query.one_id, f"{prefix}one_id")
            return None
        try:
            return self.reads.identifier_key(query.identifier).key
        except InvalidInput as exc:
            raise InvalidInput([FieldViolation(prefix + v.field, v.description)
                                for v in exc.violations]) from None

    def _target(self, tx: GraphTx, query: LeadQuery, key: str | None) -> str:
        if key is None:
            return follow_redirects(tx, query.one_id)
        people = tx.people_by_identifier(key, limit=2)
        if not people:
            raise NotFound(f"no person holds this {query.identifier and query.identifier.type}")
        if len(people) > 1:
            raise Conflict("this identifier is held by several people; ask by OneID")
        return follow_redirects(tx, people[0])

    # ------------------------------------------------------------------ facts
    def facts(self, tx: GraphTx, one_ids: Iterable[str]) -> dict[str, LeadFacts]:
        """The facts of active people (their contacts' cars included), by OneID; NotFound
        when one of them is not an active person."""
        wanted = set(one_ids)
        rows = tx.lead_facts(wanted)
        missing = wanted - rows.keys()
        if missing:
            raise NotFound(f"OneID {min(missing)} has no active person")
        relations = self.reads.relations_of(tx, list(rows))
        contacts = {oid: self._contacts(relations.get(oid), records)
                    for oid, records in rows.items()}
        theirs = tx.lead_facts({c.one_id for cs in contacts.values() for c in cs})
        return {oid: _facts(oid, records, [
            replace(c, vehicles=tuple(_vehicles(theirs.get(c.one_id, ()))))
            for c in contacts[oid]]) for oid, records in rows.items()}

    def _contacts(self, relations: Mapping[str, Any] | None,
                  records: Sequence[Mapping[str, Any]]) -> list[Contact]:
        addresses = {a["address"] for a in _attributes(records) if a.get("address")}
        return [Contact(r.one_id, r.type.value,
                        epoch_ms(r.since) if r.since is not None else None)
                for r in self.reads.relationships_from(relations, addresses)
                if r.type.value in CONTACT_TYPES]

    def history(self, timeout: float | None = None) -> Iterator[LeadFacts]:
        """The facts of every active person with a record from a lead source, read a
        page of people per transaction (what `idgraph leads train` learns from)."""
        people = self.core.store.read(lambda tx: tx.lead_people(self.points.lead_sources),
                                      timeout)
        for start in range(0, len(people), HISTORY_PAGE):
            page = people[start:start + HISTORY_PAGE]
            yield from self.core.store.read(partial(self._present, one_ids=page),
                                            timeout).values()

    def _present(self, tx: GraphTx, one_ids: Sequence[str]) -> dict[str, LeadFacts]:
        """Like `facts`, skipping people merged or erased since they were listed."""
        return self.facts(tx, tx.lead_facts(one_ids).keys())


def _attributes(records: Sequence[Mapping[str, Any]]) -> list[dict[str, str]]:
    return [json.loads(r["attributes"] or "{}") for r in records]


def _vehicles(records: Iterable[Mapping[str, Any]]) -> list[VehicleFact]:
    return [VehicleFact(v["relation"], v["model"] or "", v["since"], v["until"], r["at"])
            for r in records for v in r["vehicles"]]


def _facts(one_id: str, records: Sequence[Mapping[str, Any]], contacts: Sequence[Contact]
           ) -> LeadFacts:
    """A person's facts from the rows LEAD_FACTS read."""
    consents = tuple(sorted(
        (r["at"], a["consent_marketing"] == "true")
        for r, a in zip(records, _attributes(records), strict=True)
        if "consent_marketing" in a))
    return LeadFacts(
        one_id,
        touchpoints=tuple(sorted((Touchpoint(r["source"], r["at"], tuple(sorted(r["dealers"])))
                                  for r in records), key=lambda t: (t.at, t.source))),
        vehicles=tuple(_vehicles(records)),
        contacts=tuple(sorted(contacts, key=lambda c: (c.relation, c.one_id))),
        consents=consents)
