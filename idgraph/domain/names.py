"""Chinese personal names: canonical form, honorific leads, homophone-aware comparison."""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass
from functools import lru_cache
from importlib.resources import files

import opencc
from pypinyin import Style, lazy_pinyin
from rapidfuzz.distance import JaroWinkler, Levenshtein

# pypinyin reads these surnames with their common-word reading; as surnames they read so.
SURNAME_READINGS: dict[str, str] = {
    "曾": "zeng", "单": "shan", "解": "xie", "查": "zha", "仇": "qiu", "区": "ou",
    "朴": "piao", "翟": "zhai", "盖": "ge", "尉迟": "yuchi", "万俟": "moqi", "乐": "yue",
    "缪": "miao", "召": "shao", "繁": "po", "覃": "qin", "种": "chong", "秘": "bi",
}
HONORIFICS: dict[str, str] = {"先生": "M", "女士": "F", "小姐": "F", "太太": "F", "夫人": "F"}

HAN = re.compile(r"[\u3400-\u9fff]")
_NOISE = re.compile(r"[\s·•.\-_,]")
_HAN_ONLY = re.compile(r"[\u3400-\u9fff]+")
_LATIN_ONLY = re.compile(r"[a-z][a-z\s,']*")
# Nickname prefixes: 阿英, 小王, 老李 name a person the way friends do, not their full name.
_NICKNAME_PREFIXES = ("阿", "小", "老")


def _read_surnames() -> tuple[frozenset[str], tuple[str, ...]]:
    path = files("idgraph.domain") / "surnames.txt"  # not __file__: compiled, it moves
    single: set[str] = set()
    compound: set[str] = set()
    for line in path.read_text(encoding="utf-8").splitlines():
        if line.startswith("#"):
            continue
        for word in line.split():
            (compound if len(word) > 1 else single).add(word)
    return frozenset(single), tuple(sorted(compound))


SURNAMES, COMPOUND_SURNAMES = _read_surnames()


def _read_nicknames() -> frozenset[str]:
    text = (files("idgraph.domain") / "nicknames.txt").read_text(encoding="utf-8")
    return frozenset(word for line in text.splitlines() if not line.startswith("#")
                     for word in line.split())


NICKNAMES = _read_nicknames()


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


NO_NAME = ParsedName("", "", (), "", False)


@lru_cache(maxsize=65536)
def parse_name(raw: str) -> ParsedName:
    """Parse a person's name: simplified Hanzi, surname, pinyin, honorific gender.

    What is not a person's name answers ``NO_NAME`` (no basis for comparison): WeChat and
    app nicknames (晴天, 俊俊, 阿英, 追梦人, emoji, a single Latin word such as Kevin).
    """
    if HAN.search(raw):
        text = t2s(_NOISE.sub("", raw.strip()))
        if not _HAN_ONLY.fullmatch(text):
            return NO_NAME  # emoji, digits or Latin letters mixed into Hanzi: a nickname
        for honorific, gender in HONORIFICS.items():
            if text.endswith(honorific) and len(text) > len(honorific):
                surname = text[: -len(honorific)]
                if surname not in SURNAMES and surname not in COMPOUND_SURNAMES:
                    return NO_NAME
                return ParsedName("", surname, _pinyin(surname, surname), gender, False)
        surname = next((c for c in COMPOUND_SURNAMES if text.startswith(c) and len(text) > 2),
                       text[0])
        if not _is_full_name(text, surname):
            return NO_NAME
        return ParsedName(text, surname, _pinyin(text, surname), "", False)
    text = " ".join(raw.lower().split())
    if not _LATIN_ONLY.fullmatch(text):
        return NO_NAME
    tokens = tuple(sorted(t for t in re.split(r"[\s,']+", text) if t))
    if len(tokens) < 2:
        return NO_NAME  # Kevin, Coco: an English nickname, not a full name
    return ParsedName(" ".join(tokens), "", tokens, "", True)


