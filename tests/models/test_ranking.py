"""top_k, the movie-row products and the taste scores' kernel, against plain numpy answers
whose order is known."""

from __future__ import annotations

import numpy as np
import pytest

from movierec.data.charts import weighted_rating
from movierec.models._rankkernels import order_statistics, row_dots, taste_kernel
from movierec.models.ranking import STREAMED_K, top_k


def reference_top_k(scores, k, excluded=None, allowed=None) -> list[int]:
    """A full sort by (score descending, index ascending) over what may be picked."""
    pickable = set(range(len(scores))) if allowed is None else set(np.asarray(allowed).tolist())
    pickable -= set([] if excluded is None else np.asarray(excluded).tolist())
    finite = [i for i in sorted(pickable) if 0 <= i < len(scores) and np.isfinite(scores[i])]
    return sorted(finite, key=lambda i: (-scores[i], i))[:k]


def test_known_order_with_ties_and_non_finite_scores():
    scores = np.array([0.5, np.nan, 2.0, 0.5, np.inf, -np.inf, 2.0, 1.0, -3.0])
    # 2.0 twice (index 2 before 6), then 1.0, then 0.5 twice (0 before 3); nan and ±inf never
    assert top_k(scores, 5).tolist() == [2, 6, 7, 0, 3]
    assert top_k(scores, 20).tolist() == [2, 6, 7, 0, 3, 8]
    assert top_k(scores, 3, excluded=np.array([2, 7])).tolist() == [6, 0, 3]
    assert top_k(scores, 3, allowed=np.array([8, 3, 0, 3, 1])).tolist() == [0, 3, 8]
    assert top_k(scores, 3, excluded=np.array([0]), allowed=np.array([8, 0, 3])).tolist() == [3, 8]


def test_nothing_to_pick():
    assert top_k(np.array([]), 3).tolist() == []
    assert top_k(np.array([np.nan, -np.inf]), 3).tolist() == []
    assert top_k(np.array([1.0, 2.0]), 2, excluded=np.array([0, 1])).tolist() == []
    assert top_k(np.array([1.0, 2.0]), 2, allowed=np.array([], np.int64)).tolist() == []


@pytest.mark.parametrize("k", [2, STREAMED_K + 1])
def test_indices_outside_the_scores_are_ignored(k):
    scores = np.array([3.0, 1.0, 2.0])
    assert top_k(scores, k, excluded=np.array([-1, 7])).tolist()[:2] == [0, 2]
    assert top_k(scores, k, allowed=np.array([-1, 2, 9, 1])).tolist() == [2, 1]


@pytest.mark.parametrize("k", [1, 10, STREAMED_K, STREAMED_K + 1, 500])
def test_streamed_and_partitioned_paths_agree_with_a_full_sort(k):
    rng = np.random.default_rng(k)
    for trial in range(20):
        n = int(rng.integers(1, 3000))
        scores = rng.integers(0, 50, n).astype(np.float64)  # many ties
        scores[rng.random(n) < 0.05] = np.nan
        if trial % 4 == 1:
            scores = np.sort(scores)  # ascending: every score enters the buffer
        excluded = rng.choice(n, size=int(rng.integers(0, n)), replace=True)
        allowed = rng.choice(n, size=int(rng.integers(0, n)), replace=True) if trial % 2 else None
        got = top_k(scores, k, excluded=excluded, allowed=allowed)
        assert got.dtype == np.int64
        assert got.tolist() == reference_top_k(scores, k, excluded, allowed)


def numpy_taste(dots, votes, bias, lengths, m, weight, norm):
    """FactorModel.taste_scores written out in numpy (its docstring's formula)."""
    quality = weighted_rating(votes.astype(np.float64), bias.astype(np.float64), m, 0.0)
    rated = votes > 0
    spread = float(quality[rated].std()) if rated.sum() > 1 else 0.0
    scale = float(lengths[rated].mean(dtype=np.float64)) if rated.any() else 0.0
    if norm == 0.0 or spread == 0.0 or scale == 0.0:
        return quality
    return quality + weight * spread * dots.astype(np.float64) / (norm * scale)


def test_taste_kernel_matches_its_formula():
    rng = np.random.default_rng(0)
    n = 2000
    dots = rng.standard_normal(n).astype(np.float32)
    votes = rng.integers(0, 40, n)
    bias = rng.standard_normal(n).astype(np.float32)
    lengths = rng.random(n).astype(np.float32)
    for m, weight, norm in [(50.0, 3.0, 1.7), (0.0, 3.0, 1.7), (50.0, 3.0, 0.0), (5.0, 0.5, 2.0)]:
        got = taste_kernel(dots, votes, bias, lengths, m, weight, norm)
        want = numpy_taste(dots, votes, bias, lengths, m, weight, norm)
        np.testing.assert_allclose(got, want, rtol=1e-12, atol=1e-12)
    one = np.zeros(n, np.int64)
    one[3] = 4  # a single rated movie: no spread, so the qualities alone
    got = taste_kernel(dots, one, bias, lengths, 50.0, 3.0, 1.7)
    np.testing.assert_allclose(got, numpy_taste(dots, one, bias, lengths, 50.0, 3.0, 1.7))
    assert got[3] == pytest.approx(4 / 54 * float(bias[3])) and not got[np.arange(n) != 3].any()


def test_row_dots_match_a_float64_product():
    rng = np.random.default_rng(2)
    for n, k, r in [(1, 1, 1), (37, 50, 1), (5000, 64, 3), (300, 7, 16), (0, 5, 2), (9, 4, 0)]:
        rows = rng.standard_normal((n, k)).astype(np.float32)
        rows.flags.writeable = False  # as a memory-mapped model's rows are
        vectors = rng.standard_normal((r, k)).astype(np.float32)
        got = row_dots(rows, vectors)
        want = vectors.astype(np.float64) @ rows.T.astype(np.float64)
        assert got.shape == (r, n) and got.dtype == np.float32
        np.testing.assert_allclose(got, want, rtol=0, atol=1e-4 * max(k, 1))
    head = np.arange(24, dtype=np.float32).reshape(8, 3)[:5]  # a capacity buffer's first rows
    assert row_dots(head, np.ones((1, 3), np.float32))[0].tolist() == [3, 12, 21, 30, 39]


def test_order_statistics_match_a_partition():
    rng = np.random.default_rng(1)
    for trial in range(30):
        n = int(rng.integers(2, 5000))
        row = rng.integers(0, 30, n).astype(np.float64)  # many ties
        row[rng.random(n) < 0.1] = -np.inf
        if trial % 3 == 1:
            row = np.sort(row)  # ascending: every value enters the buffer
        top = int(rng.integers(1, n))
        high = np.partition(row, [n - top - 1, n - top])
        assert order_statistics(row, top) == (high[n - top], high[n - top - 1])
