"""Attribute comparators: each answers the level two values agree at ("" = no basis)."""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Callable, Mapping, Sequence
from datetime import date
from functools import lru_cache
from typing import Any

import numpy as np
import numpy.typing as npt
from rapidfuzz import fuzz
from rapidfuzz.distance import DamerauLevenshtein, JaroWinkler
from rapidfuzz.process import cdist, cpdist

from idgraph.domain.names import HAN as _HAN
from idgraph.domain.names import compare_names, parse_name, t2s
from idgraph.domain.rules import Comparator

_DATE = re.compile(r"^(\d{4})[-/.年]?(\d{1,2})[-/.月]?(\d{1,2})日?$")


@lru_cache(maxsize=65536)
def parse_date(raw: str) -> date | None:
    """Parse ``1990-01-31``, ``1990/1/31``, ``19900131`` or ``1990年1月31日``."""
    match = _DATE.fullmatch(raw.strip())
    if not match:
        return None
    try:
        return date(int(match[1]), int(match[2]), int(match[3]))
    except ValueError:
        return None


def compare_dates(left: str, right: str, cutoffs: Sequence[float] = ()) -> str:
    """exact, swapped (day and month transposed), typo (one digit or one adjacent pair
    differs), year (same year only) or disagree."""
    a, b = parse_date(left), parse_date(right)
    if a is None or b is None:
        return ""
    if a == b:
        return "exact"
    if a.year == b.year and a.month == b.day and a.day == b.month:
        return "swapped"
    if DamerauLevenshtein.distance(_digits(a), _digits(b)) <= 1:
        return "typo"
    if a.year == b.year:
        return "year"
    return "disagree"


@lru_cache(maxsize=65536)
def _digits(value: date) -> str:
    return f"{value.year:04d}{value.month:02d}{value.day:02d}"


_GENDERS = {"m": "M", "male": "M", "男": "M", "1": "M", "f": "F", "female": "F", "女": "F",
            "2": "F"}


def canonical_gender(raw: str) -> str:
    """``M``/``F`` for the usual spellings, "" otherwise."""
    return _GENDERS.get(raw.strip().lower(), "")


def compare_genders(left: str, right: str, cutoffs: Sequence[float] = ()) -> str:
    """exact or disagree on canonical gender."""
    a, b = canonical_gender(left), canonical_gender(right)
    if not a or not b:
        return ""
    return "exact" if a == b else "disagree"


def _fold(raw: str) -> str:
    return "".join(raw.split()).casefold()


def compare_exact(left: str, right: str, cutoffs: Sequence[float] = ()) -> str:
    """exact or disagree after trimming, dropping spaces and case-folding."""
    a, b = _fold(left), _fold(right)
    if not a or not b:
        return ""
    return "exact" if a == b else "disagree"


_CITY_SUFFIXES = ("市", "地区", "盟")


@lru_cache(maxsize=4096)
def canonical_city(raw: str) -> str:
    """A city as exports spell it, folded: simplified Hanzi, no spaces, no trailing 市
    (上海市 = 上海 = 上海 市), case-folded Latin."""
    value = t2s(_fold(raw))
    for suffix in _CITY_SUFFIXES:
        if value.endswith(suffix) and len(value) > len(suffix) + 1:
            return value[: -len(suffix)]
    return value


def compare_cities(left: str, right: str, cutoffs: Sequence[float] = ()) -> str:
    """exact or disagree on the canonical city (上海市 = 上海)."""
    a, b = canonical_city(left), canonical_city(right)
    if not a or not b:
        return ""
    return "exact" if a == b else "disagree"


def compare_text(left: str, right: str, cutoffs: Sequence[float] = (90.0,)) -> str:
    """exact, fuzzy (token-set similarity >= cut-off, 0-100) or disagree."""
    a, b = _fold(left), _fold(right)
    if not a or not b:
        return ""
    if a == b:
        return "exact"
    score = fuzz.token_set_ratio(left.casefold(), right.casefold())
    return "fuzzy" if score >= cutoffs[0] else "disagree"


_ADDRESS_NOISE = re.compile(r"[\s,.，。、#\-—_/()（）·]")


@lru_cache(maxsize=65536)
def canonical_address(raw: str) -> str:
    """An address reduced for comparison: simplified Hanzi, half-width, case-folded, with
    spaces and punctuation removed."""
    text = unicodedata.normalize("NFKC", raw)
    if _HAN.search(text):
        text = t2s(text)
    return _ADDRESS_NOISE.sub("", text.casefold())


def compare_addresses(left: str, right: str, cutoffs: Sequence[float] = (90.0, 75.0)) -> str:
    """exact, close, similar or disagree for free-text addresses (Chinese or Latin script).

    close: one address contains the other (a building left off) or similarity >= the first
    cut-off; similar: similarity >= the second. Similarity is rapidfuzz's ratio on the
    canonical form, and token-set ratio for addresses written with spaces.
    """
    a, b = canonical_address(left), canonical_address(right)
    if not a or not b:
        return ""
    if a == b:
        return "exact"
    shorter, longer = sorted((a, b), key=len)
    similarity = max(fuzz.ratio(a, b),
                     fuzz.token_set_ratio(left.casefold(), right.casefold()))
    if (len(shorter) >= 6 and shorter in longer) or similarity >= cutoffs[0]:
        return "close"
    if len(cutoffs) > 1 and similarity >= cutoffs[1]:
        return "similar"
    return "disagree"


