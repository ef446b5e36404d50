"""The clusters do not depend on the order records arrive in (real Neo4j, trained rules)."""

from __future__ import annotations

import random
from pathlib import Path

import pytest

from idgraph.domain.evaluation import evaluate
from idgraph.domain.rules import Rules
from idgraph.engine import IdentityEngine
from idgraph.id_mapping import record_key
from idgraph.store.neo4j_store import Neo4jStore
from tests.integration.helpers import check_invariants
from tests.synthetic import Labeled, dataset, trained_rules
from tests.unit.factories import SECRET

TEMPLATE = Path(__file__).resolve().parent.parent / "data" / "person_rules.toml"
WIPE = "MATCH (n) WHERE NOT n:SchemaMigration DETACH DELETE n"


@pytest.fixture(scope="module")
def data() -> list[Labeled]:
    return dataset(250, seed=11, duplicates=1.5)


@pytest.fixture(scope="module")
def trained(data: list[Labeled]) -> Rules:
    return trained_rules(data)


def _clustering(store: Neo4jStore) -> dict[str, str]:
    return {record_key(s, r): one_id for s, r, one_id in store.mapping()}


def test_three_orders_give_the_same_clusters(clean_store: Neo4jStore, trained: Rules,
                                             data: list[Labeled]) -> None:
    truth = {record_key(d.record.source, d.record.source_record_id): d.entity for d in data}
    clusterings = []
    for order in range(3):
        clean_store.run_cypher(WIPE)
        shuffled = list(data)
        random.Random(order).shuffle(shuffled)
        engine = IdentityEngine(clean_store, trained, SECRET)
        try:
            if order == 0:  # one at a time, as online Ingest calls arrive
                for d in shuffled:
                    engine.ingest(d.record)
            else:  # in batches, as BatchIngest and backfill resolve them
                prepared = [engine.ingestion.prepare(d.record) for d in shuffled]
                size = 16 if order == 1 else 97
                for start in range(0, len(prepared), size):
                    engine.ingestion.ingest_batch(prepared[start:start + size])
        finally:
            engine.close()
        check_invariants(clean_store)
        clustering = _clustering(clean_store)
        assert len(clustering) == len(data)
        quality = evaluate(clustering, truth).pairwise
        assert quality.precision > 0.98 and quality.recall > 0.95
        clusterings.append(clustering)
    for i in range(3):
        for j in range(i + 1, 3):
            assert evaluate(clusterings[j], clusterings[i]).pairwise.f1 >= 0.999
