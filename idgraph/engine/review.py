"""What the two steward edges (gRPC's StewardService and the console) share about review
work: the reason a decision must carry, page tokens of the review-task listing, and the
candidates a task's evidence recorded."""

from __future__ import annotations

import base64
import binascii
import json
from typing import Any

from idgraph.errors import FieldViolation
from idgraph.store.neo4j_store import FIRST_PAGE, ReviewPageKey, ReviewTaskRow

MAX_REASON = 2000


def reason_violations(reason: str) -> list[FieldViolation]:
    """What is wrong with a decision's reason: required, at most MAX_REASON characters."""
    if not reason.strip():
        return [FieldViolation("reason", "required: it is kept in the history")]
    if len(reason) > MAX_REASON:
        return [FieldViolation("reason", f"at most {MAX_REASON} characters")]
    return []


def page_token(last: ReviewTaskRow) -> str:
    """The token of the page after `last` in the review-task listing."""
    created = int(last.created_at.timestamp() * 1000) if last.created_at else 0
    return base64.urlsafe_b64encode(
        f"{last.records_involved}:{last.people_involved}:{created}:{last.task_id}".encode()
    ).decode()


def page_after(token: str) -> ReviewPageKey:
    """The listing position a page token names; ValueError for one not issued here."""
    try:
        parts = base64.urlsafe_b64decode(token.encode()).decode().split(":", 3)
        if len(parts) == 2:  # a token of an earlier version: created ms and task id
            parts = [str(FIRST_PAGE[0]), str(FIRST_PAGE[1]), *parts]
        records, people, created, task_id = parts
        key = int(records), int(people), int(created), task_id
    except (binascii.Error, UnicodeDecodeError, ValueError) as exc:
        raise ValueError("bad page token") from exc
    if not all(-(1 << 63) <= n < (1 << 63) for n in key[:3]):
        raise ValueError("bad page token")
    return key


def task_candidates(evidence: str) -> list[dict[str, Any]]:
    """The candidates a task's evidence recorded when it opened: one_id, score (bits),
    conflict and comparisons (name, kind, level, weight, left_value, right_value, note)."""
    try:
        document = json.loads(evidence) if evidence else {}
    except json.JSONDecodeError:
        return []
    return [{"one_id": c.get("one_id", ""), "score": float(c.get("score", 0.0)),
             "conflict": bool(c.get("conflict", False)),
             "comparisons": list(c.get("comparisons", []))}
            for c in document.get("candidates", [])]
