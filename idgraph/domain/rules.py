"""Match rules: identifier types, attribute comparisons, source trust and thresholds.

A rules file (TOML) is validated into ``Rules``; the default ships in
``idgraph/rules/default.toml``.
"""

from __future__ import annotations

import math
import re
import tomllib
from collections.abc import Mapping, Sequence
from enum import StrEnum
from functools import cached_property
from pathlib import Path
from typing import Annotated

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

from idgraph.domain.identifiers import (
    DEFAULT_MOBILE_PATTERN,
    DEFAULT_PLATE_LETTERS,
    DEFAULT_PLATE_PROVINCES,
    FormatOptions,
    IdentifierFormat,
)
from idgraph.domain.vin import DEFAULT_MAKES

BLOCKING_TRANSFORMS = frozenset({"", "surname", "pinyin", "year", "initial"})

DEFAULT_RULES_PATH = Path(__file__).resolve().parent.parent / "rules" / "default.toml"

_TYPE_NAME = re.compile(r"^[a-z][a-z0-9_]{0,47}$")


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class Level(_Strict):
    """One comparison level: its m and u probabilities, or a hand-set weight.

    m = P(level | same person), u = P(level | different people); the level's match weight
    is log2(m / u) bits. A hand-set ``weight`` (bits) overrides them.
    """

    m: float | None = Field(None, gt=0, le=1)
    u: float | None = Field(None, gt=0, le=1)
    weight: float | None = None

    @model_validator(mode="before")
    @classmethod
    def _number_is_weight(cls, value: object) -> object:
        return {"weight": value} if isinstance(value, int | float) else value

    @model_validator(mode="after")
    def _complete(self) -> Level:
        if self.weight is None and (self.m is None or self.u is None):
            raise ValueError("a level needs m and u, or a weight")
        return self

    @property
    def bits(self) -> float:
        """Match weight of the level in bits."""
        if self.weight is not None:
            return self.weight
        assert self.m is not None and self.u is not None
        return math.log2(self.m / self.u)


class DifferentPersonLevel(Level):
    """What sharing a value adds when the two sides name different people: a relative's
    phone on a test drive, a household's landline, a family tablet. Its m and u are those
    of the pair (shared value, disagreeing names), so the names' own disagreement still
    counts besides it."""

    attributes: frozenset[str] = Field(
        frozenset({"name"}), description="attributes whose disagreement says the two "
        "sides are different people")


class TypoLevel(Level):
    """Values that differ by one typed character (one wrong, or two adjacent swapped): a
    mistyped phone. It counts only where a listed attribute agrees too (the full name):
    one wrong digit alone is someone else's number as often as a typo."""

    attributes: frozenset[str] = Field(
        frozenset({"name"}), description="attributes one of which must agree for the level "
        "to count")


class IdentifierTypeRule(_Strict):
    """How one identifier type is validated and how much agreeing on it counts."""

    format: IdentifierFormat
    weight: float | None = Field(
        None, ge=0, description="hand-set match weight (bits) of sharing a value")
    m: float | None = Field(None, gt=0, le=1, description="P(share a value | same person)")
    u: float | None = Field(None, gt=0, le=1, description="P(share a value | different people)")
    scoped: bool = Field(False, description="values only mean something inside a scope")
    max_per_person: int | None = Field(
        None, ge=1, description="values one person may hold (per scope); 1 = one-per-person")
    hub_threshold: int | None = Field(
        10, ge=1, description="a value held by more people than this stops being evidence")
    evidence: bool = Field(True, description="False: stored and shown, never used to match")
    hashed: bool = Field(False, description="store only a keyed HMAC of the value")
    blocklist: frozenset[str] = frozenset()
    pattern: str | None = Field(None, description="override the mobile-number pattern")
    dealer_scope: bool = Field(False, description="the scope is a dealer code (dealer affinity)")
    implies: frozenset[str] = Field(
        frozenset(), description="attributes whose agreement comes with sharing a value (a "
        "household's landline comes with its address): their agreement adds nothing then")
    shared_identities: int | None = Field(
        None, ge=2, description="a value whose records name this many different people "
        "(names, genders, resident IDs) is shared: never merge evidence, and the people "
        "merged through it are resolved again")
    counts_with: frozenset[str] = Field(
        frozenset(), description="attributes one of which must agree (a full name, not a "
        "surname lead) for a shared value to count: a car's VIN joins the owner's records, "
        "not a relative's who services it")
    typo: TypoLevel | None = Field(
        None, description="the weight of values one typed character apart (no shared value "
        "of the type) when a listed attribute agrees; unset: no such level")
    different_person: DifferentPersonLevel | None = Field(
        None, description="the weight of sharing a value when names (or another listed "
        "attribute) disagree; unset: the agreement weight, whatever the names say")

    @model_validator(mode="after")
    def _id_cards_are_hashed(self) -> IdentifierTypeRule:
        if self.format is IdentifierFormat.ID_CARD and not self.hashed:
            raise ValueError("id_card-format types must set hashed = true")
        if self.weight is None and (self.m is None or self.u is None) and self.evidence:
            raise ValueError("an evidence identifier type needs m and u, or a weight")
        return self

    @property
    def unique_per_person(self) -> bool:
        """True for one-per-person types (resident ID, unionid per platform)."""
        return self.max_per_person == 1

    @property
    def agree_bits(self) -> float:
        """Match weight (bits) of two sides sharing a value."""
        if self.weight is not None:
            return self.weight
        if self.m is None or self.u is None:
            return 0.0
        return math.log2(self.m / self.u)

    @property
    def conflict_bits(self) -> float:
        """Match weight (bits, negative) of a one-per-person type holding different values."""
        if self.m is not None and self.u is not None and self.m < 1:
            return min(math.log2((1 - self.m) / (1 - min(self.u, 0.5))), 0.0)
        return -self.agree_bits


