"""Splink 5 (DuckDB) on the records of `bench/datagen.py`: the other half of
`bench/backfill.py --vs-splink`.

One JSON Lines file of ``SourceRecord`` rows (protobuf JSON, camelCase or snake_case) is read
by DuckDB and flattened to one row per record: ``unique_id`` is the record key idgraph uses
(``source|source_record_id``, `idgraph.id_mapping.record_key`), then the first phone, email,
id_card and wechat_unionid, the first vehicle's VIN, and the attributes name, birth_date,
gender and city (trimmed, empty as NULL, email lowercased, VIN uppercased). Rows without a
source or record id cannot be keyed and are left out; a repeated key keeps one row.

The model is trained as Splink's documentation recommends: the prior from deterministic
rules (id_card, wechat_unionid, phone + name) with an estimated recall, u by random sampling
(`max_pairs` 1e9 by default, "at least 1e9 gives best results" for a final model), m by
EM on two blocking rules (phone; name + birth_date) that together leave every comparison
estimated. Predictions at the clustering threshold, then connected components
(`cluster_pairwise_predictions_at_threshold`). Timed phases: load (JSON -> DuckDB table),
train, predict, cluster; the record -> cluster mapping is fetched into Python afterwards, not
timed. Peak RSS is the process's high-water mark right after clustering: run this as its
own process (the CLI) so that nothing else counts in it.

    .venv/bin/python bench/splink_load.py records.jsonl [--threads 2] [--max-pairs 1e9]
        [--truth truth.csv] [--json out.json]

prints one line of JSON: the timings, records/s, clusters, `peak_rss_mb` and, with
``--truth`` (the CSV `bench/datagen.py --truth` writes), pairwise and B-cubed precision,
recall and F1 as `idgraph evaluate` computes them.
"""

from __future__ import annotations

import argparse
import json
import logging
import resource
import sys
import time
from dataclasses import dataclass, field, fields
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from idgraph.domain.records import KEY_SEPARATOR  # noqa: E402

DEFAULT_MAX_PAIRS = 1e9  # Splink's docstring: at least 1e9 for a final model
DEFAULT_THRESHOLD = 0.5  # idgraph's link threshold, as in bench/febrl.py
DEFAULT_RECALL = 0.7  # a-priori guess at the recall of the deterministic rules
IDENTIFIERS = ("phone", "email", "id_card", "wechat_unionid")
_STRUCT = "STRUCT(type VARCHAR, value VARCHAR, scope VARCHAR)[]"
_COLUMNS = ("{source: 'VARCHAR', sourceRecordId: 'VARCHAR', source_record_id: 'VARCHAR', "
            f"identifiers: '{_STRUCT}', attributes: 'MAP(VARCHAR, VARCHAR)', "
            "vehicles: 'STRUCT(vin VARCHAR)[]'}")


@dataclass
class SplinkResult:
    """Wall seconds per phase, throughput, and the clustering (record key -> cluster id)."""

    records: int
    load_s: float
    train_s: float
    predict_s: float
    cluster_s: float
    pairs: int  # predicted pairs at or above the threshold
    clusters: int
    peak_rss_mb: float  # ru_maxrss right after clustering (the whole process's high mark)
    threads: int
    max_pairs: float
    threshold: float
    mapping_s: float = 0.0  # fetching the mapping into Python, not in total_s
    mapping: dict[str, str] = field(default_factory=dict, repr=False)

    @property
    def total_s(self) -> float:
        return self.load_s + self.train_s + self.predict_s + self.cluster_s

    @property
    def records_per_s(self) -> float:
        return self.records / self.total_s if self.total_s else 0.0

    def summary(self) -> dict[str, Any]:
        """Everything but the mapping, rounded for one line of JSON."""
        out = {f.name: round(v, 3) if isinstance(v := getattr(self, f.name), float) else v
               for f in fields(self) if f.name != "mapping"}  # asdict would copy the mapping
        out["total_s"] = round(self.total_s, 3)
        out["records_per_s"] = round(self.records_per_s, 1)
        return out


def peak_rss_mb() -> float:
    """This process's peak resident set (Linux reports ru_maxrss in KiB)."""
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def _scalar(con: Any, sql: str) -> Any:
    rows = con.execute(sql).fetchall()  # fetch all: DuckDB 2 refuses unfinished results
    return rows[0][0] if rows else None


