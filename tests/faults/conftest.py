"""Fault tests: real processes killed and restarted on purpose. They share one Neo4j of
their own (never the suite's), which a test may kill; the fixture starts it again when a
test left it down, and every test starts from an empty graph."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from idgraph.domain.records import RawRecord
from idgraph.localdb import LocalNeo4j, free_port
from idgraph.store.neo4j_store import Neo4jStore
from idgraph.v1 import identity_pb2 as pb
from tests.conftest import ROOT

WIPE = "MATCH (n) WHERE NOT n:SchemaMigration DETACH DELETE n"


@pytest.fixture(scope="session")
def fault_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LocalNeo4j]:
    server = LocalNeo4j(tmp_path_factory.mktemp("faults"), ROOT / ".neo4j" / "lib",
                        free_port(), heap="768m", pagecache="128m")
    server.start(timeout=180)
    yield server
    server.stop()


@pytest.fixture
def fault_neo4j(fault_server: LocalNeo4j) -> Iterator[LocalNeo4j]:
    """The faults' Neo4j, running, migrated and empty."""
    if fault_server.process is None:
        fault_server.start(timeout=180)
    store = Neo4jStore(fault_server.uri, "neo4j", "")
    try:
        store.wait_until_ready(60)
        store.migrate()
        store.run_cypher(WIPE)
    finally:
        store.close()
    yield fault_server
    if fault_server.process is None:
        fault_server.start(timeout=180)


def to_pb(record: RawRecord) -> pb.SourceRecord:
    """The request form of a generated record."""
    return pb.SourceRecord(source=record.source, source_record_id=record.source_record_id,
                           identifiers=[pb.Identifier(type=i.type, value=i.value,
                                                      scope=i.scope or "")
                                        for i in record.identifiers],
                           attributes=dict(record.attributes))


def record_keys(store: Neo4jStore) -> list[tuple[str, str]]:
    """(source, source_record_id) of every stored record, sorted, repeats kept."""
    rows = store.run_cypher("MATCH (r:Record) RETURN r.source AS s, r.source_record_id AS i")
    return sorted((row["s"], row["i"]) for row in rows)
