"""Bootstrap helpers: resampling shapes, groups, determinism."""

from __future__ import annotations

import numpy as np

from judge.stats.agreement import average_ranks
from judge.stats.bootstrap import (
    bootstrap,
    draw_indices,
    grouped_indices,
    index_weights,
    resampled_ranks,
)


def test_index_weights_are_counts() -> None:
    idx = draw_indices(np.random.default_rng(0), 7, 5)
    w = index_weights(idx, 5)
    assert w.shape == (7, 5)
    assert (w.sum(1) == 5).all()
    assert (w[3] == np.bincount(idx[3], minlength=5)).all()


def test_grouped_indices_stay_in_their_group() -> None:
    sizes = np.array([3, 1, 4])
    idx = grouped_indices(np.random.default_rng(0), 200, sizes)
    assert idx.shape == (200, 8)
    assert ((idx[:, :3] >= 0) & (idx[:, :3] < 3)).all()
    assert (idx[:, 3] == 3).all()
    assert ((idx[:, 4:] >= 4) & (idx[:, 4:] < 8)).all()
    assert len(np.unique(idx[:, 4:])) == 4


def test_mean_ci_matches_normal_theory_and_is_seeded() -> None:
    x = np.random.default_rng(5).normal(size=400)

    def mean(idx: np.ndarray) -> np.ndarray:
        return x[idx].mean(1)

    lo, hi = bootstrap(mean, 400, n_boot=4000, seed=3, ci=0.95) or (0, 0)
    half = 1.96 * x.std() / np.sqrt(400)
    assert abs((hi - lo) / 2 - half) < 0.1 * half
    assert bootstrap(mean, 400, n_boot=4000, seed=3, ci=0.95) == (lo, hi)


def test_undefined_everywhere_gives_none() -> None:
    def undefined(idx: np.ndarray) -> np.ndarray:
        return np.full(idx.shape[0], np.nan)

    assert bootstrap(undefined, 10, n_boot=50, seed=0, ci=0.9) is None


def test_resampled_ranks_match_direct_ranking() -> None:
    rng = np.random.default_rng(1)
    x = rng.integers(0, 6, 40).astype(float)
    idx = draw_indices(rng, 25, 40)
    np.testing.assert_allclose(resampled_ranks(x, idx), average_ranks(x[idx]))
