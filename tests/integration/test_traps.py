"""The dirty data that merges strangers (issue 16), against the real graph, in both arrival
orders and both write paths (one record a transaction, and one batch): each scenario's
clusters must be exactly its people."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime

import pytest

from idgraph.domain.records import RawRecord, RawVehicle
from idgraph.engine import IdentityEngine
from idgraph.store.neo4j_store import Neo4jStore
from tests.integration.helpers import check_invariants, day, rec

Scenario = list[tuple[str, RawRecord]]  # (the true person, a record)


def owner_of(vin: str, since: datetime) -> tuple[RawVehicle, ...]:
    return (RawVehicle(vin, "OWNER", model="Model-X5", since=since),)


def consultant_phone() -> Scenario:
    """A sales consultant types their own phone into customers' leads. Their own records
    hold together by their own identifiers (a shared phone is no evidence, even for them)."""
    phone = ("phone", "15164006880")
    return [
        ("consultant", rec("crm", "c1", ("crm_id", "CRM1"), phone, ("email", "csj@163.com"),
                           name="陈少俊", gender="M", city="哈尔滨")),
        ("consultant", rec("app", "c2", ("app_user_id", "A1"), phone, ("email", "csj@163.com"),
                           ("wechat_unionid", "U1", "brand"), name="陈少骏")),
        ("consultant", rec("wechat", "c3", ("wechat_unionid", "U1", "brand"), phone)),
        ("lead1", rec("media", "l1", phone, name="王子江", city="广州")),
        ("lead2", rec("media", "l2", phone, name="陈雪静", city="哈尔滨")),
        ("lead3", rec("media", "l3", phone, name="陈女士", gender="F")),
        ("lead4", rec("media", "l4", phone, city="东莞")),  # no name at all
        ("lead5", rec("test_drive", "l5", phone, name="李兰", gender="F")),
        ("lead6", rec("media", "l6", phone, name="向先生")),
    ]


def household_shared_phone() -> Scenario:
    """A relative books a test drive on the phone owner's number, under their own name."""
    phone = ("phone", "18902362984")
    card = ("id_card", "441900197101104460")
    return [
        ("owner", rec("media", "o1", phone, name="梁先生", gender="M", city="东莞")),
        ("owner", rec("media", "o2", ("phone", "189-0236-2984"), name="梁浩然", city="东莞")),
        ("owner", rec("crm", "o3", ("crm_id", "CRM9"), phone, name="梁浩然", gender="M")),
        ("relative", rec("test_drive", "r1", ("phone", "+86 18902362984"), card, name="王美英")),
        ("relative", rec("dms", "r2", ("dms_customer_id", "9", "DG001"), card,
                         ("phone", "19673068745"), name="王美英", gender="F")),
    ]


def placeholder_phone() -> Scenario:
    """A made-up number typed into forms by several people (not on the blocklist)."""
    fake = ("phone", "13900000000")
    return [
        ("a", rec("crm", "a1", ("crm_id", "CRMa"), fake, name="张子丽", gender="F")),
        ("b", rec("crm", "b1", ("crm_id", "CRMb"), fake, name="何月燕", gender="F")),
        ("c", rec("media", "c1", fake, name="吴先生", gender="M")),
        ("d", rec("media", "d1", fake, ("phone", "13712340000"), name="黄先生", gender="M")),
        ("d", rec("crm", "d2", ("crm_id", "CRMd"), ("phone", "13712340000"), name="黄先生")),
    ]


def used_car_transfer() -> Scenario:
    """A car changes owners: each owner's records by VIN and ownership, never together."""
    vin = "LSVAB24XXKS699854"
    first, second = day(2019, 2, 1), day(2020, 8, 4)
    return [
        ("first", rec("dms", "s1", ("dms_customer_id", "3", "XM001"),
                      ("id_card", "350206199601023559"), ("phone", "17839620644"),
                      name="Bing Li", vehicles=owner_of(vin, first))),
        ("first", rec("service", "v1", ("vin", vin), ("phone", "17839620644"), name="李兵",
                      vehicles=(RawVehicle(vin, "SERVICE"),))),
        ("first", rec("telematics", "t1", ("vin", vin), vehicles=owner_of(vin, first))),
        ("second", rec("dms", "s2", ("dms_customer_id", "6", "XM001"), ("phone", "13850810212"),
                       name="朱涛", vehicles=owner_of(vin, second))),
        ("second", rec("telematics", "t2", ("vin", vin), vehicles=owner_of(vin, second))),
        ("second", rec("service", "v2", ("vin", vin), ("phone", "13850810212"), name="朱涛",
                       vehicles=(RawVehicle(vin, "SERVICE"),))),
    ]


