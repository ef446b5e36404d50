"""Property-based fuzzing of every request message of every service, through a real server
over a real Neo4j: random and adversarial strings (control characters, RTL marks, full-width
digits, SQL and Cypher fragments, 1 MB values), random enums and timestamps, empty and large
repeated fields, mixed with realistic values so calls get past the first check. Every call
answers OK or a documented refusal (INVALID_ARGUMENT naming a field, NOT_FOUND,
FAILED_PRECONDITION), never INTERNAL or UNKNOWN, and a refused call writes nothing.

`IDGRAPH_FUZZ_EXAMPLES` sets the examples per method (default 25: the bounded run of the
test suite); a long session sets it high."""

from __future__ import annotations

import os
from collections.abc import Callable
from typing import Any

import grpc
import pytest
from google.protobuf import descriptor
from google.protobuf.message import Message
from google.protobuf.message_factory import GetMessageClass
from google.rpc import error_details_pb2
from grpc_status import rpc_status
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from idgraph.api.server import RunningServer
from idgraph.client import Client, source_record
from idgraph.store.neo4j_store import Neo4jStore
from idgraph.v1 import identity_pb2, recommend_pb2, steward_pb2, tag_pb2, vehicle_pb2

pytestmark = pytest.mark.fuzz

EXAMPLES = int(os.environ.get("IDGRAPH_FUZZ_EXAMPLES", "25"))
F = descriptor.FieldDescriptor
METHODS = [method for module in (identity_pb2, steward_pb2, vehicle_pb2, tag_pb2,
                                 recommend_pb2)
           for service in module.DESCRIPTOR.services_by_name.values()
           for method in service.methods]
REFUSALS = {grpc.StatusCode.INVALID_ARGUMENT, grpc.StatusCode.NOT_FOUND,
            grpc.StatusCode.FAILED_PRECONDITION, grpc.StatusCode.ALREADY_EXISTS,
            grpc.StatusCode.RESOURCE_EXHAUSTED}  # a message over 4x the size limit

NASTY = [
    "", " ", "\x00", "\x00\x01\x07\x1b[31m", "\t\r\n", "\u202e13912345678", "\u200f张伟\u200e",
    "１３９１２３４５６７８", "ＬＳＶＡＡ４１８３Ｅ２０００００１", "\ufeff13912345678",
    "'; DROP TABLE people; --", "\" OR 1=1 --", "MATCH (n) DETACH DELETE n",
    "}) DETACH DELETE n //", "$one_id", "{one_id}", "`x`", "\\", "%s%n%x", "../../etc/passwd",
    "null", "NaN", "-1", "9" * 400, "👨‍👩‍👧‍👦", "Z\u0351\u0352\u0353\u0354",
    "张" * 3000, "a" * (1 << 20), "oid_" + "Z" * 26, "oid_00000000000000000000000000",
    "phone||13912345678", "crm|1", "13800138000", "+86 139-1234-5678",
]
REALISTIC: dict[str, list[str]] = {
    "type": ["phone", "email", "landline", "wechat_openid", "crm_id", "vin", "id_card",
             "device_id", "plate", "ownership", "dms_customer_id", "nope"],
    "value": ["13912345678", "139 1234 5678", "zhangwei@163.com", "021-62345678",
              "LSVAA4183E2000001", "110101199003074514", "沪A12345", "C1"],
    "scope": ["", "wx-1", "D001"],
    "source": ["crm", "app", "dms", "wechat"],
    "source_record_id": ["1", "2", "f0"],
    "key": ["name", "city", "gender", "birth_date", "consent_marketing", "dealer", "x"],
    "vin": ["LSVAA4183E2000001", "1M8GDM9A1KP042788"],
    "model": ["Model-X5", "GLC"],
    "reason": ["same person", ""],
    "tag": ["owner", "prospect", "nope"],
    "path": ["owner", "nope"],
    "after_cursor": ["", "0", "abc"],
    "page_token": ["", "abc"],
}


def text_for(field: descriptor.FieldDescriptor, known: dict[str, list[str]]
             ) -> st.SearchStrategy[str]:
    pool = known.get(field.name) or REALISTIC.get(field.name) or \
        (known["one_id"] if "one_id" in field.name else [])
    choices: list[st.SearchStrategy[str]] = [st.sampled_from(NASTY),
                                             st.text(max_size=40)]
    if pool:
        choices = [st.sampled_from(pool)] * 3 + choices
    return st.one_of(choices)


