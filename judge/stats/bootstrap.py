"""The one bootstrap: every confidence interval in ``judge.stats`` comes from :func:`bootstrap`.

Percentile intervals over resamples of *items*, seeded and vectorised: a resample of n units is
one row of a (B x n) matrix, never a Python loop per resample. The statistic sees a chunk of
resamples in one of two forms:

- ``"indices"``: unit indices drawn with replacement, for statistics that need the resampled
  values themselves (ranks, contingency tables);
- ``"weights"``: how often each unit was drawn (multinomial counts), for statistics that are sums
  or ratios of sums (one matrix product each). With ``clusters``, whole clusters are drawn (an
  item with all its judges and repeats, or with all its rubrics) and every unit carries its
  cluster's count.

With ``strata`` (indices form), several independent bootstraps run in one matrix: units are laid
out stratum after stratum, each unit position draws within its own stratum, and output column j
belongs to stratum j (one CI per cell of a table at once).

Rules shared by every interval:

- the estimate is the statistic on the data as observed (the identity resample); NaN means
  undefined and is reported as null by the callers, never as NaN;
- the interval is undefined when the estimate is, when fewer than two units (clusters, or units
  of the column's stratum) support it, when ``n_boot`` is 0, or when no resample is defined;
  otherwise it is the percentile interval over the resamples where the statistic is defined.

One random primitive serves every form: ``Generator.integers`` over the units (or clusters) of
the resample. numpy yields the same stream whatever the chunk shape, so chunking (which bounds
memory) does not change the numbers, and a stratified draw with one stratum equals the plain one:
the numbers depend only on ``seed``.
"""

from __future__ import annotations

import warnings
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from typing import Literal

import numpy as np

Form = Literal["indices", "weights"]
Stat = Callable[[np.ndarray], np.ndarray]

# about 8 MB of float64 per chunk. A chunk's working set is several such matrices (draws, indices,
# gathered values): at 4M cells it added ~240 MiB to a 100,000-item run's peak RSS, at 1M about 60,
# for ~6% more time (benchmarks/RESULTS.md, memory).
CHUNK_CELLS = 1_000_000


@dataclass(frozen=True)
class Estimates:
    """Estimates and percentile bounds, one per statistic column; NaN where undefined."""

    value: np.ndarray
    low: np.ndarray
    high: np.ndarray

    def row(self, j: int = 0) -> tuple[float | None, float | None, float | None]:
        """Column j as (value, low, high), null for undefined."""
        return _null(self.value[j]), _null(self.low[j]), _null(self.high[j])

    def rows(self) -> list[tuple[float | None, float | None, float | None]]:
        return [self.row(j) for j in range(len(self.value))]


def _null(x: float) -> float | None:
    return float(x) if np.isfinite(x) else None


