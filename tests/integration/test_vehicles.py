"""Vehicles over time on a real Neo4j: transfers close ownerships in any arrival order,
owners never merge, and GetVehicle's history follows merges and erasures."""

from __future__ import annotations

from itertools import permutations

import pytest

from idgraph.domain.records import RawRecord, RawVehicle
from idgraph.engine import IdentityEngine
from idgraph.errors import InvalidInput, NotFound
from idgraph.store.neo4j_store import Neo4jStore
from tests.integration.helpers import active_people, check_invariants, day, rec

pytestmark = pytest.mark.integration

VIN = "LSVAA4183E2000001"
WIPE = "MATCH (n) WHERE NOT n:SchemaMigration DETACH DELETE n"


def sales() -> dict[str, RawRecord]:
    """Three owners of one car (2018, 2021, 2024), a service visit and a test drive."""
    def sale(rid: str, phone: str, name: str, year: int) -> RawRecord:
        return rec("dms", rid, ("phone", phone), name=name,
                   vehicles=(RawVehicle(VIN, "OWNER", model="Passat", plate="沪A12345",
                                        since=day(year)),))
    return {
        "a": sale("a", "13900000001", "张伟", 2018),
        "b": sale("b", "13900000002", "李娜", 2021),
        "c": sale("c", "13900000003", "王芳", 2024),
        "s": rec("service", "s", ("phone", "13900000002"), name="李娜",
                 vehicles=(RawVehicle(VIN, "SERVICE", since=day(2022), until=day(2022)),)),
    }


@pytest.mark.parametrize("order", ["abcs", "csab", "bcas", "sacb"])
def test_transfers_close_ownerships_whatever_the_arrival_order(
        engine: IdentityEngine, clean_store: Neo4jStore, order: str) -> None:
    records = sales()
    ids = {name: engine.ingest(records[name]).one_id for name in order}
    assert active_people(clean_store) == 3  # a car changing hands is not a reason to merge
    history = engine.reads.vehicle(VIN)
    assert history.owner == ids["c"]
    assert [(p.one_id, p.since, p.until) for p in history.owners] == [
        (ids["a"], day(2018), day(2021)), (ids["b"], day(2021), day(2024)),
        (ids["c"], day(2024), None)]
    assert [(p.one_id, p.relation) for p in history.others] == [(ids["b"], "SERVICE")]
    assert (history.make, history.model, history.plate, history.model_year) == (
        "SAIC Volkswagen", "Passat", "沪A12345", 2014)
    past = engine.profile(ids["a"]).profile.vehicles[0]
    assert not past.current and past.vehicle.until == day(2021)
    check_invariants(clean_store)


def test_one_batch_in_every_order_gives_the_same_history(
        engine: IdentityEngine, clean_store: Neo4jStore) -> None:
    records = sales()
    seen = set()
    for order in permutations("abc"):
        clean_store.run_cypher(WIPE)
        engine.core.view.clear()
        prepared = [engine.ingestion.prepare(records[name]) for name in order]
        outcomes = dict(zip(order, engine.ingestion.ingest_batch(prepared), strict=True))
        history = engine.reads.vehicle(VIN)
        names = {o.one_id: name for name, o in outcomes.items()}
        seen.add(tuple((names[p.one_id], p.since, p.until) for p in history.owners))
    assert seen == {(("a", day(2018), day(2021)), ("b", day(2021), day(2024)),
                     ("c", day(2024), None))}


def test_the_history_follows_merges_and_forgets_erased_people(
        engine: IdentityEngine, clean_store: Neo4jStore) -> None:
    records = sales()
    a = engine.ingest(records["a"]).one_id
    c = engine.ingest(records["c"]).one_id
    # the first owner's CRM record, with a second phone, merges into them later
    crm = engine.ingest(rec("crm", "1", ("phone", "13900000001"), ("email", "a@qq.com"),
                            name="张伟"))
    assert crm.one_id == a
    assert [p.one_id for p in engine.reads.vehicle(VIN).owners] == [a, c]
    engine.stewardship.erase_person(c, actor="dpo", reason="ticket 7")
    history = engine.reads.vehicle(VIN)
    assert history.owner == "" and [p.one_id for p in history.owners] == [a]
    assert history.owners[0].until == day(2024)  # the transfer happened; the buyer is gone


def test_a_bad_or_unknown_vin_is_refused(engine: IdentityEngine, clean_store: Neo4jStore
                                         ) -> None:
    with pytest.raises(InvalidInput) as bad:
        engine.reads.vehicle("LSVAA4182E2000002")  # check digit
    assert bad.value.violations[0].field == "vin"
    with pytest.raises(NotFound):
        engine.reads.vehicle(" lsvaa4183e2000001 ")  # valid once normalized, but never mentioned
