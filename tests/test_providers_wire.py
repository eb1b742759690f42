"""Real LiteLLM calls over real HTTP against tests/providers.py: what goes over the wire, where
the verdict lands, usage, cost and error mapping for anthropic/, ollama_chat/, hosted_vllm/ and
the OpenAI Files/Batches API. docs/PROVIDERS-WIRE.md writes the findings up."""

from __future__ import annotations

import asyncio
import http.client
import json
import socket
from collections.abc import Coroutine
from typing import Any, TypeVar, cast

import jsonschema
import openai
import pytest

from tests.fakeserver import Delay, Malformed, Reply, Stall, Status, with_fields
from tests.providers import BatchPlan, DropAfter, PromptCaching, ProviderServer
from tests.test_fakeserver import SCHEMAS

T = TypeVar("T")

# Closed objects everywhere: LiteLLM sends this to Claude 4.5 models as native output_format.
VERDICT = {
    "type": "object",
    "properties": {
        "rationale": {"type": "string"},
        "severity": {"type": "integer", "minimum": 0, "maximum": 4},
        "confidence": {"type": "number", "minimum": 0, "maximum": 1},
        "evidence": {
            "type": "array",
            "maxItems": 6,
            "items": {
                "type": "object",
                "properties": {"quote": {"type": "string"}},
                "required": ["quote"],
                "additionalProperties": False,
            },
        },
    },
    "required": ["rationale", "severity", "confidence", "evidence"],
    "additionalProperties": False,
}
# One open object (no properties): LiteLLM falls back to a forced tool call for Anthropic.
OPEN_VERDICT = {
    "type": "object",
    "properties": {"severity": {"type": "integer"}, "extra": {"type": "object"}},
    "required": ["severity", "extra"],
}
MESSAGES = [
    {"role": "system", "content": "You are a strict judge."},
    {"role": "user", "content": "<<<SOURCE>>>\nhello\n<<<END SOURCE>>>"},
]
LONG_RUBRIC = "Judge the response against the rubric. " * 120  # ~4,700 chars, ~1,170 tokens


def run(coro: Coroutine[Any, Any, T]) -> T:
    return asyncio.run(coro)


def response_format(schema: dict[str, Any] = VERDICT) -> dict[str, Any]:
    return {"type": "json_schema", "json_schema": {"name": "verdict", "schema": schema, "strict": True}}


def dead_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@pytest.fixture(scope="module")
def litellm() -> Any:
    import litellm  # lazily: about 3 s; conftest has set the offline switches

    litellm.suppress_debug_info = True
    litellm.drop_params = False
    return litellm


@pytest.fixture
def server(provider_server: ProviderServer) -> ProviderServer:
    return provider_server


async def call(litellm: Any, model: str, api_base: str, **kw: Any) -> Any:
    args: dict[str, Any] = {
        "model": model,
        "api_base": api_base,
        "api_key": "sk-test",
        "messages": MESSAGES,
        "response_format": response_format(),
        "num_retries": 0,
        "max_retries": 0,
        "timeout": 5,
    }
    return await litellm.acompletion(**{**args, **kw})


def chat_requests(server: ProviderServer, path: str) -> list[Any]:
    return [r for r in server.requests if r.path == path]


# --- Anthropic Messages ---------------------------------------------------------------------


def test_anthropic_native_output_format(litellm: Any, server: ProviderServer) -> None:
    resp = run(call(litellm, "anthropic/claude-haiku-4-5", server.root_url, max_tokens=300))
    (req,) = server.requests
    assert req.path == "/v1/messages"
    assert req.headers["x-api-key"] == "sk-test" and "authorization" not in req.headers
    assert req.headers["anthropic-version"] == "2023-06-01"
    assert req.headers["anthropic-beta"] == "structured-outputs-2025-11-13"
    body = req.body
    assert body["model"] == "claude-haiku-4-5" and body["max_tokens"] == 300
    assert "tools" not in body and "response_format" not in body
    assert body["system"] == [{"type": "text", "text": "You are a strict judge."}]
    assert [m["role"] for m in body["messages"]] == ["user"]
    sent = body["output_format"]
    assert sent["type"] == "json_schema"
    # Bounds the structured-outputs API rejects become description notes.
    assert sent["schema"]["properties"]["severity"] == {
        "description": "Note: minimum value: 0, maximum value: 4.",
        "type": "integer",
    }
    assert "maxItems" not in sent["schema"]["properties"]["evidence"]
    message = resp.choices[0].message
    assert message.tool_calls is None
    jsonschema.validate(json.loads(message.content), VERDICT)
    assert resp.choices[0].finish_reason == "stop"  # Anthropic end_turn
    assert resp.usage.prompt_tokens > 0 and resp.usage.completion_tokens > 0


