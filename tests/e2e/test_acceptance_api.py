"""What is accepted, dropped and refused, through a real gRPC server and client: batch answers
list the values dropped from each record; Ingest refuses unless asked to drop and warn."""

from __future__ import annotations

import grpc
import pytest

from idgraph.store.neo4j_store import Neo4jStore
from idgraph.v1 import identity_pb2 as pb
from idgraph.v1 import identity_pb2_grpc as pb_grpc
from tests.e2e.test_grpc_api import bad_request, record
from tests.integration.helpers import check_invariants, node_counts

pytestmark = pytest.mark.e2e

VIN = "LJCPCBLCX11000237"


def export_like(rid: str) -> pb.SourceRecord:
    """A test-drive lead as exports look: a bad phone beside a good one, a model without a
    VIN, an owner mention without a VIN, a consent nobody can read."""
    return record(rid, ("phone", "13912345678"), ("phone", "12345678901"), source="test_drive",
                  name="任先生", dealer="NB001", consent_marketing="maybe",
                  vehicles=[pb.VehicleLink(relation=pb.VEHICLE_RELATION_TEST_DRIVE,
                                           model="Model-X5"),
                            pb.VehicleLink(relation=pb.VEHICLE_RELATION_OWNER, model="X3")])


DROPPED = ["identifiers[1].value", "attributes['consent_marketing']", "vehicles[1].vin"]


def dropped(answer: pb.IngestResponse) -> list[str]:
    return [d.field for d in answer.dropped]


def test_batch_ingest_answers_the_values_it_dropped(stub: pb_grpc.IdentityServiceStub,
                                                    clean_store: Neo4jStore) -> None:
    rows = [export_like("1"), record("2", ("phone", "12345678901")),
            record("3", ("phone", "13712345678"), vehicles=[pb.VehicleLink(
                vin=VIN, relation=pb.VEHICLE_RELATION_OWNER, plate="京AO1234")])]
    answers = list(stub.BatchIngest(iter(pb.IngestRequest(record=r) for r in rows), timeout=60))
    first, broken, plate = answers
    assert first.one_id and dropped(first) == [f"record.{f}" for f in DROPPED]
    assert "invalid phone" in first.dropped[0].description
    assert broken.error.code == grpc.StatusCode.INVALID_ARGUMENT.value[0]  # nothing left
    assert "nothing to resolve" in broken.error.message and not broken.dropped
    assert plate.one_id and dropped(plate) == ["record.vehicles[0].plate"]

    profile = stub.GetProfile(pb.GetProfileRequest(one_id=first.one_id), timeout=10).profile
    assert [i.value for i in profile.identifiers] == ["13912345678"]
    assert [(v.vin, v.model, v.relation) for v in profile.vehicles] == [
        ("", "Model-X5", pb.VEHICLE_RELATION_TEST_DRIVE)]
    assert "consent_marketing" not in dict(profile.records[0].attributes)
    check_invariants(clean_store)


def test_ingest_batches_answer_dropped_values_per_record(stub: pb_grpc.IdentityServiceStub
                                                         ) -> None:
    request = pb.IngestBatchRequest(records=[record("a", ("phone", "13700000001")),
                                             export_like("b")])
    (answer,) = stub.IngestBatches(iter([request]), timeout=60)
    assert [dropped(r) for r in answer.results] == [[], [f"records[1].{f}" for f in DROPPED]]
    assert all(r.one_id and not r.HasField("error") for r in answer.results)


def test_ingest_refuses_by_default_and_drops_and_warns_when_asked(
        stub: pb_grpc.IdentityServiceStub, clean_store: Neo4jStore) -> None:
    with pytest.raises(grpc.RpcError) as exc:
        stub.Ingest(pb.IngestRequest(record=export_like("1")), timeout=10)
    assert exc.value.code() == grpc.StatusCode.INVALID_ARGUMENT
    assert bad_request(exc.value) == [f"record.{f}" for f in DROPPED]
    assert node_counts(clean_store).get("Record", 0) == 0

    answer = stub.Ingest(pb.IngestRequest(record=export_like("1"), drop_invalid_values=True),
                         timeout=10)
    assert answer.decision == pb.DECISION_NEW and dropped(answer) == [
        f"record.{f}" for f in DROPPED]
    again = stub.Ingest(pb.IngestRequest(record=export_like("1"), drop_invalid_values=True),
                        timeout=10)
    assert again.decision == pb.DECISION_UNCHANGED and len(again.dropped) == 3
    with pytest.raises(grpc.RpcError) as exc:  # a broken record is refused either way
        stub.Ingest(pb.IngestRequest(record=record("9", ("phone", "13912345678"), source=""),
                                     drop_invalid_values=True), timeout=10)
    assert bad_request(exc.value) == ["record.source"]
