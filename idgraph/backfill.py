"""``idgraph backfill``: load history files through the batch path, resumably.

Rows (JSON Lines of ``SourceRecord``) are validated and resolved in batches by the same
``ingest_batch`` as the service. Each batch commits together with its file's checkpoint
(byte offset, line, counts) in one Neo4j transaction, so a run killed at any point
resumes exactly after the last committed batch: no row is lost or counted twice.
A bad optional value (an identifier, a vehicle, an attribute value, a time) is dropped and
written to the warnings file beside the dead letters (``dead-letters.warnings.jsonl``);
only a structurally broken row goes to the dead-letter file (line, reason, row). The run
goes on either way.
"""

from __future__ import annotations

import contextlib
import csv
import io
import json
import logging
import queue
import threading
import time
import tomllib
from collections import Counter, deque
from collections.abc import Callable, Iterator
from concurrent.futures import Future, ProcessPoolExecutor
from dataclasses import asdict, dataclass, fields
from datetime import UTC, datetime, tzinfo
from functools import partial
from pathlib import Path
from typing import IO, Any

from idgraph.compiled import make_picklable
from idgraph.domain.records import (
    DroppedValue,
    PreparedRecord,
    RawIdentifier,
    RawRecord,
    RawVehicle,
)
from idgraph.domain.resolution import Action
from idgraph.domain.timestamps import parse_timestamp
from idgraph.domain.working_set import IngestOutcome
from idgraph.engine import Ingestion
from idgraph.errors import ConfigError, InvalidInput, Unavailable
from idgraph.forked import fork_pool, shared, sharing
from idgraph.metrics import BACKFILL_ROWS
from idgraph.record_json import DEFAULT_ZONE, record_from_json
from idgraph.store.neo4j_store import GraphTx

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
    dropped_values: int = 0  # values left out of stored rows (see the warnings file)
    suppressed: int = 0  # rows refused for a value on the suppression list

    def add(self, outcomes: list[IngestOutcome]) -> None:
        """Count a committed batch's answers."""
        for outcome in outcomes:
            if outcome.action is Action.SUPPRESSED:
                self.suppressed += 1
                continue
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


@dataclass
class PrepareTime:
    """Seconds spent reading, parsing and validating rows (summed over files)."""

    seconds: float = 0.0


