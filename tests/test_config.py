"""Run config parsing: typed judges, unknown keys, bad numbers, key hygiene."""

from __future__ import annotations

from pathlib import Path

import pytest

from judge.core.errors import ConfigError
from judge.inputs.config import DEFAULT_JUDGES, JudgeConfig, load_config, resolve_judges


def write(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "c.yaml"
    path.write_text(text, encoding="utf-8")
    return path


def test_full_config(tmp_path: Path) -> None:
    cfg = load_config(write(tmp_path, """
judges:
  - model: openai/gpt-4o-mini
    api_key_env: MY_KEY
    params: {temperature: 0, max_tokens: 300}
    max_concurrency: 4
    rpm: 60
  - name: local
    model: openai/qwen
    api_base: http://localhost:8000/v1
    input_cost_per_token: 0
    output_cost_per_token: 0
rubrics: [sa-graded@1]
repeats: 2
dataset: data.jsonl
"""))
    assert [j.label for j in cfg.judges] == ["openai/gpt-4o-mini", "local"]
    assert cfg.judges[0].params == {"temperature": 0, "max_tokens": 300, "seed": 0}
    assert cfg.repeats == 2 and cfg.rubrics == ["sa-graded@1"]
    assert cfg.dataset == tmp_path / "data.jsonl"


@pytest.mark.parametrize(
    ("text", "message"),
    [
        pytest.param(
            "judges: [{model: x, timout_s: 3}]",
            "unknown key 'timout_s' (did you mean 'timeout_s'?)", id="judge-key"),
        pytest.param("judgs: []", "unknown key 'judgs' (did you mean 'judges'?)", id="top-key"),
        pytest.param("judges: [{model: x, max_concurrency: 0}]", "judges[0].max_concurrency: 0 must be an integer > 0",
                     id="zero-concurrency"),
        pytest.param(
            "judges: [{model: x, timeout_s: -1}]", "judges[0].timeout_s: -1 must be a number > 0", id="negative"
        ),
        pytest.param("judges: [{model: x, timeout_s: ten}]", "'ten' must be a number", id="not-a-number"),
        pytest.param("judges: [{model: x, params: {temprature: 0}}]", "did you mean 'temperature'", id="param-typo"),
        pytest.param("judges: [{model: x, api_key_env: sk-abc123}]", "api_key_env", id="key-not-name"),
        pytest.param("judges: [{model: x}, {model: x}]", "appears twice", id="duplicate"),
        pytest.param("judges: [{model: x, response_format: xml}]", "must be one of auto", id="format"),
        pytest.param("judges: [{model: openai/x, api_base: 'file:///tmp/x'}]",
                     "judges[0].api_base: 'file:///tmp/x' is not an HTTP(S) URL", id="file-api-base"),
        pytest.param("judges: [{model: openai/x, api_base: 'ftp://127.0.0.1/v1'}]", "not an HTTP(S) URL", id="ftp"),
        pytest.param("judges: [{model: openai/x, api_base: 'localhost:8000/v1'}]", "not an HTTP(S) URL",
                     id="no-scheme"),
        pytest.param("repeats: 0", "repeats: 0 must be an integer > 0", id="repeats"),
        pytest.param("judges: [{model: x\n", "invalid YAML", id="yaml"),
        pytest.param("- a\n- b\n", "must be a YAML mapping", id="not-mapping"),
    ],
)
def test_bad_config_names_file_and_field(tmp_path: Path, text: str, message: str) -> None:
    path = write(tmp_path, text)
    with pytest.raises(ConfigError) as exc:
        load_config(path)
    assert str(path) in str(exc.value)
    assert message in str(exc.value)


def test_resolve_judges_defaults_and_cli(tmp_path: Path) -> None:
    assert [j.model for j in resolve_judges(None, [])] == list(DEFAULT_JUDGES)
    cfg = load_config(write(tmp_path, "judges: [{name: fast, model: openai/a, max_concurrency: 2}]"))
    assert resolve_judges(cfg, ["fast"])[0].max_concurrency == 2
    assert resolve_judges(cfg, ["openai/a"])[0].label == "fast"
    plain = resolve_judges(cfg, ["openai/b"])[0]
    assert plain.api_key_env is None and plain.max_concurrency == 8


def test_judge_hash_ignores_transport_but_not_sampling() -> None:
    a = JudgeConfig(model="openai/x", params={"temperature": 0})
    assert a.hash == JudgeConfig(model="openai/x", params={"temperature": 0}, api_base="http://h", timeout_s=5).hash
    assert a.hash != JudgeConfig(model="openai/x", params={"temperature": 0.7}).hash
    assert a.hash != JudgeConfig(model="openai/y", params={"temperature": 0}).hash


def test_judges_are_deterministic_by_default() -> None:
    """temperature 0 for every judge, and seed 0 where the provider takes one; both recorded in
    params (so in the manifest and the judge hash); the config's own values win."""
    assert JudgeConfig(model="openai/x").params == {"temperature": 0, "seed": 0}
    assert JudgeConfig(model="anthropic/claude-haiku-4-5").params == {"temperature": 0}  # takes no seed
    assert JudgeConfig(model="openai/x", params={"temperature": 0.7}).params == {"temperature": 0.7, "seed": 0}
    explicit = JudgeConfig(model="openai/x", params={"temperature": 0, "seed": 0})
    assert JudgeConfig(model="openai/x").hash == explicit.hash
    assert JudgeConfig(model="openai/x").hash != JudgeConfig(model="openai/x", params={"temperature": 1}).hash


def test_seed_providers_are_the_ones_litellm_sends_a_seed_to() -> None:
    from judge.inputs.config import SEED_PROVIDERS
    from judge.judging.litellm_client import COMMON_PROVIDERS, bootstrap_litellm

    litellm = bootstrap_litellm()
    for provider in sorted(COMMON_PROVIDERS | SEED_PROVIDERS):
        try:
            supported = litellm.get_supported_openai_params(model="m", custom_llm_provider=provider) or []
        except Exception:  # a provider that needs a real model name to answer: not in our list
            supported = []
        assert ("seed" in supported) == (provider in SEED_PROVIDERS), provider


def test_a_loopback_server_gets_a_longer_timeout_unless_one_is_set(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    cfg = load_config(write(tmp_path, """
judges:
  - {model: openai/a, api_base: 'http://127.0.0.1:8080/v1'}
  - {model: openai/b, api_base: 'http://localhost:8080/v1', timeout_s: 20}
  - {model: openai/c, api_base: 'https://api.example.com/v1'}
"""))
    assert [j.timeout_s for j in cfg.judges] == [300.0, 20, 60.0]
    monkeypatch.setenv("OPENAI_BASE_URL", "http://[::1]:8000/v1")
    assert resolve_judges(None, ["openai/local"])[0].timeout_s == 300.0
