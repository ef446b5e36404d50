"""Attribute comparators: each answers the level two values agree at ("" = no basis)."""

from __future__ import annotations

import re
from collections.abc import Callable
from datetime import date

from rapidfuzz import fuzz

from idgraph.domain.names import compare_names, parse_name
from idgraph.domain.rules import Comparator

_DATE = re.compile(r"^(\d{4})[-/.年]?(\d{1,2})[-/.月]?(\d{1,2})日?$")


def parse_date(raw: str) -> date | None:
    """Parse ``1990-01-31``, ``1990/1/31``, ``19900131`` or ``1990年1月31日``."""
    match = _DATE.fullmatch(raw.strip())
    if not match:
        return None
    try:
        return date(int(match[1]), int(match[2]), int(match[3]))
    except ValueError:
        return None


def compare_dates(left: str, right: str) -> str:
    """exact, swapped (day and month transposed), year (same year only) or disagree."""
    a, b = parse_date(left), parse_date(right)
    if a is None or b is None:
        return ""
    if a == b:
        return "exact"
    if a.year == b.year and a.month == b.day and a.day == b.month:
        return "swapped"
    if a.year == b.year:
        return "year"
    return "disagree"


_GENDERS = {"m": "M", "male": "M", "男": "M", "1": "M", "f": "F", "female": "F", "女": "F",
            "2": "F"}


def canonical_gender(raw: str) -> str:
    """``M``/``F`` for the usual spellings, "" otherwise."""
    return _GENDERS.get(raw.strip().lower(), "")


def compare_genders(left: str, right: str) -> str:
    """exact or disagree on canonical gender."""
    a, b = canonical_gender(left), canonical_gender(right)
    if not a or not b:
        return ""
    return "exact" if a == b else "disagree"


def _fold(raw: str) -> str:
    return "".join(raw.split()).casefold()


def compare_exact(left: str, right: str) -> str:
    """exact or disagree after trimming, dropping spaces and case-folding."""
    a, b = _fold(left), _fold(right)
    if not a or not b:
        return ""
    return "exact" if a == b else "disagree"


def compare_text(left: str, right: str) -> str:
    """exact, fuzzy (token-set similarity >= 90) or disagree; for addresses."""
    a, b = _fold(left), _fold(right)
    if not a or not b:
        return ""
    if a == b:
        return "exact"
    return "fuzzy" if fuzz.token_set_ratio(left.casefold(), right.casefold()) >= 90 else "disagree"


COMPARATORS: dict[Comparator, Callable[[str, str], str]] = {
    Comparator.EXACT: compare_exact,
    Comparator.NAME: compare_names,
    Comparator.DATE: compare_dates,
    Comparator.GENDER: compare_genders,
    Comparator.TEXT: compare_text,
}


def blocking_value(comparator: Comparator, raw: str) -> str:
    """Canonical form of an attribute inside a blocking key; "" when it cannot block."""
    if comparator is Comparator.NAME:
        return parse_name(raw).full
    if comparator is Comparator.DATE:
        parsed = parse_date(raw)
        return parsed.isoformat() if parsed else ""
    if comparator is Comparator.GENDER:
        return canonical_gender(raw)
    return _fold(raw)
