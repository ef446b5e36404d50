"""Who is calling and what they may do: API keys with roles, checked by one interceptor.

Callers send ``authorization: Bearer <key>`` metadata. Keys and their roles come from a
TOML file (``IDGRAPH_API_KEYS_FILE``)::

    [[keys]]
    actor = "crm-sync"          # recorded in history as the one who acted
    sha256 = "9f86d08..."       # hex SHA-256 of the key (or: key = "plain text")
    roles = ["writer", "reader"]

Every RPC names the role it needs (``METHOD_ROLES``); ``admin`` may do everything. A
method no role grants is refused (fail closed); health and reflection are open. Without a
keys file, authentication is off and every caller acts as ``anonymous`` with every role
(development only; the server logs a warning).
"""

from __future__ import annotations

import hashlib
import hmac
import logging
import tomllib
from collections.abc import Callable, Iterator, Mapping
from contextvars import ContextVar
from dataclasses import dataclass
from enum import StrEnum
from pathlib import Path
from typing import Any

import grpc

from idgraph.api.interceptors import rewrap
from idgraph.errors import ConfigError, PermissionDenied, Unauthenticated

log = logging.getLogger(__name__)


class Role(StrEnum):
    """What a key allows."""

    READER = "reader"  # look-ups, profiles, the change feed, vehicles, recommendations
    WRITER = "writer"  # Ingest, BatchIngest, IngestBatches, AssignTag, RemoveTag
    STEWARD = "steward"  # StewardService
    ADMIN = "admin"  # everything, erasure included


@dataclass(frozen=True)
class Caller:
    """An authenticated caller."""

    actor: str
    roles: frozenset[Role]

    def may(self, role: Role) -> bool:
        """True when the caller holds `role` (admin holds every role)."""
        return role in self.roles or Role.ADMIN in self.roles


ANONYMOUS = Caller("anonymous", frozenset(Role))

_IDENTITY = "/idgraph.v1.IdentityService/"
_STEWARD = "/idgraph.v1.StewardService/"
_VEHICLE = "/idgraph.v1.VehicleService/"
_TAG = "/idgraph.v1.TagService/"
_RECOMMEND = "/idgraph.v1.RecommendationService/"
_LEAD = "/idgraph.v1.LeadService/"
_AUDIENCE = "/idgraph.v1.AudienceService/"
_RULES = "/idgraph.v1.RulesService/"
METHOD_ROLES: Mapping[str, Role] = {
    _IDENTITY + "Ingest": Role.WRITER,
    _IDENTITY + "BatchIngest": Role.WRITER,
    _IDENTITY + "IngestBatches": Role.WRITER,
    _IDENTITY + "Resolve": Role.READER,
    _IDENTITY + "GetProfile": Role.READER,
    _IDENTITY + "Explain": Role.READER,
    _IDENTITY + "WatchChanges": Role.READER,
    _STEWARD + "ListReviewTasks": Role.STEWARD,
    _STEWARD + "GetReviewTask": Role.STEWARD,
    _STEWARD + "DecideReviewTask": Role.STEWARD,
    _STEWARD + "MergePersons": Role.STEWARD,
    _STEWARD + "SplitPerson": Role.STEWARD,
    _STEWARD + "GetHistory": Role.STEWARD,
    _STEWARD + "ErasePerson": Role.ADMIN,
    _STEWARD + "SuppressIdentifier": Role.ADMIN,
    _STEWARD + "LiftSuppression": Role.ADMIN,
    _VEHICLE + "GetVehicle": Role.READER,
    _TAG + "ListTagDefinitions": Role.READER,
    _TAG + "AssignTag": Role.WRITER,
    _TAG + "RemoveTag": Role.WRITER,
    _RECOMMEND + "RecommendModels": Role.READER,
    _RECOMMEND + "ReferralCandidates": Role.READER,
    _RECOMMEND + "SimilarCustomers": Role.READER,
    _LEAD + "GradeLead": Role.READER,
    _LEAD + "GradeLeads": Role.READER,
    _AUDIENCE + "PreviewAudience": Role.READER,
    _AUDIENCE + "GetAudience": Role.READER,
    _AUDIENCE + "ListAudiences": Role.READER,
    _AUDIENCE + "ExpandAudience": Role.READER,
    _AUDIENCE + "CreateAudience": Role.WRITER,
    _AUDIENCE + "ExportAudience": Role.STEWARD,
    _RULES + "PreviewRules": Role.ADMIN,
    _RULES + "ApplyRules": Role.ADMIN,
    _RULES + "GetAppliedRules": Role.ADMIN,
}
OPEN_SERVICES = ("/grpc.health.v1.Health/", "/grpc.reflection.v1alpha.ServerReflection/")

_caller: ContextVar[Caller] = ContextVar("idgraph_caller", default=ANONYMOUS)


def current_caller() -> Caller:
    """The caller of the RPC this thread is serving (``anonymous`` when auth is off)."""
    return _caller.get()


