"""Reads: profiles (with relationships and tags), vehicles, a OneID's history, and Explain."""

from __future__ import annotations

import json
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, replace
from typing import Any

from idgraph.domain.identities import shared_keys
from idgraph.domain.oneid import looks_like_one_id
from idgraph.domain.profile import (
    Profile,
    Relationship,
    StoredRecord,
    golden_attributes,
    profile_identifiers,
    profile_vehicles,
)
from idgraph.domain.records import (
    IdKey,
    PreparedRecord,
    RawIdentifier,
    RawRecord,
    prepare_identifiers,
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
    classify_pair,
    evidence_filter,
    explain_verdict,
)
from idgraph.domain.scoring import Evidence, score
from idgraph.domain.tags import person_tags, vehicle_tags
from idgraph.domain.vehicles import Mention, VehicleHistory, vehicle_history
from idgraph.engine.common import (
    ExplainOutcome,
    ProfileOutcome,
    assigned_tags,
    candidate,
    check_one_id,
    dt,
    follow_redirects,
    normalized_vin,
    stored_record,
)
from idgraph.engine.core import Core
from idgraph.engine.ingestion import Ingestion
from idgraph.errors import Conflict, FieldViolation, InvalidInput, NotFound
from idgraph.store.neo4j_store import GraphTx, HistoryEntry, to_native