def _clean(expr: str) -> str:
    return f"nullif(trim({expr}), '')"


def _first_identifier(kind: str) -> str:
    return f"list_filter(identifiers, lambda x: x.type = '{kind}')[1].value"


def load_sql(path: Path) -> str:
    """SELECT flattening the JSON Lines file to one Splink row per record."""
    quoted = str(path).replace("'", "''")
    rid = "coalesce(sourceRecordId, source_record_id)"
    return f"""
        SELECT DISTINCT ON (unique_id) *
        FROM (
            SELECT source || '{KEY_SEPARATOR}' || {rid} AS unique_id,
                   {_clean(_first_identifier('phone'))} AS phone,
                   lower({_clean(_first_identifier('email'))}) AS email,
                   upper({_clean(_first_identifier('id_card'))}) AS id_card,
                   {_clean(_first_identifier('wechat_unionid'))} AS wechat_unionid,
                   upper({_clean('vehicles[1].vin')}) AS vin,
                   {_clean("attributes['name']")} AS name,
                   {_clean("attributes['birth_date']")} AS birth_date,
                   upper({_clean("attributes['gender']")}) AS gender,
                   {_clean("attributes['city']")} AS city
            FROM read_json('{quoted}', format = 'newline_delimited', columns = {_COLUMNS})
            WHERE nullif(source, '') IS NOT NULL AND nullif({rid}, '') IS NOT NULL
        )
    """


def settings() -> Any:
    """The Splink model: comparisons, blocking rules for predictions."""
    import splink.comparison_level_library as cll
    import splink.comparison_library as cl
    from splink import SettingsCreator, block_on

    # Chinese names are two or three characters: a one-character difference (homophone,
    # traditional form) scores 0.67 Jaro-Winkler in DuckDB, under NameComparison's lowest
    # level (0.7), so the levels are edit distance and the surname (first character).
    name = cl.CustomComparison(
        [cll.NullLevel("name"),
         cll.ExactMatchLevel("name").configure(tf_adjustment_column="name"),
         cll.DamerauLevenshteinLevel("name", 1),
         cll.CustomLevel("substr(name_l, 1, 1) = substr(name_r, 1, 1)",
                         label_for_charts="Same surname (first character)"),
         cll.ElseLevel()],
        output_column_name="name")
    comparisons = [
        # Placeholder, consultant and fleet phones are frequent values: term frequencies.
        cl.ExactMatch("phone").configure(term_frequency_adjustments=True),
        cl.ExactMatch("email"),
        cl.ExactMatch("id_card"),
        cl.ExactMatch("wechat_unionid"),
        cl.ExactMatch("vin"),
        name,
        cl.DateOfBirthComparison("birth_date", input_is_string=True,
                                 datetime_format="%Y-%m-%d"),
        cl.ExactMatch("gender"),
        cl.ExactMatch("city").configure(term_frequency_adjustments=True),
    ]
    blocking = [block_on(column) for column in (*IDENTIFIERS, "vin")]
    blocking.append(block_on("name", "birth_date"))
    return SettingsCreator(link_type="dedupe_only", comparisons=comparisons,
                           blocking_rules_to_generate_predictions=blocking,
                           retain_intermediate_calculation_columns=False,
                           retain_matching_columns=False)


