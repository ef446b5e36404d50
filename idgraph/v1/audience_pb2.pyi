import datetime

from google.protobuf import timestamp_pb2 as _timestamp_pb2
from idgraph.v1 import recommend_pb2 as _recommend_pb2
from google.protobuf.internal import containers as _containers
from google.protobuf.internal import enum_type_wrapper as _enum_type_wrapper
from google.protobuf import descriptor as _descriptor
from google.protobuf import message as _message
from collections.abc import Iterable as _Iterable, Mapping as _Mapping
from typing import ClassVar as _ClassVar, Optional as _Optional, Union as _Union

DESCRIPTOR: _descriptor.FileDescriptor

class HashAlgorithm(int, metaclass=_enum_type_wrapper.EnumTypeWrapper):
    __slots__ = ()
    HASH_ALGORITHM_UNSPECIFIED: _ClassVar[HashAlgorithm]
    HASH_ALGORITHM_PLAIN: _ClassVar[HashAlgorithm]
    HASH_ALGORITHM_MD5: _ClassVar[HashAlgorithm]
    HASH_ALGORITHM_SHA256: _ClassVar[HashAlgorithm]
HASH_ALGORITHM_UNSPECIFIED: HashAlgorithm
HASH_ALGORITHM_PLAIN: HashAlgorithm
HASH_ALGORITHM_MD5: HashAlgorithm
HASH_ALGORITHM_SHA256: HashAlgorithm

class PreviewAudienceRequest(_message.Message):
    __slots__ = ("definition", "name", "sample_size")
    DEFINITION_FIELD_NUMBER: _ClassVar[int]
    NAME_FIELD_NUMBER: _ClassVar[int]
    SAMPLE_SIZE_FIELD_NUMBER: _ClassVar[int]
    definition: str
    name: str
    sample_size: int
    def __init__(self, definition: _Optional[str] = ..., name: _Optional[str] = ..., sample_size: _Optional[int] = ...) -> None: ...

class AudienceMember(_message.Message):
    __slots__ = ("one_id", "reasons")
    ONE_ID_FIELD_NUMBER: _ClassVar[int]
    REASONS_FIELD_NUMBER: _ClassVar[int]
    one_id: str
    reasons: _containers.RepeatedScalarFieldContainer[str]
    def __init__(self, one_id: _Optional[str] = ..., reasons: _Optional[_Iterable[str]] = ...) -> None: ...

class PreviewAudienceResponse(_message.Message):
    __slots__ = ("size", "exportable", "sample", "as_of")
    SIZE_FIELD_NUMBER: _ClassVar[int]
    EXPORTABLE_FIELD_NUMBER: _ClassVar[int]
    SAMPLE_FIELD_NUMBER: _ClassVar[int]
    AS_OF_FIELD_NUMBER: _ClassVar[int]
    size: int
    exportable: int
    sample: _containers.RepeatedCompositeFieldContainer[AudienceMember]
    as_of: _timestamp_pb2.Timestamp
    def __init__(self, size: _Optional[int] = ..., exportable: _Optional[int] = ..., sample: _Optional[_Iterable[_Union[AudienceMember, _Mapping]]] = ..., as_of: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ...) -> None: ...

class CreateAudienceRequest(_message.Message):
    __slots__ = ("name", "definition", "owner", "description")
    NAME_FIELD_NUMBER: _ClassVar[int]
    DEFINITION_FIELD_NUMBER: _ClassVar[int]
    OWNER_FIELD_NUMBER: _ClassVar[int]
    DESCRIPTION_FIELD_NUMBER: _ClassVar[int]
    name: str
    definition: str
    owner: str
    description: str
    def __init__(self, name: _Optional[str] = ..., definition: _Optional[str] = ..., owner: _Optional[str] = ..., description: _Optional[str] = ...) -> None: ...

