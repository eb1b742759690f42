"""Provider prompt caching: the cache_control breakpoint on Anthropic requests, cached and
cache-write tokens read from every route's usage, recorded per verdict and in the cost breakdown,
priced at LiteLLM's cache rates, and foreseen by the estimate."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import polars as pl
import pytest

from judge.cli.main import main
from judge.judging.pricing import Price, litellm_price, price_from_map
from judge.judging.prompt_cache import mark_stable_prefix
from judge.judging.usage import read_usage
from judge.stats.cost import cost_breakdown
from tests.providers import PromptCaching, ProviderServer

KEY_ENV = "FAKE_ANTHROPIC_KEY"
ITEMS = [
    {"id": f"n{i}", "task": "news", "model": "m1",
     "source": f"Three workers were killed when the scaffold fell on street {i}.",
     "response": f"An incident occurred at site {i}."}
    for i in range(5)
]


@pytest.fixture(autouse=True)
def _key(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv(KEY_ENV, "sk-ant-fake-key")


def _run(tmp: Path, server: ProviderServer, model: str, *, extra: str = "", name: str = "run") -> pl.DataFrame:
    data = tmp / "data.jsonl"
    data.write_text("".join(json.dumps(i) + "\n" for i in ITEMS), encoding="utf-8")
    base = server.root_url if model.startswith("anthropic/") else server.base_url
    config = tmp / f"{name}.yaml"
    config.write_text(f"judges:\n  - model: {model}\n    api_base: {base}\n    api_key_env: {KEY_ENV}\n"
                      f"    max_concurrency: 1\n{extra}", encoding="utf-8")
    run_dir = tmp / name
    assert main(["run", "--config", str(config), "--dataset", str(data), "--run-dir", str(run_dir), "--quiet",
                 "--no-cache", "--rubric", "sa-graded"]) == 0
    return pl.read_parquet(run_dir / "verdicts.parquet").sort("item_id")


def test_the_system_message_carries_the_breakpoint() -> None:
    messages = [{"role": "system", "content": "rubric"}, {"role": "user", "content": "item"}]
    marked = mark_stable_prefix(messages)
    assert marked[0]["content"] == [{"type": "text", "text": "rubric", "cache_control": {"type": "ephemeral"}}]
    assert marked[1] == messages[1] and messages[0]["content"] == "rubric"  # the input is not changed
    assert mark_stable_prefix([{"role": "user", "content": "x"}]) == [{"role": "user", "content": "x"}]


@pytest.mark.parametrize(
    ("usage", "expected"),
    [
        pytest.param({"prompt_tokens": 10, "completion_tokens": 2}, (10, 2, None, None), id="nothing-reported"),
        pytest.param({"prompt_tokens": 3600, "completion_tokens": 50, "prompt_tokens_details": {
            "cached_tokens": 1500, "cache_creation_tokens": 100}}, (3600, 50, 1500, 100), id="litellm-anthropic"),
        pytest.param({"prompt_tokens": 2000, "completion_tokens": 9, "prompt_tokens_details": {"cached_tokens": 0}},
                     (2000, 9, 0, None), id="openai-miss"),
        pytest.param({"input_tokens": 2000, "cache_read_input_tokens": 1500, "cache_creation_input_tokens": 100,
                      "output_tokens": 50}, (3600, 50, 1500, 100), id="anthropic-raw"),
        pytest.param(None, (None, None, None, None), id="none"),
    ],
)
def test_usage_is_read_the_same_way_for_every_route(usage: Any, expected: tuple[Any, ...]) -> None:
    u = read_usage(usage)
    assert (u.prompt_tokens, u.completion_tokens, u.cache_read_tokens, u.cache_write_tokens) == expected


def test_prices_come_with_cache_and_batch_rates() -> None:
    haiku = litellm_price("claude-haiku-4-5")
    assert haiku is not None
    assert (haiku.input_per_token, haiku.cache_read_per_token, haiku.cache_write_per_token) == (1e-06, 1e-07, 1.25e-06)
    assert (haiku.batch_input_per_token, haiku.batch_output_per_token) == (5e-07, 2.5e-06)
    # docs/PROVIDERS-WIRE.md's worked example: 2000 uncached + 1500 read + 100 written + 50 out.
    assert haiku.cost(3600, 50, cached=1500, cache_write=100) == pytest.approx(0.002525)
    mini = litellm_price("gpt-4o-mini")
    assert mini is not None and mini.cache_write_per_token is None
    assert mini.cost(2000, 10, cached=1536) == pytest.approx(464 * 1.5e-7 + 1536 * 7.5e-8 + 10 * 6e-7)
    # A missing batch cache rate falls back to the normal cache rate, never to something cheaper.
    assert mini.rates(batch=True) == (7.5e-08, 3e-07, 7.5e-08, 7.5e-08)
    # The worst case takes the dearest input rate: Anthropic's cache write.
    assert haiku.worst(1000, 10) == pytest.approx(1000 * 1.25e-06 + 10 * 5e-06)
    configured = price_from_map({"input_cost_per_token": 0.0, "output_cost_per_token": 0.0}, "config")
    assert configured == Price(0.0, 0.0, "config") and configured.free


def test_anthropic_reads_and_writes_are_recorded_and_priced(tmp_path: Path) -> None:
    with ProviderServer(prompt_caching=PromptCaching(min_tokens=50)) as server:
        v = _run(tmp_path, server, "anthropic/claude-haiku-4-5")
        systems = [r.body["system"] for r in server.requests if r.path == "/v1/messages"]
    assert all(s[-1]["cache_control"] == {"type": "ephemeral"} for s in systems)
    # max_concurrency 1: the first call writes the rubric's prefix, every later one reads it.
    writes, reads = v["cache_write_tokens"].to_list(), v["cache_read_tokens"].to_list()
    assert sorted(w > 0 for w in writes).count(True) == 1 and sorted(r > 0 for r in reads).count(True) == 4
    price = litellm_price("claude-haiku-4-5")
    assert price is not None
    for row in v.iter_rows(named=True):
        assert row["cost_usd"] == pytest.approx(price.cost(row["prompt_tokens"], row["completion_tokens"],
                                                           cached=row["cache_read_tokens"],
                                                           cache_write=row["cache_write_tokens"]))
    breakdown = cost_breakdown(v)
    assert breakdown["cache_read_tokens"] == sum(reads) and breakdown["cache_write_tokens"] == sum(writes)
    assert breakdown["by_judge"][0]["cache_read_tokens"] == sum(reads)


def test_cache_control_off_sends_no_breakpoint(tmp_path: Path) -> None:
    with ProviderServer(prompt_caching=PromptCaching(min_tokens=50)) as server:
        v = _run(tmp_path, server, "anthropic/claude-haiku-4-5", extra="    cache_control: false\n")
        systems = [r.body["system"] for r in server.requests if r.path == "/v1/messages"]
    assert all("cache_control" not in block for s in systems for block in s)
    assert v["cache_read_tokens"].to_list() == [0] * 5


def test_openai_cached_tokens_are_priced_at_the_cache_rate(tmp_path: Path) -> None:
    with ProviderServer(prompt_caching=PromptCaching(min_tokens=100, increment=32)) as server:
        v = _run(tmp_path, server, "openai/gpt-4o-mini")
    reads = v["cache_read_tokens"].to_list()
    assert reads[0] == 0 or sorted(reads)[0] == 0
    assert sum(r > 0 for r in reads) == 4
    price = litellm_price("gpt-4o-mini")
    assert price is not None
    for row in v.iter_rows(named=True):
        assert row["cost_usd"] == pytest.approx(price.cost(row["prompt_tokens"], row["completion_tokens"],
                                                           cached=row["cache_read_tokens"]))


def test_no_cache_information_stays_null_in_the_breakdown(tmp_path: Path) -> None:
    # The second row is a response-cache hit (``cached``): its provider figures were billed by an
    # earlier run, so they are not this run's, whatever they say.
    frame = pl.DataFrame({"judge": ["a", "a"], "rubric_id": ["r", "r"], "rubric_version": [1, 1],
                          "status": ["ok", "ok"], "cached": [False, True], "cost_usd": [0.0, 0.0],
                          "prompt_tokens": [1, 1], "completion_tokens": [1, 1], "cache_read_tokens": [None, 900],
                          "cache_write_tokens": [None, 0], "batch_id": [None, "batch_1"]},
                         schema_overrides={"cache_read_tokens": pl.Int64, "cache_write_tokens": pl.Int64,
                                           "batch_id": pl.String})
    breakdown = cost_breakdown(frame)
    assert breakdown["cache_read_tokens"] is None and breakdown["batched"] == 0
    billed = cost_breakdown(frame.with_columns(pl.lit(False).alias("cached")))
    assert billed["cache_read_tokens"] == 900 and billed["batched"] == 1


def test_the_estimate_foresees_the_cached_tokens(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    data = tmp_path / "data.jsonl"
    data.write_text("".join(json.dumps(i) + "\n" for i in ITEMS), encoding="utf-8")
    capsys.readouterr()
    assert main(["estimate", "--judge", "openai/gpt-4o-mini", "--dataset", str(data), "--rubric", "sa-graded",
                 "--runs-dir", str(tmp_path / "none"), "--json"]) == 0
    est = json.loads(capsys.readouterr().out)["judges"]["openai/gpt-4o-mini"]
    cache = est["prompt_cache"]["sa-graded"]
    assert cache["min_tokens"] == 1024 and cache["cached"] and cache["prefix_tokens"] >= 1024
    assert est["prompt_cached_tokens"] == 4 * cache["prefix_tokens"]
    assert est["batch_expected_usd"] < est["expected_usd"] < est["high_usd"]
    assert est["batch_high_usd"] == pytest.approx(est["high_usd"] / 2, rel=0.01)
    with ProviderServer(prompt_caching=PromptCaching(min_tokens=1024, increment=128)) as server:
        v = _run(tmp_path, server, "openai/gpt-4o-mini")
    # The fake counts tokens as characters / 4 and caches in steps of 128: close, not equal.
    assert v["cache_read_tokens"].sum() == pytest.approx(est["prompt_cached_tokens"], rel=0.25)
