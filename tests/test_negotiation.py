"""Response-format negotiation: a judge finds the structured-output form its server takes.

Every test goes through our client (LiteLLM, real HTTP) or the CLI against the loopback server,
which refuses chosen forms the way real servers do (llama-cpp-python's 500 for json_schema, a
400 or 422 naming the parameter elsewhere).
"""

from __future__ import annotations

import asyncio
import json
from pathlib import Path
from typing import Any

import polars as pl
import pytest

from judge.cli.main import main
from judge.core import paths
from judge.inputs.config import JudgeConfig
from judge.inputs.dataset import open_dataset
from judge.inputs.prompts import PromptLibrary
from judge.inputs.rubrics import select
from judge.judging.litellm_client import LiteLLMJudge
from judge.judging.protocol import CallContext, Completion, JudgeCallError, JudgeRequest
from judge.judging.registry import build_judge
from tests.fakeserver import FakeServer, Status, format_mode
from tests.reliability_helpers import items, write_dataset

STEPS = ("json_schema", "json_object_schema", "json_object", "none")


def request_for(rubric_id: str = "sa-graded", index: int = 0) -> JudgeRequest:
    (rubric,) = select(paths.rubrics_dir(), [rubric_id])
    item = list(open_dataset(paths.sample_dataset()).items())[index]
    messages = PromptLibrary(paths.prompts_dir()).render(rubric, item)
    context = CallContext(item.id, item.content_hash, rubric.id, rubric.hash, "p", "s", repeat=0)
    return JudgeRequest(messages, rubric, item, context, max_tokens=rubric.max_tokens)


def client(server: FakeServer, **extra: Any) -> LiteLLMJudge:
    config = JudgeConfig(model="openai/judge-a", api_base=server.base_url, timeout_s=5, **extra)
    judge = build_judge(config)
    assert isinstance(judge, LiteLLMJudge)
    return judge


def modes_sent(server: FakeServer) -> list[str]:
    return [format_mode(r.body) for r in server.requests if isinstance(r.body, dict)]


@pytest.mark.parametrize(
    ("refused", "status", "message", "lands_on"),
    [
        pytest.param(STEPS[:1], 500, None, "json_object_schema", id="llama.cpp-500"),
        pytest.param(STEPS[:2], 400, "unknown field 'schema' in response_format", "json_object", id="400"),
        pytest.param(STEPS[:3], 422, "response_format is not supported by this server", "none", id="422"),
    ],
)
def test_each_step_of_the_ladder(
    fake_server: FakeServer, refused: tuple[str, ...], status: int, message: str | None, lands_on: str
) -> None:
    kwargs = {"status": status} if message is None else {"status": status, "message": message}
    fake_server.refuse_formats(*refused, **kwargs)
    judge = client(fake_server)
    request = request_for()
    first = asyncio.run(judge.complete(request))
    assert first.response_format == lands_on
    assert first.attempts == 1  # the refusals spent no retry attempt
    assert first.notice is not None and lands_on in first.notice and refused[-1] in first.notice
    assert modes_sent(fake_server) == [*refused, lands_on]  # each refused form tried exactly once
    negotiation = first.negotiation
    assert negotiation is not None and negotiation["mode"] == lands_on
    assert [r["mode"] for r in negotiation["rejected"]] == list(refused)
    if status == 500:  # the provider's whole message is kept, not its first line
        assert "Input should be 'text' or 'json_object'" in negotiation["rejected"][0]["error"]
    second = asyncio.run(judge.complete(request_for(index=1)))
    assert second.response_format == lands_on and second.notice is None  # said once
    assert modes_sent(fake_server)[-1] == lands_on and len(fake_server.requests) == len(refused) + 2
    body = fake_server.requests[-1].body
    if lands_on in ("json_object", "none"):
        # The server no longer sees the schema: the prompt carries it (the templates already do).
        system = body["messages"][0]["content"]
        assert '"required"' in system and system.count('"properties"') >= 1
    if lands_on == "none":
        assert "response_format" not in body


def test_prompt_without_the_schema_gets_it_when_the_server_does_not(fake_server: FakeServer) -> None:
    fake_server.refuse_formats(*STEPS[:3], status=400, message="response_format not supported")
    request = request_for()
    bare = JudgeRequest(
        [{"role": "system", "content": "Judge."}, request.messages[1]],
        request.rubric, request.item, request.context, request.max_tokens,
    )
    asyncio.run(client(fake_server).complete(bare))
    system = fake_server.requests[-1].body["messages"][0]["content"]
    assert system.startswith("Judge.\n\nReply with exactly one JSON object")
    assert json.loads(system.split("Schema, and nothing else:\n", 1)[1]) == request.rubric.schema


