"""Logging set-up: text (default) or one JSON object per line (``IDGRAPH_LOG_FORMAT=json``).

A JSON line holds time, level, logger, message and, inside a gRPC call, its method and the
caller's actor (and `one_id` where a log call passes one with ``extra``). Personal data
(phones, names, identifier values) is never logged: messages name fields and kinds, not
values, and the Neo4j driver, whose debug output carries query parameters, is kept at INFO
or above whatever the level.
"""

from __future__ import annotations

import json
import logging
from contextvars import ContextVar
from datetime import UTC, datetime

# The gRPC method being served by this thread (set by the outermost interceptor).
CALL_METHOD: ContextVar[str] = ContextVar("idgraph_call_method", default="")


class JsonFormatter(logging.Formatter):
    """One JSON object per record."""

    def format(self, record: logging.LogRecord) -> str:
        entry: dict[str, object] = {
            "time": datetime.fromtimestamp(record.created, UTC).isoformat(
                timespec="milliseconds"),
            "level": record.levelname,
            "logger": record.name,
            "message": record.getMessage(),
        }
        method = CALL_METHOD.get()
        if method:
            from idgraph.api.auth import current_caller

            entry["method"] = method
            entry["actor"] = current_caller().actor
        for name in ("one_id", "where"):
            value = getattr(record, name, None)
            if value:
                entry[name] = value
        if record.exc_info:
            entry["error"] = self.formatException(record.exc_info)
        return json.dumps(entry, ensure_ascii=False)


def configure(level: str, fmt: str = "text") -> None:
    """Set up the root logger for a command: `fmt` "text" or "json"."""
    handler = logging.StreamHandler()
    if fmt == "json":
        handler.setFormatter(JsonFormatter())
    else:
        handler.setFormatter(logging.Formatter("%(asctime)s %(levelname)s %(name)s: %(message)s"))
    root = logging.getLogger()
    for old in list(root.handlers):
        root.removeHandler(old)
    root.addHandler(handler)
    root.setLevel(level.upper())
    # the driver's DEBUG lines carry Cypher parameters (personal data): never below INFO
    driver = logging.getLogger("neo4j")
    driver.setLevel(max(logging.INFO, root.level))


def failed_fields(error: BaseException) -> str:
    """An error as a log may show it: its type, the fields at fault for invalid input, a
    Neo4j error's code; never its message, which may quote the values."""
    violations = getattr(error, "violations", None)
    if violations:
        return f"{type(error).__name__}: " + ", ".join(v.field for v in violations)
    code = getattr(error, "code", None)
    return f"{type(error).__name__} {code}" if isinstance(code, str) else type(error).__name__