@pytest.mark.parametrize("name", sorted(SCHEMAS))
def test_anthropic_verdicts_meet_the_original_schema(litellm: Any, server: ProviderServer, name: str) -> None:
    # LiteLLM strips minItems >= 2, bounds and lengths into description notes and inlines $refs;
    # the fake reads the notes back, so its verdict still meets the schema the judge asked for.
    schema = cast(dict[str, Any], SCHEMAS[name])
    resp = run(call(litellm, "anthropic/claude-haiku-4-5", server.root_url, response_format=response_format(schema)))
    sent = server.requests[0].body["output_format"]["schema"]
    assert "$defs" not in sent and "$ref" not in json.dumps(sent)
    jsonschema.validate(json.loads(resp.choices[0].message.content), schema)


def test_anthropic_default_max_tokens_is_the_models_output_limit(litellm: Any, server: ProviderServer) -> None:
    run(call(litellm, "anthropic/claude-haiku-4-5", server.root_url))
    assert server.requests[0].body["max_tokens"] == 64000


@pytest.mark.parametrize(
    ("model", "schema"),
    [
        pytest.param("anthropic/claude-haiku-4-5", OPEN_VERDICT, id="open-object-schema"),
        pytest.param("anthropic/claude-3-5-haiku-latest", VERDICT, id="model-not-in-price-map"),
    ],
)
def test_anthropic_forced_tool_fallback(
    litellm: Any, server: ProviderServer, model: str, schema: dict[str, Any]
) -> None:
    resp = run(call(litellm, model, server.root_url, response_format=response_format(schema)))
    (req,) = server.requests
    assert "output_format" not in req.body and "anthropic-beta" not in req.headers
    (tool,) = req.body["tools"]
    assert tool["name"] == "json_tool_call" and tool["input_schema"] == schema  # unfiltered
    assert req.body["tool_choice"] == {"name": "json_tool_call", "type": "tool"}
    # The server answered with a tool_use block; LiteLLM turns its input into message text.
    message = resp.choices[0].message
    assert message.tool_calls is None
    jsonschema.validate(json.loads(message.content), schema)
    assert resp.choices[0].finish_reason == "stop"


def test_anthropic_cost_and_cache_usage_mapping(litellm: Any, server: ProviderServer) -> None:
    usage = {
        "input_tokens": 2000,
        "output_tokens": 50,
        "cache_read_input_tokens": 1500,
        "cache_creation_input_tokens": 100,
    }
    server.script(Reply(usage=usage))
    resp = run(call(litellm, "anthropic/claude-haiku-4-5", server.root_url))
    u = resp.usage
    # prompt_tokens is Anthropic's three input counts added up.
    assert (u.prompt_tokens, u.completion_tokens, u.total_tokens) == (3600, 50, 3650)
    assert u.prompt_tokens_details.cached_tokens == 1500
    assert u.prompt_tokens_details.cache_creation_tokens == 100
    assert u.prompt_tokens_details.text_tokens == 2000
    assert (u.cache_read_input_tokens, u.cache_creation_input_tokens) == (1500, 100)
    price = litellm.model_cost["claude-haiku-4-5"]
    expected = (
        2000 * price["input_cost_per_token"]
        + 1500 * price["cache_read_input_token_cost"]
        + 100 * price["cache_creation_input_token_cost"]
        + 50 * price["output_cost_per_token"]
    )
    assert resp._hidden_params["response_cost"] == pytest.approx(expected)
    assert resp._hidden_params["response_cost"] == pytest.approx(0.002525)


def test_anthropic_cache_control_is_forwarded_and_emulated(litellm: Any, server: ProviderServer) -> None:
    server.prompt_caching = PromptCaching(min_tokens=1024)
    block = {"type": "text", "text": LONG_RUBRIC, "cache_control": {"type": "ephemeral"}}
    system = {"role": "system", "content": [block]}

    def messages(item: str) -> list[dict[str, Any]]:
        return [system, {"role": "user", "content": item}]

    async def twice() -> list[Any]:
        first = await call(litellm, "anthropic/claude-haiku-4-5", server.root_url, messages=messages("item 1"))
        second = await call(litellm, "anthropic/claude-haiku-4-5", server.root_url, messages=messages("item 2"))
        return [first, second]

    first, second = run(twice())
    assert server.requests[0].body["system"] == [block]
    prefix = len(LONG_RUBRIC) // 4
    assert (first.usage.cache_creation_input_tokens, first.usage.cache_read_input_tokens) == (prefix, 0)
    assert (second.usage.cache_creation_input_tokens, second.usage.cache_read_input_tokens) == (0, prefix)
    assert second.usage.prompt_tokens_details.cached_tokens == prefix
    assert second._hidden_params["response_cost"] < first._hidden_params["response_cost"]


def test_anthropic_cache_control_on_user_content_parts(litellm: Any, server: ProviderServer) -> None:
    content = [
        {"type": "text", "text": LONG_RUBRIC, "cache_control": {"type": "ephemeral"}},
        {"type": "text", "text": "the item"},
    ]
    run(call(litellm, "anthropic/claude-haiku-4-5", server.root_url, messages=[{"role": "user", "content": content}]))
    assert server.requests[0].body["messages"] == [{"role": "user", "content": content}]
    assert "system" not in server.requests[0].body


