"""Metrics against numbers computed by hand."""

from __future__ import annotations

import math

import numpy as np
import pytest

from recommender.ml.evaluate import (
    catalog_coverage,
    hit_rate_at_k,
    mae,
    ndcg_at_k,
    rmse,
)


def test_rmse_and_mae() -> None:
    pred = [0.5, 1.0, 0.0, 0.25]
    actual = [1.0, 1.0, 0.5, 0.0]
    # errors 0.5, 0, 0.5, 0.25 -> squares 0.25, 0, 0.25, 0.0625 -> mean 0.140625
    assert rmse(pred, actual) == pytest.approx(0.375)
    assert mae(pred, actual) == pytest.approx(0.3125)
    assert rmse([3.0], [3.0]) == 0.0


def test_error_metrics_reject_bad_input() -> None:
    with pytest.raises(ValueError):
        rmse([1.0, 2.0], [1.0])
    with pytest.raises(ValueError):
        mae([], [])


def test_hit_rate() -> None:
    ranks = np.array([0, 3, 9, 10, 2])
    assert hit_rate_at_k(ranks, 10) == pytest.approx(4 / 5)
    assert hit_rate_at_k(ranks, 1) == pytest.approx(1 / 5)
    assert hit_rate_at_k(ranks, 3) == pytest.approx(2 / 5)


def test_ndcg() -> None:
    ranks = [0, 1, 3, 5]
    # k=5: 1/log2(2)=1, 1/log2(3), 1/log2(5), rank 5 is outside -> 0
    expected = (1 + 1 / math.log2(3) + 1 / math.log2(5) + 0) / 4
    assert ndcg_at_k(ranks, 5) == pytest.approx(expected)
    assert ndcg_at_k([0, 0], 1) == 1.0
    assert ndcg_at_k([1], 1) == 0.0


def test_ranking_metrics_reject_bad_input() -> None:
    with pytest.raises(ValueError):
        hit_rate_at_k([0, 1], 0)
    with pytest.raises(ValueError):
        ndcg_at_k([-1], 5)
    with pytest.raises(ValueError):
        ndcg_at_k([], 5)


def test_catalog_coverage_ignores_padding() -> None:
    top = np.array([[0, 2, -1], [2, 3, -1]])
    assert catalog_coverage(top, 8) == pytest.approx(3 / 8)
    assert catalog_coverage(np.full((2, 3), -1), 4) == 0.0
    with pytest.raises(ValueError):
        catalog_coverage([[9]], 8)
