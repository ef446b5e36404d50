"""Tags: a three-level hierarchy for people and for vehicles (``lifecycle.owner.owner_3y_plus``).

A tag is assigned in one of two ways:

- **From data.** Its definition has a ``when`` (conditions over the profile or the
  vehicle). It is evaluated each time the profile is read, so it never goes stale.
- **Through the API.** ``AssignTag`` records the tag with its source, actor and time on
  the person or the vehicle. Assigned tags follow merges and go with erasure.

Definitions live in a TOML file (``idgraph/rules/tags.toml`` by default,
``IDGRAPH_TAGS_FILE`` to replace it). An assigned tag must be defined there, so the
hierarchy stays the one the brand set.
"""

from __future__ import annotations

import re
import tomllib
from collections.abc import Iterable
from datetime import datetime
from pathlib import Path

from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator

from idgraph.domain.profile import AssignedTag, Profile, RelationType
from idgraph.domain.vehicles import VehicleHistory
from idgraph.errors import ConfigError

DEFAULT_TAGS = Path(__file__).resolve().parent.parent / "rules" / "tags.toml"
TAG_PATH = re.compile(r"[a-z0-9_]+\.[a-z0-9_]+\.[a-z0-9_]+")
YEAR_SECONDS = 365.25 * 24 * 3600


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class PersonCondition(_Strict):
    """Every condition given must hold."""

    owns: bool | None = Field(None, description="holds a current ownership (or none)")
    owns_for_years: float | None = Field(
        None, ge=0, description="a current ownership began at least this many years ago")
    owns_for_years_below: float | None = Field(
        None, gt=0, description="every current ownership began less than this many years ago")
    relation: str | None = Field(None, description="had this relation to some vehicle")
    source_in: frozenset[str] | None = Field(None, description="has a record from one of these")
    attribute: str | None = None
    equals: str | None = Field(None, description="with `attribute`: its golden value")
    referred_at_least: int | None = Field(None, ge=1, description="people this one referred")
    household: bool | None = None


class VehicleCondition(_Strict):
    """Every condition given must hold."""

    age_years_at_least: int | None = Field(None, ge=0, description="by its model year")
    age_years_below: int | None = Field(None, ge=1)
    make_in: frozenset[str] | None = None
    owned: bool | None = Field(None, description="has a current owner (or none)")


class PersonTag(_Strict):
    description: str = ""
    when: PersonCondition | None = None


class VehicleTag(_Strict):
    description: str = ""
    when: VehicleCondition | None = None


class TagHierarchy(_Strict):
    """Every tag a brand uses, for people and for vehicles."""

    person: dict[str, PersonTag] = {}
    vehicle: dict[str, VehicleTag] = {}

    @field_validator("person", "vehicle")
    @classmethod
    def _three_levels(cls, value: dict[str, object]) -> dict[str, object]:
        for path in value:
            if not TAG_PATH.fullmatch(path):
                raise ValueError(f"tag {path!r} must have three levels: a.b.c "
                                 "(lower-case letters, digits, _)")
        return value

    def defined(self, kind: str, path: str) -> bool:
        """True when `path` is a tag of `kind` ("person" or "vehicle")."""
        return path in (self.person if kind == "person" else self.vehicle)


def load_tags(path: Path | None = None) -> TagHierarchy:
    """Read a tags file (the shipped one by default); ConfigError names what is wrong."""
    source = path or DEFAULT_TAGS
    try:
        return TagHierarchy.model_validate(tomllib.loads(source.read_text(encoding="utf-8")))
    except (OSError, tomllib.TOMLDecodeError, ValidationError) as exc:
        raise ConfigError(f"tags file {source}: {exc}") from exc


def _years(since: datetime | None, now: datetime) -> float | None:
    return None if since is None else (now - since).total_seconds() / YEAR_SECONDS


def _person_holds(when: PersonCondition, profile: Profile, now: datetime) -> bool:
    owned = [pv for pv in profile.vehicles if pv.vehicle.relation == "OWNER" and pv.current]
    held = [y for pv in owned if (y := _years(pv.vehicle.since, now)) is not None]
    golden = {a.name: a.value for a in profile.attributes}
    kinds = {r.type for r in profile.relationships}
    checks = (
        when.owns is None or bool(owned) == when.owns,
        when.owns_for_years is None or any(y >= when.owns_for_years for y in held),
        when.owns_for_years_below is None or (
            bool(held) and all(y < when.owns_for_years_below for y in held)),
        when.relation is None or any(pv.vehicle.relation == when.relation
                                     for pv in profile.vehicles),
        when.source_in is None or any(r.source in when.source_in for r in profile.records),
        when.attribute is None or (when.attribute in golden and (
            when.equals is None or golden[when.attribute] == when.equals)),
        when.referred_at_least is None or sum(
            r.type is RelationType.REFERRED for r in profile.relationships
        ) >= when.referred_at_least,
        when.household is None or (RelationType.HOUSEHOLD in kinds) == when.household,
    )
    return all(checks)


def person_tags(profile: Profile, hierarchy: TagHierarchy, now: datetime,
                assigned: Iterable[AssignedTag] = ()) -> tuple[AssignedTag, ...]:
    """The tags the data gives the person, then those assigned (each path once: an
    assigned tag that a rule also gives shows as assigned)."""
    return _merged([path for path, tag in sorted(hierarchy.person.items())
                    if tag.when is not None and _person_holds(tag.when, profile, now)], assigned)


def _merged(derived: list[str], assigned: Iterable[AssignedTag]) -> tuple[AssignedTag, ...]:
    """The tags from data, then the assigned ones; a path assigned wins over its rule."""
    explicit = {t.path: t for t in assigned}
    return (tuple(AssignedTag(path, "rule") for path in derived if path not in explicit)
            + tuple(sorted(explicit.values(), key=lambda t: t.path)))


def _vehicle_holds(when: VehicleCondition, vehicle: VehicleHistory, now: datetime) -> bool:
    age = None if vehicle.model_year is None else now.year - vehicle.model_year
    checks = (
        when.age_years_at_least is None or (age is not None
                                            and age >= when.age_years_at_least),
        when.age_years_below is None or (age is not None and age < when.age_years_below),
        when.make_in is None or vehicle.make in when.make_in,
        when.owned is None or bool(vehicle.owner) == when.owned,
    )
    return all(checks)


def vehicle_tags(vehicle: VehicleHistory, hierarchy: TagHierarchy, now: datetime,
                 assigned: Iterable[AssignedTag] = ()) -> tuple[AssignedTag, ...]:
    """The tags the data gives the vehicle, then those assigned."""
    return _merged([path for path, tag in sorted(hierarchy.vehicle.items())
                    if tag.when is not None and _vehicle_holds(tag.when, vehicle, now)], assigned)
