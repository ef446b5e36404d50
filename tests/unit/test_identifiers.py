"""Normalization and validation of every identifier format (DOMAIN.md cases 1-10)."""

from __future__ import annotations

import pytest

from idgraph.domain.identifiers import (
    BadIdentifier,
    FormatOptions,
    IdentifierFormat,
    id_card_facts,
    keyed_hash,
    normalize,
)

OPTS = FormatOptions()


def norm(fmt: str, raw: str) -> str | None:
    return normalize(IdentifierFormat(fmt), raw, OPTS)


@pytest.mark.parametrize(("fmt", "raw", "expected"), [
    ("phone", "+86 138-0013-8000", "13800138000"),  # case 1
    ("phone", "0086 13912345678", "13912345678"),
    ("phone", "86-139 1234 5678", "13912345678"),
    ("phone", "(139)12345678", "13912345678"),
    ("landline", "010-62265678", "010-62265678"),  # case 3
    ("landline", "(0755) 8888 9999", "0755-88889999"),
    ("landline", "+86 10 62265678", "010-62265678"),
    ("landline", "0571-88888888-123", "0571-88888888#123"),
    ("email", "John.Doe+cdp@GoogleMail.com", "johndoe@gmail.com"),  # case 4
    ("email", "Zhang.San+x@163.com", "zhang.san+x@163.com"),
    ("email", " Li.Si@QQ.com ", "li.si@qq.com"),
    ("vin", " 1m8gdm9axkp042788 ", "1M8GDM9AXKP042788"),  # case 5
    ("vin", "LJCPCBLCX11000237", "LJCPCBLCX11000237"),
    ("id_card", "11010519491231002x", "11010519491231002X"),  # case 7
    ("id_card", "130503670401001", "130503196704010016"),  # case 8
    ("device_id", "490154203237518", "490154203237518"),  # case 9
    ("device_id", "6F9619FF-8B86-D011-B42D-00C04FC964FF", "6f9619ff-8b86-d011-b42d-00c04fc964ff"),
    ("device_id", "6f9619ff-8b86-d011-b42d-00c04fc964ff", "6f9619ff-8b86-d011-b42d-00c04fc964ff"),
    ("device_id", " 3F2A9C0B1D4E5F60 ", "3f2a9c0b1d4e5f60"),  # OAID (Xiaomi) / Android ID: 16 hex
    ("device_id", "a" * 64, "a" * 64),  # OAID: up to 64 hex digits
    ("device_id", "6F9619FF8B86D011B42D00C04FC964FF", "6f9619ff-8b86-d011-b42d-00c04fc964ff"),
    ("plate", "粤b·12345", "粤B12345"),  # case 10
    ("plate", "粤BD12345", "粤BD12345"),
    ("plate", "粤B12345D", "粤B12345D"),
    ("opaque", "  oABC123 ", "oABC123"),
])
def test_normalizes(fmt: str, raw: str, expected: str) -> None:
    assert norm(fmt, raw) == expected


@pytest.mark.parametrize(("fmt", "raw"), [
    ("phone", "12345678901"),  # case 2
    ("phone", "1391234567"),
    ("phone", "010-62265678"),  # a landline is never a mobile (case 3)
    ("landline", "13800138000"),
    ("email", "no-at-sign"),
    ("email", "a@nodot"),
    ("vin", "1M8GDM9A1KP042788"),  # bad check digit (case 5)
    ("vin", "1M8GDM9AXKP04278O"),  # letter O (case 6)
    ("vin", "11111111111111111"),  # one repeated character (case 6)
    ("vin", "1M8GDM9AXKP04278"),  # 16 characters
    ("id_card", "360426199101010072"),  # bad check character (case 8)
    ("id_card", "110105194913310028"),  # month 13
    ("device_id", "490154203237517"),  # Luhn (case 9)
    ("device_id", "not-a-device"),
    ("device_id", "3f2a9c0b1d4e5f6"),  # 15 hex digits, not all decimal: no format
    ("device_id", "a" * 65),
    ("device_id", "3f2a9c0b1d4e5f6g"),
    ("plate", "京AO1234"),  # letter O (case 10)
    ("plate", "粤B1234"),
    ("opaque", "   "),
])
def test_rejects(fmt: str, raw: str) -> None:
    with pytest.raises(BadIdentifier):
        norm(fmt, raw)


@pytest.mark.parametrize("raw", ["000000000000000", "00000000-0000-0000-0000-000000000000",
                                 "0000000000000000"])
def test_all_zero_device_ids_are_no_value(raw: str) -> None:
    assert norm("device_id", raw) is None


def test_id_card_facts_birth_and_gender() -> None:
    born, gender = id_card_facts("11010519491231002X")
    assert (born.isoformat(), gender) == ("1949-12-31", "F")


def test_mobile_pattern_is_configurable() -> None:
    opts = FormatOptions(mobile_pattern=r"^1[3-9]\d{9}$|^19\d{9}$")
    assert normalize(IdentifierFormat.PHONE, "12345678901", FormatOptions(
        mobile_pattern=r"^12\d{9}$")) == "12345678901"
    assert normalize(IdentifierFormat.PHONE, "19912345678", opts) == "19912345678"


def test_overlong_values_are_rejected_before_parsing() -> None:
    with pytest.raises(BadIdentifier, match="longer than"):
        normalize(IdentifierFormat.OPAQUE, "x" * 300, FormatOptions(max_length=256))


def test_keyed_hash_depends_on_secret_and_type() -> None:
    a = keyed_hash(b"k1", "id_card", "11010519491231002X")
    assert a != keyed_hash(b"k2", "id_card", "11010519491231002X")
    assert a != keyed_hash(b"k1", "other", "11010519491231002X")
    assert "11010519491231002X" not in a and len(a) == 64
