"""StewardService through a real gRPC server and client over a real Neo4j."""

from __future__ import annotations

import json

import grpc
import pytest

from idgraph.store.neo4j_store import Neo4jStore
from idgraph.v1 import identity_pb2 as pb
from idgraph.v1 import identity_pb2_grpc as pb_grpc
from idgraph.v1 import steward_pb2 as spb
from idgraph.v1 import steward_pb2_grpc as spb_grpc
from tests.e2e.test_grpc_api import bad_request, ingest, record
from tests.integration.helpers import active_people, check_invariants

pytestmark = pytest.mark.e2e

PHONE = "13912345678"
OTHER_PHONE = "13787654321"  # not one typed digit from PHONE: that would link
BORN = "1990-01-01"


def open_review(stub: pb_grpc.IdentityServiceStub) -> tuple[pb.IngestResponse,
                                                             pb.IngestResponse]:
    """Two records with the same name and birth date and no shared identifier: the second
    opens a review task (attributes alone never link)."""
    first = ingest(stub, record("1", ("phone", PHONE), name="张伟", birth_date=BORN))
    second = ingest(stub, record("2", ("phone", OTHER_PHONE), source="app", name="张伟",
                                 birth_date=BORN))
    assert second.decision == pb.DECISION_REVIEW and second.review_task_id
    return first, second


def test_a_task_decided_keep_apart_stays_apart_as_records_arrive(
        stub: pb_grpc.IdentityServiceStub, steward: spb_grpc.StewardServiceStub,
        clean_store: Neo4jStore) -> None:
    first, second = open_review(stub)
    (listed,) = steward.ListReviewTasks(spb.ListReviewTasksRequest(
        status=spb.REVIEW_STATUS_OPEN), timeout=10).tasks
    assert (listed.task_id, listed.one_id, list(listed.candidate_one_ids)) == (
        second.review_task_id, second.one_id, [first.one_id])
    assert (listed.source, listed.source_record_id) == ("app", "2")
    shown = steward.GetReviewTask(spb.GetReviewTaskRequest(task_id=listed.task_id), timeout=10)
    assert [s.one_id for s in shown.sides] == [second.one_id, first.one_id]
    assert {a.name: a.value for a in shown.sides[1].attributes}["name"] == "张伟"
    (candidate,) = shown.candidates
    levels = {c.name: c.level for c in candidate.comparisons}
    assert candidate.one_id == first.one_id and "phone" not in levels
    assert levels["name"] == levels["birth_date"] == "exact"
    decided = steward.DecideReviewTask(spb.DecideReviewTaskRequest(
        task_id=listed.task_id, decision=spb.REVIEW_DECISION_KEEP_APART,
        reason="two customers share a family phone"), timeout=10)
    assert decided.task.status == spb.REVIEW_STATUS_DECIDED
    assert decided.task.decided_by == "anonymous" and decided.task.decision_reason
    lineage = steward.GetHistory(spb.GetHistoryRequest(one_id=first.one_id), timeout=10)
    assert [(e.kind, e.task_id, e.decision) for e in lineage.entries] == [
        ("CREATED", "", ""), ("REVIEW_OPENED", listed.task_id, ""),
        ("REVIEW_DECIDED", listed.task_id, "KEEP_APART")]
    assert lineage.entries[-1].reason == "two customers share a family phone"
    # More records of both arrive: each joins its own person, and no new task opens.
    for n, phone in enumerate([OTHER_PHONE, PHONE, OTHER_PHONE], start=3):
        answer = ingest(stub, record(str(n), ("phone", phone), name="张伟", birth_date=BORN))
        assert answer.one_id == (second.one_id if phone == OTHER_PHONE else first.one_id)
        assert answer.decision == pb.DECISION_LINKED and not answer.review_task_id
    bridge = ingest(stub, record("9", ("phone", OTHER_PHONE), ("email", "w@x.com"),
                                 name="张伟", birth_date=BORN))
    assert bridge.one_id == second.one_id and not bridge.merged_one_ids
    assert active_people(clean_store) == 2
    assert not steward.ListReviewTasks(spb.ListReviewTasksRequest(
        status=spb.REVIEW_STATUS_OPEN), timeout=10).tasks
    with pytest.raises(grpc.RpcError) as again:
        steward.DecideReviewTask(spb.DecideReviewTaskRequest(
            task_id=listed.task_id, decision=spb.REVIEW_DECISION_MERGE, reason="oops"),
            timeout=10)
    assert again.value.code() == grpc.StatusCode.FAILED_PRECONDITION
    check_invariants(clean_store)


