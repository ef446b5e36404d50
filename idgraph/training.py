"""Unsupervised estimation of Fellegi-Sunter parameters from source records.

As Splink does it: u (how often each level occurs between different people) from random
pairs, m (how often it occurs for the same person) by expectation-maximisation over the
pairs that blocking keys and shared identifiers bring together, one training session per
key with that key's own comparisons switched off; the prior from each session's share of
matches scaled back by the key's recall; and term frequencies, so that agreeing on a common
value counts for less than agreeing on a rare one.

The result is a complete rules file: the template's identifier types, comparators, cut-offs,
blocking keys and thresholds, with m, u, the prior and term-frequency tables filled in.
"""

from __future__ import annotations

import logging
import math
import random
from collections import Counter, defaultdict
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from itertools import combinations
from typing import Any

import numpy as np
import numpy.typing as npt

from idgraph.domain.comparators import (
    COMPARATORS,
    MATRIX_COMPARATORS,
    blocking_value,
    date_vector_levels,
    fold,
    level_matrix,
    matrix_value,
    term_key,
    vector_levels,
)
from idgraph.domain.records import BLOCKING_PREFIX, PreparedRecord
from idgraph.domain.rules import AttributeRule, Comparator, Rules

log = logging.getLogger(__name__)

Levels = npt.NDArray[np.int8]


@dataclass(frozen=True)
class TrainingRecord:
    """What training needs of one record."""

    attributes: Mapping[str, str]
    identifiers: Mapping[tuple[str, str], frozenset[str]]  # (type, scope) -> values
    blocks: Mapping[str, str] = field(default_factory=dict)  # "a+b:initial" -> key value


@dataclass(frozen=True)
class ComparisonSpec:
    """One comparison being trained: an attribute or an identifier type, and its levels."""

    name: str
    kind: str  # "attribute" | "identifier"
    levels: tuple[str, ...]


@dataclass
class Session:
    """One EM session: the pairs one blocking key (or identifier type) brings together."""

    name: str
    inactive: frozenset[str]  # comparisons the key itself decides
    pairs_total: int  # pairs before sampling
    levels: Levels  # pairs x comparisons
    match_share: float = 0.0
    m: dict[str, list[float]] = field(default_factory=dict)


@dataclass
class TrainingReport:
    """The trained rules and what went into them."""

    rules: Rules
    records: int
    sessions: list[tuple[str, int, float]]  # name, pairs, share of matches
    table: list[tuple[str, str, float, float, float]]  # comparison, level, m, u, bits


def training_record(record: PreparedRecord, rules: Rules) -> TrainingRecord:
    """Reduce a prepared record to its attributes and its evidence identifiers."""
    identifiers: dict[tuple[str, str], set[str]] = defaultdict(set)
    for key in record.identifiers:
        rule = rules.identifier_types[key.type]
        if rule.evidence and key.value not in rule.blocklist:
            identifiers[(key.type, key.scope)].add(key.value)
    blocks = {key.type[len(BLOCKING_PREFIX):]: key.value for key in record.blocking_keys}
    return TrainingRecord(dict(record.attributes),
                          {k: frozenset(v) for k, v in identifiers.items()}, blocks)


def comparison_specs(rules: Rules) -> list[ComparisonSpec]:
    """The comparisons to train: every attribute, and every evidence identifier type."""
    specs = []
    for name, rule in rules.attributes.items():
        levels = tuple(level for level in rule.ordered_levels if level in rule.levels)
        specs.append(ComparisonSpec(name, "attribute", levels))
    for name, id_rule in rules.identifier_types.items():
        if not id_rule.evidence:
            continue
        # "disagree": both hold values of the type and share none. Training needs it to
        # estimate m; the scorer only weighs it for one-per-person types (a conflict).
        specs.append(ComparisonSpec(name, "identifier", ("agree", "disagree")))
    return specs


def identifier_level(name: str, a: TrainingRecord, b: TrainingRecord) -> int:
    """0: the two share a value of the type; 1: both hold values and share none; -1: no
    basis."""
    present = False
    for (type_name, scope), values in a.identifiers.items():
        if type_name != name:
            continue
        other = b.identifiers.get((type_name, scope))
        if other:
            if values & other:
                return 0
            present = True
    return 1 if present else -1


