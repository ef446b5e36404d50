import datetime

from google.protobuf import timestamp_pb2 as _timestamp_pb2
from idgraph.v1 import identity_pb2 as _identity_pb2
from google.protobuf.internal import containers as _containers
from google.protobuf import descriptor as _descriptor
from google.protobuf import message as _message
from collections.abc import Iterable as _Iterable, Mapping as _Mapping
from typing import ClassVar as _ClassVar, Optional as _Optional, Union as _Union

DESCRIPTOR: _descriptor.FileDescriptor

class GetVehicleRequest(_message.Message):
    __slots__ = ("vin",)
    VIN_FIELD_NUMBER: _ClassVar[int]
    vin: str
    def __init__(self, vin: _Optional[str] = ...) -> None: ...

class VehiclePeriod(_message.Message):
    __slots__ = ("one_id", "relation", "since", "until", "current", "records")
    ONE_ID_FIELD_NUMBER: _ClassVar[int]
    RELATION_FIELD_NUMBER: _ClassVar[int]
    SINCE_FIELD_NUMBER: _ClassVar[int]
    UNTIL_FIELD_NUMBER: _ClassVar[int]
    CURRENT_FIELD_NUMBER: _ClassVar[int]
    RECORDS_FIELD_NUMBER: _ClassVar[int]
    one_id: str
    relation: _identity_pb2.VehicleRelation
    since: _timestamp_pb2.Timestamp
    until: _timestamp_pb2.Timestamp
    current: bool
    records: _containers.RepeatedCompositeFieldContainer[_identity_pb2.RecordRef]
    def __init__(self, one_id: _Optional[str] = ..., relation: _Optional[_Union[_identity_pb2.VehicleRelation, str]] = ..., since: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ..., until: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ..., current: _Optional[bool] = ..., records: _Optional[_Iterable[_Union[_identity_pb2.RecordRef, _Mapping]]] = ...) -> None: ...

class GetVehicleResponse(_message.Message):
    __slots__ = ("vin", "make", "model", "model_year", "plate", "current_owner_one_id", "owners", "others", "tags")
    VIN_FIELD_NUMBER: _ClassVar[int]
    MAKE_FIELD_NUMBER: _ClassVar[int]
    MODEL_FIELD_NUMBER: _ClassVar[int]
    MODEL_YEAR_FIELD_NUMBER: _ClassVar[int]
    PLATE_FIELD_NUMBER: _ClassVar[int]
    CURRENT_OWNER_ONE_ID_FIELD_NUMBER: _ClassVar[int]
    OWNERS_FIELD_NUMBER: _ClassVar[int]
    OTHERS_FIELD_NUMBER: _ClassVar[int]
    TAGS_FIELD_NUMBER: _ClassVar[int]
    vin: str
    make: str
    model: str
    model_year: int
    plate: str
    current_owner_one_id: str
    owners: _containers.RepeatedCompositeFieldContainer[VehiclePeriod]
    others: _containers.RepeatedCompositeFieldContainer[VehiclePeriod]
    tags: _containers.RepeatedCompositeFieldContainer[_identity_pb2.Tag]
    def __init__(self, vin: _Optional[str] = ..., make: _Optional[str] = ..., model: _Optional[str] = ..., model_year: _Optional[int] = ..., plate: _Optional[str] = ..., current_owner_one_id: _Optional[str] = ..., owners: _Optional[_Iterable[_Union[VehiclePeriod, _Mapping]]] = ..., others: _Optional[_Iterable[_Union[VehiclePeriod, _Mapping]]] = ..., tags: _Optional[_Iterable[_Union[_identity_pb2.Tag, _Mapping]]] = ...) -> None: ...
