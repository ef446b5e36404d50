"""Source records as the core sees them, and their validation into prepared records.

Two policies: strict (a single ``Ingest``) refuses a record naming every bad field;
lenient (batch inputs) drops each bad optional value, keeps the record with its valid
evidence and says what was dropped and why. Both refuse what is structurally broken: no
source, no id, bounds exceeded, or nothing left to resolve (no identifier, no attribute).
"""

from __future__ import annotations

import hashlib
import itertools
import json
import re
import sys
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, tzinfo
from enum import StrEnum
from zoneinfo import ZoneInfo

from idgraph.domain.comparators import blocking_value
from idgraph.domain.identifiers import (
    BadIdentifier,
    FormatOptions,
    IdentifierFormat,
    keyed_hash,
    normalize,
    normalize_plate,
    normalize_vin,
    ownership_value,
)
from idgraph.domain.names import parse_name
from idgraph.domain.rules import Comparator, Rules
from idgraph.domain.vin import vin_make, vin_model_year
from idgraph.errors import FieldViolation, InvalidInput

KEY_SEPARATOR = "|"
BLOCKING_PREFIX = "_block:"


class VehicleRelation(StrEnum):
    """How a person relates to a vehicle."""

    OWNER = "OWNER"
    DRIVER = "DRIVER"
    INTERESTED = "INTERESTED"
    TEST_DRIVE = "TEST_DRIVE"
    SERVICE = "SERVICE"


@dataclass(frozen=True)
class DroppedValue:
    """A value left out of a record (invalid, or in conflict) and why: a warning."""

    field: str  # path in the record, e.g. "identifiers[2].value"
    description: str
    kind: str  # what was dropped, for counting: "identifiers.phone", "vehicles.vin", ...


def vehicle_relation(name: str) -> VehicleRelation | None:
    """A relation by name in any case, short (``owner``, ``Test_Drive``, ``test drive``) or
    as the proto's enum (``VEHICLE_RELATION_OWNER``); None when it names none."""
    text = _RELATION_NOISE.sub("_", name.strip()).upper().removeprefix("VEHICLE_RELATION_")
    return _RELATIONS.get(text)


_RELATION_NOISE = re.compile(r"[\s-]+")
_RELATIONS = {r.value: r for r in VehicleRelation}
# A lead or a test drive names a model and often no VIN: interest in a model is information.
MODEL_RELATIONS = frozenset({VehicleRelation.INTERESTED, VehicleRelation.TEST_DRIVE})


@dataclass(frozen=True)
class RawIdentifier:
    """An identifier as a source sent it."""

    type: str
    value: str
    scope: str = ""


@dataclass(frozen=True)
class RawVehicle:
    """A vehicle mention as a source sent it."""

    vin: str
    relation: str
    model: str = ""
    plate: str = ""
    since: datetime | None = None
    until: datetime | None = None


@dataclass(frozen=True)
class RawRecord:
    """A source record as received, before validation."""

    source: str
    source_record_id: str
    observed_at: datetime | None = None
    identifiers: tuple[RawIdentifier, ...] = ()
    attributes: dict[str, str] = field(default_factory=dict)
    vehicles: tuple[RawVehicle, ...] = ()
    referred_by: tuple[RawIdentifier, ...] = ()
    # Values a reader could not read (a date in no known format, a list for a string):
    # dropped with a warning when lenient, refused otherwise.
    unreadable: tuple[DroppedValue, ...] = ()


@dataclass(frozen=True, order=True)
class IdKey:
    """A normalized identifier: what the graph stores and matches on."""

    type: str
    scope: str
    value: str  # normalized value, or its keyed hash for hashed types
    hashed: bool = False
    # Unique key of the identifier node (derived, computed once).
    key: str = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        # interned: records that share a value share its key (a load holds millions)
        object.__setattr__(self, "key",
                           sys.intern(KEY_SEPARATOR.join((self.type, self.scope, self.value))))

    @property
    def is_blocking(self) -> bool:
        """True for derived attribute blocking keys (candidate search only, never scored)."""
        return self.type.startswith(BLOCKING_PREFIX)

    @property
    def display(self) -> str:
        """The value as shown in explanations (hashes shortened)."""
        return f"hmac:{self.value[:12]}" if self.hashed else self.value


