"""Recommendations: next models, referral candidates and lookalikes, each explained, with
the whole graph's model statistics cached between reads."""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field

from idgraph.domain.recommend import (
    Contact,
    FeatureGraph,
    ModelNeighbourhood,
    ModelStatistics,
    PersonNetwork,
    PersonSummary,
    Recommendation,
    RecordFacts,
    lookalike_candidates,
    model_statistics,
    recommend_models,
    referral_candidates,
    similar_customers,
    summarize,
)
from idgraph.engine.common import check_one_id, follow_redirects
from idgraph.engine.core import Core
from idgraph.engine.reads import Reads
from idgraph.errors import Conflict, InvalidInput, NotFound
from idgraph.store.neo4j_store import GraphTx

MAX_K = 100
MAX_SEEDS = 1000
MAX_CONTACTS = 50  # first-hop contacts a referral search follows
MAX_TAG_CHECKS = 200  # ranked results whose tags are checked, at most
# A lookalike search reads up to NEIGHBOURS_PER_FEATURE people per model or dealer of the
# seeds (fewer when the seeds have many, down to MIN_NEIGHBOURS_PER_FEATURE, so that about
# MAX_NEIGHBOURS are read in all), then walks to the MAX_LOOKALIKE_CANDIDATES of them
# sharing the most with the seeds.
NEIGHBOURS_PER_FEATURE = 100
MIN_NEIGHBOURS_PER_FEATURE = 20
MAX_NEIGHBOURS = 2000
MAX_LOOKALIKE_CANDIDATES = 300


