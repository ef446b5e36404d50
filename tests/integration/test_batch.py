"""A batch committed in one transaction answers exactly as ingesting its records one by one."""

from __future__ import annotations

import random

import pytest

from idgraph.domain.resolution import Action
from idgraph.engine import IdentityEngine
from idgraph.store.neo4j_store import Neo4jStore
from tests.integration.helpers import check_invariants, rec
from tests.integration.test_concurrency import actual_clusters, generate

pytestmark = pytest.mark.integration


def test_links_and_merges_inside_one_batch(engine: IdentityEngine,
                                           clean_store: Neo4jStore) -> None:
    records = [engine.ingestion.prepare(r) for r in (
        rec("crm", "1", ("phone", "13912345678")),
        rec("app", "2", ("email", "li@163.com")),
        rec("app", "3", ("phone", "13912345678")),
        rec("wechat", "4", ("phone", "13912345678"), ("email", "li@163.com")),
        rec("media", "5", ("phone", "13800138000")),
        rec("media", "6", ("phone", "13800138000")),
        rec("crm", "1", ("phone", "13912345678")),  # re-sent inside the batch
    )]
    outcomes = engine.ingestion.ingest_batch(records)
    actions = [o.action for o in outcomes]
    assert actions == [Action.NEW, Action.NEW, Action.LINKED, Action.MERGED, Action.NEW,
                       Action.NEW, Action.UNCHANGED]
    assert outcomes[3].one_id == outcomes[0].one_id == outcomes[2].one_id
    assert outcomes[3].merged_one_ids == (outcomes[1].one_id,)
    assert engine.profile(outcomes[1].one_id).redirected
    assert outcomes[4].one_id != outcomes[5].one_id
    check_invariants(clean_store)


def test_batches_and_single_ingests_give_the_same_clusters(
        engine: IdentityEngine, clean_store: Neo4jStore) -> None:
    records = generate(9, people=15, records_per_person=8)
    for record in records:
        engine.ingestion.ingest_batch([engine.ingestion.prepare(record)])
    one_by_one = actual_clusters(clean_store)
    clean_store.run_cypher("MATCH (n) WHERE NOT n:SchemaMigration DETACH DELETE n")
    prepared = [engine.ingestion.prepare(r) for r in records]
    rng = random.Random(4)
    start = 0
    while start < len(prepared):
        size = rng.randint(1, 40)
        engine.ingestion.ingest_batch(prepared[start:start + size])
        start += size
    assert actual_clusters(clean_store) == one_by_one
    check_invariants(clean_store)
