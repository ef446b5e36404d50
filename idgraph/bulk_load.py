"""An initial load that does not go through Cypher (issue 17).

Every record is resolved in one in-memory view with the same decision code as the online
path (``WorkingSet``), and the write plan is carried out by the same ``GraphTx.write_plan``
against a recorder instead of a transaction: its statements' parameter rows become the
nodes and relationships Neo4j's bulk importer (``neo4j-admin database import full``) reads
as CSV. The graph is the one ingesting the same records as one batch would build.

What the importer cannot write is left to the first start after it (``finish_import``,
called wherever idgraph opens the store): the migrations create the constraints and
indexes, and the few empty lists (a CREATED change's ``related``) are set by ``FIXUPS``.
The imported write epoch says so until then, so a load killed after the swap is finished
by whatever starts next.
"""

from __future__ import annotations

import contextlib
import gc
import itertools
import os
import shlex
import shutil
import subprocess
import time
import uuid
from collections import defaultdict
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any, LiteralString

from idgraph.backfill import Counts, LoadedFile
from idgraph.compiled import make_picklable
from idgraph.domain.identities import with_identity
from idgraph.domain.oneid import format_one_id
from idgraph.domain.records import IdKey, PreparedRecord
from idgraph.domain.rules import MAX_BLOCKING_KEYS, Rules
from idgraph.domain.working_set import (
    IngestOutcome,
    WorkingSet,
    WritePlan,
    lookup_keys,
    new_identifier_nodes,
)
from idgraph.engine import Core
from idgraph.errors import ConfigError
from idgraph.forked import fork_pool, shared, sharing
from idgraph.store import cypher
from idgraph.store.neo4j_store import GraphTx, Neo4jStore

ARRAY_DELIMITER = "\x1e"  # no stored list element holds an ASCII record separator
EPOCH = datetime(1970, 1, 1, tzinfo=UTC)

# Empty lists: a CSV field cannot hold one (an empty field is no property at all).
FIXUPS: tuple[LiteralString, ...] = (
    "MATCH (c:ChangeEvent) WHERE c.related IS NULL SET c.related = []",
    "MATCH (e:SplitEvent) WHERE e.record_keys IS NULL SET e.record_keys = []",
    "MATCH (t:ReviewTask) WHERE t.candidate_one_ids IS NULL SET t.candidate_one_ids = []",
)


UNFINISHED: LiteralString = ("MATCH (e:WriteEpoch {name: 'graph'}) "
                             "WHERE e.import_unfinished RETURN e.name AS name")
FINISHED: LiteralString = "MATCH (e:WriteEpoch {name: 'graph'}) REMOVE e.import_unfinished"


class Millis(int):
    """Epoch milliseconds of a datetime property (written as an ISO time)."""


@dataclass
class Graph:
    """Nodes by label and id, and relationships, as the importer will read them."""

    nodes: dict[str, dict[str, dict[str, Any]]] = field(
        default_factory=lambda: defaultdict(dict))
    edges: dict[tuple[str, str, str], list[tuple[str, str, dict[str, Any]]]] = field(
        default_factory=lambda: defaultdict(list))
    part_of: dict[str, str] = field(default_factory=dict)  # record key -> person

    def node(self, label: str, key: str) -> dict[str, Any]:
        return self.nodes[label].setdefault(key, {})

    def edge(self, kind: str, start: tuple[str, str], end: tuple[str, str],
             properties: dict[str, Any] | None = None) -> None:
        self.edges[(kind, start[0], end[0])].append(
            (start[1], end[1], properties or _NO_PROPERTIES))


_NO_PROPERTIES: dict[str, Any] = {}  # shared by the millions of edges without any: not mutated

# The id property of each label relationships point at (the importer's ID column; labels
# no relationship touches have none).
ID_PROPERTY = {"Person": "one_id", "Record": "key", "Identifier": "key", "Vehicle": "vin",
               "Model": "model", "Dealer": "code", "MergeEvent": "event_id",
               "SplitEvent": "event_id", "ReviewTask": "task_id"}


class _Recorder(GraphTx):
    """A transaction that keeps each statement and its parameters instead of running it."""

    def __init__(self, epoch: int) -> None:  # no transaction behind it
        self.epoch = epoch
        self.calls: list[tuple[str, dict[str, Any]]] = []

    def _run(self, query: Any, **params: Any) -> list[Any]:
        self.calls.append((query, params))
        return []


