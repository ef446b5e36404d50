"""Tags on a real Neo4j: assigned tags with source and actor, following merges, gone with
erasure; tags from data on profiles and vehicles."""

from __future__ import annotations

import pytest

from idgraph.domain.records import RawVehicle
from idgraph.engine import IdentityEngine
from idgraph.errors import InvalidInput, NotFound
from idgraph.store.neo4j_store import Neo4jStore
from tests.integration.helpers import day, rec

pytestmark = pytest.mark.integration

VIN = "LSVAA4183E2000001"


def tags(engine: IdentityEngine, one_id: str) -> dict[str, str]:
    return {t.path: t.source for t in engine.profile(one_id).profile.tags}


def test_tags_from_data_and_assigned_ones_on_a_profile(engine: IdentityEngine,
                                                      clean_store: Neo4jStore) -> None:
    owner = engine.ingest(rec("dms", "1", ("phone", "13900000001"), name="张伟",
                              vehicles=(RawVehicle(VIN, "OWNER", since=day(2019)),))).one_id
    assert tags(engine, owner) == {"lifecycle.owner.owner_3y_plus": "rule"}
    assert engine.tagging.assign_tag("value.segment.vip", "crm-export", "writer-bot",
                                     one_id=owner) == owner
    (vip,) = [t for t in engine.profile(owner).profile.tags if not t.from_rule]
    assert (vip.path, vip.source, vip.actor) == ("value.segment.vip", "crm-export",
                                                 "writer-bot") and vip.at is not None
    assert engine.tagging.remove_tag("value.segment.vip", one_id=owner)
    assert not engine.tagging.remove_tag("value.segment.vip", one_id=owner)
    assert "value.segment.vip" not in tags(engine, owner)


def test_assigned_tags_follow_merges_and_go_with_erasure(engine: IdentityEngine,
                                                        clean_store: Neo4jStore) -> None:
    first = engine.ingest(rec("crm", "1", ("phone", "13900000001"), name="张伟")).one_id
    second = engine.ingest(rec("app", "2", ("email", "zw@qq.com"), name="张伟")).one_id
    engine.tagging.assign_tag("value.segment.vip", "crm", "w", one_id=second)
    bridge = engine.ingest(rec("dms", "3", ("phone", "13900000001"), ("email", "zw@qq.com"),
                               name="张伟"))
    assert bridge.one_id == first and second in bridge.merged_one_ids
    assert tags(engine, first)["value.segment.vip"] == "crm"
    engine.tagging.assign_tag("service.campaign.recall_notified", "after-sales", "w", one_id=second)
    assert "service.campaign.recall_notified" in tags(engine, first)  # via the redirect
    engine.stewardship.erase_person(first, actor="dpo", reason="ticket 3")
    assert clean_store.run_cypher("MATCH ()-[e:TAGGED]->() RETURN count(e) AS n")[0]["n"] == 0


def test_vehicle_tags(engine: IdentityEngine, clean_store: Neo4jStore) -> None:
    engine.ingest(rec("dms", "1", ("phone", "13900000001"),
                      vehicles=(RawVehicle(VIN, "OWNER", since=day(2019)),)))
    engine.tagging.assign_tag("service.campaign.recall_open", "recall-2026-07", "w",
                              vin=VIN.lower())
    found = {t.path: t.source for t in engine.reads.vehicle(VIN).tags}
    assert found == {"age.bucket.over_3y": "rule",
                     "service.campaign.recall_open": "recall-2026-07"}


@pytest.mark.parametrize("kwargs, field", [
    ({"path": "value.segment.gold", "one_id": "oid_" + "0" * 26}, "tag"),
    ({"path": "age.bucket.new", "one_id": "oid_" + "0" * 26}, "tag"),  # a vehicle tag
    ({"path": "value.segment.vip", "one_id": "42"}, "one_id"),
    ({"path": "value.segment.vip"}, "target"),
    ({"path": "service.campaign.recall_open", "vin": "LSVAA4182E2000001"}, "vin"),
    ({"path": "value.segment.vip", "one_id": "oid_" + "0" * 26, "source": " "}, "source"),
])
def test_bad_tag_requests_name_the_field_and_write_nothing(
        engine: IdentityEngine, clean_store: Neo4jStore, kwargs: dict[str, str],
        field: str) -> None:
    source = kwargs.pop("source", "crm")
    with pytest.raises(InvalidInput) as refused:
        engine.tagging.assign_tag(kwargs.pop("path"), source, "w", **kwargs)
    assert refused.value.violations[0].field == field
    assert clean_store.run_cypher("MATCH (t:Tag) RETURN count(t) AS n")[0]["n"] == 0


def test_tagging_what_does_not_exist_is_not_found(engine: IdentityEngine,
                                                  clean_store: Neo4jStore) -> None:
    with pytest.raises(NotFound):
        engine.tagging.assign_tag("value.segment.vip", "crm", "w", one_id="oid_" + "0" * 26)
    with pytest.raises(NotFound):
        engine.tagging.assign_tag("service.campaign.recall_open", "x", "w", vin=VIN)
