"""Normalize and validate identifier values, one function per format.

Each normalizer returns the canonical value, or ``None`` when the input is a
"no value" marker (an all-zero device id), and raises ``BadIdentifier`` when the
value is malformed. Nothing here knows about storage or the wire.
"""

from __future__ import annotations

import hashlib
import hmac
import re
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from datetime import date, datetime, tzinfo
from enum import StrEnum

from stdnum import imei as stdnum_imei


class BadIdentifier(ValueError):
    """A value that does not have the shape or check digit of its format."""


class IdentifierFormat(StrEnum):
    """How values of an identifier type are normalized and validated."""

    PHONE = "phone"
    LANDLINE = "landline"
    EMAIL = "email"
    OPAQUE = "opaque"
    ID_CARD = "id_card"
    DEVICE_ID = "device_id"
    VIN = "vin"
    PLATE = "plate"
    OWNERSHIP = "ownership"


DEFAULT_MOBILE_PATTERN = r"^1[3-9]\d{9}$"
DEFAULT_PLATE_PROVINCES = "京津沪渝冀豫云辽黑湘皖鲁新苏浙赣鄂桂甘晋蒙陕吉闽贵粤青藏川宁琼使领"
DEFAULT_PLATE_LETTERS = "ABCDEFGHJKLMNPQRSTUVWXYZ"


@dataclass(frozen=True)
class FormatOptions:
    """Per-type knobs from the rules file."""

    mobile_pattern: str = DEFAULT_MOBILE_PATTERN
    plate_provinces: str = DEFAULT_PLATE_PROVINCES
    plate_letters: str = DEFAULT_PLATE_LETTERS
    max_length: int = 256
    _compiled: dict[str, re.Pattern[str]] = field(default_factory=dict, compare=False, repr=False)

    def pattern(self, regex: str) -> re.Pattern[str]:
        """Compile and cache a regex used by a normalizer."""
        compiled = self._compiled.get(regex)
        if compiled is None:
            compiled = re.compile(regex)
            self._compiled[regex] = compiled
        return compiled


_PHONE_NOISE = re.compile(r"[\s\-().]")


def normalize_phone(raw: str, opts: FormatOptions) -> str:
    """Mainland mobile: drop separators and a +86/0086/86 prefix, then check the pattern."""
    digits = _PHONE_NOISE.sub("", raw.strip())
    for prefix in ("+86", "0086", "86"):
        if digits.startswith(prefix) and len(digits) - len(prefix) == 11:
            digits = digits[len(prefix):]
            break
    if not opts.pattern(opts.mobile_pattern).fullmatch(digits):
        raise BadIdentifier(f"not a mainland mobile number: {raw!r}")
    return digits


# Area codes: 010 and 02x have two digits after the 0, every other code (03xx-09xx) three.
_LANDLINE = re.compile(r"^(0[12]\d|0[3-9]\d{2})-?(\d{7,8})(?:(?:-|#|转|ext)(\d{1,6}))?$")


def normalize_landline(raw: str, opts: FormatOptions) -> str:
    """Landline: area code + 7-8 digits, optional extension -> ``010-62265678`` / ``...#12``."""
    compact = re.sub(r"[\s()]", "", raw.strip()).lower()
    for prefix in ("+86-", "+86", "0086-", "0086"):
        if compact.startswith(prefix):
            compact = compact[len(prefix):]
            compact = compact if compact.startswith("0") else "0" + compact
            break
    match = _LANDLINE.fullmatch(compact)
    if not match:
        raise BadIdentifier(f"not a landline (area code + 7-8 digits): {raw!r}")
    area, number, extension = match.groups()
    return f"{area}-{number}" + (f"#{extension}" if extension else "")


_EMAIL = re.compile(r"^[^@\s]+@[^@\s]+\.[^@\s]+$")
_GMAIL_DOMAINS = {"gmail.com", "googlemail.com"}


def normalize_email(raw: str, opts: FormatOptions) -> str:
    """Trim and lowercase; only Gmail ignores dots and ``+tags`` so only Gmail drops them."""
    value = raw.strip().lower()
    if not _EMAIL.fullmatch(value):
        raise BadIdentifier(f"not an email address: {raw!r}")
    local, _, domain = value.rpartition("@")
    if domain in _GMAIL_DOMAINS:
        local = local.split("+", 1)[0].replace(".", "")
        domain = "gmail.com"
        if not local:
            raise BadIdentifier(f"not an email address: {raw!r}")
    return f"{local}@{domain}"


