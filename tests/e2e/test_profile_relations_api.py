"""The profile's relationships, dealers and consent through a real gRPC server."""

from __future__ import annotations

import grpc
import pytest

from idgraph.v1 import identity_pb2 as pb
from idgraph.v1 import identity_pb2_grpc as pb_grpc
from tests.e2e.test_grpc_api import bad_request, ingest, record

pytestmark = pytest.mark.e2e


def test_profile_shows_referrals_dealers_and_the_latest_consent(
        stub: pb_grpc.IdentityServiceStub, clean_store: object) -> None:
    owner = ingest(stub, record("1", ("phone", "13900000001"), ("dms_customer_id", "K1", "D07"),
                                source="dms", name="张伟", consent_marketing="true"))
    lead = pb.SourceRecord(source="media", source_record_id="9",
                           identifiers=[pb.Identifier(type="phone", value="13900000009")],
                           attributes={"name": "王芳"},
                           referred_by=[pb.Identifier(type="phone", value="+86 139-0000-0001")])
    friend = stub.Ingest(pb.IngestRequest(record=lead), timeout=10)
    withdrawn = record("2", ("phone", "13900000001"), source="app", consent_marketing="no")
    withdrawn.observed_at.FromJsonString("2030-01-01T00:00:00Z")
    assert ingest(stub, withdrawn).one_id == owner.one_id
    profile = stub.GetProfile(pb.GetProfileRequest(one_id=owner.one_id), timeout=10).profile
    assert [(r.type, r.one_id) for r in profile.relationships] == [
        (pb.RELATIONSHIP_TYPE_REFERRED, friend.one_id)]
    assert [(d.dealer, d.records) for d in profile.dealers] == [("D07", 1)]
    assert profile.HasField("consent_marketing") and profile.consent_marketing is False
    theirs = stub.GetProfile(pb.GetProfileRequest(one_id=friend.one_id), timeout=10).profile
    assert [(r.type, r.one_id) for r in theirs.relationships] == [
        (pb.RELATIONSHIP_TYPE_REFERRED_BY, owner.one_id)]
    assert not theirs.HasField("consent_marketing")  # never stated


def test_profile_shows_a_household_and_the_two_stay_two_people(
        stub: pb_grpc.IdentityServiceStub, clean_store: object) -> None:
    home = "上海市浦东新区世纪大道100号3栋1201室"
    husband = ingest(stub, record("1", ("phone", "13900000001"), ("landline", "021-62265678"),
                                  name="张伟", address=home))
    wife = ingest(stub, record("2", ("phone", "13900000002"), ("landline", "021-62265678"),
                               source="app", name="李娜", address=home))
    assert wife.one_id != husband.one_id
    profile = stub.GetProfile(pb.GetProfileRequest(one_id=husband.one_id), timeout=10).profile
    (household,) = profile.relationships
    assert (household.type, household.one_id) == (pb.RELATIONSHIP_TYPE_HOUSEHOLD, wife.one_id)
    assert "landline 021-62265678 and address" in household.evidence
    tags = {t.tag for t in profile.tags}
    assert "relationship.household.member" in tags


def test_a_bad_referrer_or_consent_is_refused_naming_the_field(
        stub: pb_grpc.IdentityServiceStub, clean_store: object) -> None:
    rec = pb.SourceRecord(source="media", source_record_id="9",
                          identifiers=[pb.Identifier(type="phone", value="13900000009")],
                          attributes={"consent_marketing": "perhaps"},
                          referred_by=[pb.Identifier(type="phone", value="12345")])
    with pytest.raises(grpc.RpcError) as refused:
        stub.Ingest(pb.IngestRequest(record=rec), timeout=10)
    assert refused.value.code() == grpc.StatusCode.INVALID_ARGUMENT
    assert sorted(bad_request(refused.value)) == [
        "record.attributes['consent_marketing']", "record.referred_by[0].value"]
