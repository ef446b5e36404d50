"""``idgraph backfill`` on a real Neo4j: same clusters as single ingests, dead letters,
a resumed run that ends exactly like an uninterrupted one, and idempotent re-runs."""

from __future__ import annotations

import contextlib
import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from idgraph.backfill import backfill_file
from idgraph.domain.records import RawRecord
from idgraph.engine import IdentityEngine, Ingestion
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
    state = backfill_file(engine.ingestion, data, dead, batch_size=16)
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


@pytest.mark.parametrize("landed", [True, False])
def test_a_batch_whose_commit_failed_is_waited_out_and_counted_once(
        engine: IdentityEngine, clean_store: Neo4jStore, records: list[RawRecord],
        data: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, landed: bool) -> None:
    """Neo4j fails one batch: before its commit (nothing landed) or after it (the commit
    landed, the answer was lost). The backfill waits, finds out which by the checkpoint and
    ends with every record once and the counts of a run without the failure."""
    from idgraph.errors import Unavailable

    real, failures = engine.ingestion.ingest_batch, [0]

    def flaky(batch: Any, timeout: float | None = None, **options: Any) -> Any:
        if failures[0] == 0 and options.get("also") is not None:
            failures[0] += 1
            if landed:
                real(batch, timeout, **options)
            raise Unavailable("Neo4j unavailable: connection reset")
        return real(batch, timeout, **options)

    monkeypatch.setattr(engine.ingestion, "ingest_batch", flaky)
    state = backfill_file(engine.ingestion, data, tmp_path / "dead.jsonl", batch_size=16,
                          wait=30)
    assert failures == [1]
    counts = state.counts
    assert counts is not None and state.finished
    assert (counts.read, counts.ingested, counts.unchanged, counts.dead_letters) == (
        len(records) + 3, len(records), 0, 3)
    assert node_counts(clean_store)["Record"] == len(records)
    check_invariants(clean_store)