@dataclass
class Planned:
    """An initial load resolved in memory."""

    plan: WritePlan
    outcomes: list[IngestOutcome]
    now: datetime
    new_identifiers: list[IdKey]


def resolve_all(records: Iterable[PreparedRecord], rules: Rules, now: datetime,
                mint_one_id: Callable[[], str], new_id: Callable[[], str]) -> Planned:
    """Resolve records in order into an empty graph, in one view."""
    view = WorkingSet(rules, {}, {}, [], mint_one_id, new_id, now)
    records = list(records)
    outcomes = [view.ingest(record) for record in records]
    return Planned(view.finished_plan(), outcomes, now, _identifier_keys(records))


def _identifier_keys(records: Sequence[PreparedRecord]) -> list[IdKey]:
    """The identifier nodes a load of the records creates into an empty graph."""
    return new_identifier_nodes({k.key: k for r in records for k in r.all_keys})


# ------------------------------------------------------------------------------ partitions


def partition(records: Sequence[PreparedRecord], rules: Rules, parts: int) -> list[list[int]]:
    """Record positions in `parts` groups of whole connected components of the keys that
    find candidates (evidence identifiers not blocklisted, blocking keys): records of
    different groups are never candidates of each other. Groups are balanced by size and
    keep the input order inside."""
    parent = list(range(len(records)))

    def root(x: int) -> int:
        while parent[x] != x:
            parent[x] = parent[parent[x]]
            x = parent[x]
        return x

    first: dict[str, int] = {}
    for index, record in enumerate(records):
        for key in lookup_keys(record.all_keys, rules):
            other = first.setdefault(key, index)
            a, b = root(index), root(other)
            if a != b:
                parent[a] = b
    components: dict[int, list[int]] = defaultdict(list)
    for index in range(len(records)):
        components[root(index)].append(index)
    groups: list[list[int]] = [[] for _ in range(max(1, parts))]
    sizes = [0] * len(groups)
    for members in sorted(components.values(), key=len, reverse=True):
        smallest = sizes.index(min(sizes))
        groups[smallest].extend(members)
        sizes[smallest] += len(members)
    return [sorted(group) for group in groups if group]


@contextlib.contextmanager
def collector_paused() -> Iterator[None]:
    """Pause Python's cycle collector while a load builds its records and plan: millions of
    long-lived, acyclic objects that reference counting frees anyway, which the collector
    would traverse again and again (a quarter of the resolution CPU at 100k records)."""
    was_enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if was_enabled:
            gc.enable()


@dataclass
class _PartPlan:
    """What a worker sends back: the plan without the record objects (the parent has
    them), and the outcomes in the group's order."""

    owners: dict[str, str]
    plan: WritePlan
    outcomes: list[IngestOutcome]


def _resolve_group(group: int, positions: list[int]) -> _PartPlan:
    records: Sequence[PreparedRecord] = shared("records")
    rules: Rules = shared("rules")
    now: datetime = shared("now")
    counter = itertools.count()
    ms = _ms(now)

    def mint() -> str:  # time-ordered inside the group, unique across groups
        return format_one_id(ms, ((group << 72) | next(counter)).to_bytes(10, "big"))

    view = WorkingSet(rules, {}, {}, [], mint,
                      lambda: str(uuid.UUID(bytes=os.urandom(16), version=4)), now)
    outcomes = [view.ingest(records[i]) for i in positions]
    plan = view.finished_plan()
    owners = {key: owner for key, (_record, owner) in plan.records.items()}
    plan.records = {}
    return _PartPlan(owners, plan, outcomes)


