"""Lead grading on generated histories with planted outcomes: AUC and top-decile lift of the
default points and of a trained model, against the recency-only rule, on a time split.

The world (two years of leads, 2023-2024, on top of `bench/recommend.py`'s makes, models
and cities):

- **Owners** bought a car between 2012 and 2022 (a DMS record); some of them live with a
  prospect (a shared landline and address: a household), some refer one.
- **Prospects** come into the market on a day of the two years with a first lead: a
  referral from an owner (10 %), else media (60 %), WeChat, the app or the CRM. Each has
  traits, drawn independently: a test drive (35 %, within two weeks), leads at a second
  dealer (20 %, within ten days), engagement (30 %: app and WeChat visits). A household
  car older than five years is a trait too.
- **Outcomes are planted** through the log-odds of buying: -3.2, plus 2.3 for a referral
  from an owner (referrals convert an order of magnitude better than media leads), 1.1
  for a test drive, 0.6 for shopping around, 0.5 for a household car at trade-in age and
  0.7 for engagement. A buyer buys after a delay of mean 20 days (a DMS record with the
  ownership); follow-up touchpoints come until then. A prospect who does not buy has
  follow-ups over a mean 30 days, then goes quiet: recency tells too.

The world is loaded through `backfill` into a fresh local Neo4j (or IDGRAPH_NEO4J_URI,
which should be empty), then graded and trained on exactly as `idgraph leads train` does.

    .venv/bin/python bench/leads.py [--prospects 3000] [--owners 1500] [--seed 7]
"""

from __future__ import annotations

import argparse
import json
import math
import random
import sys
import tempfile
import time
from contextlib import ExitStack
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "bench"))

from recommend import CITIES, MODELS  # noqa: E402

from bench.common import neo4j  # noqa: E402
from idgraph.backfill import backfill_file  # noqa: E402
from idgraph.config import Settings  # noqa: E402
from idgraph.domain.identifiers import vin_check_char  # noqa: E402
from idgraph.lead_model import report, train  # noqa: E402
from idgraph.serve import build_engine, open_store  # noqa: E402

START = datetime(2023, 1, 1, tzinfo=UTC)
DAYS = 730
LOG_ODDS = {"base": -3.2, "referral": 2.3, "test_drive": 1.1, "shopping": 0.6,
            "trade_in": 0.5, "engaged": 0.7}
DEALERS = 20


@dataclass
class Household:
    landline: str
    address: str
    city: str


@dataclass
class Owner:
    n: int
    phone: str
    since: datetime
    model: str
    home: Household | None = None


@dataclass
class Prospect:
    n: int
    phone: str
    start: datetime
    dealer: str
    home: Household | None = None
    referrer: Owner | None = None
    traits: set[str] = field(default_factory=set)
    bought: datetime | None = None


