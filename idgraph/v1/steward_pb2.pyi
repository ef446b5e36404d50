import datetime

from google.protobuf import timestamp_pb2 as _timestamp_pb2
from idgraph.v1 import identity_pb2 as _identity_pb2
from google.protobuf.internal import containers as _containers
from google.protobuf.internal import enum_type_wrapper as _enum_type_wrapper
from google.protobuf import descriptor as _descriptor
from google.protobuf import message as _message
from collections.abc import Iterable as _Iterable, Mapping as _Mapping
from typing import ClassVar as _ClassVar, Optional as _Optional, Union as _Union

DESCRIPTOR: _descriptor.FileDescriptor

class ReviewStatus(int, metaclass=_enum_type_wrapper.EnumTypeWrapper):
    __slots__ = ()
    REVIEW_STATUS_UNSPECIFIED: _ClassVar[ReviewStatus]
    REVIEW_STATUS_OPEN: _ClassVar[ReviewStatus]
    REVIEW_STATUS_DECIDED: _ClassVar[ReviewStatus]

class ReviewOrder(int, metaclass=_enum_type_wrapper.EnumTypeWrapper):
    __slots__ = ()
    REVIEW_ORDER_UNSPECIFIED: _ClassVar[ReviewOrder]
    REVIEW_ORDER_OLDEST_FIRST: _ClassVar[ReviewOrder]
    REVIEW_ORDER_LARGEST_FIRST: _ClassVar[ReviewOrder]

class ReviewDecision(int, metaclass=_enum_type_wrapper.EnumTypeWrapper):
    __slots__ = ()
    REVIEW_DECISION_UNSPECIFIED: _ClassVar[ReviewDecision]
    REVIEW_DECISION_MERGE: _ClassVar[ReviewDecision]
    REVIEW_DECISION_KEEP_APART: _ClassVar[ReviewDecision]
REVIEW_STATUS_UNSPECIFIED: ReviewStatus
REVIEW_STATUS_OPEN: ReviewStatus
REVIEW_STATUS_DECIDED: ReviewStatus
REVIEW_ORDER_UNSPECIFIED: ReviewOrder
REVIEW_ORDER_OLDEST_FIRST: ReviewOrder
REVIEW_ORDER_LARGEST_FIRST: ReviewOrder
REVIEW_DECISION_UNSPECIFIED: ReviewDecision
REVIEW_DECISION_MERGE: ReviewDecision
REVIEW_DECISION_KEEP_APART: ReviewDecision

class ListReviewTasksRequest(_message.Message):
    __slots__ = ("status", "min_score", "max_score", "reason_contains", "source", "page_size", "page_token", "order")
    STATUS_FIELD_NUMBER: _ClassVar[int]
    MIN_SCORE_FIELD_NUMBER: _ClassVar[int]
    MAX_SCORE_FIELD_NUMBER: _ClassVar[int]
    REASON_CONTAINS_FIELD_NUMBER: _ClassVar[int]
    SOURCE_FIELD_NUMBER: _ClassVar[int]
    PAGE_SIZE_FIELD_NUMBER: _ClassVar[int]
    PAGE_TOKEN_FIELD_NUMBER: _ClassVar[int]
    ORDER_FIELD_NUMBER: _ClassVar[int]
    status: ReviewStatus
    min_score: float
    max_score: float
    reason_contains: str
    source: str
    page_size: int
    page_token: str
    order: ReviewOrder
    def __init__(self, status: _Optional[_Union[ReviewStatus, str]] = ..., min_score: _Optional[float] = ..., max_score: _Optional[float] = ..., reason_contains: _Optional[str] = ..., source: _Optional[str] = ..., page_size: _Optional[int] = ..., page_token: _Optional[str] = ..., order: _Optional[_Union[ReviewOrder, str]] = ...) -> None: ...

