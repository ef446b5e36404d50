"""StewardService: review tasks and manual merges, with the API key's actor recorded."""

from __future__ import annotations

import grpc

from idgraph.api.auth import current_caller
from idgraph.api.convert import datetime_to_timestamp, identifier_from_proto, profile_to_proto
from idgraph.api.identity_servicer import remaining
from idgraph.audit import ReadAudit
from idgraph.domain.oneid import looks_like_one_id
from idgraph.domain.records import KEY_SEPARATOR, RawIdentifier
from idgraph.engine import Reads, Stewardship
from idgraph.engine.review import page_after, page_token, reason_violations, task_candidates
from idgraph.errors import FieldViolation, InvalidInput
from idgraph.store.neo4j_store import FIRST_PAGE, ReviewFilter, ReviewTaskRow
from idgraph.v1 import identity_pb2 as ipb
from idgraph.v1 import steward_pb2 as pb
from idgraph.v1 import steward_pb2_grpc as pb_grpc

MAX_PAGE = 500
DEFAULT_PAGE = 50

_STATUS_TO_PROTO = {"OPEN": pb.REVIEW_STATUS_OPEN, "DECIDED": pb.REVIEW_STATUS_DECIDED}
_STATUS_FROM_PROTO = {pb.REVIEW_STATUS_UNSPECIFIED: "", pb.REVIEW_STATUS_OPEN: "OPEN",
                      pb.REVIEW_STATUS_DECIDED: "DECIDED"}
_DECISION_TO_PROTO = {"MERGE": pb.REVIEW_DECISION_MERGE,
                      "KEEP_APART": pb.REVIEW_DECISION_KEEP_APART}


