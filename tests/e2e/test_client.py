"""idgraph.client.Client through a real server over a real Neo4j: typed calls, rich
errors, streamed loads with bounded memory and per-record errors, retries of UNAVAILABLE
for calls safe to repeat (and none for the others), API keys."""

from __future__ import annotations

import hashlib
import threading
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import grpc
import pytest

from idgraph.api.auth import ApiKeys
from idgraph.api.server import RunningServer, build_server
from idgraph.client import (
    Client,
    InvalidArgument,
    NotFound,
    PermissionDenied,
    Unauthenticated,
    Unavailable,
    source_record,
)
from idgraph.engine import IdentityEngine
from idgraph.localdb import free_port
from idgraph.store.neo4j_store import Neo4jStore
from idgraph.v1 import identity_pb2 as pb
from idgraph.v1 import steward_pb2 as spb
from tests.integration.helpers import node_counts

pytestmark = pytest.mark.e2e


@pytest.fixture
def client(grpc_server: RunningServer) -> Iterator[Client]:
    with Client(f"127.0.0.1:{grpc_server.port}") as c:
        yield c


def test_typed_calls_link_read_and_explain(client: Client) -> None:
    crm = client.ingest(source_record("crm", "c1", [("phone", "13912345678")],
                                      {"name": "张伟", "city": "上海"}))
    app = client.ingest(source_record("app", "a7", [("phone", "139 1234 5678"),
                                                     ("app_user_id", "A7")]))
    assert crm.decision == pb.DECISION_NEW and app.decision == pb.DECISION_LINKED
    assert app.one_id == crm.one_id
    again = client.ingest(source_record("app", "a7", [("phone", "139 1234 5678"),
                                                       ("app_user_id", "A7")]))
    assert again.decision == pb.DECISION_UNCHANGED
    profile = client.get_profile(one_id=crm.one_id).profile
    assert sorted(r.source for r in profile.records) == ["app", "crm"]
    by_identifier = client.get_profile(identifier=pb.Identifier(type="app_user_id",
                                                                value="A7"))
    assert by_identifier.profile.one_id == crm.one_id
    found = client.resolve(identifiers=[pb.Identifier(type="phone", value="13912345678")])
    assert found.one_id == crm.one_id and found.confidence > 0.9
    history = client.get_history(one_id=crm.one_id)
    assert history.entries
    with pytest.raises(TypeError, match="not both"):
        client.resolve(pb.ResolveRequest(), identifiers=[])


def test_refusals_raise_typed_errors_with_their_field_violations(
        client: Client, clean_store: Neo4jStore) -> None:
    client.ingest(source_record("crm", "c1", [("phone", "13912345678")]))
    before = node_counts(clean_store)
    bad = source_record("dms", "d1", [("phone", "13712345678")], vehicles=[pb.VehicleLink(
        vin="1M8GDM9A1KP042788", relation=pb.VEHICLE_RELATION_OWNER)])
    with pytest.raises(InvalidArgument) as refused:
        client.ingest(bad)
    assert [v.field for v in refused.value.violations] == ["record.vehicles[0].vin"]
    assert refused.value.code is grpc.StatusCode.INVALID_ARGUMENT
    assert "record.vehicles[0].vin" in str(refused.value)
    assert node_counts(clean_store) == before
    kept = client.ingest(bad, drop_invalid_values=True)
    assert [d.field for d in kept.dropped] == ["record.vehicles[0].vin"]
    with pytest.raises(NotFound):
        client.get_profile(one_id="oid_01ZZZZZZZZZZZZZZZZZZZZZZZZ")


def test_ingest_many_streams_with_bounded_memory_and_per_record_errors(
        client: Client, clean_store: Neo4jStore) -> None:
    pulled = 0
    high_water = 0
    answered = 0

    def records() -> Iterator[pb.SourceRecord]:
        nonlocal pulled, high_water
        for i in range(1200):
            pulled += 1
            high_water = max(high_water, pulled - answered)
            if i == 777:  # structurally broken: nothing to resolve
                yield source_record("crm", f"r{i}", [("phone", "12")])
            else:
                yield source_record("crm", f"r{i}", [("crm_id", f"C{i}")], {"name": "王芳"})

    results = []
    for result in client.ingest_many(records(), batch_size=100, in_flight=2):
        answered += 1
        results.append(result)
    assert [r.record.source_record_id for r in results] == [f"r{i}" for i in range(1200)]
    assert [r.response.source_record_id for r in results] == [f"r{i}" for i in range(1200)]
    failed = [r for r in results if not r.ok]
    assert [r.record.source_record_id for r in failed] == ["r777"]
    assert isinstance(failed[0].error, InvalidArgument) and failed[0].error.violations
    assert all(r.response.one_id.startswith("oid_") for r in results if r.ok)
    # never more than the batches in flight (plus the one being taken) ahead of the answers
    assert high_water <= 100 * 3
    assert node_counts(clean_store)["Record"] == 1199


