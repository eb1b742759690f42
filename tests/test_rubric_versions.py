"""Several versions of one rubric in one run (rubric iteration): kept apart everywhere.

The verdict key, the resume identity and bookkeeping, the summary's sections and both views all
name a rubric by id and version, so ``--rubric sa-graded@1 --rubric sa-graded@2`` judges every item
under each version and reports them side by side. Offline panel, bundled sample set, real CLI.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

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


# --- is the new version better? agreement with gold per version, and the paired difference -----

V2_MARKER = "Everything between a line <<<NAME>>>"  # only graded-v2's system prompt says this
GOLD = [k % 5 for k in range(40)]


def gold_items(path: Path) -> Path:
    rows = [{"id": f"g{k:02d}", "task": "news", "model": "m1", "gold_sentiment_attenuation": g,
             "source": f"Fire killed three on Harrow Street; neighbours wept. [gold {g}] [case {k}]",
             "response": f"A fire occurred. [case {k}]"} for k, g in enumerate(GOLD)]  # fmt: skip
    path.write_text("".join(json.dumps(r) + "\n" for r in rows), encoding="utf-8")
    return path


def gold_reply(body: dict[str, Any]) -> dict[str, Any]:
    """Version 2 says the gold level; version 1 says it only one time in three (else 4 - gold)."""
    import re

    from tests.fakeserver import GENERIC_VERDICT_V2

    user = body["messages"][-1]["content"]
    gold = int(re.search(r"\[gold (\d)\]", user).group(1))  # type: ignore[union-attr]
    case = int(re.search(r"\[case (\d+)\]", user).group(1))  # type: ignore[union-attr]
    v2 = V2_MARKER in body["messages"][0]["content"]
    return {**GENERIC_VERDICT_V2, "severity": gold if v2 or case % 3 == 0 else 4 - gold}


def judge_with(tmp_path: Path, name: str, *rubrics: str) -> Path:
    from tests.fakeserver import FakeServer

    with FakeServer(responder=gold_reply) as server:
        config = tmp_path / f"{name}.yaml"
        config.write_text("judges:\n" + "".join(f"  - model: openai/{m}\n    api_base: {server.base_url}\n"
                                                for m in ("judge-a", "judge-b")), encoding="utf-8")  # fmt: skip
        run_dir = tmp_path / name
        args = ["run", "--config", str(config), "--dataset", str(gold_items(tmp_path / "gold.jsonl")),
                "--run-dir", str(run_dir), "--quiet", "--no-cache"]  # fmt: skip
        assert main([*args, *[a for r in rubrics for a in ("--rubric", r)]]) == 0
    return run_dir


def test_one_run_says_which_version_agrees_better_with_gold(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    run_dir = judge_with(tmp_path, "both", *VERSIONS)
    summary = read_run(run_dir).summary
    assert summary is not None
    (diff,) = summary.extra["version_differences"]
    assert (diff["rubric_id"], diff["version_a"], diff["version_b"], diff["n"]) == ("sa-graded", 1, 2, 40)
    assert diff["kappa_w_b"] == pytest.approx(1.0) and diff["mae_b"] == 0
    assert diff["kappa_w_diff_low"] > 0 and diff["mae_diff_high"] < 0  # v2 better, interval and all
    # The per-version values are those of the calibration section (one computation).
    panel = {r["rubric_version"]: r for r in summary.calibration if r["kind"] == "panel"}
    assert diff["kappa_w_a"] == pytest.approx(panel[1]["kappa_w"]) and diff["mae_b"] == panel[2]["mae"]
    capsys.readouterr()
    assert main(["report", str(run_dir)]) == 0
    line = next(x for x in capsys.readouterr().out.splitlines() if "agrees better" in x)
    assert line.strip().startswith("sa-graded@2 agrees better with gold than sa-graded@1: weighted kappa +")
    page = (run_dir / "report.html").read_text(encoding="utf-8")
    assert "Rubric versions against gold" in page and "agrees better with gold than" in page
    assert 'data-key="/version_differences/0/kappa_w_diff"' in page


def test_compare_across_runs_says_which_version_agrees_better(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    v1 = judge_with(tmp_path, "v1", "sa-graded@1")
    v2 = judge_with(tmp_path, "v2", "sa-graded@2")
    capsys.readouterr()
    assert main(["compare", str(v1), str(v2), "--allow-rubric-change", "--json"]) == 0
    calibration = json.loads(capsys.readouterr().out)["calibration"]
    assert [r["rubric_version"] for r in calibration["baseline"]] == [1]
    assert [r["rubric_version"] for r in calibration["new"]] == [2]
    (diff,) = calibration["differences"]
    assert (diff["baseline_version"], diff["rubric_version"], diff["n"]) == (1, 2, 40)
    assert diff["kappa_w_diff_low"] > 0
    assert main(["compare", str(v1), str(v2), "--allow-rubric-change"]) == 0
    out = capsys.readouterr().out
    assert "### Agreement with gold labels (panel)" in out
    assert "- sa-graded@2 (new) agrees better with gold than sa-graded@1 (baseline): weighted kappa +" in out
