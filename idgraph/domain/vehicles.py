"""Vehicles over time: what a VIN says about the car, and who owned, drove, serviced or
test-drove it when, assembled from the record-level mentions.

Relations are stored on records (``(:Record)-[:MENTIONS {relation, since, until}]->
(:Vehicle)``), never on people, so that merges, splits and erasures carry them along with
the records that are their evidence. A person's relation to a car is the union of its
records' mentions; a newer owner's mention closes the earlier owners' open ones at its
start (the transfer date).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime

from idgraph.domain.profile import AssignedTag
from idgraph.domain.vin import DEFAULT_MAKES, vin_make, vin_model_year


@dataclass(frozen=True)
class Mention:
    """One record's relation to a vehicle, with the person the record belongs to now."""

    relation: str  # OWNER | DRIVER | INTERESTED | TEST_DRIVE | SERVICE | ""
    since: datetime | None
    until: datetime | None
    observed_at: datetime | None
    one_id: str
    source: str
    source_record_id: str


@dataclass(frozen=True)
class Period:
    """A person's relation to a vehicle over one time span, and the records behind it."""

    one_id: str
    relation: str
    since: datetime | None
    until: datetime | None  # None: still so
    sources: tuple[tuple[str, str], ...]  # (source, source_record_id)

    @property
    def current(self) -> bool:
        """True while the relation has no end."""
        return self.until is None


@dataclass(frozen=True)
class VehicleHistory:
    """A vehicle, its current owner and every relation people had with it over time."""

    vin: str
    make: str
    model: str
    model_year: int | None
    plate: str
    owner: str  # the current owner's OneID, "" when nobody owns it now
    owners: tuple[Period, ...]  # oldest first
    others: tuple[Period, ...]  # drivers, test drives, service visits, interest
    tags: tuple[AssignedTag, ...] = ()


def periods(mentions: Sequence[Mention], relation: str) -> tuple[Period, ...]:
    """Each person's mentions of one relation as one period: from the earliest start to the
    latest end (open while any mention is open), oldest first."""
    by_person: dict[str, list[Mention]] = {}
    for m in mentions:
        if m.relation == relation:
            by_person.setdefault(m.one_id, []).append(m)
    result = []
    for one_id, mine in by_person.items():
        starts = [m.since for m in mine if m.since is not None]
        open_ = any(m.until is None for m in mine)
        ends = [m.until for m in mine if m.until is not None]
        result.append(Period(
            one_id, relation, min(starts) if starts else None,
            None if open_ else max(ends),
            tuple(sorted((m.source, m.source_record_id) for m in mine))))
    return tuple(sorted(result, key=_start_order))


def _start_order(period: Period) -> tuple[float, str]:
    return (period.since.timestamp() if period.since else float("-inf"), period.one_id)


def vehicle_history(vin: str, model: str, plate: str, mentions: Sequence[Mention],
                    now: datetime, makes: Mapping[str, str] = DEFAULT_MAKES) -> VehicleHistory:
    """Assemble what the graph holds about a vehicle."""
    owners = periods(mentions, "OWNER")
    current = [p for p in owners if p.current]
    others = tuple(sorted((p for relation in sorted({m.relation for m in mentions} - {"OWNER"})
                           for p in periods(mentions, relation)), key=_start_order))
    return VehicleHistory(vin, vin_make(vin, makes), model, vin_model_year(vin, now), plate,
                          current[-1].one_id if current else "", owners, others)
