"""What report.html shows, gathered from a run directory: summary.json for every number, the
manifest for the run's facts, and the texts and rationales of the disputed items.

The page computes no statistic. When summary.json is missing (a run that crashed before it was
written), the summary is produced by ``judge.stats.summary.summarise``, exactly as a finished
run's would be, and the page says so.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

import polars as pl

from judge.store.items import has_items, read_items
from judge.store.reader import read_run, read_verdicts

TEXT_COLUMNS = ("id", "source", "reference", "response")
# What the disputed section reads of each verdict besides summary.json: whose, and its text.
DETAIL_COLUMNS = ("rubric_id", "rubric_version", "item_id", "judge", "repeat", "status", "rationale", "error")


@dataclass
class RunData:
    run_dir: Path
    manifest: dict[str, Any]
    summary: dict[str, Any]
    verdicts: pl.DataFrame  # for the disputed items' rationales and errors (text, not numbers)
    texts: pl.DataFrame | None  # id, source, reference, response of the disputed items
    texts_note: str | None  # why texts are missing, when they are
    summary_note: str | None = None  # set when summary.json was missing and the summary computed now


def _texts(dataset: Any, ids: set[str]) -> pl.DataFrame:
    rows = [
        {"id": i.id, "source": i.source, "reference": i.reference, "response": i.response}
        for i in dataset.items()
        if i.id in ids
    ]
    return pl.DataFrame(rows, schema=dict.fromkeys(TEXT_COLUMNS, pl.String))


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
    from judge.store.items import items_schema

    manifest = read_run(run_dir, columns=()).manifest.to_dict()
    dataset, why = _open(manifest)
    if dataset is None:
        return None, why
    judged = set(read_verdicts(run_dir, ["item_id"])["item_id"].to_list())
    schema = items_schema(dataset.gold_columns)
    rows = [i.record() for i in dataset.items() if i.id in judged]
    return pl.DataFrame(rows, schema=schema), None


def _shown_ids(summary: dict[str, Any]) -> set[str]:
    return {str(r["item_id"]) for r in summary.get("disagreement") or [] if isinstance(r, dict) and "item_id" in r}


def load_run(run_dir: Path, dataset: Any = None, *, n_boot: int = 1000) -> RunData:
    """``dataset``: the run's already-validated Dataset, when the caller has it (saves a pass).
    ``n_boot``: resamples for the summary when summary.json is missing."""
    run = read_run(run_dir, columns=())
    manifest = run.manifest.to_dict()
    note: str | None = None
    table = has_items(run_dir)
    if dataset is None and not table:  # a run written before items tables: its dataset has the texts
        dataset, note = _open(manifest)
    summary_note = None
    if run.summary is not None:
        summary = run.summary.to_dict()
        verdicts = read_verdicts(run_dir, DETAIL_COLUMNS)
    else:
        from judge.report.summary_files import summarise_run
        from judge.stats.summary import SummarySettings

        verdicts = read_verdicts(run_dir)
        summary = summarise_run(verdicts, manifest, dataset=dataset, settings=SummarySettings(n_boot=n_boot),
                                run_dir=run_dir).summary
        summary_note = "summary.json is missing (the run did not finish); the statistics below were computed now"
    ids = _shown_ids(summary)
    if table:
        texts = _table_texts(run_dir, manifest, ids)
    else:
        texts = _texts(dataset, ids) if dataset is not None and ids else None
    return RunData(run_dir, manifest, summary, verdicts, texts, note, summary_note)


def _table_texts(run_dir: Path, manifest: dict[str, Any], ids: set[str]) -> pl.DataFrame | None:
    """The shown items' texts from the run's items table."""
    gold = (manifest.get("dataset") or {}).get("gold_columns") or []
    items = read_items(run_dir, gold, ["item_id", "source", "reference", "response"])
    if items is None:
        return None
    return items.filter(pl.col("item_id").is_in(sorted(ids))).rename({"item_id": "id"})