@pytest.mark.parametrize("where", ["between batches", "inside a batch's transaction"])
def test_a_killed_backfill_resumes_to_exactly_the_uninterrupted_result(
        engine: IdentityEngine, clean_store: Neo4jStore, data: Path, tmp_path: Path,
        monkeypatch: pytest.MonkeyPatch, where: str) -> None:
    whole = backfill_file(engine.ingestion, data, tmp_path / "whole-dead.jsonl", batch_size=16)
    expected, expected_counts = actual_clusters(clean_store), whole.counts
    clean_store.run_cypher(WIPE)
    engine.core.view.clear()
    dead = tmp_path / "dead.jsonl"
    owner, name = ((Ingestion, "ingest_batch") if where == "between batches"
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
        backfill_file(engine.ingestion, data, dead, batch_size=16)
    monkeypatch.setattr(owner, name, real)
    engine.core.view.clear()  # a new process would start with an empty view
    partial = node_counts(clean_store)["Record"]
    assert partial == 3 * 16  # three batches committed with their checkpoints, not the 4th
    resumed = backfill_file(engine.ingestion, data, dead, batch_size=16)
    assert actual_clusters(clean_store) == expected
    assert resumed.counts == expected_counts  # nothing lost, nothing counted twice
    assert len(dead.read_text(encoding="utf-8").splitlines()) == 3
    # A finished file changes nothing when run again, and neither does --restart.
    before = node_counts(clean_store)
    assert backfill_file(engine.ingestion, data, dead, batch_size=16).counts == expected_counts
    again = backfill_file(engine.ingestion, data, dead, batch_size=16, restart=True)
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
    backfill_file(engine.ingestion, path, tmp_path / "dead.jsonl")
    path.write_text(path.read_text(encoding="utf-8")
                    + as_json(rec("crm", "2", ("phone", "13912345679"))) + "\n",
                    encoding="utf-8")
    with pytest.raises(Exception, match="changed since its checkpoint"):
        backfill_file(engine.ingestion, path, tmp_path / "dead.jsonl")
    assert backfill_file(engine.ingestion, path, tmp_path / "dead.jsonl",
                         restart=True).counts.read == 2


def test_the_backfill_command_prints_progress_and_a_summary(
        clean_store: Neo4jStore, neo4j_uri: str, data: Path, tmp_path: Path,
        monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]) -> None:
    from idgraph.cli import main

    monkeypatch.setenv("IDGRAPH_NEO4J_URI", neo4j_uri)
    dead = tmp_path / "dead.jsonl"
    assert main(["backfill", str(data), "--dead-letters", str(dead), "--batch", "8",
                 "--transactional"]) == 0
    out, err = capsys.readouterr()
    assert "history.jsonl: 100.0%" in err and "rows/s" in err
    assert "read 153, ingested 150, unchanged 0" in out and "dead letters 3" in out
    assert "time: parse+validate" in out and "(19 batches, 150 records)" in out
    assert main(["backfill", str(data), "--dead-letters", str(dead), "--transactional"]) == 0
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
    rows.insert(6, "5b,12345,,,2024-05-01T08:00:00+08:00")  # nothing valid: refused
    rows.insert(9, '7b,13700000007,,"two\nlines",not-a-time')  # the time is dropped
    path = tmp_path / "dms.csv"
    path.write_text("\n".join(rows) + "\n", encoding="utf-8")
    dead = tmp_path / "dead.jsonl"
    calls = []
    real = Ingestion.ingest_batch

    def dies_on_the_third_batch(*args: object, **kw: object) -> object:
        calls.append(1)
        if len(calls) == 3:
            raise KeyboardInterrupt
        return real(*args, **kw)  # type: ignore[arg-type]

    monkeypatch.setattr(Ingestion, "ingest_batch", dies_on_the_third_batch)
    with pytest.raises(KeyboardInterrupt):
        backfill_file(engine.ingestion, path, dead, batch_size=8, mapping=mapping)
    monkeypatch.setattr(Ingestion, "ingest_batch", real)
    state = backfill_file(engine.ingestion, path, dead, batch_size=8, mapping=mapping)
    assert state.counts is not None
    assert (state.counts.read, state.counts.ingested, state.counts.dead_letters,
            state.counts.dropped_values) == (42, 41, 1, 1)
    (letter,) = [json.loads(line) for line in dead.read_text(encoding="utf-8").splitlines()]
    assert letter["line"] == 7 and "phone" in letter["reason"]
    (warning,) = [json.loads(line) for line in
                  (tmp_path / "dead.warnings.jsonl").read_text(encoding="utf-8").splitlines()]
    assert warning["line"] == 11  # the row spans two lines
    assert (warning["source_record_id"], warning["field"]) == ("7b", "observed_at")
    assert "not-a-time" in warning["reason"]
    assert node_counts(clean_store)["Record"] == 41
    assert node_counts(clean_store)["Person"] == 41 - 10  # ten pairs share an openid
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
    rows.insert(6, {"cust_no": 1005, "mobile": 12345, "openid": None, "cust_name": None,
                    "updated": datetime(2024, 5, 1, tzinfo=UTC), "unused": 0})
    path = tmp_path / "dms.parquet"
    pq.write_table(pa.Table.from_pylist(rows), path, row_group_size=7)  # 6 row groups
    dead = tmp_path / "dead.jsonl"
    calls = []
    real = Ingestion.ingest_batch

    def dies_on_the_fourth_batch(*args: object, **kw: object) -> object:
        calls.append(1)
        if len(calls) == 4:
            raise KeyboardInterrupt
        return real(*args, **kw)  # type: ignore[arg-type]

    monkeypatch.setattr(Ingestion, "ingest_batch", dies_on_the_fourth_batch)
    with pytest.raises(KeyboardInterrupt):
        backfill_file(engine.ingestion, path, dead, batch_size=8, mapping=mapping)
    monkeypatch.setattr(Ingestion, "ingest_batch", real)
    assert node_counts(clean_store)["Record"] == 24  # three batches of 8
    state = backfill_file(engine.ingestion, path, dead, batch_size=8, mapping=mapping)
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
        backfill_file(engine.ingestion, path, dead)


