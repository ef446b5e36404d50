"""RecommendationService: next models, referral candidates and lookalikes, explained."""

from __future__ import annotations

import grpc

from idgraph.api.identity_servicer import remaining
from idgraph.domain.recommend import Recommendation
from idgraph.engine import Recommendations
from idgraph.v1 import recommend_pb2 as pb
from idgraph.v1 import recommend_pb2_grpc as pb_grpc


class RecommendationServicer(pb_grpc.RecommendationServiceServicer):
    """Thin edge over the recommendations."""

    def __init__(self, recommendations: Recommendations) -> None:
        self.recommendations = recommendations

    def RecommendModels(self, request: pb.RecommendModelsRequest,
                        context: grpc.ServicerContext) -> pb.RecommendModelsResponse:
        one_id, ranked = self.recommendations.recommend_models(request.one_id, request.k,
                                                               remaining(context))
        return pb.RecommendModelsResponse(one_id=one_id, models=[
            pb.ModelRecommendation(model=r.item, score=r.score, explanation=r.explanation,
                                   path=list(r.path)) for r in ranked])

    def ReferralCandidates(self, request: pb.ReferralCandidatesRequest,
                           context: grpc.ServicerContext) -> pb.ReferralCandidatesResponse:
        ranked = self.recommendations.referral_candidates(
            request.one_id, request.k, list(request.with_tags), list(request.without_tags),
            remaining(context))
        return pb.ReferralCandidatesResponse(candidates=[person_recommendation(r) for r in ranked])

    def SimilarCustomers(self, request: pb.SimilarCustomersRequest,
                         context: grpc.ServicerContext) -> pb.SimilarCustomersResponse:
        ranked = self.recommendations.similar_customers(
            list(request.one_ids), request.k, list(request.with_tags),
            list(request.without_tags), remaining(context))
        return pb.SimilarCustomersResponse(customers=[person_recommendation(r) for r in ranked])


def person_recommendation(result: Recommendation) -> pb.PersonRecommendation:
    return pb.PersonRecommendation(one_id=result.item, score=result.score,
                                   explanation=result.explanation, path=list(result.path))
