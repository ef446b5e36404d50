"""The console in a real browser (Debian's chromium through Playwright) against a real
server and Neo4j: sign in, work the queue with the keyboard, decide a task, find a person by
a phone written any way, preview and confirm a split; then check what the graph holds.
With IDGRAPH_CONSOLE_SCREENSHOTS=DIR the main pages are saved there (docs/console/)."""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path

import pytest
from playwright.sync_api import Browser, Page, sync_playwright

from tests.console.conftest import CHROMIUM, KEYS, Site, seed
from tests.integration.helpers import check_invariants

pytestmark = pytest.mark.e2e
SHOTS = os.environ.get("IDGRAPH_CONSOLE_SCREENSHOTS", "")


@pytest.fixture(scope="module")
def browser() -> Iterator[Browser]:
    assert Path(CHROMIUM).exists(), f"no chromium at {CHROMIUM}: make test installs it"
    with sync_playwright() as playwright:
        launched = playwright.chromium.launch(executable_path=CHROMIUM,
                                              args=["--no-sandbox", "--disable-gpu"])
        yield launched
        launched.close()


def shot(page: Page, name: str) -> None:
    if SHOTS:
        Path(SHOTS).mkdir(parents=True, exist_ok=True)
        page.screenshot(path=str(Path(SHOTS) / f"{name}.png"), full_page=True)


def sign_in(browser: Browser, site: Site, role: str = "steward") -> Page:
    page = browser.new_page(viewport={"width": 1400, "height": 900})
    page.goto(f"{site.url}/queue")
    assert "/sign-in" in page.url
    page.fill("input[name=key]", KEYS[role])
    page.click("button[type=submit]")
    page.wait_for_url(f"{site.url}/queue")
    return page


def test_a_steward_decides_a_task_with_the_keyboard(browser: Browser, site: Site) -> None:
    ids = seed(site.engine)
    page = sign_in(browser, site)
    assert page.locator("#tasks tbody tr.current").count() == 1
    shot(page, "queue")
    page.keyboard.press("Enter")  # the current (first) task
    page.wait_for_url(f"{site.url}/tasks/{ids['task']}")
    assert page.locator("#sides tr.differs").count() >= 1  # e.g. the phones differ
    assert page.locator("svg.waterfall").count() >= 1
    shot(page, "task")
    page.keyboard.press("m")  # merge: asks for the reason first
    assert page.evaluate("document.activeElement.id") == "reason"
    page.keyboard.type("same person: the customer confirmed on the phone")
    page.keyboard.press("Enter")
    page.wait_for_url(f"{site.url}/queue")
    rows = site.store.run_cypher(
        "MATCH (t:ReviewTask) RETURN t.decision AS decision, t.decided_by AS actor")
    assert rows == [{"decision": "MERGE", "actor": "steward-1"}]
    merged = site.store.run_cypher("MATCH (p:Person {status: 'merged'}) RETURN p.one_id AS id")
    assert [r["id"] for r in merged] == [ids["second"]]
    check_invariants(site.store)


def test_a_steward_finds_a_person_and_splits_a_record_off(browser: Browser, site: Site
                                                          ) -> None:
    ids = seed(site.engine)
    page = sign_in(browser, site)
    page.select_option("header select[name=type]", "phone")
    page.fill("#search-box", "+86 136-1111-2222")
    page.press("#search-box", "Enter")
    page.wait_for_url(f"{site.url}/people/{ids['li']}")
    assert page.locator("#records tbody tr").count() == 3
    assert page.locator("svg.graph").count() == 1
    assert page.locator("#lineage li").count() >= 1
    shot(page, "person")
    page.check("input[value='wechat|12']")
    page.fill("#split-reason", "a stranger's test drive on her phone")
    page.click("#preview-split")
    page.wait_for_url(f"{site.url}/people/{ids['li']}/split-preview")
    assert page.locator("#placements tr").count() == 2  # the header and the record
    shot(page, "split")
    page.click("#confirm")
    page.wait_for_url(f"{site.url}/people/{ids['li']}")
    assert page.locator("#records tbody tr").count() == 2
    rows = site.store.run_cypher(
        "MATCH (r:Record {key: 'wechat|12'})-[:PART_OF]->(p:Person) RETURN p.one_id AS id")
    assert rows and rows[0]["id"] != ids["li"]
    apart = site.store.run_cypher(
        "MATCH (:Person {one_id: $a})-[k:KEPT_APART]-(:Person {one_id: $b}) "
        "RETURN k.actor AS actor", a=ids["li"], b=rows[0]["id"])
    assert apart == [{"actor": "steward-1"}]
    check_invariants(site.store)