class AudienceEvent(_message.Message):
    __slots__ = ("kind", "at", "actor", "size", "exported", "identifiers", "format")
    KIND_FIELD_NUMBER: _ClassVar[int]
    AT_FIELD_NUMBER: _ClassVar[int]
    ACTOR_FIELD_NUMBER: _ClassVar[int]
    SIZE_FIELD_NUMBER: _ClassVar[int]
    EXPORTED_FIELD_NUMBER: _ClassVar[int]
    IDENTIFIERS_FIELD_NUMBER: _ClassVar[int]
    FORMAT_FIELD_NUMBER: _ClassVar[int]
    kind: str
    at: _timestamp_pb2.Timestamp
    actor: str
    size: int
    exported: int
    identifiers: _containers.RepeatedScalarFieldContainer[str]
    format: str
    def __init__(self, kind: _Optional[str] = ..., at: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ..., actor: _Optional[str] = ..., size: _Optional[int] = ..., exported: _Optional[int] = ..., identifiers: _Optional[_Iterable[str]] = ..., format: _Optional[str] = ...) -> None: ...

class Audience(_message.Message):
    __slots__ = ("name", "owner", "description", "definition", "created_by", "created_at", "updated_at", "size", "history")
    NAME_FIELD_NUMBER: _ClassVar[int]
    OWNER_FIELD_NUMBER: _ClassVar[int]
    DESCRIPTION_FIELD_NUMBER: _ClassVar[int]
    DEFINITION_FIELD_NUMBER: _ClassVar[int]
    CREATED_BY_FIELD_NUMBER: _ClassVar[int]
    CREATED_AT_FIELD_NUMBER: _ClassVar[int]
    UPDATED_AT_FIELD_NUMBER: _ClassVar[int]
    SIZE_FIELD_NUMBER: _ClassVar[int]
    HISTORY_FIELD_NUMBER: _ClassVar[int]
    name: str
    owner: str
    description: str
    definition: str
    created_by: str
    created_at: _timestamp_pb2.Timestamp
    updated_at: _timestamp_pb2.Timestamp
    size: int
    history: _containers.RepeatedCompositeFieldContainer[AudienceEvent]
    def __init__(self, name: _Optional[str] = ..., owner: _Optional[str] = ..., description: _Optional[str] = ..., definition: _Optional[str] = ..., created_by: _Optional[str] = ..., created_at: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ..., updated_at: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ..., size: _Optional[int] = ..., history: _Optional[_Iterable[_Union[AudienceEvent, _Mapping]]] = ...) -> None: ...

class CreateAudienceResponse(_message.Message):
    __slots__ = ("audience",)
    AUDIENCE_FIELD_NUMBER: _ClassVar[int]
    audience: Audience
    def __init__(self, audience: _Optional[_Union[Audience, _Mapping]] = ...) -> None: ...

class GetAudienceRequest(_message.Message):
    __slots__ = ("name",)
    NAME_FIELD_NUMBER: _ClassVar[int]
    name: str
    def __init__(self, name: _Optional[str] = ...) -> None: ...

class GetAudienceResponse(_message.Message):
    __slots__ = ("audience",)
    AUDIENCE_FIELD_NUMBER: _ClassVar[int]
    audience: Audience
    def __init__(self, audience: _Optional[_Union[Audience, _Mapping]] = ...) -> None: ...

class ListAudiencesRequest(_message.Message):
    __slots__ = ("page_size", "page_token")
    PAGE_SIZE_FIELD_NUMBER: _ClassVar[int]
    PAGE_TOKEN_FIELD_NUMBER: _ClassVar[int]
    page_size: int
    page_token: str
    def __init__(self, page_size: _Optional[int] = ..., page_token: _Optional[str] = ...) -> None: ...

class ListAudiencesResponse(_message.Message):
    __slots__ = ("audiences", "next_page_token")
    AUDIENCES_FIELD_NUMBER: _ClassVar[int]
    NEXT_PAGE_TOKEN_FIELD_NUMBER: _ClassVar[int]
    audiences: _containers.RepeatedCompositeFieldContainer[Audience]
    next_page_token: str
    def __init__(self, audiences: _Optional[_Iterable[_Union[Audience, _Mapping]]] = ..., next_page_token: _Optional[str] = ...) -> None: ...

