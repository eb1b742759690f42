"""Statistics over verdict rows (docs/CONTRACTS.md): panel scores, agreement per rubric,
calibration against human gold labels, judge diagnostics and disagreement triage.

Conventions shared by every function here:

- Only ``status == "ok"`` rows carry scores. Other rows are never dropped silently: they count
  toward each item's quorum (an item whose valid judges fall below it is reported in
  ``n_below_quorum``) and toward each judge's ``invalid_rate``.
- A judge's score for an item is the mean of its ok repeats; the panel score of an item is the
  mean or median of those over judges.
- Confidence intervals are percentile bootstraps that resample *items* (clusters), so several
  judges and repeats of one item never count as independent evidence. They are seeded and
  vectorised (``judge.stats.bootstrap``). An interval is null when fewer than two items support it.
- Missing values are null, never NaN. Frames are sorted on their key columns.
"""

from __future__ import annotations

import math
from typing import Literal

import numpy as np
import polars as pl

from judge.stats.agreement import (
    Level,
    alpha_data,
    fleiss_kappa,
    gwet_ac1,
    percent_agreement,
)
from judge.stats.bootstrap import bootstrap, chunk_sizes, grouped_indices, percentile_ci

Aggregate = Literal["mean", "median"]

GROUP = ["rubric_id", "family", "mechanism", "dimension", "model"]
RUBRIC = ["rubric_id", "family", "mechanism"]
NEEDED = [*GROUP, "item_id", "judge", "repeat", "status", "score"]


def check_verdict_columns(verdicts: pl.DataFrame) -> None:
    """Raise ValueError naming the columns a verdict frame lacks."""
    missing = [c for c in NEEDED if c not in verdicts.columns]
    if missing:
        raise ValueError(f"verdict frame lacks column(s) {missing}")


def _nan_to_null(x: float | None) -> float | None:
    return None if x is None or not math.isfinite(x) else float(x)


def judge_item_scores(verdicts: pl.DataFrame) -> pl.DataFrame:
    """One row per rubric x item x judge: ``score`` = mean over ok repeats, ``n_repeats``."""
    check_verdict_columns(verdicts)
    return (
        verdicts.filter((pl.col("status") == "ok") & pl.col("score").is_not_null())
        .group_by([*GROUP, "item_id", "judge"])
        .agg(pl.col("score").mean(), pl.len().alias("n_repeats"))
        .sort([*GROUP, "item_id", "judge"])
    )


def item_panel(
    verdicts: pl.DataFrame, *, aggregate: Aggregate = "mean", quorum: int = 1
) -> pl.DataFrame:
    """One row per rubric x item (every item seen, whatever its status): ``n_valid_judges``,
    ``below_quorum`` and ``panel`` (null when below quorum)."""
    if aggregate not in ("mean", "median"):
        raise ValueError(f"aggregate must be 'mean' or 'median', got {aggregate!r}")
    if quorum < 1:
        raise ValueError(f"quorum must be at least 1, got {quorum}")
    per_judge = judge_item_scores(verdicts)
    agg = pl.col("score").mean() if aggregate == "mean" else pl.col("score").median()
    panel = per_judge.group_by(["rubric_id", "item_id"]).agg(
        pl.len().alias("n_valid_judges"), agg.alias("panel")
    )
    items = verdicts.select([*GROUP, "item_id"]).unique()
    out = items.join(panel, on=["rubric_id", "item_id"], how="left").with_columns(
        pl.col("n_valid_judges").fill_null(0).cast(pl.Int64)
    )
    below = pl.col("n_valid_judges") < quorum
    return out.with_columns(
        below.alias("below_quorum"), pl.when(below).then(None).otherwise("panel").alias("panel")
    ).sort([*GROUP, "item_id"])


def panel_scores(
    verdicts: pl.DataFrame,
    *,
    aggregate: Aggregate = "mean",
    quorum: int = 1,
    n_boot: int = 1000,
    seed: int = 0,
    ci: float = 0.95,
) -> pl.DataFrame:
    """Mean normalised severity per rubric x dimension x model, with item-bootstrap CIs.

    Rubric (not only mechanism) is part of the key because graded and paper rubrics of one
    mechanism measure on different scales. Columns: rubric_id, family, mechanism, dimension,
    model, n_items, n_scored, n_below_quorum, mean, ci_low, ci_high.
    """
    panel = item_panel(verdicts, aggregate=aggregate, quorum=quorum)
    counts = panel.group_by(GROUP, maintain_order=True).agg(
        pl.len().cast(pl.Int64).alias("n_items"),
        (~pl.col("below_quorum")).sum().cast(pl.Int64).alias("n_scored"),
        pl.col("below_quorum").sum().cast(pl.Int64).alias("n_below_quorum"),
    )
    scored = panel.filter(~pl.col("below_quorum"))
    sizes_frame = scored.group_by(GROUP, maintain_order=True).agg(
        pl.len().alias("n"), pl.col("panel").mean().alias("mean")
    )
    sizes = sizes_frame["n"].to_numpy().astype(np.int64)
    lo = hi = np.full(len(sizes), np.nan)
    if len(sizes) and n_boot > 0:
        values = scored["panel"].to_numpy()
        starts = np.cumsum(sizes) - sizes
        rng = np.random.default_rng(seed)
        means = []
        for b in chunk_sizes(n_boot, len(values)):
            sample = values[grouped_indices(rng, b, sizes)]
            means.append(np.add.reduceat(sample, starts, axis=1) / sizes)
        lo, hi = percentile_ci(np.concatenate(means), ci)
        lo = np.where(sizes >= 2, lo, np.nan)
        hi = np.where(sizes >= 2, hi, np.nan)
    stats = sizes_frame.drop("n").with_columns(
        pl.Series("ci_low", lo).fill_nan(None), pl.Series("ci_high", hi).fill_nan(None)
    )
    return (
        counts.join(stats, on=GROUP, how="left", nulls_equal=True)
        .with_columns(pl.col("mean", "ci_low", "ci_high").cast(pl.Float64))
        .sort(GROUP)
    )


