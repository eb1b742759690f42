"""Inter-rater agreement on long-format polars frames: one row per rating.

Every function takes the frame plus the column names ``unit``, ``rater`` and ``value`` as
keyword arguments. A missing rating is an absent row or a null (a NaN float counts as null). A
rater may rate a unit at most once; duplicates raise ``ValueError`` because they are a bug
upstream (several repeats of a judge belong in separate units, or must be aggregated first).

Results are :class:`Agreement` values: ``value`` is a float, or ``None`` when the coefficient is
undefined, in which case ``reason`` says why. Behaviour chosen for degenerate data, all functions:

- no unit with two or more ratings (all missing, a single rating per unit): ``None``,
  reason ``"no pairable units"``;
- chance agreement is total (every rating identical, so expected disagreement is 0): the
  chance-corrected coefficients (alpha, Fleiss, Cohen, AC1) are ``None`` with reason
  ``"no variation"``; Krippendorff defines alpha only where D_e > 0 and the other coefficients
  are 0/0 there. ``percent_agreement`` is 1.0.
- one constant rater against a varying one: defined; kappa comes out at or near 0 (its
  marginal makes chance agreement equal the observed agreement).
- a single pairable unit is computed as given, though it is rarely meaningful.

Definitions and sources (the tests check each against a published worked example):

- Krippendorff's alpha: K. Krippendorff (2011), "Computing Krippendorff's Alpha-Reliability",
  via the coincidence matrix; units with fewer than two ratings are dropped. The ordinal metric
  uses the marginal frequencies n_g of the pairable values, so it is the interval metric applied
  to the mid-cumulative frequency z_c = sum_{g<c} n_g + n_c / 2 of each value.
- Fleiss' kappa: Fleiss (1971); with unequal numbers of ratings per unit, Gwet's (2014)
  generalisation: observed agreement over units with two or more ratings, category shares pi_k
  averaged over units with at least one rating.
- Cohen's kappa: Cohen (1960), weighted per Cohen (1968). Categories are ``labels`` if given,
  else the sorted values seen; linear and quadratic weights use positions in that list.
- Gwet's AC1: Gwet (2008, 2014), chance agreement sum_k pi_k (1 - pi_k) / (q - 1).
- Rank correlations: Spearman's rho as Pearson's r of average ranks; Kendall's tau-b with the
  usual tie correction.

:func:`alpha_data` exposes alpha's per-unit sufficient statistics so that a bootstrap can
evaluate alpha for many unit weightings in a few matrix products (see ``judge.stats.scores``).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Literal

import numpy as np
import polars as pl

Level = Literal["nominal", "ordinal", "interval", "ratio"]
Weights = Literal["linear", "quadratic"]

NO_PAIRABLE = "no pairable units"
NO_VARIATION = "no variation"


@dataclass(frozen=True, slots=True)
class Agreement:
    """A coefficient, or ``value=None`` with the ``reason`` it is undefined."""

    value: float | None
    reason: str | None = None
    n_units: int = 0

    @classmethod
    def of(cls, value: float, n_units: int, reason_if_nan: str = NO_VARIATION) -> Agreement:
        if not np.isfinite(value):
            return cls(None, reason_if_nan, n_units)
        return cls(float(value), None, n_units)


# --------------------------------------------------------------------------------- input


def _ratings(df: pl.DataFrame, unit: str, rater: str, value: str) -> pl.DataFrame:
    """Columns unit, rater, value with missing ratings dropped; duplicates rejected."""
    missing = [c for c in (unit, rater, value) if c not in df.columns]
    if missing:
        raise ValueError(f"missing column(s) {missing}; frame has {df.columns}")
    out = df.select(pl.col(unit).alias("u"), pl.col(rater).alias("r"), pl.col(value).alias("v"))
    if out.schema["v"].is_float():
        out = out.with_columns(pl.col("v").fill_nan(None))
    out = out.drop_nulls()
    if out.select(pl.struct("u", "r").is_duplicated().any()).item():
        raise ValueError(
            f"a rater rated a unit more than once ({unit!r} x {rater!r} must be unique); "
            "put repeats in separate units or aggregate them first"
        )
    return out


def _codes(s: pl.Series) -> tuple[np.ndarray, np.ndarray]:
    """Sorted distinct values and each element's index into them."""
    values, inverse = np.unique(s.to_numpy(), return_inverse=True)
    return values, inverse.ravel()


