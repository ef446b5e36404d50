"""AudienceService through a real gRPC server and client over a real Neo4j: preview, create,
get, list, a streamed export with hashed identifiers, expansion, and errors naming the
field or the clause."""

from __future__ import annotations

import csv
import hashlib
import json
from pathlib import Path

import grpc
import pyarrow.parquet as pq
import pytest

from idgraph.api.server import RunningServer
from idgraph.cli import main
from idgraph.v1 import audience_pb2 as apb
from idgraph.v1 import audience_pb2_grpc as apb_grpc
from idgraph.v1 import identity_pb2 as pb
from idgraph.v1 import identity_pb2_grpc as pb_grpc
from tests.e2e.test_grpc_api import bad_request, ingest, record
from tests.integration.test_audiences import vin

pytestmark = pytest.mark.e2e

CONSENTED = json.dumps({"consent": "given"})


@pytest.fixture
def audiences(channel: grpc.Channel) -> apb_grpc.AudienceServiceStub:
    return apb_grpc.AudienceServiceStub(channel)


@pytest.fixture
def people(stub: pb_grpc.IdentityServiceStub, clean_store: object) -> list[str]:
    return [ingest(stub, record(str(n), ("phone", f"1390000000{n}"), name=name, city="上海",
                                consent_marketing="true" if n < 3 else "false")).one_id
            for n, name in enumerate(["张伟", "李娜", "王芳", "刘洋"])]


def test_preview_create_get_list_and_export(audiences: apb_grpc.AudienceServiceStub,
                                            people: list[str]) -> None:
    preview = audiences.PreviewAudience(apb.PreviewAudienceRequest(
        definition=json.dumps({"attribute": {"name": "city", "in": ["上海"]}}),
        sample_size=2), timeout=30)
    assert (preview.size, preview.exportable, len(preview.sample)) == (4, 3, 2)
    assert preview.sample[0].reasons == ["city 上海"] and preview.as_of.seconds > 0
    created = audiences.CreateAudience(apb.CreateAudienceRequest(
        name="sh-consented", definition=CONSENTED, owner="crm-team",
        description="consented"), timeout=30).audience
    assert (created.owner, created.created_by, created.history[0].kind,
            created.history[0].size) == ("crm-team", "anonymous", "created", 3)
    chunks = list(audiences.ExportAudience(apb.ExportAudienceRequest(
        name="sh-consented", identifiers=["mobile"],
        hashes=[apb.HASH_ALGORITHM_SHA256]), timeout=30))
    sent = {p.one_id: [(i.kind, i.hash, i.value) for i in p.identifiers]
            for c in chunks for p in c.people}
    assert sent[people[0]] == [("mobile", apb.HASH_ALGORITHM_SHA256,
                                hashlib.sha256(b"13900000000").hexdigest())]
    assert set(sent) == set(people[:3])
    summary = chunks[-1].summary
    assert (summary.members, summary.exported, dict(summary.excluded)["no_consent"]) == (3, 3, 0)
    got = audiences.GetAudience(apb.GetAudienceRequest(name="sh-consented"), timeout=30)
    assert got.audience.size == 3
    assert [(e.kind, e.exported, list(e.identifiers), e.format)
            for e in got.audience.history] == [("created", 0, [], ""),
                                               ("exported", 3, ["mobile"], "grpc")]
    by_name = audiences.PreviewAudience(apb.PreviewAudienceRequest(name="sh-consented"),
                                        timeout=30)
    assert by_name.size == 3
    for n in range(3):
        audiences.CreateAudience(apb.CreateAudienceRequest(
            name=f"extra-{n}", definition=CONSENTED, owner="x"), timeout=30)
    first = audiences.ListAudiences(apb.ListAudiencesRequest(page_size=3), timeout=30)
    second = audiences.ListAudiences(apb.ListAudiencesRequest(
        page_size=3, page_token=first.next_page_token), timeout=30)
    assert [a.name for a in first.audiences] + [a.name for a in second.audiences] == [
        "extra-0", "extra-1", "extra-2", "sh-consented"]
    assert not second.next_page_token