def chunk_sizes(n_boot: int, width: int) -> Iterator[int]:
    """Row counts of successive chunks of an (n_boot x width) matrix."""
    step = max(1, CHUNK_CELLS // max(width, 1))
    for start in range(0, n_boot, step):
        yield min(step, n_boot - start)


def index_weights(idx: np.ndarray, n: int) -> np.ndarray:
    """Multinomial counts per unit, (B x n), of an index matrix over 0..n-1."""
    b = idx.shape[0]
    flat = (idx + (np.arange(b) * n)[:, None]).ravel()
    return np.bincount(flat, minlength=b * n).reshape(b, n).astype(np.float64)


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


def _columns(out: np.ndarray) -> np.ndarray:
    """A statistic's output as (B x k) floats."""
    arr = np.asarray(out, dtype=np.float64)
    return arr[:, None] if arr.ndim == 1 else arr


def bootstrap(
    stat: Stat,
    n: int,
    *,
    n_boot: int,
    seed: int,
    ci: float,
    form: Form = "weights",
    clusters: np.ndarray | None = None,
    strata: np.ndarray | None = None,
) -> Estimates:
    """Estimate and percentile CI of ``stat`` over item resamples of ``n`` units.

    ``stat`` maps a (B x n) chunk of resamples (indices or weights, see the module docstring) to
    B values or a (B x k) matrix of k statistics, NaN where undefined. ``clusters``: cluster id
    0..C-1 per unit (weights form). ``strata``: the units per stratum, laid out in order
    (indices form; ``stat`` returns one column per stratum).
    """
    return bootstrap_many([stat], n, n_boot=n_boot, seed=seed, ci=ci, form=form, clusters=clusters, strata=strata)[0]


def bootstrap_many(
    stats: Sequence[Stat],
    n: int,
    *,
    n_boot: int,
    seed: int,
    ci: float,
    form: Form = "weights",
    clusters: np.ndarray | None = None,
    strata: np.ndarray | None = None,
) -> list[Estimates]:
    """:func:`bootstrap` of several statistics over the same units, drawing each chunk of
    resamples once for all of them. The resamples depend only on ``n``, ``clusters``, ``strata``,
    ``form``, ``n_boot`` and ``seed``, so each result equals its own :func:`bootstrap` call; the
    draws (most of a bootstrap's time) are shared."""
    if form not in ("indices", "weights"):
        raise ValueError(f"form must be 'indices' or 'weights', got {form!r}")
    if clusters is not None and form != "weights":
        raise ValueError("clusters need the weights form")
    if strata is not None and (form != "indices" or clusters is not None):
        raise ValueError("strata need the indices form and no clusters")
    identity = np.ones((1, n)) if form == "weights" else np.arange(n, dtype=np.int64)[None]
    points = []
    for stat in stats:
        if strata is not None and len(strata) == 0:
            point = np.zeros(0)
        else:
            with warnings.catch_warnings(), np.errstate(all="ignore"):
                warnings.simplefilter("ignore", RuntimeWarning)  # no units: an undefined estimate
                point = _columns(stat(identity))[0]
        points.append(point)
    supports = []
    if strata is not None:
        sizes = np.asarray(strata, dtype=np.int64)
        for point in points:
            if len(sizes) != len(point) or int(sizes.sum()) != n or (sizes < 1).any():
                raise ValueError("strata: one positive size per output column, summing to n")
            supports.append(sizes)
        n_draw = n
    else:
        n_draw = (int(clusters.max()) + 1 if len(clusters) else 0) if clusters is not None else n
        supports = [np.full(len(point), n_draw) for point in points]
    wanted = [np.isfinite(point) & (support >= 2) for point, support in zip(points, supports, strict=True)]
    drawn = [j for j, w in enumerate(wanted) if w.any()]
    chunks: list[list[np.ndarray]] = [[] for _ in stats]
    if n_boot > 0 and drawn:
        for idx in _resamples(n, n_draw, n_boot, seed, form, clusters, strata):
            for j in drawn:
                chunks[j].append(_columns(stats[j](idx)))
    out = []
    for j, point in enumerate(points):
        low = high = np.full(len(point), np.nan)
        if chunks[j]:
            lo, hi = percentile_ci(np.concatenate(chunks[j]), ci)
            low, high = np.where(wanted[j], lo, np.nan), np.where(wanted[j], hi, np.nan)
        out.append(Estimates(np.where(np.isfinite(point), point, np.nan), low, high))
    return out


def _resamples(
    n: int,
    n_draw: int,
    n_boot: int,
    seed: int,
    form: Form,
    clusters: np.ndarray | None,
    strata: np.ndarray | None,
) -> Iterator[np.ndarray]:
    """Successive chunks of resamples, as the statistic sees them (indices, or weights per unit)."""
    rng = np.random.default_rng(seed)
    if strata is not None:
        sizes = np.asarray(strata, dtype=np.int64)
        offsets = np.repeat(np.cumsum(sizes) - sizes, sizes)
        widths = np.repeat(sizes, sizes)
    for b in chunk_sizes(n_boot, max(n, n_draw)):
        if strata is not None:
            idx = offsets + rng.integers(0, widths, size=(b, n), dtype=np.int64)
        else:
            idx = rng.integers(0, n_draw, size=(b, n_draw), dtype=np.int64)
        if form == "indices":
            yield idx
            continue
        w = index_weights(idx, n_draw)
        yield w[:, clusters] if clusters is not None else w
