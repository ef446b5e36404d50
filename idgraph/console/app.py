"""The steward console: a web application over the same engine the gRPC services call.

Server-rendered pages (Jinja2, every value escaped), a few lines of JavaScript for keyboard
shortcuts. Stewards sign in with an API key of the `steward` or `admin` role; the session
is a random token in an HttpOnly, SameSite=Strict cookie, held in this process; every form
carries the session's CSRF token, and a POST without it is refused. Every decision is
recorded with the key's actor, as the gRPC calls record theirs, and every page that shows
a person's data is a read in the audit (`GetHistory(include_reads)`).
"""

from __future__ import annotations

import hmac
import secrets
import threading
import time
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import quote, urlencode

from jinja2 import Environment, FileSystemLoader, select_autoescape
from starlette.applications import Starlette
from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import HTMLResponse, RedirectResponse, Response
from starlette.routing import Mount, Route
from starlette.staticfiles import StaticFiles

from idgraph.api.auth import ANONYMOUS, ApiKeys, Caller, Role
from idgraph.console.pictures import person_graph_svg, waterfall_svg
from idgraph.domain.oneid import looks_like_one_id
from idgraph.domain.profile import Profile
from idgraph.domain.records import KEY_SEPARATOR, RawIdentifier
from idgraph.domain.scoring import probability
from idgraph.engine import IdentityEngine
from idgraph.engine.review import page_after, page_token, reason_violations, task_candidates
from idgraph.errors import (
    Conflict,
    DeadlineExceeded,
    IdGraphError,
    InvalidInput,
    NotFound,
    PermissionDenied,
    Unauthenticated,
)
from idgraph.store.neo4j_store import FIRST_PAGE, ReviewFilter

HERE = Path(__file__).resolve().parent
COOKIE = "idgraph_console"
SIGN_IN_COOKIE = "idgraph_sign_in"
SESSION_SECONDS = 8 * 3600
PAGE = 50
IDENTIFIER_TYPES = ("phone", "email", "wechat_openid", "wechat_unionid", "app_user_id",
                    "crm_id", "dms_customer_id", "id_card", "device_id", "vin", "landline")


@dataclass
class Session:
    """A signed-in steward."""

    actor: str
    roles: frozenset[Role]
    csrf: str
    expires: float

    def may(self, role: Role) -> bool:
        return role in self.roles or Role.ADMIN in self.roles


class Sessions:
    """Sessions by token, in this process (a restart signs everyone out)."""

    def __init__(self) -> None:
        self._by_token: dict[str, Session] = {}
        self._lock = threading.Lock()

    def open(self, caller: Caller) -> tuple[str, Session]:
        token = secrets.token_urlsafe(32)
        session = Session(caller.actor, caller.roles, secrets.token_urlsafe(32),
                          time.time() + SESSION_SECONDS)
        with self._lock:
            now = time.time()
            self._by_token = {t: s for t, s in self._by_token.items() if s.expires > now}
            self._by_token[token] = session
        return token, session

    def get(self, token: str | None) -> Session | None:
        if not token:
            return None
        with self._lock:
            session = self._by_token.get(token)
        return session if session is not None and session.expires > time.time() else None

    def close(self, token: str | None) -> None:
        with self._lock:
            self._by_token.pop(token or "", None)


Handler = Callable[[Request, Session], Awaitable[Response]]


