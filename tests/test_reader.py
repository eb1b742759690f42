"""Reading run directories back (judge/store/reader.py), upgrading old formats by named steps
(judge/store/upgrades.py), and one clear error for every damaged or foreign directory.

tests/data/run-v1 is a real version-1 run directory, written by empathy-judge at commit 2f805c8
(the last version-1 layout) with:
    empathy-judge run --dataset items.jsonl --sample 4 --seed 5 --rubric sa-graded --rubric ca-paper
                      --run-dir run-v1 --no-cache --quiet
where items.jsonl is tests/data/run-v1-items.jsonl (the first six rows of the bundled sample set).
report.html and the lock file were left out.

tests/data/run-v2 is a real version-2 run directory, written by empathy-judge at commit c3d2ad2 (the
last version-2 layout) with the same command and items (``--run-dir run-v2``).
"""

from __future__ import annotations

import json
import shutil
from collections.abc import Callable
from pathlib import Path

import polars as pl
import pytest

from judge.cli.main import main
from judge.core.errors import RunDirError
from judge.core.records import ADDED_COLUMNS, FORMAT_VERSION, VERDICT_COLUMNS, Manifest, Run, Summary, verdict_schema
from judge.store.reader import read_manifest, read_run
from judge.store.upgrades import UPGRADES

V1 = Path(__file__).parent / "data" / "run-v1"
V2 = Path(__file__).parent / "data" / "run-v2"


def copy_v1(tmp_path: Path) -> Path:
    run_dir = tmp_path / "run-v1"
    shutil.copytree(V1, run_dir)
    return run_dir


def test_upgrade_steps_are_named_and_reach_the_current_format() -> None:
    assert [name for name, _ in UPGRADES] == ["1->2", "2->3", "3->4", "4->5"]
    assert UPGRADES[-1][0].endswith(f"->{FORMAT_VERSION}")


def test_a_version_1_run_reads_as_the_current_records(tmp_path: Path) -> None:
    run = read_run(copy_v1(tmp_path))
    assert isinstance(run, Run) and isinstance(run.manifest, Manifest) and isinstance(run.summary, Summary)
    m = run.manifest
    assert m.format_version == FORMAT_VERSION and run.summary.format_version == FORMAT_VERSION
    assert run.status == "completed" and run.run_id == "run-v1"
    # The plan identity is rebuilt from what version 1 recorded, the cache mode from its argv.
    assert (m.plan.sample, m.plan.seed, m.plan.limit, m.plan.repeats) == (4, 5, None, 1)
    assert (m.plan.cache, m.plan.cache_dir) == ("off", None)
    # Version 3 keys the plan's rubrics by ref; the stored hash was checked before re-keying.
    assert sorted(m.plan.rubrics) == ["ca-paper@1", "sa-graded@2"] and m.plan.rubrics["sa-graded@2"].version == 2
    assert sorted(m.plan.judges) == ["offline/lexicon", "offline/structure"]
    assert m.plan.dataset == m.dataset.hash
    assert m.options is not None
    assert m.options.rubrics == ["sa-graded@2", "ca-paper@1"]
    assert m.options.judges == ["offline/lexicon", "offline/structure"]  # v1 stored [] for "not given"
    assert (m.options.sample, m.options.seed, m.options.cache) == (4, 5, "off")
    # Verdicts keep the one schema; the summary's sections are intact.
    assert run.verdicts.schema == pl.Schema(verdict_schema()) and run.verdicts.height == 16
    assert run.summary.counts["ok"] == 16 and "sa-graded@2" in run.summary.agreement
    # Every summary row that names a rubric gains its version.
    assert {(r["rubric_id"], r["rubric_version"]) for r in run.summary.scores} == {("sa-graded", 2), ("ca-paper", 1)}
    assert all(r["rubric_version"] == 2 for r in run.summary.judges if r["rubric_id"] == "sa-graded")
    # Columns added since (format 4: response_format) read as null; health was not recorded.
    assert run.verdicts["response_format"].null_count() == 16
    assert m.health is None and run.summary.health is None
    # Reading changes nothing on disk.
    assert json.loads((run.path / "manifest.json").read_text())["format_version"] == 1