@dataclass(frozen=True)
class ColumnMapping:
    """How the columns of a CSV or Parquet file become a SourceRecord (a TOML file)::

        source = "dms"                   # the source system (required)
        source_record_id = "cust_no"     # the column with the record's id (required)
        observed_at = "updated_at"       # a column with a time (optional)
        [identifiers]                    # column = identifier type, or {type, scope}
        mobile = "phone"
        openid = { type = "wechat_openid", scope = "wx-app-1" }
        [attributes]                     # column = attribute name
        cust_name = "name"
        [vehicle]                        # one vehicle mention per row (optional)
        vin = "vin"                      # columns: vin, relation, model, plate, since, until
        relation = "rel"                 # or a fixed one: relation = { value = "OWNER" }
        since = "sold_on"

    Times are read like JSON Lines times (``2021-07``, ``2021/07/15``, local times in
    IDGRAPH_TIMEZONE, RFC 3339, epoch seconds or millis); relations by short name in any
    case.
    """

    source: str
    id_column: str
    observed_column: str = ""
    identifiers: tuple[tuple[str, str, str], ...] = ()  # (column, type, scope)
    attributes: tuple[tuple[str, str], ...] = ()  # (column, attribute)
    vehicle: tuple[tuple[str, str], ...] = ()  # (field, column) of one vehicle mention
    relation: str = ""  # a fixed relation, when no column holds one

    @staticmethod
    def load(path: Path) -> ColumnMapping:
        """Read a mapping file; ConfigError names what is wrong."""
        try:
            doc = tomllib.loads(path.read_text(encoding="utf-8"))
        except (OSError, tomllib.TOMLDecodeError) as exc:
            raise ConfigError(f"mapping {path}: {exc}") from exc
        source, id_column = doc.get("source"), doc.get("source_record_id")
        if not isinstance(source, str) or not source.strip():
            raise ConfigError(f"mapping {path}: source is required")
        if not isinstance(id_column, str) or not id_column:
            raise ConfigError(f"mapping {path}: source_record_id (a column) is required")
        identifiers = []
        for column, spec in dict(doc.get("identifiers", {})).items():
            if isinstance(spec, str):
                identifiers.append((column, spec, ""))
            elif isinstance(spec, dict) and isinstance(spec.get("type"), str):
                identifiers.append((column, spec["type"], str(spec.get("scope", ""))))
            else:
                raise ConfigError(f"mapping {path}: identifiers.{column} must be a type "
                                  "or {type, scope}")
        attributes = [(column, str(name))
                      for column, name in dict(doc.get("attributes", {})).items()]
        vehicle, relation = _vehicle_columns(dict(doc.get("vehicle", {})), path)
        return ColumnMapping(source.strip(), id_column, str(doc.get("observed_at", "")),
                             tuple(identifiers), tuple(attributes), vehicle, relation)

    @property
    def columns(self) -> frozenset[str]:
        """Every column the mapping reads."""
        return frozenset({self.id_column, *(c for c, _, _ in self.identifiers),
                          *(c for c, _ in self.attributes), *(c for _, c in self.vehicle)}
                         | ({self.observed_column} - {""}))

    def check_header(self, header: list[str], path: Path) -> None:
        """Every mapped column must be in the file."""
        missing = sorted(self.columns - set(header))
        if missing:
            raise ConfigError(f"{path}: columns {', '.join(missing)} are mapped but not in "
                              "the header")

    def record(self, row: dict[str, str], zone: tzinfo = DEFAULT_ZONE) -> RawRecord:
        """The raw record of one row (empty cells are left out; unreadable times listed)."""
        unreadable: list[DroppedValue] = []

        def time(column: str, field: str) -> datetime | None:
            text = (row.get(column) or "").strip() if column else ""
            if not text:
                return None
            try:
                return parse_timestamp(text, zone)
            except ValueError as exc:  # kind: "observed_at", "vehicles.since", ...
                kind = field.replace("[0]", "")
                unreadable.append(DroppedValue(field, f"column {column}: {exc}", kind))
                return None

        return RawRecord(
            source=self.source, source_record_id=(row.get(self.id_column) or "").strip(),
            observed_at=time(self.observed_column, "observed_at"),
            identifiers=tuple(RawIdentifier(t, row[c].strip(), scope)
                              for c, t, scope in self.identifiers if (row.get(c) or "").strip()),
            attributes={name: row[c].strip() for c, name in self.attributes
                        if (row.get(c) or "").strip()},
            vehicles=self._vehicles(row, time), unreadable=tuple(unreadable))

    def _vehicles(self, row: dict[str, str],
                  time: Callable[[str, str], datetime | None]) -> tuple[RawVehicle, ...]:
        columns = dict(self.vehicle)
        cells = {f: (row.get(c) or "").strip() for f, c in self.vehicle}
        if not any(cells.get(f) for f in ("vin", "model", "plate")):
            return ()
        return (RawVehicle(cells.get("vin", ""), cells.get("relation") or self.relation,
                           cells.get("model", ""), cells.get("plate", ""),
                           time(columns.get("since", ""), "vehicles[0].since"),
                           time(columns.get("until", ""), "vehicles[0].until")),)


_VEHICLE_FIELDS = ("vin", "relation", "model", "plate", "since", "until")


def _vehicle_columns(spec: dict[str, Any], path: Path) -> tuple[tuple[tuple[str, str], ...], str]:
    """The [vehicle] table: field -> column, and a fixed relation ({ value = "OWNER" })."""
    columns, relation = [], ""
    for name, column in spec.items():
        if name == "relation" and isinstance(column, dict) and isinstance(column.get("value"),
                                                                          str):
            relation = column["value"]
        elif name in _VEHICLE_FIELDS and isinstance(column, str) and column:
            columns.append((name, column))
        else:
            raise ConfigError(f"mapping {path}: vehicle.{name} must be a column ("
                              + ", ".join(_VEHICLE_FIELDS) + ") or relation = { value = ... }")
    return tuple(columns), relation


def warnings_path(dead_letters: Path) -> Path:
    """Where dropped values are written: beside the dead letters (``x.warnings.jsonl``)."""
    return dead_letters.with_name(f"{dead_letters.stem}.warnings{dead_letters.suffix}")


