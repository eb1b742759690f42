"""The LiteLLM client as the registry's default backend: keys, provider checks, prices."""

from __future__ import annotations

import pytest

from judge.core.errors import ConfigError
from judge.inputs.config import JudgeConfig
from judge.judging.litellm_client import LiteLLMJudge, bootstrap_litellm, providers_from_source, resolve_api_key
from judge.judging.pricing import price_for
from judge.judging.registry import build_judges


def test_api_keys(monkeypatch: pytest.MonkeyPatch) -> None:
    named = JudgeConfig(model="openai/x", api_key_env="MY_JUDGE_KEY")
    with pytest.raises(ConfigError, match=r"MY_JUDGE_KEY .* is not set"):
        resolve_api_key(named)
    monkeypatch.setenv("MY_JUDGE_KEY", "sk-canary")
    assert resolve_api_key(named) == "sk-canary"
    with pytest.raises(ConfigError, match="no API key"):
        resolve_api_key(JudgeConfig(model="openai/x"))
    assert resolve_api_key(JudgeConfig(model="openai/x", api_base="http://127.0.0.1:9/v1")) == "sk-no-key-needed"
    monkeypatch.setenv("OPENAI_API_KEY", "sk-env")
    assert resolve_api_key(JudgeConfig(model="openai/x")) == "sk-env"
    judge = build_judges([JudgeConfig(model="openai/x")])[0]
    assert isinstance(judge, LiteLLMJudge) and "sk-env" not in repr(judge)


def test_unknown_provider_and_offline_judge() -> None:
    typo = r"judge 'opneai/gpt': unknown provider 'opneai' \(did you mean 'openai'\?\)"
    with pytest.raises(ConfigError, match=typo):
        build_judges([JudgeConfig(model="opneai/gpt")])
    with pytest.raises(ConfigError, match="unknown offline judge 'vibes'"):
        build_judges([JudgeConfig(model="offline/vibes")])


def test_a_provider_outside_the_common_list_is_checked_against_litellms() -> None:
    # "replicate" is a LiteLLM provider but not one of the few accepted without looking.
    (judge,) = build_judges([JudgeConfig(model="replicate/some-model", api_key_env=None)])
    assert isinstance(judge, LiteLLMJudge)


def test_config_prices_come_before_the_price_map() -> None:
    price = price_for(JudgeConfig(model="openai/local", input_cost_per_token=0, output_cost_per_token=2e-6))
    assert price is not None and price.source == "config" and price.output_per_token == 2e-6


def test_provider_names_read_from_source_match_litellm() -> None:
    names = providers_from_source()
    litellm = bootstrap_litellm()
    assert names is not None
    assert set(names) == {str(getattr(p, "value", p)) for p in litellm.provider_list}
