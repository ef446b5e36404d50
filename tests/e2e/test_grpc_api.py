"""IdentityService through a real gRPC server and client over a real Neo4j."""

from __future__ import annotations

from collections.abc import Iterator

import grpc
import pytest
from google.protobuf.timestamp_pb2 import Timestamp
from google.rpc import error_details_pb2
from grpc_health.v1 import health_pb2, health_pb2_grpc
from grpc_reflection.v1alpha import reflection_pb2, reflection_pb2_grpc
from grpc_status import rpc_status

from idgraph.domain.rules import load_rules
from idgraph.store.neo4j_store import Neo4jStore
from idgraph.v1 import identity_pb2 as pb
from idgraph.v1 import identity_pb2_grpc as pb_grpc
from tests.integration.helpers import check_invariants, node_counts

pytestmark = pytest.mark.e2e


def record(rid: str, *identifiers: tuple[str, ...], source: str = "crm",
           vehicles: list[pb.VehicleLink] | None = None, **attributes: str) -> pb.SourceRecord:
    return pb.SourceRecord(
        source=source, source_record_id=rid,
        identifiers=[pb.Identifier(type=i[0], value=i[1], scope=i[2] if len(i) > 2 else "")
                     for i in identifiers],
        attributes=attributes, vehicles=vehicles or [])


def ingest(stub: pb_grpc.IdentityServiceStub, rec: pb.SourceRecord) -> pb.IngestResponse:
    return stub.Ingest(pb.IngestRequest(record=rec), timeout=10)


def bad_request(error: grpc.RpcError) -> list[str]:
    status = rpc_status.from_call(error)  # type: ignore[arg-type]
    assert status is not None
    fields = []
    for detail in status.details:
        message = error_details_pb2.BadRequest()
        if detail.Unpack(message):
            fields += [v.field for v in message.field_violations]
    return fields


def test_shared_phone_then_bridge_merge_then_redirect(stub: pb_grpc.IdentityServiceStub) -> None:
    a = ingest(stub, record("1", ("phone", "13912345678"), name="张伟"))
    a2 = ingest(stub, record("2", ("phone", "139 1234 5678"), source="app"))
    assert a.decision == pb.DECISION_NEW and a2.decision == pb.DECISION_LINKED
    assert a2.one_id == a.one_id and a2.match_probability >= 0.99 and a2.score > 0
    b = ingest(stub, record("3", ("email", "li@163.com"), source="app"))
    assert b.one_id != a.one_id
    bridge = ingest(stub, record("4", ("phone", "13912345678"), ("email", "li@163.com"),
                                 source="wechat"))
    assert bridge.decision == pb.DECISION_MERGED
    assert bridge.one_id == a.one_id and list(bridge.merged_one_ids) == [b.one_id]
    redirected = stub.GetProfile(pb.GetProfileRequest(one_id=b.one_id), timeout=10)
    assert redirected.redirected and redirected.requested_one_id == b.one_id
    assert redirected.profile.one_id == a.one_id
    assert {r.source_record_id for r in redirected.profile.records} == {"1", "2", "3", "4"}
    assert list(redirected.profile.merged_one_ids) == [b.one_id]


def test_fifty_placeholder_phones_stay_fifty_people(stub: pb_grpc.IdentityServiceStub,
                                                    clean_store: Neo4jStore) -> None:
    answers = [ingest(stub, record(f"lead{i}", ("phone", "13800138000"), source="media",
                                   name="王先生" if i % 2 else f"顾客{i}"))
               for i in range(50)]
    assert len({a.one_id for a in answers}) == 50
    assert all(a.decision == pb.DECISION_NEW for a in answers)
    check_invariants(clean_store)


