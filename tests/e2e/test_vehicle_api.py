"""VehicleService through a real gRPC server and client over a real Neo4j."""

from __future__ import annotations

import grpc
import pytest
from google.protobuf.timestamp_pb2 import Timestamp

from idgraph.v1 import identity_pb2 as pb
from idgraph.v1 import identity_pb2_grpc as pb_grpc
from idgraph.v1 import vehicle_pb2 as vpb
from idgraph.v1 import vehicle_pb2_grpc as vpb_grpc
from tests.e2e.test_grpc_api import bad_request, ingest, record

pytestmark = pytest.mark.e2e

VIN = "LSVAA4183E2000001"


def year(y: int) -> Timestamp:
    ts = Timestamp()
    ts.FromJsonString(f"{y}-01-01T00:00:00Z")
    return ts


def test_get_vehicle_answers_the_owner_and_the_history(
        stub: pb_grpc.IdentityServiceStub, vehicles: vpb_grpc.VehicleServiceStub,
        clean_store: object) -> None:
    later = ingest(stub, record("2", ("phone", "13900000002"), source="dms", name="李娜",
                                vehicles=[pb.VehicleLink(vin=VIN, model="Passat",
                                                         relation=pb.VEHICLE_RELATION_OWNER,
                                                         since=year(2022))]))
    first = ingest(stub, record("1", ("phone", "13900000001"), source="dms", name="张伟",
                                vehicles=[pb.VehicleLink(vin=VIN.lower(), plate="沪A12345",
                                                         relation=pb.VEHICLE_RELATION_OWNER,
                                                         since=year(2018))]))
    test_drive = ingest(stub, record("3", ("phone", "13900000003"), source="test_drive",
                                     vehicles=[pb.VehicleLink(
                                         vin=VIN, relation=pb.VEHICLE_RELATION_TEST_DRIVE,
                                         since=year(2017), until=year(2017))]))
    car = vehicles.GetVehicle(vpb.GetVehicleRequest(vin=f" {VIN.lower()} "), timeout=10)
    assert (car.vin, car.make, car.model, car.model_year, car.plate) == (
        VIN, "SAIC Volkswagen", "Passat", 2014, "沪A12345")
    assert car.current_owner_one_id == later.one_id
    assert [(o.one_id, o.since.ToJsonString(), o.HasField("until"), o.current)
            for o in car.owners] == [(first.one_id, "2018-01-01T00:00:00Z", True, False),
                                     (later.one_id, "2022-01-01T00:00:00Z", False, True)]
    assert car.owners[0].until.ToJsonString() == "2022-01-01T00:00:00Z"
    assert [(r.source, r.source_record_id) for r in car.owners[0].records] == [("dms", "1")]
    (other,) = car.others
    assert (other.one_id, other.relation) == (test_drive.one_id,
                                              pb.VEHICLE_RELATION_TEST_DRIVE)


@pytest.mark.parametrize("vin, code", [("", grpc.StatusCode.INVALID_ARGUMENT),
                                       ("LSVAA4182E2000001", grpc.StatusCode.INVALID_ARGUMENT),
                                       (VIN, grpc.StatusCode.NOT_FOUND)])
def test_get_vehicle_refuses_bad_and_unknown_vins(
        vehicles: vpb_grpc.VehicleServiceStub, clean_store: object, vin: str,
        code: grpc.StatusCode) -> None:
    with pytest.raises(grpc.RpcError) as refused:
        vehicles.GetVehicle(vpb.GetVehicleRequest(vin=vin), timeout=10)
    assert refused.value.code() == code
    if code == grpc.StatusCode.INVALID_ARGUMENT:
        assert bad_request(refused.value) == ["vin"]
