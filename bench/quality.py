"""Match quality on realistic Chinese automotive data, run as a user runs the service.

The data set (default `../shared/data/autocdp-dev/`: records.jsonl as exported, truth.csv,
traps.jsonl) goes through the real service on its own local Neo4j (or IDGRAPH_NEO4J_URI):

- `idgraph backfill records.jsonl` (a subprocess, as the README says), then `idgraph export`;
- `BatchIngest` through a real gRPC server and client, in the file's order and in shuffled
  orders (`--orders`), the graph wiped in between; the client reads the export as a client
  in any language would (short enum names, month dates) and sends SourceRecord messages;
- with the shipped default rules, and with the rules `idgraph train` writes from the same
  records (`--skip-trained` to leave it out);
- Febrl3 with and without soc_sec_id through bench/febrl.py's idgraph path
  (`--skip-febrl`; needs `pip install -e '.[bench]'`).

Each run is scored by `../shared/tools/er_eval.py` (pairwise and B-cubed precision, recall
and F1, over-merged clusters, people wrongly merged per trap type); the table adds records
refused and records with dropped values, review tasks per 100 records, and the pairwise F1
agreement of the clusterings of the different orders.

    .venv/bin/python bench/quality.py [--data DIR] [--orders 3] [--skip-febrl]
"""

from __future__ import annotations

import argparse
import csv
import json
import os
import random
import signal
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "bench"))

from ingest_bench import Service, start_service  # noqa: E402

from idgraph.api.convert import datetime_to_timestamp, vehicle_relation_to_proto  # noqa: E402
from idgraph.client import Client  # noqa: E402
from idgraph.domain.evaluation import evaluate  # noqa: E402
from idgraph.domain.records import RawRecord, vehicle_relation  # noqa: E402
from idgraph.id_mapping import record_key  # noqa: E402
from idgraph.record_json import record_from_json  # noqa: E402
from idgraph.store.neo4j_store import Neo4jStore  # noqa: E402
from idgraph.v1 import identity_pb2 as pb  # noqa: E402

DEFAULT_DATA = ROOT.parent / "shared" / "data" / "autocdp-dev"
ER_EVAL = ROOT.parent / "shared" / "tools" / "er_eval.py"
WIPE = "MATCH (n) WHERE NOT n:SchemaMigration DETACH DELETE n"
TRAPS = ("consultant_phone", "household_shared_phone", "placeholder_phone",
         "used_car_transfer", "demo_car_vin", "zero_idfa", "household_shared_vehicle")


@dataclass
class Run:
    """One run's figures."""

    data: str
    rules: str
    path: str
    records: int
    refused: int
    warned: int
    review_tasks: int
    seconds: float
    scores: dict[str, object] = field(default_factory=dict)
    mapping: dict[str, str] = field(default_factory=dict)

    @property
    def per_100(self) -> float:
        return 100 * self.review_tasks / max(self.records, 1)


def to_proto(raw: RawRecord) -> pb.SourceRecord:
    """A record read from an export, as a client sends it."""
    message = pb.SourceRecord(source=raw.source, source_record_id=raw.source_record_id,
                              attributes=raw.attributes)
    if raw.observed_at is not None:
        message.observed_at.CopyFrom(datetime_to_timestamp(raw.observed_at))
    message.identifiers.extend(pb.Identifier(type=i.type, value=i.value, scope=i.scope)
                               for i in raw.identifiers)
    for vehicle in raw.vehicles:
        relation = vehicle_relation(vehicle.relation)
        link = pb.VehicleLink(vin=vehicle.vin, model=vehicle.model, plate=vehicle.plate,
                              relation=vehicle_relation_to_proto(relation.value if relation
                                                                 else vehicle.relation))
        if vehicle.since is not None:
            link.since.CopyFrom(datetime_to_timestamp(vehicle.since))
        if vehicle.until is not None:
            link.until.CopyFrom(datetime_to_timestamp(vehicle.until))
        message.vehicles.append(link)
    message.referred_by.extend(pb.Identifier(type=i.type, value=i.value, scope=i.scope)
                               for i in raw.referred_by)
    return message


def read_export(path: Path) -> list[pb.SourceRecord]:
    with path.open(encoding="utf-8") as handle:
        return [to_proto(record_from_json(json.loads(line))) for line in handle if line.strip()]


def score(mapping_csv: Path, data: Path) -> dict[str, object]:
    """er_eval.py's answer for an exported mapping."""
    out = subprocess.run([sys.executable, str(ER_EVAL), "--truth", str(data / "truth.csv"),
                          "--pred", str(mapping_csv)]
                         + (["--traps", str(data / "traps.jsonl")]
                            if (data / "traps.jsonl").exists() else []),
                         check=True, capture_output=True, text=True, cwd=data).stdout
    return json.loads(out)  # type: ignore[no-any-return]


