"""Rule previews, pure: the diff of two partitions, the target the steward's decisions shape,
which OneID each target person keeps, and the write plan an apply carries out."""

from __future__ import annotations

from dataclasses import replace
from datetime import timedelta
from itertools import count

from idgraph.domain.records import PreparedRecord
from idgraph.domain.rule_preview import (
    LiveGraph,
    MergeMade,
    MergeUndone,
    apply_plan,
    cluster_diff,
    preview,
    target_partition,
)
from idgraph.domain.rules import Rules, load_rules
from tests.unit.factories import NOW, record

RULES: Rules = load_rules()


def crm(key: str, phone: str, name: str, minutes: int) -> PreparedRecord:
    base = record(RULES, ("phone", phone), key=key, name=name)

    return replace(base, observed_at=NOW + timedelta(minutes=minutes))


def live(records: list[PreparedRecord], owner: dict[str, str], **extra: object) -> LiveGraph:
    created = {o: NOW + timedelta(seconds=i) for i, o in enumerate(sorted(set(owner.values())))}
    return LiveGraph(records=records, owner=owner, created=created, **extra)  # type: ignore[arg-type]


def test_cluster_diff_counts_merges_made_and_undone() -> None:
    before = {"a": "P1", "b": "P1", "c": "P2", "d": "P3", "e": "P3"}
    after = {"a": "x", "b": "x", "c": "x", "d": "y", "e": "z"}
    diff = cluster_diff(before, after)
    assert diff.merges_made == (MergeMade(("P1", "P2"), ("a", "b", "c")),)
    assert diff.merges_undone == (MergeUndone("P3", (("d",), ("e",))),)
    assert diff.people_affected == ("P1", "P2", "P3")
    assert (diff.pairs_joined, diff.pairs_separated) == (2, 1)
    assert cluster_diff(before, {k: v.lower() for k, v in before.items()}).unchanged


def test_kept_apart_people_are_cut_apart_and_must_links_join() -> None:
    records = [crm(k, "13912345678", "张伟", i) for i, k in enumerate("abcd")]
    owner = {"crm|a": "P1", "crm|b": "P2", "crm|c": "P3", "crm|d": "P4"}
    graph = live(records, owner, kept_apart=frozenset({frozenset(("P1", "P2"))}),
                 must_links=[("crm|c", "crm|d")])
    cluster = {"crm|a": "x", "crm|b": "x", "crm|c": "x", "crm|d": "y"}
    target, homes = target_partition(graph, cluster)
    assert target["crm|a"] != target["crm|b"]  # kept apart: P2 goes to another part
    assert target["crm|a"] == target["crm|c"] == target["crm|d"]  # must-link joins y to x
    assert homes["P1"] == target["crm|a"]


def test_suppressed_records_stay_with_their_person() -> None:
    records = [crm("a", "13912345678", "张伟", 0), crm("b", "13912345678", "张伟", 1),
               crm("c", "13700000001", "李娜", 2)]
    owner = {"crm|a": "P1", "crm|b": "P2", "crm|c": "P2"}
    found = preview(live(records, owner, frozen=frozenset({"crm|c"})), RULES, NOW)
    # a and b share a phone and a name: one person, P1 (the older) survives and absorbs P2,
    # whose suppressed record c follows its OneID
    (person,) = found.changed
    assert (person.survivor, person.absorbed) == ("P1", ("P2",))
    assert set(person.record_keys) == {"crm|a", "crm|b", "crm|c"}


def test_apply_plan_splits_into_new_people_and_merges_into_the_oldest() -> None:
    records = [crm("a", "13912345678", "张伟", 0), crm("b", "13912345678", "张伟", 1),
               crm("c", "13700000001", "李娜", 2), crm("d", "13700000001", "李娜", 3)]
    owner = {"crm|a": "P1", "crm|b": "P2", "crm|c": "P1", "crm|d": "P1"}
    found = preview(live(records, owner), RULES, NOW)
    assert found.diff.merges_undone == (MergeUndone("P1", (("crm|a",), ("crm|c", "crm|d"))),)
    assert found.diff.merges_made == (MergeMade(("P1", "P2"), ("crm|a", "crm|b")),)
    ids = count()
    plan = apply_plan(found, lambda: "NEW", lambda: f"e{next(ids)}", "ops", "why")
    # P1 keeps its larger part (c, d); a moves to P2's person, which P2 keeps
    assert [(s.one_id, s.new_one_id, s.record_keys) for s in plan.splits] == [
        ("P1", "P2", ("crm|a",))]
    assert plan.merges == [] and plan.new_persons == []
    assert [(c.type.value, c.one_id, c.related) for c in plan.changes] == [
        ("SPLIT", "P1", ("P2",))]


def test_nothing_changes_when_the_replay_agrees() -> None:
    records = [crm("a", "13912345678", "张伟", 0), crm("b", "13912345678", "张伟", 1)]
    found = preview(live(records, {"crm|a": "P1", "crm|b": "P1"}), RULES, NOW)
    assert found.unchanged and found.changed == ()
    plan = apply_plan(found, lambda: "NEW", lambda: "e", "ops", "why")
    assert not (plan.splits or plan.merges or plan.changes or plan.review_tasks)
