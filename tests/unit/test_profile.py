"""Profile assembly: golden attributes and marketing consent."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from idgraph.domain.profile import StoredRecord, golden_attributes
from idgraph.domain.rules import load_rules
from idgraph.errors import InvalidInput
from tests.unit.factories import record


def stored(source: str, rid: str, year: int, **attributes: str) -> StoredRecord:
    when = datetime(year, 1, 1, tzinfo=UTC)
    return StoredRecord(source, rid, when, when, attributes, (), ())


def test_consent_is_the_latest_statement_whatever_the_source() -> None:
    rules = load_rules()
    records = [stored("dms", "1", 2020, consent_marketing="true", city="上海"),
               stored("media", "2", 2024, consent_marketing="false", city="北京"),
               stored("crm", "3", 2022, consent_marketing="true")]
    golden = {a.name: a for a in golden_attributes(records, rules)}
    assert golden["consent_marketing"].value == "false"
    assert golden["consent_marketing"].source_record_id == "2"
    assert "latest statement" in golden["consent_marketing"].rule
    assert golden["city"].value == "上海"  # other attributes: the most trusted source


@pytest.mark.parametrize("given, kept", [("TRUE", "true"), ("1", "true"), ("yes", "true"),
                                         ("false", "false"), ("0", "false"), (" No ", "false")])
def test_consent_values_are_read_as_true_or_false(given: str, kept: str) -> None:
    rules = load_rules()
    assert record(rules, ("phone", "13912345678"), consent_marketing=given
                  ).attributes["consent_marketing"] == kept


def test_a_consent_that_is_neither_true_nor_false_is_refused() -> None:
    with pytest.raises(InvalidInput) as refused:
        record(load_rules(), ("phone", "13912345678"), consent_marketing="maybe")
    assert refused.value.violations[0].field == "record.attributes['consent_marketing']"
