"""`idgraph serve` with IDGRAPH_LOG_FORMAT=json at DEBUG: one JSON object per line with
time, level, logger and message (method and actor inside a call), and none of the personal
data the calls sent, valid or refused, appears anywhere in the log."""

from __future__ import annotations

import contextlib
import json
from pathlib import Path

import pytest

from idgraph.client import Client, FailedPrecondition, InvalidArgument, source_record
from idgraph.v1 import identity_pb2 as pb
from tests.e2e.test_serve_process import serving, stop_gracefully

pytestmark = pytest.mark.e2e

PII = ("13912345678", "139 1234 5678", "张伟", "zhang.wei@163.com", "11010519491231002X",
       "1M8GDM9A1KP042788", "1M8GDM9AXKP042788", "沪A12345", "13800138000", "wx-oZhangWei")


def test_json_logs_at_debug_hold_no_personal_data(neo4j_uri: str, tmp_path: Path) -> None:
    log = tmp_path / "serve.log"
    env = {"IDGRAPH_NEO4J_URI": neo4j_uri, "IDGRAPH_LOG_FORMAT": "json",
           "IDGRAPH_LOG_LEVEL": "DEBUG"}
    with serving(env, log) as (process, port), Client(f"127.0.0.1:{port}") as client:
        first = client.ingest(source_record(
            "crm", "pii-1", [("phone", "139 1234 5678"), ("email", "zhang.wei@163.com"),
                             ("id_card", "11010519491231002X")],
            {"name": "张伟", "address": "上海市徐汇区"},
            vehicles=[pb.VehicleLink(vin="1M8GDM9AXKP042788", plate="沪A12345",
                                     relation=pb.VEHICLE_RELATION_OWNER)]))
        with pytest.raises(InvalidArgument):  # its message quotes the bad VIN
            client.ingest(source_record("dms", "pii-2", [("phone", "13912345678")],
                                        vehicles=[pb.VehicleLink(
                                            vin="1M8GDM9A1KP042788",
                                            relation=pb.VEHICLE_RELATION_OWNER)]))
        for i in range(3):  # a placeholder phone several people share
            client.ingest(source_record("media", f"lead{i}", [("phone", "13800138000"),
                                                              ("wechat_openid",
                                                               f"wx-oZhangWei{i}", "app1")]))
        results = list(client.ingest_many([
            source_record("app", "", [("phone", "12")], {"name": "张伟"}),  # no id
            source_record("app", "pii-4", [("phone", "13912345678")], {"name": "张伟"})]))
        assert [r.ok for r in results] == [False, True]
        client.get_profile(identifier=pb.Identifier(type="phone", value="13912345678"))
        # shared by several people: refused, and its message names the phone
        with contextlib.suppress(FailedPrecondition):
            client.get_profile(identifier=pb.Identifier(type="phone", value="13800138000"))
        stop_gracefully(process, log)
    text = log.read_text(encoding="utf-8")
    lines = [json.loads(line) for line in text.splitlines() if line.strip()]
    assert lines, "nothing logged"
    for entry in lines:
        assert {"time", "level", "logger", "message"} <= entry.keys(), entry
    in_calls = [e for e in lines if e.get("method") == "Ingest"]
    assert in_calls and all(e["actor"] == "anonymous" for e in in_calls)
    assert first.one_id in {e.get("one_id") for e in in_calls}  # the call's line names it
    for value in PII:
        assert value not in text, f"{value!r} is in the log"
