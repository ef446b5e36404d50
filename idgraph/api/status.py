"""Domain errors -> gRPC status codes with google.rpc.Status details, in one place."""

from __future__ import annotations

import grpc
from google.protobuf import any_pb2
from google.rpc import code_pb2, error_details_pb2, status_pb2

from idgraph.errors import (
    ConfigError,
    Conflict,
    DeadlineExceeded,
    IdGraphError,
    InvalidInput,
    NotFound,
    PermissionDenied,
    Unauthenticated,
    Unavailable,
)

DOMAIN = "idgraph.v1"

_CODES: dict[type[IdGraphError], tuple[grpc.StatusCode, int]] = {
    InvalidInput: (grpc.StatusCode.INVALID_ARGUMENT, code_pb2.INVALID_ARGUMENT),
    NotFound: (grpc.StatusCode.NOT_FOUND, code_pb2.NOT_FOUND),
    Conflict: (grpc.StatusCode.FAILED_PRECONDITION, code_pb2.FAILED_PRECONDITION),
    Unavailable: (grpc.StatusCode.UNAVAILABLE, code_pb2.UNAVAILABLE),
    DeadlineExceeded: (grpc.StatusCode.DEADLINE_EXCEEDED, code_pb2.DEADLINE_EXCEEDED),
    Unauthenticated: (grpc.StatusCode.UNAUTHENTICATED, code_pb2.UNAUTHENTICATED),
    PermissionDenied: (grpc.StatusCode.PERMISSION_DENIED, code_pb2.PERMISSION_DENIED),
    ConfigError: (grpc.StatusCode.INTERNAL, code_pb2.INTERNAL),
}


def grpc_code(error: IdGraphError) -> grpc.StatusCode:
    """The gRPC status code of a domain error."""
    for cls in type(error).__mro__:
        if cls in _CODES:
            return _CODES[cls][0]
    return grpc.StatusCode.INTERNAL


def to_status_proto(error: IdGraphError) -> status_pb2.Status:
    """A google.rpc.Status with ErrorInfo, plus BadRequest field violations for bad input."""
    numeric = code_pb2.INTERNAL
    for cls in type(error).__mro__:
        if cls in _CODES:
            numeric = _CODES[cls][1]
            break
    status = status_pb2.Status(code=numeric, message=str(error))
    info = any_pb2.Any()
    info.Pack(error_details_pb2.ErrorInfo(reason=error.reason, domain=DOMAIN))
    status.details.append(info)
    if isinstance(error, InvalidInput):
        bad_request = error_details_pb2.BadRequest(field_violations=[
            error_details_pb2.BadRequest.FieldViolation(field=v.field, description=v.description)
            for v in error.violations])
        detail = any_pb2.Any()
        detail.Pack(bad_request)
        status.details.append(detail)
    return status
