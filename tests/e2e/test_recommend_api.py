"""RecommendationService through a real gRPC server and client over a real Neo4j."""

from __future__ import annotations

import grpc
import pytest
from google.protobuf.timestamp_pb2 import Timestamp

from idgraph.domain.identifiers import vin_check_char
from idgraph.engine import IdentityEngine
from idgraph.v1 import identity_pb2 as pb
from idgraph.v1 import identity_pb2_grpc as pb_grpc
from idgraph.v1 import recommend_pb2 as rpb
from idgraph.v1 import recommend_pb2_grpc as rpb_grpc
from tests.e2e.test_grpc_api import bad_request, ingest, record

pytestmark = pytest.mark.e2e


def vin(n: int) -> str:
    base = f"LBVAA4180E{n:07d}"
    return base[:8] + vin_check_char(base) + base[9:]


def link(n: int, model: str, year: int, relation: int = pb.VEHICLE_RELATION_OWNER
         ) -> pb.VehicleLink:
    since = Timestamp()
    since.FromJsonString(f"{year}-01-01T00:00:00Z")
    return pb.VehicleLink(vin=vin(n), model=model, relation=relation, since=since)


@pytest.fixture
def recommender(channel: grpc.Channel) -> rpb_grpc.RecommendationServiceStub:
    return rpb_grpc.RecommendationServiceStub(channel)


def test_the_three_recommendations_answer_with_explanations(
        stub: pb_grpc.IdentityServiceStub, recommender: rpb_grpc.RecommendationServiceStub,
        engine: IdentityEngine, clean_store: object) -> None:
    engine.recommendations.model_statistics_seconds = 0
    for n in range(3):  # X1 owners moved on to X3
        phone = f"1370000000{n}"
        ingest(stub, record(f"o{n}", ("phone", phone), source="dms", name=f"王{n}号",
                            vehicles=[link(10 + n, "X1", 2016)]))
        ingest(stub, record(f"o{n}b", ("phone", phone), source="crm", name=f"王{n}号",
                            vehicles=[link(20 + n, "X3", 2022)]))
    me = ingest(stub, record("me", ("phone", "13900000001"), source="dms", name="张伟",
                             vehicles=[link(1, "X1", 2019)]))
    lead = pb.SourceRecord(source="test_drive", source_record_id="friend",
                           identifiers=[pb.Identifier(type="phone", value="13900000009")],
                           attributes={"name": "王芳"},
                           vehicles=[link(2, "X5", 2025, pb.VEHICLE_RELATION_TEST_DRIVE)],
                           referred_by=[pb.Identifier(type="phone", value="13900000001")])
    friend = stub.Ingest(pb.IngestRequest(record=lead), timeout=10)
    models = recommender.RecommendModels(rpb.RecommendModelsRequest(one_id=me.one_id, k=2),
                                         timeout=10)
    assert models.one_id == me.one_id
    assert [m.model for m in models.models] == ["X3", "X5"]
    assert "3 of 3 owners of X1 moved on to X3" in models.models[0].explanation
    assert models.models[0].path[0] == f"person:{me.one_id}"
    (candidate,) = recommender.ReferralCandidates(rpb.ReferralCandidatesRequest(
        one_id=me.one_id, k=5), timeout=10).candidates
    assert candidate.one_id == friend.one_id and "test-drove X5" in candidate.explanation
    assert recommender.ReferralCandidates(rpb.ReferralCandidatesRequest(
        one_id=me.one_id, k=5, with_tags=["lifecycle.prospect.test_drive_no_purchase"]),
        timeout=10).candidates[0].one_id == friend.one_id
    assert not recommender.ReferralCandidates(rpb.ReferralCandidatesRequest(
        one_id=me.one_id, k=5, without_tags=["lifecycle.prospect.lead"]),
        timeout=10).candidates  # the friend is a test-drive lead
    similar = recommender.SimilarCustomers(rpb.SimilarCustomersRequest(
        one_ids=[me.one_id], k=5), timeout=10).customers
    assert similar and all("X1" in c.explanation for c in similar)


def test_bad_recommendation_requests_name_the_field(
        recommender: rpb_grpc.RecommendationServiceStub, clean_store: object) -> None:
    for call, request, field in (
            (recommender.RecommendModels, rpb.RecommendModelsRequest(one_id="x", k=3),
             "one_id"),
            (recommender.RecommendModels,
             rpb.RecommendModelsRequest(one_id="oid_" + "0" * 26, k=101), "k"),
            (recommender.SimilarCustomers, rpb.SimilarCustomersRequest(k=3), "one_ids"),
            (recommender.ReferralCandidates, rpb.ReferralCandidatesRequest(
                one_id="oid_" + "0" * 26, k=3, with_tags=["a.b"]), "with_tags[0]")):
        with pytest.raises(grpc.RpcError) as refused:
            call(request, timeout=10)
        assert refused.value.code() == grpc.StatusCode.INVALID_ARGUMENT
        assert bad_request(refused.value) == [field]
