"""Proto messages <-> domain objects. No decisions here, only shapes."""

from __future__ import annotations

from collections.abc import Iterable
from datetime import UTC, datetime
from typing import cast

from google.protobuf.timestamp_pb2 import Timestamp
from google.rpc import error_details_pb2

from idgraph.domain.profile import AssignedTag, Profile, RelationType
from idgraph.domain.records import DroppedValue, RawIdentifier, RawRecord, RawVehicle
from idgraph.domain.resolution import Action
from idgraph.domain.scoring import ComparisonResult, probability
from idgraph.domain.working_set import IngestOutcome
from idgraph.errors import Conflict, InvalidInput
from idgraph.store.neo4j_store import ChangeRow
from idgraph.v1 import identity_pb2 as pb

ACTION_TO_PROTO = {
    Action.NEW: pb.DECISION_NEW,
    Action.LINKED: pb.DECISION_LINKED,
    Action.MERGED: pb.DECISION_MERGED,
    Action.UNCHANGED: pb.DECISION_UNCHANGED,
    Action.REVIEW: pb.DECISION_REVIEW,
}
_RELATION_PREFIX = "VEHICLE_RELATION_"


def timestamp_to_datetime(ts: Timestamp, field_path: str) -> datetime:
    """A set Timestamp -> aware UTC datetime (InvalidInput when out of range)."""
    try:
        return ts.ToDatetime(tzinfo=UTC)
    except (ValueError, OverflowError) as exc:
        raise InvalidInput.one(field_path, f"invalid timestamp: {exc}") from None


_RELATIONS_TO_PROTO = {name.removeprefix(_RELATION_PREFIX):
                       cast("pb.VehicleRelation", pb.VehicleRelation.Value(name))
                       for name in pb.VehicleRelation.keys()}  # noqa: SIM118


def vehicle_relation_to_proto(relation: str) -> pb.VehicleRelation:
    """A stored relation ("OWNER") -> the proto enum (UNSPECIFIED when unknown)."""
    return _RELATIONS_TO_PROTO.get(relation, pb.VehicleRelation.VEHICLE_RELATION_UNSPECIFIED)


def datetime_to_timestamp(value: datetime | None) -> Timestamp | None:
    """Aware datetime -> Timestamp (None stays None)."""
    if value is None:
        return None
    ts = Timestamp()
    ts.FromDatetime(value.astimezone(UTC))
    return ts


def identifier_from_proto(message: pb.Identifier) -> RawIdentifier:
    """Wire identifier -> raw domain identifier."""
    return RawIdentifier(message.type, message.value, message.scope)


def record_from_proto(message: pb.SourceRecord, path: str = "record") -> RawRecord:
    """Wire record -> raw domain record; only timestamps are checked here."""
    observed = (timestamp_to_datetime(message.observed_at, f"{path}.observed_at")
                if message.HasField("observed_at") else None)
    vehicles = []
    for index, v in enumerate(message.vehicles):
        where = f"{path}.vehicles[{index}]"
        relation = pb.VehicleRelation.Name(v.relation) if v.relation in \
            pb.VehicleRelation.values() else ""
        vehicles.append(RawVehicle(
            vin=v.vin, relation=relation.removeprefix(_RELATION_PREFIX)
            if v.relation else "", model=v.model, plate=v.plate,
            since=timestamp_to_datetime(v.since, f"{where}.since") if v.HasField("since") else None,
            until=timestamp_to_datetime(v.until, f"{where}.until") if v.HasField("until") else None,
        ))
    return RawRecord(
        source=message.source, source_record_id=message.source_record_id, observed_at=observed,
        identifiers=tuple(identifier_from_proto(i) for i in message.identifiers),
        attributes=dict(message.attributes), vehicles=tuple(vehicles),
        referred_by=tuple(identifier_from_proto(i) for i in message.referred_by),
    )


_SCORED = frozenset({Action.LINKED, Action.MERGED, Action.REVIEW})


def ingest_response(outcome: IngestOutcome, record: pb.SourceRecord,
                    dropped: Iterable[DroppedValue] = ()) -> pb.IngestResponse:
    """Domain outcome (and the values left out of the record) -> IngestResponse; a record
    refused for a suppressed value raises Conflict (FAILED_PRECONDITION)."""
    if outcome.action is Action.SUPPRESSED:
        raise Conflict("a value of this record is on the suppression list (do not process): "
                       "nothing was stored")
    return pb.IngestResponse(
        one_id=outcome.one_id, decision=ACTION_TO_PROTO[outcome.action], score=outcome.score,
        merged_one_ids=list(outcome.merged_one_ids), review_task_id=outcome.review_task_id,
        source=record.source, source_record_id=record.source_record_id,
        match_probability=(probability(outcome.score) if outcome.action in _SCORED else 0.0),
        dropped=[error_details_pb2.BadRequest.FieldViolation(field=d.field,
                                                             description=d.description)
                 for d in dropped],
    )