def test_an_explicit_mode_is_never_stepped_down(fake_server: FakeServer) -> None:
    fake_server.refuse_formats("json_schema")
    judge = client(fake_server, response_format="json_schema", max_attempts=4)
    errors = []
    for index in range(4):
        with pytest.raises(JudgeCallError) as caught:
            asyncio.run(judge.complete(request_for(index=index)))
        errors.append(caught.value)
    assert modes_sent(fake_server) == ["json_schema"] * 4  # no other form, and no retries
    assert all(e.attempts == 1 for e in errors)
    assert "rejected response_format json_schema" in str(errors[0]) and "response_format: auto" in str(errors[0])
    # The same final error call after call: the third one stops the judge.
    assert [e.fatal for e in errors] == [False, False, True, True]


def test_an_explicit_llama_cpp_mode_is_sent_as_is(fake_server: FakeServer) -> None:
    completion = asyncio.run(client(fake_server, response_format="json_object_schema").complete(request_for()))
    assert completion.response_format == "json_object_schema" and completion.notice is None
    fmt = fake_server.requests[0].body["response_format"]
    assert fmt == {"type": "json_object", "schema": request_for().rubric.schema}


def test_nothing_left_to_try_is_an_error_not_a_loop(fake_server: FakeServer) -> None:
    fake_server.refuse_formats(*STEPS[:3], status=400, message="response_format not supported")
    fake_server.script(Status(400, body={"error": {"message": "schema: this server takes no schema"}}), strict=False)
    with pytest.raises(JudgeCallError, match="takes no schema"):
        asyncio.run(client(fake_server).complete(request_for()))
    assert modes_sent(fake_server) == list(STEPS)


def test_a_500_that_does_not_name_the_format_is_retried_in_the_same_mode(fake_server: FakeServer) -> None:
    fake_server.script(Status(500), Status(503), strict=False)
    completion = asyncio.run(client(fake_server).complete(request_for()))
    assert completion.attempts == 3 and completion.response_format == "json_schema"
    assert modes_sent(fake_server) == ["json_schema"] * 3


def test_concurrent_calls_step_down_once(fake_server: FakeServer) -> None:
    fake_server.refuse_formats("json_schema")
    fake_server.latency_ms = 20
    judge = client(fake_server)

    async def many() -> list[Completion]:
        return await asyncio.gather(*(judge.complete(request_for(index=i)) for i in range(12)))

    completions = asyncio.run(many())
    assert modes_sent(fake_server).count("json_schema") == 1
    assert {c.response_format for c in completions} == {"json_object_schema"}
    assert sum(c.notice is not None for c in completions) == 1
    assert fake_server.peak_in_flight() > 1  # once settled, calls run concurrently again


def test_a_run_against_a_llama_cpp_like_server_needs_no_config(
    tmp_path: Path, fake_server: FakeServer, monkeypatch: pytest.MonkeyPatch
) -> None:
    """`empathy-judge run --judge openai/NAME` with only OPENAI_BASE_URL set, as a new user
    would try a local llama.cpp server: no retries burned, every verdict ok, temperature 0."""
    fake_server.refuse_formats("json_schema")
    monkeypatch.setenv("OPENAI_BASE_URL", fake_server.base_url)
    run_dir = tmp_path / "run"
    code = main([
        "run", "--judge", "openai/judge-a", "--dataset", str(write_dataset(tmp_path / "d.jsonl", items(4))),
        "--rubric", "sa-graded", "--rubric", "ca-paper", "--run-dir", str(run_dir), "--quiet",
    ])
    assert code == 0
    verdicts = pl.read_parquet(run_dir / "verdicts.parquet")
    # ca-paper does not apply to the news item: that row is skipped, with no call.
    skipped = verdicts.filter(pl.col("status") == "skipped")
    assert skipped["error"].str.starts_with("not applicable: ca-paper@").all()
    verdicts = verdicts.filter(pl.col("status") != "skipped")
    assert set(verdicts["status"]) == {"ok"}
    assert verdicts["attempts"].to_list() == [1] * verdicts.height
    assert verdicts["cost_usd"].null_count() == verdicts.height  # unpriced: no config gave a price
    assert modes_sent(fake_server).count("json_schema") == 1
    bodies = [r.body for r in fake_server.requests]
    assert all(b["temperature"] == 0 and b["seed"] == 0 for b in bodies)
    manifest = json.loads((run_dir / "manifest.json").read_text())
    (judge,) = manifest["judges"]
    assert judge["params"] == {"temperature": 0, "seed": 0} and judge["timeout_s"] == 300.0


def test_each_repeat_sends_its_own_seed(fake_server: FakeServer) -> None:
    from dataclasses import replace

    judge = client(fake_server, params={"temperature": 0.7})
    request = request_for()
    for repeat in (0, 1, 2):
        asyncio.run(judge.complete(replace(request, context=replace(request.context, repeat=repeat))))
    assert [(r.body["seed"], r.body["temperature"]) for r in fake_server.requests] == [(0, 0.7), (1, 0.7), (2, 0.7)]
