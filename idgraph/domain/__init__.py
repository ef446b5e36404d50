"""Pure domain core: imports neither neo4j nor grpc."""
