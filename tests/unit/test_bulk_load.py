"""The initial load's CSV set: what the importer reads back as each stored value."""

from __future__ import annotations

import itertools
from pathlib import Path

import pytest

from idgraph.bulk_load import (
    ARRAY_DELIMITER,
    Graph,
    Millis,
    Planned,
    _cell,
    build_graph,
    partition,
    resolve_all,
    resolve_partitioned,
    write_csv,
)
from idgraph.domain.records import Limits, PreparedRecord, prepare_record
from idgraph.domain.rules import load_rules
from idgraph.domain.working_set import lookup_keys
from idgraph.errors import InvalidInput
from idgraph.record_json import DEFAULT_ZONE, record_from_json
from tests.unit.factories import NOW, SECRET


def test_an_empty_string_is_a_property_and_none_is_none() -> None:
    assert _cell("") == '""'  # Identifier.scope '' is read back as ''
    assert _cell(None) == ""  # Vehicle.model absent stays absent
    assert _cell('say "hi", 1') == '"say ""hi"", 1"'


def test_times_are_utc_iso_with_milliseconds_before_and_after_1970() -> None:
    assert _cell(Millis(1714552200123)) == "2024-05-01T08:30:00.123Z"
    assert _cell(Millis(-1)) == "1969-12-31T23:59:59.999Z"


def test_lists_join_on_the_array_delimiter_and_refuse_it_inside() -> None:
    assert _cell(["a\x1fb,c;d", "e"]) == f'"a\x1fb,c;d{ARRAY_DELIMITER}e"'
    with pytest.raises(ValueError, match="array delimiter"):
        _cell([f"x{ARRAY_DELIMITER}y"])


def test_headers_type_each_column_and_only_endpoints_get_an_id(tmp_path: Path) -> None:
    graph = Graph()
    graph.node("Person", "p1").update(one_id="p1", status="active", created_at=Millis(0))
    graph.node("ChangeEvent", "1").update(position=1, score=0.5, related=["p1"])
    graph.edge("MERGED_INTO", ("Person", "p1"), ("Person", "p1"), {"event_id": "e"})
    arguments = write_csv(graph, tmp_path)
    assert (tmp_path / "nodes_Person_header.csv").read_text() == \
        "created_at:datetime,one_id:ID(Person),status:string\n"
    assert (tmp_path / "nodes_ChangeEvent_header.csv").read_text() == \
        "position:long,related:string[],score:double\n"
    assert (tmp_path / "edges_MERGED_INTO_Person_Person.csv").read_text() == '"p1","p1","e"\n'
    assert len(arguments) == 3 and arguments[-1].startswith("--relationships=MERGED_INTO=")


def test_only_files_with_line_breaks_are_read_as_multiline(tmp_path: Path) -> None:
    graph = Graph()
    graph.node("Person", "p1").update(one_id="p1")
    graph.node("Record", "r1").update(key="r1", source_record_id="a\nb")
    graph.node("Record", "r2").update(key="r2", source_record_id="ab")
    graph.edge("PART_OF", ("Record", "r1"), ("Person", "p1"))
    arguments = write_csv(graph, tmp_path)
    assert arguments[-2:] == ["--multiline-fields-format=v2",
                              f"--multiline-fields={tmp_path / 'nodes_Record.csv'}"]
    assert (tmp_path / "nodes_Record.csv").read_text() == '"r1","a\nb"\n"r2","ab"\n'
    graph.node("Record", "r1")["source_record_id"] = "a b"
    assert not any("multiline" in a for a in write_csv(graph, tmp_path / "plain"))


def _generated(n: int, seed: int) -> list[PreparedRecord]:
    """Generated records (households, transfers, consultants, dirty data), shuffled so
    that people merge and split."""
    import json
    import random
    import tempfile

    from bench.datagen import write

    rules = load_rules()
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "records.jsonl"
        write(n, path, seed=seed)
        lines = path.read_text(encoding="utf-8").splitlines()
    records = []
    for line in lines:
        try:
            records.append(prepare_record(record_from_json(json.loads(line), DEFAULT_ZONE),
                                          rules, Limits(), SECRET, NOW, lenient=True))
        except InvalidInput:
            continue
    random.Random(seed).shuffle(records)
    return records


def _clusters(planned: Planned) -> set[frozenset[str]]:
    people: dict[str, set[str]] = {}
    for key, (_record, owner) in planned.plan.records.items():
        people.setdefault(owner, set()).add(key)
    return {frozenset(keys) for keys in people.values()}