_BANDS = ("close", "similar", "distant")


def _banded(left: str, right: str, cutoffs: Sequence[float], similarity: bool) -> str:
    a, b = _fold(left), _fold(right)
    if not a or not b:
        return ""
    if a == b:
        return "exact"
    if similarity:
        value = JaroWinkler.similarity(a, b)
        reached = [value >= cutoff for cutoff in cutoffs]
    else:
        distance = DamerauLevenshtein.distance(a, b)
        reached = [distance <= cutoff for cutoff in cutoffs]
    return next((level for level, ok in zip(_BANDS, reached, strict=False) if ok), "disagree")


def compare_jaro_winkler(left: str, right: str,
                         cutoffs: Sequence[float] = (0.92, 0.88, 0.7)) -> str:
    """exact, then close / similar / distant at Jaro-Winkler similarity cut-offs, else
    disagree (case-folded, spaces dropped)."""
    return _banded(left, right, cutoffs, similarity=True)


def compare_edit_distance(left: str, right: str, cutoffs: Sequence[float] = (1, 2)) -> str:
    """exact, then close / similar at Damerau-Levenshtein distance cut-offs, else disagree."""
    return _banded(left, right, cutoffs, similarity=False)


def fold(raw: str) -> str:
    """Trimmed, case-folded, spaces dropped: the form exact and fuzzy string levels use."""
    return _fold(raw)


_SCORERS: dict[Comparator, Any] = {Comparator.JARO_WINKLER: JaroWinkler.similarity,
                                   Comparator.EDIT_DISTANCE: DamerauLevenshtein.distance}


def band_levels(comparator: Comparator, cutoffs: Sequence[float], scores: npt.NDArray[Any],
                index: Mapping[str, int]) -> npt.NDArray[np.int8]:
    """Level indexes of string-distance scores (any shape), exact left aside: the best
    fuzzy band each score reaches, else disagree (-1 where a level is not configured)."""
    if comparator is Comparator.JARO_WINKLER:
        passes = [scores >= cutoff for cutoff in cutoffs]
    else:
        passes = [scores <= cutoff for cutoff in cutoffs]
    result = np.full(scores.shape, index.get("disagree", -1), dtype=np.int8)
    for name, passing in reversed(list(zip(_BANDS, passes, strict=False))):
        result[passing] = index.get(name, -1)
    return result


def string_distances(comparator: Comparator, values: Sequence[str]) -> npt.NDArray[Any]:
    """Every pair's Jaro-Winkler similarity or Damerau-Levenshtein distance, in C, on every
    core (training builds these matrices; nothing else runs then)."""
    return cdist(values, values, scorer=_SCORERS[comparator], workers=-1)


def vector_levels(comparator: Comparator, cutoffs: Sequence[float], lefts: Sequence[str],
                  rights: Sequence[str], levels: Sequence[str], folded: bool = False
                  ) -> npt.NDArray[np.int8] | None:
    """Level index (into `levels`; -1 no basis or a level not listed) of each aligned pair,
    computed in C for the string-distance and date comparators; None for the others. With `folded`
    the values are already ``fold``-ed."""
    if comparator is Comparator.DATE:
        return date_vector_levels(lefts, rights, levels)
    if comparator not in (Comparator.JARO_WINKLER, Comparator.EDIT_DISTANCE):
        return None
    a = list(lefts) if folded else [_fold(x) for x in lefts]
    b = list(rights) if folded else [_fold(x) for x in rights]
    index = {level: i for i, level in enumerate(levels)}
    out = np.full(len(a), -1, dtype=np.int8)
    if not a:
        return out
    present = np.array([bool(x) and bool(y) for x, y in zip(a, b, strict=True)])
    equal = np.array([x == y for x, y in zip(a, b, strict=True)])
    result = band_levels(comparator, cutoffs, cpdist(a, b, scorer=_SCORERS[comparator],
                                                     workers=1), index)
    result[equal] = index.get("exact", -1)
    out[present] = result[present]
    return out


@lru_cache(maxsize=65536)
def _date_key(raw: str) -> tuple[int, int, int, str]:
    parsed = parse_date(raw) if raw else None
    if parsed is None:
        return (-1, -1, -1, "")
    return (parsed.year, parsed.month, parsed.day, _digits(parsed))


def _date_arrays(values: Sequence[str]
                 ) -> tuple[npt.NDArray[np.int64], npt.NDArray[np.int64],
                            npt.NDArray[np.int64], list[str]]:
    keys = [_date_key(v) for v in values]
    year = np.fromiter((k[0] for k in keys), dtype=np.int64, count=len(keys))
    month = np.fromiter((k[1] for k in keys), dtype=np.int64, count=len(keys))
    day = np.fromiter((k[2] for k in keys), dtype=np.int64, count=len(keys))
    return year, month, day, [k[3] for k in keys]


