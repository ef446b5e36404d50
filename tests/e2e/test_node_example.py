"""examples/node runs as a Node user runs it (`node example.mjs host:port`) against a real
server: the protos load from proto/ with no download, the two records become one person,
and a refused call's field violation is decoded from grpc-status-details-bin."""

from __future__ import annotations

import re
import shutil
import subprocess

import pytest

from idgraph.api.server import RunningServer
from idgraph.v1 import identity_pb2 as pb
from idgraph.v1 import identity_pb2_grpc as pb_grpc
from tests.conftest import ROOT

pytestmark = pytest.mark.e2e
EXAMPLE = ROOT / "examples" / "node"


def test_the_node_example_ingests_reads_and_decodes_a_refusal(
        grpc_server: RunningServer, stub: pb_grpc.IdentityServiceStub) -> None:
    node = shutil.which("node")
    assert node, "node is needed (make test installs the example's packages with npm)"
    assert (EXAMPLE / "node_modules" / "@grpc" / "grpc-js").is_dir(), "run make deps"
    done = subprocess.run([node, "example.mjs", f"127.0.0.1:{grpc_server.port}"],
                          cwd=EXAMPLE, capture_output=True, text=True, timeout=120,
                          check=False)
    assert done.returncode == 0, done.stdout + done.stderr
    out = done.stdout
    crm = re.search(r"crm record  -> (oid_\w+) \(DECISION_NEW\)", out)
    app = re.search(r"app record  -> (oid_\w+) \(DECISION_LINKED\)", out)
    assert crm and app and crm.group(1) == app.group(1), out
    assert f"profile {crm.group(1)}: 2 records from app, crm" in out
    assert re.search(r"refused: INVALID_ARGUMENT record\.vehicles\[0\]\.vin: \S", out), out
    # what the graph holds: one person with both records, the refused record absent
    profile = stub.GetProfile(pb.GetProfileRequest(one_id=crm.group(1)), timeout=10).profile
    assert sorted(r.source_record_id for r in profile.records) == [
        "node-example-app-7", "node-example-crm-1"]
    found = stub.Resolve(pb.ResolveRequest(identifiers=[pb.Identifier(
        type="phone", value="13912345678")]), timeout=10)
    assert found.one_id == crm.group(1)
