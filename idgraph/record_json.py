"""JSON Lines rows of ``SourceRecord`` -> raw records, read as exports write them.

The field names are those of protobuf's JSON mapping (snake_case or camelCase). Values are
read leniently, without protobuf's JSON parser (which is several times slower and refuses
a whole row for one odd value): relations by short name in any case (``owner``,
``Test_Drive``) or number, times as ``2021-07``, ``2021-07-15``, ``2021/07/15``,
``2021-07-15 08:30:00`` (local, in the configured zone), RFC 3339 or epoch seconds/millis,
numbers and booleans where text is expected, ``null`` for absent. What cannot be read (an
unknown field, a list where text belongs, a time in no known format) is left out and listed
in ``RawRecord.unreadable``; validation then drops it with a warning or refuses the record.
"""

from __future__ import annotations

from datetime import datetime, tzinfo
from typing import Any
from zoneinfo import ZoneInfo

from idgraph.domain.records import DroppedValue, RawIdentifier, RawRecord, RawVehicle
from idgraph.domain.timestamps import parse_timestamp
from idgraph.v1 import identity_pb2 as pb

DEFAULT_ZONE = ZoneInfo("Asia/Shanghai")

_ALIASES = {"sourceRecordId": "source_record_id", "observedAt": "observed_at",
            "referredBy": "referred_by"}
_RECORD_KEYS = frozenset({"source", "source_record_id", "observed_at", "identifiers",
                          "attributes", "vehicles", "referred_by"} | _ALIASES.keys())
_IDENTIFIER_KEYS = frozenset({"type", "value", "scope"})
_VEHICLE_KEYS = frozenset({"vin", "relation", "model", "plate", "since", "until"})
_RELATION_NUMBERS = {number: name.removeprefix("VEHICLE_RELATION_") if number else ""
                     for name, number in pb.VehicleRelation.items()}
_RELATION_NAMES = {name: _RELATION_NUMBERS[number] for name, number in pb.VehicleRelation.items()}
UNKNOWN_FIELD = "unknown field"


class _Row:
    """One row being read: the problems found on the way."""

    def __init__(self, zone: tzinfo) -> None:
        self.zone = zone
        self.problems: list[DroppedValue] = []

    def problem(self, path: str, description: str, kind: str) -> None:
        self.problems.append(DroppedValue(path, description, kind))

    def unknown(self, obj: dict[str, Any], known: frozenset[str], path: str) -> None:
        for key in sorted(obj.keys() - known):
            self.problem(f"{path}{str(key)[:64]}", "unknown field, left out", UNKNOWN_FIELD)

    def text(self, value: object, path: str, kind: str) -> str:
        """Text as given; numbers and booleans as their text; null and the rest empty."""
        if isinstance(value, str):
            return value
        if value is None:
            return ""
        if isinstance(value, bool):
            return "true" if value else "false"
        if isinstance(value, int):
            return str(value)
        if isinstance(value, float):
            return str(int(value)) if value.is_integer() else repr(value)
        self.problem(path, f"text expected, got {type(value).__name__}", kind)
        return ""

    def time(self, value: object, path: str, kind: str) -> datetime | None:
        if value is None or value == "":
            return None
        try:
            return parse_timestamp(value, self.zone)
        except ValueError as exc:
            self.problem(path, str(exc), kind)
            return None

    def items(self, value: object, path: str) -> list[Any]:
        if value is None:
            return []
        if isinstance(value, list):
            return value
        self.problem(path, f"a list expected, got {type(value).__name__}", path)
        return []


def record_from_json(obj: object, zone: tzinfo = DEFAULT_ZONE) -> RawRecord:
    """One JSON Lines row -> a raw record; naive times are local times in ``zone``.

    Raises:
        ValueError: the row is not an object, or its source or id is not text.
    """
    if not isinstance(obj, dict):
        raise ValueError("a JSON object (SourceRecord) is expected")
    if not obj.keys() <= _RECORD_KEYS or any(a in obj for a in _ALIASES):
        obj = {_ALIASES.get(str(k), str(k)): v for k, v in obj.items()}
    row = _Row(zone)
    row.unknown(obj, _RECORD_KEYS, "")
    source, record_id = obj.get("source"), obj.get("source_record_id")
    for name, value in (("source", source), ("source_record_id", record_id)):
        if isinstance(value, bool) or not isinstance(value, str | int | None):
            raise ValueError(f"{name}: text expected, got {type(value).__name__}")
    return RawRecord(
        source=row.text(source, "source", "source"),
        source_record_id=row.text(record_id, "source_record_id", "source_record_id"),
        observed_at=row.time(obj.get("observed_at"), "observed_at", "observed_at"),
        identifiers=_identifiers(row, obj.get("identifiers"), "identifiers"),
        attributes=_attributes(row, obj.get("attributes")),
        vehicles=_vehicles(row, obj.get("vehicles")),
        referred_by=_identifiers(row, obj.get("referred_by"), "referred_by"),
        unreadable=tuple(row.problems))


def _identifiers(row: _Row, value: object, path: str) -> tuple[RawIdentifier, ...]:
    found = []
    for index, item in enumerate(row.items(value, path)):
        where = f"{path}[{index}]"
        if not isinstance(item, dict):
            row.problem(where, "an object expected", path)
            continue
        if not item.keys() <= _IDENTIFIER_KEYS:
            row.unknown(item, _IDENTIFIER_KEYS, f"{where}.")
        type_name = row.text(item.get("type"), f"{where}.type", path)
        kind = f"{path}.{type_name[:64]}"
        found.append(RawIdentifier(type_name, row.text(item.get("value"), f"{where}.value", kind),
                                   row.text(item.get("scope"), f"{where}.scope", kind)))
    return tuple(found)


def _attributes(row: _Row, value: object) -> dict[str, str]:
    if value is None:
        return {}
    if not isinstance(value, dict):
        row.problem("attributes", f"an object expected, got {type(value).__name__}",
                    "attributes")
        return {}
    attributes = {}
    for name, item in value.items():
        if item is not None:
            attributes[name] = row.text(item, f"attributes[{name!r}]", f"attributes.{name}")
    return attributes


def _vehicles(row: _Row, value: object) -> tuple[RawVehicle, ...]:
    found = []
    for index, item in enumerate(row.items(value, "vehicles")):
        if isinstance(item, dict):
            found.append(_vehicle(row, item, f"vehicles[{index}]"))
        else:
            row.problem(f"vehicles[{index}]", "an object expected", "vehicles")
    return tuple(found)


def _vehicle(row: _Row, item: dict[str, Any], where: str) -> RawVehicle:
    if not item.keys() <= _VEHICLE_KEYS:
        row.unknown(item, _VEHICLE_KEYS, f"{where}.")
    relation = item.get("relation")
    if isinstance(relation, int) and not isinstance(relation, bool):
        relation = _RELATION_NUMBERS.get(relation, str(relation))
    elif relation in _RELATION_NAMES:  # the proto's own names, as protobuf reads them
        relation = _RELATION_NAMES[relation]
    return RawVehicle(
        vin=row.text(item.get("vin"), f"{where}.vin", "vehicles.vin"),
        relation=row.text(relation, f"{where}.relation", "vehicles.relation"),
        model=row.text(item.get("model"), f"{where}.model", "vehicles.model"),
        plate=row.text(item.get("plate"), f"{where}.plate", "vehicles.plate"),
        since=row.time(item.get("since"), f"{where}.since", "vehicles.since"),
        until=row.time(item.get("until"), f"{where}.until", "vehicles.until"))