@pytest.mark.parametrize(
    ("code", "exc_name", "status"),
    [
        pytest.param(400, "BadRequestError", 400, id="400"),
        pytest.param(401, "AuthenticationError", 401, id="401"),
        pytest.param(413, "BadRequestError", 400, id="413"),
        pytest.param(429, "RateLimitError", 429, id="429"),
        pytest.param(500, "InternalServerError", 500, id="500"),
        pytest.param(503, "ServiceUnavailableError", 503, id="503"),
        pytest.param(529, "InternalServerError", 500, id="529-overloaded"),
    ],
)
def test_anthropic_error_mapping(litellm: Any, server: ProviderServer, code: int, exc_name: str, status: int) -> None:
    server.script(Status(code, retry_after=3))
    with pytest.raises(getattr(litellm, exc_name)) as info:
        run(call(litellm, "anthropic/claude-haiku-4-5", server.root_url))
    exc = info.value
    assert type(exc) is getattr(litellm, exc_name)
    assert exc.status_code == status
    assert '"type": "error"' in str(exc)  # Anthropic's error body is in the message
    # Retry-After is only on litellm_response_headers; exc.response.headers is empty here.
    assert exc.litellm_response_headers["retry-after"] == "3"
    assert "retry-after" not in exc.response.headers
    if code == 529:
        assert exc.provider_status_code == 529 and "overloaded_error" in str(exc)
    assert server.count() == 1


def test_anthropic_overloaded_body_wins_over_status(litellm: Any, server: ProviderServer) -> None:
    # LiteLLM matches "overloaded_error"/"Overloaded" in the text before looking at the status.
    server.script(Status(429, body={"type": "error", "error": {"type": "overloaded_error", "message": "Overloaded"}}))
    with pytest.raises(litellm.InternalServerError) as info:
        run(call(litellm, "anthropic/claude-haiku-4-5", server.root_url))
    assert info.value.status_code == 500 and info.value.provider_status_code is None


def test_anthropic_connection_refused_and_missing_key(litellm: Any, server: ProviderServer) -> None:
    with pytest.raises(litellm.InternalServerError) as info:
        run(call(litellm, "anthropic/claude-haiku-4-5", f"http://127.0.0.1:{dead_port()}"))
    assert info.value.status_code == 500 and "Cannot connect" in str(info.value)
    with pytest.raises(litellm.AuthenticationError, match="Missing Anthropic API Key"):
        run(call(litellm, "anthropic/claude-haiku-4-5", server.root_url, api_key=None))
    assert server.requests == []  # rejected client-side, nothing sent


def test_anthropic_stall_times_out(litellm: Any, server: ProviderServer) -> None:
    server.script(Stall())
    with pytest.raises(litellm.Timeout):
        run(call(litellm, "anthropic/claude-haiku-4-5", server.root_url, timeout=0.5))


def test_anthropic_responders_and_malformed(litellm: Any, server: ProviderServer) -> None:
    server.set_responder(with_fields(severity=4), model="claude-haiku-4-5")
    server.script(Malformed(), Reply(), model="claude-3-5-haiku-latest")

    async def three() -> list[Any]:
        return [
            await call(litellm, "anthropic/claude-haiku-4-5", server.root_url),
            await call(litellm, "anthropic/claude-3-5-haiku-latest", server.root_url),
            await call(litellm, "anthropic/claude-3-5-haiku-latest", server.root_url),
        ]

    harsh, malformed, fine = run(three())
    assert json.loads(harsh.choices[0].message.content)["severity"] == 4
    # Tool mode with a non-JSON answer: the server sends a text block, which LiteLLM passes on.
    assert malformed.choices[0].message.content.startswith("Sure!")
    jsonschema.validate(json.loads(fine.choices[0].message.content), VERDICT)


def test_anthropic_server_checks_headers(server: ProviderServer) -> None:
    conn = http.client.HTTPConnection("127.0.0.1", server.port, timeout=5)
    body = json.dumps({"model": "m", "max_tokens": 5, "messages": []})
    conn.request("POST", "/v1/messages", body, {"anthropic-version": "2023-06-01"})
    resp = conn.getresponse()
    assert resp.status == 401
    assert json.loads(resp.read())["error"]["type"] == "authentication_error"
    conn.request("POST", "/v1/messages", body, {"x-api-key": "k"})
    resp = conn.getresponse()
    assert resp.status == 400 and b"anthropic-version" in resp.read()
    conn.close()


# --- Ollama ---------------------------------------------------------------------------------