def test_a_csv_without_a_mapping_or_with_missing_columns_is_refused(
        engine: IdentityEngine, clean_store: Neo4jStore, tmp_path: Path) -> None:
    from idgraph.backfill import ColumnMapping

    path = tmp_path / "x.csv"
    path.write_text("cust_no,mobile\n1,13912345678\n", encoding="utf-8")
    with pytest.raises(ConfigError, match="needs a column mapping"):
        backfill_file(engine.ingestion, path, tmp_path / "dead.jsonl")
    (tmp_path / "map.toml").write_text(MAPPING, encoding="utf-8")
    with pytest.raises(ConfigError, match="openid"):
        backfill_file(engine.ingestion, path, tmp_path / "dead.jsonl",
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
    backfill_file(engine.ingestion, path, tmp_path / "whole-dead.jsonl", batch_size=50)
    expected = actual_clusters(clean_store)
    clean_store.run_cypher(WIPE)
    command = [sys.executable, "-m", "idgraph.cli", "backfill", str(path), "--batch", "50",
               "--dead-letters", str(tmp_path / "dead.jsonl"), "--transactional"]
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


EXPORT = [  # rows as brand and dealer systems export them
    {"source": "dms_sale", "source_record_id": "dms-1", "observed_at": "2024-12-19T11:35:02Z",
     "identifiers": [{"type": "phone", "value": "+86 183-1607-8643"},
                     {"type": "vin", "value": "LJCPCBLCX11000237"}],
     "attributes": {"name": "冯梓豪", "dealer": "SZ004"},
     "vehicles": [{"vin": "LJCPCBLCX11000237", "relation": "OWNER", "model": "Model-X5",
                   "since": "2021-07"}]},
    {"source": "test_drive", "source_record_id": "td-1", "observed_at": "2020-12-04 16:40:21",
     "identifiers": [{"type": "phone", "value": "152 9059 9159"},
                     {"type": "phone", "value": "12345678901"}],
     "attributes": {"name": "任先生", "dealer": "NB001"},
     "vehicles": [{"relation": "test_drive", "model": "Model-X5"}]},
    {"source": "app", "source_record_id": "app-1", "observed_at": 1626309000123,
     "identifiers": [{"type": "device_id", "value": "3F2A9C0B1D4E5F60"},
                     {"type": "device_id", "value": "00000000-0000-0000-0000-000000000000"},
                     {"type": "app_user_id", "value": "U1"}],
     "attributes": {"consent_marketing": "maybe", "city": "宁波"},
     "vehicles": [{"relation": "Interested", "model": "Model-E5", "since": "2021/07/15"},
                  {"relation": "SERVICE", "model": "Model-X5"}]},
    {"source": "service", "source_record_id": "svc-1", "observed_at": "2023-03-01",
     "identifiers": [{"type": "phone", "value": "18316078643"}],
     "vehicles": [{"vin": "LJCPCBLCX11000237", "relation": "service", "plate": "浙b·736a9"}]},
]


def test_a_backfill_of_rows_as_exports_write_them_refuses_nothing(
        clean_store: Neo4jStore, neo4j_uri: str, tmp_path: Path,
        monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]) -> None:
    from idgraph.cli import main

    path = tmp_path / "export.jsonl"
    path.write_text("".join(json.dumps(r, ensure_ascii=False) + "\n" for r in EXPORT),
                    encoding="utf-8")
    monkeypatch.setenv("IDGRAPH_NEO4J_URI", neo4j_uri)
    dead = tmp_path / "dead.jsonl"
    assert main(["backfill", str(path), "--dead-letters", str(dead), "--transactional"]) == 0
    out = capsys.readouterr().out
    assert "read 4, ingested 4" in out and "dead letters 0" in out
    assert "values dropped 3" in out and "dropped        1  test_drive" in out
    assert dead.read_text(encoding="utf-8") == ""
    warnings = [json.loads(line) for line in
                (tmp_path / "dead.warnings.jsonl").read_text(encoding="utf-8").splitlines()]
    assert [(w["line"], w["source"], w["field"], w["kind"]) for w in warnings] == [
        (2, "test_drive", "identifiers[1].value", "identifiers.phone"),
        (3, "app", "attributes['consent_marketing']", "attributes.consent_marketing"),
        (3, "app", "vehicles[1].vin", "vehicles.vin")]
    assert "invalid phone" in warnings[0]["reason"]
    mentions = clean_store.run_cypher(
        "MATCH (r:Record)-[m:MENTIONS]->(x) RETURN r.source_record_id AS rid, m.relation AS "
        "relation, x.model AS model, x.vin AS vin, m.since AS since ORDER BY rid, relation")
    assert [(m["rid"], m["relation"], m["model"], m["vin"]) for m in mentions] == [
        ("app-1", "INTERESTED", "Model-E5", None),
        ("dms-1", "OWNER", "Model-X5", "LJCPCBLCX11000237"),
        ("svc-1", "SERVICE", "Model-X5", "LJCPCBLCX11000237"),
        ("td-1", "TEST_DRIVE", "Model-X5", None)]
    since = mentions[1]["since"].to_native()  # July 2021 in China Standard Time
    assert (since.year, since.month, since.day, since.hour) == (2021, 6, 30, 16)
    (device,) = clean_store.run_cypher(
        "MATCH (i:Identifier {type: 'device_id'}) RETURN i.value AS value")
    assert device["value"] == "3f2a9c0b1d4e5f60"
    check_invariants(clean_store)