@dataclass(frozen=True)
class Vehicle:
    """A validated vehicle mention; without a VIN (``vin == ""``) it is interest in a model
    (INTERESTED or TEST_DRIVE)."""

    vin: str
    relation: VehicleRelation
    model: str
    plate: str
    since: datetime | None
    until: datetime | None
    make: str = ""  # from the VIN's world manufacturer identifier
    model_year: int | None = None  # from the VIN's position 10


@dataclass(frozen=True)
class PreparedRecord:
    """A validated, normalized record, ready for resolution."""

    source: str
    source_record_id: str
    observed_at: datetime
    identifiers: tuple[IdKey, ...]
    blocking_keys: tuple[IdKey, ...]
    attributes: dict[str, str]
    vehicles: tuple[Vehicle, ...]
    fingerprint: str
    actor: str = "ingest"  # who sent it (the API key's actor); not part of the fingerprint
    referrers: tuple[IdKey, ...] = ()  # identifiers naming who referred the person
    dealers: tuple[str, ...] = ()  # dealer codes the record comes from or names
    # Values left out (lenient validation only); not part of the fingerprint.
    dropped: tuple[DroppedValue, ...] = field(default=(), compare=False)

    @property
    def key(self) -> str:
        """Unique key of the record: (source, source_record_id)."""
        return f"{self.source}{KEY_SEPARATOR}{self.source_record_id}"

    @property
    def all_keys(self) -> tuple[IdKey, ...]:
        """Identifiers followed by blocking keys."""
        return self.identifiers + self.blocking_keys


CHINA_STANDARD_TIME = ZoneInfo("Asia/Shanghai")


@dataclass(frozen=True)
class Limits:
    """Bounds on one record, so that no request does unbounded work."""

    max_identifiers: int = 64
    max_value_length: int = 256
    max_attributes: int = 64
    max_attribute_length: int = 2048
    max_vehicles: int = 32
    max_key_length: int = 256
    # The zone in which a time is a calendar day or month (an ownership's start month).
    local_zone: tzinfo = CHINA_STANDARD_TIME


@dataclass
class _Collector:
    lenient: bool = False
    violations: list[FieldViolation] = field(default_factory=list)
    dropped: list[DroppedValue] = field(default_factory=list)

    def add(self, path: str, description: str) -> None:
        """A structural problem: the record is refused."""
        self.violations.append(FieldViolation(path, description))

    def drop(self, path: str, description: str, kind: str) -> None:
        """A bad optional value: dropped with a warning when lenient, refused otherwise."""
        if self.lenient:
            self.dropped.append(DroppedValue(path, description, kind))
        else:
            self.add(path, description)


def prepare_record(
    raw: RawRecord, rules: Rules, limits: Limits, secret: bytes, now: datetime,
    prefix: str = "record", actor: str = "ingest", *, lenient: bool = False,
) -> PreparedRecord:
    """Validate and normalize a record; raise InvalidInput naming every bad field.

    Lenient, a bad optional value (identifier, vehicle, plate, attribute, an unreadable
    time, a one-per-person conflict inside the record) is dropped and listed in
    ``PreparedRecord.dropped``; only a structurally broken record is refused."""
    errors = _Collector(lenient)
    at = f"{prefix}." if prefix else ""
    _check_key(raw.source, f"{at}source", limits, errors)
    _check_key(raw.source_record_id, f"{at}source_record_id", limits, errors)
    for problem in raw.unreadable:
        errors.drop(at + problem.field, problem.description, problem.kind)
    identifiers = prepare_identifiers(raw.identifiers, rules, limits, secret, errors,
                                      f"{at}identifiers")
    identifiers = _one_per_person(identifiers, rules, errors, f"{at}identifiers")
    attributes = _with_honorific_gender(
        _prepare_attributes(raw.attributes, limits, errors, f"{at}attributes"), rules)
    vehicles = _prepare_vehicles(raw.vehicles, rules, limits, errors, f"{at}vehicles", now)
    identifiers = _with_ownerships(identifiers, vehicles, rules, limits.local_zone)
    referrers = prepare_identifiers(raw.referred_by, rules, limits, secret, errors,
                                    f"{at}referred_by", "referred_by") if raw.referred_by else ()
    if not errors.violations and not identifiers and not attributes:
        errors.add(f"{at}identifiers", "no valid identifier and no attribute: nothing to "
                   "resolve" + "".join(f"; {d.field}: {d.description}" for d in errors.dropped))
    if errors.violations:
        raise InvalidInput(errors.violations)
    observed = raw.observed_at or now
    return PreparedRecord(
        source=sys.intern(raw.source.strip()),
        source_record_id=raw.source_record_id.strip(),
        observed_at=observed,
        identifiers=identifiers,
        blocking_keys=derive_blocking_keys(attributes, rules),
        attributes=attributes,
        vehicles=vehicles,
        fingerprint=_fingerprint(raw.observed_at, identifiers, attributes, vehicles, referrers),
        actor=actor,
        referrers=referrers,
        dealers=dealers_of(identifiers, attributes, rules),
        dropped=tuple(errors.dropped),
    )


