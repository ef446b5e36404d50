"""Audience definitions (人群圈选): a tree of clauses over what the graph knows of people.

A definition is JSON (or the same shape in TOML): ``and``, ``or`` and ``not`` combine
leaf clauses, and two leaves reach across relationships (``household_member_of``,
``referred_by``) with a clause of their own. Every clause is a pydantic model, so an error
names the clause's path (``and[2].vehicle.age_years_at_least``).

Example: owners of a car three or more years old in Shanghai, one of whose household
members test-drove a new model, who consented::

    {"and": [
      {"vehicle": {"relation": "owns_now", "age_years_at_least": 3}},
      {"attribute": {"name": "city", "in": ["上海"]}},
      {"household_member_of": {"vehicle": {"relation": "test_drove", "model": ["Model-X5"]}}},
      {"consent": "given"}
    ]}

Definitions are data: they are evaluated by code over an index of people, never turned into
query text.
"""

from __future__ import annotations

import json
from enum import StrEnum
from typing import Annotated, Any, Literal

from pydantic import AfterValidator, BaseModel, ConfigDict, Field, ValidationError, model_validator

from idgraph.errors import FieldViolation, InvalidInput

MAX_DEPTH = 12  # clauses nested deeper than this are refused
MAX_CLAUSES = 200
MAX_VALUES = 1000  # values in one `in` list


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True, populate_by_name=True)


class VehicleRelation(StrEnum):
    """How a person stands to a vehicle (or a model without a VIN)."""

    ANY = "any"
    OWNS_NOW = "owns_now"  # an ownership with no end
    OWNED = "owned"  # an ownership that ended (sold, traded in)
    TEST_DROVE = "test_drove"
    INTERESTED = "interested"  # a lead or an inquiry naming the model
    DRIVES = "drives"
    SERVICED = "serviced"


class AgeBand(StrEnum):
    """Age bands, from the golden birth date."""

    UNDER_25 = "under_25"
    FROM_25_TO_34 = "25_34"
    FROM_35_TO_44 = "35_44"
    FROM_45_TO_54 = "45_54"
    FROM_55 = "55_plus"


AGE_BAND_BOUNDS: dict[AgeBand, tuple[int, int]] = {  # [lowest, highest] age in years
    AgeBand.UNDER_25: (0, 24), AgeBand.FROM_25_TO_34: (25, 34),
    AgeBand.FROM_35_TO_44: (35, 44), AgeBand.FROM_45_TO_54: (45, 54),
    AgeBand.FROM_55: (55, 200),
}


class Consent(StrEnum):
    """The person's latest marketing-consent statement."""

    GIVEN = "given"
    WITHDRAWN = "withdrawn"
    UNKNOWN = "unknown"  # never stated
    NOT_WITHDRAWN = "not_withdrawn"  # given or never stated


def _values(value: list[str]) -> list[str]:
    if not value:
        raise ValueError("give at least one value")
    if len(value) > MAX_VALUES:
        raise ValueError(f"at most {MAX_VALUES} values")
    if any(not v.strip() for v in value):
        raise ValueError("values must not be empty")
    return value


Values = Annotated[list[str], AfterValidator(_values)]


class TagClause(_Strict):
    """The person has one of these tags (from data or assigned)."""

    any_of: Values = Field(alias="any")

    @model_validator(mode="before")
    @classmethod
    def _shorthand(cls, value: Any) -> Any:
        if isinstance(value, str):
            return {"any": [value]}
        if isinstance(value, list):
            return {"any": value}
        return value



class SourceClause(_Strict):
    """The person has a record from one of these sources (any source when not given), seen
    within the last `seen_within_days` days (any time when not given)."""

    in_: Values | None = Field(None, alias="in")
    seen_within_days: int | None = Field(None, ge=1, le=36500)


    @model_validator(mode="after")
    def _something(self) -> SourceClause:
        if self.in_ is None and self.seen_within_days is None:
            raise ValueError("give `in` (sources), `seen_within_days`, or both")
        return self


