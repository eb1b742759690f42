"""What a run cost: summary.json's ``cost``, spend and tokens per judge, rubric and both.

Every billed reply is in these sums: a verdict row's cost already adds its invalid replies and
re-asks (``judge.judging`` prices each reply as it lands, cached prompt tokens at the provider's
cache rates and batch replies at the batch rates; this module only adds them up).

Unknown is not free: a reply that was billed but has no price (a judge no price map knows) makes
every sum it belongs to null, never $0, and ``unpriced`` counts such replies. Tokens are reported
apart for replies served from the response cache (``cached_*``: nothing was billed for them) and
for the others (billed).

``cache_read_tokens`` / ``cache_write_tokens`` are the billed replies' prompt tokens the provider
read from or wrote to its own prompt cache (null when no such reply's provider reported any; not to
be confused with ``cached_*``, our response cache); ``batched`` counts verdicts answered through a
provider batch (billed ones).
"""

from __future__ import annotations

from typing import Any

import polars as pl

from judge.core.taxonomy import REPLIED_STATUSES

# REPLIED_STATUSES carry a reply (a billed one, unless cached); skipped and failed rows have none.


def _aggregates() -> list[pl.Expr]:
    unpriced = (pl.col("cost_usd").is_null() & pl.col("status").is_in(REPLIED_STATUSES)).sum()
    billed = ~pl.col("cached")
    return [
        pl.when(unpriced == 0).then(pl.col("cost_usd").sum()).otherwise(None).alias("cost_usd"),
        pl.col("prompt_tokens").filter(billed).sum().alias("prompt_tokens"),
        pl.col("completion_tokens").filter(billed).sum().alias("completion_tokens"),
        pl.col("prompt_tokens").filter(~billed).sum().alias("cached_prompt_tokens"),
        pl.col("completion_tokens").filter(~billed).sum().alias("cached_completion_tokens"),
        _reported_sum("cache_read_tokens", billed),
        _reported_sum("cache_write_tokens", billed),
        (pl.col("batch_id").is_not_null() & billed).sum().alias("batched"),
        pl.len().alias("verdicts"),
        unpriced.alias("unpriced"),
    ]


def total_cost(verdicts: pl.DataFrame) -> float | None:
    """The run's spend in USD; None (unknown) when a billed reply has no price."""
    if verdicts.height == 0:
        return 0.0
    value = verdicts.select(_aggregates()[0]).item()
    return None if value is None else float(value)


def cost_breakdown(verdicts: pl.DataFrame) -> dict[str, Any]:
    """Total spend and tokens, and the same per judge, per rubric version and per judge x rubric version, each
    with the number of verdicts and of replies that were billed but not priced."""
    aggs = _aggregates()

    def by(keys: list[str]) -> list[dict[str, Any]]:
        if verdicts.height == 0:
            return []
        return verdicts.group_by(keys).agg(aggs).sort(keys).to_dicts()

    total = verdicts.select(aggs).to_dicts()[0] if verdicts.height else {}
    cost = total.get("cost_usd", 0.0)
    return {
        "total_usd": None if cost is None else float(cost),
        "unpriced": int(total.get("unpriced") or 0),
        "prompt_tokens": int(total.get("prompt_tokens") or 0),
        "completion_tokens": int(total.get("completion_tokens") or 0),
        "cached_prompt_tokens": int(total.get("cached_prompt_tokens") or 0),
        "cached_completion_tokens": int(total.get("cached_completion_tokens") or 0),
        "cache_read_tokens": total.get("cache_read_tokens"),
        "cache_write_tokens": total.get("cache_write_tokens"),
        "batched": int(total.get("batched") or 0),
        "by_judge": by(["judge"]),
        "by_rubric": by(["rubric_id", "rubric_version"]),
        "by_judge_rubric": by(["judge", "rubric_id", "rubric_version"]),
    }


def _reported_sum(column: str, rows: pl.Expr) -> pl.Expr:
    """The column's sum over ``rows``, or null when none of them reported it (polars would say 0)."""
    col = pl.col(column).filter(rows)
    return pl.when(col.is_not_null().any()).then(col.sum()).otherwise(None).alias(column)
