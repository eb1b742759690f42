"""The fake server, checked through the real client stack (LiteLLM, openai) and raw HTTP."""

from __future__ import annotations

import asyncio
import http.client
import json
import socket
import subprocess
import sys
import time
from collections.abc import Coroutine
from pathlib import Path
from typing import Any, TypeVar

import jsonschema
import pytest

from tests.conftest import BlockedConnection
from tests.fakeserver import (
    GENERIC_VERDICT,
    Delay,
    Disconnect,
    FakeServer,
    FaultPlan,
    Fenced,
    Malformed,
    Reply,
    SchemaBreaking,
    Stall,
    Status,
    minimal_instance,
    with_fields,
)

T = TypeVar("T")
ROOT = Path(__file__).resolve().parent.parent

GRADED = {
    "type": "object",
    "properties": {
        "evidence": {
            "type": "array",
            "maxItems": 6,
            "items": {
                "type": "object",
                "properties": {
                    "side": {"enum": ["source", "response"]},
                    "quote": {"type": "string"},
                },
                "required": ["side", "quote"],
            },
        },
        "rationale": {"type": "string"},
        "severity": {"type": "integer", "minimum": 0, "maximum": 4},
        "overcorrection": {"type": "boolean"},
        "confidence": {"type": "number", "minimum": 0, "maximum": 1},
    },
    "required": ["evidence", "rationale", "severity", "overcorrection", "confidence"],
    "additionalProperties": False,
}
_COUNTS = {
    "type": "object",
    "properties": {k: {"type": "integer", "minimum": 0} for k in ("death", "violence", "injury")},
    "required": ["death", "violence", "injury"],
}
_FEATURES = {
    "type": "object",
    "properties": {
        k: {"type": "number", "minimum": 0, "maximum": 1}
        for k in ("passive_share", "nominalisation_density", "nonhuman_subject_share")
    },
    "required": ["passive_share", "nominalisation_density", "nonhuman_subject_share"],
}
SCHEMAS = {
    "graded": GRADED,
    "sa-paper": {
        "type": "object",
        "properties": {
            "rationale": {"type": "string"},
            "source_intensity": {"type": "number", "minimum": 0, "maximum": 1},
            "response_intensity": {"type": "number", "minimum": 0, "maximum": 1},
        },
        "required": ["rationale", "source_intensity", "response_intensity"],
    },
    "egm-paper": {
        "type": "object",
        "properties": {
            "rationale": {"type": "string"},
            "source_counts": {"type": "array", "items": _COUNTS, "minItems": 2},
            "response_counts": {"type": "array", "items": {"$ref": "#/$defs/counts"}},
        },
        "required": ["rationale", "source_counts", "response_counts"],
        "$defs": {"counts": _COUNTS},
    },
    "ca-paper": {
        "type": "object",
        "properties": {"rationale": {"type": "string"}, "label": {"enum": [0, 1]}},
        "required": ["rationale", "label"],
    },
    "ld-paper": {
        "type": "object",
        "properties": {
            "rationale": {"type": ["string", "null"], "minLength": 8},
            "source_features": _FEATURES,
            "response_features": _FEATURES,
        },
        "required": ["rationale", "source_features", "response_features"],
    },
}


def run(coro: Coroutine[Any, Any, T]) -> T:
    return asyncio.run(coro)


def response_format(schema: dict[str, Any] = GRADED) -> dict[str, Any]:
    return {"type": "json_schema", "json_schema": {"name": "x", "schema": schema, "strict": False}}


MESSAGES = [
    {"role": "system", "content": "You are a strict judge."},
    {"role": "user", "content": "<<<SOURCE>>>\nhello\n<<<END SOURCE>>>"},
]


@pytest.fixture(scope="module")
def litellm() -> Any:
    import litellm  # lazily: about 3 s, only for the tests that go through it

    litellm.suppress_debug_info = True
    return litellm


async def judge(litellm: Any, server: FakeServer, model: str = "judge-a", **kw: Any) -> Any:
    args: dict[str, Any] = {
        "model": f"openai/{model}",
        "api_base": server.base_url,
        "api_key": "sk-test",
        "messages": MESSAGES,
        "response_format": response_format(),
        "num_retries": 0,
        "max_retries": 0,
        "timeout": 5,
    }
    return await litellm.acompletion(**{**args, **kw})


def post(server: FakeServer, body: dict[str, Any], conn: http.client.HTTPConnection | None = None):
    conn = conn or http.client.HTTPConnection("127.0.0.1", server.port, timeout=5)
    conn.request("POST", "/v1/chat/completions", json.dumps(body), {"content-type": "x"})
    resp = conn.getresponse()
    return resp.status, dict(resp.getheaders()), json.loads(resp.read())