def normalize_opaque(raw: str, opts: FormatOptions) -> str:
    """Opaque ids (openid, unionid, CRM ids) are compared as given, trimmed."""
    value = raw.strip()
    if not value:
        raise BadIdentifier("empty value")
    return value


_ID_CARD_WEIGHTS = (7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2)


def id_card_check_char(first17: str) -> str:
    """GB 11643-1999 check character of the first 17 digits."""
    total = sum(int(d) * w for d, w in zip(first17, _ID_CARD_WEIGHTS, strict=True))
    return "10X98765432"[total % 11]


def normalize_id_card(raw: str, opts: FormatOptions) -> str:
    """Resident ID: uppercase ``x``, widen 15 digits to 18, check the date and check character."""
    value = raw.strip().upper()
    if re.fullmatch(r"\d{15}", value):
        body = value[:6] + "19" + value[6:]
        value = body + id_card_check_char(body)
    if not re.fullmatch(r"\d{17}[\dX]", value):
        raise BadIdentifier("a resident ID has 18 characters (or 15 digits)")
    # Checked by hand rather than with stdnum.cn.ric.validate: stdnum also requires the
    # area code to be in its own table, which rejects valid IDs from re-coded districts.
    try:
        born = date(int(value[6:10]), int(value[10:12]), int(value[12:14]))
    except ValueError:
        raise BadIdentifier("resident ID carries an impossible birth date") from None
    if born.year < 1870:
        raise BadIdentifier("resident ID carries an impossible birth date")
    if value[17] != id_card_check_char(value[:17]):
        raise BadIdentifier("resident ID check character does not match")
    return value


def id_card_facts(normalized: str) -> tuple[date, str]:
    """Birth date and gender ("M"/"F") encoded in a valid 18-character resident ID."""
    born = date(int(normalized[6:10]), int(normalized[10:12]), int(normalized[12:14]))
    return born, "M" if int(normalized[16]) % 2 else "F"


_UUID = re.compile(r"^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$")
_HEX_RUN = re.compile(r"^[0-9a-f]{16,64}$")


def normalize_device_id(raw: str, opts: FormatOptions) -> str | None:
    """A device id as issued, hex lowercased; all zeros means "no value".

    IMEI: 15 digits with a Luhn check. OAID: a UUID (Huawei, Honor) or a run of 16 to 64 hex
    digits (Xiaomi and others). IDFA: a UUID in any case. Android ID: 16 hex digits. A run of
    32 hex digits is written as the UUID it spells, as before."""
    value = raw.strip().lower()
    if value and set(value) <= {"0", "-"}:
        return None
    if re.fullmatch(r"\d{15}", value):
        if not stdnum_imei.is_valid(value):
            raise BadIdentifier("IMEI fails its Luhn check digit")
        return value
    if re.fullmatch(r"[0-9a-f]{32}", value):
        return f"{value[:8]}-{value[8:12]}-{value[12:16]}-{value[16:20]}-{value[20:]}"
    if _UUID.fullmatch(value) or _HEX_RUN.fullmatch(value):
        return value
    raise BadIdentifier("a device id is a UUID (OAID, IDFA), 16 to 64 hex digits (OAID, "
                        "Android ID) or a 15-digit IMEI")


_VIN_VALUES = {
    **{str(d): d for d in range(10)},
    **dict(zip("ABCDEFGH", range(1, 9), strict=True)),
    **dict(zip("JKLMN", range(1, 6), strict=True)),
    "P": 7, "R": 9,
    **dict(zip("STUVWXYZ", range(2, 10), strict=True)),
}
_VIN_WEIGHTS = (8, 7, 6, 5, 4, 3, 2, 10, 0, 9, 8, 7, 6, 5, 4, 3, 2)


def vin_check_char(vin: str) -> str:
    """ISO 3779 / FMVSS 115 check character (position 9) of a 17-character VIN."""
    total = sum(_VIN_VALUES[c] * w for c, w in zip(vin, _VIN_WEIGHTS, strict=True))
    remainder = total % 11
    return "X" if remainder == 10 else str(remainder)


