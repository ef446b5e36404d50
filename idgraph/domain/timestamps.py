"""Times as exports write them: month or day precision, local times without a zone, RFC 3339,
epoch seconds or milliseconds. Batch readers (JSON Lines, CSV, Parquet) share this one parser.
"""

from __future__ import annotations

import re
from datetime import UTC, datetime, tzinfo

# 2021-07, 2021/7/15, 2021.07.15 08:30, 2021年7月15日 8:30:00
_LOCAL = re.compile(r"(\d{4})[-/.年](\d{1,2})(?:[-/.月](\d{1,2})日?"
                    r"(?:[ T]+(\d{1,2}):(\d{2})(?::(\d{2})(?:\.(\d{1,9}))?)?)?)?月?")
_EPOCH_SECONDS_FROM = 10**8  # 1973-03: smaller numbers are not times of this domain
_EPOCH_MILLIS_FROM = 10**11  # seconds up to 5138, millis from 1973
_EPOCH_MILLIS_UNTIL = 10**14


def parse_timestamp(value: object, zone: tzinfo) -> datetime:
    """An aware UTC datetime from a time as exports write it.

    Accepted: RFC 3339 / ISO 8601 (``2021-07-15T08:30:00Z``, ``2021-07-15 08:30:00``),
    month or day precision (``2021-07``, ``2021-07-15``, ``2021/07/15``, ``20210715``),
    epoch seconds or milliseconds (numbers or digit strings). A time without a zone is a
    local time in ``zone``; a date is its midnight, a month its first day.

    Raises:
        ValueError: the value is none of these.
    """
    if isinstance(value, bool) or not isinstance(value, int | float | str):
        raise ValueError(f"not a time: {value!r}")
    if isinstance(value, int | float):
        return _from_number(value, zone)
    text = value.strip()
    if text.isdigit():
        return _from_number(int(text), zone)
    try:
        parsed = datetime.fromisoformat(text)
    except ValueError:
        parsed = _local(text)
    return (parsed if parsed.tzinfo else parsed.replace(tzinfo=zone)).astimezone(UTC)


def _from_number(number: float, zone: tzinfo) -> datetime:
    if number == int(number) and 10**7 <= number < 10**8:  # 20210715: a date, not 1970
        return _local(str(int(number))).replace(tzinfo=zone).astimezone(UTC)
    if _EPOCH_SECONDS_FROM <= number < _EPOCH_MILLIS_FROM:
        return datetime.fromtimestamp(number, UTC)
    if _EPOCH_MILLIS_FROM <= number < _EPOCH_MILLIS_UNTIL:
        return datetime.fromtimestamp(number / 1000, UTC)
    raise ValueError(f"not a time: {number!r} (epoch seconds or milliseconds from 1973)")


def _local(text: str) -> datetime:
    if re.fullmatch(r"\d{8}", text):
        text = f"{text[:4]}-{text[4:6]}-{text[6:]}"
    match = _LOCAL.fullmatch(text)
    if match is None:
        raise ValueError(f"not a time: {text[:40]!r} (RFC 3339, 2021-07, 2021-07-15, "
                         "2021/07/15, 2021-07-15 08:30:00 or epoch seconds/millis)")
    year, month, day, hour, minute, second, fraction = match.groups()
    micros = int((fraction or "0")[:6].ljust(6, "0"))
    try:
        return datetime(int(year), int(month), int(day or 1), int(hour or 0),
                        int(minute or 0), int(second or 0), micros)
    except ValueError as exc:
        raise ValueError(f"not a time: {text[:40]!r} ({exc})") from None