def test_a_task_decided_merge_merges_and_the_feed_says_so(
        stub: pb_grpc.IdentityServiceStub, steward: spb_grpc.StewardServiceStub,
        clean_store: Neo4jStore) -> None:
    first, second = open_review(stub)
    decided = steward.DecideReviewTask(spb.DecideReviewTaskRequest(
        task_id=second.review_task_id, decision=spb.REVIEW_DECISION_MERGE,
        reason="same person, new name after marriage"), timeout=10)
    assert (decided.one_id, list(decided.merged_one_ids)) == (first.one_id, [second.one_id])
    assert active_people(clean_store) == 1
    changes = list(stub.WatchChanges(pb.WatchChangesRequest(max_events=3), timeout=10))
    assert [(c.type, c.rule) for c in changes] == [
        (pb.CHANGE_TYPE_CREATED, ""), (pb.CHANGE_TYPE_CREATED, ""),
        (pb.CHANGE_TYPE_MERGED, "manual")]
    check_invariants(clean_store)


def test_review_tasks_page_and_filter(stub: pb_grpc.IdentityServiceStub,
                                     steward: spb_grpc.StewardServiceStub,
                                     clean_store: Neo4jStore) -> None:
    opened = []
    for n in range(5):
        born = f"1990-01-{n + 1:02d}"
        ingest(stub, record(f"a{n}", ("phone", f"1391234{n:04d}"), name="张伟", birth_date=born))
        opened.append(ingest(stub, record(f"b{n}", ("phone", f"1358765{n:04d}"),
                                          source="app", name="张伟", birth_date=born)
                             ).review_task_id)
    seen, token = [], ""
    while True:
        page = steward.ListReviewTasks(spb.ListReviewTasksRequest(page_size=2,
                                                                  page_token=token), timeout=10)
        seen += [t.task_id for t in page.tasks]
        token = page.next_page_token
        if not token:
            break
    assert seen == opened  # oldest first, each once
    assert not steward.ListReviewTasks(spb.ListReviewTasksRequest(source="crm"),
                                       timeout=10).tasks
    assert len(steward.ListReviewTasks(spb.ListReviewTasksRequest(source="app"),
                                       timeout=10).tasks) == 5
    assert not steward.ListReviewTasks(spb.ListReviewTasksRequest(min_score=50, max_score=60),
                                       timeout=10).tasks
    assert not steward.ListReviewTasks(spb.ListReviewTasksRequest(reason_contains="zzz"),
                                       timeout=10).tasks


@pytest.mark.parametrize("call, fields", [
    (lambda s: s.ListReviewTasks(spb.ListReviewTasksRequest(page_size=9999, page_token="%%",
                                                            min_score=5, max_score=1),
                                 timeout=10), ["page_size", "max_score", "page_token"]),
    (lambda s: s.GetReviewTask(spb.GetReviewTaskRequest(), timeout=10), ["task_id"]),
    (lambda s: s.DecideReviewTask(spb.DecideReviewTaskRequest(), timeout=10),
     ["task_id", "reason", "decision"]),
    (lambda s: s.MergePersons(spb.MergePersonsRequest(one_ids=["x"]), timeout=10),
     ["one_ids[0]", "one_ids", "reason"]),
])
def test_bad_steward_requests_name_their_fields(steward: spb_grpc.StewardServiceStub,
                                                call: object, fields: list[str]) -> None:
    with pytest.raises(grpc.RpcError) as exc:
        call(steward)  # type: ignore[operator]
    assert exc.value.code() == grpc.StatusCode.INVALID_ARGUMENT
    assert bad_request(exc.value) == fields


def test_unknown_task_is_not_found(steward: spb_grpc.StewardServiceStub,
                                   clean_store: Neo4jStore) -> None:
    with pytest.raises(grpc.RpcError) as exc:
        steward.GetReviewTask(spb.GetReviewTaskRequest(task_id="nope"), timeout=10)
    assert exc.value.code() == grpc.StatusCode.NOT_FOUND