class StewardServicer(pb_grpc.StewardServiceServicer):
    """Thin edge over the steward operations (and a OneID's history, a read)."""

    def __init__(self, stewardship: Stewardship, reads: Reads,
                 audit: ReadAudit | None = None) -> None:
        self.stewardship = stewardship
        self.reads = reads
        self.audit = audit or ReadAudit(None)

    def ListReviewTasks(self, request: pb.ListReviewTasksRequest,
                        context: grpc.ServicerContext) -> pb.ListReviewTasksResponse:
        violations = []
        if request.status not in _STATUS_FROM_PROTO:
            violations.append(FieldViolation("status", "unknown status"))
        if not 0 <= request.page_size <= MAX_PAGE:
            violations.append(FieldViolation("page_size", f"between 0 and {MAX_PAGE}"))
        banded = request.min_score != 0 or request.max_score != 0
        if banded and request.min_score > request.max_score:
            violations.append(FieldViolation("max_score", "below min_score"))
        if request.order not in _ORDERS:
            violations.append(FieldViolation("order", "unknown order"))
        after = FIRST_PAGE
        try:
            if request.page_token:
                after = page_after(request.page_token)
        except ValueError:
            violations.append(FieldViolation("page_token", "not a token this service issued"))
        if violations:
            raise InvalidInput(violations)
        size = request.page_size or DEFAULT_PAGE
        where = ReviewFilter(
            status=_STATUS_FROM_PROTO[request.status],
            min_score=request.min_score if banded else None,
            max_score=request.max_score if banded else None,
            reason_contains=request.reason_contains.strip(), source=request.source.strip(),
            largest_first=request.order == pb.REVIEW_ORDER_LARGEST_FIRST)
        rows = self.stewardship.review_tasks(where, after, size + 1, remaining(context))
        token = ""
        if len(rows) > size:
            rows = rows[:size]
            token = page_token(rows[-1])
        return pb.ListReviewTasksResponse(tasks=[_summary(r) for r in rows],
                                          next_page_token=token)

    def GetReviewTask(self, request: pb.GetReviewTaskRequest, context: grpc.ServicerContext
                      ) -> pb.GetReviewTaskResponse:
        missing = _missing(request.task_id, "task_id")
        if missing:
            raise InvalidInput(missing)
        task, sides = self.stewardship.review_task(request.task_id.strip(), remaining(context))
        self.audit.record("GetReviewTask", current_caller().actor,
                          [s.profile.one_id for s in sides])
        return pb.GetReviewTaskResponse(
            task=_summary(task), sides=[profile_to_proto(s.profile) for s in sides],
            candidates=_scored_candidates(task.evidence))

    def DecideReviewTask(self, request: pb.DecideReviewTaskRequest,
                         context: grpc.ServicerContext) -> pb.DecideReviewTaskResponse:
        violations = _missing(request.task_id, "task_id") + reason_violations(request.reason)
        if request.decision not in (pb.REVIEW_DECISION_MERGE, pb.REVIEW_DECISION_KEEP_APART):
            violations.append(FieldViolation("decision", "MERGE or KEEP_APART"))
        if violations:
            raise InvalidInput(violations)
        task, survivor, absorbed = self.stewardship.decide_review_task(
            request.task_id.strip(), request.decision == pb.REVIEW_DECISION_MERGE,
            current_caller().actor, request.reason.strip(), remaining(context))
        return pb.DecideReviewTaskResponse(task=_summary(task), one_id=survivor,
                                           merged_one_ids=list(absorbed))

    def MergePersons(self, request: pb.MergePersonsRequest, context: grpc.ServicerContext
                     ) -> pb.MergePersonsResponse:
        violations = [FieldViolation(f"one_ids[{i}]", "not a OneID")
                      for i, one_id in enumerate(request.one_ids)
                      if not looks_like_one_id(one_id)]
        if len(request.one_ids) < 2:
            violations.append(FieldViolation("one_ids", "at least two OneIDs"))
        elif len(request.one_ids) > 100:
            violations.append(FieldViolation("one_ids", "at most 100 OneIDs"))
        violations += reason_violations(request.reason)
        if violations:
            raise InvalidInput(violations)
        survivor, absorbed = self.stewardship.merge_persons(
            list(request.one_ids), current_caller().actor, request.reason.strip(),
            remaining(context))
        return pb.MergePersonsResponse(one_id=survivor, merged_one_ids=list(absorbed))

    def ErasePerson(self, request: pb.ErasePersonRequest, context: grpc.ServicerContext
                    ) -> pb.ErasePersonResponse:
        violations = [] if looks_like_one_id(request.one_id) else [
            FieldViolation("one_id", "not a OneID")]
        violations += reason_violations(request.reason)
        if violations:
            raise InvalidInput(violations)
        person, erased = self.stewardship.erase_person(
            request.one_id, current_caller().actor, request.reason.strip(), remaining(context))
        return pb.ErasePersonResponse(one_id=person, erased_one_ids=list(erased))

    def SuppressIdentifier(self, request: pb.SuppressIdentifierRequest,
                           context: grpc.ServicerContext) -> pb.SuppressIdentifierResponse:
        identifier = _suppressed_identifier(request)
        created = self.stewardship.suppress_identifier(
            identifier, current_caller().actor, request.reason.strip(), remaining(context))
        return pb.SuppressIdentifierResponse(created=created)

    def LiftSuppression(self, request: pb.LiftSuppressionRequest,
                        context: grpc.ServicerContext) -> pb.LiftSuppressionResponse:
        identifier = _suppressed_identifier(request)
        lifted = self.stewardship.lift_suppression(identifier, remaining(context))
        return pb.LiftSuppressionResponse(lifted=lifted)

    def GetHistory(self, request: pb.GetHistoryRequest, context: grpc.ServicerContext
                   ) -> pb.GetHistoryResponse:
        if not looks_like_one_id(request.one_id):
            raise InvalidInput.one("one_id", "not a OneID")
        person, entries = self.reads.history(request.one_id, remaining(context),
                                             request.include_reads)
        self.audit.record("GetHistory", current_caller().actor, [person])
        return pb.GetHistoryResponse(one_id=person, entries=[pb.HistoryEntry(
            at=datetime_to_timestamp(e.at), kind=e.kind, actor=e.actor, one_id=e.one_id,
            related_one_ids=list(e.related), rule=e.rule, score=e.score, reason=e.reason,
            task_id=e.task_id, decision=e.decision) for e in entries])

    def SplitPerson(self, request: pb.SplitPersonRequest, context: grpc.ServicerContext
                    ) -> pb.SplitPersonResponse:
        violations = [] if looks_like_one_id(request.one_id) else [
            FieldViolation("one_id", "not a OneID")]
        if not request.records:
            violations.append(FieldViolation("records", "at least one record"))
        for i, ref in enumerate(request.records):
            violations += _missing(ref.source, f"records[{i}].source")
            violations += _missing(ref.source_record_id, f"records[{i}].source_record_id")
        violations += reason_violations(request.reason)
        if violations:
            raise InvalidInput(violations)
        split = self.stewardship.split_person(
            request.one_id, [_record_key(r) for r in request.records], current_caller().actor,
            request.reason.strip(), remaining(context), re_resolve=request.re_resolve)
        news = set(split.placements.values())
        return pb.SplitPersonResponse(
            one_id=split.one_id,
            new_one_id=news.pop() if len(news) == 1 and not request.re_resolve else "",
            moved=[_record_ref(key) for key in split.moved],
            placements=[pb.Placement(record=_record_ref(key), one_id=split.placements[key])
                        for key in split.moved])


