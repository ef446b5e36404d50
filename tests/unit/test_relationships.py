"""Households and referrals, decided from what records share and name (pure)."""

from __future__ import annotations

from datetime import UTC, datetime

from idgraph.domain.profile import RelationType, StoredRecord
from idgraph.domain.relationships import (
    Referral,
    SharedValue,
    Sharer,
    addresses_of,
    household_types,
    households,
    referrals,
)
from idgraph.domain.rules import load_rules

HOME = "上海市浦东新区世纪大道100号3栋1201室"
T1, T2 = datetime(2020, 1, 1, tzinfo=UTC), datetime(2022, 1, 1, tzinfo=UTC)


def mine(**attributes: str) -> set[str]:
    return addresses_of([StoredRecord("crm", "1", T1, T1, attributes, (), ())])


def shared(type_: str, value: str, *others: Sharer) -> SharedValue:
    return SharedValue(type_, value, False, T1, others)


def sharer(one_id: str, apart: bool = False, **attributes: str) -> Sharer:
    return Sharer(one_id, T2, apart, [attributes])


def test_household_types_are_the_landline_and_mobile_formats() -> None:
    assert household_types(load_rules()) == ["landline", "phone"]


def test_a_landline_makes_a_household_only_with_a_matching_address() -> None:
    rules = load_rules()
    found = households(mine(address=HOME), [shared(
        "landline", "021-62265678", sharer("oid_b", address=HOME),
        sharer("oid_c", address="北京市朝阳区建国路88号"), sharer("oid_d"))], rules)
    assert [(r.type, r.one_id, r.since) for r in found] == [
        (RelationType.HOUSEHOLD, "oid_b", T2)]
    assert households(mine(), [shared("landline", "021-62265678",
                                      sharer("oid_b", address=HOME))], rules) == []


def test_too_many_holders_make_no_household() -> None:
    rules = load_rules()  # landline hub threshold: 6 people
    five = [sharer(f"oid_{n}", address=HOME) for n in range(5)]
    assert len(households(mine(address=HOME), [shared("landline", "021-1", *five)], rules)) == 5
    six = [*five, sharer("oid_5", address=HOME)]
    assert households(mine(address=HOME), [shared("landline", "021-1", *six)], rules) == []


def test_a_phone_shared_by_two_people_or_kept_apart_is_a_household() -> None:
    rules = load_rules()  # phone: shared from three people on
    (two,) = households(mine(), [shared("phone", "13900000001", sharer("oid_b"))], rules)
    assert two.one_id == "oid_b" and "family phone" in two.evidence
    three = [sharer("oid_b"), sharer("oid_c")]
    assert households(mine(), [shared("phone", "13900000001", *three)], rules) == []
    (found,) = households(mine(), [shared("phone", "13900000001",
                                          sharer("oid_b", apart=True))], rules)
    assert found.one_id == "oid_b" and "kept apart" in found.evidence
    assert households(mine(), [shared("phone", "13800138000",  # a placeholder
                                      sharer("oid_b", apart=True))], rules) == []


def test_a_referral_points_only_at_the_one_person_holding_the_identifier() -> None:
    named = [Referral("phone", "13900000001", False, T1, "oid_a", 1),
             Referral("phone", "13900000002", False, T1, "oid_x", 2),  # family phone: unclear
             Referral("email", "a@qq.com", False, T2, "oid_a", 1)]
    naming = [Referral("phone", "13900000003", False, T2, "oid_f", 1)]
    found = referrals(named, naming)
    assert [(r.type, r.one_id, r.since) for r in found] == [
        (RelationType.REFERRED, "oid_f", T2), (RelationType.REFERRED_BY, "oid_a", T1)]
