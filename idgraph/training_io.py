"""Reading training input: JSON Lines of ``SourceRecord`` messages."""

from __future__ import annotations

import json
import logging
from collections import Counter
from collections.abc import Iterable, Sequence
from datetime import UTC, datetime
from pathlib import Path

from idgraph.config import Settings
from idgraph.domain.records import prepare_record
from idgraph.domain.rules import Rules
from idgraph.errors import InvalidInput
from idgraph.logs import failed_fields
from idgraph.record_json import record_from_json
from idgraph.training import TrainingRecord, TrainingReport, train, training_record

__all__ = ["read_training_records", "record_from_json", "train_to_file"]

log = logging.getLogger(__name__)


def read_training_records(paths: Iterable[Path], rules: Rules, settings: Settings
                          ) -> tuple[list[TrainingRecord], int]:
    """Parse, validate and normalize every line as backfill does (bad optional values are
    dropped, counted by kind and logged); refused lines are counted and logged."""
    records, rejected, dropped = [], 0, Counter[str]()
    limits, secret, now = settings.limits, settings.secret_bytes, datetime.now(UTC)
    for path in paths:
        with path.open(encoding="utf-8") as handle:
            for number, line in enumerate(handle, 1):
                if not line.strip():
                    continue
                try:
                    prepared = prepare_record(record_from_json(json.loads(line), settings.zone),
                                              rules, limits, secret, now, prefix="",
                                              lenient=True)
                except (ValueError, InvalidInput) as exc:
                    rejected += 1
                    log.warning("%s:%d skipped: %s", path, number, failed_fields(exc))
                    continue
                dropped.update(d.kind for d in prepared.dropped)
                records.append(training_record(prepared, rules))
    if dropped:
        log.warning("values dropped from training input: %s",
                    ", ".join(f"{kind} {count}" for kind, count in dropped.most_common()))
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
