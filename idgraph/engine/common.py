"""What the engine's parts share: their answers, argument checks, and reading stored rows."""

from __future__ import annotations

import hashlib
import hmac
import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime

from idgraph.domain.identifiers import BadIdentifier, normalize_vin
from idgraph.domain.oneid import looks_like_one_id
from idgraph.domain.profile import AssignedTag, Profile, StoredRecord, StoredVehicle
from idgraph.domain.records import (
    IdKey,
    Limits,
    PreparedRecord,
    Vehicle,
    VehicleRelation,
    derive_blocking_keys,
)
from idgraph.domain.resolution import Action, CandidatePerson, ScoredCandidate
from idgraph.domain.rules import Rules
from idgraph.domain.scoring import Evidence, Score
from idgraph.errors import Conflict, InvalidInput, NotFound
from idgraph.store.neo4j_store import GraphTx, PersonRow, to_native


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


def check_one_id(one_id: str, field_name: str = "one_id") -> None:
    """InvalidInput naming `field_name` unless `one_id` looks like a OneID."""
    if not looks_like_one_id(one_id):
        raise InvalidInput.one(field_name, "a OneID (oid_ + 26 characters) is required")


def normalized_vin(vin: str, rules: Rules, limits: Limits) -> str:
    """A VIN as stored; InvalidInput names `vin` when it is not a valid one."""
    try:
        return normalize_vin(vin, rules.format_options(None, limits.max_value_length))
    except BadIdentifier as exc:
        raise InvalidInput.one("vin", f"invalid vin: {exc}") from None


def follow_redirects(tx: GraphTx, one_id: str, erased: bool = False) -> str:
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


def as_prepared(stored: StoredRecord, actor: str, rules: Rules) -> PreparedRecord:
    """A stored record as a prepared one, ready to be resolved again."""
    attributes = dict(stored.attributes)
    return PreparedRecord(
        source=stored.source, source_record_id=stored.source_record_id,
        observed_at=stored.observed_at, identifiers=tuple(sorted(stored.identifiers)),
        blocking_keys=derive_blocking_keys(attributes, rules), attributes=attributes,
        vehicles=tuple(Vehicle(v.vin, VehicleRelation(v.relation), v.model, v.plate,
                               v.since, v.until) for v in stored.vehicles),
        fingerprint=stored.fingerprint, actor=actor)


def assigned_tags(rows: Sequence[Mapping[str, object]]) -> list[AssignedTag]:
    """Tags assigned to a person or a vehicle, as the store reads them."""
    return [AssignedTag(str(r["path"]), str(r["source"] or ""), str(r["actor"] or ""),
                        to_native(r["at"])) for r in rows]


def candidate(row: PersonRow) -> CandidatePerson:
    """A stored person as a candidate to compare records with."""
    return CandidatePerson(row.one_id, row.created_at,
                           Evidence.of(row.identifiers, row.attributes), row.apart_from,
                           nameless=any("name" not in a for a in row.attributes))


def dt(value: object) -> datetime:
    """A stored time, or the epoch when there is none."""
    return to_native(value) or datetime.fromtimestamp(0, UTC)


def stored_record(raw: Mapping[str, object]) -> StoredRecord:
    """A record as the store reads it."""
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
        observed_at=dt(raw["observed_at"]), ingested_at=dt(raw.get("ingested_at")),
        attributes=json.loads(str(raw["attributes"] or "{}")),
        identifiers=identifiers, vehicles=vehicles, fingerprint=str(raw.get("fingerprint") or ""),
    )


def suppression_digest(secret: bytes, key: str) -> str:
    """The keyed hash the suppression list holds for an identifier key (never the value)."""
    return hmac.new(secret, b"suppression\x1f" + key.encode(), hashlib.sha256).hexdigest()


def _suppressible(record: PreparedRecord) -> list[IdKey]:
    """Every value of a record a suppression can name: its identifiers, who it says
    referred the person, and the VINs of its vehicles (as `vin` identifiers)."""
    vins = [IdKey("vin", "", v.vin) for v in record.vehicles if v.vin]
    return [k for k in (*record.identifiers, *record.referrers) if not k.is_blocking] + vins


def suppressed_indexes(tx: GraphTx, records: Sequence[PreparedRecord], secret: bytes
                       ) -> set[int]:
    """The positions of the records that carry a suppressed value (one query)."""
    digests = {i: [suppression_digest(secret, k.key) for k in _suppressible(r)]
               for i, r in enumerate(records)}
    found = tx.suppressed(sorted({d for ds in digests.values() for d in ds}))
    return {i for i, ds in digests.items() if found.intersection(ds)} if found else set()
