"""idgraph: OneID identity resolution for automotive customer data over gRPC and Neo4j."""

from idgraph.errors import (
    Conflict,
    DeadlineExceeded,
    IdGraphError,
    InvalidInput,
    NotFound,
    Unavailable,
)

__all__ = [
    "Conflict",
    "DeadlineExceeded",
    "IdGraphError",
    "InvalidInput",
    "NotFound",
    "Unavailable",
]
__version__ = "0.1.0"
