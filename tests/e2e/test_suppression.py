"""The suppression list ("do not process me"): an admin suppresses a value; every record
arriving later that carries it, written any way the value can be written, is refused
(FAILED_PRECONDITION for Ingest, an error in its place in a stream, counted in a backfill)
and nothing of it is stored; the list holds no value; lifting it lets records in again;
stewards and writers cannot suppress."""

from __future__ import annotations

from pathlib import Path

import grpc
import pytest

from idgraph.api.auth import ApiKeys
from idgraph.api.server import build_server
from idgraph.backfill import backfill_file
from idgraph.client import Client, FailedPrecondition, PermissionDenied, source_record
from idgraph.engine import IdentityEngine
from idgraph.store.neo4j_store import Neo4jStore
from idgraph.v1 import identity_pb2 as pb
from tests.integration.helpers import node_counts

pytestmark = pytest.mark.e2e

PHONE = {"type": "phone", "value": "+86 139-1234-5678"}


def test_a_suppressed_value_refuses_later_records_and_the_list_holds_no_value(
        engine: IdentityEngine, clean_store: Neo4jStore, tmp_path: Path) -> None:
    keys = tmp_path / "keys.toml"
    keys.write_text('[[keys]]\nactor = "dpo"\nkey = "admin-key-0123456789"\nroles = ["admin"]\n'
                    '\n[[keys]]\nactor = "alice"\nkey = "steward-key-0123456789"\n'
                    'roles = ["steward", "writer", "reader"]\n', encoding="utf-8")
    running = build_server(engine, "127.0.0.1:0", api_keys=ApiKeys.load(keys))
    address = f"127.0.0.1:{running.port}"
    try:
        with Client(address, api_key="admin-key-0123456789") as admin, \
                Client(address, api_key="steward-key-0123456789") as steward:
            before = steward.ingest(source_record("crm", "old", [("phone", "13912345678")],
                                                  {"name": "张伟"}))
            with pytest.raises(PermissionDenied):
                steward.suppress_identifier(identifier=PHONE, reason="customer asked")
            answer = admin.suppress_identifier(identifier=PHONE, reason="PIPL: do not process")
            assert answer.created
            assert not admin.suppress_identifier(identifier=PHONE, reason="again").created
            stored = node_counts(clean_store)
            with pytest.raises(FailedPrecondition) as refused:
                steward.ingest(source_record("app", "new", [("phone", "139 1234 5678")],
                                             {"name": "张伟"}))
            assert "suppression list" in refused.value.message
            results = list(steward.ingest_many([
                source_record("app", "a", [("email", "zw@163.com")]),
                source_record("app", "b", [("email", "x@163.com"),
                                           ("phone", "0086 13912345678")]),
                source_record("app", "c", [("crm_id", "C9")])]))
            assert [r.ok for r in results] == [True, False, True]
            assert results[1].error is not None
            assert results[1].error.code is grpc.StatusCode.FAILED_PRECONDITION
            counts = node_counts(clean_store)
            assert counts["Record"] == stored["Record"] + 2  # a and c only
            # what was stored before stays (erasure is ErasePerson's)
            assert steward.get_profile(one_id=before.one_id).profile.records
            # the list holds a keyed hash and the type, never the value
            (row,) = clean_store.run_cypher("MATCH (s:Suppression) RETURN properties(s) AS p")
            assert row["p"]["type"] == "phone" and "13912345678" not in str(row["p"])
            # a backfill counts the refused rows and stores none of them
            data = tmp_path / "history.jsonl"
            data.write_text('{"source": "dms", "source_record_id": "d1", "identifiers": '
                            '[{"type": "phone", "value": "13912345678"}]}\n'
                            '{"source": "dms", "source_record_id": "d2", "identifiers": '
                            '[{"type": "phone", "value": "13987654321"}]}\n', encoding="utf-8")
            state = backfill_file(engine.ingestion, data, tmp_path / "dead.jsonl")
            assert state.counts is not None
            assert (state.counts.suppressed, state.counts.ingested) == (1, 1)
            # lifted: the value is accepted again
            assert admin.lift_suppression(identifier=PHONE, reason="mistake").lifted
            assert not admin.lift_suppression(identifier=PHONE, reason="again").lifted
            again = steward.ingest(source_record("app", "new", [("phone", "13912345678")],
                                                 {"name": "张伟"}))
            assert again.decision == pb.DECISION_LINKED and again.one_id == before.one_id
    finally:
        running.stop(grace=1)
