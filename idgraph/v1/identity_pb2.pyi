import datetime

from google.protobuf import timestamp_pb2 as _timestamp_pb2
from google.rpc import error_details_pb2 as _error_details_pb2
from google.rpc import status_pb2 as _status_pb2
from google.protobuf.internal import containers as _containers
from google.protobuf.internal import enum_type_wrapper as _enum_type_wrapper
from google.protobuf import descriptor as _descriptor
from google.protobuf import message as _message
from collections.abc import Iterable as _Iterable, Mapping as _Mapping
from typing import ClassVar as _ClassVar, Optional as _Optional, Union as _Union

DESCRIPTOR: _descriptor.FileDescriptor

class VehicleRelation(int, metaclass=_enum_type_wrapper.EnumTypeWrapper):
    __slots__ = ()
    VEHICLE_RELATION_UNSPECIFIED: _ClassVar[VehicleRelation]
    VEHICLE_RELATION_OWNER: _ClassVar[VehicleRelation]
    VEHICLE_RELATION_DRIVER: _ClassVar[VehicleRelation]
    VEHICLE_RELATION_INTERESTED: _ClassVar[VehicleRelation]
    VEHICLE_RELATION_TEST_DRIVE: _ClassVar[VehicleRelation]
    VEHICLE_RELATION_SERVICE: _ClassVar[VehicleRelation]

class Decision(int, metaclass=_enum_type_wrapper.EnumTypeWrapper):
    __slots__ = ()
    DECISION_UNSPECIFIED: _ClassVar[Decision]
    DECISION_NEW: _ClassVar[Decision]
    DECISION_LINKED: _ClassVar[Decision]
    DECISION_MERGED: _ClassVar[Decision]
    DECISION_UNCHANGED: _ClassVar[Decision]
    DECISION_REVIEW: _ClassVar[Decision]

class RelationshipType(int, metaclass=_enum_type_wrapper.EnumTypeWrapper):
    __slots__ = ()
    RELATIONSHIP_TYPE_UNSPECIFIED: _ClassVar[RelationshipType]
    RELATIONSHIP_TYPE_HOUSEHOLD: _ClassVar[RelationshipType]
    RELATIONSHIP_TYPE_REFERRED_BY: _ClassVar[RelationshipType]
    RELATIONSHIP_TYPE_REFERRED: _ClassVar[RelationshipType]

class ChangeType(int, metaclass=_enum_type_wrapper.EnumTypeWrapper):
    __slots__ = ()
    CHANGE_TYPE_UNSPECIFIED: _ClassVar[ChangeType]
    CHANGE_TYPE_CREATED: _ClassVar[ChangeType]
    CHANGE_TYPE_MERGED: _ClassVar[ChangeType]
    CHANGE_TYPE_SPLIT: _ClassVar[ChangeType]
    CHANGE_TYPE_ERASED: _ClassVar[ChangeType]
VEHICLE_RELATION_UNSPECIFIED: VehicleRelation
VEHICLE_RELATION_OWNER: VehicleRelation
VEHICLE_RELATION_DRIVER: VehicleRelation
VEHICLE_RELATION_INTERESTED: VehicleRelation
VEHICLE_RELATION_TEST_DRIVE: VehicleRelation
VEHICLE_RELATION_SERVICE: VehicleRelation
DECISION_UNSPECIFIED: Decision
DECISION_NEW: Decision
DECISION_LINKED: Decision
DECISION_MERGED: Decision
DECISION_UNCHANGED: Decision
DECISION_REVIEW: Decision
RELATIONSHIP_TYPE_UNSPECIFIED: RelationshipType
RELATIONSHIP_TYPE_HOUSEHOLD: RelationshipType
RELATIONSHIP_TYPE_REFERRED_BY: RelationshipType
RELATIONSHIP_TYPE_REFERRED: RelationshipType
CHANGE_TYPE_UNSPECIFIED: ChangeType
CHANGE_TYPE_CREATED: ChangeType
CHANGE_TYPE_MERGED: ChangeType
CHANGE_TYPE_SPLIT: ChangeType
CHANGE_TYPE_ERASED: ChangeType