def test_merge_persons_by_hand(stub: pb_grpc.IdentityServiceStub,
                               steward: spb_grpc.StewardServiceStub,
                               clean_store: Neo4jStore) -> None:
    a = ingest(stub, record("1", ("phone", PHONE)))
    b = ingest(stub, record("2", ("email", "li@163.com")))
    merged = steward.MergePersons(spb.MergePersonsRequest(one_ids=[b.one_id, a.one_id],
                                                          reason="checked"), timeout=10)
    assert (merged.one_id, list(merged.merged_one_ids)) == (a.one_id, [b.one_id])
    with pytest.raises(grpc.RpcError) as exc:
        steward.MergePersons(spb.MergePersonsRequest(one_ids=[b.one_id, a.one_id],
                                                     reason="again"), timeout=10)
    assert exc.value.code() == grpc.StatusCode.FAILED_PRECONDITION
    check_invariants(clean_store)


def test_a_wrong_merge_split_stays_split_and_every_one_id_resolves(
        stub: pb_grpc.IdentityServiceStub, steward: spb_grpc.StewardServiceStub,
        clean_store: Neo4jStore) -> None:
    a = ingest(stub, record("1", ("phone", PHONE)))
    b = ingest(stub, record("2", ("email", "li@163.com"), source="app"))
    wrong = ingest(stub, record("3", ("phone", PHONE), ("email", "li@163.com"), source="web"))
    assert wrong.decision == pb.DECISION_MERGED and wrong.one_id == a.one_id
    split = steward.SplitPerson(spb.SplitPersonRequest(
        one_id=b.one_id,  # a merged-away OneID finds its person
        records=[pb.RecordRef(source="app", source_record_id="2")],
        reason="the web form mixed two customers"), timeout=10)
    assert split.one_id == a.one_id and split.new_one_id not in (a.one_id, b.one_id)
    assert [(r.source, r.source_record_id) for r in split.moved] == [("app", "2")]
    # every OneID ever issued resolves to where its records live now
    profiles = {one_id: stub.GetProfile(pb.GetProfileRequest(one_id=one_id), timeout=10)
                for one_id in (a.one_id, b.one_id, split.new_one_id)}
    assert profiles[b.one_id].profile.one_id == split.new_one_id
    assert profiles[b.one_id].redirected
    assert {r.source_record_id for r in profiles[a.one_id].profile.records} == {"1", "3"}
    assert {r.source_record_id for r in profiles[split.new_one_id].profile.records} == {"2"}
    # the same bridging evidence again does not re-merge them
    again = ingest(stub, record("4", ("phone", PHONE), ("email", "li@163.com"), source="web"))
    assert again.one_id == a.one_id and not again.merged_one_ids
    assert ingest(stub, record("5", ("email", "li@163.com"), source="app")
                  ).one_id in (a.one_id, split.new_one_id)
    assert active_people(clean_store) == 2
    changes = list(stub.WatchChanges(pb.WatchChangesRequest(max_events=5), timeout=10))
    assert [(c.type, c.one_id, list(c.related_one_ids)) for c in changes[-2:]] == [
        (pb.CHANGE_TYPE_CREATED, split.new_one_id, []),
        (pb.CHANGE_TYPE_SPLIT, a.one_id, [split.new_one_id])]
    history = steward.GetHistory(spb.GetHistoryRequest(one_id=a.one_id), timeout=10)
    assert history.one_id == a.one_id
    assert [(e.kind, e.one_id, list(e.related_one_ids), e.rule) for e in history.entries] == [
        ("CREATED", a.one_id, [], ""),  # b's creation went with its records to the new part
        ("MERGED", a.one_id, [b.one_id], "match"),
        ("SPLIT", a.one_id, [split.new_one_id], "manual")]
    assert history.entries[-1].reason == "the web form mixed two customers"
    moved = steward.GetHistory(spb.GetHistoryRequest(one_id=b.one_id), timeout=10)
    assert moved.one_id == split.new_one_id
    assert {e.kind for e in moved.entries} == {"CREATED", "MERGED", "SPLIT"}
    check_invariants(clean_store)


