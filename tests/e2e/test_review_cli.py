"""``idgraph review`` against a real server and Neo4j."""

from __future__ import annotations

import pytest

from idgraph.api.server import RunningServer
from idgraph.cli import main
from idgraph.store.neo4j_store import Neo4jStore
from idgraph.v1 import identity_pb2 as pb
from idgraph.v1 import identity_pb2_grpc as pb_grpc
from tests.e2e.test_grpc_api import ingest, record
from tests.integration.helpers import active_people

pytestmark = pytest.mark.e2e


def test_review_lists_shows_side_by_side_and_decides(
        stub: pb_grpc.IdentityServiceStub, grpc_server: RunningServer,
        clean_store: Neo4jStore, capsys: pytest.CaptureFixture[str]) -> None:
    # Everything agrees but the resident IDs: one-per-person values in conflict, a case
    # for a steward.
    first = ingest(stub, record("1", ("phone", "13912345678"), ("id_card", "11010519491231002X"),
                                name="张伟", birth_date="1990-01-01", city="北京"))
    second = ingest(stub, record("2", ("phone", "13712345678"), ("id_card", "440306198805121233"),
                                 source="app", name="张伟", birth_date="1990-01-01", city="北京"))
    task = second.review_task_id
    assert task
    server = ["review", "--server", f"127.0.0.1:{grpc_server.port}"]
    assert main([*server, "list"]) == 0
    listed = capsys.readouterr().out
    assert task in listed and "app/2" in listed
    assert main([*server, "list", "--largest-first"]) == 0
    largest = capsys.readouterr().out
    assert task in largest and "2/2" in largest  # two people, a record each
    assert main([*server, "show", task]) == 0
    shown = capsys.readouterr().out
    side_by_side = shown.split("record against")[0]
    rows = {line.split("│")[1].strip(): line for line in side_by_side.splitlines()
            if line.count("│") >= 4}
    assert "≠" not in rows["name"] and "张伟" in rows["name"]
    assert "≠" in rows["phone"] and "13912345678" in rows["phone"]
    assert "13712345678" in rows["phone"]
    assert first.one_id in shown and "exact" in shown  # the score breakdown
    assert main([*server, "decide", task, "--keep-apart", "--reason", "two people"]) == 0
    assert "kept apart" in capsys.readouterr().out
    assert main([*server, "decide", task, "--merge", "--reason", "changed my mind"]) == 1
    assert "FAILED_PRECONDITION" in capsys.readouterr().out
    assert active_people(clean_store) == 2
    again = ingest(stub, record("3", ("phone", "13712345678"), name="张伟",
                                birth_date="1990-01-01"))
    assert again.one_id == second.one_id and again.decision == pb.DECISION_LINKED