# --- the schema instance generator ----------------------------------------------------------


@pytest.mark.parametrize("name", sorted(SCHEMAS))
def test_minimal_instance_is_valid(name: str) -> None:
    jsonschema.validate(minimal_instance(SCHEMAS[name]), SCHEMAS[name])


def test_minimal_instance_choices() -> None:
    graded = minimal_instance(GRADED)
    assert graded == {
        "evidence": [],
        "rationale": "fake",
        "severity": 0,
        "overcorrection": False,
        "confidence": 0.5,
    }
    egm = minimal_instance(SCHEMAS["egm-paper"])
    assert egm["source_counts"] == [{"death": 0, "violence": 0, "injury": 0}] * 2
    assert minimal_instance({"type": "integer", "exclusiveMinimum": 2, "maximum": 9}) == 3
    assert minimal_instance({"const": "x"}) == "x"
    assert minimal_instance({"anyOf": [{"type": "boolean"}, {"type": "string"}]}) is False


# --- through LiteLLM ------------------------------------------------------------------------


def test_litellm_default_reply(litellm: Any, fake_server: FakeServer) -> None:
    resp = run(judge(litellm, fake_server))
    content = resp.choices[0].message.content
    jsonschema.validate(json.loads(content), GRADED)
    assert resp.model.endswith("judge-a")
    assert resp.choices[0].finish_reason == "stop"
    prompt_chars = sum(len(m["content"]) for m in MESSAGES)
    assert resp.usage.prompt_tokens == prompt_chars // 4
    assert resp.usage.completion_tokens == len(content) // 4
    (req,) = fake_server.requests
    assert req.path == "/v1/chat/completions"
    assert req.model == "judge-a"  # LiteLLM strips the provider prefix
    assert req.body["response_format"] == response_format()
    assert req.headers["authorization"] == "Bearer sk-test"


def test_litellm_scripted_reply_and_usage(litellm: Any, fake_server: FakeServer) -> None:
    usage = {"prompt_tokens": 1000, "completion_tokens": 20, "total_tokens": 1020}
    fake_server.script(Reply({"severity": 3}, usage=usage), model="judge-a")
    resp = run(judge(litellm, fake_server))
    assert json.loads(resp.choices[0].message.content) == {"severity": 3}
    assert (resp.usage.prompt_tokens, resp.usage.completion_tokens) == (1000, 20)


def test_litellm_429_retry_after_header(litellm: Any, fake_server: FakeServer) -> None:
    fake_server.script(Status(429, retry_after=2), model="judge-a")
    with pytest.raises(litellm.RateLimitError) as info:
        run(judge(litellm, fake_server))
    assert info.value.status_code == 429
    assert info.value.response.headers["retry-after"] == "2"
    assert fake_server.count() == 1  # num_retries=0 and max_retries=0: no hidden retries


@pytest.mark.parametrize(
    ("code", "exc_name"),
    [
        pytest.param(400, "BadRequestError", id="400"),
        pytest.param(401, "AuthenticationError", id="401"),
        pytest.param(500, "InternalServerError", id="500"),
        pytest.param(503, "ServiceUnavailableError", id="503"),
    ],
)
def test_litellm_status_mapping(
    litellm: Any, fake_server: FakeServer, code: int, exc_name: str
) -> None:
    fake_server.script(Status(code))
    with pytest.raises(getattr(litellm, exc_name)) as info:
        run(judge(litellm, fake_server))
    assert info.value.status_code == code
    assert "fake server: HTTP" in str(info.value)  # the OpenAI-style error message came through


def test_litellm_disconnect_is_a_500(litellm: Any, fake_server: FakeServer) -> None:
    # A dropped connection looks like a retryable 500, not an APIConnectionError.
    fake_server.script(Disconnect())
    with pytest.raises(litellm.InternalServerError, match="Connection error"):
        run(judge(litellm, fake_server))


@pytest.mark.parametrize(
    ("behaviour", "check"),
    [
        pytest.param(Malformed(), lambda t: t.startswith("Sure!"), id="malformed"),
        pytest.param(Fenced(), lambda t: "```json\n{" in t, id="fenced"),
        pytest.param(SchemaBreaking(), lambda t: "rationale" in json.loads(t), id="schema"),
    ],
)
def test_litellm_bad_content_arrives_as_text(
    litellm: Any, fake_server: FakeServer, behaviour: Any, check: Any
) -> None:
    fake_server.script(behaviour, model="judge-a")
    text = run(judge(litellm, fake_server)).choices[0].message.content
    assert check(text)
    if isinstance(behaviour, Fenced):
        inner = text.split("```json\n", 1)[1].split("\n```", 1)[0]
        jsonschema.validate(json.loads(inner), GRADED)
    elif isinstance(behaviour, Malformed):
        with pytest.raises(ValueError):
            json.loads(text)
    else:
        verdict = json.loads(text)
        assert "evidence" not in verdict  # first required key dropped
        assert verdict["severity"] == 9  # and the first bounded value out of range
        with pytest.raises(jsonschema.ValidationError):
            jsonschema.validate(verdict, GRADED)