def resolve_partitioned(records: Sequence[PreparedRecord], rules: Rules, now: datetime,
                        workers: int) -> Planned:
    """Resolve records as `resolve_all` does, the connected components in `workers`
    processes (forked: the records are not copied to them). The clusters are those of one
    view; the change feed, merge events and review tasks come group by group."""
    groups = partition(records, rules, workers)
    make_picklable()  # the workers' plans come back pickled
    with sharing(records=records, rules=rules, now=now):
        if len(groups) == 1:
            results = [_resolve_group(0, groups[0])]
        else:
            with fork_pool(len(groups)) as pool:
                results = list(pool.map(_resolve_group, range(len(groups)), groups))
    latest = {r.key: r for r in records}  # the version a record key was last sent in
    owners: dict[str, str] = {}
    plan = WritePlan()
    outcomes: list[IngestOutcome | None] = [None] * len(records)
    for positions, result in zip(groups, results, strict=True):
        owners.update(result.owners)
        part = result.plan
        plan.new_persons += part.new_persons
        plan.changes += part.changes
        plan.merges += part.merges
        plan.redirects.update(part.redirects)
        plan.review_tasks += part.review_tasks
        plan.splits += part.splits
        for key, found in part.identities.items():
            merged = plan.identities.get(key, ())
            for identity in found:  # a value no group looks up may be in several
                merged = with_identity(merged, identity) or merged
            plan.identities[key] = merged
        for position, outcome in zip(positions, result.outcomes, strict=True):
            outcomes[position] = outcome
    for record in records:  # the input order, as one view attaches them
        if record.key not in plan.records:
            plan.records[record.key] = (latest[record.key], owners[record.key])
    return Planned(plan, [o for o in outcomes if o is not None], now, _identifier_keys(records))


def build_graph(planned: Planned, block_slots: Mapping[str, int], epoch: int = 1) -> Graph:
    """The nodes and relationships the batch write of the plan makes in an empty graph."""
    recorder = _Recorder(epoch)
    recorder.write_plan(planned.plan, planned.now, block_slots, planned.new_identifiers,
                        frozenset(planned.plan.records))
    graph = Graph()
    now = Millis(_ms(planned.now))
    handlers: dict[str, Callable[[Graph, dict[str, Any], Millis], None]] = {
        cypher.CREATE_IDENTIFIERS: _identifiers, cypher.CREATE_RECORDS: _records,
        cypher.MERGE_PERSONS: _merges, cypher.SPLIT_SHARED: _splits,
        cypher.SET_IDENTITIES: _identities, cypher.RECORD_MERGE_EVENTS: _merge_events,
        cypher.RECORD_CHANGES: _changes, cypher.LINK_VEHICLES: _vehicles,
        cypher.LINK_MODEL_INTERESTS: _interests, cypher.LINK_RELATIONS: _relations,
        cypher.CREATE_REVIEW_TASKS: _review_tasks,
    }
    calls, recorder.calls = recorder.calls, []
    for index, (query, params) in enumerate(calls):
        handler = handlers.get(query)
        if handler is None:
            raise ValueError("the initial load cannot write this statement: "
                             + query.strip().splitlines()[0])
        calls[index] = ("", {})  # a statement's rows go once written into the graph
        handler(graph, params, now)
        del params
    graph.node("WriteEpoch", "graph").update(name="graph", value=epoch,
                                             import_unfinished=True)
    return graph


def finish_import(store: Neo4jStore) -> bool:
    """Set what the importer could not write, once, after an import; True when it did."""
    if not store.run_cypher(UNFINISHED):
        return False
    for statement in FIXUPS:
        store.run_cypher(statement)
    store.run_cypher(FINISHED)
    return True


def _ms(value: datetime) -> int:
    return int(value.timestamp() * 1000)  # as neo4j_store.epoch_ms, for the same values


def _time(value: int | None) -> Millis | None:
    return None if value is None else Millis(value)


def _person(graph: Graph, one_id: str, now: Millis) -> dict[str, Any]:
    """MERGE (p:Person {one_id}) ON CREATE SET status, created_at."""
    person = graph.nodes["Person"].get(one_id)
    if person is None:
        person = graph.node("Person", one_id)
        person.update(one_id=one_id, status="active", created_at=now)
    return person


def _identifiers(graph: Graph, params: dict[str, Any], now: Millis) -> None:
    for row in params["rows"]:
        graph.node("Identifier", row["key"]).update(row, created_at=now)


