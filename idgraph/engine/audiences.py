"""Audiences: select people by a definition, store definitions with their history, export
members with the identifiers media platforms take, and grow an audience with lookalikes.

Definitions are evaluated over the audience index (idgraph.domain.audience_index), an
in-memory summary of every active person built from their profiles as GetProfile reads
them (tags from data included). It is built on first use, caught up before each call with
the people written since its last look (at most every `max_age_seconds`), and rebuilt in
full every `rebuild_seconds` (tags from data that depend on the date move on).

An export never trusts the index for what protects people: each member is read again from
the graph as it is sent, and people who are no longer active, did not give marketing
consent (or withdrew it), or hold a suppressed value are left out and counted.
"""

from __future__ import annotations

import json
import logging
import re
import threading
import time
from collections import deque
from collections.abc import Iterator, Mapping, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

import numpy as np

from idgraph.domain.audience import Clause, leaves, parse_definition
from idgraph.domain.audience_index import AudienceIndex, Evaluation, PersonFacts, person_facts
from idgraph.domain.media_ids import Hash, MediaKind, hashed, media_values
from idgraph.domain.recommend import Recommendation
from idgraph.engine.common import suppression_digest
from idgraph.engine.core import Core
from idgraph.engine.reads import Reads
from idgraph.engine.recommendations import Recommendations
from idgraph.errors import FieldViolation, InvalidInput, NotFound
from idgraph.store.neo4j_store import GraphTx

log = logging.getLogger(__name__)

NAME = re.compile(r"[a-z0-9][a-z0-9_.-]{0,63}")
MAX_SAMPLE = 100
MAX_EXPANSION = 10_000
MAX_SEEDS = 1000
READ_BATCH = 500  # people whose profiles one index read fetches
EXPORT_BATCH = 2000  # members one export read fetches
READS_AHEAD = 1  # export pages read while one is sent (2 measured no faster on 2 cores)
SUPPRESSIONS_HELD = 1_000_000  # a suppression list up to this long is read once per export


@dataclass(frozen=True)
class Member:
    """A person in an audience and why they qualify."""

    one_id: str
    reasons: tuple[str, ...]


@dataclass(frozen=True)
class AudiencePreview:
    """How many people a definition selects, how many of them may be exported (marketing
    consent given), a sample with reasons, and when the index last looked."""

    size: int
    exportable: int
    sample: tuple[Member, ...]
    as_of: datetime


@dataclass(frozen=True)
class AudienceEvent:
    """Something that happened to a stored audience."""

    kind: str  # created | updated | exported
    at: datetime | None
    actor: str
    size: int
    exported: int = 0
    identifiers: tuple[str, ...] = ()
    format: str = ""


@dataclass(frozen=True)
class StoredAudience:
    """A named definition with its owner and history."""

    name: str
    owner: str
    description: str
    definition: Clause
    created_by: str
    created_at: datetime | None
    updated_at: datetime | None
    events: tuple[AudienceEvent, ...]


@dataclass(frozen=True)
class ExportedValue:
    """One identifier of an exported person, as sent."""

    kind: str  # a media kind (mobile, imei, idfa, oaid) or an identifier type
    hash: Hash
    value: str


@dataclass(frozen=True)
class ExportedPerson:
    one_id: str
    values: tuple[ExportedValue, ...]


@dataclass
class ExportTally:
    """What an export sent and what it left out, by reason."""

    members: int = 0
    exported: int = 0
    excluded: dict[str, int] = field(default_factory=lambda: {
        "no_consent": 0, "suppressed": 0, "not_active": 0, "no_identifiers": 0})


