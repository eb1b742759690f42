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
from judge.stats.summary import ItemFacts, Summarised, SummarySettings, disputed_ids, item_facts, summarise
from judge.store.rundir import SUMMARY, atomic_write_text, write_json

DISAGREEMENT_FILE = "disagreement.jsonl"


def dataset_facts(dataset: Dataset | None, text_ids: set[str]) -> ItemFacts:
    """The summary's item facts from the run's dataset (one pass); none without a dataset."""
    if dataset is None:
        return ItemFacts()
    return item_facts(dataset.items(), dataset.gold_columns, text_ids)


def summarise_run(
    verdicts: Any, manifest: dict[str, Any], *, dataset: Dataset | None = None, settings: SummarySettings | None = None
) -> Summarised:
    """summary.json's content and the disagreement rows of a run, without writing anything."""
    facts = dataset_facts(dataset, disputed_ids(verdicts, settings) if dataset is not None else set())
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
    result = summarise_run(verdicts, manifest, dataset=dataset, settings=settings)
    lines = "".join(json.dumps(r, ensure_ascii=False, sort_keys=True) + "\n" for r in result.disagreement)
    atomic_write_text(run_dir / DISAGREEMENT_FILE, lines)
    write_json(run_dir / SUMMARY, result.summary)
    return result.summary