def _unit_category_counts(
    r: pl.DataFrame, labels: Sequence[object] | None = None
) -> tuple[np.ndarray, np.ndarray]:
    """(units x categories) rating counts and the category values, from a _ratings frame."""
    _, ucode = _codes(r["u"])
    if labels is None:
        cats, ccode = _codes(r["v"])
    else:
        cats = np.asarray(labels)
        lookup = {v: i for i, v in enumerate(labels)}
        unknown = set(r["v"].unique().to_list()) - lookup.keys()
        if unknown:
            raise ValueError(f"values {sorted(unknown, key=str)} are not in labels {list(labels)}")
        ccode = np.fromiter((lookup[v] for v in r["v"].to_list()), dtype=np.int64, count=r.height)
    n_units = int(ucode.max()) + 1 if len(ucode) else 0
    q = len(cats)
    counts = np.bincount(ucode * q + ccode, minlength=n_units * q).reshape(n_units, q)
    return counts.astype(np.float64), cats


# ------------------------------------------------------------------------- Krippendorff


@dataclass(frozen=True, slots=True)
class AlphaData:
    """Per-unit sufficient statistics for Krippendorff's alpha over pairable units.

    ``alpha(w)`` evaluates alpha for each row of a (B x n_units) matrix of unit weights
    (bootstrap counts); ``alpha(np.ones((1, n_units)))`` is the plain estimate.
    """

    level: Level
    units: np.ndarray  # the pairable units' keys, in the order of every per-unit array
    m: np.ndarray  # ratings per unit (all >= 2)
    counts: np.ndarray | None  # (units x values) for nominal, ordinal, ratio
    values: np.ndarray | None  # the distinct values, sorted
    s1: np.ndarray | None  # interval: per-unit sum of centred values
    s2: np.ndarray | None  # interval: per-unit sum of squares

    @property
    def n_units(self) -> int:
        return len(self.m)

    def alpha(self, w: np.ndarray) -> np.ndarray:
        """Alpha per weight row; NaN where undefined (no pairable values or D_e = 0)."""
        w = np.atleast_2d(np.asarray(w, dtype=np.float64))
        inv = 1.0 / (self.m - 1.0)
        n = w @ self.m
        if self.level == "interval":
            assert self.s1 is not None and self.s2 is not None
            d_unit = inv * (2 * self.m * self.s2 - 2 * self.s1**2)
            do = w @ d_unit
            de = 2 * n * (w @ self.s2) - 2 * (w @ self.s1) ** 2
        else:
            assert self.counts is not None and self.values is not None
            nc = w @ self.counts  # (B x V) pairable value frequencies
            if self.level == "nominal":
                do = w @ (inv * (self.m**2 - (self.counts**2).sum(1)))
                de = n**2 - (nc**2).sum(1)
            elif self.level == "ordinal":
                # the metric depends on the resample's own marginals: z per row of w
                z = np.cumsum(nc, axis=1) - nc / 2
                a1 = self.counts @ z.T  # (units x B)
                a2 = self.counts @ (z**2).T
                per_unit = inv[:, None] * (2 * self.m[:, None] * a2 - 2 * a1**2)
                do = np.einsum("bu,ub->b", w, per_unit)
                s1 = (nc * z).sum(1)
                de = 2 * n * (nc * z**2).sum(1) - 2 * s1**2
            else:  # ratio
                v = self.values.astype(np.float64)
                vsum = v[:, None] + v[None, :]
                delta = np.divide(
                    (v[:, None] - v[None, :]) ** 2,
                    vsum**2,
                    out=np.zeros((len(v), len(v))),
                    where=vsum != 0,
                )
                d_unit = inv * np.einsum("uc,ck,uk->u", self.counts, delta, self.counts)
                do = w @ d_unit
                de = np.einsum("bc,ck,bk->b", nc, delta, nc)
        with np.errstate(divide="ignore", invalid="ignore"):
            out = 1.0 - (n - 1.0) * do / de
        # D_e == 0 within rounding means no variation at all: undefined, not +-inf
        scale = np.maximum(np.abs(de), 1.0)
        out[(np.abs(de) <= 1e-12 * scale) | (n < 2)] = np.nan
        return out


