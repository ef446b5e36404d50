"""Who the records carrying a value say they are (issue 16 item 2)."""

from __future__ import annotations

import itertools
import random
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta

import pytest

from idgraph.domain.identities import (
    MAX_IDENTITIES,
    conflicting,
    hub_thresholds,
    identity_of,
    shared_keys,
    value_states,
    with_identity,
)
from idgraph.domain.records import (
    Limits,
    PreparedRecord,
    RawIdentifier,
    RawRecord,
    RawVehicle,
    prepare_record,
)
from idgraph.domain.rules import Rules
from idgraph.domain.working_set import WorkingSet
from tests.unit.factories import NOW, SECRET, record


def identity(rules: Rules, **attributes: str) -> str | None:
    return identity_of(record(rules, ("phone", "13912345678"), **attributes), rules)


def test_a_record_names_someone_by_name_gender_or_resident_id(rules: Rules) -> None:
    assert identity(rules) is None  # a phone alone names no one
    assert identity(rules, name="晴天") is None  # a nickname names no one either
    assert identity(rules, name="张伟") is not None
    assert identity(rules, gender="F") is not None
    card = record(rules, ("id_card", "11010519491231002X"))
    assert identity_of(card, rules) is not None


@pytest.mark.parametrize(("left", "right", "different"), [
    ({"name": "张伟"}, {"name": "張偉"}, False),  # traditional characters
    ({"name": "张伟"}, {"name": "张玮"}, False),  # a homophone typo
    ({"name": "张伟"}, {"name": "Zhang Wei"}, False),  # romanized
    ({"name": "张伟"}, {"name": "张先生"}, False),  # a surname lead
    ({"name": "张伟"}, {"name": "王芳"}, True),
    ({"name": "张明"}, {"name": "张女士", "gender": "F"}, False),  # 明: either gender
    ({"name": "张强"}, {"name": "张女士", "gender": "F"}, True),  # 强 names a man
    ({"name": "张晓丽"}, {"name": "张先生"}, True),  # 丽 names a woman
    ({"name": "张伟", "gender": "M"}, {"name": "张女士"}, True),  # 女士 says F
    ({"name": "张先生"}, {"name": "李先生"}, True),
    ({"gender": "M"}, {"gender": "F"}, True),
])
def test_identities_conflict_only_when_they_name_different_people(
        rules: Rules, left: dict[str, str], right: dict[str, str], different: bool) -> None:
    a, b = identity(rules, **left), identity(rules, **right)
    assert a is not None and b is not None
    assert conflicting(a, b) is different and conflicting(b, a) is different


def test_identities_keep_one_representative_per_person(rules: Rules) -> None:
    names = ["张伟", "張偉", "张先生", "王芳", "王女士", "李娜", "Li Na"]
    known: tuple[str, ...] = ()
    for name in names:
        found = identity(rules, name=name)
        assert found is not None
        known = with_identity(known, found) or known
    assert len(known) == 3  # 张伟, 王芳, 李娜
    # A gender alone is filled in by the name that comes with it, and then conflicts.
    first = identity(rules, gender="M")
    named = identity(rules, name="谭建宇", gender="M")
    other = identity(rules, name="周强", gender="M")
    assert first is not None and named is not None and other is not None
    filled = with_identity((first,), named)
    assert filled is not None and len(filled) == 1
    assert with_identity(filled, other) is not None
    many = tuple(f"{n}\x1f\x1f" for n in ["张伟", "王芳", "李娜", "刘洋", "陈静", "杨磊",
                                           "赵敏", "黄勇"])
    assert len(many) == MAX_IDENTITIES and with_identity(many, "周杰\x1f\x1f") is None


