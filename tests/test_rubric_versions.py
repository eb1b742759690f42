"""Several versions of one rubric in one run (rubric iteration): kept apart everywhere.

The verdict key, the resume identity and bookkeeping, the summary's sections and both views all
name a rubric by id and version, so ``--rubric sa-graded@1 --rubric sa-graded@2`` judges every item
under each version and reports them side by side. Offline panel, bundled sample set, real CLI.
"""

from __future__ import annotations

import json
from pathlib import Path

import polars as pl
import pytest

from judge.cli.main import main
from judge.core.errors import RubricError
from judge.core.paths import rubrics_dir
from judge.inputs.rubrics import select
from judge.store.reader import read_run

VERSIONS = ["sa-graded@1", "sa-graded@2"]


def run_both(run_dir: Path, *extra: str) -> int:
    args = ["run", "--run-dir", str(run_dir), "--limit", "12", "--no-cache", "--quiet"]
    return main([*args, *[a for ref in VERSIONS for a in ("--rubric", ref)], *extra])


@pytest.fixture(scope="module")
def both(tmp_path_factory: pytest.TempPathFactory) -> Path:
    run_dir = tmp_path_factory.mktemp("versions") / "run"
    assert run_both(run_dir) == 0
    return run_dir


def test_both_versions_judge_every_item_under_their_own_key(both: Path) -> None:
    run = read_run(both)
    v = run.verdicts
    assert sorted(run.manifest.plan.rubrics) == VERSIONS
    assert v.group_by("rubric_version").len().sort("rubric_version")["len"].to_list() == [12 * 2, 12 * 2]
    assert v.select("item_id", "rubric_id", "rubric_version", "judge", "repeat").is_unique().all()


def test_the_summary_and_the_views_keep_the_versions_apart(both: Path, capsys: pytest.CaptureFixture[str]) -> None:
    summary = read_run(both).summary
    assert summary is not None
    assert sorted(summary.agreement) == VERSIONS
    for section in (summary.scores, summary.calibration, summary.judges, summary.invalid_rate,
                    summary.cost["by_rubric"], summary.extra["scores_by_model_overall"]):  # fmt: skip
        assert {(r["rubric_id"], r["rubric_version"]) for r in section} == {("sa-graded", 1), ("sa-graded", 2)}
    assert {r["rubric_version"] for r in summary.extra["score_distributions"]["rows"]} == {1, 2}
    capsys.readouterr()
    assert main(["report", str(both)]) == 0
    table = capsys.readouterr().out
    assert "sa-graded@1" in table and "sa-graded@2" in table
    page = (both / "report.html").read_text(encoding="utf-8")
    assert "sa-graded@1" in page and "sa-graded@2" in page


def test_resume_tells_the_versions_apart(both: Path, tmp_path: Path) -> None:
    """Only version 1's verdicts in the log: a resume judges all of version 2 (with a key without
    the version, version 1's rows would have passed for version 2's)."""
    run_dir = tmp_path / "run"
    run_dir.mkdir()
    for name in ("manifest.json", "dataset.jsonl"):
        if (both / name).exists():
            (run_dir / name).write_bytes((both / name).read_bytes())
    lines = (both / "verdicts.jsonl").read_text(encoding="utf-8").splitlines(keepends=True)
    kept = [line for line in lines if json.loads(line)["rubric_version"] == 1]
    (run_dir / "verdicts.jsonl").write_text("".join(kept), encoding="utf-8")
    manifest = json.loads((run_dir / "manifest.json").read_text())
    manifest["status"] = "interrupted"
    (run_dir / "manifest.json").write_text(json.dumps(manifest))
    assert main(["run", "--resume", str(run_dir), "--quiet"]) == 0
    v = read_run(run_dir).verdicts
    assert v.height == 48 and v.filter(pl.col("status") == "ok").height == 48
    logged = [json.loads(x) for x in (run_dir / "verdicts.jsonl").read_text(encoding="utf-8").splitlines()]
    assert sum(r["rubric_version"] == 2 for r in logged) == 24 and len(logged) == 48  # nothing judged twice


def test_one_version_twice_is_refused() -> None:
    with pytest.raises(RubricError, match="'sa-graded@3' selected twice"):
        select(rubrics_dir(), ["sa-graded@3", "sa-graded"])  # the latest is version 3
    assert [r.ref for r in select(rubrics_dir(), ["sa-graded@1", "sa-graded"])] == ["sa-graded@1", "sa-graded@3"]