def backfill_file(ingestion: Ingestion, path: Path, dead_letters: Path, *,
                  batch_size: int = 2000, restart: bool = False,
                  report: Report | None = None, mapping: ColumnMapping | None = None,
                  prepare_time: PrepareTime | None = None,
                  zone: tzinfo = DEFAULT_ZONE, wait: float = 300.0) -> FileState:
    """Load one file (JSON Lines, or CSV or Parquet with a column mapping), resuming from its
    checkpoint; answers its final state. Times without a zone are local times in ``zone``;
    dropped values go to ``warnings_path(dead_letters)``. While Neo4j is unavailable (down,
    restarting) a batch is tried again for up to `wait` seconds in a row, then the run
    stops (Unavailable) and resumes from its checkpoint when started again."""
    _check_format(path, mapping)
    name = str(path.resolve())
    stat = path.stat()
    stored = ingestion.core.store.read(lambda tx: tx.load_checkpoint(name))
    state = FileState.from_properties(stored) if stored and not restart else FileState()
    if stored and not restart and (state.size, state.mtime_ns) != (stat.st_size,
                                                                   stat.st_mtime_ns):
        raise ConfigError(f"{path} changed since its checkpoint (size or time); run with "
                          "--restart to load it again from the start")
    state.size, state.mtime_ns = stat.st_size, stat.st_mtime_ns
    state.counts = state.counts or Counts()
    if state.finished:
        return state
    warned = warnings_path(dead_letters)
    _keep_dead_letters_before(dead_letters, name, state.line)
    _keep_dead_letters_before(warned, name, state.line)
    started = time.monotonic()
    rows = _rows_of(path, state, mapping, zone)
    with dead_letters.open("a", encoding="utf-8") as dead, warned.open(
            "a", encoding="utf-8") as warn, _Reader(
            ingestion, rows, _Letters(name, dead, warn), batch_size,
            prepare_time or PrepareTime()) as reader:
        for batch in reader:
            _commit_waiting(ingestion, name, state, batch, wait)
            if report is not None:
                report(path, state, time.monotonic() - started)
    return state


@dataclass
class _Batch:
    """Prepared rows up to a position, with the rows read and refused on the way."""

    records: list[PreparedRecord]
    offset: int  # bytes of the file behind the batch
    line: int
    read: int
    dead_letters: int
    dropped_values: int = 0
    last: bool = False


@dataclass
class _Letters:
    """Where a file's refused rows (dead letters) and dropped values (warnings) go."""

    name: str  # the file's resolved path
    dead: IO[str]
    warnings: IO[str]

    def flush(self) -> None:
        """Out before a checkpoint says the batch is done."""
        self.dead.flush()
        self.warnings.flush()


class _Reader:
    """Reads, parses and validates the next batches in a thread while the current one is
    resolved and committed (the graph's work then overlaps with parsing). At most two
    batches wait; a failure in the thread is raised to the consumer."""

    def __init__(self, ingestion: Ingestion, rows: Iterator[Row], letters: _Letters,
                 batch_size: int, preparing: PrepareTime) -> None:
        self._ingestion, self._rows, self._letters = ingestion, rows, letters
        self._batch_size, self._preparing = batch_size, preparing
        self._queue: queue.Queue[_Batch | BaseException] = queue.Queue(maxsize=2)
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name="backfill-reader", daemon=True)

    def __enter__(self) -> _Reader:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        while self._thread.is_alive():  # unblock a reader waiting on a full queue
            with contextlib.suppress(queue.Empty):
                self._queue.get(timeout=0.05)
        self._thread.join()

    def __iter__(self) -> Iterator[_Batch]:
        while True:
            item = self._queue.get()
            if isinstance(item, BaseException):
                raise item
            yield item
            if item.last:
                return

    def _put(self, item: _Batch | BaseException) -> bool:
        while not self._stop.is_set():
            try:
                self._queue.put(item, timeout=0.1)
                return True
            except queue.Full:
                continue
        return False

    def _run(self) -> None:
        try:
            batch = _Batch([], 0, 0, 0, 0)
            counts = Counts()
            mark = time.perf_counter()
            for line, offset, text, parse in self._rows:
                batch.read += 1
                prepared = _prepare(self._ingestion, parse, text, line, self._letters,
                                    counts)
                if prepared is not None:
                    batch.records.append(prepared)
                batch.offset, batch.line = offset, line
                if len(batch.records) >= self._batch_size:
                    batch.dead_letters, counts.dead_letters = counts.dead_letters, 0
                    batch.dropped_values, counts.dropped_values = counts.dropped_values, 0
                    self._letters.flush()
                    self._preparing.seconds += time.perf_counter() - mark
                    if not self._put(batch):
                        return
                    mark = time.perf_counter()
                    batch = _Batch([], offset, line, 0, 0)
            batch.dead_letters, batch.last = counts.dead_letters, True
            batch.dropped_values = counts.dropped_values
            batch.offset = -1  # the end of the file, whatever was read ahead
            self._letters.flush()
            self._preparing.seconds += time.perf_counter() - mark
            self._put(batch)
        except BaseException as error:  # handed to the consumer, raised there
            self._put(error)


