"""Prometheus metrics after real calls through a real server over a real Neo4j: the counts
move as the calls say, and no label or value carries the personal data sent."""

from __future__ import annotations

import contextlib
import os
import subprocess
import sys
import time
import urllib.request
from collections.abc import Iterator
from pathlib import Path

import pytest
from prometheus_client.parser import text_string_to_metric_families

from idgraph.api.server import RunningServer
from idgraph.client import Client, InvalidArgument, NotFound, source_record
from idgraph.engine import IdentityEngine
from idgraph.localdb import free_port
from idgraph.metrics import graph_gauges, serve_metrics
from idgraph.store.neo4j_store import Neo4jStore
from idgraph.v1 import identity_pb2 as pb
from tests.integration.helpers import node_counts
from tests.integration.test_backfill import as_json
from tests.integration.test_concurrency import generate

pytestmark = pytest.mark.e2e

Samples = dict[tuple[str, tuple[tuple[str, str], ...]], float]


@pytest.fixture
def metrics_url(engine: IdentityEngine, clean_store: Neo4jStore) -> Iterator[str]:
    address = f"127.0.0.1:{free_port()}"
    server = serve_metrics(address, graph_gauges(clean_store, engine, ttl=0))
    yield f"http://{address}/metrics"
    server.shutdown()
    server.server_close()


def scrape(url: str) -> tuple[Samples, str]:
    text = urllib.request.urlopen(url, timeout=10).read().decode()
    samples = {(s.name, tuple(sorted(s.labels.items()))): s.value
               for family in text_string_to_metric_families(text) for s in family.samples}
    return samples, text


def moved(before: Samples, after: Samples, name: str, **labels: str) -> float:
    key = (name, tuple(sorted(labels.items())))
    return after.get(key, 0.0) - before.get(key, 0.0)


def test_metrics_count_calls_decisions_refusals_and_the_graph(
        grpc_server: RunningServer, metrics_url: str) -> None:
    before, _ = scrape(metrics_url)
    with Client(f"127.0.0.1:{grpc_server.port}") as client:
        client.ingest(source_record("crm", "m1", [("phone", "13912345678")], {"name": "张伟"}))
        client.ingest(source_record("app", "m2", [("phone", "139 1234 5678")]))
        client.ingest(source_record("app", "m2", [("phone", "139 1234 5678")]))  # again
        bad = source_record("dms", "m3", [("email", "zhangwei@163.com")],
                            vehicles=[pb.VehicleLink(vin="1M8GDM9A1KP042788",
                                                     relation=pb.VEHICLE_RELATION_OWNER)])
        with pytest.raises(InvalidArgument):
            client.ingest(bad)
        client.ingest(bad, drop_invalid_values=True)
        with pytest.raises(NotFound):
            client.get_profile(one_id="oid_01ZZZZZZZZZZZZZZZZZZZZZZZZ")
        results = list(client.ingest_many([source_record("crm", f"b{i}", [("crm_id", f"C{i}")])
                                           for i in range(5)], batch_size=2))
        assert all(r.ok for r in results)
    after, text = scrape(metrics_url)
    calls = "idgraph_rpc_requests_total"
    assert moved(before, after, calls, method="Ingest", code="OK") == 4
    assert moved(before, after, calls, method="Ingest", code="INVALID_ARGUMENT") == 1
    assert moved(before, after, calls, method="GetProfile", code="NOT_FOUND") == 1
    assert moved(before, after, calls, method="IngestBatches", code="OK") == 1
    assert moved(before, after, "idgraph_rpc_duration_seconds_count", method="Ingest") == 5
    decisions = "idgraph_ingest_decisions_total"
    assert moved(before, after, decisions, decision="NEW") == 7  # m1, m3, b0..b4
    assert moved(before, after, decisions, decision="LINKED") == 1
    assert moved(before, after, decisions, decision="UNCHANGED") == 1
    assert moved(before, after, "idgraph_records_refused_total",
                 field="record.vehicles.vin") == 1
    assert moved(before, after, "idgraph_values_dropped_total", kind="vehicles.vin") == 1
    assert moved(before, after, "idgraph_group_commit_batch_records_sum") == 9
    assert moved(before, after, "idgraph_neo4j_transaction_seconds_count", kind="write") >= 4
    assert after[("idgraph_review_tasks_open", ())] == 0
    assert ("idgraph_group_commit_queue_depth", ()) in after
    for sent in ("13912345678", "1234 5678", "张伟", "zhangwei", "1M8GDM9A1KP042788"):
        assert sent not in text


def test_shared_values_are_counted_by_type_and_state(
        grpc_server: RunningServer, metrics_url: str) -> None:
    family, consultant = "13912345678", "13687654321"
    with Client(f"127.0.0.1:{grpc_server.port}") as client:
        for i, name in enumerate(("张伟", "李秀英")):  # a family's phone: contested
            client.ingest(source_record("crm", f"f{i}", [("phone", family)], {"name": name}))
        for i, name in enumerate(("王芳", "刘洋", "陈静", "赵磊")):  # a consultant's: shared
            client.ingest(source_record("leads", f"c{i}", [("phone", consultant)],
                                        {"name": name}))
        client.ingest(source_record("crm", "x", [("phone", "13811112222")], {"name": "孙丽"}))
    samples, text = scrape(metrics_url)
    assert samples[("idgraph_shared_values", (("state", "contested"), ("type", "phone")))] == 1
    assert samples[("idgraph_shared_values", (("state", "shared"), ("type", "phone")))] == 1
    assert not any(name == "idgraph_shared_values" and dict(labels)["type"] != "phone"
                   for name, labels in samples)
    for sent in (family, consultant, "王芳"):
        assert sent not in text


def test_a_transactional_backfill_serves_its_own_metrics_while_it_runs(
        clean_store: Neo4jStore, neo4j_uri: str, tmp_path: Path) -> None:
    records = generate(41, people=600, records_per_person=5)
    path = tmp_path / "history.jsonl"
    path.write_text("".join(as_json(r) + "\n" for r in records), encoding="utf-8")
    address = f"127.0.0.1:{free_port()}"
    env = {**os.environ, "IDGRAPH_NEO4J_URI": neo4j_uri, "IDGRAPH_METRICS_ADDR": address,
           "IDGRAPH_LOG_LEVEL": "WARNING"}
    seen: Samples = {}
    with (tmp_path / "stderr").open("wb") as stderr:
        run = subprocess.Popen([sys.executable, "-m", "idgraph.cli", "backfill", str(path),
                                "--batch", "50", "--transactional",
                                "--dead-letters", str(tmp_path / "dead.jsonl")],
                               env=env, stdout=subprocess.DEVNULL, stderr=stderr)
    try:
        while run.poll() is None and seen.get(("idgraph_backfill_rows_total", ()), 0) < 500:
            with contextlib.suppress(OSError):
                seen, _ = scrape(f"http://{address}/metrics")
            time.sleep(0.05)
        assert run.wait(300) == 0, (tmp_path / "stderr").read_text()
    finally:
        run.kill()
    assert seen.get(("idgraph_backfill_rows_total", ()), 0) >= 500  # scraped mid-run
    assert seen[("idgraph_ingest_decisions_total", (("decision", "NEW"),))] > 0
    assert seen[("idgraph_neo4j_transaction_seconds_count", (("kind", "write"),))] > 0
    with pytest.raises(OSError):  # the server went with the run
        scrape(f"http://{address}/metrics")
    assert node_counts(clean_store)["Record"] == len(records)
