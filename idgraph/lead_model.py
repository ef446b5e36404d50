"""A lead model trained on historical outcomes, and its evaluation on a time split.

Samples are the open leads of the past as they stood at weekly grading moments: at each
moment `T`, every person with a record from a lead source in the `open_days` before `T`
and no purchase since is graded from what was observed by `T` (the same signals as the
points), and labelled with whether an ownership begins within `horizon_days` after `T`.

The split is by time: the model learns from the moments before a cut-off whose outcomes
were known by then (`T + horizon <= cut-off`) and is evaluated on the moments after it,
against the points and a recency-only rule (the latest touchpoint first), by the AUC and
the lift in the top decile (the purchase rate of the best-graded 10 % over the rate of all).

scikit-learn's `HistGradientBoostingClassifier` is the model; it is saved with joblib (a
pickle: load only files you made).
"""

from __future__ import annotations

import bisect
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from idgraph.domain.leads import (
    DAY_MS,
    LeadFacts,
    LeadPoints,
    features,
    open_lead,
    purchased,
    signals,
)
from idgraph.errors import ConfigError

FORMAT = "idgraph-lead-model/1"


@dataclass(frozen=True)
class Sample:
    """An open lead at a grading moment: its signal values, points and outcome."""

    at: int
    one_id: str
    values: list[float]
    points: int
    recency_days: float
    bought: bool


@dataclass
class Evaluation:
    """How well each ranking orders the held-out leads: AUC and top-decile lift."""

    leads: int
    purchases: int
    auc: dict[str, float] = field(default_factory=dict)
    lift: dict[str, float] = field(default_factory=dict)


@dataclass
class TrainedLeadModel:
    """A fitted classifier over the signal values, in `features` order."""

    features: list[str]
    horizon_days: float
    estimator: Any
    evaluation: Evaluation | None = None

    def probability(self, values: Sequence[float]) -> float:
        """The probability of a purchase within the horizon."""
        return float(self.estimator.predict_proba([list(values)])[0][1])

    def save(self, path: Path) -> None:
        """Write the model (joblib) to `path`."""
        import joblib  # type: ignore[import-untyped]

        joblib.dump({"format": FORMAT, "features": self.features,
                     "horizon_days": self.horizon_days, "estimator": self.estimator,
                     "evaluation": self.evaluation}, path)


def load_lead_model(path: Path, points: LeadPoints) -> TrainedLeadModel:
    """A saved model; ConfigError unless it reads the signals the points file gives."""
    import joblib

    try:
        raw = joblib.load(path)
    except Exception as exc:  # joblib raises whatever unpickling raises
        raise ConfigError(f"lead model {path}: {exc}") from exc
    if not isinstance(raw, dict) or raw.get("format") != FORMAT:
        raise ConfigError(f"lead model {path}: not a file `idgraph leads train` wrote")
    if raw["features"] != points.signal_names():
        raise ConfigError(f"lead model {path}: it reads {raw['features']}, the points file "
                          f"gives {points.signal_names()}; train it again")
    return TrainedLeadModel(raw["features"], raw["horizon_days"], raw["estimator"],
                            raw.get("evaluation"))


def moments(first: int, last: int, step_days: float) -> list[int]:
    """Grading moments every `step_days` from `first` to `last`."""
    step = int(step_days * DAY_MS)
    return list(range(first + step, last + 1, step))


def samples(history: Iterable[LeadFacts], points: LeadPoints, horizon_days: float,
            at: Sequence[int]) -> list[Sample]:
    """Every open lead at each moment of `at` (sorted), graded as of it, with its outcome."""
    found = []
    window = int(points.open_days * DAY_MS)
    for facts in history:
        leads = sorted(t.at for t in facts.touchpoints if t.source in points.lead_sources)
        near = {m for t in leads
                for m in at[bisect.bisect_left(at, t):bisect.bisect_left(at, t + window)]}
        for moment in sorted(near):
            if not open_lead(facts, moment, points):
                continue
            found_signals = signals(facts, moment, points)
            found.append(Sample(moment, facts.one_id, features(found_signals),
                                sum(s.points for s in found_signals),
                                found_signals[0].value, purchased(facts, moment, horizon_days)))
    return sorted(found, key=lambda s: (s.at, s.one_id))


def time_split(found: Sequence[Sample], horizon_days: float, train_share: float
               ) -> tuple[list[Sample], list[Sample], int]:
    """Samples before the cut-off whose outcome was known by it, the samples after it,
    and the cut-off (the moment below which `train_share` of the samples fall)."""
    if not found:
        return [], [], 0
    cut = sorted(s.at for s in found)[min(len(found) - 1, int(train_share * len(found)))]
    horizon = horizon_days * DAY_MS
    return ([s for s in found if s.at + horizon <= cut], [s for s in found if s.at > cut],
            cut)


