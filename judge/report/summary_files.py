"""A run's derived statistics files: summary.json and disagreement.jsonl.

The numbers come from ``judge.stats.summary.summarise``; this module gathers what it needs from
the run's dataset (gold labels, response lengths and the disputed items' texts, in one pass) and
writes the files. report.html and the terminal table then read summary.json.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from judge.inputs.dataset import Dataset
from judge.stats.summary import (
    ItemFacts,
    Summarised,
    SummarySettings,
    disputed_ids,
    item_facts,
    summarise,
    table_facts,
)
from judge.store.items import read_items
from judge.store.rundir import SUMMARY, atomic_write_text, write_json

DISAGREEMENT_FILE = "disagreement.jsonl"


def dataset_facts(dataset: Dataset | None, text_ids: set[str]) -> ItemFacts:
    """The summary's item facts from the run's dataset (one pass); none without a dataset."""
    if dataset is None:
        return ItemFacts()
    return item_facts(dataset.items(), dataset.gold_columns, text_ids)


def run_facts(run_dir: Path | None, manifest: dict[str, Any], dataset: Dataset | None, text_ids: set[str]) -> ItemFacts:
    """The summary's item facts: from the run's items table when it has one (no pass over the
    dataset), else from the dataset."""
    gold_columns = (manifest.get("dataset") or {}).get("gold_columns") or []
    items = read_items(run_dir, gold_columns, ["item_id", "source", "response", *gold_columns]) if run_dir else None
    if items is not None:
        return table_facts(items, gold_columns, text_ids)
    return dataset_facts(dataset, text_ids)


def summarise_run(
    verdicts: Any,
    manifest: dict[str, Any],
    *,
    dataset: Dataset | None = None,
    settings: SummarySettings | None = None,
    run_dir: Path | None = None,
) -> Summarised:
    """summary.json's content and the disagreement rows of a run, without writing anything.
    ``run_dir``: read the item facts from its items table when it has one."""
    facts = run_facts(run_dir, manifest, dataset, disputed_ids(verdicts, settings))
    return summarise(verdicts, manifest, facts=facts, settings=settings)


def write_summary(
    run_dir: Path,
    verdicts: Any,
    manifest: dict[str, Any],
    *,
    dataset: Dataset | None = None,
    settings: SummarySettings | None = None,
) -> dict[str, Any]:
    """Summarise the run and write summary.json and disagreement.jsonl into ``run_dir``."""
    result = summarise_run(verdicts, manifest, dataset=dataset, settings=settings, run_dir=run_dir)
    lines = "".join(json.dumps(r, ensure_ascii=False, sort_keys=True) + "\n" for r in result.disagreement)
    atomic_write_text(run_dir / DISAGREEMENT_FILE, lines)
    write_json(run_dir / SUMMARY, result.summary)
    return result.summary
