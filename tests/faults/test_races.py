"""A steward's split and an ingest of the split person's records at the same time, and an
erasure and an ingest of the erased person's identifiers at the same time. Whichever
commits first, the graph ends in a state docs/guarantees.md describes: parts a steward
split stay apart, an erased person stays erased and nothing of it comes back."""

from __future__ import annotations

import random
import threading
import time
from collections.abc import Callable
from typing import Any

import pytest

from idgraph.engine import IdentityEngine
from idgraph.errors import NotFound
from idgraph.store.neo4j_store import Neo4jStore
from tests.integration.helpers import check_invariants, rec

pytestmark = pytest.mark.faults

ROUNDS = 8


def together(first: Callable[[], Any], second: Callable[[], Any], seed: int
             ) -> tuple[Any, Any]:
    """Run both at once (each after a small random delay, so both orders happen)."""
    rng = random.Random(seed)
    delays = (rng.uniform(0, 0.03), rng.uniform(0, 0.03))
    barrier, answers = threading.Barrier(2), [None, None]

    def run(index: int, call: Callable[[], Any]) -> None:
        barrier.wait()
        time.sleep(delays[index])
        answers[index] = call()

    threads = [threading.Thread(target=run, args=(i, c)) for i, c in enumerate((first, second))]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(60)
    return answers[0], answers[1]


def person_of(store: Neo4jStore, key: str) -> str | None:
    rows = store.run_cypher("MATCH (r:Record {key: $key})-[:PART_OF]->(p:Person) "
                            "RETURN p.one_id AS one_id, p.status AS status", key=key)
    assert all(row["status"] == "active" for row in rows)
    return rows[0]["one_id"] if rows else None


def test_a_split_and_an_ingest_of_the_split_persons_records_at_once(
        engine: IdentityEngine, clean_store: Neo4jStore) -> None:
    for n in range(ROUNDS):
        phone, email = f"1391234{n:04d}", f"zw{n}@163.com"
        first = engine.ingest(rec("crm", f"a{n}", ("phone", phone), name="张伟"))
        both = engine.ingest(rec("app", f"b{n}", ("phone", phone), ("email", email),
                                 name="张伟"))
        assert both.one_id == first.one_id
        split, late = together(
            lambda n=n, one_id=first.one_id: engine.stewardship.split_person(
                one_id, [f"app|b{n}"], "steward", "two people"),
            lambda n=n, phone=phone, email=email: engine.ingest(
                rec("wechat", f"c{n}", ("phone", phone), ("email", email), name="张伟")),
            seed=n)
        a, b, c = (person_of(clean_store, f"{s}|{x}{n}")
                   for s, x in (("crm", "a"), ("app", "b"), ("wechat", "c")))
        assert a is not None and b is not None and c is not None
        assert a != b  # what a steward split stays apart, whichever came first
        assert late.one_id in (a, b, c) or engine.profile(late.one_id).profile.one_id == c
        assert split.moved == (f"app|b{n}",)
    check_invariants(clean_store)


def test_an_erasure_and_an_ingest_of_the_erased_persons_identifiers_at_once(
        engine: IdentityEngine, clean_store: Neo4jStore) -> None:
    came_back_as_new = went_with_the_erasure = 0
    for n in range(ROUNDS):
        phone = f"1381234{n:04d}"
        person = engine.ingest(rec("crm", f"a{n}", ("phone", phone), name="李娜")).one_id
        _, late = together(
            lambda person=person: engine.stewardship.erase_person(person, "admin", "PIPL"),
            lambda n=n, phone=phone: engine.ingest(rec("app", f"d{n}", ("phone", phone),
                                                       name="李娜")),
            seed=100 + n)
        assert person_of(clean_store, f"crm|a{n}") is None  # the erased record is gone
        with pytest.raises(NotFound):  # and its OneID stays erased
            engine.profile(person)
        now = person_of(clean_store, f"app|d{n}")
        if late.one_id == person:  # the ingest committed first: erased with the person
            assert now is None
            went_with_the_erasure += 1
        else:  # the erasure committed first: a new person holding only the new record
            assert now == late.one_id != person
            records = engine.profile(now).profile.records
            assert [r.source_record_id for r in records] == [f"d{n}"]
            came_back_as_new += 1
    assert came_back_as_new + went_with_the_erasure == ROUNDS
    check_invariants(clean_store)