class Identifier(_message.Message):
    __slots__ = ("type", "value", "scope")
    TYPE_FIELD_NUMBER: _ClassVar[int]
    VALUE_FIELD_NUMBER: _ClassVar[int]
    SCOPE_FIELD_NUMBER: _ClassVar[int]
    type: str
    value: str
    scope: str
    def __init__(self, type: _Optional[str] = ..., value: _Optional[str] = ..., scope: _Optional[str] = ...) -> None: ...

class RecordRef(_message.Message):
    __slots__ = ("source", "source_record_id")
    SOURCE_FIELD_NUMBER: _ClassVar[int]
    SOURCE_RECORD_ID_FIELD_NUMBER: _ClassVar[int]
    source: str
    source_record_id: str
    def __init__(self, source: _Optional[str] = ..., source_record_id: _Optional[str] = ...) -> None: ...

class VehicleLink(_message.Message):
    __slots__ = ("vin", "relation", "model", "plate", "since", "until")
    VIN_FIELD_NUMBER: _ClassVar[int]
    RELATION_FIELD_NUMBER: _ClassVar[int]
    MODEL_FIELD_NUMBER: _ClassVar[int]
    PLATE_FIELD_NUMBER: _ClassVar[int]
    SINCE_FIELD_NUMBER: _ClassVar[int]
    UNTIL_FIELD_NUMBER: _ClassVar[int]
    vin: str
    relation: VehicleRelation
    model: str
    plate: str
    since: _timestamp_pb2.Timestamp
    until: _timestamp_pb2.Timestamp
    def __init__(self, vin: _Optional[str] = ..., relation: _Optional[_Union[VehicleRelation, str]] = ..., model: _Optional[str] = ..., plate: _Optional[str] = ..., since: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ..., until: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ...) -> None: ...

class SourceRecord(_message.Message):
    __slots__ = ("source", "source_record_id", "observed_at", "identifiers", "attributes", "vehicles", "referred_by")
    class AttributesEntry(_message.Message):
        __slots__ = ("key", "value")
        KEY_FIELD_NUMBER: _ClassVar[int]
        VALUE_FIELD_NUMBER: _ClassVar[int]
        key: str
        value: str
        def __init__(self, key: _Optional[str] = ..., value: _Optional[str] = ...) -> None: ...
    SOURCE_FIELD_NUMBER: _ClassVar[int]
    SOURCE_RECORD_ID_FIELD_NUMBER: _ClassVar[int]
    OBSERVED_AT_FIELD_NUMBER: _ClassVar[int]
    IDENTIFIERS_FIELD_NUMBER: _ClassVar[int]
    ATTRIBUTES_FIELD_NUMBER: _ClassVar[int]
    VEHICLES_FIELD_NUMBER: _ClassVar[int]
    REFERRED_BY_FIELD_NUMBER: _ClassVar[int]
    source: str
    source_record_id: str
    observed_at: _timestamp_pb2.Timestamp
    identifiers: _containers.RepeatedCompositeFieldContainer[Identifier]
    attributes: _containers.ScalarMap[str, str]
    vehicles: _containers.RepeatedCompositeFieldContainer[VehicleLink]
    referred_by: _containers.RepeatedCompositeFieldContainer[Identifier]
    def __init__(self, source: _Optional[str] = ..., source_record_id: _Optional[str] = ..., observed_at: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ..., identifiers: _Optional[_Iterable[_Union[Identifier, _Mapping]]] = ..., attributes: _Optional[_Mapping[str, str]] = ..., vehicles: _Optional[_Iterable[_Union[VehicleLink, _Mapping]]] = ..., referred_by: _Optional[_Iterable[_Union[Identifier, _Mapping]]] = ...) -> None: ...

class IngestRequest(_message.Message):
    __slots__ = ("record", "drop_invalid_values")
    RECORD_FIELD_NUMBER: _ClassVar[int]
    DROP_INVALID_VALUES_FIELD_NUMBER: _ClassVar[int]
    record: SourceRecord
    drop_invalid_values: bool
    def __init__(self, record: _Optional[_Union[SourceRecord, _Mapping]] = ..., drop_invalid_values: _Optional[bool] = ...) -> None: ...