def test_a_value_is_contested_at_two_people_and_shared_at_its_threshold(rules: Rules) -> None:
    key = record(rules, ("phone", "13912345678")).identifiers[0]
    people = [f"{n}\x1f\x1f" for n in ["张伟", "王芳", "李娜"]]
    assert shared_keys([key], {key.key: people[:1]}, rules) == {}
    assert shared_keys([key], {key.key: people[:2]}, rules) == {key.key: 2}
    assert rules.identifier_types["phone"].shared_identities == 3
    assert shared_keys([key], {key.key: people}, rules) == {key.key: 3}


def _clusters(rules: Rules, order: list[int]) -> set[frozenset[str]]:
    leads = [("phone", "15164006880")]
    raws = [record(rules, *leads, key=f"lead{n}", **attributes)
            for n, attributes in enumerate([{}, {"name": "王子江"}, {"name": "陈雪静"},
                                            {"name": "陈女士", "gender": "F"}, {"city": "东莞"},
                                            {"name": "李兰", "gender": "F"}])]
    counter = itertools.count()
    working = WorkingSet(rules, {}, {}, [], lambda: f"oid_{next(counter):04d}",
                         lambda: f"e{next(counter)}", NOW)
    for index in order:
        working.ingest(raws[index])
    plan = working.finished_plan()
    groups: dict[str, set[str]] = {}
    for key, (_, one_id) in plan.records.items():
        groups.setdefault(one_id, set()).add(key)
    return {frozenset(g) for g in groups.values()}


def test_leads_on_a_consultant_phone_end_apart_in_every_order(rules: Rules) -> None:
    """Clusters do not depend on arrival order: what merged before the phone was known to
    be shared is taken apart again."""
    expected = {frozenset({f"crm|lead{n}"}) for n in range(6)}
    orders = [list(range(6)), list(range(6))[::-1]]
    orders += [random.Random(seed).sample(range(6), 6) for seed in range(20)]
    for order in orders:
        assert _clusters(rules, order) == expected, order


def test_one_car_owned_from_different_months_is_two_people(rules: Rules) -> None:
    """Nameless telematics of a used car's two owners name two people; the owner's own
    records (same month) name one."""
    def owner(key: str, since: datetime, **attributes: str) -> PreparedRecord:
        car = RawVehicle("LSVAC26G7JS911344", "OWNER", since=since)
        return prepare_record(RawRecord("telematics", key, NOW,
                                        (RawIdentifier("vin", car.vin),), attributes, (car,)),
                              rules, Limits(), SECRET, NOW)

    first = identity_of(owner("a", datetime(2019, 3, 7, tzinfo=UTC)), rules)
    again = identity_of(owner("b", datetime(2019, 3, 20, tzinfo=UTC), name="罗建新"), rules)
    second = identity_of(owner("c", datetime(2023, 5, 2, tzinfo=UTC)), rules)
    assert first is not None and again is not None and second is not None
    assert not conflicting(first, again)
    assert conflicting(first, second) and conflicting(again, second)
    grown = with_identity(with_identity((), first) or (), again)
    assert grown is not None and len(grown) == 1
    assert len(with_identity(grown, second) or ()) == 2
    # identities stored before ownerships were part of them still read
    assert not conflicting("张伟\x1fM\x1f", "张伟\x1fM\x1f\x1fLSVAC26G7JS911344@2019-03")



def test_a_family_phone_never_joins_two_named_people_in_any_order(rules: Rules) -> None:
    """周庆轩's phone on 周一兵's test drive, and a 周先生 lead that fits either: whatever the
    arrival order, the two named people stay apart (the lead joins one of them or none)."""
    def lead(key: str, day: int, *identifiers: tuple[str, str], **attributes: str
             ) -> PreparedRecord:
        return prepare_record(
            RawRecord("test_drive", key, NOW + timedelta(days=day),
                      tuple(RawIdentifier(*i) for i in identifiers), attributes),
            rules, Limits(), SECRET, NOW)

    phone = ("phone", "18267007731")
    records = [lead("qx1", 0, phone, name="周庆轩", city="杭州"),
               lead("qx2", 1, phone, name="周庆轩"),
               lead("lead", 2, phone, name="周先生"),
               lead("yb", 3, phone, name="周一兵", gender="M"),
               lead("yb2", 4, ("phone", "15926056379"), name="周一兵")]
    for order, owner in _every_order(rules, records):
        assert owner["qx1"] == owner["qx2"], order
        assert owner["yb"] != owner["qx1"], order