def run(path: Path, threads: int | None = None, *, max_pairs: float = DEFAULT_MAX_PAIRS,
        threshold: float = DEFAULT_THRESHOLD, recall: float = DEFAULT_RECALL,
        seed: int = 1, mapping: bool = True) -> SplinkResult:
    """Load, train, predict and cluster the records of `path` with Splink 5 on DuckDB
    (`threads` DuckDB threads, or DuckDB's default: all cores). With `mapping`, the result
    holds record key -> cluster id (fetched after the timed phases)."""
    import duckdb
    from splink import DuckDBAPI, Linker, block_on

    config = {"threads": threads} if threads else {}
    con = duckdb.connect(":memory:", config=config)
    used_threads = int(_scalar(con, "SELECT current_setting('threads')"))

    started = time.perf_counter()
    con.execute(f"CREATE TABLE records AS {load_sql(path)}")
    db_api = DuckDBAPI(connection=con)
    table = db_api.register("records")
    records = int(_scalar(con, "SELECT count(*) FROM records"))
    loaded = time.perf_counter()

    linker = Linker(table, settings(), log_level=None)  # the caller's logging config
    training = linker.training
    training.estimate_probability_two_random_records_match(
        [block_on("id_card"), block_on("wechat_unionid"), block_on("phone", "name")],
        recall=recall)
    training.estimate_u_using_random_sampling(max_pairs=max_pairs, seed=seed)
    training.estimate_parameters_using_expectation_maximisation(block_on("phone"))
    training.estimate_parameters_using_expectation_maximisation(
        block_on("name", "birth_date"))
    trained = time.perf_counter()

    predictions = linker.inference.predict(threshold_match_probability=threshold)
    pairs = int(_scalar(con, f"SELECT count(*) FROM {predictions.physical_name}"))
    predicted = time.perf_counter()

    clusters = linker.clustering.cluster_pairwise_predictions_at_threshold(
        predictions, threshold)
    count = int(_scalar(con, f"SELECT count(DISTINCT cluster_id) FROM {clusters.physical_name}"))
    clustered = time.perf_counter()
    peak = peak_rss_mb()

    result = SplinkResult(records, loaded - started, trained - loaded, predicted - trained,
                          clustered - predicted, pairs, count, peak, used_threads, max_pairs,
                          threshold)
    if mapping:
        rows = con.execute(f"SELECT unique_id, cluster_id FROM {clusters.physical_name}"
                           ).fetchall()
        result.mapping = {str(key): str(cluster) for key, cluster in rows}
        result.mapping_s = time.perf_counter() - clustered
    con.close()
    return result


def score(mapping: dict[str, str], truth: Path) -> dict[str, float | int]:
    """Pairwise and B-cubed scores against a truth file, as `idgraph evaluate --predicted`
    computes them."""
    from idgraph.domain.evaluation import evaluate
    from idgraph.id_mapping import read_labels

    result = evaluate(mapping, read_labels(truth))
    return {"scored_records": result.records, "missing": result.missing,
            "true_people": result.true_clusters,
            "pairwise_precision": round(result.pairwise.precision, 5),
            "pairwise_recall": round(result.pairwise.recall, 5),
            "pairwise_f1": round(result.pairwise.f1, 5),
            "bcubed_precision": round(result.bcubed.precision, 5),
            "bcubed_recall": round(result.bcubed.recall, 5),
            "bcubed_f1": round(result.bcubed.f1, 5),
            "impure_clusters": result.impure_clusters}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("file", type=Path, help="JSON Lines of SourceRecord (bench/datagen.py)")
    parser.add_argument("--threads", type=int, help="DuckDB threads (default: all cores)")
    parser.add_argument("--max-pairs", type=float, default=DEFAULT_MAX_PAIRS,
                        help="Splink's max_pairs for u (its docs: at least 1e9 for a final "
                        "model, 1e7 while testing specifications)")
    parser.add_argument("--threshold", type=float, default=DEFAULT_THRESHOLD,
                        help="match probability to predict and cluster at")
    parser.add_argument("--recall", type=float, default=DEFAULT_RECALL,
                        help="assumed recall of the deterministic rules (for the prior)")
    parser.add_argument("--truth", type=Path,
                        help="truth CSV (bench/datagen.py --truth): also score the clusters")
    parser.add_argument("--json", type=Path, help="also write the JSON line to this file")
    parser.add_argument("--verbose", action="store_true", help="Splink's INFO log on stderr")
    args = parser.parse_args()
    logging.basicConfig(stream=sys.stderr, format="%(message)s")
    logging.getLogger("splink").setLevel(logging.INFO if args.verbose else logging.WARNING)
    result = run(args.file, args.threads, max_pairs=args.max_pairs, threshold=args.threshold,
                 recall=args.recall, mapping=args.truth is not None)
    out: dict[str, Any] = {"system": "Splink 5 (DuckDB)", **result.summary()}
    if args.truth is not None:
        out.update(score(result.mapping, args.truth))
    line = json.dumps(out, ensure_ascii=False)
    if args.json is not None:
        args.json.write_text(line + "\n", encoding="utf-8")
    print(line, flush=True)


if __name__ == "__main__":
    main()
