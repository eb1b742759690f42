"""The one item-panel reducer: how verdict rows become a judge's item score and the panel's.

Every statistic that needs an item's score goes through here (scores, calibration, diagnostics,
judge cards, disagreement, paper metrics, compare, movement), so they all agree on it:

1. only ``status == "ok"`` rows with a value count (an ok row of a rubric without an amplification
   scale has a score and a null ``amplification``: it counts for the one, not the other);
2. a judge's value for an item is the **mean over its ok repeats** (:func:`over_repeats`);
3. the panel's value is the **mean or median over judges** of those (``aggregate``), and is null
   for an item whose valid judges fall below ``quorum`` (:func:`over_judges`); such items are
   kept and flagged, never dropped silently.

:func:`judge_item_scores` and :func:`item_panel` apply this to the ``score`` column of a verdict
frame, and to its ``amplification`` column (graded v3's opposite error, 0-1) when it has one;
paper metrics apply the same two steps to the raw verdict fields. :func:`severity_level` is the
one rounding of a 0-4 severity to its level (for kappa and the agreement coefficients).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Literal

import numpy as np
import polars as pl

from judge.core.taxonomy import NOT_APPLICABLE

Aggregate = Literal["mean", "median"]

# An item counts as amplified when its panel amplification, as a 0-4 level (the one rounding,
# halves up, :func:`severity_level`), is at least this: "moderate" on every graded v3
# amplification scale. The summary's ``amplified_at`` setting overrides it.
AMPLIFIED_AT = 2

# A rubric is its id and version: two versions of one rubric in a run are two rubrics everywhere.
RUBRIC_KEY = ["rubric_id", "rubric_version"]
GROUP = [*RUBRIC_KEY, "family", "mechanism", "dimension", "model"]
ITEM = [*GROUP, "item_id"]
NEEDED = [*ITEM, "judge", "repeat", "status", "score"]


def check_verdict_columns(verdicts: pl.DataFrame) -> None:
    """Raise ValueError naming the columns a verdict frame lacks."""
    missing = [c for c in NEEDED if c not in verdicts.columns]
    if missing:
        raise ValueError(f"verdict frame lacks column(s) {missing}")


def check_panel_rules(aggregate: str, quorum: int) -> None:
    if aggregate not in ("mean", "median"):
        raise ValueError(f"aggregate must be 'mean' or 'median', got {aggregate!r}")
    if quorum < 1:
        raise ValueError(f"quorum must be at least 1, got {quorum}")


def not_applicable(verdicts: pl.DataFrame) -> pl.Expr:
    """The rows of ``verdicts`` of a rubric that does not apply to the item: ``skipped``, with the
    reason that says so. They are not failures: no call was or will be made for them. (None is,
    in a frame without an ``error`` column.)"""
    if "error" not in verdicts.columns:
        return pl.lit(False)
    return (pl.col("status") == "skipped") & pl.col("error").fill_null("").str.starts_with(NOT_APPLICABLE)


def ok_rows(verdicts: pl.DataFrame, value: str = "score") -> pl.DataFrame:
    """The rows that carry a value: status ok and the value present."""
    return verdicts.filter((pl.col("status") == "ok") & pl.col(value).is_not_null())


def over_repeats(rows: pl.DataFrame, keys: Sequence[str], values: Sequence[str]) -> pl.DataFrame:
    """One row per ``keys`` (which include the judge): each value's mean over the rows (a judge's
    ok repeats of an item), and ``n_repeats``. Sorted by ``keys``."""
    return (
        rows.group_by(list(keys))
        .agg(pl.col(list(values)).mean(), pl.len().cast(pl.Int64).alias("n_repeats"))
        .sort(list(keys))
    )


def over_judges(
    per_judge: pl.DataFrame,
    keys: Sequence[str],
    values: Sequence[str],
    *,
    aggregate: Aggregate = "mean",
    quorum: int = 1,
) -> pl.DataFrame:
    """One row per ``keys`` (an item, without the judge): each value's mean or median over the
    judges' item values, ``n_valid_judges`` and ``below_quorum`` (values null when below)."""
    check_panel_rules(aggregate, quorum)
    cols = pl.col(list(values))
    out = per_judge.group_by(list(keys)).agg(
        pl.len().cast(pl.Int64).alias("n_valid_judges"), cols.mean() if aggregate == "mean" else cols.median()
    )
    below = pl.col("n_valid_judges") < quorum
    return out.with_columns(
        below.alias("below_quorum"), *[pl.when(below).then(None).otherwise(pl.col(v)).alias(v) for v in values]
    ).sort(list(keys))


def reduced_values(verdicts: pl.DataFrame) -> list[str]:
    """The verdict values the reducer carries: ``score``, and ``amplification`` when the frame has
    that column (frames read with fewer columns, and older tables, lack it)."""
    return ["score", *(["amplification"] if "amplification" in verdicts.columns else [])]


def judge_item_scores(verdicts: pl.DataFrame) -> pl.DataFrame:
    """One row per rubric x item x judge: ``score`` = mean over ok repeats, ``n_repeats``; and
    ``amplification`` = mean over the ok repeats that have one (null for rubrics without an
    amplification scale) when the frame has that column."""
    check_verdict_columns(verdicts)
    return over_repeats(ok_rows(verdicts), [*ITEM, "judge"], reduced_values(verdicts))


def item_panel(verdicts: pl.DataFrame, *, aggregate: Aggregate = "mean", quorum: int = 1) -> pl.DataFrame:
    """One row per rubric x item (every item seen, whatever its status): ``n_valid_judges``,
    ``below_quorum``, ``panel`` (null when below quorum) and ``panel_amplification`` (the same
    reduction of the judges' amplification; null when below quorum, for rubrics without an
    amplification scale, and for frames without that column). Sorted by rubric group and item."""
    check_panel_rules(aggregate, quorum)
    values = reduced_values(verdicts)
    scored = over_judges(judge_item_scores(verdicts), ITEM, values, aggregate=aggregate, quorum=quorum)
    items = verdicts.select(ITEM).unique()
    out = items.join(scored.drop("below_quorum"), on=ITEM, how="left", nulls_equal=True).with_columns(
        pl.col("n_valid_judges").fill_null(0)
    )
    return out.select(
        *ITEM,
        "n_valid_judges",
        (pl.col("n_valid_judges") < quorum).alias("below_quorum"),
        pl.col("score").alias("panel"),
        (pl.col("amplification") if "amplification" in values else pl.lit(None, pl.Float64)).alias(
            "panel_amplification"
        ),
    ).sort(ITEM)


def severity_level(severity: pl.Expr) -> pl.Expr:
    """The 0-4 level of a severity on the 0-4 scale, halves rounded up (2.5 -> 3), like
    :func:`severity_levels`; polars' own ``round`` sends halves to even (2.5 -> 2)."""
    return (severity + 0.5).floor().clip(0, 4).cast(pl.Int64)


def severity_levels(severity: np.ndarray) -> np.ndarray:
    """:func:`severity_level` for a numpy array."""
    return np.clip(np.floor(np.asarray(severity, np.float64) + 0.5), 0, 4).astype(np.int64)
