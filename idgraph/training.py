"""Unsupervised estimation of Fellegi-Sunter parameters from source records.

As Splink does it, adapted to records that share identifiers:

- the prior (the probability that two random records match) from deterministic rules with a
  stated recall: the pairs that share an identifier value or agree exactly on every
  attribute of a blocking key, divided by the share of all matches they are believed to
  find, over all pairs; or by EM, each session's matches scaled back by how often the
  matches the other sessions found agree on that session's key;
- u (how often a level occurs between different people) for attributes from pairs of
  different clusters of the deterministic rules (two records sharing a phone are not two
  random people, and counting them as such makes common agreement look rare);
- u of sharing an identifier value from the pairs EM finds to be different people among
  those sharing a value, leaving out values that the service would ignore as hubs (held by
  more people than the type's hub threshold);
- m (how often a level occurs for the same person) by expectation-maximisation over the
  pairs that blocking keys and shared identifiers bring together, one session per key with
  that key's own comparisons switched off, averaged by the matches each session saw;
- term frequencies, so that agreeing on a common value counts for less than on a rare one.

The result is a complete rules file: the template's identifier types, comparators, cut-offs,
blocking keys and thresholds, with m, u, the prior and term-frequency tables filled in. A
model that would link far fewer or far more pairs than the deterministic rules on its own
training data is refused (`DegenerateModel`): see `idgraph.training_check`.
"""

from __future__ import annotations

import logging
import math
import random
from collections import Counter, defaultdict
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
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
from idgraph.domain.records import BLOCKING_PREFIX, KEY_SEPARATOR, PreparedRecord
from idgraph.domain.rules import AttributeRule, Comparator, Rules
from idgraph.training_check import LinkageCheck, check_links, refusal

log = logging.getLogger(__name__)

Levels = npt.NDArray[np.int8]
Codes = npt.NDArray[np.int64]

PRIOR_METHODS = ("deterministic", "em")
DEFAULT_RECALL = 0.6


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


@dataclass(frozen=True)
class DeterministicRule:
    """Pairs taken to be matches when the prior is estimated (Splink's deterministic rules):
    those sharing a value of an identifier type, or agreeing exactly on every attribute."""

    identifier: str = ""
    attributes: tuple[str, ...] = ()

    def __str__(self) -> str:
        return self.identifier or "+".join(self.attributes)

    @staticmethod
    def parse(text: str, rules: Rules) -> DeterministicRule:
        """``phone`` (an evidence identifier type) or ``name+birth_date`` (attributes)."""
        text = text.strip()
        id_rule = rules.identifier_types.get(text)
        if id_rule is not None:
            if not id_rule.evidence:
                raise ValueError(f"deterministic rule {text!r}: {text} is never evidence")
            return DeterministicRule(identifier=text)
        names = tuple(part.strip() for part in text.split("+") if part.strip())
        unknown = [name for name in names if name not in rules.attributes]
        if not names or unknown:
            raise ValueError(f"deterministic rule {text!r}: name an identifier type or "
                             f"attributes joined by '+' (unknown: {unknown or [text]})")
        return DeterministicRule(attributes=names)


def default_deterministic_rules(rules: Rules) -> list[DeterministicRule]:
    """Sharing a value of any evidence identifier type, and exact agreement on every
    attribute of each blocking key of two or more attributes (transforms dropped)."""
    found = [DeterministicRule(identifier=name)
             for name, rule in rules.identifier_types.items() if rule.evidence]
    seen: set[frozenset[str]] = set()
    for key in rules.scored_blocking_keys():
        names = tuple(dict.fromkeys(part.partition(":")[0] for part in key))
        if len(names) > 1 and frozenset(names) not in seen:
            seen.add(frozenset(names))
            found.append(DeterministicRule(attributes=names))
    return found


@dataclass
class Session:
    """One EM session: the pairs one blocking key (or identifier type) brings together."""

    name: str
    inactive: frozenset[str]  # comparisons the key itself decides
    pairs_total: int  # pairs before sampling
    levels: Levels  # pairs x comparisons
    left: Codes = field(default_factory=lambda: np.zeros(0, dtype=np.int64))
    right: Codes = field(default_factory=lambda: np.zeros(0, dtype=np.int64))
    group: Codes = field(default_factory=lambda: np.zeros(0, dtype=np.int64))  # value group
    values: list[str] = field(default_factory=list)  # value of each group
    identifier: str = ""  # the identifier type of an identifier session
    match_share: float = 0.0
    posterior: npt.NDArray[np.float64] = field(default_factory=lambda: np.zeros(0))
    evidence: npt.NDArray[np.float64] = field(default_factory=lambda: np.zeros(0))  # bits
    m: dict[str, list[float]] = field(default_factory=dict)
    m_weight: dict[str, float] = field(default_factory=dict)  # matches with a basis

    @property
    def scale(self) -> float:
        """Pairs in all per pair used (sessions over `max_pairs` use a sample of groups)."""
        return self.pairs_total / max(len(self.levels), 1)


