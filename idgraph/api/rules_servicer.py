"""RulesService: preview other match rules over the live graph, and apply them."""

from __future__ import annotations

import grpc

from idgraph.api.auth import current_caller
from idgraph.api.identity_servicer import remaining
from idgraph.domain.rule_preview import RulePreview
from idgraph.engine.rule_changes import RuleChanges, parse_rules, rules_digest
from idgraph.v1 import rules_pb2 as pb
from idgraph.v1 import rules_pb2_grpc as pb_grpc

DEFAULT_EXAMPLES = 5
DEFAULT_LISTED = 100


def changes_to_proto(found: RulePreview, listed: int) -> pb.RuleChanges:
    """A preview as the API answers it, each list cut at `listed` entries."""
    diff = found.diff
    return pb.RuleChanges(
        records=found.records, people_before=found.people_before,
        people_after=found.people_after, merges_made_count=len(diff.merges_made),
        merges_undone_count=len(diff.merges_undone),
        people_affected_count=len(diff.people_affected), new_people=found.new_people,
        records_moved=found.records_moved, pairs_joined=diff.pairs_joined,
        pairs_separated=diff.pairs_separated, review_tasks_count=len(found.review_tasks),
        merges_made=[pb.MergeMade(one_ids=m.one_ids, record_keys=m.record_keys)
                     for m in diff.merges_made[:listed]],
        merges_undone=[pb.MergeUndone(one_id=u.one_id, parts=[
            pb.RecordKeys(record_keys=p) for p in u.parts]) for u in diff.merges_undone[:listed]],
        review_tasks=[pb.PredictedReviewTask(
            record_key=t.record_key, one_id=t.one_id, candidate_one_ids=t.candidates,
            score=t.score, reason=t.reason) for t in found.review_tasks[:listed]],
        examples=[pb.RuleChangeExample(kind=e.kind, one_ids=e.one_ids,
                                       record_keys=e.record_keys, decision=e.decision,
                                       record_key=e.record_key, probability=e.probability)
                  for e in found.examples],
        truncated=max(len(diff.merges_made), len(diff.merges_undone),
                      len(found.review_tasks), len(diff.people_affected)) > listed,
        people_affected=diff.people_affected[:listed])


class RulesServicer(pb_grpc.RulesServiceServicer):
    """Thin edge over rule previews and applies (admin)."""

    def __init__(self, rule_changes: RuleChanges) -> None:
        self.rule_changes = rule_changes

    def PreviewRules(self, request: pb.PreviewRulesRequest,
                     context: grpc.ServicerContext) -> pb.PreviewRulesResponse:
        rules = parse_rules(request.rules_toml)
        found = self.rule_changes.preview(rules, remaining(context),
                                          request.max_examples or DEFAULT_EXAMPLES)
        return pb.PreviewRulesResponse(
            changes=changes_to_proto(found, request.max_listed or DEFAULT_LISTED),
            rules_digest=rules_digest(rules),
            current_rules_digest=rules_digest(self.rule_changes.core.rules))

    def ApplyRules(self, request: pb.ApplyRulesRequest,
                   context: grpc.ServicerContext) -> pb.ApplyRulesResponse:
        rules = parse_rules(request.rules_toml)
        applied = self.rule_changes.apply(rules, request.rules_toml, current_caller().actor,
                                          remaining(context),
                                          request.max_examples or DEFAULT_EXAMPLES)
        return pb.ApplyRulesResponse(
            changes=changes_to_proto(applied.preview, request.max_listed or DEFAULT_LISTED),
            rules_digest=applied.digest, created_one_ids=applied.created)

    def GetAppliedRules(self, request: pb.GetAppliedRulesRequest,
                        context: grpc.ServicerContext) -> pb.GetAppliedRulesResponse:
        found = self.rule_changes.applied_rules(remaining(context)) or {}
        return pb.GetAppliedRulesResponse(
            rules_digest=found.get("digest") or "", rules_toml=found.get("toml") or "",
            actor=found.get("actor") or "", applied_at_ms=found.get("at_ms") or 0,
            current_rules_digest=rules_digest(self.rule_changes.core.rules))
