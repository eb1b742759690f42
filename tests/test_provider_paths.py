"""The provider paths people use, through our pipeline: `empathy-judge run` with an `anthropic/`,
`ollama_chat/` or `hosted_vllm/` judge against a loopback server that speaks that wire format
(tests/providers.py), yielding schema-valid verdicts with tokens and cost.

tests/test_providers_wire.py pins what LiteLLM itself sends and expects; this file checks that
our client, negotiation, retries, pricing and runner work on top of it.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import jsonschema
import polars as pl
import pytest
import yaml

from judge.cli.main import main
from judge.core import paths
from judge.inputs.rubrics import select
from tests.fakeserver import Status
from tests.providers import ProviderServer
from tests.reliability_helpers import items, write_dataset

RUBRICS = ("sa-graded", "ca-paper")


@pytest.fixture
def server(provider_server: ProviderServer) -> ProviderServer:
    return provider_server


def run(tmp_path: Path, judge: dict[str, Any], n_items: int = 3) -> tuple[int, pl.DataFrame, dict[str, Any]]:
    config = tmp_path / "judges.yaml"
    config.write_text(yaml.safe_dump({"judges": [{"timeout_s": 5, "max_concurrency": 2, **judge}]}), encoding="utf-8")
    run_dir = tmp_path / "run"
    code = main([
        "run", "--config", str(config), "--dataset", str(write_dataset(tmp_path / "d.jsonl", items(n_items))),
        "--run-dir", str(run_dir), "--quiet", *[a for r in RUBRICS for a in ("--rubric", r)],
    ])
    verdicts = pl.read_parquet(run_dir / "verdicts.parquet")
    # ca-paper does not apply to the news items: those rows are skipped, with no call; the rest
    # are what the provider answered.
    skipped = verdicts.filter(pl.col("status") == "skipped")
    assert skipped["error"].str.starts_with("not applicable: ca-paper@").all()
    judged = verdicts.filter(pl.col("status") != "skipped")
    return code, judged, json.loads((run_dir / "manifest.json").read_text())


def assert_valid_with_tokens_and_cost(verdicts: pl.DataFrame, *, free: bool) -> None:
    assert set(verdicts["status"]) == {"ok"}, verdicts["error"].to_list()
    schemas = {r.id: r.schema for r in select(paths.rubrics_dir(), list(RUBRICS))}
    for row in verdicts.iter_rows(named=True):
        jsonschema.validate(json.loads(row["verdict"]), schemas[row["rubric_id"]])
        assert row["prompt_tokens"] > 0 and row["completion_tokens"] > 0
        assert row["cost_usd"] is not None and (row["cost_usd"] == 0) is free
        assert row["attempts"] == 1


@pytest.mark.parametrize(
    ("model", "path", "native"),
    [
        pytest.param("anthropic/claude-haiku-4-5", "/v1/messages", True, id="claude-4.5-native-output-format"),
        pytest.param("anthropic/claude-3-5-haiku-latest", "/v1/messages", False, id="claude-3.5-forced-tool"),
    ],
)
def test_anthropic_messages(
    tmp_path: Path, server: ProviderServer, monkeypatch: pytest.MonkeyPatch, model: str, path: str, native: bool
) -> None:
    monkeypatch.setenv("EJ_ANTHROPIC_KEY", "sk-ant-test-key-0000000000")
    judge: dict[str, Any] = {"model": model, "api_base": server.root_url, "api_key_env": "EJ_ANTHROPIC_KEY"}
    if not native:  # not in LiteLLM's price map: priced by the config, as a user would
        judge.update(input_cost_per_token=1e-6, output_cost_per_token=5e-6)
    code, verdicts, manifest = run(tmp_path, judge)
    assert code == 0
    assert_valid_with_tokens_and_cost(verdicts, free=False)
    bodies = [r.body for r in server.requests if r.path == path]
    assert len(bodies) == verdicts.height
    for body in bodies:
        assert body["temperature"] == 0 and "seed" not in body  # Anthropic takes no seed
        assert ("output_format" in body) is native and ("tools" in body) is not native
    assert manifest["judges"][0]["params"] == {"temperature": 0}


def test_anthropic_529_overloaded_is_retried_after_its_retry_after(
    tmp_path: Path, server: ProviderServer, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("EJ_ANTHROPIC_KEY", "sk-ant-test-key-0000000000")
    server.script(Status(529, retry_after=0.4), strict=False)
    judge = {"model": "anthropic/claude-haiku-4-5", "api_base": server.root_url, "api_key_env": "EJ_ANTHROPIC_KEY",
             "max_concurrency": 1}  # fmt: skip
    code, verdicts, _ = run(tmp_path, judge, n_items=1)
    assert code == 0 and set(verdicts["status"]) == {"ok"}
    assert verdicts["attempts"].sum() == verdicts.height + 1
    (retried,) = verdicts.filter(pl.col("attempts") == 2).iter_rows(named=True)
    assert "overloaded" in retried["error"]  # the recovered verdict keeps the last error
    times = [r.monotonic for r in server.requests if r.path == "/v1/messages"]
    assert times[1] - times[0] >= 0.39  # Retry-After, read from litellm_response_headers


def test_ollama_chat(tmp_path: Path, server: ProviderServer) -> None:
    code, verdicts, manifest = run(tmp_path, {"model": "ollama_chat/qwen3:8b", "api_base": server.root_url})
    assert code == 0
    assert_valid_with_tokens_and_cost(verdicts, free=True)
    bodies = [r.body for r in server.requests if r.path == "/api/chat"]
    assert len(bodies) == verdicts.height
    for body in bodies:
        assert isinstance(body["format"], dict) and body["format"]["required"]  # the schema itself
        assert body["options"]["temperature"] == 0 and body["options"]["seed"] == 0
    assert manifest["judges"][0]["timeout_s"] == 5


def test_hosted_vllm(tmp_path: Path, server: ProviderServer) -> None:
    judge = {"model": "hosted_vllm/Qwen/Qwen3-8B", "api_base": server.base_url, "input_cost_per_token": 0,
             "output_cost_per_token": 0}  # fmt: skip
    code, verdicts, _ = run(tmp_path, judge)
    assert code == 0
    assert_valid_with_tokens_and_cost(verdicts, free=True)  # priced by the config, as the README says
    bodies = [r.body for r in server.requests if r.path == "/v1/chat/completions"]
    assert len(bodies) == verdicts.height
    for body in bodies:
        assert body["model"] == "Qwen/Qwen3-8B"
        assert body["response_format"]["type"] == "json_schema"  # taken as is: no step down
        assert body["temperature"] == 0 and body["seed"] == 0
