"""Recommendations on a real Neo4j: a small world with planted structure, every result
explained; withdrawn consent and erasure keep people out."""

from __future__ import annotations

import time

import pytest

from idgraph.domain.identifiers import vin_check_char
from idgraph.domain.records import RawIdentifier, RawRecord, RawVehicle
from idgraph.engine import IdentityEngine
from idgraph.errors import Conflict, InvalidInput
from idgraph.store.neo4j_store import Neo4jStore
from tests.integration.helpers import day, rec

pytestmark = pytest.mark.integration

HOME = "上海市浦东新区世纪大道100号3栋1201室"
LINE = "021-62265678"
FRIENDS = "上海市徐汇区漕溪北路88号2栋501室"


def vin(n: int) -> str:
    base = f"LSVAA4180E{n:07d}"
    return base[:8] + vin_check_char(base) + base[9:]


def sale(rid: str, phone: str, model: str, car: int, year: int, dealer: str = "D1",
         **attributes: str) -> RawRecord:
    return rec("dms", rid, ("phone", phone), ("dms_customer_id", f"K{rid}", dealer),
               vehicles=(RawVehicle(vin(car), "OWNER", model=model, since=day(year)),),
               observed=day(year), **attributes)


@pytest.fixture
def world(engine: IdentityEngine, clean_store: Neo4jStore) -> dict[str, str]:
    # Read what owners buy next afresh each time.
    engine.recommendations.model_statistics_seconds = 0
    ids = {}
    # Owners of a Passat moved on: three to a Tiguan L, one to an X3.
    for n, nxt in enumerate(["Tiguan L", "Tiguan L", "Tiguan L", "X3"]):
        phone = f"1370000000{n}"
        ids[f"o{n}"] = engine.ingest(sale(f"o{n}a", phone, "Passat", 10 + n, 2015,
                                          name=f"王{n}号")).one_id
        engine.ingest(sale(f"o{n}b", phone, nxt, 20 + n, 2021, dealer="D2", name=f"王{n}号"))
    ids["a"] = engine.ingest(sale("a", "13900000001", "Passat", 1, 2019, name="张伟",
                                  address=HOME)).one_id
    engine.ingest(rec("crm", "a2", ("phone", "13900000001"), ("landline", LINE), name="张伟",
                      address=HOME))
    ids["b"] = engine.ingest(rec("test_drive", "b", ("phone", "13900000002"),
                                 ("landline", LINE), name="李娜", address=HOME, dealer="D1",
                                 vehicles=(RawVehicle(vin(30), "TEST_DRIVE", model="X3",
                                                      since=day(2025), until=day(2025)),))
                             ).one_id
    ids["h"] = engine.ingest(rec("test_drive", "h", ("phone", "13900000003"),
                                 ("landline", LINE), name="赵敏", address=HOME,
                                 consent_marketing="false",
                                 vehicles=(RawVehicle(vin(31), "TEST_DRIVE", model="X3",
                                                      since=day(2025), until=day(2025)),))
                             ).one_id
    ids["f"] = engine.ingest(RawRecord(
        "test_drive", "f", day(2025), (RawIdentifier("phone", "13900000004"),
                                       RawIdentifier("landline", "021-64871234")),
        {"name": "陈静", "address": FRIENDS},
        (RawVehicle(vin(32), "TEST_DRIVE", model="Magotan", since=day(2025),
                    until=day(2025)),),
        referred_by=(RawIdentifier("phone", "13900000001"),))).one_id
    ids["g"] = engine.ingest(rec("media", "g", ("phone", "13900000005"),
                                 ("landline", "021-64871234"), name="刘明", address=FRIENDS)
                             ).one_id
    return ids


def test_next_models_come_from_owners_transitions_and_the_household(
        engine: IdentityEngine, world: dict[str, str]) -> None:
    one_id, ranked = engine.recommendations.recommend_models(world["a"], 3)
    assert one_id == world["a"]
    models = [r.item for r in ranked]
    assert set(models[:2]) == {"Tiguan L", "X3"} and models[2] == "Magotan"
    why = {r.item: r.explanation for r in ranked}
    assert why["Tiguan L"] == "you own Passat at your dealer; 3 of 4 owners of Passat moved " \
                              "on to Tiguan L"
    assert why["X3"] == f"your household member {world['b']}; test-drove X3 at your dealer"
    assert why["Magotan"] == f"{world['f']}, whom you referred; test-drove Magotan"
    assert world["h"] not in " ".join(r.explanation for r in ranked)  # withdrew consent


def test_referral_candidates_are_in_market_people_in_the_network(
        engine: IdentityEngine, world: dict[str, str]) -> None:
    ranked = engine.recommendations.referral_candidates(world["a"], 10)
    found = {r.item: r.explanation for r in ranked}
    assert set(found) == {world["b"], world["f"], world["g"]}  # not h: consent withdrawn
    assert "test-drove Magotan" in found[world["f"]]
    assert world["f"] in found[world["g"]]  # reached through the friend
    assert "media lead" in found[world["g"]]
    only_drivers = engine.recommendations.referral_candidates(
        world["a"], 10, with_tags=["lifecycle.prospect.test_drive_no_purchase"])
    assert {r.item for r in only_drivers} == {world["b"], world["f"]}
    engine.stewardship.erase_person(world["f"], actor="dpo", reason="ticket 5")
    assert {r.item for r in engine.recommendations.referral_candidates(world["a"], 10)
            } == {world["b"]}