Row = tuple[int, int, str, Callable[[], RawRecord]]  # line, offset after it, text, parse


_FORMATS = {".csv": "CSV", ".parquet": "Parquet", ".pq": "Parquet"}  # else JSON Lines


def _check_format(path: Path, mapping: ColumnMapping | None) -> None:
    kind = _FORMATS.get(path.suffix.lower())
    if kind and mapping is None:
        raise ConfigError(f"{path}: {kind} needs a column mapping (--mapping)")


def _rows_of(path: Path, state: FileState, mapping: ColumnMapping | None, zone: tzinfo
             ) -> Iterator[Row]:
    """The file's rows after the state's checkpoint, read as its suffix says."""
    kind = _FORMATS.get(path.suffix.lower())
    if mapping is not None and kind == "CSV":
        return _counted(_csv_rows(path, state, mapping, zone))
    if mapping is not None and kind == "Parquet":
        return _counted(_parquet_rows(path, state, mapping, zone))
    return _counted(_jsonl_rows(path, state, zone))


def _counted(rows: Iterator[Row], every: int = 1000) -> Iterator[Row]:
    """The rows, counted in the backfill metric a thousand at a time (its lock is not
    taken per row)."""
    read = 0
    try:
        for read, row in enumerate(rows, 1):
            if read % every == 0:
                BACKFILL_ROWS.inc(every)
            yield row
    finally:
        BACKFILL_ROWS.inc(read % every)


def _jsonl_rows(path: Path, state: FileState, zone: tzinfo) -> Iterator[Row]:
    """Non-blank lines after the checkpoint's byte offset."""
    with path.open("rb") as source:
        source.seek(state.offset)
        offset, line = state.offset, state.line
        for raw in source:
            line += 1
            offset += len(raw)
            if raw.strip():
                text = raw.decode("utf-8", "replace").rstrip("\r\n")
                yield line, offset, text, partial(_from_json_line, raw, zone)


def _from_json_line(raw: bytes, zone: tzinfo) -> RawRecord:
    return record_from_json(json.loads(raw), zone)


def _csv_rows(path: Path, state: FileState, mapping: ColumnMapping, zone: tzinfo
              ) -> Iterator[Row]:
    """Rows after the checkpoint's line (a row may span lines: quoted line breaks)."""
    with path.open("rb") as binary, io.TextIOWrapper(binary, encoding="utf-8-sig",
                                                     newline="") as handle:
        reader = csv.DictReader(handle)
        mapping.check_header(list(reader.fieldnames or []), path)
        for row in reader:
            if reader.line_num <= state.line:
                continue
            offset = min(binary.tell(), state.size)  # read-ahead: for progress only
            text = json.dumps(row, ensure_ascii=False)
            yield reader.line_num, offset, text, partial(mapping.record, row, zone)


def _parquet_rows(path: Path, state: FileState, mapping: ColumnMapping, zone: tzinfo
                  ) -> Iterator[Row]:
    """Rows after the checkpoint's row number (rows count from 1, like lines), read a row
    group at a time and only the mapped columns. Cells become text: integers as digits,
    times in ISO 8601."""
    try:
        import pyarrow.parquet as pq
    except ImportError as exc:  # pragma: no cover - pyarrow is a dependency
        raise ConfigError("Parquet needs pyarrow") from exc
    try:
        source = pq.ParquetFile(path)
    except Exception as exc:  # pyarrow raises its own error types for unreadable files
        raise ConfigError(f"{path}: not a readable Parquet file: {exc}") from exc
    with source:
        columns = source.schema_arrow.names
        mapping.check_header(columns, path)
        wanted = [c for c in columns if c in mapping.columns]
        total = max(1, source.metadata.num_rows)
        number = 0
        for group in range(source.num_row_groups):
            rows_in_group = source.metadata.row_group(group).num_rows
            if number + rows_in_group <= state.line:
                number += rows_in_group  # a whole row group before the checkpoint
                continue
            for row in source.read_row_group(group, columns=wanted).to_pylist():
                number += 1
                if number <= state.line:
                    continue
                cells = {column: _cell(value) for column, value in row.items()}
                text = json.dumps(cells, ensure_ascii=False)
                yield (number, state.size * number // total, text,
                       partial(mapping.record, cells, zone))


