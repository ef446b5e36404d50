"""Lead grading (线索分级): a grade (H, A, B, C) and a score, with the signals behind it.

The dealer's DCC calls the hot leads first. What makes a lead hot is read from the graph as
*facts* about the person (their touchpoints, vehicle relations, household and referral
contacts, consent statements), and turned into *signals* as of a grading time `at`:

- recency of the latest touchpoint, and touchpoints by channel;
- a test drive done or booked, or interest in a model;
- leads at several dealers within a few days (shopping around);
- a car of the person or of a household member at trade-in age;
- a referral, from an owner above all;
- engagement in the app and WeChat;
- a recent purchase (the need was answered).

Each signal has a value (the number a trained model reads), points (from the points file,
``idgraph/rules/leads.toml`` or ``IDGRAPH_LEADS_FILE``) and words. Only what was observed at
or before `at` counts, so grading the past, as training does, sees no later data.

Everything here is pure: times are epoch milliseconds, and `at` is given.
"""

from __future__ import annotations

import tomllib
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

from pydantic import BaseModel, ConfigDict, Field, ValidationError, model_validator

from idgraph.errors import ConfigError

DEFAULT_LEADS = Path(__file__).resolve().parent.parent / "rules" / "leads.toml"
DAY_MS = 86_400_000
YEAR_MS = 365.25 * DAY_MS
NO_TOUCH_DAYS = 3650.0  # the recency value of a person with no touchpoint yet
GRADES = ("H", "A", "B", "C")


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class RecencyBand(_Strict):
    """Points when the latest touchpoint is at most `within_days` old."""

    within_days: float = Field(gt=0)
    points: int


class ChannelPoints(_Strict):
    """Points per touchpoint of a channel, up to `max`."""

    per_touch: int
    max: int


class Touchpoints(_Strict):
    """Touchpoints by channel over a window."""

    window_days: float = Field(90, gt=0)
    channels: dict[str, ChannelPoints] = Field(default_factory=dict)


class DrivePoints(_Strict):
    """A test drive done or booked, or interest in a model, within a window."""

    window_days: float = Field(180, gt=0)
    done: int = 25
    booked: int = 12
    interested: int = 5


class ShoppingAround(_Strict):
    """Leads at several dealers within a few days."""

    dealers_at_least: int = Field(2, ge=2)
    within_days: float = Field(30, gt=0)
    points: int = 10


class TradeIn(_Strict):
    """A car of the person or of a household member at trade-in age."""

    age_years: float = Field(5, gt=0)
    points: int = 10


class ReferralPoints(_Strict):
    """A referral, by an owner or by anyone."""

    by_owner: int = 30
    by_anyone: int = 10


class Engagement(_Strict):
    """Records from engagement sources (app, WeChat) within a window."""

    sources: frozenset[str] = frozenset({"app", "wechat"})
    within_days: float = Field(30, gt=0)
    per_touch: int = 3
    max: int = 12


class RecentPurchase(_Strict):
    """A car bought a short while ago."""

    within_days: float = Field(180, gt=0)
    points: int = -30


class LeadPoints(_Strict):
    """The points file: what each signal is worth, and the least score of each grade."""

    lead_sources: frozenset[str] = frozenset({"media", "test_drive", "app", "wechat", "crm"})
    open_days: float = Field(30, gt=0)
    grades: dict[str, int] = Field(default_factory=lambda: {"H": 60, "A": 40, "B": 20})
    recency: tuple[RecencyBand, ...] = ()
    touchpoints: Touchpoints = Touchpoints()
    test_drive: DrivePoints = DrivePoints()
    shopping_around: ShoppingAround = ShoppingAround()
    trade_in: TradeIn = TradeIn()
    referral: ReferralPoints = ReferralPoints()
    engagement: Engagement = Engagement()
    recent_purchase: RecentPurchase = RecentPurchase()

    @model_validator(mode="after")
    def _ordered(self) -> LeadPoints:
        if set(self.grades) != set(GRADES[:3]):
            raise ValueError("grades: give the least score of H, A and B")
        if not self.grades["H"] > self.grades["A"] > self.grades["B"]:
            raise ValueError("grades: H must be above A, and A above B")
        days = [band.within_days for band in self.recency]
        if days != sorted(days):
            raise ValueError("recency: bands must go from the shortest to the longest")
        return self

    def signal_names(self) -> list[str]:
        """The signals in the order they are answered (and a model reads them)."""
        return ["recency", *(f"touches.{c}" for c in self.touchpoints.channels),
                "test_drive", "interest", "shopping_around", "trade_in", "referral",
                "engagement", "recent_purchase"]


