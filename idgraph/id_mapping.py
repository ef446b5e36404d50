"""The ID-mapping table (source, source_record_id, one_id) as CSV or JSON Lines, and the
truth files `idgraph evaluate` compares it with."""

from __future__ import annotations

import csv
import json
from collections.abc import Iterable, Iterator
from pathlib import Path
from typing import TextIO

from idgraph.domain.records import KEY_SEPARATOR
from idgraph.errors import InvalidInput

MAPPING_COLUMNS = ("source", "source_record_id", "one_id")
TRUTH_LABELS = ("entity", "entity_id", "person_id", "true_id", "cluster", "one_id")


def record_key(source: str, source_record_id: str) -> str:
    """The key a record has in the graph."""
    return f"{source}{KEY_SEPARATOR}{source_record_id}"


def write_mapping(rows: Iterable[tuple[str, str, str]], out: TextIO, fmt: str) -> int:
    """Write mapping rows as `csv` (with a header) or `jsonl`; answer how many."""
    count = 0
    if fmt == "csv":
        writer = csv.writer(out, lineterminator="\n")
        writer.writerow(MAPPING_COLUMNS)
        for row in rows:
            writer.writerow(row)
            count += 1
        return count
    for row in rows:
        out.write(json.dumps(dict(zip(MAPPING_COLUMNS, row, strict=True)),
                             ensure_ascii=False) + "\n")
        count += 1
    return count


def read_labels(path: Path) -> dict[str, str]:
    """Record key -> cluster label from a CSV (header: source, source_record_id and one of
    entity/entity_id/person_id/true_id/cluster/one_id) or a JSON Lines file."""
    with path.open(newline="", encoding="utf-8") as handle:
        rows = _json_rows(handle) if path.suffix in (".jsonl", ".json") else \
            csv.DictReader(handle)
        labels: dict[str, str] = {}
        for line, row in enumerate(rows, start=2):
            label = next((row[c] for c in TRUTH_LABELS if row.get(c)), None)
            if not row.get("source") or not row.get("source_record_id") or label is None:
                raise InvalidInput.one(f"{path}:{line}", "needs source, source_record_id and "
                                       "a label column (" + ", ".join(TRUTH_LABELS) + ")")
            labels[record_key(row["source"], row["source_record_id"])] = str(label)
    return labels


def _json_rows(handle: TextIO) -> Iterator[dict[str, str]]:
    for text in handle:
        if text.strip():
            yield {k: str(v) for k, v in json.loads(text).items()}
