"""The one time parser of batch inputs: what it accepts and what it refuses."""

from __future__ import annotations

from datetime import UTC, datetime
from zoneinfo import ZoneInfo

import pytest

from idgraph.domain.timestamps import parse_timestamp

SHANGHAI = ZoneInfo("Asia/Shanghai")


@pytest.mark.parametrize(("value", "expected"), [
    ("2021-07", datetime(2021, 6, 30, 16, tzinfo=UTC)),
    ("2021年7月15日", datetime(2021, 7, 14, 16, tzinfo=UTC)),
    ("2021.07.15 8:30", datetime(2021, 7, 15, 0, 30, tzinfo=UTC)),
    ("2021-07-15 08:30:00.5", datetime(2021, 7, 15, 0, 30, 0, 500000, tzinfo=UTC)),
    ("2021-07-15T08:30:00+08:00", datetime(2021, 7, 15, 0, 30, tzinfo=UTC)),
    (20210715, datetime(2021, 7, 14, 16, tzinfo=UTC)),  # a date written as a number
    (1626309000.5, datetime(2021, 7, 15, 0, 30, 0, 500000, tzinfo=UTC)),
])
def test_accepts(value: object, expected: datetime) -> None:
    assert parse_timestamp(value, SHANGHAI) == expected


@pytest.mark.parametrize("value", ["", "yesterday", "2021-13", "2021-02-30", "15/07/2021",
                                   0, 12345, 10**15, True, None, [2021]])
def test_refuses(value: object) -> None:
    with pytest.raises(ValueError, match="not a time"):
        parse_timestamp(value, SHANGHAI)


def test_the_zone_of_naive_times_is_a_setting(monkeypatch: pytest.MonkeyPatch) -> None:
    from pydantic import ValidationError

    from idgraph.config import Settings

    assert Settings().zone == SHANGHAI
    monkeypatch.setenv("IDGRAPH_TIMEZONE", "Europe/Berlin")
    assert Settings().zone == ZoneInfo("Europe/Berlin")
    monkeypatch.setenv("IDGRAPH_TIMEZONE", "Mars/Olympus")
    with pytest.raises(ValidationError, match="unknown time zone"):
        Settings()
