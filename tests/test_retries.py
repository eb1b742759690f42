"""Retry decisions: error classification, Retry-After, backoff, and error text free of keys."""

from __future__ import annotations

from types import SimpleNamespace

import pytest

from judge.judging.retries import (
    backoff_s,
    describe,
    is_connection_error,
    is_format_rejection,
    is_retryable,
    redact,
    retry_after_s,
)


def err(
    status: int | None = None,
    headers: dict | None = None,
    name: str = "APIStatusError",
    text: str = "boom\nsecond line",
) -> Exception:
    cls = type(name, (Exception,), {})
    exc = cls(text)
    if status is not None:
        exc.status_code = status  # type: ignore[attr-defined]
    exc.response = SimpleNamespace(headers=headers or {})  # type: ignore[attr-defined]
    return exc


@pytest.mark.parametrize(
    ("exc", "retry"),
    [
        pytest.param(err(429), True, id="429"),
        pytest.param(err(408), True, id="408"),
        pytest.param(err(409), True, id="409"),
        pytest.param(err(500), True, id="500"),
        pytest.param(err(503), True, id="503"),
        pytest.param(err(400), False, id="400"),
        pytest.param(err(401), False, id="401"),
        pytest.param(err(404), False, id="404"),
        pytest.param(TimeoutError(), True, id="timeout"),
        pytest.param(err(name="APIConnectionError"), True, id="connection"),
        pytest.param(ValueError("x"), False, id="other"),
    ],
)
def test_classification(exc: Exception, retry: bool) -> None:
    assert is_retryable(exc) is retry


@pytest.mark.parametrize(
    ("headers", "seconds"),
    [
        pytest.param({"retry-after": "2"}, 2.0, id="seconds"),
        pytest.param({"retry-after": "0.25"}, 0.25, id="fraction"),
        pytest.param({"retry-after-ms": "1500"}, 1.5, id="ms"),
        pytest.param({"retry-after": "9999"}, 120.0, id="capped"),
        pytest.param({"retry-after": "Wed, 21 Oct 2026 07:28:00 GMT"}, 0.0, id="http-date-past"),  # retry now
        pytest.param({}, None, id="none"),
    ],
)
def test_retry_after(headers: dict, seconds: float | None) -> None:
    assert retry_after_s(err(429, headers)) == seconds


def test_backoff_is_bounded_jitter() -> None:
    draws = [backoff_s(5) for _ in range(200)]
    assert all(0 <= d <= 8.0 for d in draws) and len(set(draws)) > 100
    assert all(backoff_s(50) <= 30.0 for _ in range(50))


def test_describe_keeps_the_whole_message_on_one_line() -> None:
    assert describe(err(500)) == "APIStatusError (500): boom second line"
    llama = err(500, name="InternalServerError", text=(
        "litellm.InternalServerError: InternalServerError: OpenAIException - 1 validation error:\n"
        "  {'loc': ('body', 'response_format', 'type'), 'msg': \"Input should be 'text' or 'json_object'\"}"
    ))
    assert describe(llama) == (
        "InternalServerError (500): OpenAIException - 1 validation error: {'loc': ('body', 'response_format', "
        "'type'), 'msg': \"Input should be 'text' or 'json_object'\"}"
    )
    assert len(describe(err(500, text="x" * 10_000))) < 2100


@pytest.mark.parametrize(
    ("exc", "connection"),
    [
        pytest.param(err(500, text="OpenAIException - Connection error."), True, id="openai-route"),
        pytest.param(err(500, text="Hosted_vllmException - Cannot connect to host 127.0.0.1:9 ssl:<x>"), True,
                     id="aiohttp-route"),
        pytest.param(err(500, name="APIConnectionError", text="Ollama_chatException - boom"), True, id="ollama"),
        pytest.param(err(500, text="llama_decode returned -3"), False, id="server-fault"),
        pytest.param(err(400, text="Connection error."), False, id="a-400-is-an-answer"),
        pytest.param(err(408, name="Timeout", text="Connection timed out"), False, id="timeout"),
    ],
)
def test_refused_connections_are_labelled_as_such(exc: Exception, connection: bool) -> None:
    assert is_connection_error(exc) is connection
    assert describe(exc).startswith("ConnectionError: could not connect") is connection


def test_a_timeout_names_timeout_s_and_what_it_allowed() -> None:
    text = describe(err(408, name="Timeout", text="litellm.Timeout: Request timed out."), timeout_s=60)
    assert text.startswith("Timeout: no reply within timeout_s = 60 s")
    assert "larger timeout_s" in text
    assert "timeout_s = 2.5 s" in describe(TimeoutError(), timeout_s=2.5)


@pytest.mark.parametrize(
    ("exc", "rejected"),
    [
        pytest.param(err(500, text="('body', 'response_format', 'type') Input should be 'text'"), True, id="llama.cpp"),
        pytest.param(err(400, text="UnsupportedParamsError: x does not support parameters: ['response_format']"),
                     True, id="litellm-unsupported"),
        pytest.param(err(422, text="json_schema is not supported"), True, id="422"),
        pytest.param(err(400, text="guided decoding backend failed to compile the grammar"), True, id="vllm"),
        pytest.param(err(500, text="out of memory"), False, id="plain-500"),
        pytest.param(err(400, text="bad request"), False, id="plain-400"),
        pytest.param(err(429, text="response_format rate"), False, id="429-is-not-a-rejection"),
        pytest.param(err(400, name="ContextWindowExceededError", text="prompt too long for schema"), False,
                     id="context-window"),
        pytest.param(err(500, text="Connection error. schema"), False, id="connection"),
    ],
)
def test_format_rejections(exc: Exception, rejected: bool) -> None:
    assert is_format_rejection(exc) is rejected


def test_retry_after_is_read_where_every_route_puts_it() -> None:
    # anthropic/, hosted_vllm/ and ollama_chat/ put the headers only on litellm_response_headers.
    exc = err(500)
    exc.response = None  # type: ignore[attr-defined]
    exc.litellm_response_headers = {"retry-after": "3"}  # type: ignore[attr-defined]
    assert retry_after_s(exc) == 3.0


def test_redact_removes_the_key_and_key_shaped_strings() -> None:
    text = "Incorrect API key provided: sk-proj-abcdef1234567890XYZ; also mysecretvalue99"
    out = redact(text, "mysecretvalue99")
    assert "abcdef1234567890" not in out and "mysecretvalue99" not in out
    assert out.startswith("Incorrect API key provided: ***")


def test_retry_after_seconds_milliseconds_and_http_date() -> None:
    from datetime import UTC, datetime, timedelta
    from email.utils import format_datetime
    from types import SimpleNamespace

    def exc(headers: dict[str, str]) -> object:
        return SimpleNamespace(response=SimpleNamespace(headers=headers))

    assert retry_after_s(exc({"retry-after": "2"})) == 2.0
    assert retry_after_s(exc({"retry-after-ms": "250"})) == 0.25
    assert retry_after_s(exc({"retry-after": "100000"})) == 120.0  # capped
    soon = format_datetime(datetime.now(UTC) + timedelta(seconds=30), usegmt=True)
    assert 25 <= (retry_after_s(exc({"retry-after": soon})) or 0) <= 31
    assert retry_after_s(exc({"retry-after": "whenever"})) is None
    assert retry_after_s(exc({})) is None