def write_mapping(store: Neo4jStore, path: Path) -> dict[str, str]:
    mapping = {}
    with path.open("w", encoding="utf-8", newline="") as handle:
        writer = csv.writer(handle)
        writer.writerow(["source", "source_record_id", "one_id"])
        for source, source_record_id, one_id in store.mapping():
            writer.writerow([source, source_record_id, one_id])
            mapping[record_key(source, source_record_id)] = one_id
    return mapping


def open_tasks(store: Neo4jStore) -> int:
    rows = store.run_cypher("MATCH (t:ReviewTask {status: 'OPEN'}) RETURN count(t) AS n")
    return int(rows[0]["n"])  # type: ignore[arg-type]


def run_backfill(service: Service, store: Neo4jStore, data: Path, rules_name: str,
                 env: dict[str, str], work: Path) -> Run:
    store.run_cypher(WIPE)
    dead = work / f"dead-letters-{rules_name}.jsonl"
    started = time.perf_counter()
    done = subprocess.run([sys.executable, "-m", "idgraph.cli", "backfill",
                           str(data / "records.jsonl"), "--restart", "--transactional",
                           "--dead-letters", str(dead)],
                          cwd=ROOT, capture_output=True, text=True,
                          env={**env, "IDGRAPH_NEO4J_URI": service.neo4j_uri})
    if done.returncode != 0:
        raise SystemExit(f"idgraph backfill failed ({done.returncode}):\n{done.stderr[-4000:]}")
    seconds = time.perf_counter() - started
    mapping_csv = work / f"mapping-backfill-{rules_name}.csv"
    mapping = write_mapping(store, mapping_csv)
    warnings = dead.with_name(dead.stem + ".warnings.jsonl")
    warned = len({json.loads(line)["source_record_id"] for line in
                  warnings.read_text(encoding="utf-8").splitlines()}) if warnings.exists() else 0
    refused = len({json.loads(line).get("source_record_id", line) for line in
                   dead.read_text(encoding="utf-8").splitlines()}) if dead.exists() else 0
    return Run(data.name, rules_name, "idgraph backfill", len(mapping), refused, warned,
               open_tasks(store), seconds, score(mapping_csv, data), mapping)


def _requests(records: Sequence[pb.SourceRecord]) -> Iterator[pb.IngestRequest]:
    for record in records:
        yield pb.IngestRequest(record=record)


def run_batch_ingest(service: Service, store: Neo4jStore, data: Path, rules_name: str,
                     records: list[pb.SourceRecord], order: int, work: Path) -> Run:
    store.run_cypher(WIPE)
    shuffled = list(records)
    if order:
        random.Random(order).shuffle(shuffled)
    refused, warned = set(), set()  # distinct records (re-sent lines count once)
    started = time.perf_counter()
    with Client(service.target) as client:
        for answer in client.batch_ingest(_requests(shuffled), timeout=3600):
            if answer.HasField("error"):
                refused.add((answer.source, answer.source_record_id))
            elif answer.dropped:
                warned.add((answer.source, answer.source_record_id))
    seconds = time.perf_counter() - started
    mapping_csv = work / f"mapping-batch-{rules_name}-{order}.csv"
    mapping = write_mapping(store, mapping_csv)
    return Run(data.name, rules_name, "BatchIngest " + ("file order" if not order
                                                        else f"shuffle {order}"),
               len(mapping), len(refused), len(warned), open_tasks(store), seconds,
               score(mapping_csv, data), mapping)


def train(data: Path, out: Path, env: dict[str, str]) -> tuple[bool, str]:
    """`idgraph train` as the README says; (written, what it said)."""
    done = subprocess.run([sys.executable, "-m", "idgraph.cli", "train", "--input",
                           str(data / "records.jsonl"), "--out", str(out)],
                          cwd=ROOT, capture_output=True, text=True, env=env)
    said = (done.stdout + done.stderr).strip().splitlines()
    return done.returncode == 0 and out.exists(), " / ".join(said[-3:])


