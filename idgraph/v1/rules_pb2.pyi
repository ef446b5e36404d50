from google.protobuf.internal import containers as _containers
from google.protobuf import descriptor as _descriptor
from google.protobuf import message as _message
from collections.abc import Iterable as _Iterable, Mapping as _Mapping
from typing import ClassVar as _ClassVar, Optional as _Optional, Union as _Union

DESCRIPTOR: _descriptor.FileDescriptor

class PreviewRulesRequest(_message.Message):
    __slots__ = ("rules_toml", "max_examples", "max_listed")
    RULES_TOML_FIELD_NUMBER: _ClassVar[int]
    MAX_EXAMPLES_FIELD_NUMBER: _ClassVar[int]
    MAX_LISTED_FIELD_NUMBER: _ClassVar[int]
    rules_toml: str
    max_examples: int
    max_listed: int
    def __init__(self, rules_toml: _Optional[str] = ..., max_examples: _Optional[int] = ..., max_listed: _Optional[int] = ...) -> None: ...

class PreviewRulesResponse(_message.Message):
    __slots__ = ("changes", "rules_digest", "current_rules_digest")
    CHANGES_FIELD_NUMBER: _ClassVar[int]
    RULES_DIGEST_FIELD_NUMBER: _ClassVar[int]
    CURRENT_RULES_DIGEST_FIELD_NUMBER: _ClassVar[int]
    changes: RuleChanges
    rules_digest: str
    current_rules_digest: str
    def __init__(self, changes: _Optional[_Union[RuleChanges, _Mapping]] = ..., rules_digest: _Optional[str] = ..., current_rules_digest: _Optional[str] = ...) -> None: ...

class ApplyRulesRequest(_message.Message):
    __slots__ = ("rules_toml", "max_examples", "max_listed")
    RULES_TOML_FIELD_NUMBER: _ClassVar[int]
    MAX_EXAMPLES_FIELD_NUMBER: _ClassVar[int]
    MAX_LISTED_FIELD_NUMBER: _ClassVar[int]
    rules_toml: str
    max_examples: int
    max_listed: int
    def __init__(self, rules_toml: _Optional[str] = ..., max_examples: _Optional[int] = ..., max_listed: _Optional[int] = ...) -> None: ...

class ApplyRulesResponse(_message.Message):
    __slots__ = ("changes", "rules_digest", "created_one_ids")
    CHANGES_FIELD_NUMBER: _ClassVar[int]
    RULES_DIGEST_FIELD_NUMBER: _ClassVar[int]
    CREATED_ONE_IDS_FIELD_NUMBER: _ClassVar[int]
    changes: RuleChanges
    rules_digest: str
    created_one_ids: _containers.RepeatedScalarFieldContainer[str]
    def __init__(self, changes: _Optional[_Union[RuleChanges, _Mapping]] = ..., rules_digest: _Optional[str] = ..., created_one_ids: _Optional[_Iterable[str]] = ...) -> None: ...

class GetAppliedRulesRequest(_message.Message):
    __slots__ = ()
    def __init__(self) -> None: ...

class GetAppliedRulesResponse(_message.Message):
    __slots__ = ("rules_digest", "rules_toml", "actor", "applied_at_ms", "current_rules_digest")
    RULES_DIGEST_FIELD_NUMBER: _ClassVar[int]
    RULES_TOML_FIELD_NUMBER: _ClassVar[int]
    ACTOR_FIELD_NUMBER: _ClassVar[int]
    APPLIED_AT_MS_FIELD_NUMBER: _ClassVar[int]
    CURRENT_RULES_DIGEST_FIELD_NUMBER: _ClassVar[int]
    rules_digest: str
    rules_toml: str
    actor: str
    applied_at_ms: int
    current_rules_digest: str
    def __init__(self, rules_digest: _Optional[str] = ..., rules_toml: _Optional[str] = ..., actor: _Optional[str] = ..., applied_at_ms: _Optional[int] = ..., current_rules_digest: _Optional[str] = ...) -> None: ...