def load_lead_points(path: Path | None = None) -> LeadPoints:
    """Read a points file (the shipped one by default); ConfigError names what is wrong."""
    source = path or DEFAULT_LEADS
    try:
        return LeadPoints.model_validate(tomllib.loads(source.read_text(encoding="utf-8")))
    except (OSError, tomllib.TOMLDecodeError, ValidationError) as exc:
        raise ConfigError(f"leads file {source}: {exc}") from exc


# ----------------------------------------------------------------------------- facts
@dataclass(frozen=True)
class Touchpoint:
    """A record of the person: its source, when it was observed, the dealers it names."""

    source: str
    at: int
    dealers: tuple[str, ...] = ()


@dataclass(frozen=True)
class VehicleFact:
    """A vehicle mention: relation, model, its bounds and when its record was observed."""

    relation: str
    model: str
    since: int | None
    until: int | None
    observed: int

    def start(self) -> int:
        """When the relation began (its record's time when the record gives none)."""
        return self.observed if self.since is None else self.since


@dataclass(frozen=True)
class Contact:
    """A household member or the referrer, with their vehicle mentions."""

    one_id: str
    relation: str  # HOUSEHOLD | REFERRED_BY
    since: int | None  # when the relationship was first seen
    vehicles: tuple[VehicleFact, ...] = ()


@dataclass(frozen=True)
class LeadFacts:
    """What grading reads of a person, over all time (signals pick what was known at `at`)."""

    one_id: str
    touchpoints: tuple[Touchpoint, ...] = ()
    vehicles: tuple[VehicleFact, ...] = ()
    contacts: tuple[Contact, ...] = ()
    consents: tuple[tuple[int, bool], ...] = ()  # (observed, marketing consent stated)


@dataclass(frozen=True)
class Signal:
    """One reason behind a grade: its value (a model's feature), points and words."""

    name: str
    value: float
    points: int
    words: str


@dataclass(frozen=True)
class LeadGrade:
    """A grade, its score and the signals behind it, as of `at`."""

    one_id: str
    at: int
    grade: str
    score: int
    signals: tuple[Signal, ...]
    do_not_contact: bool  # the person withdrew marketing consent
    probability: float | None = None  # a trained model's probability of a purchase


# ----------------------------------------------------------------------------- signals
def _date(ms: int) -> str:
    return datetime.fromtimestamp(ms / 1000, UTC).strftime("%Y-%m-%d")


def _days(ms: float) -> float:
    return ms / DAY_MS


def _known(vehicles: Sequence[VehicleFact], at: int) -> list[VehicleFact]:
    return [v for v in vehicles if v.observed <= at]


def _owned_at(vehicles: Sequence[VehicleFact], at: int) -> list[VehicleFact]:
    """Ownerships known and running at `at`."""
    return [v for v in _known(vehicles, at) if v.relation == "OWNER" and v.start() <= at
            and (v.until is None or v.until > at)]


def recency(facts: LeadFacts, at: int, points: LeadPoints) -> Signal:
    """Days since the latest touchpoint, by bands."""
    seen = [t for t in facts.touchpoints if t.at <= at]
    if not seen:
        return Signal("recency", NO_TOUCH_DAYS, 0, "no touchpoint yet")
    latest = max(seen, key=lambda t: t.at)
    days = _days(at - latest.at)
    band = next((b.points for b in points.recency if days <= b.within_days), 0)
    return Signal("recency", round(days, 2), band,
                  f"last touchpoint {days:.0f} day{'s' * (round(days) != 1)} ago "
                  f"({latest.source}, {_date(latest.at)})")


