"""Match rules: identifier types, attribute comparisons, source trust and thresholds.

A rules file (TOML) is validated into ``Rules``; the default ships in
``idgraph/rules/default.toml``.
"""

from __future__ import annotations

import re
import tomllib
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

DEFAULT_RULES_PATH = Path(__file__).resolve().parent.parent / "rules" / "default.toml"

_TYPE_NAME = re.compile(r"^[a-z][a-z0-9_]{0,47}$")


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class IdentifierTypeRule(_Strict):
    """How one identifier type is validated and how much agreeing on it counts."""

    format: IdentifierFormat
    weight: float = Field(ge=0, description="score added when two sides share a value")
    scoped: bool = Field(False, description="values only mean something inside a scope")
    max_per_person: int | None = Field(
        None, ge=1, description="values one person may hold (per scope); 1 = one-per-person")
    hub_threshold: int | None = Field(
        10, ge=1, description="a value held by more people than this stops being evidence")
    evidence: bool = Field(True, description="False: stored and shown, never used to match")
    hashed: bool = Field(False, description="store only a keyed HMAC of the value")
    blocklist: frozenset[str] = frozenset()
    pattern: str | None = Field(None, description="override the mobile-number pattern")

    @model_validator(mode="after")
    def _id_cards_are_hashed(self) -> IdentifierTypeRule:
        if self.format is IdentifierFormat.ID_CARD and not self.hashed:
            raise ValueError("id_card-format types must set hashed = true")
        return self

    @property
    def unique_per_person(self) -> bool:
        """True for one-per-person types (resident ID, unionid per platform)."""
        return self.max_per_person == 1


class Comparator(StrEnum):
    """Attribute comparison functions and the levels each can answer."""

    EXACT = "exact"
    NAME = "name"
    DATE = "date"
    GENDER = "gender"
    TEXT = "text"


COMPARATOR_LEVELS: dict[Comparator, frozenset[str]] = {
    Comparator.EXACT: frozenset({"exact", "disagree"}),
    Comparator.NAME: frozenset({"exact", "pinyin", "surname", "disagree"}),
    Comparator.DATE: frozenset({"exact", "swapped", "year", "disagree"}),
    Comparator.GENDER: frozenset({"exact", "disagree"}),
    Comparator.TEXT: frozenset({"exact", "fuzzy", "disagree"}),
}


class AttributeRule(_Strict):
    """Comparison of one attribute: its comparator and the weight of each level."""

    comparator: Comparator
    levels: dict[str, float]

    @model_validator(mode="after")
    def _levels_known(self) -> AttributeRule:
        unknown = set(self.levels) - COMPARATOR_LEVELS[self.comparator]
        if unknown:
            raise ValueError(f"comparator {self.comparator} has no level(s) {sorted(unknown)}")
        return self


class SourceRule(_Strict):
    """Trust of one source system; the most trusted source wins golden attributes."""

    trust: int = Field(ge=0, le=100)


class Thresholds(_Strict):
    """Score at or above `link` joins; between `review` and `link` opens a review task."""

    link: float
    review: float

    @model_validator(mode="after")
    def _ordered(self) -> Thresholds:
        if self.review > self.link:
            raise ValueError("review threshold must not exceed link threshold")
        return self


class Rules(_Strict):
    """The whole rules file."""

    thresholds: Thresholds
    identifier_types: dict[str, IdentifierTypeRule]
    attributes: dict[str, AttributeRule] = {}
    sources: dict[str, SourceRule] = {}
    default_trust: int = Field(50, ge=0, le=100)
    blocking_keys: list[Annotated[list[str], Field(min_length=1)]] = []
    blocking_hub_threshold: int = Field(20, ge=1)
    require_identifier_evidence: bool = True
    max_candidates: int = Field(50, ge=1)
    plate_provinces: str = DEFAULT_PLATE_PROVINCES
    plate_letters: str = DEFAULT_PLATE_LETTERS

    @field_validator("identifier_types")
    @classmethod
    def _type_names(cls, value: dict[str, IdentifierTypeRule]) -> dict[str, IdentifierTypeRule]:
        for name in value:
            if not _TYPE_NAME.fullmatch(name):
                raise ValueError(f"identifier type name {name!r} must match {_TYPE_NAME.pattern}")
        return value

    @model_validator(mode="after")
    def _blocking_attributes_known(self) -> Rules:
        for key in self.blocking_keys:
            missing = [a for a in key if a not in self.attributes]
            if missing:
                raise ValueError(f"blocking key {key} uses unconfigured attributes {missing}")
        return self

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
    def hub_cap(self) -> int:
        """How many holders a candidate query must count to tell any type's hubs apart."""
        limits = [r.hub_threshold or 0 for r in self.identifier_types.values()]
        return max([*limits, self.blocking_hub_threshold, self.max_candidates]) + 1


def load_rules(path: Path | None = None) -> Rules:
    """Read and validate a TOML rules file (the shipped default when `path` is None)."""
    with (path or DEFAULT_RULES_PATH).open("rb") as handle:
        return Rules.model_validate(tomllib.load(handle))
