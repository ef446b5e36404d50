"""AudienceService: previews, stored audiences, exports and lookalike expansion, with the
API key's actor recorded on what changes or leaves the graph."""

from __future__ import annotations

import base64
import binascii
from collections.abc import Iterator

import grpc

from idgraph.api.auth import current_caller
from idgraph.api.convert import datetime_to_timestamp
from idgraph.api.identity_servicer import remaining
from idgraph.api.recommend_servicer import person_recommendation
from idgraph.domain.audience import Clause
from idgraph.domain.media_ids import Hash
from idgraph.engine.audiences import NAME, Audiences, ExportedPerson, ExportTally, StoredAudience
from idgraph.errors import InvalidInput
from idgraph.v1 import audience_pb2 as pb
from idgraph.v1 import audience_pb2_grpc as pb_grpc

MAX_PAGE = 500
DEFAULT_PAGE = 50
EXPORT_PAGE = 1000  # people per streamed message

_HASHES = {pb.HASH_ALGORITHM_PLAIN: Hash.PLAIN, pb.HASH_ALGORITHM_MD5: Hash.MD5,
           pb.HASH_ALGORITHM_SHA256: Hash.SHA256}
_HASH_TO_PROTO = {v: k for k, v in _HASHES.items()}


class AudienceServicer(pb_grpc.AudienceServiceServicer):
    """Thin edge over `Audiences`."""

    def __init__(self, audiences: Audiences) -> None:
        self.audiences = audiences

    def PreviewAudience(self, request: pb.PreviewAudienceRequest,
                        context: grpc.ServicerContext) -> pb.PreviewAudienceResponse:
        clause = self._subject(request, context)
        found = self.audiences.preview_clause(clause, request.sample_size, remaining(context))
        return pb.PreviewAudienceResponse(
            size=found.size, exportable=found.exportable,
            sample=[pb.AudienceMember(one_id=m.one_id, reasons=list(m.reasons))
                    for m in found.sample],
            as_of=datetime_to_timestamp(found.as_of))

    def CreateAudience(self, request: pb.CreateAudienceRequest,
                       context: grpc.ServicerContext) -> pb.CreateAudienceResponse:
        stored = self.audiences.save(request.name, request.definition, request.owner,
                                     request.description, current_caller().actor,
                                     remaining(context))
        return pb.CreateAudienceResponse(audience=_audience(stored))

    def GetAudience(self, request: pb.GetAudienceRequest,
                    context: grpc.ServicerContext) -> pb.GetAudienceResponse:
        stored = self.audiences.get(request.name, remaining(context))
        size = len(self.audiences.members(stored.definition, remaining(context)))
        return pb.GetAudienceResponse(audience=_audience(stored, size))

    def ListAudiences(self, request: pb.ListAudiencesRequest,
                      context: grpc.ServicerContext) -> pb.ListAudiencesResponse:
        if not 0 <= request.page_size <= MAX_PAGE:
            raise InvalidInput.one("page_size", f"between 0 and {MAX_PAGE}")
        size = request.page_size or DEFAULT_PAGE
        after = _after(request.page_token)
        page = self.audiences.stored(after, size + 1, remaining(context))
        more = len(page) > size
        page = page[:size]
        token = base64.urlsafe_b64encode(page[-1].name.encode()).decode() if more else ""
        return pb.ListAudiencesResponse(audiences=[_audience(a) for a in page],
                                        next_page_token=token)

    def ExportAudience(self, request: pb.ExportAudienceRequest,
                       context: grpc.ServicerContext) -> Iterator[pb.ExportAudienceResponse]:
        hashes = []
        for index, value in enumerate(request.hashes):
            if value not in _HASHES:
                raise InvalidInput.one(f"hashes[{index}]", "plain, md5 or sha256")
            hashes.append(_HASHES[value])
        tally = ExportTally()
        people = self.audiences.export(request.name, list(request.identifiers), hashes,
                                       current_caller().actor, request.format or "grpc",
                                       tally, remaining(context))
        page: list[pb.ExportedPerson] = []
        for person in people:
            page.append(_exported(person))
            if len(page) == EXPORT_PAGE:
                yield pb.ExportAudienceResponse(people=page)
                page = []
        if page:
            yield pb.ExportAudienceResponse(people=page)
        yield pb.ExportAudienceResponse(summary=pb.ExportSummary(
            members=tally.members, exported=tally.exported, excluded=tally.excluded))

    def ExpandAudience(self, request: pb.ExpandAudienceRequest,
                       context: grpc.ServicerContext) -> pb.ExpandAudienceResponse:
        clause = self._subject(request, context)
        found = self.audiences.expand(clause, request.target_size, remaining(context))
        return pb.ExpandAudienceResponse(customers=[person_recommendation(r) for r in found])

    def _subject(self, request: pb.PreviewAudienceRequest | pb.ExpandAudienceRequest,
                 context: grpc.ServicerContext) -> Clause:
        which = request.WhichOneof("subject")
        if which == "name":
            return self.audiences.get(request.name, remaining(context)).definition
        if which is None:
            raise InvalidInput.one("definition", "give a definition or a stored audience's "
                                   "name")
        return self.audiences.parse(request.definition)


def _after(token: str) -> str:
    if not token:
        return ""
    try:
        name = base64.b64decode(token.encode(), altchars=b"-_", validate=True).decode()
    except (binascii.Error, UnicodeDecodeError, ValueError):
        name = ""
    if not NAME.fullmatch(name):
        raise InvalidInput.one("page_token", "not a token this service issued")
    return name


def _exported(person: ExportedPerson) -> pb.ExportedPerson:
    return pb.ExportedPerson(one_id=person.one_id, identifiers=[
        pb.ExportedIdentifier(kind=v.kind, hash=_HASH_TO_PROTO[v.hash], value=v.value)
        for v in person.values])


def _audience(stored: StoredAudience, size: int = 0) -> pb.Audience:
    return pb.Audience(
        name=stored.name, owner=stored.owner, description=stored.description,
        definition=stored.definition.model_dump_json(by_alias=True, exclude_none=True),
        created_by=stored.created_by, created_at=datetime_to_timestamp(stored.created_at),
        updated_at=datetime_to_timestamp(stored.updated_at), size=size,
        history=[pb.AudienceEvent(kind=e.kind, at=datetime_to_timestamp(e.at), actor=e.actor,
                                  size=e.size, exported=e.exported,
                                  identifiers=list(e.identifiers), format=e.format)
                 for e in stored.events])