def dealers_of(identifiers: Sequence[IdKey], attributes: Mapping[str, str], rules: Rules
             ) -> tuple[str, ...]:
    """The `dealer` attribute and the scopes of dealer-scoped identifiers."""
    codes = {k.scope for k in identifiers
             if (rule := rules.identifier_types.get(k.type)) is not None and rule.dealer_scope}
    if attributes.get("dealer"):
        codes.add(attributes["dealer"])
    return tuple(sorted(codes))


def _check_key(value: str, path: str, limits: Limits, errors: _Collector) -> None:
    if not value.strip():
        errors.add(path, "required")
    elif len(value) > limits.max_key_length:
        errors.add(path, f"longer than {limits.max_key_length} characters")
    elif KEY_SEPARATOR in value and path.endswith("source"):
        errors.add(path, f"must not contain {KEY_SEPARATOR!r}")


def prepare_identifiers(
    raws: tuple[RawIdentifier, ...], rules: Rules, limits: Limits, secret: bytes,
    errors: _Collector | None = None, path: str = "identifiers", kind: str = "identifiers",
) -> tuple[IdKey, ...]:
    """Normalize identifiers; values that mean "no value" are dropped, duplicates merged."""
    collector = errors or _Collector()
    if len(raws) > limits.max_identifiers:
        collector.add(path, f"more than {limits.max_identifiers} identifiers")
        raws = ()
    keys: dict[str, IdKey] = {}
    for index, raw in enumerate(raws):
        key = _prepare_identifier(raw, rules, limits, secret, collector, f"{path}[{index}]",
                                  f"{kind}.{raw.type[:64]}")
        if key is not None:
            keys.setdefault(key.key, key)
    if errors is None and collector.violations:
        raise InvalidInput(collector.violations)
    return tuple(sorted(keys.values()))


def _prepare_identifier(
    raw: RawIdentifier, rules: Rules, limits: Limits, secret: bytes, errors: _Collector,
    path: str, kind: str,
) -> IdKey | None:
    rule = rules.identifier_types.get(raw.type)
    if rule is None:
        errors.drop(f"{path}.type", f"unknown identifier type {raw.type[:64]!r}; configured: "
                    + ", ".join(sorted(rules.identifier_types)), kind)
        return None
    scope = raw.scope.strip()
    if rule.scoped and not scope:
        errors.drop(f"{path}.scope", f"{raw.type} needs a scope (appid, platform or dealer)",
                    kind)
        return None
    if len(scope) > limits.max_value_length or KEY_SEPARATOR in scope:
        errors.drop(f"{path}.scope", f"scope must be at most {limits.max_value_length} "
                    f"characters without {KEY_SEPARATOR!r}", kind)
        return None
    try:
        value = normalize(rule.format, raw.value, rules.format_options(raw.type,
                                                                         limits.max_value_length))
    except BadIdentifier as exc:
        errors.drop(f"{path}.value", f"invalid {raw.type}: {exc}", kind)
        return None
    if value is None:
        return None
    if rule.hashed:
        return IdKey(sys.intern(raw.type), sys.intern(scope),
                     keyed_hash(secret, raw.type, value), hashed=True)
    # interned: a load holds millions of keys, most of their types and scopes the same
    return IdKey(sys.intern(raw.type), sys.intern(scope) if rule.scoped else "", value)


