"""Steward decisions that later ingests must respect, on a real Neo4j."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from idgraph.domain.resolution import Action
from idgraph.domain.rules import Rules
from idgraph.engine import IdentityEngine
from idgraph.errors import Conflict, NotFound
from idgraph.graph_cache import GraphView
from idgraph.store.neo4j_store import Neo4jStore
from tests.conftest import SECRET
from tests.integration.helpers import active_people, check_invariants, rec

pytestmark = pytest.mark.integration


@pytest.fixture(params=["view", "no view"])
def engines(request: pytest.FixtureRequest, clean_store: Neo4jStore, rules: Rules
            ) -> Iterator[IdentityEngine]:
    """An engine with a writer's view, and one that reads everything from Neo4j."""
    engine = IdentityEngine(clean_store, rules, SECRET,
                            view=GraphView(200_000 if request.param == "view" else 0))
    yield engine
    engine.close()


def test_kept_apart_people_stay_apart_after_more_records_and_merges(
        engines: IdentityEngine, clean_store: Neo4jStore) -> None:
    engine, steward = engines, engines.stewardship
    z = engine.ingest(rec("dms", "0", ("wechat_openid", "o-9", "app1"), name="王伟"))
    a = engine.ingest(rec("crm", "1", ("phone", "13912345678"), name="王伟"))
    b = engine.ingest(rec("app", "2", ("email", "wang@163.com"), ("phone", "13700000002"),
                          name="王伟"))
    assert steward.keep_apart([a.one_id, b.one_id], "alice", "two different customers") == [
        (a.one_id, b.one_id)]
    assert steward.keep_apart([b.one_id, a.one_id], "bob", "again") == []  # already decided
    bridge = engine.ingest(rec("wechat", "3", ("phone", "13912345678"),
                               ("email", "wang@163.com"), name="王伟"))
    assert bridge.action is Action.LINKED and bridge.one_id == a.one_id
    assert active_people(clean_store) == 3
    # B is absorbed into the older Z: Z inherits the decision about A.
    merged = engine.ingest(rec("dms", "5", ("phone", "13700000002"),
                               ("wechat_openid", "o-9", "app1"), name="王伟"))
    assert merged.one_id == z.one_id and set(merged.merged_one_ids) == {b.one_id}
    again = engine.ingest(rec("app", "6", ("wechat_openid", "o-9", "app1"),
                              ("phone", "13912345678"), name="王伟"))
    assert again.action is Action.LINKED and not again.merged_one_ids
    assert active_people(clean_store) == 2
    check_invariants(clean_store)


def test_keeping_apart_a_merged_away_one_id_binds_its_survivor(
        engine: IdentityEngine, clean_store: Neo4jStore) -> None:
    a = engine.ingest(rec("crm", "1", ("phone", "13912345678")))
    b = engine.ingest(rec("app", "2", ("email", "li@163.com")))
    c = engine.ingest(rec("crm", "3", ("phone", "13912345678"), ("email", "li@163.com")))
    assert set(c.merged_one_ids) == {b.one_id}
    d = engine.ingest(rec("dms", "4", ("wechat_openid", "o-1", "app1")))
    assert engine.stewardship.keep_apart([b.one_id, d.one_id], "alice", "kept") == [
        (a.one_id, d.one_id)]
    e = engine.ingest(rec("dms", "5", ("wechat_openid", "o-1", "app1"), ("email", "li@163.com")))
    assert e.action is Action.LINKED and not e.merged_one_ids
    check_invariants(clean_store)


