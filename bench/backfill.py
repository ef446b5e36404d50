"""Backfill benchmark: `idgraph backfill` end to end on generated records.

For each N it generates N realistic records (bench/datagen.py: households, vehicles, several
sources per person, dirty data; not timed) and runs `idgraph backfill` as its own process as
a user would, on each path asked for:

- bulk: the initial load into an empty local graph (a fresh Neo4j home): resolve in memory,
  write CSV, neo4j-admin import, start Neo4j with its schema (records in, serving graph out);
- transactions: `--transactional` into a fresh local Neo4j (unless IDGRAPH_NEO4J_URI is set:
  that graph should be empty).

It prints a table per path: records per second end to end, the peak memory (max RSS: the
largest single process among the backfill and its children, worker processes and the
neo4j-admin and Neo4j JVMs on the bulk path), CPU seconds, and where the time went. With
--evaluate it also scores the clusters against the truth.

With --into N, the transactional path runs into a graph that already holds N records: N + M
records are generated in one run (so the two parts share households, consultants and dealer
phones as a later export would), the first N go in through the initial load, then the last
M through `--transactional` into that graph (the issue's incremental load).

With --vs-splink, the same records then go through Splink 5 (DuckDB, trained as its docs
recommend, predict + cluster: bench/splink_load.py) as its own process, and a table
compares the two: wall time (records in to clusters out; idgraph's includes writing and
starting the serving graph), records/s, peak RSS and the ratio.

    .venv/bin/python bench/backfill.py --records 100000 1000000 [--path bulk transactions]
        [--batch 2000] [--workers N] [--evaluate] [--vs-splink] [--into 1000000]
"""

from __future__ import annotations

import argparse
import json
import os
import re
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from bench.datagen import write as generate  # noqa: E402
from idgraph.localdb import LocalNeo4j, free_port  # noqa: E402

PYTHON = str(ROOT / ".venv" / "bin" / "python") if (ROOT / ".venv").exists() else sys.executable
STAGES = ("parse+validate", "graph reads", "decide", "graph writes", "commit")
BULK_STAGES = ("parse+validate", "resolve", "CSV", "neo4j-admin import", "start and schema")


@dataclass
class Run:
    path: str
    records: int
    wall: float
    max_rss_mb: float
    cpu: float
    neo4j_cpu: float | None
    summary: str
    stages: dict[str, float]
    quality: str = ""

    @property
    def rate(self) -> float:
        return self.records / self.wall if self.wall else 0.0


