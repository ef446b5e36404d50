"""Assemble the gRPC server: servicers, health, reflection, interceptor, limits."""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable
from concurrent import futures
from dataclasses import dataclass
from typing import Any, cast

import grpc
from google.protobuf import descriptor_pool
from grpc_health.v1 import health, health_pb2, health_pb2_grpc
from grpc_reflection.v1alpha import reflection

from idgraph.api.audience_servicer import AudienceServicer
from idgraph.api.auth import ApiKeys, AuthInterceptor
from idgraph.api.identity_servicer import IdentityServicer
from idgraph.api.interceptors import ErrorMappingInterceptor, MetricsInterceptor
from idgraph.api.lead_servicer import LeadServicer
from idgraph.api.recommend_servicer import RecommendationServicer
from idgraph.api.rules_servicer import RulesServicer
from idgraph.api.steward_servicer import StewardServicer
from idgraph.api.tag_servicer import TagServicer
from idgraph.api.vehicle_servicer import VehicleServicer
from idgraph.engine import IdentityEngine
from idgraph.engine.rule_changes import RuleChanges
from idgraph.errors import ConfigError
from idgraph.v1 import (
    audience_pb2,
    audience_pb2_grpc,
    identity_pb2,
    identity_pb2_grpc,
    lead_pb2,
    lead_pb2_grpc,
    recommend_pb2,
    recommend_pb2_grpc,
    rules_pb2,
    rules_pb2_grpc,
    steward_pb2,
    steward_pb2_grpc,
    tag_pb2,
    tag_pb2_grpc,
    vehicle_pb2,
    vehicle_pb2_grpc,
)

log = logging.getLogger(__name__)

SERVICE_NAMES = (identity_pb2.DESCRIPTOR.services_by_name["IdentityService"].full_name,
                 steward_pb2.DESCRIPTOR.services_by_name["StewardService"].full_name,
                 vehicle_pb2.DESCRIPTOR.services_by_name["VehicleService"].full_name,
                 tag_pb2.DESCRIPTOR.services_by_name["TagService"].full_name,
                 recommend_pb2.DESCRIPTOR.services_by_name["RecommendationService"].full_name,
                 lead_pb2.DESCRIPTOR.services_by_name["LeadService"].full_name,
                 audience_pb2.DESCRIPTOR.services_by_name["AudienceService"].full_name,
                 rules_pb2.DESCRIPTOR.services_by_name["RulesService"].full_name)


@dataclass
class RunningServer:
    """A started server, the port it bound and its health servicer."""

    server: grpc.Server
    port: int
    health: health.HealthServicer
    identity: IdentityServicer

    readiness: Readiness | None = None

    def set_serving(self, serving: bool) -> None:
        """Report SERVING or NOT_SERVING for the whole server and each service."""
        status = (health_pb2.HealthCheckResponse.SERVING if serving
                  else health_pb2.HealthCheckResponse.NOT_SERVING)
        for name in ("", *SERVICE_NAMES):
            self.health.set(name, status)

    def stop(self, grace: float) -> None:
        """Report NOT_SERVING, drain in-flight calls for `grace` seconds, stop."""
        if self.readiness is not None:
            self.readiness.stop()
        self.set_serving(False)
        self.server.stop(grace).wait()
        self.identity.close()


class Readiness:
    """Health follows Neo4j: every `interval` seconds a probe asks whether Neo4j answers;
    while it does not, the server and each of its services report NOT_SERVING (load
    balancers and Kubernetes stop sending traffic), and SERVING again once it does. Every
    service reads or writes the graph, so they go down and up together."""

    def __init__(self, running: RunningServer, probe: Callable[[], bool],
                 interval: float) -> None:
        self.running, self.probe, self.interval = running, probe, interval
        self.serving = True
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._watch, name="readiness", daemon=True)
        self._thread.start()

    def _watch(self) -> None:
        while not self._stop.wait(self.interval):
            serving = self.probe()
            if self._stop.is_set():
                return
            if serving != self.serving:
                self.serving = serving
                self.running.set_serving(serving)
                if serving:
                    log.info("Neo4j answers again: SERVING")
                else:
                    log.warning("Neo4j does not answer: NOT_SERVING until it does")

    def stop(self) -> None:
        self._stop.set()
        self._thread.join(timeout=self.interval + 5)


@dataclass(frozen=True)
class Tls:
    """The server's certificate chain and private key (PEM)."""

    certificate_chain: bytes
    private_key: bytes