@dataclass
class Audiences:
    """Audience definitions, previews, exports and lookalike expansion."""

    core: Core
    reads: Reads
    recommendations: Recommendations
    max_age_seconds: float = 2.0  # the index catches up when older than this
    margin_seconds: float = 30.0  # people written this long before a look are read again
    rebuild_seconds: float = 86_400.0
    _index: AudienceIndex | None = field(default=None, init=False, repr=False)
    _looked: datetime | None = field(default=None, init=False, repr=False)
    _looked_mono: float = field(default=0.0, init=False, repr=False)
    _built_mono: float = field(default=0.0, init=False, repr=False)
    _lock: threading.Lock = field(default_factory=threading.Lock, init=False, repr=False)

    # ---------------------------------------------------------------- the index
    def index(self, timeout: float | None = None) -> AudienceIndex:
        """The audience index, built or caught up as needed."""
        with self._lock:
            now = time.monotonic()
            if self._index is None or now - self._built_mono > self.rebuild_seconds:
                self._build(timeout)
            elif now - self._looked_mono >= self.max_age_seconds:
                self._catch_up(timeout)
            assert self._index is not None
            return self._index

    def _build(self, timeout: float | None) -> None:
        started, mono = self.core.now(), time.monotonic()
        one_ids = self.core.store.read(lambda tx: tx.active_one_ids(), timeout)
        index = AudienceIndex(self.core.tags)
        chunks = [one_ids[at:at + READ_BATCH] for at in range(0, len(one_ids), READ_BATCH)]
        # Two reads in flight: Neo4j answers one while this process assembles the other.
        with ThreadPoolExecutor(max_workers=2, thread_name_prefix="audience-index") as pool:
            people = [f for found in pool.map(lambda c: self._facts(c, timeout), chunks)
                      for f in found.values() if f is not None]
        index.load(people)
        self._index, self._looked, self._looked_mono, self._built_mono = \
            index, started, mono, mono
        log.info("audience index built: %d people in %.1f s", len(index),
                 time.monotonic() - mono)

    def _catch_up(self, timeout: float | None) -> None:
        index, looked = self._index, self._looked
        assert index is not None and looked is not None
        started, mono = self.core.now(), time.monotonic()
        since = looked - timedelta(seconds=self.margin_seconds)
        changed = set(self.core.store.read(lambda tx: tx.people_updated_since(since), timeout))
        if len(changed) > max(1000, len(index) // 5):
            self._build(timeout)
            return
        if changed:
            # A relationship is held by both people: re-read the people whose edges point
            # at a changed person, before and after the change.
            todo = changed | {n for c in changed if (f := index.facts(c)) is not None
                              for n in f.neighbours()}
            fresh = self._facts(sorted(todo), timeout)
            later = {n for f in fresh.values() if f is not None for n in f.neighbours()}
            fresh.update(self._facts(sorted(later - todo), timeout))
            index.update(fresh)
            if index.pending > max(10_000, len(index) // 10):
                index.compact()
        self._looked, self._looked_mono = started, mono

    def _facts(self, one_ids: Sequence[str], timeout: float | None
               ) -> dict[str, PersonFacts | None]:
        """Fresh facts of people (None: not an active person)."""
        def work(tx: GraphTx) -> dict[str, PersonFacts | None]:
            found: dict[str, PersonFacts | None] = dict.fromkeys(one_ids)
            for one_id, (profile, raw) in self.reads.active_profiles(tx, one_ids).items():
                found[one_id] = person_facts(profile, _vehicle_info(raw))
            return found
        return self.core.store.read(work, timeout)

    # ------------------------------------------------------------------ preview
    def parse(self, text: str, field_name: str = "definition") -> Clause:
        """A definition, validated against the tag hierarchy too."""
        clause = parse_definition(text, field_name)
        wrong = []
        for path, c in leaves(clause, field_name):
            if c.tag is not None:
                wrong += [FieldViolation(f"{path}.tag.any[{i}]", f"not a person tag: {t!r}")
                          for i, t in enumerate(c.tag.any_of)
                          if not self.core.tags.defined("person", t)]
            if c.vehicle is not None and c.vehicle.tag:
                wrong += [FieldViolation(f"{path}.vehicle.tag[{i}]",
                                         f"not a vehicle tag: {t!r}")
                          for i, t in enumerate(c.vehicle.tag)
                          if not self.core.tags.defined("vehicle", t)]
        if wrong:
            raise InvalidInput(wrong)
        return clause

    def preview(self, definition: str, sample_size: int = 10, timeout: float | None = None
                ) -> AudiencePreview:
        """How many people the definition selects, and a sample with reasons."""
        return self.preview_clause(self.parse(definition), sample_size, timeout)

    def preview_clause(self, clause: Clause, sample_size: int = 10,
                       timeout: float | None = None) -> AudiencePreview:
        """`preview` of a parsed definition."""
        if not 0 <= sample_size <= MAX_SAMPLE:
            raise InvalidInput.one("sample_size", f"between 0 and {MAX_SAMPLE}")
        index = self.index(timeout)
        with self._lock:
            result = index.evaluate(clause, self.core.now())
            members = np.flatnonzero(result.members)
            exportable = int((result.members & index.consent_given()).sum())
            picks = (members[np.linspace(0, len(members) - 1, sample_size).astype(int)]
                     if len(members) and sample_size else members[:0])
            sample = tuple(Member(index.one_ids[p], tuple(
                index.reasons(clause, index.one_ids[p], result)))
                for p in dict.fromkeys(int(x) for x in picks))
            assert self._looked is not None
            return AudiencePreview(len(members), exportable, sample, self._looked)

    def members(self, clause: Clause, timeout: float | None = None) -> list[str]:
        """The OneIDs the definition selects now (from the index)."""
        index = self.index(timeout)
        with self._lock:
            result: Evaluation = index.evaluate(clause, self.core.now())
            return [index.one_ids[p] for p in np.flatnonzero(result.members)]

    # ------------------------------------------------------------ stored audiences
    def save(self, name: str, definition: str, owner: str, description: str, actor: str,
             timeout: float | None = None) -> StoredAudience:
        """Store (or change) a named definition; its size goes into the history."""
        _check_name(name)
        if not owner.strip():
            raise InvalidInput.one("owner", "required: who answers for this audience")
        clause = self.parse(definition)
        size = len(self.members(clause, timeout))
        text = json.dumps(clause.dump(), ensure_ascii=False, sort_keys=True)

        def work(tx: GraphTx) -> None:
            kind = "updated" if tx.audience(name) is not None else "created"
            tx.save_audience(name, owner.strip(), description, text, actor, size, kind,
                             self.core.now())
        self.core.store.write(work, timeout)
        return self.get(name, timeout)

    def get(self, name: str, timeout: float | None = None) -> StoredAudience:
        """A stored audience with its history."""
        _check_name(name)
        raw = self.core.store.read(lambda tx: tx.audience(name), timeout)
        if raw is None:
            raise NotFound(f"no audience named {name!r}")
        return _stored(raw)

    def stored(self, after: str = "", limit: int = 100, timeout: float | None = None
             ) -> list[StoredAudience]:
        """Stored audiences by name, after a name."""
        return [_stored(r) for r in self.core.store.read(
            lambda tx: tx.audiences(after, limit), timeout)]

    # ------------------------------------------------------------------- export
    def export(self, name: str, kinds: Sequence[str], hashes: Sequence[Hash], actor: str,
               fmt: str = "grpc", tally: ExportTally | None = None,
               timeout: float | None = None) -> Iterator[ExportedPerson]:
        """The members of a stored audience with the identifiers asked for, read afresh
        from the graph; the export goes into the audience's history when it ends (also
        when the reader stops early)."""
        wanted = self._check_kinds(kinds, hashes)
        stored = self.get(name, timeout)
        candidates, members = self._consenting_members(stored.definition, timeout)
        # A short suppression list is read once; a long one is asked per page.
        listed = self.core.store.read(lambda tx: tx.suppression_digests(SUPPRESSIONS_HELD),
                                      timeout)
        tally = tally if tally is not None else ExportTally()
        tally.members = members
        tally.excluded["no_consent"] += members - len(candidates)
        chunks = [candidates[at:at + EXPORT_BATCH]
                  for at in range(0, len(candidates), EXPORT_BATCH)]
        try:
            # The next pages are read (READS_AHEAD at once) while this one is sent.
            with ThreadPoolExecutor(max_workers=READS_AHEAD,
                                    thread_name_prefix="export") as pool:
                ahead = deque(pool.submit(self._read_people, c, listed, timeout)
                              for c in chunks[:READS_AHEAD])
                for index, chunk in enumerate(chunks):
                    if index + READS_AHEAD < len(chunks):
                        ahead.append(pool.submit(self._read_people,
                                                 chunks[index + READS_AHEAD], listed, timeout))
                    read = ahead.popleft().result()
                    yield from self._export_chunk(chunk, read, wanted, hashes, tally)
        finally:
            self.core.store.write(lambda tx: tx.record_export(
                name, actor, tally.members, tally.exported, list(kinds), fmt,
                json.dumps(tally.excluded, sort_keys=True), self.core.now()), None)

    def _consenting_members(self, clause: Clause, timeout: float | None
                            ) -> tuple[list[str], int]:
        """The members the index says gave marketing consent, and how many members there
        are. (Only people the index holds as consenting are read again: the read can only
        exclude.)"""
        index = self.index(timeout)
        with self._lock:
            members = index.evaluate(clause, self.core.now()).members
            chosen = np.flatnonzero(members & index.consent_given())
            return [index.one_ids[p] for p in chosen], int(members.sum())

    def _check_kinds(self, kinds: Sequence[str], hashes: Sequence[Hash]) -> set[str]:
        if not kinds:
            raise InvalidInput.one("identifiers", "name at least one identifier kind")
        if not hashes:
            raise InvalidInput.one("hashes", "name at least one of plain, md5, sha256")
        known = set(MediaKind) | set(self.core.rules.identifier_types)
        for i, kind in enumerate(kinds):
            if kind not in known:
                raise InvalidInput.one(f"identifiers[{i}]", f"not an identifier kind: {kind!r} "
                                       f"(media kinds: {', '.join(MediaKind)}, or an "
                                       "identifier type of the rules)")
        return set(kinds)

    def _read_people(self, one_ids: Sequence[str], listed: set[str] | None,
                     timeout: float | None
                     ) -> tuple[list[dict[str, Any]], list[list[str]], set[str]]:
        """People as an export reads them afresh, the suppression digests of each one's
        values, and which of those digests are on the suppression list (`listed`, or
        asked when the list is too long to hold)."""
        secret = self.core.secret

        def work(tx: GraphTx) -> tuple[list[dict[str, Any]], list[list[str]], set[str]]:
            rows = tx.export_people(one_ids)
            if listed is not None and not listed:
                return rows, [[] for _ in rows], set()
            digests = [[suppression_digest(secret, i[0]) for i in r["identifiers"]]
                       for r in rows]
            flat = {d for ds in digests for d in ds}
            return rows, digests, (flat & listed if listed is not None
                                   else tx.suppressed(sorted(flat)))
        return self.core.store.read(work, timeout)

    def _export_chunk(self, one_ids: Sequence[str],
                      read: tuple[list[dict[str, Any]], list[list[str]], set[str]],
                      wanted: set[str], hashes: Sequence[Hash], tally: ExportTally
                      ) -> Iterator[ExportedPerson]:
        rows, digests, suppressed = read
        tally.excluded["not_active"] += len(one_ids) - len(rows)
        for row, mine in zip(rows, digests, strict=True):
            if _latest_consent(row["statements"]) is not True:
                tally.excluded["no_consent"] += 1
            elif suppressed and not suppressed.isdisjoint(mine):
                tally.excluded["suppressed"] += 1
            elif values := self._values(row["identifiers"], wanted, hashes):
                tally.exported += 1
                yield ExportedPerson(row["one_id"], values)
            else:
                tally.excluded["no_identifiers"] += 1

    def _values(self, identifiers: Sequence[Sequence[Any]], wanted: set[str],
                hashes: Sequence[Hash]) -> tuple[ExportedValue, ...]:
        types = self.core.rules.identifier_types
        out: dict[tuple[str, Hash, str], None] = {}
        for _key, type_, value, stored_hashed in sorted(identifiers, key=lambda i: i[0]):
            if stored_hashed:
                continue  # only a keyed hash is stored: nothing a platform can match
            rule = types.get(type_)
            plain = [(str(k), v) for k, v in media_values(
                type_, rule.format.value if rule else "", value) if k in wanted]
            if type_ in wanted:
                plain.append((type_, value))
            for kind, text in plain:
                for how in hashes:
                    out[(kind, how, hashed(text, how))] = None
        return tuple(ExportedValue(k, h, v) for k, h, v in out)

    # ------------------------------------------------------------------- expand
    def expand(self, clause: Clause, target_size: int, timeout: float | None = None
               ) -> list[Recommendation]:
        """Lookalikes of the audience's members (up to MAX_SEEDS of them, spread over
        the audience), none of them members, up to `target_size`."""
        if not 1 <= target_size <= MAX_EXPANSION:
            raise InvalidInput.one("target_size", f"between 1 and {MAX_EXPANSION}")
        members = self.members(clause, timeout)
        if not members:
            raise InvalidInput.one("definition", "the audience has no members to grow from")
        step = max(1, len(members) // MAX_SEEDS)
        seeds = members[::step][:MAX_SEEDS]
        return self.recommendations.lookalikes(seeds, target_size, members, timeout)


def _check_name(name: str) -> None:
    if not NAME.fullmatch(name):
        raise InvalidInput.one("name", "1 to 64 of a-z 0-9 _ . - (starting with a letter "
                               "or digit)")


def _vehicle_info(raw: Mapping[str, Any]) -> dict[str, tuple[str, int | None, tuple[str, ...]]]:
    """Each VIN's make, model year and assigned tags, as the profile read them."""
    info = {}
    for record in raw["records"]:
        for v in record["vehicles"]:
            if v.get("vin"):
                info[v["vin"]] = (v.get("make") or "", v.get("model_year"),
                                  tuple(v.get("tags") or ()))
    return info


def _latest_consent(statements: Sequence[Sequence[Any]]) -> bool | None:
    """The latest consent_marketing statement (as the profile reads it)."""
    latest: tuple[int, bool] | None = None
    for at, attributes in statements:
        value = json.loads(attributes or "{}").get("consent_marketing")
        if value is not None and (latest is None or (at or 0) >= latest[0]):
            latest = (at or 0, value == "true")
    return None if latest is None else latest[1]


def _stored(raw: Mapping[str, Any]) -> StoredAudience:
    events = sorted((AudienceEvent(
        e["kind"], _ms(e["at"]), e["actor"] or "",
        int(e["size"] or 0), int(e["exported"] or 0), tuple(e["identifiers"] or ()),
        e.get("format") or "") for e in raw["events"]),
        key=lambda e: e.at.timestamp() if e.at else 0)
    return StoredAudience(raw["name"], raw["owner"] or "", raw["description"] or "",
                          parse_definition(raw["definition"]), raw["created_by"] or "",
                          _ms(raw["created_ms"]), _ms(raw["updated_ms"]), tuple(events))


def _ms(value: int | None) -> datetime | None:
    return None if value is None else datetime.fromtimestamp(value / 1000, UTC)
