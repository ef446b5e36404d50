"""Ingest / Resolve / BatchIngest benchmark against the real service.

Starts `server.py` as a user would (with its own local Neo4j unless IDGRAPH_NEO4J_URI is
set), generates records with realistic overlap (several sources per person, shared phones,
placeholders) and prints a table of throughput and latency.

The client is Python threads by default. With --client ghz it is ghz (an independent Go
load generator, as issue 17's figures were taken; installed with `go install` into
.tools/bin on first use), which costs the shared cores far less: Ingest at each --clients,
Resolve at 1 and 8 clients and GetProfile (by phone) at 8, each call a different record.

    .venv/bin/python bench/ingest_bench.py [--records 3000] [--clients 1 8 32] [--client ghz]
"""

from __future__ import annotations

import argparse
import json
import os
import random
import shutil
import signal
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from google.protobuf.json_format import MessageToDict  # noqa: E402

from idgraph.client import Client  # noqa: E402
from idgraph.localdb import free_port  # noqa: E402
from idgraph.v1 import identity_pb2 as pb  # noqa: E402

SURNAMES = "王李张刘陈杨黄赵吴周徐孙马朱胡郭何高林罗"
GIVEN = "伟芳娜敏静丽强磊军洋勇艳杰娟涛明超秀霞平刚桂英华"
SOURCES = ("crm", "app", "wechat", "dms", "media", "test_drive", "service")


class RecordFactory:
    """People with 1-2 phones, an email and a CRM id; each record shows a few of them."""

    def __init__(self, seed: int) -> None:
        self.rng = random.Random(seed)
        self.people: list[dict[str, object]] = []
        self.serial = 0

    def _person(self) -> dict[str, object]:
        n = len(self.people)
        person = {
            "phones": [f"1{self.rng.choice('3456789')}{self.rng.randrange(10**9):09d}"
                       for _ in range(self.rng.choice((1, 1, 2)))],
            "email": f"user{n}@{self.rng.choice(('163.com', 'qq.com', 'gmail.com'))}",
            "crm": f"CRM{n:08d}",
            "name": self.rng.choice(SURNAMES) + self.rng.choice(GIVEN),
        }
        self.people.append(person)
        return person

    def record(self) -> pb.SourceRecord:
        """70% of records belong to a new person, 30% to someone seen before."""
        self.serial += 1
        person = self._person() if not self.people or self.rng.random() < 0.7 else \
            self.rng.choice(self.people)
        ids = [pb.Identifier(type="phone", value=self.rng.choice(person["phones"]))]  # type: ignore[arg-type]
        if self.rng.random() < 0.4:
            ids.append(pb.Identifier(type="email", value=str(person["email"])))
        if self.rng.random() < 0.3:
            ids.append(pb.Identifier(type="crm_id", value=str(person["crm"])))
        if self.rng.random() < 0.02:
            ids = [pb.Identifier(type="phone", value="13800138000")]  # placeholder
        return pb.SourceRecord(source=self.rng.choice(SOURCES),
                               source_record_id=f"bench-{self.serial}",
                               identifiers=ids, attributes={"name": str(person["name"])})


@dataclass
class Row:
    name: str
    count: int
    seconds: float
    latencies_ms: list[float]

    fixed: tuple[float, float] | None = None  # (p50, p99) ms measured elsewhere (ghz)

    def cells(self) -> list[str]:
        if self.fixed is not None:
            return [self.name, str(self.count), f"{self.count / self.seconds:,.0f}",
                    f"{self.fixed[0]:.1f}", f"{self.fixed[1]:.1f}"]
        lat = sorted(self.latencies_ms)
        p50 = statistics.median(lat) if lat else 0.0
        p99 = lat[min(len(lat) - 1, int(len(lat) * 0.99))] if lat else 0.0
        return [self.name, str(self.count), f"{self.count / self.seconds:,.0f}",
                f"{p50:.1f}" if lat else "-", f"{p99:.1f}" if lat else "-"]


def run_clients(target: str, records: list[pb.SourceRecord], clients: int, call: str) -> Row:
    latencies: list[float] = []
    lock = threading.Lock()
    chunks = [records[i::clients] for i in range(clients)]
    connections = [Client(target, timeout=30) for _ in range(clients)]

    def work(index: int) -> None:
        client = connections[index]
        local = []
        for record in chunks[index]:
            started = time.perf_counter()
            if call == "ingest":
                client.ingest(record)
            else:
                client.resolve(identifiers=record.identifiers, attributes=record.attributes)
            local.append((time.perf_counter() - started) * 1000)
        with lock:
            latencies.extend(local)

    started = time.perf_counter()
    with ThreadPoolExecutor(max_workers=clients) as pool:
        list(pool.map(work, range(clients)))
    elapsed = time.perf_counter() - started
    for client in connections:
        client.close()
    label = "Ingest" if call == "ingest" else "Resolve"
    return Row(f"{label}, {clients} client{'s' if clients > 1 else ''}", len(records), elapsed,
               latencies)


