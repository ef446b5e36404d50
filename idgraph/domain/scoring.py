"""Fellegi-Sunter scoring of a subject (a record, or a person) against a candidate person.

Every comparison (an identifier type, an attribute) lands on a level whose match weight is
log2(m/u) bits; the weights and the prior add up to a match weight that maps to a match
probability. A person is the union of its records: an identifier agrees when any value is
shared and conflicts when a one-per-person type holds different values; an attribute counts
at the best level any pair of values reaches (so one disagreeing value cannot hide behind a
record that lacks the attribute).
"""

from __future__ import annotations

import math
from collections import defaultdict
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import NamedTuple

from idgraph.domain.comparators import COMPARATORS, canonical_gender, term_key
from idgraph.domain.identifiers import IdentifierFormat, other_ownership
from idgraph.domain.names import compare_names, gender_hint, parse_name
from idgraph.domain.records import IdKey
from idgraph.domain.rules import AttributeRule, Comparator, Rules


def probability(bits: float) -> float:
    """Match probability of a match weight in bits."""
    if bits >= 0:
        return 1.0 / (1.0 + math.pow(2.0, -bits))
    odds = math.pow(2.0, bits)
    return odds / (1.0 + odds)


def bits_of(p: float) -> float:
    """Match weight in bits of a match probability."""
    return math.log2(p / (1.0 - p)) if p < 1 else math.inf


