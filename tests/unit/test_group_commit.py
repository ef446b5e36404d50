"""The group committer's failure handling: a poison record, a transient error or a short
deadline is dealt with by retrying the batch record by record, but a store that is down
fails the whole batch at once (one by one, each record would wait out the store's retries
again)."""

from __future__ import annotations

import threading
from collections.abc import Sequence
from typing import Any

import pytest

from idgraph.errors import DatabaseDown, Unavailable
from idgraph.group_commit import GroupCommitter


class Runner:
    def __init__(self, error: Exception) -> None:
        self.error, self.calls = error, []  # type: ignore[var-annotated]
        self.hold = threading.Event()

    def __call__(self, records: Sequence[Any], timeout: float | None) -> list[Any]:
        self.calls.append(list(records))
        if len(self.calls) == 1:
            self.hold.wait(10)  # the first batch holds the writer while the rest queue
            return list(records)
        if "poison" in records or isinstance(self.error, DatabaseDown):
            raise self.error
        return list(records)


def queued_behind_a_first_batch(runner: Runner, records: list[str]) -> list[Any]:
    committer = GroupCommitter(runner, max_batch=64)
    try:
        first = committer.submit("first", None)  # type: ignore[arg-type]
        while not runner.calls:
            threading.Event().wait(0.001)
        futures = [committer.submit(r, None) for r in records]  # type: ignore[arg-type]
        runner.hold.set()
        assert first.result(10) == "first"
        return [f.exception(10) or f.result(10) for f in futures]
    finally:
        committer.close()


def test_a_poison_record_is_isolated_record_by_record() -> None:
    runner = Runner(ValueError("bad record"))
    answers = queued_behind_a_first_batch(runner, ["a", "poison", "b"])
    assert answers[0] == "a" and answers[2] == "b"
    assert isinstance(answers[1], ValueError)
    assert runner.calls[1:] == [["a", "poison", "b"], ["a"], ["poison"], ["b"]]


@pytest.mark.parametrize("size", [2, 8])
def test_a_store_that_is_down_fails_the_whole_batch_once(size: int) -> None:
    runner = Runner(DatabaseDown("Neo4j unavailable"))
    answers = queued_behind_a_first_batch(runner, [f"r{i}" for i in range(size)])
    assert all(isinstance(a, DatabaseDown) for a in answers)
    assert runner.calls[1:] == [[f"r{i}" for i in range(size)]]  # one attempt, not one each


def test_a_transient_failure_is_retried_record_by_record() -> None:
    runner = Runner(Unavailable("deadlock"))  # transient: the batch fails, records pass
    answers = queued_behind_a_first_batch(runner, ["a", "poison", "b"])
    assert answers[0] == "a" and answers[2] == "b"
    assert isinstance(answers[1], Unavailable)
    assert runner.calls[1:] == [["a", "poison", "b"], ["a"], ["poison"], ["b"]]
