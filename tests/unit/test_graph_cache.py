"""The writer's view of the graph: valid only while the epochs follow on, bounded, and
never forgetting what batches still committing wrote."""

from __future__ import annotations

from idgraph.domain.resolution import CandidatePerson
from idgraph.domain.scoring import Evidence
from idgraph.graph_cache import PROTECTED_FOLDS, BatchEffect, GraphView
from tests.unit.factories import NOW


def _person(one_id: str) -> CandidatePerson:
    return CandidatePerson(one_id, NOW, Evidence(frozenset(), {"name": ("x",)}))


def _effect(epoch: int, holders: dict[str, list[str]] | None = None,
            redirects: dict[str, str] | None = None, rewritten: tuple[str, ...] = (),
            persons: tuple[str, ...] = ()) -> BatchEffect:
    return BatchEffect(epoch, holders or {}, [_person(p) for p in persons],
                       {f"rec|{p}": ("fp", p) for p in persons}, redirects or {}, rewritten)


def test_view_survives_only_consecutive_epochs() -> None:
    view = GraphView()
    view.commit(_effect(4, {"phone|1": ["oid_a"]}, persons=("oid_a",)))
    view.begin(5)
    assert view.holders_of("phone|1") == ["oid_a"]
    assert view.person("oid_a") is not None
    assert view.record("rec|oid_a") == ("fp", "oid_a")
    view.commit(_effect(5))
    view.begin(7)  # epoch 6 was someone else's
    assert view.holders_of("phone|1") is None
    assert view.person("oid_a") is None
    assert view.epoch is None


def test_merges_redirect_holders_and_records_through_chains() -> None:
    view = GraphView()
    view.commit(_effect(1, {"phone|1": ["oid_a", "oid_b"], "email|1": ["oid_c"]},
                        persons=("oid_a", "oid_b", "oid_c")))
    view.commit(_effect(2, redirects={"oid_b": "oid_a"}))
    view.commit(_effect(3, redirects={"oid_a": "oid_c"}))
    assert view.holders_of("phone|1") == ["oid_c"]  # a and b both live in c now, once
    assert view.record("rec|oid_b") == ("fp", "oid_c")
    assert view.person("oid_a") is None and view.person("oid_b") is None


def test_rewritten_person_is_reloaded_and_its_holder_entries_distrusted() -> None:
    view = GraphView()
    view.commit(_effect(1, {"phone|1": ["oid_a"], "phone|2": ["oid_b"]},
                        persons=("oid_a", "oid_b")))
    view.commit(_effect(2, rewritten=("oid_a",)))
    assert view.person("oid_a") is None
    assert view.holders_of("phone|1") is None  # the new version may have dropped it
    assert view.holders_of("phone|2") == ["oid_b"]


def test_bounded_view_forgets_old_entries_but_not_recent_batches() -> None:
    view = GraphView(max_entries=8)
    for epoch in range(1, 30):
        view.commit(_effect(epoch, {f"k|{epoch}|{i}": [f"oid_{epoch}"] for i in range(3)}))
        assert len(view.holders) <= 8 + 3 * PROTECTED_FOLDS
    # The entries of the last PROTECTED_FOLDS batches (which may not be committed yet when
    # the next batch is planned) are all still there.
    for epoch in range(30 - PROTECTED_FOLDS, 30):
        for i in range(3):
            assert view.holders_of(f"k|{epoch}|{i}") == [f"oid_{epoch}"]
    assert view.holders_of("k|1|0") is None


def test_too_many_suspects_clears_the_view_and_its_epoch() -> None:
    view = GraphView(max_entries=20)
    view.commit(_effect(1, {"phone|1": ["oid_a"]}))
    view.commit(_effect(2, rewritten=("oid_a", "oid_b", "oid_c")))
    assert view.epoch is None and not view.holders


def test_disabled_view_keeps_nothing() -> None:
    view = GraphView(max_entries=0)
    view.commit(_effect(1, {"phone|1": ["oid_a"]}, persons=("oid_a",)))
    assert not view.enabled and view.holders_of("phone|1") is None and view.epoch is None
