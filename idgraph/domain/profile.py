"""Customer-360 profile assembly: golden attributes, identifiers with their sources, vehicles."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum

from idgraph.domain.records import IdKey
from idgraph.domain.rules import Rules


@dataclass(frozen=True)
class StoredVehicle:
    """A vehicle mention as stored on a record."""

    vin: str
    model: str
    plate: str
    relation: str
    since: datetime | None
    until: datetime | None


@dataclass(frozen=True)
class StoredRecord:
    """A source record as stored, with its identifiers and vehicle mentions."""

    source: str
    source_record_id: str
    observed_at: datetime
    ingested_at: datetime
    attributes: Mapping[str, str]
    identifiers: tuple[IdKey, ...]
    vehicles: tuple[StoredVehicle, ...]
    fingerprint: str = ""


@dataclass(frozen=True)
class GoldenAttribute:
    """The value chosen for one attribute, where it came from and which rule chose it."""

    name: str
    value: str
    source: str
    source_record_id: str
    observed_at: datetime
    rule: str


@dataclass(frozen=True)
class ProfileIdentifier:
    """One identifier of the person, with its sources and when it was seen."""

    key: IdKey
    sources: tuple[str, ...]
    first_seen: datetime
    last_seen: datetime
    shared: bool
    blocklisted: bool
    holder_count: int


@dataclass(frozen=True)
class ProfileVehicle:
    """One person-vehicle relation with its time bounds and source."""

    vehicle: StoredVehicle
    source: str
    source_record_id: str

    @property
    def current(self) -> bool:
        """True while the relation has no end."""
        return self.vehicle.until is None


class RelationType(StrEnum):
    """How two people are related."""

    HOUSEHOLD = "HOUSEHOLD"
    REFERRED_BY = "REFERRED_BY"  # this person was referred by the other
    REFERRED = "REFERRED"  # this person referred the other


@dataclass(frozen=True)
class Relationship:
    """An edge between two OneIDs, and why."""

    type: RelationType
    one_id: str
    evidence: str
    since: datetime | None


@dataclass(frozen=True)
class DealerAffinity:
    """A dealer that knows the person: how many records, last seen when."""

    dealer: str
    records: int
    last_seen: datetime


@dataclass(frozen=True)
class AssignedTag:
    """A tag on a person or a vehicle: from a rule, or assigned with a source."""

    path: str
    source: str  # "rule" for tags from data
    actor: str = ""
    at: datetime | None = None

    @property
    def from_rule(self) -> bool:
        """True for tags the data assigns."""
        return self.source == "rule"


@dataclass(frozen=True)
class Profile:
    """Everything idgraph knows about one OneID."""

    one_id: str
    created_at: datetime
    updated_at: datetime
    attributes: tuple[GoldenAttribute, ...]
    identifiers: tuple[ProfileIdentifier, ...]
    records: tuple[StoredRecord, ...]
    vehicles: tuple[ProfileVehicle, ...]
    merged_one_ids: tuple[str, ...]
    relationships: tuple[Relationship, ...] = ()
    dealers: tuple[DealerAffinity, ...] = ()
    tags: tuple[AssignedTag, ...] = ()

    @property
    def consent_marketing(self) -> bool | None:
        """The person's latest statement on marketing consent (None: never stated)."""
        for attribute in self.attributes:
            if attribute.name == "consent_marketing":
                return attribute.value == "true"
        return None


# Statements a person makes (or withdraws) over time: the latest one counts, whatever the
# source's trust.
LATEST_WINS = frozenset({"consent_marketing"})


def golden_attributes(records: Sequence[StoredRecord], rules: Rules) -> tuple[GoldenAttribute, ...]:
    """Per attribute: the value from the most trusted source, then the most recent record
    (for consent: the most recent statement)."""
    best: dict[str, tuple[tuple[int, datetime, str], StoredRecord]] = {}
    for record in records:
        trust = rules.trust(record.source)
        for name in record.attributes:
            rank = (0 if name in LATEST_WINS else trust, record.observed_at,
                    record.source_record_id)
            if name not in best or rank > best[name][0]:
                best[name] = (rank, record)
    golden = []
    for name in sorted(best):
        (trust, _, _), record = best[name]
        rivals = sum(1 for r in records if name in r.attributes)
        if rivals == 1:
            rule = f"only source ({record.source})"
        elif name in LATEST_WINS:
            rule = f"latest statement ({record.source}, observed {record.observed_at:%Y-%m-%d})"
        else:
            rule = f"most trusted source ({record.source}, trust {trust}), then most recent"
        golden.append(GoldenAttribute(name, record.attributes[name], record.source,
                                      record.source_record_id, record.observed_at, rule))
    return tuple(golden)


def profile_identifiers(records: Sequence[StoredRecord], holder_counts: Mapping[str, int],
                        rules: Rules, named: Mapping[str, int] | None = None
                        ) -> tuple[ProfileIdentifier, ...]:
    """Each identifier once, with its sources, first/last seen, and whether it is shared
    (held by more people than its hub threshold, or its records name `shared_identities`
    different people: `named` counts them)."""
    seen: dict[str, tuple[IdKey, set[str], datetime, datetime]] = {}
    for record in records:
        for key in record.identifiers:
            _, sources, first, last = seen.get(key.key, (key, set(), record.observed_at,
                                                          record.observed_at))
            sources.add(record.source)
            seen[key.key] = (key, sources, min(first, record.observed_at),
                             max(last, record.observed_at))
    result = []
    for key, sources, first, last in sorted(seen.values(), key=lambda item: item[0]):
        rule = rules.identifier_types.get(key.type)
        holders = holder_counts.get(key.key, 1)
        shared = bool(rule and rule.hub_threshold is not None and holders > rule.hub_threshold)
        if rule is not None and rule.shared_identities is not None and named:
            shared = shared or named.get(key.key, 0) >= rule.shared_identities
        blocklisted = bool(rule and key.value in rule.blocklist)
        result.append(ProfileIdentifier(key, tuple(sorted(sources)), first, last, shared,
                                        blocklisted, holders))
    return tuple(result)


def profile_vehicles(records: Sequence[StoredRecord]) -> tuple[ProfileVehicle, ...]:
    """Vehicle relations, current ones first, then by start."""
    vehicles = [ProfileVehicle(v, r.source, r.source_record_id)
                for r in records for v in r.vehicles]
    return tuple(sorted(vehicles, key=lambda pv: (
        not pv.current, pv.vehicle.vin,
        pv.vehicle.since.timestamp() if pv.vehicle.since else float("-inf"))))
