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
from tests.unit.factories import NOW, SECRET, record


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


# --- what exports contain: accepted, dropped with a warning, refused ----------------------

def lenient(rules: Rules, raw: RawRecord, limits: Limits | None = None):  # type: ignore[no-untyped-def]
    return prepare_record(raw, rules, limits or Limits(), SECRET, NOW, prefix="", lenient=True)


def dropped(prepared) -> list[tuple[str, str]]:  # type: ignore[no-untyped-def]
    return [(d.field, d.kind) for d in prepared.dropped]


PHONE = RawIdentifier("phone", "13912345678")


@pytest.mark.parametrize("relation", ["TEST_DRIVE", "INTERESTED", "test_drive", "Interested"])
def test_a_model_without_a_vin_is_interest_in_the_model(rules: Rules, relation: str) -> None:
    raw = RawRecord("test_drive", "1", None, (PHONE,), vehicles=(RawVehicle(
        "", relation, model="Model-E5", since=datetime(2021, 7, 1, tzinfo=UTC)),))
    for prepared in (prepare(rules, raw), lenient(rules, raw)):
        (vehicle,) = prepared.vehicles
        assert (vehicle.vin, vehicle.model, vehicle.make, vehicle.model_year) == (
            "", "Model-E5", "", None)
        assert vehicle.relation.value == relation.upper() and prepared.dropped == ()


@pytest.mark.parametrize("relation", ["OWNER", "DRIVER", "SERVICE"])
def test_a_vehicle_without_a_vin_is_dropped_for_owners_drivers_and_service(
        rules: Rules, relation: str) -> None:
    raw = RawRecord("dms", "1", None, (PHONE,), vehicles=(RawVehicle("", relation, "X5"),))
    with pytest.raises(InvalidInput) as exc:
        prepare(rules, raw)
    assert fields(exc) == ["record.vehicles[0].vin"]
    prepared = lenient(rules, raw)
    assert prepared.vehicles == () and prepared.identifiers[0].value == "13912345678"
    assert dropped(prepared) == [("vehicles[0].vin", "vehicles.vin")]


def test_an_invalid_vin_drops_the_vehicle_or_keeps_the_model_interest(rules: Rules) -> None:
    bad_vin = "1M8GDM9A1KP042788"  # check digit
    prepared = lenient(rules, RawRecord("dms", "1", None, (PHONE,), vehicles=(
        RawVehicle(bad_vin, "OWNER", "X5"), RawVehicle(bad_vin, "TEST_DRIVE", "X7"),
        RawVehicle("", "TEST_DRIVE"))))
    assert [(v.vin, v.model) for v in prepared.vehicles] == [("", "X7")]
    assert dropped(prepared) == [("vehicles[0].vin", "vehicles.vin"),
                                 ("vehicles[1].vin", "vehicles.vin"),
                                 ("vehicles[2].vin", "vehicles.vin")]
    assert "check digit" in prepared.dropped[0].description


def test_a_bad_plate_or_relation_or_interval_drops_only_that(rules: Rules) -> None:
    vin = "LJCPCBLCX11000237"
    prepared = lenient(rules, RawRecord("dms", "1", None, (PHONE,), vehicles=(
        RawVehicle(vin, "OWNER", plate="京AO1234"), RawVehicle(vin, "SOLD"),
        RawVehicle(vin, "OWNER", since=datetime(2024, 1, 1, tzinfo=UTC),
                   until=datetime(2023, 1, 1, tzinfo=UTC)))))
    assert [(v.vin, v.plate) for v in prepared.vehicles] == [(vin, "")]
    assert dropped(prepared) == [("vehicles[0].plate", "vehicles.plate"),
                                 ("vehicles[1].relation", "vehicles.relation"),
                                 ("vehicles[2].until", "vehicles.until")]


def test_bad_identifier_and_attribute_values_are_dropped_and_the_rest_kept(
        rules: Rules) -> None:
    raw = RawRecord("crm", "1", None, (
        PHONE, RawIdentifier("phone", "12345678901"), RawIdentifier("landline", "46590442"),
        RawIdentifier("fax", "1"), RawIdentifier("wechat_openid", "o1")),
        {"name": "张伟", "consent_marketing": "maybe"},
        referred_by=(RawIdentifier("phone", "123"),))
    prepared = lenient(rules, raw)
    assert [k.key for k in prepared.identifiers] == ["phone||13912345678"]
    assert prepared.attributes == {"name": "张伟"} and prepared.referrers == ()
    assert dropped(prepared) == [
        ("identifiers[1].value", "identifiers.phone"),
        ("identifiers[2].value", "identifiers.landline"),
        ("identifiers[3].type", "identifiers.fax"),
        ("identifiers[4].scope", "identifiers.wechat_openid"),
        ("attributes['consent_marketing']", "attributes.consent_marketing"),
        ("referred_by[0].value", "referred_by.phone")]
    clean = lenient(rules, RawRecord("crm", "1", None, (PHONE,), {"name": "张伟"}))
    assert prepared.fingerprint == clean.fingerprint  # what was dropped is not content
    with pytest.raises(InvalidInput) as exc:
        prepare(rules, raw)
    assert len(exc.value.violations) == 6


