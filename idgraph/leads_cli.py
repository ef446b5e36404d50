"""``idgraph leads``: grade a file of leads, or train a model on past outcomes.

Both open the configured graph directly (read-only), like ``idgraph export``: a local Neo4j
already serving on the configured Bolt port (``make run``) is reused.

- ``idgraph leads grade FILE``: a CSV with a header, either a ``one_id`` column or
  ``type``, ``value`` (and optionally ``scope``) columns naming an identifier; writes a CSV
  of grades (``--out``, default stdout): the row's key, OneID, grade, score, probability,
  do-not-contact, and the signals that scored, in words. A bad row gets its error instead.
- ``idgraph leads train``: samples the open leads of the past, fits a model on the earlier
  ones and prints how it, the default points and the recency-only rule rank the later
  ones (AUC, top-decile lift); ``--out`` saves the model for ``IDGRAPH_LEADS_MODEL``.
"""

from __future__ import annotations

import argparse
import csv
import sys
from collections.abc import Iterator, Sequence
from contextlib import ExitStack
from datetime import UTC, datetime
from pathlib import Path
from typing import TextIO

from idgraph.config import Settings
from idgraph.domain.leads import LeadGrade
from idgraph.domain.records import RawIdentifier
from idgraph.engine.leads import MAX_BATCH, LeadQuery, Leads
from idgraph.errors import IdGraphError, InvalidInput
from idgraph.lead_model import report, train

COLUMNS = ["key", "one_id", "grade", "score", "probability", "do_not_contact", "signals",
           "error"]


def add_arguments(parser: argparse.ArgumentParser) -> None:
    """The `leads` subcommands."""
    commands = parser.add_subparsers(dest="leads_command", required=True)
    grade = commands.add_parser("grade", help="grade a CSV of OneIDs or identifiers")
    grade.add_argument("file", type=Path, help="CSV: one_id, or type,value[,scope]")
    grade.add_argument("--out", type=Path, default=None, help="CSV to write (default stdout)")
    fit = commands.add_parser("train", help="fit a model on past outcomes and compare it "
                              "with the points and a recency-only rule on a time split")
    fit.add_argument("--horizon-days", type=float, default=30,
                     help="the outcome: a purchase within this many days (default 30)")
    fit.add_argument("--step-days", type=float, default=7,
                     help="leads are graded every this many days of the past (default 7)")
    fit.add_argument("--train-share", type=float, default=0.7,
                     help="share of the graded leads before the time cut-off (default 0.7)")
    fit.add_argument("--out", type=Path, default=None, help="where to save the model")


def run(args: argparse.Namespace, settings: Settings) -> int:
    """Run `idgraph leads grade` or `idgraph leads train`."""
    from idgraph.serve import build_engine, open_store

    with ExitStack() as stack:
        engine = build_engine(settings, open_store(settings, stack, reuse_local=True))
        stack.callback(engine.close)
        if args.leads_command == "grade":
            return grade_file(engine.leads, args.file, args.out)
        return _train(engine.leads, args)


def _queries(rows: Sequence[dict[str, str]]) -> list[LeadQuery]:
    return [LeadQuery(one_id=(row.get("one_id") or "").strip()) if row.get("one_id")
            else LeadQuery(identifier=RawIdentifier(row.get("type") or "", row.get("value") or "",
                                                    row.get("scope") or ""))
            for row in rows]


def _graded(leads: Leads, queries: Sequence[LeadQuery]) -> Iterator[LeadGrade | str]:
    """Grades in batches; a batch with a bad row is graded row by row, errors in words."""
    for start in range(0, len(queries), MAX_BATCH):
        batch = queries[start:start + MAX_BATCH]
        try:
            yield from leads.grade_many(batch)
        except IdGraphError:
            for query in batch:
                try:
                    yield leads.grade(query)
                except InvalidInput as exc:
                    yield "; ".join(f"{v.field}: {v.description}" for v in exc.violations)
                except IdGraphError as exc:
                    yield str(exc)


def grade_file(leads: Leads, path: Path, out: Path | None) -> int:
    """Grade the leads a CSV names; write the grades as CSV to `out` (None: stdout)."""
    with path.open(encoding="utf-8-sig", newline="") as handle:
        rows = list(csv.DictReader(handle))
    if rows and "one_id" not in rows[0] and "value" not in rows[0]:
        print(f"idgraph: {path}: needs a one_id column or type,value columns", file=sys.stderr)
        return 2
    with ExitStack() as stack:
        sink: TextIO = sys.stdout if out is None else stack.enter_context(
            out.open("w", encoding="utf-8", newline=""))
        writer = csv.writer(sink)
        writer.writerow(COLUMNS)
        for row, result in zip(rows, _graded(leads, _queries(rows)), strict=True):
            writer.writerow(_row(row.get("one_id") or row.get("value") or "", result))
    return 0


def _row(key: str, result: LeadGrade | str) -> list[str]:
    if isinstance(result, str):
        return [key, "", "", "", "", "", "", result]
    scored = "; ".join(f"{s.words} ({s.points:+d})" for s in result.signals if s.points)
    probability = "" if result.probability is None else f"{result.probability:.3f}"
    return [key, result.one_id, result.grade, str(result.score), probability,
            "yes" if result.do_not_contact else "", scored, ""]


def _train(leads: Leads, args: argparse.Namespace) -> int:
    if not 0 < args.train_share < 1 or args.horizon_days <= 0 or args.step_days <= 0:
        print("idgraph: --train-share in (0, 1), positive --horizon-days and --step-days",
              file=sys.stderr)
        return 2
    done = train(leads.history(), leads.points, args.horizon_days, args.step_days,
                 args.train_share)
    cut = datetime.fromtimestamp(done.cut / 1000, UTC).strftime("%Y-%m-%d")
    print(f"graded leads: {done.train:,} before {cut} (trained on), {done.test:,} after it "
          f"(held out); outcome: a purchase within {args.horizon_days:g} days\n")
    print(report(done.evaluation))
    if done.model is None:
        print("\nno model: the training side needs both purchases and leads without one",
              file=sys.stderr)
        return 1
    if args.out is not None:
        done.model.save(args.out)
        print(f"\nmodel saved to {args.out}: set IDGRAPH_LEADS_MODEL={args.out} to answer "
              "its probability in GradeLead")
    return 0