class ExportAudienceRequest(_message.Message):
    __slots__ = ("name", "identifiers", "hashes", "format")
    NAME_FIELD_NUMBER: _ClassVar[int]
    IDENTIFIERS_FIELD_NUMBER: _ClassVar[int]
    HASHES_FIELD_NUMBER: _ClassVar[int]
    FORMAT_FIELD_NUMBER: _ClassVar[int]
    name: str
    identifiers: _containers.RepeatedScalarFieldContainer[str]
    hashes: _containers.RepeatedScalarFieldContainer[HashAlgorithm]
    format: str
    def __init__(self, name: _Optional[str] = ..., identifiers: _Optional[_Iterable[str]] = ..., hashes: _Optional[_Iterable[_Union[HashAlgorithm, str]]] = ..., format: _Optional[str] = ...) -> None: ...

class ExportedIdentifier(_message.Message):
    __slots__ = ("kind", "hash", "value")
    KIND_FIELD_NUMBER: _ClassVar[int]
    HASH_FIELD_NUMBER: _ClassVar[int]
    VALUE_FIELD_NUMBER: _ClassVar[int]
    kind: str
    hash: HashAlgorithm
    value: str
    def __init__(self, kind: _Optional[str] = ..., hash: _Optional[_Union[HashAlgorithm, str]] = ..., value: _Optional[str] = ...) -> None: ...

class ExportedPerson(_message.Message):
    __slots__ = ("one_id", "identifiers")
    ONE_ID_FIELD_NUMBER: _ClassVar[int]
    IDENTIFIERS_FIELD_NUMBER: _ClassVar[int]
    one_id: str
    identifiers: _containers.RepeatedCompositeFieldContainer[ExportedIdentifier]
    def __init__(self, one_id: _Optional[str] = ..., identifiers: _Optional[_Iterable[_Union[ExportedIdentifier, _Mapping]]] = ...) -> None: ...

class ExportSummary(_message.Message):
    __slots__ = ("members", "exported", "excluded")
    class ExcludedEntry(_message.Message):
        __slots__ = ("key", "value")
        KEY_FIELD_NUMBER: _ClassVar[int]
        VALUE_FIELD_NUMBER: _ClassVar[int]
        key: str
        value: int
        def __init__(self, key: _Optional[str] = ..., value: _Optional[int] = ...) -> None: ...
    MEMBERS_FIELD_NUMBER: _ClassVar[int]
    EXPORTED_FIELD_NUMBER: _ClassVar[int]
    EXCLUDED_FIELD_NUMBER: _ClassVar[int]
    members: int
    exported: int
    excluded: _containers.ScalarMap[str, int]
    def __init__(self, members: _Optional[int] = ..., exported: _Optional[int] = ..., excluded: _Optional[_Mapping[str, int]] = ...) -> None: ...

class ExportAudienceResponse(_message.Message):
    __slots__ = ("people", "summary")
    PEOPLE_FIELD_NUMBER: _ClassVar[int]
    SUMMARY_FIELD_NUMBER: _ClassVar[int]
    people: _containers.RepeatedCompositeFieldContainer[ExportedPerson]
    summary: ExportSummary
    def __init__(self, people: _Optional[_Iterable[_Union[ExportedPerson, _Mapping]]] = ..., summary: _Optional[_Union[ExportSummary, _Mapping]] = ...) -> None: ...

class ExpandAudienceRequest(_message.Message):
    __slots__ = ("definition", "name", "target_size")
    DEFINITION_FIELD_NUMBER: _ClassVar[int]
    NAME_FIELD_NUMBER: _ClassVar[int]
    TARGET_SIZE_FIELD_NUMBER: _ClassVar[int]
    definition: str
    name: str
    target_size: int
    def __init__(self, definition: _Optional[str] = ..., name: _Optional[str] = ..., target_size: _Optional[int] = ...) -> None: ...

class ExpandAudienceResponse(_message.Message):
    __slots__ = ("customers",)
    CUSTOMERS_FIELD_NUMBER: _ClassVar[int]
    customers: _containers.RepeatedCompositeFieldContainer[_recommend_pb2.PersonRecommendation]
    def __init__(self, customers: _Optional[_Iterable[_Union[_recommend_pb2.PersonRecommendation, _Mapping]]] = ...) -> None: ...