@dataclass
class Reads:
    """Read-only look-ups over the core's store (Explain validates its record like
    ingestion does)."""

    core: Core
    ingestion: Ingestion

    # ----------------------------------------------------------------- profile
    def profile(self, one_id: str = "", identifier: RawIdentifier | None = None,
                timeout: float | None = None) -> ProfileOutcome:
        """The profile behind a OneID (following redirects) or behind an identifier."""
        key = self._identifier_key(identifier) if identifier is not None else None
        if key is None and not looks_like_one_id(one_id):
            raise InvalidInput.one("one_id", "a OneID (oid_ + 26 characters) or an identifier "
                                   "is required")
        return self.core.store.read(lambda tx: self.profile_in(tx, one_id, key), timeout)

    def identifier_key(self, identifier: RawIdentifier) -> IdKey:
        """An identifier's key, normalized as in records (InvalidInput naming
        `identifier.*` when it is not valid)."""
        return self._identifier_key(identifier)

    def _identifier_key(self, identifier: RawIdentifier) -> IdKey:
        core = self.core
        try:
            keys = prepare_identifiers((identifier,), core.rules, core.limits, core.secret)
        except InvalidInput as exc:
            raise InvalidInput([FieldViolation(v.field.replace("identifiers[0]", "identifier"),
                                               v.description) for v in exc.violations]) from None
        if not keys:
            raise InvalidInput.one("identifier.value", "the value stands for \"no value\"")
        return keys[0]

    def profile_in(self, tx: GraphTx, one_id: str, key: IdKey | None) -> ProfileOutcome:
        """The profile behind a OneID or an identifier's key, inside a transaction."""
        rules = self.core.rules
        requested = one_id
        if key is not None:
            people = tx.people_by_identifier(key.key, limit=rules.hub_cap)
            if not people:
                raise NotFound(f"no person holds this {key.type}")
            if len(people) > 1:
                raise Conflict(f"this {key.type} is held by {len(people)} people; ask by OneID")
            requested = one_id = people[0]
        target = follow_redirects(tx, one_id)
        raw = tx.profile(target)
        if raw is None:
            raise NotFound(f"OneID {one_id} does not exist")
        records = tuple(stored_record(r) for r in raw["records"])
        keys = {k.key for r in records for k in r.identifiers}
        counts = tx.holder_counts(keys, rules.hub_cap)
        named = {key: len(found) for key, found in tx.identities(keys).items()}
        relationships = self.relationships(tx, target, addresses_of(records))
        profile = self.assemble_profile(raw, records, relationships, counts, named)
        return ProfileOutcome(profile, target != requested, requested)

    def assemble_profile(self, raw: Mapping[str, Any], records: Sequence[StoredRecord],
                         relationships: tuple[Relationship, ...],
                         counts: Mapping[str, int] | None, named: Mapping[str, int]
                         ) -> Profile:
        """A profile from what the store read of a person (tags from data given as of the
        core's clock); without `counts`, no identifiers (what audiences read)."""
        rules = self.core.rules
        profile = Profile(
            one_id=raw["one_id"], created_at=dt(raw["created_at"]),
            updated_at=dt(raw["updated_at"]),
            attributes=golden_attributes(records, rules),
            identifiers=(() if counts is None
                         else profile_identifiers(records, counts, rules, named)),
            records=tuple(sorted(records, key=lambda r: (r.observed_at, r.source,
                                                         r.source_record_id))),
            vehicles=profile_vehicles(records),
            merged_one_ids=tuple(sorted(raw["merged"])),
            relationships=relationships,
            dealers=tuple(dealer_affinity(records, rules)),
        )
        return replace(profile, tags=person_tags(profile, self.core.tags, self.core.now(),
                                                 assigned_tags(raw["tags"])))

    def active_profiles(self, tx: GraphTx, one_ids: Sequence[str]
                        ) -> dict[str, tuple[Profile, dict[str, Any]]]:
        """The profiles of the active people among `one_ids` (no redirects), each with
        what the store read of it; two queries for all: what audiences index. The profiles
        list no identifiers (the records do)."""
        raws = {k: v for k, v in tx.profiles(one_ids).items() if v["status"] == "active"}
        relations = self.relations_of(tx, list(raws))
        found = {}
        for one_id, raw in raws.items():
            records = tuple(stored_record(r) for r in raw["records"])
            relationships = self.relationships_from(relations.get(one_id),
                                                addresses_of(records))
            found[one_id] = (self.assemble_profile(raw, records, relationships, None, {}),
                             raw)
        return found

    def relationships(self, tx: GraphTx, one_id: str, addresses: Iterable[str]
                      ) -> tuple[Relationship, ...]:
        """Households and referrals, read from what the records share and name."""
        return self.relationships_from(self.relations_of(tx, [one_id]).get(one_id), addresses)

    def relations_of(self, tx: GraphTx, one_ids: Sequence[str]) -> dict[str, dict[str, Any]]:
        """What the relationships of several people are read from, by OneID."""
        rules = self.core.rules
        types = household_types(rules)
        cap = max((t.hub_threshold or 1 for name, t in rules.identifier_types.items()
                   if name in types), default=1)
        return tx.relations_of(one_ids, types, cap)

    def relationships_from(self, raw: Mapping[str, Any] | None, addresses: Iterable[str]
                           ) -> tuple[Relationship, ...]:
        """Households and referrals from what `relations_of` read of a person."""
        if raw is None:
            return ()
        rules = self.core.rules
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
        return tuple(households(addresses, shared, rules) + referrals(named, naming))

    # ----------------------------------------------------------------- vehicles
    def vehicle(self, vin: str, timeout: float | None = None) -> VehicleHistory:
        """A vehicle's make, model, year, current owner and relations over time."""
        core = self.core
        normalized = normalized_vin(vin, core.rules, core.limits)
        raw = core.store.read(lambda tx: tx.vehicle(normalized), timeout)
        if raw is None:
            raise NotFound(f"no record mentions vehicle {normalized}")
        mentions = [Mention(m["relation"], to_native(m["since"]), to_native(m["until"]),
                            to_native(m["observed_at"]), m["one_id"], m["source"],
                            m["source_record_id"]) for m in raw["mentions"] if m]
        now = core.now()
        history = vehicle_history(normalized, raw["model"] or "", raw["plate"] or "", mentions,
                                  now, core.rules.makes)
        return replace(history, tags=vehicle_tags(history, core.tags, now,
                                                  assigned_tags(raw["tags"])))

    # ----------------------------------------------------------------- history
    def history(self, one_id: str, timeout: float | None = None, reads: bool = False
                ) -> tuple[str, list[HistoryEntry]]:
        """The person a OneID points at now, and the lineage of it and of every OneID
        merged into it, oldest first (with `reads`, who was shown their data too)."""
        def work(tx: GraphTx) -> tuple[str, list[HistoryEntry]]:
            person = follow_redirects(tx, one_id, erased=True)
            return person, tx.history(person, reads)

        return self.core.store.read(work, timeout)

    # ----------------------------------------------------------------- explain
    def explain(self, other_one_id: str, record: RawRecord | None = None,
                one_id: str = "", timeout: float | None = None) -> ExplainOutcome:
        """Score a record (or a OneID) against another OneID and say what it would lead to."""
        check_one_id(other_one_id, "other_one_id")
        prepared = self.ingestion.prepare(record) if record is not None else None
        if prepared is None and not looks_like_one_id(one_id):
            raise InvalidInput.one("one_id", "give a record or a OneID to explain")
        return self.core.store.read(
            lambda tx: self._explain_in(tx, prepared, one_id, other_one_id), timeout)

    def _explain_in(self, tx: GraphTx, record: PreparedRecord | None, one_id: str,
                    other_one_id: str) -> ExplainOutcome:
        rules = self.core.rules
        other = self._load_one(tx, other_one_id)
        if record is not None:
            subject = Evidence.of(record.identifiers, [record.attributes])
            keys = record.all_keys
        else:
            person = self._load_one(tx, one_id)
            subject = person.evidence
            keys = tuple(person.evidence.identifiers)
        counts = tx.holder_counts([k.key for k in keys], rules.hub_cap)
        shared = shared_keys(keys, tx.identities(k.key for k in keys), rules)
        filt = evidence_filter(tuple(keys), counts, rules, shared)
        result = score(subject, other.evidence, rules, filt)
        verdict = classify_pair(result, rules)
        action = {PairVerdict.MATCH: Action.LINKED, PairVerdict.UNCERTAIN: Action.REVIEW,
                  PairVerdict.NON_MATCH: Action.NEW}[verdict]
        return ExplainOutcome(result, action, explain_verdict(result, rules))

    @staticmethod
    def _load_one(tx: GraphTx, one_id: str) -> CandidatePerson:
        target = follow_redirects(tx, one_id)
        rows = tx.load_persons([target])
        if not rows:
            raise NotFound(f"OneID {one_id} does not exist")
        return candidate(rows[0])
