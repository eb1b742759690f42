"""Resume identity is the plan (judge/engine/resume.py): for every option in the identity (dataset,
column map, sample, seed, limit, repeats, rubric, judge, cache mode, cache folder), a resume that gives it with
another value is refused, naming the option and both values, touching nothing; a resume that does
not give it finishes the run with the value it started with.

Runs use the offline judges in-process; "partial" cuts a finished run's log back, as a kill -9
would leave it, so the resume has work to do.
"""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import polars as pl
import pytest

from judge.cli.main import main
from judge.inputs.dataset import open_dataset
from judge.inputs.sampling import sample_dataset
from judge.store.reader import read_run
from tests.reliability_helpers import items, write_dataset

KEY = ["item_id", "rubric_id", "judge", "repeat"]


def dataset(tmp_path: Path, n: int = 12, name: str = "d.jsonl") -> Path:
    return write_dataset(tmp_path / name, items(n))


def run(args: list[str]) -> int:
    return main(["run", *args, "--quiet"])


def partial(run_dir: Path, keep: int = 3) -> None:
    """Leave ``run_dir`` as a kill -9 would: ``keep`` verdicts in the log, no Parquet, no summary."""
    log = run_dir / "verdicts.jsonl"
    log.write_text("".join(log.read_text().splitlines(keepends=True)[:keep]))
    (run_dir / "verdicts.parquet").unlink()
    (run_dir / "summary.json").unlink()
    manifest = json.loads((run_dir / "manifest.json").read_text())
    manifest["status"] = "running"
    (run_dir / "manifest.json").write_text(json.dumps(manifest))


def snapshot(root: Path) -> dict[str, bytes]:
    return {str(p.relative_to(root)): p.read_bytes() for p in sorted(root.rglob("*")) if p.is_file()}


def keys(run_dir: Path) -> set[tuple[str, str, str, int]]:
    return set(read_run(run_dir, columns=KEY).verdicts.iter_rows())


# (id, options the run starts with, options given on resume, parts of the refusal)
REFUSALS = [
    ("dataset", [], ["--dataset", "{other}"], ["--dataset: the run was started with {data} (content ", "not {other}"]),
    ("sample", ["--sample", "4"], ["--sample", "6"], ["--sample: the run was started with 4, not 6"]),
    ("seed", ["--sample", "4", "--seed", "5"], ["--seed", "6"], ["--seed: the run was started with 5, not 6"]),
    ("limit", ["--limit", "5"], ["--limit", "6"], ["--limit: the run was started with 5, not 6"]),
    ("repeats", [], ["--repeats", "2"], ["--repeats: the run was started with 1, not 2"]),
    ("rubric", [], ["--rubric", "ca-paper"], ["--rubric: the run was started with sa-graded@", ", not ca-paper@"]),
    ("judge", [], ["--judge", "offline/lexicon"],
     ["--judge: the run was started with offline/lexicon, offline/structure, not offline/lexicon"]),
    ("cache", [], ["--no-cache"], ["--no-cache/--replay (the cache mode): the run was started with on, not off"]),
    ("cache-dir", ["--cache-dir", "{tmp}/c1"], ["--cache-dir", "{tmp}/c2"],
     ["--cache-dir: the run was started with {tmp}/c1, not {tmp}/c2"]),
    ("map", ["--map", "source_id=model"], ["--map", "group=model"],
     ["--map: the run was started with source_id=model, not group=model"]),
]


