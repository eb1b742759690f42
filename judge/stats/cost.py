"""What a run cost: summary.json's ``cost``, spend and tokens per judge, rubric and both.

Every billed reply is in these sums: a verdict row's cost already adds its invalid replies and
re-asks (``judge.judging`` prices each reply as it lands; this module only adds them up).
"""

from __future__ import annotations

from typing import Any

import polars as pl

from judge.core.taxonomy import REPLIED_STATUSES


def cost_breakdown(verdicts: pl.DataFrame) -> dict[str, Any]:
    """Total spend and tokens, and the same per judge, per rubric version and per judge x rubric version, each
    with the number of verdicts and of replies that were billed but not priced."""
    aggs = [
        pl.col("cost_usd").sum().alias("cost_usd"),
        pl.col("prompt_tokens").sum().alias("prompt_tokens"),
        pl.col("completion_tokens").sum().alias("completion_tokens"),
        pl.len().alias("verdicts"),
        # Replies billed but not priced (skipped and failed rows have nothing to price).
        (pl.col("cost_usd").is_null() & pl.col("status").is_in(REPLIED_STATUSES)).sum().alias("unpriced"),
    ]

    def by(keys: list[str]) -> list[dict[str, Any]]:
        if verdicts.height == 0:
            return []
        return verdicts.group_by(keys).agg(aggs).sort(keys).to_dicts()

    total = verdicts.select(aggs).to_dicts()[0] if verdicts.height else {}
    return {
        "total_usd": float(total.get("cost_usd") or 0.0),
        "prompt_tokens": int(total.get("prompt_tokens") or 0),
        "completion_tokens": int(total.get("completion_tokens") or 0),
        "by_judge": by(["judge"]),
        "by_rubric": by(["rubric_id", "rubric_version"]),
        "by_judge_rubric": by(["judge", "rubric_id", "rubric_version"]),
    }
