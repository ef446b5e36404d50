"""A Python client for every idgraph service.

    from idgraph.client import Client, source_record

    with Client("127.0.0.1:50051", api_key="...") as idgraph:
        answer = idgraph.ingest(source_record("crm", "c-1", [("phone", "13912345678")],
                                              {"name": "张伟"}))
        profile = idgraph.get_profile(one_id=answer.one_id).profile
        for result in idgraph.ingest_many(records):  # streamed, bounded memory
            if result.error: ...

Each method takes its request message, or the request's fields as keywords, and answers
the response message. Every call has a deadline (`timeout`, 10 s by default). Calls that
are safe to repeat (reads, and ingestion: a re-sent record is answered UNCHANGED) are
retried with exponential backoff while the server answers UNAVAILABLE (Neo4j restarting,
a server starting); the others are not. A refused call raises `IdgraphError` (a subclass
per status code: `InvalidArgument`, `NotFound`, ...) carrying the server's field
violations.
"""

from __future__ import annotations

import itertools
import random
import threading
import time
from collections import deque
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any, Generic, Protocol, TypeVar, overload

import grpc
from google.protobuf.message import Message
from google.rpc import error_details_pb2
from grpc_health.v1 import health_pb2, health_pb2_grpc
from grpc_status import rpc_status

from idgraph.v1 import audience_pb2_grpc as audience_grpc
from idgraph.v1 import identity_pb2 as identity
from idgraph.v1 import identity_pb2_grpc as identity_grpc
from idgraph.v1 import recommend_pb2 as recommend
from idgraph.v1 import recommend_pb2_grpc as recommend_grpc
from idgraph.v1 import steward_pb2 as steward
from idgraph.v1 import steward_pb2_grpc as steward_grpc
from idgraph.v1 import tag_pb2 as tag
from idgraph.v1 import tag_pb2_grpc as tag_grpc
from idgraph.v1 import vehicle_pb2 as vehicle
from idgraph.v1 import vehicle_pb2_grpc as vehicle_grpc

R = TypeVar("R", bound=Message)


# ------------------------------------------------------------------------------ errors


@dataclass(frozen=True)
class FieldViolation:
    """One invalid field of a request: its path (e.g. ``record.identifiers[0].value``) and
    why it was refused (or dropped)."""

    field: str
    description: str


@dataclass
class IdgraphError(Exception):
    """A call the server refused, or that could not reach it."""

    code: grpc.StatusCode
    message: str
    violations: list[FieldViolation] = field(default_factory=list)
    method: str = ""

    def __str__(self) -> str:
        where = f"{self.method}: " if self.method else ""
        fields = "".join(f"\n  {v.field}: {v.description}" for v in self.violations)
        return f"{where}{self.code.name}: {self.message}{fields}"


class InvalidArgument(IdgraphError):
    """The request is invalid; `violations` names the fields."""


class NotFound(IdgraphError):
    """No such OneID, task, vehicle, ..."""


class AlreadyExists(IdgraphError):
    """The thing to create exists."""


class FailedPrecondition(IdgraphError):
    """The state does not allow it (a task already decided, a person erased, ...)."""


class Unauthenticated(IdgraphError):
    """No API key, or an unknown one."""


class PermissionDenied(IdgraphError):
    """The key's role does not allow the call."""


class ResourceExhausted(IdgraphError):
    """A message or a request beyond the server's limits."""


class Unavailable(IdgraphError):
    """The server or its Neo4j could not be reached (after the retries, if any)."""


class DeadlineExceeded(IdgraphError):
    """The call did not finish within its deadline."""


_ERRORS: dict[grpc.StatusCode, type[IdgraphError]] = {
    grpc.StatusCode.INVALID_ARGUMENT: InvalidArgument,
    grpc.StatusCode.NOT_FOUND: NotFound,
    grpc.StatusCode.ALREADY_EXISTS: AlreadyExists,
    grpc.StatusCode.FAILED_PRECONDITION: FailedPrecondition,
    grpc.StatusCode.UNAUTHENTICATED: Unauthenticated,
    grpc.StatusCode.PERMISSION_DENIED: PermissionDenied,
    grpc.StatusCode.RESOURCE_EXHAUSTED: ResourceExhausted,
    grpc.StatusCode.UNAVAILABLE: Unavailable,
    grpc.StatusCode.DEADLINE_EXCEEDED: DeadlineExceeded,
}