def test_errors_name_the_field_or_the_clause(audiences: apb_grpc.AudienceServiceStub,
                                             people: list[str]) -> None:
    cases = [
        (audiences.PreviewAudience, apb.PreviewAudienceRequest(
            definition='{"and": [{"vehicle": {"relation": "owns_now", "make": []}}]}'),
         "definition.and[0].vehicle.make"),
        (audiences.PreviewAudience, apb.PreviewAudienceRequest(definition=CONSENTED,
                                                               sample_size=1000),
         "sample_size"),
        (audiences.PreviewAudience, apb.PreviewAudienceRequest(), "definition"),
        (audiences.CreateAudience, apb.CreateAudienceRequest(
            name="UPPER", definition=CONSENTED, owner="x"), "name"),
        (audiences.CreateAudience, apb.CreateAudienceRequest(
            name="ok", definition=CONSENTED), "owner"),
        (audiences.ExpandAudience, apb.ExpandAudienceRequest(definition=CONSENTED,
                                                             target_size=0), "target_size"),
        (audiences.ListAudiences, apb.ListAudiencesRequest(page_token="%%%"), "page_token"),
    ]
    for method, request, field in cases:
        with pytest.raises(grpc.RpcError) as refused:
            method(request, timeout=30)
        assert refused.value.code() == grpc.StatusCode.INVALID_ARGUMENT, field
        assert bad_request(refused.value) == [field]
    audiences.CreateAudience(apb.CreateAudienceRequest(
        name="ok", definition=CONSENTED, owner="x"), timeout=30)
    for request, field in [
            (apb.ExportAudienceRequest(name="ok", identifiers=["fax"],
                                       hashes=[apb.HASH_ALGORITHM_MD5]), "identifiers[0]"),
            (apb.ExportAudienceRequest(name="ok", identifiers=["mobile"], hashes=[7]),
             "hashes[0]"),
            (apb.ExportAudienceRequest(name="ok", identifiers=["mobile"]), "hashes")]:
        with pytest.raises(grpc.RpcError) as refused:
            list(audiences.ExportAudience(request, timeout=30))
        assert refused.value.code() == grpc.StatusCode.INVALID_ARGUMENT, field
        assert bad_request(refused.value) == [field]
    with pytest.raises(grpc.RpcError) as missing:
        audiences.GetAudience(apb.GetAudienceRequest(name="nobody"), timeout=30)
    assert missing.value.code() == grpc.StatusCode.NOT_FOUND


def test_expand_an_audience(audiences: apb_grpc.AudienceServiceStub,
                            stub: pb_grpc.IdentityServiceStub, people: list[str]) -> None:
    owners = [ingest(stub, record(
        f"o{n}", ("phone", f"1380000000{n}"), name=f"客户{n}", source="dms", dealer="SH001",
        city="上海" if n < 2 else "北京",
        vehicles=[pb.VehicleLink(relation=pb.VEHICLE_RELATION_OWNER, model="Passat",
                                 vin=vin("LSVAA418", "L", f"100000{n}"))])).one_id
        for n in range(6)]
    grown = audiences.ExpandAudience(apb.ExpandAudienceRequest(
        definition=json.dumps({"and": [{"vehicle": {"model": ["Passat"]}},
                                       {"attribute": {"name": "city", "in": ["上海"]}}]}),
        target_size=3), timeout=60).customers
    assert len(grown) == 3
    assert {c.one_id for c in grown} <= set(owners[2:])
    assert all("Passat" in c.explanation for c in grown)


def test_the_cli_previews_creates_lists_and_exports_csv_and_parquet(
        grpc_server: RunningServer, people: list[str], tmp_path: Path,
        capsys: pytest.CaptureFixture[str]) -> None:
    server = ["audience", "--server", f"127.0.0.1:{grpc_server.port}"]
    definition = tmp_path / "sh.json"
    definition.write_text(json.dumps({"attribute": {"name": "city", "in": ["上海"]}}),
                          encoding="utf-8")
    assert main([*server, "preview", f"@{definition}", "--sample", "1"]) == 0
    assert "4 people, 3 with marketing consent" in capsys.readouterr().out
    assert main([*server, "create", "sh", f"@{definition}", "--owner", "crm"]) == 0
    assert "sh: 4 people" in capsys.readouterr().out
    assert main([*server, "list"]) == 0
    assert "crm" in capsys.readouterr().out
    out = tmp_path / "sh.csv"
    assert main([*server, "export", "sh", "--out", str(out), "--hash", "md5,sha256"]) == 0
    assert "3 of 4 members, 6 rows; left out: no_consent 1" in capsys.readouterr().out
    with out.open(encoding="utf-8") as handle:
        rows = list(csv.DictReader(handle))
    assert {(r["one_id"], r["hash"], r["value"]) for r in rows} >= {
        (people[1], "md5", hashlib.md5(b"13900000001").hexdigest()),
        (people[1], "sha256", hashlib.sha256(b"13900000001").hexdigest())}
    parquet = tmp_path / "sh.parquet"
    assert main([*server, "export", "sh", "--format", "parquet", "--out", str(parquet),
                 "--hash", "plain"]) == 0
    table = pq.read_table(parquet).to_pylist()
    assert sorted(r["value"] for r in table) == ["13900000000", "13900000001", "13900000002"]
    assert main([*server, "export", "sh", "--hash", "sha1"]) == 2
    assert main([*server, "export", "nobody", "--out", str(tmp_path / "x.csv")]) == 1
    assert "NOT_FOUND" in capsys.readouterr().out