def process_cpu(pid: int) -> float:
    """User + system CPU seconds of a running process (Linux /proc)."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def backfill(path: Path, uri: str, work: Path, batch: int, neo4j_pid: int | None,
             bulk: dict[str, str] | None = None, workers: int | None = None) -> Run:
    """`idgraph backfill` as its own process: through transactions into the Neo4j at `uri`,
    or (`bulk`: the local Neo4j's settings) the initial load through neo4j-admin, whose
    JVMs are the backfill's children and count in its CPU and peak memory."""
    env = dict(os.environ, IDGRAPH_LOG_LEVEL="warning")
    if bulk is None:
        env["IDGRAPH_NEO4J_URI"] = uri
    else:
        env.pop("IDGRAPH_NEO4J_URI", None)
        env.update(bulk)
    neo4j_before = process_cpu(neo4j_pid) if neo4j_pid else 0.0
    started = time.perf_counter()
    child = subprocess.Popen(
        [PYTHON, "-m", "idgraph.cli", "backfill", str(path), "--batch", str(batch),
         "--dead-letters", str(work / "dead-letters.jsonl"),
         *(() if bulk else ("--transactional",)),
         *(("--workers", str(workers)) if workers else ())],
        cwd=ROOT, env=env, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True)
    assert child.stdout is not None
    out = child.stdout.read()
    _, status, usage = os.wait4(child.pid, 0)
    wall = time.perf_counter() - started
    child.returncode = os.waitstatus_to_exitcode(status)
    if child.returncode != 0:
        raise SystemExit(f"backfill failed ({child.returncode}):\n{out}")
    neo4j_cpu = process_cpu(neo4j_pid) - neo4j_before if neo4j_pid else None
    rows = int(re.search(r"read (\d+)", out).group(1))  # type: ignore[union-attr]
    stages = {name: float(m.group(1)) for name in (BULK_STAGES if bulk else STAGES)
              if (m := re.search(re.escape(name) + r" ([\d.]+) s", out))}
    summary = next(line for line in out.splitlines() if line.startswith("read "))
    return Run("bulk import" if bulk else "transactions", rows, wall, usage.ru_maxrss / 1024,
               usage.ru_utime + usage.ru_stime, neo4j_cpu, summary, stages)


def splink(path: Path, truth: Path | None) -> Run:
    """bench/splink_load.py as its own process: its wall time, peak RSS and scores."""
    started = time.perf_counter()
    child = subprocess.Popen(
        [PYTHON, str(ROOT / "bench" / "splink_load.py"), str(path),
         "--threads", str(os.cpu_count() or 1), *(("--truth", str(truth)) if truth else ())],
        cwd=ROOT, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True)
    assert child.stdout is not None
    out = child.stdout.read()
    _, status, usage = os.wait4(child.pid, 0)
    wall = time.perf_counter() - started
    if os.waitstatus_to_exitcode(status) != 0:
        raise SystemExit(f"Splink failed:\n{out}")
    found = json.loads(out.strip().splitlines()[-1])
    stages = {name: found[f"{name}_s"] for name in ("load", "train", "predict", "cluster")}
    quality = (f"pairwise precision {found['pairwise_precision']:.4f} recall "
               f"{found['pairwise_recall']:.4f} F1 {found['pairwise_f1']:.4f}; clusters "
               f"holding more than one true person {found['impure_clusters']}"
               if "pairwise_f1" in found else "")
    return Run("Splink", found["records"], wall, usage.ru_maxrss / 1024,
               usage.ru_utime + usage.ru_stime, None, f"{found['clusters']} clusters",
               stages, quality)


def evaluate(uri: str, truth: Path, bulk: dict[str, str] | None = None) -> str:
    env = dict(os.environ, IDGRAPH_NEO4J_URI=uri, IDGRAPH_LOG_LEVEL="warning")
    if bulk is not None:
        env.pop("IDGRAPH_NEO4J_URI")
        env.update(bulk)
    out = subprocess.run([PYTHON, "-m", "idgraph.cli", "evaluate", "--truth", str(truth)],
                         cwd=ROOT, env=env, capture_output=True, text=True, check=True).stdout
    pairwise = re.search(r"^pairwise\s+([\d.]+)\s+([\d.]+)\s+([\d.]+)", out, re.M)
    impure = re.search(r"more than one true person: (\d+)", out)
    scores = ("precision {} recall {} F1 {}".format(*pairwise.groups()) if pairwise
              else "?")
    return (f"pairwise {scores}; OneIDs holding more than one true person "
            f"{impure.group(1) if impure else '?'}")


def into(work: Path, base: int, n: int, args: argparse.Namespace) -> Run:
    """Load `base` records through the initial load, then time `n` more through
    transactions into that graph."""
    everything = work / "all.jsonl"
    generate(base + n, everything, None, args.seed)
    first, then = work / "base.jsonl", work / "records.jsonl"
    with everything.open(encoding="utf-8") as rows, first.open("w", encoding="utf-8") as a, \
            then.open("w", encoding="utf-8") as b:
        for index, row in enumerate(rows):
            (a if index < base else b).write(row)
    everything.unlink()
    home = work / "neo4j-bulk"
    bulk = {"IDGRAPH_NEO4J_HOME": str(home), "IDGRAPH_NEO4J_BOLT_PORT": str(free_port()),
            "IDGRAPH_NEO4J_HEAP": args.heap, "IDGRAPH_NEO4J_PAGECACHE": args.pagecache}
    loaded = backfill(first, "", work, args.batch, None, bulk, args.workers)
    print(f"N={base} initial load: {loaded.summary}", flush=True)
    server = LocalNeo4j(home, ROOT / ".neo4j" / "lib", free_port(), heap=args.heap,
                        pagecache=args.pagecache)
    server.start(timeout=180)
    try:
        run = backfill(then, server.uri, work, args.batch,
                       server.process.pid if server.process else None)
    finally:
        server.stop()
    run.path = f"transactions into {base:,}"
    print(f"N={n} into {base}: {run.summary}", flush=True)
    return run


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--records", type=int, nargs="+", default=[100_000, 1_000_000])
    parser.add_argument("--batch", type=int, default=2000)
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument("--evaluate", action="store_true",
                        help="score the clusters against the generator's truth")
    parser.add_argument("--path", choices=("transactions", "bulk"), nargs="+",
                        default=["bulk", "transactions"],
                        help="the initial load through neo4j-admin (a fresh local Neo4j "
                        "home), and/or today's transactional path")
    parser.add_argument("--workers", type=int,
                        help="resolution worker processes of the bulk path (default: cores)")
    parser.add_argument("--vs-splink", action="store_true",
                        help="then run Splink 5 on the same records and compare")
    parser.add_argument("--into", type=int, default=0, metavar="N",
                        help="the transactional path into a graph that already holds N "
                        "records (loaded first through the initial load)")
    parser.add_argument("--heap", default="2g", help="heap of the local Neo4j")
    parser.add_argument("--pagecache", default="1g", help="page cache of the local Neo4j")
    args = parser.parse_args()
    external = os.environ.get("IDGRAPH_NEO4J_URI", "")
    runs = []
    with tempfile.TemporaryDirectory(prefix="idgraph-backfill-") as tmp:
        for n in args.records:
            work = Path(tmp) / f"n{n}"
            work.mkdir()
            data, truth = work / "records.jsonl", work / "truth.csv"
            if args.into:
                runs.append(into(work, args.into, n, args))
                continue
            generate(n, data, truth, args.seed)
            if "bulk" in args.path:
                bulk = {"IDGRAPH_NEO4J_HOME": str(work / "neo4j-bulk"),
                        "IDGRAPH_NEO4J_BOLT_PORT": str(free_port()),
                        "IDGRAPH_NEO4J_HEAP": args.heap,
                        "IDGRAPH_NEO4J_PAGECACHE": args.pagecache}
                run = backfill(data, "", work, args.batch, None, bulk, args.workers)
                if args.evaluate:
                    run.quality = evaluate("", truth, bulk)
                runs.append(run)
                print(f"N={n} bulk: {run.summary}", flush=True)
            if args.vs_splink:
                run = splink(data, truth if args.evaluate else None)
                runs.append(run)
                print(f"N={n} Splink: {run.summary}", flush=True)
            if "transactions" not in args.path:
                continue
            server = None
            if external:
                uri, pid = external, None
            else:
                server = LocalNeo4j(work / "neo4j", ROOT / ".neo4j" / "lib", free_port(),
                                    heap=args.heap, pagecache=args.pagecache)
                server.start(timeout=180)
                uri = server.uri
                pid = server.process.pid if server.process else None
            try:
                run = backfill(data, uri, work, args.batch, pid)
                if args.evaluate:
                    run.quality = evaluate(uri, truth)
            finally:
                if server is not None:
                    server.stop()
            runs.append(run)
            print(f"N={n} transactions: {run.summary}", flush=True)
    cores = os.cpu_count()
    print(f"\nidgraph backfill, Neo4j on the same machine ({cores} cores)")
    for path, stages in (("bulk import", BULK_STAGES), ("transactions", STAGES),
                         (f"transactions into {args.into:,}", STAGES)):
        chosen = [r for r in runs if r.path == path]
        if not chosen:
            continue
        print(f"\n{path}" + (f" (batch {args.batch})" if path.startswith("transactions")
                                else "")
              + "\n")
        print("| records | wall s | records/s | peak RSS MB | backfill CPU s | Neo4j CPU s | "
              + " | ".join(f"{s} s" for s in stages) + " |")
        print("|" + "---|" * (6 + len(stages)))
        for r in chosen:
            neo = f"{r.neo4j_cpu:.0f}" if r.neo4j_cpu is not None else "in backfill"
            print(f"| {r.records:,} | {r.wall:.1f} | {r.rate:,.0f} | {r.max_rss_mb:.0f} | "
                  f"{r.cpu:.0f} | {neo} | "
                  + " | ".join(f"{r.stages.get(s, 0.0):.1f}" for s in stages) + " |")
    theirs = [r for r in runs if r.path == "Splink"]
    if theirs:
        print("\nidgraph's initial load (records in, serving graph out) against Splink 5 "
              "(records in, clusters out)\n")
        print("| records | idgraph s | idgraph records/s | idgraph peak RSS MB | Splink s | "
              "Splink records/s | Splink peak RSS MB | Splink s / idgraph s | Splink load / "
              "train / predict / cluster s |")
        print("|" + "---|" * 9)
        ours = {r.records: r for r in runs if r.path == "bulk import"}
        for r in theirs:
            mine = ours.get(r.records) or next(
                (o for o in ours.values() if abs(o.records - r.records) <= r.records // 50),
                None)
            phases = " / ".join(f"{r.stages[s]:.1f}" for s in ("load", "train", "predict",
                                                               "cluster"))
            if mine is None:
                print(f"| {r.records:,} | - | - | - | {r.wall:.1f} | {r.rate:,.0f} | "
                      f"{r.max_rss_mb:.0f} | - | {phases} |")
                continue
            print(f"| {r.records:,} | {mine.wall:.1f} | {mine.rate:,.0f} | "
                  f"{mine.max_rss_mb:.0f} | {r.wall:.1f} | {r.rate:,.0f} | "
                  f"{r.max_rss_mb:.0f} | {r.wall / mine.wall:.2f} | {phases} |")
    for r in runs:
        if r.quality:
            print(f"N={r.records:,} {r.path}: {r.quality}")

if __name__ == "__main__":
    main()
