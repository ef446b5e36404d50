"""Soak: a mixed workload against a large graph for minutes on end, through the real server.

Loads generated records (bench/datagen.py: households, shared and placeholder phones,
several sources per person) into a fresh local Neo4j with the initial load, starts
`idgraph serve` on it as its own process, and runs `--clients` client threads for
`--minutes`: 35 % Resolve, 35 % GetProfile, 25 % Ingest (new records, 30 % of them about
someone seen before), 5 % steward reads (ListReviewTasks, GetHistory). Each minute it
prints calls per second and p50 / p99 per method, errors by code, and the RSS of the server
and of Neo4j (the server's must not grow after warm-up). Then ghz, an independent Go
client, measures Resolve through server reflection.

    .venv/bin/python bench/soak.py [--records 520000] [--minutes 10] [--clients 32]
"""

from __future__ import annotations

import argparse
import json
import os
import random
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from collections import Counter, defaultdict
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "bench"))

from datagen import write as generate  # noqa: E402
from ingest_bench import GHZ_VERSION, RecordFactory, ghz_binary  # noqa: E402

from bench.common import percentile  # noqa: E402
from idgraph.client import Client, IdgraphError  # noqa: E402
from idgraph.localdb import free_port  # noqa: E402
from idgraph.store.neo4j_store import Neo4jStore  # noqa: E402
from idgraph.v1 import identity_pb2 as pb  # noqa: E402

MIX = (("Resolve", 35), ("GetProfile", 35), ("Ingest", 25), ("ListReviewTasks", 2),
       ("GetHistory", 3))


def rss_mb(pid: int) -> float:
    """Resident memory of a process, MB (0 when it is gone)."""
    try:
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) / 1024
    except OSError:
        pass
    return 0.0


def java_pid(home: Path) -> int:
    """The Neo4j JVM of a home directory (its command line names it)."""
    found = subprocess.run(["pgrep", "-f", f"home-dir={home.resolve()}"], capture_output=True,
                           text=True).stdout.split()
    return int(found[0]) if found else 0


class Stats:
    """Per-minute latencies and errors per method."""

    def __init__(self) -> None:
        self.lock = threading.Lock()
        self.latency: dict[str, list[float]] = defaultdict(list)
        self.errors: Counter[tuple[str, str]] = Counter()

    def add(self, method: str, ms: float, error: str | None) -> None:
        with self.lock:
            if error is None:
                self.latency[method].append(ms)
            else:
                self.errors[(method, error)] += 1

    def take(self) -> tuple[dict[str, list[float]], Counter[tuple[str, str]]]:
        with self.lock:
            latency, errors = self.latency, self.errors
            self.latency, self.errors = defaultdict(list), Counter()
        return latency, errors


def load(records: int, work: Path, bolt: int) -> tuple[Path, dict[str, str]]:
    data = work / "records.jsonl"
    started = time.perf_counter()
    generate(records, data, seed=11)
    env = {**os.environ, "IDGRAPH_NEO4J_URI": "", "IDGRAPH_NEO4J_HOME": str(work / "neo4j"),
           "IDGRAPH_NEO4J_BOLT_PORT": str(bolt), "IDGRAPH_NEO4J_HEAP": "2g",
           "IDGRAPH_NEO4J_PAGECACHE": "1g", "IDGRAPH_LOG_LEVEL": "WARNING"}
    out = subprocess.run([sys.executable, "-m", "idgraph.cli", "backfill", str(data),
                          "--dead-letters", str(work / "dead.jsonl")], cwd=ROOT, env=env,
                         capture_output=True, text=True)
    if out.returncode != 0:
        raise SystemExit(out.stdout + out.stderr)
    print(f"loaded {records:,} records in {time.perf_counter() - started:.0f} s "
          "(generate + initial load)", flush=True)
    return data, env


LOOKUP = ("MATCH (i:Identifier) WHERE i.type IN ['phone', 'email', 'crm_id', 'app_user_id', "
          "'wechat_openid'] WITH i SKIP $skip LIMIT $n "
          "RETURN i.type AS type, i.value AS value, coalesce(i.scope, '') AS scope")


def probes(store: Neo4jStore, n: int, rng: random.Random) -> list[list[pb.Identifier]]:
    """Stored identifier values, as a caller would look them up."""
    total = store.run_cypher("MATCH (i:Identifier) RETURN count(i) AS n")[0]["n"]
    rows = store.run_cypher(LOOKUP, skip=rng.randrange(max(1, total - 4 * n)), n=4 * n)
    found = [[pb.Identifier(type=r["type"], value=r["value"], scope=r["scope"])] for r in rows]
    return rng.sample(found, min(n, len(found)))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--records", type=int, default=520_000)  # about 200,000 people
    parser.add_argument("--minutes", type=float, default=10)
    parser.add_argument("--clients", type=int, default=32)
    parser.add_argument("--ghz-requests", type=int, default=20_000)
    args = parser.parse_args()
    rng = random.Random(5)
    with tempfile.TemporaryDirectory(prefix="idgraph-soak-") as tmp:
        work = Path(tmp)
        bolt, port = free_port(), free_port()
        _, env = load(args.records, work, bolt)
        env.update({"IDGRAPH_GRPC_ADDR": f"127.0.0.1:{port}", "IDGRAPH_GRPC_WORKERS": "64"})
        with (work / "serve.log").open("wb") as log:
            server = subprocess.Popen([sys.executable, "-m", "idgraph.cli", "serve"], cwd=ROOT,
                                      env=env, stdout=log, stderr=subprocess.STDOUT)
        target = f"127.0.0.1:{port}"
        try:
            with Client(target) as client:
                client.wait_ready(240)
            store = Neo4jStore(f"bolt://127.0.0.1:{bolt}", "neo4j", "")
            people = store.run_cypher("MATCH (p:Person {status: 'active'}) RETURN count(p) AS n"
                                      )[0]["n"]
            one_ids = [r["one_id"] for r in store.run_cypher(
                "MATCH (p:Person {status: 'active'}) WITH p SKIP $skip LIMIT 20000 "
                "RETURN p.one_id AS one_id", skip=rng.randrange(max(1, people - 20000)))]
            lookups = probes(store, 20_000, rng)
            store.close()
            print(f"graph: {people:,} people; {args.clients} clients for {args.minutes:g} "
                  f"minutes on {os.cpu_count()} cores (server, Neo4j and clients on one "
                  "machine)", flush=True)
            run(target, server.pid, java_pid(work / "neo4j"), one_ids, lookups, args)
            print(f"\nghz {GHZ_VERSION} (server reflection), Resolve:", flush=True)
            print(ghz_resolve(target, lookups, args.ghz_requests, work), flush=True)
        finally:
            server.terminate()
            server.wait(60)


