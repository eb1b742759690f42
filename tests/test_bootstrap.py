"""The one bootstrap: both forms, clusters, strata, the null rules and determinism."""

from __future__ import annotations

import numpy as np
import pytest

from judge.stats.agreement import average_ranks
from judge.stats.bootstrap import bootstrap, index_weights, resampled_ranks

X = np.random.default_rng(5).normal(size=400)


def mean_idx(idx: np.ndarray) -> np.ndarray:
    return X[idx].mean(1)


def mean_w(w: np.ndarray) -> np.ndarray:
    return (w @ X) / w.sum(1)


def test_index_weights_are_counts() -> None:
    idx = np.random.default_rng(0).integers(0, 5, size=(7, 5))
    w = index_weights(idx, 5)
    assert w.shape == (7, 5)
    assert (w.sum(1) == 5).all()
    assert (w[3] == np.bincount(idx[3], minlength=5)).all()


def test_mean_ci_matches_normal_theory_and_is_seeded() -> None:
    est = bootstrap(mean_idx, 400, n_boot=4000, seed=3, ci=0.95, form="indices")
    value, lo, hi = est.row()
    assert value == pytest.approx(X.mean())
    half = 1.96 * X.std() / np.sqrt(400)
    assert lo is not None and hi is not None and abs((hi - lo) / 2 - half) < 0.1 * half
    assert bootstrap(mean_idx, 400, n_boot=4000, seed=3, ci=0.95, form="indices").row() == (value, lo, hi)


def test_the_two_forms_draw_the_same_resamples() -> None:
    # A weights resample is the index resample's counts: a mean gives the same CI either way.
    by_idx = bootstrap(mean_idx, 400, n_boot=300, seed=1, ci=0.9, form="indices").row()
    by_w = bootstrap(mean_w, 400, n_boot=300, seed=1, ci=0.9, form="weights").row()
    assert by_w == pytest.approx(by_idx, abs=1e-12)


def test_chunking_does_not_change_the_numbers(monkeypatch: pytest.MonkeyPatch) -> None:
    import judge.stats.bootstrap as b

    whole = bootstrap(mean_w, 400, n_boot=500, seed=2, ci=0.95).row()
    monkeypatch.setattr(b, "CHUNK_CELLS", 400 * 7)  # chunks of 7 resamples
    assert bootstrap(mean_w, 400, n_boot=500, seed=2, ci=0.95).row() == whole


def test_clusters_move_together() -> None:
    # Three copies of every unit, as clusters: the same interval as the units on their own.
    clusters = np.repeat(np.arange(400), 3)
    tripled = np.repeat(X, 3)
    got = bootstrap(lambda w: (w @ tripled) / w.sum(1), 1200, n_boot=300, seed=4, ci=0.95, clusters=clusters)
    assert got.row() == pytest.approx(bootstrap(mean_w, 400, n_boot=300, seed=4, ci=0.95).row(), abs=1e-12)


def test_strata_are_independent_bootstraps_in_one_matrix() -> None:
    sizes = np.array([3, 1, 4, 392])
    starts = np.cumsum(sizes) - sizes
    seen: list[np.ndarray] = []

    def means(idx: np.ndarray) -> np.ndarray:
        seen.append(idx)
        return np.add.reduceat(X[idx], starts, axis=1) / sizes

    est = bootstrap(means, 400, n_boot=200, seed=0, ci=0.95, form="indices", strata=sizes)
    idx = np.concatenate(seen[1:])  # the first call is the estimate itself
    assert ((idx[:, :3] >= 0) & (idx[:, :3] < 3)).all() and (idx[:, 3] == 3).all()
    assert ((idx[:, 4:8] >= 4) & (idx[:, 4:8] < 8)).all()
    assert est.row(1) == (pytest.approx(X[3]), None, None)  # one unit: no interval
    lo, hi = est.row(0)[1:]
    assert lo is not None and hi is not None and lo <= X[:3].mean() <= hi
    # one stratum draws exactly what the plain bootstrap draws
    one = bootstrap(lambda i: X[i].mean(1)[:, None], 400, n_boot=200, seed=0, ci=0.95, form="indices",
                    strata=np.array([400]))  # fmt: skip
    assert one.row() == bootstrap(mean_idx, 400, n_boot=200, seed=0, ci=0.95, form="indices").row()


