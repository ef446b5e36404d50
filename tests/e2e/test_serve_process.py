"""`idgraph serve` as a user runs it: a real process, real signals, real Neo4j."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
import urllib.request
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import grpc
import pytest
from grpc_health.v1 import health_pb2, health_pb2_grpc

from idgraph.localdb import free_port, port_open
from idgraph.store.neo4j_store import Neo4jStore
from idgraph.v1 import identity_pb2 as pb
from idgraph.v1 import identity_pb2_grpc as pb_grpc
from tests.conftest import ROOT

pytestmark = pytest.mark.e2e


@contextmanager
def serving(env: dict[str, str], log: Path) -> Iterator[tuple[subprocess.Popen[bytes], int]]:
    port = free_port()
    full_env = {**os.environ, **env, "IDGRAPH_GRPC_ADDR": f"127.0.0.1:{port}",
                "IDGRAPH_SHUTDOWN_GRACE": "2"}
    with log.open("wb") as out:
        process = subprocess.Popen([sys.executable, str(ROOT / "server.py")], cwd=ROOT,
                                   env=full_env, stdout=out, stderr=subprocess.STDOUT)
    try:
        wait_serving(process, port, log)
        yield process, port
    finally:
        if process.poll() is None:
            process.kill()
            process.wait()


def wait_serving(process: subprocess.Popen[bytes], port: int, log: Path) -> None:
    deadline = time.monotonic() + 180
    with grpc.insecure_channel(f"127.0.0.1:{port}") as channel:
        health = health_pb2_grpc.HealthStub(channel)
        while time.monotonic() < deadline:
            assert process.poll() is None, f"server exited early:\n{log.read_text()}"
            try:
                answer = health.Check(health_pb2.HealthCheckRequest(), timeout=1)
                if answer.status == health_pb2.HealthCheckResponse.SERVING:
                    return
            except grpc.RpcError:
                time.sleep(0.5)
    pytest.fail(f"server never became SERVING:\n{log.read_text()}")


def ingest_one(port: int) -> pb.IngestResponse:
    with grpc.insecure_channel(f"127.0.0.1:{port}") as channel:
        stub = pb_grpc.IdentityServiceStub(channel)
        return stub.Ingest(pb.IngestRequest(record=pb.SourceRecord(
            source="crm", source_record_id=f"serve-{port}",
            identifiers=[pb.Identifier(type="phone", value="13912345678")])), timeout=10)


def stop_gracefully(process: subprocess.Popen[bytes], log: Path) -> None:
    process.send_signal(signal.SIGTERM)
    assert process.wait(timeout=60) == 0, log.read_text()


def test_serve_against_configured_neo4j(neo4j_uri: str, tmp_path: Path) -> None:
    log = tmp_path / "serve.log"
    metrics, console = f"127.0.0.1:{free_port()}", f"127.0.0.1:{free_port()}"
    with serving({"IDGRAPH_NEO4J_URI": neo4j_uri, "IDGRAPH_METRICS_ADDR": metrics,
                  "IDGRAPH_CONSOLE_ADDR": console}, log) as (process, port):
        assert ingest_one(port).one_id.startswith("oid_")
        scraped = urllib.request.urlopen(f"http://{metrics}/metrics", timeout=10).read()
        assert b'idgraph_rpc_requests_total{code="OK",method="Ingest"} 1.0' in scraped
        assert b"idgraph_review_tasks_open" in scraped
        page = urllib.request.urlopen(f"http://{console}/sign-in", timeout=10).read()
        assert b"Steward console" in page  # served beside gRPC
        stop_gracefully(process, log)
    assert "shutting down" in log.read_text()
    assert "audience index built" in log.read_text()  # at start, in the background
    assert not port_open(int(console.rsplit(":", 1)[1]))  # and stopped with it


def test_serve_starts_and_stops_its_own_neo4j(tmp_path: Path) -> None:
    bolt = free_port()
    env = {"IDGRAPH_NEO4J_URI": "", "IDGRAPH_NEO4J_HOME": str(tmp_path / "neo4j"),
           "IDGRAPH_NEO4J_BOLT_PORT": str(bolt), "IDGRAPH_NEO4J_HEAP": "512m",
           "IDGRAPH_NEO4J_PAGECACHE": "128m", "IDGRAPH_NEO4J_TX_LOG_RETENTION": "3 hours",
           "IDGRAPH_NEO4J_LIB": os.environ.get("IDGRAPH_NEO4J_LIB", str(ROOT / ".neo4j/lib"))}
    log = tmp_path / "serve.log"
    with serving(env, log) as (process, port):
        assert port_open(bolt)
        assert ingest_one(port).decision == pb.DECISION_NEW
        store = Neo4jStore(f"bolt://127.0.0.1:{bolt}", "neo4j", "")
        try:  # transaction logs hold erased values until pruned: the configured retention
            settings = {row["name"]: row["value"] for row in store.run_cypher(
                "SHOW SETTINGS YIELD name, value WHERE name STARTS WITH 'db.tx_log.rotation' "
                "RETURN name, value")}
        finally:
            store.close()
        assert settings["db.tx_log.rotation.retention_policy"] == "3 hours"
        assert settings["db.tx_log.rotation.size"] == "16.00MiB"
        stop_gracefully(process, log)
    assert not port_open(bolt), "the Neo4j started by serve is still listening"
    assert (tmp_path / "neo4j" / "data" / "databases" / "neo4j").is_dir()
