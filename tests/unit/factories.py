"""Builders for pure-domain tests."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from idgraph.domain.records import (
    IdKey,
    Limits,
    PreparedRecord,
    RawIdentifier,
    RawRecord,
    prepare_record,
)
from idgraph.domain.resolution import CandidatePerson, Snapshot
from idgraph.domain.rules import Rules
from idgraph.domain.scoring import Evidence

NOW = datetime(2026, 1, 1, tzinfo=UTC)
SECRET = b"unit-secret"


def record(rules: Rules, *identifiers: tuple[str, str] | tuple[str, str, str],
           key: str = "r1", **attributes: str) -> PreparedRecord:
    raws = tuple(RawIdentifier(*i) for i in identifiers)
    return prepare_record(RawRecord("crm", key, NOW, raws, dict(attributes)), rules, Limits(),
                          SECRET, NOW)


def person(one_id: str, rec: PreparedRecord, age_days: int = 0) -> CandidatePerson:
    """A candidate made of one record, created `age_days` before NOW."""
    return CandidatePerson(one_id, NOW - timedelta(days=age_days),
                           Evidence.of(rec.identifiers, [rec.attributes]))


def snapshot(rec: PreparedRecord, *people: CandidatePerson,
             counts: dict[str, int] | None = None) -> Snapshot:
    """Holder counts default to: every candidate identifier held by the people holding it."""
    if counts is None:
        counts = {}
        for p in people:
            for k in p.evidence.identifiers:
                counts[k.key] = counts.get(k.key, 0) + 1
    return Snapshot(rec, tuple(people), counts)


def key(type_name: str, value: str, scope: str = "") -> IdKey:
    return IdKey(type_name, scope, value)
