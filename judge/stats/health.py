"""Judge health: did each judge of a run deliver verdicts, or only errors?

A run whose judge produced no valid reply at all (no ok verdict and no abstention), or errors on
more than ``max_error_share`` of the calls it was asked to make, ends ``degraded`` (exit code 5),
so a CI job cannot go green on a judge that never worked (a wrong model name, a server that
rejects every request, a model that only ever answers invalid JSON). Skipped verdicts (a stopped
judge's remaining work, a spent budget, a rubric that does not apply) are counted but are not
calls. An abstention is a valid reply: a judge that could judge none of the items (an offline
judge on text it cannot read) is healthy, and the abstentions show in its counts. The record is
the manifest's ``health`` (``judge.core.records.RunHealth``); summary.json and the terminal table
repeat it.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import polars as pl

from judge.core.taxonomy import VALID_STATUSES, VERDICT_STATUSES


def judge_health(
    verdicts: pl.DataFrame,
    max_error_share: float,
    formats: Mapping[str, Mapping[str, Any]] | None = None,
) -> dict[str, Any]:
    """``RunHealth`` as plain data, one entry per judge (sorted by label).

    ``formats``: each judge's response-format negotiation as its client reported it
    (``{"mode", "rejected"}``); the verdicts' own ``response_format`` column is used where a
    judge has none (cached replies, earlier invocations of a resumed run).
    """
    formats = formats or {}
    judges = []
    for label in sorted(verdicts["judge"].unique().to_list()) if verdicts.height else []:
        rows = verdicts.filter(pl.col("judge") == label)
        n = {s: rows.filter(pl.col("status") == s).height for s in VERDICT_STATUSES}
        asked = sum(n[s] for s in VERDICT_STATUSES if s != "skipped")
        share = n["error"] / asked if asked else None
        problem = None
        if sum(n[s] for s in VALID_STATUSES) == 0:
            problem = f"no ok verdicts ({n['invalid']} invalid, {n['error']} errors, {n['skipped']} skipped)"
        elif share is not None and share > max_error_share:
            problem = f"errors on {share:.0%} of its calls (more than max_error_share {max_error_share:.0%})"
        negotiated = formats.get(label) or {}
        judges.append({
            "judge": label,
            **n,
            "healthy": problem is None,
            "error_share": share,
            "problem": problem,
            "top_error": _top_error(rows),
            "response_format": negotiated.get("mode") or _most_common(rows, "response_format"),
            "format_rejected": list(negotiated.get("rejected") or []),
        })  # fmt: skip
    return {"max_error_share": max_error_share, "judges": judges}


def _most_common(rows: pl.DataFrame, column: str) -> str | None:
    values = rows[column].drop_nulls()
    if values.is_empty():
        return None
    counts = values.value_counts().sort(["count", column], descending=[True, False])  # ties: first by value
    return str(counts[column][0])


def _top_error(rows: pl.DataFrame) -> str | None:
    """The judge's most frequent error; for a judge with none, its most frequent reason for an
    invalid reply (why a judge with no ok verdict failed)."""
    for status in ("error", "invalid"):
        found = _most_common(rows.filter(pl.col("status") == status), "error")
        if found is not None:
            return found
    return None