def alpha_data(
    df: pl.DataFrame,
    *,
    level: Level = "nominal",
    unit: str = "unit",
    rater: str = "rater",
    value: str = "value",
) -> AlphaData:
    """Pairable units' statistics for :func:`krippendorff_alpha` and its bootstrap."""
    if level not in ("nominal", "ordinal", "interval", "ratio"):
        raise ValueError(f"unknown level {level!r}")
    r = _ratings(df, unit, rater, value)
    pairable = r.group_by("u").len().filter(pl.col("len") >= 2).select("u")
    r = r.join(pairable, on="u", how="semi").sort("u", maintain_order=True)
    if level == "interval":
        centre = r["v"].cast(pl.Float64).mean() if r.height else 0.0
        per = (
            r.with_columns((pl.col("v").cast(pl.Float64) - centre).alias("c"))
            .group_by("u")
            .agg(pl.len().alias("m"), pl.col("c").sum().alias("s1"), (pl.col("c") ** 2).sum())
            .sort("u")
        )
        return AlphaData(
            level,
            per["u"].to_numpy(),
            per["m"].to_numpy().astype(np.float64),
            None,
            None,
            per["s1"].to_numpy(),
            per["c"].to_numpy(),
        )
    if level == "ratio" and r.height and r["v"].min() < 0:  # type: ignore[operator]
        raise ValueError("the ratio metric needs non-negative values")
    counts, values = _unit_category_counts(r)
    units = np.unique(r["u"].to_numpy())
    return AlphaData(level, units, counts.sum(1), counts, values, None, None)


def krippendorff_alpha(
    df: pl.DataFrame,
    *,
    level: Level = "nominal",
    unit: str = "unit",
    rater: str = "rater",
    value: str = "value",
) -> Agreement:
    """Krippendorff's alpha at the given level of measurement; missing data allowed.

    Example: ``krippendorff_alpha(ratings, level="ordinal").value`` -> 0.815 on Krippendorff's
    (2011) worked example.
    """
    data = alpha_data(df, level=level, unit=unit, rater=rater, value=value)
    if data.n_units == 0:
        return Agreement(None, NO_PAIRABLE, 0)
    return Agreement.of(data.alpha(np.ones((1, data.n_units)))[0], data.n_units)


# ------------------------------------------------------------------ multi-rater kappas


def _multi_rater(
    df: pl.DataFrame, unit: str, rater: str, value: str, labels: Sequence[object] | None
) -> tuple[float, np.ndarray, int] | None:
    """Observed pairwise agreement, category shares pi_k and pairable unit count."""
    r = _ratings(df, unit, rater, value)
    if r.height == 0:
        return None
    counts, _ = _unit_category_counts(r, labels)
    ri = counts.sum(1)
    pairable = ri >= 2
    if not pairable.any():
        return None
    c2, r2 = counts[pairable], ri[pairable]
    pa = float(((c2 * (c2 - 1)).sum(1) / (r2 * (r2 - 1))).mean())
    pi = (counts / ri[:, None]).mean(0)  # every unit with at least one rating
    return pa, pi, int(pairable.sum())


def percent_agreement(
    df: pl.DataFrame, *, unit: str = "unit", rater: str = "rater", value: str = "value"
) -> Agreement:
    """Share of agreeing rater pairs, averaged over units with two or more ratings."""
    got = _multi_rater(df, unit, rater, value, None)
    if got is None:
        return Agreement(None, NO_PAIRABLE, 0)
    return Agreement(got[0], None, got[2])


def fleiss_kappa(
    df: pl.DataFrame,
    *,
    labels: Sequence[object] | None = None,
    unit: str = "unit",
    rater: str = "rater",
    value: str = "value",
) -> Agreement:
    """Fleiss' kappa (nominal); unequal ratings per unit allowed (Gwet's generalisation)."""
    got = _multi_rater(df, unit, rater, value, labels)
    if got is None:
        return Agreement(None, NO_PAIRABLE, 0)
    pa, pi, n = got
    pe = float((pi**2).sum())
    return Agreement.of((pa - pe) / (1 - pe) if pe < 1 - 1e-12 else np.nan, n)


