"""API keys, roles and TLS through a real server and client over a real Neo4j."""

from __future__ import annotations

import hashlib
from collections.abc import Iterator
from pathlib import Path

import grpc
import pytest
import trustme
from grpc_health.v1 import health_pb2, health_pb2_grpc

from idgraph.api.auth import METHOD_ROLES, ApiKeys, Role
from idgraph.api.server import RunningServer, Tls, build_server
from idgraph.engine import IdentityEngine
from idgraph.errors import ConfigError
from idgraph.v1 import identity_pb2 as pb
from idgraph.v1 import identity_pb2_grpc as pb_grpc
from idgraph.v1 import steward_pb2 as spb
from idgraph.v1 import steward_pb2_grpc as spb_grpc
from tests.integration.helpers import node_counts

pytestmark = pytest.mark.e2e

KEYS = {"reader": "reader-key-0123456789", "writer": "writer-key-0123456789",
        "steward": "steward-key-0123456789", "admin": "admin-key-0123456789"}


@pytest.fixture
def keys_file(tmp_path: Path) -> Path:
    path = tmp_path / "keys.toml"
    entries = [f'[[keys]]\nactor = "{role}-bot"\nroles = ["{role}"]\n'
               + (f'sha256 = "{hashlib.sha256(key.encode()).hexdigest()}"\n'
                  if role != "reader" else f'key = "{key}"\n')
               for role, key in KEYS.items()]
    path.write_text("\n".join(entries), encoding="utf-8")
    return path


@pytest.fixture
def secured(engine: IdentityEngine, keys_file: Path) -> Iterator[RunningServer]:
    running = build_server(engine, "127.0.0.1:0", api_keys=ApiKeys.load(keys_file))
    yield running
    running.stop(grace=1)


def calls(stub: pb_grpc.IdentityServiceStub | None, key: str | None
          ) -> dict[str, grpc.StatusCode]:
    """Each IdentityService RPC once with `key`; the status code it ended with (without a
    stub: the RPCs it would try)."""
    metadata = [("authorization", f"Bearer {key}")] if key is not None else []
    rec = pb.SourceRecord(source="crm", source_record_id="1",
                          identifiers=[pb.Identifier(type="phone", value="13912345678")])
    attempts = {
        "Ingest": lambda: stub.Ingest(pb.IngestRequest(record=rec), metadata=metadata,
                                      timeout=10),
        "BatchIngest": lambda: list(stub.BatchIngest(iter([pb.IngestRequest(record=rec)]),
                                                     metadata=metadata, timeout=10)),
        "IngestBatches": lambda: list(stub.IngestBatches(
            iter([pb.IngestBatchRequest(records=[rec])]), metadata=metadata, timeout=10)),
        "Resolve": lambda: stub.Resolve(pb.ResolveRequest(identifiers=rec.identifiers),
                                        metadata=metadata, timeout=10),
        "GetProfile": lambda: stub.GetProfile(pb.GetProfileRequest(one_id="oid_none"),
                                              metadata=metadata, timeout=10),
        "Explain": lambda: stub.Explain(pb.ExplainRequest(one_id="oid_a", other_one_id="oid_b"),
                                        metadata=metadata, timeout=10),
        "WatchChanges": lambda: list(stub.WatchChanges(pb.WatchChangesRequest(max_events=1),
                                                       metadata=metadata, timeout=1)),
    }
    if stub is None:
        return dict.fromkeys(attempts, grpc.StatusCode.UNKNOWN)
    codes = {}
    for name, attempt in attempts.items():
        try:
            attempt()
            codes[name] = grpc.StatusCode.OK
        except grpc.RpcError as error:
            codes[name] = error.code()
    return codes


def test_every_identity_rpc_names_its_role_and_is_tried_below() -> None:
    methods = pb.DESCRIPTOR.services_by_name["IdentityService"].methods
    assert {f"/idgraph.v1.IdentityService/{m.name}" for m in methods} <= METHOD_ROLES.keys()
    assert {m.name for m in methods} == set(calls(None, None))


def test_every_rpc_of_every_service_names_its_role() -> None:
    from idgraph.api.server import SERVICE_NAMES
    from idgraph.v1 import (
        audience_pb2,
        lead_pb2,
        recommend_pb2,
        rules_pb2,
        tag_pb2,
        vehicle_pb2,
    )

    services = {service.full_name: service
                for module in (pb, spb, vehicle_pb2, tag_pb2, recommend_pb2, lead_pb2,
                               rules_pb2, audience_pb2)
                for service in module.DESCRIPTOR.services_by_name.values()}
    assert set(services) == set(SERVICE_NAMES)  # every service is served, and listed here
    for service in services.values():
        for method in service.methods:
            assert f"/{service.full_name}/{method.name}" in METHOD_ROLES, method.full_name