def touches(facts: LeadFacts, at: int, points: LeadPoints) -> list[Signal]:
    """Touchpoints of each configured channel within the window."""
    window = points.touchpoints.window_days * DAY_MS
    result = []
    for channel, rule in points.touchpoints.channels.items():
        n = sum(1 for t in facts.touchpoints if t.source == channel and at - window < t.at <= at)
        words = f"{n} {channel} touchpoint{'s' * (n != 1)} in the last " \
                f"{points.touchpoints.window_days:.0f} days"
        result.append(Signal(f"touches.{channel}", n, min(rule.max, n * rule.per_touch), words))
    return result


def drive_signal(facts: LeadFacts, at: int, points: LeadPoints) -> Signal:
    """A test drive done in the window (2), booked for later (1), or none (0)."""
    rule = points.test_drive
    drives = [v for v in _known(facts.vehicles, at) if v.relation == "TEST_DRIVE"]
    done = [v for v in drives if at - rule.window_days * DAY_MS < v.start() <= at]
    if done:
        latest = max(done, key=VehicleFact.start)
        return Signal("test_drive", 2, rule.done,
                      f"test drive of {latest.model or 'a car'} done on {_date(latest.start())}")
    booked = [v for v in drives if v.start() > at]
    if booked:
        first = min(booked, key=VehicleFact.start)
        return Signal("test_drive", 1, rule.booked,
                      f"test drive of {first.model or 'a car'} booked for {_date(first.start())}")
    recent = [t for t in facts.touchpoints if t.source == "test_drive"
              and at - rule.window_days * DAY_MS < t.at <= at]
    if recent:
        return Signal("test_drive", 1, rule.booked,
                      f"test drive booked on {_date(max(t.at for t in recent))}")
    return Signal("test_drive", 0, 0,
                  f"no test drive in the last {rule.window_days:.0f} days")


def interest(facts: LeadFacts, at: int, points: LeadPoints) -> Signal:
    """Models the person asked about within the test-drive window."""
    rule = points.test_drive
    models = sorted({v.model or "a car" for v in _known(facts.vehicles, at)
                     if v.relation == "INTERESTED"
                     and at - rule.window_days * DAY_MS < v.observed <= at})
    if not models:
        return Signal("interest", 0, 0, "asked about no model")
    return Signal("interest", len(models), rule.interested, f"asked about {', '.join(models)}")


def shopping_around(facts: LeadFacts, at: int, points: LeadPoints) -> Signal:
    """Distinct dealers named by the touchpoints of the last few days."""
    rule = points.shopping_around
    dealers = sorted({d for t in facts.touchpoints
                      if at - rule.within_days * DAY_MS < t.at <= at for d in t.dealers})
    n = len(dealers)
    if n >= rule.dealers_at_least:
        return Signal("shopping_around", n, rule.points,
                      f"leads at {n} dealers in the last {rule.within_days:.0f} days "
                      f"({', '.join(dealers)}): shopping around")
    return Signal("shopping_around", n, 0,
                  f"{'one dealer' if n else 'no dealer'} in the last {rule.within_days:.0f} days")


def trade_in(facts: LeadFacts, at: int, points: LeadPoints) -> Signal:
    """The oldest running ownership of the person or a household member, in years."""
    rule = points.trade_in
    cars = [("your", v) for v in _owned_at(facts.vehicles, at)]
    cars += [("a household member's", v) for c in facts.contacts
             if c.relation == "HOUSEHOLD" and (c.since is None or c.since <= at)
             for v in _owned_at(c.vehicles, at)]
    if not cars:
        return Signal("trade_in", 0, 0, "no car owned in the household")
    whose, oldest = min(cars, key=lambda wv: wv[1].start())
    years = (at - oldest.start()) / YEAR_MS
    model = oldest.model or "car"
    if years >= rule.age_years:
        return Signal("trade_in", round(years, 2), rule.points,
                      f"{whose} {model} is {years:.0f} years old: trade-in age")
    return Signal("trade_in", round(years, 2), 0,
                  f"the household's oldest car ({whose} {model}) is {years:.0f} years old")