def train(records: Sequence[TrainingRecord], template: Rules, *, max_pairs: int = 30_000,
          u_sample: int = 800, seed: int = 0, tf_attributes: Iterable[str] = (),
          tf_max_values: int = 10_000, iterations: int = 25) -> TrainingReport:
    """Estimate m, u, the prior and term frequencies; return the trained rules."""
    if len(records) < 10:
        raise ValueError(f"training needs at least 10 records, got {len(records)}")
    rng = random.Random(seed)
    specs = comparison_specs(template)
    n = len(records)
    all_pairs = n * (n - 1) / 2
    agree_share = {spec.name: _exact_agreement(records, spec, template) for spec in specs}
    u = {spec.name: _estimate_u(records, spec, template, agree_share[spec.name], u_sample, rng)
         for spec in specs}
    sessions = _sessions(records, specs, template, max_pairs, rng)
    if not sessions:
        raise ValueError("no blocking key or shared identifier brings any two records "
                         "together; add blocking keys to the template")
    m = {spec.name: _initial_m(len(spec.levels)) for spec in specs}
    prior = 1e-4
    for _round in range(2):
        for session in sessions:
            _expectation_maximisation(session, specs, m, u, iterations)
        m = _combine_m(specs, sessions, m)
        prior = _estimate_prior(sessions, specs, m, template, all_pairs)
        # The agreeing share of all pairs is prior*m + (1-prior)*u: take the matches out.
        for spec in specs:
            share = agree_share[spec.name]
            if share is not None:
                floor = 1.0 / all_pairs
                u[spec.name][0] = max(floor, (share - prior * m[spec.name][0]) / (1 - prior))
    rules = _trained_rules(template, specs, m, u, prior, records,
                           set(tf_attributes), tf_max_values)
    table = [(spec.name, level, m[spec.name][i], u[spec.name][i],
              math.log2(m[spec.name][i] / u[spec.name][i]))
             for spec in specs for i, level in enumerate(spec.levels)]
    return TrainingReport(rules, n, [(s.name, s.pairs_total, s.match_share) for s in sessions],
                          table)


def _initial_m(count: int) -> list[float]:
    if count == 2:
        return [0.9, 0.1]
    middle = [0.15 / (count - 2)] * (count - 2)
    return [0.8, *middle, 0.05]


def _canonical(spec: ComparisonSpec, rules: Rules, record: TrainingRecord) -> list[str]:
    if spec.kind == "identifier":
        return [f"{scope}|{value}" for (type_name, scope), values in record.identifiers.items()
                if type_name == spec.name for value in values]
    raw = record.attributes.get(spec.name)
    if not raw:
        return []
    value = blocking_value(rules.attributes[spec.name].comparator, raw)
    return [value] if value else []


def _exact_agreement(records: Sequence[TrainingRecord], spec: ComparisonSpec,
                     rules: Rules) -> float | None:
    """Share of pairs (among pairs where both sides have a value) agreeing exactly."""
    if spec.levels[0] not in ("exact", "agree"):
        return None
    counts: Counter[str] = Counter()
    holders = 0
    for record in records:
        values = _canonical(spec, rules, record)
        if values:
            holders += 1
            counts.update(set(values))
    if holders < 2:
        return None
    agreeing = sum(c * (c - 1) / 2 for c in counts.values())
    return agreeing / (holders * (holders - 1) / 2)