class ApiKeys:
    """The configured keys, held as SHA-256 digests."""

    def __init__(self, callers: Mapping[str, Caller]) -> None:
        self._by_digest = dict(callers)

    @staticmethod
    def load(path: Path) -> ApiKeys:
        """Read a keys file; ConfigError names what is wrong."""
        try:
            document = tomllib.loads(path.read_text(encoding="utf-8"))
        except (OSError, tomllib.TOMLDecodeError) as exc:
            raise ConfigError(f"API keys file {path}: {exc}") from exc
        callers: dict[str, Caller] = {}
        for index, entry in enumerate(document.get("keys", [])):
            where = f"API keys file {path}: keys[{index}]"
            actor, roles = entry.get("actor"), entry.get("roles")
            if not isinstance(actor, str) or not actor.strip():
                raise ConfigError(f"{where}: actor is required")
            if not isinstance(roles, list) or not roles:
                raise ConfigError(f"{where}: roles must list at least one of "
                                  + ", ".join(r.value for r in Role))
            try:
                granted = frozenset(Role(r) for r in roles)
            except ValueError as exc:
                raise ConfigError(f"{where}: {exc}") from exc
            digest = _digest_of(entry, where)
            if digest in callers:
                raise ConfigError(f"{where}: the same key is listed twice")
            callers[digest] = Caller(actor.strip(), granted)
        if not callers:
            raise ConfigError(f"API keys file {path}: no [[keys]] entries")
        return ApiKeys(callers)

    def authenticate(self, metadata: Iterator[tuple[str, str | bytes]] | Any) -> Caller:
        """The caller a request's metadata names; Unauthenticated when none or unknown."""
        header = next((value for key, value in metadata or () if key == "authorization"), None)
        if not isinstance(header, str) or not header.strip():
            raise Unauthenticated("missing API key: send 'authorization: Bearer <key>'")
        key = header.strip()
        if key[:7].lower() == "bearer ":
            key = key[7:].strip()
        digest = hashlib.sha256(key.encode()).hexdigest()
        for known, caller in self._by_digest.items():
            if hmac.compare_digest(known, digest):
                return caller
        raise Unauthenticated("unknown API key")


def _digest_of(entry: Mapping[str, Any], where: str) -> str:
    plain, digest = entry.get("key"), entry.get("sha256")
    if isinstance(digest, str) and len(digest) == 64:
        try:
            bytes.fromhex(digest)
        except ValueError:
            pass
        else:
            return digest.lower()
    if isinstance(plain, str) and len(plain) >= 16:
        return hashlib.sha256(plain.encode()).hexdigest()
    raise ConfigError(f"{where}: give sha256 (64 hex digits) or key (at least 16 characters)")


class AuthInterceptor(grpc.ServerInterceptor):  # type: ignore[type-arg]
    """Authenticate every call and check its method's role; the caller is then available
    to the servicer through ``current_caller()``. Errors are raised as domain errors, so
    the error interceptor (placed before this one) maps them to UNAUTHENTICATED and
    PERMISSION_DENIED."""

    def __init__(self, keys: ApiKeys | None) -> None:
        self.keys = keys

    def intercept_service(self, continuation: Callable[[Any], Any],
                          handler_call_details: grpc.HandlerCallDetails) -> Any:
        handler = continuation(handler_call_details)
        method = handler_call_details.method
        if handler is None or method.startswith(OPEN_SERVICES):
            return handler
        metadata = handler_call_details.invocation_metadata
        check = lambda: self._check(method, metadata)  # noqa: E731 - evaluated per call
        return rewrap(handler, lambda fn: _unary(fn, check), lambda fn: _stream(fn, check))

    def _check(self, method: str, metadata: Any) -> Caller:
        role = METHOD_ROLES.get(method)
        caller = ANONYMOUS if self.keys is None else self.keys.authenticate(metadata)
        if role is None:
            raise PermissionDenied(f"no role grants {method}")
        if not caller.may(role):
            raise PermissionDenied(f"{caller.actor} lacks the {role.value} role that "
                                   f"{method.rsplit('/', 1)[-1]} needs")
        return caller


def _unary(fn: Callable[[Any, grpc.ServicerContext], Any], check: Callable[[], Caller]
           ) -> Callable[[Any, grpc.ServicerContext], Any]:
    def handler(request: Any, context: grpc.ServicerContext) -> Any:
        token = _caller.set(check())
        try:
            return fn(request, context)
        finally:
            _caller.reset(token)

    return handler


def _stream(fn: Callable[[Any, grpc.ServicerContext], Iterator[Any]],
            check: Callable[[], Caller]
            ) -> Callable[[Any, grpc.ServicerContext], Iterator[Any]]:
    def handler(request: Any, context: grpc.ServicerContext) -> Iterator[Any]:
        token = _caller.set(check())
        try:
            yield from fn(request, context)
        finally:
            _caller.reset(token)

    return handler
