"""What report.html shows, gathered from a run directory: summary.json for every number, the
manifest for the run's facts, the items table (texts, gold labels, metadata) and the verdicts'
texts (rationales, evidence quotes) for the disputed items and the item browser.

The page computes no statistic. When summary.json is missing (a run that crashed before it was
written), the summary is produced by ``judge.stats.summary.summarise``, exactly as a finished
run's would be, and the page says so. The item browser's per-item numbers (each rubric x item's
panel score and the judges' range) come from the stats layer's ``item_spread``, with the
summary's own settings, so they are the numbers the summary's disagreement ranking uses.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

import polars as pl

from judge.core.records import VERDICT_COLUMNS
from judge.store.items import has_items, items_schema, read_items
from judge.store.reader import read_run, read_verdicts

TEXT_COLUMNS = ("id", "source", "reference", "response")
# What the page reads of each verdict besides summary.json: whose, its status and score, and its
# text (rationale, error, the verdict's fields); plus any verdict column about its evidence.
DETAIL_COLUMNS = (
    "rubric_id", "rubric_version", "family", "mechanism", "dimension", "model", "item_id", "judge", "repeat",
    "status", "score", "verdict", "rationale", "error",
    *[c for c in VERDICT_COLUMNS if c.startswith("evidence")],
)  # fmt: skip


@dataclass
class RunData:
    run_dir: Path
    manifest: dict[str, Any]
    summary: dict[str, Any]
    verdicts: pl.DataFrame  # the verdicts' texts and statuses (DETAIL_COLUMNS)
    texts: pl.DataFrame | None  # id, source, reference, response of the disputed items
    texts_note: str | None  # why texts are missing, when they are
    summary_note: str | None = None  # set when summary.json was missing and the summary computed now
    items: pl.DataFrame | None = None  # the run's items table (judge/store/items.py), or None
    spread: pl.DataFrame | None = None  # judge.stats.diagnostics.item_spread of the verdicts


def _open(manifest: dict[str, Any]) -> tuple[Any, str | None]:
    """The run's dataset, or None and why not."""
    from judge.core.errors import JudgeError
    from judge.inputs.dataset import open_dataset

    dataset_path = (manifest.get("dataset") or {}).get("path")
    if not dataset_path:
        return None, "the manifest names no dataset"
    if not Path(dataset_path).is_file():
        return None, f"the dataset {dataset_path} is no longer on disk"
    # Only the rows the run read: the first ``limit`` of them, unless it drew a sample from them all.
    limit = manifest.get("limit") if not manifest.get("sample") else None
    mapping = (manifest.get("options") or {}).get("map") or {}
    try:
        dataset = open_dataset(Path(dataset_path), limit=limit, mapping=mapping)
    except JudgeError as exc:
        return None, f"the dataset could not be read ({exc})"
    recorded = (manifest.get("dataset") or {}).get("hash")
    if recorded and dataset.hash != recorded:
        return None, f"the dataset {dataset_path} changed since the run (hash {recorded[:12]} -> {dataset.hash[:12]})"
    return dataset, None


def dataset_items(run_dir: Path) -> tuple[pl.DataFrame | None, str | None]:
    """The items table of a run that has none (written before format 3), rebuilt from its dataset
    when that is still there and unchanged: the judged items only. None and why not, otherwise."""
    manifest = read_run(run_dir, columns=()).manifest.to_dict()
    dataset, why = _open(manifest)
    if dataset is None:
        return None, why
    return _dataset_items(dataset, set(read_verdicts(run_dir, ["item_id"])["item_id"].to_list())), None


def _shown_ids(summary: dict[str, Any]) -> set[str]:
    return {str(r["item_id"]) for r in summary.get("disagreement") or [] if isinstance(r, dict) and "item_id" in r}


def load_run(run_dir: Path, dataset: Any = None, *, n_boot: int = 1000) -> RunData:
    """``dataset``: the run's already-validated Dataset, when the caller has it and the run has no
    items table (saves a pass). ``n_boot``: resamples for the summary when summary.json is missing."""
    from judge.stats.diagnostics import item_spread

    run = read_run(run_dir, columns=())
    manifest = run.manifest.to_dict()
    note: str | None = None
    gold = (manifest.get("dataset") or {}).get("gold_columns") or []
    items = read_items(run_dir, gold) if has_items(run_dir) else None
    if items is None and dataset is None:  # a run written before items tables: its dataset has the texts
        dataset, note = _open(manifest)
    summary_note = None
    verdicts = read_verdicts(run_dir)
    if run.summary is not None:
        summary = run.summary.to_dict()
    else:
        from judge.report.summary_files import summarise_run
        from judge.stats.summary import SummarySettings

        summary = summarise_run(verdicts, manifest, dataset=dataset, settings=SummarySettings(n_boot=n_boot),
                                run_dir=run_dir).summary
        summary_note = "summary.json is missing (the run did not finish); the statistics below were computed now"
    if items is None and dataset is not None:
        items = _dataset_items(dataset, set(verdicts["item_id"].to_list()))
    settings = summary.get("settings") or {}
    spread = item_spread(verdicts, aggregate=settings.get("aggregate", "mean"), quorum=settings.get("quorum", 1))
    ids = _shown_ids(summary)
    texts = None
    if items is not None:
        texts = items.filter(pl.col("item_id").is_in(sorted(ids))).select(
            pl.col("item_id").alias("id"), "source", "reference", "response"
        )
    return RunData(run_dir, manifest, summary, verdicts.select(DETAIL_COLUMNS), texts, note, summary_note, items,
                   spread)  # fmt: skip


def _dataset_items(dataset: Any, ids: set[str]) -> pl.DataFrame:
    """An items table built from the run's dataset (the judged items), for a run without one."""
    return pl.DataFrame([i.record() for i in dataset.items() if i.id in ids], schema=items_schema(dataset.gold_columns))