def _estimate_u(records: Sequence[TrainingRecord], spec: ComparisonSpec, rules: Rules,
                exact_share: float | None, sample: int, rng: random.Random) -> list[float]:
    """u of every level: the exact level from value counts over all pairs, the other levels
    from the Cartesian product of a random sample of records (in C for string distances)."""
    count = len(spec.levels)
    if spec.kind == "identifier":
        agree = exact_share or 1e-9
        return [agree, 1.0 - agree]
    having = [r.attributes[spec.name] for r in records if r.attributes.get(spec.name)]
    rule = rules.attributes[spec.name]
    tally = np.zeros(count)
    if rule.comparator in MATRIX_COMPARATORS:
        values = Counter(matrix_value(rule.comparator, v)
                         for v in rng.sample(having, min(sample * 4, len(having))))
        distinct = list(values)
        weights = np.array([values[v] for v in distinct], dtype=np.float64)
        levels = level_matrix(rule.comparator, rule.effective_cutoffs, distinct, spec.levels)
        pair_weights = np.outer(weights, weights)
        np.fill_diagonal(pair_weights, weights * (weights - 1))
        for k in range(count):
            tally[k] = pair_weights[levels == k].sum()
    else:
        chosen = rng.sample(having, min(sample, len(having)))
        value_pairs: Counter[tuple[str, str]] = Counter()
        for a, b in combinations(chosen, 2):
            value_pairs[(a, b) if a <= b else (b, a)] += 1
        index = {level: i for i, level in enumerate(spec.levels)}
        compare = COMPARATORS[rule.comparator]
        for (a, b), times in value_pairs.items():
            level = index.get(compare(a, b, rule.effective_cutoffs), -1)
            if level >= 0:
                tally[level] += times
    total = float(tally.sum()) or 1.0
    floor = 0.5 / total
    u = [max(float(t) / total, floor) for t in tally]
    if exact_share is not None and spec.levels[0] == "exact" and count > 1:
        rest = sum(u[1:]) or 1.0
        u = [max(exact_share, floor / 10)] + [v / rest * (1 - exact_share) for v in u[1:]]
    return u


class _Columns:
    """Comparison levels of pairs, one comparison at a time, with each record's folded
    value computed once per attribute across sessions."""

    def __init__(self, specs: Sequence[ComparisonSpec], rules: Rules,
                 records: Sequence[TrainingRecord]) -> None:
        self.specs, self.rules, self.records = specs, rules, records
        self._folded: dict[str, npt.NDArray[np.object_]] = {}
        self._raw: dict[str, npt.NDArray[np.object_]] = {}
        self._single: dict[str, npt.NDArray[np.object_] | None] = {}

    def folded(self, name: str) -> npt.NDArray[np.object_]:
        found = self._folded.get(name)
        if found is None:
            found = self._folded[name] = np.array(
                [fold(r.attributes.get(name, "")) for r in self.records], dtype=object)
        return found

    def raw(self, name: str) -> npt.NDArray[np.object_]:
        found = self._raw.get(name)
        if found is None:
            found = self._raw[name] = np.array(
                [r.attributes.get(name, "") for r in self.records], dtype=object)
        return found

    def single_values(self, type_name: str) -> npt.NDArray[np.object_] | None:
        """Each record's one value of an identifier type ("" none), or None when some
        record holds several (then pairs are compared one by one)."""
        if type_name in self._single:
            return self._single[type_name]
        values: list[str] = []
        for record in self.records:
            held = [f"{scope}|{v}" for (t, scope), vs in record.identifiers.items()
                    if t == type_name for v in vs]
            if len(held) > 1:
                self._single[type_name] = None
                return None
            values.append(held[0] if held else "")
        found = self._single[type_name] = np.array(values, dtype=object)
        return found

    def levels(self, pairs: Sequence[tuple[int, int]]) -> Levels:
        """pairs x comparisons matrix of level indexes (-1: no basis)."""
        left = np.fromiter((a for a, _ in pairs), dtype=np.int64, count=len(pairs))
        right = np.fromiter((b for _, b in pairs), dtype=np.int64, count=len(pairs))
        return np.stack([self._column(spec, pairs, left, right) for spec in self.specs],
                        axis=1)

    def _column(self, spec: ComparisonSpec, pairs: Sequence[tuple[int, int]],
                left: npt.NDArray[np.int64], right: npt.NDArray[np.int64]
                ) -> npt.NDArray[np.int8]:
        records = self.records
        if spec.kind != "attribute":
            single = self.single_values(spec.name)
            if single is None:
                return np.array([identifier_level(spec.name, records[a], records[b])
                                 for a, b in pairs], dtype=np.int8)
            lefts, rights = single[left], single[right]
            present = (lefts != "") & (rights != "")
            out = np.full(len(pairs), -1, dtype=np.int8)
            out[present] = np.where(lefts[present] == rights[present], 0, 1)
            return out
        rule = self.rules.attributes[spec.name]
        if rule.comparator in (Comparator.JARO_WINKLER, Comparator.EDIT_DISTANCE):
            folded = self.folded(spec.name)
            vector = vector_levels(rule.comparator, rule.effective_cutoffs,
                                   folded[left].tolist(), folded[right].tolist(),
                                   spec.levels, folded=True)
            assert vector is not None
            return vector
        if rule.comparator is Comparator.DATE:
            raw = self.raw(spec.name)
            return date_vector_levels(raw[left].tolist(), raw[right].tolist(), spec.levels)
        index = {level: i for i, level in enumerate(spec.levels)}
        compare = COMPARATORS[rule.comparator]
        cache: dict[tuple[str, str], int] = {}
        out = np.full(len(pairs), -1, dtype=np.int8)
        name = spec.name
        for k, (a, b) in enumerate(pairs):
            x, y = records[a].attributes.get(name), records[b].attributes.get(name)
            if x and y:
                level = cache.get((x, y))
                if level is None:
                    level = cache[(x, y)] = index.get(compare(x, y, rule.effective_cutoffs), -1)
                out[k] = level
        return out


