"""The nightly sample: reproducible, stratified by task x model, and applied by run."""

from __future__ import annotations

import json
from collections import Counter
from pathlib import Path

import pytest

from judge.cli.main import main
from judge.inputs import dataset as dataset_module
from judge.inputs.dataset import open_dataset
from judge.inputs.sampling import allocate, sample_dataset
from tests.fakeserver import FakeServer
from tests.test_budget import write_inputs

TASKS = ("news", "counselling", "workplace")
MODELS = ("m1", "m2")


def write(tmp_path: Path, n: int = 60, name: str = "data.jsonl", reverse: bool = False) -> Path:
    rows = [
        {"id": f"r{k}", "task": TASKS[k % 3], "model": MODELS[k % 2] if k % 5 else "m1",
         "source": f"source {k}", "response": f"response {k}"}
        for k in range(n)
    ]
    if reverse:
        rows.reverse()
    path = tmp_path / name
    path.write_text("".join(json.dumps(r) + "\n" for r in rows), encoding="utf-8")
    return path


@pytest.mark.parametrize(
    ("sizes", "n", "expected"),
    [
        pytest.param({("a", "x"): 10, ("b", "x"): 30}, 8, {("a", "x"): 2, ("b", "x"): 6}, id="proportional"),
        pytest.param({("a", "x"): 1, ("b", "x"): 99}, 4, {("a", "x"): 1, ("b", "x"): 3}, id="small-stratum-kept"),
        pytest.param({("a", "x"): 5, ("b", "x"): 9, ("c", "x"): 2}, 2, {("a", "x"): 1, ("b", "x"): 1, ("c", "x"): 0},
                     id="fewer-slots-than-strata"),
        pytest.param({("a", "x"): 3}, 10, {("a", "x"): 3}, id="more-than-all"),
    ],
)
def test_allocation(sizes: dict, n: int, expected: dict) -> None:
    assert allocate(sizes, n) == expected
    assert sum(allocate(sizes, n).values()) == min(n, sum(sizes.values()))


def test_sample_is_reproducible_stratified_and_order_free(tmp_path: Path) -> None:
    data = open_dataset(write(tmp_path))
    a, b = sample_dataset(data, 12, seed=7), sample_dataset(data, 12, seed=7)
    assert a.keep == b.keep and len(a.keep) == 12
    assert sample_dataset(data, 12, seed=8).keep != a.keep
    reordered = open_dataset(write(tmp_path, name="rev.jsonl", reverse=True))
    assert sample_dataset(reordered, 12, seed=7).keep == a.keep
    strata = Counter((i.task, i.model) for i in a.items())
    population = Counter((i.task, i.model) for i in data.items())
    assert set(strata) == set(population)  # every task x model present
    for stratum, k in strata.items():
        assert abs(k - 12 * population[stratum] / 60) <= 1


def test_run_judges_only_the_sample(tmp_path: Path, fake_server: FakeServer) -> None:
    config, _ = write_inputs(tmp_path, fake_server, concurrency=4)
    data = write(tmp_path, name="population.jsonl")
    run_dir = tmp_path / "run"
    code = main(["run", "--config", str(config), "--dataset", str(data), "--rubric", "sa-graded", "--sample", "9",
                 "--seed", "3", "--run-dir", str(run_dir), "--quiet"])
    assert code == 0
    manifest = json.loads((run_dir / "manifest.json").read_text())
    assert manifest["sample"] == {"n": 9, "seed": 3, "items": 9}
    rows = [json.loads(line) for line in (run_dir / "verdicts.jsonl").read_text().splitlines()]
    expected = sample_dataset(open_dataset(data), 9, seed=3).keep
    assert {r["item_id"] for r in rows} == expected


def test_resume_keeps_the_sample(tmp_path: Path, fake_server: FakeServer) -> None:
    config, _ = write_inputs(tmp_path, fake_server, concurrency=2)
    data = write(tmp_path, name="population.jsonl")
    run_dir = tmp_path / "run"
    code = main(["run", "--config", str(config), "--dataset", str(data), "--rubric", "sa-graded", "--sample", "9",
                 "--seed", "3", "--run-dir", str(run_dir), "--quiet", "--budget-usd", "0.005"])
    assert code == 3
    assert main(["run", "--resume", str(run_dir), "--budget-usd", "1", "--quiet"]) == 0
    rows = [json.loads(line) for line in (run_dir / "verdicts.jsonl").read_text().splitlines()]
    expected = sample_dataset(open_dataset(data), 9, seed=3).keep
    assert {r["item_id"] for r in rows} == expected
    manifest = json.loads((run_dir / "manifest.json").read_text())
    assert manifest["status"] == "completed" and manifest["sample"] == {"n": 9, "seed": 3, "items": 9}


def test_a_limit_keeps_the_first_items_of_the_sample_kept_or_streamed(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    path = write(tmp_path)
    whole = sample_dataset(open_dataset(path), 20, seed=2)
    limited = sample_dataset(open_dataset(path), 20, seed=2, limit=5)
    order = [i.id for i in whole.items()]
    assert len(order) == 20 and [i.id for i in limited.items()] == order[:5]
    assert limited.count == 20 and limited.kept is not None  # the manifest's sample size; items in memory
    # A dataset too big to keep in memory: the sample is drawn and limited the same way from the file.
    monkeypatch.setattr(dataset_module, "KEEP_CHARS", 10)
    streamed = sample_dataset(open_dataset(path), 20, seed=2, limit=5)
    assert streamed.kept is None and streamed.keep == whole.keep
    assert [i.id for i in streamed.items()] == order[:5]
    with pytest.raises(ValueError, match="give the limit to sample_dataset"):
        sample_dataset(open_dataset(path, limit=3), 2, seed=0)