@dataclass
class Recommendations:
    """Recommendations read from the core's store (relationships and tags as profiles show
    them)."""

    core: Core
    reads: Reads
    model_statistics_seconds: float = 300.0  # how long next-model statistics are reused
    _statistics: tuple[ModelStatistics | None, float] = \
        field(default=(None, 0.0), init=False, repr=False)
    _statistics_refreshing: bool = field(default=False, init=False, repr=False)
    _statistics_took: float = field(default=0.0, init=False, repr=False)  # last read, s
    _statistics_lock: threading.Lock = field(default_factory=threading.Lock, init=False,
                                             repr=False)

    def recommend_models(self, one_id: str, k: int, timeout: float | None = None
                         ) -> tuple[str, list[Recommendation]]:
        """The next models for a person (trade-in or upgrade), each with its explanation;
        answers the OneID (after redirects) and the ranked models."""
        _check_k(k)
        check_one_id(one_id)
        statistics = self._model_statistics(timeout)

        def work(tx: GraphTx) -> tuple[str, list[Recommendation]]:
            me = self._subject(tx, one_id)
            if me.consent is False:
                raise Conflict(f"{me.one_id} withdrew marketing consent")
            relationships = self.reads.relationships(tx, me.one_id, me.addresses)
            summaries = self._summaries(tx, {r.one_id for r in relationships})
            contacts = [Contact(r.one_id, r.type.value) for r in relationships
                        if r.one_id in summaries and summaries[r.one_id].reachable]
            hood = ModelNeighbourhood(
                me.one_id, me.touches, me.dealers[0] if me.dealers else "", contacts,
                {c.one_id: summaries[c.one_id].touches for c in contacts},
                statistics.transitions, statistics.popularity, statistics.co_interest,
                statistics.interested)
            return me.one_id, recommend_models(hood, k)

        return self.core.store.read(work, timeout)

    def referral_candidates(self, one_id: str, k: int, with_tags: Sequence[str] = (),
                            without_tags: Sequence[str] = (), timeout: float | None = None
                            ) -> list[Recommendation]:
        """In-market people (a lead or a test drive, no car owned) within two household or
        referral hops of a person, nearest first, each with the path that links them."""
        _check_k(k)
        check_one_id(one_id)
        self._check_tags(with_tags, "with_tags")
        self._check_tags(without_tags, "without_tags")

        def work(tx: GraphTx) -> list[Recommendation]:
            me = self._subject(tx, one_id)
            owner = me.one_id
            relationships = self.reads.relationships(tx, owner, me.addresses)
            near = self._summaries(tx, {r.one_id for r in relationships})
            first = [r for r in relationships if r.one_id in near][:MAX_CONTACTS]
            edges = [(owner, r.one_id, r.type.value) for r in first]
            for rel in first:
                for further in self.reads.relationships(tx, rel.one_id,
                                                        near[rel.one_id].addresses):
                    if further.one_id != owner:
                        edges.append((rel.one_id, further.one_id, further.type.value))
            people = {b for _, b, _ in edges}
            summaries = {oid: near[oid] for oid in people & near.keys()}
            summaries.update(self._summaries(tx, people - near.keys()))  # second hop
            in_market = {oid: why for oid, s in summaries.items()
                         if s.reachable and (why := s.in_market())}
            ranked = referral_candidates(
                PersonNetwork(owner, [e for e in edges if e[1] in summaries], in_market),
                len(in_market))
            return self._tag_filtered(tx, ranked, with_tags, without_tags, k, summaries)

        return self.core.store.read(work, timeout)

    def similar_customers(self, one_ids: Sequence[str], k: int, with_tags: Sequence[str] = (),
                          without_tags: Sequence[str] = (), timeout: float | None = None
                          ) -> list[Recommendation]:
        """Lookalikes of a seed group: people sharing the seeds' models, dealers and cities,
        ranked by personalized PageRank from the seeds, each with what it shares."""
        _check_k(k)
        if not one_ids or len(one_ids) > MAX_SEEDS:
            raise InvalidInput.one("one_ids", f"1 to {MAX_SEEDS} OneIDs")
        for index, seed in enumerate(one_ids):
            check_one_id(seed, f"one_ids[{index}]")
        self._check_tags(with_tags, "with_tags")
        self._check_tags(without_tags, "without_tags")

        def work(tx: GraphTx) -> list[Recommendation]:
            seeds = list(dict.fromkeys(follow_redirects(tx, s) for s in one_ids))
            ranked, others = self._lookalikes_in(tx, seeds, MAX_NEIGHBOURS,
                                                 MAX_LOOKALIKE_CANDIDATES)
            return self._tag_filtered(tx, ranked, with_tags, without_tags, k, others)

        return self.core.store.read(work, timeout)

    def lookalikes(self, seeds: Sequence[str], k: int, exclude: Iterable[str] = (),
                   timeout: float | None = None) -> list[Recommendation]:
        """Up to `k` lookalikes of active seed people (an audience's members), none of
        `exclude`: SimilarCustomers' walk over a neighbourhood grown with `k` (ten
        people read per result wanted, at least as many as SimilarCustomers reads)."""
        excluded = set(exclude) | set(seeds)

        def work(tx: GraphTx) -> list[Recommendation]:
            ranked, _ = self._lookalikes_in(
                tx, list(seeds), max(MAX_NEIGHBOURS, 10 * k),
                max(MAX_LOOKALIKE_CANDIDATES, len(excluded) + 3 * k))
            return [r for r in ranked if r.item not in excluded][:k]

        return self.core.store.read(work, timeout)

    def _lookalikes_in(self, tx: GraphTx, seeds: list[str], neighbours: int, candidates: int
                       ) -> tuple[list[Recommendation], dict[str, PersonSummary]]:
        """People sharing the seeds' models, dealers and cities, ranked by personalized
        PageRank from the seeds; with the summaries of the people ranked."""
        seed_summaries = self._summaries(tx, seeds)
        features = {oid: s.features() for oid, s in seed_summaries.items()}
        models = sorted({m for s in seed_summaries.values() for m in s.owns})
        dealers = sorted({d for s in seed_summaries.values() for d in s.feature_dealers})
        cap = min(max(NEIGHBOURS_PER_FEATURE, neighbours // 20),
                  max(MIN_NEIGHBOURS_PER_FEATURE,
                      neighbours // max(1, len(models) + len(dealers))))
        holders = tx.feature_neighbours(models, dealers, cap)
        others = self._summaries(tx, lookalike_candidates(features, holders, candidates))
        features.update((oid, s.features()) for oid, s in others.items() if s.reachable)
        return similar_customers(FeatureGraph(seeds, features), len(features)), others

    def _model_statistics(self, timeout: float | None) -> ModelStatistics:
        """What owners buy next, what people interested in a model also consider, and how
        many own each model. They are read from the whole graph, then reused for
        `model_statistics_seconds`, or ten times as long as the last read took if that is
        longer (so a large graph is not scanned without pause). A stale copy is answered
        while a refresh runs in the background; 0 reads them afresh every time."""
        if self.model_statistics_seconds <= 0:
            return self._refresh_statistics(timeout)
        with self._statistics_lock:
            cached, at = self._statistics
            reuse = max(self.model_statistics_seconds, 10 * self._statistics_took)
            fresh = cached is not None and time.monotonic() - at < reuse
            if cached is not None and (fresh or self._statistics_refreshing):
                return cached
            if cached is not None:  # stale: answer it, refresh behind
                self._statistics_refreshing = True
                threading.Thread(target=self._refresh_statistics, args=(None,),
                                 daemon=True, name="model-statistics").start()
                return cached
        return self._refresh_statistics(timeout)

    def _refresh_statistics(self, timeout: float | None) -> ModelStatistics:
        try:
            started = time.monotonic()
            statistics = self.core.store.read(lambda tx: model_statistics(tx.model_touches()),
                                              timeout)
            with self._statistics_lock:
                self._statistics = (statistics, time.monotonic())
                self._statistics_took = time.monotonic() - started
            return statistics
        finally:
            with self._statistics_lock:
                self._statistics_refreshing = False

    @staticmethod
    def _summaries(tx: GraphTx, one_ids: Iterable[str]) -> dict[str, PersonSummary]:
        rows = tx.person_summaries(one_ids)
        return {oid: summarize(oid, [
            RecordFacts(r["source"], r["at"], json.loads(r["attributes"] or "{}"),
                        r["dealers"], [(t["model"], t["relation"], bool(t["current"]),
                                        t["since"]) for t in r["touches"]])
            for r in row["records"]], row["assigned_tags"]) for oid, row in rows.items()}

    def _subject(self, tx: GraphTx, one_id: str) -> PersonSummary:
        """The person a OneID points at now, summarized; NotFound when there is none."""
        target = follow_redirects(tx, one_id)
        found = self._summaries(tx, [target]).get(target)
        if found is None:
            raise NotFound(f"OneID {one_id} has no active person")
        return found

    def _check_tags(self, tags: Sequence[str], field_name: str) -> None:
        for index, tag in enumerate(tags):
            if not self.core.tags.defined("person", tag):
                raise InvalidInput.one(f"{field_name}[{index}]",
                                       f"not a person tag of the hierarchy: {tag!r}")

    def _tag_filtered(self, tx: GraphTx, ranked: Sequence[Recommendation],
                      with_tags: Sequence[str], without_tags: Sequence[str], k: int,
                      summaries: Mapping[str, PersonSummary]) -> list[Recommendation]:
        """The first k results whose tags (from data and assigned) include every
        `with_tags` and none of `without_tags`. Tags only ever assigned (no rule gives
        them) are read from the summaries at hand; a tag from data needs the person's
        profile (one query set per result checked, at most MAX_TAG_CHECKS)."""
        if not with_tags and not without_tags:
            return list(ranked[:k])
        from_data = any(self.core.tags.person[t].when is not None
                        for t in (*with_tags, *without_tags))
        kept = []
        for result in ranked[:MAX_TAG_CHECKS]:
            summary = summaries.get(result.item)
            if from_data or summary is None:
                tags = {t.path for t in self.reads.profile_in(tx, result.item, None).profile.tags}
            else:
                tags = set(summary.assigned_tags)
            if set(with_tags) <= tags and not tags & set(without_tags):
                kept.append(result)
                if len(kept) == k:
                    break
        return kept


def _check_k(k: int) -> None:
    if not 1 <= k <= MAX_K:
        raise InvalidInput.one("k", f"between 1 and {MAX_K}")
