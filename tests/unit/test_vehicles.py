"""Vehicles over time: VIN facts and the history assembled from record mentions."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from idgraph.domain.vehicles import Mention, periods, vehicle_history
from idgraph.domain.vin import vin_make, vin_model_year

NOW = datetime(2026, 11, 26, tzinfo=UTC)


def day(year: int, month: int = 1) -> datetime:
    return datetime(year, month, 1, tzinfo=UTC)


@pytest.mark.parametrize("vin, year", [
    ("LJCPCBLCX11000237", 2001),  # '1' is 2001 or 2031; 2031 is not sold yet
    ("LSVAA4182E2000001", 2014),  # 'E' is 1984 or 2014
    ("LSVAA4182T2000001", 2026),
    ("LSVAA4182V2000001", 2027),  # next year's model is on sale
    ("LSVAA4182W2000001", 1998),  # 2028 is too far ahead
    ("LSVAA4182U2000001", None),  # U is never a year code
])
def test_the_model_year_comes_from_position_ten(vin: str, year: int | None) -> None:
    assert vin_model_year(vin, NOW) == year


def test_the_make_comes_from_the_world_manufacturer_identifier() -> None:
    assert vin_make("LSVAA4182E2000001") == "SAIC Volkswagen"
    assert vin_make("LBVAA4182E2000001") == "BMW Brilliance"
    assert vin_make("ZZZAA4182E2000001") == ""
    assert vin_make("ZZZAA4182E2000001", {"ZZZ": "Brand X"}) == "Brand X"


def test_rules_can_add_makes() -> None:
    from idgraph.domain.rules import load_rules

    rules = load_rules().model_copy(update={"vehicle_makes": {"zzz": "Brand X"}})
    assert rules.makes["ZZZ"] == "Brand X" and rules.makes["LSV"] == "SAIC Volkswagen"


def mention(one_id: str, relation: str, since: datetime | None, until: datetime | None = None,
            record: str = "1") -> Mention:
    return Mention(relation, since, until, since, one_id, "dms", f"{one_id}-{record}")


def test_a_persons_mentions_become_one_period_open_while_any_is_open() -> None:
    (period,) = periods([mention("a", "OWNER", day(2018), day(2020), "1"),
                         mention("a", "OWNER", day(2019), None, "2")], "OWNER")
    assert (period.since, period.until, period.current) == (day(2018), None, True)
    assert period.sources == (("dms", "a-1"), ("dms", "a-2"))
    (closed,) = periods([mention("a", "OWNER", day(2018), day(2020), "1"),
                         mention("a", "OWNER", None, day(2021), "2")], "OWNER")
    assert (closed.since, closed.until, closed.current) == (day(2018), day(2021), False)


def test_the_history_names_the_current_owner_and_keeps_other_relations_apart() -> None:
    history = vehicle_history("LSVAA4182E2000001", "Passat", "沪A12345", [
        mention("b", "OWNER", day(2021)),
        mention("a", "OWNER", day(2018), day(2021)),
        mention("c", "SERVICE", day(2022), day(2022)),
        mention("d", "TEST_DRIVE", day(2017, 6), day(2017, 6)),
    ], NOW)
    assert history.owner == "b"
    assert [(p.one_id, p.since, p.until) for p in history.owners] == [
        ("a", day(2018), day(2021)), ("b", day(2021), None)]
    assert [(p.one_id, p.relation) for p in history.others] == [("d", "TEST_DRIVE"),
                                                                  ("c", "SERVICE")]
    assert (history.make, history.model_year) == ("SAIC Volkswagen", 2014)


def test_nobody_owns_a_car_whose_last_ownership_ended() -> None:
    history = vehicle_history("LSVAA4182E2000001", "", "", [
        mention("a", "OWNER", day(2018), day(2021))], NOW)
    assert history.owner == "" and len(history.owners) == 1
