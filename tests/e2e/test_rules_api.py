"""RulesService through a real server and client over a real Neo4j: preview, apply, the
service resolving with the applied rules, errors naming the field, the admin role, and
`idgraph rules` on the command line."""

from __future__ import annotations

import argparse
import hashlib
import io
from collections.abc import Iterator
from pathlib import Path

import grpc
import pytest
from grpc_status import rpc_status

from idgraph.api.auth import ApiKeys
from idgraph.api.server import RunningServer, build_server
from idgraph.client import Client, violations_of
from idgraph.domain.rules import DEFAULT_RULES_PATH
from idgraph.engine import IdentityEngine
from idgraph.rules_cli import run
from idgraph.v1 import identity_pb2 as ipb
from idgraph.v1 import rules_pb2 as pb
from idgraph.v1 import rules_pb2_grpc as pb_grpc
from idgraph.v1 import steward_pb2 as spb
from tests.integration.helpers import node_counts

pytestmark = pytest.mark.e2e

DEFAULT_TOML = DEFAULT_RULES_PATH.read_text(encoding="utf-8")
# Attributes alone may link: a full name with a birth date and gender then links (the
# default only opens a review task for it).
LOOSE_TOML = DEFAULT_TOML.replace("require_identifier_evidence = true",
                                  "require_identifier_evidence = false", 1)


def person(rid: str, phone: str) -> ipb.SourceRecord:
    return ipb.SourceRecord(source="crm", source_record_id=rid,
                            identifiers=[ipb.Identifier(type="phone", value=phone)],
                            attributes={"name": "欧阳梓萱", "birth_date": "1990-03-04",
                                        "gender": "F"})


@pytest.fixture
def rules_stub(channel: grpc.Channel) -> pb_grpc.RulesServiceStub:
    return pb_grpc.RulesServiceStub(channel)  # type: ignore[no-untyped-call]


def ingest_two(stub: object) -> tuple[str, str]:
    first = stub.Ingest(ipb.IngestRequest(record=person("1", "13912345678")))  # type: ignore[attr-defined]
    second = stub.Ingest(ipb.IngestRequest(record=person("2", "13687654321")))  # type: ignore[attr-defined]
    assert first.one_id != second.one_id
    return first.one_id, second.one_id


def test_preview_then_apply_merges_and_the_service_uses_the_rules(
        stub: object, steward: object, rules_stub: pb_grpc.RulesServiceStub,
        engine: IdentityEngine) -> None:
    first, second = ingest_two(stub)
    counts = node_counts(engine.core.store)  # type: ignore[arg-type]
    preview = rules_stub.PreviewRules(pb.PreviewRulesRequest(rules_toml=LOOSE_TOML))
    assert node_counts(engine.core.store) == counts  # type: ignore[arg-type]
    changes = preview.changes
    assert (changes.merges_made_count, changes.merges_undone_count) == (1, 0)
    assert list(changes.merges_made[0].one_ids) == sorted([first, second])
    assert preview.rules_digest != preview.current_rules_digest
    applied = rules_stub.ApplyRules(pb.ApplyRulesRequest(rules_toml=LOOSE_TOML))
    assert applied.changes == changes and applied.rules_digest == preview.rules_digest
    profile = stub.GetProfile(ipb.GetProfileRequest(one_id=second))  # type: ignore[attr-defined]
    assert profile.profile.one_id == first and len(profile.profile.records) == 2
    history = steward.GetHistory(spb.GetHistoryRequest(one_id=first))  # type: ignore[attr-defined]
    assert any(e.rule == "rules" for e in history.entries)
    # the service resolves with the applied rules now: a third record links by attributes
    third = stub.Ingest(ipb.IngestRequest(record=person("3", "13511112222")))  # type: ignore[attr-defined]
    assert third.one_id == first
    status = rules_stub.GetAppliedRules(pb.GetAppliedRulesRequest())
    assert status.rules_digest == status.current_rules_digest == applied.rules_digest
    assert status.rules_toml == LOOSE_TOML


def test_bad_rules_are_invalid_argument_naming_the_field(
        rules_stub: pb_grpc.RulesServiceStub) -> None:
    bad = DEFAULT_TOML.replace("link = 0.99", "link = 'high'", 1)
    for call in (rules_stub.PreviewRules, rules_stub.ApplyRules):
        with pytest.raises(grpc.RpcError) as error:
            call(pb.PreviewRulesRequest(rules_toml=bad) if call == rules_stub.PreviewRules
                 else pb.ApplyRulesRequest(rules_toml=bad))
        assert error.value.code() == grpc.StatusCode.INVALID_ARGUMENT
        violations = violations_of(rpc_status.from_call(error.value))
        assert violations[0].field == "rules_toml"
        assert violations[0].description.startswith("thresholds.link")


KEYS = {"steward": "steward-key-0123456789", "admin": "admin-key-0123456789"}


@pytest.fixture
def secured(engine: IdentityEngine, tmp_path: Path) -> Iterator[RunningServer]:
    path = tmp_path / "keys.toml"
    path.write_text("\n".join(
        f'[[keys]]\nactor = "{role}-bot"\nroles = ["{role}"]\n'
        f'sha256 = "{hashlib.sha256(key.encode()).hexdigest()}"\n'
        for role, key in KEYS.items()), encoding="utf-8")
    running = build_server(engine, "127.0.0.1:0", api_keys=ApiKeys.load(path))
    yield running
    running.stop(grace=1)


def test_only_admin_may_preview_or_apply(secured: RunningServer, clean_store: object) -> None:
    with grpc.insecure_channel(f"127.0.0.1:{secured.port}") as channel:
        rules = pb_grpc.RulesServiceStub(channel)  # type: ignore[no-untyped-call]
        for role, key in KEYS.items():
            metadata = [("authorization", f"Bearer {key}")]
            for call, request in ((rules.PreviewRules, pb.PreviewRulesRequest),
                                  (rules.ApplyRules, pb.ApplyRulesRequest)):
                if role == "admin":
                    call(request(rules_toml=DEFAULT_TOML), metadata=metadata, timeout=30)
                    continue
                with pytest.raises(grpc.RpcError) as error:
                    call(request(rules_toml=DEFAULT_TOML), metadata=metadata, timeout=30)
                assert error.value.code() == grpc.StatusCode.PERMISSION_DENIED


def test_the_command_line_previews_and_applies(
        stub: object, grpc_server: RunningServer, tmp_path: Path) -> None:
    first, second = ingest_two(stub)
    path = tmp_path / "new.toml"
    path.write_text(LOOSE_TOML, encoding="utf-8")

    def cli(*argv: str) -> str:
        parser = argparse.ArgumentParser()
        from idgraph.rules_cli import add_arguments

        add_arguments(parser)
        out = io.StringIO()
        assert run(parser.parse_args(list(argv)), f"127.0.0.1:{grpc_server.port}", out) == 0
        return out.getvalue()

    shown = cli("preview", str(path))
    assert "merges made                  1" in shown and first in shown
    assert '"mergesMadeCount": "1"' in cli("preview", str(path), "--json")
    assert "merges made                  1" in cli("apply", str(path))
    assert "merges made                  0" in cli("preview", str(path))
    assert "the service resolves with the same" in cli("status")
    with Client(f"127.0.0.1:{grpc_server.port}") as client:
        assert client.get_profile(one_id=second).profile.one_id == first
