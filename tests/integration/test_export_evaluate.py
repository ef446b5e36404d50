"""`idgraph export` and `idgraph evaluate` against the real graph."""

from __future__ import annotations

import csv
import json
from pathlib import Path

import pytest

from idgraph.cli import main
from idgraph.engine import IdentityEngine
from tests.integration.helpers import rec

pytestmark = pytest.mark.integration


@pytest.fixture
def loaded(engine: IdentityEngine, neo4j_uri: str, monkeypatch: pytest.MonkeyPatch
           ) -> dict[str, str]:
    monkeypatch.setenv("IDGRAPH_NEO4J_URI", neo4j_uri)
    outcomes = {
        "1": engine.ingest(rec("crm", "1", ("phone", "13912345678"))).one_id,
        "2": engine.ingest(rec("app", "2", ("phone", "13912345678"))).one_id,
        "3": engine.ingest(rec("app", "3", ("email", "x@163.com"))).one_id,
    }
    return outcomes


def test_export_csv_and_jsonl(loaded: dict[str, str], tmp_path: Path) -> None:
    assert main(["export", "--out", str(tmp_path / "map.csv")]) == 0
    with (tmp_path / "map.csv").open() as handle:
        rows = list(csv.DictReader(handle))
    assert [(r["source"], r["source_record_id"], r["one_id"]) for r in rows] == [
        ("app", "2", loaded["2"]), ("app", "3", loaded["3"]), ("crm", "1", loaded["1"])]
    assert main(["export", "--out", str(tmp_path / "map.jsonl")]) == 0
    lines = [json.loads(x) for x in (tmp_path / "map.jsonl").read_text().splitlines()]
    assert {x["source_record_id"]: x["one_id"] for x in lines} == loaded


def test_evaluate_against_truth(loaded: dict[str, str], tmp_path: Path,
                                capsys: pytest.CaptureFixture[str]) -> None:
    truth = tmp_path / "truth.csv"
    # The truth says record 3 is the same person as 1 and 2: idgraph missed that link.
    truth.write_text("source,source_record_id,entity\ncrm,1,P\napp,2,P\napp,3,P\n")
    assert main(["evaluate", "--truth", str(truth)]) == 0
    out = capsys.readouterr().out
    assert "pairwise" in out and "1.0000    0.3333    0.5000" in out
    assert "more than one true person: 0" in out
    main(["export", "--out", str(tmp_path / "map.csv")])
    capsys.readouterr()
    assert main(["evaluate", "--truth", str(truth), "--predicted",
                 str(tmp_path / "map.csv")]) == 0
    assert "1.0000    0.3333    0.5000" in capsys.readouterr().out


def test_bad_truth_file_is_reported(tmp_path: Path, capsys: pytest.CaptureFixture[str],
                                    monkeypatch: pytest.MonkeyPatch, neo4j_uri: str) -> None:
    monkeypatch.setenv("IDGRAPH_NEO4J_URI", neo4j_uri)
    truth = tmp_path / "truth.csv"
    truth.write_text("source,id\ncrm,1\n")
    assert main(["evaluate", "--truth", str(truth)]) == 2
    assert "truth.csv:2" in capsys.readouterr().err