class IngestResponse(_message.Message):
    __slots__ = ("one_id", "decision", "score", "merged_one_ids", "review_task_id", "error", "source", "source_record_id", "match_probability", "dropped")
    ONE_ID_FIELD_NUMBER: _ClassVar[int]
    DECISION_FIELD_NUMBER: _ClassVar[int]
    SCORE_FIELD_NUMBER: _ClassVar[int]
    MERGED_ONE_IDS_FIELD_NUMBER: _ClassVar[int]
    REVIEW_TASK_ID_FIELD_NUMBER: _ClassVar[int]
    ERROR_FIELD_NUMBER: _ClassVar[int]
    SOURCE_FIELD_NUMBER: _ClassVar[int]
    SOURCE_RECORD_ID_FIELD_NUMBER: _ClassVar[int]
    MATCH_PROBABILITY_FIELD_NUMBER: _ClassVar[int]
    DROPPED_FIELD_NUMBER: _ClassVar[int]
    one_id: str
    decision: Decision
    score: float
    merged_one_ids: _containers.RepeatedScalarFieldContainer[str]
    review_task_id: str
    error: _status_pb2.Status
    source: str
    source_record_id: str
    match_probability: float
    dropped: _containers.RepeatedCompositeFieldContainer[_error_details_pb2.BadRequest.FieldViolation]
    def __init__(self, one_id: _Optional[str] = ..., decision: _Optional[_Union[Decision, str]] = ..., score: _Optional[float] = ..., merged_one_ids: _Optional[_Iterable[str]] = ..., review_task_id: _Optional[str] = ..., error: _Optional[_Union[_status_pb2.Status, _Mapping]] = ..., source: _Optional[str] = ..., source_record_id: _Optional[str] = ..., match_probability: _Optional[float] = ..., dropped: _Optional[_Iterable[_Union[_error_details_pb2.BadRequest.FieldViolation, _Mapping]]] = ...) -> None: ...

class IngestBatchRequest(_message.Message):
    __slots__ = ("records",)
    RECORDS_FIELD_NUMBER: _ClassVar[int]
    records: _containers.RepeatedCompositeFieldContainer[SourceRecord]
    def __init__(self, records: _Optional[_Iterable[_Union[SourceRecord, _Mapping]]] = ...) -> None: ...

class IngestBatchResponse(_message.Message):
    __slots__ = ("results",)
    RESULTS_FIELD_NUMBER: _ClassVar[int]
    results: _containers.RepeatedCompositeFieldContainer[IngestResponse]
    def __init__(self, results: _Optional[_Iterable[_Union[IngestResponse, _Mapping]]] = ...) -> None: ...

class ResolveRequest(_message.Message):
    __slots__ = ("identifiers", "attributes")
    class AttributesEntry(_message.Message):
        __slots__ = ("key", "value")
        KEY_FIELD_NUMBER: _ClassVar[int]
        VALUE_FIELD_NUMBER: _ClassVar[int]
        key: str
        value: str
        def __init__(self, key: _Optional[str] = ..., value: _Optional[str] = ...) -> None: ...
    IDENTIFIERS_FIELD_NUMBER: _ClassVar[int]
    ATTRIBUTES_FIELD_NUMBER: _ClassVar[int]
    identifiers: _containers.RepeatedCompositeFieldContainer[Identifier]
    attributes: _containers.ScalarMap[str, str]
    def __init__(self, identifiers: _Optional[_Iterable[_Union[Identifier, _Mapping]]] = ..., attributes: _Optional[_Mapping[str, str]] = ...) -> None: ...

class Comparison(_message.Message):
    __slots__ = ("name", "kind", "level", "weight", "left_value", "right_value", "note")
    NAME_FIELD_NUMBER: _ClassVar[int]
    KIND_FIELD_NUMBER: _ClassVar[int]
    LEVEL_FIELD_NUMBER: _ClassVar[int]
    WEIGHT_FIELD_NUMBER: _ClassVar[int]
    LEFT_VALUE_FIELD_NUMBER: _ClassVar[int]
    RIGHT_VALUE_FIELD_NUMBER: _ClassVar[int]
    NOTE_FIELD_NUMBER: _ClassVar[int]
    name: str
    kind: str
    level: str
    weight: float
    left_value: str
    right_value: str
    note: str
    def __init__(self, name: _Optional[str] = ..., kind: _Optional[str] = ..., level: _Optional[str] = ..., weight: _Optional[float] = ..., left_value: _Optional[str] = ..., right_value: _Optional[str] = ..., note: _Optional[str] = ...) -> None: ...

