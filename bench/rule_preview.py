"""Rule previews on the dev set: wall time, and the preview's predicted changes against what
`apply` then does.

The dev set (default `../shared/data/autocdp-dev/records.jsonl`) is loaded into a real Neo4j
(a local one on a free port, or IDGRAPH_NEO4J_URI, which is wiped) through the batch path in
the file's order, as a transactional backfill does. Then, for the current rules (drift: what
replaying the records in observed order changes by itself) and for each changed rules file
below, in turn on the same graph: preview (read-only), apply, read the clustering back,
and compare the diff apply made with the predicted one (merges made, merges undone, people
affected, records moved, review tasks opened).

    .venv/bin/python bench/rule_preview.py [--data DIR] [--limit N] [--batch 500]
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from bench.common import neo4j  # noqa: E402
from idgraph.domain.rule_preview import RulePreview, cluster_diff  # noqa: E402
from idgraph.domain.rules import DEFAULT_RULES_PATH  # noqa: E402
from idgraph.engine import IdentityEngine  # noqa: E402
from idgraph.engine.rule_changes import RuleChanges, parse_rules  # noqa: E402
from idgraph.record_json import record_from_json  # noqa: E402
from idgraph.store.neo4j_store import Neo4jStore  # noqa: E402

DEFAULT_DATA = ROOT.parent / "shared" / "data" / "autocdp-dev"
WIPE = "MATCH (n) WHERE NOT n:SchemaMigration DETACH DELETE n"
DEFAULT_TOML = DEFAULT_RULES_PATH.read_text(encoding="utf-8")
# Each changed rules file is a text edit of the shipped default.
CHANGES = [
    ("current rules (drift)", []),
    ("link 0.99 -> 0.999999", [("link = 0.99", "link = 0.999999")]),
    ("attributes alone link", [("require_identifier_evidence = true",
                                "require_identifier_evidence = false")]),
    ("phone shared at 2 names", [("hub_threshold = 5\nshared_identities = 3",
                                  "hub_threshold = 5\nshared_identities = 2")]),
    ("back to the default", []),
]


def load(engine: IdentityEngine, path: Path, limit: int, batch: int) -> int:
    """Ingest the file's records in its order, `batch` per transaction."""
    records = []
    with path.open(encoding="utf-8") as handle:
        for line in handle:
            records.append(engine.ingestion.prepare(record_from_json(json.loads(line)),
                                                    lenient=True))
            if limit and len(records) >= limit:
                break
    for start in range(0, len(records), batch):
        engine.ingestion.ingest_batch(records[start:start + batch])
    return len(records)


def mapping(store: Neo4jStore) -> dict[str, str]:
    return {f"{s}|{r}": o for s, r, o in store.mapping()}


def task_keys(store: Neo4jStore) -> set[str]:
    return {r["id"] for r in store.run_cypher("MATCH (t:ReviewTask) RETURN t.task_id AS id")}


def edited(changes: list[tuple[str, str]]) -> str:
    text = DEFAULT_TOML
    for old, new in changes:
        assert old in text, old
        text = text.replace(old, new, 1)
    return text


def measure(engine: IdentityEngine, store: Neo4jStore, name: str, toml: str) -> list[str]:
    """Preview, apply and compare; one table row."""
    rules = parse_rules(toml)
    changes = RuleChanges(engine.core)
    started = time.perf_counter()
    predicted: RulePreview = changes.preview(rules)
    preview_s = time.perf_counter() - started
    before, tasks = mapping(store), task_keys(store)
    started = time.perf_counter()
    applied = changes.apply(rules, toml, "bench")
    apply_s = time.perf_counter() - started
    after = mapping(store)
    done = cluster_diff(before, after)
    opened = len(task_keys(store) - tasks)
    moved = sum(1 for k in before if before[k] != after[k])
    d = predicted.diff
    equal = (done == d and applied.preview.diff == d and moved == predicted.records_moved
             and opened == len(predicted.review_tasks))
    return [name, f"{preview_s:.1f}", f"{apply_s:.1f}",
            f"{len(d.merges_made)}/{len(done.merges_made)}",
            f"{len(d.merges_undone)}/{len(done.merges_undone)}",
            f"{len(d.people_affected)}/{len(done.people_affected)}",
            f"{predicted.records_moved}/{moved}",
            f"{len(predicted.review_tasks)}/{opened}", "yes" if equal else "NO"]


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data", type=Path, default=DEFAULT_DATA)
    parser.add_argument("--limit", type=int, default=0, help="records to load (0: all)")
    parser.add_argument("--batch", type=int, default=500)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp, neo4j(Path(tmp)) as uri:
        store = Neo4jStore(uri, "neo4j", os.environ.get("IDGRAPH_NEO4J_PASSWORD", ""))
        store.wait_until_ready(120)
        store.migrate()
        store.run_cypher(WIPE)
        engine = IdentityEngine(store, parse_rules(DEFAULT_TOML), b"bench-secret")
        started = time.perf_counter()
        records = load(engine, args.data / "records.jsonl", args.limit, args.batch)
        load_s = time.perf_counter() - started
        print(f"loaded {records} records in {load_s:.0f} s "
              f"({len(set(mapping(store).values()))} OneIDs)")
        header = ["rules", "preview s", "apply s", "merges made", "merges undone",
                  "people affected", "records moved", "review tasks", "equal"]
        rows = [measure(engine, store, name, edited(changes)) for name, changes in CHANGES]
        widths = [max(len(r[i]) for r in [header, *rows]) for i in range(len(header))]
        for row in [header, *rows]:
            print("  ".join(cell.ljust(width) for cell, width in zip(row, widths, strict=True)))
        print("(predicted/applied; equal: every merge made and undone, the people affected,"
              " records moved and review tasks opened are the same)")
        engine.close()
        store.close()
    return 0


if __name__ == "__main__":
    sys.exit(main())