@dataclass(frozen=True)
class Evidence:
    """What one side brings to a comparison: identifiers and attribute values."""

    identifiers: frozenset[IdKey]
    attributes: Mapping[str, Sequence[str]]
    # Caches, not fields: a person's evidence is scored against many records.
    _aligned: tuple[tuple[str, ...], tuple[Sequence[str] | None, ...]] | None = field(
        default=None, init=False, repr=False, compare=False)
    _by_type_scope: dict[tuple[str, str], frozenset[IdKey]] | None = field(
        default=None, init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        object.__setattr__(self, "_aligned", None)  # compiled classes set no init=False default
        object.__setattr__(self, "_by_type_scope", None)

    @staticmethod
    def of(identifiers: Iterable[IdKey], attributes: Iterable[Mapping[str, str]]) -> Evidence:
        """Evidence of records: their identifiers and every attribute value they carry."""
        values: dict[str, list[str]] = defaultdict(list)
        for record_attributes in attributes:
            for name, value in record_attributes.items():
                if value not in values[name]:
                    values[name].append(value)
        return Evidence(frozenset(k for k in identifiers if not k.is_blocking), dict(values))

    def union(self, other: Evidence) -> Evidence:
        """The evidence of both sides together (a merge, or a record joining a person)."""
        attributes = {name: list(values) for name, values in self.attributes.items()}
        for name, values in other.attributes.items():
            bucket = attributes.setdefault(name, [])
            bucket.extend(v for v in values if v not in bucket)
        return Evidence(self.identifiers | other.identifiers, attributes)

    def aligned(self, names: tuple[str, ...]) -> tuple[Sequence[str] | None, ...]:
        """The values of each named attribute in order (None: none), computed once per
        evidence and attribute list: a person's evidence is scored against many records."""
        cached = self._aligned
        if cached is not None and cached[0] is names:
            return cached[1]
        aligned = tuple(self.attributes.get(name) or None for name in names)
        object.__setattr__(self, "_aligned", (names, aligned))
        return aligned

    @property
    def by_type_scope(self) -> dict[tuple[str, str], frozenset[IdKey]]:
        """The identifiers grouped by (type, scope), computed once per evidence."""
        cached = self._by_type_scope
        if cached is not None:
            return cached
        grouped: dict[tuple[str, str], set[IdKey]] = defaultdict(set)
        for key in self.identifiers:
            grouped[(key.type, key.scope)].add(key)
        result = {type_scope: frozenset(keys) for type_scope, keys in grouped.items()}
        object.__setattr__(self, "_by_type_scope", result)
        return result


class ComparisonResult(NamedTuple):
    """One comparison that fired, as shown to callers and stewards (a tuple: scoring builds
    hundreds of thousands of them in a backfill)."""

    name: str
    kind: str  # "identifier" | "attribute"
    level: str
    weight: float  # bits
    left_value: str = ""
    right_value: str = ""
    note: str = ""


@dataclass(frozen=True)
class Score:
    """Match weight of a subject against a candidate (prior included), and its parts."""

    total: float  # bits, prior included
    comparisons: tuple[ComparisonResult, ...]
    conflict: bool  # a one-per-person type disagrees
    identifier_support: float  # bits from agreeing identifiers alone
    prior: float = 0.0  # bits of the prior inside `total`

    @property
    def probability(self) -> float:
        """Match probability."""
        return probability(self.total)

    @property
    def support(self) -> float:
        """Match weight without conflict penalties: how strong the evidence for a match is."""
        return self.total - sum(c.weight for c in self.comparisons if c.level == "conflict")


@dataclass(frozen=True)
class EvidenceFilter:
    """Values that must not count as evidence, with the reason shown in explanations."""

    ignored: Mapping[str, str] = field(default_factory=dict)  # IdKey.key -> note
    # Values whose records name two (or more, below shared) different people: evidence only
    # between two sides that each name someone (IdKey.key -> how many people).
    contested: Mapping[str, int] = field(default_factory=dict)


def score(subject: Evidence, candidate: Evidence, rules: Rules,
          evidence_filter: EvidenceFilter | None = None) -> Score:
    """Compare two sides comparison by comparison; the weights and the prior add up. An
    attribute that an agreeing identifier implies (a shared landline implies the address)
    adds no agreement bits: the two are not independent evidence."""
    ignored = evidence_filter.ignored if evidence_filter else {}
    results = _attribute_comparisons(subject, candidate, rules)
    total = rules.prior_bits
    conflict, support = False, 0.0
    if subject.identifiers and candidate.identifiers:
        disagreeing = frozenset(r.name for r in results if r.level == "disagree")
        agreeing = frozenset(r.name for r in results if r.level not in _WEAK_LEVELS)
        identifier_results, implied = _identifier_comparisons(
            subject, candidate, rules, ignored, (disagreeing, agreeing),
            evidence_filter.contested if evidence_filter else {})
        for result in identifier_results:
            total += result.weight
            if result.level in ("agree", "typo"):
                support += result.weight
            elif result.level == "conflict":
                conflict = True
        if implied:
            results = [r._replace(weight=0.0, note=f"comes with the shared {implied[r.name]}")
                       if r.name in implied and r.weight > 0 else r for r in results]
        results = identifier_results + results
    for result in results:
        if result.kind == "attribute":
            total += result.weight
    return Score(round(total, 6), tuple(results), conflict, support, rules.prior_bits)


def _identifier_comparisons(subject: Evidence, candidate: Evidence, rules: Rules,
                            ignored: Mapping[str, str],
                            attributes: tuple[frozenset[str], frozenset[str]],
                            contested: Mapping[str, int]
                            ) -> tuple[list[ComparisonResult], dict[str, str]]:
    """The identifier comparisons, and the attributes the agreeing ones imply (attribute
    -> the comparison that implies it). A shared value of a type that families share
    weighs its `different_person` level when the sides disagree on a listed attribute."""
    left, right = subject.by_type_scope, candidate.by_type_scope
    results: list[ComparisonResult] = []
    implied: dict[str, str] = {}
    disagreeing, agreeing = attributes
    for type_scope in sorted(left.keys() & right.keys()):
        rule = rules.identifier_types.get(type_scope[0])
        if rule is None:
            continue
        name = type_scope[0] + (f"[{type_scope[1]}]" if type_scope[1] else "")
        shared = sorted(left[type_scope] & right[type_scope])
        usable = [k for k in shared if rule.evidence and k.key not in ignored]
        if usable and all(k.key in contested for k in usable) and not (
                names_someone(subject, rules) and names_someone(candidate, rules)):
            count = contested[usable[0].key]
            results.append(ComparisonResult(
                name, "identifier", "ignored", 0.0, usable[0].display, usable[0].display,
                f"its records name {count} different people, and one side names no one"))
        elif usable and rule.counts_with and rule.counts_with.isdisjoint(agreeing) and (
                caveat := _counts_without(subject, candidate, rule.counts_with, usable,
                                          disagreeing, rules)):
            results.append(ComparisonResult(
                name, "identifier", "ignored", 0.0, usable[0].display, usable[0].display,
                caveat))
        elif usable:
            other = rule.different_person
            if other is not None and "gender" in other.attributes and \
                    "gender" not in disagreeing and genders_conflict(subject, candidate):
                disagreeing |= {"gender"}  # 张晓丽 against a man: the name says it
            if other is not None and not other.attributes.isdisjoint(disagreeing):
                named = ", ".join(sorted(other.attributes & disagreeing))
                results.append(ComparisonResult(
                    name, "identifier", "agree", other.bits, usable[0].display,
                    usable[0].display, f"shared by records whose {named} disagree: "
                    "what a relative's or a colleague's value looks like"))
            else:
                results.append(ComparisonResult(name, "identifier", "agree", rule.agree_bits,
                                                usable[0].display, usable[0].display))
            for attribute in rule.implies:
                implied.setdefault(attribute, name)
        elif shared:
            note = ignored.get(shared[0].key, "not merge evidence for this type")
            results.append(ComparisonResult(name, "identifier", "ignored", 0.0,
                                            shared[0].display, shared[0].display, note))
        elif rule.typo is not None and rule.evidence and not \
                rule.typo.attributes.isdisjoint(agreeing) and (
                near := _one_typo_apart(left[type_scope], right[type_scope], ignored)):
            results.append(ComparisonResult(name, "identifier", "typo", rule.typo.bits,
                                            near[0].display, near[1].display,
                                            "one typed character apart"))
        elif rule.unique_per_person and rule.evidence:
            a, b = min(left[type_scope]), min(right[type_scope])
            results.append(ComparisonResult(name, "identifier", "conflict", rule.conflict_bits,
                                            a.display, b.display,
                                            "one-per-person type holds different values"))
    return results, implied


def _one_typo_apart(left: frozenset[IdKey], right: frozenset[IdKey],
                    ignored: Mapping[str, str]) -> tuple[IdKey, IdKey] | None:
    """A pair of values, one from each side, that differ in one character or by two
    adjacent characters swapped (neither ignored); None when there is none."""
    for a in sorted(left):
        if a.hashed or a.key in ignored:
            continue
        for b in sorted(right):
            if not b.hashed and b.key not in ignored and one_typo(a.value, b.value):
                return a, b
    return None


def one_typo(a: str, b: str) -> bool:
    """True when two strings of one length differ in one place, or by one adjacent swap."""
    if len(a) != len(b) or a == b:
        return False
    diff = [i for i, (x, y) in enumerate(zip(a, b, strict=True)) if x != y]
    if len(diff) == 1:
        return True
    return len(diff) == 2 and diff[1] == diff[0] + 1 and a[diff[0]] == b[diff[1]] \
        and a[diff[1]] == b[diff[0]]


def _other_ownerships(subject: Evidence, candidate: Evidence, shared: Sequence[IdKey],
                      rules: Rules) -> bool:
    """True when both sides own one of the shared cars, each from another date: two
    ownerships of one car are a sale, not one person (a nameless telematics record of the
    next owner against the first owner's records)."""
    cars = {key.value + "@" for key in shared}
    left, right = ([k.value for k in side.identifiers if k.type in rules.ownership_types
                    and k.value[:k.value.find("@") + 1] in cars]
                   for side in (subject, candidate))
    return bool(left and right) and other_ownership(left, right)


def _counts_without(subject: Evidence, candidate: Evidence, wanted: frozenset[str],
                    shared: Sequence[IdKey], disagreeing: frozenset[str], rules: Rules
                    ) -> str:
    """Why a shared value that counts only with an agreeing attribute (a car's VIN with the
    full name) does not count here; "" when it does. A surname lead 王先生 is perhaps the
    owner's son; a side that names no one (a service visit with a car and no name, a
    telematics ping) joins the car's people when it brings nothing of someone else: no
    contact the other side lacks (a relative's phone), no ownership of the car from another
    month than the other side's (the next owner's). Which of two people a nameless ping
    belongs to when both could own it is settled by resolving them again together."""
    named = " or ".join(sorted(wanted))
    weak = [side for side in (subject, candidate) if not names_someone(side, rules)]
    if not weak or not wanted.isdisjoint(disagreeing) or genders_conflict(subject, candidate):
        return f"counts only with an agreeing {named}"
    if _other_ownerships(subject, candidate, shared, rules):
        return "the sides own the car from different dates: a used car's next owner"
    for side in weak:
        other = candidate if side is subject else subject
        named_fully = any(parse_name(v).full for v in other.attributes.get("name", ()))
        if all(other is not w for w in weak) and not named_fully:
            # the car's holder is only 罗先生: perhaps the owner, perhaps his son
            return f"counts only with an agreeing {named}"
        if any(_is_foreign(k, rules) for k in side.identifiers - other.identifiers):
            return (f"no agreeing {named}, and one side holds a contact the other lacks: "
                    "someone else with the car")
    return ""


def _is_foreign(key: IdKey, rules: Rules) -> bool:
    """True for a contact relatives share (a phone, an email, a device): held by one side
    only, it points at someone else (an ownership is the car's own record of its owner)."""
    rule = rules.identifier_types.get(key.type)
    return rule is not None and rule.different_person is not None and \
        key.type not in rules.ownership_types


# Levels that do not say two sides are the same person (a surname lead agrees on little).
_WEAK_LEVELS = frozenset({"disagree", "surname", "year"})


def _genders(evidence: Evidence) -> set[str]:
    stated = {g for v in evidence.attributes.get("gender", ()) if (g := canonical_gender(v))}
    return stated or {g for v in evidence.attributes.get("name", ()) if (g := gender_hint(v))}


def genders_conflict(left: Evidence, right: Evidence) -> bool:
    """True when the two sides' genders (stated, or else hinted by a given name) differ."""
    a, b = _genders(left), _genders(right)
    return bool(a and b) and a.isdisjoint(b)


def names_someone(evidence: Evidence, rules: Rules) -> bool:
    """True when the evidence says who it is: a name (not a nickname), a gender or a
    resident ID."""
    return any(compare_names(v, v) for v in evidence.attributes.get("name", ())) or any(
        canonical_gender(v) for v in evidence.attributes.get("gender", ())) or any(
        rules.identifier_types[k.type].format is IdentifierFormat.ID_CARD
        for k in evidence.identifiers if k.type in rules.identifier_types)


def level_bits(rule: AttributeRule, level: str, left: str) -> tuple[float, str]:
    """Weight (bits) of an attribute level, term-frequency adjusted when configured, and a
    note saying so."""
    spec = rule.levels[level]
    tf = rule.term_frequencies
    if tf is None or level not in tf.levels or spec.m is None:
        return spec.bits, ""
    key = term_key(rule.comparator, level, left)
    frequency = tf.frequency(level, key)
    return math.log2(spec.m / frequency), f"term frequency {frequency:.3g}"


_NO_BASIS: tuple[float | None, str, str] = (None, "", "")


class _AttributePlan:
    """One attribute's comparison, compiled for the hot path, with a bounded cache of the
    weight, level and term-frequency note each value pair reaches (weight None: no basis,
    or a level the rules do not list)."""

    __slots__ = ("cache", "compare", "cutoffs", "name", "rule", "tf_levels", "weights")

    def __init__(self, name: str, rule: AttributeRule) -> None:
        self.name, self.rule = name, rule
        self.compare = COMPARATORS[rule.comparator]
        self.cutoffs = rule.effective_cutoffs
        self.weights = {level: spec.bits for level, spec in rule.levels.items()}
        tf = rule.term_frequencies
        self.tf_levels = frozenset(tf.levels) if tf is not None else frozenset()
        self.cache: dict[tuple[str, str], tuple[float | None, str, str]] = {}

    def weigh(self, a: str, b: str) -> tuple[float | None, str, str]:
        """(weight, level, note) of a value pair; cached."""
        if len(self.cache) >= 1 << 16:
            self.cache.clear()
        level = self.compare(a, b, self.cutoffs)
        weight = self.weights.get(level)
        if weight is None:
            found = _NO_BASIS
        elif level in self.tf_levels:
            bits, note = level_bits(self.rule, level, a)
            found = (bits, level, note)
        else:
            found = (weight, level, "")
        self.cache[(a, b)] = found
        return found


def _full_names_first(lefts: Sequence[str], rights: Sequence[str]
                      ) -> tuple[Sequence[str], Sequence[str]]:
    """When both sides hold full names, surname leads (张先生) say nothing more: 周一兵 is not
    周庆轩 because one of 周庆轩's records is a 周先生 lead."""
    full_lefts = [v for v in lefts if parse_name(v).full]
    full_rights = [v for v in rights if parse_name(v).full]
    if full_lefts and full_rights:
        return full_lefts, full_rights
    return lefts, rights


_PLANS: dict[int, tuple[Rules, list[_AttributePlan], tuple[str, ...]]] = {}


def _plans(rules: Rules) -> tuple[list[_AttributePlan], tuple[str, ...]]:
    """The compiled attribute plans of the rules, and their attribute names in order."""
    entry = _PLANS.get(id(rules))
    if entry is None or entry[0] is not rules:
        plans = [_AttributePlan(n, r) for n, r in rules.attributes.items()]
        entry = (rules, plans, tuple(plan.name for plan in plans))
        _PLANS[id(rules)] = entry
    return entry[1], entry[2]


def forget_compared_values() -> None:
    """Drop the cached value pairs of every compiled rule set (after an erasure)."""
    for _rules, plans, _names in list(_PLANS.values()):
        for plan in plans:
            plan.cache.clear()


def _attribute_comparisons(subject: Evidence, candidate: Evidence,
                           rules: Rules) -> list[ComparisonResult]:
    """Each attribute at the best level any pair of the two sides' values reaches."""
    results = []
    plans, names = _plans(rules)
    for plan, lefts, rights in zip(plans, subject.aligned(names),  # noqa: B905 (hot path)
                                   candidate.aligned(names)):
        if lefts is None or rights is None:
            continue
        cache = plan.cache
        if len(lefts) == 1 and len(rights) == 1:  # most comparisons: one value a side
            a, b = lefts[0], rights[0]
            found = cache.get((a, b)) or plan.weigh(a, b)
            if found[0] is not None:
                results.append(ComparisonResult(plan.name, "attribute", found[1], found[0],
                                                a, b, found[2]))
            continue
        if plan.rule.comparator is Comparator.NAME:
            lefts, rights = _full_names_first(lefts, rights)
        best: tuple[float | None, str, str] = _NO_BASIS
        best_a = best_b = ""
        for a in lefts:
            for b in rights:
                found = cache.get((a, b)) or plan.weigh(a, b)
                weight = found[0]
                if weight is not None and (best[0] is None or weight > best[0]):
                    best, best_a, best_b = found, a, b
        if best[0] is not None:
            results.append(ComparisonResult(plan.name, "attribute", best[1], best[0],
                                            best_a, best_b, best[2]))
    return results
