"""``idgraph review``: a data steward's terminal over StewardService.

``list`` shows open review tasks, ``show`` puts the task's people side by side (fields
that differ marked and highlighted) with the score breakdown, ``decide`` merges them or
keeps them apart. It talks gRPC to a running service, with the steward's API key.
"""

from __future__ import annotations

import argparse
import os
import sys
from collections.abc import Sequence

from rich.console import Console
from rich.table import Table

from idgraph.client import Client, IdgraphError
from idgraph.v1 import identity_pb2 as ipb
from idgraph.v1 import steward_pb2 as pb

DIFFERS = "≠"


def add_arguments(parser: argparse.ArgumentParser) -> None:
    """The ``review`` sub-command's arguments."""
    parser.add_argument("--server", default=None,
                        help="gRPC address of the service (default: IDGRAPH_GRPC_ADDR)")
    parser.add_argument("--key", default=None,
                        help="API key with the steward role (default: IDGRAPH_API_KEY)")
    parser.add_argument("--ca", default=None,
                        help="PEM file of the CA that signed the server's TLS certificate")
    actions = parser.add_subparsers(dest="action")
    listing = actions.add_parser("list", help="open review tasks, oldest first (default)")
    listing.add_argument("--limit", type=int, default=20)
    listing.add_argument("--source", default="")
    listing.add_argument("--largest-first", action="store_true",
                         help="what a decision changes first: most records, then people")
    show = actions.add_parser("show", help="one task: its people side by side")
    show.add_argument("task_id")
    decide = actions.add_parser("decide", help="merge the task's people or keep them apart")
    decide.add_argument("task_id")
    choice = decide.add_mutually_exclusive_group(required=True)
    choice.add_argument("--merge", action="store_true")
    choice.add_argument("--keep-apart", action="store_true")
    decide.add_argument("--reason", required=True, help="why; kept in the history")


def run(args: argparse.Namespace, default_server: str, console: Console | None = None) -> int:
    """Carry out one ``review`` action; answers the exit code."""
    # Piped output (a file, a test) is not cut to 80 columns.
    console = console or Console(width=None if sys.stdout.isatty() else 200)
    server = args.server or default_server
    key = args.key or os.environ.get("IDGRAPH_API_KEY", "")
    with Client(server, api_key=key or None, root_certificates=args.ca, timeout=30) as client:
        try:
            if args.action == "show":
                _show(console, client.get_review_task(task_id=args.task_id))
            elif args.action == "decide":
                decision = (pb.REVIEW_DECISION_MERGE if args.merge
                            else pb.REVIEW_DECISION_KEEP_APART)
                answer = client.decide_review_task(task_id=args.task_id, decision=decision,
                                                   reason=args.reason)
                if args.merge:
                    console.print(f"merged into {answer.one_id}: "
                                  + ", ".join(answer.merged_one_ids))
                else:
                    console.print(f"kept apart: {answer.task.one_id} and "
                                  + ", ".join(answer.task.candidate_one_ids))
            else:
                _list(console, client.list_review_tasks(
                    status=pb.REVIEW_STATUS_OPEN, page_size=getattr(args, "limit", 20),
                    source=getattr(args, "source", ""),
                    order=(pb.REVIEW_ORDER_LARGEST_FIRST if getattr(args, "largest_first", False)
                           else pb.REVIEW_ORDER_OLDEST_FIRST)))
        except IdgraphError as error:
            console.print(f"[red]{error.code.name}[/red]: {error.message}")
            return 1
    return 0


def _list(console: Console, answer: pb.ListReviewTasksResponse) -> None:
    table = Table(title=f"open review tasks ({len(answer.tasks)}"
                  + (", more" if answer.next_page_token else "") + ")")
    for column in ("task", "opened", "score", "record", "person", "candidates",
                   "people/records", "reason"):
        table.add_column(column)
    for task in answer.tasks:
        table.add_row(task.task_id, task.created_at.ToDatetime().strftime("%Y-%m-%d %H:%M"),
                      f"{task.score:.1f}", f"{task.source}/{task.source_record_id}",
                      task.one_id, "\n".join(task.candidate_one_ids),
                      f"{task.people_involved}/{task.records_involved}",
                      task.reason)
    console.print(table)


def side_by_side(sides: Sequence[ipb.Profile]) -> list[tuple[str, list[str], bool]]:
    """Rows of (field, each side's value, whether the sides differ): golden attributes,
    then identifier types."""
    rows: list[tuple[str, list[str], bool]] = []
    names = sorted({a.name for side in sides for a in side.attributes})
    for name in names:
        values = [next((a.value for a in side.attributes if a.name == name), "")
                  for side in sides]
        rows.append((name, values, len(set(values)) > 1))
    types = sorted({i.type for side in sides for i in side.identifiers})
    for type_name in types:
        values = [", ".join(sorted(i.value for i in side.identifiers if i.type == type_name))
                  for side in sides]
        rows.append((type_name, values, len(set(values)) > 1))
    return rows


def _show(console: Console, answer: pb.GetReviewTaskResponse) -> None:
    task = answer.task
    console.print(f"task {task.task_id}: {task.reason} (score {task.score:.2f}, "
                  f"record {task.source}/{task.source_record_id})")
    people = Table(title="the people, side by side")
    people.add_column("field")
    people.add_column(DIFFERS)
    for side in answer.sides:
        people.add_column(side.one_id)
    for name, values, differs in side_by_side(answer.sides):
        style = "bold red" if differs else "green"
        people.add_row(name, DIFFERS if differs else "",
                       *[f"[{style}]{v}[/{style}]" if v else "" for v in values])
    people.add_row("records", "", *[str(len(side.records)) for side in answer.sides])
    console.print(people)
    for candidate in answer.candidates:
        scores = Table(title=f"record against {candidate.one_id}: {candidate.score:.2f} bits"
                       + (" (conflict)" if candidate.conflict else ""))
        for column in ("comparison", "level", "bits", "record", "candidate", "note"):
            scores.add_column(column)
        for c in candidate.comparisons:
            colour = "green" if c.weight > 0 else "red" if c.weight < 0 else "white"
            scores.add_row(c.name, c.level, f"[{colour}]{c.weight:+.2f}[/{colour}]",
                           c.left_value, c.right_value, c.note)
        console.print(scores)