def _records(graph: Graph, params: dict[str, Any], now: Millis) -> None:
    for row in params["rows"]:
        _person(graph, row["one_id"], now)["updated_at"] = now
        record = graph.node("Record", row["key"])
        record.update(key=row["key"], ingested_at=now, origin=row["one_id"],
                      source=row["source"], source_record_id=row["source_record_id"],
                      observed_at=Millis(row["observed_at"]), attributes=row["attributes"],
                      fingerprint=row["fingerprint"], updated_at=now)
        for slot in range(MAX_BLOCKING_KEYS):
            if row["blocks"][slot] is not None:
                record[f"block{slot}"] = row["blocks"][slot]
        graph.edge("PART_OF", ("Record", row["key"]), ("Person", row["one_id"]))
        graph.part_of[row["key"]] = row["one_id"]
        for key in row["identifier_keys"]:
            graph.edge("HAS_IDENTIFIER", ("Record", row["key"]), ("Identifier", key))


def _merges(graph: Graph, params: dict[str, Any], now: Millis) -> None:
    for row in params["rows"]:
        absorbed = graph.nodes["Person"].get(row["absorbed"])
        if absorbed is None:
            absorbed = graph.node("Person", row["absorbed"])
            absorbed.update(one_id=row["absorbed"], created_at=now)
        absorbed.update(status="merged", merged_into=row["survivor"], merged_at=now)
        graph.nodes["Person"][row["survivor"]]["updated_at"] = now
        graph.edge("MERGED_INTO", ("Person", row["absorbed"]), ("Person", row["survivor"]),
                   {"at": now, "event_id": row["event_id"]})


def _splits(graph: Graph, params: dict[str, Any], now: Millis) -> None:
    for split in params["splits"]:
        if split["record_keys"]:
            raise ValueError("a split of stored records in an initial load")
        _person(graph, split["new_one_id"], now)["updated_at"] = now
        graph.node("SplitEvent", split["event_id"]).update(
            event_id=split["event_id"], at=now, actor="idgraph", reason=split["reason"],
            one_id=split["one_id"], new_one_id=split["new_one_id"], record_keys=[])
        event = ("SplitEvent", split["event_id"])
        graph.edge("INVOLVES", event, ("Person", split["new_one_id"]))
        if split["one_id"] in graph.nodes["Person"]:
            graph.edge("INVOLVES", event, ("Person", split["one_id"]))


def _identities(graph: Graph, params: dict[str, Any], now: Millis) -> None:
    for row in params["rows"]:
        if row["key"] in graph.nodes["Identifier"]:
            graph.nodes["Identifier"][row["key"]]["identities"] = list(row["identities"])


def _merge_events(graph: Graph, params: dict[str, Any], now: Millis) -> None:
    for ev in params["events"]:
        graph.node("MergeEvent", ev["event_id"]).update(
            event_id=ev["event_id"], at=now, rule=ev["rule"], score=float(ev["score"]),
            survivor=ev["survivor"], absorbed=list(ev["absorbed"]),
            record_key=ev["record_key"], evidence=ev["evidence"], actor=ev["actor"])
        for one_id in dict.fromkeys([*ev["absorbed"], ev["survivor"]]):
            if one_id in graph.nodes["Person"]:
                graph.edge("INVOLVES", ("MergeEvent", ev["event_id"]), ("Person", one_id))


def _changes(graph: Graph, params: dict[str, Any], now: Millis) -> None:
    for c in params["changes"]:
        graph.node("ChangeEvent", str(c["position"])).update(
            position=c["position"], type=c["type"], one_id=c["one_id"],
            related=list(c["related"]), actor=c["actor"], rule=c["rule"],
            score=float(c["score"]), at=now)


def _owner_of(graph: Graph, record_key: str) -> str:
    return graph.part_of[record_key]


