"""benchmarks/offline_vs_gold.py on a small two-annotator dataset: the graded figures are the run's
own calibration, the paper rubrics get Spearman only, and the item counts, the other references
and the per-model views count what they say."""

from __future__ import annotations

import json
from pathlib import Path

from benchmarks.offline_vs_gold import BLOCK, README, markdown, measure, readme_blocks, recorded, save
from judge.cli.main import main
from judge.core import paths

SA = "sentiment_attenuation"


def _dataset(tmp_path: Path) -> Path:
    rows = [json.loads(line) for line in paths.sample_dataset().read_text(encoding="utf-8").splitlines()]
    picked = [r for r in rows if r["model"] == "sim-faithful"][:5] + [r for r in rows if r["model"] == "sim-terse"][:5]
    out = []
    for k, row in enumerate(picked):
        keep = {f: row[f] for f in ("id", "task", "dimension", "model", "source", "response") if f in row}
        if row.get("reference"):
            keep["reference"] = row["reference"]
        level = row[f"gold_{SA}"]
        keep[f"gold_{SA}__a"] = level
        keep[f"gold_{SA}__b"] = None if k == 0 else min(4, level + k % 2)  # b abstains on the first item
        keep[f"amplification_{SA}__a"] = k % 3
        keep[f"amplification_{SA}__b"] = None if k == 0 else k % 2
        out.append(keep)
    path = tmp_path / "two.jsonl"
    path.write_text("".join(json.dumps(r) + "\n" for r in out), encoding="utf-8")
    return path


def test_the_benchmark_reads_the_run_and_counts_its_items(tmp_path: Path) -> None:
    data = _dataset(tmp_path)
    run_dir = tmp_path / "run"
    assert main(["run", "--dataset", str(data), "--rubric", "sa-graded", "--rubric", "sa-paper", "--run-dir",
                 str(run_dir), "--quiet"]) == 0  # fmt: skip
    got = measure(run_dir, data, n_boot=50)
    summary = json.loads((run_dir / "summary.json").read_text())
    assert got["calibration"] == summary["calibration"]
    pair = [r for r in got["calibration"] if r["kind"] == "annotators" and r["scale"] == "severity"]
    assert [(r["rater"], r["n"]) for r in pair] == [("a~b", 9)]  # the item b abstained on is left out
    panel = next(r for r in got["calibration"] if r["kind"] == "panel" and r["scale"] == "severity")
    assert panel["n"] == 10  # the reference: the mean of whoever labelled, so a alone on the first item
    paper = [r for r in got["paper"] if r["rubric_id"] == "sa-paper"]
    assert {r["rater"] for r in paper} == {"offline/lexicon", "offline/structure", "panel"}
    assert all(r["n"] == 10 and "spearman" in r and "kappa_w" not in r and "mae" not in r for r in paper)
    items = {r["rubric_id"]: r for r in got["items"]}
    assert (items["sa-graded"]["applies"], items["sa-graded"]["labelled"], items["sa-graded"]["every_annotator"]) \
        == (10, 10, 9)  # fmt: skip
    assert items["sa-graded"]["judges"]["offline/lexicon"]["abstained"] == 0
    views = got["by_reference"]
    assert set(views) == {"a", "b", "every annotator"}
    n = {name: next(r["n"] for r in rows if r["kind"] == "panel" and r["scale"] == "severity")
         for name, rows in views.items()}  # fmt: skip
    assert n == {"a": 10, "b": 9, "every annotator": 9}
    lexicon = {name: [r["n"] for r in rows if r["rater"] == "offline/lexicon" and r["scale"] == "severity"]
               for name, rows in views.items()}  # fmt: skip
    assert lexicon == {"a": [10], "b": [9], "every annotator": [9]}  # each judge too, not only the panel
    assert set(got["within_model"]) == {"sim-faithful", "sim-terse"}
    faithful = got["within_model"]["sim-faithful"]
    assert next(r["n"] for r in faithful if r["kind"] == "annotators" and r["scale"] == "severity") == 4
    text = markdown(got)
    assert "inter-annotator ceiling" in text and "Amplification, weighted kappa" in text and "| sa-paper | 10 |" in text


def test_save_keeps_other_datasets_and_the_readme_block_renders_from_the_file(tmp_path: Path) -> None:
    data = _dataset(tmp_path)
    run_dir = tmp_path / "run"
    assert main(["run", "--dataset", str(data), "--rubric", "sa-graded", "--run-dir", str(run_dir), "--quiet"]) == 0
    got = measure(run_dir, data, n_boot=20)
    results = tmp_path / "results.json"
    results.write_text(json.dumps({"other.jsonl": {"kept": True}}), encoding="utf-8")
    save(got, "the command", results)
    saved = recorded(results)
    assert saved["other.jsonl"] == {"kept": True}
    entry = saved[got["dataset"]]
    assert "run" not in entry and entry["measured"]["command"] == "the command" and entry["n_boot"] == 20
    panel = next(r for r in entry["calibration"] if r["kind"] == "panel" and r["scale"] == "severity")
    assert panel["kappa_w"] == round(panel["kappa_w"], 4)
    text = f"before\n<!-- offline_vs_gold: {got['dataset']} -->\nstale\n<!-- /offline_vs_gold -->\nafter\n"
    fresh = readme_blocks(text, saved)
    assert "stale" not in fresh and fresh.startswith("before\n") and fresh.endswith("after\n")
    assert "measured at commit" in fresh and "| SA | 10 |" in fresh
    assert readme_blocks(fresh, saved) == fresh


def test_the_readme_tables_are_the_recorded_results() -> None:
    """README.md's offline-vs-gold tables are rendered from benchmarks/offline_vs_gold.json (the one
    source): re-render them with `python benchmarks/offline_vs_gold.py --readme --write`."""
    text = README.read_text(encoding="utf-8")
    shown = [m.group(2) for m in BLOCK.finditer(text)]
    assert shown == ["judge/data/realistic.jsonl", "judge/data/sample.jsonl"]
    assert readme_blocks(text, recorded()) == text, (
        "README.md's offline-vs-gold tables differ from benchmarks/offline_vs_gold.json; "
        "run: python benchmarks/offline_vs_gold.py --readme --write"
    )
