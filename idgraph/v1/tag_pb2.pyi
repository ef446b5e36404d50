from google.protobuf.internal import containers as _containers
from google.protobuf import descriptor as _descriptor
from google.protobuf import message as _message
from collections.abc import Iterable as _Iterable, Mapping as _Mapping
from typing import ClassVar as _ClassVar, Optional as _Optional, Union as _Union

DESCRIPTOR: _descriptor.FileDescriptor

class ListTagDefinitionsRequest(_message.Message):
    __slots__ = ()
    def __init__(self) -> None: ...

class TagDefinition(_message.Message):
    __slots__ = ("tag", "kind", "description", "from_data")
    TAG_FIELD_NUMBER: _ClassVar[int]
    KIND_FIELD_NUMBER: _ClassVar[int]
    DESCRIPTION_FIELD_NUMBER: _ClassVar[int]
    FROM_DATA_FIELD_NUMBER: _ClassVar[int]
    tag: str
    kind: str
    description: str
    from_data: bool
    def __init__(self, tag: _Optional[str] = ..., kind: _Optional[str] = ..., description: _Optional[str] = ..., from_data: _Optional[bool] = ...) -> None: ...

class ListTagDefinitionsResponse(_message.Message):
    __slots__ = ("definitions",)
    DEFINITIONS_FIELD_NUMBER: _ClassVar[int]
    definitions: _containers.RepeatedCompositeFieldContainer[TagDefinition]
    def __init__(self, definitions: _Optional[_Iterable[_Union[TagDefinition, _Mapping]]] = ...) -> None: ...

class AssignTagRequest(_message.Message):
    __slots__ = ("one_id", "vin", "tag", "source")
    ONE_ID_FIELD_NUMBER: _ClassVar[int]
    VIN_FIELD_NUMBER: _ClassVar[int]
    TAG_FIELD_NUMBER: _ClassVar[int]
    SOURCE_FIELD_NUMBER: _ClassVar[int]
    one_id: str
    vin: str
    tag: str
    source: str
    def __init__(self, one_id: _Optional[str] = ..., vin: _Optional[str] = ..., tag: _Optional[str] = ..., source: _Optional[str] = ...) -> None: ...

class AssignTagResponse(_message.Message):
    __slots__ = ("one_id", "vin")
    ONE_ID_FIELD_NUMBER: _ClassVar[int]
    VIN_FIELD_NUMBER: _ClassVar[int]
    one_id: str
    vin: str
    def __init__(self, one_id: _Optional[str] = ..., vin: _Optional[str] = ...) -> None: ...

class RemoveTagRequest(_message.Message):
    __slots__ = ("one_id", "vin", "tag")
    ONE_ID_FIELD_NUMBER: _ClassVar[int]
    VIN_FIELD_NUMBER: _ClassVar[int]
    TAG_FIELD_NUMBER: _ClassVar[int]
    one_id: str
    vin: str
    tag: str
    def __init__(self, one_id: _Optional[str] = ..., vin: _Optional[str] = ..., tag: _Optional[str] = ...) -> None: ...

class RemoveTagResponse(_message.Message):
    __slots__ = ("removed",)
    REMOVED_FIELD_NUMBER: _ClassVar[int]
    removed: bool
    def __init__(self, removed: _Optional[bool] = ...) -> None: ...
