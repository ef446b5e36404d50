"""Record validation: every bad field is named, limits hold, sensitive values are hashed."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from idgraph.domain.records import (
    Limits,
    RawIdentifier,
    RawRecord,
    RawVehicle,
    prepare_record,
)
from idgraph.domain.rules import Rules
from idgraph.errors import InvalidInput
from tests.unit.factories import NOW, SECRET


def prepare(rules: Rules, raw: RawRecord, limits: Limits | None = None):  # type: ignore[no-untyped-def]
    return prepare_record(raw, rules, limits or Limits(), SECRET, NOW)


def fields(exc: pytest.ExceptionInfo[InvalidInput]) -> list[str]:
    return [v.field for v in exc.value.violations]


def test_every_bad_field_is_named(rules: Rules) -> None:
    raw = RawRecord("", "1", None, (
        RawIdentifier("phone", "12345"),
        RawIdentifier("fax", "1"),
        RawIdentifier("wechat_openid", "o1"),
    ), vehicles=(RawVehicle("1M8GDM9A1KP042788", "OWNER"), RawVehicle("LJCPCBLCX11000237", "X")))
    with pytest.raises(InvalidInput) as exc:
        prepare(rules, raw)
    assert fields(exc) == [
        "record.source", "record.identifiers[0].value", "record.identifiers[1].type",
        "record.identifiers[2].scope", "record.vehicles[0].vin", "record.vehicles[1].relation",
    ]


def test_id_card_is_stored_only_as_keyed_hash(rules: Rules) -> None:
    rec = prepare(rules, RawRecord("dms", "1", None, (RawIdentifier("id_card",
                                                                    "11010519491231002x"),)))
    (key,) = rec.identifiers
    assert key.hashed and "11010519491231002" not in key.key
    other_secret = prepare_record(RawRecord("dms", "1", None, (
        RawIdentifier("id_card", "11010519491231002X"),)), rules, Limits(), b"other", NOW)
    assert other_secret.identifiers[0].value != key.value


def test_two_resident_ids_in_one_record_are_rejected(rules: Rules) -> None:
    raw = RawRecord("dms", "1", None, (RawIdentifier("id_card", "11010519491231002X"),
                                       RawIdentifier("id_card", "130503670401001")))
    with pytest.raises(InvalidInput, match="at most 1"):
        prepare(rules, raw)


def test_limits_bound_the_work(rules: Rules) -> None:
    many = tuple(RawIdentifier("crm_id", str(i)) for i in range(5))
    with pytest.raises(InvalidInput) as exc:
        prepare(rules, RawRecord("crm", "1", None, many), Limits(max_identifiers=4))
    assert fields(exc) == ["record.identifiers"]
    with pytest.raises(InvalidInput) as exc:
        prepare(rules, RawRecord("crm", "1", None, (), {"note": "x" * 50}),
                Limits(max_attribute_length=16))
    assert fields(exc) == ["record.attributes['note']"]


def test_duplicates_collapse_and_no_value_ids_drop(rules: Rules) -> None:
    rec = prepare(rules, RawRecord("app", "1", None, (
        RawIdentifier("phone", "13912345678"), RawIdentifier("phone", "+86 139 1234 5678"),
        RawIdentifier("device_id", "00000000-0000-0000-0000-000000000000"))))
    assert [k.key for k in rec.identifiers] == ["phone||13912345678"]


def test_fingerprint_ignores_identifier_order_but_not_content(rules: Rules) -> None:
    a = prepare(rules, RawRecord("app", "1", None, (RawIdentifier("phone", "13912345678"),
                                                    RawIdentifier("email", "a@b.com"))))
    b = prepare(rules, RawRecord("app", "1", None, (RawIdentifier("email", "A@b.com"),
                                                    RawIdentifier("phone", "13912345678"))))
    c = prepare(rules, RawRecord("app", "1", None, (RawIdentifier("email", "a@b.com"),),
                                 {"name": "张伟"}))
    assert a.fingerprint == b.fingerprint != c.fingerprint


def test_blocking_key_from_canonical_attributes(rules: Rules) -> None:
    a = prepare(rules, RawRecord("app", "1", None, (), {"name": "張偉", "birth_date": "1990/1/2"}))
    b = prepare(rules, RawRecord("app", "2", None, (), {"name": "张伟", "birth_date": "19900102"}))
    assert a.blocking_keys == b.blocking_keys and len(a.blocking_keys) == 1
    lead = prepare(rules, RawRecord("media", "3", None, (), {"name": "张先生",
                                                               "birth_date": "1990-01-02"}))
    assert lead.blocking_keys == ()


def test_vehicle_interval_must_be_ordered(rules: Rules) -> None:
    raw = RawRecord("dms", "1", None, vehicles=(RawVehicle(
        "LJCPCBLCX11000237", "OWNER", since=datetime(2024, 1, 1, tzinfo=UTC),
        until=datetime(2023, 1, 1, tzinfo=UTC)),))
    with pytest.raises(InvalidInput) as exc:
        prepare(rules, raw)
    assert fields(exc) == ["record.vehicles[0].until"]
