"""Chinese personal names: canonical form, honorific leads, homophone-aware comparison."""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass
from functools import lru_cache

import opencc
from pypinyin import Style, lazy_pinyin
from rapidfuzz.distance import JaroWinkler, Levenshtein

# pypinyin reads these surnames with their common-word reading; as surnames they read so.
SURNAME_READINGS: dict[str, str] = {
    "曾": "zeng", "单": "shan", "解": "xie", "查": "zha", "仇": "qiu", "区": "ou",
    "朴": "piao", "翟": "zhai", "盖": "ge", "尉迟": "yuchi", "万俟": "moqi", "乐": "yue",
    "缪": "miao", "召": "shao", "繁": "po", "覃": "qin", "种": "chong", "秘": "bi",
}
COMPOUND_SURNAMES = (
    "欧阳", "司马", "上官", "诸葛", "东方", "皇甫", "尉迟", "公孙", "慕容", "长孙",
    "宇文", "司徒", "夏侯", "令狐", "万俟", "澹台", "轩辕", "端木", "南宫", "独孤",
)
HONORIFICS: dict[str, str] = {"先生": "M", "女士": "F", "小姐": "F", "太太": "F", "夫人": "F"}

HAN = re.compile(r"[\u3400-\u9fff]")
_NOISE = re.compile(r"[\s·•.\-_,]")


@lru_cache(maxsize=1)
def _t2s() -> opencc.OpenCC:
    return opencc.OpenCC("t2s")


def t2s(text: str) -> str:
    """Traditional to simplified Chinese (OpenCC)."""
    return str(_t2s().convert(text))


@dataclass(frozen=True)
class ParsedName:
    """A name reduced to what comparison needs."""

    full: str  # canonical Hanzi (simplified) or lowercased romanization, "" for surname-only
    surname: str  # Hanzi surname, or "" when unknown
    pinyin: tuple[str, ...]  # syllables in Hanzi order, or the romanized tokens sorted
    honorific_gender: str  # "M"/"F" when the name was "surname + honorific", else ""
    romanized: bool


@lru_cache(maxsize=65536)
def parse_name(raw: str) -> ParsedName:
    """Parse a person's name: simplified Hanzi, surname, pinyin, honorific gender."""
    text = _NOISE.sub("", raw.strip()) if HAN.search(raw) else " ".join(raw.lower().split())
    if not text:
        return ParsedName("", "", (), "", False)
    if not HAN.search(text):
        tokens = tuple(sorted(re.split(r"[\s,]+", re.sub(r"[^a-z\s,]", "", text))))
        return ParsedName(" ".join(tokens), "", tuple(t for t in tokens if t), "", True)
    text = t2s(text)
    for honorific, gender in HONORIFICS.items():
        if text.endswith(honorific) and len(text) > len(honorific):
            surname = text[: -len(honorific)]
            return ParsedName("", surname, _pinyin(surname, surname), gender, False)
    surname = next((c for c in COMPOUND_SURNAMES if text.startswith(c) and len(text) > 2), text[0])
    return ParsedName(text, surname, _pinyin(text, surname), "", False)


def _pinyin(text: str, surname: str) -> tuple[str, ...]:
    given = text[len(surname):]
    head = SURNAME_READINGS.get(surname)
    head_syllables = [head] if head else lazy_pinyin(surname, style=Style.NORMAL)
    return tuple(head_syllables + lazy_pinyin(given, style=Style.NORMAL))


def compare_names(left: str, right: str, cutoffs: Sequence[float] = (0.9,)) -> str:
    """Compare two names and answer a level: exact, pinyin, similar, surname, disagree, or ""
    (no basis).

    - exact: same Hanzi after traditional-to-simplified (or same romanized tokens in any order);
    - pinyin: same sound (homophone typo 伟/玮, or Hanzi against its romanization);
    - similar: same surname sound and a near sound (芳 fang / 芬 fen) or a romanized typo:
      Jaro-Winkler similarity of the pinyin at or above the cut-off;
    - surname: one side is only "surname + honorific" (张先生) and the surnames agree;
    - disagree: anything else, including honorific leads with different surnames or genders.
    """
    a, b = parse_name(left), parse_name(right)
    if not (a.full or a.surname) or not (b.full or b.surname):
        return ""
    if a.full and b.full:
        if a.full == b.full:
            return "exact"
        if _same_sound(a, b):
            return "pinyin"
        if _similar_sound(a, b, cutoffs[0] if cutoffs else 0.9):
            return "similar"
        return "disagree"
    # At least one side is an honorific lead: only surname (and gender) can agree.
    if a.honorific_gender and b.honorific_gender and a.honorific_gender != b.honorific_gender:
        return "disagree"
    if a.surname and b.surname:
        return "surname" if _surname_sound(a) == _surname_sound(b) else "disagree"
    return ""


def _same_sound(a: ParsedName, b: ParsedName) -> bool:
    if a.romanized or b.romanized:
        joined_a, joined_b = "".join(sorted(a.pinyin)), "".join(sorted(b.pinyin))
        return joined_a == joined_b
    return a.pinyin == b.pinyin


def _surname_sound(name: ParsedName) -> tuple[str, ...]:
    count = len(name.surname)
    return name.pinyin[:count]


def _similar_sound(a: ParsedName, b: ParsedName, cutoff: float) -> bool:
    if a.romanized or b.romanized:  # a typo in the letters
        left, right = " ".join(sorted(a.pinyin)), " ".join(sorted(b.pinyin))
        return bool(JaroWinkler.similarity(left, right) >= cutoff)
    # Hanzi on both sides: the same surname sound, and each given-name syllable the same
    # or a near sound (芳 fang / 芬 fen). A string similarity of the whole pinyin would let
    # the shared surname carry 张伟 zhang wei against 张敏 zhang min.
    if _surname_sound(a) != _surname_sound(b) or len(a.pinyin) != len(b.pinyin):
        return False
    given = len(_surname_sound(a))
    return all(x == y or _near_syllables(x, y)
               for x, y in zip(a.pinyin[given:], b.pinyin[given:], strict=True))


_INITIALS = ("zh", "ch", "sh", "b", "p", "m", "f", "d", "t", "n", "l", "g", "k", "h", "j",
             "q", "x", "r", "z", "c", "s", "y", "w")
# Initials often confused in speech and typing: flat and retroflex, n and l.
_CONFUSED_INITIALS = {frozenset(pair) for pair in (("z", "zh"), ("c", "ch"), ("s", "sh"),
                                                   ("n", "l"))}


def _split_syllable(syllable: str) -> tuple[str, str]:
    for initial in _INITIALS:
        if syllable.startswith(initial) and len(syllable) > len(initial):
            return initial, syllable[len(initial):]
    return "", syllable


def _near_syllables(x: str, y: str) -> bool:
    """Near sounds: the same (or an often confused) initial, and the same final once -ng
    is folded into -n, or two nasal finals one vowel apart (fang/fen, lin/ling, zhi/zi;
    not wei/wen)."""
    (ix, fx), (iy, fy) = _split_syllable(x), _split_syllable(y)
    if ix != iy and frozenset((ix, iy)) not in _CONFUSED_INITIALS:
        return False
    fx, fy = fx.removesuffix("g") if fx.endswith("ng") else fx, \
        fy.removesuffix("g") if fy.endswith("ng") else fy
    return fx == fy or (fx.endswith("n") and fy.endswith("n")
                        and Levenshtein.distance(fx, fy) <= 1)