class Comparator(StrEnum):
    """Attribute comparison functions and the levels each can answer."""

    EXACT = "exact"
    NAME = "name"
    DATE = "date"
    GENDER = "gender"
    TEXT = "text"
    ADDRESS = "address"
    JARO_WINKLER = "jaro_winkler"
    EDIT_DISTANCE = "edit_distance"
    CITY = "city"


# Levels of each comparator, most to least similar ("" = no basis is not a level).
COMPARATOR_LEVELS: dict[Comparator, tuple[str, ...]] = {
    Comparator.EXACT: ("exact", "disagree"),
    Comparator.NAME: ("exact", "pinyin", "similar", "surname", "disagree"),
    Comparator.DATE: ("exact", "swapped", "typo", "year", "disagree"),
    Comparator.GENDER: ("exact", "disagree"),
    Comparator.TEXT: ("exact", "fuzzy", "disagree"),
    Comparator.ADDRESS: ("exact", "close", "similar", "disagree"),
    Comparator.JARO_WINKLER: ("exact", "close", "similar", "distant", "disagree"),
    Comparator.EDIT_DISTANCE: ("exact", "close", "similar", "disagree"),
    Comparator.CITY: ("exact", "disagree"),
}

# Default cut-offs of the fuzzy levels, in level order (similarity or edit distance).
DEFAULT_CUTOFFS: dict[Comparator, tuple[float, ...]] = {
    Comparator.NAME: (0.9,),
    Comparator.TEXT: (90.0,),
    Comparator.ADDRESS: (90.0, 75.0),
    Comparator.JARO_WINKLER: (0.92, 0.88, 0.7),
    Comparator.EDIT_DISTANCE: (1, 2),
}


class TermFrequencies(_Strict):
    """How common each value is, so agreeing on a common value counts for less.

    At the listed levels a level's u is replaced by the frequency of the agreed value
    (Splink's term-frequency adjustment): weight = log2(m / tf(value)).
    """

    levels: tuple[str, ...] = ("exact",)
    values: dict[str, float] = {}
    default: float = Field(gt=0, le=1, description="frequency of values not listed")
    level_defaults: dict[str, float] = Field(
        {}, description="frequency of values not listed, per level (a surname not listed is "
        "far commoner than a full name not listed)")

    def frequency(self, level: str, key: str) -> float:
        """How common the agreed value is at a level."""
        found = self.values.get(key)
        return found if found is not None else self.level_defaults.get(level, self.default)


class AttributeRule(_Strict):
    """Comparison of one attribute: its comparator, cut-offs and the weight of each level."""

    comparator: Comparator
    levels: dict[str, Level]
    cutoffs: tuple[float, ...] | None = Field(
        None, description="fuzzy level cut-offs, in level order (comparator defaults)")
    term_frequencies: TermFrequencies | None = None

    @model_validator(mode="after")
    def _levels_known(self) -> AttributeRule:
        known = COMPARATOR_LEVELS[self.comparator]
        unknown = set(self.levels) - set(known)
        if unknown:
            raise ValueError(f"comparator {self.comparator} has no level(s) {sorted(unknown)}")
        if self.term_frequencies is not None:
            for level in self.term_frequencies.levels:
                rule = self.levels.get(level)
                if rule is None or rule.m is None:
                    raise ValueError(f"term frequencies on level {level!r} need its m")
        return self

    @property
    def ordered_levels(self) -> tuple[str, ...]:
        """The comparator's levels, most similar first."""
        return COMPARATOR_LEVELS[self.comparator]

    @property
    def effective_cutoffs(self) -> tuple[float, ...]:
        """Cut-offs the comparator uses."""
        return self.cutoffs if self.cutoffs is not None else DEFAULT_CUTOFFS.get(
            self.comparator, ())