def violations_of(status: Any) -> list[FieldViolation]:
    """The field violations of a google.rpc.Status (its BadRequest details)."""
    found = []
    for detail in status.details:
        bad = error_details_pb2.BadRequest()
        if detail.Unpack(bad):
            found += [FieldViolation(v.field, v.description) for v in bad.field_violations]
    return found


def _error(error: grpc.RpcError, method: str) -> IdgraphError:
    code = error.code() if isinstance(error, grpc.Call) else grpc.StatusCode.UNKNOWN
    message = error.details() if isinstance(error, grpc.Call) else str(error)
    status = rpc_status.from_call(error) if isinstance(error, grpc.Call) else None
    violations: list[FieldViolation] = violations_of(status) if status is not None else []
    return _ERRORS.get(code, IdgraphError)(code, message or "", violations, method)


# ------------------------------------------------------------------------------ records


def source_record(source: str, source_record_id: str,
                  identifiers: Iterable[tuple[str, str] | tuple[str, str, str]] = (),
                  attributes: Mapping[str, str] | None = None, *,
                  observed_at: datetime | None = None,
                  vehicles: Sequence[identity.VehicleLink] = (),
                  referred_by: Iterable[tuple[str, str] | tuple[str, str, str]] = (),
                  ) -> identity.SourceRecord:
    """A SourceRecord from plain values: identifiers as (type, value) or (type, value,
    scope) tuples."""
    record = identity.SourceRecord(
        source=source, source_record_id=source_record_id,
        identifiers=[_identifier(i) for i in identifiers], attributes=dict(attributes or {}),
        vehicles=list(vehicles), referred_by=[_identifier(i) for i in referred_by])
    if observed_at is not None:
        record.observed_at.FromDatetime(observed_at)
    return record


def _identifier(value: tuple[str, str] | tuple[str, str, str]) -> identity.Identifier:
    return identity.Identifier(type=value[0], value=value[1],
                               scope=value[2] if len(value) > 2 else "")


@dataclass(frozen=True)
class RecordResult:
    """What `ingest_many` answers for one record: the server's answer, or its error."""

    record: identity.SourceRecord
    response: identity.IngestResponse
    error: IdgraphError | None = None

    @property
    def ok(self) -> bool:
        return self.error is None


class _Attempt:
    """One IngestBatches stream of `ingest_many`: the batches it may have unanswered."""

    def __init__(self, in_flight: int) -> None:
        self.slots = threading.Semaphore(in_flight)
        self.over = False

    def take_slot(self) -> bool:
        """Wait until a batch may be sent; False once the stream is over."""
        while not self.slots.acquire(timeout=0.1):
            if self.over:
                return False
        return not self.over


_CODES = {code.value[0]: code for code in grpc.StatusCode}


def _record_error(response: identity.IngestResponse) -> IdgraphError | None:
    """The error a batch answer carries for a refused record."""
    if not response.HasField("error") or not response.error.code:
        return None
    code = _CODES.get(response.error.code, grpc.StatusCode.UNKNOWN)
    return _ERRORS.get(code, IdgraphError)(code, response.error.message,
                                           violations_of(response.error), "IngestBatches")


Q = TypeVar("Q", bound=Message)
Q_in = TypeVar("Q_in", bound=Message, contravariant=True)
R_out = TypeVar("R_out", bound=Message, covariant=True)


class _Call(Protocol[Q_in, R_out]):
    def __call__(self, request: Q_in | None = None, /, *, timeout: float | None = None,
                 **fields: Any) -> R_out: ...


class _Rpc(Generic[Q, R]):
    """A unary RPC as a Client method: the request message or its fields as keywords, the
    client's deadline unless `timeout`, retries of UNAVAILABLE when `retry` (safe to
    repeat), the typed answer."""

    def __init__(self, stub: str, method: str, request: type[Q], answer: type[R],
                 retry: bool, doc: str = "") -> None:
        self.stub, self.method, self.request, self.answer = stub, method, request, answer
        self.retry, self.__doc__ = retry, doc or f"{method} (see its .proto)."

    @overload
    def __get__(self, client: None, owner: type[Any]) -> _Rpc[Q, R]: ...
    @overload
    def __get__(self, client: Client, owner: type[Any]) -> _Call[Q, R]: ...
    def __get__(self, client: Client | None, owner: type[Any]) -> _Rpc[Q, R] | _Call[Q, R]:
        if client is None:
            return self
        rpc = getattr(getattr(client, self.stub), self.method)

        def call(request: Q | None = None, /, *, timeout: float | None = None,
                 **fields: Any) -> R:
            return client._unary(rpc, self.method, client._request(self.request, request, fields),
                                 timeout, self.retry, self.answer)

        call.__doc__ = self.__doc__
        return call


