"""IdentityService: Ingest, BatchIngest, Resolve, GetProfile, Explain."""

from __future__ import annotations

import logging
import queue
import threading
from collections import deque
from collections.abc import Callable, Iterator
from concurrent.futures import Future
from typing import Any, NamedTuple, TypeVar

import grpc
from google.protobuf.message import Message

from idgraph.api.auth import current_caller
from idgraph.api.convert import (
    ACTION_TO_PROTO,
    change_to_proto,
    comparisons_to_proto,
    identifier_from_proto,
    ingest_response,
    parse_cursor,
    profile_to_proto,
    record_from_proto,
)
from idgraph.api.status import to_status_proto
from idgraph.audit import ReadAudit
from idgraph.domain.records import DroppedValue, RawRecord
from idgraph.domain.working_set import IngestOutcome
from idgraph.engine import Ingestion, Reads
from idgraph.errors import IdGraphError, InvalidInput
from idgraph.logs import failed_fields
from idgraph.v1 import identity_pb2 as pb
from idgraph.v1 import identity_pb2_grpc as pb_grpc

log = logging.getLogger(__name__)
Q = TypeVar("Q")
T = TypeVar("T")
A = TypeVar("A")


class _Queued(NamedTuple):
    """A record queued for group commit, with the values left out of it."""

    dropped: tuple[DroppedValue, ...]
    outcome: Future[IngestOutcome]


Pending = _Queued | IdGraphError


def remaining(context: grpc.ServicerContext) -> float | None:
    """Seconds left before the caller's deadline (None when it set none)."""
    left = context.time_remaining()
    return None if left is None or left > 10**8 else float(left)


