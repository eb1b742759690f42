"""Statistics over verdict rows (docs/CONTRACTS.md): panel scores, agreement per rubric,
calibration against human gold labels, judge diagnostics and disagreement triage.

Conventions shared by every function here:

- Only ``status == "ok"`` rows carry scores. Other rows are never dropped silently: they count
  toward each item's quorum (an item whose valid judges fall below it is reported in
  ``n_below_quorum``) and toward each judge's ``invalid_rate``.
- A judge's score for an item is the mean of its ok repeats; the panel score of an item is the
  mean or median of those over judges (``judge.stats.panel``, the one reducer).
- Confidence intervals are percentile bootstraps that resample *items* (clusters), so several
  judges and repeats of one item never count as independent evidence. They are seeded and
  vectorised (``judge.stats.bootstrap``, the one bootstrap). An interval is null when fewer than two items support it.
- Missing values are null, never NaN. Frames are sorted on their key columns.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import polars as pl

from judge.stats.agreement import (
    Level,
    alpha_data,
    fleiss_kappa,
    gwet_ac1,
    percent_agreement,
)
from judge.stats.bootstrap import bootstrap
from judge.stats.panel import (
    GROUP,
    RUBRIC_KEY,
    Aggregate,
    check_verdict_columns,
    item_panel,
    ok_rows,
    severity_level,
)

RUBRIC = [*RUBRIC_KEY, "family", "mechanism"]


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
    mechanism measure on different scales. Columns: rubric_id, rubric_version, family, mechanism, dimension,
    model, n_items, n_scored, n_below_quorum, mean, ci_low, ci_high. Each cell resamples its
    own scored items (one stratum per cell, all cells in one bootstrap).
    """
    panel = item_panel(verdicts, aggregate=aggregate, quorum=quorum)
    counts = panel.group_by(GROUP, maintain_order=True).agg(
        pl.len().cast(pl.Int64).alias("n_items"),
        (~pl.col("below_quorum")).sum().cast(pl.Int64).alias("n_scored"),
        pl.col("below_quorum").sum().cast(pl.Int64).alias("n_below_quorum"),
    )
    scored = panel.filter(~pl.col("below_quorum"))
    cells = scored.group_by(GROUP, maintain_order=True).agg(pl.len().alias("n"))
    sizes = cells["n"].to_numpy().astype(np.int64)
    values = scored["panel"].to_numpy()
    starts = np.cumsum(sizes) - sizes

    def means(idx: np.ndarray) -> np.ndarray:
        return np.add.reduceat(values[idx], starts, axis=1) / sizes

    est = bootstrap(means, len(values), n_boot=n_boot, seed=seed, ci=ci, form="indices", strata=sizes)
    stats = cells.drop("n").with_columns(
        pl.Series(name, x, dtype=pl.Float64).fill_nan(None)
        for name, x in (("mean", est.value), ("ci_low", est.low), ("ci_high", est.high))
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
    Gwet's AC1 are computed on the 0-4 level of 4 * score (halves up, ``judge.stats.panel.severity_level``).
    """
    check_verdict_columns(verdicts)
    ok = ok_rows(verdicts)
    rows = []
    for key, frame in ok.group_by(RUBRIC):
        rid, version, family, mechanism = key
        lv: Level = level or ("ordinal" if family == "graded" else "interval")
        units = _alpha_units(frame)
        data = alpha_data(units, level=lv, unit="unit", rater="judge", value="score")
        alpha = lo = hi = None
        reason: str | None = "no pairable units"
        if data.n_units:
            width = int(units["repeat"].max()) + 1  # type: ignore[arg-type]
            _, clusters = np.unique(data.units // width, return_inverse=True)
            alpha, lo, hi = bootstrap(
                data.alpha, data.n_units, n_boot=n_boot, seed=seed, ci=ci, clusters=clusters
            ).row()
            reason = None if alpha is not None else "no variation"
        bucket = units.with_columns(severity_level(pl.col("score") * 4).alias("sev"))
        kw = {"unit": "unit", "rater": "judge", "value": "sev"}
        rows.append(
            {
                "rubric_id": rid,
                "rubric_version": version,
                "family": family,
                "mechanism": mechanism,
                "level": lv,
                "n_items": units["cluster"].n_unique(),
                "n_units": data.n_units,
                "n_judges": units["judge"].n_unique(),
                "alpha": alpha,
                "ci_low": lo,
                "ci_high": hi,
                "reason": reason,
                "percent_agreement": percent_agreement(bucket, **kw).value,
                "fleiss_kappa": fleiss_kappa(bucket, labels=range(5), **kw).value,
                "gwet_ac1": gwet_ac1(bucket, labels=range(5), **kw).value,
            }
        )
    return pl.DataFrame(rows, schema=_AGREEMENT_SCHEMA).sort(RUBRIC_KEY)


_AGREEMENT_SCHEMA = {
    "rubric_id": pl.String,
    "rubric_version": pl.Int64,
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


def score_distributions(verdicts: pl.DataFrame, *, bins: int = 10) -> dict[str, Any]:
    """Each judge's ok scores per rubric version, counted in ``bins`` equal bins over [0, 1] (scores
    clipped to it; every bin half-open but the last): ``edges`` and one row per rubric x judge
    with ``n`` and ``counts``."""
    edges = np.linspace(0.0, 1.0, bins + 1)
    rows = []
    ok = ok_rows(verdicts).sort(*RUBRIC_KEY, "judge")
    for (rubric_id, version, judge), frame in ok.group_by(*RUBRIC_KEY, "judge", maintain_order=True):
        counts, _ = np.histogram(np.clip(frame["score"].to_numpy(), 0.0, 1.0), bins=edges)
        rows.append({"rubric_id": rubric_id, "rubric_version": version, "judge": judge, "n": frame.height,
                     "counts": counts.tolist()})
    return {"edges": edges.tolist(), "rows": rows}
