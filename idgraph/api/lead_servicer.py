"""LeadService: lead grades (H, A, B, C) with the signals behind them."""

from __future__ import annotations

import grpc
from google.protobuf.timestamp_pb2 import Timestamp

from idgraph.api.convert import identifier_from_proto
from idgraph.api.identity_servicer import remaining
from idgraph.domain.leads import LeadGrade
from idgraph.engine.leads import LeadQuery, Leads
from idgraph.v1 import lead_pb2 as pb
from idgraph.v1 import lead_pb2_grpc as pb_grpc

GRADES = {"H": pb.LEAD_GRADE_H, "A": pb.LEAD_GRADE_A, "B": pb.LEAD_GRADE_B,
          "C": pb.LEAD_GRADE_C}


class LeadServicer(pb_grpc.LeadServiceServicer):
    """Thin edge over lead grading."""

    def __init__(self, leads: Leads) -> None:
        self.leads = leads

    def GradeLead(self, request: pb.GradeLeadRequest, context: grpc.ServicerContext
                  ) -> pb.GradeLeadResponse:
        return grade_to_proto(self.leads.grade(query_from_proto(request), remaining(context)))

    def GradeLeads(self, request: pb.GradeLeadsRequest, context: grpc.ServicerContext
                   ) -> pb.GradeLeadsResponse:
        graded = self.leads.grade_many([query_from_proto(q) for q in request.leads],
                                       remaining(context))
        return pb.GradeLeadsResponse(grades=[grade_to_proto(g) for g in graded])


def query_from_proto(request: pb.GradeLeadRequest) -> LeadQuery:
    """A OneID, or the identifier when one is given and the OneID is not."""
    identifier = identifier_from_proto(request.identifier) \
        if request.HasField("identifier") else None
    return LeadQuery(request.one_id, identifier)


def grade_to_proto(graded: LeadGrade) -> pb.GradeLeadResponse:
    """A grade as the API answers it."""
    at = Timestamp()
    at.FromMilliseconds(graded.at)
    return pb.GradeLeadResponse(
        one_id=graded.one_id, grade=GRADES[graded.grade], score=graded.score,
        signals=[pb.LeadSignal(name=s.name, value=s.value, points=s.points, words=s.words)
                 for s in graded.signals],
        do_not_contact=graded.do_not_contact, probability=graded.probability,
        graded_at=at)
