"""Everything the HTML report shows, gathered from a run directory as plain data.

Reads manifest.json, summary.json and verdicts.parquet, plus the dataset named in the manifest
when it is still on disk (texts for the disputed items, response lengths, gold labels). Keys that
other parts of the pipeline add to summary.json are used when present; what is missing is
computed here from the verdicts, or left out so the page can say "no data".
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import polars as pl

from judge.core.taxonomy import MECHANISMS
from judge.store.rundir import MANIFEST, SUMMARY, load_verdicts, read_json


@dataclass
class RunData:
    run_dir: Path
    manifest: dict[str, Any]
    summary: dict[str, Any]
    verdicts: pl.DataFrame
    items: pl.DataFrame | None  # id, model, task, source, reference, response, gold_<mechanism>...
    items_note: str | None  # why texts are missing, when they are
    notes: list[str] = field(default_factory=list)


def _items_frame(dataset: Any) -> pl.DataFrame:
    rows = []
    for item in dataset.items():
        row: dict[str, Any] = {
            "id": item.id,
            "model": item.model,
            "task": item.task,
            "source": item.source,
            "reference": item.reference,
            "response": item.response,
        }
        for mechanism in MECHANISMS:
            row[f"gold_{mechanism}"] = item.gold.get(f"gold_{mechanism}")
        rows.append(row)
    schema: dict[str, Any] = {k: pl.String for k in ("id", "model", "task", "source", "reference", "response")}
    schema.update({f"gold_{m}": pl.Int64 for m in MECHANISMS})
    return pl.DataFrame(rows, schema=schema)


def load_run(run_dir: Path, dataset: Any = None) -> RunData:
    """``dataset``: the run's already-validated Dataset, when the caller has it (saves a pass)."""
    from judge.core.errors import JudgeError
    from judge.inputs.dataset import open_dataset

    manifest = read_json(run_dir / MANIFEST)
    summary = read_json(run_dir / SUMMARY) if (run_dir / SUMMARY).exists() else {}
    verdicts = load_verdicts(run_dir)
    items: pl.DataFrame | None = None
    note: str | None = None
    dataset_path = (manifest.get("dataset") or {}).get("path")
    if dataset is not None:
        items = _items_frame(dataset)
    elif not dataset_path:
        note = "the manifest names no dataset"
    elif not Path(dataset_path).is_file():
        note = f"the dataset {dataset_path} is no longer on disk"
    else:
        try:
            items = _items_frame(open_dataset(Path(dataset_path)))
        except JudgeError as exc:
            note = f"the dataset could not be read ({exc})"
    return RunData(run_dir, manifest, summary, verdicts, items, note)


def ok_rows(verdicts: pl.DataFrame) -> pl.DataFrame:
    return verdicts.filter((pl.col("status") == "ok") & pl.col("score").is_not_null())


def severity_cells(verdicts: pl.DataFrame, *, n_boot: int = 1000) -> pl.DataFrame:
    """Panel severity per rubric x dimension x model with item-bootstrap CIs (judge.stats.scores)."""
    from judge.stats.scores import panel_scores

    if ok_rows(verdicts).height == 0:
        return pl.DataFrame()
    return panel_scores(verdicts, n_boot=n_boot)


def severity_overall(verdicts: pl.DataFrame, *, n_boot: int = 1000) -> pl.DataFrame:
    """Panel severity per rubric x model, pooled over dimensions, with CIs."""
    return severity_cells(verdicts.with_columns(pl.lit("all").alias("dimension")), n_boot=n_boot)


def agreement_table(verdicts: pl.DataFrame, *, n_boot: int = 1000) -> pl.DataFrame:
    from judge.stats.scores import rubric_agreement

    if ok_rows(verdicts).height == 0 or verdicts["judge"].n_unique() < 2:
        return pl.DataFrame()
    return rubric_agreement(verdicts, n_boot=n_boot)


