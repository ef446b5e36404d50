"""Ingest against a real Neo4j: links, merges, redirects, guards, idempotency, vehicles."""

from __future__ import annotations

import json

import pytest

from idgraph.domain.identifiers import id_card_check_char
from idgraph.domain.records import RawIdentifier, RawVehicle
from idgraph.domain.resolution import Action
from idgraph.domain.rules import Rules
from idgraph.engine import IdentityEngine
from idgraph.errors import Conflict, DeadlineExceeded, InvalidInput, NotFound, Unavailable
from idgraph.localdb import free_port
from idgraph.store.neo4j_store import Neo4jStore
from tests.integration.helpers import (
    active_people,
    check_invariants,
    count,
    day,
    node_counts,
    rec,
)

pytestmark = pytest.mark.integration


def resident_id(n: int) -> str:
    body = f"11010119900307{n:03d}"
    return body + id_card_check_char(body)


def test_two_records_sharing_a_phone_get_one_one_id(engine: IdentityEngine) -> None:
    first = engine.ingest(rec("crm", "1", ("phone", "13912345678"), name="张伟"))
    second = engine.ingest(rec("app", "9", ("phone", "+86 139-1234-5678"), name="張偉"))
    assert first.action is Action.NEW and second.action is Action.LINKED
    assert second.one_id == first.one_id
    check_invariants(engine.core.store)  # type: ignore[arg-type]


def test_bridging_record_merges_and_absorbed_one_id_redirects(
        engine: IdentityEngine, clean_store: Neo4jStore) -> None:
    a = engine.ingest(rec("crm", "1", ("phone", "13912345678")))
    b = engine.ingest(rec("app", "2", ("email", "zhang@163.com")))
    assert a.one_id != b.one_id
    bridge = engine.ingest(rec("wechat", "3", ("phone", "13912345678"),
                               ("email", "zhang@163.com")))
    assert bridge.action is Action.MERGED
    assert bridge.one_id == a.one_id  # the older OneID survives
    assert bridge.merged_one_ids == (b.one_id,)
    profile = engine.profile(b.one_id)
    assert profile.redirected and profile.profile.one_id == a.one_id
    assert profile.profile.merged_one_ids == (b.one_id,)
    assert len(profile.profile.records) == 3
    events = clean_store.run_cypher("MATCH (e:MergeEvent) RETURN e")
    assert len(events) == 1
    event = events[0]["e"]
    assert (event["survivor"], list(event["absorbed"])) == (a.one_id, [b.one_id])
    assert event["record_key"] == "wechat|3" and event["at"] is not None
    evidence = json.loads(event["evidence"])
    assert {c["one_id"] for c in evidence["candidates"]} == {a.one_id, b.one_id}
    check_invariants(clean_store)


def test_redirects_stay_one_hop_after_chained_merges(
        engine: IdentityEngine, clean_store: Neo4jStore) -> None:
    a = engine.ingest(rec("crm", "1", ("phone", "13912345678")))
    b = engine.ingest(rec("crm", "2", ("email", "b@163.com")))
    c = engine.ingest(rec("crm", "3", ("crm_id", "C3")))
    engine.ingest(rec("crm", "4", ("email", "b@163.com"), ("crm_id", "C3")))  # c -> b
    engine.ingest(rec("crm", "5", ("phone", "13912345678"), ("email", "b@163.com")))  # b -> a
    for absorbed in (b.one_id, c.one_id):
        outcome = engine.profile(absorbed)
        assert outcome.redirected and outcome.profile.one_id == a.one_id
    hops = clean_store.run_cypher("MATCH (p:Person {status: 'merged'}) RETURN p.merged_into AS m")
    assert {r["m"] for r in hops} == {a.one_id}
    check_invariants(clean_store)


def test_fifty_placeholder_phones_stay_fifty_people(
        engine: IdentityEngine, clean_store: Neo4jStore) -> None:
    ids = {engine.ingest(rec("media", f"lead{i}", ("phone", "13800138000"),
                             name=f"客户{i}")).one_id for i in range(50)}
    assert len(ids) == 50 and active_people(clean_store) == 50
    profile = engine.profile(next(iter(ids))).profile
    assert profile.identifiers[0].blocklisted


def test_dealer_phone_becomes_a_hub_and_stops_merging(
        engine: IdentityEngine, clean_store: Neo4jStore) -> None:
    """DOMAIN case 13: one phone seen with six resident IDs stops being merge evidence."""
    cards = [resident_id(i) for i in range(6)]
    outcomes = [engine.ingest(rec("dms", f"s{i}", ("phone", "13512345678"), ("id_card", card)))
                for i, card in enumerate(cards)]
    assert len({o.one_id for o in outcomes}) == 6
    # The second and third resident IDs conflict with those before: tasks. From the fourth
    # on, the phone's records name three different people: shared, no evidence, no task.
    assert outcomes[1].review_task_id and outcomes[2].review_task_id
    assert not any(o.review_task_id for o in outcomes[3:])
    later = engine.ingest(rec("media", "x", ("phone", "13512345678"), name="赵先生"))
    assert later.action is Action.NEW and not later.review_task_id
    shared = [i for i in engine.profile(later.one_id).profile.identifiers
              if i.key.type == "phone"]
    assert shared[0].shared and shared[0].holder_count > 5
    with pytest.raises(Conflict):
        engine.profile(identifier=RawIdentifier("phone", "13512345678"))