class Candidate(_message.Message):
    __slots__ = ("one_id", "score", "comparisons", "conflict", "match_probability")
    ONE_ID_FIELD_NUMBER: _ClassVar[int]
    SCORE_FIELD_NUMBER: _ClassVar[int]
    COMPARISONS_FIELD_NUMBER: _ClassVar[int]
    CONFLICT_FIELD_NUMBER: _ClassVar[int]
    MATCH_PROBABILITY_FIELD_NUMBER: _ClassVar[int]
    one_id: str
    score: float
    comparisons: _containers.RepeatedCompositeFieldContainer[Comparison]
    conflict: bool
    match_probability: float
    def __init__(self, one_id: _Optional[str] = ..., score: _Optional[float] = ..., comparisons: _Optional[_Iterable[_Union[Comparison, _Mapping]]] = ..., conflict: _Optional[bool] = ..., match_probability: _Optional[float] = ...) -> None: ...

class ResolveResponse(_message.Message):
    __slots__ = ("one_id", "confidence", "candidates", "score")
    ONE_ID_FIELD_NUMBER: _ClassVar[int]
    CONFIDENCE_FIELD_NUMBER: _ClassVar[int]
    CANDIDATES_FIELD_NUMBER: _ClassVar[int]
    SCORE_FIELD_NUMBER: _ClassVar[int]
    one_id: str
    confidence: float
    candidates: _containers.RepeatedCompositeFieldContainer[Candidate]
    score: float
    def __init__(self, one_id: _Optional[str] = ..., confidence: _Optional[float] = ..., candidates: _Optional[_Iterable[_Union[Candidate, _Mapping]]] = ..., score: _Optional[float] = ...) -> None: ...

class GetProfileRequest(_message.Message):
    __slots__ = ("one_id", "identifier")
    ONE_ID_FIELD_NUMBER: _ClassVar[int]
    IDENTIFIER_FIELD_NUMBER: _ClassVar[int]
    one_id: str
    identifier: Identifier
    def __init__(self, one_id: _Optional[str] = ..., identifier: _Optional[_Union[Identifier, _Mapping]] = ...) -> None: ...

class GoldenAttribute(_message.Message):
    __slots__ = ("name", "value", "source", "source_record_id", "observed_at", "rule")
    NAME_FIELD_NUMBER: _ClassVar[int]
    VALUE_FIELD_NUMBER: _ClassVar[int]
    SOURCE_FIELD_NUMBER: _ClassVar[int]
    SOURCE_RECORD_ID_FIELD_NUMBER: _ClassVar[int]
    OBSERVED_AT_FIELD_NUMBER: _ClassVar[int]
    RULE_FIELD_NUMBER: _ClassVar[int]
    name: str
    value: str
    source: str
    source_record_id: str
    observed_at: _timestamp_pb2.Timestamp
    rule: str
    def __init__(self, name: _Optional[str] = ..., value: _Optional[str] = ..., source: _Optional[str] = ..., source_record_id: _Optional[str] = ..., observed_at: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ..., rule: _Optional[str] = ...) -> None: ...

class ProfileIdentifier(_message.Message):
    __slots__ = ("type", "value", "scope", "hashed", "sources", "first_seen", "last_seen", "shared", "blocklisted", "holder_count")
    TYPE_FIELD_NUMBER: _ClassVar[int]
    VALUE_FIELD_NUMBER: _ClassVar[int]
    SCOPE_FIELD_NUMBER: _ClassVar[int]
    HASHED_FIELD_NUMBER: _ClassVar[int]
    SOURCES_FIELD_NUMBER: _ClassVar[int]
    FIRST_SEEN_FIELD_NUMBER: _ClassVar[int]
    LAST_SEEN_FIELD_NUMBER: _ClassVar[int]
    SHARED_FIELD_NUMBER: _ClassVar[int]
    BLOCKLISTED_FIELD_NUMBER: _ClassVar[int]
    HOLDER_COUNT_FIELD_NUMBER: _ClassVar[int]
    type: str
    value: str
    scope: str
    hashed: bool
    sources: _containers.RepeatedScalarFieldContainer[str]
    first_seen: _timestamp_pb2.Timestamp
    last_seen: _timestamp_pb2.Timestamp
    shared: bool
    blocklisted: bool
    holder_count: int
    def __init__(self, type: _Optional[str] = ..., value: _Optional[str] = ..., scope: _Optional[str] = ..., hashed: _Optional[bool] = ..., sources: _Optional[_Iterable[str]] = ..., first_seen: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ..., last_seen: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ..., shared: _Optional[bool] = ..., blocklisted: _Optional[bool] = ..., holder_count: _Optional[int] = ...) -> None: ...