def run_rules(data: Path, rules_name: str, rules_file: Path | None, orders: int,
              work: Path, records: list[pb.SourceRecord]) -> list[Run]:
    env = dict(os.environ)
    env.pop("IDGRAPH_RULES_FILE", None)
    if rules_file is not None:
        env["IDGRAPH_RULES_FILE"] = str(rules_file)
    saved = dict(os.environ)
    os.environ.clear()
    os.environ.update(env)
    (work / rules_name).mkdir(parents=True, exist_ok=True)
    try:
        service = start_service(work / rules_name)
    finally:
        os.environ.clear()
        os.environ.update(saved)
    store = Neo4jStore(service.neo4j_uri, os.environ.get("IDGRAPH_NEO4J_USER", "neo4j"),
                       os.environ.get("IDGRAPH_NEO4J_PASSWORD", ""))
    runs = []
    try:
        runs.append(run_backfill(service, store, data, rules_name, env, work))
        print(f"  {rules_name}: backfill {runs[-1].seconds:.0f} s", file=sys.stderr)
        for order in range(orders):
            runs.append(run_batch_ingest(service, store, data, rules_name, records, order,
                                         work))
            print(f"  {rules_name}: {runs[-1].path} {runs[-1].seconds:.0f} s", file=sys.stderr)
    finally:
        store.close()
        service.process.send_signal(signal.SIGTERM)
        service.process.wait(60)
    return runs


def agreement(runs: Sequence[Run]) -> float:
    """The lowest pairwise F1 between any two runs' clusterings."""
    values = [evaluate(b.mapping, a.mapping).pairwise.f1
              for i, a in enumerate(runs) for b in runs[i + 1:]]
    return min(values) if values else 1.0


def print_table(runs: Sequence[Run]) -> None:
    head = ["rules", "path", "records", "refused", "warned", "P", "R", "F1", "B3 F1",
            "over-merged", "tasks/100", "s", *TRAPS]
    print("| " + " | ".join(head) + " |")
    print("|" + "---|" * len(head))
    for run in runs:
        s = run.scores
        pairwise, bcubed = s["pairwise"], s["bcubed"]  # type: ignore[index]
        traps = s.get("traps", {})  # type: ignore[attr-defined]
        row = [run.rules, run.path, str(run.records), str(run.refused), str(run.warned),
               f"{pairwise['precision']:.4f}", f"{pairwise['recall']:.4f}",  # type: ignore[index]
               f"{pairwise['f1']:.4f}", f"{bcubed['f1']:.4f}",  # type: ignore[index]
               str(s["overmerged_clusters"]), f"{run.per_100:.2f}", f"{run.seconds:.0f}",
               *(str(traps.get(t, {}).get("persons_wrongly_merged", "-")) for t in TRAPS)]
        print("| " + " | ".join(row) + " |")


def febrl(orders: int, work: Path) -> None:
    try:
        from febrl import run_idgraph
    except ImportError as missing:
        print(f"Febrl3 skipped: {missing} (pip install -e '.[bench]')")
        return
    print("\n| Febrl3 | order | P | R | F1 |\n|---|---|---|---|---|")
    agreements = {}
    for with_ssn in (True, False):
        rows, agreement_values = run_idgraph(with_ssn, Path(tempfile.mkdtemp(dir=work)),
                                             orders, 0.0, 500)
        for row in rows:
            print(f"| {row.variant} | {row.note} | {row.precision:.5f} | {row.recall:.5f} "
                  f"| {row.f1:.5f} |")
        agreements[rows[0].variant] = min(agreement_values) if agreement_values else 1.0
    for variant, value in agreements.items():
        print(f"Febrl3 {variant}: agreement of the {orders} orders (lowest pairwise F1) "
              f"{value:.5f}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--data", type=Path, default=DEFAULT_DATA)
    parser.add_argument("--orders", type=int, default=3, help="BatchIngest orders")
    parser.add_argument("--skip-trained", action="store_true")
    parser.add_argument("--skip-febrl", action="store_true")
    parser.add_argument("--keep", type=Path, default=None,
                        help="keep the mappings, dead letters and rules here")
    args = parser.parse_args()
    data = args.data.resolve()
    records = read_export(data / "records.jsonl")
    print(f"{data}: {len(records)} lines; {os.cpu_count()} cores", file=sys.stderr)
    with tempfile.TemporaryDirectory(prefix="idgraph-quality-") as tmp:
        work = Path(tmp) if args.keep is None else args.keep.resolve()
        work.mkdir(parents=True, exist_ok=True)
        runs = run_rules(data, "default", None, args.orders, work, records)
        trained_note = ""
        if not args.skip_trained:
            trained = work / "trained.toml"
            written, said = train(data, trained, dict(os.environ))
            trained_note = f"idgraph train: {'wrote' if written else 'refused'}: {said}"
            if written:
                runs += run_rules(data, "trained", trained, args.orders, work, records)
        print_table(runs)
        for name in dict.fromkeys(r.rules for r in runs):
            group = [r for r in runs if r.rules == name]
            print(f"{name}: agreement of {len(group)} runs (backfill and every BatchIngest "
                  f"order; lowest pairwise F1) {agreement(group):.5f}")
        if trained_note:
            print(trained_note)
        if not args.skip_febrl:
            febrl(3, work)


if __name__ == "__main__":
    main()