class IdentityServicer(pb_grpc.IdentityServiceServicer):
    """Thin edge: validate shape, convert, call ingestion or reads, convert back."""

    change_page = 500  # change events read per query
    change_poll_seconds = 1.0  # how soon other writers' changes reach a caught-up watcher

    def __init__(self, ingestion: Ingestion, reads: Reads, batch_window: int = 256,
                 max_message_bytes: int = 4 * 1024 * 1024, audit: ReadAudit | None = None
                 ) -> None:
        self.ingestion = ingestion
        self.reads = reads
        self.audit = audit or ReadAudit(None)
        self.batch_window = batch_window
        self.max_message_bytes = max_message_bytes

    def _check_size(self, request: Message, field: str) -> None:
        """Messages over the configured size are INVALID_ARGUMENT (gRPC itself only stops
        them at 4x the size, with RESOURCE_EXHAUSTED)."""
        size = request.ByteSize()
        if size > self.max_message_bytes:
            raise InvalidInput.one(field, f"message of {size} bytes is over the limit of "
                                   f"{self.max_message_bytes}")

    def close(self) -> None:
        """Drain queued ingests."""
        self.ingestion.close()

    def Ingest(self, request: pb.IngestRequest, context: grpc.ServicerContext
               ) -> pb.IngestResponse:
        # Strict unless the caller asks to drop invalid values (then listed in the answer).
        prepared = self.ingestion.prepare(self._record_of(request),
                                          actor=current_caller().actor,
                                          lenient=request.drop_invalid_values)
        outcome = self.ingestion.enqueue(prepared, remaining(context)).result()
        return ingest_response(outcome, request.record, prepared.dropped)

    def _record_of(self, request: pb.IngestRequest) -> RawRecord:
        self._check_size(request, "record")
        if not request.HasField("record"):
            raise InvalidInput.one("record", "required")
        return record_from_proto(request.record)

    def BatchIngest(self, request_iterator: Iterator[pb.IngestRequest],
                    context: grpc.ServicerContext) -> Iterator[pb.IngestResponse]:
        # Records are validated as they arrive and queued for group commit; up to
        # batch_window are in flight, and answers leave in request order.
        return _windowed(request_iterator,
                         lambda request: (request, self._submit(request, remaining(context))),
                         lambda item: 1, lambda item: _settled(item[1]),
                         lambda item: _answer(*item), self.batch_window)

    def _submit(self, request: pb.IngestRequest, timeout: float | None) -> Pending:
        try:
            return self._queue(self._record_of(request), timeout, "record",
                               current_caller().actor)
        except IdGraphError as error:
            return error

    def _queue(self, raw: RawRecord, timeout: float | None, prefix: str, actor: str
               ) -> _Queued:
        """Batch RPCs drop invalid values and answer them; InvalidInput for broken records."""
        prepared = self.ingestion.prepare(raw, prefix, actor, lenient=True)
        return _Queued(prepared.dropped, self.ingestion.enqueue(prepared, timeout))

    def IngestBatches(self, request_iterator: Iterator[pb.IngestBatchRequest],
                      context: grpc.ServicerContext) -> Iterator[pb.IngestBatchResponse]:
        # Like BatchIngest: every record of a request is validated and queued as the
        # request arrives; requests holding up to batch_window records are in flight.
        return _windowed(
            request_iterator,
            lambda request: (request, self._submit_all(request, remaining(context))),
            lambda item: len(item[1]), lambda item: all(_settled(p) for p in item[1]),
            lambda item: _batch_answer(*item), self.batch_window)

    def _submit_all(self, request: pb.IngestBatchRequest, timeout: float | None
                    ) -> list[Pending]:
        try:
            self._check_size(request, "records")
        except IdGraphError as error:
            return [error] * len(request.records)
        actor = current_caller().actor
        pending: list[Pending] = []
        for index, record in enumerate(request.records):
            try:
                raw = record_from_proto(record, f"records[{index}]")
                pending.append(self._queue(raw, timeout, f"records[{index}]", actor))
            except IdGraphError as error:
                pending.append(error)
        return pending

    def WatchChanges(self, request: pb.WatchChangesRequest, context: grpc.ServicerContext
                     ) -> Iterator[pb.ChangeEvent]:
        after = parse_cursor(request.after_cursor, "after_cursor")
        left = request.max_events or None
        core = self.ingestion.core
        context.add_callback(core.wake_watchers)  # a caller hanging up frees its thread now
        while context.is_active():
            seen = core.commits
            page = self.ingestion.changes(after, min(self.change_page, left or self.change_page))
            for row in page:
                yield change_to_proto(row)
                after = row.position
                if left is not None:
                    left -= 1
                    if left == 0:
                        return
            if not page:  # caught up: wake on this server's next commit, or poll
                core.wait_for_commit(seen, self.change_poll_seconds)

    def Resolve(self, request: pb.ResolveRequest, context: grpc.ServicerContext
                ) -> pb.ResolveResponse:
        self._check_size(request, "identifiers")
        outcome = self.ingestion.resolve(
            [identifier_from_proto(i) for i in request.identifiers],
            dict(request.attributes), remaining(context))
        return pb.ResolveResponse(
            one_id=outcome.one_id, confidence=outcome.confidence, score=outcome.score,
            candidates=[pb.Candidate(one_id=c.one_id, score=c.score.total,
                                     conflict=c.score.conflict,
                                     match_probability=c.score.probability,
                                     comparisons=comparisons_to_proto(c.score.comparisons))
                        for c in outcome.candidates])

    def GetProfile(self, request: pb.GetProfileRequest, context: grpc.ServicerContext
                   ) -> pb.GetProfileResponse:
        self._check_size(request, "selector")
        selector = request.WhichOneof("selector")
        if selector is None:
            raise InvalidInput.one("selector", "give one_id or identifier")
        identifier = (identifier_from_proto(request.identifier) if selector == "identifier"
                      else None)
        outcome = self.reads.profile(request.one_id, identifier, remaining(context))
        self.audit.record("GetProfile", current_caller().actor, [outcome.profile.one_id])
        return pb.GetProfileResponse(profile=profile_to_proto(outcome.profile),
                                     redirected=outcome.redirected,
                                     requested_one_id=outcome.requested_one_id)

    def Explain(self, request: pb.ExplainRequest, context: grpc.ServicerContext
                ) -> pb.ExplainResponse:
        self._check_size(request, "subject")
        subject = request.WhichOneof("subject")
        if subject is None:
            raise InvalidInput.one("subject", "give a record or a one_id")
        record = record_from_proto(request.record) if subject == "record" else None
        outcome = self.reads.explain(request.other_one_id, record, request.one_id,
                                     remaining(context))
        self.audit.record("Explain", current_caller().actor,
                          [request.other_one_id, request.one_id if subject == "one_id" else ""])
        rules = self.reads.core.rules
        return pb.ExplainResponse(
            comparisons=comparisons_to_proto(outcome.score.comparisons),
            score=outcome.score.total, decision=ACTION_TO_PROTO[outcome.action],
            link_threshold=rules.thresholds.link, review_threshold=rules.thresholds.review,
            reason=outcome.reason, conflict=outcome.score.conflict,
            match_probability=outcome.score.probability)