def run(target: str, server_pid: int, neo4j_pid: int, one_ids: list[str],
        lookups: list[list[pb.Identifier]], args: argparse.Namespace) -> None:
    stats, stop = Stats(), threading.Event()
    methods = [m for m, weight in MIX for _ in range(weight)]

    def work(index: int) -> None:
        rng, factory = random.Random(index), RecordFactory(1000 + index)
        with Client(target, timeout=30, retries=0) as client:
            while not stop.is_set():
                method = rng.choice(methods)
                started, error = time.perf_counter(), None
                try:
                    if method == "Resolve":
                        client.resolve(identifiers=rng.choice(lookups))
                    elif method == "GetProfile":
                        client.get_profile(one_id=rng.choice(one_ids))
                    elif method == "Ingest":
                        record = factory.record()
                        record.source_record_id = f"soak-{index}-{record.source_record_id}"
                        client.ingest(record)
                    elif method == "ListReviewTasks":
                        client.list_review_tasks(page_size=20)
                    else:
                        client.get_history(one_id=rng.choice(one_ids))
                except IdgraphError as failure:
                    error = failure.code.name
                stats.add(method, (time.perf_counter() - started) * 1000, error)

    threads = [threading.Thread(target=work, args=(i,), daemon=True)
               for i in range(args.clients)]
    for thread in threads:
        thread.start()
    names = [m for m, _ in MIX]
    print("\n| minute | " + " | ".join(f"{m} /s, p50, p99 ms" for m in names)
          + " | errors | server RSS MB | Neo4j RSS MB |")
    print("|---|" + "---|" * (len(names) + 3))
    rss: list[float] = []
    try:
        for minute in range(1, int(args.minutes) + 1):
            time.sleep(60)
            latency, errors = stats.take()
            rss.append(rss_mb(server_pid))
            cells = [f"{len(latency[m]) / 60:.1f}, {statistics.median(latency[m]):.1f}, "
                     f"{percentile(latency[m], 0.99):.1f}" if latency[m] else "0"
                     for m in names]
            shown = ", ".join(f"{m} {c}: {n}" for (m, c), n in sorted(errors.items())) or "0"
            print(f"| {minute} | " + " | ".join(cells) + f" | {shown} | {rss[-1]:.0f} | "
                  f"{rss_mb(neo4j_pid):.0f} |", flush=True)
    finally:
        stop.set()
        for thread in threads:
            thread.join(60)
    if len(rss) >= 3:
        print(f"\nserver RSS after warm-up (minute 2 to the last): {rss[1]:.0f} -> "
              f"{rss[-1]:.0f} MB ({rss[-1] - rss[1]:+.0f} MB)")


def ghz_resolve(target: str, lookups: list[list[pb.Identifier]], n: int, work: Path) -> str:
    requests = [{"identifiers": [{"type": i.type, "value": i.value, "scope": i.scope}
                                 for i in ids]} for ids in lookups[:n]]
    data = work / "resolve.json"
    data.write_text(json.dumps(requests, ensure_ascii=False), encoding="utf-8")
    rows = []
    for clients in (1, 8, 32):
        result = subprocess.run(
            [ghz_binary(), "--insecure", "--call", "idgraph.v1.IdentityService.Resolve",
             "--data-file", str(data), "-c", str(clients), "--connections",
             str(min(clients, 8)), "-n", str(len(requests)), "-t", "30s", "--format", "json",
             "--cpus", "1", target], capture_output=True, text=True)
        if result.returncode != 0:
            return f"ghz failed: {result.stderr.strip()}"
        report = json.loads(result.stdout)
        latency = {int(d["percentage"]): d["latency"] / 1e6
                   for d in report.get("latencyDistribution") or []}
        codes = report.get("statusCodeDistribution") or {}
        rows.append(f"| {clients} | {report['count']:,} | {report['rps']:.0f} | "
                    f"{latency.get(50, 0):.1f} | {latency.get(99, 0):.1f} | {codes} |")
    header = "| clients | calls | per second | p50 ms | p99 ms | codes |\n" + "|---" * 6 + "|\n"
    return header + "\n".join(rows)


if __name__ == "__main__":
    main()
