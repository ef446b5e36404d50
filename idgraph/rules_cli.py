"""``idgraph rules``: preview other match rules over the live graph, apply them, and show
the rules last applied. It talks gRPC to the running service (RulesService, admin key), so
that the service itself resolves with the rules it applied."""

from __future__ import annotations

import argparse
import os
import sys
from pathlib import Path
from typing import TextIO

import grpc
from google.protobuf.json_format import MessageToJson
from grpc_status import rpc_status

from idgraph.client import Client, violations_of
from idgraph.v1 import rules_pb2 as pb
from idgraph.v1 import rules_pb2_grpc as pb_grpc


def add_arguments(parser: argparse.ArgumentParser) -> None:
    """The ``rules`` sub-command's arguments."""
    parser.add_argument("--server", default=None,
                        help="gRPC address of the service (default: IDGRAPH_GRPC_ADDR)")
    parser.add_argument("--key", default=None,
                        help="API key with the admin role (default: IDGRAPH_API_KEY)")
    parser.add_argument("--ca", default=None,
                        help="PEM file of the CA that signed the server's TLS certificate")
    parser.add_argument("--timeout", type=float, default=3600.0,
                        help="seconds the call may take (default 3600)")
    actions = parser.add_subparsers(dest="action", required=True)
    for name, text in (("preview", "what the rules would change now (writes nothing)"),
                       ("apply", "re-resolve the people the rules change, in place, and "
                        "resolve with the rules from now on")):
        action = actions.add_parser(name, help=text)
        action.add_argument("rules_file", type=Path, help="the new rules file (TOML)")
        action.add_argument("--json", action="store_true", help="the answer as JSON")
        action.add_argument("--examples", type=int, default=5,
                            help="examples of each kind of change (default 5)")
        action.add_argument("--listed", type=int, default=100,
                            help="merges made / undone and review tasks listed in --json, "
                            "at most each (default 100)")
    status = actions.add_parser("status", help="the rules last applied, and whether the "
                                "service resolves with them")
    status.add_argument("--json", action="store_true", help="the answer as JSON")


def run(args: argparse.Namespace, default_server: str, out: TextIO = sys.stdout) -> int:
    """Carry out one ``rules`` action; answers the exit code."""
    key = args.key or os.environ.get("IDGRAPH_API_KEY", "")
    with Client(args.server or default_server, api_key=key or None,
                root_certificates=args.ca) as client:
        stub = pb_grpc.RulesServiceStub(client.channel)  # type: ignore[no-untyped-call]
        try:
            if args.action == "status":
                answer = stub.GetAppliedRules(pb.GetAppliedRulesRequest(),
                                              timeout=args.timeout, metadata=client.metadata)
                _print_status(answer, args.json, out)
                return 0
            toml = args.rules_file.read_text(encoding="utf-8")
            if args.action == "preview":
                preview = stub.PreviewRules(pb.PreviewRulesRequest(
                    rules_toml=toml, max_examples=args.examples, max_listed=args.listed),
                    timeout=args.timeout, metadata=client.metadata)
                _print_changes(preview, "would change", args.json, out)
            else:
                applied = stub.ApplyRules(pb.ApplyRulesRequest(
                    rules_toml=toml, max_examples=args.examples, max_listed=args.listed),
                    timeout=args.timeout, metadata=client.metadata)
                _print_changes(applied, "changed", args.json, out)
        except grpc.RpcError as error:
            print(_explained(error), file=sys.stderr)
            return 1
    return 0


def _explained(error: grpc.RpcError) -> str:
    if not isinstance(error, grpc.Call):
        return f"idgraph rules: {error}"
    status = rpc_status.from_call(error)
    fields = "".join(f"\n  {v.field}: {v.description}"
                     for v in (violations_of(status) if status is not None else []))
    return f"idgraph rules: {error.code().name}: {error.details()}{fields}"


def _print_changes(answer: pb.PreviewRulesResponse | pb.ApplyRulesResponse, verb: str,
                   as_json: bool, out: TextIO) -> None:
    if as_json:
        print(MessageToJson(answer, ensure_ascii=False, indent=2), file=out)
        return
    for line in summary(answer.changes, verb, answer.rules_digest):
        print(line, file=out)


def summary(c: pb.RuleChanges, verb: str, digest: str) -> list[str]:
    """A readable summary of a preview or an apply, with examples."""
    lines = [f"rules {digest} {verb}:",
             f"  records              {c.records:>9}",
             f"  people               {c.people_before:>9} -> {c.people_after}",
             f"  merges made          {c.merges_made_count:>9}   (record pairs joined "
             f"{c.pairs_joined})",
             f"  merges undone        {c.merges_undone_count:>9}   (record pairs separated "
             f"{c.pairs_separated})",
             f"  people affected      {c.people_affected_count:>9}   (new OneIDs "
             f"{c.new_people}, records moving {c.records_moved})",
             f"  review tasks opened  {c.review_tasks_count:>9}"]
    if c.examples:
        lines.append("examples:")
    for e in c.examples:
        who = " + ".join(e.one_ids) if e.kind == "merge" else e.one_ids[0]
        lines.append(f"  {e.kind:5} {who}: {len(e.record_keys)} records "
                     f"({', '.join(e.record_keys[:4])}{', ...' if len(e.record_keys) > 4 else ''})"
                     f"; {e.record_key} {e.decision} at p={e.probability:.4f}")
    for t in c.review_tasks[:5]:
        lines.append(f"  review {t.record_key} on {t.one_id or '(new)'} against "
                     f"{', '.join(x or '(new)' for x in t.candidate_one_ids)}: {t.reason} "
                     f"({t.score:.1f} bits)")
    return lines


def _print_status(answer: pb.GetAppliedRulesResponse, as_json: bool, out: TextIO) -> None:
    if as_json:
        print(MessageToJson(answer, ensure_ascii=False, indent=2), file=out)
        return
    if not answer.rules_digest:
        print(f"no rules applied yet; the service resolves with rules "
              f"{answer.current_rules_digest}", file=out)
        return
    same = "the same" if answer.rules_digest == answer.current_rules_digest else "OTHER rules"
    print(f"rules {answer.rules_digest} applied by {answer.actor} "
          f"(at {answer.applied_at_ms} ms); the service resolves with {same} "
          f"({answer.current_rules_digest})", file=out)
