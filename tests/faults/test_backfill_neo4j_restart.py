"""Neo4j killed and restarted in the middle of a transactional backfill: the backfill waits
for it, resumes after its last committed batch and ends with the records and clusters of an
uninterrupted run, counted once."""

from __future__ import annotations

import contextlib
import json
import os
import subprocess
import sys
import time
from pathlib import Path

import pytest

from idgraph.localdb import LocalNeo4j
from idgraph.store.neo4j_store import Neo4jStore
from tests.faults.conftest import record_keys
from tests.integration.helpers import check_invariants
from tests.integration.test_concurrency import actual_clusters, expected_clusters, generate

pytestmark = pytest.mark.faults


def test_the_backfill_waits_for_a_restarted_neo4j_and_resumes(
        fault_neo4j: LocalNeo4j, tmp_path: Path) -> None:
    records = generate(29, people=500, records_per_person=5)
    path = tmp_path / "history.jsonl"
    path.write_text("".join(json.dumps({
        "source": r.source, "source_record_id": r.source_record_id,
        "identifiers": [{"type": i.type, "value": i.value} for i in r.identifiers]}) + "\n"
        for r in records), encoding="utf-8")
    # the driver gives up on a Neo4j that is down after a second: the backfill then waits
    env = {**os.environ, "IDGRAPH_NEO4J_URI": fault_neo4j.uri, "IDGRAPH_LOG_LEVEL": "WARNING",
           "IDGRAPH_NEO4J_RETRY_SECONDS": "1"}
    name = str(path.resolve())
    with (tmp_path / "out").open("wb") as out:
        run = subprocess.Popen([sys.executable, "-m", "idgraph.cli", "backfill", str(path),
                                "--batch", "50", "--transactional", "--wait", "240",
                                "--dead-letters", str(tmp_path / "dead.jsonl")],
                               env=env, stdout=out, stderr=subprocess.STDOUT)
    try:
        with contextlib.closing(Neo4jStore(fault_neo4j.uri, "neo4j", "")) as store:
            deadline = time.monotonic() + 120
            while time.monotonic() < deadline:  # until some batches, not all, are committed
                state = store.run_cypher("MATCH (c:BackfillCheckpoint {name: $name}) "
                                         "RETURN c.line AS line", name=name)
                if state and 300 <= state[0]["line"] < len(records) - 1000:
                    break
                assert run.poll() is None, (tmp_path / "out").read_text()
                time.sleep(0.02)
        fault_neo4j.kill()
        time.sleep(5)  # down for longer than the driver's retries
        assert run.poll() is None  # waiting, not dead
        fault_neo4j.start(timeout=180)
        assert run.wait(300) == 0, (tmp_path / "out").read_text()
    finally:
        run.kill()
        run.wait(30)
    output = (tmp_path / "out").read_text()
    assert "Neo4j is unavailable; waiting" in output
    assert f"read {len(records)}, ingested {len(records)}, unchanged 0" in output
    with contextlib.closing(Neo4jStore(fault_neo4j.uri, "neo4j", "")) as store:
        store.wait_until_ready(60)
        keys = record_keys(store)
        assert len(keys) == len(set(keys)) == len(records)
        assert actual_clusters(store) == expected_clusters(records)
        check_invariants(store)
