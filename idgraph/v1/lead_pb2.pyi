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

class LeadGrade(int, metaclass=_enum_type_wrapper.EnumTypeWrapper):
    __slots__ = ()
    LEAD_GRADE_UNSPECIFIED: _ClassVar[LeadGrade]
    LEAD_GRADE_H: _ClassVar[LeadGrade]
    LEAD_GRADE_A: _ClassVar[LeadGrade]
    LEAD_GRADE_B: _ClassVar[LeadGrade]
    LEAD_GRADE_C: _ClassVar[LeadGrade]
LEAD_GRADE_UNSPECIFIED: LeadGrade
LEAD_GRADE_H: LeadGrade
LEAD_GRADE_A: LeadGrade
LEAD_GRADE_B: LeadGrade
LEAD_GRADE_C: LeadGrade

class GradeLeadRequest(_message.Message):
    __slots__ = ("one_id", "identifier")
    ONE_ID_FIELD_NUMBER: _ClassVar[int]
    IDENTIFIER_FIELD_NUMBER: _ClassVar[int]
    one_id: str
    identifier: _identity_pb2.Identifier
    def __init__(self, one_id: _Optional[str] = ..., identifier: _Optional[_Union[_identity_pb2.Identifier, _Mapping]] = ...) -> None: ...

class LeadSignal(_message.Message):
    __slots__ = ("name", "value", "points", "words")
    NAME_FIELD_NUMBER: _ClassVar[int]
    VALUE_FIELD_NUMBER: _ClassVar[int]
    POINTS_FIELD_NUMBER: _ClassVar[int]
    WORDS_FIELD_NUMBER: _ClassVar[int]
    name: str
    value: float
    points: int
    words: str
    def __init__(self, name: _Optional[str] = ..., value: _Optional[float] = ..., points: _Optional[int] = ..., words: _Optional[str] = ...) -> None: ...

class GradeLeadResponse(_message.Message):
    __slots__ = ("one_id", "grade", "score", "signals", "do_not_contact", "probability", "graded_at")
    ONE_ID_FIELD_NUMBER: _ClassVar[int]
    GRADE_FIELD_NUMBER: _ClassVar[int]
    SCORE_FIELD_NUMBER: _ClassVar[int]
    SIGNALS_FIELD_NUMBER: _ClassVar[int]
    DO_NOT_CONTACT_FIELD_NUMBER: _ClassVar[int]
    PROBABILITY_FIELD_NUMBER: _ClassVar[int]
    GRADED_AT_FIELD_NUMBER: _ClassVar[int]
    one_id: str
    grade: LeadGrade
    score: int
    signals: _containers.RepeatedCompositeFieldContainer[LeadSignal]
    do_not_contact: bool
    probability: float
    graded_at: _timestamp_pb2.Timestamp
    def __init__(self, one_id: _Optional[str] = ..., grade: _Optional[_Union[LeadGrade, str]] = ..., score: _Optional[int] = ..., signals: _Optional[_Iterable[_Union[LeadSignal, _Mapping]]] = ..., do_not_contact: _Optional[bool] = ..., probability: _Optional[float] = ..., graded_at: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ...) -> None: ...

class GradeLeadsRequest(_message.Message):
    __slots__ = ("leads",)
    LEADS_FIELD_NUMBER: _ClassVar[int]
    leads: _containers.RepeatedCompositeFieldContainer[GradeLeadRequest]
    def __init__(self, leads: _Optional[_Iterable[_Union[GradeLeadRequest, _Mapping]]] = ...) -> None: ...

class GradeLeadsResponse(_message.Message):
    __slots__ = ("grades",)
    GRADES_FIELD_NUMBER: _ClassVar[int]
    grades: _containers.RepeatedCompositeFieldContainer[GradeLeadResponse]
    def __init__(self, grades: _Optional[_Iterable[_Union[GradeLeadResponse, _Mapping]]] = ...) -> None: ...