def test_an_owners_nameless_pings_never_join_a_relative_servicing_the_car(
        rules: Rules) -> None:
    """任宇 services his relative's car under his own name; the owner's telematics pings
    name no one. Whatever the arrival order, the pings end with the owner (whose app they
    share), never with 任宇."""
    vin = "LFVBD56K5RC187923"
    since = datetime(2024, 3, 30, tzinfo=UTC)

    def rec(key: str, when: datetime, *identifiers: tuple[str, str], owner: bool = False,
            **attributes: str) -> PreparedRecord:
        cars = (RawVehicle(vin, "OWNER", since=since),) if owner else ()
        return prepare_record(RawRecord("src", key, when,
                                        tuple(RawIdentifier(*i) for i in identifiers),
                                        attributes, cars), rules, Limits(), SECRET, NOW)

    records = [
        rec("rel-app", datetime(2024, 9, 26, tzinfo=UTC), ("app_user_id", "1829661641"),
            ("phone", "19173052690"), name="任宇"),
        rec("rel-svc", datetime(2025, 4, 1, tzinfo=UTC), ("vin", vin),
            ("phone", "19173052690"), name="任宇"),
        rec("own-app", datetime(2022, 1, 4, tzinfo=UTC), ("app_user_id", "4001809110"),
            ("phone", "13178867683"), birth_date="1983-04-07"),
        rec("own-td", datetime(2024, 3, 15, tzinfo=UTC), ("phone", "13178867683"),
            name="任先生"),
        rec("ping1", datetime(2025, 1, 1, tzinfo=UTC), ("vin", vin),
            ("app_user_id", "4001809110"), owner=True),
        rec("ping2", datetime(2025, 6, 24, tzinfo=UTC), ("vin", vin), owner=True),
    ]
    for order, owner in _every_order(rules, records):
        assert owner["ping1"] == owner["own-app"], order
        assert owner["ping2"] not in (owner["rel-app"], owner["rel-svc"]), order
        assert owner["rel-app"] == owner["rel-svc"], order


def _every_order(rules: Rules, records: list[PreparedRecord]
                 ) -> Iterator[tuple[tuple[int, ...], dict[str, str]]]:
    """Each arrival order of the records, with the person each record ends with."""
    counter = itertools.count()
    for order in itertools.permutations(range(len(records))):
        working = WorkingSet(rules, {}, {}, [], lambda: f"oid{next(counter):06d}",
                             lambda: f"event{next(counter)}", NOW)
        for index in order:
            working.ingest(records[index])
        yield order, {r.source_record_id: one_id
                      for r, one_id in working.finished_plan().records.values()}



def test_value_states_count_shared_and_contested_values_by_type(rules: Rules) -> None:
    counts = [("phone", 2, False, 7),   # a family's phone: contested
              ("phone", 3, False, 2),   # the type's shared_identities: shared
              ("phone", 2, True, 1),    # held by more people than the hub threshold: shared
              ("crm_id", 5, False, 1),
              ("plate", 9, True, 4),    # not evidence anyway: not counted
              ("phone", 1, False, 50),  # one person: plain evidence
              ("nope", 4, True, 1)]     # a type the rules no longer have
    assert value_states(counts, rules) == {("phone", "contested"): 7, ("phone", "shared"): 3,
                                           ("crm_id", "shared"): 1}


def test_hub_thresholds_cover_evidence_types_only(rules: Rules) -> None:
    hubs = hub_thresholds(rules)
    assert hubs["phone"] == 5 and "plate" not in hubs
