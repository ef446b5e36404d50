"""TagService: the tag hierarchy, and tags assigned to people and vehicles."""

from __future__ import annotations

import grpc

from idgraph.api.auth import current_caller
from idgraph.api.identity_servicer import remaining
from idgraph.engine import Tagging
from idgraph.v1 import tag_pb2 as pb
from idgraph.v1 import tag_pb2_grpc as pb_grpc


class TagServicer(pb_grpc.TagServiceServicer):
    """Thin edge over the tag operations."""

    def __init__(self, tagging: Tagging) -> None:
        self.tagging = tagging

    def ListTagDefinitions(self, request: pb.ListTagDefinitionsRequest,
                           context: grpc.ServicerContext) -> pb.ListTagDefinitionsResponse:
        hierarchy = self.tagging.hierarchy
        definitions = [pb.TagDefinition(tag=path, kind="person", description=tag.description,
                                        from_data=tag.when is not None)
                       for path, tag in sorted(hierarchy.person.items())]
        definitions += [pb.TagDefinition(tag=path, kind="vehicle", description=tag.description,
                                         from_data=tag.when is not None)
                        for path, tag in sorted(hierarchy.vehicle.items())]
        return pb.ListTagDefinitionsResponse(definitions=definitions)

    def AssignTag(self, request: pb.AssignTagRequest,
                  context: grpc.ServicerContext) -> pb.AssignTagResponse:
        target = self.tagging.assign_tag(request.tag, request.source, current_caller().actor,
                                         one_id=request.one_id, vin=request.vin,
                                         timeout=remaining(context))
        return (pb.AssignTagResponse(one_id=target) if request.HasField("one_id") and
                request.one_id else pb.AssignTagResponse(vin=target))

    def RemoveTag(self, request: pb.RemoveTagRequest,
                  context: grpc.ServicerContext) -> pb.RemoveTagResponse:
        removed = self.tagging.remove_tag(request.tag, one_id=request.one_id, vin=request.vin,
                                          timeout=remaining(context))
        return pb.RemoveTagResponse(removed=removed)