def _cell(value: object) -> str:
    """A Parquet cell as the text a CSV would hold."""
    if value is None:
        return ""
    if isinstance(value, float) and value.is_integer():
        return str(int(value))  # phone numbers stored as doubles
    if isinstance(value, datetime):
        return value.isoformat()
    return str(value)


def _prepare(ingestion: Ingestion, parse: Callable[[], RawRecord], text: str, line: int,
             letters: _Letters, counts: Counts) -> PreparedRecord | None:
    """The row prepared leniently (each dropped value written as a warning), or None when
    it is refused (written as a dead letter)."""
    try:
        prepared = ingestion.prepare(parse(), prefix="", actor=ACTOR, lenient=True)
    except (ValueError, InvalidInput) as error:
        counts.dead_letters += 1
        letters.dead.write(json.dumps({"file": letters.name, "line": line,
                                       "reason": str(error), "row": text},
                                      ensure_ascii=False) + "\n")
        return None
    counts.dropped_values += len(prepared.dropped)
    for value in prepared.dropped:
        letters.warnings.write(json.dumps({
            "file": letters.name, "line": line, "source": prepared.source,
            "source_record_id": prepared.source_record_id, "field": value.field,
            "kind": value.kind, "reason": value.description}, ensure_ascii=False) + "\n")
    return prepared


def _commit_waiting(ingestion: Ingestion, name: str, state: FileState, batch: _Batch,
                    wait: float) -> None:
    """`_commit`, waiting out a Neo4j that is unavailable for up to `wait` seconds in a row.
    A commit whose outcome the failure hid is found by the checkpoint: if it moved past
    the batch, the batch is in the graph, and its counts are the checkpoint's."""
    pause, deadline, failed = 0.25, time.monotonic() + wait, False
    while True:
        try:
            if failed:
                stored = ingestion.core.store.read(lambda tx: tx.load_checkpoint(name))
                moved = FileState.from_properties(stored) if stored else None
                if moved is not None and (moved.offset, moved.line, moved.finished) == \
                        _target(state, batch):
                    state.offset, state.line, state.finished = (moved.offset, moved.line,
                                                                moved.finished)
                    state.counts = moved.counts
                    return
            _commit(ingestion, name, state, batch)
            return
        except Unavailable:
            if time.monotonic() >= deadline:
                raise
            if not failed:
                log.warning("Neo4j is unavailable; waiting up to %.0f s for it to answer, "
                            "then resuming after the last committed batch", wait)
            failed = True
            time.sleep(pause)
            pause = min(2 * pause, 5.0)


def _target(state: FileState, batch: _Batch) -> tuple[int, int, bool]:
    """Where the checkpoint stands once `batch` is committed: offset, line, finished."""
    return (state.size if batch.last else batch.offset,
            batch.line if batch.read else state.line, batch.last)


def _commit(ingestion: Ingestion, name: str, state: FileState, batch: _Batch) -> None:
    """Write a batch and move the checkpoint on in the same transaction."""
    before = asdict(state.counts or Counts())
    before["read"] += batch.read
    before["dead_letters"] += batch.dead_letters
    before["dropped_values"] += batch.dropped_values
    after = [Counts(**before)]
    offset, line, _ = _target(state, batch)

    def checkpoint(tx: GraphTx, outcomes: list[IngestOutcome]) -> None:
        counts = Counts(**before)  # a retried transaction starts from the same counts
        counts.add(outcomes)
        after[0] = counts
        moved = FileState(offset, line, state.size, state.mtime_ns, batch.last, counts)
        tx.save_checkpoint(name, moved.to_properties(), datetime.now(UTC))

    if batch.records:
        ingestion.ingest_batch(batch.records, also=checkpoint)
    else:
        ingestion.core.store.write(lambda tx: checkpoint(tx, []))
    state.offset, state.line, state.finished, state.counts = offset, line, batch.last, after[0]


def _keep_dead_letters_before(path: Path, name: str, line: int) -> None:
    """Drop this file's dead letters (or warnings) past its checkpoint: their rows are read
    again."""
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


def dropped_value_counts(warnings: Path, names: set[str] | None = None
                         ) -> Counter[tuple[str, str]]:
    """Dropped values per (source, kind) in a warnings file, for the files named (all when
    None)."""
    counts: Counter[tuple[str, str]] = Counter()
    if warnings.exists():
        for _, row in _dead_rows(warnings):
            if row and (names is None or row.get("file") in names):
                counts[(str(row.get("source", "")), str(row.get("kind", "")))] += 1
    return counts


