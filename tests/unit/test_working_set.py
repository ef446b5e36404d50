"""The in-memory batch view: records resolved in order see the effects of earlier ones."""

from __future__ import annotations

import itertools
from collections.abc import Sequence
from datetime import UTC, datetime

import pytest

from idgraph.domain.records import Limits, PreparedRecord, RawIdentifier, RawRecord, prepare_record
from idgraph.domain.resolution import Action
from idgraph.domain.rules import Rules
from idgraph.domain.working_set import WorkingSet
from tests.unit.factories import NOW, SECRET, person, record


def working_set(rules: Rules, *people, holders=None, stored=None):  # type: ignore[no-untyped-def]
    counter = itertools.count()
    return WorkingSet(rules, stored or {}, holders or {}, list(people),
                      mint_one_id=lambda: f"oid_new{next(counter)}",
                      new_id=lambda: f"id{next(counter)}", now=NOW)


def test_chained_merges_inside_a_batch_point_everything_at_the_final_survivor(
        rules: Rules) -> None:
    old = record(rules, ("phone", "13900000001"), key="old")
    existing = person("oid_OLD", old, age_days=10)
    ws = working_set(rules, existing, holders={old.identifiers[0].key: ["oid_OLD"]})
    a = ws.ingest(record(rules, ("email", "a@163.com"), key="a"))
    b = ws.ingest(record(rules, ("crm_id", "C1"), key="b"))
    ab = ws.ingest(record(rules, ("email", "a@163.com"), ("crm_id", "C1"), key="ab"))
    bridge = ws.ingest(record(rules, ("phone", "13900000001"), ("email", "a@163.com"),
                              key="bridge"))
    assert (a.action, b.action, ab.action, bridge.action) == (
        Action.NEW, Action.NEW, Action.MERGED, Action.MERGED)
    assert ab.one_id == a.one_id and ab.merged_one_ids == (b.one_id,)
    assert bridge.one_id == "oid_OLD" and bridge.merged_one_ids == (a.one_id,)
    plan = ws.finished_plan()
    assert plan.redirects == {b.one_id: "oid_OLD", a.one_id: "oid_OLD"}
    assert plan.new_persons == [a.one_id, b.one_id]  # minted here, redirects now
    assert {owner for _, owner in plan.records.values()} == {"oid_OLD"}
    assert [m.survivor for m in plan.merges] == [a.one_id, "oid_OLD"]


def test_resend_in_the_same_batch_is_unchanged(rules: Rules) -> None:
    ws = working_set(rules)
    first = ws.ingest(record(rules, ("phone", "13900000001"), key="r"))
    again = ws.ingest(record(rules, ("phone", "13900000001"), key="r"))
    assert again.action is Action.UNCHANGED and again.one_id == first.one_id
    assert len(ws.finished_plan().records) == 1


def test_hub_threshold_counts_people_created_in_the_batch(rules: Rules) -> None:
    threshold = rules.identifier_types["phone"].hub_threshold
    assert threshold is not None
    ws = working_set(rules)
    ids = [ws.ingest(record(rules, ("phone", "13900000009"), ("id_card", card), key=f"k{i}"))
           for i, card in enumerate(_cards(threshold + 1))]
    assert len({o.one_id for o in ids}) == threshold + 1  # conflicting resident IDs
    later = ws.ingest(record(rules, ("phone", "13900000009"), key="later"))
    assert later.action is Action.NEW and not later.review_task_id


def _cards(n: int) -> list[str]:
    from idgraph.domain.identifiers import id_card_check_char

    bodies = [f"11010119900307{i:03d}" for i in range(n)]
    return [b + id_card_check_char(b) for b in bodies]