class _Counting(grpc.UnaryUnaryClientInterceptor,  # type: ignore[misc]
                grpc.StreamStreamClientInterceptor):
    def __init__(self) -> None:
        self.calls: list[str] = []

    def intercept_unary_unary(self, continuation: Any, details: Any, request: Any) -> Any:
        self.calls.append(details.method.rsplit("/", 1)[1])
        return continuation(details, request)

    def intercept_stream_stream(self, continuation: Any, details: Any, requests: Any) -> Any:
        self.calls.append(details.method.rsplit("/", 1)[1])
        return continuation(details, requests)


def test_unavailable_is_retried_for_reads_and_ingest_only(engine: IdentityEngine) -> None:
    port = free_port()
    counting = _Counting()
    channel = grpc.intercept_channel(grpc.insecure_channel(f"127.0.0.1:{port}"), counting)
    client = Client(channel=channel, retries=3, backoff=0.01, max_backoff=0.02, timeout=5)
    with pytest.raises(Unavailable):  # nobody listens: a read is tried 1 + 3 times
        client.resolve(identifiers=[pb.Identifier(type="phone", value="13912345678")])
    assert counting.calls == ["Resolve"] * 4
    counting.calls.clear()
    with pytest.raises(Unavailable):  # a steward's write is tried once
        client.merge_persons(one_ids=["oid_a", "oid_b"],
                             reason="same person")
    assert counting.calls == ["MergePersons"]
    # the server comes up while a patient client retries: the call succeeds
    patient = Client(channel=channel, retries=40, backoff=0.05, max_backoff=0.1, timeout=5)
    servers: list[RunningServer] = []
    starter = threading.Timer(0.5, lambda: servers.append(
        build_server(engine, f"127.0.0.1:{port}")))
    starter.start()
    try:
        answer = patient.ingest(source_record("crm", "late", [("phone", "13912345678")]))
        assert answer.decision == pb.DECISION_NEW
    finally:
        starter.join()
        for server in servers:
            server.stop(grace=1)
        channel.close()


def test_ingest_many_sends_unanswered_batches_again_after_a_broken_stream(
        engine: IdentityEngine, clean_store: Neo4jStore) -> None:
    port = free_port()
    servers = [build_server(engine, f"127.0.0.1:{port}")]
    records = [source_record("crm", f"r{i}", [("crm_id", f"C{i}")]) for i in range(400)]
    counting = _Counting()
    channel = grpc.intercept_channel(grpc.insecure_channel(f"127.0.0.1:{port}"), counting)
    try:
        with Client(channel=channel, retries=40, backoff=0.05, max_backoff=0.2) as client:
            results = client.ingest_many(records, batch_size=20, in_flight=3)
            seen = [next(results) for _ in range(70)]  # batches 4..6 are on the wire now
            servers.pop().stop(grace=0)  # the stream breaks under the client
            servers.append(build_server(engine, f"127.0.0.1:{port}"))
            seen += list(results)
    finally:
        channel.close()
        for server in servers:
            server.stop(grace=1)
    assert counting.calls == ["IngestBatches", "IngestBatches"]  # broken once, then resumed
    assert [r.record.source_record_id for r in seen] == [f"r{i}" for i in range(400)]
    assert all(r.ok for r in seen)
    decisions = {r.response.decision for r in seen}
    assert decisions <= {pb.DECISION_NEW, pb.DECISION_UNCHANGED}
    stored = clean_store.run_cypher("MATCH (r:Record) RETURN count(r) AS n, "
                                    "count(DISTINCT r.source_record_id) AS ids")[0]
    assert stored == {"n": 400, "ids": 400}


def test_api_keys_and_roles(engine: IdentityEngine, tmp_path: Path) -> None:
    keys = tmp_path / "keys.toml"
    keys.write_text("\n".join(
        f'[[keys]]\nactor = "{role}-bot"\nroles = ["{role}"]\n'
        f'sha256 = "{hashlib.sha256(f"{role}-key-0123456789".encode()).hexdigest()}"\n'
        for role in ("reader", "writer")), encoding="utf-8")
    running = build_server(engine, "127.0.0.1:0", api_keys=ApiKeys.load(keys))
    address = f"127.0.0.1:{running.port}"
    try:
        with Client(address, api_key="writer-key-0123456789") as writer:
            one_id = writer.ingest(source_record("crm", "k1", [("phone", "13912345678")])).one_id
        with Client(address, api_key="reader-key-0123456789") as reader:
            assert reader.get_profile(one_id=one_id).profile.one_id == one_id
            with pytest.raises(PermissionDenied):
                reader.ingest(source_record("crm", "k2", [("phone", "13912345679")]))
            with pytest.raises(PermissionDenied):
                reader.list_review_tasks(status=spb.REVIEW_STATUS_OPEN)
        with Client(address) as anonymous, pytest.raises(Unauthenticated):
            anonymous.get_profile(one_id=one_id)
    finally:
        running.stop(grace=1)
