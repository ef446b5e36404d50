"""Relationship-based recommendations: personalized PageRank over a small graph around the
person, fetched from Neo4j, each result with the path that explains it.

Three questions:

- **Next model.** What should an owner buy next, for a trade-in or an upgrade? The walk
  goes from the person to:
  - the models they own, test-drove or showed interest in;
  - from a model they own, to the models other owners of it moved on to;
  - from a model they test-drove or asked about, to the models other people interested in
    it also considered or bought (co-interest);
  - to their household and referral contacts, and from them to the models those people
    own, test-drove or want.
- **Referral candidates.** Who in an owner's network is in the market (a lead or a test
  drive, no purchase)? The walk follows household and referral edges, up to two hops.
- **Similar customers.** Who looks like a seed group? The walk runs over people and what
  they share: the models they own, their dealer and their city.

The functions here are pure: they take what the store fetched and answer ranked,
explained results. People who withdrew marketing consent, and erased people, are filtered
out before anything reaches these functions (see the engine).
"""

from __future__ import annotations

import math
from collections import Counter, defaultdict
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from itertools import pairwise

import networkx as nx
import numpy as np

DAMPING = 0.85

# How strongly a relation ties a person to a model, or two people together.
MODEL_WEIGHTS = {"OWNER": 1.0, "TEST_DRIVE": 0.9, "INTERESTED": 0.7, "DRIVER": 0.4,
                 "SERVICE": 0.2}
PAST_OWNER_WEIGHT = 0.4
# A test drive or an interest from before the person's latest purchase: that purchase
# answered it, so it says less about the next one.
PAST_INTEREST_WEIGHT = 0.3
PERSON_WEIGHTS = {"HOUSEHOLD": 0.6, "REFERRED_BY": 0.4, "REFERRED": 0.4}
TRANSITION_WEIGHT = 1.5  # what owners of a model bought next: the strongest signal
CO_INTEREST_WEIGHT = 1.0  # what people interested in a model also considered
FEATURE_WEIGHTS = {"model": 1.0, "dealer": 0.6, "city": 0.3}

RELATION_WORDS = {"OWNER": "owns", "TEST_DRIVE": "test-drove", "INTERESTED": "is interested in",
                  "DRIVER": "drives", "SERVICE": "had serviced"}
YOUR_WORDS = {"OWNER": "own", "TEST_DRIVE": "test-drove", "INTERESTED": "are interested in",
              "DRIVER": "drive", "SERVICE": "had serviced"}
# How a contact is named: one hop from the subject, and further out (b related to a).
PERSON_PHRASES = {"HOUSEHOLD": ("your household member {b}", "{b}, household member of {a}"),
                  "REFERRED_BY": ("{b}, who referred you", "{b}, who referred {a}"),
                  "REFERRED": ("{b}, whom you referred", "{b}, whom {a} referred")}


def _phrase(relation: str, a: str, b: str, first_hop: bool) -> str:
    near, far = PERSON_PHRASES.get(relation, ("your contact {b}", "{b}, a contact of {a}"))
    return (near if first_hop else far).format(a=a, b=b)


@dataclass(frozen=True)
class Touch:
    """A person's relation to a model (from one vehicle mention)."""

    model: str
    relation: str
    current: bool = True
    dealer: str = ""
    since: int | None = None  # epoch milliseconds


@dataclass(frozen=True)
class Contact:
    """A person related to the subject, and how."""

    one_id: str
    relation: str  # HOUSEHOLD | REFERRED_BY | REFERRED
    via: str = ""  # the contact through whom this one is reached (second hop), else ""


@dataclass
class ModelNeighbourhood:
    """What the store fetched for a next-model recommendation."""

    one_id: str
    touches: Sequence[Touch]
    dealer: str  # the person's most recent dealer, "" when none
    contacts: Sequence[Contact]
    contact_touches: Mapping[str, Sequence[Touch]]  # contact one_id -> touches
    transitions: Mapping[str, Mapping[str, int]]  # model -> next model -> owners
    popularity: Mapping[str, int]  # model -> current owners
    co_interest: Mapping[str, Mapping[str, int]] = field(default_factory=dict)
    interested: Mapping[str, int] = field(default_factory=dict)  # see ModelStatistics


@dataclass(frozen=True)
class Recommendation:
    """A ranked result: a model or a OneID, its score and why."""

    item: str
    score: float
    explanation: str
    path: tuple[str, ...] = ()


