"""Every read of a person's data is auditable: GetHistory(include_reads) lists who was shown
it (actor, time, method), for the person and every OneID merged into it; without the flag
the lineage stays as it was."""

from __future__ import annotations

import time
from pathlib import Path

import pytest

from idgraph.api.auth import ApiKeys
from idgraph.api.server import build_server
from idgraph.client import Client, source_record
from idgraph.engine import IdentityEngine
from idgraph.v1 import steward_pb2 as spb

pytestmark = pytest.mark.e2e


def reads_of(client: Client, one_id: str, count: int) -> list[spb.HistoryEntry]:
    deadline = time.monotonic() + 10  # read events are written within half a second
    while True:
        history = client.get_history(one_id=one_id, include_reads=True)
        found = [e for e in history.entries if e.kind == "READ"]
        if len(found) >= count or time.monotonic() > deadline:
            return found
        time.sleep(0.1)


def test_reads_are_listed_with_actor_method_and_time_and_follow_merges(
        engine: IdentityEngine, tmp_path: Path) -> None:
    keys = tmp_path / "keys.toml"
    keys.write_text('[[keys]]\nactor = "crm-app"\nkey = "reader-key-0123456789"\n'
                    'roles = ["reader", "writer"]\n\n[[keys]]\nactor = "alice"\n'
                    'key = "steward-key-0123456789"\nroles = ["steward"]\n', encoding="utf-8")
    running = build_server(engine, "127.0.0.1:0", api_keys=ApiKeys.load(keys))
    address = f"127.0.0.1:{running.port}"
    try:
        with Client(address, api_key="reader-key-0123456789") as app, \
                Client(address, api_key="steward-key-0123456789") as steward:
            a = app.ingest(source_record("crm", "1", [("phone", "13912345678")],
                                         {"name": "张伟"})).one_id
            b = app.ingest(source_record("app", "2", [("email", "zw@163.com")],
                                         {"name": "张伟"})).one_id
            assert a != b
            before = time.time()
            app.get_profile(one_id=b)
            app.get_profile(identifier={"type": "phone", "value": "139 1234 5678"})
            steward.merge_persons(one_ids=[a, b], reason="same person, per the customer")
            found = reads_of(steward, b, 3)  # b redirects to the survivor a
            assert [(e.rule, e.actor) for e in found[:2]] == [("GetProfile", "crm-app")] * 2
            assert {e.one_id for e in found[:2]} == {a, b}
            assert all(e.at.seconds >= int(before) - 1 for e in found)
            lineage = steward.get_history(one_id=a)
            assert "READ" not in {e.kind for e in lineage.entries}  # only when asked
            assert {"CREATED", "MERGED"} <= {e.kind for e in lineage.entries}
            history_reads = [e for e in reads_of(steward, a, 4) if e.rule == "GetHistory"]
            assert history_reads and history_reads[0].actor == "alice"  # a read, too
    finally:
        running.stop(grace=1)
