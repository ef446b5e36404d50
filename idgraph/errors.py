"""One exception hierarchy for idgraph; the gRPC edge maps it to status codes in one place."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class FieldViolation:
    """One invalid field: its path in the request and what is wrong with it."""

    field: str
    description: str


class IdGraphError(Exception):
    """Base class of every error idgraph raises on purpose."""

    reason = "IDGRAPH_ERROR"


class InvalidInput(IdGraphError):
    """The request is malformed; nothing was written."""

    reason = "INVALID_INPUT"

    def __init__(self, violations: list[FieldViolation]) -> None:
        self.violations = violations
        super().__init__("; ".join(f"{v.field}: {v.description}" for v in violations))

    @classmethod
    def one(cls, field: str, description: str) -> InvalidInput:
        """Build the error for a single bad field."""
        return cls([FieldViolation(field, description)])


class NotFound(IdGraphError):
    """The OneID, identifier or record asked for does not exist."""

    reason = "NOT_FOUND"


class Conflict(IdGraphError):
    """The request cannot be carried out in the current state (e.g. an ambiguous identifier)."""

    reason = "FAILED_PRECONDITION"


class Unavailable(IdGraphError):
    """The graph database cannot be reached or keeps failing transiently."""

    reason = "NEO4J_UNAVAILABLE"


class DatabaseDown(Unavailable):
    """Neo4j does not answer at all (down, restarting, unreachable): every transaction
    would fail alike until it is back."""


class DeadlineExceeded(IdGraphError):
    """The caller's deadline ran out before the work finished."""

    reason = "DEADLINE_EXCEEDED"


class Unauthenticated(IdGraphError):
    """The call carries no API key, or one that is not configured."""

    reason = "UNAUTHENTICATED"


class PermissionDenied(IdGraphError):
    """The caller's roles do not allow the call."""

    reason = "PERMISSION_DENIED"


class ConfigError(IdGraphError):
    """Settings or the rules file are invalid."""

    reason = "CONFIG_ERROR"