class ProfileRecord(_message.Message):
    __slots__ = ("source", "source_record_id", "observed_at", "ingested_at", "identifiers", "attributes")
    class AttributesEntry(_message.Message):
        __slots__ = ("key", "value")
        KEY_FIELD_NUMBER: _ClassVar[int]
        VALUE_FIELD_NUMBER: _ClassVar[int]
        key: str
        value: str
        def __init__(self, key: _Optional[str] = ..., value: _Optional[str] = ...) -> None: ...
    SOURCE_FIELD_NUMBER: _ClassVar[int]
    SOURCE_RECORD_ID_FIELD_NUMBER: _ClassVar[int]
    OBSERVED_AT_FIELD_NUMBER: _ClassVar[int]
    INGESTED_AT_FIELD_NUMBER: _ClassVar[int]
    IDENTIFIERS_FIELD_NUMBER: _ClassVar[int]
    ATTRIBUTES_FIELD_NUMBER: _ClassVar[int]
    source: str
    source_record_id: str
    observed_at: _timestamp_pb2.Timestamp
    ingested_at: _timestamp_pb2.Timestamp
    identifiers: _containers.RepeatedCompositeFieldContainer[Identifier]
    attributes: _containers.ScalarMap[str, str]
    def __init__(self, source: _Optional[str] = ..., source_record_id: _Optional[str] = ..., observed_at: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ..., ingested_at: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ..., identifiers: _Optional[_Iterable[_Union[Identifier, _Mapping]]] = ..., attributes: _Optional[_Mapping[str, str]] = ...) -> None: ...

class ProfileVehicle(_message.Message):
    __slots__ = ("vin", "relation", "model", "plate", "since", "until", "source", "source_record_id", "current")
    VIN_FIELD_NUMBER: _ClassVar[int]
    RELATION_FIELD_NUMBER: _ClassVar[int]
    MODEL_FIELD_NUMBER: _ClassVar[int]
    PLATE_FIELD_NUMBER: _ClassVar[int]
    SINCE_FIELD_NUMBER: _ClassVar[int]
    UNTIL_FIELD_NUMBER: _ClassVar[int]
    SOURCE_FIELD_NUMBER: _ClassVar[int]
    SOURCE_RECORD_ID_FIELD_NUMBER: _ClassVar[int]
    CURRENT_FIELD_NUMBER: _ClassVar[int]
    vin: str
    relation: VehicleRelation
    model: str
    plate: str
    since: _timestamp_pb2.Timestamp
    until: _timestamp_pb2.Timestamp
    source: str
    source_record_id: str
    current: bool
    def __init__(self, vin: _Optional[str] = ..., relation: _Optional[_Union[VehicleRelation, str]] = ..., model: _Optional[str] = ..., plate: _Optional[str] = ..., since: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ..., until: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ..., source: _Optional[str] = ..., source_record_id: _Optional[str] = ..., current: _Optional[bool] = ...) -> None: ...