class ReviewTaskSummary(_message.Message):
    __slots__ = ("task_id", "status", "created_at", "one_id", "candidate_one_ids", "score", "reason", "source", "source_record_id", "decision", "decided_by", "decided_at", "decision_reason", "people_involved", "records_involved")
    TASK_ID_FIELD_NUMBER: _ClassVar[int]
    STATUS_FIELD_NUMBER: _ClassVar[int]
    CREATED_AT_FIELD_NUMBER: _ClassVar[int]
    ONE_ID_FIELD_NUMBER: _ClassVar[int]
    CANDIDATE_ONE_IDS_FIELD_NUMBER: _ClassVar[int]
    SCORE_FIELD_NUMBER: _ClassVar[int]
    REASON_FIELD_NUMBER: _ClassVar[int]
    SOURCE_FIELD_NUMBER: _ClassVar[int]
    SOURCE_RECORD_ID_FIELD_NUMBER: _ClassVar[int]
    DECISION_FIELD_NUMBER: _ClassVar[int]
    DECIDED_BY_FIELD_NUMBER: _ClassVar[int]
    DECIDED_AT_FIELD_NUMBER: _ClassVar[int]
    DECISION_REASON_FIELD_NUMBER: _ClassVar[int]
    PEOPLE_INVOLVED_FIELD_NUMBER: _ClassVar[int]
    RECORDS_INVOLVED_FIELD_NUMBER: _ClassVar[int]
    task_id: str
    status: ReviewStatus
    created_at: _timestamp_pb2.Timestamp
    one_id: str
    candidate_one_ids: _containers.RepeatedScalarFieldContainer[str]
    score: float
    reason: str
    source: str
    source_record_id: str
    decision: ReviewDecision
    decided_by: str
    decided_at: _timestamp_pb2.Timestamp
    decision_reason: str
    people_involved: int
    records_involved: int
    def __init__(self, task_id: _Optional[str] = ..., status: _Optional[_Union[ReviewStatus, str]] = ..., created_at: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ..., one_id: _Optional[str] = ..., candidate_one_ids: _Optional[_Iterable[str]] = ..., score: _Optional[float] = ..., reason: _Optional[str] = ..., source: _Optional[str] = ..., source_record_id: _Optional[str] = ..., decision: _Optional[_Union[ReviewDecision, str]] = ..., decided_by: _Optional[str] = ..., decided_at: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ..., decision_reason: _Optional[str] = ..., people_involved: _Optional[int] = ..., records_involved: _Optional[int] = ...) -> None: ...

class ListReviewTasksResponse(_message.Message):
    __slots__ = ("tasks", "next_page_token")
    TASKS_FIELD_NUMBER: _ClassVar[int]
    NEXT_PAGE_TOKEN_FIELD_NUMBER: _ClassVar[int]
    tasks: _containers.RepeatedCompositeFieldContainer[ReviewTaskSummary]
    next_page_token: str
    def __init__(self, tasks: _Optional[_Iterable[_Union[ReviewTaskSummary, _Mapping]]] = ..., next_page_token: _Optional[str] = ...) -> None: ...

class GetReviewTaskRequest(_message.Message):
    __slots__ = ("task_id",)
    TASK_ID_FIELD_NUMBER: _ClassVar[int]
    task_id: str
    def __init__(self, task_id: _Optional[str] = ...) -> None: ...

class ScoredCandidate(_message.Message):
    __slots__ = ("one_id", "score", "conflict", "comparisons")
    ONE_ID_FIELD_NUMBER: _ClassVar[int]
    SCORE_FIELD_NUMBER: _ClassVar[int]
    CONFLICT_FIELD_NUMBER: _ClassVar[int]
    COMPARISONS_FIELD_NUMBER: _ClassVar[int]
    one_id: str
    score: float
    conflict: bool
    comparisons: _containers.RepeatedCompositeFieldContainer[_identity_pb2.Comparison]
    def __init__(self, one_id: _Optional[str] = ..., score: _Optional[float] = ..., conflict: _Optional[bool] = ..., comparisons: _Optional[_Iterable[_Union[_identity_pb2.Comparison, _Mapping]]] = ...) -> None: ...

class GetReviewTaskResponse(_message.Message):
    __slots__ = ("task", "sides", "candidates")
    TASK_FIELD_NUMBER: _ClassVar[int]
    SIDES_FIELD_NUMBER: _ClassVar[int]
    CANDIDATES_FIELD_NUMBER: _ClassVar[int]
    task: ReviewTaskSummary
    sides: _containers.RepeatedCompositeFieldContainer[_identity_pb2.Profile]
    candidates: _containers.RepeatedCompositeFieldContainer[ScoredCandidate]
    def __init__(self, task: _Optional[_Union[ReviewTaskSummary, _Mapping]] = ..., sides: _Optional[_Iterable[_Union[_identity_pb2.Profile, _Mapping]]] = ..., candidates: _Optional[_Iterable[_Union[ScoredCandidate, _Mapping]]] = ...) -> None: ...