def _record_ref(key: str) -> ipb.RecordRef:
    source, _, record_id = key.partition(KEY_SEPARATOR)
    return ipb.RecordRef(source=source, source_record_id=record_id)


def _record_key(ref: ipb.RecordRef) -> str:
    return f"{ref.source.strip()}{KEY_SEPARATOR}{ref.source_record_id.strip()}"


def _missing(value: str, field: str) -> list[FieldViolation]:
    return [] if value.strip() else [FieldViolation(field, "required")]


_ORDERS = frozenset({pb.REVIEW_ORDER_UNSPECIFIED, pb.REVIEW_ORDER_OLDEST_FIRST,
                     pb.REVIEW_ORDER_LARGEST_FIRST})


def _summary(task: ReviewTaskRow) -> pb.ReviewTaskSummary:
    source, _, record_id = task.record_key.partition(KEY_SEPARATOR)
    return pb.ReviewTaskSummary(
        task_id=task.task_id,
        status=_STATUS_TO_PROTO.get(task.status, pb.REVIEW_STATUS_UNSPECIFIED),
        created_at=datetime_to_timestamp(task.created_at), one_id=task.one_id,
        candidate_one_ids=list(task.candidates), score=task.score, reason=task.reason,
        source=source, source_record_id=record_id,
        decision=_DECISION_TO_PROTO.get(task.decision, pb.REVIEW_DECISION_UNSPECIFIED),
        decided_by=task.decided_by,
        decided_at=datetime_to_timestamp(task.decided_at),
        decision_reason=task.decision_reason, people_involved=task.people_involved,
        records_involved=task.records_involved)


def _scored_candidates(evidence: str) -> list[pb.ScoredCandidate]:
    """The candidates' comparisons as the evidence recorded them when the task opened."""
    return [pb.ScoredCandidate(
        one_id=c["one_id"], score=c["score"], conflict=c["conflict"],
        comparisons=[ipb.Comparison(name=k.get("name", ""), kind=k.get("kind", ""),
                                    level=k.get("level", ""), weight=k.get("weight", 0.0),
                                    left_value=k.get("left_value", ""),
                                    right_value=k.get("right_value", ""),
                                    note=k.get("note", ""))
                     for k in c["comparisons"]])
        for c in task_candidates(evidence)]


def _suppressed_identifier(request: pb.SuppressIdentifierRequest | pb.LiftSuppressionRequest
                           ) -> RawIdentifier:
    """The request's identifier, or INVALID_ARGUMENT naming what is missing."""
    violations = reason_violations(request.reason)
    if not request.HasField("identifier"):
        violations.append(FieldViolation("identifier", "required"))
    if violations:
        raise InvalidInput(violations)
    return identifier_from_proto(request.identifier)
