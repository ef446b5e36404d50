"""Lead grading, pure: each signal from facts as of a time, points, grades, outcomes, and
the evaluation's lift and time split."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

import pytest

from idgraph.domain.leads import (
    DAY_MS,
    Contact,
    LeadFacts,
    Touchpoint,
    Touchpoints,
    VehicleFact,
    features,
    grade,
    grade_of,
    load_lead_points,
    open_lead,
    purchased,
    signals,
)
from idgraph.errors import ConfigError
from idgraph.lead_model import (
    Sample,
    load_lead_model,
    report,
    time_split,
    top_decile_lift,
    train,
)

POINTS = load_lead_points()
NOW = int(datetime(2025, 6, 1, tzinfo=UTC).timestamp() * 1000)


def ago(days: float) -> int:
    return NOW - int(days * DAY_MS)


def by_name(facts: LeadFacts, at: int = NOW) -> dict[str, tuple[float, int, str]]:
    return {s.name: (s.value, s.points, s.words) for s in signals(facts, at, POINTS)}


def owner(since: int, model: str = "Passat", until: int | None = None) -> VehicleFact:
    return VehicleFact("OWNER", model, since, until, since)


def test_a_fresh_media_lead_scores_recency_and_its_channel() -> None:
    found = by_name(LeadFacts("p", (Touchpoint("media", ago(1)), Touchpoint("media", ago(40)))))
    assert found["recency"][:2] == (1.0, 20)
    assert "1 day ago (media" in found["recency"][2]
    assert found["touches.media"][:2] == (2, 4)
    assert found["test_drive"][1] == found["referral"][1] == 0


def test_recency_bands_fall_with_age_and_nothing_is_zero() -> None:
    points = [by_name(LeadFacts("p", (Touchpoint("crm", ago(d)),)))["recency"][1]
              for d in (2, 5, 20, 60, 200)]
    assert points == [20, 15, 8, 2, 0]
    assert by_name(LeadFacts("p"))["recency"][1] == 0


def test_test_drive_done_beats_booked_and_later_records_do_not_count() -> None:
    done = LeadFacts("p", vehicles=(VehicleFact("TEST_DRIVE", "X3", ago(5), ago(5), ago(5)),))
    assert by_name(done)["test_drive"][:2] == (2, 25)
    assert "X3 done on" in by_name(done)["test_drive"][2]
    booked = LeadFacts("p", vehicles=(VehicleFact("TEST_DRIVE", "X3", NOW + DAY_MS, None,
                                                  ago(1)),))
    assert by_name(booked)["test_drive"][:2] == (1, 12)
    # As of ten days ago, the drive observed five days ago was not known yet.
    assert by_name(done, ago(10))["test_drive"][:2] == (0, 0)


def test_shopping_around_needs_two_dealers_within_the_window() -> None:
    two = LeadFacts("p", (Touchpoint("media", ago(3), ("D1",)),
                          Touchpoint("test_drive", ago(10), ("D2",))))
    assert by_name(two)["shopping_around"][:2] == (2, 10)
    apart = LeadFacts("p", (Touchpoint("media", ago(3), ("D1",)),
                            Touchpoint("test_drive", ago(100), ("D2",))))
    assert by_name(apart)["shopping_around"][1] == 0


def test_a_household_car_at_trade_in_age() -> None:
    member = Contact("h", "HOUSEHOLD", ago(3000), (owner(ago(6 * 366)),))
    found = by_name(LeadFacts("p", contacts=(member,)))
    assert found["trade_in"][1] == 10
    assert "household member's Passat is 6 years old" in found["trade_in"][2]
    young = Contact("h", "HOUSEHOLD", None, (owner(ago(2 * 365)),))
    assert by_name(LeadFacts("p", contacts=(young,)))["trade_in"][1] == 0
    sold = Contact("h", "HOUSEHOLD", None, (owner(ago(3000), until=ago(10)),))
    assert by_name(LeadFacts("p", contacts=(sold,)))["trade_in"][0] == 0


def test_a_referral_by_an_owner_is_worth_most() -> None:
    by_owner = Contact("r", "REFERRED_BY", ago(2), (owner(ago(400)),))
    assert by_name(LeadFacts("p", contacts=(by_owner,)))["referral"][:2] == (2, 30)
    by_other = Contact("r", "REFERRED_BY", ago(2))
    assert by_name(LeadFacts("p", contacts=(by_other,)))["referral"][:2] == (1, 10)
    # The owner bought after the grading time: not an owner then.
    later = Contact("r", "REFERRED_BY", ago(2), (owner(ago(1)),))
    assert by_name(LeadFacts("p", contacts=(later,)), ago(2))["referral"][:2] == (1, 10)


def test_engagement_counts_app_and_wechat_up_to_its_cap() -> None:
    visits = tuple(Touchpoint(s, ago(d)) for s in ("app", "wechat") for d in (1, 2, 3))
    assert by_name(LeadFacts("p", visits))["engagement"][:2] == (6, 12)


def test_a_recent_purchase_takes_points_away() -> None:
    found = by_name(LeadFacts("p", vehicles=(owner(ago(30), "X5"),)))
    assert found["recent_purchase"][1] == -30
    assert "bought X5" in found["recent_purchase"][2]


def test_grade_sums_points_and_flags_withdrawn_consent() -> None:
    facts = LeadFacts("p", (Touchpoint("test_drive", ago(1), ("D1",)),),
                      (VehicleFact("TEST_DRIVE", "X3", ago(1), ago(1), ago(1)),),
                      (Contact("r", "REFERRED_BY", ago(1), (owner(ago(900)),)),),
                      consents=((ago(10), True), (ago(1), False)))
    graded = grade(facts, NOW, POINTS)
    assert graded.score == sum(s.points for s in graded.signals) == 20 + 3 + 25 + 30
    assert graded.grade == "H"
    assert graded.do_not_contact
    assert [s.name for s in graded.signals] == POINTS.signal_names()
    assert len(features(graded.signals)) == len(POINTS.signal_names())
    assert not grade(facts, ago(5), POINTS).do_not_contact


def test_grade_thresholds() -> None:
    assert [grade_of(s, POINTS) for s in (60, 59, 40, 20, 19, -5)] == \
        ["H", "A", "A", "B", "C", "C"]


def test_open_leads_and_outcomes() -> None:
    facts = LeadFacts("p", (Touchpoint("media", ago(10)),), (owner(NOW + 5 * DAY_MS),))
    assert open_lead(facts, NOW, POINTS)
    assert not open_lead(facts, ago(11), POINTS)
    assert not open_lead(facts, NOW + 40 * DAY_MS, POINTS)
    assert purchased(facts, NOW, 30) and not purchased(facts, NOW, 3)
    closed = LeadFacts("p", (Touchpoint("media", ago(10)),), (owner(ago(5)),))
    assert not open_lead(closed, NOW, POINTS)


def test_points_file_errors_name_the_problem(tmp_path: Path) -> None:
    bad = tmp_path / "leads.toml"
    bad.write_text("[grades]\nH = 10\nA = 40\nB = 20\n", encoding="utf-8")
    with pytest.raises(ConfigError, match="H must be above A"):
        load_lead_points(bad)
    bad.write_text("[referral]\nby_owner = 'x'\n", encoding="utf-8")
    with pytest.raises(ConfigError, match="by_owner"):
        load_lead_points(bad)


def test_top_decile_lift_counts_ties_by_their_mean() -> None:
    labels = [True] + [False] * 9 + [True] * 0 + [False] * 10
    assert top_decile_lift([2.0] + [1.0] * 19, labels) == pytest.approx(1 / 2 / (1 / 20))
    assert top_decile_lift([1.0] * 20, labels) == pytest.approx(1.0)


def test_time_split_keeps_training_outcomes_before_the_cut() -> None:
    found = [Sample(d * DAY_MS, str(d), [], 0, 0.0, False) for d in range(100)]
    train, test, cut = time_split(found, 30, 0.7)
    assert cut == 70 * DAY_MS
    assert max(s.at for s in train) + 30 * DAY_MS <= cut
    assert min(s.at for s in test) > cut


def test_training_learns_a_planted_effect_and_reports_it() -> None:
    facts = []
    for n in range(600):  # every third lead is referred by an owner, and they buy
        start = ago(400) + (n % 300) * DAY_MS
        referred = n % 3 == 0
        contacts = (Contact("o", "REFERRED_BY", start, (owner(ago(3000)),)),) if referred \
            else ()
        bought = (owner(start + 10 * DAY_MS, "X3"),) if referred or n % 17 == 0 else ()
        facts.append(LeadFacts(f"p{n}", (Touchpoint("media", start),), bought, contacts))
    done = train(facts, POINTS, horizon_days=30, step_days=7, train_share=0.6)
    assert done.model is not None and done.test > 0
    assert done.evaluation.auc["trained model"] > 0.9
    assert done.evaluation.auc["points (default)"] > 0.9
    text = report(done.evaluation)
    assert "| recency only |" in text and "WARNING" not in text


def test_a_saved_model_loads_only_against_the_same_signals(tmp_path: Path) -> None:
    facts = [LeadFacts(f"p{n}", (Touchpoint("media", ago(200) + n * DAY_MS),),
                       (owner(ago(200) + (n + 5) * DAY_MS),) if n % 4 == 0 else ())
             for n in range(150)]
    done = train(facts, POINTS, horizon_days=30, step_days=7, train_share=0.6)
    assert done.model is not None
    path = tmp_path / "leads.joblib"
    done.model.save(path)
    loaded = load_lead_model(path, POINTS)
    assert 0.0 <= loaded.probability([0.0] * len(POINTS.signal_names())) <= 1.0
    fewer = POINTS.model_copy(update={"touchpoints": Touchpoints()})
    with pytest.raises(ConfigError, match="train it again"):
        load_lead_model(path, fewer)