def demo_car_vin() -> Scenario:
    """A dealer's demo car on many people's test drives."""
    vin = "LSVAC26G8NS300681"
    drive = (RawVehicle(vin, "TEST_DRIVE", model="Model-X5"),)
    return [
        ("a", rec("test_drive", "a", ("vin", vin), ("phone", "15012907963"), name="李浩炜",
                  vehicles=drive)),
        ("b", rec("test_drive", "b", ("vin", vin), ("phone", "18641137244"), name="张先生",
                  vehicles=drive)),
        ("c", rec("test_drive", "c", ("vin", vin), ("phone", "18323095703"), name="田建军",
                  vehicles=drive)),
        ("d", rec("test_drive", "d", ("vin", vin), vehicles=drive)),  # who drove: unknown
    ]


def zero_idfa() -> Scenario:
    """iOS users who denied tracking all send the zero IDFA: no value, not an identifier."""
    zero = ("device_id", "00000000-0000-0000-0000-000000000000")
    return [
        (str(n), rec("app", str(n), ("app_user_id", f"U{n}"), zero, name=name))
        for n, name in enumerate(["周婷", "王强", "李娜"])
    ]


def household_shared_vehicle() -> Scenario:
    """A household member services the owner's car under their own name and phone."""
    vin = "LSVAC26G7JS911344"
    service = (RawVehicle(vin, "SERVICE"),)
    return [
        ("owner", rec("dms", "s", ("dms_customer_id", "10", "SZ001"), ("phone", "15836194952"),
                      name="罗建新", gender="M", vehicles=owner_of(vin, day(2018, 4, 15)))),
        ("owner", rec("service", "v1", ("vin", vin), ("phone", "15836194952"), name="罗建新",
                      vehicles=service)),
        ("owner", rec("telematics", "t", ("vin", vin),
                      vehicles=owner_of(vin, day(2018, 4, 15)))),
        ("spouse", rec("service", "v2", ("vin", vin), ("plate", "粤B95801"),
                       ("phone", "13867479193"), name="业女士", vehicles=service)),
        ("son", rec("service", "v3", ("vin", vin), ("phone", "13144115846"), name="罗先生",
                    vehicles=service)),
    ]


def one_customer_without_shared_identifiers() -> Scenario:
    """What joins records that share no identifier: a CRM contact by full name, city and
    birth date; an app account by a phone one digit off with the same name; a service visit
    that names no one by the car. A namesake in the same city, born another day, stays
    out."""
    vin = "LSVAC26G7JS911344"
    return [
        ("owner", rec("dms", "s", ("dms_customer_id", "4", "CS001"), ("phone", "15873120461"),
                      ("vin", vin), name="赵秀琴", gender="F", city="长沙",
                      birth_date="1985-03-02", vehicles=owner_of(vin, day(2019, 5, 3)))),
        ("owner", rec("crm", "c", ("crm_id", "CRM31"), name="赵秀琴", city="长沙市",
                      birth_date="1985-03-02")),
        ("owner", rec("app", "a", ("app_user_id", "7001"), ("phone", "15873120416"),
                      name="赵秀琴", city="长沙")),
        ("owner", rec("service", "v", ("vin", vin), ("plate", "湘A3K771"),
                      vehicles=(RawVehicle(vin, "SERVICE"),))),
        ("namesake", rec("crm", "n", ("crm_id", "CRM77"), name="赵秀琴", city="长沙",
                         birth_date="1990-11-20")),
    ]


SCENARIOS = {f.__name__: f for f in (consultant_phone, household_shared_phone,
                                     placeholder_phone, used_car_transfer, demo_car_vin,
                                     zero_idfa, household_shared_vehicle,
                                     one_customer_without_shared_identifiers)}


def ingest(engine: IdentityEngine, records: Sequence[RawRecord], batch: bool) -> None:
    if batch:
        engine.ingestion.ingest_batch([engine.ingestion.prepare(r) for r in records])
    else:
        for record in records:
            engine.ingest(record)


def clusters(store: Neo4jStore) -> set[frozenset[str]]:
    rows = store.run_cypher("MATCH (r:Record)-[:PART_OF]->(p:Person) "
                            "RETURN p.one_id AS one_id, collect(r.key) AS keys")
    return {frozenset(str(k) for k in row["keys"]) for row in rows}  # type: ignore[union-attr]


def truth(scenario: Scenario) -> set[frozenset[str]]:
    people: dict[str, set[str]] = {}
    for person, record in scenario:
        people.setdefault(person, set()).add(f"{record.source}|{record.source_record_id}")
    return {frozenset(keys) for keys in people.values()}