def test_invalid_vin_is_invalid_argument_naming_the_field_and_writes_nothing(
        stub: pb_grpc.IdentityServiceStub, clean_store: Neo4jStore) -> None:
    ingest(stub, record("1", ("phone", "13912345678")))
    before = node_counts(clean_store)
    bad = record("2", ("phone", "13712345678"), vehicles=[pb.VehicleLink(
        vin="1M8GDM9A1KP042788", relation=pb.VEHICLE_RELATION_OWNER)])
    with pytest.raises(grpc.RpcError) as exc:
        ingest(stub, bad)
    assert exc.value.code() == grpc.StatusCode.INVALID_ARGUMENT
    assert "record.vehicles[0].vin" in exc.value.details()
    assert bad_request(exc.value) == ["record.vehicles[0].vin"]
    with pytest.raises(grpc.RpcError) as exc:
        ingest(stub, record("3", ("vin", "1M8GDM9AXKP04278O")))
    assert bad_request(exc.value) == ["record.identifiers[0].value"]
    assert node_counts(clean_store) == before


def test_missing_record_and_limits_are_invalid_argument(stub: pb_grpc.IdentityServiceStub
                                                        ) -> None:
    with pytest.raises(grpc.RpcError) as exc:
        stub.Ingest(pb.IngestRequest(), timeout=10)
    assert exc.value.code() == grpc.StatusCode.INVALID_ARGUMENT
    assert bad_request(exc.value) == ["record"]
    many = record("x", *[("crm_id", f"c{i}") for i in range(65)])
    with pytest.raises(grpc.RpcError) as exc:
        ingest(stub, many)
    assert bad_request(exc.value) == ["record.identifiers"]
    huge = record("y", ("phone", "13912345678"), note="x" * (1024 * 1024))
    with pytest.raises(grpc.RpcError) as exc:
        ingest(stub, huge)
    assert exc.value.code() == grpc.StatusCode.INVALID_ARGUMENT
    assert bad_request(exc.value) == ["record"]
    beyond_backstop = record("z", ("phone", "13912345678"), note="x" * (5 * 1024 * 1024))
    with pytest.raises(grpc.RpcError) as exc:
        ingest(stub, beyond_backstop)
    assert exc.value.code() == grpc.StatusCode.RESOURCE_EXHAUSTED


def test_batch_ingest_answers_in_order_and_survives_a_bad_row(
        stub: pb_grpc.IdentityServiceStub, clean_store: Neo4jStore) -> None:
    rows = [record(str(i), ("phone", f"1391234{i:04d}")) for i in range(30)]
    rows[7] = record("7", ("phone", "12345"))
    rows[20] = record("", ("phone", "13912340020"))
    rows[25] = record("25", ("phone", "13912340025"), note="x" * (1024 * 1024 + 1))
    answers = list(stub.BatchIngest(iter(pb.IngestRequest(record=r) for r in rows), timeout=60))
    assert [a.source_record_id for a in answers] == [r.source_record_id for r in rows]
    assert answers[7].error.code == grpc.StatusCode.INVALID_ARGUMENT.value[0]
    assert "record.identifiers[0].value" in answers[7].error.message
    assert answers[20].error.code == grpc.StatusCode.INVALID_ARGUMENT.value[0]
    assert answers[25].error.code == grpc.StatusCode.INVALID_ARGUMENT.value[0]
    good = [a for i, a in enumerate(answers) if i not in (7, 20, 25)]
    assert all(a.one_id and a.decision == pb.DECISION_NEW for a in good)
    assert node_counts(clean_store)["Record"] == 27