def test_similar_customers_share_the_seeds_models_and_dealers(
        engine: IdentityEngine, world: dict[str, str]) -> None:
    ranked = engine.recommendations.similar_customers([world["o0"], world["o1"]], 3)
    assert ranked[0].item == world["o2"]  # a Tiguan L at D1, like both seeds
    assert "Tiguan L (model, like 2 of the 2 seeds)" in ranked[0].explanation
    everyone = {r.item for r in engine.recommendations.similar_customers([world["o0"]], 100)}
    assert world["h"] not in everyone and world["o0"] not in everyone


def test_bad_requests_and_withdrawn_consent(engine: IdentityEngine,
                                            world: dict[str, str]) -> None:
    with pytest.raises(InvalidInput) as bad:
        engine.recommendations.recommend_models(world["a"], 0)
    assert bad.value.violations[0].field == "k"
    with pytest.raises(InvalidInput) as bad:
        engine.recommendations.similar_customers([world["a"], "x"], 3)
    assert bad.value.violations[0].field == "one_ids[1]"
    with pytest.raises(InvalidInput) as bad:
        engine.recommendations.referral_candidates(world["a"], 3, without_tags=["no.such.tag"])
    assert bad.value.violations[0].field == "without_tags[0]"
    with pytest.raises(Conflict, match="withdrew marketing consent"):
        engine.recommendations.recommend_models(world["h"], 3)


def test_assigned_tags_filter_lookalikes_and_referrals(engine: IdentityEngine,
                                                       world: dict[str, str]) -> None:
    engine.tagging.assign_tag("value.segment.vip", "crm-campaign", "steward", one_id=world["o3"])
    engine.tagging.assign_tag("value.segment.vip", "crm-campaign", "steward", one_id=world["b"])
    vip = engine.recommendations.similar_customers([world["o0"], world["o1"]], 10,
                                                   with_tags=["value.segment.vip"])
    assert [r.item for r in vip] == [world["o3"], world["b"]]  # b shares dealer D1
    rest = {r.item for r in engine.recommendations.similar_customers(
        [world["o0"], world["o1"]], 10, without_tags=["value.segment.vip"])}
    assert world["o2"] in rest and not rest & {world["o3"], world["b"]}
    # A tag from data with an assigned one: b test-drove with no purchase but is a VIP.
    drivers = engine.recommendations.referral_candidates(
        world["a"], 10, with_tags=["lifecycle.prospect.test_drive_no_purchase"],
        without_tags=["value.segment.vip"])
    assert {r.item for r in drivers} == {world["f"]}
    engine.tagging.remove_tag("value.segment.vip", one_id=world["b"])
    assert {r.item for r in engine.recommendations.referral_candidates(
        world["a"], 10, with_tags=["lifecycle.prospect.test_drive_no_purchase"],
        without_tags=["value.segment.vip"])} == {world["b"], world["f"]}


def test_a_prospect_gets_what_people_with_the_same_interest_bought(
        engine: IdentityEngine, world: dict[str, str]) -> None:
    for n in range(2):  # test-drove an X5, then bought a GLC
        phone = f"1380000000{n}"
        engine.ingest(rec("test_drive", f"c{n}t", ("phone", phone), name=f"孙{n}号",
                          vehicles=(RawVehicle(vin(40 + n), "TEST_DRIVE", model="X5",
                                               since=day(2023), until=day(2023)),)))
        engine.ingest(sale(f"c{n}s", phone, "GLC", 50 + n, 2024, name=f"孙{n}号"))
    prospect = engine.ingest(rec("test_drive", "p", ("phone", "13800000009"), name="周杰",
                                 vehicles=(RawVehicle(vin(60), "TEST_DRIVE", model="X5",
                                                      since=day(2025), until=day(2025)),))
                             ).one_id
    _, ranked = engine.recommendations.recommend_models(prospect, 3)
    assert [r.item for r in ranked][:2] == ["X5", "GLC"]
    assert ranked[1].explanation == ("you test-drove X5; 2 of 3 people interested in X5 "
                                     "also considered or bought GLC")


def test_model_statistics_are_reused_then_refreshed_behind(
        engine: IdentityEngine, world: dict[str, str]) -> None:
    engine.recommendations.model_statistics_seconds = 3600

    def why_tiguan() -> str:
        _, ranked = engine.recommendations.recommend_models(world["a"], 3)
        return next(r.explanation for r in ranked if r.item == "Tiguan L")

    assert "3 of 4 owners of Passat moved on to Tiguan L" in why_tiguan()
    engine.ingest(sale("o9a", "13700000009", "Passat", 70, 2015, name="王9号"))
    engine.ingest(sale("o9b", "13700000009", "Tiguan L", 71, 2021, dealer="D2", name="王9号"))
    assert "3 of 4 owners" in why_tiguan()  # reused: read less than an hour ago
    engine.recommendations.model_statistics_seconds = 1e-6  # now stale: answered, refreshed
    assert "3 of 4 owners" in why_tiguan()
    deadline = time.monotonic() + 20
    while "4 of 5 owners" not in why_tiguan():
        assert time.monotonic() < deadline, "the background refresh never landed"
        time.sleep(0.05)