def test_litellm_strict_script_runs_out_loudly(litellm: Any, fake_server: FakeServer) -> None:
    fake_server.script(Reply({"severity": 1}), model="judge-a")
    run(judge(litellm, fake_server))
    with pytest.raises(litellm.InternalServerError, match="script exhausted"):
        run(judge(litellm, fake_server))
    assert fake_server.script_errors == [
        "script exhausted for model 'judge-a' (request for model 'judge-a')"
    ]
    with pytest.raises(AssertionError, match="script exhausted"):
        fake_server.check()
    assert len(fake_server.take_errors()) == 1  # claimed, so the fixture's teardown passes


def test_litellm_stall_times_out(litellm: Any, fake_server: FakeServer) -> None:
    fake_server.script(Stall())
    start = time.monotonic()
    with pytest.raises(litellm.Timeout):
        run(judge(litellm, fake_server, timeout=0.5))
    assert 0.4 < time.monotonic() - start < 3
    assert fake_server.requests[0].outcome == "stall"


def test_litellm_judges_can_disagree(litellm: Any, fake_server: FakeServer) -> None:
    fake_server.set_responder(with_fields(severity=4), model="judge-a")
    fake_server.set_responder(with_fields(severity=0, confidence=0.9), model="judge-b")

    async def both() -> list[Any]:
        return await asyncio.gather(
            judge(litellm, fake_server), judge(litellm, fake_server, "judge-b")
        )

    a, b = (json.loads(r.choices[0].message.content) for r in run(both()))
    assert (a["severity"], b["severity"], b["confidence"]) == (4, 0, 0.9)
    jsonschema.validate(a, GRADED)
    assert fake_server.count("judge-a") == fake_server.count("judge-b") == 1


# --- through the openai SDK -----------------------------------------------------------------


def test_openai_sdk(fake_server: FakeServer) -> None:
    import openai

    async def go() -> Any:
        client = openai.AsyncOpenAI(base_url=fake_server.base_url, api_key="sk-test", max_retries=0)
        async with client:
            return await client.chat.completions.create(
                model="judge-b", messages=MESSAGES, response_format=response_format()
            )

    resp = run(go())
    assert resp.model == "judge-b"
    jsonschema.validate(json.loads(resp.choices[0].message.content), GRADED)
    assert resp.usage is not None and resp.usage.total_tokens > 0


# --- raw HTTP: routing, keep-alive, scripts, faults, latency --------------------------------


def test_keep_alive_and_routes(fake_server: FakeServer) -> None:
    conn = http.client.HTTPConnection("127.0.0.1", fake_server.port, timeout=5)
    for _ in range(3):
        status, headers, body = post(fake_server, {"model": "m", "messages": []}, conn)
        assert status == 200 and headers["connection"] == "keep-alive"
        assert json.loads(body["choices"][0]["message"]["content"]) == GENERIC_VERDICT
    conn.request("GET", "/v1/models")
    models = json.loads(conn.getresponse().read())
    assert [m["id"] for m in models["data"]] == ["m"]
    conn.request("POST", "/chat/completions", json.dumps({"model": "m"}))
    assert conn.getresponse().read() and fake_server.count("m") == 4
    conn.request("POST", "/v1/embeddings", "{}")
    assert conn.getresponse().status == 404
    conn.close()


def test_script_precedence_and_non_strict_fallback(fake_server: FakeServer) -> None:
    fake_server.script(Status(503), model="a", strict=False)
    fake_server.script(Status(401), Status(400))
    codes = [post(fake_server, {"model": m})[0] for m in ("a", "a", "b", "b")]
    # a: its own script, then (non-strict, empty) the global one; b: the global one, now empty.
    assert codes == [503, 401, 400, 500]
    assert "global script" in fake_server.take_errors()[0]
    fake_server.reset()
    assert fake_server.requests == [] and post(fake_server, {"model": "a"})[0] == 200