_END = object()
_PAUSE = 0.005  # seconds a stream waits for the next request before looking at its answers


def _windowed(requests: Iterator[Q], submit: Callable[[Q], T], size: Callable[[T], int],
              done: Callable[[T], bool], answer: Callable[[T], A], window: int
              ) -> Iterator[A]:
    """Answer a request stream in order while later requests are already queued: up to
    `window` records in flight. The oldest request is answered once the window is full, or
    once its records are committed while no new request is waiting, so a client that waits
    for answers before sending more is never left waiting for a window it cannot fill, and
    one that streams keeps the group commit fed. The requests are read in a thread of their
    own, so that the answers need not wait for the next request."""
    arrived: queue.SimpleQueue[Any] = queue.SimpleQueue()

    def read() -> None:
        try:
            for request in requests:
                arrived.put(request)
        except InvalidInput as error:  # an undecodable message: answered after the rest
            arrived.put(error)
        except Exception as error:  # the caller went away: end the stream
            log.debug("request stream ended: %s", failed_fields(error))
        finally:
            arrived.put(_END)

    threading.Thread(target=read, name="stream-reader", daemon=True).start()
    pending: deque[T] = deque()
    in_flight, ended, refused = 0, False, None
    while not ended or pending:
        if not ended and in_flight < window:
            try:
                request = (arrived.get() if not pending else arrived.get(
                    timeout=0 if done(pending[0]) else _PAUSE))
            except queue.Empty:
                request = None
            if request is None and not done(pending[0]):
                continue  # nothing new, the oldest not committed yet: look again
            if request is _END:
                ended = True
                continue
            if isinstance(request, InvalidInput):
                refused = request  # raised once the requests before it are answered
                continue
            if request is not None:
                item = submit(request)
                pending.append(item)
                in_flight += size(item)
                continue
        item = pending.popleft()
        in_flight -= size(item)
        yield answer(item)
    if refused is not None:
        raise refused


def _settled(pending: Pending) -> bool:
    """True when a queued record's outcome is known (a refused one's at once)."""
    return not isinstance(pending, _Queued) or pending.outcome.done()


def _batch_answer(request: pb.IngestBatchRequest, pending: list[Pending]
                  ) -> pb.IngestBatchResponse:
    """The answer for one IngestBatches request: each record's outcome or error, in order."""
    return pb.IngestBatchResponse(results=[_outcome(record, item) for record, item
                                           in zip(request.records, pending, strict=True)])


def _answer(request: pb.IngestRequest, pending: Pending) -> pb.IngestResponse:
    """The answer for one BatchIngest request: its outcome, or its error in its place."""
    return _outcome(request.record, pending)


def _outcome(record: pb.SourceRecord, pending: Pending) -> pb.IngestResponse:
    try:
        if isinstance(pending, IdGraphError):
            raise pending
        return ingest_response(pending.outcome.result(), record, pending.dropped)
    except IdGraphError as error:
        return pb.IngestResponse(error=to_status_proto(error), source=record.source,
                                 source_record_id=record.source_record_id)