def _sessions(records: Sequence[TrainingRecord], specs: Sequence[ComparisonSpec],
              rules: Rules, max_pairs: int, rng: random.Random) -> list[Session]:
    """One session per blocking key and per identifier type with shared values."""
    keyed: list[tuple[str, frozenset[str], Callable[[TrainingRecord], list[str]]]] = []
    for combo in rules.blocking_keys:
        names = frozenset(part.partition(":")[0] for part in combo)
        key_name = "+".join(combo)

        def block(record: TrainingRecord, key_name: str = key_name) -> list[str]:
            value = record.blocks.get(key_name)
            return [value] if value else []
        keyed.append((key_name, names, block))
    for spec in specs:
        if spec.kind == "identifier":
            def held(record: TrainingRecord, spec: ComparisonSpec = spec) -> list[str]:
                return _canonical(spec, rules, record)
            keyed.append((spec.name, frozenset({spec.name}), held))
    sessions = []
    columns = _Columns(specs, rules, records)
    for name, inactive, key_of in keyed:
        groups: dict[str, list[int]] = defaultdict(list)
        for i, record in enumerate(records):
            for value in key_of(record):
                groups[value].append(i)
        pair_set: set[tuple[int, int]] = set()
        for members in groups.values():
            if 1 < len(members) <= rules.blocking_hub_threshold * 10:
                pair_set.update(combinations(members, 2))
        if not pair_set:
            continue
        pairs = sorted(pair_set)
        total = len(pairs)
        if total > max_pairs:
            pairs = rng.sample(pairs, max_pairs)
        levels = columns.levels(pairs)
        sessions.append(Session(name, inactive, total, levels))
        log.info("training session %s: %d pairs (%d used)", name, total, len(pairs))
    return sessions


def _expectation_maximisation(session: Session, specs: Sequence[ComparisonSpec],
                              m: Mapping[str, list[float]], u: Mapping[str, list[float]],
                              iterations: int) -> None:
    """EM with u fixed: estimate this session's share of matches and m of its active
    comparisons."""
    levels = session.levels
    active = [i for i, spec in enumerate(specs) if spec.name not in session.inactive]
    local_m = {specs[i].name: list(m[specs[i].name]) for i in active}
    share = 0.3
    for _ in range(iterations):
        logit = np.full(len(levels), math.log2(share / (1 - share)))
        for i in active:
            spec = specs[i]
            bits = np.array([math.log2(mv / uv) for mv, uv in zip(local_m[spec.name],
                                                                  u[spec.name], strict=True)]
                            + [0.0])
            logit += bits[levels[:, i]]  # index -1 picks the trailing 0.0 (no basis)
        p = 1.0 / (1.0 + np.power(2.0, -np.clip(logit, -60, 60)))
        new_share = float(min(max(p.mean(), 1e-6), 1 - 1e-6))
        change = abs(new_share - share)
        share = new_share
        for i in active:
            spec = specs[i]
            column = levels[:, i]
            weight = p[column >= 0].sum()
            if weight <= 0:
                continue
            estimate = [max(float(p[column == k].sum() / weight), 1e-6)
                        for k in range(len(spec.levels))]
            norm = sum(estimate)
            estimate = [e / norm for e in estimate]
            change = max(change, *(abs(a - b) for a, b in zip(estimate, local_m[spec.name],
                                                              strict=True)))
            local_m[spec.name] = estimate
        if change < 1e-5:
            break
    session.match_share = share
    session.m = local_m


