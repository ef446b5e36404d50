"""Offline evaluation of RecommendModels, and recommendation latency over gRPC.

Builds a world with planted structure:

- **Models.** 40 models: 8 makes with 5 models each. First purchases follow a Zipf
  popularity.
- **Upgrade ladder.** An owner's next car is:
  - usually the next rung of their model's ladder (60 %);
  - otherwise a sibling of the same make (25 %), or a popular model (15 %).
- **Households.** People live in households (shared landline and address). In a third of
  the upgrades, the next car is the one a household member test-drove (and that test
  drive is in the data).
- **Shopping around.** Half of the first purchases come after a test drive of a rival
  (the same rung of the next or the previous make's ladder, or one time in three any
  model), and for half of those of the bought model too, a year before: people who
  test-drove a model tend to buy one of its counterparts (co-interest).
- **Cities and dealers.** Each household lives in one of 8 cities (a Zipf share) and buys
  from one of its city's 25 dealers; one test drive in five is at another dealer of the
  city.

The world is loaded through `idgraph backfill` into a fresh local Neo4j (or
IDGRAPH_NEO4J_URI, which should be empty), with the last purchase of `--eval` owners
hidden, and the only purchase of `--eval` prospects who shopped around first (their test
drive stays). For each of them the script asks RecommendModels(k) and checks whether the
hidden model is among the answers (hit-rate@k), against the most-popular baseline (the
most owned models the person does not own). It then measures the latency of k=10 calls through a
real gRPC server and client.

    .venv/bin/python bench/recommend.py [--people 100000] [--eval 1000] [--calls 1000]
"""

from __future__ import annotations

import argparse
import json
import os
import random
import statistics
import sys
import tempfile
import time
from contextlib import ExitStack
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from bench.common import neo4j, percentile  # noqa: E402
from idgraph.api.server import build_server  # noqa: E402
from idgraph.backfill import backfill_file  # noqa: E402
from idgraph.client import Client  # noqa: E402
from idgraph.config import Settings  # noqa: E402
from idgraph.domain.identifiers import vin_check_char  # noqa: E402
from idgraph.domain.recommend import popular_models  # noqa: E402
from idgraph.domain.records import RawIdentifier  # noqa: E402
from idgraph.errors import Conflict  # noqa: E402
from idgraph.serve import build_engine, open_store, tune_gc  # noqa: E402
from idgraph.store.neo4j_store import Neo4jStore  # noqa: E402
from idgraph.v1 import recommend_pb2 as rpb  # noqa: E402

MAKES = {"LSV": ["Lavida", "Passat", "Tiguan L", "Teramont", "Phideon"],
         "LFV": ["Bora", "Sagitar", "Magotan", "Tayron", "CC"],
         "LBV": ["1 Series", "3 Series", "5 Series", "X3", "X5"],
         "LE4": ["A-Class", "C-Class", "E-Class", "GLC", "GLE"],
         "LVG": ["Corolla", "Camry", "RAV4", "Highlander", "Avalon"],
         "LHG": ["Civic", "Accord", "CR-V", "Breeze", "Avancier"],
         "LGB": ["Sylphy", "Teana", "X-Trail", "Qashqai", "Pathfinder"],
         "LSG": ["Excelle", "Regal", "LaCrosse", "Envision", "GL8"]}
MODELS = [(wmi, model) for wmi, models in MAKES.items() for model in models]


WARM_UP = 5  # rounds of calls before latency is measured

CITIES = ["上海", "北京", "广州", "深圳", "杭州", "成都", "南京", "武汉"]
DEALERS_PER_CITY = 25


@dataclass
class Person:
    n: int
    phone: str
    household: int
    city: str = ""
    dealer: str = ""
    purchases: list[str] = field(default_factory=list)
    test_drives: list[str] = field(default_factory=list)
    shopped: list[str] = field(default_factory=list)  # test-driven before the first purchase


