"""Rule previews on real Neo4j: a preview is read-only, and what `apply` then does to the
graph is exactly what the preview predicted (merges made and undone, people affected,
OneIDs kept, review tasks opened); steward decisions hold."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path

import pytest

from bench.datagen import write as generate
from bench.rule_preview import DEFAULT_TOML, edited
from idgraph.domain.records import PreparedRecord
from idgraph.domain.rule_preview import RulePreview, cluster_diff
from idgraph.domain.rules import Rules
from idgraph.engine import IdentityEngine
from idgraph.engine.rule_changes import RuleChanges, note_applied_rules, parse_rules
from idgraph.errors import InvalidInput
from idgraph.record_json import record_from_json
from idgraph.store.neo4j_store import Neo4jStore
from tests.integration.helpers import check_invariants, node_counts

RECORDS = 2000  # generated records that make the test graph

# Changed rules, each a text edit of the shipped default (as an operator edits a copy).
ATTRIBUTE_LINKS = ('attribute_links = [{ name = ["exact", "pinyin"], birth_date = ["exact"], '
                   'city = ["exact"] },\n                   { name = ["exact", "pinyin"], '
                   'address = ["exact", "close"] }]')
CHANGES = {
    "attributes alone link": [("require_identifier_evidence = true",
                               "require_identifier_evidence = false")],
    "higher link threshold": [("link = 0.99", "link = 0.999999")],
    "no attribute links": [(ATTRIBUTE_LINKS, "attribute_links = []")],
    "phone shared at two names": [("hub_threshold = 5\nshared_identities = 3",
                                   "hub_threshold = 5\nshared_identities = 2")],
}


def generated(records: int, directory: Path) -> list[dict[str, object]]:
    """Realistic records (bench/datagen.py: households, vehicles, several sources, the dirty
    data of shared/DOMAIN.md), the same on every run."""
    path = directory / "records.jsonl"
    generate(records, path, None, seed=11)
    with path.open(encoding="utf-8") as handle:
        return [json.loads(line) for line in handle]


def load(engine: IdentityEngine, rows: list[dict[str, object]]) -> None:
    """Ingest the rows in observed order, in batches, as a backfill would."""
    records: dict[str, PreparedRecord] = {}
    for row in rows:
        try:
            record = engine.ingestion.prepare(record_from_json(row), lenient=True)
        except InvalidInput:
            continue  # an invalid row (the generator writes a few): a dead letter
        records[record.key] = record
    ordered = sorted(records.values(), key=lambda r: (r.observed_at, r.key))
    for start in range(0, len(ordered), 200):
        engine.ingestion.ingest_batch(ordered[start:start + 200])


def mapping(store: Neo4jStore) -> dict[str, str]:
    return {f"{s}|{r}": o for s, r, o in store.mapping()}


def open_task_keys(store: Neo4jStore) -> dict[str, tuple[str, tuple[str, ...]]]:
    rows = store.run_cypher("MATCH (t:ReviewTask) RETURN t.task_id AS id, t.record_key AS key, "
                            "t.one_id AS one_id, t.candidate_one_ids AS candidates")
    return {r["id"]: (r["key"], (r["one_id"], *sorted(r["candidates"]))) for r in rows}


@pytest.fixture(scope="module")
def rows(tmp_path_factory: pytest.TempPathFactory) -> list[dict[str, object]]:
    return generated(RECORDS, tmp_path_factory.mktemp("records"))


@pytest.fixture
def loaded(engine: IdentityEngine, rows: list[dict[str, object]]) -> Iterator[IdentityEngine]:
    load(engine, rows)
    yield engine


def check_apply_matches(engine: IdentityEngine, rules: Rules, toml: str) -> RulePreview:
    """Preview, apply, and compare what happened with what was predicted."""
    store = engine.core.store
    assert isinstance(store, Neo4jStore)
    changes = RuleChanges(engine.core)
    before, tasks_before = mapping(store), open_task_keys(store)
    predicted = changes.preview(rules)
    applied = changes.apply(rules, toml, "test")
    after = mapping(store)
    assert applied.preview.diff == predicted.diff
    assert cluster_diff(before, after) == predicted.diff
    # every kept OneID holds exactly the records predicted; the rest are new OneIDs
    by_one_id: dict[str, set[str]] = {}
    for key, one_id in after.items():
        by_one_id.setdefault(one_id, set()).add(key)
    for person in predicted.changed:
        holder = after[person.record_keys[0]]
        assert by_one_id[holder] == set(person.record_keys)
        if person.survivor:
            assert holder == person.survivor
        else:
            assert holder in applied.created and holder not in before.values()
    moved = sum(1 for k in before if before[k] != after[k])
    assert moved == predicted.records_moved
    assert len(set(after.values())) == predicted.people_after
    opened = {k: v for k, v in open_task_keys(store).items() if k not in tasks_before}
    assert sorted(v[0] for v in opened.values()) == sorted(
        t.record_key for t in predicted.review_tasks)
    for task in predicted.review_tasks:  # on the people predicted (new ones: the new OneIDs)
        (found,) = [v for v in opened.values() if v[0] == task.record_key]
        assert found[1][0] == after[task.record_key]
        assert len(found[1]) == 1 + len(task.candidates)
        assert {c for c in task.candidates if c} <= set(found[1][1:])
    check_invariants(store)
    return predicted


@pytest.mark.parametrize("name", sorted(CHANGES))
def test_apply_does_what_the_preview_predicted(loaded: IdentityEngine, name: str) -> None:
    toml = edited(CHANGES[name])
    predicted = check_apply_matches(loaded, parse_rules(toml), toml)
    assert not predicted.unchanged, f"{name}: the change should change something here"
    # the engine resolves with the new rules now; a second apply has nothing left to do
    assert loaded.core.rules == parse_rules(toml)
    assert note_applied_rules(loaded.core.store, parse_rules(toml))  # the graph keeps them
    assert not note_applied_rules(loaded.core.store, parse_rules(DEFAULT_TOML))
    assert RuleChanges(loaded.core).preview(parse_rules(toml)).unchanged


def test_preview_is_read_only(loaded: IdentityEngine) -> None:
    store = loaded.core.store
    assert isinstance(store, Neo4jStore)
    counts, before = node_counts(store), mapping(store)
    epoch = store.run_cypher("MATCH (e:WriteEpoch) RETURN e.value AS v")[0]["v"]
    predicted = RuleChanges(loaded.core).preview(parse_rules(edited(
        CHANGES["attributes alone link"])))
    assert predicted.diff.merges_made  # it predicts something, and writes nothing
    assert node_counts(store) == counts and mapping(store) == before
    assert store.run_cypher("MATCH (e:WriteEpoch) RETURN e.value AS v")[0]["v"] == epoch


def test_current_rules_change_nothing(loaded: IdentityEngine, rules: Rules) -> None:
    store = loaded.core.store
    assert isinstance(store, Neo4jStore)
    changes = RuleChanges(loaded.core)
    predicted = changes.preview(rules)
    assert predicted.diff.unchanged, predicted.examples
    assert predicted.unchanged, predicted.review_tasks[:3]
    counts, before = node_counts(store), mapping(store)
    changes.apply(rules, DEFAULT_TOML, "test")
    counts.setdefault("AppliedRules", 1)
    assert node_counts(store) == counts and mapping(store) == before


def test_steward_decisions_hold(loaded: IdentityEngine, rules: Rules) -> None:
    """People a steward kept apart stay apart and records a steward merged stay together,
    whatever the rules say; with the current rules the decisions change nothing."""
    store = loaded.core.store
    assert isinstance(store, Neo4jStore)
    toml = edited(CHANGES["attributes alone link"])
    changes = RuleChanges(loaded.core)
    made = changes.preview(parse_rules(toml)).diff.merges_made
    apart, joined = made[0].one_ids[:2], made[1].one_ids[:2]
    loaded.stewardship.keep_apart(apart, "steward", "two people")
    loaded.stewardship.merge_persons(joined, "steward", "one person")
    assert changes.preview(rules).unchanged  # the replay honours both decisions
    tied = store.run_cypher("MATCH (a:Record)-[:MUST_LINK]->(b:Record) "
                            "RETURN a.key AS a, b.key AS b")
    before = mapping(store)
    predicted = check_apply_matches(loaded, parse_rules(toml), toml)
    after = mapping(store)
    assert tied and all(after[t["a"]] == after[t["b"]] for t in tied)
    kept = [{k for k, o in before.items() if o == one_id} for one_id in apart]
    assert {after[k] for k in kept[0]}.isdisjoint({after[k] for k in kept[1]})
    assert not any(set(m.one_ids) >= set(apart) for m in predicted.diff.merges_made)


def test_rules_errors_name_the_field() -> None:
    with pytest.raises(InvalidInput) as error:
        parse_rules(edited([("link = 0.99", "link = 'high'")]))
    assert error.value.violations[0].field == "rules_toml"
    assert "thresholds.link" in error.value.violations[0].description
    with pytest.raises(InvalidInput):
        parse_rules("link = = 1")
