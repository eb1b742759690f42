"""summary.json: the run's verdicts aggregated late, in polars.

Stable top-level keys (CI jobs read them; see README "summary.json"):
    format_version, run_id, status, counts, cost_usd, cost, scores, scores_by_model, agreement
"""

from __future__ import annotations

from typing import Any

import polars as pl

from judge.cost import cost_breakdown
from judge.store import FORMAT_VERSION

STATUSES = ("ok", "invalid", "error", "skipped")


def _records(frame: pl.DataFrame) -> list[dict[str, Any]]:
    return frame.to_dicts()


def panel_items(verdicts: pl.DataFrame) -> pl.DataFrame:
    """One row per item x rubric: the mean normalised severity over valid judges and repeats."""
    return (
        verdicts.filter(pl.col("status") == "ok")
        .group_by("item_id", "rubric_id", "family", "mechanism", "dimension", "model")
        .agg(pl.col("score").mean().alias("score"), pl.col("judge").n_unique().alias("n_judges"))
    )


def mean_scores(verdicts: pl.DataFrame, by: list[str]) -> pl.DataFrame:
    items = panel_items(verdicts)
    return items.group_by(by).agg(pl.len().alias("n_items"), pl.col("score").mean().alias("mean")).sort(by)


def agreement(verdicts: pl.DataFrame) -> dict[str, Any]:
    """Krippendorff's alpha (interval, on normalised severity) per rubric across judges.

    A unit is one item x repeat, so repeats are not mistaken for different raters.
    """
    from judge.agreement import krippendorff_alpha

    out: dict[str, Any] = {}
    ok = verdicts.filter(pl.col("status") == "ok").with_columns(pl.format("{}#{}", "item_id", "repeat").alias("unit"))
    for rubric_id in sorted(verdicts["rubric_id"].unique().to_list()):
        rows = ok.filter(pl.col("rubric_id") == rubric_id)
        result = krippendorff_alpha(rows, level="interval", unit="unit", rater="judge", value="score")
        out[rubric_id] = {
            "krippendorff_alpha": result.value,
            "reason": result.reason,
            "n_units": result.n_units,
            "n_judges": rows["judge"].n_unique(),
        }
    return out


def summarise(verdicts: pl.DataFrame, manifest: dict[str, Any]) -> dict[str, Any]:
    counts = {status: 0 for status in STATUSES}
    for status, n in verdicts.group_by("status").len().iter_rows():
        counts[status] = n
    counts["total"] = verdicts.height
    cost = verdicts["cost_usd"].sum() if verdicts.height else 0.0
    return {
        "format_version": FORMAT_VERSION,
        "run_id": manifest.get("run_id"),
        "status": manifest.get("status"),
        "counts": counts,
        "cost_usd": float(cost or 0.0),
        "cost": cost_breakdown(verdicts),
        "scores": _records(mean_scores(verdicts, ["rubric_id", "family", "mechanism", "dimension"])),
        "scores_by_model": _records(mean_scores(verdicts, ["model", "rubric_id", "family", "mechanism", "dimension"])),
        "agreement": agreement(verdicts),
    }