def _date_bands(year_a: Any, month_a: Any, day_a: Any, year_b: Any, month_b: Any, day_b: Any,
                distance: Any, index: Mapping[str, int]) -> npt.NDArray[np.int8]:
    """compare_dates over arrays (aligned, or broadcast to a matrix)."""
    same_year = year_a == year_b
    exact = same_year & (month_a == month_b) & (day_a == day_b)
    swapped = same_year & (month_a == day_b) & (day_a == month_b)
    result = np.full(np.broadcast(year_a, year_b).shape, index.get("disagree", -1),
                     dtype=np.int8)
    for name, mask in (("year", same_year), ("typo", distance <= 1), ("swapped", swapped),
                       ("exact", exact)):
        result[mask] = index.get(name, -1)
    result[(year_a < 0) | (year_b < 0)] = -1
    return result


def date_vector_levels(lefts: Sequence[str], rights: Sequence[str], levels: Sequence[str]
                       ) -> npt.NDArray[np.int8]:
    """compare_dates of each aligned pair, as level indexes (-1: no basis)."""
    index = {level: i for i, level in enumerate(levels)}
    ya, ma, da, digits_a = _date_arrays(lefts)
    yb, mb, db, digits_b = _date_arrays(rights)
    distance = cpdist(digits_a, digits_b, scorer=DamerauLevenshtein.distance, workers=1)
    return _date_bands(ya, ma, da, yb, mb, db, distance, index)


def date_level_matrix(values: Sequence[str], levels: Sequence[str]) -> npt.NDArray[np.int8]:
    """compare_dates of every pair of `values`, as level indexes (-1: no basis)."""
    index = {level: i for i, level in enumerate(levels)}
    year, month, day, digits = _date_arrays(values)
    distance = cdist(digits, digits, scorer=DamerauLevenshtein.distance, workers=-1)
    return _date_bands(year[:, None], month[:, None], day[:, None], year[None, :],
                       month[None, :], day[None, :], distance, index)


MATRIX_COMPARATORS = frozenset({Comparator.JARO_WINKLER, Comparator.EDIT_DISTANCE,
                                Comparator.DATE})


def matrix_value(comparator: Comparator, raw: str) -> str:
    """The form `level_matrix` compares: folded for string distances, raw for dates."""
    return raw if comparator is Comparator.DATE else _fold(raw)


def level_matrix(comparator: Comparator, cutoffs: Sequence[float], values: Sequence[str],
                 levels: Sequence[str]) -> npt.NDArray[np.int8]:
    """Level index of every pair of distinct `values` (in `matrix_value` form), in C."""
    if comparator is Comparator.DATE:
        return date_level_matrix(values, levels)
    index = {level: i for i, level in enumerate(levels)}
    matrix = band_levels(comparator, cutoffs, string_distances(comparator, values), index)
    np.fill_diagonal(matrix, index.get("exact", -1))
    return matrix


CompareFn = Callable[[str, str, Sequence[float]], str]

COMPARATORS: dict[Comparator, CompareFn] = {
    Comparator.EXACT: compare_exact,
    Comparator.NAME: compare_names,
    Comparator.DATE: compare_dates,
    Comparator.GENDER: compare_genders,
    Comparator.TEXT: compare_text,
    Comparator.ADDRESS: compare_addresses,
    Comparator.JARO_WINKLER: compare_jaro_winkler,
    Comparator.EDIT_DISTANCE: compare_edit_distance,
    Comparator.CITY: compare_cities,
}


def term_key(comparator: Comparator, level: str, raw: str) -> str:
    """The value whose frequency a term-frequency adjustment looks up at a level."""
    if comparator is Comparator.NAME and level == "surname":
        return parse_name(raw).surname
    if comparator is Comparator.ADDRESS:
        return canonical_address(raw)
    return blocking_value(comparator, raw)


def blocking_value(comparator: Comparator, raw: str, transform: str = "") -> str:
    """Canonical form of an attribute inside a blocking key; "" when it cannot block.

    `transform` narrows it: ``surname`` (a name's surname), ``pinyin`` (a name's sound, so
    homophones and romanizations share a key), ``year`` (of a date), ``initial`` (first
    character).
    """
    if comparator is Comparator.NAME:
        parsed = parse_name(raw)
        if transform == "surname":
            return parsed.surname or (parsed.pinyin[0] if parsed.romanized and parsed.pinyin
                                      else "")
        if transform == "pinyin":
            return " ".join(sorted(parsed.pinyin)) if parsed.full else ""
        value = parsed.full
    elif comparator is Comparator.DATE:
        parsed_date = parse_date(raw)
        if parsed_date is None:
            return ""
        value = str(parsed_date.year) if transform == "year" else parsed_date.isoformat()
    elif comparator is Comparator.GENDER:
        value = canonical_gender(raw)
    elif comparator is Comparator.ADDRESS:
        value = canonical_address(raw)
    elif comparator is Comparator.CITY:
        value = canonical_city(raw)
    else:
        value = _fold(raw)
    if transform == "initial":
        return value[:1]
    if transform == "year":
        return value[:4]
    return value
