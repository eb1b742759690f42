"""Sharded runs: ``run --shard I/N`` splits the plan by item, each shard a complete run; ``merge``
joins shards 1..N of one plan into one run equal to the same plan run in one process, and refuses
anything else (another plan, a missing or doubled shard, an unfinished shard)."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from collections import Counter
from pathlib import Path
from typing import Any

import polars as pl
import pytest
from polars.testing import assert_frame_equal

from judge.cli.main import main
from judge.core.errors import ConfigError, RunDirError
from judge.engine.merge import check_shards, merge_runs
from judge.engine.plan import Plan
from judge.inputs.sharding import in_shard, parse_shard, shard_of
from judge.store.reader import read_run
from tests.conftest import LITELLM_SAFE_ENV

ROOT = Path(__file__).resolve().parent.parent
# Columns that say when or how fast, not what: they may differ between a sharded and a whole run.
TIMING = {"latency_ms", "finished_at"}
SAMPLE = ["--sample", "24", "--seed", "3", "--rubric", "sa-graded", "--rubric", "ca-paper", "--repeats", "2"]


def _env() -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.upper().endswith("_API_KEY")}
    env.update(LITELLM_SAFE_ENV, PYTHONPATH=str(ROOT))
    return env


def _summary(run_dir: Path) -> dict[str, Any]:
    """summary.json without its run id and its timing figures (latency)."""
    data = json.loads((run_dir / "summary.json").read_text())
    data.pop("run_id")
    for card in data["judge_cards"]:
        card.pop("mean_latency_ms")
    return data


@pytest.mark.parametrize(("text", "parsed"), [("1/4", (1, 4)), (" 4 / 4 ", (4, 4)), ("1/1", (1, 1))])
def test_shard_specs_parse(text: str, parsed: tuple[int, int]) -> None:
    assert parse_shard(text) == parsed


@pytest.mark.parametrize("text", ["0/4", "5/4", "1/0", "2", "a/b", "1/4/2", "-1/4"])
def test_bad_shard_specs_are_refused(text: str) -> None:
    with pytest.raises(ConfigError, match="--shard"):
        parse_shard(text)


def test_shards_partition_the_items_by_id() -> None:
    ids = [f"item-{i}" for i in range(400)]
    counts = Counter(shard_of(i, 4) for i in ids)
    assert set(counts) == {1, 2, 3, 4} and min(counts.values()) > 60  # roughly even
    for item in ids:
        assert sum(in_shard(item, (k, 4)) for k in range(1, 5)) == 1
    # Only the id decides: the same id lands in the same shard whatever else changes.
    assert [shard_of(i, 4) for i in ids] == [shard_of(i, 4) for i in reversed(ids)][::-1]


def test_a_plan_with_shards_judges_only_its_items_and_records_the_shard() -> None:
    whole = Plan(judges=["offline/lexicon"], rubrics=["sa-graded"], sample=24, seed=3)
    parts = [Plan(judges=["offline/lexicon"], rubrics=["sa-graded"], sample=24, seed=3, shard=f"{k}/3")
             for k in (1, 2, 3)]
    ids = [[item.id for item in p.items()] for p in parts]
    assert sorted(i for part in ids for i in part) == sorted(item.id for item in whole.items())
    assert all(ids)
    identity = parts[0].identity(Path("/tmp/x"))
    assert identity.shard == "1/3" and identity.hash != whole.identity(Path("/tmp/x")).hash
    assert whole.identity(Path("/tmp/x")).to_dict().get("shard") is None


def test_four_parallel_shards_merge_into_the_one_process_run(tmp_path: Path) -> None:
    cache = ["--no-cache"]
    procs = [
        subprocess.Popen(
            [sys.executable, "-m", "judge", "run", *SAMPLE, *cache, "--quiet", "--shard", f"{k}/4",
             "--run-dir", str(tmp_path / f"shard{k}")],
            cwd=ROOT, env=_env(), stdout=subprocess.DEVNULL, stderr=subprocess.PIPE,
        )
        for k in (1, 2, 3, 4)
    ]
    for proc in procs:
        _, err = proc.communicate(timeout=300)
        assert proc.returncode == 0, err.decode()
    whole = tmp_path / "whole"
    assert main(["run", *SAMPLE, *cache, "--quiet", "--run-dir", str(whole)]) == 0
    merged = tmp_path / "merged"
    assert main(["merge", *(str(tmp_path / f"shard{k}") for k in (4, 2, 1, 3)), "--run-dir", str(merged),
                 "--quiet"]) == 0

    a, b = read_run(whole), read_run(merged)
    columns = [c for c in a.verdicts.columns if c not in TIMING]
    assert a.verdicts.height == b.verdicts.height == 24 * 2 * 2 * 2
    assert_frame_equal(a.verdicts.select(columns), b.verdicts.select(columns))
    assert _summary(whole) == _summary(merged)
    # The merged run's plan is the whole plan; its manifest lists its shards.
    assert b.manifest.plan.hash == a.manifest.plan.hash and b.manifest.plan.shard is None
    assert [s.shard for s in b.manifest.shards] == ["1/4", "2/4", "3/4", "4/4"]
    assert (merged / "report.html").exists()
    # The items tables are concatenated: the merged run's is the whole run's.
    items = [pl.read_parquet(d / "items.parquet").sort("item_id") for d in (whole, merged)]
    assert items[0].height == 24
    assert_frame_equal(items[0], items[1])
    # A merged run is not resumable; its shards are.
    assert main(["run", "--resume", str(merged), "--quiet"]) == 2


def _shard_run(tmp: Path, name: str, *extra: str) -> Path:
    run_dir = tmp / name
    assert main(["run", "--judge", "offline/lexicon", "--rubric", "sa-graded", "--sample", "12", "--seed", "1",
                 "--no-cache", "--quiet", "--run-dir", str(run_dir), *extra]) == 0
    return run_dir


def test_merge_refuses_what_is_not_one_whole_plan(tmp_path: Path) -> None:
    one, two = _shard_run(tmp_path, "one", "--shard", "1/2"), _shard_run(tmp_path, "two", "--shard", "2/2")
    with pytest.raises(ConfigError, match=r"shard 2/2 missing"):
        check_shards([one])
    with pytest.raises(ConfigError, match=r"given twice"):
        check_shards([one, two, one])
    other = _shard_run(tmp_path, "other", "--shard", "2/2", "--rubric", "ca-paper")
    with pytest.raises(ConfigError, match=r"another plan .*rubrics differ"):
        check_shards([one, other])
    three = _shard_run(tmp_path, "three", "--shard", "1/3")
    with pytest.raises(ConfigError, match=r"one of 3"):
        check_shards([one, three])
    whole = _shard_run(tmp_path, "whole")
    with pytest.raises(ConfigError, match="not a shard"):
        check_shards([whole, one])
    manifest = json.loads((two / "manifest.json").read_text())
    manifest["status"] = "interrupted"
    (two / "manifest.json").write_text(json.dumps(manifest))
    with pytest.raises(ConfigError, match=r"not finished; finish it with: empathy-judge run --resume"):
        check_shards([one, two])
    # The CLI says so in one line and exits 2, writing nothing.
    assert main(["merge", str(one), "--run-dir", str(tmp_path / "out")]) == 2
    assert not (tmp_path / "out").exists()


def test_resuming_a_shard_keeps_its_shard(tmp_path: Path) -> None:
    one = _shard_run(tmp_path, "one", "--shard", "1/2")
    assert main(["run", "--resume", str(one), "--quiet"]) == 0
    assert main(["run", "--resume", str(one), "--shard", "2/2", "--quiet"]) == 2


def test_merge_needs_no_dataset_when_the_shards_have_items_tables(tmp_path: Path) -> None:
    data = tmp_path / "data.jsonl"
    data.write_text("".join(json.dumps({"id": f"c{i}", "task": "counselling", "model": "m1",
                                        "source": f"My manager mocks me in every meeting, week {i}.",
                                        "response": "Try to stay positive."}) + "\n" for i in range(10)),
                    encoding="utf-8")
    shards = [_shard_run(tmp_path, f"s{k}", "--dataset", str(data), "--shard", f"{k}/2") for k in (1, 2)]
    data.unlink()  # e.g. the shards' artifacts downloaded onto another machine
    assert main(["merge", *map(str, shards), "--run-dir", str(tmp_path / "merged"), "--quiet"]) == 0
    merged = read_run(tmp_path / "merged")
    items = pl.read_parquet(tmp_path / "merged" / "items.parquet")
    assert sorted(items["item_id"].to_list()) == [f"c{i}" for i in range(10)]
    assert set(merged.verdicts["item_id"].to_list()) == set(items["item_id"].to_list())
    # A shard without an items table needs its dataset, and says so.
    (shards[1] / "items.parquet").unlink()
    with pytest.raises(RunDirError, match=r"s2: this shard has no items table and the dataset .* no longer on disk"):
        merge_runs(shards, tmp_path / "again")
    assert main(["merge", *map(str, shards), "--run-dir", str(tmp_path / "again2")]) == 2
