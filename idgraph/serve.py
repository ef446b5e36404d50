"""Start-up and shutdown: settings -> (local Neo4j) -> store -> migrations -> gRPC serve.

SIGTERM or Ctrl-C: health NOT_SERVING -> stop(grace) -> close the driver -> stop the
Neo4j this process started.
"""

from __future__ import annotations

import gc
import logging
import signal
import threading
from contextlib import ExitStack
from types import FrameType

from idgraph.api.auth import ApiKeys
from idgraph.api.server import Tls, build_server
from idgraph.bulk_load import finish_import
from idgraph.config import DEV_HMAC_SECRET, Settings
from idgraph.domain.leads import load_lead_points
from idgraph.domain.tags import load_tags
from idgraph.engine import IdentityEngine
from idgraph.engine.rule_changes import note_applied_rules
from idgraph.errors import ConfigError, IdGraphError
from idgraph.graph_cache import GraphView
from idgraph.lead_model import load_lead_model
from idgraph.localdb import LocalNeo4j, port_open
from idgraph.metrics import graph_gauges, serve_metrics
from idgraph.store.neo4j_store import Neo4jStore

log = logging.getLogger("idgraph")


def open_store(settings: Settings, stack: ExitStack, reuse_local: bool = False) -> Neo4jStore:
    """Connect to the configured Neo4j, or start a local one; apply migrations.

    With `reuse_local` (command-line tools), a local Neo4j already listening on the
    configured Bolt port (e.g. the one `make run` started) is used instead of a new one.
    """
    uri = settings.neo4j_uri
    if not uri and reuse_local and port_open(settings.neo4j_bolt_port):
        uri = f"bolt://127.0.0.1:{settings.neo4j_bolt_port}"
    if not uri:
        local = LocalNeo4j(settings.neo4j_home, settings.neo4j_lib, settings.neo4j_bolt_port,
                           settings.neo4j_heap, settings.neo4j_pagecache,
                           settings.neo4j_tx_log_retention)
        log.info("starting local Neo4j on %s (home %s)", local.uri, settings.neo4j_home)
        local.start(settings.neo4j_start_timeout)
        stack.callback(local.stop)
        uri = local.uri
    store = Neo4jStore(uri, settings.neo4j_user, settings.neo4j_password.get_secret_value(),
                       settings.neo4j_database, retry_seconds=settings.neo4j_retry_seconds)
    stack.callback(store.close)
    store.wait_until_ready(settings.neo4j_start_timeout)
    applied = store.migrate()
    log.info("Neo4j at %s ready; migrations applied now: %s", uri, applied or "none")
    if finish_import(store):
        log.info("finished the bulk import: empty lists set")
    return store


def build_engine(settings: Settings, store: Neo4jStore, check_rules: bool = False
                 ) -> IdentityEngine:
    """The engine with the configured rules, limits and secret."""
    if settings.hmac_secret.get_secret_value() == DEV_HMAC_SECRET:
        log.warning("IDGRAPH_HMAC_SECRET is the development default; set it in production")
    points = load_lead_points(settings.leads_file)
    lead_model = None if settings.leads_model is None \
        else load_lead_model(settings.leads_model, points)
    rules = settings.load_rules()
    if check_rules:  # warn when an apply left other rules in the graph
        note_applied_rules(store, rules)
    return IdentityEngine(store, rules, settings.secret_bytes, settings.limits,
                          pipeline=settings.pipeline,
                          group_commit_max_batch=settings.group_commit_max_batch,
                          view=GraphView(settings.view_entries),
                          tags=load_tags(settings.tags_file),
                          model_statistics_seconds=settings.model_statistics_seconds,
                          audience_seconds=(settings.audience_max_age_seconds,
                                            settings.audience_rebuild_seconds),
                          leads=points, lead_model=lead_model)


def load_api_keys(settings: Settings) -> ApiKeys | None:
    """The configured API keys; None (authentication off, with a warning) without a file."""
    if settings.api_keys_file is None:
        log.warning("IDGRAPH_API_KEYS_FILE is not set: authentication is off and every "
                    "caller has every role; set it in production")
        return None
    return ApiKeys.load(settings.api_keys_file)


