"""Lead grading on a real Neo4j: each signal appears from ingested records (and only from
records observed by the grading time); consent, erasure, merges and identifiers."""

from __future__ import annotations

import csv
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from idgraph.domain.identifiers import vin_check_char
from idgraph.domain.leads import LeadFacts
from idgraph.domain.records import RawIdentifier, RawRecord, RawVehicle
from idgraph.domain.rules import Rules
from idgraph.engine import IdentityEngine
from idgraph.engine.leads import LeadQuery
from idgraph.errors import InvalidInput, NotFound
from idgraph.leads_cli import grade_file
from idgraph.store.neo4j_store import Neo4jStore
from tests.conftest import SECRET
from tests.integration.helpers import rec

pytestmark = pytest.mark.integration

NOW = datetime(2025, 6, 1, 12, tzinfo=UTC)
HOME = "上海市浦东新区世纪大道100号3栋1201室"
LINE = "021-62265678"
LEAD = "13900000001"
OWNER = "13700000001"


def vin(n: int) -> str:
    base = f"LSVAA4180E{n:07d}"
    return base[:8] + vin_check_char(base) + base[9:]


def days_ago(n: float) -> datetime:
    return NOW - timedelta(days=n)


def lead(source: str, rid: str, when: datetime, *vehicles: RawVehicle, **attributes: str
         ) -> RawRecord:
    return rec(source, rid, ("phone", LEAD), ("landline", LINE), vehicles=vehicles,
               observed=when, name="张伟", address=HOME, **attributes)


@pytest.fixture
def graded_engine(clean_store: Neo4jStore, rules: Rules) -> Iterator[IdentityEngine]:
    """An engine whose clock stands at NOW."""
    engine = IdentityEngine(clean_store, rules, SECRET, clock=lambda: NOW)
    yield engine
    engine.close()


@pytest.fixture
def world(graded_engine: IdentityEngine) -> dict[str, str]:
    """A hot lead: referred by an owner, media and test-drive leads at two dealers, a test
    drive done, an app visit, and a household member whose car is seven years old."""
    engine = graded_engine
    ids = {"owner": engine.ingest(rec(
        "dms", "o1", ("phone", OWNER), observed=days_ago(900), name="王芳",
        vehicles=(RawVehicle(vin(1), "OWNER", model="Passat", since=days_ago(900)),))).one_id}
    ids["member"] = engine.ingest(rec(
        "dms", "h1", ("phone", "13900000002"), ("landline", LINE), observed=days_ago(2600),
        name="李娜", address=HOME,
        vehicles=(RawVehicle(vin(2), "OWNER", model="Lavida", since=days_ago(2600)),))).one_id
    first = lead("media", "m1", days_ago(12), dealer="D1")
    ids["lead"] = engine.ingest(RawRecord(
        first.source, first.source_record_id, first.observed_at, first.identifiers,
        first.attributes, referred_by=(RawIdentifier("phone", OWNER),))).one_id
    for record in (
        lead("test_drive", "t1", days_ago(2), RawVehicle(vin(3), "TEST_DRIVE", model="X3",
                                                         since=days_ago(2)), dealer="D2"),
        lead("app", "a1", days_ago(1)),
    ):
        assert engine.ingest(record).one_id == ids["lead"]
    return ids


def signal(engine: IdentityEngine, one_id: str) -> dict[str, tuple[float, int, str]]:
    graded = engine.leads.grade(LeadQuery(one_id))
    return {s.name: (s.value, s.points, s.words) for s in graded.signals}


def test_each_signal_comes_from_the_records(graded_engine: IdentityEngine,
                                             world: dict[str, str]) -> None:
    found = signal(graded_engine, world["lead"])
    assert found["recency"][:2] == (1.0, 20)
    assert found["touches.media"][0] == found["touches.test_drive"][0] == 1
    assert found["test_drive"][:2] == (2, 25) and "X3" in found["test_drive"][2]
    assert found["shopping_around"][:2] == (2, 10) and "D1, D2" in found["shopping_around"][2]
    assert found["trade_in"][1] == 10 and "Lavida is 7 years old" in found["trade_in"][2]
    assert found["referral"][:2] == (2, 30) and world["owner"] in found["referral"][2]
    assert found["engagement"][:2] == (1, 3)
    graded = graded_engine.leads.grade(LeadQuery(world["lead"]))
    assert graded.grade == "H" and graded.score == sum(s.points for s in graded.signals) == 103
    assert graded.probability is None and not graded.do_not_contact