# Given-name characters that name one gender far more often than the other (丽, 萍 women;
# 国, 强 men). Only a hint: used to tell that two records name different people, never to
# say that they name the same one.
_FEMININE = frozenset("丽芳娟萍霞燕婷娜秀兰梅莉倩蓉淑珍凤翠琴妮姗媛娇妍婧婉薇嫣娥")
_MASCULINE = frozenset("国强军刚勇峰磊涛斌鹏龙兵彬豪铭锋坤武雄")


@lru_cache(maxsize=65536)
def gender_hint(raw: str) -> str:
    """``F`` or ``M`` when a Hanzi full name's given-name characters all lean one way (张晓丽
    F, 王建国 M), else ""."""
    parsed = parse_name(raw)
    if not parsed.full or parsed.romanized:
        return ""
    given = parsed.full[len(parsed.surname):]
    leans = {"F" for c in given if c in _FEMININE} | {"M" for c in given if c in _MASCULINE}
    return leans.pop() if len(leans) == 1 else ""


def _is_full_name(text: str, surname: str) -> bool:
    """A surname and one or two given characters, not a nickname pattern (阿英, 小王, a
    doubled character such as 俊俊, a listed nickname such as 阳光). A name may start with a
    homophone of a surname (a typo: 朋凤静 for 彭凤静)."""
    given = text[len(surname):]
    # Given names have one or two characters; four characters after a one-character
    # surname (平安是福) are a motto, not a name.
    if not 1 <= len(given) <= 2 or text.startswith(_NICKNAME_PREFIXES) or text in NICKNAMES:
        return False
    if len(text) == 2 and text[0] == text[1]:
        return False
    if surname in SURNAMES or surname in COMPOUND_SURNAMES:
        return True
    # A homophone of a surname is a typo (朋凤静 for 彭凤静, 翠梅 for 崔梅); the words that
    # start like one (晨曦: chen) are in the nickname list.
    return _reading(surname) in _SURNAME_SOUNDS


def _reading(surname: str) -> str:
    return SURNAME_READINGS.get(surname) or "".join(lazy_pinyin(surname, style=Style.NORMAL))


_SURNAME_SOUNDS = frozenset(_reading(s) for s in SURNAMES)


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
        x, y = _surname_sound(a), _surname_sound(b)
        near = len(x) == len(y) and all(p == q or _near_syllables(p, q)
                                        for p, q in zip(x, y, strict=True))
        return "surname" if near else "disagree"  # 周女士 / 邹红: zhou and zou are confused
    return ""


def _same_sound(a: ParsedName, b: ParsedName) -> bool:
    if a.romanized and b.romanized:
        return "".join(a.pinyin) == "".join(b.pinyin)
    if a.romanized or b.romanized:  # Hanzi against romanization: surname and given name
        hanzi, latin = (b, a) if a.romanized else (a, b)
        count = len(_surname_sound(hanzi))
        parts = ("".join(hanzi.pinyin[:count]), "".join(hanzi.pinyin[count:]))
        return tuple(sorted(parts)) == latin.pinyin
    return a.pinyin == b.pinyin


def _surname_sound(name: ParsedName) -> tuple[str, ...]:
    count = len(name.surname)
    return name.pinyin[:count]


def _similar_sound(a: ParsedName, b: ParsedName, cutoff: float) -> bool:
    if a.romanized or b.romanized:  # a typo in the letters
        left, right = " ".join(sorted(a.pinyin)), " ".join(sorted(b.pinyin))
        return bool(JaroWinkler.similarity(left, right) >= cutoff)
    # Hanzi on both sides: each syllable, surname included, the same or a near sound (芳 fang
    # / 芬 fen). A string similarity of the whole pinyin would let the shared surname carry
    # 张伟 zhang wei against 张敏 zhang min.
    # Flat and retroflex initials are confused in surnames too (邹婷 for 周婷).
    if len(a.pinyin) != len(b.pinyin) or len(_surname_sound(a)) != len(_surname_sound(b)):
        return False
    return all(x == y or _near_syllables(x, y)
               for x, y in zip(a.pinyin, b.pinyin, strict=True))


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