def test_resolve_writes_nothing(stub: pb_grpc.IdentityServiceStub,
                                clean_store: Neo4jStore) -> None:
    a = ingest(stub, record("1", ("phone", "13912345678"), name="张伟"))
    before = node_counts(clean_store)
    hit = stub.Resolve(pb.ResolveRequest(identifiers=[pb.Identifier(type="phone",
                                                                    value="13912345678")],
                                         attributes={"name": "張偉"}), timeout=10)
    assert hit.one_id == a.one_id and hit.confidence > 0.99
    assert {c.name: c.level for c in hit.candidates[0].comparisons} == {
        "phone": "agree", "name": "exact"}
    miss = stub.Resolve(pb.ResolveRequest(identifiers=[pb.Identifier(type="email",
                                                                     value="no@qq.com")]),
                        timeout=10)
    assert miss.one_id == "" and not miss.candidates
    assert node_counts(clean_store) == before
    with pytest.raises(grpc.RpcError) as exc:
        stub.Resolve(pb.ResolveRequest(identifiers=[pb.Identifier(type="wechat_openid",
                                                                  value="o1")]), timeout=10)
    assert bad_request(exc.value) == ["identifiers[0].scope"]


def test_profile_shows_vehicles_identifiers_and_golden_attributes(
        stub: pb_grpc.IdentityServiceStub) -> None:
    since = Timestamp(seconds=1_577_836_800)  # 2020-01-01
    a = ingest(stub, record("1", ("phone", "13912345678"), ("id_card", "11010519491231002x"),
                            source="dms", name="张伟", city="上海",
                            vehicles=[pb.VehicleLink(vin="LJCPCBLCX11000237", model="Model A",
                                                     relation=pb.VEHICLE_RELATION_OWNER,
                                                     plate="沪A·12345", since=since)]))
    ingest(stub, record("2", ("phone", "13912345678"), source="media", city="北京"))
    by_id = stub.GetProfile(pb.GetProfileRequest(identifier=pb.Identifier(
        type="id_card", value="11010519491231002X")), timeout=10)
    profile = by_id.profile
    assert profile.one_id == a.one_id and not by_id.redirected
    golden = {g.name: g for g in profile.attributes}
    assert golden["city"].value == "上海" and golden["city"].source == "dms"
    assert "trust" in golden["city"].rule
    card = next(i for i in profile.identifiers if i.type == "id_card")
    assert card.hashed and "1101051949" not in card.value
    phone = next(i for i in profile.identifiers if i.type == "phone")
    assert list(phone.sources) == ["dms", "media"]
    (vehicle,) = profile.vehicles
    assert (vehicle.vin, vehicle.plate, vehicle.current) == ("LJCPCBLCX11000237", "沪A12345", True)
    assert vehicle.relation == pb.VEHICLE_RELATION_OWNER and vehicle.since.seconds == since.seconds


def test_profile_errors(stub: pb_grpc.IdentityServiceStub) -> None:
    with pytest.raises(grpc.RpcError) as exc:
        stub.GetProfile(pb.GetProfileRequest(), timeout=10)
    assert exc.value.code() == grpc.StatusCode.INVALID_ARGUMENT
    with pytest.raises(grpc.RpcError) as exc:
        stub.GetProfile(pb.GetProfileRequest(one_id="oid_" + "1" * 26), timeout=10)
    assert exc.value.code() == grpc.StatusCode.NOT_FOUND
    with pytest.raises(grpc.RpcError) as exc:
        stub.GetProfile(pb.GetProfileRequest(one_id="nonsense"), timeout=10)
    assert bad_request(exc.value) == ["one_id"]


def test_explain_record_against_one_id(stub: pb_grpc.IdentityServiceStub) -> None:
    a = ingest(stub, record("1", ("phone", "13912345678"), name="张伟"))
    answer = stub.Explain(pb.ExplainRequest(
        record=record("2", ("phone", "13912345678"), name="王芳"), other_one_id=a.one_id),
        timeout=10)
    rules = load_rules()
    # The phone is shared while the names disagree: it weighs its different_person level.
    different = rules.identifier_types["phone"].different_person
    assert different is not None
    phone, name = different.bits, rules.attributes["name"].levels["disagree"].bits
    assert {c.name: (c.level, c.weight) for c in answer.comparisons} == {
        "phone": ("agree", pytest.approx(phone)), "name": ("disagree", pytest.approx(name))}
    assert answer.score == pytest.approx(rules.prior_bits + phone + name, abs=1e-5)
    assert answer.decision == pb.DECISION_NEW
    assert answer.match_probability < answer.review_threshold < answer.link_threshold == 0.99
    assert answer.reason