class AttributeClause(_Strict):
    """The person's golden city, gender or age band is one of `in`."""

    name: Literal["city", "gender", "age_band"]
    in_: Values = Field(alias="in")


    @model_validator(mode="after")
    def _known(self) -> AttributeClause:
        if self.name == "age_band":
            wrong = [v for v in self.in_ if v not in set(AgeBand)]
            if wrong:
                raise ValueError(f"age bands are {', '.join(AgeBand)}; not {wrong[0]!r}")
        if self.name == "gender":
            wrong = [v for v in self.in_ if v not in ("M", "F")]
            if wrong:
                raise ValueError(f"gender is M or F; not {wrong[0]!r}")
        return self


class VehicleClause(_Strict):
    """One vehicle relation of the person meets every condition given."""

    relation: VehicleRelation = VehicleRelation.ANY
    model: Values | None = None
    make: Values | None = None
    age_years_at_least: int | None = Field(None, ge=0, le=100,
                                           description="by model year (from the VIN)")
    age_years_below: int | None = Field(None, ge=1, le=100)
    held_years_at_least: float | None = Field(
        None, ge=0, le=100, description="the relation began at least this long ago")
    plate_type: Literal["new_energy", "fuel"] | None = None
    tag: Values | None = Field(None, description="vehicle tags (from data or assigned)")



class DealerClause(_Strict):
    """A dealer the person's records come from or name is one of `in`."""

    in_: Values = Field(alias="in")



class Clause(_Strict):
    """Exactly one of: and, or, not, tag, source, attribute, vehicle, dealer,
    household_member_of, referred_by, consent."""

    and_: list[Clause] | None = Field(None, alias="and")
    or_: list[Clause] | None = Field(None, alias="or")
    not_: Clause | None = Field(None, alias="not")
    tag: TagClause | None = None
    source: SourceClause | None = None
    attribute: AttributeClause | None = None
    vehicle: VehicleClause | None = None
    dealer: DealerClause | None = None
    household_member_of: Clause | None = None
    referred_by: Clause | None = None
    consent: Consent | None = None

    @model_validator(mode="after")
    def _exactly_one(self) -> Clause:
        given = [name for name in type(self).model_fields if getattr(self, name) is not None]
        if len(given) != 1:
            names = ", ".join(f.alias or n for n, f in type(self).model_fields.items())
            raise ValueError(f"a clause is exactly one of: {names}"
                             + (f" (got {len(given)})" if given else ""))
        for name in ("and_", "or_"):
            if getattr(self, name) == []:
                raise ValueError(f"`{name[:-1]}` needs at least one clause")
        return self

    @property
    def kind(self) -> str:
        """The clause's key: and, or, not, tag, source, ..."""
        for name, spec in type(self).model_fields.items():
            if getattr(self, name) is not None:
                return spec.alias or name
        raise AssertionError("validated clause without a key")

    def children(self) -> list[Clause]:
        """The clauses this one combines or reaches through."""
        if self.and_ is not None:
            return list(self.and_)
        if self.or_ is not None:
            return list(self.or_)
        inner = self.not_ or self.household_member_of or self.referred_by
        return [inner] if inner is not None else []

    def dump(self) -> dict[str, Any]:
        """The clause as JSON-ready data (aliases, nothing unset)."""
        return self.model_dump(by_alias=True, exclude_none=True, mode="json")


def _path(loc: tuple[int | str, ...], field: str) -> str:
    out = field
    for part in loc:
        if isinstance(part, int):
            out += f"[{part}]"
        elif part.startswith("function-") or part in ("function-after", "function-before"):
            continue
        else:
            out += ("." if out else "") + part
    return out


