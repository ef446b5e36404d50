"""Households, referrals and dealer affinity on a real Neo4j: edges between OneIDs read
from what records share and name, never reasons to merge, following merges and erasure."""

from __future__ import annotations

import pytest

from idgraph.domain.profile import RelationType
from idgraph.domain.records import RawIdentifier, RawRecord
from idgraph.domain.resolution import Action
from idgraph.engine import IdentityEngine
from idgraph.store.neo4j_store import Neo4jStore
from tests.integration.helpers import active_people, check_invariants, day, rec

pytestmark = pytest.mark.integration

HOME = "上海市浦东新区世纪大道100号3栋1201室"


def relations(engine: IdentityEngine, one_id: str) -> set[tuple[str, str]]:
    return {(r.type.value, r.one_id) for r in engine.profile(one_id).profile.relationships}


def test_a_shared_landline_and_address_is_a_household_not_a_merge(
        engine: IdentityEngine, clean_store: Neo4jStore) -> None:
    husband = engine.ingest(rec("dms", "1", ("phone", "13900000001"),
                                ("landline", "021-62265678"), name="张伟", address=HOME,
                                observed=day(2020))).one_id
    wife = engine.ingest(rec("crm", "2", ("phone", "13900000002"),
                             ("landline", "021-62265678"), name="李娜",
                             address="上海市浦东新区世纪大道100号3栋1201", observed=day(2022))
                         ).one_id
    neighbour = engine.ingest(rec("crm", "3", ("phone", "13900000003"),
                                  ("landline", "021-62265678"), name="王芳",
                                  address="北京市朝阳区建国路88号")).one_id  # other address
    assert active_people(clean_store) == 3
    (link,) = engine.profile(husband).profile.relationships
    assert (link.type, link.one_id, link.since) == (RelationType.HOUSEHOLD, wife, day(2022))
    assert "landline 021-62265678 and address" in link.evidence
    assert relations(engine, wife) == {("HOUSEHOLD", husband)}
    assert relations(engine, neighbour) == set()


def test_a_switchboard_landline_makes_no_household(engine: IdentityEngine,
                                                    clean_store: Neo4jStore) -> None:
    ids = [engine.ingest(rec("crm", str(n), ("phone", f"1390000000{n}"),
                             ("landline", "021-62265678"), name=name, address=HOME)).one_id
           for n, name in enumerate(["张伟", "李娜", "王芳", "刘洋", "陈静", "杨磊", "赵敏"])]
    assert active_people(clean_store) == 7  # 7 holders > the landline's hub threshold of 6
    assert relations(engine, ids[0]) == set()


def test_a_family_phone_between_people_kept_apart_is_a_household(
        engine: IdentityEngine, clean_store: Neo4jStore) -> None:
    husband = engine.ingest(rec("crm", "1", ("phone", "13900000001"), name="张伟")).one_id
    wife = engine.ingest(rec("test_drive", "2", ("phone", "13900000001"), name="李娜"))
    # Same phone, another name: another person, no task; two people on one phone are a
    # family phone.
    assert wife.action is Action.NEW and not wife.review_task_id
    assert relations(engine, husband) == {("HOUSEHOLD", wife.one_id)}
    assert "family phone" in engine.profile(wife.one_id).profile.relationships[0].evidence
    # A third person on it makes it a shared value (a consultant's, a switchboard's): no
    # household any more.
    engine.ingest(rec("media", "3", ("phone", "13900000001"), name="王强"))
    assert relations(engine, husband) == set()


def test_a_referral_names_its_referrer_by_any_identifier(engine: IdentityEngine,
                                                         clean_store: Neo4jStore) -> None:
    # The friend's lead arrives before the referrer's own record does.
    friend = engine.ingest(RawRecord(
        "media", "lead-1", day(2025), (RawIdentifier("phone", "13900000009"),),
        {"name": "王芳"}, referred_by=(RawIdentifier("wechat_unionid", "oU-owner", "brand"),)))
    assert relations(engine, friend.one_id) == set()  # nobody holds it yet
    owner = engine.ingest(rec("app", "7", ("phone", "13900000001"),
                              ("wechat_unionid", "oU-owner", "brand"), name="张伟")).one_id
    assert active_people(clean_store) == 2
    assert relations(engine, friend.one_id) == {("REFERRED_BY", owner)}
    assert relations(engine, owner) == {("REFERRED", friend.one_id)}
    (link,) = engine.profile(owner).profile.relationships
    assert link.since == day(2025) and "wechat_unionid oU-owner" in link.evidence
    # The owner's CRM record joins them later; the referral follows the person.
    crm = engine.ingest(rec("crm", "8", ("phone", "13900000001"), name="张伟"))
    assert crm.one_id == owner and relations(engine, friend.one_id) == {("REFERRED_BY", owner)}
    # Re-sending the lead without the referral drops it.
    engine.ingest(rec("media", "lead-1", ("phone", "13900000009"), name="王芳",
                      observed=day(2025)))
    assert relations(engine, owner) == set()
    check_invariants(clean_store)


def test_an_erased_referrer_leaves_no_referral_behind(engine: IdentityEngine,
                                                     clean_store: Neo4jStore) -> None:
    owner = engine.ingest(rec("app", "7", ("phone", "13900000001"), name="张伟")).one_id
    friend = engine.ingest(RawRecord("media", "lead-1", None,
                                     (RawIdentifier("phone", "13900000009"),), {},
                                     referred_by=(RawIdentifier("phone", "13900000001"),)))
    assert relations(engine, friend.one_id) == {("REFERRED_BY", owner)}
    engine.stewardship.erase_person(owner, actor="dpo", reason="ticket 9")
    assert relations(engine, friend.one_id) == set()
    assert clean_store.run_cypher(
        "MATCH (i:Identifier {value: '13900000001'}) RETURN count(i) AS n")[0]["n"] == 0


def test_dealer_affinity_lists_the_dealers_most_recent_first(engine: IdentityEngine,
                                                            clean_store: Neo4jStore) -> None:
    one_id = engine.ingest(rec("dms", "1", ("phone", "13900000001"),
                               ("dms_customer_id", "K1", "D0001"), observed=day(2019))).one_id
    engine.ingest(rec("dms", "2", ("phone", "13900000001"), ("dms_customer_id", "K9", "D0002"),
                      observed=day(2023)))
    engine.ingest(rec("test_drive", "3", ("phone", "13900000001"), dealer="D0001",
                      observed=day(2021)))
    dealers = engine.profile(one_id).profile.dealers
    assert [(d.dealer, d.records, d.last_seen) for d in dealers] == [
        ("D0002", 1, day(2023)), ("D0001", 2, day(2021))]
    assert clean_store.run_cypher(
        "MATCH (:Record)-[:AT_DEALER]->(d:Dealer) RETURN count(DISTINCT d) AS n")[0]["n"] == 2