def test_get_vehicle_needs_the_reader_role(secured: RunningServer, clean_store: object) -> None:
    from idgraph.v1 import vehicle_pb2, vehicle_pb2_grpc

    with grpc.insecure_channel(f"127.0.0.1:{secured.port}") as channel:
        stub = vehicle_pb2_grpc.VehicleServiceStub(channel)
        for role, key in KEYS.items():
            with pytest.raises(grpc.RpcError) as answer:
                stub.GetVehicle(vehicle_pb2.GetVehicleRequest(vin="LSVAA4183E2000001"),
                                metadata=[("authorization", f"Bearer {key}")], timeout=10)
            allowed = role in ("reader", "admin")
            assert answer.value.code() == (grpc.StatusCode.NOT_FOUND if allowed
                                           else grpc.StatusCode.PERMISSION_DENIED), role


def test_every_rpc_enforces_its_role(secured: RunningServer, clean_store: object) -> None:
    with grpc.insecure_channel(f"127.0.0.1:{secured.port}") as channel:
        stub = pb_grpc.IdentityServiceStub(channel)
        for key in (None, "not-a-configured-key"):
            assert set(calls(stub, key).values()) == {grpc.StatusCode.UNAUTHENTICATED}
        for role, key in KEYS.items():
            for method, code in calls(stub, key).items():
                allowed = role == "admin" or METHOD_ROLES[
                    f"/idgraph.v1.IdentityService/{method}"] == Role(role)
                if allowed:  # past the role check: any answer but the auth refusals
                    assert code not in (grpc.StatusCode.UNAUTHENTICATED,
                                        grpc.StatusCode.PERMISSION_DENIED), (role, method)
                else:
                    assert code == grpc.StatusCode.PERMISSION_DENIED, (role, method)
        health = health_pb2_grpc.HealthStub(channel)  # open without a key
        assert health.Check(health_pb2.HealthCheckRequest(), timeout=5).status == \
            health_pb2.HealthCheckResponse.SERVING


def test_a_refused_call_writes_nothing(secured: RunningServer, clean_store: object) -> None:
    with grpc.insecure_channel(f"127.0.0.1:{secured.port}") as channel:
        stub = pb_grpc.IdentityServiceStub(channel)
        rec = pb.SourceRecord(source="crm", source_record_id="1",
                              identifiers=[pb.Identifier(type="phone", value="13912345678")])
        with pytest.raises(grpc.RpcError) as refused:
            stub.Ingest(pb.IngestRequest(record=rec), timeout=10,
                        metadata=[("authorization", f"Bearer {KEYS['reader']}")])
        assert refused.value.code() == grpc.StatusCode.PERMISSION_DENIED
        assert "reader-bot lacks the writer role" in (refused.value.details() or "")
        assert node_counts(clean_store).get("Record", 0) == 0  # type: ignore[arg-type]
        stub.Ingest(pb.IngestRequest(record=rec), timeout=10,
                    metadata=[("authorization", KEYS["writer"])])  # "Bearer" is optional
        assert node_counts(clean_store)["Record"] == 1  # type: ignore[arg-type]
        (created,) = stub.WatchChanges(pb.WatchChangesRequest(max_events=1), timeout=10,
                                       metadata=[("authorization", KEYS["reader"])])
        assert created.actor == "writer-bot"  # from the key, not from the request


@pytest.mark.parametrize("text, complaint", [
    ('[[keys]]\nactor = "a"\nroles = ["reader"]\nkey = "short"\n', "at least 16"),
    ('[[keys]]\nactor = "a"\nroles = ["root"]\nkey = "long-enough-key-123"\n', "root"),
    ('[[keys]]\nroles = ["reader"]\nkey = "long-enough-key-123"\n', "actor"),
    ('[[keys]]\nactor = "a"\nroles = ["reader"]\nkey = "long-enough-key-123"\n'
     '[[keys]]\nactor = "b"\nroles = ["admin"]\nkey = "long-enough-key-123"\n', "twice"),
    ("", "no [[keys]]"),
])
def test_a_bad_keys_file_is_a_config_error(tmp_path: Path, text: str, complaint: str) -> None:
    path = tmp_path / "keys.toml"
    path.write_text(text, encoding="utf-8")
    with pytest.raises(ConfigError, match=complaint.replace("[", r"\[")):
        ApiKeys.load(path)


