"""What several benchmarks share: a Neo4j to run against, and percentiles."""

from __future__ import annotations

import os
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from idgraph.localdb import LocalNeo4j, free_port

ROOT = Path(__file__).resolve().parent.parent


@contextmanager
def neo4j(workdir: Path, heap: str = "1g", pagecache: str = "512m") -> Iterator[str]:
    """A Bolt URI: IDGRAPH_NEO4J_URI, or a local Neo4j started in `workdir` for the bench
    (stopped after)."""
    given = os.environ.get("IDGRAPH_NEO4J_URI")
    if given:
        yield given
        return
    server = LocalNeo4j(workdir / "neo4j", ROOT / ".neo4j" / "lib", free_port(), heap=heap,
                        pagecache=pagecache)
    server.start(timeout=180)
    try:
        yield server.uri
    finally:
        server.stop()


def percentile(values: list[float], q: float) -> float:
    """The q-quantile of the values (nearest rank below); 0 for none."""
    if not values:
        return 0.0
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(q * len(ordered)))]