def _vehicles(graph: Graph, params: dict[str, Any], now: Millis) -> None:
    """MERGE each car (last non-empty values win), CREATE each mention; then, row by row,
    the ownership closing of LINK_VEHICLES (a newer owner closes earlier owners'; a late
    older one is closed by the earliest later one)."""
    owners: dict[str, list[dict[str, Any]]] = defaultdict(list)  # vin -> OWNER mentions
    created: list[tuple[dict[str, Any], dict[str, Any], str]] = []
    for row in params["rows"]:
        for v in row["vehicles"]:
            car = graph.nodes["Vehicle"].get(v["vin"])
            if car is None:
                car = graph.node("Vehicle", v["vin"])
                car.update(vin=v["vin"], created_at=now)
            for name in ("model", "plate", "make"):
                if v[name] != "":
                    car[name] = v[name]
            if v["model_year"] is not None:
                car["model_year"] = v["model_year"]
            mention = {"relation": v["relation"], "since": _time(v["since"]),
                       "until": _time(v["until"]), "observed_at": Millis(row["observed_at"])}
            graph.edge("MENTIONS", ("Record", row["key"]), ("Vehicle", v["vin"]), mention)
            entry = {"mention": mention, "record": row["key"]}
            if v["relation"] == "OWNER":
                owners[v["vin"]].append(entry)
            created.append((v, mention, row["key"]))
    for v, mention, record_key in created:
        since = mention["since"]
        if v["relation"] != "OWNER" or since is None:
            continue
        person = _owner_of(graph, record_key)
        for other in owners[v["vin"]]:
            o = other["mention"]
            if _owner_of(graph, other["record"]) == person:
                continue
            if (o["since"] is None or o["since"] < since) and (
                    o["until"] is None or (o.get("closed_by") is not None
                                           and o["until"] > since)):
                o["until"], o["closed_by"] = since, record_key
        if mention["until"] is None:
            later = [other for other in owners[v["vin"]]
                     if _owner_of(graph, other["record"]) != person
                     and other["mention"]["since"] is not None
                     and other["mention"]["since"] > since]
            if later:
                first = min(later, key=lambda other: other["mention"]["since"])
                mention["until"] = first["mention"]["since"]
                mention["closed_by"] = first["record"]


def _interests(graph: Graph, params: dict[str, Any], now: Millis) -> None:
    for row in params["rows"]:
        for v in row["interests"]:
            graph.node("Model", v["model"])["model"] = v["model"]
            graph.edge("MENTIONS", ("Record", row["key"]), ("Model", v["model"]),
                       {"relation": v["relation"], "since": _time(v["since"]),
                        "until": _time(v["until"]), "observed_at": Millis(row["observed_at"])})


def _relations(graph: Graph, params: dict[str, Any], now: Millis) -> None:
    for row in params["rows"]:
        for ref in row["referrers"]:
            if ref["key"] not in graph.nodes["Identifier"]:
                graph.node("Identifier", ref["key"]).update(ref, created_at=now)
            graph.edge("REFERRED_BY", ("Record", row["key"]), ("Identifier", ref["key"]))
        for code in row["dealers"]:
            graph.node("Dealer", code)["code"] = code
            graph.edge("AT_DEALER", ("Record", row["key"]), ("Dealer", code))


def _review_tasks(graph: Graph, params: dict[str, Any], now: Millis) -> None:
    for t in params["tasks"]:
        graph.node("ReviewTask", t["task_id"]).update(
            task_id=t["task_id"], status="OPEN", created_at=now, record_key=t["record_key"],
            one_id=t["one_id"], candidate_one_ids=list(t["candidates"]),
            score=float(t["score"]), reason=t["reason"], evidence=t["evidence"])
        for one_id in dict.fromkeys([t["one_id"], *t["candidates"]]):
            if one_id in graph.nodes["Person"]:
                graph.edge("CONCERNS", ("ReviewTask", t["task_id"]), ("Person", one_id))


# ------------------------------------------------------------------------------ files


@dataclass
class LoadStages:
    """Where an initial load's time went (seconds)."""

    resolve: float = 0.0
    csv: float = 0.0
    neo4j_import: float = 0.0


def plan_files(core: Core, files: Sequence[LoadedFile], out: Path,
               stages: LoadStages, workers: int = 1) -> tuple[list[str], Planned]:
    """Resolve the files' records in order (file after file) into an empty graph (in
    `workers` processes when more than one), count what happened per file, and write the
    CSV set with a finished checkpoint per file; answer the importer's file arguments."""
    started = time.perf_counter()
    now = core.batch_time()
    records = [r for f in files for r in f.records]
    if workers > 1:
        planned = resolve_partitioned(records, core.rules, now, workers)
    else:
        planned = resolve_all(records, core.rules, now, lambda: core.mint_one_id(now),
                              core.new_id)
    done = 0
    for f in files:
        counts = f.state.counts or Counts()
        counts.add(planned.outcomes[done:done + len(f.records)])
        f.state.counts = counts
        done += len(f.records)
    graph = build_graph(planned, core.rules.blocking_slots)
    for f in files:
        graph.node("BackfillCheckpoint", f.name).update(
            name=f.name, **f.state.to_properties(), updated_at=Millis(_ms(now)))
    stages.resolve += time.perf_counter() - started
    started = time.perf_counter()
    arguments = write_csv(graph, out, workers)
    stages.csv += time.perf_counter() - started
    return arguments, planned