@dataclass(frozen=True)
class PriorEstimate:
    """Both estimates of the prior, and which one the rules use."""

    method: str
    deterministic_rules: tuple[str, ...]
    deterministic_pairs: int  # pairs the deterministic rules link
    recall: float
    deterministic: float | None  # None: the rules link no pair
    em: float | None  # None: no session could be scaled back

    @property
    def chosen(self) -> float | None:
        """The estimate the method names."""
        return self.deterministic if self.method == "deterministic" else self.em


@dataclass
class TrainingReport:
    """The trained rules and what went into them."""

    rules: Rules
    records: int
    sessions: list[tuple[str, int, float]]  # name, pairs, share of matches
    table: list[tuple[str, str, float, float, float]]  # comparison, level, m, u, bits
    prior: PriorEstimate | None = None
    check: LinkageCheck | None = None
    refused: str = ""  # why the rules should not be used ("" when they look sane)


class DegenerateModel(ValueError):
    """The trained rules would link almost nothing or almost everything on their own
    training data; the report says what was trained and why it was refused."""

    def __init__(self, message: str, report: TrainingReport) -> None:
        super().__init__(message)
        self.report = report


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
          tf_max_values: int = 10_000, iterations: int = 25,
          prior_method: str = "deterministic", recall: float = DEFAULT_RECALL,
          deterministic: Sequence[DeterministicRule] | None = None, force: bool = False,
          check_pairs: int = 20_000) -> TrainingReport:
    """Estimate m, u, the prior and term frequencies; return the trained rules.

    `deterministic` rules (default: `default_deterministic_rules`) are said to find
    `recall` of all matching pairs; they give the prior (`prior_method` "deterministic") and
    the yardstick of the check.

    Raises:
        DegenerateModel: on these records the rules would link under a tenth of the pairs
            the deterministic rules link, or over ten times the matches they imply (unless
            `force`: then `TrainingReport.refused` says so).
        ValueError: too few records, bad options, or nothing brings two records together.
    """
    _check_options(len(records), prior_method, recall)
    rng = random.Random(seed)
    specs = comparison_specs(template)
    n = len(records)
    rules_d = (list(deterministic) if deterministic is not None
               else default_deterministic_rules(template))
    linked = _deterministic_pairs(records, rules_d, template)
    u = {spec.name: _initial_u(records, spec, template, _clusters(n, linked), u_sample, rng)
         for spec in specs}
    sessions, candidates = _sessions(records, specs, template, max_pairs, rng)
    if not sessions:
        raise ValueError("no blocking key or shared identifier brings any two records "
                         "together; add blocking keys to the template")
    different_u: dict[str, float] = {}
    m = _fit(records, specs, template, sessions, u, iterations, different_u)
    prior = _prior(prior_method, rules_d, len(linked), recall, sessions, specs, n)
    rules = _trained_rules(template, specs, m, u, _chosen_prior(prior, n), records,
                           set(tf_attributes), tf_max_values, different_u)
    report = TrainingReport(rules, n, [(s.name, s.pairs_total, s.match_share) for s in sessions],
                            _table(specs, m, u), prior)
    if linked.size:
        candidates = np.union1d(candidates, _loose_pairs(records, template))
        report.check = check_links(records, rules, candidates, len(linked), recall,
                                   check_pairs, rng, _hub_values(template, sessions))
        report.refused = refusal(report.check, rules, prior.deterministic) or ""
    if report.refused and not force:
        raise DegenerateModel(report.refused, report)
    return report


def _check_options(records: int, prior_method: str, recall: float) -> None:
    if records < 10:
        raise ValueError(f"training needs at least 10 records, got {records}")
    if prior_method not in PRIOR_METHODS:
        raise ValueError(f"prior method {prior_method!r}: one of {', '.join(PRIOR_METHODS)}")
    if not 0 < recall <= 1:
        raise ValueError(f"recall {recall:g}: the share of matches the deterministic rules "
                         "find, above 0 and at most 1")


def _fit(records: Sequence[TrainingRecord], specs: Sequence[ComparisonSpec], rules: Rules,
         sessions: Sequence[Session], u: dict[str, list[float]], iterations: int,
         different_u: dict[str, float]) -> dict[str, list[float]]:
    """m by EM in every session; u of sharing an identifier from the pairs EM finds to be
    different people with conflicting names (into `different_u`, for the types whose
    different_person level weighs them). Three rounds: each round's u feeds the next
    round's EM."""
    m = {spec.name: _initial_m(len(spec.levels)) for spec in specs}
    for _round in range(3):
        for session in sessions:
            _expectation_maximisation(session, specs, m, u, iterations)
        m = _combine_m(specs, sessions, m)
        _identifier_u(records, specs, rules, sessions, u, different_u)
    return m


