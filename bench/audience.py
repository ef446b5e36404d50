"""Audience benchmark: preview latency and export throughput on a generated graph.

Generates N realistic records (bench/datagen.py: households, vehicles, several sources;
here one record in three of the app, WeChat and CRM also states marketing consent, four in
five of them given), bulk-loads them into a fresh local Neo4j (`idgraph backfill`), then:

- builds the audience index from the graph (wall time, people, server RSS);
- previews five definitions of different shapes, 30 times each after a warm-up, through
  the engine and through a real gRPC server and client (p50 / p99, size);
- the same definitions compiled by hand to Cypher over the graph, once each: what the
  index is chosen over (docs/audiences.md);
- exports a stored audience through gRPC (people/s, hashed mobiles and device ids);
- catches the index up after 1,000 new records (what a preview pays after writes).

    .venv/bin/python bench/audience.py [--records 1000000]
"""

from __future__ import annotations

import argparse
import json
import os
import random
import resource
import statistics
import subprocess
import sys
import tempfile
import time
from contextlib import ExitStack
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from bench.common import percentile  # noqa: E402
from bench.datagen import write as generate  # noqa: E402
from idgraph.api.server import build_server  # noqa: E402
from idgraph.client import Client  # noqa: E402
from idgraph.config import Settings  # noqa: E402
from idgraph.localdb import free_port  # noqa: E402
from idgraph.serve import build_engine, open_store  # noqa: E402
from idgraph.v1 import audience_pb2 as apb  # noqa: E402

PYTHON = sys.executable
DEFINITIONS = {
    "leaf: one city": {"attribute": {"name": "city", "in": ["上海"]}},
    "and: owners of an old car seen lately": {"and": [
        {"vehicle": {"relation": "owns_now", "age_years_at_least": 3}},
        {"source": {"seen_within_days": 720}}]},
    "or/not: app or WeChat, not a service visit": {"and": [
        {"or": [{"source": {"in": ["app"]}}, {"source": {"in": ["wechat_oa", "wechat_mp"]}}]},
        {"not": {"source": {"in": ["service"]}}}]},
    "relationship: household of an owner of an old car": {"and": [
        {"household_member_of": {"vehicle": {"relation": "owns_now",
                                             "age_years_at_least": 3}}},
        {"consent": "not_withdrawn"}]},
    # (The generated test drives name no vehicle: a test-drive booking stands for one.)
    "the issue's example": {"and": [
        {"vehicle": {"relation": "owns_now", "age_years_at_least": 3}},
        {"attribute": {"name": "city", "in": ["上海"]}},
        {"household_member_of": {"or": [{"vehicle": {"relation": "test_drove"}},
                                        {"source": {"in": ["test_drive"]}}]}},
        {"not": {"consent": "withdrawn"}}]},
}
# Two of the definitions by hand in Cypher over the graph as it is stored (attributes are a
# JSON string on each record, so a city is a text search): what evaluating definitions by
# compiling them to Cypher would cost per preview.
CYPHER = {
    "leaf: one city": """
        MATCH (p:Person {status: 'active'})<-[:PART_OF]-(r:Record)
        WHERE r.attributes CONTAINS '"city": "上海"' OR r.attributes CONTAINS '"city":"上海"'
        RETURN count(DISTINCT p) AS n""",
    "and: owners of an old car seen lately": """
        MATCH (p:Person {status: 'active'})<-[:PART_OF]-(:Record)
              -[m:MENTIONS {relation: 'OWNER'}]->(v:Vehicle)
        WHERE m.until IS NULL AND v.model_year <= $year - 3
          AND EXISTS { (p)<-[:PART_OF]-(s:Record)
                       WHERE s.observed_at >= datetime() - duration({days: 720}) }
        RETURN count(DISTINCT p) AS n""",
}


def with_consent(src: Path, dst: Path, seed: int) -> None:
    """The generated records, one in three of the app, WeChat and CRM stating marketing
    consent (given four times in five)."""
    rng = random.Random(seed)
    with src.open(encoding="utf-8") as inp, dst.open("w", encoding="utf-8") as out:
        for line in inp:
            record = json.loads(line)
            if record.get("source") in ("app", "wechat_oa", "wechat_mp", "crm") \
                    and rng.random() < 1 / 3:
                record.setdefault("attributes", {})["consent_marketing"] = \
                    "true" if rng.random() < 0.8 else "false"
            out.write(json.dumps(record, ensure_ascii=False) + "\n")