def calibration_table(verdicts: pl.DataFrame, items: pl.DataFrame | None) -> pl.DataFrame:
    """Judge and panel against gold labels, per graded rubric: n, MAE and Spearman on the 0-4
    scale, and quadratic weighted kappa on rounded severities."""
    from judge.stats.agreement import cohen_kappa, spearman_rho

    if items is None:
        return pl.DataFrame()
    ok = ok_rows(verdicts).filter(pl.col("family") == "graded")
    rows = []
    per_judge = ok.group_by("rubric_id", "mechanism", "item_id", "judge").agg(pl.col("score").mean())
    panel = (
        per_judge.group_by("rubric_id", "mechanism", "item_id")
        .agg(pl.col("score").mean())
        .with_columns(pl.lit("panel").alias("judge"))
    )
    both = pl.concat([per_judge, panel.select(per_judge.columns)])
    for (rubric_id, mechanism, judge), frame in both.group_by("rubric_id", "mechanism", "judge"):
        gold_col = f"gold_{mechanism}"
        if gold_col not in items.columns:
            continue
        gold = items.select(pl.col("id").alias("item_id"), pl.col(gold_col).alias("gold")).drop_nulls()
        pairs = frame.join(gold, on="item_id", how="inner").with_columns((pl.col("score") * 4).alias("pred"))
        if pairs.height == 0:
            continue
        pred, truth = pairs["pred"].to_numpy(), pairs["gold"].to_numpy().astype(float)
        long = pl.concat(
            [
                pairs.select(
                    pl.col("item_id").alias("unit"),
                    pl.lit("judge").alias("rater"),
                    pl.col("pred").round().cast(pl.Int64).alias("value"),
                ),
                pairs.select(
                    pl.col("item_id").alias("unit"),
                    pl.lit("gold").alias("rater"),
                    pl.col("gold").cast(pl.Int64).alias("value"),
                ),
            ]
        )
        kappa = cohen_kappa(long, weights="quadratic", labels=range(5))
        rows.append(
            {
                "rubric_id": rubric_id,
                "kind": "panel" if judge == "panel" else "judge",
                "rater": judge,
                "n": pairs.height,
                "mae": float(abs(pred - truth).mean()),
                "spearman": spearman_rho(pred, truth).value,
                "kappa_w": kappa.value,
            }
        )
    if not rows:
        return pl.DataFrame()
    return pl.DataFrame(rows).sort("rubric_id", "kind", "rater")


def disputed_items(verdicts: pl.DataFrame, *, top: int = 16) -> pl.DataFrame:
    """The items x rubric where the judges' item scores spread most (range, then variance)."""
    ok = ok_rows(verdicts)
    if ok.height == 0 or ok["judge"].n_unique() < 2:
        return pl.DataFrame()
    per_judge = ok.group_by("rubric_id", "item_id", "judge").agg(pl.col("score").mean())
    spread = (
        per_judge.group_by("rubric_id", "item_id")
        .agg(
            pl.len().alias("n_judges"),
            (pl.col("score").max() - pl.col("score").min()).alias("range"),
            pl.col("score").var(ddof=0).alias("variance"),
        )
        .filter((pl.col("n_judges") >= 2) & (pl.col("range") > 0))
        .sort(["range", "variance", "rubric_id", "item_id"], descending=[True, True, False, False])
    )
    # The worst few of every rubric first, so one noisy rubric does not fill the whole table.
    ranked = spread.with_columns(pl.int_range(pl.len()).over("rubric_id").alias("_rank"))
    return (
        ranked.sort("_rank", "range", "variance", "rubric_id", "item_id", descending=[False, True, True, False, False])
        .head(top)
        .sort(["range", "variance", "rubric_id", "item_id"], descending=[True, True, False, False])
        .drop("_rank")
    )


def problem_rows(verdicts: pl.DataFrame, *, per_status: int = 10) -> pl.DataFrame:
    """Up to ``per_status`` invalid and error verdicts each, spread over judges and rubrics."""
    bad = verdicts.filter(pl.col("status").is_in(["invalid", "error"]))
    if bad.height == 0:
        return bad
    return (
        bad.sort("status", "judge", "rubric_id", "item_id")
        .with_columns(pl.int_range(pl.len()).over("status", "judge", "rubric_id").alias("_k"))
        .sort("_k", "status", "judge", "rubric_id", "item_id")
        .group_by("status", maintain_order=True)
        .head(per_status)
        .drop("_k")
        .sort("status", "judge", "rubric_id", "item_id")
    )
