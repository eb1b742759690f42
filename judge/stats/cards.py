"""Judge cards: one record per judge saying how far its verdicts can be trusted.

Each card has validity (the share of the calls made whose reply validated: ok or abstained),
its abstention rate (abstained share of the calls made), its unfound-quote rate (over the verdicts
whose evidence quotes were checked, the mean share of quotes not found in the texts; with
``n_quoted``), mean latency, cost per verdict, agreement with the rest of the panel, length bias
and consistency across repeats. (Its length bias *against gold's own* slope, per rubric, is in the
calibration rows: ``judge.stats.calibration_views``.) Cards go into
summary.json (``judge_cards``) and the HTML report.

- agreement with the panel: per rubric, the judge's item score (mean over its ok repeats) is set
  against the mean of the other judges' item scores; interval Krippendorff alpha over all
  rubric x item units, and the mean absolute difference. Null with a single judge.
- length bias: the slope of normalised severity against response length (per 100 words), with
  rubric fixed effects (score and length centred within each rubric, since rubrics differ in
  base rate), and a 95% CI from a bootstrap that resamples items with all their verdicts.
  Needs the response texts (the dataset); null without them.
- consistency: interval alpha across repeats (units = rubric x item, raters = repeats).
  Null with one repeat.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import polars as pl

from judge.core.taxonomy import REPLIED_STATUSES, VALID_STATUSES, VERDICT_STATUSES
from judge.stats.agreement import krippendorff_alpha
from judge.stats.bootstrap import bootstrap
from judge.stats.cost import total_cost
from judge.stats.diagnostics import quote_rates
from judge.stats.panel import RUBRIC_KEY, judge_item_scores, ok_rows

LENGTH_UNIT_WORDS = 100


def _finite(x: float | None) -> float | None:
    return None if x is None or not np.isfinite(x) else float(x)


def _ref() -> pl.Expr:
    return pl.format("{}@{}", "rubric_id", "rubric_version")


def _unit() -> pl.Expr:
    """One agreement unit per rubric version x item."""
    return pl.format("{}@{}#{}", "rubric_id", "rubric_version", "item_id").alias("unit")


def _panel_agreement(items: pl.DataFrame, judge: str) -> dict[str, Any]:
    keys = [*RUBRIC_KEY, "item_id"]
    mine = items.filter(pl.col("judge") == judge).select(*keys, pl.col("score").alias("self"))
    rest = items.filter(pl.col("judge") != judge).group_by(keys).agg(pl.col("score").sort().mean().alias("rest"))
    # Sorted, so the float sums below add in one order: a join's row order varies from run to run,
    # and summary.json must not (panel_mae differed in its last digit between identical runs).
    pairs = mine.join(rest, on=keys, how="inner").sort(keys)
    if pairs.height == 0:
        return {"panel_alpha": None, "panel_mae": None, "panel_n": 0}
    long = pairs.with_columns(_unit()).unpivot(
        index="unit", on=["self", "rest"], variable_name="rater"
    )
    alpha = krippendorff_alpha(long, level="interval", unit="unit", rater="rater", value="value")
    mae = float((pairs["self"] - pairs["rest"]).abs().mean())  # type: ignore[arg-type]
    return {"panel_alpha": alpha.value, "panel_mae": mae, "panel_n": pairs.height}


def length_slope(rows: pl.DataFrame, *, n_boot: int = 1000, seed: int = 0, ci: float = 0.95) -> dict[str, Any]:
    """Slope of ``score`` on ``length`` within rubrics, with an item-cluster bootstrap CI.

    ``rows``: columns rubric_id, item_id, score, length. Returns slope, ci_low, ci_high, n.
    """
    empty: dict[str, Any] = {"slope": None, "ci_low": None, "ci_high": None, "n": rows.height}
    if rows.height < 3:
        return empty
    centred = rows.with_columns(
        (pl.col("length") - pl.col("length").mean().over("rubric_id")).alias("xc"),
        (pl.col("score") - pl.col("score").mean().over("rubric_id")).alias("yc"),
    )
    per_item = (
        centred.group_by("item_id")
        .agg((pl.col("xc") * pl.col("yc")).sum().alias("sxy"), (pl.col("xc") ** 2).sum().alias("sxx"))
        .sort("item_id")
    )
    sxy, sxx = per_item["sxy"].to_numpy(), per_item["sxx"].to_numpy()

    def slope(w: np.ndarray) -> np.ndarray:
        den = w @ sxx
        with np.errstate(divide="ignore", invalid="ignore"):
            # every resampled response of the same length: no slope to speak of
            return np.where(den > 1e-12, (w @ sxy) / den, np.nan)

    value, lo, hi = bootstrap(slope, len(sxy), n_boot=n_boot, seed=seed, ci=ci).row()
    return {"slope": value, "ci_low": lo, "ci_high": hi, "n": rows.height}


def _retest(ok: pl.DataFrame) -> dict[str, Any]:
    if ok.height == 0 or ok["repeat"].n_unique() < 2:
        return {"retest_alpha": None, "retest_reason": "one repeat"}
    frame = ok.with_columns(_unit())
    result = krippendorff_alpha(frame, level="interval", unit="unit", rater="repeat", value="score")
    return {"retest_alpha": result.value, "retest_reason": result.reason}


def judge_cards(
    verdicts: pl.DataFrame,
    lengths: pl.DataFrame | None = None,
    *,
    n_boot: int = 1000,
    seed: int = 0,
    ci: float = 0.95,
) -> list[dict[str, Any]]:
    """One card per judge, sorted by judge label.

    ``lengths``: optional frame item_id, length (response length in words), from the dataset.
    """
    ok_all = ok_rows(verdicts)
    items = judge_item_scores(verdicts)
    quotes = {r["judge"]: r for r in quote_rates(verdicts, ["judge"]).iter_rows(named=True)}
    cards = []
    for judge in sorted(verdicts["judge"].unique().to_list()):
        rows = verdicts.filter(pl.col("judge") == judge)
        n = rows.height
        counts = {s: int((rows["status"] == s).sum()) for s in VERDICT_STATUSES}
        called = n - counts["skipped"]
        latency = rows["latency_ms"].drop_nulls()
        cost = total_cost(rows)  # None when a billed reply has no price: unknown, not $0
        ok = ok_all.filter(pl.col("judge") == judge)
        card: dict[str, Any] = {
            "judge": judge,
            "n_verdicts": n,
            "counts": counts,
            "validity_rate": sum(counts[s] for s in VALID_STATUSES) / called if called else None,
            "abstention_rate": counts["abstained"] / called if called else None,
            "n_quoted": quotes[judge]["n_quoted"],
            "unfound_quote_rate": _finite(quotes[judge]["unfound_quote_rate"]),
            "mean_latency_ms": _finite(float(latency.mean())) if latency.len() else None,  # type: ignore[arg-type]
            "cost_usd": cost,
            "cost_per_verdict_usd": cost / called if called and cost is not None else None,
            "unpriced": int((rows["cost_usd"].is_null() & rows["status"].is_in(REPLIED_STATUSES)).sum()),
            "n_rubrics": rows.select(RUBRIC_KEY).n_unique(),
            "mean_score": _finite(float(ok["score"].mean())) if ok.height else None,  # type: ignore[arg-type]
        }
        card.update(_panel_agreement(items, judge))
        if lengths is not None and ok.height:
            joined = ok.join(lengths, on="item_id", how="inner").with_columns(
                (pl.col("length") / LENGTH_UNIT_WORDS).alias("length")
            )
            # centred within each rubric version (length_slope's "rubric_id" is the group)
            rows_by_length = joined.select(_ref().alias("rubric_id"), "item_id", "score", "length")
            card["length_bias"] = {
                **length_slope(rows_by_length, n_boot=n_boot, seed=seed, ci=ci),
                "unit": f"severity per {LENGTH_UNIT_WORDS} words",
            }
        else:
            card["length_bias"] = None
        card.update(_retest(ok))
        cards.append(card)
    return cards

