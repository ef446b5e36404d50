"""A real steward console (uvicorn) over a real engine and Neo4j, with API keys of every
role; data with an open review task."""

from __future__ import annotations

import os
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import httpx
import pytest

from idgraph.api.auth import ApiKeys
from idgraph.console import Console, serve_console
from idgraph.domain.records import RawIdentifier, RawRecord
from idgraph.engine import IdentityEngine
from idgraph.localdb import free_port
from idgraph.store.neo4j_store import Neo4jStore

KEYS = {"steward": "steward-key-0123456789", "admin": "admin-key-0123456789",
        "reader": "reader-key-0123456789"}
CHROMIUM = os.environ.get("IDGRAPH_CHROMIUM", "/usr/bin/chromium")


@dataclass
class Site:
    url: str
    engine: IdentityEngine
    store: Neo4jStore


@pytest.fixture
def site(engine: IdentityEngine, clean_store: Neo4jStore, tmp_path: Path) -> Iterator[Site]:
    keys = tmp_path / "keys.toml"
    keys.write_text("".join(f'[[keys]]\nactor = "{role}-1"\nkey = "{key}"\nroles = ["{role}"]\n\n'
                            for role, key in KEYS.items()), encoding="utf-8")
    console = Console(engine, ApiKeys.load(keys))
    address = f"127.0.0.1:{free_port()}"
    server, thread = serve_console(console.app(), address)
    deadline = time.monotonic() + 30
    while not server.started and time.monotonic() < deadline:
        time.sleep(0.05)
    assert server.started, "the console did not start"
    try:
        yield Site(f"http://{address}", engine, clean_store)
    finally:
        server.should_exit = True
        thread.join(10)


def rec(source: str, rid: str, *identifiers: tuple[str, str], **attributes: str) -> RawRecord:
    return RawRecord(source, rid, None, tuple(RawIdentifier(t, v) for t, v in identifiers),
                     attributes)


def seed(engine: IdentityEngine) -> dict[str, str]:
    """Two people alike by name and birth date (an open review task), and a person of three
    records, one of them a stranger's test drive booked on her phone."""
    first = engine.ingest(rec("crm", "1", ("phone", "13912345678"), name="张伟",
                              birth_date="1990-01-01", city="上海"))
    second = engine.ingest(rec("app", "2", ("phone", "13787654321"), name="张伟",
                               birth_date="1990-01-01"))
    assert second.review_task_id
    li = engine.ingest(rec("crm", "10", ("phone", "13611112222"), ("email", "lina@163.com"),
                           name="李娜", city="北京"))
    engine.ingest(rec("app", "11", ("email", "lina@163.com"), name="李娜"))
    engine.ingest(rec("wechat", "12", ("phone", "13611112222"), name="李娜"))
    return {"first": first.one_id, "second": second.one_id, "task": second.review_task_id,
            "li": li.one_id}


@contextmanager
def signed_in(site: Site, role: str) -> Iterator[httpx.Client]:
    """An HTTP client signed in with the key of `role` (sign-in form, its CSRF cookie)."""
    with httpx.Client(base_url=site.url, follow_redirects=False, timeout=30) as client:
        page = client.get("/sign-in")
        answer = client.post("/sign-in", data={"csrf": csrf_of(page.text), "key": KEYS[role],
                                               "next": "/queue"})
        assert answer.status_code == 303, answer.text
        yield client


def csrf_of(page: str) -> str:
    return page.split('name="csrf" value="', 1)[1].split('"', 1)[0]
