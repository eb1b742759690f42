"""Seeded, vectorised bootstrap helpers: resamples as index or weight matrices, never a Python
loop per resample.

A resample of n units is a row of an (n_boot x n) matrix: either indices drawn with replacement
(for statistics that need the resampled values themselves, such as ranks), or the equivalent
multinomial counts per unit (for statistics that are sums, via one matrix product). Large
problems are processed in chunks of rows so memory stays bounded; the chunking does not change
the numbers, which depend only on ``seed``.
"""

from __future__ import annotations

import warnings
from collections.abc import Callable, Iterator

import numpy as np

# about 8 MB of float64 per chunk. A chunk's working set is several such matrices (draws, indices,
# gathered values): at 4M cells it added ~240 MiB to a 100,000-item run's peak RSS, at 1M about 60,
# for ~6% more time (benchmarks/RESULTS.md, memory).
CHUNK_CELLS = 1_000_000


def chunk_sizes(n_boot: int, width: int) -> Iterator[int]:
    """Row counts of successive chunks of an (n_boot x width) matrix."""
    step = max(1, CHUNK_CELLS // max(width, 1))
    for start in range(0, n_boot, step):
        yield min(step, n_boot - start)


def draw_indices(rng: np.random.Generator, n_boot: int, n: int) -> np.ndarray:
    """(n_boot x n) indices into 0..n-1, drawn with replacement."""
    return rng.integers(0, n, size=(n_boot, n), dtype=np.int64)


def index_weights(idx: np.ndarray, n: int) -> np.ndarray:
    """Multinomial counts per unit, (B x n), for an index matrix from :func:`draw_indices`."""
    b = idx.shape[0]
    flat = (idx + (np.arange(b) * n)[:, None]).ravel()
    return np.bincount(flat, minlength=b * n).reshape(b, n).astype(np.float64)


def grouped_indices(rng: np.random.Generator, n_boot: int, sizes: np.ndarray) -> np.ndarray:
    """Resample within each of several groups at once.

    Units are laid out group after group (``sizes`` units each); column j of the result draws
    a unit uniformly from column j's own group. One matrix serves every group.
    """
    sizes = np.asarray(sizes, dtype=np.int64)
    offsets = np.repeat(np.cumsum(sizes) - sizes, sizes)
    width = np.repeat(sizes, sizes)
    u = rng.random((n_boot, int(sizes.sum())))
    return offsets + np.minimum((u * width).astype(np.int64), width - 1)


def resampled_ranks(x: np.ndarray, idx: np.ndarray) -> np.ndarray:
    """Average ranks (ties averaged) of ``x[idx]`` within each resample row, without sorting.

    The values are coded once; each row's rank of value k is the count of smaller values drawn
    plus (count of k + 1) / 2, from a per-row histogram and its cumulative sum.
    """
    values, code = np.unique(np.asarray(x), return_inverse=True)
    v = len(values)
    c = code.ravel()[idx]
    b = idx.shape[0]
    counts = np.bincount((c + v * np.arange(b)[:, None]).ravel(), minlength=b * v)
    counts = counts.reshape(b, v).astype(np.float64)
    avg = np.cumsum(counts, axis=1) - (counts - 1) / 2
    return np.take_along_axis(avg, c, axis=1)


def percentile_ci(samples: np.ndarray, ci: float, axis: int = 0) -> tuple[np.ndarray, np.ndarray]:
    """Percentile interval along ``axis``, ignoring NaN resamples (NaN if all are NaN)."""
    lo, hi = (1 - ci) / 2, 1 - (1 - ci) / 2
    with warnings.catch_warnings():
        # an all-NaN column is an expected "undefined", reported as null by the caller
        warnings.simplefilter("ignore", RuntimeWarning)
        q = np.nanquantile(samples, [lo, hi], axis=axis)
    return q[0], q[1]


def bootstrap(
    stat: Callable[[np.ndarray], np.ndarray],
    n: int,
    *,
    n_boot: int,
    seed: int,
    ci: float,
    weights: bool = False,
    clusters: np.ndarray | None = None,
) -> tuple[float, float] | None:
    """CI of ``stat`` over resamples of n units (or of their clusters).

    ``stat`` gets a chunk of resamples, (B x n) indices, or unit weights when ``weights`` is
    true, and returns B values (NaN where undefined). With ``clusters`` (cluster id 0..C-1 per
    unit; weights only) whole clusters are resampled. Returns None when no resample is defined.
    """
    rng = np.random.default_rng(seed)
    n_draw = int(clusters.max()) + 1 if clusters is not None else n
    out = []
    for b in chunk_sizes(n_boot, n):
        idx = draw_indices(rng, b, n_draw)
        if weights:
            w = index_weights(idx, n_draw)
            out.append(stat(w[:, clusters] if clusters is not None else w))
        else:
            out.append(stat(idx))
    values = np.concatenate(out)
    if not np.isfinite(values).any():
        return None
    lo, hi = percentile_ci(values, ci)
    return float(lo), float(hi)
