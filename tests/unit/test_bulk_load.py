"""The initial load's CSV set: what the importer reads back as each stored value."""

from __future__ import annotations

from pathlib import Path

import pytest

from idgraph.bulk_load import ARRAY_DELIMITER, Graph, Millis, _cell, write_csv


def test_an_empty_string_is_a_property_and_none_is_none() -> None:
    assert _cell("") == '""'  # Identifier.scope '' is read back as ''
    assert _cell(None) == ""  # Vehicle.model absent stays absent
    assert _cell('say "hi", 1') == '"say ""hi"", 1"'


def test_times_are_utc_iso_with_milliseconds_before_and_after_1970() -> None:
    assert _cell(Millis(1714552200123)) == "2024-05-01T08:30:00.123Z"
    assert _cell(Millis(-1)) == "1969-12-31T23:59:59.999Z"


def test_lists_join_on_the_array_delimiter_and_refuse_it_inside() -> None:
    assert _cell(["a\x1fb,c;d", "e"]) == f'"a\x1fb,c;d{ARRAY_DELIMITER}e"'
    with pytest.raises(ValueError, match="array delimiter"):
        _cell([f"x{ARRAY_DELIMITER}y"])


def test_headers_type_each_column_and_only_endpoints_get_an_id(tmp_path: Path) -> None:
    graph = Graph()
    graph.node("Person", "p1").update(one_id="p1", status="active", created_at=Millis(0))
    graph.node("ChangeEvent", "1").update(position=1, score=0.5, related=["p1"])
    graph.edge("MERGED_INTO", ("Person", "p1"), ("Person", "p1"), {"event_id": "e"})
    arguments = write_csv(graph, tmp_path)
    assert (tmp_path / "nodes_Person_header.csv").read_text() == \
        "created_at:datetime,one_id:ID(Person),status:string\n"
    assert (tmp_path / "nodes_ChangeEvent_header.csv").read_text() == \
        "position:long,related:string[],score:double\n"
    assert (tmp_path / "edges_MERGED_INTO_Person_Person.csv").read_text() == '"p1","p1","e"\n'
    assert len(arguments) == 3 and arguments[-1].startswith("--relationships=MERGED_INTO=")