def test_a_steward_merge_moves_records_redirects_and_is_recorded(
        engine: IdentityEngine, clean_store: Neo4jStore) -> None:
    a = engine.ingest(rec("crm", "1", ("phone", "13912345678"), name="赵敏"))
    b = engine.ingest(rec("app", "2", ("email", "zhao@163.com"), name="赵敏"))
    c = engine.ingest(rec("dms", "3", ("wechat_openid", "o-3", "app1"), name="赵敏"))
    steward = engine.stewardship
    assert steward.merge_persons([b.one_id, a.one_id], "alice", "same customer, checked by phone"
                                 ) == (a.one_id, (b.one_id,))
    assert active_people(clean_store) == 2
    profile = engine.profile(one_id=b.one_id)
    assert profile.profile.one_id == a.one_id and profile.redirected
    assert {r.source_record_id for r in profile.profile.records} == {"1", "2"}
    (event,) = clean_store.run_cypher(
        "MATCH (e:MergeEvent) RETURN e.rule AS rule, e.actor AS actor, e.absorbed AS absorbed")
    assert event == {"rule": "manual", "actor": "alice", "absorbed": [b.one_id]}
    merged = [row for row in engine.ingestion.changes(0, 100) if row.change.type.value == "MERGED"]
    assert [(m.change.one_id, m.change.related, m.change.actor, m.change.rule)
            for m in merged] == [(a.one_id, (b.one_id,), "alice", "manual")]
    with pytest.raises(Conflict, match="already point at one person"):
        steward.merge_persons([a.one_id, b.one_id], "alice", "again")
    steward.keep_apart([a.one_id, c.one_id], "bob", "different people")
    with pytest.raises(Conflict, match="kept apart"):
        steward.merge_persons([c.one_id, b.one_id], "alice", "override?")
    with pytest.raises(NotFound):
        steward.merge_persons([a.one_id, "oid_00000000000000000000000000"], "alice", "typo")
    # the survivor keeps linking what either side held
    assert engine.ingest(rec("web", "4", ("email", "zhao@163.com"))).one_id == a.one_id
    check_invariants(clean_store)


def test_a_steward_merge_is_a_must_link_that_a_split_respects(
        engine: IdentityEngine, clean_store: Neo4jStore) -> None:
    a = engine.ingest(rec("crm", "1", ("phone", "13912345678")))
    engine.ingest(rec("crm", "2", ("phone", "13912345678"), name="x"))
    b = engine.ingest(rec("app", "3", ("email", "li@163.com")))
    engine.stewardship.merge_persons([a.one_id, b.one_id], "alice", "same customer")
    with pytest.raises(Conflict, match=r"app\|3 and crm\|1 \(by alice\)"):
        engine.stewardship.split_person(a.one_id, ["app|3"], "bob", "undo?")
    # keeping the tied records together, the rest may be split off
    split = engine.stewardship.split_person(a.one_id, ["crm|1", "app|3"], "bob", "not crm|2")
    assert (split.one_id, split.moved) == (a.one_id, ("crm|2",))
    assert split.placements["crm|2"] != a.one_id
    check_invariants(clean_store)


def test_split_records_re_resolved_join_whom_they_match_but_never_their_old_person(
        engine: IdentityEngine, clean_store: Neo4jStore) -> None:
    wang = engine.ingest(rec("crm", "1", ("phone", "13912345678")))
    li = engine.ingest(rec("app", "9", ("email", "li@163.com")))
    engine.ingest(rec("crm", "2", ("phone", "13912345678")))
    # A wrong record joined wang's person by the phone; it also carries li's email, and a
    # record of nobody known yet rode along.
    wrong = engine.ingest(rec("web", "3", ("phone", "13912345678"), ("wechat_openid", "o-7",
                                                                     "app1")))
    assert wrong.one_id == wang.one_id
    engine.ingest(rec("web", "4", ("wechat_openid", "o-7", "app1"), ("email", "li@163.com")))
    # web|4 bridged wang and li into one person: undo by re-resolving web|3 and web|4
    merged = engine.profile(one_id=li.one_id).profile
    assert merged.one_id == wang.one_id and len(merged.records) == 5
    split = engine.stewardship.split_person(wang.one_id, ["web|3", "web|4"], "alice",
                                            "bad web records", re_resolve=True)
    assert split.one_id == wang.one_id and split.moved == ("web|3", "web|4")
    placed = split.placements
    assert wang.one_id not in placed.values()
    assert placed["web|4"] == placed["web|3"]  # they share the openid, so they re-join
    kept = {r.source_record_id for r in engine.profile(one_id=wang.one_id).profile.records}
    assert kept == {"1", "2", "9"}
    check_invariants(clean_store)