def gwet_ac1(
    df: pl.DataFrame,
    *,
    labels: Sequence[object] | None = None,
    unit: str = "unit",
    rater: str = "rater",
    value: str = "value",
) -> Agreement:
    """Gwet's AC1 (nominal); q is the number of ``labels``, else of distinct values seen."""
    got = _multi_rater(df, unit, rater, value, labels)
    if got is None:
        return Agreement(None, NO_PAIRABLE, 0)
    pa, pi, n = got
    q = len(pi)
    if q < 2:
        return Agreement(None, NO_VARIATION, n)
    pe = float((pi * (1 - pi)).sum() / (q - 1))
    return Agreement.of((pa - pe) / (1 - pe), n)


# ------------------------------------------------------------------------------ Cohen


def weight_matrix(q: int, weights: Weights | np.ndarray | None) -> np.ndarray:
    """Agreement weights (1 on the diagonal) for q ordered categories."""
    if weights is None:
        return np.eye(q)
    if isinstance(weights, np.ndarray):
        if weights.shape != (q, q):
            raise ValueError(f"weight matrix must be {q}x{q}, got {weights.shape}")
        return weights.astype(np.float64)
    i = np.arange(q)
    dist = np.abs(i[:, None] - i[None, :]) / max(q - 1, 1)
    if weights == "linear":
        return 1 - dist
    if weights == "quadratic":
        return 1 - dist**2
    raise ValueError(f"unknown weights {weights!r}; use None, 'linear' or 'quadratic'")


def kappa_from_tables(tables: np.ndarray, w: np.ndarray) -> np.ndarray:
    """Weighted kappa for a stack of (q x q) count tables, shape (..., q, q); NaN if undefined."""
    t = np.asarray(tables, dtype=np.float64)
    total = t.sum(axis=(-2, -1))
    with np.errstate(divide="ignore", invalid="ignore"):
        p = t / total[..., None, None]
        po = (p * w).sum(axis=(-2, -1))
        pe = np.einsum("...i,ij,...j->...", p.sum(-1), w, p.sum(-2))
        out = (po - pe) / (1 - pe)
    out[np.abs(1 - pe) <= 1e-12] = np.nan
    return out


def cohen_kappa(
    df: pl.DataFrame,
    *,
    weights: Weights | np.ndarray | None = None,
    labels: Sequence[object] | None = None,
    unit: str = "unit",
    rater: str = "rater",
    value: str = "value",
) -> Agreement:
    """Cohen's kappa for exactly two raters over the units both rated.

    ``weights``: None (unweighted), "linear", "quadratic", or an explicit (q x q) matrix of
    agreement weights in the order of ``labels``.
    """
    r = _ratings(df, unit, rater, value)
    raters = r["r"].unique().sort().to_list()
    if len(raters) != 2:
        raise ValueError(f"cohen_kappa needs exactly two raters, got {len(raters)}: {raters}")
    wide = r.pivot(on="r", index="u", values="v").drop_nulls()
    if wide.height == 0:
        return Agreement(None, NO_PAIRABLE, 0)
    a, b = wide[str(raters[0])], wide[str(raters[1])]
    if labels is None:
        cats, code = _codes(pl.concat([a, b]))
    else:
        cats = np.asarray(labels)
        lookup = {v: i for i, v in enumerate(labels)}
        seen = pl.concat([a, b]).to_list()
        unknown = set(seen) - lookup.keys()
        if unknown:
            raise ValueError(f"values {sorted(unknown, key=str)} are not in labels {list(labels)}")
        code = np.fromiter((lookup[v] for v in seen), dtype=np.int64, count=len(seen))
    q, n = len(cats), wide.height
    table = np.bincount(code[:n] * q + code[n:], minlength=q * q).reshape(q, q)
    return Agreement.of(kappa_from_tables(table[None], weight_matrix(q, weights))[0], n)


# ----------------------------------------------------------------- rank correlations


