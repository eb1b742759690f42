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


def counselling_items(path: Path, n: int = 2) -> Path:
    """The first ``n`` counselling items of the bundled sample set: every rubric applies to them."""
    with open(paths.sample_dataset(), encoding="utf-8") as fh:
        rows = [line for line in fh if json.loads(line)["task"] == "counselling"][:n]
    path.write_text("".join(rows), encoding="utf-8")
    return path


def run(tmp_path: Path, *extra: str) -> tuple[int, Path]:
    run_dir = tmp_path / "run"
    code = main([
        "run", "--judge", f"openai/{ALIAS}", "--dataset", str(counselling_items(tmp_path / "items.jsonl")),
        "--run-dir", str(run_dir), "--no-cache", "--quiet", *[a for r in RUBRICS for a in ("--rubric", r)], *extra,
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
    # Tokens as the server counted them; no config priced the model, so cost is unknown, not 0.
    assert (verdicts["prompt_tokens"] > 500).all() and (verdicts["completion_tokens"] > 0).all()
    assert verdicts["cost_usd"].null_count() == verdicts.height
    schemas = {r.id: r.schema for r in select(paths.rubrics_dir(), list(RUBRICS))}
    for row in verdicts.iter_rows(named=True):
        if row["status"] == "ok":
            jsonschema.validate(json.loads(row["verdict"]), schemas[row["rubric_id"]])
        else:  # a real reply that did not validate is kept with its reason, never coerced
            assert row["raw_text"] and row["error"] and row["score"] is None
    # llama.cpp's server refuses json_schema and takes its own json_object-with-schema form.
    assert set(verdicts["response_format"]) == {"json_object_schema"}
    manifest = json.loads((run_dir / "manifest.json").read_text())
    (judge,) = manifest["judges"]
    assert judge["params"] == {"temperature": 0, "seed": 0}
    (health,) = manifest["health"]["judges"]
    assert health["response_format"] == "json_object_schema"
    assert [r["mode"] for r in health["format_rejected"]] == ["json_schema"]
    assert "Input should be 'text' or 'json_object'" in health["format_rejected"][0]["error"]
    # The exit code tells the truth: 0 only when the judge delivered (a 135M model may not).
    assert (code, manifest["status"]) == ((0, "completed") if health["healthy"] else (5, "degraded"))


def test_an_explicit_format_the_server_refuses_fails_fast_and_degrades_the_run(
    tmp_path: Path, llama: LlamaServer
) -> None:
    config = tmp_path / "judges.yaml"
    judge = {"model": f"openai/{ALIAS}", "api_base": llama.base_url, "response_format": "json_schema",
             "max_concurrency": 1}  # fmt: skip
    config.write_text(json.dumps({"judges": [judge]}))  # JSON is YAML
    code, run_dir = run(tmp_path, "--config", str(config))
    verdicts = pl.read_parquet(run_dir / "verdicts.parquet")
    assert code == 5
    # Refused at once, never retried; the third identical refusal stops the judge.
    assert verdicts["status"].value_counts().sort("status").rows() == [("error", 3), ("skipped", 1)]
    assert verdicts.filter(pl.col("status") == "error")["attempts"].to_list() == [1, 1, 1]
    assert "set response_format: auto" in verdicts["error"][0]