@dataclass
class _Walk:
    graph: nx.DiGraph = field(default_factory=nx.DiGraph)
    words: dict[tuple[str, str], str] = field(default_factory=dict)

    def link(self, a: str, b: str, weight: float, words: str) -> None:
        if weight <= 0 or a == b:
            return
        previous = self.graph.get_edge_data(a, b, {}).get("weight", 0.0)
        if weight > previous:
            self.graph.add_edge(a, b, weight=weight)
            self.words[(a, b)] = words

    def rank(self, start: Mapping[str, float]) -> dict[str, float]:
        if self.graph.number_of_edges() == 0 or not any(start.get(n) for n in self.graph):
            return {}
        return personalized_pagerank(self.graph, start)

    def best_paths(self, sources: Iterable[str]) -> dict[str, list[str]]:
        """The most probable walk from the sources to every node they reach (a step's
        probability is its weight over its node's total out-weight)."""
        out = dict(self.graph.out_degree(weight="weight"))
        starts = {s for s in sources if s in self.graph}
        if not starts:
            return {}
        _, paths = nx.multi_source_dijkstra(
            self.graph, starts,
            weight=lambda u, _v, d: -math.log(d["weight"] / out[u]))
        return dict(paths)

    def explain(self, path: Sequence[str]) -> str:
        return "; ".join(self.words[(a, b)] for a, b in pairwise(path) if self.words[(a, b)])


def personalized_pagerank(graph: nx.DiGraph, start: Mapping[str, float],
                          alpha: float = DAMPING, tol: float = 1e-9, max_iter: int = 200
                          ) -> dict[str, float]:
    """PageRank with restarts to `start` (weights normalized), by power iteration over the
    graph's weighted edges; dangling nodes restart too. The same answer as
    ``networkx.pagerank(graph, alpha, personalization=start)`` (tested against networkx's
    Google matrix), without its conversion to a SciPy sparse matrix: SciPy is not a
    dependency, and the conversion costs about 20 ms per call on the ~100-node graphs
    recommendations walk. Each step is one numpy scatter-add over the edge arrays."""
    nodes = list(graph)
    size = len(nodes)
    index = {n: i for i, n in enumerate(nodes)}
    restart = np.array([start.get(n, 0.0) for n in nodes], dtype=np.float64)
    restart /= restart.sum()
    edges = list(graph.edges(data="weight"))
    source = np.fromiter((index[u] for u, _, _ in edges), dtype=np.int64, count=len(edges))
    target = np.fromiter((index[v] for _, v, _ in edges), dtype=np.int64, count=len(edges))
    weight = np.fromiter((w for _, _, w in edges), dtype=np.float64, count=len(edges))
    out = np.bincount(source, weights=weight, minlength=size)
    share = weight / out[source]
    dangling = out == 0
    rank = restart.copy()
    for _ in range(max_iter):
        leaked = alpha * rank[dangling].sum() + (1.0 - alpha)
        nxt = leaked * restart + alpha * np.bincount(target, weights=rank[source] * share,
                                                     minlength=size)
        error = float(np.abs(nxt - rank).sum())
        rank = nxt
        if error < size * tol:
            break
    return dict(zip(nodes, rank.tolist(), strict=True))


def _p(one_id: str) -> str:
    return f"person:{one_id}"


def _m(model: str) -> str:
    return f"model:{model}"


def _at(dealer: str, mine: str) -> str:
    if not dealer:
        return ""
    return " at your dealer" if dealer == mine else f" at dealer {dealer}"


def _weighed(touches: Sequence[Touch]) -> list[tuple[Touch, float, str]]:
    """Each touch with the weight of its edge and what qualifies its words: a past
    ownership, or an interest older than the latest purchase, weighs less."""
    bought = max((t.since for t in touches if t.relation == "OWNER" and t.since is not None),
                 default=None)
    weighed = []
    for t in touches:
        weight, note = MODEL_WEIGHTS.get(t.relation, 0.1), ""
        if t.relation == "OWNER" and not t.current:
            weight = PAST_OWNER_WEIGHT
        elif (t.relation in IN_MARKET_RELATIONS and bought is not None
              and t.since is not None and t.since < bought):
            weight, note = PAST_INTEREST_WEIGHT, " before {whose} last purchase"
        weighed.append((t, weight, note))
    return weighed