def average_ranks(x: np.ndarray) -> np.ndarray:
    """Ranks 1..n with ties given their average rank, along the last axis (vectorised)."""
    x = np.asarray(x, dtype=np.float64)
    if x.ndim == 1:
        return average_ranks(x[None])[0]
    b, n = x.shape
    _, code = np.unique(x, return_inverse=True)
    key = code.reshape(b, n) + np.arange(b)[:, None] * (int(code.max()) + 1 if code.size else 1)
    flat = key.ravel()
    srt = np.sort(flat)
    left = np.searchsorted(srt, flat, "left")
    right = np.searchsorted(srt, flat, "right")
    start = np.repeat(np.arange(b) * n, n)
    return ((left - start) + (right - left + 1) / 2).reshape(b, n)


def pearson_rows(x: np.ndarray, y: np.ndarray) -> np.ndarray:
    """Pearson's r along the last axis; NaN where either side is constant."""
    xc = x - x.mean(-1, keepdims=True)
    yc = y - y.mean(-1, keepdims=True)
    den = np.sqrt((xc**2).sum(-1) * (yc**2).sum(-1))
    with np.errstate(divide="ignore", invalid="ignore"):
        r = (xc * yc).sum(-1) / den
    r = np.where(den > 1e-12 * max(float(np.max(den, initial=0.0)), 1.0), r, np.nan)
    return np.clip(r, -1.0, 1.0)


def spearman_rho(x: Sequence[float] | np.ndarray, y: Sequence[float] | np.ndarray) -> Agreement:
    """Spearman's rho with average ranks for ties; None if fewer than 2 pairs or a side is
    constant."""
    xa, ya = np.asarray(x, dtype=np.float64), np.asarray(y, dtype=np.float64)
    if len(xa) < 2:
        return Agreement(None, NO_PAIRABLE, len(xa))
    r = pearson_rows(average_ranks(xa)[None], average_ranks(ya)[None])[0]
    return Agreement.of(r, len(xa))


def kendall_tau_b(x: Sequence[float] | np.ndarray, y: Sequence[float] | np.ndarray) -> Agreement:
    """Kendall's tau-b (tie-corrected). O(n^2) comparisons, chunked to bound memory."""
    xa, ya = np.asarray(x, dtype=np.float64), np.asarray(y, dtype=np.float64)
    n = len(xa)
    if n < 2:
        return Agreement(None, NO_PAIRABLE, n)
    s = tx = ty = 0.0
    step = max(1, 4_000_000 // n)
    for i in range(0, n, step):  # chunks of rows, not a loop per pair
        dx = np.sign(xa[i : i + step, None] - xa[None, :])
        dy = np.sign(ya[i : i + step, None] - ya[None, :])
        s += float((dx * dy).sum())
        tx += float((dx != 0).sum())
        ty += float((dy != 0).sum())
    # every unordered pair was counted twice; the factor cancels
    den = np.sqrt(tx * ty)
    return Agreement.of(s / den if den > 0 else np.nan, n)


def pairwise_correlations(
    df: pl.DataFrame,
    *,
    method: Literal["spearman", "kendall"] = "spearman",
    unit: str = "unit",
    rater: str = "rater",
    value: str = "value",
) -> pl.DataFrame:
    """Rank correlation for every pair of raters over the units both rated.

    Columns rater_a, rater_b (rater_a < rater_b), n, value (null if undefined), reason.
    """
    fn = spearman_rho if method == "spearman" else kendall_tau_b
    if method not in ("spearman", "kendall"):
        raise ValueError(f"unknown method {method!r}")
    r = _ratings(df, unit, rater, value)
    raters = sorted(r["r"].unique().to_list())
    rows: list[tuple[object, object, int, float | None, str | None]] = []
    by = {k[0]: g.select("u", "v") for k, g in r.group_by("r")}
    for i, ra in enumerate(raters):
        for rb in raters[i + 1 :]:
            both = by[ra].join(by[rb], on="u", suffix="_b")
            res = fn(both["v"].to_numpy(), both["v_b"].to_numpy())
            rows.append((ra, rb, both.height, res.value, res.reason))
    rtype = r.schema["r"]
    return pl.DataFrame(
        rows,
        schema={
            "rater_a": rtype,
            "rater_b": rtype,
            "n": pl.Int64,
            "value": pl.Float64,
            "reason": pl.String,
        },
        orient="row",
    )
