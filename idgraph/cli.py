"""The ``idgraph`` command line."""

from __future__ import annotations

import argparse
import os
import sys
from contextlib import ExitStack
from pathlib import Path

from idgraph.config import Settings
from idgraph.errors import IdGraphError
from idgraph.logs import configure as configure_logging


def main(argv: list[str] | None = None) -> int:
    """Entry point of the ``idgraph`` command."""
    parser = argparse.ArgumentParser(prog="idgraph", description="OneID identity graph service")
    commands = parser.add_subparsers(dest="command", required=True)
    commands.add_parser("serve", help="serve gRPC (starts a local Neo4j unless "
                        "IDGRAPH_NEO4J_URI is set)")
    console = commands.add_parser("console", help="serve the steward console only (the web "
                                  "pages over the engine; `serve` serves it beside gRPC when "
                                  "IDGRAPH_CONSOLE_ADDR is set)")
    console.add_argument("--addr", default="", help="host:port (default IDGRAPH_CONSOLE_ADDR, "
                         "else 127.0.0.1:8080)")
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
    train = commands.add_parser("train", help="estimate m, u, the prior and term frequencies "
                                "from records and write a rules file")
    train.add_argument("--input", type=Path, required=True, action="append",
                       help="JSON Lines of SourceRecord (repeatable)")
    train.add_argument("--out", type=Path, required=True, help="rules file to write")
    train.add_argument("--rules", type=Path, default=None,
                       help="template: comparisons, blocking keys and thresholds "
                       "(default: IDGRAPH_RULES_FILE or the shipped rules)")
    train.add_argument("--max-pairs", type=int, default=30_000,
                       help="pairs per EM session, at most (default 30000)")
    train.add_argument("--u-sample", type=int, default=800,
                       help="records whose Cartesian product estimates u (default 800; "
                       "string-distance comparators use 4x as many values)")
    train.add_argument("--term-frequencies", default="",
                       help="comma-separated attributes to adjust by term frequency "
                       "(besides those the template already adjusts)")
    train.add_argument("--seed", type=int, default=0)
    train.add_argument("--prior-method", choices=("deterministic", "em"), default="deterministic",
                       help="the prior from the pairs deterministic rules link, divided by "
                       "their recall (default, as Splink does), or by EM")
    train.add_argument("--recall", type=float, default=0.6,
                       help="share of all matching pairs the deterministic rules find "
                       "(default 0.6)")
    train.add_argument("--deterministic", action="append", default=None, metavar="RULE",
                       help="a deterministic rule: an identifier type (phone) or attributes "
                       "agreeing exactly (name+birth_date); repeatable (default: every "
                       "evidence identifier type and each blocking key of 2+ attributes)")
    train.add_argument("--force", action="store_true",
                       help="write the rules even when they would link under a tenth of the "
                       "pairs the deterministic rules link or over ten times the matches "
                       "they imply")
    backfill = commands.add_parser("backfill", help="load JSON Lines of SourceRecord (or CSV "
                                   "and Parquet with --mapping) through the batch path, "
                                   "resumably")
    backfill.add_argument("files", type=Path, nargs="+")
    backfill.add_argument("--dead-letters", type=Path, default=Path("dead-letters.jsonl"),
                          help="refused rows with line and reason (default dead-letters.jsonl);"
                          " values dropped from stored rows go beside it "
                          "(dead-letters.warnings.jsonl)")
    backfill.add_argument("--batch", type=int, default=2000, help="records per transaction")
    backfill.add_argument("--restart", action="store_true",
                          help="ignore the files' checkpoints and read them from the start")
    backfill.add_argument("--mapping", type=Path, default=None,
                          help="TOML column mapping for CSV and Parquet files "
                          "(see idgraph/backfill.py)")
    backfill.add_argument("--wait", type=float, default=300.0,
                          help="seconds a batch waits for an unavailable Neo4j (down, "
                          "restarting) before the run stops; it resumes from its checkpoint "
                          "(default 300)")
    backfill.add_argument("--transactional", action="store_true",
                          help="load through transactions even into an empty graph (the "
                          "default for an empty graph is Neo4j's bulk importer)")
    backfill.add_argument("--workers", type=int, default=os.cpu_count() or 1,
                          help="processes resolving an initial load, each a share of the "
                          "connected components (default: the cores)")
    backfill.add_argument("--csv-dir", type=Path, default=Path("idgraph-import"),
                          help="against a remote Neo4j: where the importer's CSV set is "
                          "written (default idgraph-import/)")
    from idgraph.review_cli import add_arguments

    add_arguments(commands.add_parser("review", help="review tasks: list, show one side by "
                                      "side, decide (talks to a running service)"))
    from idgraph import rules_cli

    rules_cli.add_arguments(commands.add_parser("rules", help="preview and apply other match "
                                                "rules over the live graph (talks to a "
                                                "running service, admin key)"))
    from idgraph import audience_cli

    audience_cli.add_arguments(commands.add_parser(
        "audience", help="audiences: preview, create, list, export to CSV or Parquet "
        "(talks to a running service)"))
    from idgraph import leads_cli

    leads_cli.add_arguments(commands.add_parser("leads", help="lead grades: grade a file, "
                                                "train a model on past outcomes"))
    args = parser.parse_args(argv)
    settings = Settings()
    configure_logging(settings.log_level, settings.log_format)
    try:
        if args.command == "console":
            from idgraph.serve import serve

            address = args.addr or settings.console_addr or "127.0.0.1:8080"
            return serve(settings.model_copy(update={"console_addr": address}),
                         grpc_on=False)
        if args.command == "serve":
            from idgraph.serve import serve

            return serve(settings)
        if args.command == "export":
            return _export(settings, args.out, args.format)
        if args.command == "evaluate":
            return _evaluate(settings, args.truth, args.predicted)
        if args.command == "train":
            return _train(settings, args)
        if args.command == "backfill":
            return _backfill(settings, args)
        if args.command == "rules":
            return rules_cli.run(args, settings.grpc_addr)
        if args.command == "review":
            from idgraph.review_cli import run

            return run(args, settings.grpc_addr)
        if args.command == "audience":
            return audience_cli.run(args, settings.grpc_addr)
        if args.command == "leads":
            from idgraph.leads_cli import run as run_leads

            return run_leads(args, settings)
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