class DecideReviewTaskRequest(_message.Message):
    __slots__ = ("task_id", "decision", "reason")
    TASK_ID_FIELD_NUMBER: _ClassVar[int]
    DECISION_FIELD_NUMBER: _ClassVar[int]
    REASON_FIELD_NUMBER: _ClassVar[int]
    task_id: str
    decision: ReviewDecision
    reason: str
    def __init__(self, task_id: _Optional[str] = ..., decision: _Optional[_Union[ReviewDecision, str]] = ..., reason: _Optional[str] = ...) -> None: ...

class DecideReviewTaskResponse(_message.Message):
    __slots__ = ("task", "one_id", "merged_one_ids")
    TASK_FIELD_NUMBER: _ClassVar[int]
    ONE_ID_FIELD_NUMBER: _ClassVar[int]
    MERGED_ONE_IDS_FIELD_NUMBER: _ClassVar[int]
    task: ReviewTaskSummary
    one_id: str
    merged_one_ids: _containers.RepeatedScalarFieldContainer[str]
    def __init__(self, task: _Optional[_Union[ReviewTaskSummary, _Mapping]] = ..., one_id: _Optional[str] = ..., merged_one_ids: _Optional[_Iterable[str]] = ...) -> None: ...

class MergePersonsRequest(_message.Message):
    __slots__ = ("one_ids", "reason")
    ONE_IDS_FIELD_NUMBER: _ClassVar[int]
    REASON_FIELD_NUMBER: _ClassVar[int]
    one_ids: _containers.RepeatedScalarFieldContainer[str]
    reason: str
    def __init__(self, one_ids: _Optional[_Iterable[str]] = ..., reason: _Optional[str] = ...) -> None: ...

class MergePersonsResponse(_message.Message):
    __slots__ = ("one_id", "merged_one_ids")
    ONE_ID_FIELD_NUMBER: _ClassVar[int]
    MERGED_ONE_IDS_FIELD_NUMBER: _ClassVar[int]
    one_id: str
    merged_one_ids: _containers.RepeatedScalarFieldContainer[str]
    def __init__(self, one_id: _Optional[str] = ..., merged_one_ids: _Optional[_Iterable[str]] = ...) -> None: ...

class SplitPersonRequest(_message.Message):
    __slots__ = ("one_id", "records", "reason", "re_resolve")
    ONE_ID_FIELD_NUMBER: _ClassVar[int]
    RECORDS_FIELD_NUMBER: _ClassVar[int]
    REASON_FIELD_NUMBER: _ClassVar[int]
    RE_RESOLVE_FIELD_NUMBER: _ClassVar[int]
    one_id: str
    records: _containers.RepeatedCompositeFieldContainer[_identity_pb2.RecordRef]
    reason: str
    re_resolve: bool
    def __init__(self, one_id: _Optional[str] = ..., records: _Optional[_Iterable[_Union[_identity_pb2.RecordRef, _Mapping]]] = ..., reason: _Optional[str] = ..., re_resolve: _Optional[bool] = ...) -> None: ...

class Placement(_message.Message):
    __slots__ = ("record", "one_id")
    RECORD_FIELD_NUMBER: _ClassVar[int]
    ONE_ID_FIELD_NUMBER: _ClassVar[int]
    record: _identity_pb2.RecordRef
    one_id: str
    def __init__(self, record: _Optional[_Union[_identity_pb2.RecordRef, _Mapping]] = ..., one_id: _Optional[str] = ...) -> None: ...

class SplitPersonResponse(_message.Message):
    __slots__ = ("one_id", "new_one_id", "moved", "placements")
    ONE_ID_FIELD_NUMBER: _ClassVar[int]
    NEW_ONE_ID_FIELD_NUMBER: _ClassVar[int]
    MOVED_FIELD_NUMBER: _ClassVar[int]
    PLACEMENTS_FIELD_NUMBER: _ClassVar[int]
    one_id: str
    new_one_id: str
    moved: _containers.RepeatedCompositeFieldContainer[_identity_pb2.RecordRef]
    placements: _containers.RepeatedCompositeFieldContainer[Placement]
    def __init__(self, one_id: _Optional[str] = ..., new_one_id: _Optional[str] = ..., moved: _Optional[_Iterable[_Union[_identity_pb2.RecordRef, _Mapping]]] = ..., placements: _Optional[_Iterable[_Union[Placement, _Mapping]]] = ...) -> None: ...

class GetHistoryRequest(_message.Message):
    __slots__ = ("one_id", "include_reads")
    ONE_ID_FIELD_NUMBER: _ClassVar[int]
    INCLUDE_READS_FIELD_NUMBER: _ClassVar[int]
    one_id: str
    include_reads: bool
    def __init__(self, one_id: _Optional[str] = ..., include_reads: _Optional[bool] = ...) -> None: ...

