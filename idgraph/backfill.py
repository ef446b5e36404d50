"""``idgraph backfill``: load history files through the batch path, resumably.

Rows (JSON Lines of ``SourceRecord``) are validated and resolved in batches by the same
``ingest_batch`` as the service. Each batch commits together with its file's checkpoint
(byte offset, line, counts) in one Neo4j transaction, so a run killed at any point
resumes exactly after the last committed batch: no row is lost or counted twice.
Invalid rows go to a dead-letter file (line, reason, row) and the run goes on.
"""

from __future__ import annotations

import json
import logging
import time
from collections.abc import Callable, Iterator
from dataclasses import asdict, dataclass, fields
from datetime import UTC, datetime
from pathlib import Path
from typing import IO, Any

from google.protobuf import json_format

from idgraph.domain.records import PreparedRecord
from idgraph.domain.resolution import Action
from idgraph.domain.working_set import IngestOutcome
from idgraph.engine import IdentityEngine
from idgraph.errors import ConfigError, InvalidInput
from idgraph.store.neo4j_store import GraphTx
from idgraph.training_io import record_from_json

log = logging.getLogger(__name__)

ACTOR = "backfill"


@dataclass
class Counts:
    """What a run (or a file, summed over its runs) did."""

    read: int = 0  # non-blank rows read
    ingested: int = 0  # rows stored (new or changed)
    unchanged: int = 0  # rows stored before, identical
    new_people: int = 0
    merges: int = 0
    review_tasks: int = 0
    dead_letters: int = 0

    def add(self, outcomes: list[IngestOutcome]) -> None:
        """Count a committed batch's answers."""
        for outcome in outcomes:
            if outcome.action is Action.UNCHANGED:
                self.unchanged += 1
                continue
            self.ingested += 1
            self.new_people += outcome.action is Action.NEW
            self.merges += outcome.action is Action.MERGED
            self.review_tasks += bool(outcome.review_task_id)


@dataclass
class FileState:
    """A file's checkpoint: how far committed batches got, and what they did."""

    offset: int = 0  # bytes of the file behind the last committed batch
    line: int = 0
    size: int = 0
    mtime_ns: int = 0
    finished: bool = False
    counts: Counts | None = None

    def to_properties(self) -> dict[str, int | str | bool]:
        """Flat properties for the checkpoint node."""
        flat: dict[str, int | str | bool] = {
            "offset": self.offset, "line": self.line, "size": self.size,
            "mtime_ns": self.mtime_ns, "finished": self.finished}
        flat.update(asdict(self.counts or Counts()))
        return flat

    @staticmethod
    def from_properties(raw: dict[str, Any]) -> FileState:
        """The state a checkpoint node holds."""
        counts = Counts(**{f.name: int(raw.get(f.name, 0)) for f in fields(Counts)})
        return FileState(int(raw["offset"]), int(raw["line"]), int(raw["size"]),
                         int(raw["mtime_ns"]), bool(raw["finished"]), counts)


Report = Callable[[Path, FileState, float], None]


def backfill_file(engine: IdentityEngine, path: Path, dead_letters: Path, *,
                  batch_size: int = 2000, restart: bool = False,
                  report: Report | None = None) -> FileState:
    """Load one file, resuming from its checkpoint; answers its final state."""
    name = str(path.resolve())
    stat = path.stat()
    stored = engine.store.read(lambda tx: tx.load_checkpoint(name))
    state = FileState.from_properties(stored) if stored and not restart else FileState()
    if stored and not restart and (state.size, state.mtime_ns) != (stat.st_size,
                                                                   stat.st_mtime_ns):
        raise ConfigError(f"{path} changed since its checkpoint (size or time); run with "
                          "--restart to load it again from the start")
    state.size, state.mtime_ns = stat.st_size, stat.st_mtime_ns
    state.counts = state.counts or Counts()
    if state.finished:
        return state
    _keep_dead_letters_before(dead_letters, name, state.line)
    started = time.monotonic()
    with path.open("rb") as source, dead_letters.open("a", encoding="utf-8") as dead:
        source.seek(state.offset)
        batch: list[PreparedRecord] = []
        offset, line = state.offset, state.line
        for raw in source:
            line += 1
            offset += len(raw)
            if not raw.strip():
                continue
            state.counts.read += 1  # (each commit replaces the counts object)
            prepared = _prepare(engine, raw, line, name, dead, state.counts)
            if prepared is not None:
                batch.append(prepared)
            if len(batch) >= batch_size:
                _commit(engine, name, state, batch, offset, line, dead)
                batch = []
                if report is not None:
                    report(path, state, time.monotonic() - started)
        _commit(engine, name, state, batch, offset, line, dead, finished=True)
    if report is not None:
        report(path, state, time.monotonic() - started)
    return state


def _prepare(engine: IdentityEngine, raw: bytes, line: int, name: str, dead: IO[str],
             counts: Counts) -> PreparedRecord | None:
    try:
        row = json.loads(raw)
        return engine.prepare(record_from_json(row), prefix="", actor=ACTOR)
    except (ValueError, json_format.ParseError, InvalidInput) as error:
        counts.dead_letters += 1
        dead.write(json.dumps({"file": name, "line": line, "reason": str(error),
                               "row": raw.decode("utf-8", "replace").rstrip("\n")},
                              ensure_ascii=False) + "\n")
        return None


def _commit(engine: IdentityEngine, name: str, state: FileState,
            batch: list[PreparedRecord], offset: int, line: int, dead: IO[str],
            finished: bool = False) -> None:
    """Write a batch and move the checkpoint on in the same transaction."""
    dead.flush()  # the dead letters up to `line` are out before the checkpoint says so
    before = asdict(state.counts or Counts())
    after = [Counts(**before)]

    def checkpoint(tx: GraphTx, outcomes: list[IngestOutcome]) -> None:
        counts = Counts(**before)  # a retried transaction starts from the same counts
        counts.add(outcomes)
        after[0] = counts
        moved = FileState(offset, line, state.size, state.mtime_ns, finished, counts)
        tx.save_checkpoint(name, moved.to_properties(), datetime.now(UTC))

    if batch:
        engine.ingest_batch(batch, also=checkpoint)
    else:
        engine.store.write(lambda tx: checkpoint(tx, []))
    state.offset, state.line, state.finished, state.counts = offset, line, finished, after[0]


def _keep_dead_letters_before(path: Path, name: str, line: int) -> None:
    """Drop this file's dead letters past its checkpoint: their rows are read again."""
    if not path.exists():
        return
    kept = [row for row in _dead_rows(path)
            if row[1].get("file") != name or int(row[1].get("line", 0)) <= line]
    path.write_text("".join(text for text, _ in kept), encoding="utf-8")


def _dead_rows(path: Path) -> Iterator[tuple[str, dict[str, Any]]]:
    with path.open(encoding="utf-8") as handle:
        for text in handle:
            try:
                yield text, json.loads(text)
            except json.JSONDecodeError:
                yield text, {}
