"""Statistics over verdict rows (docs/CONTRACTS.md): panel scores, agreement per rubric,
calibration against gold labels, judge diagnostics and disagreement triage.

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

from collections.abc import Callable
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
from judge.stats.bootstrap import bootstrap, bootstrap_many
from judge.stats.panel import (
    AMPLIFIED_AT,
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
    amplified_at: int = AMPLIFIED_AT,
) -> pl.DataFrame:
    """Mean normalised severity per rubric x dimension x model, with item-bootstrap CIs, and
    beside it the opposite error: the amplification rate and mean amplification.

    Rubric (not only mechanism) is part of the key because graded and paper rubrics of one
    mechanism measure on different scales. Columns: rubric_id, rubric_version, family, mechanism, dimension,
    model, n_items, n_scored, n_below_quorum, mean, ci_low, ci_high, then n_amplification (items
    with a panel amplification), amplification_rate (the share of those whose panel amplification
    level is at least ``amplified_at`` on 0-4), amplification_mean (normalised 0-1), each with
    ``_ci_low``/``_ci_high``; null (and n_amplification 0) for rubrics without an amplification
    scale. Each cell resamples its own scored items (one stratum per cell, all cells in one
    bootstrap per statistic).
    """
    panel = item_panel(verdicts, aggregate=aggregate, quorum=quorum)
    counts = panel.group_by(GROUP, maintain_order=True).agg(
        pl.len().cast(pl.Int64).alias("n_items"),
        (~pl.col("below_quorum")).sum().cast(pl.Int64).alias("n_scored"),
        pl.col("below_quorum").sum().cast(pl.Int64).alias("n_below_quorum"),
        pl.col("panel_amplification").is_not_null().sum().cast(pl.Int64).alias("n_amplification"),
    )
    level = (4 * pl.col("panel_amplification") + 0.5).floor()  # severity_level's rounding, halves up
    severity, amplification = _cell_means(
        [
            (panel.filter(~pl.col("below_quorum")), {"": pl.col("panel")}),
            (
                panel.filter(pl.col("panel_amplification").is_not_null()),
                {
                    "amplification_rate": (level >= amplified_at).cast(pl.Float64),
                    "amplification_mean": pl.col("panel_amplification"),
                },
            ),
        ],
        n_boot=n_boot,
        seed=seed,
        ci=ci,
    )
    return (
        counts.join(severity, on=GROUP, how="left", nulls_equal=True)
        .join(amplification, on=GROUP, how="left", nulls_equal=True)
        .select(
            *GROUP, "n_items", "n_scored", "n_below_quorum", "mean", "ci_low", "ci_high", "n_amplification",
            *[f"amplification_{s}{e}" for s in ("rate", "mean") for e in ("", "_ci_low", "_ci_high")],
        )
        .sort(GROUP)
    )  # fmt: skip


def _cell_means(
    tables: list[tuple[pl.DataFrame, dict[str, pl.Expr]]], *, n_boot: int, seed: int, ci: float
) -> list[pl.DataFrame]:
    """For each (frame, values) of ``tables``: per GROUP cell of the frame (one row per item), the
    mean of each value with a percentile CI over the cell's items: columns ``<name>``,
    ``<name>_ci_low``, ``<name>_ci_high`` (the name "" gives ``mean``, ``ci_low``, ``ci_high``).

    Each value is its own stratified bootstrap (one stratum per cell). Its resamples depend only
    on the cells' sizes and the seed, so values whose cells have the same sizes (within a frame
    always; across frames when no item is below quorum or lacks an amplification) share one draw
    (``bootstrap_many``): the numbers are those of one bootstrap per value."""
    cells_out: list[pl.DataFrame] = []
    draws: list[tuple[np.ndarray, list[tuple[int, str, np.ndarray]]]] = []  # sizes, (table, name, x)
    for t, (scored, values) in enumerate(tables):
        frame = scored.sort(GROUP, maintain_order=True)
        frame = frame.with_columns(v.alias(f"_v{k}") for k, v in enumerate(values.values()))
        cells = frame.group_by(GROUP, maintain_order=True).agg(pl.len().alias("n"))
        sizes = cells["n"].to_numpy().astype(np.int64)
        cells_out.append(cells.drop("n"))
        xs = [(t, name, frame[f"_v{k}"].cast(pl.Float64).to_numpy()) for k, name in enumerate(values)]
        for known, members in draws:
            if np.array_equal(known, sizes):
                members.extend(xs)
                break
        else:
            draws.append((sizes, xs))
    for sizes, members in draws:
        starts = np.cumsum(sizes) - sizes

        def means(x: np.ndarray, starts: np.ndarray = starts, sizes: np.ndarray = sizes) -> Callable[..., np.ndarray]:
            return lambda idx: np.add.reduceat(x[idx], starts, axis=1) / sizes

        n = int(sizes.sum())
        found = bootstrap_many([means(x) for _, _, x in members], n, n_boot=n_boot, seed=seed, ci=ci,
                               form="indices", strata=sizes)  # fmt: skip
        for (t, name, _), est in zip(members, found, strict=True):
            low, high = (f"{name}_ci_low", f"{name}_ci_high") if name else ("ci_low", "ci_high")
            cells_out[t] = cells_out[t].with_columns(
                pl.Series(col, values_, dtype=pl.Float64).fill_nan(None)
                for col, values_ in ((name or "mean", est.value), (low, est.low), (high, est.high))
            )
    return cells_out


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