def recommend_models(hood: ModelNeighbourhood, k: int) -> list[Recommendation]:
    """The models the person is most likely to buy next, not one they own now, ranked by
    personalized PageRank; when the walk finds fewer than k, the most owned models fill
    the list (explained as such)."""
    walk = _Walk()
    me = _p(hood.one_id)
    owned_now = {t.model for t in hood.touches if t.relation == "OWNER" and t.current}
    weighed = _weighed(hood.touches)
    for t, weight, note in weighed:
        verb = "owned" if t.relation == "OWNER" and not t.current else \
            YOUR_WORDS.get(t.relation, t.relation.lower())
        walk.link(me, _m(t.model), weight, f"you {verb} {t.model}"
                  f"{_at(t.dealer, hood.dealer)}{note.format(whose='your')}")
    for model in {t.model for t in hood.touches if t.relation == "OWNER"}:
        following = hood.transitions.get(model, {})
        total = sum(following.values())
        for nxt, count in following.items():
            walk.link(_m(model), _m(nxt), TRANSITION_WEIGHT * count / total,
                      f"{count} of {total} owners of {model} moved on to {nxt}")
    live = {t.model for t, _, note in weighed if t.relation in IN_MARKET_RELATIONS and not note}
    for model in live:  # an interest a later purchase answered leads no further
        total = hood.interested.get(model, 0)
        for other, count in hood.co_interest.get(model, {}).items():
            if total:
                walk.link(_m(model), _m(other), CO_INTEREST_WEIGHT * count / total,
                          f"{count} of {total} people interested in {model} also "
                          f"considered or bought {other}")
    for contact in hood.contacts:
        node = _p(contact.one_id)
        weight = PERSON_WEIGHTS.get(contact.relation, 0.3)
        if contact.via:
            walk.link(_p(contact.via), node, weight,
                      _phrase(contact.relation, contact.via, contact.one_id, False))
        else:
            walk.link(me, node, weight, _phrase(contact.relation, "", contact.one_id, True))
        for t, weight, note in _weighed(hood.contact_touches.get(contact.one_id, ())):
            verb = "owned" if t.relation == "OWNER" and not t.current else \
                RELATION_WORDS.get(t.relation, t.relation.lower())
            walk.link(node, _m(t.model), weight, f"{verb} {t.model}"
                      f"{_at(t.dealer, hood.dealer)}{note.format(whose='their')}")
    ranks = walk.rank({me: 1.0})
    scored = sorted(((score, node[len("model:"):]) for node, score in ranks.items()
                     if node.startswith("model:") and node[len("model:"):] not in owned_now),
                    key=lambda x: (-x[0], x[1]))
    paths = walk.best_paths([me]) if scored else {}
    results = []
    for score, model in scored[:k]:
        path = paths.get(_m(model), [])
        results.append(Recommendation(model, score, walk.explain(path), tuple(path)))
    taken = {r.item for r in results} | owned_now
    for model, owners in sorted(hood.popularity.items(), key=lambda x: (-x[1], x[0])):
        if len(results) >= k:
            break
        if model not in taken:
            results.append(Recommendation(model, 0.0, f"one of the most owned models "
                                                      f"({owners} owners)"))
    return results


def popular_models(popularity: Mapping[str, int], owned: Iterable[str], k: int) -> list[str]:
    """The baseline: the most owned models the person does not own."""
    skip = set(owned)
    return [m for m, _ in sorted(popularity.items(), key=lambda x: (-x[1], x[0]))
            if m not in skip][:k]


@dataclass
class PersonNetwork:
    """An owner's network: people up to two relationship hops away."""

    one_id: str
    edges: Sequence[tuple[str, str, str]]  # (from, to, relation), from the owner outwards
    in_market: Mapping[str, str]  # one_id -> why ("test-drove X3 at dealer D0001")


def referral_candidates(network: PersonNetwork, k: int) -> list[Recommendation]:
    """In-market people in the owner's network, ranked by personalized PageRank from the
    owner over household and referral edges."""
    walk = _Walk()
    me = _p(network.one_id)
    for a, b, relation in network.edges:
        weight = PERSON_WEIGHTS.get(relation, 0.3)
        walk.link(_p(a), _p(b), weight, _phrase(relation, a, b, a == network.one_id))
        walk.link(_p(b), _p(a), weight, "")
    ranks = walk.rank({me: 1.0})
    scored = sorted(((score, node[len("person:"):]) for node, score in ranks.items()
                     if node != me and node[len("person:"):] in network.in_market),
                    key=lambda x: (-x[0], x[1]))
    paths = walk.best_paths([me]) if scored else {}
    results = []
    for score, one_id in scored[:k]:
        path = paths.get(_p(one_id), [])
        how = walk.explain(path)
        results.append(Recommendation(one_id, score, f"{how}; {network.in_market[one_id]}",
                                      tuple(path)))
    return results