def test_delay_and_latency(fake_server: FakeServer) -> None:
    fake_server.latency_ms = 50
    fake_server.script(Delay(100, then=Status(429, retry_after=0.25)))
    start = time.monotonic()
    status, headers, _ = post(fake_server, {"model": "m"})
    assert status == 429 and headers["retry-after"] == "0.25"
    assert time.monotonic() - start >= 0.15


def test_responder_error_is_loud(fake_server: FakeServer) -> None:
    fake_server.set_responder(lambda body: 1 / 0)
    assert post(fake_server, {"model": "m"})[0] == 500
    errors = fake_server.take_errors()
    assert len(errors) == 1 and "ZeroDivisionError" in errors[0]


def test_peak_in_flight(fake_server: FakeServer) -> None:
    fake_server.latency_ms = 100

    async def burst() -> None:
        async def one() -> None:
            reader, writer = await asyncio.open_connection("127.0.0.1", fake_server.port)
            body = b'{"model": "m"}'
            head = f"POST /v1/chat/completions HTTP/1.1\r\ncontent-length: {len(body)}\r\n\r\n"
            writer.write(head.encode() + body)
            await reader.readuntil(b"\r\n\r\n")
            writer.close()

        await asyncio.gather(*(one() for _ in range(5)))

    run(burst())
    assert fake_server.peak_in_flight() == fake_server.peak_in_flight("m") == 5


def test_fault_plan_is_seeded_and_order_independent() -> None:
    plan = FaultPlan(p429=0.3, p500=0.1, p_malformed=0.1, retry_after=0.05, seed=7)
    keys = [f"judge|{i}|0" for i in range(2000)]
    draws = [plan.draw(k) for k in keys]
    assert [plan.draw(k) for k in reversed(keys)] == draws[::-1]
    n429 = sum(isinstance(d, Status) and d.code == 429 for d in draws)
    assert 500 < n429 < 700
    assert all(d.retry_after == 0.05 for d in draws if isinstance(d, Status) and d.code == 429)
    assert FaultPlan.parse("p429=0.3,p500=0.1,p_malformed=0.1,retry_after=0.05,seed=7") == plan


@pytest.mark.parametrize(
    "kwargs",
    [pytest.param({"p429": 1.2}, id="above-1"), pytest.param({"p429": 0.6, "p500": 0.6}, id="sum")],
)
def test_fault_plan_rejects_bad_probabilities(kwargs: dict[str, float]) -> None:
    with pytest.raises(ValueError, match="sum to <= 1"):
        FaultPlan(**kwargs)


def test_fault_plan_on_server_retries_draw_afresh() -> None:
    with FakeServer(fault_plan=FaultPlan(p500=0.5, seed=1)) as server:
        codes = [post(server, {"model": "m", "n": 1})[0] for _ in range(40)]
    assert set(codes) == {200, 500}  # the same body, retried, does not fail forever


def test_command_line_server() -> None:
    proc = subprocess.Popen(
        [sys.executable, "-m", "tests.fakeserver", "--port", "0", "--print-port"],
        cwd=ROOT,
        stdout=subprocess.PIPE,
        text=True,
    )
    try:
        assert proc.stdout is not None
        port = int(proc.stdout.readline())
        conn = http.client.HTTPConnection("127.0.0.1", port, timeout=5)
        conn.request("POST", "/v1/chat/completions", json.dumps({"model": "m"}))
        assert conn.getresponse().status == 200
    finally:
        proc.terminate()
    assert proc.wait(timeout=5) == 0


# --- the conftest guards --------------------------------------------------------------------


def test_env_is_clean() -> None:
    import os

    assert not [k for k in os.environ if k.endswith("_API_KEY") or k.startswith("OPENAI_")]
    assert os.environ["LITELLM_MODE"] == "PRODUCTION"


@pytest.mark.allow_network_attempts
def test_non_loopback_connect_is_blocked() -> None:
    with socket.socket() as sock, pytest.raises(BlockedConnection):
        sock.connect(("192.0.2.1", 80))  # TEST-NET-1, never routable
    with socket.socket() as sock, pytest.raises(BlockedConnection):
        sock.connect_ex(("example.com", 443))


def test_keep_requests_bounds_memory_not_counts() -> None:
    with FakeServer(keep_requests=2) as server:
        for i in range(5):
            post(server, {"model": "m", "i": i})
        assert [r.body["i"] for r in server.requests] == [3, 4]
        assert server.count() == server.count("m") == 5


def test_model_names_accept_the_litellm_prefix(fake_server: FakeServer) -> None:
    fake_server.script(Status(418), model="openai/judge-a")
    assert post(fake_server, {"model": "judge-a"})[0] == 418
    assert fake_server.count("openai/judge-a") == 1 and fake_server.pending_script("judge-a") == 0
