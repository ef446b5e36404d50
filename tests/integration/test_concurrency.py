"""Parallel ingests on overlapping identifiers: never two OneIDs where one is right, never a
lost merge. The expected clustering is the connected components of records and shared
identifiers, which no arrival order or interleaving may change."""

from __future__ import annotations

import random
from concurrent.futures import ThreadPoolExecutor

import networkx as nx
import pytest

from idgraph.domain.records import RawRecord
from idgraph.domain.working_set import IngestOutcome
from idgraph.engine import IdentityEngine
from idgraph.store.neo4j_store import Neo4jStore
from tests.integration.helpers import check_invariants, rec

pytestmark = pytest.mark.integration

WRITERS = 24


def generate(seed: int, people: int, records_per_person: int) -> list[RawRecord]:
    rng = random.Random(seed)
    records = []
    for p in range(people):
        identifiers = [("phone", f"139{p:04d}{k:04d}") for k in range(2)] + \
            [("email", f"p{p}@163.com"), ("crm_id", f"C{p}")]
        for r in range(records_per_person):
            chosen = rng.sample(identifiers, rng.choice((1, 1, 2)))
            records.append(rec(rng.choice(("crm", "app", "wechat")), f"p{p}r{r}", *chosen))
    rng.shuffle(records)
    return records


def expected_clusters(records: list[RawRecord]) -> set[frozenset[str]]:
    graph = nx.Graph()
    for r in records:
        node = f"{r.source}|{r.source_record_id}"
        graph.add_node(node)
        for i in r.identifiers:
            graph.add_edge(node, ("id", i.type, i.value))
    return {frozenset(n for n in component if isinstance(n, str))
            for component in nx.connected_components(graph)}


def actual_clusters(store: Neo4jStore) -> set[frozenset[str]]:
    rows = store.run_cypher("MATCH (r:Record)-[:PART_OF]->(p:Person) "
                            "RETURN p.one_id AS one_id, collect(r.key) AS keys")
    return {frozenset(row["keys"]) for row in rows}


@pytest.mark.parametrize(("seed", "path"), [(1, "group-commit"), (2, "group-commit"),
                                            (3, "one-transaction-each"),
                                            (4, "one-transaction-each")])
def test_concurrent_writers_on_overlapping_identifiers(
        engine: IdentityEngine, clean_store: Neo4jStore, seed: int, path: str) -> None:
    """`group-commit` is what Ingest does; `one-transaction-each` runs every record in its own
    concurrent transaction, so only Neo4j's locks keep the writers apart."""
    records = generate(seed, people=12, records_per_person=25)

    def one_transaction(record: RawRecord) -> IngestOutcome:
        return engine.ingestion.ingest_batch([engine.ingestion.prepare(record)])[0]

    ingest = engine.ingest if path == "group-commit" else one_transaction
    with ThreadPoolExecutor(max_workers=WRITERS) as pool:
        outcomes = list(pool.map(ingest, records))
    assert len(outcomes) == len(records)
    check_invariants(clean_store)
    assert actual_clusters(clean_store) == expected_clusters(records)
    merged_away = {oid for o in outcomes for oid in o.merged_one_ids}
    survivors = {row["one_id"] for row in clean_store.run_cypher(
        "MATCH (p:Person {status: 'active'}) RETURN p.one_id AS one_id")}
    assert not merged_away & survivors
    for one_id in {o.one_id for o in outcomes}:
        assert engine.profile(one_id).profile.one_id in survivors


def test_concurrent_resends_create_one_record(engine: IdentityEngine,
                                              clean_store: Neo4jStore) -> None:
    record = rec("crm", "same", ("phone", "13912345678"), name="张伟")
    with ThreadPoolExecutor(max_workers=16) as pool:
        outcomes = list(pool.map(engine.ingest, [record] * 32))
    assert len({o.one_id for o in outcomes}) == 1
    rows = clean_store.run_cypher("MATCH (r:Record) RETURN count(r) AS n")
    assert rows[0]["n"] == 1
    check_invariants(clean_store)