@pytest.mark.parametrize(("start", "given", "parts"), [r[1:] for r in REFUSALS], ids=[r[0] for r in REFUSALS])
def test_an_option_given_that_differs_is_refused(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], start: list[str], given: list[str], parts: list[str]
) -> None:
    tmp = tmp_path.resolve()
    data, other = dataset(tmp), dataset(tmp, n=13, name="other.jsonl")

    def fill(text: str) -> str:
        return text.format(tmp=tmp, data=data, other=other)

    run_dir = tmp / "runs" / "r"
    common = ["--dataset", str(data), "--rubric", "sa-graded"]
    assert run([*common, *map(fill, start), "--run-dir", str(run_dir)]) == 0
    partial(run_dir)
    before = snapshot(tmp / "runs")
    capsys.readouterr()
    assert run(["--resume", str(run_dir), *map(fill, given)]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "Traceback" not in err, err
    for part in parts:
        assert fill(part) in err, err
    assert snapshot(tmp / "runs") == before  # refused before anything was touched


def test_sample_40_seed_7_on_a_sample_10_run_is_refused(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """The reported bug: this exited 0 and judged 44 distinct items under a manifest that still said
    a 10-item sample."""
    data = dataset(tmp_path, n=60)
    run_dir = tmp_path / "r"
    assert run(["--dataset", str(data), "--rubric", "sa-graded", "--sample", "10", "--run-dir", str(run_dir)]) == 0
    capsys.readouterr()
    assert run(["--resume", str(run_dir), "--sample", "40", "--seed", "7"]) == 2
    err = capsys.readouterr().err
    assert "--sample: the run was started with 10, not 40" in err and "--seed: the run was started with 0, not 7" in err
    assert read_run(run_dir).verdicts["item_id"].n_unique() == 10


# (id, options the run starts with) -- the resume gives none of them
RESTORES = [
    ("dataset", ["--dataset", "{other}"]),
    ("sample", ["--sample", "5"]),
    ("seed", ["--sample", "5", "--seed", "9"]),
    ("limit", ["--limit", "4"]),
    ("repeats", ["--repeats", "2"]),
    ("rubric", ["--rubric", "ca-paper"]),
    ("judge", ["--judge", "offline/structure"]),
    ("cache", ["--no-cache"]),
    ("cache-dir", ["--cache-dir", "{tmp}/mine"]),
    ("map", ["--map", "source_id=model"]),
]


@pytest.mark.parametrize("start", [r[1] for r in RESTORES], ids=[r[0] for r in RESTORES])
def test_an_option_not_given_is_restored(tmp_path: Path, start: list[str]) -> None:
    tmp = tmp_path.resolve()
    data, other = dataset(tmp), dataset(tmp, n=7, name="other.jsonl")
    options = [a.format(tmp=tmp, other=other) for a in start]
    if "--dataset" not in options:
        options += ["--dataset", str(data)]
    if "--rubric" not in options:
        options += ["--rubric", "sa-graded"]
    baseline, run_dir = tmp / "runs" / "baseline", tmp / "runs" / "r"
    assert run([*options, "--run-dir", str(baseline)]) == 0
    assert run([*options, "--run-dir", str(run_dir)]) == 0
    started = read_run(run_dir).manifest
    partial(run_dir)
    assert run(["--resume", str(run_dir)]) == 0
    finished = read_run(run_dir)
    assert finished.status == "completed"
    assert finished.manifest.plan == started.plan and finished.manifest.options == started.options
    assert keys(run_dir) == keys(baseline)


def test_sample_and_seed_restored_judge_the_same_items(tmp_path: Path) -> None:
    data = dataset(tmp_path, n=30)
    run_dir = tmp_path / "r"
    assert run(["--dataset", str(data), "--rubric", "sa-graded", "--sample", "6", "--seed", "4",
                "--run-dir", str(run_dir)]) == 0
    partial(run_dir, keep=2)
    assert run(["--resume", str(run_dir)]) == 0
    expected = sample_dataset(open_dataset(data), 6, seed=4).keep
    assert set(read_run(run_dir).verdicts["item_id"]) == expected


def test_a_no_cache_run_resumed_never_touches_the_shared_cache(tmp_path: Path) -> None:
    """The reported bug: a resumed --no-cache run served 6 of 7 rows from the shared cache."""
    data = dataset(tmp_path, n=8)
    runs = tmp_path / "runs"
    common = ["--dataset", str(data), "--rubric", "sa-graded"]
    assert run([*common, "--run-dir", str(runs / "cached")]) == 0  # fills runs/.cache with every reply
    assert run([*common, "--no-cache", "--run-dir", str(runs / "r")]) == 0
    partial(runs / "r", keep=2)
    cache_before = snapshot(runs / ".cache")
    assert run(["--resume", str(runs / "r")]) == 0
    verdicts = read_run(runs / "r").verdicts
    assert verdicts.height == 16 and not verdicts["cached"].any()
    assert snapshot(runs / ".cache") == cache_before


def test_a_cache_dir_run_resumed_writes_to_its_own_cache(tmp_path: Path) -> None:
    """The reported bug: a resumed --cache-dir X run wrote to the default cache."""
    data = dataset(tmp_path, n=8)
    runs, mine = tmp_path / "runs", tmp_path / "mine"
    assert run(["--dataset", str(data), "--rubric", "sa-graded", "--cache-dir", str(mine),
                "--run-dir", str(runs / "r")]) == 0
    partial(runs / "r", keep=2)
    shutil.rmtree(mine)  # so every reply the resume gets must be written again, and where
    assert run(["--resume", str(runs / "r")]) == 0
    assert not (runs / ".cache").exists()
    assert len([p for p in mine.rglob("*.json")]) == 14  # 16 verdicts, 2 kept from before


def test_a_replay_run_resumed_still_only_replays(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    data = dataset(tmp_path, n=8)
    runs = tmp_path / "runs"
    common = ["--dataset", str(data), "--rubric", "sa-graded"]
    assert run([*common, "--run-dir", str(runs / "filled")]) == 0
    assert run([*common, "--replay", "--run-dir", str(runs / "r")]) == 0
    partial(runs / "r", keep=2)
    entries = sorted((runs / ".cache").rglob("*.json"))
    for entry in entries[: len(entries) // 2]:
        entry.unlink()  # misses a replay must refuse, where a forgotten --replay would call the judge
    capsys.readouterr()
    assert run(["--resume", str(runs / "r")]) == 2
    assert "--replay: no cached reply" in capsys.readouterr().err
    assert read_run(runs / "r").manifest.status == "failed"


def test_budget_and_concurrency_may_change(tmp_path: Path) -> None:
    data = dataset(tmp_path, n=6)
    run_dir = tmp_path / "r"
    assert run(["--dataset", str(data), "--rubric", "sa-graded", "--run-dir", str(run_dir)]) == 0
    partial(run_dir)
    assert run(["--resume", str(run_dir), "--concurrency", "1", "--budget-usd", "1"]) == 0
    manifest = read_run(run_dir).manifest
    assert manifest.status == "completed" and manifest.budgets[-1].cap_usd == 1.0
    assert pl.read_parquet(run_dir / "verdicts.parquet").height == 12