def test_a_version_2_run_keys_its_rubrics_by_version(tmp_path: Path) -> None:
    run_dir = tmp_path / "run-v2"
    shutil.copytree(V2, run_dir)
    run = read_run(run_dir)
    assert run.manifest.format_version == FORMAT_VERSION and run.summary is not None
    assert sorted(run.manifest.plan.rubrics) == ["ca-paper@1", "sa-graded@2"]
    # Columns a later format added (5: amplification, evidence_found) read as null.
    n = run.verdicts.height
    assert run.verdicts["amplification"].null_count() == run.verdicts["evidence_found"].null_count() == n
    assert sorted(run.summary.agreement) == ["ca-paper@1", "sa-graded@2"]
    assert {(r["rubric_id"], r["rubric_version"]) for r in run.summary.calibration} == {("sa-graded", 2)}
    assert {(r["rubric_id"], r["rubric_version"]) for r in run.summary.cost["by_rubric"]} == {
        ("sa-graded", 2), ("ca-paper", 1)}
    # The re-keyed plan identity carries a fresh, valid hash; an edited v2 plan is still caught.
    again = Manifest.from_dict(json.loads(json.dumps(run.manifest.to_dict())))
    assert again.plan == run.manifest.plan
    data = json.loads((run_dir / "manifest.json").read_text())
    data["plan"]["repeats"] = 7
    (run_dir / "manifest.json").write_text(json.dumps(data))
    with pytest.raises(RunDirError, match=r"plan\.hash: does not match"):
        read_run(run_dir)


def test_the_upgraded_manifest_round_trips(tmp_path: Path) -> None:
    manifest = read_manifest(copy_v1(tmp_path))
    again = Manifest.from_dict(json.loads(json.dumps(manifest.to_dict())))
    assert again == manifest
    assert again.to_dict()["plan"]["hash"] == manifest.plan.hash


def test_cache_settings_of_a_version_1_run_come_from_its_argv(tmp_path: Path) -> None:
    run_dir = copy_v1(tmp_path)
    path = run_dir / "manifest.json"
    data = json.loads(path.read_text())
    data["argv"] = ["run", "--replay", "--cache-dir", str(tmp_path / "c")]
    path.write_text(json.dumps(data))
    plan = read_manifest(run_dir).plan
    assert (plan.cache, plan.cache_dir) == ("replay", str(tmp_path / "c"))
    data["argv"] = ["run"]
    path.write_text(json.dumps(data))
    plan = read_manifest(run_dir).plan
    assert (plan.cache, plan.cache_dir) == ("on", str((tmp_path / ".cache").resolve()))


def as_version_2(run_dir: Path, *, edit_plan: bool = False) -> dict:
    """Rewrite a current run's manifest as version 2 wrote it: no ``map`` in the options or the
    plan, the plan's rubrics keyed by id, and the plan's hash over the version-2 fields."""
    from judge.core.hashing import content_hash

    path = run_dir / "manifest.json"
    data = json.loads(path.read_text())
    data["format_version"] = 2
    del data["options"]["map"]
    plan = {k: v for k, v in data["plan"].items() if k not in ("map", "hash")}
    plan["rubrics"] = {ref.split("@")[0]: key for ref, key in plan["rubrics"].items()}
    data["plan"] = {**plan, "hash": content_hash(plan)}
    if edit_plan:
        data["plan"]["repeats"] = 5
    path.write_text(json.dumps(data))
    return data


def test_a_version_2_manifest_gains_an_empty_map(tmp_path: Path) -> None:
    run_dir = tmp_path / "run"
    assert main(["run", "--sample", "3", "--rubric", "sa-graded", "--run-dir", str(run_dir), "--quiet"]) == 0
    written = json.loads((run_dir / "manifest.json").read_text())
    as_version_2(run_dir)
    m = read_manifest(run_dir)
    assert m.format_version == FORMAT_VERSION and m.plan.map is None and m.options is not None and m.options.map is None
    assert m.plan.to_dict() == written["plan"]  # the same plan, hash included, as version 3 writes it
    assert main(["run", "--resume", str(run_dir), "--quiet"]) == 0  # and it resumes


