"""The initial load through neo4j-admin (issue 17) builds the graph that ingesting the same
records as one batch builds: node for node, property for property, relationship for
relationship, on two real Neo4j servers."""

from __future__ import annotations

import json
import random
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest

from bench.datagen import write as generate
from idgraph.bulk_load import build_graph, finish_import, import_database, resolve_all, write_csv
from idgraph.domain.records import PreparedRecord, RawIdentifier, RawRecord, RawVehicle
from idgraph.domain.rules import Rules
from idgraph.engine import IdentityEngine
from idgraph.errors import InvalidInput
from idgraph.localdb import LocalNeo4j, free_port
from idgraph.record_json import DEFAULT_ZONE, record_from_json
from idgraph.store.neo4j_store import Neo4jStore
from tests.conftest import ROOT, SECRET

NOW = datetime(2026, 3, 1, 8, 0, tzinfo=UTC)


def twin_engine(store: Neo4jStore, rules: Rules) -> IdentityEngine:
    """An engine whose clock and randomness repeat, so two of them mint the same OneIDs
    and event ids for the same sequence of decisions."""
    return IdentityEngine(store, rules, SECRET, clock=lambda: NOW,
                          entropy=random.Random(17).randbytes)


def prepared(engine: IdentityEngine, tmp_path: Path, n: int) -> list[PreparedRecord]:
    """Generated records (households, transfers, dirty data) in a shuffled order, so that
    people merge and split, plus a test drive of a model, a referral and values with line
    breaks."""
    path = tmp_path / "records.jsonl"
    generate(n, path, seed=11)
    raws = [record_from_json(json.loads(line), DEFAULT_ZONE)
            for line in path.read_text(encoding="utf-8").splitlines()]
    raws.append(RawRecord("test_drive", "td-1", NOW, (RawIdentifier("phone", "13912345678"),),
                          {"name": "王伟"}, (RawVehicle("", "TEST_DRIVE", model="Model-S3"),)))
    raws.append(RawRecord("app", "ref-1", NOW, (RawIdentifier("app_user_id", "77"),),
                          {"name": "李娜"}, referred_by=(RawIdentifier("phone", "13912345678"),
                                                        RawIdentifier("email", "x@qq.com"))))
    # line breaks inside values, as spreadsheet exports hold them: the importer must read
    # the files they are in as multiline
    raws.append(RawRecord("dms", "row\n7", NOW,
                          (RawIdentifier("dms_customer_id", "K9\r\nX", scope="D1"),),
                          {"name": "王伟", "address": "上海市\n徐汇区"}))
    random.Random(3).shuffle(raws)
    found = []
    for raw in raws:
        try:
            found.append(engine.ingestion.prepare(raw, prefix="", actor="backfill", lenient=True))
        except InvalidInput:
            continue  # a structurally broken row: a dead letter in either path
    return found


def dump(store: Neo4jStore) -> tuple[list[str], list[str]]:
    """Every node (labels, properties) and relationship (type, ends, properties) as sorted
    text, the migration log aside."""
    nodes = store.run_cypher(
        "MATCH (n) WHERE NOT n:SchemaMigration "
        "RETURN labels(n) AS labels, properties(n) AS p, elementId(n) AS id")
    name = {row["id"]: f"{row['labels']}{_text(_identity(row['p']))}" for row in nodes}
    edges = store.run_cypher(
        "MATCH (a)-[r]->(b) WHERE NOT a:SchemaMigration "
        "RETURN type(r) AS type, elementId(a) AS a, elementId(b) AS b, properties(r) AS p")
    return (sorted(f"{row['labels']} {_text(row['p'])}" for row in nodes),
            sorted(f"{name[row['a']]} -[{row['type']} {_text(row['p'])}]-> {name[row['b']]}"
                   for row in edges))


def _identity(properties: dict[str, Any]) -> Any:
    for key in ("one_id", "key", "vin", "model", "code", "event_id", "task_id", "position",
                "name"):
        if key in properties:
            return properties[key]
    return properties


def _text(value: Any) -> str:
    if isinstance(value, dict):
        return "{" + ", ".join(f"{k}: {_text(v)}" for k, v in sorted(value.items())) + "}"
    if isinstance(value, list):
        return "[" + ", ".join(_text(v) for v in value) + "]"
    if hasattr(value, "iso_format"):
        return str(value.iso_format())
    return repr(value)


@pytest.fixture
def imported_server(tmp_path: Path) -> Iterator[LocalNeo4j]:
    server = LocalNeo4j(tmp_path / "bulk-home", ROOT / ".neo4j" / "lib", free_port(),
                        heap="512m", pagecache="128m")
    yield server
    server.stop()


def test_the_initial_load_builds_the_graph_one_batch_builds(
        clean_store: Neo4jStore, rules: Rules, tmp_path: Path,
        imported_server: LocalNeo4j) -> None:
    online = twin_engine(clean_store, rules)
    records = prepared(online, tmp_path, 3000)
    try:
        online.ingestion.ingest_batch(records)
    finally:
        online.close()
    expected = dump(clean_store)

    bulk = twin_engine(clean_store, rules)
    try:
        planned = resolve_all(records, rules, NOW, lambda: bulk.core.mint_one_id(NOW),
                              bulk.core.new_id)
    finally:
        bulk.close()
    graph = build_graph(planned, rules.blocking_slots)
    import_database(imported_server.home, imported_server.lib,
                    write_csv(graph, tmp_path / "csv"), heap="512m", threads=2)
    imported_server.start(timeout=180)
    store = Neo4jStore(imported_server.uri, "neo4j", "")
    try:
        store.wait_until_ready(60)
        store.migrate()
        assert finish_import(store) and not finish_import(store)  # once
        got = dump(store)
    finally:
        store.close()
    assert len(got[0]) == len(expected[0]) and len(got[1]) == len(expected[1])
    assert got[0] == expected[0]
    assert got[1] == expected[1]
    # what the data holds: merges, splits, a review task, closed ownerships, a model, a
    # referral to an identifier nobody holds
    for label in ("['Vehicle']", "['Model']", "['MergeEvent']", "['SplitEvent']",
                  "['ReviewTask']", "['ChangeEvent']", "['Dealer']"):
        assert any(n.startswith(label) for n in got[0]), label
    for kind in ("MERGED_INTO", "REFERRED_BY", "closed_by", "CONCERNS", "AT_DEALER"):
        assert any(kind in e for e in got[1]), kind