@pytest.mark.parametrize("batch", [False, True], ids=["one by one", "one batch"])
@pytest.mark.parametrize("order", ["as listed", "reversed"])
@pytest.mark.parametrize("name", sorted(SCENARIOS))
def test_each_trap_resolves_to_its_people_in_any_order(
        engine: IdentityEngine, clean_store: Neo4jStore, name: str, order: str,
        batch: bool) -> None:
    scenario = SCENARIOS[name]()
    records = [r for _, r in scenario]
    ingest(engine, records if order == "as listed" else records[::-1], batch)
    assert clusters(clean_store) == truth(scenario)
    check_invariants(clean_store)


def test_a_value_that_becomes_shared_takes_apart_what_it_merged(
        engine: IdentityEngine, clean_store: Neo4jStore) -> None:
    """The leads arrive before anyone knows the phone is a consultant's. While its records
    name one person, a nameless lead joins them; at two people the phone is contested, and
    the nameless lead, which names no one, leaves; at three it is shared, and the people
    merged through it are resolved again and split. The feed and the history say so."""
    phone = ("phone", "15955806278")
    keys = [f"media|{n}" for n in range(5)]
    nameless = engine.ingest(rec("media", "0", phone, city="苏州", observed=day(2024, 1, 1)))
    engine.ingest(rec("media", "1", phone, name="王海傑", observed=day(2024, 2, 1)))
    engine.ingest(rec("media", "2", phone, name="王先生", observed=day(2024, 2, 2)))
    assert clusters(clean_store) == {frozenset(keys[:3])}
    engine.ingest(rec("media", "3", phone, name="刘女士", gender="F", observed=day(2024, 3, 1)))
    assert clusters(clean_store) == {frozenset({keys[0]}), frozenset(keys[1:3]),
                                     frozenset({keys[3]})}
    engine.ingest(rec("media", "4", phone, name="李先生", gender="M", observed=day(2024, 4, 1)))
    assert clusters(clean_store) == {frozenset({key}) for key in keys}
    splits = [row.change for row in clean_store.changes_after(0, 100)
              if row.change.type.value == "SPLIT"]
    assert len(splits) == 2 and all(c.rule == "shared value" for c in splits)
    history = engine.reads.history(nameless.one_id)[1]
    assert any(entry.kind == "SPLIT" for entry in history)
    later = engine.ingest(rec("media", "5", phone, name="王海傑", observed=day(2024, 5, 1)))
    assert later.action.value == "NEW"  # a shared phone is no evidence, even for a namesake
    check_invariants(clean_store)


def relative_phone_on_a_nameless_account() -> Scenario:
    """姜军强 books a test drive on his relative's phone, whose only record with it is an app
    account that names no one but gives her birth date; his contract (another birth date)
    may arrive last of all."""
    phone = ("phone", "15878847111")
    return [
        ("relative", rec("app", "a1", ("app_user_id", "47"), phone, birth_date="1988-01-07",
                         observed=day(2019, 11, 8))),
        ("him", rec("test_drive", "d1", phone, name="姜军强", gender="M", dealer="ZZ003",
                    observed=day(2023, 2, 25))),
        ("him", rec("crm", "c1", ("crm_id", "CRM5"), ("phone", "13892961815"), name="姜军强",
                    city="郑州市", observed=day(2020, 8, 31))),
        ("him", rec("dms", "s1", ("dms_customer_id", "4", "ZZ003"), ("phone", "13892961815"),
                    name="姜军强", gender="M", birth_date="1984-08-10", city="郑州",
                    dealer="ZZ003", observed=day(2017, 5, 18))),
    ]


@pytest.mark.parametrize("batch", [False, True], ids=["one by one", "one batch"])
@pytest.mark.parametrize("order", [(0, 1, 2, 3), (3, 2, 1, 0), (2, 1, 0, 3), (1, 0, 2, 3)],
                         ids=["account first", "contract first", "contract last",
                              "drive first"])
def test_a_relatives_nameless_account_never_joins_the_test_drive_on_her_phone(
        engine: IdentityEngine, clean_store: Neo4jStore, order: tuple[int, ...],
        batch: bool) -> None:
    """The drive names 姜军强 exactly; the 姜军强 of the contract was born on another day than
    the account's holder, so the phone may be a relative's: the account stays alone. The
    drive cannot join him on a name alone either."""
    scenario = relative_phone_on_a_nameless_account()
    ingest(engine, [scenario[i][1] for i in order], batch)
    assert clusters(clean_store) == {frozenset({"app|a1"}), frozenset({"test_drive|d1"}),
                                     frozenset({"crm|c1", "dms|s1"})}
    check_invariants(clean_store)
