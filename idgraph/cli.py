"""The ``idgraph`` command line."""

from __future__ import annotations

import argparse
import logging
import sys
from contextlib import ExitStack
from pathlib import Path

from idgraph.config import Settings
from idgraph.errors import IdGraphError


def main(argv: list[str] | None = None) -> int:
    """Entry point of the ``idgraph`` command."""
    parser = argparse.ArgumentParser(prog="idgraph", description="OneID identity graph service")
    commands = parser.add_subparsers(dest="command", required=True)
    commands.add_parser("serve", help="serve gRPC (starts a local Neo4j unless "
                        "IDGRAPH_NEO4J_URI is set)")
    commands.add_parser("check-rules", help="validate the configured rules file and print it")
    export = commands.add_parser("export", help="write the ID-mapping table "
                                 "(source, source_record_id, one_id)")
    export.add_argument("--out", type=Path, required=True, help="file to write ('-': stdout)")
    export.add_argument("--format", choices=("csv", "jsonl"), default=None,
                        help="default: from the file name (.jsonl), else csv")
    evaluate = commands.add_parser("evaluate", help="compare the clustering with a truth file")
    evaluate.add_argument("--truth", type=Path, required=True,
                          help="CSV or JSONL: source, source_record_id, entity")
    evaluate.add_argument("--predicted", type=Path, default=None,
                          help="an exported mapping; default: read the graph")
    args = parser.parse_args(argv)
    settings = Settings()
    logging.basicConfig(level=settings.log_level.upper(),
                        format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    try:
        if args.command == "serve":
            from idgraph.serve import serve

            return serve(settings)
        if args.command == "export":
            return _export(settings, args.out, args.format)
        if args.command == "evaluate":
            return _evaluate(settings, args.truth, args.predicted)
        rules = settings.load_rules()
        print(rules.model_dump_json(indent=2))
        return 0
    except IdGraphError as exc:
        print(f"idgraph: {exc}", file=sys.stderr)
        return 2


def _export(settings: Settings, out: Path, fmt: str | None) -> int:
    from idgraph.id_mapping import write_mapping
    from idgraph.serve import open_store

    fmt = fmt or ("jsonl" if out.suffix in (".jsonl", ".json") else "csv")
    with ExitStack() as stack:
        store = open_store(settings, stack, reuse_local=True)
        handle = sys.stdout if str(out) == "-" else stack.enter_context(
            out.open("w", encoding="utf-8", newline=""))
        count = write_mapping(store.mapping(), handle, fmt)
    print(f"idgraph: exported {count} records", file=sys.stderr)
    return 0


def _evaluate(settings: Settings, truth_path: Path, predicted_path: Path | None) -> int:
    from idgraph.domain.evaluation import evaluate
    from idgraph.id_mapping import read_labels, record_key
    from idgraph.serve import open_store

    truth = read_labels(truth_path)
    if predicted_path is not None:
        predicted = read_labels(predicted_path)
    else:
        with ExitStack() as stack:
            store = open_store(settings, stack, reuse_local=True)
            predicted = {record_key(s, r): o for s, r, o in store.mapping()}
    result = evaluate(predicted, truth)
    print(f"records compared      {result.records:>10}   (missing from prediction: "
          f"{result.missing})")
    print(f"OneIDs / true people  {result.predicted_clusters:>10} / {result.true_clusters}")
    print(f"{'':22}{'precision':>10}{'recall':>10}{'F1':>10}")
    for name, scores in (("pairwise", result.pairwise), ("B-cubed", result.bcubed)):
        print(f"{name:22}{scores.precision:>10.4f}{scores.recall:>10.4f}{scores.f1:>10.4f}")
    print(f"OneIDs holding more than one true person: {result.impure_clusters}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
