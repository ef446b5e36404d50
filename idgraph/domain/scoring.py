"""Score a subject (a record, or a person) against a candidate person, with its explanation."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field

from idgraph.domain.comparators import COMPARATORS
from idgraph.domain.records import IdKey
from idgraph.domain.rules import Rules


@dataclass(frozen=True)
class Evidence:
    """What one side brings to a comparison: identifiers and attribute values."""

    identifiers: frozenset[IdKey]
    attributes: Mapping[str, Sequence[str]]

    @staticmethod
    def of(identifiers: Iterable[IdKey], attributes: Iterable[Mapping[str, str]]) -> Evidence:
        """Evidence of records: their identifiers and every attribute value they carry."""
        values: dict[str, list[str]] = defaultdict(list)
        for record_attributes in attributes:
            for name, value in record_attributes.items():
                if value not in values[name]:
                    values[name].append(value)
        return Evidence(frozenset(k for k in identifiers if not k.is_blocking), dict(values))


@dataclass(frozen=True)
class ComparisonResult:
    """One comparison that fired, as shown to callers and stewards."""

    name: str
    kind: str  # "identifier" | "attribute"
    level: str
    weight: float
    left_value: str = ""
    right_value: str = ""
    note: str = ""


@dataclass(frozen=True)
class Score:
    """Total score of a subject against a candidate, and its parts."""

    total: float
    comparisons: tuple[ComparisonResult, ...]
    conflict: bool  # a one-per-person type disagrees
    identifier_support: float  # weight from agreeing identifiers alone

    @property
    def support(self) -> float:
        """Score without conflict penalties: how strong the evidence for a match is."""
        return self.total - sum(c.weight for c in self.comparisons if c.level == "conflict")


@dataclass(frozen=True)
class EvidenceFilter:
    """Values that must not count as evidence, with the reason shown in explanations."""

    ignored: Mapping[str, str] = field(default_factory=dict)  # IdKey.key -> note


def score(subject: Evidence, candidate: Evidence, rules: Rules,
          evidence_filter: EvidenceFilter | None = None) -> Score:
    """Compare two sides comparison by comparison; weights add up to the total."""
    ignored = evidence_filter.ignored if evidence_filter else {}
    results = [*_identifier_comparisons(subject, candidate, rules, ignored),
               *_attribute_comparisons(subject, candidate, rules)]
    conflict = any(r.level == "conflict" for r in results)
    support = sum(r.weight for r in results if r.kind == "identifier" and r.level == "agree")
    return Score(round(sum(r.weight for r in results), 6), tuple(results), conflict, support)


def _by_type_scope(keys: Iterable[IdKey]) -> dict[tuple[str, str], set[IdKey]]:
    grouped: dict[tuple[str, str], set[IdKey]] = defaultdict(set)
    for key in keys:
        grouped[(key.type, key.scope)].add(key)
    return grouped


def _identifier_comparisons(subject: Evidence, candidate: Evidence, rules: Rules,
                            ignored: Mapping[str, str]) -> list[ComparisonResult]:
    left, right = _by_type_scope(subject.identifiers), _by_type_scope(candidate.identifiers)
    results = []
    for type_scope in sorted(left.keys() & right.keys()):
        rule = rules.identifier_types.get(type_scope[0])
        if rule is None:
            continue
        name = type_scope[0] + (f"[{type_scope[1]}]" if type_scope[1] else "")
        shared = sorted(left[type_scope] & right[type_scope])
        usable = [k for k in shared if rule.evidence and k.key not in ignored]
        if usable:
            results.append(ComparisonResult(name, "identifier", "agree", rule.weight,
                                            usable[0].display, usable[0].display))
        elif shared:
            note = ignored.get(shared[0].key, "not merge evidence for this type")
            results.append(ComparisonResult(name, "identifier", "ignored", 0.0,
                                            shared[0].display, shared[0].display, note))
        elif rule.unique_per_person and rule.evidence:
            a, b = min(left[type_scope]), min(right[type_scope])
            results.append(ComparisonResult(name, "identifier", "conflict", -rule.weight,
                                            a.display, b.display,
                                            "one-per-person type holds different values"))
    return results


def _attribute_comparisons(subject: Evidence, candidate: Evidence,
                           rules: Rules) -> list[ComparisonResult]:
    results = []
    for name, rule in rules.attributes.items():
        lefts, rights = subject.attributes.get(name, ()), candidate.attributes.get(name, ())
        best: ComparisonResult | None = None
        compare = COMPARATORS[rule.comparator]
        for a in lefts:
            for b in rights:
                level = compare(a, b)
                if not level or level not in rule.levels:
                    continue
                weight = rule.levels[level]
                if best is None or weight > best.weight:
                    best = ComparisonResult(name, "attribute", level, weight, a, b)
        if best is not None:
            results.append(best)
    return results