def import_command(arguments: Sequence[str]) -> str:
    """The command an operator runs on the Neo4j server (database stopped)."""
    return " ".join(["neo4j-admin", "database", "import", "full", "neo4j",
                     "--overwrite-destination=true", "--array-delimiter=$'\\x1e'",
                     *(shlex.quote(a) for a in arguments)])


# ------------------------------------------------------------------------------ CSV


def write_csv(graph: Graph, out: Path, workers: int = 1) -> list[str]:
    """Write the graph as the importer's CSV files (one header file and one data file per
    label and per relationship type), the files in `workers` forked processes when more
    than one; answer the importer's --nodes/--relationships arguments, and the files whose
    values hold line breaks as its --multiline-fields (none: the importer then reads every
    file in parallel; a multiline file it must read in one thread)."""
    out.mkdir(parents=True, exist_ok=True)
    files: list[tuple[str, Any]] = [("nodes", label) for label, nodes in
                                    sorted(graph.nodes.items()) if nodes]
    files += [("edges", key) for key, edges in sorted(graph.edges.items()) if edges]
    with sharing(graph=graph):
        if workers > 1 and len(files) > 1:
            with fork_pool(min(workers, len(files))) as pool:
                # the largest files first, so that no worker is left with two big ones
                size = {f: len(graph.nodes[f[1]] if f[0] == "nodes" else graph.edges[f[1]])
                        for f in files}
                futures = {f: pool.submit(_write_file, f[0], f[1], out)
                           for f in sorted(files, key=lambda f: -size[f])}
                written = [futures[f].result() for f in files]
        else:
            written = [_write_file(what, key, out) for what, key in files]
    arguments = [argument for argument, _ in written]
    multiline = [str(path) for _, path in written if path is not None]
    if multiline:
        arguments += ["--multiline-fields-format=v2",
                      "--multiline-fields=" + ",".join(multiline)]
    return arguments


def _write_file(what: str, key: Any, out: Path) -> tuple[str, Path | None]:
    """Write one label's nodes or one relationship type's edges; answer its argument, and
    the data file when a value in it holds a line break."""
    graph: Graph = shared("graph")
    if what == "nodes":
        label, nodes = key, graph.nodes[key]
        columns = _columns(nodes.values())
        id_name = ID_PROPERTY.get(label)
        header = [f"{id_name}:ID({label})" if name == id_name else f"{name}:{kind}"
                  for name, kind in columns]
        # the ID column is also kept as a property (the importer does so by default)
        name = f"nodes_{label}"
        _write(out / f"{name}_header.csv", [header])
        broken = _write(out / f"{name}.csv", ([_cell(node.get(column)) for column, _ in columns]
                                              for node in nodes.values()))
        return (f"--nodes={label}={out / f'{name}_header.csv'},{out / f'{name}.csv'}",
                out / f"{name}.csv" if broken else None)
    (kind, start, end), edges = key, graph.edges[key]
    columns = _columns(props for _, _, props in edges)
    header = [f":START_ID({start})", f":END_ID({end})",
              *(f"{name}:{kind_}" for name, kind_ in columns)]
    name = f"edges_{kind}_{start}_{end}"
    _write(out / f"{name}_header.csv", [header])
    broken = _write(out / f"{name}.csv", ([_cell(a), _cell(b),
                                           *(_cell(props.get(column)) for column, _ in columns)]
                                          for a, b, props in edges))
    return (f"--relationships={kind}={out / f'{name}_header.csv'},{out / f'{name}.csv'}",
            out / f"{name}.csv" if broken else None)


def _columns(rows: Iterable[Mapping[str, Any]]) -> list[tuple[str, str]]:
    kinds: dict[str, str] = {}
    for row in rows:
        for name, value in row.items():
            if value is not None and name not in kinds:
                kinds[name] = _kind(value)
    return sorted(kinds.items())


