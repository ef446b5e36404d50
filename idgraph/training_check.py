"""Whether trained rules link a sensible number of pairs of their own training records.

A model whose prior is orders of magnitude off looks fine in its table of m and u and links
almost nothing (or almost everything). The check scores a sample of the pairs that blocking
keys and shared identifiers bring together, and a sample of the other pairs, with the
service's own scorer and verdict (`score`, `classify_pair`: so it follows whatever the rules
can express) and estimates how many pairs of the training records the rules would link.
Rules linking less than a tenth of the pairs the deterministic rules link (pairs that
surely match) link almost nothing; rules linking over ten times the matches those rules
imply (the pairs they link over their stated recall) link almost everything.
"""

from __future__ import annotations

import random
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING

import numpy as np
import numpy.typing as npt

from idgraph.domain.records import IdKey
from idgraph.domain.resolution import PairVerdict, classify_pair
from idgraph.domain.rules import Rules
from idgraph.domain.scoring import Evidence, EvidenceFilter, score

if TYPE_CHECKING:
    from idgraph.training import TrainingRecord

LINK_RATIO_LIMIT = 10.0  # refuse rules linking under a tenth or over ten times as many pairs


@dataclass(frozen=True)
class LinkageCheck:
    """Pairs the trained rules link on a sample, against the deterministic rules."""

    deterministic_pairs: int  # pairs the deterministic rules link
    recall: float  # the share of all matches they are said to find
    candidate_pairs: int  # pairs blocking keys, shared identifiers or attributes bring together
    scored: int  # of them, scored
    linked: int  # of those, linked
    other_pairs: float  # all other pairs
    other_scored: int
    other_linked: int

    @property
    def model_links(self) -> float:
        """Pairs of the training records the trained rules would link (estimated)."""
        found = self.linked / self.scored * self.candidate_pairs if self.scored else 0.0
        if self.other_scored:
            found += self.other_linked / self.other_scored * self.other_pairs
        return found

    @property
    def implied_matches(self) -> float:
        """Matching pairs the deterministic rules imply: the pairs they link over recall."""
        return self.deterministic_pairs / self.recall

    @property
    def too_few(self) -> bool:
        """Under a tenth of the pairs the deterministic rules link."""
        return self.model_links * LINK_RATIO_LIMIT < self.deterministic_pairs

    @property
    def too_many(self) -> bool:
        """Over ten times the matches the deterministic rules imply."""
        return self.model_links > LINK_RATIO_LIMIT * self.implied_matches


def check_links(records: Sequence[TrainingRecord], rules: Rules,
                candidates: npt.NDArray[np.int64], deterministic_pairs: int, recall: float,
                sample: int, rng: random.Random, ignored: Mapping[str, str] | None = None
                ) -> LinkageCheck:
    """Score up to `sample` candidate pairs (codes a * n + b) and as many other random pairs
    with `rules`; `ignored` are values the service would not count (hubs)."""
    n = len(records)
    draw = np.random.default_rng(rng.randrange(2**32))
    chosen = (candidates if len(candidates) <= sample
              else draw.choice(candidates, sample, replace=False))
    others = _other_pairs(n, candidates, sample, draw)
    evidence = [_evidence(record, rules) for record in records]
    filt = EvidenceFilter(dict(ignored or {}))

    def linked(codes: npt.NDArray[np.int64]) -> int:
        return sum(classify_pair(score(evidence[code // n], evidence[code % n], rules, filt),
                                 rules) is PairVerdict.MATCH for code in codes.tolist())
    return LinkageCheck(deterministic_pairs, recall, len(candidates), len(chosen), linked(chosen),
                        n * (n - 1) / 2 - len(candidates), len(others), linked(others))


def _other_pairs(n: int, candidates: npt.NDArray[np.int64], count: int,
                 draw: np.random.Generator) -> npt.NDArray[np.int64]:
    """Random pairs that no key brings together."""
    a, b = draw.integers(0, n, count), draw.integers(0, n, count)
    codes = np.minimum(a, b) * n + np.maximum(a, b)
    keep = (a != b) & ~np.isin(codes, candidates)
    return np.unique(codes[keep])


def _evidence(record: TrainingRecord, rules: Rules) -> Evidence:
    keys = [IdKey(type_name, scope, value, rules.identifier_types[type_name].hashed)
            for (type_name, scope), values in record.identifiers.items() for value in values]
    return Evidence.of(keys, [record.attributes])


def refusal(check: LinkageCheck, rules: Rules, deterministic_prior: float | None) -> str | None:
    """Why the trained rules should not be used, or None when they link neither almost
    nothing nor almost everything."""
    if not (check.too_few or check.too_many):
        return None
    links = f"{check.model_links:,.0f} pairs of the training records"
    if check.too_few:
        head = (f"the trained model would link {links}, "
                f"{check.model_links / check.deterministic_pairs:.2%} of the "
                f"{check.deterministic_pairs:,} pairs the deterministic rules link")
    else:
        head = (f"the trained model would link {links}, "
                f"{check.model_links / check.implied_matches:,.0f} times the "
                f"{check.implied_matches:,.0f} matching pairs the deterministic rules imply "
                f"({check.deterministic_pairs:,} linked at recall {check.recall:g})")
    return f"{head}: {_cause(check, rules, deterministic_prior)}"


def _cause(check: LinkageCheck, rules: Rules, deterministic_prior: float | None) -> str:
    implied = (f"the {deterministic_prior:.3g} the deterministic rules imply at recall "
               f"{check.recall:g}")
    limit = LINK_RATIO_LIMIT
    if deterministic_prior and check.too_few and rules.prior * limit < deterministic_prior:
        return (f"the prior {rules.prior:.3g} is too small, "
                f"{deterministic_prior / rules.prior:,.0f} times smaller than {implied}")
    if deterministic_prior and check.too_many and rules.prior > deterministic_prior * limit:
        return (f"the prior {rules.prior:.3g} is too large, "
                f"{rules.prior / deterministic_prior:,.0f} times larger than {implied}")
    if check.too_few:
        strongest = max(((r.agree_bits, name) for name, r in rules.identifier_types.items()
                         if r.evidence), default=None)
        if strongest and rules.prior_bits + strongest[0] < rules.link_bits:
            return (f"sharing even the strongest identifier ({strongest[1]}, "
                    f"{strongest[0]:.1f} bits) with the prior ({rules.prior_bits:.1f} bits) "
                    f"stays below the link threshold ({rules.link_bits:.1f} bits): u of "
                    "sharing an identifier is too large or the prior too small")
        return (f"most pairs stay below the link threshold ({rules.link_bits:.1f} bits with "
                f"a prior of {rules.prior_bits:.1f} bits): disagreement weighs too much "
                "(see m and u in the table)")
    share = check.linked / check.scored if check.scored else 0.0
    return (f"{share:.0%} of the pairs blocking keys, shared identifiers and attributes bring "
            "together would link: agreement weighs too much or disagreement too little (see "
            "m and u in the table), or the deterministic rules find far fewer than "
            f"{check.recall:.0%} of all matches (state their recall with --recall)")