def top_decile_lift(scores: Sequence[float], labels: Sequence[bool], share: float = 0.1
                    ) -> float:
    """The purchase rate among the best-scored `share` over the rate among all; ties at
    the boundary count by their mean (as if ordered at random)."""
    total = sum(labels)
    if not scores or not total:
        return 0.0
    k = max(1, round(share * len(scores)))
    ranked = sorted(zip(scores, labels, strict=True), key=lambda p: -p[0])
    edge = ranked[k - 1][0]
    above = [b for s, b in ranked if s > edge]
    tied = [b for s, b in ranked if s == edge]
    hits = sum(above) + (k - len(above)) * sum(tied) / len(tied)
    return (hits / k) / (total / len(scores))


def fit(train: Sequence[Sample], names: list[str], horizon_days: float, seed: int = 0
        ) -> TrainedLeadModel:
    """A gradient-boosted classifier over the training samples' signal values."""
    from sklearn.ensemble import HistGradientBoostingClassifier  # type: ignore[import-untyped]

    estimator = HistGradientBoostingClassifier(
        max_iter=200, learning_rate=0.05, max_leaf_nodes=15, min_samples_leaf=40,
        l2_regularization=1.0, early_stopping=True, validation_fraction=0.15,
        random_state=seed)
    estimator.fit([s.values for s in train], [s.bought for s in train])
    return TrainedLeadModel(names, horizon_days, estimator)


def evaluate(test: Sequence[Sample], model: TrainedLeadModel | None) -> Evaluation:
    """AUC and top-decile lift on held-out samples: the points, the model (if any) and
    the recency-only rule."""
    from sklearn.metrics import roc_auc_score  # type: ignore[import-untyped]

    labels = [s.bought for s in test]
    rankings: dict[str, list[float]] = {
        "recency only": [-s.recency_days for s in test],
        "points (default)": [float(s.points) for s in test]}
    if model is not None:
        rankings["trained model"] = list(
            model.estimator.predict_proba([s.values for s in test])[:, 1])
    result = Evaluation(len(test), sum(labels))
    for name, scores in rankings.items():
        both = 0 < result.purchases < len(test)
        result.auc[name] = float(roc_auc_score(labels, scores)) if both else float("nan")
        result.lift[name] = top_decile_lift(scores, labels)
    return result


def report(evaluation: Evaluation) -> str:
    """The evaluation as a Markdown table, and a warning when the model is not the best."""
    lines = [f"held-out leads: {evaluation.leads:,}, purchases: {evaluation.purchases:,} "
             f"({evaluation.purchases / max(1, evaluation.leads):.1%})", "",
             "| ranking | AUC | top-decile lift |", "|---|---|---|"]
    lines += [f"| {name} | {evaluation.auc[name]:.3f} | {evaluation.lift[name]:.2f} |"
              for name in evaluation.auc]
    model = evaluation.auc.get("trained model")
    if model is not None and model < evaluation.auc["points (default)"]:
        lines += ["", "WARNING: the trained model ranks worse than the default points on "
                  "the held-out leads; keep the points (do not set IDGRAPH_LEADS_MODEL)."]
    return "\n".join(lines)


@dataclass
class Training:
    """What `train` did: the samples on each side of the cut-off, the model and how
    every ranking did on the held-out side."""

    train: int
    test: int
    cut: int
    model: TrainedLeadModel | None
    evaluation: Evaluation


def train(history: Iterable[LeadFacts], points: LeadPoints, horizon_days: float = 30,
          step_days: float = 7, train_share: float = 0.7, seed: int = 0) -> Training:
    """Sample the open leads of the past every `step_days`, fit on the earlier ones and
    evaluate on the later ones. Moments whose outcome is not known yet (less than the
    horizon before the last record) are left out; no model is fitted when the training
    side holds no purchase or nothing but purchases."""
    people = list(history)
    leads = [t.at for f in people for t in f.touchpoints if t.source in points.lead_sources]
    seen = [t.at for f in people for t in f.touchpoints]
    if not leads:
        return Training(0, 0, 0, None, Evaluation(0, 0))
    last = max(seen) - int(horizon_days * DAY_MS)
    found = samples(people, points, horizon_days, moments(min(leads), last, step_days))
    before, after, cut = time_split(found, horizon_days, train_share)
    outcomes = {s.bought for s in before}
    model = fit(before, points.signal_names(), horizon_days, seed) \
        if outcomes == {True, False} else None
    evaluation = evaluate(after, model)
    if model is not None:
        model.evaluation = evaluation
    return Training(len(before), len(after), cut, model, evaluation)