def rss_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--records", type=int, default=1_000_000)
    parser.add_argument("--repeat", type=int, default=30)
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument("--heap", default="3g")
    parser.add_argument("--pagecache", default="2g")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="idgraph-audience-") as tmp, ExitStack() as stack:
        work = Path(tmp)
        raw, data = work / "raw.jsonl", work / "records.jsonl"
        generate(args.records, raw, None, args.seed)
        with_consent(raw, data, args.seed)
        raw.unlink()
        os.environ.update({"IDGRAPH_NEO4J_HOME": str(work / "neo4j"),
                           "IDGRAPH_NEO4J_BOLT_PORT": str(free_port()),
                           "IDGRAPH_NEO4J_HEAP": args.heap,
                           "IDGRAPH_NEO4J_PAGECACHE": args.pagecache,
                           "IDGRAPH_LOG_LEVEL": "warning"})
        os.environ.pop("IDGRAPH_NEO4J_URI", None)
        started = time.perf_counter()
        subprocess.run([PYTHON, "-m", "idgraph.cli", "backfill", str(data),
                        "--dead-letters", str(work / "dead.jsonl")], cwd=ROOT, check=True,
                       stdout=subprocess.DEVNULL)
        load = time.perf_counter() - started
        settings = Settings()
        store = open_store(settings, stack)
        engine = build_engine(settings.model_copy(update={
            "audience_max_age_seconds": 1e9}), store)
        stack.callback(engine.close)
        audiences = engine.audiences
        before = rss_mb()
        started = time.perf_counter()
        index = audiences.index()
        build = time.perf_counter() - started
        people = len(index)
        print(f"{args.records:,} records loaded in {load:.0f} s; index of {people:,} people "
              f"built in {build:.1f} s (RSS {before:.0f} -> {rss_mb():.0f} MB)", flush=True)
        running = build_server(engine, "127.0.0.1:0", workers=8)
        stack.callback(running.stop, 1)
        client = stack.enter_context(Client(f"127.0.0.1:{running.port}", timeout=600))
        rows = []
        for name, definition in DEFINITIONS.items():
            text = json.dumps(definition, ensure_ascii=False)
            for _ in range(3):
                audiences.preview(text, 10)
            local, remote = [], []
            size = 0
            for _ in range(args.repeat):
                t = time.perf_counter()
                size = audiences.preview(text, 10).size
                local.append(time.perf_counter() - t)
                t = time.perf_counter()
                client.audiences.PreviewAudience(apb.PreviewAudienceRequest(
                    definition=text, sample_size=10), timeout=60)
                remote.append(time.perf_counter() - t)
            cypher = ""
            if name in CYPHER:
                t = time.perf_counter()
                n = store.run_cypher(CYPHER[name], year=time.gmtime().tm_year)[0]["n"]
                cypher = f"{(time.perf_counter() - t) * 1000:.0f} ms ({n:,})"
            rows.append((name, size, percentile(local, 0.5), percentile(local, 0.99),
                         percentile(remote, 0.5), percentile(remote, 0.99), cypher))
            print(f"  {name}: {size:,}", flush=True)
        export = {"attribute": {"name": "city", "in": ["上海", "北京", "广州", "深圳"]}}
        audiences.save("bench-export", json.dumps(export, ensure_ascii=False), "bench", "",
                       "bench")
        exports = []  # the first reads a cold page cache
        for _ in range(3):
            started = time.perf_counter()
            sent = values = 0
            summary = apb.ExportSummary()
            for response in client.audiences.ExportAudience(apb.ExportAudienceRequest(
                    name="bench-export", identifiers=["mobile", "imei", "idfa", "oaid"],
                    hashes=[apb.HASH_ALGORITHM_MD5, apb.HASH_ALGORITHM_SHA256]),
                    timeout=3600):
                sent += len(response.people)
                values += sum(len(p.identifiers) for p in response.people)
                if response.HasField("summary"):
                    summary = response.summary
            exports.append(time.perf_counter() - started)
        members = summary.members
        # Writes after the index was built: what the next preview pays to catch up.
        audiences.max_age_seconds = 0
        extra = work / "extra.jsonl"
        generate(1000, extra, None, args.seed + 1)
        subprocess.run([PYTHON, "-m", "idgraph.cli", "backfill", str(extra), "--transactional",
                        "--dead-letters", str(work / "dead2.jsonl")], cwd=ROOT, check=True,
                       stdout=subprocess.DEVNULL,
                       env=dict(os.environ, IDGRAPH_NEO4J_URI="bolt://127.0.0.1:"
                                + os.environ["IDGRAPH_NEO4J_BOLT_PORT"]))
        started = time.perf_counter()
        audiences.preview(json.dumps(DEFINITIONS["leaf: one city"], ensure_ascii=False), 10)
        catch_up = time.perf_counter() - started
    cores = os.cpu_count()
    print(f"\nAudiences on {args.records:,} records ({people:,} people), {cores} cores, "
          "Neo4j on the same machine\n")
    print(f"index build: {build:.1f} s ({people / build:,.0f} people/s); catch-up after "
          f"1,000 new records: {catch_up * 1000:.0f} ms\n")
    print("| definition | members | engine p50 ms | engine p99 ms | gRPC p50 ms | gRPC p99 ms "
          "| hand-written Cypher, once |")
    print("|---|---|---|---|---|---|---|")
    for name, size, lp50, lp99, rp50, rp99, cypher in rows:
        print(f"| {name} | {size:,} | {lp50 * 1000:.1f} | {lp99 * 1000:.1f} | "
              f"{rp50 * 1000:.1f} | {rp99 * 1000:.1f} | {cypher or '-'} |")
    excluded = ", ".join(f"{k} {v:,}" for k, v in sorted(summary.excluded.items()))
    print(f"\nexport over gRPC: {members:,} members, {sent:,} people sent ({values:,} "
          f"hashed values); left out: {excluded}")
    for n, took in enumerate(exports, 1):
        print(f"  export {n}: {took:.1f} s = {members / took:,.0f} members/s, "
              f"{sent / took:,.0f} people sent/s")
    print(f"peak RSS of this process (engine + server + client): {rss_mb():.0f} MB; median "
          f"preview {statistics.median(r[2] for r in rows) * 1000:.1f} ms")


if __name__ == "__main__":
    main()
