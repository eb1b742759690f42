"""The offline judges as a registered backend: they judge from the structured request, so any
prompt template works for them, and a run whose judges are all offline never imports LiteLLM."""

from __future__ import annotations

import asyncio
import dataclasses
import shutil
import subprocess
import sys
from pathlib import Path

import polars as pl
import pytest

from judge.cli.main import main
from judge.core import paths
from judge.inputs.config import JudgeConfig
from judge.inputs.dataset import open_dataset
from judge.inputs.prompts import PromptLibrary
from judge.inputs.rubrics import select
from judge.judging.protocol import CallContext, JudgeCallError, JudgeRequest
from judge.judging.registry import build_judges
from tests.reliability_helpers import rubric_overlay

ROOT = Path(__file__).resolve().parent.parent
RUBRICS = ["sa-graded", "egm-paper", "ld-paper", "ca-graded"]
# A template with none of what the offline judges used to parse out of the prompt: no "Task:"
# line, no SOURCE or REFERENCE block; only the response, which the renderer always delimits.
BARE = 'system: "Judge the reply. Answer with JSON only: {{ schema }}"\nuser: "{{ response }}"\n'


def _request(rubric_id: str, messages: list[dict[str, str]] | None = None) -> JudgeRequest:
    (rubric,) = select(paths.rubrics_dir(), [rubric_id])
    item = next(open_dataset(paths.sample_dataset()).items())
    msgs = messages if messages is not None else PromptLibrary(paths.prompts_dir()).render(rubric, item)
    context = CallContext(item.id, item.content_hash, rubric.id, rubric.hash, "p", "s", repeat=0)
    return JudgeRequest(msgs, rubric, item, context)


def test_the_offline_judge_reads_the_request_not_the_messages() -> None:
    (judge,) = build_judges([JudgeConfig(model="offline/structure")])
    real = asyncio.run(judge.complete(_request("ld-paper")))
    blank = asyncio.run(judge.complete(_request("ld-paper", [{"role": "user", "content": "nothing here"}])))
    assert real.text == blank.text and real.cost_usd == 0.0 and real.attempts == 1
    assert real.prompt_tokens is not None and blank.prompt_tokens is not None
    assert real.prompt_tokens > blank.prompt_tokens  # the token columns still follow the prompt's size


def test_a_rubric_the_offline_judges_do_not_answer_is_a_call_error() -> None:
    (judge,) = build_judges([JudgeConfig(model="offline/lexicon")])
    request = _request("sa-graded")
    request = dataclasses.replace(request, rubric=dataclasses.replace(request.rubric, family="toy"))
    with pytest.raises(JudgeCallError, match=r"offline judge 'lexicon': .*no verdict for toy rubrics") as info:
        asyncio.run(judge.complete(request))
    assert info.value.status == 400 and not info.value.fatal


def test_a_template_without_the_old_markers_still_judges_offline(tmp_path: Path) -> None:
    prompts = tmp_path / "prompts"
    shutil.copytree(paths.prompts_dir(), prompts)
    (prompts / "bare.yaml").write_text(BARE, encoding="utf-8")
    rubrics = rubric_overlay(tmp_path / "rubrics", lambda text: "\n".join(
        "prompt: bare" if line.startswith("prompt:") else line for line in text.splitlines()), RUBRICS)  # fmt: skip
    common = ["run", "--limit", "12", "--quiet", "--no-cache", *[a for r in RUBRICS for a in ("--rubric", r)]]
    assert main([*common, "--run-dir", str(tmp_path / "shipped")]) == 0
    assert main([*common, "--run-dir", str(tmp_path / "bare"), "--rubrics-dir", str(rubrics),
                 "--prompts-dir", str(prompts)]) == 0  # fmt: skip
    keys = ["item_id", "rubric_id", "judge"]
    shipped = pl.read_parquet(tmp_path / "shipped" / "verdicts.parquet").sort(keys)
    bare = pl.read_parquet(tmp_path / "bare" / "verdicts.parquet").sort(keys)
    judged = bare.filter(pl.col("status") != "skipped")
    assert judged["status"].unique().to_list() == ["ok"]
    assert bare.filter(pl.col("status") == "skipped")["error"].str.starts_with("not applicable: ").all()
    assert bare.height == shipped.height > 0
    assert bare["prompt_hash"].unique().to_list() != shipped["prompt_hash"].unique().to_list()
    for column in ("score", "raw_score", "verdict"):
        assert bare[column].to_list() == shipped[column].to_list(), column


def test_an_offline_run_never_imports_litellm(tmp_path: Path) -> None:
    code = (
        "import sys; from judge.cli.main import main\n"
        f"code = main(['run', '--limit', '5', '--quiet', '--budget-usd', '1', '--run-dir', {str(tmp_path / 'r')!r}])\n"
        "print('CODE', code, 'LITELLM', 'litellm' in sys.modules)"
    )
    env = {"PYTHONPATH": str(ROOT), "PATH": "/usr/bin:/bin"}
    proc = subprocess.run(
        [sys.executable, "-c", code], cwd=tmp_path, env=env, capture_output=True, text=True, timeout=300
    )
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout.strip().splitlines()[-1] == "CODE 0 LITELLM False"