def test_tls_serves_only_tls(engine: IdentityEngine, clean_store: object) -> None:
    authority = trustme.CA()
    cert = authority.issue_cert("localhost")
    chain = b"".join(pem.bytes() for pem in cert.cert_chain_pems)
    running = build_server(engine, "127.0.0.1:0", tls=Tls(chain, cert.private_key_pem.bytes()))
    try:
        credentials = grpc.ssl_channel_credentials(authority.cert_pem.bytes())
        with grpc.secure_channel(f"localhost:{running.port}", credentials) as channel:
            answer = pb_grpc.IdentityServiceStub(channel).Resolve(pb.ResolveRequest(
                identifiers=[pb.Identifier(type="phone", value="13912345678")]), timeout=10)
            assert answer.one_id == ""
        with grpc.insecure_channel(f"127.0.0.1:{running.port}") as plain:
            with pytest.raises(grpc.RpcError) as refused:
                pb_grpc.IdentityServiceStub(plain).Resolve(pb.ResolveRequest(), timeout=5)
            assert refused.value.code() == grpc.StatusCode.UNAVAILABLE
    finally:
        running.stop(grace=1)


def test_steward_rpcs_need_the_steward_role_and_erasure_admin(
        secured: RunningServer, clean_store: object) -> None:
    methods = spb.DESCRIPTOR.services_by_name["StewardService"].methods
    roles = {m.name: METHOD_ROLES[f"/idgraph.v1.StewardService/{m.name}"] for m in methods}
    for admin_only in ("ErasePerson", "SuppressIdentifier", "LiftSuppression"):
        assert roles.pop(admin_only) == Role.ADMIN
    assert set(roles.values()) == {Role.STEWARD}
    with grpc.insecure_channel(f"127.0.0.1:{secured.port}") as channel:
        stub = spb_grpc.StewardServiceStub(channel)
        attempts = {
            "ListReviewTasks": lambda md: stub.ListReviewTasks(
                spb.ListReviewTasksRequest(), metadata=md, timeout=10),
            "GetReviewTask": lambda md: stub.GetReviewTask(
                spb.GetReviewTaskRequest(task_id="t"), metadata=md, timeout=10),
            "DecideReviewTask": lambda md: stub.DecideReviewTask(spb.DecideReviewTaskRequest(
                task_id="t", decision=spb.REVIEW_DECISION_MERGE, reason="r"),
                metadata=md, timeout=10),
            "MergePersons": lambda md: stub.MergePersons(spb.MergePersonsRequest(
                one_ids=["oid_" + "0" * 26, "oid_" + "1" * 26], reason="r"),
                metadata=md, timeout=10),
            "ErasePerson": lambda md: stub.ErasePerson(spb.ErasePersonRequest(
                one_id="oid_" + "0" * 26, reason="ticket 1"), metadata=md, timeout=10),
            "GetHistory": lambda md: stub.GetHistory(spb.GetHistoryRequest(
                one_id="oid_" + "0" * 26), metadata=md, timeout=10),
            "SplitPerson": lambda md: stub.SplitPerson(spb.SplitPersonRequest(
                one_id="oid_" + "0" * 26, records=[pb.RecordRef(source="a",
                                                                 source_record_id="1")],
                reason="r"), metadata=md, timeout=10),
            "SuppressIdentifier": lambda md: stub.SuppressIdentifier(
                spb.SuppressIdentifierRequest(identifier=pb.Identifier(
                    type="phone", value="13912345678"), reason="do not process"),
                metadata=md, timeout=10),
            "LiftSuppression": lambda md: stub.LiftSuppression(spb.LiftSuppressionRequest(
                identifier=pb.Identifier(type="phone", value="13912345678"), reason="r"),
                metadata=md, timeout=10),
        }
        assert set(attempts) == {m.name for m in methods}
        for role, key in KEYS.items():
            for name, attempt in attempts.items():
                try:
                    attempt([("authorization", f"Bearer {key}")])
                    code = grpc.StatusCode.OK
                except grpc.RpcError as error:
                    code = error.code()
                needed = METHOD_ROLES[f"/idgraph.v1.StewardService/{name}"]
                if role == "admin" or needed == Role(role):
                    assert code not in (grpc.StatusCode.UNAUTHENTICATED,
                                        grpc.StatusCode.PERMISSION_DENIED), (role, name)
                else:
                    assert code == grpc.StatusCode.PERMISSION_DENIED, (role, name)
        with pytest.raises(grpc.RpcError) as anonymous:
            attempts["ListReviewTasks"]([])
        assert anonymous.value.code() == grpc.StatusCode.UNAUTHENTICATED
