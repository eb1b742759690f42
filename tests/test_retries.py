"""Retry decisions: error classification, Retry-After, backoff, and error text free of keys."""

from __future__ import annotations

from types import SimpleNamespace

import pytest

from judge.judging.retries import backoff_s, describe, is_retryable, redact, retry_after_s


def err(status: int | None = None, headers: dict | None = None, name: str = "APIStatusError") -> Exception:
    cls = type(name, (Exception,), {})
    exc = cls("boom\nsecond line")
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


def test_describe_is_one_line() -> None:
    assert describe(err(500)) == "APIStatusError (500): boom"


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