def referral(facts: LeadFacts, at: int, points: LeadPoints) -> Signal:
    """Referred by an owner (2), by someone else (1), or not (0)."""
    rule = points.referral
    referrers = [c for c in facts.contacts if c.relation == "REFERRED_BY"
                 and (c.since is None or c.since <= at)]
    owners = [c for c in referrers
              if any(v.relation == "OWNER" and v.start() <= at for v in _known(c.vehicles, at))]
    if owners:
        return Signal("referral", 2, rule.by_owner,
                      f"referred by an owner ({owners[0].one_id})")
    if referrers:
        return Signal("referral", 1, rule.by_anyone,
                      f"referred by {referrers[0].one_id}, who owns no car")
    return Signal("referral", 0, 0, "not referred")


def engagement(facts: LeadFacts, at: int, points: LeadPoints) -> Signal:
    """Records from the app and WeChat within the window."""
    rule = points.engagement
    n = sum(1 for t in facts.touchpoints
            if t.source in rule.sources and at - rule.within_days * DAY_MS < t.at <= at)
    names = "/".join(sorted(rule.sources))
    return Signal("engagement", n, min(rule.max, n * rule.per_touch),
                  f"{n} {names} visit{'s' * (n != 1)} in the last {rule.within_days:.0f} days")


def recent_purchase(facts: LeadFacts, at: int, points: LeadPoints) -> Signal:
    """Days since a purchase within the window (0: none)."""
    rule = points.recent_purchase
    bought = [v for v in _owned_at(facts.vehicles, at)
              if at - rule.within_days * DAY_MS < v.start()]
    if not bought:
        return Signal("recent_purchase", 0, 0,
                      f"no purchase in the last {rule.within_days:.0f} days")
    latest = max(bought, key=VehicleFact.start)
    return Signal("recent_purchase", 1, rule.points,
                  f"bought {latest.model or 'a car'} on {_date(latest.start())}")


_ONE: tuple[Callable[[LeadFacts, int, LeadPoints], Signal], ...] = (
    drive_signal, interest, shopping_around, trade_in, referral, engagement, recent_purchase)


def signals(facts: LeadFacts, at: int, points: LeadPoints) -> tuple[Signal, ...]:
    """Every signal as of `at`, in `points.signal_names()` order."""
    return (recency(facts, at, points), *touches(facts, at, points),
            *(signal(facts, at, points) for signal in _ONE))


def features(found: Sequence[Signal]) -> list[float]:
    """The values a trained model reads, in signal order."""
    return [float(s.value) for s in found]


def grade_of(score: int, points: LeadPoints) -> str:
    """The grade a score maps to."""
    return next((g for g in GRADES[:3] if score >= points.grades[g]), "C")


def consent_at(facts: LeadFacts, at: int) -> bool | None:
    """The latest marketing-consent statement observed by `at` (None: never stated)."""
    stated = [c for c in facts.consents if c[0] <= at]
    return max(stated)[1] if stated else None


def grade(facts: LeadFacts, at: int, points: LeadPoints) -> LeadGrade:
    """The grade, score and signals of a person as of `at`."""
    found = signals(facts, at, points)
    score = sum(s.points for s in found)
    return LeadGrade(facts.one_id, at, grade_of(score, points), score, found,
                     consent_at(facts, at) is False)


# ----------------------------------------------------------------------------- outcomes
def open_lead(facts: LeadFacts, at: int, points: LeadPoints) -> bool:
    """A record from a lead source within `open_days` before `at`, and no purchase since."""
    leads = [t.at for t in facts.touchpoints if t.source in points.lead_sources
             and at - points.open_days * DAY_MS < t.at <= at]
    if not leads:
        return False
    latest = max(leads)
    return not any(v.relation == "OWNER" and latest <= v.start() <= at
                   for v in _known(facts.vehicles, at))


def purchased(facts: LeadFacts, at: int, horizon_days: float) -> bool:
    """An ownership beginning within `horizon_days` after `at` (the outcome to predict)."""
    end = at + horizon_days * DAY_MS
    return any(v.relation == "OWNER" and at < v.start() <= end for v in facts.vehicles)
