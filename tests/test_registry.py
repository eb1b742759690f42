"""The judge registry: a backend registered under a prefix serves every judge with that prefix,
through the same runner, cache and budget as the built-in ones; an unknown prefix is a clean error."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path

import polars as pl
import pytest

from judge.cli.main import main
from judge.core.errors import ConfigError
from judge.inputs.config import JudgeConfig
from judge.judging.offline_backend import OfflineJudge
from judge.judging.pricing import Price, price_for
from judge.judging.protocol import Completion, JudgeRequest
from judge.judging.registry import backend_for, build_judges, prefixes, register_backend, unregister_backend


class LengthJudge:
    """Scores by response length, from the structured request alone: no prompt text is read."""

    def __init__(self, config: JudgeConfig) -> None:
        self.config = config
        self.requests: list[JudgeRequest] = []

    async def complete(self, request: JudgeRequest) -> Completion:
        self.requests.append(request)
        assert request.rubric.family == "graded", request.rubric.id
        verdict = {"abstain_reason": None, "evidence": [],
                   "rationale": f"{request.task} reply of {len(request.item.response)} chars",
                   "severity": len(request.item.response) % 5, "amplification": 0, "confidence": 0.5}  # fmt: skip
        return Completion(json.dumps(verdict), None, None, cost_usd=0.0, latency_ms=0.0, attempts=1)


class LengthBackend:
    def __init__(self) -> None:
        self.built: list[LengthJudge] = []

    def build(self, config: JudgeConfig) -> LengthJudge:
        self.built.append(LengthJudge(config))
        return self.built[-1]

    def price(self, config: JudgeConfig) -> Price:
        return Price(0.0, 0.0, "length")


@pytest.fixture
def length_backend() -> Iterator[LengthBackend]:
    backend = LengthBackend()
    register_backend("length", backend)
    yield backend
    unregister_backend("length")


def test_a_registered_backend_is_found_by_its_prefix(length_backend: LengthBackend) -> None:
    assert "length" in prefixes()
    assert backend_for("length/v1") is length_backend
    (judge,) = build_judges([JudgeConfig(model="length/v1")])
    assert judge is length_backend.built[0]
    assert price_for(JudgeConfig(model="length/v1")) == Price(0.0, 0.0, "length")
    assert isinstance(build_judges([JudgeConfig(model="offline/lexicon")])[0], OfflineJudge)


def test_a_registered_backend_judges_a_whole_run(tmp_path: Path, length_backend: LengthBackend) -> None:
    data = tmp_path / "data.jsonl"
    rows = [{"id": f"i{n}", "task": "counselling", "source": "I lost my job.", "response": "x" * n} for n in range(6)]
    data.write_text("".join(json.dumps(r) + "\n" for r in rows), encoding="utf-8")
    args = ["run", "--dataset", str(data), "--judge", "length/v1", "--rubric", "sa-graded", "--quiet",
            "--budget-usd", "1", "--cache-dir", str(tmp_path / "cache")]  # fmt: skip
    assert main([*args, "--run-dir", str(tmp_path / "a")]) == 0
    verdicts = pl.read_parquet(tmp_path / "a" / "verdicts.parquet").sort("item_id")
    assert verdicts["status"].to_list() == ["ok"] * 6
    assert verdicts["raw_score"].to_list() == [float(n % 5) for n in range(6)]
    (judge,) = length_backend.built
    assert {r.item.id for r in judge.requests} == {r["id"] for r in rows}
    # The response cache wraps the registered judge like any other: the second run asks it nothing.
    assert main([*args, "--run-dir", str(tmp_path / "b")]) == 0
    assert pl.read_parquet(tmp_path / "b" / "verdicts.parquet")["cached"].all()
    assert len(length_backend.built[-1].requests) == 0


@pytest.mark.parametrize(
    ("model", "needle"),
    [
        pytest.param("ofline/lexicon", "did you mean 'offline'?", id="near-a-registered-prefix"),
        pytest.param("lenght/v1", "did you mean 'length'?", id="near-a-test-backend"),
        pytest.param("opneai/gpt-4o", "did you mean 'openai'?", id="near-a-litellm-provider"),
    ],
)
def test_an_unknown_prefix_is_a_config_error_with_a_hint(
    length_backend: LengthBackend, model: str, needle: str
) -> None:
    with pytest.raises(ConfigError, match=f"judge '{model}': unknown provider") as info:
        build_judges([JudgeConfig(model=model)])
    assert needle in str(info.value)


def test_an_unknown_prefix_on_the_command_line_exits_2(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["run", "--judge", "ofline/lexicon", "--run-dir", str(tmp_path / "r"), "--quiet"]) == 2
    err = capsys.readouterr().err
    assert "unknown provider 'ofline'" in err and "did you mean 'offline'?" in err
    assert not (tmp_path / "r").exists()


def test_a_prefix_is_registered_once(length_backend: LengthBackend) -> None:
    with pytest.raises(ValueError, match="already registered"):
        register_backend("length", LengthBackend())
    with pytest.raises(ValueError, match="one path segment"):
        register_backend("a/b", LengthBackend())