def test_a_version_2_plan_edited_by_hand_is_still_caught(tmp_path: Path) -> None:
    run_dir = tmp_path / "run"
    assert main(["run", "--sample", "3", "--rubric", "sa-graded", "--run-dir", str(run_dir), "--quiet"]) == 0
    as_version_2(run_dir, edit_plan=True)
    with pytest.raises(RunDirError, match=r"plan\.hash: does not match the plan's fields"):
        read_manifest(run_dir)


def test_columns_read_only_what_is_asked(tmp_path: Path) -> None:
    run = read_run(copy_v1(tmp_path), columns=["item_id", "score"])
    assert run.verdicts.columns == ["item_id", "score"]
    assert read_run(copy_v1(tmp_path / "b"), columns=()).verdicts.width == 0


def _write(name: str, text: str | bytes) -> Callable[[Path], None]:
    def damage(run_dir: Path) -> None:
        target = run_dir / name
        if isinstance(text, bytes):
            target.write_bytes(text)
        else:
            target.write_text(text)

    return damage


def _edit_json(name: str, change: Callable[[dict], None]) -> Callable[[Path], None]:
    def damage(run_dir: Path) -> None:
        data = json.loads((run_dir / name).read_text())
        change(data)
        (run_dir / name).write_text(json.dumps(data))

    return damage


def _bad_parquet_schema(run_dir: Path) -> None:
    frame = pl.read_parquet(run_dir / "verdicts.parquet")
    frame.with_columns(pl.col("score").cast(pl.String)).write_parquet(run_dir / "verdicts.parquet")


def _foreign_parquet(run_dir: Path) -> None:
    pl.DataFrame({"a": [1, 2]}).write_parquet(run_dir / "verdicts.parquet")