class _MethodSymbols:
    """The descriptor pool as reflection sees it, where a method's full name
    (``idgraph.v1.IdentityService.Resolve``) finds its file too, as the reflection protocol
    says: ghz and other clients ask for it, and protobuf's pool knows services only."""

    def __init__(self, pool: descriptor_pool.DescriptorPool) -> None:
        self._pool = pool

    def FindFileContainingSymbol(self, symbol: str) -> Any:  # the pool's name
        try:
            return self._pool.FindFileContainingSymbol(symbol)
        except KeyError:
            service, _, method = symbol.rpartition(".")
            found = self._pool.FindServiceByName(service) if service else None
            if found is None or method not in found.methods_by_name:
                raise
            return found.file

    def __getattr__(self, name: str) -> Any:
        return getattr(self._pool, name)


def build_server(engine: IdentityEngine, address: str, *, workers: int = 32,
                 max_message_bytes: int = 4 * 1024 * 1024, batch_window: int = 1024,
                 api_keys: ApiKeys | None = None, tls: Tls | None = None,
                 readiness_interval: float | None = 2.0) -> RunningServer:
    """Build and start a server on `address` (port 0 picks a free port). Without
    `api_keys` every caller is ``anonymous`` with every role; with `tls` the port speaks
    TLS only. Health follows Neo4j's reachability, probed every `readiness_interval`
    seconds (None: not probed)."""
    # gRPC's own limit is a backstop; the servicer answers INVALID_ARGUMENT past the
    # configured size, so a BatchIngest stream survives one oversized row.
    options = [("grpc.max_receive_message_length", 4 * max_message_bytes),
               ("grpc.max_send_message_length", 4 * max_message_bytes),
               ("grpc.so_reuseport", 0)]
    server = grpc.server(futures.ThreadPoolExecutor(max_workers=workers,
                                                    thread_name_prefix="grpc"),
                         interceptors=[MetricsInterceptor(), ErrorMappingInterceptor(),
                                       AuthInterceptor(api_keys)],
                         options=options)
    identity = IdentityServicer(engine.ingestion, engine.reads, batch_window,
                                max_message_bytes, engine.audit)
    identity_pb2_grpc.add_IdentityServiceServicer_to_server(  # type: ignore[no-untyped-call]
        identity, server)
    steward_pb2_grpc.add_StewardServiceServicer_to_server(  # type: ignore[no-untyped-call]
        StewardServicer(engine.stewardship, engine.reads, engine.audit), server)
    vehicle_pb2_grpc.add_VehicleServiceServicer_to_server(  # type: ignore[no-untyped-call]
        VehicleServicer(engine.reads, engine.audit), server)
    tag_pb2_grpc.add_TagServiceServicer_to_server(  # type: ignore[no-untyped-call]
        TagServicer(engine.tagging), server)
    recommend_pb2_grpc.add_RecommendationServiceServicer_to_server(  # type: ignore[no-untyped-call]
        RecommendationServicer(engine.recommendations), server)
    lead_pb2_grpc.add_LeadServiceServicer_to_server(  # type: ignore[no-untyped-call]
        LeadServicer(engine.leads), server)
    audience_pb2_grpc.add_AudienceServiceServicer_to_server(  # type: ignore[no-untyped-call]
        AudienceServicer(engine.audiences), server)
    rules_pb2_grpc.add_RulesServiceServicer_to_server(  # type: ignore[no-untyped-call]
        RulesServicer(RuleChanges(engine.core)), server)
    health_servicer = health.HealthServicer()
    health_pb2_grpc.add_HealthServicer_to_server(health_servicer, server)
    reflection.enable_server_reflection(
        (*SERVICE_NAMES, health.SERVICE_NAME, reflection.SERVICE_NAME), server,
        pool=cast(descriptor_pool.DescriptorPool, _MethodSymbols(descriptor_pool.Default())))
    if tls is None:
        port = server.add_insecure_port(address)
    else:
        credentials = grpc.ssl_server_credentials([(tls.private_key, tls.certificate_chain)])
        port = server.add_secure_port(address, credentials)
    if port == 0:
        raise ConfigError(f"cannot bind gRPC address {address}")
    server.start()
    running = RunningServer(server, port, health_servicer, identity)
    running.set_serving(True)
    if readiness_interval is not None:
        running.readiness = Readiness(running, engine.core.store.reachable, readiness_interval)
    return running