def parse_definition(text: str | dict[str, Any], field: str = "definition") -> Clause:
    """A definition from JSON text (or already-parsed data). InvalidInput names the
    offending clause (`definition.and[2].vehicle.age_years_at_least`)."""
    data: Any = text
    if isinstance(text, str):
        try:
            data = json.loads(text)
        except ValueError as exc:
            raise InvalidInput.one(field, f"not JSON: {exc}") from None
    try:
        clause = Clause.model_validate(data)
    except ValidationError as exc:
        raise InvalidInput([FieldViolation(_path(tuple(e["loc"]), field), e["msg"])
                            for e in exc.errors()[:20]]) from None
    depth, count = _shape(clause)
    if depth > MAX_DEPTH or count > MAX_CLAUSES:
        raise InvalidInput.one(field, f"at most {MAX_DEPTH} levels and {MAX_CLAUSES} clauses "
                               f"(this one: {depth} levels, {count} clauses)")
    return clause


def _shape(clause: Clause) -> tuple[int, int]:
    shapes = [_shape(c) for c in clause.children()]
    return 1 + max((d for d, _ in shapes), default=0), 1 + sum(n for _, n in shapes)


def leaves(clause: Clause, path: str = "definition") -> list[tuple[str, Clause]]:
    """Every clause with its path, depth first."""
    found = [(path, clause)]
    kind = clause.kind
    for index, child in enumerate(clause.children()):
        found += leaves(child, f"{path}.{kind}[{index}]" if kind in ("and", "or")
                        else f"{path}.{kind}")
    return found


def describe(clause: Clause) -> str:
    """The clause in words, for the reasons a person qualifies."""
    kind = clause.kind
    if kind in ("and", "or"):
        return f" {kind} ".join(f"({describe(c)})" for c in clause.children())
    if clause.not_ is not None:
        return f"not ({describe(clause.not_)})"
    if clause.household_member_of is not None:
        return f"household member of someone who {describe(clause.household_member_of)}"
    if clause.referred_by is not None:
        return f"referred by someone who {describe(clause.referred_by)}"
    return _describe_leaf(clause)


def _describe_leaf(clause: Clause) -> str:
    if clause.tag is not None:
        return "tagged " + " or ".join(clause.tag.any_of)
    if clause.source is not None:
        s = clause.source
        where = " or ".join(s.in_) if s.in_ else "any source"
        return f"seen in {where}" + (f" within {s.seen_within_days} days"
                                     if s.seen_within_days else "")
    if clause.attribute is not None:
        return f"{clause.attribute.name} is " + " or ".join(clause.attribute.in_)
    if clause.dealer is not None:
        return "known to dealer " + " or ".join(clause.dealer.in_)
    if clause.consent is not None:
        return f"marketing consent {clause.consent.value.replace('_', ' ')}"
    assert clause.vehicle is not None
    return describe_vehicle(clause.vehicle)


def describe_vehicle(v: VehicleClause) -> str:
    """A vehicle clause in words."""
    verb = {VehicleRelation.ANY: "has a vehicle", VehicleRelation.OWNS_NOW: "owns",
            VehicleRelation.OWNED: "owned", VehicleRelation.TEST_DROVE: "test-drove",
            VehicleRelation.INTERESTED: "is interested in",
            VehicleRelation.DRIVES: "drives", VehicleRelation.SERVICED: "serviced"}
    parts = [verb[v.relation]]
    parts.append(" or ".join(v.model) if v.model else "a car" if v.relation
                 is not VehicleRelation.ANY else "")
    if v.make:
        parts.append("made by " + " or ".join(v.make))
    if v.age_years_at_least is not None:
        parts.append(f"at least {v.age_years_at_least} years old")
    if v.age_years_below is not None:
        parts.append(f"under {v.age_years_below} years old")
    if v.held_years_at_least is not None:
        parts.append(f"for at least {v.held_years_at_least:g} years")
    if v.plate_type:
        parts.append("with a " + v.plate_type.replace("_", "-") + " plate")
    if v.tag:
        parts.append("tagged " + " or ".join(v.tag))
    return " ".join(p for p in parts if p)