def _prior(method: str, rules_d: Sequence[DeterministicRule], linked: int, recall: float,
           sessions: Sequence[Session], specs: Sequence[ComparisonSpec], n: int
           ) -> PriorEstimate:
    all_pairs = n * (n - 1) / 2
    return PriorEstimate(method, tuple(str(r) for r in rules_d), linked, recall,
                         linked / recall / all_pairs if linked else None,
                         _em_prior(sessions, specs, all_pairs))


def _chosen_prior(prior: PriorEstimate, n: int) -> float:
    chosen = prior.chosen
    if chosen is None:
        if prior.method == "deterministic":
            raise ValueError(
                "the deterministic rules (" + ", ".join(prior.deterministic_rules) + ") link "
                "no two training records: name others (--deterministic) or estimate the "
                "prior by EM (--prior-method em)")
        raise ValueError("EM could not estimate the prior (no session's key agrees on the "
                         "matches other sessions found): use --prior-method deterministic")
    return min(max(chosen, 2.0 / (n * (n - 1))), 0.5)


def _table(specs: Sequence[ComparisonSpec], m: Mapping[str, list[float]],
           u: Mapping[str, list[float]]) -> list[tuple[str, str, float, float, float]]:
    return [(spec.name, level, m[spec.name][i], u[spec.name][i],
             math.log2(max(m[spec.name][i], _TINY) / max(u[spec.name][i], _TINY)))
            for spec in specs for i, level in enumerate(spec.levels)]


def _initial_m(count: int) -> list[float]:
    if count == 2:
        return [0.9, 0.1]
    middle = [0.15 / (count - 2)] * (count - 2)
    return [0.8, *middle, 0.05]


# -- keys: what brings records together ---------------------------------------------------

@dataclass(frozen=True)
class _Key:
    """Records holding the same value of a key are paired, unless more than `cap` hold it."""

    name: str
    inactive: frozenset[str]  # comparisons the key decides (off in its EM session)
    values: Callable[[TrainingRecord], list[str]]
    cap: int
    identifier: str = ""  # the identifier type of an identifier key


def _identifier_key(name: str, rules: Rules) -> _Key:
    rule = rules.identifier_types[name]

    def held(record: TrainingRecord) -> list[str]:
        return [f"{scope}{KEY_SEPARATOR}{value}"
                for (type_name, scope), values in record.identifiers.items()
                if type_name == name for value in values]
    return _Key(name, frozenset({name}), held,
                10 * (rule.hub_threshold or rules.blocking_hub_threshold), name)


def _session_keys(specs: Sequence[ComparisonSpec], rules: Rules) -> list[_Key]:
    """One key per blocking key (its stored value) and per evidence identifier type."""
    keys = []
    for combo in rules.scored_blocking_keys():
        key_name = "+".join(combo)

        def block(record: TrainingRecord, key_name: str = key_name) -> list[str]:
            value = record.blocks.get(key_name)
            return [value] if value else []
        keys.append(_Key(key_name, frozenset(part.partition(":")[0] for part in combo), block,
                         rules.blocking_hub_threshold * 10))
    keys.extend(_identifier_key(spec.name, rules) for spec in specs
                if spec.kind == "identifier")
    return keys


def _deterministic_key(rule: DeterministicRule, rules: Rules) -> _Key:
    if rule.identifier:
        return _identifier_key(rule.identifier, rules)
    comparators = [(name, rules.attributes[name].comparator) for name in rule.attributes]

    def exact(record: TrainingRecord) -> list[str]:
        parts = [blocking_value(comparator, record.attributes.get(name) or "")
                 for name, comparator in comparators]
        return ["\x1f".join(parts)] if all(parts) else []
    return _Key(str(rule), frozenset(rule.attributes), exact,
                rules.blocking_hub_threshold * 10)


def _loose_pairs(records: Sequence[TrainingRecord], rules: Rules) -> Codes:
    """Pairs agreeing exactly on any one attribute of a blocking key: mostly different
    people, among whom rules that link almost everything show themselves."""
    names = dict.fromkeys(part.partition(":")[0] for key in rules.scored_blocking_keys()
                          for part in key)
    found = [_group_pairs(_value_groups(records, _deterministic_key(
        DeterministicRule(attributes=(name,)), rules))[1], len(records))[0] for name in names]
    return np.unique(np.concatenate(found)) if found else np.zeros(0, dtype=np.int64)


def _value_groups(records: Sequence[TrainingRecord], key: _Key
                  ) -> tuple[list[str], list[Codes]]:
    """The values held by two to `cap` records, and the records holding each."""
    groups: dict[str, list[int]] = defaultdict(list)
    for i, record in enumerate(records):
        for value in key.values(record):
            groups[value].append(i)
    kept = [(value, members) for value, members in groups.items()
            if 1 < len(members) <= key.cap]
    return ([value for value, _ in kept],
            [np.array(members, dtype=np.int64) for _, members in kept])