class SourceRule(_Strict):
    """Trust of one source system; the most trusted source wins golden attributes."""

    trust: int = Field(ge=0, le=100)


class Thresholds(_Strict):
    """Match probabilities: at or above `link` joins; from `review` up to `link` is reviewed."""

    link: float = Field(gt=0, le=1)
    review: float = Field(gt=0, le=1)

    @model_validator(mode="after")
    def _ordered(self) -> Thresholds:
        if self.review > self.link:
            raise ValueError("review threshold must not exceed link threshold")
        return self


MAX_BLOCKING_KEYS = 8  # records store blocking key i in the indexed property block<i>


class Rules(_Strict):
    """The whole rules file."""

    prior: float = Field(gt=0, lt=1, description="probability two random records match")
    thresholds: Thresholds
    identifier_types: dict[str, IdentifierTypeRule]
    attributes: dict[str, AttributeRule] = {}
    sources: dict[str, SourceRule] = {}
    default_trust: int = Field(50, ge=0, le=100)
    blocking_keys: list[Annotated[list[str], Field(min_length=1)]] = []
    blocking_hub_threshold: int = Field(20, ge=1)
    blocking_attributes: frozenset[str] = Field(
        frozenset(), description="attributes that only find candidates in blocking keys and "
        "are never compared (a dealer code: a namesake's as often as not)")
    require_identifier_evidence: bool = True
    attribute_links: list[Annotated[dict[str, frozenset[str]], Field(min_length=2)]] = Field(
        [], description="attribute levels that link without an identifier when they all "
        "agree together (a full name with a birth date or a flat: namesakes in one city "
        "rarely share those); each entry maps an attribute to the levels that count")
    attribute_reviews: list[Annotated[dict[str, frozenset[str]], Field(min_length=1)]] = Field(
        [], description="attribute levels that, agreeing together without an identifier or "
        "an attribute link, open a review task (a full name with a birth date); other "
        "attribute-only pairs (a name and a city: namesakes as often) open none")
    max_candidates: int = Field(50, ge=1)
    plate_provinces: str = DEFAULT_PLATE_PROVINCES
    plate_letters: str = DEFAULT_PLATE_LETTERS
    # World manufacturer identifier (a VIN's first 3 characters) -> make, over the defaults.
    vehicle_makes: dict[Annotated[str, Field(min_length=3, max_length=3)], str] = {}

    @field_validator("identifier_types")
    @classmethod
    def _type_names(cls, value: dict[str, IdentifierTypeRule]) -> dict[str, IdentifierTypeRule]:
        for name in value:
            if not _TYPE_NAME.fullmatch(name):
                raise ValueError(f"identifier type name {name!r} must match {_TYPE_NAME.pattern}")
        return value

    @model_validator(mode="after")
    def _implied_attributes_known(self) -> Rules:
        for name, rule in self.identifier_types.items():
            unknown = sorted(rule.implies - self.attributes.keys())
            if unknown:
                raise ValueError(f"identifier type {name!r} implies unconfigured attributes "
                                 f"{unknown}")
        return self

    @model_validator(mode="after")
    def _blocking_attributes_known(self) -> Rules:
        if len(self.blocking_keys) > MAX_BLOCKING_KEYS:
            raise ValueError(f"at most {MAX_BLOCKING_KEYS} blocking keys (the graph indexes "
                             f"one record property per key); got {len(self.blocking_keys)}")
        for key in self.blocking_keys:
            missing = [a for a in key if a.partition(":")[0] not in self.attributes
                       and a.partition(":")[0] not in self.blocking_attributes]
            if missing:
                raise ValueError(f"blocking key {key} uses unconfigured attributes {missing}")
            unknown = [a for a in key if a.partition(":")[2] not in BLOCKING_TRANSFORMS]
            if unknown:
                raise ValueError(f"blocking key {key} uses unknown transforms {unknown}; known: "
                                 f"{sorted(BLOCKING_TRANSFORMS - {''})}")
        return self

    @model_validator(mode="after")
    def _attribute_links_known(self) -> Rules:
        for link in [*self.attribute_links, *self.attribute_reviews]:
            for name, levels in link.items():
                rule = self.attributes.get(name)
                if rule is None:
                    raise ValueError(f"attribute_links/attribute_reviews name unconfigured "
                                     f"attribute {name!r}")
                unknown = sorted(levels - set(rule.levels))
                if unknown:
                    raise ValueError(f"attribute_links/attribute_reviews: {name!r} has no "
                                     f"level(s) {unknown}")
        return self

    def blocking_comparator(self, name: str) -> Comparator:
        """How an attribute is canonicalized in a blocking key: its comparator's way, or
        case- and space-folded for a blocking-only attribute."""
        rule = self.attributes.get(name)
        return rule.comparator if rule is not None else Comparator.EXACT

    def scored_blocking_keys(self) -> list[list[str]]:
        """The blocking keys whose attributes are all compared (deterministic rules and
        training pairs come from these)."""
        return [key for key in self.blocking_keys
                if all(part.partition(":")[0] in self.attributes for part in key)]

    def attributes_link(self, levels: Mapping[str, str]) -> bool:
        """True when the attribute levels reached (attribute -> level) fill one of
        `attribute_links`: evidence enough without a shared identifier."""
        return _fills(self.attribute_links, levels)

    def attributes_review(self, levels: Mapping[str, str]) -> bool:
        """True when the attribute levels reached fill one of `attribute_reviews`."""
        return _fills(self.attribute_reviews, levels)

    @cached_property
    def ownership_types(self) -> frozenset[str]:
        """Identifier types of the ownership format (VIN@YYYY-MM)."""
        return frozenset(name for name, rule in self.identifier_types.items()
                         if rule.format is IdentifierFormat.OWNERSHIP)

    @cached_property
    def identity_attributes(self) -> frozenset[str]:
        """Attributes whose disagreement says two sides are different people (every
        `different_person` level's)."""
        return frozenset(a for rule in self.identifier_types.values()
                         if rule.different_person is not None
                         for a in rule.different_person.attributes)

    @cached_property
    def makes(self) -> dict[str, str]:
        """The makes VINs name: the defaults and the file's [vehicle_makes]."""
        return {**DEFAULT_MAKES, **{k.upper(): v for k, v in self.vehicle_makes.items()}}

    @property
    def blocking_slots(self) -> dict[str, int]:
        """Blocking key type (``_block:`` + parts joined by +) -> the record property slot
        that stores it (its position in `blocking_keys`)."""
        return {"_block:" + "+".join(key): slot for slot, key in enumerate(self.blocking_keys)}

    def trust(self, source: str) -> int:
        """Trust of a source, the default for unknown ones."""
        rule = self.sources.get(source)
        return rule.trust if rule else self.default_trust

    def format_options(self, type_name: str | None, max_length: int) -> FormatOptions:
        """Normalizer options for one identifier type (None: options shared by all types)."""
        rule = self.identifier_types.get(type_name) if type_name else None
        return FormatOptions(
            mobile_pattern=(rule.pattern if rule else None) or DEFAULT_MOBILE_PATTERN,
            plate_provinces=self.plate_provinces,
            plate_letters=self.plate_letters,
            max_length=max_length,
        )

    @cached_property
    def prior_bits(self) -> float:
        """Match weight (bits) of the prior: log2(prior / (1 - prior))."""
        return math.log2(self.prior / (1 - self.prior))

    @cached_property
    def link_bits(self) -> float:
        """The link threshold as a match weight in bits."""
        return _bits(self.thresholds.link)

    @cached_property
    def review_bits(self) -> float:
        """The review threshold as a match weight in bits."""
        return _bits(self.thresholds.review)

    @cached_property
    def hub_cap(self) -> int:
        """How many holders a candidate query must count to tell any type's hubs apart."""
        limits = [r.hub_threshold or 0 for r in self.identifier_types.values()]
        return max([*limits, self.blocking_hub_threshold, self.max_candidates]) + 1


def _fills(combinations: Sequence[Mapping[str, frozenset[str]]],
           levels: Mapping[str, str]) -> bool:
    return any(all(levels.get(name) in wanted for name, wanted in combination.items())
               for combination in combinations)


def _bits(p: float) -> float:
    return math.log2(p / (1 - p)) if p < 1 else math.inf


def load_rules(path: Path | None = None) -> Rules:
    """Read and validate a TOML rules file (the shipped default when `path` is None)."""
    with (path or DEFAULT_RULES_PATH).open("rb") as handle:
        return Rules.model_validate(tomllib.load(handle))