class Console:
    """The console's pages over an engine; `keys` None: authentication is off, as for gRPC
    (development only): any key signs in as `anonymous` with every role."""

    def __init__(self, engine: IdentityEngine, keys: ApiKeys | None, secure: bool = False
                 ) -> None:
        self.engine, self.keys, self.secure = engine, keys, secure
        self.sessions = Sessions()
        self.templates = Environment(loader=FileSystemLoader(HERE / "templates"),
                                     autoescape=select_autoescape(default=True))
        self.templates.globals.update(quote=quote, urlencode=urlencode)

    # ------------------------------------------------------------------ plumbing
    def app(self) -> Starlette:
        routes = [
            Route("/", self.home),
            Route("/sign-in", self.sign_in_page, methods=["GET"]),
            Route("/sign-in", self.sign_in, methods=["POST"]),
            Route("/sign-out", self.guard(self.sign_out, Role.STEWARD), methods=["POST"]),
            Route("/queue", self.guard(self.queue, Role.STEWARD)),
            Route("/tasks/{task_id}", self.guard(self.task, Role.STEWARD)),
            Route("/tasks/{task_id}/decide", self.guard(self.decide, Role.STEWARD),
                  methods=["POST"]),
            Route("/people", self.guard(self.search, Role.STEWARD)),
            Route("/people/{one_id}", self.guard(self.person, Role.STEWARD)),
            Route("/people/{one_id}/split-preview", self.guard(self.split_preview,
                                                               Role.STEWARD), methods=["POST"]),
            Route("/people/{one_id}/split", self.guard(self.split, Role.STEWARD),
                  methods=["POST"]),
            Route("/people/{one_id}/erase", self.guard(self.erase, Role.ADMIN),
                  methods=["POST"]),
            Mount("/static", StaticFiles(directory=HERE / "static"), name="static"),
        ]
        return Starlette(routes=routes, exception_handlers={
            IdGraphError: self.failed, 404: self.not_found})

    def render(self, name: str, status: int = 200, session: Session | None = None,
               **context: Any) -> HTMLResponse:
        html = self.templates.get_template(name).render(session=session, **context)
        response = HTMLResponse(html, status_code=status)
        response.headers["Content-Security-Policy"] = (
            "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; "
            "frame-ancestors 'none'; form-action 'self'")
        response.headers["X-Content-Type-Options"] = "nosniff"
        response.headers["Referrer-Policy"] = "same-origin"
        response.headers["Cache-Control"] = "no-store"
        return response

    def guard(self, handler: Handler, role: Role) -> Callable[[Request], Awaitable[Response]]:
        """Only a signed-in session with `role`; a POST only with the session's CSRF token."""
        async def endpoint(request: Request) -> Response:
            session = self.sessions.get(request.cookies.get(COOKIE))
            if session is None:
                if request.method != "GET":
                    return self.render("error.html", 403, message="Sign in first.")
                target = request.url.path + (f"?{request.url.query}" if request.url.query
                                             else "")
                return RedirectResponse(f"/sign-in?{urlencode({'next': target})}", 303)
            if not session.may(role):
                return self.render("error.html", 403, session,
                                   message=f"This needs the {role.value} role.")
            if request.method == "POST":
                form = await request.form()
                if not _same(str(form.get("csrf", "")), session.csrf):
                    return self.render("error.html", 403, session,
                                       message="The form's security token is missing or "
                                       "wrong; reload the page and try again.")
            return await handler(request, session)

        return endpoint

    async def failed(self, request: Request, error: Exception) -> Response:
        session = self.sessions.get(request.cookies.get(COOKIE))
        fields = [f"{v.field}: {v.description}" for v in getattr(error, "violations", ())]
        if isinstance(error, InvalidInput):
            return self.render("error.html", 400, session, message="Please check:",
                               fields=fields)
        for kind, status in ((NotFound, 404), (Conflict, 409), (PermissionDenied, 403)):
            if isinstance(error, kind):
                return self.render("error.html", status, session, message=str(error))
        if isinstance(error, DeadlineExceeded):
            return self.render("error.html", 504, session, message="That took too long; "
                               "try again.")
        # Unavailable and the rest: the driver's text would name hosts and ports
        return self.render("error.html", 503, session, message="The graph database is not "
                           "answering; try again in a moment.")

    async def not_found(self, request: Request, error: Exception) -> Response:
        session = self.sessions.get(request.cookies.get(COOKIE))
        return self.render("error.html", 404, session, message="No such page.")

    def _cookie(self, response: Response, name: str, value: str, max_age: int) -> None:
        response.set_cookie(name, value, max_age=max_age, httponly=True, samesite="strict",
                            secure=self.secure, path="/")

    def _read(self, session: Session, what: str, one_ids: Sequence[str]) -> None:
        self.engine.audit.record(f"console:{what}", session.actor, one_ids)

    # ------------------------------------------------------------------ sign-in
    async def home(self, request: Request) -> Response:
        return RedirectResponse("/queue", 303)

    async def sign_in_page(self, request: Request, message: str = "", status: int = 200
                           ) -> Response:
        token = secrets.token_urlsafe(24)  # the sign-in form's own CSRF (double submit)
        response = self.render("sign_in.html", status, None, csrf=token, message=message,
                               next=_local(request.query_params.get("next", "/queue")),
                               auth_off=self.keys is None)
        self._cookie(response, SIGN_IN_COOKIE, token, 900)
        return response

    async def sign_in(self, request: Request) -> Response:
        form = await request.form()
        if not _same(str(form.get("csrf", "")), request.cookies.get(SIGN_IN_COOKIE, "")):
            return self.render("error.html", 403, message="The sign-in form expired; reload "
                               "it and try again.")
        key = str(form.get("key", "")).strip()
        try:
            caller = ANONYMOUS if self.keys is None else self.keys.authenticate(
                [("authorization", f"Bearer {key}")])
        except Unauthenticated:
            return await self.sign_in_page(request, "Unknown key.", 401)
        if not (caller.may(Role.STEWARD)):
            return await self.sign_in_page(request, "This key has no steward or admin role.",
                                           403)
        token, _ = self.sessions.open(caller)
        response = RedirectResponse(_local(str(form.get("next", "/queue"))), 303)
        self._cookie(response, COOKIE, token, SESSION_SECONDS)
        response.delete_cookie(SIGN_IN_COOKIE, path="/")
        return response

    async def sign_out(self, request: Request, session: Session) -> Response:
        self.sessions.close(request.cookies.get(COOKIE))
        response = RedirectResponse("/sign-in", 303)
        response.delete_cookie(COOKIE, path="/")
        return response

    # ------------------------------------------------------------------ queue
    async def queue(self, request: Request, session: Session) -> Response:
        q = request.query_params
        where = ReviewFilter(status=q.get("status", "OPEN") if q.get("status") != "ANY" else "",
                             min_score=_number(q.get("min_score")),
                             max_score=_number(q.get("max_score")),
                             reason_contains=q.get("reason", "").strip(),
                             source=q.get("source", "").strip(),
                             largest_first=q.get("order") == "largest")
        after = _page_key(q.get("after", ""))  # a page token, as over gRPC
        tasks = await run_in_threadpool(self.engine.stewardship.review_tasks, where, after,
                                        PAGE + 1)
        store = self.engine.core.store
        reasons = await run_in_threadpool(getattr(store, "review_reasons", lambda: []))
        more = len(tasks) > PAGE
        tasks = tasks[:PAGE]
        filters = {k: v for k, v in q.items() if k != "after"}
        next_page = urlencode({**filters, "after": page_token(tasks[-1])}) if more else ""
        return self.render("queue.html", session=session, tasks=tasks, reasons=reasons,
                           filters=filters, next_page=next_page,
                           probability=probability)

    # ------------------------------------------------------------------ a task
    async def task(self, request: Request, session: Session) -> Response:
        task_id = request.path_params["task_id"]
        task, sides = await run_in_threadpool(self.engine.stewardship.review_task, task_id)
        profiles = [s.profile for s in sides]
        self._read(session, "task", [p.one_id for p in profiles])
        rules = self.engine.core.rules
        candidates = task_candidates(task.evidence)
        pictures = [(c, waterfall_svg(rules.prior_bits, c["comparisons"], c["score"],
                                      rules.thresholds.link, rules.thresholds.review))
                    for c in candidates]
        return self.render("task.html", session=session, task=task, profiles=profiles,
                           rows=_side_by_side(profiles), pictures=pictures,
                           next_task=await self._next_task(task.task_id),
                           probability=probability)

    async def _next_task(self, after_id: str) -> str:
        tasks = await run_in_threadpool(self.engine.stewardship.review_tasks,
                                        ReviewFilter(status="OPEN"), FIRST_PAGE, 2)
        return next((t.task_id for t in tasks if t.task_id != after_id), "")

    async def decide(self, request: Request, session: Session) -> Response:
        task_id = request.path_params["task_id"]
        form = await request.form()
        decision, reason = str(form.get("decision", "")), _reason(form.get("reason"))
        if decision not in ("MERGE", "KEEP_APART"):
            raise InvalidInput.one("decision", "choose MERGE or KEEP_APART")
        await run_in_threadpool(self.engine.stewardship.decide_review_task, task_id,
                                decision == "MERGE", session.actor, reason)
        following = await self._next_task(task_id)
        return RedirectResponse(f"/tasks/{quote(following)}" if following else "/queue", 303)

    # ------------------------------------------------------------------ a person
    async def search(self, request: Request, session: Session) -> Response:
        q = request.query_params
        text, kind, scope = q.get("q", "").strip(), q.get("type", ""), q.get("scope", "")
        if not text:
            return self.render("search.html", session=session, types=IDENTIFIER_TYPES,
                               kind=kind, text=text, scope=scope)
        if looks_like_one_id(text):
            return RedirectResponse(f"/people/{quote(text)}", 303)
        identifier = RawIdentifier(kind or "phone", text, scope.strip())
        try:
            outcome = await run_in_threadpool(self.engine.reads.profile, "", identifier)
        except Conflict:  # a value several people hold: list them
            key = self.engine.reads.identifier_key(identifier)
            holders = await run_in_threadpool(
                getattr(self.engine.core.store, "value_holders", lambda key: []), key.key)
            return self.render("search.html", session=session, types=IDENTIFIER_TYPES,
                               kind=kind, text=text, scope=scope, holders=holders)
        return RedirectResponse(f"/people/{quote(outcome.profile.one_id)}", 303)

    async def person(self, request: Request, session: Session) -> Response:
        one_id = request.path_params["one_id"]
        outcome = await run_in_threadpool(self.engine.reads.profile, one_id)
        profile = outcome.profile
        if outcome.redirected:
            return RedirectResponse(f"/people/{quote(profile.one_id)}", 303)
        _, lineage = await run_in_threadpool(self.engine.reads.history, profile.one_id)
        self._read(session, "person", [profile.one_id])
        return self.render("person.html", session=session, profile=profile, lineage=lineage,
                           graph=person_graph_svg(profile),
                           can_erase=session.may(Role.ADMIN))

    async def split_preview(self, request: Request, session: Session) -> Response:
        one_id = request.path_params["one_id"]
        form = await request.form()
        keys = [str(k) for k in form.getlist("record")]
        reason = str(form.get("reason", "")).strip()
        outcome = await run_in_threadpool(self.engine.reads.profile, one_id)
        profile = outcome.profile
        chosen = [r for r in profile.records if _key(r.source, r.source_record_id) in keys]
        if not chosen or len(chosen) == len(profile.records):
            raise InvalidInput.one("records", "choose some of the person's records, not all")
        self._read(session, "split", [profile.one_id])
        placements = []
        for record in chosen:
            placements.append((record, await run_in_threadpool(self._placement, record,
                                                               profile.one_id)))
        return self.render("split.html", session=session, profile=profile,
                           placements=placements, keys=keys, reason=reason)

    def _placement(self, record: Any, one_id: str) -> tuple[str, float]:
        """Where a record would go if it were resolved again now, not back to `one_id`: the
        best other person it links to and its match probability, or ("", 0)."""
        identifiers = [RawIdentifier(k.type, k.value, k.scope) for k in record.identifiers
                       if not k.hashed and not k.is_blocking]
        try:
            outcome = self.engine.ingestion.resolve(identifiers, dict(record.attributes))
        except InvalidInput:
            return "", 0.0
        link = self.engine.core.rules.thresholds.link
        best = [(probability(c.score.total), c.one_id) for c in outcome.candidates
                if c.one_id != one_id and probability(c.score.total) >= link]
        return (max(best)[1], max(best)[0]) if best else ("", 0.0)

    async def split(self, request: Request, session: Session) -> Response:
        one_id = request.path_params["one_id"]
        form = await request.form()
        keys = [str(k) for k in form.getlist("record")]
        reason = _reason(form.get("reason"))
        await run_in_threadpool(
            lambda: self.engine.stewardship.split_person(
                one_id, keys, session.actor, reason, re_resolve=form.get("re_resolve") == "1"))
        return RedirectResponse(f"/people/{quote(one_id)}", 303)

    async def erase(self, request: Request, session: Session) -> Response:
        one_id = request.path_params["one_id"]
        form = await request.form()
        reason = _reason(form.get("reason"))
        await run_in_threadpool(self.engine.stewardship.erase_person, one_id, session.actor,
                                reason)
        return self.render("error.html", 200, session, message=f"{one_id} was erased.")