def test_expired_deadline_is_deadline_exceeded(stub: pb_grpc.IdentityServiceStub) -> None:
    with pytest.raises(grpc.RpcError) as exc:
        stub.Ingest(pb.IngestRequest(record=record("1", ("phone", "13912345678"))),
                    timeout=0.0001)
    assert exc.value.code() == grpc.StatusCode.DEADLINE_EXCEEDED


def test_health_and_reflection(channel: grpc.Channel) -> None:
    health = health_pb2_grpc.HealthStub(channel)
    for service in ("", "idgraph.v1.IdentityService"):
        answer = health.Check(health_pb2.HealthCheckRequest(service=service), timeout=5)
        assert answer.status == health_pb2.HealthCheckResponse.SERVING
    reflection = reflection_pb2_grpc.ServerReflectionStub(channel)
    request = reflection_pb2.ServerReflectionRequest(list_services="")
    answer = next(iter(reflection.ServerReflectionInfo(iter([request]), timeout=5)))
    names = {s.name for s in answer.list_services_response.service}
    assert {"idgraph.v1.IdentityService", "grpc.health.v1.Health"} <= names
    # a method's full name finds its file too (ghz and other clients ask for it)
    for symbol in ("idgraph.v1.IdentityService", "idgraph.v1.IdentityService.Resolve",
                   "idgraph.v1.StewardService.GetHistory", "idgraph.v1.IdentityService.Nope"):
        request = reflection_pb2.ServerReflectionRequest(file_containing_symbol=symbol)
        answer = next(iter(reflection.ServerReflectionInfo(iter([request]), timeout=5)))
        found = bool(answer.file_descriptor_response.file_descriptor_proto)
        assert found is not symbol.endswith("Nope"), symbol


def test_ingest_batches_answer_each_record_in_order_and_survive_bad_rows(
        stub: pb_grpc.IdentityServiceStub, clean_store: Neo4jStore) -> None:
    first = [record(f"a{i}", ("phone", f"1391234{i:04d}")) for i in range(10)]
    first[3] = record("a3", ("phone", "12345"))
    second = [record("b0", ("phone", "13912340001"), source="app"),  # the person of a1
              record("", ("phone", "13912349999"))]
    requests = [pb.IngestBatchRequest(records=first), pb.IngestBatchRequest(),
                pb.IngestBatchRequest(records=second)]
    answers = list(stub.IngestBatches(iter(requests), timeout=60))
    assert [len(a.results) for a in answers] == [10, 0, 2]
    results = [r for a in answers for r in a.results]
    assert [r.source_record_id for r in results] == [
        r.source_record_id for r in first + second]
    assert results[3].error.code == grpc.StatusCode.INVALID_ARGUMENT.value[0]
    assert "records[3].identifiers[0].value" in results[3].error.message
    assert results[11].error.code == grpc.StatusCode.INVALID_ARGUMENT.value[0]
    assert "records[1].source_record_id" in results[11].error.message
    good = [r for i, r in enumerate(results) if i not in (3, 11)]
    assert all(not r.HasField("error") and r.one_id for r in good)
    assert results[10].one_id == results[1].one_id
    assert results[10].decision == pb.DECISION_LINKED
    assert node_counts(clean_store)["Record"] == 10
    assert node_counts(clean_store)["Person"] == 9