# ------------------------------------------------------------------------------ client


class Client:
    """idgraph's five services over one channel; see the module's documentation.

    `address` is host:port. `api_key` is sent as ``authorization: Bearer <key>`` (default:
    none). `tls=True` uses TLS with the system's roots, or `root_certificates` (PEM bytes
    or a file). `timeout` is every call's default deadline in seconds; `retries` and
    `backoff` (first wait, seconds; doubled each time up to `max_backoff`, with jitter)
    govern retries of UNAVAILABLE for calls safe to repeat. `channel` uses a channel
    you built (then address, TLS and options are ignored).
    """

    def __init__(self, address: str = "127.0.0.1:50051", *, api_key: str | None = None,
                 tls: bool = False, root_certificates: bytes | str | Path | None = None,
                 timeout: float = 10.0, retries: int = 5, backoff: float = 0.1,
                 max_backoff: float = 5.0,
                 options: Sequence[tuple[str, Any]] = (),
                 channel: grpc.Channel | None = None) -> None:
        if channel is None:
            if tls or root_certificates is not None:
                roots = root_certificates
                if isinstance(roots, str | Path):
                    roots = Path(roots).read_bytes()
                channel = grpc.secure_channel(
                    address, grpc.ssl_channel_credentials(roots), options=list(options))
            else:
                channel = grpc.insecure_channel(address, options=list(options))
            self._owned = True
        else:
            self._owned = False
        self.channel = channel
        self.timeout, self.retries = timeout, retries
        self.backoff, self.max_backoff = backoff, max_backoff
        self.metadata: tuple[tuple[str, str], ...] = (
            (("authorization", f"Bearer {api_key}"),) if api_key else ())
        self.identity = identity_grpc.IdentityServiceStub(channel)  # type: ignore[no-untyped-call]
        self.steward = steward_grpc.StewardServiceStub(channel)  # type: ignore[no-untyped-call]
        self.vehicles = vehicle_grpc.VehicleServiceStub(channel)  # type: ignore[no-untyped-call]
        self.recommendations = recommend_grpc.RecommendationServiceStub(  # type: ignore[no-untyped-call]
            channel)
        self.tags = tag_grpc.TagServiceStub(channel)  # type: ignore[no-untyped-call]
        self.audiences = audience_grpc.AudienceServiceStub(channel)  # type: ignore[no-untyped-call]

    def close(self) -> None:
        if self._owned:
            self.channel.close()

    def __enter__(self) -> Client:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    # ---------------------------------------------------------------- plumbing
    def _unary(self, rpc: Callable[..., Any], name: str, request: Message,
               timeout: float | None, retry: bool, answer: type[R]) -> R:
        attempt = 0
        while True:
            try:
                response = rpc(request, timeout=self.timeout if timeout is None else timeout,
                               metadata=self.metadata)
                if not isinstance(response, answer):
                    raise TypeError(f"{name} answered {type(response).__name__}")
                return response
            except grpc.RpcError as error:
                failure = _error(error, name)
                if not (retry and failure.code is grpc.StatusCode.UNAVAILABLE
                        and attempt < self.retries):
                    raise failure from None
            self._wait(attempt)
            attempt += 1

    def _wait(self, attempt: int) -> None:
        delay = min(self.max_backoff, self.backoff * (2 ** attempt))
        time.sleep(delay * (0.5 + random.random() / 2))

    @staticmethod
    def _request(kind: type[R], request: R | None, fields: dict[str, Any]) -> R:
        if request is not None and fields:
            raise TypeError("pass a request message or its fields, not both")
        return request if request is not None else kind(**fields)

    # ---------------------------------------------------------------- IdentityService
    def ingest(self, record: identity.SourceRecord | None = None, *,
               drop_invalid_values: bool = False, timeout: float | None = None,
               request: identity.IngestRequest | None = None) -> identity.IngestResponse:
        """Ingest one record (retried while UNAVAILABLE: a re-send is answered UNCHANGED)."""
        if request is None:
            if record is None:
                raise TypeError("ingest needs a record (or a request)")
            request = identity.IngestRequest(record=record,
                                             drop_invalid_values=drop_invalid_values)
        return self._unary(self.identity.Ingest, "Ingest", request, timeout, True,
                           identity.IngestResponse)

    def batch_ingest(self, requests: Iterable[identity.IngestRequest], *,
                     timeout: float | None = None) -> Iterator[identity.IngestResponse]:
        """BatchIngest: one answer per request, in order (an invalid record's answer carries
        its error). Not retried: use `ingest_many` for loads that survive a restart."""
        try:
            yield from self.identity.BatchIngest(iter(requests), timeout=timeout,
                                                 metadata=self.metadata)
        except grpc.RpcError as error:
            raise _error(error, "BatchIngest") from None

    def ingest_many(self, records: Iterable[identity.SourceRecord], *, batch_size: int = 500,
                    in_flight: int = 4, timeout: float | None = None
                    ) -> Iterator[RecordResult]:
        """Ingest any number of records through IngestBatches, `batch_size` per message,
        answering one RecordResult per record in order (a refused record carries its error
        and the others go on). Memory stays bounded: at most `in_flight` batches are sent
        and not yet answered. If the stream breaks with UNAVAILABLE, the unanswered batches
        are sent again on a new stream (a record the server had already stored is answered
        UNCHANGED), up to `retries` times in a row."""
        if batch_size < 1 or in_flight < 1:
            raise ValueError("batch_size and in_flight must be at least 1")
        source = iter(records)
        pending: deque[list[identity.SourceRecord]] = deque()  # sent, not answered yet
        lock = threading.Lock()  # taking from `source` and `pending`: one stream at a time
        exhausted = False
        failures = 0
        while True:
            with lock:
                resend = list(pending)
                if exhausted and not resend:
                    return
            attempt = _Attempt(in_flight)

            def requests(attempt: _Attempt = attempt,
                         resend: list[list[identity.SourceRecord]] = resend
                         ) -> Iterator[identity.IngestBatchRequest]:
                nonlocal exhausted
                for batch in resend:
                    if not attempt.take_slot():
                        return
                    yield identity.IngestBatchRequest(records=batch)
                while attempt.take_slot():
                    with lock:  # a broken stream's generator takes nothing more
                        if attempt.over or exhausted:
                            return
                        batch = list(itertools.islice(source, batch_size))
                        if not batch:
                            exhausted = True
                            return
                        pending.append(batch)
                    yield identity.IngestBatchRequest(records=batch)

            answers = self.identity.IngestBatches(requests(), timeout=timeout,
                                                  metadata=self.metadata)
            try:
                for answer in answers:
                    with lock:
                        batch = pending.popleft()
                    attempt.slots.release()
                    failures = 0
                    for record, response in zip(batch, answer.results, strict=True):
                        yield RecordResult(record, response, _record_error(response))
            except grpc.RpcError as error:
                failure = _error(error, "IngestBatches")
                if failure.code is not grpc.StatusCode.UNAVAILABLE or failures >= self.retries:
                    raise failure from None
                self._wait(failures)
                failures += 1
            finally:
                with lock:
                    attempt.over = True
                answers.cancel()  # the caller stopped early, or the stream broke

    def watch_changes(self, after_cursor: str = "", *, resume: bool = True
                      ) -> Iterator[identity.ChangeEvent]:
        """The change feed from `after_cursor`, as long as you iterate. With `resume`, a
        stream broken by UNAVAILABLE is opened again after the last event received, so
        nothing is missed or seen twice (up to `retries` times in a row)."""
        cursor, failures = after_cursor, 0
        while True:
            try:
                for event in self.identity.WatchChanges(
                        identity.WatchChangesRequest(after_cursor=cursor),
                        metadata=self.metadata):
                    cursor, failures = event.cursor, 0
                    yield event
                return
            except grpc.RpcError as error:
                failure = _error(error, "WatchChanges")
                if not resume or failure.code is not grpc.StatusCode.UNAVAILABLE \
                        or failures >= self.retries:
                    raise failure from None
                self._wait(failures)
                failures += 1

    def wait_ready(self, timeout: float = 60.0, service: str = "") -> None:
        """Wait until the server's health check answers SERVING (it is up and Neo4j answers;
        `service` asks about one service, e.g. ``idgraph.v1.IdentityService``); raise
        TimeoutError after `timeout` seconds."""
        health = health_pb2_grpc.HealthStub(self.channel)
        deadline = time.monotonic() + timeout
        while True:
            try:
                answer = health.Check(health_pb2.HealthCheckRequest(service=service),
                                      timeout=min(2.0, timeout), metadata=self.metadata)
                if answer.status == health_pb2.HealthCheckResponse.SERVING:
                    return
            except grpc.RpcError:
                pass
            if time.monotonic() >= deadline:
                raise TimeoutError(f"idgraph not serving after {timeout:.0f} s")
            time.sleep(0.25)

    # ---------------------------------------------------------------- unary calls
    # Each takes its request message, or the request's fields as keywords, and `timeout`.
    resolve = _Rpc("identity", "Resolve", identity.ResolveRequest, identity.ResolveResponse,
                   True, "Which OneID would these identifiers and attributes join? (read-only)")
    get_profile = _Rpc("identity", "GetProfile", identity.GetProfileRequest,
                       identity.GetProfileResponse, True,
                       "The customer-360 profile behind a OneID (or an identifier).")
    explain = _Rpc("identity", "Explain", identity.ExplainRequest, identity.ExplainResponse,
                   True, "Which comparisons fired between a record (or OneID) and a OneID.")
    list_review_tasks = _Rpc("steward", "ListReviewTasks", steward.ListReviewTasksRequest,
                             steward.ListReviewTasksResponse, True)
    get_review_task = _Rpc("steward", "GetReviewTask", steward.GetReviewTaskRequest,
                           steward.GetReviewTaskResponse, True)
    decide_review_task = _Rpc("steward", "DecideReviewTask", steward.DecideReviewTaskRequest,
                              steward.DecideReviewTaskResponse, False,
                              "MERGE or KEEP_APART a task's people (not retried).")
    merge_persons = _Rpc("steward", "MergePersons", steward.MergePersonsRequest,
                         steward.MergePersonsResponse, False)
    split_person = _Rpc("steward", "SplitPerson", steward.SplitPersonRequest,
                        steward.SplitPersonResponse, False)
    get_history = _Rpc("steward", "GetHistory", steward.GetHistoryRequest,
                       steward.GetHistoryResponse, True)
    erase_person = _Rpc("steward", "ErasePerson", steward.ErasePersonRequest,
                        steward.ErasePersonResponse, False)
    suppress_identifier = _Rpc("steward", "SuppressIdentifier",
                               steward.SuppressIdentifierRequest,
                               steward.SuppressIdentifierResponse, True)
    lift_suppression = _Rpc("steward", "LiftSuppression", steward.LiftSuppressionRequest,
                            steward.LiftSuppressionResponse, True)
    get_vehicle = _Rpc("vehicles", "GetVehicle", vehicle.GetVehicleRequest,
                       vehicle.GetVehicleResponse, True)
    recommend_models = _Rpc("recommendations", "RecommendModels",
                            recommend.RecommendModelsRequest,
                            recommend.RecommendModelsResponse, True)
    referral_candidates = _Rpc("recommendations", "ReferralCandidates",
                               recommend.ReferralCandidatesRequest,
                               recommend.ReferralCandidatesResponse, True)
    similar_customers = _Rpc("recommendations", "SimilarCustomers",
                             recommend.SimilarCustomersRequest,
                             recommend.SimilarCustomersResponse, True)
    list_tag_definitions = _Rpc("tags", "ListTagDefinitions", tag.ListTagDefinitionsRequest,
                                tag.ListTagDefinitionsResponse, True)
    assign_tag = _Rpc("tags", "AssignTag", tag.AssignTagRequest, tag.AssignTagResponse, False)
    remove_tag = _Rpc("tags", "RemoveTag", tag.RemoveTagRequest, tag.RemoveTagResponse, False)


__all__ = [
    "AlreadyExists",
    "Client",
    "DeadlineExceeded",
    "FailedPrecondition",
    "FieldViolation",
    "IdgraphError",
    "InvalidArgument",
    "NotFound",
    "PermissionDenied",
    "RecordResult",
    "ResourceExhausted",
    "Unauthenticated",
    "Unavailable",
    "source_record",
    "violations_of",
]