def _combine_m(specs: Sequence[ComparisonSpec], sessions: Sequence[Session],
               previous: Mapping[str, list[float]]) -> dict[str, list[float]]:
    """Average each comparison's m over the sessions that estimated it."""
    combined = {}
    for spec in specs:
        estimates = [s.m[spec.name] for s in sessions if spec.name in s.m]
        if not estimates:
            combined[spec.name] = list(previous[spec.name])
            continue
        combined[spec.name] = [sum(e[k] for e in estimates) / len(estimates)
                               for k in range(len(spec.levels))]
    return combined


def _estimate_prior(sessions: Sequence[Session], specs: Sequence[ComparisonSpec],
                    m: Mapping[str, list[float]], rules: Rules, all_pairs: float) -> float:
    """Matches each session found, divided by its key's recall, over all pairs (median)."""
    exact_m = {spec.name: m[spec.name][0] for spec in specs}
    estimates = []
    for session in sessions:
        recall = math.prod(exact_m.get(name, 1.0) for name in session.inactive)
        matches = session.match_share * session.pairs_total / max(recall, 1e-3)
        estimates.append(matches / all_pairs)
    estimates.sort()
    prior = estimates[len(estimates) // 2]
    return min(max(prior, 1.0 / all_pairs), 0.5)


def _trained_rules(template: Rules, specs: Sequence[ComparisonSpec],
                   m: Mapping[str, list[float]], u: Mapping[str, list[float]], prior: float,
                   records: Sequence[TrainingRecord], tf_attributes: set[str],
                   tf_max_values: int) -> Rules:
    data: dict[str, Any] = template.model_dump(mode="json", exclude_none=True)
    data["prior"] = float(f"{prior:.6g}")
    by_name = {spec.name: spec for spec in specs}
    for name, rule in data["identifier_types"].items():
        spec = by_name.get(name)
        if spec is None:
            continue
        rule.pop("weight", None)
        rule["m"], rule["u"] = _round(m[name][0]), _round(u[name][0])
    for name, rule in data["attributes"].items():
        spec = by_name[name]
        rule["levels"] = {level: {"m": _round(m[name][i]), "u": _round(u[name][i])}
                          for i, level in enumerate(spec.levels)}
        if name in tf_attributes or "term_frequencies" in rule:
            levels = tuple(rule.get("term_frequencies", {}).get("levels", ("exact",)))
            rule["term_frequencies"] = _term_frequencies(
                records, name, template.attributes[name], levels, tf_max_values)
    return Rules.model_validate(data)


def _term_frequencies(records: Sequence[TrainingRecord], name: str, rule: AttributeRule,
                      levels: Sequence[str], max_values: int) -> dict[str, Any]:
    counts: Counter[str] = Counter()
    for level in levels:
        for record in records:
            raw = record.attributes.get(name)
            if raw:
                key = term_key(rule.comparator, level, raw)
                if key:
                    counts[key] += 1
    total = sum(counts.values()) / max(len(levels), 1)
    kept = dict(counts.most_common(max_values))
    rest = [c for value, c in counts.items() if value not in kept]
    default = (sum(rest) / len(rest) if rest else min(kept.values(), default=1)) / total
    return {"levels": list(levels), "default": _round(default),
            "values": {value: _round(c / total) for value, c in sorted(kept.items())}}


def _round(value: float) -> float:
    return float(f"{value:.6g}")
