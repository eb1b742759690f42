"""Inspect AI eval logs as datasets (judge/inputs/inspect_log.py), read with Inspect's own reader.

The log is made by the test with Inspect's own API (its log records, written by
``write_eval_log``) in both of Inspect's formats. Skipped, with the reason, when Inspect AI (the
``inspect`` extra) is not installed; CI installs it.
"""

from __future__ import annotations

import sys
from pathlib import Path

import pytest

from judge.cli.main import main
from judge.core.errors import DatasetError
from judge.inputs.dataset import open_dataset
from judge.store.items import read_items
from judge.store.reader import read_run

LAID_OFF = "I was laid off today after nine years. I keep thinking I failed my family."
SCAFFOLD = "Three workers died when the scaffold collapsed; their families wept at the gate."


def make_log(path: Path, *, sample_ids: bool = True) -> Path:
    log_api = pytest.importorskip("inspect_ai.log", reason="Inspect AI is not installed (pip install '.[inspect]')")
    from inspect_ai.model import ChatMessageSystem, ChatMessageUser, ModelOutput

    # As `inspect eval` writes it: the sample ids in the header, two epochs.
    dataset = log_api.EvalDataset(sample_ids=["c1", 7] if sample_ids else None)
    spec = log_api.EvalSpec(created="2026-01-01T00:00:00+00:00", task="empathy_probe", dataset=dataset,
                            model="openai/bot-a", config=log_api.EvalConfig(epochs=2))  # fmt: skip
    samples = [
        log_api.EvalSample(id="c1", epoch=1, input=LAID_OFF, target="", metadata={"task": "counselling", "lang": "en"},
                           output=ModelOutput.from_content("openai/bot-a", "Layoffs happen. Update your CV.")),
        # A chat input: only the user's words are the source.
        log_api.EvalSample(id=7, epoch=1, input=[ChatMessageSystem(content="Summarise the news."),
                                                 ChatMessageUser(content=SCAFFOLD)],
                           target="Three workers were killed.", metadata={"task": "news"},
                           output=ModelOutput.from_content("openai/bot-a", "An incident occurred.")),
        log_api.EvalSample(id=7, epoch=2, input=[ChatMessageUser(content=SCAFFOLD)], target="",
                           metadata={"task": "news"},
                           output=ModelOutput.from_content("openai/bot-a", "Three workers died at a site.")),
    ]  # fmt: skip
    log_api.write_eval_log(log_api.EvalLog(eval=spec, samples=samples, status="success"), str(path))
    return path


@pytest.mark.parametrize(
    ("suffix", "sample_ids"),
    [(".eval", True), (".json", True), (".eval", False)],
    ids=["eval", "json", "eval-without-sample-ids"],
)
def test_an_inspect_log_reads_as_items(tmp_path: Path, suffix: str, sample_ids: bool) -> None:
    ds = open_dataset(make_log(tmp_path / f"log{suffix}", sample_ids=sample_ids))
    assert ds.format == "inspect" and ds.count == 3
    items = {i.id: i for i in ds.items()}
    assert set(items) == {"c1", "7", "7-e2"}
    c1, n1, n2 = items["c1"], items["7"], items["7-e2"]
    assert (c1.task, c1.model, c1.source, c1.response) == ("counselling", "openai/bot-a", LAID_OFF,
                                                           "Layoffs happen. Update your CV.")  # fmt: skip
    assert n1.source == SCAFFOLD and n1.response == "An incident occurred." and n1.dimension == "cognitive"
    assert n1.source_id == n2.source_id == "7" and n2.response == "Three workers died at a site."
    assert c1.metadata["lang"] == "en" and c1.metadata["inspect_task"] == "empathy_probe"
    assert n1.metadata["target"] == "Three workers were killed." and n2.metadata["epoch"] == 2


def test_judging_an_inspect_log_end_to_end(tmp_path: Path) -> None:
    log = make_log(tmp_path / "log.eval")
    run_dir = tmp_path / "run"
    assert main(["run", "--dataset", str(log), "--rubric", "sa-graded", "--run-dir", str(run_dir), "--quiet"]) == 0
    run = read_run(run_dir)
    assert run.manifest.dataset.format == "inspect" and run.status == "completed"
    assert sorted(set(run.verdicts["item_id"])) == ["7", "7-e2", "c1"]
    assert set(run.verdicts["model"]) == {"openai/bot-a"}
    items = read_items(run_dir, run.manifest.dataset.gold_columns)
    assert items is not None and dict(zip(items["item_id"], items["response"], strict=True))["c1"] == (
        "Layoffs happen. Update your CV.")


def test_a_map_applies_to_inspect_rows(tmp_path: Path) -> None:
    """Inspect's target is metadata unless mapped: here it becomes the reference."""
    ds = open_dataset(make_log(tmp_path / "log.eval"), mapping={"reference": "target"})
    items = {i.id: i for i in ds.items()}
    assert items["7"].reference == "Three workers were killed." and items["c1"].reference is None


def test_without_inspect_the_error_says_how_to_install_it(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    log = tmp_path / "log.eval"
    log.write_bytes(b"PK\x03\x04 not read")
    monkeypatch.setitem(sys.modules, "inspect_ai.log", None)  # makes the import fail
    with pytest.raises(DatasetError, match=r"log\.eval: an Inspect AI eval log; .* 'empathy-judge\[inspect\]'"):
        open_dataset(log)


def test_a_damaged_log_is_one_clear_error(tmp_path: Path) -> None:
    pytest.importorskip("inspect_ai.log", reason="Inspect AI is not installed (pip install '.[inspect]')")
    log = tmp_path / "log.eval"
    log.write_bytes(b"not a zip file")
    with pytest.raises(DatasetError, match=r"log\.eval: cannot be read as an Inspect AI eval log"):
        open_dataset(log)
