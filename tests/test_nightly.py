"""The nightly evaluation out of the box: .github/nightly.sh (what the workflow runs) with its
defaults, the shipped baseline, a first night without one, and a dataset of the user's own.

Each case runs the script as the workflow does, with the offline panel, against this checkout.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from judge.store.reader import read_run

ROOT = Path(__file__).resolve().parent.parent
SCRIPT = ROOT / ".github" / "nightly.sh"


def night(tmp_path: Path, name: str, **env: str) -> tuple[int, str, str]:
    """Run one night; returns the exit code, the job summary and GITHUB_OUTPUT's text."""
    summary, output = tmp_path / f"{name}.summary.md", tmp_path / f"{name}.output"
    variables = {
        **{k: v for k, v in os.environ.items() if not k.upper().endswith("_API_KEY")},
        "PYTHONPATH": str(ROOT), "EMPATHY_JUDGE": f"{sys.executable} -m judge",
        "RUN_DIR": str(tmp_path / name), "CACHED": str(tmp_path / "cache"), "SUMMARY": str(summary),
        "OUTPUT": str(output), **env,
    }  # fmt: skip
    proc = subprocess.run(["bash", str(SCRIPT)], cwd=ROOT, env=variables, capture_output=True, text=True, timeout=600)
    text = summary.read_text(encoding="utf-8") if summary.exists() else ""
    return proc.returncode, text, output.read_text(encoding="utf-8") if output.exists() else ""


@pytest.mark.skipif(shutil.which("bash") is None, reason="the nightly steps are a bash script")
def test_out_of_the_box_the_shipped_baseline_is_used_and_passes(tmp_path: Path) -> None:
    code, summary, output = night(tmp_path, "first")
    stale = ("the shipped baseline no longer matches what the offline panel says on the sample set (a rubric, "
             "the offline judges or the panel changed): refresh it as baselines/nightly/README.md says\n" + summary)
    assert code == 0, stale
    assert "**Gate: pass**" in summary and "`baselines/nightly` (completed)" in summary, stale
    assert "baseline_created" not in output
    # The shipped baseline is the offline panel on the bundled sample set, as the defaults are.
    baseline = read_run(ROOT / "baselines" / "nightly")
    assert [j.label for j in baseline.manifest.judges] == ["offline/lexicon", "offline/structure"]
    assert baseline.manifest.sample is not None and baseline.manifest.sample.seed == 20260101


@pytest.mark.skipif(shutil.which("bash") is None, reason="the nightly steps are a bash script")
def test_a_dataset_of_ones_own_makes_its_baseline_on_the_first_night(tmp_path: Path) -> None:
    own = {"DATASET": "judge/data/realistic.jsonl", "SAMPLE": "60"}
    code, summary, output = night(tmp_path, "first", **own)
    assert code == 0, summary
    # The pinned baseline was made for another dataset: named, not used; this night becomes it.
    assert "The pinned baseline `baselines/nightly` was made with another plan" in summary
    assert "datasets differ" in summary and "### No baseline to compare with yet" in summary
    assert "baseline_created=true" in output
    assert sorted(p.name for p in (tmp_path / "cache").iterdir()) == [
        "items.parquet", "manifest.json", "summary.json", "verdicts.parquet"]
    # The second night compares with it.
    code, summary, output = night(tmp_path, "second", **own)
    assert code == 0, summary
    assert "**Gate: pass**" in summary and f"`{tmp_path / 'cache'}` (completed)" in summary
    assert "baseline_created" not in output


@pytest.mark.skipif(shutil.which("bash") is None, reason="the nightly steps are a bash script")
def test_refresh_makes_the_run_the_new_baseline(tmp_path: Path) -> None:
    code, summary, output = night(tmp_path, "refresh", REFRESH="true", SAMPLE="40", PINNED=str(tmp_path / "none"))
    assert code == 0 and "baseline_created=true" in output and "No baseline to compare with yet" in summary
    assert read_run(tmp_path / "cache").manifest.sample.n == 40  # type: ignore[union-attr]


@pytest.mark.skipif(shutil.which("bash") is None, reason="the nightly steps are a bash script")
def test_a_failed_run_fails_the_night_with_its_table(tmp_path: Path) -> None:
    code, summary, _ = night(tmp_path, "bad", DATASET="no/such/file.jsonl")
    assert code == 2 and "### The nightly run failed (exit 2)" in summary and "no/such/file.jsonl" in summary