def _one_per_person(
    identifiers: tuple[IdKey, ...], rules: Rules, errors: _Collector, path: str,
) -> tuple[IdKey, ...]:
    """More values of a type (in a scope) than one person holds: which one is right is
    unknown, so all of them are dropped (lenient) or the record is refused."""
    seen: dict[tuple[str, str], int] = {}
    for key in identifiers:
        seen[(key.type, key.scope)] = seen.get((key.type, key.scope), 0) + 1
    over = set()
    for (type_name, scope), count in sorted(seen.items()):
        limit = rules.identifier_types[type_name].max_per_person
        if limit is not None and count > limit:
            where = f" in scope {scope!r}" if scope else ""
            errors.drop(path, f"{count} different {type_name} values{where}; one person holds "
                        f"at most {limit}", f"identifiers.{type_name}")
            over.add((type_name, scope))
    return tuple(k for k in identifiers if (k.type, k.scope) not in over) if over else identifiers


def _prepare_attributes(
    raw: dict[str, str], limits: Limits, errors: _Collector, path: str,
) -> dict[str, str]:
    if len(raw) > limits.max_attributes:
        errors.add(path, f"more than {limits.max_attributes} attributes")
        return {}
    cleaned: dict[str, str] = {}
    for name, value in sorted(raw.items()):
        if not name or len(name) > 64:
            errors.drop(f"{path}[{name[:64]!r}]", "attribute names have 1 to 64 characters",
                        "attributes")
        elif len(value) > limits.max_attribute_length:
            errors.drop(f"{path}[{name!r}]",
                        f"longer than {limits.max_attribute_length} characters",
                        f"attributes.{name}")
        elif name in BOOLEAN_ATTRIBUTES and value.strip().lower() not in _BOOLEANS:
            errors.drop(f"{path}[{name!r}]", f"true or false, got {value[:32]!r}",
                        f"attributes.{name}")
        elif name in BOOLEAN_ATTRIBUTES:
            cleaned[sys.intern(name)] = _BOOLEANS[value.strip().lower()]
        elif value.strip():  # interned: cities, genders, dates and names repeat
            cleaned[sys.intern(name)] = sys.intern(value.strip())
    return cleaned


def _with_honorific_gender(attributes: dict[str, str], rules: Rules) -> dict[str, str]:
    """A lead's 王先生 / 李女士 says the gender: fill the gender attribute when it is absent,
    so that it can disagree with a person's stated gender."""
    names = [n for n, r in rules.attributes.items() if r.comparator is Comparator.NAME]
    genders = [n for n, r in rules.attributes.items() if r.comparator is Comparator.GENDER]
    if not genders or any(g in attributes for g in genders):
        return attributes
    said = next((parse_name(attributes[n]).honorific_gender for n in names if n in attributes),
                "")
    if said:
        attributes[genders[0]] = said
    return attributes


# Consent statements: "true" or "false" (also 1/0, yes/no), stored as "true" / "false".
BOOLEAN_ATTRIBUTES = frozenset({"consent_marketing"})
_BOOLEANS = {"true": "true", "1": "true", "yes": "true", "y": "true",
             "false": "false", "0": "false", "no": "false", "n": "false"}


def _with_ownerships(identifiers: tuple[IdKey, ...], vehicles: tuple[Vehicle, ...],
                     rules: Rules, zone: tzinfo) -> tuple[IdKey, ...]:
    """Add the ownership identifiers of OWNER mentions with a start date, for every type
    of the ``ownership`` format the rules define."""
    types = [name for name, rule in rules.identifier_types.items()
             if rule.format is IdentifierFormat.OWNERSHIP]
    owned = [v for v in vehicles
             if v.relation is VehicleRelation.OWNER and v.vin and v.since is not None]
    if not types or not owned:
        return identifiers
    keys = {key.key: key for key in identifiers}
    for type_name in types:
        for vehicle in owned:
            assert vehicle.since is not None
            key = IdKey(type_name, "", ownership_value(vehicle.vin, vehicle.since, zone))
            keys.setdefault(key.key, key)
    return tuple(sorted(keys.values()))


def _prepare_vehicles(
    raws: tuple[RawVehicle, ...], rules: Rules, limits: Limits, errors: _Collector, path: str,
    now: datetime,
) -> tuple[Vehicle, ...]:
    if len(raws) > limits.max_vehicles:
        errors.add(path, f"more than {limits.max_vehicles} vehicles")
        return ()
    opts = rules.format_options(None, limits.max_value_length)
    vehicles = (_prepare_vehicle(raw, rules, opts, errors, f"{path}[{index}]", now)
                for index, raw in enumerate(raws))
    return tuple(v for v in vehicles if v is not None)


