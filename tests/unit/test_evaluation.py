"""Pairwise and B-cubed scores, checked against hand-computed values."""

from __future__ import annotations

import itertools

import pytest

from idgraph.domain.evaluation import evaluate


def brute_force_pairwise(predicted: dict[str, str], truth: dict[str, str]) -> tuple[float, float]:
    keys = sorted(truth)
    pairs = list(itertools.combinations(keys, 2))
    same_pred = {p for p in pairs if predicted[p[0]] == predicted[p[1]]}
    same_true = {p for p in pairs if truth[p[0]] == truth[p[1]]}
    both = same_pred & same_true
    return len(both) / len(same_pred), len(both) / len(same_true)


def test_perfect_clustering() -> None:
    truth = {"a": "1", "b": "1", "c": "2"}
    result = evaluate({"a": "x", "b": "x", "c": "y"}, truth)
    assert (result.pairwise.f1, result.bcubed.f1, result.impure_clusters) == (1.0, 1.0, 0)


def test_hand_computed_example() -> None:
    truth = {"a": "1", "b": "1", "c": "1", "d": "2", "e": "2"}
    predicted = {"a": "X", "b": "X", "c": "Y", "d": "Y", "e": "Z"}
    result = evaluate(predicted, truth)
    # predicted pairs: ab, cd -> one correct (ab); true pairs: ab, ac, bc, de -> 4
    assert result.pairwise.precision == pytest.approx(1 / 2)
    assert result.pairwise.recall == pytest.approx(1 / 4)
    assert (result.pairwise.precision, result.pairwise.recall) == pytest.approx(
        brute_force_pairwise(predicted, truth))
    # B-cubed precision: a,b: 2/2; c: 1/2; d: 1/2; e: 1/1 -> 4/5
    assert result.bcubed.precision == pytest.approx(4 / 5)
    # B-cubed recall: a,b: 2/3; c: 1/3; d: 1/2; e: 1/2 -> (2/3+2/3+1/3+1/2+1/2)/5
    assert result.bcubed.recall == pytest.approx((2 / 3 + 2 / 3 + 1 / 3 + 1 / 2 + 1 / 2) / 5)
    assert result.impure_clusters == 1  # Y holds people 1 and 2
    assert (result.predicted_clusters, result.true_clusters) == (3, 2)


def test_records_missing_from_the_prediction_are_counted() -> None:
    result = evaluate({"a": "x"}, {"a": "1", "b": "1"})
    assert (result.records, result.missing) == (1, 1)
