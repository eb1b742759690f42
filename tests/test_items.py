"""The run's items table (judge/store/items.py): one row per judged item with its texts, gold labels
and metadata, written in the pass that produces the work and compacted when the run ends."""

from __future__ import annotations

import json
import math
from pathlib import Path
from typing import Any

import polars as pl

from judge.cli.main import main
from judge.core import paths
from judge.inputs.dataset import open_dataset
from judge.report.summary_files import summarise_run
from judge.store.items import ITEMS_LOG, ITEMS_PARQUET, read_items
from judge.store.reader import read_run, read_verdicts

ROWS = [
    {"id": "a", "task": "news", "source": "Two people died.", "response": "An incident.", "model": "m1",
     "gold_sentiment_attenuation": 3, "gold_sentiment_attenuation__ann": 2, "batch": 7, "tags": ["x", "y"]},
    {"id": "b", "task": "counselling", "source": "I feel humiliated.", "response": "Talk to HR.",
     "reference": None, "note": {"by": "me"}},
    {"id": "c", "task": "news", "source": "A fire killed three.", "response": "Three died in a fire.", "model": "m2"},
]  # fmt: skip


def close(a: Any, b: Any) -> bool:
    """Equal JSON data, floats within 1e-12 relative."""
    if isinstance(a, float) and isinstance(b, float):
        return math.isclose(a, b, rel_tol=1e-12, abs_tol=1e-15)
    if isinstance(a, dict) and isinstance(b, dict):
        return a.keys() == b.keys() and all(close(a[k], b[k]) for k in a)
    if isinstance(a, list) and isinstance(b, list):
        return len(a) == len(b) and all(close(x, y) for x, y in zip(a, b, strict=True))
    return bool(a == b)


def write(path: Path) -> Path:
    path.write_text("".join(json.dumps(r) + "\n" for r in ROWS), encoding="utf-8")
    return path


def test_the_items_table_keeps_texts_gold_and_metadata(tmp_path: Path) -> None:
    run_dir = tmp_path / "run"
    assert main(["run", "--dataset", str(write(tmp_path / "d.jsonl")), "--rubric", "sa-graded", "--limit", "2",
                 "--run-dir", str(run_dir), "--quiet"]) == 0  # fmt: skip
    assert (run_dir / ITEMS_PARQUET).exists() and not (run_dir / ITEMS_LOG).exists()
    gold = read_run(run_dir).manifest.dataset.gold_columns
    items = read_items(run_dir, gold)
    assert items["item_id"].to_list() == ["a", "b"]  # the judged items only (--limit 2)
    a, b = items.to_dicts()
    assert (a["model"], a["dimension"], a["source"], a["response"]) == ("m1", "cognitive", "Two people died.",
                                                                       "An incident.")  # fmt: skip
    assert a["gold_sentiment_attenuation"] == 3 and a["gold_sentiment_attenuation__ann"] == 2
    assert json.loads(a["meta"]) == {"batch": 7, "tags": ["x", "y"]}
    assert b["model"] == "unknown" and b["gold_sentiment_attenuation"] is None and json.loads(b["meta"]) == {
        "note": {"by": "me"}}
    assert items.schema["gold_sentiment_attenuation"] == pl.Int64
    # The verdict table stays lean: no texts, no metadata, one row per verdict.
    verdicts = read_run(run_dir).verdicts
    assert not {"source", "response", "meta", "batch"} & set(verdicts.columns)


def test_an_interrupted_run_keeps_its_items_log_and_a_resume_folds_it_once(tmp_path: Path) -> None:
    run_dir = tmp_path / "run"
    assert main(["run", "--dataset", str(write(tmp_path / "d.jsonl")), "--rubric", "sa-graded",
                 "--run-dir", str(run_dir), "--quiet"]) == 0  # fmt: skip
    # As a crash would leave it: the log of the first attempt, no Parquet, no summary.
    (run_dir / ITEMS_PARQUET).unlink()
    log = run_dir / "verdicts.jsonl"
    log.write_text("".join(log.read_text().splitlines(keepends=True)[:2]))
    (run_dir / "verdicts.parquet").unlink()
    (run_dir / "summary.json").unlink()
    (run_dir / ITEMS_LOG).write_text(json.dumps({"item_id": "a", "task": "news", "source": "old"}) + "\n")
    assert read_items(run_dir, [])["source"].to_list() == ["old"]  # readable before the resume
    manifest = json.loads((run_dir / "manifest.json").read_text())
    manifest["status"] = "interrupted"
    (run_dir / "manifest.json").write_text(json.dumps(manifest))
    assert main(["run", "--resume", str(run_dir), "--quiet"]) == 0
    items = read_items(run_dir, read_run(run_dir).manifest.dataset.gold_columns)
    assert items["item_id"].to_list() == ["a", "b", "c"]  # each once; the resumed attempt's row wins
    assert items["source"].to_list()[0] == "Two people died."


def test_the_summary_from_the_items_table_equals_the_summary_from_the_dataset(tmp_path: Path) -> None:
    """The summary reads gold labels, response lengths and texts from the items table (no pass over
    the dataset at the end of a run); the numbers are the dataset's."""
    run_dir = tmp_path / "run"
    assert main(["run", "--sample", "24", "--rubric", "sa-graded", "--rubric", "ca-graded", "--run-dir", str(run_dir),
                 "--quiet"]) == 0  # fmt: skip
    manifest = json.loads((run_dir / "manifest.json").read_text())
    verdicts = read_verdicts(run_dir)
    from_table = summarise_run(verdicts, manifest, run_dir=run_dir)
    from_dataset = summarise_run(verdicts, manifest, dataset=open_dataset(paths.sample_dataset()))
    # equal up to float summation order (a join's row order differs with the frame it joins)
    assert close(from_table.summary, from_dataset.summary)
    assert from_table.disagreement == from_dataset.disagreement
    assert from_table.summary["calibration"]  # gold labels were found