def test_ollama_chat_request_reply_and_cost(litellm: Any, server: ProviderServer) -> None:
    server.script(Reply(usage={"prompt_eval_count": 123, "eval_count": 17}))

    async def go() -> Any:
        resp = await call(litellm, "ollama_chat/qwen3:8b", server.root_url, temperature=0, max_tokens=100)
        for _ in range(100):  # the /api/show lookup runs in a logging task after the call returns
            if chat_requests(server, "/api/show"):
                break
            await asyncio.sleep(0.01)
        return resp

    resp = run(go())
    chat = chat_requests(server, "/api/chat")
    assert len(chat) == 1
    body, headers = chat[0].body, chat[0].headers
    assert body["format"] == VERDICT  # the schema itself, unfiltered
    assert body["stream"] is False and "response_format" not in body
    assert body["options"] == {"temperature": 0, "num_predict": 100}
    assert body["messages"][0] == {"role": "system", "content": "You are a strict judge.", "images": []}
    assert headers["authorization"] == "Bearer sk-test"
    assert headers["content-type"] == "application/octet-stream"
    jsonschema.validate(json.loads(resp.choices[0].message.content), VERDICT)
    assert (resp.usage.prompt_tokens, resp.usage.completion_tokens) == (123, 17)
    assert resp.usage.prompt_tokens_details is None
    # An unmapped Ollama model costs 0.0. LiteLLM also asks the server's /api/show about it, after
    # the call returns (once per process and model, without the Authorization header).
    assert resp._hidden_params["response_cost"] == 0.0
    show = chat_requests(server, "/api/show")
    assert [r.body for r in show] == [{"name": "qwen3:8b"}]
    assert "authorization" not in show[0].headers


def priced(prompt: float, completion: float) -> dict[str, float]:
    return {"input_cost_per_token": prompt, "output_cost_per_token": completion}


def test_ollama_prices(litellm: Any, server: ProviderServer) -> None:
    server.script(*[Reply(usage={"prompt_eval_count": 100, "eval_count": 10})] * 3)

    async def three() -> list[Any]:
        return [
            # In the map only as "ollama/llama3.1", so the ollama_chat/ spelling gets None.
            await call(litellm, "ollama_chat/llama3.1", server.root_url),
            await call(litellm, "ollama_chat/llama3.1", server.root_url, **priced(0, 0)),
            await call(litellm, "ollama_chat/llama3.1", server.root_url, **priced(1e-6, 2e-6)),
        ]

    costs = [r._hidden_params["response_cost"] for r in run(three())]
    assert costs[:2] == [None, 0.0]
    assert costs[2] == pytest.approx(100 * 1e-6 + 10 * 2e-6)
    assert chat_requests(server, "/api/show") == []  # a mapped model is not looked up


def test_ollama_missing_counts_are_estimated(litellm: Any, server: ProviderServer) -> None:
    server.script(Reply({"severity": 1}, usage={"prompt_eval_count": None, "eval_count": None}))
    resp = run(call(litellm, "ollama_chat/llama3.1", server.root_url))
    assert resp.usage.prompt_tokens > 0 and resp.usage.completion_tokens > 0  # LiteLLM's tokenizer


@pytest.mark.parametrize(
    ("code", "exc_name"),
    [
        pytest.param(400, "BadRequestError", id="400"),
        pytest.param(404, "NotFoundError", id="404"),
        pytest.param(429, "RateLimitError", id="429"),
        pytest.param(500, "InternalServerError", id="500"),
        pytest.param(503, "ServiceUnavailableError", id="503"),
    ],
)
def test_ollama_error_mapping(litellm: Any, server: ProviderServer, code: int, exc_name: str) -> None:
    server.script(Status(code))
    with pytest.raises(getattr(litellm, exc_name)) as info:
        run(call(litellm, "ollama_chat/llama3.1", server.root_url))
    assert info.value.status_code == code
    assert '{"error": "fake server: HTTP' in str(info.value)
    assert len(chat_requests(server, "/api/chat")) == 1


def test_ollama_refused_is_an_api_connection_error(litellm: Any) -> None:
    # Unlike openai/, hosted_vllm/ and anthropic/, where a refused connection is a 500.
    with pytest.raises(litellm.APIConnectionError) as info:
        run(call(litellm, "ollama_chat/llama3.1", f"http://127.0.0.1:{dead_port()}"))
    assert info.value.status_code == 500


def test_ollama_stall_times_out(litellm: Any, server: ProviderServer) -> None:
    server.script(Stall())
    with pytest.raises(litellm.Timeout) as info:
        run(call(litellm, "ollama_chat/llama3.1", server.root_url, timeout=0.5))
    assert info.value.status_code == 408


# --- vLLM (hosted_vllm/, OpenAI-compatible) -------------------------------------------------


def test_vllm_passes_response_format_through(litellm: Any, server: ProviderServer) -> None:
    resp = run(call(litellm, "hosted_vllm/Qwen/Qwen3-8B", server.base_url))
    (req,) = server.requests
    assert req.path == "/v1/chat/completions" and req.model == "Qwen/Qwen3-8B"
    assert req.body["response_format"] == response_format()
    assert "guided_json" not in req.body and "extra_body" not in req.body
    assert req.headers["authorization"] == "Bearer sk-test"
    jsonschema.validate(json.loads(resp.choices[0].message.content), VERDICT)
    assert resp._hidden_params["response_cost"] is None  # not in the price map