def _kind(value: Any) -> str:
    if isinstance(value, Millis):
        return "datetime"
    if isinstance(value, bool):
        return "boolean"
    if isinstance(value, int):
        return "long"
    if isinstance(value, float):
        return "double"
    if isinstance(value, list):
        return "string[]"
    return "string"


def _cell(value: Any) -> str:
    if value is None or value == []:
        return ""  # no property
    if isinstance(value, Millis):
        moment = EPOCH + timedelta(milliseconds=int(value))
        return f"{moment:%Y-%m-%dT%H:%M:%S}.{int(value) % 1000:03d}Z"
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int | float):
        return repr(value)
    if isinstance(value, list):
        if any(ARRAY_DELIMITER in str(v) for v in value):
            raise ValueError(f"a list element holds the array delimiter: {value!r}")
        return _quoted(ARRAY_DELIMITER.join(str(v) for v in value))
    return _quoted(str(value))


def _quoted(text: str) -> str:
    return '"' + text.replace('"', '""') + '"'


def _write(path: Path, rows: Iterable[Sequence[str]]) -> bool:
    """Write the rows; True when a value holds a line break (a multiline row)."""
    broken = False
    with path.open("w", encoding="utf-8", newline="") as sink:
        for row in rows:
            line = ",".join(row)
            if not broken and ("\n" in line or "\r" in line):
                broken = True
            sink.write(line + "\n")
    return broken


# ------------------------------------------------------------------------------ import


def import_database(home: Path, lib: Path, arguments: Sequence[str], *,
                    heap: str = "1g", threads: int | None = None,
                    report: Path | None = None) -> None:
    """Run ``neo4j-admin database import full`` into a data directory beside the home's
    own, then swap it in: an import that fails or is killed leaves the previous database
    as it was. The server must be stopped."""
    home = home.resolve()
    staging = home / "data.importing"
    shutil.rmtree(staging, ignore_errors=True)
    conf = home / "conf.importing"
    conf.mkdir(parents=True, exist_ok=True)
    (conf / "neo4j.conf").write_text(
        f"server.directories.data={staging}\nserver.directories.logs={home / 'logs'}\n")
    java = shutil.which("java")
    if java is None:
        raise ConfigError("java (17+) is needed for the bulk import")
    command = [java, f"-Xms{heap}", f"-Xmx{heap}", "-Dfile.encoding=UTF-8",
               "--add-opens=java.base/java.nio=ALL-UNNAMED",
               "--add-opens=java.base/sun.nio.ch=ALL-UNNAMED",
               "-cp", f"{lib.resolve()}/*", "org.neo4j.cli.AdminTool",
               "database", "import", "full", "neo4j", "--overwrite-destination=true",
               f"--threads={threads or os.cpu_count() or 1}",
               f"--array-delimiter={ARRAY_DELIMITER}",
               f"--report-file={report or home / 'logs' / 'import.report'}", *arguments]
    env = dict(os.environ, NEO4J_HOME=str(home), NEO4J_CONF=str(conf))
    done = subprocess.run(command, env=env, capture_output=True, text=True, check=False)
    if done.returncode != 0:
        shutil.rmtree(staging, ignore_errors=True)
        raise RuntimeError("neo4j-admin import failed:\n"
                           + "\n".join((done.stdout + done.stderr).splitlines()[-30:]))
    data, previous = home / "data", home / "data.previous"
    shutil.rmtree(previous, ignore_errors=True)
    if data.exists():
        data.rename(previous)
    staging.rename(data)
    shutil.rmtree(previous, ignore_errors=True)
    shutil.rmtree(conf, ignore_errors=True)


def recover_swap(home: Path) -> None:
    """Finish or undo a swap a kill interrupted: a database is always there afterwards."""
    data, previous = home / "data", home / "data.previous"
    if not data.exists() and previous.exists():
        previous.rename(data)


__all__ = [
    "FIXUPS",
    "Graph",
    "LoadStages",
    "Planned",
    "build_graph",
    "finish_import",
    "import_command",
    "import_database",
    "plan_files",
    "recover_swap",
    "resolve_all",
    "write_csv",
]