GHZ_VERSION = "v0.120.0"


def ghz_binary() -> str:
    """ghz from PATH, or built once into .tools/bin from the Go module proxy."""
    found = shutil.which("ghz") or shutil.which("ghz", path=str(ROOT / ".tools" / "bin"))
    if found:
        return found
    print(f"  installing ghz {GHZ_VERSION} (go install)", file=sys.stderr)
    subprocess.run(["go", "install", f"github.com/bojand/ghz/cmd/ghz@{GHZ_VERSION}"],
                   check=True, env={**os.environ, "GOBIN": str(ROOT / ".tools" / "bin")})
    return str(ROOT / ".tools" / "bin" / "ghz")


def run_ghz(target: str, method: str, requests: list[dict[str, object]], clients: int,
            label: str, workdir: Path) -> Row:
    """One phase through ghz (each call the next request of the list). The protos are read
    from proto/ as any client reads them (google/rpc vendored there; the well-known types
    are built into ghz)."""
    data = workdir / f"{method}-{clients}.json"
    data.write_text(json.dumps(requests, ensure_ascii=False), encoding="utf-8")
    result = subprocess.run(
        [ghz_binary(), "--insecure", "--proto", str(ROOT / "proto/idgraph/v1/identity.proto"),
         "--import-paths", str(ROOT / "proto"),
         "--call", f"idgraph.v1.IdentityService.{method}",
         "--data-file", str(data), "-c", str(clients), "--connections", str(min(clients, 8)),
         "-n", str(len(requests)), "-t", "30s", "--format", "json", "--cpus", "1", target],
        capture_output=True, text=True)
    if result.returncode != 0:
        raise SystemExit(f"ghz failed: {result.stderr.strip()}")
    report = json.loads(result.stdout)
    errors = {k: v for k, v in (report.get("statusCodeDistribution") or {}).items() if k != "OK"}
    if errors:
        print(f"  {label}: {errors}", file=sys.stderr)
    latency = {int(d["percentage"]): d["latency"] / 1e6
               for d in report.get("latencyDistribution") or []}
    row = Row(label, report["count"], report["total"] / 1e9, [])
    row.fixed = (latency.get(50, 0.0), latency.get(99, 0.0))
    return row


def ghz_phases(target: str, factory: RecordFactory, args: argparse.Namespace,
               workdir: Path) -> list[Row]:
    rows = []
    ingested: list[dict[str, object]] = []
    for clients in args.clients:
        records = [MessageToDict(factory.record(), preserving_proto_field_name=True)
                   for _ in range(args.records)]
        ingested += records
        rows.append(run_ghz(target, "Ingest", [{"record": r} for r in records], clients,
                            f"Ingest, {clients} client{'s' if clients > 1 else ''} (ghz)",
                            workdir))
    probes = [MessageToDict(factory.record(), preserving_proto_field_name=True)
              for _ in range(args.resolves)]
    resolves = [{"identifiers": p["identifiers"], "attributes": p.get("attributes", {})}
                for p in probes]
    rows.append(run_ghz(target, "Resolve", resolves, 1, "Resolve, 1 client (ghz)", workdir))
    rows.append(run_ghz(target, "Resolve", resolves, 8, "Resolve, 8 clients (ghz)", workdir))
    phones = [{"identifier": r["identifiers"][0]}  # type: ignore[index]
              for r in ingested[: args.resolves]]
    rows.append(run_ghz(target, "GetProfile", phones, 8, "GetProfile, 8 clients (ghz)",
                        workdir))
    return rows


def run_batch(target: str, records: list[pb.SourceRecord]) -> Row:
    with Client(target, timeout=600) as client:
        started = time.perf_counter()
        answers = list(client.batch_ingest(pb.IngestRequest(record=r) for r in records))
        elapsed = time.perf_counter() - started
    errors = sum(1 for a in answers if a.HasField("error"))
    if errors:
        print(f"  BatchIngest: {errors} errors", file=sys.stderr)
    return Row("BatchIngest, 1 stream", len(records), elapsed, [])