def _prepare_vehicle(raw: RawVehicle, rules: Rules, opts: FormatOptions, errors: _Collector,
                     where: str, now: datetime) -> Vehicle | None:
    relation = vehicle_relation(raw.relation)
    if relation is None:
        errors.drop(f"{where}.relation", "one of " + ", ".join(r.value for r in VehicleRelation),
                    "vehicles.relation")
        return None
    vin = _vehicle_vin(raw, relation, opts, errors, where)
    if vin is None:
        return None
    plate = ""
    if raw.plate.strip():
        try:
            plate = normalize_plate(raw.plate, opts)
        except BadIdentifier as exc:
            errors.drop(f"{where}.plate", f"invalid plate: {exc}", "vehicles.plate")
    if raw.since and raw.until and raw.until < raw.since:
        errors.drop(f"{where}.until", "ends before it starts", "vehicles.until")
        return None
    return Vehicle(vin, relation, raw.model.strip()[:128], plate, raw.since, raw.until,
                   vin_make(vin, rules.makes) if vin else "",
                   vin_model_year(vin, now) if vin else None)


def _vehicle_vin(raw: RawVehicle, relation: VehicleRelation, opts: FormatOptions,
                 errors: _Collector, where: str) -> str | None:
    """The normalized VIN; "" for interest in a model (a lead or a test drive naming a model
    and no valid VIN); None when the mention cannot be kept."""
    as_interest = relation in MODEL_RELATIONS and bool(raw.model.strip())
    if not raw.vin.strip():
        if as_interest:
            return ""
        needs = ("a VIN, or a model for INTERESTED and TEST_DRIVE" if relation in MODEL_RELATIONS
                 else f"a VIN for {relation.value}")
        errors.drop(f"{where}.vin", f"a vehicle mention needs {needs}", "vehicles.vin")
        return None
    try:
        return normalize_vin(raw.vin, opts)
    except BadIdentifier as exc:
        errors.drop(f"{where}.vin", f"invalid vin: {exc}", "vehicles.vin")
        return "" if as_interest else None


def derive_blocking_keys(attributes: dict[str, str], rules: Rules) -> tuple[IdKey, ...]:
    """Blocking keys: combinations of canonical attribute values that find candidates."""
    keys = []
    for combo in rules.blocking_keys:
        parts = []
        for part in combo:
            name, _, transform = part.partition(":")
            raw = attributes.get(name, "")
            parts.append(blocking_value(rules.blocking_comparator(name), raw, transform)
                         if raw else "")
        if all(parts):
            keys.append(IdKey(sys.intern(BLOCKING_PREFIX + "+".join(combo)), "",
                              KEY_SEPARATOR.join(parts)))
    return tuple(keys)


def person_blocking_keys(attributes: Mapping[str, Sequence[str]], rules: Rules,
                         on: str, per_attribute: int = 4) -> list[IdKey]:
    """The blocking keys on attribute `on` a person's records may hold: each combination of
    its attribute values (at most `per_attribute` of each attribute), without repeats."""
    found: dict[str, IdKey] = {}
    for combo in rules.blocking_keys:
        names = [part.partition(":")[0] for part in combo]
        if on not in names:
            continue
        choices = [list(attributes.get(name, ()))[:per_attribute] for name in names]
        for values in itertools.product(*choices):
            for key in derive_blocking_keys(dict(zip(names, values, strict=True)), rules):
                found.setdefault(key.key, key)
    return list(found.values())


def _fingerprint(
    observed_at: datetime | None, identifiers: tuple[IdKey, ...], attributes: dict[str, str],
    vehicles: tuple[Vehicle, ...], referrers: tuple[IdKey, ...] = (),
) -> str:
    payload: dict[str, object] = {
        "observed_at": observed_at.astimezone(UTC).isoformat() if observed_at else "",
        "identifiers": [k.key for k in identifiers],
        "attributes": attributes,
        "vehicles": [[v.vin, v.relation.value, v.model, v.plate, _iso(v.since), _iso(v.until)]
                     for v in vehicles],
    }
    if referrers:  # (absent otherwise, so that records stored before keep their fingerprint)
        payload["referred_by"] = [k.key for k in referrers]
    return hashlib.sha256(json.dumps(payload, sort_keys=True, ensure_ascii=False).encode()
                          ).hexdigest()


def _iso(value: datetime | None) -> str:
    return value.astimezone(UTC).isoformat() if value else ""
