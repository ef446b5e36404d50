"""``idgraph backfill`` on a real Neo4j: same clusters as single ingests, dead letters,
a resumed run that ends exactly like an uninterrupted one, and idempotent re-runs."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from idgraph.backfill import backfill_file
from idgraph.domain.records import RawRecord
from idgraph.engine import IdentityEngine
from idgraph.errors import ConfigError
from idgraph.store.neo4j_store import GraphTx, Neo4jStore
from tests.integration.helpers import check_invariants, node_counts, rec
from tests.integration.test_concurrency import actual_clusters, generate

pytestmark = pytest.mark.integration

WIPE = "MATCH (n) WHERE NOT n:SchemaMigration DETACH DELETE n"
BAD_ROWS = {7: "{not json", 30: json.dumps({"source": "crm", "sourceRecordId": "x1",
                                           "identifiers": [{"type": "phone",
                                                            "value": "12345"}]}),
            55: json.dumps({"sourceRecordId": "x2", "attributes": {"name": "张伟"}})}


def as_json(record: RawRecord) -> str:
    return json.dumps({"source": record.source, "sourceRecordId": record.source_record_id,
                       "identifiers": [{"type": i.type, "value": i.value, "scope": i.scope}
                                       for i in record.identifiers],
                       "attributes": record.attributes}, ensure_ascii=False)


@pytest.fixture
def records() -> list[RawRecord]:
    return generate(21, people=25, records_per_person=6)


@pytest.fixture
def data(tmp_path: Path, records: list[RawRecord]) -> Path:
    """The records as JSON Lines, with invalid rows and a blank line among them."""
    lines = [as_json(r) for r in records]
    for line_no, row in sorted(BAD_ROWS.items()):
        lines.insert(line_no - 1, row)
    lines.insert(12, "")
    path = tmp_path / "history.jsonl"
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return path


def test_backfill_gives_the_clusters_of_single_ingests_and_dead_letters(
        engine: IdentityEngine, clean_store: Neo4jStore, records: list[RawRecord],
        data: Path, tmp_path: Path) -> None:
    for record in records:
        engine.ingest(record)
    one_by_one = actual_clusters(clean_store)
    clean_store.run_cypher(WIPE)
    dead = tmp_path / "dead.jsonl"
    state = backfill_file(engine, data, dead, batch_size=16)
    assert actual_clusters(clean_store) == one_by_one
    counts = state.counts
    assert counts is not None and state.finished
    assert (counts.read, counts.ingested, counts.dead_letters) == (
        len(records) + 3, len(records), 3)
    assert counts.new_people + counts.merges >= len(one_by_one)
    letters = [json.loads(line) for line in dead.read_text(encoding="utf-8").splitlines()]
    assert [(d["line"], d["row"]) for d in letters] == [
        (n if n < 13 else n + 1, row) for n, row in sorted(BAD_ROWS.items())]
    assert "phone" in letters[1]["reason"] and "source" in letters[2]["reason"]
    check_invariants(clean_store)


@pytest.mark.parametrize("where", ["between batches", "inside a batch's transaction"])
def test_a_killed_backfill_resumes_to_exactly_the_uninterrupted_result(
        engine: IdentityEngine, clean_store: Neo4jStore, data: Path, tmp_path: Path,
        monkeypatch: pytest.MonkeyPatch, where: str) -> None:
    whole = backfill_file(engine, data, tmp_path / "whole-dead.jsonl", batch_size=16)
    expected, expected_counts = actual_clusters(clean_store), whole.counts
    clean_store.run_cypher(WIPE)
    engine.view.clear()
    dead = tmp_path / "dead.jsonl"
    owner, name = ((IdentityEngine, "ingest_batch") if where == "between batches"
                   else (GraphTx, "save_checkpoint"))  # after the batch's writes, same tx
    real = getattr(owner, name)
    calls = []

    def dies_the_fourth_time(*args: object, **kw: object) -> object:
        calls.append(1)
        if len(calls) == 4:
            raise KeyboardInterrupt  # Ctrl-C
        return real(*args, **kw)

    monkeypatch.setattr(owner, name, dies_the_fourth_time)
    with pytest.raises(KeyboardInterrupt):
        backfill_file(engine, data, dead, batch_size=16)
    monkeypatch.setattr(owner, name, real)
    engine.view.clear()  # a new process would start with an empty view
    partial = node_counts(clean_store)["Record"]
    assert partial == 3 * 16  # three batches committed with their checkpoints, not the 4th
    resumed = backfill_file(engine, data, dead, batch_size=16)
    assert actual_clusters(clean_store) == expected
    assert resumed.counts == expected_counts  # nothing lost, nothing counted twice
    assert len(dead.read_text(encoding="utf-8").splitlines()) == 3
    # A finished file changes nothing when run again, and neither does --restart.
    before = node_counts(clean_store)
    assert backfill_file(engine, data, dead, batch_size=16).counts == expected_counts
    again = backfill_file(engine, data, dead, batch_size=16, restart=True)
    assert again.counts is not None
    assert again.counts.unchanged == sum(len(cluster) for cluster in expected)
    assert node_counts(clean_store)["Record"] == before["Record"]
    assert node_counts(clean_store)["Person"] == before["Person"]
    check_invariants(clean_store)


def test_a_changed_file_is_not_resumed_blindly(engine: IdentityEngine, clean_store: Neo4jStore,
                                               tmp_path: Path) -> None:
    path = tmp_path / "f.jsonl"
    path.write_text(as_json(rec("crm", "1", ("phone", "13912345678"))) + "\n",
                    encoding="utf-8")
    backfill_file(engine, path, tmp_path / "dead.jsonl")
    path.write_text(path.read_text(encoding="utf-8")
                    + as_json(rec("crm", "2", ("phone", "13912345679"))) + "\n",
                    encoding="utf-8")
    with pytest.raises(Exception, match="changed since its checkpoint"):
        backfill_file(engine, path, tmp_path / "dead.jsonl")
    assert backfill_file(engine, path, tmp_path / "dead.jsonl", restart=True).counts.read == 2


def test_the_backfill_command_prints_progress_and_a_summary(
        clean_store: Neo4jStore, neo4j_uri: str, data: Path, tmp_path: Path,
        monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]) -> None:
    from idgraph.cli import main

    monkeypatch.setenv("IDGRAPH_NEO4J_URI", neo4j_uri)
    dead = tmp_path / "dead.jsonl"
    assert main(["backfill", str(data), "--dead-letters", str(dead), "--batch", "8"]) == 0
    out, err = capsys.readouterr()
    assert "history.jsonl: 100.0%" in err and "rows/s" in err
    assert "read 153, ingested 150, unchanged 0" in out and "dead letters 3" in out
    assert "time: parse+validate" in out and "(19 batches, 150 records)" in out
    assert main(["backfill", str(data), "--dead-letters", str(dead)]) == 0
    assert "read 153, ingested 150" in capsys.readouterr().out  # finished: nothing re-read
    assert node_counts(clean_store)["Record"] == 150


MAPPING = """
source = "dms"
source_record_id = "cust_no"
observed_at = "updated"
[identifiers]
mobile = "phone"
openid = { type = "wechat_openid", scope = "wx-1" }
[attributes]
cust_name = "name"
"""


def test_csv_with_a_column_mapping_resumes_by_row(engine: IdentityEngine,
                                                   clean_store: Neo4jStore, tmp_path: Path,
                                                   monkeypatch: pytest.MonkeyPatch) -> None:
    from idgraph.backfill import ColumnMapping

    (tmp_path / "map.toml").write_text(MAPPING, encoding="utf-8")
    mapping = ColumnMapping.load(tmp_path / "map.toml")
    rows = ["cust_no,mobile,openid,cust_name,updated"]
    for n in range(40):
        openid = f"o-{n // 2}" if n % 4 < 2 else ""  # rows 0+1, 4+5, ... share one
        rows.append(f'{n},139{n:08d},{openid},"王, {n}",2024-05-0{1 + n % 9}T08:00:00+08:00')
    rows.insert(6, "5b,12345,,bad phone,2024-05-01T08:00:00+08:00")
    rows.insert(9, '7b,13900000000,,"two\nlines",not-a-time')
    path = tmp_path / "dms.csv"
    path.write_text("\n".join(rows) + "\n", encoding="utf-8")
    dead = tmp_path / "dead.jsonl"
    calls = []
    real = IdentityEngine.ingest_batch

    def dies_on_the_third_batch(*args: object, **kw: object) -> object:
        calls.append(1)
        if len(calls) == 3:
            raise KeyboardInterrupt
        return real(*args, **kw)  # type: ignore[arg-type]

    monkeypatch.setattr(IdentityEngine, "ingest_batch", dies_on_the_third_batch)
    with pytest.raises(KeyboardInterrupt):
        backfill_file(engine, path, dead, batch_size=8, mapping=mapping)
    monkeypatch.setattr(IdentityEngine, "ingest_batch", real)
    state = backfill_file(engine, path, dead, batch_size=8, mapping=mapping)
    assert state.counts is not None
    assert (state.counts.read, state.counts.ingested, state.counts.dead_letters) == (42, 40, 2)
    letters = [json.loads(line) for line in dead.read_text(encoding="utf-8").splitlines()]
    assert [d["line"] for d in letters] == [7, 11]  # the second row spans two lines
    assert "phone" in letters[0]["reason"] and "not-a-time" in letters[1]["reason"]
    assert node_counts(clean_store)["Record"] == 40
    assert node_counts(clean_store)["Person"] == 40 - 10  # ten pairs share an openid
    (stored,) = clean_store.run_cypher(
        "MATCH (r:Record {key: 'dms|3'}) RETURN r.attributes AS a, r.observed_at AS t")
    assert json.loads(stored["a"]) == {"name": "王, 3"} and stored["t"].hour == 0
    check_invariants(clean_store)


def test_parquet_with_a_column_mapping_resumes_by_row(engine: IdentityEngine,
                                                       clean_store: Neo4jStore, tmp_path: Path,
                                                       monkeypatch: pytest.MonkeyPatch) -> None:
    from datetime import UTC, datetime, timedelta, timezone

    import pyarrow as pa
    import pyarrow.parquet as pq

    from idgraph.backfill import ColumnMapping

    (tmp_path / "map.toml").write_text(MAPPING, encoding="utf-8")
    mapping = ColumnMapping.load(tmp_path / "map.toml")
    east8 = timezone(timedelta(hours=8))
    rows = [{"cust_no": n, "mobile": 13900000000 + n,  # numbers, as a warehouse exports them
             "openid": f"o-{n // 2}" if n % 4 < 2 else None, "cust_name": f"王{n}",
             "updated": datetime(2024, 5, 1 + n % 9, 8, tzinfo=east8), "unused": n}
            for n in range(40)]
    rows.insert(6, {"cust_no": 1005, "mobile": 12345, "openid": None, "cust_name": "bad",
                    "updated": datetime(2024, 5, 1, tzinfo=UTC), "unused": 0})
    path = tmp_path / "dms.parquet"
    pq.write_table(pa.Table.from_pylist(rows), path, row_group_size=7)  # 6 row groups
    dead = tmp_path / "dead.jsonl"
    calls = []
    real = IdentityEngine.ingest_batch

    def dies_on_the_fourth_batch(*args: object, **kw: object) -> object:
        calls.append(1)
        if len(calls) == 4:
            raise KeyboardInterrupt
        return real(*args, **kw)  # type: ignore[arg-type]

    monkeypatch.setattr(IdentityEngine, "ingest_batch", dies_on_the_fourth_batch)
    with pytest.raises(KeyboardInterrupt):
        backfill_file(engine, path, dead, batch_size=8, mapping=mapping)
    monkeypatch.setattr(IdentityEngine, "ingest_batch", real)
    assert node_counts(clean_store)["Record"] == 24  # three batches of 8
    state = backfill_file(engine, path, dead, batch_size=8, mapping=mapping)
    assert state.counts is not None
    assert (state.counts.read, state.counts.ingested, state.counts.dead_letters) == (41, 40, 1)
    (letter,) = [json.loads(line) for line in dead.read_text(encoding="utf-8").splitlines()]
    assert letter["line"] == 7 and "phone" in letter["reason"]  # the row's number
    assert node_counts(clean_store)["Record"] == 40
    assert node_counts(clean_store)["Person"] == 40 - 10  # ten pairs share an openid
    (stored,) = clean_store.run_cypher(
        "MATCH (r:Record {key: 'dms|3'}) RETURN r.attributes AS a, r.observed_at AS t")
    assert json.loads(stored["a"]) == {"name": "王3"} and stored["t"].hour == 0
    assert clean_store.run_cypher(
        "MATCH (:Record {key: 'dms|3'})-[:HAS_IDENTIFIER]->(i:Identifier {type: 'phone'}) "
        "RETURN i.value AS v")[0]["v"] == "13900000003"
    check_invariants(clean_store)
    with pytest.raises(ConfigError, match="needs a column mapping"):
        backfill_file(engine, path, dead)


def test_a_csv_without_a_mapping_or_with_missing_columns_is_refused(
        engine: IdentityEngine, clean_store: Neo4jStore, tmp_path: Path) -> None:
    from idgraph.backfill import ColumnMapping

    path = tmp_path / "x.csv"
    path.write_text("cust_no,mobile\n1,13912345678\n", encoding="utf-8")
    with pytest.raises(ConfigError, match="needs a column mapping"):
        backfill_file(engine, path, tmp_path / "dead.jsonl")
    (tmp_path / "map.toml").write_text(MAPPING, encoding="utf-8")
    with pytest.raises(ConfigError, match="openid"):
        backfill_file(engine, path, tmp_path / "dead.jsonl",
                      mapping=ColumnMapping.load(tmp_path / "map.toml"))


def test_kill_9_mid_run_then_resume_ends_with_the_records_of_an_uninterrupted_run(
        engine: IdentityEngine, clean_store: Neo4jStore, neo4j_uri: str,
        tmp_path: Path) -> None:
    import os
    import signal
    import subprocess
    import sys
    import time

    records = generate(33, people=400, records_per_person=5)
    path = tmp_path / "big.jsonl"
    path.write_text("".join(as_json(r) + "\n" for r in records), encoding="utf-8")
    backfill_file(engine, path, tmp_path / "whole-dead.jsonl", batch_size=50)
    expected = actual_clusters(clean_store)
    clean_store.run_cypher(WIPE)
    command = [sys.executable, "-m", "idgraph.cli", "backfill", str(path), "--batch", "50",
               "--dead-letters", str(tmp_path / "dead.jsonl")]
    env = {**os.environ, "IDGRAPH_NEO4J_URI": neo4j_uri, "IDGRAPH_LOG_LEVEL": "WARNING"}
    run = subprocess.Popen(command, env=env, stdout=subprocess.DEVNULL,
                           stderr=subprocess.DEVNULL)
    name = str(path.resolve())
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline:  # wait until some batches, not all, are committed
        state = clean_store.run_cypher("MATCH (c:BackfillCheckpoint {name: $name}) "
                                       "RETURN c.line AS line", name=name)
        if state and 300 <= state[0]["line"] < len(records) - 300:
            break
        assert run.poll() is None, "the backfill ended before it could be killed"
        time.sleep(0.02)
    run.send_signal(signal.SIGKILL)
    run.wait(30)
    committed = clean_store.run_cypher("MATCH (c:BackfillCheckpoint {name: $name}) "
                                       "RETURN c.line AS line, c.read AS read", name=name)[0]
    assert committed["line"] < len(records)  # killed mid-run
    assert node_counts(clean_store)["Record"] == committed["read"]  # checkpoint = graph
    finish = subprocess.run(command, env=env, capture_output=True, text=True, timeout=300)
    assert finish.returncode == 0, finish.stderr
    assert f"read {len(records)}, ingested {len(records)}, unchanged 0" in finish.stdout
    assert actual_clusters(clean_store) == expected
    check_invariants(clean_store)