@dataclass
class Service:
    process: subprocess.Popen[bytes]
    target: str
    neo4j_uri: str


def start_service(workdir: Path) -> Service:
    port = free_port()
    env = {**os.environ, "IDGRAPH_GRPC_ADDR": f"127.0.0.1:{port}", "IDGRAPH_LOG_LEVEL": "WARNING"}
    neo4j_uri = os.environ.get("IDGRAPH_NEO4J_URI", "")
    if not neo4j_uri:
        bolt = free_port()
        neo4j_uri = f"bolt://127.0.0.1:{bolt}"
        env.update({"IDGRAPH_NEO4J_HOME": str(workdir / "neo4j"),
                    "IDGRAPH_NEO4J_BOLT_PORT": str(bolt),
                    "IDGRAPH_NEO4J_LIB": str(ROOT / ".neo4j" / "lib")})
    log = (workdir / "server.log").open("wb")
    process = subprocess.Popen([sys.executable, str(ROOT / "server.py")], cwd=ROOT, env=env,
                               stdout=log, stderr=subprocess.STDOUT)
    target = f"127.0.0.1:{port}"
    deadline = time.monotonic() + 180
    with Client(target) as client:
        while time.monotonic() < deadline:
            if process.poll() is not None:
                raise SystemExit((workdir / "server.log").read_text())
            try:
                client.wait_ready(timeout=2)
                return Service(process, target, neo4j_uri)
            except TimeoutError:
                continue
    raise SystemExit("service did not start")


def warm_up(target: str, factory: RecordFactory, seconds: float) -> None:
    """Let the JVM's JIT compile Neo4j's hot paths before anything is measured."""
    deadline = time.monotonic() + seconds
    rounds = 0
    while time.monotonic() < deadline:
        records = [factory.record() for _ in range(400)]
        run_clients(target, records, 8, "ingest")
        run_clients(target, records[:200], 8, "resolve")
        rounds += 1
    print(f"  warm-up: {rounds} rounds of 400 ingests + 200 resolves", file=sys.stderr)


def batches(factory: RecordFactory, n: int) -> Iterator[pb.SourceRecord]:
    for _ in range(n):
        yield factory.record()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--records", type=int, default=3000, help="records per ingest phase")
    parser.add_argument("--clients", type=int, nargs="+", default=[1, 8, 32])
    parser.add_argument("--resolves", type=int, default=3000)
    parser.add_argument("--batch", type=int, default=5000)
    parser.add_argument("--warmup", type=float, default=150.0,
                        help="seconds of load before measuring (JIT warm-up of Neo4j)")
    parser.add_argument("--client", choices=("python", "ghz"), default="python",
                        help="the load generator: Python threads, or ghz (Go)")
    args = parser.parse_args()
    factory = RecordFactory(seed=7)
    with tempfile.TemporaryDirectory(prefix="idgraph-bench-") as tmp:
        service = start_service(Path(tmp))
        try:
            warm_up(service.target, factory, args.warmup)
            rows = []
            if args.client == "ghz":
                rows = ghz_phases(service.target, factory, args, Path(tmp))
                rows.append(run_batch(service.target, list(batches(factory, args.batch))))
                args.clients = []  # done
            for clients in args.clients:
                records = list(batches(factory, args.records))
                rows.append(run_clients(service.target, records, clients, "ingest"))
            if args.client == "python":
                probes = [factory.record() for _ in range(args.resolves)]
                rows.append(run_clients(service.target, probes, 1, "resolve"))
                rows.append(run_clients(service.target, probes, 8, "resolve"))
                rows.append(run_batch(service.target, list(batches(factory, args.batch))))
        finally:
            service.process.send_signal(signal.SIGTERM)
            service.process.wait(60)
    header = ["operation", "calls", "per second", "p50 ms", "p99 ms"]
    table = [header] + [r.cells() for r in rows]
    widths = [max(len(line[i]) for line in table) for i in range(len(header))]
    from idgraph.compiled import compiled_modules

    core = "compiled core" if compiled_modules() else "interpreted core"
    print(f"\nidgraph ingest benchmark ({os.cpu_count()} cores, Neo4j and the {args.client} "
          f"client on the same machine; {core})")
    for index, line in enumerate(table):
        print("  ".join(cell.rjust(w) if i else cell.ljust(w)
                        for i, (cell, w) in enumerate(zip(line, widths, strict=True))))
        if index == 0:
            print("  ".join("-" * w for w in widths))


if __name__ == "__main__":
    main()