@dataclass
class FeatureGraph:
    """People and what they share (model:…, dealer:…, city:…)."""

    seeds: Sequence[str]
    features: Mapping[str, Sequence[str]]  # one_id -> features


def _feature_weight(feature: str) -> float:
    return FEATURE_WEIGHTS.get(feature.split(":", 1)[0], 0.2)


def lookalike_candidates(seed_features: Mapping[str, Sequence[str]],
                         holders: Mapping[str, Sequence[str]], limit: int) -> list[str]:
    """The people (not seeds) worth walking to, at most `limit`: those sharing the most
    with the seeds first. A person's pre-score is, over the seed features they were found
    under (`holders`: feature -> people), the feature's weight times the number of seeds
    holding it; ties go by OneID, so the choice is stable."""
    seeded: Counter[str] = Counter(f for features in seed_features.values()
                                   for f in set(features))
    score: dict[str, float] = defaultdict(float)
    for feature, people in holders.items():
        gain = _feature_weight(feature) * seeded.get(feature, 0)
        for one_id in set(people):
            if one_id not in seed_features:
                score[one_id] += gain
    ranked = sorted(score.items(), key=lambda item: (-item[1], item[0]))
    return [one_id for one_id, _ in ranked[:limit]]


def similar_customers(graph: FeatureGraph, k: int) -> list[Recommendation]:
    """People most like the seeds, by personalized PageRank from the seeds over the
    person-feature graph; explained by the features they share with the most seeds (a
    person sharing none is never a lookalike)."""
    walk = _Walk()
    seeds = set(graph.seeds)
    holders: dict[str, set[str]] = defaultdict(set)
    for one_id, features in graph.features.items():
        for feature in features:
            weight = _feature_weight(feature)
            walk.link(_p(one_id), f"f:{feature}", weight, feature)
            walk.link(f"f:{feature}", _p(one_id), weight, feature)
            holders[feature].add(one_id)
    ranks = walk.rank({_p(s): 1.0 for s in seeds})
    scored = sorted(((score, node[len("person:"):]) for node, score in ranks.items()
                     if node.startswith("person:") and node[len("person:"):] not in seeds),
                    key=lambda x: (-x[0], x[1]))
    results: list[Recommendation] = []
    for score, one_id in scored:
        if len(results) >= k:
            break
        shared = Counter({f: len(holders[f] & seeds) for f in graph.features.get(one_id, ())
                          if holders[f] & seeds})
        if not shared:
            continue  # reached only through others: shares nothing with the seeds
        reasons = [f"{f.split(':', 1)[1]} ({f.split(':', 1)[0]}, like {n} of the "
                   f"{len(seeds)} seeds)" for f, n in shared.most_common(3)]
        results.append(Recommendation(one_id, score, "shares " + ", ".join(reasons)))
    return results


LEAD_SOURCES = frozenset({"media", "test_drive"})
IN_MARKET_RELATIONS = frozenset({"TEST_DRIVE", "INTERESTED"})


@dataclass(frozen=True)
class PersonSummary:
    """What recommendations need of a person: vehicle touches, sources, dealers, the
    latest consent statement and city, assigned tags."""

    one_id: str
    touches: tuple[Touch, ...]
    sources: frozenset[str]
    dealers: tuple[str, ...]  # most recent first
    consent: bool | None  # the latest consent_marketing statement
    city: str  # the latest city stated
    assigned_tags: frozenset[str] = frozenset()
    addresses: frozenset[str] = frozenset()

    @property
    def owns(self) -> set[str]:
        """Models owned now."""
        return {t.model for t in self.touches if t.relation == "OWNER" and t.current}

    @property
    def reachable(self) -> bool:
        """May appear in recommendations: did not withdraw marketing consent."""
        return self.consent is not False

    def in_market(self) -> str:
        """Why the person is in the market (a lead or a test drive, no car owned now), or
        "" when they are not."""
        if self.owns:
            return ""
        for t in self.touches:
            if t.relation in IN_MARKET_RELATIONS:
                return f"{RELATION_WORDS[t.relation]} {t.model}" + (
                    f" at dealer {t.dealer}" if t.dealer else "")
        leads = sorted(self.sources & LEAD_SOURCES)
        return f"a {leads[0].replace('_', '-')} lead with no purchase" if leads else ""

    @property
    def feature_dealers(self) -> tuple[str, ...]:
        """The dealers lookalikes are compared on: the two most recent."""
        return self.dealers[:2]

    def features(self) -> list[str]:
        """What lookalikes are compared on."""
        return ([f"model:{m}" for m in sorted(self.owns)]
                + [f"dealer:{d}" for d in self.feature_dealers]
                + ([f"city:{self.city}"] if self.city else []))