def _family(rules: Rules, account_birth: str) -> dict[str, PreparedRecord]:
    """姜军强's contract and CRM contact (a homophone typo of his name); his test drive on
    the phone of an app account that names no one and gives a birth date (his relative's
    when it is not his own)."""
    def at(key: str, when: datetime, *ids: tuple[str, ...], **attributes: str
           ) -> PreparedRecord:
        raw = RawRecord("src", key, when, tuple(RawIdentifier(*i) for i in ids), attributes)
        return prepare_record(raw, rules, Limits(), SECRET, NOW)

    return {
        "contract": at("contract", datetime(2017, 5, 18, tzinfo=UTC),
                       ("dms_customer_id", "4", "ZZ003"), ("phone", "13892961815"),
                       name="姜军强", gender="M", birth_date="1984-08-10", city="郑州",
                       dealer="ZZ003"),
        "crm": at("crm", datetime(2020, 8, 31, tzinfo=UTC), ("crm_id", "CRM5"),
                  ("phone", "13892961815"), name="姜钧强", city="郑州市"),  # a homophone
        "account": at("account", datetime(2019, 11, 8, tzinfo=UTC), ("app_user_id", "47"),
                      ("phone", "15878847111"), birth_date=account_birth),
        "drive": at("drive", datetime(2023, 2, 25, tzinfo=UTC), ("phone", "15878847111"),
                    name="姜军强", gender="M", dealer="ZZ003"),
    }


def _people_after(rules: Rules, records: Sequence[PreparedRecord]) -> dict[str, str]:
    ws = working_set(rules)
    for one in records:
        ws.ingest(one)
    plan = ws.finished_plan()
    return {r.source_record_id: owner for r, owner in plan.records.values()}


@pytest.mark.parametrize("order", list(itertools.permutations(range(4))))
def test_a_test_drive_on_a_relatives_nameless_account_joins_it_in_no_order(
        rules: Rules, order: tuple[int, ...]) -> None:
    """The account's birth date is not that of the 姜军强 the drive names: the phone may be
    a relative's, so the drive and the account stay apart whichever arrived first (the
    contract with the birth date may come last of all)."""
    records = list(_family(rules, "1988-01-07").values())
    owner = _people_after(rules, [records[i] for i in order])
    assert owner["drive"] != owner["account"]
    assert owner["contract"] == owner["crm"] != owner["account"]


@pytest.mark.parametrize("order", list(itertools.permutations(range(4))))
def test_his_own_account_still_joins_his_test_drive_in_any_order(
        rules: Rules, order: tuple[int, ...]) -> None:
    """The same records with his own birth date on the account: nothing says the phone is
    someone else's, so the phone links the drive and the account."""
    records = list(_family(rules, "1984-08-10").values())
    owner = _people_after(rules, [records[i] for i in order])
    assert owner["drive"] == owner["account"]
    assert owner["contract"] == owner["crm"]


def test_what_a_batch_knows_of_nameless_records_is_what_the_records_say(rules: Rules) -> None:
    """The namesake check answers "does this person hold a nameless record?" from what it
    knew and kept up to date (new people, records attached, split parts) instead of reading
    records: wherever it claims to know, the records agree, through merges, splits of
    shared values and new versions of records."""
    from tests.unit.test_bulk_load import _generated

    records = _generated(2500, 5)
    resent = [r for r in records[::7] if r.attributes]
    resent = [prepare_record(RawRecord(r.source, r.source_record_id, r.observed_at, tuple(
        RawIdentifier(k.type, k.value, k.scope) for k in r.identifiers if not k.hashed),
        {n: v for n, v in r.attributes.items() if n != "name"}), rules, Limits(), SECRET,
        NOW, lenient=True) for r in resent]
    ws = working_set(rules)
    for r in [*records, *resent]:
        ws.ingest(r)
    known = {one_id: p.nameless for one_id, p in ws.persons.items() if p.nameless is not None}
    assert len(known) > len(ws.persons) // 2
    assert any(known.values()) and not all(known.values())
    assert ws.plan.splits and ws.plan.merges  # the paths that change a person's records
    for one_id, nameless in known.items():
        assert nameless == any("name" not in r.attributes
                               for r in ws._records_of_person(one_id)), one_id
