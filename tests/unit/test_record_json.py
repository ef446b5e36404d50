"""JSON Lines rows as exports write them: protobuf's JSON form, short relation names, dates at
month or day precision, local times, epoch seconds and millis, numbers where text belongs;
what cannot be read is listed, never a reason to lose the row."""

from __future__ import annotations

from datetime import UTC, datetime
from zoneinfo import ZoneInfo

import pytest
from google.protobuf import json_format

from idgraph.api.convert import record_from_proto
from idgraph.domain.records import Limits, VehicleRelation, prepare_record
from idgraph.domain.rules import Rules
from idgraph.errors import InvalidInput
from idgraph.record_json import record_from_json
from idgraph.v1 import identity_pb2 as pb
from tests.unit.factories import NOW, SECRET

SHANGHAI = ZoneInfo("Asia/Shanghai")


@pytest.mark.parametrize("row", [
    {"source": "crm", "sourceRecordId": "1", "identifiers": [
        {"type": "phone", "value": "139 1234 5678"},
        {"type": "wechat_openid", "value": "o1", "scope": "app1"}],
     "attributes": {"name": "张伟", "city": "上海"}},
    {"source": "crm", "source_record_id": "2", "attributes": {"name": "李娜"}},
    {"source": "dms", "sourceRecordId": "3", "observedAt": "2025-03-01T08:00:00Z",
     "vehicles": [{"vin": "LJCPCBLCX11000237", "relation": "VEHICLE_RELATION_OWNER"}]},
    {"source": "dms", "sourceRecordId": "4", "observedAt": "2025-03-01T16:00:00.123456+08:00",
     "vehicles": [{"vin": "LJCPCBLCX11000237", "relation": "VEHICLE_RELATION_SERVICE",
                   "model": "X3", "plate": "粤B12345", "since": "2020-01-01T00:00:00Z",
                   "until": "2021-06-30T23:59:59.5-05:00"}]},
    {"source": "app", "sourceRecordId": "6", "referredBy": [{"type": "phone", "value": "1"}],
     "identifiers": [{"type": "phone", "value": "13912345678"}]},
    {"source": "app", "sourceRecordId": "5", "observed_at": "2025-03-01T08:00:00.123456789Z",
     "vehicles": [{"vin": "LJCPCBLCX11000237", "relation": "VEHICLE_RELATION_UNSPECIFIED"},
                  {"vin": "LJCPCBLCX11000237", "relation": 2}]},
])
def test_rows_protobuf_can_read_read_as_protobuf_reads_them(row: dict[str, object]) -> None:
    assert record_from_json(row) == record_from_proto(
        json_format.ParseDict(row, pb.SourceRecord()))


@pytest.mark.parametrize(("relation", "expected"), [
    ("OWNER", VehicleRelation.OWNER), ("owner", VehicleRelation.OWNER),
    ("Test_Drive", VehicleRelation.TEST_DRIVE), ("test drive", VehicleRelation.TEST_DRIVE),
    ("VEHICLE_RELATION_SERVICE", VehicleRelation.SERVICE),
    ("vehicle_relation_driver", VehicleRelation.DRIVER), (3, VehicleRelation.INTERESTED),
])
def test_relations_by_short_name_in_any_case(rules: Rules, relation: object,
                                             expected: VehicleRelation) -> None:
    raw = record_from_json({"source": "dms", "source_record_id": "1",
                            "attributes": {"name": "张伟"},
                            "vehicles": [{"vin": "LJCPCBLCX11000237", "relation": relation}]})
    prepared = prepare_record(raw, rules, Limits(), SECRET, NOW)
    assert [v.relation for v in prepared.vehicles] == [expected]


