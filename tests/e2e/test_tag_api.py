"""TagService through a real gRPC server and client over a real Neo4j."""

from __future__ import annotations

import grpc
import pytest

from idgraph.v1 import identity_pb2 as pb
from idgraph.v1 import identity_pb2_grpc as pb_grpc
from idgraph.v1 import tag_pb2 as tpb
from idgraph.v1 import tag_pb2_grpc as tpb_grpc
from tests.e2e.test_grpc_api import bad_request, ingest, record

pytestmark = pytest.mark.e2e


@pytest.fixture
def tag_stub(channel: grpc.Channel) -> tpb_grpc.TagServiceStub:
    return tpb_grpc.TagServiceStub(channel)


def test_assign_a_tag_and_see_it_on_the_profile(
        stub: pb_grpc.IdentityServiceStub, tag_stub: tpb_grpc.TagServiceStub,
        clean_store: object) -> None:
    definitions = tag_stub.ListTagDefinitions(tpb.ListTagDefinitionsRequest(),
                                              timeout=10).definitions
    by_tag = {d.tag: d for d in definitions}
    assert by_tag["lifecycle.owner.owner_3y_plus"].from_data
    assert not by_tag["value.segment.vip"].from_data
    assert by_tag["age.bucket.over_3y"].kind == "vehicle"
    person = ingest(stub, record("1", ("phone", "13900000001"), name="张伟"))
    answer = tag_stub.AssignTag(tpb.AssignTagRequest(one_id=person.one_id,
                                                     tag="value.segment.vip",
                                                     source="crm-export"), timeout=10)
    assert answer.one_id == person.one_id
    profile = stub.GetProfile(pb.GetProfileRequest(one_id=person.one_id), timeout=10).profile
    (vip,) = [t for t in profile.tags if t.tag == "value.segment.vip"]
    assert (vip.source, vip.actor, vip.from_data) == ("crm-export", "anonymous", False)
    assert tag_stub.RemoveTag(tpb.RemoveTagRequest(one_id=person.one_id,
                                                   tag="value.segment.vip"),
                              timeout=10).removed


def test_an_undefined_tag_is_refused_naming_the_field(
        tag_stub: tpb_grpc.TagServiceStub, clean_store: object) -> None:
    with pytest.raises(grpc.RpcError) as refused:
        tag_stub.AssignTag(tpb.AssignTagRequest(one_id="oid_" + "0" * 26, tag="x.y.z",
                                                source="crm"), timeout=10)
    assert refused.value.code() == grpc.StatusCode.INVALID_ARGUMENT
    assert bad_request(refused.value) == ["tag"]
