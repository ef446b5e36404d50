"""`kill -9` of Neo4j while eight clients ingest overlapping records: every call answers OK
or UNAVAILABLE / DEADLINE_EXCEEDED (never INTERNAL); after Neo4j restarts every record whose
call answered OK is in the graph, the clients' retries of the others succeed, and the graph
is one OneID per person with its invariants."""

from __future__ import annotations

import threading
import time
from collections import Counter

import grpc
import pytest

from idgraph.api.server import build_server
from idgraph.client import Client, IdgraphError
from idgraph.domain.rules import load_rules
from idgraph.engine import IdentityEngine
from idgraph.localdb import LocalNeo4j
from idgraph.store.neo4j_store import Neo4jStore
from tests.conftest import SECRET
from tests.faults.conftest import record_keys, to_pb
from tests.integration.helpers import check_invariants
from tests.integration.test_concurrency import actual_clusters, expected_clusters, generate

pytestmark = pytest.mark.faults

CLIENTS = 8
ALLOWED = {grpc.StatusCode.OK, grpc.StatusCode.UNAVAILABLE,
           grpc.StatusCode.DEADLINE_EXCEEDED}


def test_kill_9_of_neo4j_under_eight_writers_loses_no_acknowledged_record(
        fault_neo4j: LocalNeo4j) -> None:
    records = generate(19, people=150, records_per_person=4)
    # each client sends its share and re-sends part of its neighbour's: the same
    # (source, source_record_id) from two clients at once
    shares = [records[i::CLIENTS] + records[(i + 1) % CLIENTS::CLIENTS][:10]
              for i in range(CLIENTS)]
    store = Neo4jStore(fault_neo4j.uri, "neo4j", "", retry_seconds=1)
    engine = IdentityEngine(store, load_rules(), SECRET)
    running = build_server(engine, "127.0.0.1:0", readiness_interval=0.3)
    address = f"127.0.0.1:{running.port}"
    codes: Counter[grpc.StatusCode] = Counter()
    acknowledged: set[tuple[str, str]] = set()
    failed: list[int] = []
    lock, done = threading.Lock(), Counter[int]()

    def work(index: int) -> None:
        with Client(address, retries=0, timeout=15) as client:
            for position, record in enumerate(shares[index]):
                try:
                    client.ingest(to_pb(record))
                    code = grpc.StatusCode.OK
                except IdgraphError as error:
                    code = error.code
                with lock:
                    codes[code] += 1
                    done[0] += 1
                    if code is grpc.StatusCode.OK:
                        acknowledged.add((record.source, record.source_record_id))
                    else:
                        failed.append(index * 1000 + position)
                if code is not grpc.StatusCode.OK:
                    time.sleep(0.05)  # a client backs off a little, as a caller would

    try:
        threads = [threading.Thread(target=work, args=(i,)) for i in range(CLIENTS)]
        for thread in threads:
            thread.start()
        deadline = time.monotonic() + 120
        while done[0] < len(records) // 4 and time.monotonic() < deadline:
            time.sleep(0.01)
        fault_neo4j.kill()  # mid-load: transactions in flight, commits unacknowledged
        killed_at = done[0]
        time.sleep(2)
        fault_neo4j.start(timeout=180)  # recovers from its transaction log
        for thread in threads:
            thread.join(300)
        assert not any(thread.is_alive() for thread in threads)
        assert set(codes) <= ALLOWED, codes  # never INTERNAL or UNKNOWN
        assert killed_at >= 100 and codes[grpc.StatusCode.UNAVAILABLE] > 0, codes
        store.wait_until_ready(60)
        stored = set(record_keys(store))
        assert acknowledged <= stored  # nothing acknowledged is lost
        # the clients retry what failed, patiently: every retry succeeds
        with Client(address, retries=40, backoff=0.1, max_backoff=1.0, timeout=30) as client:
            for code in failed:
                client.ingest(to_pb(shares[code // 1000][code % 1000]))
        keys = record_keys(store)
        assert len(keys) == len(set(keys)) == len(records)  # each record once
        assert actual_clusters(store) == expected_clusters(records)  # one OneID per person
        check_invariants(store)
    finally:
        running.stop(grace=1)
        engine.close()
        store.close()