def _alpha_units(ok: pl.DataFrame) -> pl.DataFrame:
    """Units = item x repeat (integer codes) with the item code kept as the cluster."""
    width = int(ok["repeat"].max() or 0) + 1  # type: ignore[arg-type]
    return ok.with_columns(
        (pl.col("item_id").rank("dense").cast(pl.Int64) - 1).alias("cluster")
    ).with_columns((pl.col("cluster") * width + pl.col("repeat")).alias("unit"))


def rubric_agreement(
    verdicts: pl.DataFrame,
    *,
    level: Level | None = None,
    n_boot: int = 1000,
    seed: int = 0,
    ci: float = 0.95,
) -> pl.DataFrame:
    """Inter-judge agreement per rubric over ok verdicts, alpha with an item-bootstrap CI.

    Unit = item x repeat (repeat r of every judge is one panel pass), raters = judges, value =
    score; the bootstrap resamples items, carrying all their repeats. ``level`` defaults to
    ordinal for graded rubrics and interval for paper ones. Percent agreement, Fleiss' kappa and
    Gwet's AC1 are computed on the 0-4 severity bucket round(4 * score).
    """
    check_verdict_columns(verdicts)
    ok = verdicts.filter((pl.col("status") == "ok") & pl.col("score").is_not_null())
    rows = []
    for key, frame in ok.group_by(RUBRIC):
        lv: Level = level or ("ordinal" if key[1] == "graded" else "interval")
        units = _alpha_units(frame)
        data = alpha_data(units, level=lv, unit="unit", rater="judge", value="score")
        alpha = lo = hi = None
        reason = None
        if data.n_units == 0:
            reason = "no pairable units"
        else:
            alpha = _nan_to_null(float(data.alpha(np.ones((1, data.n_units)))[0]))
            reason = None if alpha is not None else "no variation"
            width = int(units["repeat"].max()) + 1  # type: ignore[arg-type]
            _, clusters = np.unique(data.units // width, return_inverse=True)
            if alpha is not None and n_boot > 0 and clusters.max() >= 1:
                got = bootstrap(
                    data.alpha, data.n_units, n_boot=n_boot, seed=seed, ci=ci,
                    weights=True, clusters=clusters,
                )  # fmt: skip
                lo, hi = got if got else (None, None)
        bucket = units.with_columns((pl.col("score") * 4).round().cast(pl.Int64).alias("sev"))
        kw = {"unit": "unit", "rater": "judge", "value": "sev"}
        rows.append(
            {
                "rubric_id": key[0],
                "family": key[1],
                "mechanism": key[2],
                "level": lv,
                "n_items": units["cluster"].n_unique(),
                "n_units": data.n_units,
                "n_judges": units["judge"].n_unique(),
                "alpha": alpha,
                "ci_low": _nan_to_null(lo) if lo is not None else None,
                "ci_high": _nan_to_null(hi) if hi is not None else None,
                "reason": reason,
                "percent_agreement": percent_agreement(bucket, **kw).value,
                "fleiss_kappa": fleiss_kappa(bucket, labels=range(5), **kw).value,
                "gwet_ac1": gwet_ac1(bucket, labels=range(5), **kw).value,
            }
        )
    return pl.DataFrame(rows, schema=_AGREEMENT_SCHEMA).sort("rubric_id")


_AGREEMENT_SCHEMA = {
    "rubric_id": pl.String,
    "family": pl.String,
    "mechanism": pl.String,
    "level": pl.String,
    "n_items": pl.Int64,
    "n_units": pl.Int64,
    "n_judges": pl.Int64,
    "alpha": pl.Float64,
    "ci_low": pl.Float64,
    "ci_high": pl.Float64,
    "reason": pl.String,
    "percent_agreement": pl.Float64,
    "fleiss_kappa": pl.Float64,
    "gwet_ac1": pl.Float64,
}
