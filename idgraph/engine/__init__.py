"""The application layer the gRPC edge and the CLI call: it turns raw input into domain
objects, runs the pure decisions inside store transactions and carries them out through
the store. `IdentityEngine` builds the parts over one shared `Core`:

- `ingestion`: ingest, batches, group commit, Resolve, the change feed;
- `reads`: profiles, vehicles, history, Explain;
- `stewardship`: keep apart, merge, review tasks, split, erase;
- `recommendations`: next models, referral candidates, lookalikes;
- `tagging`: assigned tags;
- `leads`: lead grades (H, A, B, C) with the signals behind them.
"""

from __future__ import annotations

import os

from idgraph.audit import ReadAudit
from idgraph.domain.leads import LeadPoints, load_lead_points
from idgraph.domain.records import Limits, RawIdentifier, RawRecord
from idgraph.domain.rules import Rules
from idgraph.domain.tags import TagHierarchy, load_tags
from idgraph.domain.working_set import IngestOutcome
from idgraph.engine.audiences import Audiences
from idgraph.engine.common import ProfileOutcome
from idgraph.engine.core import Clock, Core, Entropy, system_clock
from idgraph.engine.ingestion import Ingestion
from idgraph.engine.leads import LeadModel, Leads
from idgraph.engine.reads import Reads
from idgraph.engine.recommendations import Recommendations
from idgraph.engine.stewardship import Stewardship
from idgraph.engine.tagging import Tagging
from idgraph.graph_cache import GraphView
from idgraph.store.neo4j_store import GraphStore

__all__ = ["Audiences", "Core", "IdentityEngine", "Ingestion", "Leads", "Reads",
           "Recommendations", "Stewardship", "Tagging"]


class IdentityEngine:
    """Resolution, look-ups, steward decisions, recommendations and tags over a graph
    store: its parts, sharing one core."""

    def __init__(self, store: GraphStore, rules: Rules, secret: bytes,
                 limits: Limits | None = None, clock: Clock = system_clock,
                 entropy: Entropy = os.urandom, pipeline: bool = False,
                 group_commit_max_batch: int = 512, view: GraphView | None = None,
                 tags: TagHierarchy | None = None, model_statistics_seconds: float = 300.0,
                 leads: LeadPoints | None = None, lead_model: LeadModel | None = None,
                 audience_seconds: tuple[float, float] = (2.0, 86_400.0)) -> None:
        self.core = Core(store, rules, secret, Limits() if limits is None else limits, clock,
                         entropy, GraphView() if view is None else view,
                         load_tags() if tags is None else tags)
        self.ingestion = Ingestion(self.core, pipeline, group_commit_max_batch)
        self.reads = Reads(self.core, self.ingestion)
        self.stewardship = Stewardship(self.core, self.ingestion, self.reads)
        self.recommendations = Recommendations(self.core, self.reads, model_statistics_seconds)
        self.tagging = Tagging(self.core)
        self.leads = Leads(self.core, self.reads,
                           load_lead_points() if leads is None else leads, lead_model)
        self.audiences = Audiences(self.core, self.reads, self.recommendations,
                                   max_age_seconds=audience_seconds[0],
                                   rebuild_seconds=audience_seconds[1])
        self.audit = ReadAudit(getattr(store, "record_reads", None))

    def ingest(self, raw: RawRecord, timeout: float | None = None, actor: str = "ingest"
               ) -> IngestOutcome:
        """`Ingestion.ingest`: validate, resolve and store one record (group commit)."""
        return self.ingestion.ingest(raw, timeout, actor)

    def profile(self, one_id: str = "", identifier: RawIdentifier | None = None,
                timeout: float | None = None) -> ProfileOutcome:
        """`Reads.profile`: the profile behind a OneID or an identifier."""
        return self.reads.profile(one_id, identifier, timeout)

    def close(self) -> None:
        """Drain and stop the group-commit writers; write the read events queued."""
        self.ingestion.close()
        self.audit.close()