class Profile(_message.Message):
    __slots__ = ("one_id", "created_at", "updated_at", "attributes", "identifiers", "records", "vehicles", "merged_one_ids", "consent_marketing", "relationships", "dealers", "tags")
    ONE_ID_FIELD_NUMBER: _ClassVar[int]
    CREATED_AT_FIELD_NUMBER: _ClassVar[int]
    UPDATED_AT_FIELD_NUMBER: _ClassVar[int]
    ATTRIBUTES_FIELD_NUMBER: _ClassVar[int]
    IDENTIFIERS_FIELD_NUMBER: _ClassVar[int]
    RECORDS_FIELD_NUMBER: _ClassVar[int]
    VEHICLES_FIELD_NUMBER: _ClassVar[int]
    MERGED_ONE_IDS_FIELD_NUMBER: _ClassVar[int]
    CONSENT_MARKETING_FIELD_NUMBER: _ClassVar[int]
    RELATIONSHIPS_FIELD_NUMBER: _ClassVar[int]
    DEALERS_FIELD_NUMBER: _ClassVar[int]
    TAGS_FIELD_NUMBER: _ClassVar[int]
    one_id: str
    created_at: _timestamp_pb2.Timestamp
    updated_at: _timestamp_pb2.Timestamp
    attributes: _containers.RepeatedCompositeFieldContainer[GoldenAttribute]
    identifiers: _containers.RepeatedCompositeFieldContainer[ProfileIdentifier]
    records: _containers.RepeatedCompositeFieldContainer[ProfileRecord]
    vehicles: _containers.RepeatedCompositeFieldContainer[ProfileVehicle]
    merged_one_ids: _containers.RepeatedScalarFieldContainer[str]
    consent_marketing: bool
    relationships: _containers.RepeatedCompositeFieldContainer[Relationship]
    dealers: _containers.RepeatedCompositeFieldContainer[DealerAffinity]
    tags: _containers.RepeatedCompositeFieldContainer[Tag]
    def __init__(self, one_id: _Optional[str] = ..., created_at: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ..., updated_at: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ..., attributes: _Optional[_Iterable[_Union[GoldenAttribute, _Mapping]]] = ..., identifiers: _Optional[_Iterable[_Union[ProfileIdentifier, _Mapping]]] = ..., records: _Optional[_Iterable[_Union[ProfileRecord, _Mapping]]] = ..., vehicles: _Optional[_Iterable[_Union[ProfileVehicle, _Mapping]]] = ..., merged_one_ids: _Optional[_Iterable[str]] = ..., consent_marketing: _Optional[bool] = ..., relationships: _Optional[_Iterable[_Union[Relationship, _Mapping]]] = ..., dealers: _Optional[_Iterable[_Union[DealerAffinity, _Mapping]]] = ..., tags: _Optional[_Iterable[_Union[Tag, _Mapping]]] = ...) -> None: ...

class Tag(_message.Message):
    __slots__ = ("tag", "source", "actor", "assigned_at", "from_data")
    TAG_FIELD_NUMBER: _ClassVar[int]
    SOURCE_FIELD_NUMBER: _ClassVar[int]
    ACTOR_FIELD_NUMBER: _ClassVar[int]
    ASSIGNED_AT_FIELD_NUMBER: _ClassVar[int]
    FROM_DATA_FIELD_NUMBER: _ClassVar[int]
    tag: str
    source: str
    actor: str
    assigned_at: _timestamp_pb2.Timestamp
    from_data: bool
    def __init__(self, tag: _Optional[str] = ..., source: _Optional[str] = ..., actor: _Optional[str] = ..., assigned_at: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ..., from_data: _Optional[bool] = ...) -> None: ...

class Relationship(_message.Message):
    __slots__ = ("type", "one_id", "evidence", "since")
    TYPE_FIELD_NUMBER: _ClassVar[int]
    ONE_ID_FIELD_NUMBER: _ClassVar[int]
    EVIDENCE_FIELD_NUMBER: _ClassVar[int]
    SINCE_FIELD_NUMBER: _ClassVar[int]
    type: RelationshipType
    one_id: str
    evidence: str
    since: _timestamp_pb2.Timestamp
    def __init__(self, type: _Optional[_Union[RelationshipType, str]] = ..., one_id: _Optional[str] = ..., evidence: _Optional[str] = ..., since: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ...) -> None: ...

class DealerAffinity(_message.Message):
    __slots__ = ("dealer", "records", "last_seen")
    DEALER_FIELD_NUMBER: _ClassVar[int]
    RECORDS_FIELD_NUMBER: _ClassVar[int]
    LAST_SEEN_FIELD_NUMBER: _ClassVar[int]
    dealer: str
    records: int
    last_seen: _timestamp_pb2.Timestamp
    def __init__(self, dealer: _Optional[str] = ..., records: _Optional[int] = ..., last_seen: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ...) -> None: ...

