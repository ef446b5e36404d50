"""Prometheus metrics after real calls through a real server over a real Neo4j: the counts
move as the calls say, and no label or value carries the personal data sent."""

from __future__ import annotations

import urllib.request
from collections.abc import Iterator

import pytest
from prometheus_client.parser import text_string_to_metric_families

from idgraph.api.server import RunningServer
from idgraph.client import Client, InvalidArgument, NotFound, source_record
from idgraph.engine import IdentityEngine
from idgraph.localdb import free_port
from idgraph.metrics import GraphGauges, serve_metrics
from idgraph.store.neo4j_store import Neo4jStore
from idgraph.v1 import identity_pb2 as pb

pytestmark = pytest.mark.e2e

Samples = dict[tuple[str, tuple[tuple[str, str], ...]], float]


@pytest.fixture
def metrics_url(engine: IdentityEngine, clean_store: Neo4jStore) -> Iterator[str]:
    address = f"127.0.0.1:{free_port()}"
    server = serve_metrics(address, GraphGauges(clean_store.open_review_tasks,
                                                engine.ingestion.queue_depth, ttl=0))
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