def test_split_requests_name_their_fields(stub: pb_grpc.IdentityServiceStub,
                                          steward: spb_grpc.StewardServiceStub,
                                          clean_store: Neo4jStore) -> None:
    a = ingest(stub, record("1", ("phone", PHONE)))
    ingest(stub, record("2", ("phone", PHONE), source="app"))
    for records, fields in (
            ([pb.RecordRef(source="crm", source_record_id="1"),
              pb.RecordRef(source="crm", source_record_id="404")], ["records[1]"]),
            ([pb.RecordRef(source="crm", source_record_id="1"),
              pb.RecordRef(source="app", source_record_id="2")], ["records"]),
            ([pb.RecordRef(source="", source_record_id="1")], ["records[0].source"])):
        with pytest.raises(grpc.RpcError) as exc:
            steward.SplitPerson(spb.SplitPersonRequest(one_id=a.one_id, records=records,
                                                       reason="r"), timeout=10)
        assert exc.value.code() == grpc.StatusCode.INVALID_ARGUMENT
        assert bad_request(exc.value) == fields
    assert active_people(clean_store) == 1


def everything_stored(store: Neo4jStore) -> str:
    """Every property of every node and relationship, as one text."""
    nodes = store.run_cypher("MATCH (n) RETURN labels(n) AS labels, properties(n) AS p")
    rels = store.run_cypher("MATCH ()-[r]->() RETURN type(r) AS type, properties(r) AS p")
    return json.dumps([*nodes, *rels], ensure_ascii=False, default=str)


def test_review_tasks_by_what_a_decision_changes(stub: pb_grpc.IdentityServiceStub,
                                                 steward: spb_grpc.StewardServiceStub,
                                                 clean_store: Neo4jStore) -> None:
    """Largest first: the task whose people hold the most records leads, whatever its age;
    each task says how many people and records a decision touches."""
    ingest(stub, record("s1", ("phone", "13911110001"), name="王芳", birth_date="1981-02-03"))
    small = ingest(stub, record("s2", ("phone", "13622220002"), source="app", name="王芳",
                                birth_date="1981-02-03")).review_task_id
    for n in range(3):
        ingest(stub, record(f"b{n}", ("phone", "13933330003"), name="李静",
                            birth_date="1975-06-07"))
    big = ingest(stub, record("b9", ("phone", "13544440004"), source="app", name="李静",
                              birth_date="1975-06-07")).review_task_id
    assert small and big

    def listed(order: int) -> list[spb.ReviewTaskSummary]:
        seen, token = [], ""
        while True:
            page = steward.ListReviewTasks(spb.ListReviewTasksRequest(
                order=order, page_size=1, page_token=token), timeout=10)
            seen += list(page.tasks)
            token = page.next_page_token
            if not token:
                return seen

    largest = listed(spb.REVIEW_ORDER_LARGEST_FIRST)
    assert [t.task_id for t in largest] == [big, small]
    assert [(t.people_involved, t.records_involved) for t in largest] == [(2, 4), (2, 2)]
    assert [t.task_id for t in listed(spb.REVIEW_ORDER_UNSPECIFIED)] == [small, big]
    with pytest.raises(grpc.RpcError) as bad:
        steward.ListReviewTasks(spb.ListReviewTasksRequest(order=7), timeout=10)
    assert bad.value.code() == grpc.StatusCode.INVALID_ARGUMENT