@dataclass
class LoadedFile:
    """A file read whole for the initial load: its prepared records and its state."""

    name: str
    state: FileState
    records: list[PreparedRecord]


def read_files(ingestion: Ingestion, paths: list[Path], dead_letters: Path, *,
               mapping: ColumnMapping | None = None, zone: tzinfo = DEFAULT_ZONE,
               prepare_time: PrepareTime | None = None, workers: int = 1) -> list[LoadedFile]:
    """Read and validate whole files for the initial load (dead letters and dropped values
    written as ``backfill_file`` writes them); each state says the file is finished. With
    several workers, chunks of rows are parsed and validated in forked processes (the
    ingestion part inherited, not copied), in the files' order."""
    loaded = []
    with dead_letters.open("w", encoding="utf-8") as dead, warnings_path(dead_letters).open(
            "w", encoding="utf-8") as warn, _Preparers(ingestion, workers) as preparers:
        for path in paths:
            _check_format(path, mapping)
            name = str(path.resolve())
            stat = path.stat()
            state = FileState(stat.st_size, 0, stat.st_size, stat.st_mtime_ns, True, Counts())
            rows = _rows_of(path, FileState(), mapping, zone)
            counts = state.counts or Counts()
            records = []
            mark = time.perf_counter()
            for chunk in preparers.prepared(name, rows):
                records += chunk.records
                dead.write(chunk.dead_letters)
                warn.write(chunk.warnings)
                for field_ in ("read", "dead_letters", "dropped_values"):
                    setattr(counts, field_, getattr(counts, field_) + getattr(chunk.counts, field_))
                state.line = chunk.line
            if prepare_time is not None:
                prepare_time.seconds += time.perf_counter() - mark
            loaded.append(LoadedFile(name, state, records))
    return loaded


@dataclass
class _Prepared:
    """A chunk of rows, validated: its records, letters and counts, and its last line."""

    records: list[PreparedRecord]
    dead_letters: str
    warnings: str
    counts: Counts
    line: int


_CHUNK = 2_000  # rows sent to a worker at a time


def _prepare_chunk(name: str, rows: list[tuple[int, str, Callable[[], RawRecord]]]
                   ) -> _Prepared:
    dead, warn, counts = io.StringIO(), io.StringIO(), Counts()
    letters = _Letters(name, dead, warn)
    records = []
    for line, text, parse in rows:
        counts.read += 1
        prepared = _prepare(shared("ingestion"), parse, text, line, letters, counts)
        if prepared is not None:
            records.append(prepared)
    return _Prepared(records, dead.getvalue(), warn.getvalue(), counts,
                     rows[-1][0] if rows else 0)


class _Preparers:
    """Validates chunks of rows in order: in this process, or in forked workers with a
    bounded number of chunks in flight (memory stays that of the records kept)."""

    def __init__(self, ingestion: Ingestion, workers: int) -> None:
        self._ingestion, self._workers = ingestion, max(1, workers)
        self._pool: ProcessPoolExecutor | None = None
        self._stack = contextlib.ExitStack()

    def __enter__(self) -> _Preparers:
        self._stack.enter_context(sharing(ingestion=self._ingestion))
        if self._workers > 1:
            make_picklable()  # prepared records come back pickled
            self._pool = self._stack.enter_context(fork_pool(self._workers))
        return self

    def __exit__(self, *exc: object) -> None:
        if self._pool is not None:
            self._pool.shutdown(cancel_futures=True)
        self._stack.close()

    def prepared(self, name: str, rows: Iterator[Row]) -> Iterator[_Prepared]:
        """The rows' chunks, validated, in the rows' order."""
        chunks = _chunks(rows)
        if self._pool is None:
            yield from (_prepare_chunk(name, chunk) for chunk in chunks)
            return
        pending: deque[Future[_Prepared]] = deque()
        for chunk in chunks:
            pending.append(self._pool.submit(_prepare_chunk, name, chunk))
            if len(pending) > 2 * self._workers:
                yield pending.popleft().result()
        while pending:
            yield pending.popleft().result()


def _chunks(rows: Iterator[Row]) -> Iterator[list[tuple[int, str, Callable[[], RawRecord]]]]:
    chunk: list[tuple[int, str, Callable[[], RawRecord]]] = []
    for line, _offset, text, parse in rows:
        chunk.append((line, text, parse))
        if len(chunk) == _CHUNK:
            yield chunk
            chunk = []
    if chunk:
        yield chunk
