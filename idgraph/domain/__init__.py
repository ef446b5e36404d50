"""Pure domain core: imports neither neo4j nor grpc."""

from idgraph.compiled import check_fresh

check_fresh()