def test_conflicting_resident_ids_open_a_review_task(
        engine: IdentityEngine, clean_store: Neo4jStore) -> None:
    a = engine.ingest(rec("dms", "1", ("phone", "13912345678"), ("id_card", "11010519491231002X")))
    b = engine.ingest(rec("dms", "2", ("phone", "13912345678"), ("id_card", "130503670401001")))
    assert b.action is Action.REVIEW and b.one_id != a.one_id and b.review_task_id
    task = clean_store.run_cypher("MATCH (t:ReviewTask {task_id: $id}) RETURN t",
                                  id=b.review_task_id)[0]["t"]
    assert task["status"] == "OPEN" and list(task["candidate_one_ids"]) == [a.one_id]
    assert task["one_id"] == b.one_id and "conflict" in task["reason"]


def test_resend_is_idempotent_and_updates_in_place(
        engine: IdentityEngine, clean_store: Neo4jStore) -> None:
    first = engine.ingest(rec("crm", "1", ("phone", "13912345678"), name="张伟"))
    before = node_counts(clean_store)
    again = engine.ingest(rec("crm", "1", ("phone", "13912345678"), name="张伟"))
    assert again.action is Action.UNCHANGED and again.one_id == first.one_id
    assert node_counts(clean_store) == before
    changed = engine.ingest(rec("crm", "1", ("phone", "13912345678"), ("email", "z@qq.com"),
                                name="张伟", city="上海"))
    assert changed.action is Action.LINKED and changed.one_id == first.one_id
    assert active_people(clean_store) == 1
    assert count(clean_store, "MATCH (r:Record) RETURN count(r) AS n") == 1
    profile = engine.profile(first.one_id).profile
    assert {a.name: a.value for a in profile.attributes}["city"] == "上海"
    assert {i.key.type for i in profile.identifiers} == {"email", "phone"}


def test_resend_that_drops_an_identifier_unlinks_it(
        engine: IdentityEngine, clean_store: Neo4jStore) -> None:
    first = engine.ingest(rec("crm", "1", ("phone", "13912345678"), ("email", "z@qq.com")))
    engine.ingest(rec("crm", "1", ("phone", "13912345678")))
    identifiers = engine.profile(first.one_id).profile.identifiers
    assert [i.key.type for i in identifiers] == ["phone"]


def test_invalid_record_writes_nothing(engine: IdentityEngine, clean_store: Neo4jStore) -> None:
    engine.ingest(rec("crm", "1", ("phone", "13912345678")))
    before = node_counts(clean_store)
    with pytest.raises(InvalidInput) as exc:
        engine.ingest(rec("dms", "2", ("phone", "13912345678"),
                          vehicles=(RawVehicle("1M8GDM9A1KP042788", "OWNER"),)))
    assert [v.field for v in exc.value.violations] == ["record.vehicles[0].vin"]
    assert node_counts(clean_store) == before


def test_used_car_transfer_closes_ownership_without_merging(
        engine: IdentityEngine, clean_store: Neo4jStore) -> None:
    """DOMAIN case 14."""
    vin = "LJCPCBLCX11000237"
    old = engine.ingest(rec("dms", "sale1", ("phone", "13912345678"), name="张伟",
                            vehicles=(RawVehicle(vin, "OWNER", model="Model A",
                                                 since=day(2019)),)))
    new = engine.ingest(rec("dms", "sale2", ("phone", "13712345678"), ("vin", vin), name="李雷",
                            vehicles=(RawVehicle(vin, "OWNER", since=day(2024, 3)),)))
    assert new.one_id != old.one_id and new.action is Action.NEW
    old_car = engine.profile(old.one_id).profile.vehicles[0]
    new_car = engine.profile(new.one_id).profile.vehicles[0]
    assert old_car.vehicle.until == day(2024, 3) and not old_car.current
    assert new_car.current and new_car.vehicle.since == day(2024, 3)
    assert old_car.vehicle.model == "Model A"


def test_golden_attributes_prefer_trusted_then_recent(engine: IdentityEngine) -> None:
    first = engine.ingest(rec("media", "1", ("phone", "13912345678"), observed=day(2025),
                              name="张伟", city="北京"))
    engine.ingest(rec("dms", "2", ("phone", "13912345678"), observed=day(2020), city="上海"))
    engine.ingest(rec("media", "3", ("phone", "13912345678"), observed=day(2026), name="张玮"))
    golden = {a.name: a for a in engine.profile(first.one_id).profile.attributes}
    assert golden["city"].value == "上海" and "dms" in golden["city"].rule
    assert golden["name"].value == "张玮" and golden["name"].source_record_id == "3"