def test_an_erased_person_leaves_no_data_behind(
        stub: pb_grpc.IdentityServiceStub, steward: spb_grpc.StewardServiceStub,
        clean_store: Neo4jStore) -> None:
    own_car, shared_car = "LFV2A21K4P4000001", "LSVAU218XN2183294"
    owner = pb.VEHICLE_RELATION_OWNER
    a = ingest(stub, record("1", ("phone", PHONE), ("email", "wxm@163.com"), name="王小明",
                           address="上海市浦东新区世纪大道100号", birth_date="1985-03-12",
                           vehicles=[pb.VehicleLink(vin=own_car, relation=owner, plate="沪A12345"),
                                     pb.VehicleLink(vin=shared_car, relation=owner)]))
    b = ingest(stub, record("2", ("wechat_openid", "o-wxm", "app1"), source="app", name="王小明"))
    ingest(stub, record("3", ("email", "wxm@163.com"), ("wechat_openid", "o-wxm", "app1"),
                        source="web", name="王小明"))
    other = ingest(stub, record("7", ("phone", "13700000007"), source="dms", name="赵六",
                                vehicles=[pb.VehicleLink(vin=shared_car, relation=owner)]))
    review = ingest(stub, record("8", ("phone", "13600000008"), source="dms",
                                 name="王晓明", birth_date="1985-03-12"))
    assert review.review_task_id  # its evidence holds 王小明's values
    steward.DecideReviewTask(spb.DecideReviewTaskRequest(
        task_id=review.review_task_id, decision=spb.REVIEW_DECISION_KEEP_APART,
        reason="王小明 and 王晓明 are two people"), timeout=10)
    values = clean_store.run_cypher(
        "MATCH (:Person {one_id: $one_id})<-[:PART_OF]-(r:Record) "
        "OPTIONAL MATCH (r)-[:HAS_IDENTIFIER]->(i:Identifier) "
        "RETURN collect(DISTINCT r.key) + collect(DISTINCT i.value) AS values",
        one_id=a.one_id)[0]["values"]
    secrets = [*values, "王小明", "世纪大道", "沪A12345", own_car, "wxm@163.com"]
    assert all(s in everything_stored(clean_store) for s in secrets)
    erased = steward.ErasePerson(spb.ErasePersonRequest(one_id=b.one_id,
                                                        reason="PIPL request 2026-0042"),
                                 timeout=10)
    assert erased.one_id == a.one_id and set(erased.erased_one_ids) == {a.one_id, b.one_id}
    stored = everything_stored(clean_store)
    left = [s for s in secrets if s in stored]
    assert left == []
    assert shared_car in stored and "赵六" in stored and "王晓明" in stored  # theirs
    for one_id in (a.one_id, b.one_id):
        with pytest.raises(grpc.RpcError) as gone:
            stub.GetProfile(pb.GetProfileRequest(one_id=one_id), timeout=10)
        assert gone.value.code() == grpc.StatusCode.NOT_FOUND
        assert "erased" in (gone.value.details() or "")
    history = steward.GetHistory(spb.GetHistoryRequest(one_id=b.one_id), timeout=10)
    assert history.entries[-1].kind == "ERASED" and history.one_id == a.one_id
    assert "王小明" not in str(history)
    feed = clean_store.changes_after(0, 1000)
    (last,) = stub.WatchChanges(pb.WatchChangesRequest(
        after_cursor=str(feed[-2].position), max_events=1), timeout=10)
    assert (last.type, last.one_id, list(last.related_one_ids)) == (
        pb.CHANGE_TYPE_ERASED, a.one_id, [b.one_id])
    again = ingest(stub, record("1", ("email", "wxm@163.com"), name="王小明"))
    assert again.decision == pb.DECISION_NEW and again.one_id != a.one_id
    assert ingest(stub, record("9", ("phone", "13700000007"), source="dms")).one_id == \
        other.one_id
    check_invariants(clean_store)


def test_split_person_re_resolving_answers_where_each_record_went(
        stub: pb_grpc.IdentityServiceStub, steward: spb_grpc.StewardServiceStub,
        clean_store: Neo4jStore) -> None:
    a = ingest(stub, record("1", ("phone", PHONE)))
    ingest(stub, record("2", ("phone", PHONE), ("wechat_openid", "o-7", "app1"), source="web"))
    ingest(stub, record("3", ("wechat_openid", "o-7", "app1"), source="web"))
    split = steward.SplitPerson(spb.SplitPersonRequest(
        one_id=a.one_id, re_resolve=True, reason="bad web records",
        records=[pb.RecordRef(source="web", source_record_id=r) for r in ("2", "3")]),
        timeout=10)
    assert split.one_id == a.one_id and split.new_one_id == ""
    placed = {p.record.source_record_id: p.one_id for p in split.placements}
    assert set(placed) == {"2", "3"} and a.one_id not in placed.values()
    assert placed["2"] == placed["3"]
    assert active_people(clean_store) == 2
    check_invariants(clean_store)