def test_vllm_cached_tokens_and_prices(litellm: Any, server: ProviderServer) -> None:
    server.prompt_caching = PromptCaching()
    prices = {"input_cost_per_token": 1e-6, "output_cost_per_token": 2e-6}

    def messages(item: str) -> list[dict[str, str]]:
        return [{"role": "system", "content": LONG_RUBRIC}, {"role": "user", "content": item}]

    async def twice() -> list[Any]:
        return [
            await call(litellm, "hosted_vllm/Qwen/Qwen3-8B", server.base_url, messages=messages(f"item {i}"), **prices)
            for i in range(2)
        ]

    first, second = run(twice())
    assert first.usage.prompt_tokens_details.cached_tokens == 0
    cached = second.usage.prompt_tokens_details.cached_tokens
    assert cached >= 1024 and cached % 128 == 0 and cached <= second.usage.prompt_tokens
    # Per-call prices have no cache-read price, so cached tokens cost the full input price.
    u = second.usage
    assert second._hidden_params["response_cost"] == pytest.approx(u.prompt_tokens * 1e-6 + u.completion_tokens * 2e-6)


def test_vllm_without_api_key_sends_a_placeholder(litellm: Any, server: ProviderServer) -> None:
    run(call(litellm, "hosted_vllm/m", server.base_url, api_key=None))
    assert server.requests[0].headers["authorization"] == "Bearer fake-api-key"


@pytest.mark.parametrize(
    ("code", "exc_name"),
    [
        pytest.param(400, "BadRequestError", id="400"),
        pytest.param(429, "RateLimitError", id="429"),
        pytest.param(500, "InternalServerError", id="500"),
        pytest.param(503, "ServiceUnavailableError", id="503"),
    ],
)
def test_vllm_error_mapping(litellm: Any, server: ProviderServer, code: int, exc_name: str) -> None:
    server.script(Status(code, retry_after=2))
    with pytest.raises(getattr(litellm, exc_name)) as info:
        run(call(litellm, "hosted_vllm/m", server.base_url))
    assert info.value.status_code == code
    assert info.value.litellm_response_headers["retry-after"] == "2"
    assert server.count() == 1


def test_vllm_refused_is_a_500(litellm: Any) -> None:
    with pytest.raises(litellm.InternalServerError) as info:
        run(call(litellm, "hosted_vllm/m", f"http://127.0.0.1:{dead_port()}/v1"))
    assert info.value.status_code == 500


# --- OpenAI chat: cached tokens and cost ----------------------------------------------------