# ---------------------------------------------------------------------- helpers
def _local(target: str) -> str:
    """A same-site path to go to after signing in (never another site)."""
    safe = target.startswith("/") and not target.startswith("//") and "\\" not in target
    return target if safe else "/queue"


def _same(sent: str, expected: str | None) -> bool:
    """A form's token equals the expected one (constant time; any text)."""
    return bool(sent) and bool(expected) and hmac.compare_digest(
        sent.encode(), (expected or "").encode())


def _reason(value: Any) -> str:
    """A decision's reason, checked as over gRPC."""
    reason = str(value or "").strip()
    violations = reason_violations(reason)
    if violations:
        raise InvalidInput(violations)
    return reason


def _number(text: str | None) -> float | None:
    try:
        return float(text) if text not in (None, "") else None
    except ValueError:
        raise InvalidInput.one("score", f"not a number: {text!r}") from None


def _page_key(text: str) -> tuple[int, int, int, str]:
    if not text:
        return FIRST_PAGE
    try:
        return page_after(text)
    except ValueError:
        raise InvalidInput.one("after", "not a page of this listing") from None


def _key(source: str, record_id: str) -> str:
    return f"{source}{KEY_SEPARATOR}{record_id}"


def _side_by_side(profiles: Sequence[Profile]) -> list[dict[str, Any]]:
    """Rows of attributes and identifiers across the people, with whether they differ."""
    rows: list[dict[str, Any]] = []
    for name in sorted({a.name for p in profiles for a in p.attributes}):
        found = [next((a for a in p.attributes if a.name == name), None) for p in profiles]
        values = {a.value for a in found if a is not None}
        rows.append({"kind": "attribute", "name": name, "cells": found,
                     "differs": len(values) > 1})
    for type_ in sorted({i.key.type for p in profiles for i in p.identifiers}):
        held = [[i for i in p.identifiers if i.key.type == type_] for p in profiles]
        sets = [frozenset(i.key.value for i in cell) for cell in held]
        shared: frozenset[str] = frozenset.intersection(*sets) if sets else frozenset()
        rows.append({"kind": "identifier", "name": type_, "cells": held, "shared": shared,
                     "differs": any(v != sets[0] for v in sets)})
    return rows