def test_a_one_per_person_conflict_inside_a_record_drops_those_values(rules: Rules) -> None:
    raw = RawRecord("dms", "1", None, (PHONE, RawIdentifier("id_card", "11010519491231002X"),
                                       RawIdentifier("id_card", "130503670401001")))
    prepared = lenient(rules, raw)
    assert [k.type for k in prepared.identifiers] == ["phone"]
    assert dropped(prepared) == [("identifiers", "identifiers.id_card")]
    assert "2 different id_card values" in prepared.dropped[0].description


def test_only_structurally_broken_records_are_refused(rules: Rules) -> None:
    for raw, field in (
            (RawRecord("", "1", None, (PHONE,)), "source"),
            (RawRecord("crm", " ", None, (PHONE,)), "source_record_id"),
            (RawRecord("crm", "1", None, (RawIdentifier("phone", "12345678901"),)),
             "identifiers"),
            (RawRecord("crm", "1", None, (RawIdentifier("device_id", "0" * 16),)),
             "identifiers"),
    ):
        with pytest.raises(InvalidInput) as exc:
            lenient(rules, raw)
        assert fields(exc) == [field]
    with pytest.raises(InvalidInput, match=r"nothing to resolve.*invalid phone"):
        lenient(rules, RawRecord("crm", "1", None, (RawIdentifier("phone", "12345678901"),)))
    with pytest.raises(InvalidInput, match="more than 4 identifiers"):  # bounds still hold
        lenient(rules, RawRecord("crm", "1", None, (PHONE,) * 5), Limits(max_identifiers=4))
    only_attributes = lenient(rules, RawRecord("crm", "1", None, (), {"dealer": "SZ004"}))
    assert only_attributes.identifiers == () and only_attributes.dealers == ("SZ004",)


# --- ownership: one owner of one car from one month on ------------------------------------

def _owner(since: datetime | None, relation: str = "OWNER", source: str = "dms") -> RawRecord:
    return RawRecord(source, "1", None, (PHONE,), vehicles=(RawVehicle(
        " ljcpcblcx11000237 ", relation, model="Model-E5", since=since),))


def ownerships(prepared) -> list[str]:  # type: ignore[no-untyped-def]
    return [k.value for k in prepared.identifiers if k.type == "ownership"]


def test_an_owner_mention_with_a_start_date_is_an_ownership_identifier(rules: Rules) -> None:
    # Month precision and a day in the same month, as two exports write one purchase: the
    # month is read in the local zone (2021-07-01 00:00 in Shanghai is 2021-06-30 UTC).
    month = datetime(2021, 6, 30, 16, 0, tzinfo=UTC)
    day = datetime(2021, 7, 15, 2, 0, tzinfo=UTC)
    assert ownerships(prepare(rules, _owner(month))) == ["LJCPCBLCX11000237@2021-07"]
    assert ownerships(prepare(rules, _owner(day))) == ["LJCPCBLCX11000237@2021-07"]
    # The next owner after a transfer holds another ownership of the same car.
    assert ownerships(prepare(rules, _owner(datetime(2023, 3, 1, tzinfo=UTC)))) == [
        "LJCPCBLCX11000237@2023-03"]


@pytest.mark.parametrize(("since", "relation"), [
    (None, "OWNER"),  # no start date: which ownership is unknown
    (datetime(2021, 7, 1, tzinfo=UTC), "SERVICE"),  # a relative servicing the car
    (datetime(2021, 7, 1, tzinfo=UTC), "TEST_DRIVE"),  # a demo car
    (datetime(2021, 7, 1, tzinfo=UTC), "DRIVER"),
])
def test_only_owner_mentions_with_a_start_date_name_an_ownership(
        rules: Rules, since: datetime | None, relation: str) -> None:
    assert ownerships(prepare(rules, _owner(since, relation))) == []


def test_an_ownership_sent_as_an_identifier_is_normalized_and_checked(rules: Rules) -> None:
    good = RawRecord("x", "1", None, (RawIdentifier("ownership", "ljcpcblcx11000237@2021-07"),))
    assert ownerships(prepare(rules, good)) == ["LJCPCBLCX11000237@2021-07"]
    bad = RawRecord("x", "1", None, (PHONE, RawIdentifier("ownership", "LJCPCBLCX11000237")))
    with pytest.raises(InvalidInput) as exc:
        prepare(rules, bad)
    assert fields(exc) == ["record.identifiers[1].value"]


def test_a_dealer_blocks_without_a_comparison(rules: Rules) -> None:
    drive = record(rules, ("phone", "13912345678"), name="郭子轩", dealer=" cd002 ")
    service = record(rules, ("phone", "13912345679"), key="r2", name="郭子軒", dealer="CD002")
    dealer_keys = [k for k in drive.blocking_keys if "dealer" in k.type]
    assert dealer_keys and dealer_keys == [k for k in service.blocking_keys if "dealer" in k.type]