def test_an_owner_is_not_a_hot_lead(graded_engine: IdentityEngine,
                                    world: dict[str, str]) -> None:
    graded = graded_engine.leads.grade(LeadQuery(world["owner"]))
    assert graded.grade == "C"
    assert {s.name: s.points for s in graded.signals}["referral"] == 0


def test_grading_the_past_sees_only_what_was_observed_by_then(
        graded_engine: IdentityEngine, world: dict[str, str]) -> None:
    leads = graded_engine.leads
    facts: LeadFacts = graded_engine.core.store.read(
        lambda tx: leads.facts(tx, [world["lead"]]))[world["lead"]]
    then = int(days_ago(5).timestamp() * 1000)  # before the test drive and the app visit
    past = {s.name: s.value for s in leads.graded(facts, then).signals}
    assert past["test_drive"] == 0 and past["engagement"] == 0
    assert past["shopping_around"] == 1 and past["referral"] == 2
    assert past["recency"] == 7.0


def test_withdrawn_consent_is_graded_but_flagged(graded_engine: IdentityEngine,
                                                 world: dict[str, str]) -> None:
    graded_engine.ingest(lead("wechat", "w1", days_ago(0.5), consent_marketing="false"))
    graded = graded_engine.leads.grade(LeadQuery(world["lead"]))
    assert graded.do_not_contact and graded.grade == "H"


def test_identifiers_redirects_erasure_and_bad_input(graded_engine: IdentityEngine,
                                                     world: dict[str, str]) -> None:
    leads = graded_engine.leads
    by_phone = leads.grade(LeadQuery(identifier=RawIdentifier("phone", f"+86 {LEAD}")))
    assert by_phone.one_id == world["lead"]
    many = leads.grade_many([LeadQuery(world["owner"]), LeadQuery(world["lead"])])
    assert [g.one_id for g in many] == [world["owner"], world["lead"]]
    with pytest.raises(InvalidInput) as bad:
        leads.grade_many([LeadQuery(world["owner"]), LeadQuery("oid_nope")])
    assert bad.value.violations[0].field == "leads[1].one_id"
    with pytest.raises(InvalidInput) as bad:
        leads.grade(LeadQuery(identifier=RawIdentifier("phone", "12345")))
    assert bad.value.violations[0].field.startswith("identifier")
    with pytest.raises(NotFound):
        leads.grade(LeadQuery(identifier=RawIdentifier("phone", "13911112222")))
    graded_engine.stewardship.erase_person(world["member"], actor="dpo", reason="ticket")
    assert signal(graded_engine, world["lead"])["trade_in"][1] == 0
    with pytest.raises(NotFound):
        leads.grade(LeadQuery(world["member"]))


def test_history_lists_the_people_with_lead_records(graded_engine: IdentityEngine,
                                                    world: dict[str, str]) -> None:
    found = {f.one_id: f for f in graded_engine.leads.history()}
    assert set(found) == {world["lead"]}  # the owner and the member have dms records only
    assert len(found[world["lead"]].touchpoints) == 3


def test_grade_file_writes_grades_and_row_errors(graded_engine: IdentityEngine,
                                                 world: dict[str, str], tmp_path: Path) -> None:
    source = tmp_path / "leads.csv"
    source.write_text(f"one_id,type,value\n{world['lead']},,\n,phone,{OWNER}\noid_bad,,\n",
                      encoding="utf-8")
    out = tmp_path / "grades.csv"
    assert grade_file(graded_engine.leads, source, out) == 0
    rows = list(csv.DictReader(out.read_text(encoding="utf-8").splitlines()))
    assert [(r["one_id"], r["grade"]) for r in rows[:2]] == [(world["lead"], "H"),
                                                             (world["owner"], "C")]
    assert "referred by an owner" in rows[0]["signals"] and "(+30)" in rows[0]["signals"]
    assert rows[2]["error"].startswith("one_id:")
