"""`kill -9` of the idgraph server in the middle of an `IngestBatches` stream: every
acknowledged record is in the graph, a re-send of the whole stream to the restarted server
stores the rest and changes nothing it had acknowledged (UNCHANGED), a second re-send
changes nothing at all, and the graph's invariants hold."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import threading
from collections.abc import Iterator
from pathlib import Path

import grpc
import pytest

from idgraph.client import Client
from idgraph.localdb import LocalNeo4j, free_port
from idgraph.store.neo4j_store import Neo4jStore
from idgraph.v1 import identity_pb2 as pb
from idgraph.v1 import identity_pb2_grpc as pb_grpc
from tests.conftest import ROOT
from tests.faults.conftest import record_keys, to_pb
from tests.integration.helpers import check_invariants, node_counts
from tests.integration.test_concurrency import actual_clusters, expected_clusters, generate

pytestmark = pytest.mark.faults

BATCH, SENT_BEFORE_KILL = 25, 8


def serve(neo4j: LocalNeo4j, port: int, log: Path) -> subprocess.Popen[bytes]:
    env = {**os.environ, "IDGRAPH_NEO4J_URI": neo4j.uri, "IDGRAPH_GRPC_ADDR":
           f"127.0.0.1:{port}", "IDGRAPH_LOG_LEVEL": "WARNING"}
    with log.open("ab") as out:
        process = subprocess.Popen([sys.executable, "-m", "idgraph.cli", "serve"], cwd=ROOT,
                                   env=env, stdout=out, stderr=subprocess.STDOUT)
    with Client(f"127.0.0.1:{port}") as client:
        client.wait_ready(120)
    return process


def test_kill_9_of_the_server_mid_stream_loses_no_acknowledged_record(
        fault_neo4j: LocalNeo4j, tmp_path: Path) -> None:
    records = [to_pb(r) for r in generate(23, people=120, records_per_person=5)]
    batches = [records[i:i + BATCH] for i in range(0, len(records), BATCH)]
    port, log = free_port(), tmp_path / "server.log"
    process = serve(fault_neo4j, port, log)
    acknowledged: list[pb.SourceRecord] = []
    release = threading.Event()

    def requests() -> Iterator[pb.IngestBatchRequest]:
        for index, batch in enumerate(batches):
            if index == SENT_BEFORE_KILL:
                release.wait(60)  # the rest waits until the server is dead
            yield pb.IngestBatchRequest(records=batch)

    try:
        with grpc.insecure_channel(f"127.0.0.1:{port}") as channel:
            answers = pb_grpc.IdentityServiceStub(channel).IngestBatches(requests(),
                                                                         timeout=120)
            with pytest.raises(grpc.RpcError) as broken:
                for index, answer in enumerate(answers):
                    assert len(answer.results) == len(batches[index])
                    acknowledged += batches[index]
                    if index == 4:  # batches 6 to 8 are sent, some perhaps committed
                        process.send_signal(signal.SIGKILL)
                        process.wait(30)
            release.set()
        assert broken.value.code() in (grpc.StatusCode.UNAVAILABLE,
                                       grpc.StatusCode.CANCELLED)
        assert len(acknowledged) == 5 * BATCH
        store = Neo4jStore(fault_neo4j.uri, "neo4j", "")
        try:
            stored = set(record_keys(store))
            assert {(r.source, r.source_record_id) for r in acknowledged} <= stored
            assert len(stored) <= SENT_BEFORE_KILL * BATCH
            process = serve(fault_neo4j, port, log)
            with Client(f"127.0.0.1:{port}", timeout=60) as client:
                again = list(client.ingest_many(records, batch_size=BATCH))
                assert all(result.ok for result in again)
                for result in again[:len(acknowledged)]:
                    assert result.response.decision == pb.DECISION_UNCHANGED
                counts = node_counts(store)
                third = list(client.ingest_many(records, batch_size=BATCH))
                assert {r.response.decision for r in third} == {pb.DECISION_UNCHANGED}
                assert node_counts(store) == counts
            keys = record_keys(store)
            assert len(keys) == len(set(keys)) == len(records)
            assert actual_clusters(store) == expected_clusters(
                generate(23, people=120, records_per_person=5))
            check_invariants(store)
        finally:
            store.close()
    finally:
        release.set()
        process.kill()
        process.wait(30)