def comparisons_to_proto(results: Iterable[ComparisonResult]) -> list[pb.Comparison]:
    """Domain comparisons -> wire comparisons."""
    return [pb.Comparison(name=c.name, kind=c.kind, level=c.level, weight=c.weight,
                          left_value=c.left_value, right_value=c.right_value, note=c.note)
            for c in results]


def profile_to_proto(profile: Profile) -> pb.Profile:
    """Domain profile -> wire profile."""
    message = pb.Profile(one_id=profile.one_id, merged_one_ids=list(profile.merged_one_ids),
                         created_at=datetime_to_timestamp(profile.created_at),
                         updated_at=datetime_to_timestamp(profile.updated_at),
                         consent_marketing=profile.consent_marketing)
    for a in profile.attributes:
        message.attributes.add(name=a.name, value=a.value, source=a.source,
                               source_record_id=a.source_record_id, rule=a.rule,
                               observed_at=datetime_to_timestamp(a.observed_at))
    for i in profile.identifiers:
        message.identifiers.add(
            type=i.key.type, value=i.key.value, scope=i.key.scope, hashed=i.key.hashed,
            sources=list(i.sources), first_seen=datetime_to_timestamp(i.first_seen),
            last_seen=datetime_to_timestamp(i.last_seen), shared=i.shared,
            blocklisted=i.blocklisted, holder_count=i.holder_count)
    for r in profile.records:
        message.records.add(
            source=r.source, source_record_id=r.source_record_id,
            observed_at=datetime_to_timestamp(r.observed_at),
            ingested_at=datetime_to_timestamp(r.ingested_at),
            identifiers=[pb.Identifier(type=k.type, value=k.value, scope=k.scope)
                         for k in r.identifiers],
            attributes=dict(r.attributes))
    for pv in profile.vehicles:
        v = pv.vehicle
        message.vehicles.add(
            vin=v.vin, relation=vehicle_relation_to_proto(v.relation),
            model=v.model, plate=v.plate, since=datetime_to_timestamp(v.since),
            until=datetime_to_timestamp(v.until), source=pv.source,
            source_record_id=pv.source_record_id, current=pv.current)
    for rel in profile.relationships:
        message.relationships.add(type=_RELATIONSHIP_TO_PROTO[rel.type], one_id=rel.one_id,
                                  evidence=rel.evidence, since=datetime_to_timestamp(rel.since))
    for d in profile.dealers:
        message.dealers.add(dealer=d.dealer, records=d.records,
                            last_seen=datetime_to_timestamp(d.last_seen))
    message.tags.extend(tag_to_proto(t) for t in profile.tags)
    return message


def tag_to_proto(tag: AssignedTag) -> pb.Tag:
    """A tag on a person or a vehicle -> wire tag."""
    return pb.Tag(tag=tag.path, source=tag.source, actor=tag.actor,
                  assigned_at=datetime_to_timestamp(tag.at), from_data=tag.from_rule)


_RELATIONSHIP_TO_PROTO = {RelationType.HOUSEHOLD: pb.RELATIONSHIP_TYPE_HOUSEHOLD,
                          RelationType.REFERRED_BY: pb.RELATIONSHIP_TYPE_REFERRED_BY,
                          RelationType.REFERRED: pb.RELATIONSHIP_TYPE_REFERRED}


def parse_cursor(raw: str, field_path: str) -> int:
    """A change-feed cursor (empty: the beginning); InvalidInput names the field."""
    text = raw.strip()
    if not text:
        return 0
    if not text.isdigit() or len(text) > 19:
        raise InvalidInput.one(field_path, "not a cursor this service issued")
    return int(text)


def change_to_proto(row: ChangeRow) -> pb.ChangeEvent:
    """A stored change -> wire ChangeEvent."""
    change = row.change
    return pb.ChangeEvent(
        cursor=str(row.position), type=f"CHANGE_TYPE_{change.type.value}",
        one_id=change.one_id, related_one_ids=list(change.related),
        at=datetime_to_timestamp(row.at), actor=change.actor, rule=change.rule,
        score=change.score)
