"""Clustering quality against a known truth: pairwise and B-cubed precision/recall/F1.

Both inputs map a record key to a cluster label (a OneID, a true person). Pair counts come
from cluster-size contingency tables, so millions of records never enumerate their pairs.
"""

from __future__ import annotations

from collections import Counter, defaultdict
from collections.abc import Mapping
from dataclasses import dataclass


@dataclass(frozen=True)
class Scores:
    """Precision, recall and their harmonic mean."""

    precision: float
    recall: float

    @property
    def f1(self) -> float:
        """Harmonic mean of precision and recall (0 when both are 0)."""
        total = self.precision + self.recall
        return 2 * self.precision * self.recall / total if total else 0.0


@dataclass(frozen=True)
class Evaluation:
    """Everything `idgraph evaluate` prints."""

    records: int  # records present in both inputs
    missing: int  # truth records absent from the prediction
    pairwise: Scores
    bcubed: Scores
    predicted_clusters: int
    true_clusters: int
    impure_clusters: int  # predicted OneIDs holding more than one true person


def _pairs(n: int) -> int:
    return n * (n - 1) // 2


def evaluate(predicted: Mapping[str, str], truth: Mapping[str, str]) -> Evaluation:
    """Compare a predicted clustering with the truth over the records both contain."""
    keys = [k for k in truth if k in predicted]
    joint: Counter[tuple[str, str]] = Counter((predicted[k], truth[k]) for k in keys)
    pred_sizes: Counter[str] = Counter(predicted[k] for k in keys)
    true_sizes: Counter[str] = Counter(truth[k] for k in keys)
    together = sum(_pairs(n) for n in joint.values())
    predicted_pairs = sum(_pairs(n) for n in pred_sizes.values())
    true_pairs = sum(_pairs(n) for n in true_sizes.values())
    pairwise = Scores(together / predicted_pairs if predicted_pairs else 1.0,
                      together / true_pairs if true_pairs else 1.0)
    # B-cubed: per record, the share of its predicted cluster that is truly its person
    # (precision) and the share of its true person that it was clustered with (recall).
    precision = sum(n * n / pred_sizes[p] for (p, _), n in joint.items())
    recall = sum(n * n / true_sizes[t] for (_, t), n in joint.items())
    count = len(keys)
    bcubed = Scores(precision / count if count else 1.0, recall / count if count else 1.0)
    people_per_cluster: dict[str, set[str]] = defaultdict(set)
    for p, t in joint:
        people_per_cluster[p].add(t)
    impure = sum(1 for people in people_per_cluster.values() if len(people) > 1)
    return Evaluation(count, len(truth) - count, pairwise, bcubed, len(pred_sizes),
                      len(true_sizes), impure)
