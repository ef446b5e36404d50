"""Health follows Neo4j: NOT_SERVING (the server and each service) while Neo4j does not
answer, SERVING again once it does, and calls work again without a restart."""

from __future__ import annotations

import time
from collections.abc import Iterator

import grpc
import pytest
from grpc_health.v1 import health_pb2, health_pb2_grpc

from idgraph.api.server import SERVICE_NAMES, build_server
from idgraph.client import Client, Unavailable, source_record
from idgraph.domain.rules import load_rules
from idgraph.engine import IdentityEngine
from idgraph.localdb import LocalNeo4j, free_port
from idgraph.store.neo4j_store import Neo4jStore
from tests.conftest import ROOT, SECRET

pytestmark = pytest.mark.e2e


@pytest.fixture
def own_neo4j(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LocalNeo4j]:
    """A Neo4j of this test's own, to stop and start again."""
    server = LocalNeo4j(tmp_path_factory.mktemp("readiness"), ROOT / ".neo4j" / "lib",
                        free_port(), heap="512m", pagecache="64m")
    server.start(timeout=180)
    yield server
    server.stop()


def statuses(port: int) -> dict[str, int]:
    with grpc.insecure_channel(f"127.0.0.1:{port}") as channel:
        health = health_pb2_grpc.HealthStub(channel)
        return {name: health.Check(health_pb2.HealthCheckRequest(service=name),
                                   timeout=5).status
                for name in ("", *SERVICE_NAMES)}


def wait_for(port: int, status: int, seconds: float = 60) -> dict[str, int]:
    deadline = time.monotonic() + seconds
    while True:
        found = statuses(port)
        if set(found.values()) == {status} or time.monotonic() > deadline:
            return found
        time.sleep(0.2)


def test_health_goes_not_serving_while_neo4j_is_down_and_back_after(
        own_neo4j: LocalNeo4j) -> None:
    store = Neo4jStore(own_neo4j.uri, "neo4j", "", retry_seconds=1)
    store.wait_until_ready(60)
    store.migrate()
    engine = IdentityEngine(store, load_rules(), SECRET)
    running = build_server(engine, "127.0.0.1:0", readiness_interval=0.3)
    serving, down = (health_pb2.HealthCheckResponse.SERVING,
                     health_pb2.HealthCheckResponse.NOT_SERVING)
    try:
        assert set(statuses(running.port).values()) == {serving}
        with Client(f"127.0.0.1:{running.port}", retries=0, timeout=20) as client:
            client.ingest(source_record("crm", "before", [("phone", "13912345678")]))
            own_neo4j.stop()
            assert set(wait_for(running.port, down).values()) == {down}
            with pytest.raises(Unavailable):
                client.get_profile(identifier={"type": "phone", "value": "13912345678"})
            own_neo4j.start(timeout=180)
            assert set(wait_for(running.port, serving).values()) == {serving}
            profile = client.get_profile(identifier={"type": "phone",
                                                     "value": "13912345678"}).profile
            assert [r.source_record_id for r in profile.records] == ["before"]
    finally:
        running.stop(grace=1)
        engine.close()
        store.close()