class GetProfileResponse(_message.Message):
    __slots__ = ("profile", "redirected", "requested_one_id")
    PROFILE_FIELD_NUMBER: _ClassVar[int]
    REDIRECTED_FIELD_NUMBER: _ClassVar[int]
    REQUESTED_ONE_ID_FIELD_NUMBER: _ClassVar[int]
    profile: Profile
    redirected: bool
    requested_one_id: str
    def __init__(self, profile: _Optional[_Union[Profile, _Mapping]] = ..., redirected: _Optional[bool] = ..., requested_one_id: _Optional[str] = ...) -> None: ...

class ExplainRequest(_message.Message):
    __slots__ = ("record", "one_id", "other_one_id")
    RECORD_FIELD_NUMBER: _ClassVar[int]
    ONE_ID_FIELD_NUMBER: _ClassVar[int]
    OTHER_ONE_ID_FIELD_NUMBER: _ClassVar[int]
    record: SourceRecord
    one_id: str
    other_one_id: str
    def __init__(self, record: _Optional[_Union[SourceRecord, _Mapping]] = ..., one_id: _Optional[str] = ..., other_one_id: _Optional[str] = ...) -> None: ...

class ExplainResponse(_message.Message):
    __slots__ = ("comparisons", "score", "decision", "link_threshold", "review_threshold", "reason", "conflict", "match_probability")
    COMPARISONS_FIELD_NUMBER: _ClassVar[int]
    SCORE_FIELD_NUMBER: _ClassVar[int]
    DECISION_FIELD_NUMBER: _ClassVar[int]
    LINK_THRESHOLD_FIELD_NUMBER: _ClassVar[int]
    REVIEW_THRESHOLD_FIELD_NUMBER: _ClassVar[int]
    REASON_FIELD_NUMBER: _ClassVar[int]
    CONFLICT_FIELD_NUMBER: _ClassVar[int]
    MATCH_PROBABILITY_FIELD_NUMBER: _ClassVar[int]
    comparisons: _containers.RepeatedCompositeFieldContainer[Comparison]
    score: float
    decision: Decision
    link_threshold: float
    review_threshold: float
    reason: str
    conflict: bool
    match_probability: float
    def __init__(self, comparisons: _Optional[_Iterable[_Union[Comparison, _Mapping]]] = ..., score: _Optional[float] = ..., decision: _Optional[_Union[Decision, str]] = ..., link_threshold: _Optional[float] = ..., review_threshold: _Optional[float] = ..., reason: _Optional[str] = ..., conflict: _Optional[bool] = ..., match_probability: _Optional[float] = ...) -> None: ...

class WatchChangesRequest(_message.Message):
    __slots__ = ("after_cursor", "max_events")
    AFTER_CURSOR_FIELD_NUMBER: _ClassVar[int]
    MAX_EVENTS_FIELD_NUMBER: _ClassVar[int]
    after_cursor: str
    max_events: int
    def __init__(self, after_cursor: _Optional[str] = ..., max_events: _Optional[int] = ...) -> None: ...

class ChangeEvent(_message.Message):
    __slots__ = ("cursor", "type", "one_id", "related_one_ids", "at", "actor", "rule", "score")
    CURSOR_FIELD_NUMBER: _ClassVar[int]
    TYPE_FIELD_NUMBER: _ClassVar[int]
    ONE_ID_FIELD_NUMBER: _ClassVar[int]
    RELATED_ONE_IDS_FIELD_NUMBER: _ClassVar[int]
    AT_FIELD_NUMBER: _ClassVar[int]
    ACTOR_FIELD_NUMBER: _ClassVar[int]
    RULE_FIELD_NUMBER: _ClassVar[int]
    SCORE_FIELD_NUMBER: _ClassVar[int]
    cursor: str
    type: ChangeType
    one_id: str
    related_one_ids: _containers.RepeatedScalarFieldContainer[str]
    at: _timestamp_pb2.Timestamp
    actor: str
    rule: str
    score: float
    def __init__(self, cursor: _Optional[str] = ..., type: _Optional[_Union[ChangeType, str]] = ..., one_id: _Optional[str] = ..., related_one_ids: _Optional[_Iterable[str]] = ..., at: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ..., actor: _Optional[str] = ..., rule: _Optional[str] = ..., score: _Optional[float] = ...) -> None: ...
