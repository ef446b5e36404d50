"""Wire shapes: JSON Lines of SourceRecord, timestamps, status details."""

from __future__ import annotations

from google.protobuf import json_format
from google.rpc import error_details_pb2

from idgraph.api.convert import record_from_proto
from idgraph.api.status import to_status_proto
from idgraph.errors import FieldViolation, InvalidInput
from idgraph.v1 import identity_pb2 as pb


def test_jsonl_record_accepts_snake_case_and_camel_case() -> None:
    snake = ('{"source": "dms", "source_record_id": "42", "observed_at": "2024-05-01T08:00:00Z",'
             ' "identifiers": [{"type": "phone", "value": "13912345678"}],'
             ' "attributes": {"name": "张伟"},'
             ' "vehicles": [{"vin": "LJCPCBLCX11000237", "relation": "VEHICLE_RELATION_OWNER",'
             ' "since": "2020-01-01T00:00:00Z"}]}')
    camel = snake.replace("source_record_id", "sourceRecordId").replace("observed_at",
                                                                         "observedAt")
    for text in (snake, camel):
        raw = record_from_proto(json_format.Parse(text, pb.SourceRecord()))
        assert raw.source_record_id == "42"
        assert raw.observed_at is not None and raw.observed_at.year == 2024
        assert raw.vehicles[0].relation == "OWNER"
        assert raw.attributes == {"name": "张伟"}


def test_unspecified_relation_is_left_for_validation() -> None:
    message = pb.SourceRecord(source="x", source_record_id="1",
                              vehicles=[pb.VehicleLink(vin="LJCPCBLCX11000237")])
    assert record_from_proto(message).vehicles[0].relation == ""


def test_invalid_input_carries_bad_request_details() -> None:
    status = to_status_proto(InvalidInput([FieldViolation("record.vehicles[0].vin", "bad")]))
    bad_request = error_details_pb2.BadRequest()
    assert any(d.Unpack(bad_request) for d in status.details)
    assert bad_request.field_violations[0].field == "record.vehicles[0].vin"