def _backfill(settings: Settings, args: argparse.Namespace) -> int:
    import time

    from rich.console import Console
    from rich.progress import (
        BarColumn,
        Progress,
        TaskID,
        TaskProgressColumn,
        TextColumn,
        TimeRemainingColumn,
    )

    from idgraph.backfill import (
        ColumnMapping,
        Counts,
        FileState,
        PrepareTime,
        backfill_file,
        dropped_value_counts,
        warnings_path,
    )
    from idgraph.serve import build_engine, open_store, tune_gc

    console = Console(stderr=True)
    last = [0.0]
    progress = Progress(TextColumn("{task.description}"), BarColumn(), TaskProgressColumn(),
                        TextColumn("{task.fields[rows]:,} rows  {task.fields[rate]:,.0f} rows/s"),
                        TextColumn("ETA"), TimeRemainingColumn(), console=console,
                        disable=not console.is_terminal)
    tasks: dict[Path, TaskID] = {}

    def report(path: Path, state: FileState, seconds: float) -> None:
        counts = state.counts or Counts()
        rate = counts.read / seconds if seconds else 0.0
        if console.is_terminal:  # a bar per file, with rows/s and ETA
            if path not in tasks:
                tasks[path] = progress.add_task(path.name, total=state.size, rows=0, rate=0.0)
            progress.update(tasks[path], completed=state.offset, rows=counts.read, rate=rate)
            return
        now = time.monotonic()  # a plain line every 10 s (logs, CI)
        if now - last[0] < 10 and not state.finished:
            return
        last[0] = now
        share = state.offset / state.size if state.size else 1.0
        eta = (seconds / share - seconds) if share else 0.0
        console.print(f"{path.name}: {share:6.1%}  {counts.read} rows  {rate:,.0f} rows/s  "
                      f"ETA {eta:,.0f} s", highlight=False)

    mapping = ColumnMapping.load(args.mapping) if args.mapping else None
    if not args.transactional:
        from idgraph.bulk_cli import initial_load

        done = initial_load(settings, args, mapping)
        if done is not None:
            return done
    started = time.monotonic()
    total = Counts()
    preparing = PrepareTime()
    with ExitStack() as stack:
        store = open_store(settings, stack, reuse_local=True)
        engine = build_engine(settings, store)
        stack.callback(engine.close)
        if settings.metrics_addr:  # the backfill's own metrics (rows, decisions, Neo4j)
            from idgraph.metrics import graph_gauges, serve_metrics

            metrics = serve_metrics(settings.metrics_addr, graph_gauges(store, engine))
            stack.callback(metrics.server_close)
            stack.callback(metrics.shutdown)
        tune_gc(settings.gc_threshold)
        stack.enter_context(progress)
        for path in args.files:
            state = backfill_file(engine.ingestion, path, args.dead_letters,
                                  batch_size=args.batch, restart=args.restart,
                                  report=report, mapping=mapping,
                                  prepare_time=preparing, zone=settings.zone,
                                  wait=args.wait)
            for name, value in vars(state.counts or Counts()).items():
                setattr(total, name, getattr(total, name) + value)
        times = engine.ingestion.stage_times
    seconds = time.monotonic() - started
    print(f"read {total.read}, ingested {total.ingested}, unchanged {total.unchanged}, "
          f"new people {total.new_people}, merges {total.merges}, review tasks "
          f"{total.review_tasks}, dead letters {total.dead_letters} ({args.dead_letters}), "
          f"values dropped {total.dropped_values} ({warnings_path(args.dead_letters)}), "
          f"suppressed {total.suppressed}; {seconds:.1f} s (counts include earlier runs of "
          "resumed files)")
    dropped = dropped_value_counts(warnings_path(args.dead_letters),
                                   {str(p.resolve()) for p in args.files})
    for (source, kind), n in sorted(dropped.items(), key=lambda item: (-item[1], item[0])):
        print(f"  dropped {n:>8}  {source:20} {kind}")
    print(f"time: parse+validate {preparing.seconds:.1f} s, graph reads {times.reads:.1f} s, "
          f"decide {times.decide:.1f} s, graph writes {times.writes:.1f} s, commit "
          f"{times.commit:.1f} s ({times.batches} batches, {times.records} records)")
    return 0