@pytest.mark.parametrize(("when", "expected"), [
    ("2021-07", datetime(2021, 6, 30, 16, tzinfo=UTC)),  # the month's first day, local
    ("2021-07-15", datetime(2021, 7, 14, 16, tzinfo=UTC)),
    ("2021/07/15", datetime(2021, 7, 14, 16, tzinfo=UTC)),
    ("2021/7/5", datetime(2021, 7, 4, 16, tzinfo=UTC)),
    ("20210715", datetime(2021, 7, 14, 16, tzinfo=UTC)),
    ("2021-07-15 08:30:00", datetime(2021, 7, 15, 0, 30, tzinfo=UTC)),  # China Standard Time
    ("2021-07-15T08:30:00", datetime(2021, 7, 15, 0, 30, tzinfo=UTC)),
    ("2021-07-15T08:30:00Z", datetime(2021, 7, 15, 8, 30, tzinfo=UTC)),  # RFC 3339
    ("2021-07-15T08:30:00-05:00", datetime(2021, 7, 15, 13, 30, tzinfo=UTC)),
    (1626309000, datetime(2021, 7, 15, 0, 30, tzinfo=UTC)),  # epoch seconds
    ("1626309000", datetime(2021, 7, 15, 0, 30, tzinfo=UTC)),
    (1626309000123, datetime(2021, 7, 15, 0, 30, 0, 123000, tzinfo=UTC)),  # epoch millis
    ("1626309000123", datetime(2021, 7, 15, 0, 30, 0, 123000, tzinfo=UTC)),
])
def test_times_as_exports_write_them(when: object, expected: datetime) -> None:
    raw = record_from_json({"source": "dms", "sourceRecordId": "1", "observedAt": when,
                            "vehicles": [{"vin": "LJCPCBLCX11000237", "relation": "OWNER",
                                          "since": when, "until": when}]})
    assert raw.observed_at == expected
    assert (raw.vehicles[0].since, raw.vehicles[0].until) == (expected, expected)
    assert raw.unreadable == ()


def test_naive_times_are_in_the_configured_zone() -> None:
    row = {"source": "dms", "sourceRecordId": "1", "observedAt": "2021-07-15 08:30:00"}
    assert record_from_json(row, SHANGHAI).observed_at == datetime(2021, 7, 15, 0, 30, tzinfo=UTC)
    assert record_from_json(row, UTC).observed_at == datetime(2021, 7, 15, 8, 30, tzinfo=UTC)


@pytest.mark.parametrize("when", ["2025-02-30T08:00:00Z", "yesterday", 0, True, [2021]])
def test_an_unreadable_time_is_dropped_with_a_warning_not_the_row(rules: Rules,
                                                                   when: object) -> None:
    row = {"source": "crm", "sourceRecordId": "1", "observedAt": when,
           "identifiers": [{"type": "phone", "value": "13912345678"}],
           "vehicles": [{"vin": "LJCPCBLCX11000237", "relation": "OWNER", "since": when}]}
    raw = record_from_json(row)
    assert [p.field for p in raw.unreadable] == ["observed_at", "vehicles[0].since"]
    prepared = prepare_record(raw, rules, Limits(), SECRET, NOW, prefix="", lenient=True)
    assert prepared.observed_at == NOW and prepared.vehicles[0].since is None
    assert [d.kind for d in prepared.dropped] == ["observed_at", "vehicles.since"]
    with pytest.raises(InvalidInput) as strict:
        prepare_record(raw, rules, Limits(), SECRET, NOW)
    assert [v.field for v in strict.value.violations] == ["record.observed_at",
                                                          "record.vehicles[0].since"]


def test_numbers_and_nulls_where_text_belongs(rules: Rules) -> None:
    raw = record_from_json({
        "source": "crm", "source_record_id": 42, "observed_at": None,
        "identifiers": [{"type": "phone", "value": 13912345678, "scope": None}],
        "attributes": {"name": "张伟", "consent_marketing": True, "age": 35, "city": None},
        "vehicles": [{"vin": "LJCPCBLCX11000237", "relation": "owner", "plate": None}]})
    assert raw.source_record_id == "42" and raw.identifiers[0].value == "13912345678"
    assert raw.attributes == {"name": "张伟", "consent_marketing": "true", "age": "35"}
    assert raw.vehicles[0].plate == "" and raw.unreadable == ()


def test_unknown_fields_and_odd_shapes_are_listed_and_left_out(rules: Rules) -> None:
    raw = record_from_json({
        "source": "crm", "sourceRecordId": "1", "trust": 3,
        "identifiers": [{"type": "phone", "value": "13912345678", "verified": True}, "x"],
        "attributes": {"name": "张伟", "tags": ["a"]},
        "vehicles": {"vin": "LJCPCBLCX11000237"}})
    assert [(p.field, p.kind) for p in raw.unreadable] == [
        ("trust", "unknown field"), ("identifiers[0].verified", "unknown field"),
        ("identifiers[1]", "identifiers"), ("attributes['tags']", "attributes.tags"),
        ("vehicles", "vehicles")]
    prepared = prepare_record(raw, rules, Limits(), SECRET, NOW, prefix="", lenient=True)
    assert [k.value for k in prepared.identifiers] == ["13912345678"]
    assert len(prepared.dropped) == 5


@pytest.mark.parametrize("row", [["a", "list"], {"source": ["crm"], "sourceRecordId": "1"},
                                 {"source": "crm", "sourceRecordId": {"id": 1}}])
def test_a_row_that_is_not_a_record_is_refused(row: object) -> None:
    with pytest.raises(ValueError):
        record_from_json(row)