def normalize_vin(raw: str, opts: FormatOptions) -> str:
    """VIN: trim, uppercase, drop spaces; 17 characters, no I/O/Q, valid check digit."""
    value = re.sub(r"\s", "", raw).upper()
    if len(value) != 17:
        raise BadIdentifier(f"a VIN has 17 characters, got {len(value)}")
    bad = sorted(set(value) - set(_VIN_VALUES))
    if bad:
        raise BadIdentifier(f"a VIN never contains {''.join(bad)}")
    if len(set(value)) == 1:
        raise BadIdentifier("a VIN of one repeated character is a placeholder")
    if value[8] != vin_check_char(value):
        raise BadIdentifier("VIN check digit (position 9) does not match")
    return value


def normalize_plate(raw: str, opts: FormatOptions) -> str:
    """Licence plate: uppercase, drop ``·`` and spaces; regular or new-energy shape."""
    value = re.sub(r"[\s·•.\-]", "", raw).upper()
    letters = re.escape(opts.plate_letters)
    province = f"[{re.escape(opts.plate_provinces)}]"
    tail = f"[{letters}0-9]"
    shapes = (
        f"^{province}[{letters}]{tail}{{5}}$",  # regular: 5 characters
        f"^{province}[{letters}][DF]{tail}{{5}}$",  # small new-energy: D/F + 5
        f"^{province}[{letters}]{tail}{{5}}[DF]$",  # large new-energy: 5 + D/F
    )
    if not any(opts.pattern(shape).fullmatch(value) for shape in shapes):
        raise BadIdentifier(f"not a licence plate: {raw!r}")
    return value


_MONTH = re.compile(r"^(\d{4})-(0[1-9]|1[0-2])$")


def normalize_ownership(raw: str, opts: FormatOptions) -> str:
    """One ownership of a vehicle, ``VIN@YYYY-MM`` (the VIN and the month it began): one
    person's, whoever else later owns, drives or services the car. Derived from OWNER
    mentions with a start date; a client may send it too."""
    vin, _, month = raw.strip().partition("@")
    if not _MONTH.fullmatch(month.strip()):
        raise BadIdentifier(f"not VIN@YYYY-MM: {raw!r}")
    return f"{normalize_vin(vin, opts)}@{month.strip()}"


def ownership_value(vin: str, since: datetime, zone: tzinfo) -> str:
    """The ownership identifier of a VIN owned since a time (its month in the local zone,
    so that 2021-07 and 2021-07-15 name the same ownership)."""
    return f"{vin}@{since.astimezone(zone):%Y-%m}"


def other_ownership(left: Iterable[str], right: Iterable[str]) -> bool:
    """True when two sets of ownership values own one car from different months (a used
    car's two owners), whatever else they own."""
    since_a, since_b = _months_by_vin(left), _months_by_vin(right)
    return any(since_a[vin].isdisjoint(since_b[vin]) for vin in since_a.keys() & since_b.keys())


def _months_by_vin(values: Iterable[str]) -> dict[str, set[str]]:
    found: dict[str, set[str]] = {}
    for value in values:
        vin, _, month = value.partition("@")
        found.setdefault(vin, set()).add(month)
    return found


Normalizer = Callable[[str, FormatOptions], "str | None"]

NORMALIZERS: dict[IdentifierFormat, Normalizer] = {
    IdentifierFormat.PHONE: normalize_phone,
    IdentifierFormat.LANDLINE: normalize_landline,
    IdentifierFormat.EMAIL: normalize_email,
    IdentifierFormat.OPAQUE: normalize_opaque,
    IdentifierFormat.ID_CARD: normalize_id_card,
    IdentifierFormat.DEVICE_ID: normalize_device_id,
    IdentifierFormat.VIN: normalize_vin,
    IdentifierFormat.PLATE: normalize_plate,
    IdentifierFormat.OWNERSHIP: normalize_ownership,
}


def normalize(fmt: IdentifierFormat, raw: str, opts: FormatOptions) -> str | None:
    """Normalize ``raw`` in ``fmt``; ``None`` means the value stands for "no value"."""
    if len(raw) > opts.max_length:
        raise BadIdentifier(f"longer than {opts.max_length} characters")
    return NORMALIZERS[fmt](raw, opts)


def keyed_hash(secret: bytes, type_name: str, value: str) -> str:
    """HMAC-SHA256 of a sensitive value, keyed by the configured secret and its type."""
    return hmac.new(secret, f"{type_name}\x1f{value}".encode(), hashlib.sha256).hexdigest()