def scalar(field: descriptor.FieldDescriptor, known: dict[str, list[str]]
           ) -> st.SearchStrategy[Any]:
    kind = field.type
    if kind == F.TYPE_STRING:
        return text_for(field, known)
    if kind == F.TYPE_BYTES:
        return st.binary(max_size=64)
    if kind == F.TYPE_BOOL:
        return st.booleans()
    if kind == F.TYPE_ENUM:  # proto3 enums are open: unknown numbers travel too
        return st.integers(-3, 40)
    if kind in (F.TYPE_DOUBLE, F.TYPE_FLOAT):
        return st.floats(allow_nan=True, allow_infinity=True, width=32)
    bits = 64 if kind in (F.TYPE_INT64, F.TYPE_SINT64, F.TYPE_SFIXED64, F.TYPE_UINT64,
                          F.TYPE_FIXED64) else 32
    unsigned = kind in (F.TYPE_UINT32, F.TYPE_UINT64, F.TYPE_FIXED32, F.TYPE_FIXED64)
    low, high = (0, 2 ** bits - 1) if unsigned else (-2 ** (bits - 1), 2 ** (bits - 1) - 1)
    return st.one_of(st.integers(0, 10), st.sampled_from([low, high, -1 if low else 0]),
                     st.integers(low, high))


@st.composite
def message(draw: st.DrawFn, kind: descriptor.Descriptor, known: dict[str, list[str]],
            depth: int = 0) -> dict[str, Any]:
    """A random value of a message type, as keyword arguments."""
    fields: dict[str, Any] = {}
    for field in kind.fields:
        if depth > 3 or not draw(st.booleans()):
            continue
        if field.type == F.TYPE_MESSAGE and field.message_type.GetOptions().map_entry:
            key, value = field.message_type.fields_by_name["key"], \
                field.message_type.fields_by_name["value"]
            fields[field.name] = draw(st.dictionaries(scalar(key, known), scalar(value, known),
                                                      max_size=4))
            continue
        if field.type == F.TYPE_MESSAGE:
            one: st.SearchStrategy[Any] = message(field.message_type, known, depth + 1)
        else:
            one = scalar(field, known)
        if field.is_repeated:
            if draw(st.integers(0, 9)) == 0:  # a huge repeated field of small values
                small = st.just({}) if field.type == F.TYPE_MESSAGE else \
                    st.text(max_size=8) if field.type == F.TYPE_STRING else scalar(field, known)
                fields[field.name] = [draw(small)] * 300
            else:
                fields[field.name] = draw(st.lists(one, max_size=4))
        else:
            fields[field.name] = draw(one)
    return fields


def build(kind: type[Message], fields: dict[str, Any]) -> Message:
    """The message from drawn fields; a value protobuf itself refuses (a float where
    an int64 is out of range) is left out."""
    made = kind()
    for name, value in fields.items():
        field = kind.DESCRIPTOR.fields_by_name[name]
        try:
            if field.type == F.TYPE_MESSAGE and field.message_type.GetOptions().map_entry:
                target = getattr(made, name)
                for k, v in value.items():
                    if field.message_type.fields_by_name["value"].type == F.TYPE_MESSAGE:
                        target[k].CopyFrom(build(type(target[k]), v))
                    else:
                        target[k] = v
            elif field.type == F.TYPE_MESSAGE:
                sub = GetMessageClass(field.message_type)
                if field.is_repeated:
                    getattr(made, name).extend(build(sub, v) for v in value)
                else:
                    getattr(made, name).CopyFrom(build(sub, value))
            elif field.is_repeated:
                getattr(made, name).extend(value)
            else:
                setattr(made, name, value)
        except (ValueError, TypeError):
            continue
    return made


def graph_size(store: Neo4jStore) -> tuple[int, int]:
    # read events are written in the background after reads that answered OK (audit.py)
    nodes = store.run_cypher("MATCH (n) WHERE NOT n:ReadEvent RETURN count(n) AS n")[0]["n"]
    relationships = store.run_cypher("MATCH ()-[r]->() RETURN count(r) AS n")[0]["n"]
    return int(nodes), int(relationships)


@pytest.fixture
def seeded(grpc_server: RunningServer, clean_store: Neo4jStore) -> dict[str, list[str]]:
    """A small graph to aim at: people, a review task; their ids join the realistic values."""
    with Client(f"127.0.0.1:{grpc_server.port}") as client:
        one_ids = [client.ingest(source_record(
            "crm", str(i), [("phone", f"1391234{i:04d}")],
            {"name": name, "city": "上海"})).one_id
            for i, name in enumerate(("张伟", "李娜", "王芳"))]
        client.ingest(source_record("app", "r", [("phone", "13912340000")], {"name": "刘洋"}))
        tasks = [t.task_id for t in client.list_review_tasks().tasks]
    return {"one_id": one_ids, "task_id": tasks or ["t"], "one_ids": one_ids}


def call(channel: grpc.Channel, target: str, method: descriptor.MethodDescriptor,
         requests: list[Message]) -> grpc.RpcError | None:
    """Send the requests; answer the error the call ended with, or None."""
    path = f"/{method.containing_service.full_name}/{method.name}"
    out: Callable[[Message], bytes] = lambda m: m.SerializeToString()  # noqa: E731
    try:
        if method.client_streaming:
            list(channel.stream_stream(path, out, bytes)(iter(requests), timeout=60))
        elif method.server_streaming:  # the change feed stays open: hang up after a while
            with grpc.insecure_channel(target) as own:
                stream = own.unary_stream(path, out, bytes)(requests[0], timeout=0.5)
                for _ in zip(range(5), stream, strict=False):
                    pass
                stream.cancel()
        else:
            channel.unary_unary(path, out, bytes)(requests[0], timeout=60)
    except grpc.RpcError as error:
        return error
    return None


