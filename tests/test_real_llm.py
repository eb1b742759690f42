"""A real model judges through the whole pipeline: llama-cpp-python's server with SmolLM2-135M.

Opt in with ``pytest -m real_llm`` (README, "A real model"); without the server package or the
model file the tests skip and say what to install. A 135M model is a poor judge: these tests
prove the real path (server, tokenizer, constrained decoding, context length, latency, the
exit code), never that its verdicts mean anything.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path

import jsonschema
import polars as pl
import pytest

from judge.cli.main import main
from judge.core import paths
from judge.inputs.rubrics import select
from tests.llama_server import ALIAS, LlamaServer, find_llama

pytestmark = pytest.mark.real_llm
RUBRICS = ("ca-paper", "sa-graded")


@pytest.fixture(scope="module")
def llama(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LlamaServer]:
    setup = find_llama()
    if setup.missing:
        pytest.skip(setup.missing)
    log = tmp_path_factory.mktemp("llama") / "server.log"
    with LlamaServer(setup, log=log) as server:
        yield server


def run(tmp_path: Path, *extra: str) -> tuple[int, Path]:
    run_dir = tmp_path / "run"
    code = main([
        "run", "--judge", f"openai/{ALIAS}", "--limit", "2", "--run-dir", str(run_dir), "--no-cache", "--quiet",
        *[a for r in RUBRICS for a in ("--rubric", r)], *extra,
    ])
    return code, run_dir


def test_a_new_users_run_negotiates_a_format_without_burning_retries(
    tmp_path: Path, llama: LlamaServer, monkeypatch: pytest.MonkeyPatch
) -> None:
    """`empathy-judge run --judge openai/smollm2` with only OPENAI_BASE_URL set, as the README says."""
    monkeypatch.setenv("OPENAI_BASE_URL", llama.base_url)
    code, run_dir = run(tmp_path)
    verdicts = pl.read_parquet(run_dir / "verdicts.parquet")
    assert verdicts.height == 2 * len(RUBRICS)
    # The server refused json_schema once; every verdict then took exactly one request.
    assert set(verdicts["status"]) <= {"ok", "invalid"}, verdicts["error"].to_list()
    assert verdicts["attempts"].to_list() == [1] * verdicts.height
    # Tokens as the server counted them; a model on this machine costs nothing.
    assert (verdicts["prompt_tokens"] > 500).all() and (verdicts["completion_tokens"] > 0).all()
    assert set(verdicts["cost_usd"].to_list()) == {0.0}
    schemas = {r.id: r.schema for r in select(paths.rubrics_dir(), list(RUBRICS))}
    for row in verdicts.iter_rows(named=True):
        if row["status"] == "ok":
            jsonschema.validate(json.loads(row["verdict"]), schemas[row["rubric_id"]])
        else:  # a real reply that did not validate is kept with its reason, never coerced
            assert row["raw_text"] and row["error"] and row["score"] is None
    manifest = json.loads((run_dir / "manifest.json").read_text())
    (judge,) = manifest["judges"]
    assert judge["params"] == {"temperature": 0, "seed": 0}
    assert code == 0 if (verdicts["status"] == "ok").any() else code != 0