@dataclass(frozen=True)
class RecordFacts:
    """What a summary reads of one record."""

    source: str
    at: int  # observed, epoch milliseconds (0 when unknown)
    attributes: Mapping[str, str]
    dealers: Sequence[str]
    touches: Sequence[tuple[str, str, bool, int | None]]  # (model, relation, open, since ms)


def summarize(one_id: str, records: Sequence[RecordFacts],
              assigned_tags: Iterable[str] = ()) -> PersonSummary:
    """A person summary from what their records say."""
    ordered = sorted(records, key=lambda r: r.at)
    touches: list[Touch] = []
    dealers: dict[str, None] = {}
    consent: bool | None = None
    city = ""
    addresses: set[str] = set()
    for record in ordered:
        attributes = record.attributes
        for model, relation, current, since in record.touches:
            touches.append(Touch(model, relation, current,
                                 record.dealers[0] if record.dealers else "", since))
        for code in record.dealers:
            dealers.pop(code, None)
            dealers[code] = None
        if "consent_marketing" in attributes:
            consent = attributes["consent_marketing"] == "true"
        city = str(attributes.get("city") or city)
        if attributes.get("address"):
            addresses.add(str(attributes["address"]))
    return PersonSummary(one_id, tuple(touches),
                         frozenset(r.source for r in records),
                         tuple(reversed(dealers)), consent, city, frozenset(assigned_tags),
                         frozenset(addresses))


@dataclass(frozen=True)
class ModelStatistics:
    """What the whole graph says about models, for the next-model walk."""

    transitions: Mapping[str, Mapping[str, int]]  # model -> next model -> owners who moved
    popularity: Mapping[str, int]  # model -> current owners
    # model -> other model -> people who test-drove or asked about the first and also
    # considered (test drive, interest) or bought the other; only pairs with at least
    # MIN_CO_INTEREST people, the CO_INTEREST_TOP most frequent per model
    co_interest: Mapping[str, Mapping[str, int]] = field(default_factory=dict)
    interested: Mapping[str, int] = field(default_factory=dict)  # model -> people in market


MIN_CO_INTEREST = 2
CO_INTEREST_TOP = 10


def model_statistics(people: Iterable[Sequence[tuple[str, str, int | None, bool]]]
                     ) -> ModelStatistics:
    """From each person's models (model, relation, first start, still open): how many
    owners moved from one model to the next (owned models in order of start), how many
    own each model now, and what people interested in a model also considered."""
    transitions: dict[str, Counter[str]] = defaultdict(Counter)
    popularity: Counter[str] = Counter()
    co_interest: dict[str, Counter[str]] = defaultdict(Counter)
    interested: Counter[str] = Counter()
    for touched in people:
        owned = [(m, since, current) for m, relation, since, current in touched
                 if relation == "OWNER"]
        ordered = sorted(owned, key=lambda o: (o[1] is not None, o[1] or 0))
        moves = {(a[0], b[0]) for a, b in pairwise(ordered) if a[0] != b[0]}
        for a, b in moves:
            transitions[a][b] += 1
        popularity.update({m for m, _, current in owned if current})
        wanted = {m for m, relation, _, _ in touched if relation in IN_MARKET_RELATIONS}
        considered = {m for m, _, _, _ in touched}
        interested.update(wanted)
        for a in wanted:
            co_interest[a].update(considered - {a})
    return ModelStatistics(
        {m: dict(c) for m, c in transitions.items()}, dict(popularity),
        {a: {b: n for b, n in c.most_common(CO_INTEREST_TOP) if n >= MIN_CO_INTEREST}
         for a, c in co_interest.items()},
        dict(interested))
