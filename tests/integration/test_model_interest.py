"""A lead or a test drive naming a model and no VIN, on a real Neo4j: stored as interest in
the model, shown in the profile, and feeding recommendations like a mention with a VIN."""

from __future__ import annotations

import pytest

from idgraph.domain.records import RawVehicle
from idgraph.domain.resolution import Action
from idgraph.engine import IdentityEngine
from idgraph.store.neo4j_store import Neo4jStore
from tests.integration.helpers import check_invariants, count, day, rec

pytestmark = pytest.mark.integration


def lead(rid: str, phone: str, *interests: tuple[str, str], name: str = "张先生"):  # type: ignore[no-untyped-def]
    return rec("test_drive", rid, ("phone", phone), name=name, dealer="NB001",
               vehicles=tuple(RawVehicle("", relation, model=model, since=day(2024, 5))
                              for relation, model in interests), observed=day(2024, 5))


def test_vin_less_interest_is_in_the_profile_and_the_recommendations(
        engine: IdentityEngine, clean_store: Neo4jStore) -> None:
    engine.recommendations.model_statistics_seconds = 0
    for n in range(2):  # two shoppers test-drove X5 and asked about GLC
        engine.ingest(lead(f"s{n}", f"1390000000{n}", ("TEST_DRIVE", "Model-X5"),
                           ("INTERESTED", "GLC"), name=f"王{n}明"))
    person = engine.ingest(lead("p", "13911112222", ("TEST_DRIVE", "Model-X5"), name="任伟"))

    profile = engine.profile(person.one_id).profile
    assert [(v.vehicle.vin, v.vehicle.model, v.vehicle.relation) for v in profile.vehicles
            ] == [("", "Model-X5", "TEST_DRIVE")]
    _, ranked = engine.recommendations.recommend_models(person.one_id, 5)
    why = {r.item: r.explanation for r in ranked}
    assert "Model-X5" in why and "test-drove" in why["Model-X5"]
    assert "GLC" in why and "interested in Model-X5" in why["GLC"]

    assert count(clean_store, "MATCH (m:Model) RETURN count(m) AS n") == 2
    assert count(clean_store, "MATCH (v:Vehicle) RETURN count(v) AS n") == 0
    assert engine.ingest(lead("p", "13911112222", ("TEST_DRIVE", "Model-X5"), name="任伟")
                         ).action is Action.UNCHANGED
    engine.ingest(lead("p", "13911112222", ("INTERESTED", "GLC"), name="任伟"))  # changed
    profile = engine.profile(person.one_id).profile
    assert [(v.vehicle.model, v.vehicle.relation) for v in profile.vehicles] == [
        ("GLC", "INTERESTED")]
    check_invariants(clean_store)
