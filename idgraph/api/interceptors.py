"""One server interceptor that turns domain exceptions into gRPC statuses."""

from __future__ import annotations

import logging
import time
import traceback
from collections.abc import Callable, Iterator
from typing import Any

import grpc
from google.protobuf.message import Message
from grpc_status import rpc_status

from idgraph.api.status import to_status_proto
from idgraph.errors import IdGraphError, InvalidInput
from idgraph.logs import CALL_METHOD, failed_fields
from idgraph.metrics import RPC_REQUESTS, RPC_SECONDS

log = logging.getLogger(__name__)


def _where(error: BaseException) -> str:
    """file:line of the frames an error went through, innermost last."""
    frames = traceback.extract_tb(error.__traceback__)
    return " < ".join(f"{f.filename.rsplit('/', 1)[-1]}:{f.lineno}" for f in reversed(frames))


def _abort(context: grpc.ServicerContext, error: Exception, method: str) -> None:
    if isinstance(error, IdGraphError):
        context.abort_with_status(rpc_status.to_status(to_status_proto(error)))
    # the type and where it was raised, not the message or locals (values may be in them)
    log.error("unexpected error in %s: %s", method, failed_fields(error),
              extra={"where": _where(error)})
    context.abort(grpc.StatusCode.INTERNAL, f"internal error: {type(error).__name__}")


class Undecodable:
    """A request message protobuf could not parse (invalid UTF-8 in a string, a broken
    length): the call answers INVALID_ARGUMENT instead of gRPC's INTERNAL."""

    def __init__(self, error: Exception) -> None:
        self.error = error


def _safe(deserialize: Callable[[bytes], Any] | None) -> Callable[[bytes], Any] | None:
    if deserialize is None:
        return None

    def parse(data: bytes) -> Any:
        try:
            return deserialize(data)
        except Exception as error:  # DecodeError, or upb's for invalid UTF-8
            return Undecodable(error)

    return parse


def _refuse(field: str) -> InvalidInput:
    return InvalidInput.one(field, "not a valid message of the request's type (invalid "
                            "UTF-8 in a string, or broken encoding)")


def _checked(requests: Iterator[Any]) -> Iterator[Any]:
    """A request stream whose undecodable message ends it with INVALID_ARGUMENT naming it."""
    for index, request in enumerate(requests):
        if isinstance(request, Undecodable):
            raise _refuse(f"requests[{index}]")
        yield request


def _wrap_unary(fn: Callable[[Any, grpc.ServicerContext], Any], method: str
                ) -> Callable[[Any, grpc.ServicerContext], Any]:
    def handler(request: Any, context: grpc.ServicerContext) -> Any:
        try:
            if isinstance(request, Undecodable):
                raise _refuse("request")
            if not isinstance(request, Message):  # a client stream
                request = _checked(request)
            return fn(request, context)
        except Exception as error:
            _abort(context, error, method)
            raise  # pragma: no cover - abort raises

    return handler


def _wrap_stream(fn: Callable[[Any, grpc.ServicerContext], Iterator[Any]], method: str
                 ) -> Callable[[Any, grpc.ServicerContext], Iterator[Any]]:
    def handler(request: Any, context: grpc.ServicerContext) -> Iterator[Any]:
        try:
            if isinstance(request, Undecodable):
                raise _refuse("request")
            if not isinstance(request, Message):  # a client stream
                request = _checked(request)
            yield from fn(request, context)
        except Exception as error:
            _abort(context, error, method)
            raise  # pragma: no cover

    return handler


class ErrorMappingInterceptor(grpc.ServerInterceptor):  # type: ignore[type-arg]
    """Map IdGraphError subclasses to codes with google.rpc.Status details; log the rest."""

    def intercept_service(self, continuation: Callable[[Any], Any],
                          handler_call_details: grpc.HandlerCallDetails) -> Any:
        handler = continuation(handler_call_details)
        if handler is None:
            return None
        method = handler_call_details.method
        handler = handler._replace(request_deserializer=_safe(handler.request_deserializer))
        return rewrap(handler, lambda fn: _wrap_unary(fn, method),
                      lambda fn: _wrap_stream(fn, method))


def rewrap(handler: Any, unary: Callable[[Any], Any], stream: Callable[[Any], Any]) -> Any:
    """The handler with its behaviour wrapped: by `unary` when it answers once, by `stream`
    when it answers with a stream."""
    if handler.unary_unary is not None:
        return handler._replace(unary_unary=unary(handler.unary_unary))
    if handler.stream_unary is not None:
        return handler._replace(stream_unary=unary(handler.stream_unary))
    if handler.unary_stream is not None:
        return handler._replace(unary_stream=stream(handler.unary_stream))
    if handler.stream_stream is not None:
        return handler._replace(stream_stream=stream(handler.stream_stream))
    return handler


class MetricsInterceptor(grpc.ServerInterceptor):  # type: ignore[type-arg]
    """Count every call by method and status code, and time it (the outermost
    interceptor: it sees the codes the others answer)."""

    def intercept_service(self, continuation: Callable[[Any], Any],
                          handler_call_details: grpc.HandlerCallDetails) -> Any:
        handler = continuation(handler_call_details)
        if handler is None:
            return None
        method = handler_call_details.method.rsplit("/", 1)[-1]
        return rewrap(handler, lambda fn: _counted_unary(fn, method),
                      lambda fn: _counted_stream(fn, method))


def _answered(method: str, code: str, seconds: float, answer: Any = None) -> None:
    RPC_SECONDS.labels(method).observe(seconds)
    RPC_REQUESTS.labels(method, code).inc()
    if log.isEnabledFor(logging.DEBUG):
        one_id = _one_id_of(answer)
        log.debug("%s answered %s in %.1f ms", method, code, seconds * 1000,
                  extra={"one_id": one_id} if one_id else None)


def _one_id_of(answer: Any) -> str:
    """The OneID an answer is about (Ingest's, a profile's), never one the caller wrote:
    a request's field may hold anything, a phone included."""
    for holder in (answer, getattr(answer, "profile", None)):
        value = getattr(holder, "one_id", None)
        if isinstance(value, str) and value.startswith("oid_"):
            return value
    return ""


def _code(context: grpc.ServicerContext, failed: bool) -> str:
    code = getattr(context, "code", lambda: None)()  # set by abort or set_code
    if isinstance(code, grpc.StatusCode):
        return code.name
    return "UNKNOWN" if failed else "OK"


def _counted_unary(fn: Callable[[Any, grpc.ServicerContext], Any], method: str
                   ) -> Callable[[Any, grpc.ServicerContext], Any]:
    def handler(request: Any, context: grpc.ServicerContext) -> Any:
        started, failed, answer = time.perf_counter(), True, None
        token = CALL_METHOD.set(method)
        try:
            answer = fn(request, context)
            failed = False
            return answer
        finally:
            _answered(method, _code(context, failed), time.perf_counter() - started, answer)
            CALL_METHOD.reset(token)

    return handler


def _counted_stream(fn: Callable[[Any, grpc.ServicerContext], Iterator[Any]], method: str
                    ) -> Callable[[Any, grpc.ServicerContext], Iterator[Any]]:
    def handler(request: Any, context: grpc.ServicerContext) -> Iterator[Any]:
        started, failed = time.perf_counter(), True
        CALL_METHOD.set(method)  # this generator's thread serves only this call meanwhile
        try:
            yield from fn(request, context)
            failed = False
        finally:
            _answered(method, _code(context, failed), time.perf_counter() - started)

    return handler