def test_null_rules() -> None:
    undefined = bootstrap(lambda w: np.full(w.shape[0], np.nan), 10, n_boot=50, seed=0, ci=0.9)
    assert undefined.row() == (None, None, None)
    single = bootstrap(lambda w: (w @ X[:1]) / w.sum(1), 1, n_boot=50, seed=0, ci=0.9)
    assert single.row() == (pytest.approx(X[0]), None, None)  # one item: an estimate, no interval
    assert bootstrap(mean_w, 400, n_boot=0, seed=0, ci=0.9).row()[1:] == (None, None)
    # defined on the data but in no resample: no interval
    flaky = bootstrap(lambda w: np.where(w.sum(1) == 400, np.nan, 1.0) if len(w) > 1 else np.ones(1), 400,
                      n_boot=20, seed=0, ci=0.9)  # fmt: skip
    assert flaky.row() == (1.0, None, None)
    assert bootstrap(lambda w: w.sum(1), 0, n_boot=10, seed=0, ci=0.9).row()[1:] == (None, None)


def test_bad_arguments() -> None:
    with pytest.raises(ValueError, match="form"):
        bootstrap(mean_w, 400, n_boot=1, seed=0, ci=0.9, form="jackknife")  # type: ignore[arg-type]
    with pytest.raises(ValueError, match="clusters need the weights form"):
        bootstrap(mean_idx, 400, n_boot=1, seed=0, ci=0.9, form="indices", clusters=np.zeros(400, np.int64))
    with pytest.raises(ValueError, match="strata"):
        bootstrap(mean_idx, 400, n_boot=1, seed=0, ci=0.9, form="indices", strata=np.array([399]))


def test_resampled_ranks_match_direct_ranking() -> None:
    rng = np.random.default_rng(1)
    x = rng.integers(0, 6, 40).astype(float)
    idx = rng.integers(0, 40, size=(25, 40))
    np.testing.assert_allclose(resampled_ranks(x, idx), average_ranks(x[idx]))


@pytest.mark.parametrize("form", ["indices", "weights"])
def test_many_statistics_share_draws_and_equal_their_own_bootstraps(form: str) -> None:
    # bootstrap_many draws each chunk once for all its statistics; each result must be exactly
    # (not approximately) what its own bootstrap call gives, for the same seed.
    from judge.stats.bootstrap import bootstrap_many

    y = np.random.default_rng(9).exponential(size=400)
    if form == "indices":
        stats = [mean_idx, lambda idx: np.median(y[idx], axis=1), lambda idx: np.full(len(idx), np.nan)]
    else:
        stats = [mean_w, lambda w: (w @ y) / w.sum(1), lambda w: np.full(len(w), np.nan)]
    together = bootstrap_many(stats, 400, n_boot=700, seed=11, ci=0.9, form=form)  # type: ignore[arg-type]
    for stat, est in zip(stats, together, strict=True):
        alone = bootstrap(stat, 400, n_boot=700, seed=11, ci=0.9, form=form)  # type: ignore[arg-type]
        np.testing.assert_array_equal(est.value, alone.value)
        np.testing.assert_array_equal(est.low, alone.low)
        np.testing.assert_array_equal(est.high, alone.high)
    assert together[2].row() == (None, None, None)


def test_many_stratified_statistics_equal_their_own_bootstraps() -> None:
    from judge.stats.bootstrap import bootstrap_many

    sizes = np.array([5, 1, 120, 274])
    starts = np.cumsum(sizes) - sizes
    y = np.random.default_rng(2).normal(size=400) ** 2
    stats = [lambda idx, v=v: np.add.reduceat(v[idx], starts, axis=1) / sizes for v in (X, y)]
    together = bootstrap_many(stats, 400, n_boot=300, seed=6, ci=0.95, form="indices", strata=sizes)
    for stat, est in zip(stats, together, strict=True):
        alone = bootstrap(stat, 400, n_boot=300, seed=6, ci=0.95, form="indices", strata=sizes)
        assert est.rows() == alone.rows()
    assert together[0].row(1)[1] is None  # a one-item stratum has no interval