def test_identifier_first_and_last_seen(engine: IdentityEngine) -> None:
    first = engine.ingest(rec("crm", "1", ("phone", "13912345678"), observed=day(2021)))
    engine.ingest(rec("app", "2", ("phone", "13912345678"), observed=day(2023)))
    (phone,) = engine.profile(first.one_id).profile.identifiers
    assert (phone.first_seen, phone.last_seen, phone.sources) == (day(2021), day(2023),
                                                                  ("app", "crm"))


def test_profile_by_identifier_and_missing(engine: IdentityEngine) -> None:
    first = engine.ingest(rec("crm", "1", ("id_card", "11010519491231002x")))
    found = engine.profile(identifier=RawIdentifier("id_card", "11010519491231002X"))
    assert found.profile.one_id == first.one_id and not found.redirected
    with pytest.raises(NotFound):
        engine.profile(identifier=RawIdentifier("phone", "13000000001"))
    with pytest.raises(NotFound):
        engine.profile("oid_" + "0" * 26)


def test_id_card_never_stored_in_clear(engine: IdentityEngine, clean_store: Neo4jStore) -> None:
    engine.ingest(rec("dms", "1", ("id_card", "11010519491231002X"), name="张伟"))
    dump = json.dumps(clean_store.run_cypher("MATCH (n) RETURN properties(n) AS p"),
                      default=str)
    assert "11010519491231002" not in dump


def test_resolve_is_read_only(engine: IdentityEngine, clean_store: Neo4jStore) -> None:
    first = engine.ingest(rec("crm", "1", ("phone", "13912345678"), name="张伟"))
    before = node_counts(clean_store)
    hit = engine.ingestion.resolve([RawIdentifier("phone", "13912345678")], {"name": "张伟"})
    miss = engine.ingestion.resolve([RawIdentifier("phone", "13700000000")], {})
    unseen = engine.ingestion.resolve([RawIdentifier("email", "new@qq.com")], {})
    assert hit.one_id == first.one_id and hit.confidence > engine.core.rules.thresholds.link
    assert miss.one_id == "" and unseen.one_id == "" and unseen.candidates == ()
    assert node_counts(clean_store) == before


def test_explain_between_two_people(engine: IdentityEngine) -> None:
    a = engine.ingest(rec("dms", "1", ("phone", "13912345678"), ("id_card", "11010519491231002X")))
    b = engine.ingest(rec("dms", "2", ("phone", "13912345678"), ("id_card", "130503670401001")))
    outcome = engine.reads.explain(b.one_id, one_id=a.one_id)
    levels = {c.name: c.level for c in outcome.score.comparisons}
    assert levels == {"phone": "agree", "id_card": "conflict"}
    assert outcome.action is Action.REVIEW and outcome.score.conflict


def test_records_without_identifiers_are_people_too(engine: IdentityEngine) -> None:
    """A lead with only a name and birth date is found through the blocking key."""
    bare = engine.ingest(rec("media", "1", name="張偉", birth_date="1990-01-02"))
    assert bare.action is Action.NEW
    later = engine.ingest(rec("crm", "2", ("phone", "13912345678"), name="张伟",
                              birth_date="1990/01/02"))
    # Name and birth date agree, but without a shared identifier that is only worth a review.
    assert later.action is Action.REVIEW and later.review_task_id
    explained = engine.reads.explain(bare.one_id, one_id=later.one_id)
    assert {c.name: c.level for c in explained.score.comparisons} == {
        "name": "exact", "birth_date": "exact"}


def test_expired_deadline_writes_nothing(engine: IdentityEngine, clean_store: Neo4jStore) -> None:
    with pytest.raises(DeadlineExceeded):
        engine.ingest(rec("crm", "late", ("phone", "13912345678")), timeout=0.0)
    assert node_counts(clean_store) == {}


def test_unreachable_neo4j_is_unavailable(rules: Rules) -> None:
    store = Neo4jStore(f"bolt://127.0.0.1:{free_port()}", "neo4j", "", retry_seconds=1)
    engine = IdentityEngine(store, rules, b"secret")
    try:
        with pytest.raises(Unavailable):
            engine.ingestion.resolve([RawIdentifier("phone", "13912345678")], {}, timeout=5)
        with pytest.raises(Unavailable):
            engine.ingest(rec("crm", "1", ("phone", "13912345678")), timeout=5)
    finally:
        engine.close()
        store.close()


def test_romanized_name_finds_the_person_through_the_pinyin_blocking_key(
        engine: IdentityEngine) -> None:
    """No shared identifier: the name's sound and the birth date bring the records together;
    attributes alone never link, so a steward gets a review task."""
    first = engine.ingest(rec("crm", "1", ("phone", "13912345678"), name="張偉",
                              birth_date="1980-02-03"))
    second = engine.ingest(rec("app", "2", name="Wei Zhang", birth_date="1980-02-03"))
    assert second.action is Action.REVIEW and second.one_id != first.one_id
    explained = engine.reads.explain(first.one_id, one_id=second.one_id)
    levels = {c.name: c.level for c in explained.score.comparisons}
    assert levels == {"name": "pinyin", "birth_date": "exact"}
    stranger = engine.ingest(rec("app", "3", name="Li Na", birth_date="1980-02-03"))
    assert stranger.action is Action.NEW