def test_groups_never_split_records_that_share_a_key_they_look_up() -> None:
    rules = load_rules()
    records = _generated(1500, 5)
    groups = partition(records, rules, 3)
    assert sorted(i for g in groups for i in g) == list(range(len(records)))
    group_of = {i: n for n, g in enumerate(groups) for i in g}
    holders: dict[str, set[int]] = {}
    for i, record in enumerate(records):
        for key in lookup_keys(record.all_keys, rules):
            holders.setdefault(key, set()).add(group_of[i])
    assert all(len(found) == 1 for found in holders.values())
    assert min(len(g) for g in groups) > len(records) / 4  # balanced


def test_resolving_in_worker_processes_gives_the_clusters_of_one_view() -> None:
    rules = load_rules()
    records = _generated(3000, 3)
    counter = itertools.count()
    one_view = resolve_all(records, rules, NOW, lambda: f"oid{next(counter):09d}",
                           lambda: f"event{next(counter)}")
    workers = resolve_partitioned(records, rules, NOW, 2)
    assert one_view.plan.merges and one_view.plan.splits  # the order makes people merge
    assert _clusters(workers) == _clusters(one_view)
    assert len(workers.plan.merges) == len(one_view.plan.merges)
    assert len(workers.plan.review_tasks) == len(one_view.plan.review_tasks)
    assert [o.action for o in workers.outcomes] == [o.action for o in one_view.outcomes]
    assert len({o.one_id for o in workers.outcomes}) == len(
        {o.one_id for o in one_view.outcomes})


def test_reading_in_worker_processes_keeps_the_order_the_letters_and_the_counts(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    import json

    from bench.datagen import write
    from idgraph import backfill
    from idgraph.config import Settings
    from idgraph.serve import build_engine
    from idgraph.store.neo4j_store import Neo4jStore

    path = tmp_path / "records.jsonl"
    write(1500, path, seed=5)
    lines = path.read_text(encoding="utf-8").splitlines()
    lines[10] = "{not json"  # a dead letter
    bad = json.loads(lines[20])
    bad["identifiers"].append({"type": "phone", "value": "12"})  # a dropped value
    lines[20] = json.dumps(bad, ensure_ascii=False)
    lines.insert(30, "")  # a blank line: not a row
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    monkeypatch.setattr(backfill, "_CHUNK", 97)  # many chunks, in flight at once
    settings = Settings(hmac_secret="test-secret")
    store = Neo4jStore("bolt://127.0.0.1:9", "neo4j", "unused", "neo4j")  # never connected
    engine = build_engine(settings, store)
    try:
        read = {}
        for workers in (1, 2):
            letters = tmp_path / f"dead-{workers}.jsonl"
            [loaded] = backfill.read_files(engine.ingestion, [path], letters,
                                                 workers=workers)
            read[workers] = (loaded, letters.read_text("utf-8"),
                             backfill.warnings_path(letters).read_text("utf-8"))
    finally:
        engine.close()
        store.close()
    (one, dead_one, warn_one), (two, dead_two, warn_two) = read[1], read[2]
    assert [r.key for r in two.records] == [r.key for r in one.records]
    assert [r.fingerprint for r in two.records] == [r.fingerprint for r in one.records]
    assert two.state.counts == one.state.counts
    assert one.state.counts is not None and one.state.counts.read == len(lines) - 1
    assert one.state.counts.dead_letters >= 1 and one.state.counts.dropped_values >= 1
    assert two.state.line == one.state.line == len(lines)
    assert dead_two == dead_one and '"line": 11' in dead_one
    assert warn_two == warn_one and '"line": 21' in warn_one


def test_writers_in_worker_processes_write_the_files_one_process_writes(tmp_path: Path
                                                                         ) -> None:
    rules = load_rules()
    records = _generated(1500, 4)
    counter = itertools.count()
    planned = resolve_all(records, rules, NOW, lambda: f"oid{next(counter):09d}",
                          lambda: f"event{next(counter)}")
    graph = build_graph(planned, rules.blocking_slots)
    one = write_csv(graph, tmp_path / "one")
    two = write_csv(graph, tmp_path / "two", workers=2)
    assert [a.replace("/two/", "/one/") for a in two] == one and len(one) > 5
    written = sorted(p.name for p in (tmp_path / "one").iterdir())
    assert written == sorted(p.name for p in (tmp_path / "two").iterdir())
    for name in written:
        assert (tmp_path / "two" / name).read_bytes() == (tmp_path / "one" / name).read_bytes()
