"""The writer's view and the pipeline give exactly the answers of reading the graph every
time (real Neo4j): another writer invalidates the view, a replaced record stops holding
what it dropped, and view on, off, tiny or pipelined all cluster alike."""

from __future__ import annotations

import random
from collections.abc import Callable

import pytest

from idgraph.domain.evaluation import evaluate
from idgraph.domain.resolution import Action
from idgraph.domain.rules import Rules
from idgraph.engine import IdentityEngine
from idgraph.graph_cache import GraphView
from idgraph.id_mapping import record_key
from idgraph.store.neo4j_store import Neo4jStore
from tests.integration.helpers import check_invariants, count, rec
from tests.synthetic import Labeled, dataset, trained_rules
from tests.unit.factories import SECRET

WIPE = "MATCH (n) WHERE NOT n:SchemaMigration DETACH DELETE n"
PHONE_A, PHONE_B = "13800138001", "13900139002"


@pytest.mark.parametrize("pipeline", [False, True])
def test_another_writer_invalidates_the_view(clean_store: Neo4jStore, rules: Rules,
                                             pipeline: bool) -> None:
    first = IdentityEngine(clean_store, rules, SECRET, pipeline=pipeline)
    second = IdentityEngine(clean_store, rules, SECRET)
    a = first.ingest(rec("crm", "1", ("phone", PHONE_A), name="李雷"))
    b = first.ingest(rec("crm", "2", ("phone", PHONE_B), name="李雷"))
    assert a.one_id != b.one_id
    # The second engine merges the two people behind the first engine's back...
    merged = second.ingest(rec("app", "3", ("phone", PHONE_A), ("phone", PHONE_B),
                               name="李雷"))
    assert merged.action == Action.MERGED
    # ...so the first engine's view is out of date: it must link to the survivor, not to
    # the person it remembers holding the phone.
    again = first.ingest(rec("dms", "4", ("phone", PHONE_B), name="李雷"))
    assert again.one_id == merged.one_id
    check_invariants(clean_store)
    first.close()
    second.close()


def test_replaced_record_stops_holding_what_it_dropped(clean_store: Neo4jStore,
                                                       rules: Rules) -> None:
    engine = IdentityEngine(clean_store, rules, SECRET, pipeline=False)
    person = dict(name="韩梅梅", birth_date="1991-05-06")
    first = engine.ingest(rec("crm", "1", ("phone", PHONE_A), **person))
    # The CRM corrects the record: the phone was wrong.
    engine.ingest(rec("crm", "1", ("phone", PHONE_B), **person))
    # Someone with the dropped phone and the same name and birth date is found through the
    # blocking key, but must be scored against what the person holds now (phone B): no link.
    other = engine.ingest(rec("lead", "9", ("phone", PHONE_A), **person))
    assert other.action not in (Action.LINKED, Action.MERGED)
    assert other.one_id != first.one_id
    check_invariants(clean_store)
    engine.close()


def test_blocking_keys_are_record_properties_not_nodes(clean_store: Neo4jStore,
                                                       rules: Rules) -> None:
    engine = IdentityEngine(clean_store, rules, SECRET)
    engine.ingest(rec("crm", "1", ("phone", PHONE_A), name="张伟", birth_date="1990-03-04"))
    assert count(clean_store, "MATCH (i:Identifier) WHERE i.type STARTS WITH '_block:' "
                 "RETURN count(i) AS n") == 0
    stored = clean_store.run_cypher("MATCH (r:Record) RETURN r.block0 AS block")
    assert stored[0]["block"].startswith("_block:")
    engine.close()


@pytest.fixture(scope="module")
def data() -> list[Labeled]:
    return dataset(150, seed=5, duplicates=1.5)


def _batches(size: int) -> Callable[[IdentityEngine, list[Labeled]], None]:
    def run(engine: IdentityEngine, shuffled: list[Labeled]) -> None:
        prepared = [engine.ingestion.prepare(d.record) for d in shuffled]
        for start in range(0, len(prepared), size):
            engine.ingestion.ingest_batch(prepared[start:start + size])
    return run


def _pipelined(engine: IdentityEngine, shuffled: list[Labeled]) -> None:
    futures = [engine.ingestion.submit(d.record) for d in shuffled]
    for future in futures:
        future.result()


def test_view_settings_and_pipeline_give_the_same_clusters(
        clean_store: Neo4jStore, data: list[Labeled]) -> None:
    rules = trained_rules(data)
    shuffled = list(data)
    random.Random(3).shuffle(shuffled)
    runs = {
        "no view": (GraphView(0), False, _batches(25)),
        "view": (GraphView(), False, _batches(25)),
        "tiny view": (GraphView(12), False, _batches(25)),
        "pipeline": (GraphView(), True, _pipelined),
        "pipeline, tiny view": (GraphView(40), True, _pipelined),
    }
    clusterings = {}
    for name, (view, pipeline, ingest) in runs.items():
        clean_store.run_cypher(WIPE)
        engine = IdentityEngine(clean_store, rules, SECRET, view=view, pipeline=pipeline,
                                group_commit_max_batch=20)
        try:
            ingest(engine, shuffled)
        finally:
            engine.close()
        check_invariants(clean_store)
        clusterings[name] = {record_key(s, r): one_id for s, r, one_id in clean_store.mapping()}
    reference = clusterings.pop("no view")
    assert len(set(reference.values())) < len(reference)  # some records did link
    for name, clustering in clusterings.items():
        agreement = evaluate(clustering, reference)
        assert agreement.pairwise.f1 == 1.0, name
        assert agreement.bcubed.f1 == 1.0, name
