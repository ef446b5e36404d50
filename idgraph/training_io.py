"""Reading training input: JSON Lines of ``SourceRecord`` messages."""

from __future__ import annotations

import json
import logging
from collections.abc import Iterable, Sequence
from datetime import UTC, datetime
from pathlib import Path

from google.protobuf import json_format

from idgraph.api.convert import record_from_proto
from idgraph.config import Settings
from idgraph.domain.records import RawIdentifier, RawRecord, prepare_record
from idgraph.domain.rules import Rules
from idgraph.errors import InvalidInput
from idgraph.training import TrainingRecord, TrainingReport, train, training_record
from idgraph.v1 import identity_pb2 as pb

log = logging.getLogger(__name__)


_SIMPLE_KEYS = frozenset({"source", "sourceRecordId", "source_record_id", "identifiers",
                          "attributes"})
_IDENTIFIER_KEYS = frozenset({"type", "value", "scope"})


def record_from_json(obj: object) -> RawRecord:
    """One JSON Lines row (protobuf's JSON form of SourceRecord) -> a raw record.

    Rows with only strings in source, ids, identifiers and attributes (the common case) are
    read directly; anything else (timestamps, vehicles, unusual spellings) goes through
    protobuf's own JSON parser, so both read the same rows the same way."""
    if isinstance(obj, dict) and obj.keys() <= _SIMPLE_KEYS:
        source = obj.get("source", "")
        record_id = obj.get("sourceRecordId", obj.get("source_record_id", ""))
        identifiers = obj.get("identifiers", [])
        attributes = obj.get("attributes", {})
        if (isinstance(source, str) and isinstance(record_id, str)
                and isinstance(identifiers, list) and isinstance(attributes, dict)
                and all(isinstance(i, dict) and i.keys() <= _IDENTIFIER_KEYS
                        and all(isinstance(v, str) for v in i.values()) for i in identifiers)
                and all(isinstance(v, str) for v in attributes.values())):
            return RawRecord(source, record_id, None,
                             tuple(RawIdentifier(i.get("type", ""), i.get("value", ""),
                                                 i.get("scope", "")) for i in identifiers),
                             dict(attributes))
    if not isinstance(obj, dict):
        raise ValueError("a JSON object (SourceRecord) is expected")
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
