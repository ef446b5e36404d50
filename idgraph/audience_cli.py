"""``idgraph audience``: preview, store, list and export audiences over AudienceService.

``export`` writes the members of a stored audience to a CSV or Parquet file, one row per
value sent (``one_id, kind, hash, value``): a media platform takes one kind and hash at a
time, so the file is filtered, not reshaped. It talks gRPC to a running service (the
export needs a key with the steward role), which records the export in the audience's
history.
"""

from __future__ import annotations

import argparse
import csv
import os
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import grpc
from rich.console import Console
from rich.table import Table

from idgraph.client import Client
from idgraph.v1 import audience_pb2 as pb

HASHES = {"plain": pb.HASH_ALGORITHM_PLAIN, "md5": pb.HASH_ALGORITHM_MD5,
          "sha256": pb.HASH_ALGORITHM_SHA256}
HASH_NAMES = {v: k for k, v in HASHES.items()}
COLUMNS = ("one_id", "kind", "hash", "value")


def add_arguments(parser: argparse.ArgumentParser) -> None:
    """The ``audience`` sub-command's arguments."""
    parser.add_argument("--server", default=None,
                        help="gRPC address of the service (default: IDGRAPH_GRPC_ADDR)")
    parser.add_argument("--key", default=None, help="API key (default: IDGRAPH_API_KEY)")
    parser.add_argument("--ca", default=None,
                        help="PEM file of the CA that signed the server's TLS certificate")
    actions = parser.add_subparsers(dest="action", required=True)
    preview = actions.add_parser("preview", help="size and a sample with reasons")
    preview.add_argument("definition", help="JSON, or @FILE holding it, or a stored name")
    preview.add_argument("--sample", type=int, default=10)
    create = actions.add_parser("create", help="store (or change) a named definition")
    create.add_argument("name")
    create.add_argument("definition", help="JSON, or @FILE holding it")
    create.add_argument("--owner", required=True, help="who answers for the audience")
    create.add_argument("--description", default="")
    actions.add_parser("list", help="stored audiences")
    export = actions.add_parser("export", help="write the members to a file")
    export.add_argument("name")
    export.add_argument("--format", choices=("csv", "parquet"), default="csv")
    export.add_argument("--out", type=Path, default=None,
                        help="file to write (default: NAME.csv or NAME.parquet)")
    export.add_argument("--identifiers", default="mobile",
                        help="comma-separated: mobile, imei, idfa, oaid or identifier types")
    export.add_argument("--hash", default="md5",
                        help="comma-separated: plain, md5, sha256 (default md5)")


def run(args: argparse.Namespace, default_server: str, console: Console | None = None) -> int:
    """Carry out one ``audience`` action; answers the exit code."""
    console = console or Console(width=None if sys.stdout.isatty() else 200)
    key = args.key or os.environ.get("IDGRAPH_API_KEY", "")
    with Client(args.server or default_server, api_key=key or None,
                root_certificates=args.ca, timeout=60) as client:
        try:
            if args.action == "preview":
                _preview(console, client, args)
            elif args.action == "create":
                answer = client.audiences.CreateAudience(pb.CreateAudienceRequest(
                    name=args.name, definition=_definition(args.definition),
                    owner=args.owner, description=args.description),
                    timeout=120, metadata=client.metadata)
                size = answer.audience.history[-1].size
                console.print(f"{answer.audience.name}: {size} people")
            elif args.action == "list":
                _list(console, client)
            else:
                return _export(console, client, args)
        except grpc.RpcError as error:
            console.print(f"[red]{error.code().name}[/red]: {error.details()}")
            return 1
    return 0


def _definition(text: str) -> str:
    return Path(text[1:]).read_text(encoding="utf-8") if text.startswith("@") else text


def _preview(console: Console, client: Client, args: argparse.Namespace) -> None:
    text = _definition(args.definition)
    request = (pb.PreviewAudienceRequest(definition=text, sample_size=args.sample)
               if text.lstrip().startswith("{")
               else pb.PreviewAudienceRequest(name=text, sample_size=args.sample))
    answer = client.audiences.PreviewAudience(request, timeout=120, metadata=client.metadata)
    console.print(f"{answer.size} people, {answer.exportable} with marketing consent "
                  f"(as of {answer.as_of.ToDatetime():%Y-%m-%d %H:%M:%S} UTC)")
    table = Table(title="sample")
    table.add_column("OneID")
    table.add_column("why")
    for member in answer.sample:
        table.add_row(member.one_id, "\n".join(member.reasons))
    console.print(table)


def _list(console: Console, client: Client) -> None:
    table = Table(title="audiences")
    for column in ("name", "owner", "created by", "last size", "exports", "definition"):
        table.add_column(column)
    token = ""
    while True:
        page = client.audiences.ListAudiences(pb.ListAudiencesRequest(page_token=token),
                                              timeout=60, metadata=client.metadata)
        for a in page.audiences:
            exports = sum(1 for e in a.history if e.kind == "exported")
            table.add_row(a.name, a.owner, a.created_by,
                          str(a.history[-1].size if a.history else ""), str(exports),
                          a.definition)
        token = page.next_page_token
        if not token:
            break
    console.print(table)


def _rows(responses: Iterator[pb.ExportAudienceResponse], summary: pb.ExportSummary
          ) -> Iterator[list[tuple[str, str, str, str]]]:
    for response in responses:
        if response.HasField("summary"):
            summary.CopyFrom(response.summary)
        if response.people:
            yield [(p.one_id, i.kind, HASH_NAMES.get(i.hash, ""), i.value)
                   for p in response.people for i in p.identifiers]


def _export(console: Console, client: Client, args: argparse.Namespace) -> int:
    hashes = [h.strip() for h in args.hash.split(",") if h.strip()]
    wrong = [h for h in hashes if h not in HASHES]
    if wrong:
        console.print(f"[red]--hash[/red]: {wrong[0]!r} is not one of plain, md5, sha256")
        return 2
    out = args.out or Path(f"{args.name}.{args.format}")
    responses = client.audiences.ExportAudience(pb.ExportAudienceRequest(
        name=args.name, identifiers=[i.strip() for i in args.identifiers.split(",")
                                     if i.strip()],
        hashes=[HASHES[h] for h in hashes], format=args.format),
        timeout=3600, metadata=client.metadata)
    summary = pb.ExportSummary()
    rows = _rows(responses, summary)
    written = _write_parquet(out, rows) if args.format == "parquet" else _write_csv(out, rows)
    excluded = ", ".join(f"{k} {v}" for k, v in sorted(summary.excluded.items()) if v)
    console.print(f"{out}: {summary.exported} of {summary.members} members, {written} rows"
                  + (f"; left out: {excluded}" if excluded else ""))
    return 0


def _write_csv(out: Path, pages: Iterator[list[tuple[str, str, str, str]]]) -> int:
    written = 0
    with out.open("w", newline="", encoding="utf-8") as handle:
        writer = csv.writer(handle)
        writer.writerow(COLUMNS)
        for page in pages:
            writer.writerows(page)
            written += len(page)
    return written


def _write_parquet(out: Path, pages: Iterator[list[tuple[str, str, str, str]]]) -> int:
    import pyarrow as pa
    import pyarrow.parquet as pq

    schema = pa.schema([(c, pa.string()) for c in COLUMNS])
    written = 0
    with pq.ParquetWriter(out, schema) as writer:
        for page in pages:
            columns: dict[str, Any] = {c: [row[i] for row in page] for i, c in enumerate(COLUMNS)}
            writer.write_table(pa.table(columns, schema=schema))
            written += len(page)
    return written
