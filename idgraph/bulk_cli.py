"""``idgraph backfill`` into an empty graph: the initial load through Neo4j's bulk importer.

A local Neo4j (no ``IDGRAPH_NEO4J_URI``) is stopped, imported into beside its database,
swapped and started again to create the schema; a remote one gets the CSV set and the
command its operator runs. A graph that holds records, or a local one a running server
uses, is loaded through transactions instead (the caller's path: ``None`` is answered).
"""

from __future__ import annotations

import argparse
import shutil
import time
from collections.abc import Sequence, Sized
from contextlib import ExitStack
from pathlib import Path

from idgraph.backfill import (
    ColumnMapping,
    Counts,
    LoadedFile,
    PrepareTime,
    read_files,
    warnings_path,
)
from idgraph.bulk_load import (
    LoadStages,
    Planned,
    collector_paused,
    import_command,
    import_database,
    plan_files,
    recover_swap,
)
from idgraph.config import Settings
from idgraph.engine import IdentityEngine
from idgraph.localdb import LocalNeo4j, port_open
from idgraph.serve import build_engine, open_store
from idgraph.store.neo4j_store import Neo4jStore

# Records, people (an erased one's tombstone too) or suppressions: an import would lose them
HAS_RECORDS = ("MATCH (n) WHERE n:Record OR n:Person OR n:Suppression "
               "RETURN count(n) > 0 AS found")


def _holds_records(store: Neo4jStore) -> bool:
    return bool(store.run_cypher(HAS_RECORDS)[0]["found"])


def _store(settings: Settings, uri: str) -> Neo4jStore:
    return Neo4jStore(uri, settings.neo4j_user, settings.neo4j_password.get_secret_value(),
                      settings.neo4j_database)


def initial_load(settings: Settings, args: argparse.Namespace,
                 mapping: ColumnMapping | None) -> int | None:
    """Load the files with the bulk importer when the graph is empty; None: the caller
    loads them through transactions (said in one line)."""
    if settings.neo4j_uri:
        return _remote(settings, args, mapping)
    if port_open(settings.neo4j_bolt_port):
        print("idgraph: a running Neo4j on the local port is in use (idgraph serve or make "
              "run): loading through transactions")
        return None
    local = LocalNeo4j(settings.neo4j_home, settings.neo4j_lib, settings.neo4j_bolt_port,
                       settings.neo4j_heap, settings.neo4j_pagecache,
                       settings.neo4j_tx_log_retention)
    recover_swap(local.home)
    if (local.home / "data" / "databases" / "neo4j").exists():
        local.start(settings.neo4j_start_timeout)
        try:
            store = _store(settings, local.uri)
            store.wait_until_ready(settings.neo4j_start_timeout)
            found = _holds_records(store)
            store.close()
        finally:
            local.stop()
        if found:
            print("idgraph: the graph holds records: loading through transactions")
            return None
    started = time.monotonic()
    stages = LoadStages()
    preparing = PrepareTime()
    unused = _store(settings, local.uri)  # not connected: the engine validates and mints
    csv_dir = local.home / "import"
    try:
        engine = build_engine(settings, unused, check_rules=False)
        files, arguments, planned = _plan(engine, settings, args, mapping, csv_dir, stages,
                                          preparing)
    finally:
        unused.close()
    mark = time.monotonic()
    import_database(local.home, settings.neo4j_lib, arguments, heap=settings.neo4j_heap)
    shutil.rmtree(csv_dir, ignore_errors=True)
    stages.neo4j_import = time.monotonic() - mark
    mark = time.monotonic()
    with ExitStack() as stack:
        open_store(settings, stack)  # starts the local Neo4j: schema and finish_import
    schema = time.monotonic() - mark
    _summary(files, planned.plan.review_tasks, args.dead_letters, time.monotonic() - started)
    print(f"time: parse+validate {preparing.seconds:.1f} s, resolve {stages.resolve:.1f} s, "
          f"CSV {stages.csv:.1f} s, neo4j-admin import {stages.neo4j_import:.1f} s, start "
          f"and schema {schema:.1f} s (initial load through the bulk importer)")
    return 0


def _remote(settings: Settings, args: argparse.Namespace,
            mapping: ColumnMapping | None) -> int | None:
    with ExitStack() as stack:
        store = open_store(settings, stack)
        if _holds_records(store):
            print("idgraph: the graph holds records: loading through transactions")
            return None
        out: Path = args.csv_dir
        files, arguments, planned = _plan(build_engine(settings, store), settings, args,
                                          mapping, out.resolve(), LoadStages(), PrepareTime())
    _summary(files, planned.plan.review_tasks, args.dead_letters, 0.0)
    print(f"The graph at {settings.neo4j_uri} is empty and remote: the CSV set for Neo4j's "
          f"bulk importer is in {out}/. On the Neo4j server, with the database stopped:\n\n"
          f"  {import_command(arguments)}\n\n"
          "then start Neo4j and `idgraph serve` (or any idgraph command on that graph): it "
          "creates the schema and finishes the import.\n"
          "(Or load through transactions with --transactional.)")
    return 0


def _plan(engine: IdentityEngine, settings: Settings, args: argparse.Namespace,
          mapping: ColumnMapping | None, out: Path, stages: LoadStages, preparing: PrepareTime
          ) -> tuple[list[LoadedFile], list[str], Planned]:
    """Read, validate and resolve the files and write the CSV set into `out` (emptied
    first); the engine is closed after."""
    try:
        with collector_paused():
            files = read_files(engine.ingestion, list(args.files), args.dead_letters,
                               mapping=mapping, zone=settings.zone, prepare_time=preparing,
                               workers=args.workers)
            shutil.rmtree(out, ignore_errors=True)
            arguments, planned = plan_files(engine.core, files, out, stages, args.workers)
    finally:
        engine.close()
    return files, arguments, planned


def _summary(files: Sequence[LoadedFile], tasks: Sized, dead_letters: Path,
             seconds: float) -> None:
    total = Counts()
    for f in files:
        for name, value in vars(f.state.counts or Counts()).items():
            setattr(total, name, getattr(total, name) + value)
    print(f"read {total.read}, ingested {total.ingested}, unchanged {total.unchanged}, new people "
          f"{total.new_people}, merges {total.merges}, review tasks {len(tasks)}, dead "
          f"letters {total.dead_letters} ({dead_letters}), values dropped "
          f"{total.dropped_values} ({warnings_path(dead_letters)}); {seconds:.1f} s")