def load_tls(settings: Settings) -> Tls | None:
    """The configured certificate and key, or None for plaintext; both or neither."""
    cert, key = settings.tls_cert_file, settings.tls_key_file
    if cert is None and key is None:
        return None
    if cert is None or key is None:
        raise ConfigError("set both IDGRAPH_TLS_CERT_FILE and IDGRAPH_TLS_KEY_FILE, or neither")
    try:
        return Tls(cert.read_bytes(), key.read_bytes())
    except OSError as exc:
        raise ConfigError(f"TLS: {exc}") from exc


def tune_gc(threshold: int) -> None:
    """Collect cycles less often: resolution allocates millions of short-lived, acyclic
    objects (freed by reference counting anyway), and at Python's default of 700 the
    collector took 15-20 % of a batch's CPU. Objects alive at start-up are frozen out of
    the collector's scans."""
    if threshold:
        gc.set_threshold(threshold, *gc.get_threshold()[1:])
    gc.freeze()


def start_console(settings: Settings, engine: IdentityEngine, stack: ExitStack) -> None:
    """The steward console on `settings.console_addr`, stopped with the stack."""
    from idgraph.console import Console, serve_console

    tls = (str(settings.tls_cert_file), str(settings.tls_key_file)) \
        if settings.tls_cert_file and settings.tls_key_file else None
    console = Console(engine, load_api_keys(settings), secure=tls is not None)
    server, thread = serve_console(console.app(), settings.console_addr, tls)

    def stop() -> None:
        server.should_exit = True
        thread.join(10)

    stack.callback(stop)
    log.info("steward console on %s://%s/", "https" if tls else "http",
             settings.console_addr)


def warm_audiences(engine: IdentityEngine) -> None:
    """Build the audience index in the background (a failure is logged; the first audience
    call builds it then)."""
    try:
        engine.audiences.index()
    except IdGraphError as exc:
        log.warning("audience index not built at start: %s", exc)


def serve(settings: Settings, grpc_on: bool = True) -> int:
    """Serve until SIGTERM/SIGINT (gRPC, and the console when configured; the console
    alone without `grpc_on`); answer the process exit code."""
    stop = threading.Event()

    def on_signal(signum: int, _frame: FrameType | None) -> None:
        log.info("received %s, shutting down", signal.Signals(signum).name)
        stop.set()

    signal.signal(signal.SIGTERM, on_signal)
    signal.signal(signal.SIGINT, on_signal)
    with ExitStack() as stack:
        # the console alone shares the local Neo4j a running `idgraph serve` started
        store = open_store(settings, stack, reuse_local=not grpc_on)
        engine = build_engine(settings, store, check_rules=True)
        stack.callback(engine.close)
        if settings.console_addr:
            start_console(settings, engine, stack)
        if not grpc_on:
            tune_gc(settings.gc_threshold)
            print(f"idgraph console on http://{settings.console_addr}/", flush=True)
            stop.wait()
            log.info("stopped")
            return 0
        running = build_server(engine, settings.grpc_addr, workers=settings.grpc_workers,
                               max_message_bytes=settings.grpc_max_message_bytes,
                               batch_window=settings.batch_window,
                               api_keys=load_api_keys(settings), tls=load_tls(settings))
        if settings.metrics_addr:
            metrics = serve_metrics(settings.metrics_addr, graph_gauges(store, engine))
            stack.callback(metrics.server_close)
            stack.callback(metrics.shutdown)
            log.info("metrics on http://%s/metrics", settings.metrics_addr)
        tune_gc(settings.gc_threshold)
        if settings.audience_warm_up:  # the first audience call need not wait for it
            threading.Thread(target=warm_audiences, args=(engine,), daemon=True,
                             name="audience-warm-up").start()
        host = settings.grpc_addr.rsplit(":", 1)[0]
        log.info("idgraph serving gRPC on %s:%d", host, running.port)
        if settings.log_format == "text":  # json: the log line above says it
            print(f"idgraph serving gRPC on {host}:{running.port}", flush=True)
        stop.wait()
        running.stop(settings.shutdown_grace)
    log.info("stopped")
    return 0
