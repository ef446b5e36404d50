"""The in-memory batch view: records resolved in order see the effects of earlier ones."""

from __future__ import annotations

import itertools

from idgraph.domain.resolution import Action
from idgraph.domain.rules import Rules
from idgraph.domain.working_set import WorkingSet
from tests.unit.factories import NOW, person, record


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