class LeadWorld:
    """Owners, prospects with traits, and purchases drawn from the planted log-odds."""

    def __init__(self, prospects: int, owners: int, seed: int) -> None:
        self.rng = random.Random(seed)
        self.vins = 0
        self.owners = [self._owner(n) for n in range(owners)]
        self.prospects = [self._prospect(n) for n in range(prospects)]

    def _owner(self, n: int) -> Owner:
        rng = self.rng
        since = datetime(2012, 1, 1, tzinfo=UTC) + timedelta(days=rng.randrange(11 * 365))
        home = Household(f"021-{30_000_000 + n:08d}", f"上海市中心区长寿路{n}号",
                         rng.choice(CITIES)) if rng.random() < 0.5 else None
        return Owner(n, f"137{n:08d}", since, rng.choice(MODELS)[1], home)

    def _prospect(self, n: int) -> Prospect:
        rng = self.rng
        p = Prospect(n, f"139{n:08d}", START + timedelta(days=rng.uniform(0, DAYS - 60)),
                     f"D{rng.randrange(DEALERS):02d}")
        if rng.random() < 0.3:
            owner = rng.choice([o for o in self.owners if o.home is not None])
            p.home = owner.home
            if (p.start - owner.since).days >= 5 * 365.25:
                p.traits.add("trade_in")
        if rng.random() < 0.10:
            p.referrer = rng.choice(self.owners)
            if p.referrer.since < p.start:
                p.traits.add("referral")
        for trait, share in (("test_drive", 0.35), ("shopping", 0.2), ("engaged", 0.3)):
            if rng.random() < share:
                p.traits.add(trait)
        logit = LOG_ODDS["base"] + sum(LOG_ODDS[t] for t in p.traits)
        if rng.random() < 1 / (1 + math.exp(-logit)):
            p.bought = p.start + timedelta(days=3 + rng.expovariate(1 / 20))
        return p

    def vin(self, model: str) -> str:
        self.vins += 1
        wmi = next(w for w, m in MODELS if m == model)
        base = f"{wmi}AA4180E{self.vins:07d}"
        return base[:8] + vin_check_char(base) + base[9:]

    def rows(self) -> list[dict[str, object]]:
        """Every record: owners' purchases, prospects' leads, touchpoints and purchases."""
        rows = [self._row("dms", f"o{o.n}", o.phone, o.since, f"车主{o.n}", o.home,
                          vehicles=[self._car(o.model, "OWNER", o.since)]) for o in self.owners]
        for p in self.prospects:
            rows += self._history(p)
        return rows

    def _history(self, p: Prospect) -> list[dict[str, object]]:
        rng = self.rng
        name, model = f"客户{p.n}", rng.choice(MODELS)[1]
        first = "referral" if p.referrer else rng.choices(
            ("media", "wechat", "app", "crm"), (60, 15, 10, 15))[0]
        out = [self._row(first, f"p{p.n}-0", p.phone, p.start, name, p.home, p.dealer,
                         referrer=p.referrer.phone if p.referrer else None)]
        end = p.bought or p.start + timedelta(days=rng.expovariate(1 / 30))
        span = max(1.0, (end - p.start).total_seconds() / 86400)
        if "test_drive" in p.traits:
            day = p.start + timedelta(days=rng.uniform(0, min(14.0, span)))
            out.append(self._row("test_drive", f"p{p.n}-t", p.phone, day, name, p.home,
                                 p.dealer, vehicles=[self._car(model, "TEST_DRIVE", day)]))
        if "shopping" in p.traits:
            other = f"D{(int(p.dealer[1:]) + 1 + rng.randrange(DEALERS - 1)) % DEALERS:02d}"
            day = p.start + timedelta(days=rng.uniform(0, 10))
            out.append(self._row("media", f"p{p.n}-s", p.phone, day, name, p.home, other))
        visits = rng.randint(2, 5) if "engaged" in p.traits else int(rng.random() < 0.2)
        for i in range(visits):
            day = p.start + timedelta(days=rng.uniform(0, span))
            out.append(self._row(rng.choice(("app", "wechat")), f"p{p.n}-v{i}", p.phone, day,
                                 name, p.home))
        for i in range(rng.randint(0, 3)):  # follow-ups by the dealer's CRM until the end
            day = p.start + timedelta(days=rng.uniform(0, span))
            out.append(self._row("crm", f"p{p.n}-f{i}", p.phone, day, name, p.home, p.dealer))
        if p.bought is not None:
            out.append(self._row("dms", f"p{p.n}-b", p.phone, p.bought, name, p.home, p.dealer,
                                 vehicles=[self._car(model, "OWNER", p.bought)]))
        return out

    def _car(self, model: str, relation: str, day: datetime) -> dict[str, object]:
        car: dict[str, object] = {"vin": self.vin(model), "model": model,
                                  "relation": f"VEHICLE_RELATION_{relation}",
                                  "since": day.isoformat()}
        if relation == "TEST_DRIVE":
            car["until"] = day.isoformat()
        return car

    @staticmethod
    def _row(source: str, rid: str, phone: str, day: datetime, name: str,
             home: Household | None, dealer: str = "", vehicles: list[dict[str, object]] | None
             = None, referrer: str | None = None) -> dict[str, object]:
        identifiers = [{"type": "phone", "value": phone}]
        attributes = {"name": name}
        if home is not None:
            identifiers.append({"type": "landline", "value": home.landline})
            attributes.update(address=home.address, city=home.city)
        if dealer:
            attributes["dealer"] = dealer
        row: dict[str, object] = {"source": source, "sourceRecordId": rid,
                                  "observedAt": day.isoformat(), "identifiers": identifiers,
                                  "attributes": attributes, "vehicles": vehicles or []}
        if referrer:
            row["referredBy"] = [{"type": "phone", "value": referrer}]
        return row


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--prospects", type=int, default=3000)
    parser.add_argument("--owners", type=int, default=1500)
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument("--horizon-days", type=float, default=30)
    args = parser.parse_args()
    world = LeadWorld(args.prospects, args.owners, args.seed)
    rows = world.rows()
    buyers = sum(p.bought is not None for p in world.prospects)
    print(f"{len(world.prospects):,} prospects ({buyers:,} buy), {len(world.owners):,} "
          f"owners, {len(rows):,} records", flush=True)
    with tempfile.TemporaryDirectory(prefix="idgraph-leads-") as tmp, ExitStack() as stack:
        data = Path(tmp) / "world.jsonl"
        data.write_text("".join(json.dumps(r, ensure_ascii=False) + "\n" for r in rows),
                        encoding="utf-8")
        uri = stack.enter_context(neo4j(Path(tmp)))
        settings = Settings(neo4j_uri=uri)
        engine = build_engine(settings, open_store(settings, stack))
        stack.callback(engine.close)
        started = time.perf_counter()
        loaded = backfill_file(engine.ingestion, data, Path(tmp) / "dead.jsonl",
                               batch_size=2000).counts
        assert loaded is not None
        print(f"loaded in {time.perf_counter() - started:.0f} s: {loaded.new_people:,} "
              f"OneIDs, {loaded.merges:,} merges", flush=True)
        started = time.perf_counter()
        history = list(engine.leads.history())
        read = time.perf_counter() - started
        started = time.perf_counter()
        done = train(history, engine.leads.points, args.horizon_days)
        print(f"read the facts of {len(history):,} leads in {read:.1f} s; sampled, trained "
              f"and evaluated in {time.perf_counter() - started:.1f} s")
    cut = datetime.fromtimestamp(done.cut / 1000, UTC).strftime("%Y-%m-%d")
    print(f"\nweekly grading moments; trained on {done.train:,} open leads before {cut}, "
          f"evaluated on {done.test:,} after it; outcome: a purchase within "
          f"{args.horizon_days:g} days\n")
    print(report(done.evaluation))


if __name__ == "__main__":
    main()