def test_openai_cached_tokens_priced_at_the_cache_rate(litellm: Any, server: ProviderServer) -> None:
    server.prompt_caching = PromptCaching()

    async def twice() -> list[Any]:
        return [
            await call(
                litellm,
                "openai/gpt-4o-mini",
                server.base_url,
                messages=[{"role": "system", "content": LONG_RUBRIC}, {"role": "user", "content": f"item {i}"}],
            )
            for i in range(2)
        ]

    first, second = run(twice())
    assert first.usage.prompt_tokens_details.cached_tokens == 0
    u = second.usage
    cached = u.prompt_tokens_details.cached_tokens
    assert cached == (len("system\n" + LONG_RUBRIC) // 512) * 128
    price = litellm.model_cost["gpt-4o-mini"]
    expected = (
        (u.prompt_tokens - cached) * price["input_cost_per_token"]
        + cached * price["cache_read_input_token_cost"]
        + u.completion_tokens * price["output_cost_per_token"]
    )
    assert second._hidden_params["response_cost"] == pytest.approx(expected)


def test_prompt_caching_is_off_by_default(litellm: Any, server: ProviderServer) -> None:
    resp = run(call(litellm, "openai/gpt-4o-mini", server.base_url))
    assert resp.usage.prompt_tokens_details is None
    assert "prompt_tokens_details" not in json.dumps(server.requests[0].body)


# --- the OpenAI Files and Batches API -------------------------------------------------------


def batch_line(custom_id: str, model: str = "gpt-4o-mini", item: str | None = None) -> dict[str, Any]:
    messages = [{"role": "system", "content": LONG_RUBRIC}, {"role": "user", "content": item or f"item {custom_id}"}]
    return {
        "custom_id": custom_id,
        "method": "POST",
        "url": "/v1/chat/completions",
        "body": {"model": model, "messages": messages, "response_format": response_format()},
    }


def jsonl(lines: list[dict[str, Any]]) -> bytes:
    return "".join(json.dumps(line) + "\n" for line in lines).encode()


def parse_jsonl(data: bytes) -> list[dict[str, Any]]:
    return [json.loads(line) for line in data.decode().splitlines() if line]


def batch_kw(server: ProviderServer, provider: str = "openai") -> dict[str, Any]:
    return {
        "custom_llm_provider": provider,
        "api_base": server.base_url,
        "api_key": "sk-test",
        "timeout": 5,
        "max_retries": 0,
        # Stops LiteLLM fetching the output and error files after every completed retrieve.
        "litellm_metadata": {"batch_ignore_default_logging": True},
    }


async def submit(litellm: Any, kw: dict[str, Any], data: bytes) -> tuple[Any, Any]:
    uploaded = await litellm.acreate_file(file=("judge.jsonl", data, "application/jsonl"), purpose="batch", **kw)
    batch = await litellm.acreate_batch(
        completion_window="24h",
        endpoint="/v1/chat/completions",
        input_file_id=uploaded.id,
        metadata={"run": "r1"},
        **kw,
    )
    return uploaded, batch


async def poll(litellm: Any, kw: dict[str, Any], batch_id: str, limit: int = 10) -> list[Any]:
    seen = []
    for _ in range(limit):
        got = await litellm.aretrieve_batch(batch_id=batch_id, **kw)
        seen.append(got)
        if got.status in ("completed", "failed", "expired", "cancelled"):
            break
    return seen


def test_batch_round_trip(litellm: Any, server: ProviderServer) -> None:
    server.prompt_caching = PromptCaching()
    server.batch_plan = BatchPlan(validate_polls=1, progress_polls=1, finalize_polls=1, shuffle_output=True)
    lines = [batch_line(c) for c in ("a", "b", "c")]
    data = jsonl(lines)
    kw = batch_kw(server)

    async def go() -> tuple[Any, Any, list[Any], Any]:
        uploaded, created = await submit(litellm, kw, data)
        seen = await poll(litellm, kw, created.id)
        content = await litellm.afile_content(file_id=seen[-1].output_file_id, **kw)
        return uploaded, created, seen, content

    uploaded, created, seen, content = run(go())
    assert type(uploaded).__name__ == "OpenAIFileObject"
    assert (uploaded.purpose, uploaded.bytes, uploaded.filename) == ("batch", len(data), "judge.jsonl")
    assert type(created).__name__ == "LiteLLMBatch"
    assert created.status == "validating" and created.metadata == {"run": "r1"}
    assert created.request_counts.total == 3
    assert [b.status for b in seen] == ["validating", "in_progress", "finalizing", "completed"]
    done = seen[-1]
    assert (done.request_counts.completed, done.request_counts.failed) == (3, 0)
    assert done.error_file_id is None
    assert type(content).__name__ == "HttpxBinaryResponseContent" and isinstance(content.content, bytes)
    results = {r["custom_id"]: r for r in parse_jsonl(content.content)}
    assert sorted(results) == ["a", "b", "c"]
    cached = []
    for custom_id in ("a", "b", "c"):
        result = results[custom_id]
        assert result["error"] is None and result["response"]["status_code"] == 200
        body = result["response"]["body"]
        jsonschema.validate(json.loads(body["choices"][0]["message"]["content"]), VERDICT)
        cached.append(body["usage"]["prompt_tokens_details"]["cached_tokens"])
    assert cached[0] == 0 and cached[1] == cached[2] >= 1024  # lines run in file order
    assert server.upload_count(data) == 1
    assert server.submissions() == {"a": 1, "b": 1, "c": 1}
    assert server.lines_run() == {"a": 1, "b": 1, "c": 1}
    multipart = server.requests[0]
    assert multipart.path == "/v1/files" and multipart.headers["content-type"].startswith("multipart/form-data")
    assert multipart.body == {"purpose": "batch", "file": ("judge.jsonl", len(data))}


def test_batch_partial_failures(litellm: Any, server: ProviderServer) -> None:
    server.script_batches(BatchPlan(line_behaviours={"b": Status(400), "d": Malformed()}))
    server.script(Reply(), Reply(), Status(500), model="gpt-4o-mini")  # a, c, e in file order
    kw = batch_kw(server)

    async def go() -> tuple[list[Any], bytes, bytes]:
        _, created = await submit(litellm, kw, jsonl([batch_line(c) for c in "abcde"]))
        seen = await poll(litellm, kw, created.id)
        out = await litellm.afile_content(file_id=seen[-1].output_file_id, **kw)
        err = await litellm.afile_content(file_id=seen[-1].error_file_id, **kw)
        return seen, out.content, err.content

    seen, out, err = run(go())
    assert seen[-1].status == "completed"
    assert (seen[-1].request_counts.completed, seen[-1].request_counts.failed) == (3, 2)
    outputs = {r["custom_id"]: r for r in parse_jsonl(out)}
    errors = {r["custom_id"]: r for r in parse_jsonl(err)}
    assert sorted(outputs) == ["a", "c", "d"] and sorted(errors) == ["b", "e"]
    assert outputs["d"]["response"]["body"]["choices"][0]["message"]["content"].startswith("Sure!")
    assert errors["b"]["response"]["status_code"] == 400 and errors["b"]["error"] is None
    assert errors["e"]["response"]["body"]["error"]["type"] == "server_error"


def test_batch_expiry_leaves_unfinished_lines_in_the_error_file(litellm: Any, server: ProviderServer) -> None:
    server.batch_plan = BatchPlan(lines_per_poll=1, expire_after_polls=2)
    kw = batch_kw(server)

    async def go() -> tuple[list[Any], bytes, bytes]:
        _, created = await submit(litellm, kw, jsonl([batch_line(c) for c in "abc"]))
        seen = await poll(litellm, kw, created.id)
        out = await litellm.afile_content(file_id=seen[-1].output_file_id, **kw)
        err = await litellm.afile_content(file_id=seen[-1].error_file_id, **kw)
        return seen, out.content, err.content

    seen, out, err = run(go())
    assert [b.status for b in seen] == ["in_progress", "expired"]
    assert seen[0].request_counts.completed == 1
    assert seen[-1].expired_at is not None
    assert [r["custom_id"] for r in parse_jsonl(out)] == ["a"]
    expired = parse_jsonl(err)
    assert [r["custom_id"] for r in expired] == ["b", "c"]
    assert all(r["response"] is None and r["error"]["code"] == "batch_expired" for r in expired)
    assert server.lines_run() == {"a": 1}


def test_batch_stalled_line_expires_by_time(litellm: Any, server: ProviderServer) -> None:
    server.batch_plan = BatchPlan(expire_after_s=0.5, line_behaviours={"b": Stall()})
    kw = batch_kw(server)

    async def go() -> list[str]:
        _, created = await submit(litellm, kw, jsonl([batch_line(c) for c in "ab"]))
        statuses = [(await litellm.aretrieve_batch(batch_id=created.id, **kw)).status]
        await asyncio.sleep(0.5)
        statuses.append((await litellm.aretrieve_batch(batch_id=created.id, **kw)).status)
        return statuses

    assert run(go()) == ["in_progress", "expired"]
    (batch,) = server.batches
    assert sorted(batch.outputs) == [0] and batch.errors[1]["error"]["code"] == "batch_expired"


def test_batch_time_based_progress(litellm: Any, server: ProviderServer) -> None:
    server.batch_plan = BatchPlan(progress_s=0.5)
    kw = batch_kw(server)

    async def go() -> list[str]:
        _, created = await submit(litellm, kw, jsonl([batch_line("a")]))
        statuses = [(await litellm.aretrieve_batch(batch_id=created.id, **kw)).status]
        await asyncio.sleep(0.5)
        statuses.append((await litellm.aretrieve_batch(batch_id=created.id, **kw)).status)
        return statuses

    assert run(go()) == ["in_progress", "completed"]


def test_batch_cancel(litellm: Any, server: ProviderServer) -> None:
    server.batch_plan = BatchPlan(validate_polls=5)
    kw = batch_kw(server)

    async def go() -> tuple[Any, Any]:
        _, created = await submit(litellm, kw, jsonl([batch_line(c) for c in "ab"]))
        cancelling = await litellm.acancel_batch(batch_id=created.id, **kw)
        return cancelling, await litellm.aretrieve_batch(batch_id=created.id, **kw)

    cancelling, cancelled = run(go())
    assert type(cancelling).__name__ == "LiteLLMBatch" and cancelling.status == "cancelling"
    assert cancelled.status == "cancelled" and cancelled.request_counts.failed == 2
    assert cancelled.output_file_id is None
    errors = parse_jsonl(server.file_bytes(cancelled.error_file_id))
    assert {r["error"]["code"] for r in errors} == {"batch_cancelled"}
    assert server.lines_run() == {}


def test_batch_validation_failure(litellm: Any, server: ProviderServer) -> None:
    lines = [batch_line("a"), batch_line("a"), batch_line("b", model="gpt-4.1-mini")]
    kw = batch_kw(server)

    async def go() -> Any:
        _, created = await submit(litellm, kw, jsonl(lines))
        return (await poll(litellm, kw, created.id))[-1]

    failed = run(go())
    assert failed.status == "failed" and failed.output_file_id is None
    codes = [e.code for e in failed.errors.data]
    assert codes == ["duplicate_custom_id", "model_mismatch"]
    assert failed.errors.data[0].line == 2


def test_hosted_vllm_batches_use_api_base(litellm: Any, server: ProviderServer) -> None:
    kw = batch_kw(server, provider="hosted_vllm")

    async def go() -> tuple[Any, bytes]:
        _, created = await submit(litellm, kw, jsonl([batch_line("a", model="Qwen/Qwen3-8B")]))
        done = (await poll(litellm, kw, created.id))[-1]
        return done, (await litellm.afile_content(file_id=done.output_file_id, **kw)).content

    done, out = run(go())
    assert done.status == "completed"
    assert [r["custom_id"] for r in parse_jsonl(out)] == ["a"]
    assert {r.path for r in server.requests} >= {"/v1/files", "/v1/batches"}


def test_batch_api_errors_are_openai_sdk_exceptions(litellm: Any, server: ProviderServer) -> None:
    server.script_batch_api("create", Status(429, retry_after=1), DropAfter())
    kw = batch_kw(server)
    data = jsonl([batch_line("a")])

    async def go() -> tuple[Any, Any]:
        uploaded = await litellm.acreate_file(file=data, purpose="batch", **kw)
        errors = []
        for _ in range(2):
            try:
                await litellm.acreate_batch(
                    completion_window="24h", endpoint="/v1/chat/completions", input_file_id=uploaded.id, **kw
                )
            except Exception as exc:
                errors.append(exc)
        return uploaded, errors

    uploaded, (limited, lost) = run(go())
    assert uploaded.filename == "upload"  # bytes without a name
    # Not mapped to LiteLLM's exception classes (which subclass these): the SDK's own.
    assert type(limited) is openai.RateLimitError and limited.status_code == 429
    assert limited.response.headers["retry-after"] == "1"
    # The batch was created but the answer was lost: a retry here would submit it twice.
    assert type(lost) is openai.APIConnectionError
    assert len(server.batches) == 1 and server.submissions() == {"a": 1}
    assert sum(r.path == "/v1/batches" for r in server.requests) == 2  # no hidden retries


# LiteLLM's batch cost code reads pydantic attributes that pydantic 2.11 deprecates.
@pytest.mark.filterwarnings("ignore:Accessing the 'model_:DeprecationWarning")
def test_completed_retrieve_downloads_result_files_by_default(litellm: Any, server: ProviderServer) -> None:
    server.prompt_caching = PromptCaching()
    server.script_batches(BatchPlan(line_behaviours={"c": Status(400)}))
    kw = batch_kw(server)
    del kw["litellm_metadata"]

    async def go() -> Any:
        lines = [batch_line(c, model="gpt-4.1-mini") for c in "abc"]
        _, created = await submit(litellm, kw, jsonl(lines))
        done = await litellm.aretrieve_batch(batch_id=created.id, **kw)
        for _ in range(100):  # LiteLLM's logging task fetches the files after returning
            if done._hidden_params.get("batch_successful_requests") is not None:
                break
            await asyncio.sleep(0.02)
        return done

    done = run(go())
    fetched = sorted(r.path for r in server.requests if r.path.endswith("/content"))
    assert fetched == sorted([f"/v1/files/{done.output_file_id}/content", f"/v1/files/{done.error_file_id}/content"])
    hidden = done._hidden_params
    assert (hidden["batch_successful_requests"], hidden["batch_failed_requests"]) == (2, 1)
    usages = [r["response"]["body"]["usage"] for r in parse_jsonl(server.file_bytes(done.output_file_id))]
    prompt = sum(u["prompt_tokens"] for u in usages)
    completion = sum(u["completion_tokens"] for u in usages)
    cached = sum(u["prompt_tokens_details"]["cached_tokens"] for u in usages)
    assert cached > 0 and done.usage.prompt_tokens_details.cached_tokens == cached
    assert (done.usage.prompt_tokens, done.usage.completion_tokens) == (prompt, completion)
    # Batch rates for uncached input and output, the ordinary cache-read rate for cached input.
    price = litellm.model_cost["gpt-4.1-mini"]
    expected = (
        (prompt - cached) * price["input_cost_per_token_batches"]
        + cached * price["cache_read_input_token_cost"]
        + completion * price["output_cost_per_token_batches"]
    )
    assert hidden["response_cost"] == pytest.approx(expected)


def test_batch_line_delay_is_served(server: ProviderServer) -> None:
    # Delay wraps line behaviours too; the poll that runs the line waits for it.
    server.script_batches(BatchPlan(line_behaviours={"a": Delay(50, then=Reply({"severity": 2}))}))
    conn = http.client.HTTPConnection("127.0.0.1", server.port, timeout=5)
    boundary = "XyZ"
    data = jsonl([batch_line("a")]).decode()
    form = (
        f'--{boundary}\r\nContent-Disposition: form-data; name="purpose"\r\n\r\nbatch\r\n'
        f'--{boundary}\r\nContent-Disposition: form-data; name="file"; filename="x.jsonl"\r\n\r\n{data}\r\n'
        f"--{boundary}--\r\n"
    )
    conn.request("POST", "/v1/files", form, {"content-type": f"multipart/form-data; boundary={boundary}"})
    file_id = json.loads(conn.getresponse().read())["id"]
    create = {"input_file_id": file_id, "endpoint": "/v1/chat/completions", "completion_window": "24h"}
    conn.request("POST", "/v1/batches", json.dumps(create))
    batch_id = json.loads(conn.getresponse().read())["id"]
    conn.request("GET", f"/v1/batches/{batch_id}")
    done = json.loads(conn.getresponse().read())
    assert done["status"] == "completed"
    conn.request("GET", f"/v1/files/{done['output_file_id']}/content")
    (result,) = parse_jsonl(conn.getresponse().read())
    assert json.loads(result["response"]["body"]["choices"][0]["message"]["content"]) == {"severity": 2}
    conn.close()