def test_csv_vehicles_by_short_relation_and_dates_as_exported(
        engine: IdentityEngine, clean_store: Neo4jStore, tmp_path: Path) -> None:
    from zoneinfo import ZoneInfo

    from idgraph.backfill import ColumnMapping

    (tmp_path / "map.toml").write_text(MAPPING.replace("[attributes]", """[vehicle]
vin = "vin"
relation = "rel"
model = "model"
since = "sold"
[attributes]"""), encoding="utf-8")
    mapping = ColumnMapping.load(tmp_path / "map.toml")
    path = tmp_path / "dms.csv"
    path.write_text("cust_no,mobile,openid,cust_name,updated,vin,rel,model,sold\n"
                    "1,13900000001,,张伟,2024/05/01 08:00:00,LJCPCBLCX11000237,owner,X5,2021-07\n"
                    "2,13900000002,,李娜,1714521600,,Test_Drive,X3,20240501\n"
                    "3,13900000003,,王芳,2024-05,,OWNER,X1,someday\n", encoding="utf-8")
    dead = tmp_path / "dead.jsonl"
    state = backfill_file(engine.ingestion, path, dead, mapping=mapping, zone=ZoneInfo("UTC"))
    assert state.counts is not None
    assert (state.counts.ingested, state.counts.dead_letters, state.counts.dropped_values
            ) == (3, 0, 2)
    warnings = [json.loads(line) for line in
                (tmp_path / "dead.warnings.jsonl").read_text(encoding="utf-8").splitlines()]
    assert [(w["source_record_id"], w["field"]) for w in warnings] == [
        ("3", "vehicles[0].since"), ("3", "vehicles[0].vin")]
    rows = clean_store.run_cypher(
        "MATCH (r:Record)-[m:MENTIONS]->(x) RETURN r.source_record_id AS rid, "
        "m.relation AS relation, x.model AS model, m.since AS since, r.observed_at AS at "
        "ORDER BY rid")
    assert [(r["rid"], r["relation"], r["model"]) for r in rows] == [
        ("1", "OWNER", "X5"), ("2", "TEST_DRIVE", "X3")]
    assert rows[0]["since"].to_native().isoformat() == "2021-07-01T00:00:00+00:00"
    assert rows[0]["at"].to_native().hour == 8  # naive: in the zone given (UTC here)
    check_invariants(clean_store)


def local_settings(home: Path) -> dict[str, str]:
    """Settings for a local Neo4j of the test's own (home, port, small memory)."""
    from idgraph.localdb import free_port
    from tests.conftest import ROOT

    return {"IDGRAPH_NEO4J_HOME": str(home), "IDGRAPH_NEO4J_BOLT_PORT": str(free_port()),
            "IDGRAPH_NEO4J_LIB": str(ROOT / ".neo4j" / "lib"),
            "IDGRAPH_NEO4J_HEAP": "512m", "IDGRAPH_NEO4J_PAGECACHE": "128m"}


