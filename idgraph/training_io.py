"""Reading training input: JSON Lines of ``SourceRecord`` messages."""

from __future__ import annotations

import json
import logging
import re
from collections.abc import Iterable, Sequence
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from google.protobuf import json_format

from idgraph.api.convert import record_from_proto
from idgraph.config import Settings
from idgraph.domain.records import RawIdentifier, RawRecord, RawVehicle, prepare_record
from idgraph.domain.rules import Rules
from idgraph.errors import InvalidInput
from idgraph.training import TrainingRecord, TrainingReport, train, training_record
from idgraph.v1 import identity_pb2 as pb

log = logging.getLogger(__name__)


_RECORD_KEYS = frozenset({"source", "sourceRecordId", "source_record_id", "observedAt",
                          "observed_at", "identifiers", "attributes", "vehicles", "referredBy",
                          "referred_by"})
_IDENTIFIER_KEYS = frozenset({"type", "value", "scope"})
_VEHICLE_KEYS = frozenset({"vin", "relation", "model", "plate", "since", "until"})
_RELATIONS = {name: name.removeprefix("VEHICLE_RELATION_") if number else ""
              for name, number in pb.VehicleRelation.items()}
_RFC3339 = re.compile(r"\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(?:\.\d{1,6})?(?:Z|[+-]\d{2}:\d{2})\Z")


class _Unusual(Exception):
    """The row needs protobuf's own JSON parser."""


def _time(value: object) -> datetime | None:
    if value is None:
        return None
    if not isinstance(value, str) or not _RFC3339.match(value):
        raise _Unusual
    try:
        return datetime.fromisoformat(value).astimezone(UTC)
    except ValueError:
        raise _Unusual from None


def _fast_record(obj: dict[str, Any]) -> RawRecord:
    """A row in the common shapes, read without protobuf (several times faster)."""
    if not obj.keys() <= _RECORD_KEYS:
        raise _Unusual
    source = obj.get("source", "")
    record_id = obj.get("sourceRecordId", obj.get("source_record_id", ""))
    identifiers = obj.get("identifiers", [])
    attributes = obj.get("attributes", {})
    vehicles = obj.get("vehicles", [])
    referred_by = obj.get("referredBy", obj.get("referred_by", []))
    if not (isinstance(source, str) and isinstance(record_id, str)
            and isinstance(identifiers, list) and isinstance(attributes, dict)
            and isinstance(vehicles, list) and isinstance(referred_by, list)
            and all(isinstance(i, dict) and i.keys() <= _IDENTIFIER_KEYS
                    and all(isinstance(v, str) for v in i.values())
                    for i in (*identifiers, *referred_by))
            and all(isinstance(v, str) for v in attributes.values())):
        raise _Unusual
    raw_vehicles = []
    for v in vehicles:
        if not (isinstance(v, dict) and v.keys() <= _VEHICLE_KEYS
                and all(isinstance(v.get(k, ""), str) for k in ("vin", "model", "plate"))
                and v.get("relation", "VEHICLE_RELATION_UNSPECIFIED") in _RELATIONS):
            raise _Unusual
        raw_vehicles.append(RawVehicle(
            vin=v.get("vin", ""), relation=_RELATIONS[v.get("relation",
                                                            "VEHICLE_RELATION_UNSPECIFIED")],
            model=v.get("model", ""), plate=v.get("plate", ""),
            since=_time(v.get("since")), until=_time(v.get("until"))))
    return RawRecord(source, record_id,
                     _time(obj.get("observedAt", obj.get("observed_at"))),
                     tuple(RawIdentifier(i.get("type", ""), i.get("value", ""),
                                         i.get("scope", "")) for i in identifiers),
                     dict(attributes), tuple(raw_vehicles),
                     tuple(RawIdentifier(i.get("type", ""), i.get("value", ""),
                                         i.get("scope", "")) for i in referred_by))


def record_from_json(obj: object) -> RawRecord:
    """One JSON Lines row (protobuf's JSON form of SourceRecord) -> a raw record.

    Rows in the common shapes (strings, RFC 3339 times, enum names) are read directly;
    anything else goes through protobuf's own JSON parser, so both read the same rows the
    same way and refuse the same rows with its messages."""
    if not isinstance(obj, dict):
        raise ValueError("a JSON object (SourceRecord) is expected")
    try:
        return _fast_record(obj)
    except _Unusual:
        return record_from_proto(json_format.ParseDict(obj, pb.SourceRecord()))


def read_training_records(paths: Iterable[Path], rules: Rules, settings: Settings
                          ) -> tuple[list[TrainingRecord], int]:
    """Parse, validate and normalize every line; invalid lines are counted and logged."""
    records, rejected = [], 0
    limits, secret, now = settings.limits, settings.secret_bytes, datetime.now(UTC)
    for path in paths:
        with path.open(encoding="utf-8") as handle:
            for number, line in enumerate(handle, 1):
                if not line.strip():
                    continue
                try:
                    prepared = prepare_record(record_from_json(json.loads(line)), rules,
                                              limits, secret, now)
                except (ValueError, json_format.ParseError, InvalidInput) as exc:
                    rejected += 1
                    log.warning("%s:%d skipped: %s", path, number, exc)
                    continue
                records.append(training_record(prepared, rules))
    return records, rejected


def train_to_file(inputs: Sequence[Path], template: Rules, out: Path, settings: Settings, *,
                  max_pairs: int = 30_000, u_sample: int = 800, seed: int = 0,
                  tf_attributes: Sequence[str] = ()) -> tuple[TrainingReport, int]:
    """Train on JSON Lines files and write the rules file: what `idgraph train` does."""
    import tomli_w

    records, rejected = read_training_records(inputs, template, settings)
    report = train(records, template, max_pairs=max_pairs, u_sample=u_sample, seed=seed,
                   tf_attributes=tf_attributes)
    data = report.rules.model_dump(mode="json", exclude_none=True)
    out.write_text(f"# Trained by `idgraph train` on {report.records} records.\n"
                   + tomli_w.dumps(data), encoding="utf-8")
    return report, rejected
