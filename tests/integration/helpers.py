"""Helpers for tests against the real graph."""

from __future__ import annotations

from datetime import UTC, datetime

from idgraph.domain.records import RawIdentifier, RawRecord, RawVehicle
from idgraph.store.neo4j_store import Neo4jStore


def rec(source: str, rid: str, *identifiers: tuple[str, ...], vehicles: tuple[RawVehicle, ...] = (),
        observed: datetime | None = None, **attributes: str) -> RawRecord:
    return RawRecord(source, rid, observed, tuple(RawIdentifier(*i) for i in identifiers),
                     dict(attributes), vehicles)


def day(year: int, month: int = 1, d: int = 1) -> datetime:
    return datetime(year, month, d, tzinfo=UTC)


def count(store: Neo4jStore, query: str) -> int:
    return int(store.run_cypher(query)[0]["n"])  # type: ignore[arg-type]


def node_counts(store: Neo4jStore) -> dict[str, int]:
    """Nodes by label, without bookkeeping: the migration log, the write epoch and read
    events (written in the background after reads, see idgraph/audit.py)."""
    rows = store.run_cypher("MATCH (n) WHERE NOT n:SchemaMigration AND NOT n:WriteEpoch "
                            "AND NOT n:ReadEvent RETURN labels(n)[0] AS label, count(*) AS n")
    return {r["label"]: r["n"] for r in rows}


def active_people(store: Neo4jStore) -> int:
    return count(store, "MATCH (p:Person {status: 'active'}) RETURN count(p) AS n")


def check_invariants(store: Neo4jStore) -> None:
    """Graph invariants every test can rely on after any sequence of ingests."""
    bad = store.run_cypher("""
        MATCH (r:Record)
        OPTIONAL MATCH (r)-[:PART_OF]->(p:Person)
        WITH r, collect(p) AS people
        WHERE size(people) <> 1 OR people[0].status <> 'active'
        RETURN r.key AS key""")
    assert bad == [], f"records not on exactly one active person: {bad}"
    empty = store.run_cypher("MATCH (p:Person {status: 'active'}) "
                             "WHERE NOT (p)<-[:PART_OF]-(:Record) RETURN p.one_id AS one_id")
    assert empty == [], f"active people without records: {empty}"
    dangling = store.run_cypher("""
        MATCH (p:Person {status: 'merged'})
        OPTIONAL MATCH (s:Person {one_id: p.merged_into})
        WITH p, s WHERE s IS NULL OR s.status <> 'active' OR (p)<-[:PART_OF]-()
        RETURN p.one_id AS one_id""")
    assert dangling == [], f"redirects not pointing at an active person: {dangling}"
    created = store.run_cypher("""
        MATCH (p:Person)
        OPTIONAL MATCH (c:ChangeEvent {type: 'CREATED', one_id: p.one_id})
        WITH p, count(c) AS n WHERE n <> 1
        RETURN p.one_id AS one_id, n""")
    assert created == [], f"people without exactly one CREATED change: {created}"
    unreported = store.run_cypher("""
        MATCH (p:Person {status: 'merged'})
        OPTIONAL MATCH (c:ChangeEvent {type: 'MERGED'}) WHERE p.one_id IN c.related
        WITH p, count(c) AS n WHERE n <> 1
        RETURN p.one_id AS one_id, n""")
    assert unreported == [], f"merged people without exactly one MERGED change: {unreported}"