class RuleChanges(_message.Message):
    __slots__ = ("records", "people_before", "people_after", "merges_made_count", "merges_undone_count", "people_affected_count", "new_people", "records_moved", "pairs_joined", "pairs_separated", "review_tasks_count", "merges_made", "merges_undone", "review_tasks", "examples", "truncated", "people_affected")
    RECORDS_FIELD_NUMBER: _ClassVar[int]
    PEOPLE_BEFORE_FIELD_NUMBER: _ClassVar[int]
    PEOPLE_AFTER_FIELD_NUMBER: _ClassVar[int]
    MERGES_MADE_COUNT_FIELD_NUMBER: _ClassVar[int]
    MERGES_UNDONE_COUNT_FIELD_NUMBER: _ClassVar[int]
    PEOPLE_AFFECTED_COUNT_FIELD_NUMBER: _ClassVar[int]
    NEW_PEOPLE_FIELD_NUMBER: _ClassVar[int]
    RECORDS_MOVED_FIELD_NUMBER: _ClassVar[int]
    PAIRS_JOINED_FIELD_NUMBER: _ClassVar[int]
    PAIRS_SEPARATED_FIELD_NUMBER: _ClassVar[int]
    REVIEW_TASKS_COUNT_FIELD_NUMBER: _ClassVar[int]
    MERGES_MADE_FIELD_NUMBER: _ClassVar[int]
    MERGES_UNDONE_FIELD_NUMBER: _ClassVar[int]
    REVIEW_TASKS_FIELD_NUMBER: _ClassVar[int]
    EXAMPLES_FIELD_NUMBER: _ClassVar[int]
    TRUNCATED_FIELD_NUMBER: _ClassVar[int]
    PEOPLE_AFFECTED_FIELD_NUMBER: _ClassVar[int]
    records: int
    people_before: int
    people_after: int
    merges_made_count: int
    merges_undone_count: int
    people_affected_count: int
    new_people: int
    records_moved: int
    pairs_joined: int
    pairs_separated: int
    review_tasks_count: int
    merges_made: _containers.RepeatedCompositeFieldContainer[MergeMade]
    merges_undone: _containers.RepeatedCompositeFieldContainer[MergeUndone]
    review_tasks: _containers.RepeatedCompositeFieldContainer[PredictedReviewTask]
    examples: _containers.RepeatedCompositeFieldContainer[RuleChangeExample]
    truncated: bool
    people_affected: _containers.RepeatedScalarFieldContainer[str]
    def __init__(self, records: _Optional[int] = ..., people_before: _Optional[int] = ..., people_after: _Optional[int] = ..., merges_made_count: _Optional[int] = ..., merges_undone_count: _Optional[int] = ..., people_affected_count: _Optional[int] = ..., new_people: _Optional[int] = ..., records_moved: _Optional[int] = ..., pairs_joined: _Optional[int] = ..., pairs_separated: _Optional[int] = ..., review_tasks_count: _Optional[int] = ..., merges_made: _Optional[_Iterable[_Union[MergeMade, _Mapping]]] = ..., merges_undone: _Optional[_Iterable[_Union[MergeUndone, _Mapping]]] = ..., review_tasks: _Optional[_Iterable[_Union[PredictedReviewTask, _Mapping]]] = ..., examples: _Optional[_Iterable[_Union[RuleChangeExample, _Mapping]]] = ..., truncated: _Optional[bool] = ..., people_affected: _Optional[_Iterable[str]] = ...) -> None: ...

class MergeMade(_message.Message):
    __slots__ = ("one_ids", "record_keys")
    ONE_IDS_FIELD_NUMBER: _ClassVar[int]
    RECORD_KEYS_FIELD_NUMBER: _ClassVar[int]
    one_ids: _containers.RepeatedScalarFieldContainer[str]
    record_keys: _containers.RepeatedScalarFieldContainer[str]
    def __init__(self, one_ids: _Optional[_Iterable[str]] = ..., record_keys: _Optional[_Iterable[str]] = ...) -> None: ...

class MergeUndone(_message.Message):
    __slots__ = ("one_id", "parts")
    ONE_ID_FIELD_NUMBER: _ClassVar[int]
    PARTS_FIELD_NUMBER: _ClassVar[int]
    one_id: str
    parts: _containers.RepeatedCompositeFieldContainer[RecordKeys]
    def __init__(self, one_id: _Optional[str] = ..., parts: _Optional[_Iterable[_Union[RecordKeys, _Mapping]]] = ...) -> None: ...

class RecordKeys(_message.Message):
    __slots__ = ("record_keys",)
    RECORD_KEYS_FIELD_NUMBER: _ClassVar[int]
    record_keys: _containers.RepeatedScalarFieldContainer[str]
    def __init__(self, record_keys: _Optional[_Iterable[str]] = ...) -> None: ...

class PredictedReviewTask(_message.Message):
    __slots__ = ("record_key", "one_id", "candidate_one_ids", "score", "reason")
    RECORD_KEY_FIELD_NUMBER: _ClassVar[int]
    ONE_ID_FIELD_NUMBER: _ClassVar[int]
    CANDIDATE_ONE_IDS_FIELD_NUMBER: _ClassVar[int]
    SCORE_FIELD_NUMBER: _ClassVar[int]
    REASON_FIELD_NUMBER: _ClassVar[int]
    record_key: str
    one_id: str
    candidate_one_ids: _containers.RepeatedScalarFieldContainer[str]
    score: float
    reason: str
    def __init__(self, record_key: _Optional[str] = ..., one_id: _Optional[str] = ..., candidate_one_ids: _Optional[_Iterable[str]] = ..., score: _Optional[float] = ..., reason: _Optional[str] = ...) -> None: ...

class RuleChangeExample(_message.Message):
    __slots__ = ("kind", "one_ids", "record_keys", "decision", "record_key", "probability")
    KIND_FIELD_NUMBER: _ClassVar[int]
    ONE_IDS_FIELD_NUMBER: _ClassVar[int]
    RECORD_KEYS_FIELD_NUMBER: _ClassVar[int]
    DECISION_FIELD_NUMBER: _ClassVar[int]
    RECORD_KEY_FIELD_NUMBER: _ClassVar[int]
    PROBABILITY_FIELD_NUMBER: _ClassVar[int]
    kind: str
    one_ids: _containers.RepeatedScalarFieldContainer[str]
    record_keys: _containers.RepeatedScalarFieldContainer[str]
    decision: str
    record_key: str
    probability: float
    def __init__(self, kind: _Optional[str] = ..., one_ids: _Optional[_Iterable[str]] = ..., record_keys: _Optional[_Iterable[str]] = ..., decision: _Optional[str] = ..., record_key: _Optional[str] = ..., probability: _Optional[float] = ...) -> None: ...