class World:
    """People, households, purchases along ladders, and household test drives."""

    def __init__(self, people: int, seed: int) -> None:
        self.rng = random.Random(seed)
        self.names = [m for _, m in MODELS]
        self.wmi = {m: w for w, m in MODELS}
        self.zipf = [1.0 / (i + 1) ** 0.9 for i in range(len(self.names))]
        self.rng.shuffle(self.zipf)
        self.people: list[Person] = []
        self.vins = 0
        household = 0
        while len(self.people) < people:
            size = self.rng.choices((1, 2, 3), (40, 40, 20))[0]
            members = [Person(len(self.people) + i, f"1{3 + (len(self.people) + i) % 7}"
                              f"{(len(self.people) + i) * 7919 % 10**9:09d}", household)
                       for i in range(size)]
            household += 1
            city = self.rng.choices(range(len(CITIES)),
                                    [1.0 / (i + 1) for i in range(len(CITIES))])[0]
            dealer = f"D{city}{self.rng.randrange(DEALERS_PER_CITY):02d}"
            for member in members:
                member.city, member.dealer = CITIES[city], dealer
            self.people += members
            self._lives(members)

    def _next(self, model: str) -> str:
        make = self.wmi[model]
        ladder = MAKES[make]
        r = self.rng.random()
        if r < 0.6:
            return ladder[min(ladder.index(model) + 1, len(ladder) - 1)] \
                if model != ladder[-1] else ladder[-2]
        if r < 0.85:
            return self.rng.choice([m for m in ladder if m != model])
        return self.rng.choices(self.names, self.zipf)[0]

    def _rival(self, model: str) -> str:
        """Usually the same rung of the next or the previous make's ladder; one time in
        three any model, by popularity."""
        if self.rng.random() < 1 / 3:
            return self.rng.choices(self.names, self.zipf)[0]
        makes = list(MAKES)
        make = self.wmi[model]
        step = self.rng.choice((1, -1))
        rival = MAKES[makes[(makes.index(make) + step) % len(makes)]]
        return rival[MAKES[make].index(model)]

    def _lives(self, members: list[Person]) -> None:
        rng = self.rng
        for person in members:
            if rng.random() < 0.6:
                person.purchases.append(rng.choices(self.names, self.zipf)[0])
                if rng.random() < 0.5:  # shopped around: the rival, maybe the car itself
                    person.shopped.append(self._rival(person.purchases[0]))
                    if rng.random() < 0.5:
                        person.shopped.append(person.purchases[0])
                while len(person.purchases) < 3 and rng.random() < 0.5:
                    others = [m for m in members if m is not person]
                    if others and rng.random() < 0.33:  # a household member test-drives it
                        nxt = self._next(person.purchases[-1])
                        rng.choice(others).test_drives.append(nxt)
                    else:
                        nxt = self._next(person.purchases[-1])
                    if nxt != person.purchases[-1]:
                        person.purchases.append(nxt)
            elif rng.random() < 0.3:
                person.test_drives.append(rng.choices(self.names, self.zipf)[0])

    def vin(self, model: str) -> str:
        self.vins += 1
        base = f"{self.wmi[model]}AA4180E{self.vins:07d}"
        return base[:8] + vin_check_char(base) + base[9:]

    def records(self, hidden: set[int], unsold: set[int]) -> list[dict[str, object]]:
        """Every person's records, without the last purchase of `hidden` people and any
        purchase of `unsold` ones."""
        rows: list[dict[str, object]] = []
        for p in self.people:
            address = f"{p.city}市中心区世纪大道{p.household}号"
            landline = f"021-{20_000_000 + p.household:08d}"
            base = {"identifiers": [{"type": "phone", "value": p.phone},
                                    {"type": "landline", "value": landline}]}
            attributes = {"name": f"客户{p.n}", "address": address, "city": p.city,
                          "dealer": p.dealer}
            purchases = [] if p.n in unsold else p.purchases[:-1] if p.n in hidden \
                else p.purchases
            for i, model in enumerate(purchases):
                year = 2012 + 4 * i + p.n % 3
                rows.append({"source": "dms", "sourceRecordId": f"{p.n}-{i}", **base,
                             "attributes": attributes,
                             "observedAt": f"{year}-03-01T00:00:00Z",
                             "vehicles": [{"vin": self.vin(model), "model": model,
                                           "relation": "VEHICLE_RELATION_OWNER",
                                           "since": f"{year}-03-01T00:00:00Z"}]})
            for i, model in enumerate(p.test_drives):
                elsewhere = self.rng.random() < 0.2
                dealer = f"{p.dealer[:2]}{self.rng.randrange(DEALERS_PER_CITY):02d}" \
                    if elsewhere else p.dealer
                rows.append({"source": "test_drive", "sourceRecordId": f"{p.n}-t{i}", **base,
                             "attributes": {**attributes, "dealer": dealer},
                             "observedAt": "2024-05-01T00:00:00Z",
                             "vehicles": [{"vin": self.vin(model), "model": model,
                                           "relation": "VEHICLE_RELATION_TEST_DRIVE",
                                           "since": "2024-05-01T00:00:00Z",
                                           "until": "2024-05-01T00:00:00Z"}]})
            for i, model in enumerate(p.shopped):
                day = f"{2011 + p.n % 3}-03-01T00:00:00Z"
                rows.append({"source": "test_drive", "sourceRecordId": f"{p.n}-s{i}",
                             **base, "attributes": attributes, "observedAt": day,
                             "vehicles": [{"vin": self.vin(model), "model": model,
                                           "relation": "VEHICLE_RELATION_TEST_DRIVE",
                                           "since": day, "until": day}]})
        return rows


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--people", type=int, default=100_000)
    parser.add_argument("--eval", type=int, default=1000, help="owners whose last purchase "
                        "is hidden")
    parser.add_argument("--calls", type=int, default=1000, help="latency calls per RPC")
    parser.add_argument("--k", type=int, default=10)
    parser.add_argument("--seed", type=int, default=11)
    args = parser.parse_args()
    world = World(args.people, args.seed)
    rng = random.Random(args.seed)
    upgraders = [p for p in world.people if len(p.purchases) >= 2]
    shoppers = [p for p in world.people if len(p.purchases) == 1 and p.shopped]
    groups = {"owners: next car": rng.sample(upgraders, min(args.eval, len(upgraders))),
              "prospects: first car": rng.sample(shoppers, min(args.eval, len(shoppers)))}
    rows = world.records({p.n for p in groups["owners: next car"]},
                         {p.n for p in groups["prospects: first car"]})
    print(f"{len(world.people):,} people, {len(rows):,} records, {len(upgraders):,} owners "
          f"with an upgrade, {len(shoppers):,} who shopped around before a single "
          f"purchase; {args.eval:,} of each evaluated", flush=True)
    settings = Settings()
    with tempfile.TemporaryDirectory(prefix="idgraph-recommend-") as tmp, ExitStack() as stack:
        data = Path(tmp) / "world.jsonl"
        data.write_text("".join(json.dumps(r, ensure_ascii=False) + "\n" for r in rows),
                        encoding="utf-8")
        uri = stack.enter_context(neo4j(Path(tmp), heap="2g", pagecache="1g"))
        settings = Settings(neo4j_uri=uri)
        store: Neo4jStore = open_store(settings, stack)
        engine = build_engine(settings, store)
        stack.callback(engine.close)
        started = time.perf_counter()
        loaded = backfill_file(engine.ingestion, data, Path(tmp) / "dead.jsonl",
                               batch_size=2000).counts
        assert loaded is not None
        present = len({str(r["sourceRecordId"]).split("-")[0] for r in rows})
        print(f"loaded in {time.perf_counter() - started:.0f} s: {loaded.new_people:,} OneIDs "
              f"minted, {loaded.merges:,} merges, {loaded.review_tasks:,} review tasks, for "
              f"{present:,} people with records (household members must stay apart)",
              flush=True)

        def one_id(person: Person) -> str:
            try:
                return engine.profile(identifier=RawIdentifier("phone", person.phone)
                                      ).profile.one_id
            except Conflict:  # the person's records are on several OneIDs: the largest
                return str(store.run_cypher(
                    "MATCH (r:Record)-[:PART_OF]->(p:Person) WHERE r.source_record_id "
                    "STARTS WITH $prefix RETURN p.one_id AS one_id, count(r) AS n "
                    "ORDER BY n DESC LIMIT 1", prefix=f"{person.n}-")[0]["one_id"])

        popularity = engine.recommendations._model_statistics(None).popularity  # warms the cache
        cutoffs = sorted({1, 3, args.k})
        results = {}
        for group, people in groups.items():
            hits = dict.fromkeys(cutoffs, 0)
            baseline = dict.fromkeys(cutoffs, 0)
            from_graph = at_dealer = 0
            for person in people:
                truth = person.purchases[-1]
                owned_now = set(person.purchases[-2:-1])
                _, ranked = engine.recommendations.recommend_models(one_id(person), args.k)
                ours = [r.item for r in ranked]
                theirs = popular_models(popularity, owned_now, args.k)
                for cut in cutoffs:
                    hits[cut] += truth in ours[:cut]
                    baseline[cut] += truth in theirs[:cut]
                found = next((r for r in ranked if r.item == truth), None)
                from_graph += found is not None and found.score > 0
                at_dealer += any("at your dealer" in r.explanation for r in ranked)
            results[group] = (len(people), hits, baseline, from_graph, at_dealer)
        running = build_server(engine, "127.0.0.1:0")
        stack.callback(running.stop, 1)
        tune_gc(settings.gc_threshold)  # as `idgraph serve` does: the world is frozen too
        client = stack.enter_context(Client(f"127.0.0.1:{running.port}", timeout=30))
        owners = [one_id(p) for p in rng.sample(upgraders, min(200, len(upgraders)))]
        seeds = owners[:20]
        latencies: dict[str, list[float]] = {"RecommendModels": [], "ReferralCandidates": [],
                                             "SimilarCustomers": []}
        for i in range(-WARM_UP, args.calls):  # the first WARM_UP rounds are not counted
            target = owners[i % len(owners)]
            calls: list[tuple[str, Any, Any]] = [
                ("RecommendModels", client.recommend_models,
                 rpb.RecommendModelsRequest(one_id=target, k=10))]
            if i < args.calls // 5:  # fewer calls for the two without a latency target
                calls += [("ReferralCandidates", client.referral_candidates,
                           rpb.ReferralCandidatesRequest(one_id=target, k=10)),
                          ("SimilarCustomers", client.similar_customers,
                           rpb.SimilarCustomersRequest(one_ids=seeds[i % 20:i % 20 + 3],
                                                       k=10))]
            for name, call, request in calls:
                t = time.perf_counter()
                call(request)
                if i >= 0:
                    latencies[name].append((time.perf_counter() - t) * 1000)
    print(f"\nRecommendModels: hidden purchases found ({args.people:,} people, "
          f"{len(MODELS)} models, {os.cpu_count()} cores):\n")
    print("| who | method | " + " | ".join(f"hit-rate@{c}" for c in cutoffs) + " |")
    print("|---|---|" + "---|" * len(cutoffs))
    for group, (n, hits, baseline, _, _) in results.items():
        for name, counts in (("idgraph RecommendModels", hits),
                             ("most popular (baseline)", baseline)):
            print(f"| {group} ({n:,}) | {name} | "
                  + " | ".join(f"{counts[c] / n:.3f}" for c in cutoffs) + " |")
    for group, (n, hits, _, from_graph, at_dealer) in results.items():
        print(f"\n{group}: of the {hits[args.k]} hits at {args.k}, {from_graph} came from a "
              f"path in the graph (the rest from the popularity fill); {at_dealer} of {n} "
              "answers name the person's own dealer in an explanation.")
    print(f"\nLatency through gRPC, k=10, after {WARM_UP} rounds of warm-up (ms):\n")
    print("| RPC | calls | p50 | p95 | p99 | max |")
    print("|---|---|---|---|---|---|")
    for name, values in latencies.items():
        print(f"| {name} | {len(values)} | {statistics.median(values):.1f} | "
              f"{percentile(values, 0.95):.1f} | {percentile(values, 0.99):.1f} | "
              f"{max(values):.1f} |")


if __name__ == "__main__":
    main()