class HistoryEntry(_message.Message):
    __slots__ = ("at", "kind", "actor", "one_id", "related_one_ids", "rule", "score", "reason", "task_id", "decision")
    AT_FIELD_NUMBER: _ClassVar[int]
    KIND_FIELD_NUMBER: _ClassVar[int]
    ACTOR_FIELD_NUMBER: _ClassVar[int]
    ONE_ID_FIELD_NUMBER: _ClassVar[int]
    RELATED_ONE_IDS_FIELD_NUMBER: _ClassVar[int]
    RULE_FIELD_NUMBER: _ClassVar[int]
    SCORE_FIELD_NUMBER: _ClassVar[int]
    REASON_FIELD_NUMBER: _ClassVar[int]
    TASK_ID_FIELD_NUMBER: _ClassVar[int]
    DECISION_FIELD_NUMBER: _ClassVar[int]
    at: _timestamp_pb2.Timestamp
    kind: str
    actor: str
    one_id: str
    related_one_ids: _containers.RepeatedScalarFieldContainer[str]
    rule: str
    score: float
    reason: str
    task_id: str
    decision: str
    def __init__(self, at: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ..., kind: _Optional[str] = ..., actor: _Optional[str] = ..., one_id: _Optional[str] = ..., related_one_ids: _Optional[_Iterable[str]] = ..., rule: _Optional[str] = ..., score: _Optional[float] = ..., reason: _Optional[str] = ..., task_id: _Optional[str] = ..., decision: _Optional[str] = ...) -> None: ...

class GetHistoryResponse(_message.Message):
    __slots__ = ("one_id", "entries")
    ONE_ID_FIELD_NUMBER: _ClassVar[int]
    ENTRIES_FIELD_NUMBER: _ClassVar[int]
    one_id: str
    entries: _containers.RepeatedCompositeFieldContainer[HistoryEntry]
    def __init__(self, one_id: _Optional[str] = ..., entries: _Optional[_Iterable[_Union[HistoryEntry, _Mapping]]] = ...) -> None: ...

class ErasePersonRequest(_message.Message):
    __slots__ = ("one_id", "reason")
    ONE_ID_FIELD_NUMBER: _ClassVar[int]
    REASON_FIELD_NUMBER: _ClassVar[int]
    one_id: str
    reason: str
    def __init__(self, one_id: _Optional[str] = ..., reason: _Optional[str] = ...) -> None: ...

class ErasePersonResponse(_message.Message):
    __slots__ = ("one_id", "erased_one_ids")
    ONE_ID_FIELD_NUMBER: _ClassVar[int]
    ERASED_ONE_IDS_FIELD_NUMBER: _ClassVar[int]
    one_id: str
    erased_one_ids: _containers.RepeatedScalarFieldContainer[str]
    def __init__(self, one_id: _Optional[str] = ..., erased_one_ids: _Optional[_Iterable[str]] = ...) -> None: ...

class SuppressIdentifierRequest(_message.Message):
    __slots__ = ("identifier", "reason")
    IDENTIFIER_FIELD_NUMBER: _ClassVar[int]
    REASON_FIELD_NUMBER: _ClassVar[int]
    identifier: _identity_pb2.Identifier
    reason: str
    def __init__(self, identifier: _Optional[_Union[_identity_pb2.Identifier, _Mapping]] = ..., reason: _Optional[str] = ...) -> None: ...

class SuppressIdentifierResponse(_message.Message):
    __slots__ = ("created",)
    CREATED_FIELD_NUMBER: _ClassVar[int]
    created: bool
    def __init__(self, created: _Optional[bool] = ...) -> None: ...

class LiftSuppressionRequest(_message.Message):
    __slots__ = ("identifier", "reason")
    IDENTIFIER_FIELD_NUMBER: _ClassVar[int]
    REASON_FIELD_NUMBER: _ClassVar[int]
    identifier: _identity_pb2.Identifier
    reason: str
    def __init__(self, identifier: _Optional[_Union[_identity_pb2.Identifier, _Mapping]] = ..., reason: _Optional[str] = ...) -> None: ...

class LiftSuppressionResponse(_message.Message):
    __slots__ = ("lifted",)
    LIFTED_FIELD_NUMBER: _ClassVar[int]
    lifted: bool
    def __init__(self, lifted: _Optional[bool] = ...) -> None: ...