def _train(settings: Settings, args: argparse.Namespace) -> int:
    from idgraph.domain.rules import load_rules
    from idgraph.training import (
        DegenerateModel,
        DeterministicRule,
        report_lines,
        rules_file_text,
        train,
    )
    from idgraph.training_io import read_training_records

    template = load_rules(args.rules) if args.rules else settings.load_rules()
    try:
        deterministic = [DeterministicRule.parse(text, template)
                         for text in args.deterministic] if args.deterministic else None
        records, rejected = read_training_records(args.input, template, settings)
        print(f"records used {len(records)}, rejected {rejected}")
        report = train(records, template, max_pairs=args.max_pairs, u_sample=args.u_sample,
                       seed=args.seed, prior_method=args.prior_method, recall=args.recall,
                       deterministic=deterministic, force=args.force,
                       tf_attributes=[a for a in args.term_frequencies.split(",") if a])
    except DegenerateModel as exc:
        print("\n".join(report_lines(exc.report)))
        print(f"idgraph train: not written: {exc} (--force writes it anyway)", file=sys.stderr)
        return 1
    except ValueError as exc:
        print(f"idgraph train: {exc}", file=sys.stderr)
        return 2
    print("\n".join(report_lines(report)))
    if report.refused:
        print(f"idgraph train: warning: {report.refused}; written because of --force",
              file=sys.stderr)
    args.out.write_text(rules_file_text(report), encoding="utf-8")
    print(f"wrote {args.out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
