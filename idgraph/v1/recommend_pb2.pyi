from google.protobuf.internal import containers as _containers
from google.protobuf import descriptor as _descriptor
from google.protobuf import message as _message
from collections.abc import Iterable as _Iterable, Mapping as _Mapping
from typing import ClassVar as _ClassVar, Optional as _Optional, Union as _Union

DESCRIPTOR: _descriptor.FileDescriptor

class RecommendModelsRequest(_message.Message):
    __slots__ = ("one_id", "k")
    ONE_ID_FIELD_NUMBER: _ClassVar[int]
    K_FIELD_NUMBER: _ClassVar[int]
    one_id: str
    k: int
    def __init__(self, one_id: _Optional[str] = ..., k: _Optional[int] = ...) -> None: ...

class ModelRecommendation(_message.Message):
    __slots__ = ("model", "score", "explanation", "path")
    MODEL_FIELD_NUMBER: _ClassVar[int]
    SCORE_FIELD_NUMBER: _ClassVar[int]
    EXPLANATION_FIELD_NUMBER: _ClassVar[int]
    PATH_FIELD_NUMBER: _ClassVar[int]
    model: str
    score: float
    explanation: str
    path: _containers.RepeatedScalarFieldContainer[str]
    def __init__(self, model: _Optional[str] = ..., score: _Optional[float] = ..., explanation: _Optional[str] = ..., path: _Optional[_Iterable[str]] = ...) -> None: ...

class RecommendModelsResponse(_message.Message):
    __slots__ = ("one_id", "models")
    ONE_ID_FIELD_NUMBER: _ClassVar[int]
    MODELS_FIELD_NUMBER: _ClassVar[int]
    one_id: str
    models: _containers.RepeatedCompositeFieldContainer[ModelRecommendation]
    def __init__(self, one_id: _Optional[str] = ..., models: _Optional[_Iterable[_Union[ModelRecommendation, _Mapping]]] = ...) -> None: ...

class PersonRecommendation(_message.Message):
    __slots__ = ("one_id", "score", "explanation", "path")
    ONE_ID_FIELD_NUMBER: _ClassVar[int]
    SCORE_FIELD_NUMBER: _ClassVar[int]
    EXPLANATION_FIELD_NUMBER: _ClassVar[int]
    PATH_FIELD_NUMBER: _ClassVar[int]
    one_id: str
    score: float
    explanation: str
    path: _containers.RepeatedScalarFieldContainer[str]
    def __init__(self, one_id: _Optional[str] = ..., score: _Optional[float] = ..., explanation: _Optional[str] = ..., path: _Optional[_Iterable[str]] = ...) -> None: ...

class ReferralCandidatesRequest(_message.Message):
    __slots__ = ("one_id", "k", "with_tags", "without_tags")
    ONE_ID_FIELD_NUMBER: _ClassVar[int]
    K_FIELD_NUMBER: _ClassVar[int]
    WITH_TAGS_FIELD_NUMBER: _ClassVar[int]
    WITHOUT_TAGS_FIELD_NUMBER: _ClassVar[int]
    one_id: str
    k: int
    with_tags: _containers.RepeatedScalarFieldContainer[str]
    without_tags: _containers.RepeatedScalarFieldContainer[str]
    def __init__(self, one_id: _Optional[str] = ..., k: _Optional[int] = ..., with_tags: _Optional[_Iterable[str]] = ..., without_tags: _Optional[_Iterable[str]] = ...) -> None: ...

class ReferralCandidatesResponse(_message.Message):
    __slots__ = ("candidates",)
    CANDIDATES_FIELD_NUMBER: _ClassVar[int]
    candidates: _containers.RepeatedCompositeFieldContainer[PersonRecommendation]
    def __init__(self, candidates: _Optional[_Iterable[_Union[PersonRecommendation, _Mapping]]] = ...) -> None: ...

class SimilarCustomersRequest(_message.Message):
    __slots__ = ("one_ids", "k", "with_tags", "without_tags")
    ONE_IDS_FIELD_NUMBER: _ClassVar[int]
    K_FIELD_NUMBER: _ClassVar[int]
    WITH_TAGS_FIELD_NUMBER: _ClassVar[int]
    WITHOUT_TAGS_FIELD_NUMBER: _ClassVar[int]
    one_ids: _containers.RepeatedScalarFieldContainer[str]
    k: int
    with_tags: _containers.RepeatedScalarFieldContainer[str]
    without_tags: _containers.RepeatedScalarFieldContainer[str]
    def __init__(self, one_ids: _Optional[_Iterable[str]] = ..., k: _Optional[int] = ..., with_tags: _Optional[_Iterable[str]] = ..., without_tags: _Optional[_Iterable[str]] = ...) -> None: ...

class SimilarCustomersResponse(_message.Message):
    __slots__ = ("customers",)
    CUSTOMERS_FIELD_NUMBER: _ClassVar[int]
    customers: _containers.RepeatedCompositeFieldContainer[PersonRecommendation]
    def __init__(self, customers: _Optional[_Iterable[_Union[PersonRecommendation, _Mapping]]] = ...) -> None: ...
