"""Rule changes: preview what other rules would change in the live graph, and apply them.

A preview reads every stored record (in pages, one read transaction), the people's ages,
the steward's decisions, the records a suppression covers and those a review task was opened
for, and hands them to the pure `idgraph.domain.rule_preview`. Nothing is written.

An apply computes the same preview and carries it out in one write transaction, provided no
one wrote since the preview read the graph (its write epoch; else it reads again, under this
engine's view lock so that its own batches cannot come in between). The writes are those of
every other change: merge events, split events, change events, redirects, review tasks. The
engine then resolves with the new rules (swapped under the view lock, the view dropped), and
the graph keeps the applied rules' text and digest (`AppliedRules`) so that a server started
with other rules says so.
"""

from __future__ import annotations

import hashlib
import logging
import tomllib
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from pydantic import ValidationError

from idgraph.domain.records import PreparedRecord
from idgraph.domain.rule_preview import LiveGraph, RulePreview, apply_plan, preview
from idgraph.domain.rules import Rules
from idgraph.domain.scoring import forget_compared_values
from idgraph.engine.common import as_prepared, stored_record, suppressed_indexes
from idgraph.engine.core import Core
from idgraph.errors import FieldViolation, InvalidInput, Unavailable
from idgraph.store.neo4j_store import GraphStore, GraphTx, to_native

log = logging.getLogger(__name__)

FIELD = "rules_toml"  # the request field a rules error names
EPOCH = datetime.fromtimestamp(0, UTC)
ATTEMPTS = 3  # applies whose preview another writer outdated, at most, before giving up


class _Outdated(Exception):
    """Someone wrote between an apply's preview and its transaction."""


@dataclass(frozen=True)
class Applied:
    """What an apply did: the preview it carried out, the new OneIDs, the rules' digest."""

    preview: RulePreview
    created: tuple[str, ...]
    digest: str
    epoch: int  # the write epoch of the apply's transaction (0: nothing written)


def parse_rules(text: str, field: str = FIELD) -> Rules:
    """Rules from TOML text; InvalidInput naming `field` and the path inside the TOML."""
    try:
        data = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        raise InvalidInput.one(field, f"not TOML: {exc}") from None
    try:
        return Rules.model_validate(data)
    except ValidationError as exc:
        raise InvalidInput([FieldViolation(
            field, ".".join(str(p) for p in error["loc"]) + ": " + error["msg"])
            for error in exc.errors()]) from None
    except ValueError as exc:
        raise InvalidInput.one(field, str(exc)) from None


def rules_digest(rules: Rules) -> str:
    """A digest of what rules say (not how their file is written)."""
    return hashlib.sha256(rules.model_dump_json().encode()).hexdigest()[:16]


@dataclass
class RuleChanges:
    """Previews and applies of other rules over the core's store."""

    core: Core
    page_size: int = 5000

    def preview(self, rules: Rules, timeout: float | None = None, examples: int = 5
                ) -> RulePreview:
        """What resolving every stored record again under `rules` would change (read-only)."""
        live, _ = self.core.store.read(lambda tx: self._read_live(tx, rules), timeout)
        return preview(live, rules, self.core.now(), examples)

    def apply(self, rules: Rules, toml: str, actor: str, timeout: float | None = None,
              examples: int = 5) -> Applied:
        """Carry out the preview of `rules` and resolve with them from now on."""
        core = self.core
        live, epoch = core.store.read(lambda tx: self._read_live(tx, rules), timeout)
        found = preview(live, rules, core.now(), examples)
        with core.view_lock:
            for attempt in range(ATTEMPTS):
                try:
                    applied = self._write(found, epoch, rules, toml, actor, timeout)
                    break
                except _Outdated:
                    log.info("rules apply: the graph changed since its preview (attempt %d); "
                             "previewing again", attempt + 1)
                    live, epoch = core.store.read(lambda tx: self._read_live(tx, rules),
                                                  timeout)
                    found = preview(live, rules, core.now(), examples)
            else:
                raise Unavailable("the graph kept changing under the rules apply; try again")
            core.rules = rules
            core.invalidate_view()
        forget_compared_values()
        core.notify_commit()
        return applied

    def applied_rules(self, timeout: float | None = None) -> dict[str, Any] | None:
        """The rules last applied to the graph (digest, toml, actor, at_ms), or None."""
        return self.core.store.read(lambda tx: tx.applied_rules(), timeout)

    def _write(self, found: RulePreview, epoch: int, rules: Rules, toml: str, actor: str,
               timeout: float | None) -> Applied:
        return self.core.store.write(
            lambda tx: self._apply_in(tx, found, epoch, rules, toml, actor), timeout)

    def _apply_in(self, tx: GraphTx, found: RulePreview, epoch: int, rules: Rules, toml: str,
                  actor: str) -> Applied:
        if tx.epoch != epoch + 1:
            raise _Outdated
        core, now = self.core, self.core.now()
        digest = rules_digest(rules)
        plan = apply_plan(found, lambda: core.mint_one_id(now), core.new_id, actor,
                          f"rules {digest} applied")
        if not found.unchanged:
            tx.write_plan(plan, now, rules.blocking_slots)
        tx.record_applied_rules(digest, toml, actor, now)
        return Applied(found, tuple(plan.new_persons), digest, tx.epoch)

    def _read_live(self, tx: GraphTx, rules: Rules) -> tuple[LiveGraph, int]:
        """The live graph as a preview needs it, and the write epoch it was read at."""
        epoch = tx.write_epoch()
        records: list[PreparedRecord] = []
        owner: dict[str, str] = {}
        created: dict[str, datetime] = {}
        after = ""
        while True:
            rows = tx.records_page(after, self.page_size)
            for row in rows:
                stored = stored_record(row["record"])
                _check_types(stored.identifiers, rules)
                records.append(as_prepared(stored, "idgraph", rules))
                owner[row["key"]] = row["one_id"]
                created.setdefault(row["one_id"], to_native(row["created_ms"]) or EPOCH)
            if len(rows) < self.page_size:
                break
            after = rows[-1]["key"]
        return _live_graph(tx, records, owner, created, self.core.secret), epoch


def _check_types(identifiers: Sequence[Any], rules: Rules) -> None:
    for key in identifiers:
        if key.type not in rules.identifier_types:
            raise InvalidInput.one(FIELD, f"identifier_types.{key.type}: the graph holds "
                                   "values of this type; the rules must define it")


def _live_graph(tx: GraphTx, records: list[PreparedRecord], owner: Mapping[str, str],
                created: Mapping[str, datetime], secret: bytes) -> LiveGraph:
    decisions = tx.steward_decisions()
    frozen = suppressed_indexes(tx, records, secret)
    return LiveGraph(
        records=records, owner=owner, created=created,
        kept_apart=frozenset(frozenset(p) for p in decisions["kept_apart"]),
        must_links=[(a, b) for a, b in decisions["must_links"]],
        frozen=frozenset(records[i].key for i in frozen),
        with_task=frozenset(decisions["with_task"]))


def note_applied_rules(store: GraphStore, rules: Rules) -> bool:
    """Warn when the graph's last applied rules are not `rules` (a server started with
    another rules file than the one applied); True when they agree or none were applied."""
    applied = store.read(lambda tx: tx.applied_rules())
    if applied is None or applied["digest"] == rules_digest(rules):
        return True
    log.warning("the rules last applied to the graph (%s, by %s) are not the configured rules "
                "(%s): point IDGRAPH_RULES_FILE at the applied rules (`idgraph rules status "
                "--json` shows them), or apply the configured ones", applied["digest"],
                applied["actor"], rules_digest(rules))
    return False
