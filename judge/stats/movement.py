"""Which items' verdicts moved between two runs: the work list for rubric iteration.

For each item x rubric x model scored in both runs, the panel severity before and after (the one
item-panel reducer, ``judge.stats.panel``), the shift, and whether the panel's call *flipped*:
the item crossed the failure line (normalised severity 0.5, graded level 2 of 4, a binary label
of 1) in either direction. Items carry every judge's item score and rationale from both runs, so
a researcher can read why the verdict moved; their source and response texts are added by the
caller (``judge.report.compare``), which can read the runs' datasets.
"""

from __future__ import annotations

from typing import Any

import polars as pl

from judge.stats.panel import Aggregate, item_panel, judge_item_scores, ok_rows

FAILURE_LINE = 0.5
KEYS = ["item_id", "rubric_id", "rubric_version", "model"]


def _panel_with_rationales(verdicts: pl.DataFrame, aggregate: Aggregate, quorum: int) -> pl.DataFrame:
    panel = item_panel(verdicts, aggregate=aggregate, quorum=quorum)
    panel = panel.filter(pl.col("panel").is_not_null()).select(*KEYS, "panel")
    rationales = ok_rows(verdicts).group_by([*KEYS, "judge"]).agg(pl.col("rationale").drop_nulls().first())
    judged = (
        judge_item_scores(verdicts)
        .select(*KEYS, "judge", "score")
        .join(rationales, on=[*KEYS, "judge"], how="left")
        .sort([*KEYS, "judge"])
    )
    judges = judged.group_by(KEYS, maintain_order=True).agg(pl.struct("judge", "score", "rationale").alias("judges"))
    return panel.join(judges, on=KEYS, how="left")


def moved_items(
    baseline: pl.DataFrame,
    new: pl.DataFrame,
    *,
    top: int = 20,
    max_flipped: int = 200,
    aggregate: Aggregate = "mean",
    quorum: int = 1,
) -> dict[str, Any]:
    """The ``top`` items with the largest absolute shift, and every item that flipped (capped),
    from two runs' verdict frames. ``source`` and ``response`` are null: the caller adds them."""
    before = _panel_with_rationales(baseline, aggregate, quorum)
    after = _panel_with_rationales(new, aggregate, quorum)
    pairs = before.join(after, on=KEYS, how="inner", suffix="_new").with_columns(
        (pl.col("panel_new") - pl.col("panel")).alias("shift"),
        ((pl.col("panel") >= FAILURE_LINE) != (pl.col("panel_new") >= FAILURE_LINE)).alias("flipped"),
    )
    order = [pl.col("shift").abs(), pl.col("item_id"), pl.col("rubric_id"), pl.col("rubric_version")]
    ranked = pairs.sort(order, descending=[True, False, False, False])

    def rows(frame: pl.DataFrame) -> list[dict[str, Any]]:
        out = []
        for r in frame.to_dicts():
            out.append({
                "item_id": r["item_id"], "rubric_id": r["rubric_id"], "rubric_version": r["rubric_version"],
                "model": r["model"],
                "baseline": r["panel"], "new": r["panel_new"], "shift": r["shift"], "flipped": r["flipped"],
                "baseline_judges": r["judges"], "new_judges": r["judges_new"], "source": None, "response": None,
            })  # fmt: skip
        return out

    return {
        "n_paired": pairs.height,
        "n_flipped": int(pairs["flipped"].sum()),
        "failure_line": FAILURE_LINE,
        "moved": rows(ranked.head(top)),
        "flipped": rows(ranked.filter(pl.col("flipped")).head(max_flipped)),
    }


def moved_ids(movement: dict[str, Any]) -> set[str]:
    """The items a movement result lists (whose texts the caller looks up)."""
    return {m["item_id"] for m in (*movement["moved"], *movement["flipped"])}