@pytest.mark.parametrize("method", METHODS, ids=lambda m: m.name)
def test_every_request_answers_ok_or_a_documented_refusal_and_a_refusal_writes_nothing(
        method: descriptor.MethodDescriptor, grpc_server: RunningServer,
        clean_store: Neo4jStore, seeded: dict[str, list[str]]) -> None:
    kind = GetMessageClass(method.input_type)
    count = st.integers(0, 3) if method.client_streaming else st.just(1)
    channel = grpc.insecure_channel(f"127.0.0.1:{grpc_server.port}")

    @settings(max_examples=EXAMPLES, deadline=None, derandomize=EXAMPLES <= 25,
              suppress_health_check=list(HealthCheck))
    @given(st.data())
    def check(data: st.DataObject) -> None:
        requests = [build(kind, data.draw(message(kind.DESCRIPTOR, seeded)))
                    for _ in range(data.draw(count))]
        before = graph_size(clean_store)
        error = call(channel, f"127.0.0.1:{grpc_server.port}", method, requests)
        if error is None:
            return
        code = error.code()
        if method.server_streaming and code in (grpc.StatusCode.DEADLINE_EXCEEDED,
                                                grpc.StatusCode.CANCELLED):
            return  # the change feed stays open: the fuzzer hangs up
        assert code in REFUSALS, f"{method.name}: {code} {error.details()}"
        assert graph_size(clean_store) == before, f"{method.name} refused, yet wrote"
        if code is grpc.StatusCode.INVALID_ARGUMENT:
            status = rpc_status.from_call(error)  # type: ignore[arg-type]
            assert status is not None, f"{method.name}: no details: {error.details()}"
            bad = error_details_pb2.BadRequest()
            assert any(d.Unpack(bad) for d in status.details)
            assert bad.field_violations and all(v.field for v in bad.field_violations)

    try:
        check()
    finally:
        channel.close()


def test_invalid_utf_8_on_the_wire_is_an_invalid_argument(grpc_server: RunningServer,
                                                          clean_store: Neo4jStore) -> None:
    """A lone surrogate cannot be a protobuf string; a client that sends its bytes anyway
    (b'\\xed\\xa0\\x80') gets INVALID_ARGUMENT, and nothing is written."""
    good = identity_pb2.IngestRequest(record=source_record(
        "crm", "1", [("phone", "13912345678")], {"name": "张伟"})).SerializeToString()
    broken = good.replace("张".encode(), b"\xed\xa0\x80")
    assert broken != good
    before = graph_size(clean_store)
    with grpc.insecure_channel(f"127.0.0.1:{grpc_server.port}") as channel:
        ingest = channel.unary_unary("/idgraph.v1.IdentityService/Ingest", None, bytes)
        with pytest.raises(grpc.RpcError) as refused:
            ingest(broken, timeout=30)
    assert refused.value.code() is grpc.StatusCode.INVALID_ARGUMENT, refused.value.details()
    assert violations(refused.value) == ["request"]
    assert graph_size(clean_store) == before


def test_an_undecodable_message_in_a_stream_ends_it_after_the_ones_before(
        grpc_server: RunningServer, clean_store: Neo4jStore) -> None:
    good = identity_pb2.IngestBatchRequest(records=[source_record(
        "crm", "1", [("phone", "13912345678")], {"name": "张伟"})]).SerializeToString()
    broken = identity_pb2.IngestBatchRequest(records=[source_record(
        "crm", "2", [("phone", "13912345679")], {"name": "张伟"})]).SerializeToString()
    broken = broken.replace("张".encode(), b"\xed\xa0\x80")
    answers: list[bytes] = []
    with grpc.insecure_channel(f"127.0.0.1:{grpc_server.port}") as channel:
        batches = channel.stream_stream("/idgraph.v1.IdentityService/IngestBatches", None,
                                        bytes)
        with pytest.raises(grpc.RpcError) as refused:
            answers.extend(batches(iter([good, broken, good]), timeout=30))
    assert refused.value.code() is grpc.StatusCode.INVALID_ARGUMENT
    assert violations(refused.value) == ["requests[1]"]
    assert len(answers) == 1  # the batch before it was answered (and stored)
    stored = clean_store.run_cypher("MATCH (r:Record) RETURN r.source_record_id AS id")
    assert [row["id"] for row in stored] == ["1"]


def violations(error: grpc.RpcError) -> list[str]:
    status = rpc_status.from_call(error)  # type: ignore[arg-type]
    assert status is not None
    bad = error_details_pb2.BadRequest()
    assert any(d.Unpack(bad) for d in status.details)
    return [v.field for v in bad.field_violations]


