"""The suppression list inside resolution: a record carrying a suppressed value (as an
identifier, as its referrer, as a vehicle's VIN) is answered SUPPRESSED and nothing of it
is stored, with and without the pipeline (batches planned ahead of their transaction),
while the records around it in the same batch go in."""

from __future__ import annotations

import pytest

from idgraph.domain.records import RawIdentifier, RawRecord, RawVehicle
from idgraph.domain.resolution import Action
from idgraph.domain.rules import Rules
from idgraph.engine import IdentityEngine
from idgraph.store.neo4j_store import Neo4jStore
from tests.conftest import SECRET
from tests.integration.helpers import check_invariants, rec

pytestmark = pytest.mark.integration

VIN = "LSVAA4183E2000001"


@pytest.mark.parametrize("pipeline", [False, True])
def test_suppressed_values_refuse_their_records_in_a_batch(
        clean_store: Neo4jStore, rules: Rules, pipeline: bool) -> None:
    engine = IdentityEngine(clean_store, rules, SECRET, pipeline=pipeline)
    try:
        for identifier in (RawIdentifier("phone", "139 1234 5678"),
                           RawIdentifier("vin", VIN)):
            assert engine.stewardship.suppress_identifier(identifier, "dpo", "asked")
        records = [
            rec("crm", "a", ("email", "a@163.com")),
            rec("crm", "b", ("phone", "+86 13912345678")),  # suppressed identifier
            rec("crm", "c", ("email", "c@163.com")),
            RawRecord("app", "d", None, (RawIdentifier("email", "d@163.com"),), {},
                      referred_by=(RawIdentifier("phone", "13912345678"),)),  # referrer
            RawRecord("dms", "e", None, (RawIdentifier("email", "e@163.com"),), {},
                      (RawVehicle(VIN, "OWNER"),)),  # a suppressed VIN
        ]
        futures = [engine.ingestion.submit(r) for r in records]
        actions = [f.result(30).action for f in futures]
        assert actions == [Action.NEW, Action.SUPPRESSED, Action.NEW, Action.SUPPRESSED,
                           Action.SUPPRESSED]
        stored = clean_store.run_cypher("MATCH (r:Record) RETURN r.source_record_id AS id "
                                        "ORDER BY id")
        assert [row["id"] for row in stored] == ["a", "c"]
        assert clean_store.run_cypher(
            "MATCH (n) WHERE n.value = '13912345678' OR n.vin = $vin RETURN n", vin=VIN) == []
        check_invariants(clean_store)
    finally:
        engine.close()