def test_ingest_batches_reject_an_oversized_message_and_write_nothing(
        stub: pb_grpc.IdentityServiceStub, clean_store: Neo4jStore) -> None:
    rows = [record(str(i), ("phone", f"1391234{i:04d}"), note="x" * (300 * 1024))
            for i in range(4)]
    (answer,) = stub.IngestBatches(iter([pb.IngestBatchRequest(records=rows)]), timeout=60)
    assert len(answer.results) == 4
    assert all(r.error.code == grpc.StatusCode.INVALID_ARGUMENT.value[0]
               and "records" in r.error.message for r in answer.results)
    assert node_counts(clean_store).get("Record", 0) == 0


def test_watch_changes_in_commit_order_and_resume_exactly_once(
        stub: pb_grpc.IdentityServiceStub, clean_store: Neo4jStore) -> None:
    a = ingest(stub, record("1", ("phone", "13912345678")))
    b = ingest(stub, record("2", ("email", "wang@example.com")))
    merged = ingest(stub, record("3", ("phone", "13912345678"), ("email", "wang@example.com")))
    assert merged.decision == pb.DECISION_MERGED
    first = list(stub.WatchChanges(pb.WatchChangesRequest(max_events=2), timeout=10))
    assert [(e.type, e.one_id) for e in first] == [
        (pb.CHANGE_TYPE_CREATED, a.one_id), (pb.CHANGE_TYPE_CREATED, b.one_id)]
    assert all(e.actor == "anonymous" and e.at.seconds > 0 for e in first)
    # A client that stopped after two events resumes from its last cursor, and the open
    # stream then delivers a change committed while it waits.
    stream = stub.WatchChanges(pb.WatchChangesRequest(after_cursor=first[-1].cursor),
                               timeout=20)
    rest = [next(stream)]
    assert (rest[0].type, rest[0].one_id, list(rest[0].related_one_ids)) == (
        pb.CHANGE_TYPE_MERGED, merged.one_id, [b.one_id])
    assert rest[0].rule == "match" and rest[0].score > 0
    c = ingest(stub, record("4", ("phone", "13800000001")))
    rest.append(next(stream))
    stream.cancel()
    assert (rest[1].type, rest[1].one_id) == (pb.CHANGE_TYPE_CREATED, c.one_id)
    cursors = [int(e.cursor) for e in first + rest]
    assert cursors == sorted(cursors) and len(set(cursors)) == 4
    again = list(stub.WatchChanges(pb.WatchChangesRequest(max_events=4), timeout=10))
    assert [e.cursor for e in again] == [e.cursor for e in first + rest]
    with pytest.raises(grpc.RpcError) as exc:
        list(stub.WatchChanges(pb.WatchChangesRequest(after_cursor="x1"), timeout=10))
    assert exc.value.code() == grpc.StatusCode.INVALID_ARGUMENT
    assert bad_request(exc.value) == ["after_cursor"]


def test_a_client_that_waits_for_each_answer_gets_it(stub: pb_grpc.IdentityServiceStub
                                                      ) -> None:
    """Streams answer when the caller pauses, not only when the window fills: a client in
    lockstep (send one, wait for its answer, send the next) is not left waiting."""
    import queue

    outgoing: queue.SimpleQueue[pb.IngestRequest | None] = queue.SimpleQueue()

    def requests() -> Iterator[pb.IngestRequest]:
        while (request := outgoing.get()) is not None:
            yield request

    answers = stub.BatchIngest(requests(), timeout=60)
    one_ids = []
    for i in range(3):
        outgoing.put(pb.IngestRequest(record=record(f"step{i}", ("phone", "13912345678"))))
        one_ids.append(next(answers).one_id)  # blocks forever if the server waits for more
    outgoing.put(None)
    assert list(answers) == [] and len(set(one_ids)) == 1
    batches: queue.SimpleQueue[pb.IngestBatchRequest | None] = queue.SimpleQueue()
    stream = stub.IngestBatches(iter(batches.get, None), timeout=60)
    batches.put(pb.IngestBatchRequest(records=[record("b1", ("phone", "13912345678"))]))
    assert next(stream).results[0].one_id == one_ids[0]
    batches.put(None)
    assert list(stream) == []
