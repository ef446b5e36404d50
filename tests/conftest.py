"""Shared fixtures. Neo4j is real: the suite starts a local server on a free port (or uses
IDGRAPH_TEST_NEO4J_URI). A test that needs Neo4j fails when it cannot have one."""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path

import grpc
import pytest

from idgraph.api.server import RunningServer, build_server
from idgraph.domain.rules import Rules, load_rules
from idgraph.engine import IdentityEngine
from idgraph.localdb import LocalNeo4j, free_port
from idgraph.store.neo4j_store import Neo4jStore
from idgraph.v1 import identity_pb2_grpc, steward_pb2_grpc, vehicle_pb2_grpc

ROOT = Path(__file__).resolve().parent.parent
SECRET = b"test-secret"


@pytest.fixture(scope="session")
def neo4j_uri(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """Bolt URI of a real Neo4j for this test session."""
    given = os.environ.get("IDGRAPH_TEST_NEO4J_URI")
    if given:
        yield given
        return
    lib = Path(os.environ.get("IDGRAPH_NEO4J_LIB", ROOT / ".neo4j" / "lib"))
    server = LocalNeo4j(tmp_path_factory.mktemp("neo4j"), lib, free_port(), heap="1g",
                        pagecache="256m")
    server.start(timeout=180)
    try:
        yield server.uri
    finally:
        server.stop()


@pytest.fixture(scope="session")
def store(neo4j_uri: str) -> Iterator[Neo4jStore]:
    """A migrated store on the session's Neo4j."""
    s = Neo4jStore(neo4j_uri, "neo4j", os.environ.get("IDGRAPH_TEST_NEO4J_PASSWORD", ""))
    s.wait_until_ready(60)
    s.migrate()
    yield s
    s.close()


@pytest.fixture
def clean_store(store: Neo4jStore) -> Neo4jStore:
    """The store with every node but the migration log removed."""
    store.run_cypher("MATCH (n) WHERE NOT n:SchemaMigration DETACH DELETE n")
    return store


@pytest.fixture(scope="session")
def rules() -> Rules:
    """The shipped default rules."""
    return load_rules()


@pytest.fixture
def engine(clean_store: Neo4jStore, rules: Rules) -> Iterator[IdentityEngine]:
    """An engine over a clean graph."""
    engine = IdentityEngine(clean_store, rules, SECRET)
    yield engine
    engine.close()


@pytest.fixture
def grpc_server(engine: IdentityEngine) -> Iterator[RunningServer]:
    """A real gRPC server on an ephemeral port over the clean graph."""
    running = build_server(engine, "127.0.0.1:0", workers=32, max_message_bytes=1024 * 1024)
    yield running
    running.stop(grace=1)


@pytest.fixture
def channel(grpc_server: RunningServer) -> Iterator[grpc.Channel]:
    """A client channel to the test server."""
    with grpc.insecure_channel(f"127.0.0.1:{grpc_server.port}") as ch:
        grpc.channel_ready_future(ch).result(timeout=10)
        yield ch


@pytest.fixture
def stub(channel: grpc.Channel) -> identity_pb2_grpc.IdentityServiceStub:
    """IdentityService client."""
    return identity_pb2_grpc.IdentityServiceStub(channel)


@pytest.fixture
def steward(channel: grpc.Channel) -> steward_pb2_grpc.StewardServiceStub:
    """StewardService client."""
    return steward_pb2_grpc.StewardServiceStub(channel)


@pytest.fixture
def vehicles(channel: grpc.Channel) -> vehicle_pb2_grpc.VehicleServiceStub:
    """VehicleService client."""
    return vehicle_pb2_grpc.VehicleServiceStub(channel)
