"""The application layer the gRPC edge and the CLI call: it turns raw input into domain
objects, runs the pure decisions inside store transactions and carries them out through
the store. `IdentityEngine` builds the parts over one shared `Core`:

- `ingestion`: ingest, batches, group commit, Resolve, the change feed;
- `reads`: profiles, vehicles, history, Explain;
- `stewardship`: keep apart, merge, review tasks, split, erase;
- `recommendations`: next models, referral candidates, lookalikes;
- `tagging`: assigned tags.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Mapping, Sequence
from concurrent.futures import Future
from datetime import datetime

from idgraph.domain.recommend import ModelStatistics, Recommendation
from idgraph.domain.records import Limits, PreparedRecord, RawIdentifier, RawRecord
from idgraph.domain.rules import Rules
from idgraph.domain.tags import TagHierarchy, load_tags
from idgraph.domain.vehicles import VehicleHistory
from idgraph.domain.working_set import IngestOutcome
from idgraph.engine.common import ExplainOutcome, ProfileOutcome, ResolveOutcome, SplitOutcome
from idgraph.engine.core import Clock, Core, Entropy, system_clock
from idgraph.engine.ingestion import Ingestion, PlannedBatch, StageTimes
from idgraph.engine.reads import Reads
from idgraph.engine.recommendations import Recommendations
from idgraph.engine.stewardship import Stewardship
from idgraph.engine.tagging import Tagging
from idgraph.graph_cache import GraphView
from idgraph.store.neo4j_store import (
    ChangeRow,
    GraphStore,
    GraphTx,
    HistoryEntry,
    ReviewFilter,
    ReviewPageKey,
    ReviewTaskRow,
)

__all__ = ["Core", "IdentityEngine", "Ingestion", "Reads", "Recommendations", "Stewardship",
           "Tagging"]


class IdentityEngine:
    """Resolution, look-ups, steward decisions, recommendations and tags over a graph
    store: its parts, sharing one core. It still answers the parts' methods itself, until
    its callers call the parts."""

    def __init__(self, store: GraphStore, rules: Rules, secret: bytes,
                 limits: Limits | None = None, clock: Clock = system_clock,
                 entropy: Entropy = os.urandom, pipeline: bool = False,
                 group_commit_max_batch: int = 512, view: GraphView | None = None,
                 tags: TagHierarchy | None = None, model_statistics_seconds: float = 300.0
                 ) -> None:
        self.core = Core(store, rules, secret, Limits() if limits is None else limits, clock,
                         entropy, GraphView() if view is None else view,
                         load_tags() if tags is None else tags)
        self.ingestion = Ingestion(self.core, pipeline, group_commit_max_batch)
        self.reads = Reads(self.core, self.ingestion)
        self.stewardship = Stewardship(self.core, self.ingestion, self.reads)
        self.recommendations = Recommendations(self.core, self.reads, model_statistics_seconds)
        self.tagging = Tagging(self.core)

    # ------------------------------------------------------------------ ingestion
    def ingest(self, raw: RawRecord, timeout: float | None = None, actor: str = "ingest"
               ) -> IngestOutcome:
        return self.ingestion.ingest(raw, timeout, actor)

    def submit(self, raw: RawRecord, timeout: float | None = None,
               prefix: str = "record", actor: str = "ingest") -> Future[IngestOutcome]:
        return self.ingestion.submit(raw, timeout, prefix, actor)

    def enqueue(self, record: PreparedRecord, timeout: float | None = None
                ) -> Future[IngestOutcome]:
        return self.ingestion.enqueue(record, timeout)

    def prepare(self, raw: RawRecord, prefix: str = "record", actor: str = "ingest", *,
                lenient: bool = False) -> PreparedRecord:
        return self.ingestion.prepare(raw, prefix, actor, lenient=lenient)

    def ingest_batch(self, records: Sequence[PreparedRecord], timeout: float | None = None,
                     *, update_view: bool = True, recheck: bool = False,
                     also: Callable[[GraphTx, list[IngestOutcome]], None] | None = None
                     ) -> list[IngestOutcome]:
        return self.ingestion.ingest_batch(records, timeout, update_view=update_view,
                                           recheck=recheck, also=also)

    def plan_batch(self, records: Sequence[PreparedRecord], timeout: float | None = None
                   ) -> PlannedBatch | None:
        return self.ingestion.plan_batch(records, timeout)

    def commit_planned(self, planned: PlannedBatch, timeout: float | None = None
                       ) -> list[IngestOutcome]:
        return self.ingestion.commit_planned(planned, timeout)

    def resolve(self, identifiers: Sequence[RawIdentifier], attributes: Mapping[str, str],
                timeout: float | None = None) -> ResolveOutcome:
        return self.ingestion.resolve(identifiers, attributes, timeout)

    def changes(self, after: int, limit: int) -> list[ChangeRow]:
        return self.ingestion.changes(after, limit)

    @property
    def stage_times(self) -> StageTimes:
        return self.ingestion.stage_times

    # ------------------------------------------------------------------ core
    @property
    def store(self) -> GraphStore:
        return self.core.store

    @property
    def rules(self) -> Rules:
        return self.core.rules

    @property
    def view(self) -> GraphView:
        return self.core.view

    @property
    def tags(self) -> TagHierarchy:
        return self.core.tags

    @property
    def commits(self) -> int:
        return self.core.commits

    def wait_for_commit(self, seen: int, timeout: float) -> None:
        self.core.wait_for_commit(seen, timeout)

    def batch_time(self) -> datetime:
        return self.core.batch_time()

    def mint_one_id(self, now: datetime) -> str:
        return self.core.mint_one_id(now)

    def new_id(self) -> str:
        return self.core.new_id()

    # ------------------------------------------------------------------ reads
    def profile(self, one_id: str = "", identifier: RawIdentifier | None = None,
                timeout: float | None = None) -> ProfileOutcome:
        return self.reads.profile(one_id, identifier, timeout)

    def vehicle(self, vin: str, timeout: float | None = None) -> VehicleHistory:
        return self.reads.vehicle(vin, timeout)

    def history(self, one_id: str, timeout: float | None = None
                ) -> tuple[str, list[HistoryEntry]]:
        return self.reads.history(one_id, timeout)

    def explain(self, other_one_id: str, record: RawRecord | None = None,
                one_id: str = "", timeout: float | None = None) -> ExplainOutcome:
        return self.reads.explain(other_one_id, record, one_id, timeout)

    # ------------------------------------------------------------------ stewardship
    def keep_apart(self, one_ids: Sequence[str], actor: str, reason: str, task_id: str = "",
                   timeout: float | None = None) -> list[tuple[str, str]]:
        return self.stewardship.keep_apart(one_ids, actor, reason, task_id, timeout)

    def merge_persons(self, one_ids: Sequence[str], actor: str, reason: str,
                      timeout: float | None = None) -> tuple[str, tuple[str, ...]]:
        return self.stewardship.merge_persons(one_ids, actor, reason, timeout)

    def review_tasks(self, where: ReviewFilter, after: ReviewPageKey, limit: int,
                     timeout: float | None = None) -> list[ReviewTaskRow]:
        return self.stewardship.review_tasks(where, after, limit, timeout)

    def review_task(self, task_id: str, timeout: float | None = None
                    ) -> tuple[ReviewTaskRow, list[ProfileOutcome]]:
        return self.stewardship.review_task(task_id, timeout)

    def decide_review_task(self, task_id: str, merge: bool, actor: str, reason: str,
                           timeout: float | None = None
                           ) -> tuple[ReviewTaskRow, str, tuple[str, ...]]:
        return self.stewardship.decide_review_task(task_id, merge, actor, reason, timeout)

    def erase_person(self, one_id: str, actor: str, reason: str,
                     timeout: float | None = None) -> tuple[str, tuple[str, ...]]:
        return self.stewardship.erase_person(one_id, actor, reason, timeout)

    def split_person(self, one_id: str, record_keys: Sequence[str], actor: str, reason: str,
                     timeout: float | None = None, *, re_resolve: bool = False
                     ) -> SplitOutcome:
        return self.stewardship.split_person(one_id, record_keys, actor, reason, timeout,
                                             re_resolve=re_resolve)

    # ------------------------------------------------------------------ recommendations
    def recommend_models(self, one_id: str, k: int, timeout: float | None = None
                         ) -> tuple[str, list[Recommendation]]:
        return self.recommendations.recommend_models(one_id, k, timeout)

    def referral_candidates(self, one_id: str, k: int, with_tags: Sequence[str] = (),
                            without_tags: Sequence[str] = (), timeout: float | None = None
                            ) -> list[Recommendation]:
        return self.recommendations.referral_candidates(one_id, k, with_tags, without_tags,
                                                        timeout)

    def similar_customers(self, one_ids: Sequence[str], k: int, with_tags: Sequence[str] = (),
                          without_tags: Sequence[str] = (), timeout: float | None = None
                          ) -> list[Recommendation]:
        return self.recommendations.similar_customers(one_ids, k, with_tags, without_tags,
                                                      timeout)

    def _model_statistics(self, timeout: float | None) -> ModelStatistics:
        return self.recommendations._model_statistics(timeout)

    @property
    def model_statistics_seconds(self) -> float:
        return self.recommendations.model_statistics_seconds

    @model_statistics_seconds.setter
    def model_statistics_seconds(self, seconds: float) -> None:
        self.recommendations.model_statistics_seconds = seconds

    # ------------------------------------------------------------------ tags
    def assign_tag(self, path: str, source: str, actor: str, one_id: str = "", vin: str = "",
                   timeout: float | None = None) -> str:
        return self.tagging.assign_tag(path, source, actor, one_id, vin, timeout)

    def remove_tag(self, path: str, one_id: str = "", vin: str = "",
                   timeout: float | None = None) -> bool:
        return self.tagging.remove_tag(path, one_id, vin, timeout)

    def close(self) -> None:
        """Drain and stop the group-commit writers."""
        self.ingestion.close()