def _group_pairs(groups: Sequence[Codes], n: int) -> tuple[Codes, Codes]:
    """Every pair of each group as a code a * n + b (a < b), each pair once, and the group
    it was first found in."""
    if not groups:
        return np.zeros(0, dtype=np.int64), np.zeros(0, dtype=np.int64)
    codes, owners = [], []
    for number, members in enumerate(groups):
        a, b = np.triu_indices(len(members), 1)
        low, high = np.minimum(members[a], members[b]), np.maximum(members[a], members[b])
        codes.append(low * n + high)
        owners.append(np.full(len(a), number, dtype=np.int64))
    unique, first = np.unique(np.concatenate(codes), return_index=True)
    return unique, np.concatenate(owners)[first]


def _deterministic_pairs(records: Sequence[TrainingRecord], rules_d: Sequence[DeterministicRule],
                         rules: Rules) -> Codes:
    """Codes of the pairs any deterministic rule links."""
    found = [_group_pairs(_value_groups(records, _deterministic_key(rule, rules))[1],
                          len(records))[0] for rule in rules_d]
    return np.unique(np.concatenate(found)) if found else np.zeros(0, dtype=np.int64)


def _clusters(n: int, linked: Codes) -> npt.NDArray[np.int64]:
    """Each record's cluster under the deterministic rules (connected components)."""
    parent = list(range(n))

    def find(x: int) -> int:
        while parent[x] != x:
            parent[x] = parent[parent[x]]
            x = parent[x]
        return x
    for code in linked.tolist():
        a, b = find(code // n), find(code % n)
        if a != b:
            parent[b] = a
    return np.array([find(i) for i in range(n)], dtype=np.int64)


# -- u --------------------------------------------------------------------------------------

def _initial_u(records: Sequence[TrainingRecord], spec: ComparisonSpec, rules: Rules,
               cluster: npt.NDArray[np.int64], sample: int, rng: random.Random
               ) -> list[float]:
    """u of attributes from pairs of different clusters; of identifiers, where EM starts:
    the share of record pairs sharing a value (matches included; `_identifier_u` replaces
    it)."""
    if spec.kind == "identifier":
        agree = _agreement(records, spec, rules, np.arange(len(records))) or 1e-9
        return [agree, 1.0 - agree]
    return _attribute_u(records, spec, rules, cluster, sample, rng)


def _canonical(spec: ComparisonSpec, rules: Rules, record: TrainingRecord) -> list[str]:
    if spec.kind == "identifier":
        return [f"{scope}|{value}" for (type_name, scope), values in record.identifiers.items()
                if type_name == spec.name for value in values]
    raw = record.attributes.get(spec.name)
    if not raw:
        return []
    value = blocking_value(rules.attributes[spec.name].comparator, raw)
    return [value] if value else []


def _agreement(records: Sequence[TrainingRecord], spec: ComparisonSpec, rules: Rules,
               cluster: npt.NDArray[np.int64]) -> float | None:
    """Share of the pairs of records in different clusters (both holding a value) that agree
    exactly, from value counts."""
    if spec.levels[0] not in ("exact", "agree"):
        return None
    values: Counter[str] = Counter()
    in_cluster: Counter[tuple[str, int]] = Counter()
    holders: Counter[int] = Counter()
    for record, owner in zip(records, cluster.tolist(), strict=True):
        held = set(_canonical(spec, rules, record))
        if held:
            holders[owner] += 1
            values.update(held)
            in_cluster.update((value, owner) for value in held)
    pairs = _pairs_of(holders.total()) - sum(_pairs_of(c) for c in holders.values())
    if pairs <= 0:
        return None
    agreeing = (sum(_pairs_of(c) for c in values.values())
                - sum(_pairs_of(c) for c in in_cluster.values()))
    return max(agreeing, 0) / pairs


def _pairs_of(count: int) -> float:
    return count * (count - 1) / 2


def _attribute_u(records: Sequence[TrainingRecord], spec: ComparisonSpec, rules: Rules,
                 cluster: npt.NDArray[np.int64], sample: int, rng: random.Random
                 ) -> list[float]:
    """u of every level: the exact level from value counts over all pairs of records in
    different clusters, the other levels from the pairs of a random sample of records (in C
    for string distances) less those within one cluster."""
    rule = rules.attributes[spec.name]
    having = [i for i, record in enumerate(records) if record.attributes.get(spec.name)]
    size = sample * 4 if rule.comparator in MATRIX_COMPARATORS else sample
    chosen = rng.sample(having, min(size, len(having)))
    values = [records[i].attributes[spec.name] for i in chosen]
    tally = _level_tally(rule, spec, values) - _same_cluster_tally(
        rule, spec, values, cluster[chosen].tolist())
    total = float(tally.sum()) or 1.0
    floor = 0.5 / total
    u = [max(float(t) / total, floor) for t in tally]
    exact_share = _agreement(records, spec, rules, cluster)
    if exact_share is not None and spec.levels[0] == "exact" and len(u) > 1:
        rest = sum(u[1:]) or 1.0
        u = [max(exact_share, floor / 10)] + [v / rest * (1 - exact_share) for v in u[1:]]
    return u


def _level_tally(rule: AttributeRule, spec: ComparisonSpec, values: Sequence[str]
                 ) -> npt.NDArray[np.float64]:
    """Pairs of the values at each level."""
    count = len(spec.levels)
    tally = np.zeros(count)
    if rule.comparator in MATRIX_COMPARATORS:
        counts = Counter(matrix_value(rule.comparator, v) for v in values)
        distinct = list(counts)
        weights = np.array([counts[v] for v in distinct], dtype=np.float64)
        levels = level_matrix(rule.comparator, rule.effective_cutoffs, distinct, spec.levels)
        pair_weights = np.outer(weights, weights)
        np.fill_diagonal(pair_weights, weights * (weights - 1))
        for k in range(count):
            tally[k] = pair_weights[levels == k].sum() / 2
        return tally
    value_pairs: Counter[tuple[str, str]] = Counter()
    for i, a in enumerate(values):
        for b in values[i + 1:]:
            value_pairs[(a, b) if a <= b else (b, a)] += 1
    return tally + _tally_pairs(rule, spec, value_pairs)


def _same_cluster_tally(rule: AttributeRule, spec: ComparisonSpec, values: Sequence[str],
                        owners: Sequence[int]) -> npt.NDArray[np.float64]:
    """Pairs of the values at each level whose records share a cluster."""
    by_owner: dict[int, list[str]] = defaultdict(list)
    for value, owner in zip(values, owners, strict=True):
        by_owner[owner].append(value)
    value_pairs: Counter[tuple[str, str]] = Counter()
    for group in by_owner.values():
        for i, a in enumerate(group):
            for b in group[i + 1:]:
                value_pairs[(a, b) if a <= b else (b, a)] += 1
    return _tally_pairs(rule, spec, value_pairs)


def _tally_pairs(rule: AttributeRule, spec: ComparisonSpec,
                 value_pairs: Mapping[tuple[str, str], int]) -> npt.NDArray[np.float64]:
    tally = np.zeros(len(spec.levels))
    index = {level: i for i, level in enumerate(spec.levels)}
    compare = COMPARATORS[rule.comparator]
    for (a, b), times in value_pairs.items():
        level = index.get(compare(a, b, rule.effective_cutoffs), -1)
        if level >= 0:
            tally[level] += times
    return tally


def _identifier_u(records: Sequence[TrainingRecord], specs: Sequence[ComparisonSpec],
                  rules: Rules, sessions: Sequence[Session], u: dict[str, list[float]],
                  different_u: dict[str, float]) -> None:
    """u of sharing a value of each identifier type: the pairs of its session that EM finds
    to be different people, over all pairs of records holding the type (in one scope),
    leaving out values that more people hold than the type's hub threshold (the service
    does not count them). When EM finds no such pair, u is below one in the pairs looked
    at: the template's u if smaller (as Splink keeps a level's default u when training
    observes none), else half a pair."""
    by_type = {s.identifier: s for s in sessions if s.identifier}
    for spec in specs:
        session = by_type.get(spec.name)
        holders = _holder_pairs(records, spec.name)
        if session is None or holders <= 0:
            continue
        rule = rules.identifier_types[spec.name]
        counted = ~np.isin(session.group, _hub_groups(session, rule.hub_threshold))
        # Two people are told apart by what they say they are (names, genders), not by
        # the absence of evidence (an app record without a name) or a weak disagreement
        # (a new phone's device id): only pairs that conflict so count.
        named = _conflicting_pairs(session, specs, rules.identity_attributes or (
            {"name"} if "name" in rules.attributes else set()))
        different = float(((session.posterior < 0.5) & counted & named).sum()) * session.scale
        floor = min(0.5 / holders, rule.u if rule.u is not None else 1.0)
        if rule.different_person is not None:
            # Those pairs are the different_person level's; the agreement's u is what
            # strangers sharing a value without conflicting names come to: below any seen.
            different_u[spec.name] = min(max(different, 0.5) / holders, 0.5)
            agree = floor
        elif rule.counts_with:
            # Pairs whose names conflict never reach the agreement (it counts only with an
            # agreeing name, or a side that names no one): they are not its u either.
            agree = floor
        elif different >= 1:
            agree = min(different / holders, 0.5)
        else:
            agree = floor
        u[spec.name] = [agree, 1.0 - agree]


def _conflicting_pairs(session: Session, specs: Sequence[ComparisonSpec],
                       attributes: Iterable[str]) -> npt.NDArray[np.bool_]:
    """Pairs of the session that disagree on one of the attributes (every pair when the
    rules name no such attribute: then EM's verdict alone tells people apart)."""
    attributes = set(attributes)
    if not attributes:
        return np.ones(len(session.levels), dtype=bool)
    conflict = np.zeros(len(session.levels), dtype=bool)
    for i, spec in enumerate(specs):
        if spec.name in attributes and "disagree" in spec.levels:
            conflict |= session.levels[:, i] == spec.levels.index("disagree")
    return conflict


def _holder_pairs(records: Sequence[TrainingRecord], type_name: str) -> float:
    scopes = Counter(scope for record in records for (t, scope) in record.identifiers
                     if t == type_name)
    return sum(c * (c - 1) / 2 for c in scopes.values())


def _hub_groups(session: Session, threshold: int | None) -> list[int]:
    """The session's value groups that more people hold than `threshold`. People are
    counted greedily, records with the most evidence against others first: a record is
    another person when the evidence of its pair with each person found so far speaks
    against a match (a pair without evidence either way is not two people, so a person's
    records without comparable attributes stay one)."""
    if threshold is None or not len(session.group):
        return []
    against: dict[int, set[tuple[int, int]]] = defaultdict(set)
    members: dict[int, set[int]] = defaultdict(set)
    for a, b, g, bits in zip(session.left.tolist(), session.right.tolist(),
                             session.group.tolist(), session.evidence.tolist(), strict=True):
        members[g].update((a, b))
        if bits < 0:
            against[g].add((a, b))
    hubs = []
    for g, records in members.items():
        if len(records) <= threshold:
            continue
        people: list[int] = []
        degree = Counter(x for pair in against[g] for x in pair)
        for record in sorted(records, key=lambda r: (-degree[r], r)):
            if all((min(person, record), max(person, record)) in against[g]
                   for person in people):
                people.append(record)
        if len(people) > threshold:
            hubs.append(g)
    return hubs


def _hub_values(rules: Rules, sessions: Sequence[Session]) -> dict[str, str]:
    """Identifier keys of the values the service would not count (hubs), with why."""
    ignored = {}
    for session in sessions:
        threshold = rules.identifier_types[session.identifier].hub_threshold \
            if session.identifier else None
        for g in _hub_groups(session, threshold):
            ignored[f"{session.identifier}{KEY_SEPARATOR}{session.values[g]}"] = (
                f"held by more than {threshold} people")
    return ignored


# -- sessions and EM ------------------------------------------------------------------------

def _sessions(records: Sequence[TrainingRecord], specs: Sequence[ComparisonSpec],
              rules: Rules, max_pairs: int, rng: random.Random) -> tuple[list[Session], Codes]:
    """One session per blocking key and per identifier type with shared values (whole value
    groups, sampled down to about `max_pairs` pairs), and the codes of every pair any key
    brings together."""
    n = len(records)
    columns = _Columns(specs, rules, records)
    sessions, every = [], []
    for key in _session_keys(specs, rules):
        values, groups = _value_groups(records, key)
        codes, owner = _group_pairs(groups, n)
        if not codes.size:
            continue
        every.append(codes)
        total = len(codes)
        used = _sample_groups(owner, max_pairs, rng)
        codes, owner = codes[used], owner[used]
        left, right = codes // n, codes % n
        levels = columns.levels(list(zip(left.tolist(), right.tolist(), strict=True)))
        sessions.append(Session(key.name, key.inactive, total, levels, left, right, owner,
                                values, identifier=key.identifier))
        log.info("training session %s: %d pairs (%d used)", key.name, total, len(codes))
    union = np.unique(np.concatenate(every)) if every else np.zeros(0, dtype=np.int64)
    return sessions, union


def _sample_groups(owner: Codes, max_pairs: int, rng: random.Random) -> npt.NDArray[np.bool_]:
    """Which pairs to use: all, or whole value groups in random order up to `max_pairs`."""
    if len(owner) <= max_pairs:
        return np.ones(len(owner), dtype=bool)
    sizes = np.bincount(owner)
    order = np.random.default_rng(rng.randrange(2**32)).permutation(len(sizes))
    taken = order[: int(np.searchsorted(np.cumsum(sizes[order]), max_pairs)) + 1]
    return np.isin(owner, taken)


# A level no pair reached (every record in one city: no city disagrees) weighs as if
# nearly impossible, not as a division by zero.
_TINY = 1e-12


def _evidence_bits(session: Session, active: Sequence[int], specs: Sequence[ComparisonSpec],
                   m: Mapping[str, list[float]], u: Mapping[str, list[float]]
                   ) -> npt.NDArray[np.float64]:
    """Match weight (bits, no prior) of each pair of the session from its active
    comparisons."""
    levels = session.levels
    total = np.zeros(len(levels))
    for i in active:
        name = specs[i].name
        bits = np.array([math.log2(max(mv, _TINY) / max(uv, _TINY))
                     for mv, uv in zip(m[name], u[name], strict=True)]
                        + [0.0])
        total += bits[levels[:, i]]  # index -1 picks the trailing 0.0 (no basis)
    return total


def _probability(bits: npt.NDArray[np.float64], share: float) -> npt.NDArray[np.float64]:
    logit = bits + math.log2(share / (1 - share))
    probability: npt.NDArray[np.float64] = 1.0 / (1.0 + np.power(2.0, -np.clip(logit, -60,
                                                                                 60)))
    return probability


def _expectation_maximisation(session: Session, specs: Sequence[ComparisonSpec],
                              m: Mapping[str, list[float]], u: Mapping[str, list[float]],
                              iterations: int) -> None:
    """EM with u fixed: estimate this session's share of matches and m of its active
    comparisons, and keep each pair's match probability."""
    levels = session.levels
    active = [i for i, spec in enumerate(specs) if spec.name not in session.inactive]
    local_m = {specs[i].name: list(m[specs[i].name]) for i in active}
    share = 0.3
    for _ in range(iterations):
        p = _probability(_evidence_bits(session, active, specs, local_m, u), share)
        new_share = float(min(max(p.mean(), 1e-6), 1 - 1e-6))
        change = abs(new_share - share)
        share = new_share
        for i in active:
            estimate = _m_step(levels[:, i], p, len(specs[i].levels))
            if estimate is None:
                continue
            name = specs[i].name
            change = max(change, *(abs(a - b) for a, b in zip(estimate, local_m[name],
                                                              strict=True)))
            local_m[name] = estimate
        if change < 1e-5:
            break
    session.evidence = _evidence_bits(session, active, specs, local_m, u)
    session.posterior = _probability(session.evidence, share)
    session.match_share = share
    session.m = local_m
    session.m_weight = {specs[i].name: float(session.posterior[levels[:, i] >= 0].sum())
                        * session.scale for i in active}


def _m_step(column: Levels, p: npt.NDArray[np.float64], count: int) -> list[float] | None:
    """m of each level: the match probability mass at it over the mass with a basis; a
    level no match reaches gets half a match (not zero: a weight of minus infinity would
    veto every pair at it)."""
    basis = column >= 0
    weight = float(p[basis].sum())
    if weight <= 0:
        return None
    mass = np.bincount(column[basis], weights=p[basis], minlength=count)
    estimate = [max(float(x), 0.5) / weight for x in mass]
    norm = sum(estimate)
    return [e / norm for e in estimate]


def _combine_m(specs: Sequence[ComparisonSpec], sessions: Sequence[Session],
               previous: Mapping[str, list[float]]) -> dict[str, list[float]]:
    """Each comparison's m over the sessions that estimated it, weighted by the matches with
    a basis each saw (a session of 40 e-mail pairs must not count as much as one of 30,000
    phone pairs)."""
    combined = {}
    for spec in specs:
        estimates = [(s.m[spec.name], s.m_weight.get(spec.name, 0.0)) for s in sessions
                     if spec.name in s.m]
        total = sum(weight for _, weight in estimates)
        if total <= 0:
            combined[spec.name] = list(previous[spec.name])
            continue
        combined[spec.name] = [sum(e[k] * weight for e, weight in estimates) / total
                               for k in range(len(spec.levels))]
    return combined


def _em_prior(sessions: Sequence[Session], specs: Sequence[ComparisonSpec],
              all_pairs: float) -> float | None:
    """Matches each session found, scaled back by its key's recall, over all pairs (the
    median weighted by matches). A key's recall is the share of the matches the other
    sessions found that agree on it: an e-mail address held by few records finds few of
    all matches, however reliably it agrees when both hold one."""
    index = {spec.name: i for i, spec in enumerate(specs)}
    estimates = []
    for session in sessions:
        columns = [index[name] for name in session.inactive if name in index]
        found = mass = 0.0
        for other in sessions:
            if other is session or not columns:
                continue
            matched = other.posterior * other.scale
            agree = np.all(other.levels[:, columns] == 0, axis=1)
            found += float(matched[agree].sum())
            mass += float(matched.sum())
        if found <= 0 or mass <= 0:
            continue
        matches = session.match_share * session.pairs_total
        estimates.append((matches / (found / mass) / all_pairs, matches))
    if not estimates:
        return None
    estimates.sort()
    half, running = sum(w for _, w in estimates) / 2, 0.0
    for estimate, weight in estimates:
        running += weight
        if running >= half:
            return estimate
    return estimates[-1][0]


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
        levels = np.stack([self._column(spec, pairs, left, right) for spec in self.specs],
                          axis=1)
        return self._without_implied(levels)

    def _without_implied(self, levels: Levels) -> Levels:
        """No basis for an attribute that a shared identifier implies (a household's
        address comes with its landline), as the scorer counts it: its agreement is not
        evidence of its own."""
        column = {spec.name: i for i, spec in enumerate(self.specs)}
        for spec in self.specs:
            implies = (self.rules.identifier_types[spec.name].implies
                       if spec.kind == "identifier" else frozenset())
            shared = levels[:, column[spec.name]] == 0
            for attribute in implies & column.keys():
                levels[shared, column[attribute]] = -1
        return levels

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


def _trained_rules(template: Rules, specs: Sequence[ComparisonSpec],
                   m: Mapping[str, list[float]], u: Mapping[str, list[float]], prior: float,
                   records: Sequence[TrainingRecord], tf_attributes: set[str],
                   tf_max_values: int, different_u: Mapping[str, float] | None = None
                   ) -> Rules:
    data: dict[str, Any] = template.model_dump(mode="json", exclude_none=True)
    data["prior"] = float(f"{prior:.6g}")
    by_name = {spec.name: spec for spec in specs}
    for name, rule in data["identifier_types"].items():
        spec = by_name.get(name)
        if spec is None:
            continue
        rule.pop("weight", None)
        rule["m"], rule["u"] = _round(m[name][0]), _round(u[name][0])
        other = rule.get("different_person")
        if other is not None and different_u and name in different_u:
            # m: the value shared while the listed attributes disagree, for one person
            other.pop("weight", None)
            other["m"] = _round(m[name][0] * _disagree_m(other["attributes"], by_name, m))
            other["u"] = _round(different_u[name])
    for name, rule in data["attributes"].items():
        spec = by_name[name]
        rule["levels"] = {level: {"m": _round(max(m[name][i], _TINY)),
                                  "u": _round(max(u[name][i], _TINY))}
                          for i, level in enumerate(spec.levels)}
        if name in tf_attributes or "term_frequencies" in rule:
            levels = tuple(rule.get("term_frequencies", {}).get("levels", ("exact",)))
            rule["term_frequencies"] = _term_frequencies(
                records, name, template.attributes[name], levels, tf_max_values)
    return Rules.model_validate(data)


def _disagree_m(attributes: Iterable[str], specs: Mapping[str, ComparisonSpec],
                m: Mapping[str, list[float]]) -> float:
    """P(one of the attributes disagrees | same person), from their trained m."""
    agree_all = 1.0
    for name in attributes:
        spec = specs.get(name)
        if spec is not None and "disagree" in spec.levels:
            agree_all *= 1.0 - m[name][spec.levels.index("disagree")]
    return max(1.0 - agree_all, 1e-6)


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


def rules_file_text(report: TrainingReport) -> str:
    """The trained rules as a TOML rules file, with how the prior was estimated on top."""
    import tomli_w

    prior = report.prior
    how = ""
    if prior is not None:
        how = (f"# Prior by {prior.method}" + (f" (deterministic rules at recall "
               f"{prior.recall:g})" if prior.method == "deterministic" else "") + ".\n")
    data = report.rules.model_dump(mode="json", exclude_none=True)
    return (f"# Trained by `idgraph train` on {report.records} records.\n{how}"
            + tomli_w.dumps(data))


def report_lines(report: TrainingReport) -> list[str]:
    """What was trained, as `idgraph train` prints it: prior estimates, sessions, the m and u
    table and the check against the deterministic rules."""
    lines = []
    prior = report.prior
    if prior is not None:
        det = f"{prior.deterministic:.4g}" if prior.deterministic is not None else "none"
        em = f"{prior.em:.4g}" if prior.em is not None else "none"
        lines += [f"prior {report.rules.prior:.4g} by {prior.method}: deterministic {det} "
                  f"({prior.deterministic_pairs:,} pairs linked by "
                  f"{', '.join(prior.deterministic_rules)} at recall {prior.recall:g}), "
                  f"EM {em}"]
        if prior.deterministic and prior.em and not (
                1 / 3 < prior.deterministic / prior.em < 3):
            lines.append("  the two estimates differ over threefold: the deterministic rules "
                         "may link other people's pairs (name stricter ones with "
                         "--deterministic), or their recall may not be "
                         f"{prior.recall:g} (--recall)")
    lines += [f"  session {name:40} {pairs:>10} pairs  {share:8.4f} matches"
              for name, pairs, share in report.sessions]
    lines.append(f"{'comparison':24}{'level':10}{'m':>10}{'u':>12}{'bits':>8}")
    lines += [f"{comparison:24}{level:10}{m:>10.4g}{u:>12.4g}{bits:>8.2f}"
              for comparison, level, m, u, bits in report.table]
    check = report.check
    if check is not None:
        lines.append(f"check: the trained rules would link {check.model_links:,.0f} pairs of "
                     f"the training records ({check.linked} of {check.scored} candidate pairs "
                     f"scored, {check.other_linked} of {check.other_scored} others); the "
                     f"deterministic rules link {check.deterministic_pairs:,} and imply "
                     f"{check.implied_matches:,.0f} matching pairs")
    return lines
