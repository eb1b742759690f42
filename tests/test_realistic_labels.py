"""The realistic set's gold columns are the two labelling passes in judge/data/labels/, merged by
``empathy-judge labels merge``: the bundled file equals a fresh merge, its columns equal the label
files, the blind file holds the same items, and the datasheet's tables match the data."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest

from benchmarks.make_realistic_set import ANNOTATORS, MERGE_COMMAND, table_texts
from judge.cli.main import main
from judge.core import paths
from judge.core.taxonomy import MECHANISMS
from judge.inputs.dataset import open_dataset
from judge.inputs.labels import latest, read_labels

ROOT = Path(__file__).resolve().parents[1]
DATA = ROOT / "judge" / "data"
REALISTIC = DATA / "realistic.jsonl"
LABELS = [DATA / "labels" / f"labels-{a}.jsonl" for a in ANNOTATORS]
DATASHEET = (DATA / "DATASHEET-realistic.md").read_text(encoding="utf-8")


def test_the_bundled_file_is_exactly_what_the_recorded_merge_command_writes(tmp_path: Path) -> None:
    """Rebuilding the gold columns from the label files changes nothing: a label edited in one file
    and not the other fails here."""
    out = tmp_path / "realistic.jsonl"
    args = MERGE_COMMAND.split()[1:]
    args = [str(ROOT / a) if a.startswith("judge/") else a for a in args]
    args[args.index("--output") + 1] = str(out)
    assert main([*args, "--replace"]) == 0
    assert out.read_bytes() == REALISTIC.read_bytes()
    assert f"    {MERGE_COMMAND}" in DATASHEET  # the datasheet records the command that made the file


def test_every_gold_and_amplification_cell_equals_its_label() -> None:
    data = open_dataset(REALISTIC)
    items = {item.id: item for item in data.items()}
    labels = latest(label for path in LABELS for label in read_labels(path))
    assert len(items) == 180 and len(labels) == 180 * len(MECHANISMS) * len(ANNOTATORS)
    expected_columns = {f"{prefix}_{m}__{a}" for prefix in ("gold", "amplification") for m in MECHANISMS
                        for a in ANNOTATORS}  # fmt: skip
    assert set(data.gold_columns) == expected_columns  # no plain gold_<mechanism>: nobody adjudicated
    for (item_id, mechanism, annotator), label in labels.items():
        item = items[item_id]
        assert item.gold[f"gold_{mechanism}__{annotator}"] == label.label
        assert item.gold[f"amplification_{mechanism}__{annotator}"] == label.amplification
        assert item.metadata[f"gold_note_{mechanism}__{annotator}"] == label.note
    raw = {json.loads(line)["id"]: json.loads(line) for path in LABELS for line in path.read_text().splitlines()
           if json.loads(line)["annotator"] == ANNOTATORS[0]}  # fmt: skip
    abstained = [(i, m) for i, r in raw.items() for m in MECHANISMS if r[m]["abstain"]]
    assert abstained and all(items[i].gold[f"gold_{m}__{ANNOTATORS[0]}"] is None for i, m in abstained)
    assert all(items[i].metadata[f"gold_note_{m}__{ANNOTATORS[0]}"].startswith("abstained: ") for i, m in abstained)


def test_the_blind_file_and_the_label_files_hold_the_dataset_s_items() -> None:
    full = {row["id"]: row for row in map(json.loads, REALISTIC.read_text(encoding="utf-8").splitlines())}
    blind = [json.loads(line) for line in (DATA / "realistic_blind.jsonl").read_text(encoding="utf-8").splitlines()]
    assert sorted(r["id"] for r in blind) == sorted(full)
    for row in blind:
        assert set(row) <= {"id", "task", "dimension", "source", "reference", "response"}
        assert all(full[row["id"]][k] == v for k, v in row.items())
    for path in LABELS:
        ids = [json.loads(line)["id"] for line in path.read_text(encoding="utf-8").splitlines()]
        assert sorted(ids) == sorted(full)  # each item once, every item


def test_the_datasheet_tables_match_the_data() -> None:
    found = dict(re.findall(r"<!-- table: (\w+) -->\n((?:\|.*\n)+)", DATASHEET))
    tables = table_texts()
    assert {"labels", "agreement", "levels", "writers"} <= set(found)
    for name, text in tables.items():
        assert found.get(name, "").strip() == text, f"DATASHEET-realistic.md table '{name}' is stale: run " \
                                                    "python benchmarks/make_realistic_set.py tables"  # fmt: skip


@pytest.mark.parametrize("text", [DATASHEET, (DATA / "labels" / "README.md").read_text(encoding="utf-8")])
def test_the_labels_are_said_not_to_be_human(text: str) -> None:
    assert "not human labels" in " ".join(text.split()).lower().replace("*", "")


def test_the_bundled_sets_are_selectable_by_name(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)
    assert paths.dataset_path("realistic") == REALISTIC
    assert paths.dataset_path("sample") == paths.sample_dataset()
    (tmp_path / "realistic").write_text("{}")
    assert paths.dataset_path("realistic") == Path("realistic")  # a file of that name wins
    assert paths.dataset_path("realistic", tmp_path / "cfg") == REALISTIC
    assert paths.dataset_path("realistic", tmp_path) == tmp_path / "realistic"
    run_dir = tmp_path / "run"
    assert main(["run", "--dataset", "sample", "--limit", "2", "--rubric", "sa-graded", "--run-dir", str(run_dir),
                 "--quiet"]) == 0  # fmt: skip
    manifest = json.loads((run_dir / "manifest.json").read_text())
    assert "sample.jsonl" in json.dumps(manifest["dataset"])