def use_local(settings: dict[str, str], monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("IDGRAPH_NEO4J_URI", raising=False)
    for key, value in settings.items():
        monkeypatch.setenv(key, value)


@contextlib.contextmanager
def opened_local(settings: dict[str, str]) -> Iterator[Neo4jStore]:
    """The local Neo4j of `settings` started, and a store on it; stopped afterwards."""
    from idgraph.localdb import LocalNeo4j

    server = LocalNeo4j(Path(settings["IDGRAPH_NEO4J_HOME"]),
                        Path(settings["IDGRAPH_NEO4J_LIB"]),
                        int(settings["IDGRAPH_NEO4J_BOLT_PORT"]), heap="512m",
                        pagecache="128m")
    server.start(timeout=180)
    store = Neo4jStore(server.uri, "neo4j", "")
    try:
        store.wait_until_ready(60)
        yield store
    finally:
        store.close()
        server.stop()


def test_a_backfill_into_an_empty_local_graph_goes_through_the_bulk_importer(
        engine: IdentityEngine, clean_store: Neo4jStore, records: list[RawRecord],
        data: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
        capsys: pytest.CaptureFixture[str]) -> None:
    """No IDGRAPH_NEO4J_URI and nobody on the local port: the records are resolved in
    memory, imported with neo4j-admin and the server started again with its schema; the
    clusters are those of the batch path, dead letters and checkpoints included. Run
    again, the graph holds records: transactions, and the finished file is not re-read."""
    from idgraph.cli import main

    backfill_file(engine.ingestion, data, tmp_path / "batch-dead.jsonl", batch_size=10_000)
    expected = actual_clusters(clean_store)
    settings = local_settings(tmp_path / "local")
    use_local(settings, monkeypatch)
    dead = tmp_path / "dead.jsonl"
    assert main(["backfill", str(data), "--dead-letters", str(dead)]) == 0
    out = capsys.readouterr().out
    assert "initial load through the bulk importer" in out
    assert "read 153, ingested 150" in out and "dead letters 3" in out
    assert len(dead.read_text(encoding="utf-8").splitlines()) == 3
    assert main(["backfill", str(data), "--dead-letters", str(dead)]) == 0
    out = capsys.readouterr().out
    assert "the graph holds records: loading through transactions" in out
    assert "read 153, ingested 150" in out  # the checkpoint says finished: nothing re-read
    with opened_local(settings) as store:
        assert actual_clusters(store) == expected
        assert node_counts(store)["Record"] == 150
        constraints = store.run_cypher("SHOW CONSTRAINTS YIELD name RETURN collect(name) AS n")
        assert "record_key" in constraints[0]["n"]  # the schema was created after import
        check_invariants(store)


def test_against_a_remote_empty_graph_the_backfill_writes_the_import_set(
        clean_store: Neo4jStore, neo4j_uri: str, data: Path, tmp_path: Path,
        monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]) -> None:
    """A remote Neo4j cannot be stopped from here: the CSV set and the exact command for its
    operator; the graph is not touched."""
    from idgraph.cli import main

    monkeypatch.setenv("IDGRAPH_NEO4J_URI", neo4j_uri)
    out_dir = tmp_path / "import-set"
    assert main(["backfill", str(data), "--dead-letters", str(tmp_path / "dead.jsonl"),
                 "--csv-dir", str(out_dir)]) == 0
    out = capsys.readouterr().out
    assert "neo4j-admin database import full neo4j" in out
    assert f"--nodes=Record={out_dir.resolve()}/nodes_Record_header.csv" in out
    assert (out_dir / "nodes_Record.csv").read_text(encoding="utf-8").count("\n") == 150
    assert "Record" not in node_counts(clean_store)


@pytest.mark.parametrize("moment", ["resolving", "importing"])
def test_an_initial_load_killed_at_any_point_loads_cleanly_when_run_again(
        engine: IdentityEngine, clean_store: Neo4jStore, tmp_path: Path,
        monkeypatch: pytest.MonkeyPatch, moment: str) -> None:
    """SIGKILL to the backfill and its neo4j-admin child while records are resolved, or
    while the importer writes the new store beside the old: the database the local Neo4j
    starts on is never a half-written one, and the next run loads everything."""
    import os
    import signal
    import subprocess
    import sys
    import time

    from idgraph.cli import main

    records = generate(41, people=400, records_per_person=5)
    path = tmp_path / "big.jsonl"
    path.write_text("".join(as_json(r) + "\n" for r in records), encoding="utf-8")
    backfill_file(engine.ingestion, path, tmp_path / "batch-dead.jsonl", batch_size=100_000)
    expected = actual_clusters(clean_store)
    settings = local_settings(tmp_path / "local")
    home = tmp_path / "local"
    env = {k: v for k, v in os.environ.items() if k != "IDGRAPH_NEO4J_URI"} | settings
    run = subprocess.Popen([sys.executable, "-m", "idgraph.cli", "backfill", str(path),
                            "--dead-letters", str(tmp_path / "dead.jsonl")], env=env,
                           stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
                           start_new_session=True)
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline and run.poll() is None:
        if moment == "resolving" and (tmp_path / "dead.jsonl").exists():
            break  # reading and resolving: nothing of Neo4j's touched yet
        if moment == "importing" and (home / "data.importing").exists():
            break  # the importer is writing beside the (absent) database
        time.sleep(0.02)
    assert run.poll() is None, "the load ended before the moment to kill it"
    os.killpg(run.pid, signal.SIGKILL)
    run.wait()
    use_local(settings, monkeypatch)
    assert main(["backfill", str(path), "--dead-letters", str(tmp_path / "dead.jsonl")]) == 0
    with opened_local(settings) as store:
        assert actual_clusters(store) == expected
        check_invariants(store)