def _truncated_parquet(run_dir: Path) -> None:
    data = (run_dir / "verdicts.parquet").read_bytes()
    (run_dir / "verdicts.parquet").write_bytes(data[: len(data) // 2])


def _and_no_log(damage: Callable[[Path], None]) -> Callable[[Path], None]:
    """A damaged Parquet table with no log to rebuild it from (with one, the log is read instead)."""

    def both(run_dir: Path) -> None:
        damage(run_dir)
        (run_dir / "verdicts.jsonl").unlink()

    return both


@pytest.mark.parametrize(
    ("damage", "expected"),
    [
        pytest.param(_write("manifest.json", "[1, 2]"), ("manifest.json", "JSON array", "run directory?"),
                     id="manifest-is-an-array"),
        pytest.param(_write("manifest.json", '{"format_version": 1'), ("manifest.json", "unreadable", "damaged"),
                     id="manifest-not-json"),
        pytest.param(lambda d: (d / "manifest.json").unlink(), ("manifest.json", "not found", "run directory?"),
                     id="manifest-missing"),
        pytest.param(_edit_json("manifest.json", lambda m: m.update(tool="other-tool")),
                     ("manifest.json", "not an empathy-judge manifest", "other-tool"), id="foreign-tool"),
        pytest.param(_edit_json("manifest.json", lambda m: m.update(format_version=99)),
                     ("manifest.json", "newer empathy-judge", "format 99"), id="newer-format"),
        pytest.param(_edit_json("manifest.json", lambda m: m.update(repeats="1")),
                     ("manifest.json", "repeats: must be an integer", "damaged"), id="manifest-wrong-type"),
        pytest.param(_edit_json("manifest.json", lambda m: m.update(status="done")),
                     ("manifest.json", "status: 'done' must be one of"), id="manifest-unknown-status"),
        pytest.param(_edit_json("manifest.json", lambda m: m["judges"][0].pop("label")),
                     ("manifest.json", "judges[0].label: must be a string"), id="judge-without-label"),
        pytest.param(_edit_json("summary.json", lambda s: s["counts"].update(total="16")),
                     ("summary.json", "counts.total: must be an integer", "run --resume"), id="summary-wrong-type"),
        pytest.param(_write("summary.json", '"a summary"'), ("summary.json", "JSON string", "not a run summary"),
                     id="summary-is-a-string"),
        pytest.param(_and_no_log(_bad_parquet_schema), ("verdicts.parquet",
                     "column 'score' is String, expected Float64", "run --resume"), id="parquet-wrong-type"),
        pytest.param(_and_no_log(_foreign_parquet), ("verdicts.parquet",
                     "missing columns item_id, task, model (and 26 more)", "unexpected column a"),
                     id="parquet-foreign"),
        pytest.param(_and_no_log(_write("verdicts.parquet", b"PAR1 not really")),
                     ("verdicts.parquet", "cannot be read as Parquet"), id="parquet-garbage"),
        pytest.param(_and_no_log(_truncated_parquet), ("verdicts.parquet", "cannot be read as Parquet"),
                     id="parquet-truncated"),
    ],
)
def test_damaged_or_foreign_run_directories_fail_with_one_clear_line(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], damage: Callable[[Path], None], expected: tuple[str, ...]
) -> None:
    run_dir = copy_v1(tmp_path)
    damage(run_dir)
    with pytest.raises(RunDirError) as info:
        read_run(run_dir)
    message = str(info.value)
    for part in expected:
        assert part in message, message
    assert "\n" not in message
    # Every command that reads a run reports it the same way: exit 2, one line, no traceback.
    assert main(["export", str(run_dir), "--output", str(tmp_path / "out.csv")]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "Traceback" not in err and expected[0] in err


@pytest.mark.parametrize(
    "damage", [_bad_parquet_schema, _foreign_parquet, _truncated_parquet, _write("verdicts.parquet", b"PAR1")]
)
def test_a_damaged_parquet_table_is_rebuilt_from_the_intact_log(
    tmp_path: Path, damage: Callable[[Path], None]
) -> None:
    """Issue 15 item 5: a truncated (or foreign) verdicts.parquet made report, export and compare
    fail although the log it is derived from was intact; readers now read the log instead."""
    run_dir = copy_v1(tmp_path)
    before = read_run(run_dir).verdicts
    damage(run_dir)
    after = read_run(run_dir).verdicts
    keys = ["item_id", "rubric_id", "judge", "repeat"]
    assert after.sort(keys).equals(before.sort(keys))
    assert main(["export", str(run_dir), "--output", str(tmp_path / "out.jsonl"), "--format", "jsonl"]) == 0
    assert len((tmp_path / "out.jsonl").read_text().splitlines()) == before.height


def test_not_a_directory(tmp_path: Path) -> None:
    with pytest.raises(RunDirError, match="no such run directory"):
        read_run(tmp_path / "nowhere")


def test_a_crashed_run_reads_from_its_log(tmp_path: Path) -> None:
    run_dir = copy_v1(tmp_path)
    (run_dir / "verdicts.parquet").unlink()
    (run_dir / "summary.json").unlink()
    with (run_dir / "verdicts.jsonl").open("ab") as fh:
        fh.write(b'{"item_id": "torn", "rubr')  # a crash mid-write
    run = read_run(run_dir)
    assert run.summary is None and run.verdicts.height == 16
    assert run.verdicts.columns == list(VERDICT_COLUMNS)


def test_an_older_run_reads_with_the_batch_cache_and_shard_fields_empty(tmp_path: Path) -> None:
    run_dir = tmp_path / "run-v2"
    shutil.copytree(V2, run_dir)
    run = read_run(run_dir)
    for column in ("cache_read_tokens", "cache_write_tokens", "batch_id", "deployment"):
        assert ADDED_COLUMNS[column] == FORMAT_VERSION and run.verdicts[column].null_count() == run.verdicts.height
    assert run.manifest.plan.shard is None and run.manifest.shards == []
    assert run.manifest.options is not None and run.manifest.options.batch is False
    assert "shard" not in run.manifest.plan.to_dict()  # an unsharded plan hashes as before shards existed
