"""Prometheus metrics (``IDGRAPH_METRICS_ADDR``, default off): what an operator watches.

Every metric is listed in the README. Labels never hold personal data: methods, status
codes, decisions, field paths without indexes (``record.identifiers.value``), kinds of
values (``identifiers.phone``).
"""

from __future__ import annotations

import re
import threading
import time
from collections.abc import Callable, Iterable, Mapping
from typing import Any

from prometheus_client import Counter, Histogram, start_http_server
from prometheus_client.core import GaugeMetricFamily
from prometheus_client.registry import REGISTRY, Collector

_LATENCY = (0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0,
            30.0)

RPC_REQUESTS = Counter("idgraph_rpc_requests", "gRPC calls answered, by method and status "
                       "code", ["method", "code"])
RPC_SECONDS = Histogram("idgraph_rpc_duration_seconds", "gRPC call latency (a stream: until "
                        "its last answer), by method", ["method"], buckets=_LATENCY)
INGEST_DECISIONS = Counter("idgraph_ingest_decisions", "Records resolved and stored, by "
                           "decision (NEW, LINKED, MERGED, REVIEW, UNCHANGED)", ["decision"])
RECORDS_REFUSED = Counter("idgraph_records_refused", "Records refused as invalid, by the "
                          "field at fault", ["field"])
VALUES_DROPPED = Counter("idgraph_values_dropped", "Invalid values dropped from records "
                         "that were kept, by kind", ["kind"])
GROUP_COMMIT_BATCH = Histogram("idgraph_group_commit_batch_records", "Records per group-"
                               "commit transaction", buckets=(1, 2, 4, 8, 16, 32, 64, 128,
                                                              256, 512, 1024, 2048))
NEO4J_TX_SECONDS = Histogram("idgraph_neo4j_transaction_seconds", "Neo4j transaction time "
                             "(retries included), by kind (read, write)", ["kind"],
                             buckets=_LATENCY)
NEO4J_TX_RETRIES = Counter("idgraph_neo4j_transaction_retries", "Neo4j transactions run "
                           "again (transient errors, a graph that changed under them)")
BACKFILL_ROWS = Counter("idgraph_backfill_rows", "Rows read by idgraph backfill (rate(): "
                        "rows per second)")

_INDEX = re.compile(r"\[[^\]]*\]")


def field_label(path: str) -> str:
    """A field path without its indexes and keys: `records[3].identifiers[0].value` ->
    `record.identifiers.value` (bounded label values, no personal data)."""
    label = _INDEX.sub("", path)
    return "record" + label[len("records"):] if label.startswith("records") else label


class GraphGauges(Collector):
    """Gauges read at scrape time: open review tasks (cached `ttl` seconds), shared values
    by type (a scan of the identifiers: cached `ttl` seconds or ten times as long as the
    last read took, whichever is longer; `ttl` 0 reads both at every scrape) and the
    group-commit queue's depth."""

    def __init__(self, open_tasks: Callable[[], int], queue_depth: Callable[[], int],
                 shared_values: Callable[[], Mapping[tuple[str, str], int]] | None = None,
                 ttl: float = 15.0) -> None:
        self.open_tasks, self.queue_depth, self.ttl = open_tasks, queue_depth, ttl
        self.shared_values = shared_values
        self._tasks: tuple[float, int] | None = None
        self._shared: tuple[float, Mapping[tuple[str, str], int]] | None = None
        self._lock = threading.Lock()

    def collect(self) -> Iterable[GaugeMetricFamily]:
        with self._lock:
            now = time.monotonic()
            if self._tasks is None or now - self._tasks[0] > self.ttl:
                try:
                    self._tasks = (now, self.open_tasks())
                except Exception:  # Neo4j down: the gauge is absent, not wrong
                    self._tasks = None
            if self.shared_values is not None and (self._shared is None
                                                   or now >= self._shared[0]):
                try:
                    found = self.shared_values()
                    took = time.monotonic() - now
                    self._shared = (now + (max(self.ttl, 10 * took) if self.ttl else 0), found)
                except Exception:
                    self._shared = None
            tasks, shared = self._tasks, self._shared
        if tasks is not None:
            yield GaugeMetricFamily("idgraph_review_tasks_open", "Open review tasks",
                                    value=tasks[1])
        if shared is not None:
            family = GaugeMetricFamily(
                "idgraph_shared_values", "Identifier values that stopped being plain "
                "evidence, by type and state (shared: never evidence; contested: a "
                "family's, evidence only between named sides)", labels=["type", "state"])
            for (type_, state), count in sorted(shared[1].items()):
                family.add_metric([type_, state], count)
            yield family
        yield GaugeMetricFamily("idgraph_group_commit_queue_depth", "Records queued for "
                                "group commit, not yet in a transaction",
                                value=self.queue_depth())


def graph_gauges(store: Any, engine: Any, ttl: float = 15.0) -> GraphGauges:
    """The gauges of a `Neo4jStore` and the `IdentityEngine` over it."""
    from idgraph.domain.identities import hub_thresholds, value_states

    rules = engine.core.rules
    hubs = hub_thresholds(rules)
    return GraphGauges(store.open_review_tasks, engine.ingestion.queue_depth,
                       lambda: value_states(store.shared_values(hubs), rules), ttl=ttl)


_GAUGES: list[GraphGauges] = []


def serve_metrics(address: str, gauges: GraphGauges) -> Any:
    """Expose the metrics on host:port (Prometheus text format at /metrics); answer the
    HTTP server (``shutdown()`` stops it). The graph's gauges are those of the last call."""
    host, _, port = address.rpartition(":")
    while _GAUGES:
        REGISTRY.unregister(_GAUGES.pop())
    REGISTRY.register(gauges)
    _GAUGES.append(gauges)
    server, _thread = start_http_server(int(port), addr=host or "0.0.0.0")
    return server
