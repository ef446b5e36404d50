"""LeadService through a real gRPC server and client over a real Neo4j."""

from __future__ import annotations

import grpc
import pytest

from idgraph.v1 import identity_pb2 as pb
from idgraph.v1 import identity_pb2_grpc as pb_grpc
from idgraph.v1 import lead_pb2 as lpb
from idgraph.v1 import lead_pb2_grpc as lpb_grpc
from tests.e2e.test_grpc_api import bad_request, ingest, record

pytestmark = pytest.mark.e2e


@pytest.fixture
def leads(channel: grpc.Channel) -> lpb_grpc.LeadServiceStub:
    return lpb_grpc.LeadServiceStub(channel)


def test_grade_lead_answers_grade_score_and_signals(
        stub: pb_grpc.IdentityServiceStub, leads: lpb_grpc.LeadServiceStub) -> None:
    lead = record("t1", ("phone", "13900000001"), source="test_drive", name="张伟",
                  dealer="D1")
    lead.referred_by.append(pb.Identifier(type="phone", value="13900000009"))
    one_id = ingest(stub, lead).one_id
    ingest(stub, record("a1", ("phone", "13900000001"), source="app", name="张伟",
                        consent_marketing="false"))
    answer = leads.GradeLead(lpb.GradeLeadRequest(one_id=one_id), timeout=10)
    assert answer.one_id == one_id
    by_name = {s.name: s for s in answer.signals}
    assert by_name["recency"].points == 20 and by_name["recency"].value < 1
    assert by_name["test_drive"].value == 1 and "booked" in by_name["test_drive"].words
    assert by_name["referral"].value == 0  # no one holds the referrer's phone yet
    assert by_name["engagement"].value == 1
    assert answer.score == sum(s.points for s in answer.signals)
    assert answer.grade == lpb.LEAD_GRADE_B  # 20 + 3 + 12 + 3 = 38
    assert answer.do_not_contact and not answer.HasField("probability")
    assert answer.graded_at.seconds > 0
    by_phone = leads.GradeLeads(lpb.GradeLeadsRequest(leads=[lpb.GradeLeadRequest(
        identifier=pb.Identifier(type="phone", value="139-0000-0001"))]), timeout=10)
    assert [g.one_id for g in by_phone.grades] == [one_id]


def test_bad_input_names_the_field_and_unknown_people_are_not_found(
        leads: lpb_grpc.LeadServiceStub) -> None:
    with pytest.raises(grpc.RpcError) as bad:
        leads.GradeLead(lpb.GradeLeadRequest(one_id="nope"), timeout=10)
    assert bad.value.code() == grpc.StatusCode.INVALID_ARGUMENT
    assert bad_request(bad.value) == ["one_id"]
    with pytest.raises(grpc.RpcError) as bad:
        leads.GradeLeads(lpb.GradeLeadsRequest(leads=[lpb.GradeLeadRequest(
            identifier=pb.Identifier(type="phone", value="123"))]), timeout=10)
    assert bad.value.code() == grpc.StatusCode.INVALID_ARGUMENT
    assert bad_request(bad.value) == ["leads[0].identifier.value"]
    with pytest.raises(grpc.RpcError) as missing:
        leads.GradeLead(lpb.GradeLeadRequest(one_id="oid_" + "0" * 26), timeout=10)
    assert missing.value.code() == grpc.StatusCode.NOT_FOUND
