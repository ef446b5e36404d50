"""The console's safety, over HTTP against a real server: who may sign in, the session
cookie's flags, CSRF on every form, escaping, roles per action; and that a steward's
decision goes through the engine with the key's actor."""

from __future__ import annotations

import httpx
import pytest

from idgraph.domain.records import RawIdentifier, RawRecord
from tests.console.conftest import KEYS, Site, csrf_of, rec, seed, signed_in
from tests.integration.helpers import check_invariants, node_counts

pytestmark = pytest.mark.e2e


def test_only_steward_and_admin_keys_sign_in_with_a_strict_http_only_cookie(site: Site
                                                                             ) -> None:
    with httpx.Client(base_url=site.url, timeout=30) as browser:
        assert browser.get("/queue").status_code == 303  # to the sign-in page
        page = browser.get("/sign-in")
        for key, status in (("reader", 403), ("nope", 401)):
            answer = browser.post("/sign-in", data={
                "csrf": csrf_of(page.text), "key": KEYS.get(key, "not-a-key-0123456789")})
            assert answer.status_code == status
            page = answer
        # the sign-in form's own token is required too
        assert browser.post("/sign-in", data={"key": KEYS["steward"]}).status_code == 403
    with signed_in(site, "steward") as client:
        cookie = client.cookies.jar
        (session,) = [c for c in cookie if c.name == "idgraph_console"]
        assert session.has_nonstandard_attr("HttpOnly")
        assert session.get_nonstandard_attr("SameSite") == "strict"
        queue = client.get("/queue")
        assert queue.status_code == 200 and "Review queue" in queue.text
        assert "default-src 'self'" in queue.headers["content-security-policy"]


def test_forms_need_the_sessions_csrf_token_and_nothing_is_written_without_it(
        site: Site) -> None:
    ids = seed(site.engine)
    with signed_in(site, "steward") as client:
        before = node_counts(site.store)
        for data in ({}, {"csrf": "forged"}):
            answer = client.post(f"/tasks/{ids['task']}/decide",
                                 data={**data, "decision": "MERGE", "reason": "same"})
            assert answer.status_code == 403
        assert node_counts(site.store) == before
        page = client.get(f"/tasks/{ids['task']}")
        answer = client.post(f"/tasks/{ids['task']}/decide", data={
            "csrf": csrf_of(page.text), "decision": "KEEP_APART", "reason": "two people"})
        assert answer.status_code == 303
    (task,) = site.store.run_cypher("MATCH (t:ReviewTask) RETURN t.status AS status, "
                                    "t.decision AS decision, t.decided_by AS actor")
    assert task == {"status": "DECIDED", "decision": "KEEP_APART", "actor": "steward-1"}
    check_invariants(site.store)


def test_every_page_escapes_what_it_shows(site: Site) -> None:
    evil = '<script>alert("x")</script>'
    person = site.engine.ingest(rec("crm", evil, ("phone", "13912345678"), name=evil,
                                    city='"><img src=x onerror=alert(1)>')).one_id
    with signed_in(site, "steward") as client:
        page = client.get(f"/people/{person}")
        assert page.status_code == 200
        assert "<script>alert" not in page.text and "<img src=x" not in page.text
        assert "&lt;script&gt;alert" in page.text
        missing = client.get("/people/" + "oid_" + "Z" * 26)
        assert missing.status_code == 404
        found = client.get("/people", params={"type": "phone", "q": "+86 139-1234-5678"})
        assert found.status_code == 303 and found.headers["location"] == f"/people/{person}"


def test_a_steward_cannot_erase_and_an_admin_can(site: Site) -> None:
    ids = seed(site.engine)
    with signed_in(site, "steward") as client:
        page = client.get(f"/people/{ids['li']}")
        assert 'action="/people/' + ids["li"] + '/erase"' not in page.text
        answer = client.post(f"/people/{ids['li']}/erase",
                             data={"csrf": csrf_of(page.text), "reason": "asked"})
        assert answer.status_code == 403
    assert site.store.run_cypher("MATCH (p:Person {one_id: $id}) RETURN p.status AS s",
                                 id=ids["li"]) == [{"s": "active"}]
    with signed_in(site, "admin") as client:
        page = client.get(f"/people/{ids['li']}")
        answer = client.post(f"/people/{ids['li']}/erase",
                             data={"csrf": csrf_of(page.text), "reason": "PIPL request"})
        assert answer.status_code == 200
    assert site.store.run_cypher("MATCH (p:Person {one_id: $id}) RETURN p.status AS s",
                                 id=ids["li"]) == [{"s": "erased"}]


def test_hostile_tokens_page_keys_and_searches_get_clean_answers(site: Site) -> None:
    person = site.engine.ingest(rec("wechat", "w1", ("phone", "13912345678"))).one_id
    site.engine.ingest(RawRecord("wechat", "w2", None,
                                 (RawIdentifier("wechat_openid", "o-zw", "wx-1"),
                                  RawIdentifier("phone", "13912345678")), {}))
    with signed_in(site, "steward") as client:
        page = client.get("/queue")
        for token in ("é", "\x00", ""):
            assert client.post("/sign-out", data={"csrf": token}).status_code == 403
        for after in ('[1e400,0,0,"x"]', "[99999999999999999999999,0,0,\"x\"]", "nope"):
            assert client.get("/queue", params={"after": after}).status_code == 400
        found = client.get("/people", params={"type": "wechat_openid", "q": "o-zw",
                                              "scope": "wx-1"})
        assert found.status_code == 303 and found.headers["location"] == f"/people/{person}"
        unscoped = client.get("/people", params={"type": "wechat_openid", "q": "o-zw"})
        assert unscoped.status_code == 400 and "scope" in unscoped.text
        assert client.post("/sign-in", data={"csrf": "é", "key": "x"}).status_code == 403
        assert client.post("/sign-out", data={"csrf": csrf_of(page.text)}).status_code == 303


def test_a_search_for_a_value_several_people_hold_lists_them(site: Site) -> None:
    people = {site.engine.ingest(rec("leads", str(n), ("phone", "13800001111"),
                                     name=name)).one_id
              for n, name in enumerate(("王芳", "刘洋", "陈静"))}
    assert len(people) == 3  # a consultant's phone: three people
    with signed_in(site, "steward") as client:
        page = client.get("/people", params={"type": "phone", "q": "138 0000 1111"})
        assert page.status_code == 200 and "3 people hold this value" in page.text
        assert all(f'href="/people/{one_id}"' in page.text for one_id in people)
