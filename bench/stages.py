"""Per-record CPU of idgraph's resolution stages, in one process, without Neo4j.

Generates records (bench/datagen.py, not timed), then times each stage over all of them
and prints a table in microseconds per record:

- parse: ``json.loads`` of a JSON Lines row;
- convert: the dict to a ``RawRecord`` (``record_from_json``: enum names, dates, zones);
- prepare: validation and normalization (``prepare_record``: identifiers, names, blocking
  keys, fingerprint);
- decide: the whole file resolved in one in-memory view (``WorkingSet``: candidates,
  scoring, decision, merges, re-evaluation), as the initial load resolves a partition.

This is the profile issue 17 asks for before and after the hot path is compiled. The core
runs compiled when ``make`` built it (``make pure`` removes the build: the same source runs
interpreted); the cycle collector is paused as the initial load pauses it (``--gc`` keeps it
on, as before issue 17).

    .venv/bin/python bench/stages.py --records 100000 [--gc] [--profile decide]
"""

from __future__ import annotations

import argparse
import contextlib
import cProfile
import itertools
import json
import os
import pstats
import sys
import tempfile
import time
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from bench.datagen import write as generate  # noqa: E402
from idgraph.bulk_load import collector_paused  # noqa: E402
from idgraph.compiled import compiled_modules  # noqa: E402
from idgraph.domain.records import Limits, PreparedRecord, prepare_record  # noqa: E402
from idgraph.domain.rules import load_rules  # noqa: E402
from idgraph.domain.working_set import WorkingSet  # noqa: E402
from idgraph.errors import InvalidInput  # noqa: E402
from idgraph.record_json import DEFAULT_ZONE, record_from_json  # noqa: E402

STAGES = ("parse", "convert", "prepare", "decide")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--records", type=int, nargs="+", default=[100_000])
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument("--profile", choices=STAGES,
                        help="also print the 30 costliest functions of one stage")
    parser.add_argument("--gc", action="store_true",
                        help="keep the cycle collector running (the initial load pauses it)")
    args = parser.parse_args()
    compiled = compiled_modules()
    core = f"compiled core ({len(compiled)} modules, mypyc)" if compiled else "interpreted core"
    collector = "collector on" if args.gc else "collector paused"
    print(f"{os.cpu_count()} cores; {core}; {collector}; microseconds of CPU per record, "
          "one process")
    print("| records | " + " | ".join(STAGES) + " | total | records/s |")
    print("|---" * (len(STAGES) + 3) + "|")
    for n in args.records:
        with tempfile.TemporaryDirectory() as tmp:
            path = Path(tmp) / "records.jsonl"
            generate(n, path, seed=args.seed)
            lines = path.read_bytes().splitlines()
            with contextlib.nullcontext() if args.gc else collector_paused():
                times = run(lines, args.profile)
        total = sum(times.values())
        cells = " | ".join(f"{times[s] / n * 1e6:.1f}" for s in STAGES)
        print(f"| {n:,} | {cells} | {total / n * 1e6:.1f} | {n / total:,.0f} |")


def run(lines: list[bytes], profile: str | None) -> dict[str, float]:
    rules = load_rules(None)
    now = datetime.now(UTC)
    times: dict[str, float] = {}

    def timed(stage: str, work: Callable[[], Any]) -> Any:
        profiler = cProfile.Profile() if stage == profile else None
        started = time.process_time()
        if profiler:
            profiler.enable()
        result = work()
        if profiler:
            profiler.disable()
        times[stage] = time.process_time() - started
        if profiler:
            pstats.Stats(profiler).sort_stats("tottime").print_stats(30)
        return result

    rows = timed("parse", lambda: [json.loads(line) for line in lines])
    raws = timed("convert", lambda: [record_from_json(row, DEFAULT_ZONE) for row in rows])

    def prepare_all() -> list[PreparedRecord]:
        prepared = []
        for raw in raws:
            # a dead letter: the generator writes a few structurally broken rows
            with contextlib.suppress(InvalidInput):
                prepared.append(prepare_record(raw, rules, Limits(), b"bench", now,
                                               lenient=True))
        return prepared

    records = timed("prepare", prepare_all)
    counter = itertools.count()

    def decide_all() -> None:
        view = WorkingSet(rules, {}, {}, [], lambda: f"oid{next(counter):012d}",
                          lambda: f"event{next(counter)}", now)
        for record in records:
            view.ingest(record)
        view.finished_plan()

    timed("decide", decide_all)
    return times


if __name__ == "__main__":
    main()
