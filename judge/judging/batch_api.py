"""What batch mode sends and reads, for every batch route: request bodies, result lines, errors.

A batch request must say exactly what the same call would say synchronously, so its body is built
by LiteLLM's own request transformation for the provider (``get_optional_params`` and the
provider's chat config ``transform_request``): the same ``response_format`` handling (Anthropic's
native ``output_format`` with LiteLLM's schema rewrite, or its forced tool), the same
``max_tokens`` default and parameter checks. tests/test_batching.py compares a batch line's body
with what ``litellm.acompletion`` puts on the wire.

Result lines come back in the provider's own shape; ``parse_openai_line`` and
``parse_anthropic_line`` turn each into a ``LineOutcome``: the reply text and usage, or the
provider's reason for failing, and whether resubmitting could help (an expired, cancelled,
rate-limited or server-failed request can; an invalid one cannot).

A transport (``BatchTransport``) moves batches: submit, find by marker after a lost answer, poll,
read results. judging/openai_batches.py serves OpenAI-format providers through LiteLLM's file and
batch API; judging/anthropic_batches.py serves Anthropic's Message Batches API.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from typing import Any, Protocol

from judge.judging.usage import Usage, read_usage

# Client-side tag that names one of our batches (OpenAI batch metadata key).
MARKER_KEY = "empathy_judge_batch"


class BatchAPIError(Exception):
    """A batch API call failed. ``ambiguous``: the provider may have acted on it anyway (the answer
    to a create call was lost), so it must be looked up, never blindly repeated. ``retryable``:
    another try later can succeed. Neither: the provider refused (bad request, bad key)."""

    def __init__(self, message: str, *, ambiguous: bool = False, retryable: bool = False,
                 status: int | None = None, retry_after: float | None = None) -> None:
        super().__init__(message)
        self.ambiguous = ambiguous
        self.retryable = retryable or ambiguous
        self.status = status
        self.retry_after = retry_after


@dataclass(frozen=True)
class BatchState:
    """A batch as its provider reports it on a poll."""

    status: str  # the provider's own word (validating, in_progress, completed, ended, ...)
    done: bool  # final: results can be read
    total: int = 0
    finished: int = 0  # requests that have a result (succeeded or failed)
    failed: int = 0
    errors: list[str] = field(default_factory=list)  # batch-level problems (validation)
    ref: dict[str, Any] = field(default_factory=dict)  # what the transport needs to read results


@dataclass(frozen=True)
class LineOutcome:
    """One request's result in a finished batch."""

    custom_id: str
    text: str | None = None  # the reply body, when the request succeeded
    usage: Usage = field(default_factory=Usage)
    error: str | None = None  # why it failed
    retryable: bool = False  # a new batch could succeed where this one did not

    @property
    def ok(self) -> bool:
        return self.text is not None


class BatchTransport(Protocol):
    """Moves batches of one provider. Every method raises BatchAPIError for API failures."""

    provider: str
    max_requests: int
    max_bytes: int

    def line(self, custom_id: str, body: dict[str, Any]) -> bytes:
        """One request as the batch input expects it (a JSONL line, newline included)."""
        ...

    async def submit(self, lines: list[bytes], marker: str) -> str:
        """Create a batch of ``lines`` tagged with ``marker``; returns its id."""
        ...

    async def find(self, marker: str, since_epoch: float, count: int, claimed: set[str]) -> str | None:
        """The id of our batch tagged ``marker`` (created at or after ``since_epoch`` with
        ``count`` requests, not one of ``claimed``), if the provider has one."""
        ...

    async def poll(self, batch_id: str) -> BatchState: ...

    async def results(self, batch_id: str, state: BatchState) -> list[LineOutcome]: ...


def request_body(
    provider: str,
    model: str,
    messages: list[dict[str, Any]],
    *,
    max_tokens: int | None,
    response_format: dict[str, Any] | None,
    params: dict[str, Any],
) -> dict[str, Any]:
    """The provider's request body for one chat call, as LiteLLM would send it synchronously."""
    from judge.judging.litellm_client import bootstrap_litellm

    bootstrap_litellm()
    from litellm.types.utils import LlmProviders
    from litellm.utils import ProviderConfigManager, get_optional_params

    name = model.split("/", 1)[1] if model.startswith(f"{provider}/") else model
    kwargs: dict[str, Any] = dict(params)
    if max_tokens is not None and "max_tokens" not in kwargs:
        kwargs["max_tokens"] = max_tokens
    if response_format is not None:
        kwargs["response_format"] = response_format
    optional = get_optional_params(model=name, custom_llm_provider=provider, **kwargs)
    config = ProviderConfigManager.get_provider_chat_config(model=name, provider=LlmProviders(provider))
    if config is None:
        raise ValueError(f"LiteLLM has no chat config for provider '{provider}'")
    body = dict(config.transform_request(model=name, messages=messages,  # type: ignore[arg-type]
                                         optional_params=optional, litellm_params={}, headers={}))
    # Client-side switches that never reach the wire on the synchronous path.
    for key in ("stream", "json_mode"):
        body.pop(key, None)
    extra = body.pop("extra_body", None)
    if isinstance(extra, dict):
        body.update(extra)
    return body


def _error_text(error: Any, status: Any = None) -> str:
    if isinstance(error, dict):
        inner: dict[str, Any] = error["error"] if isinstance(error.get("error"), dict) else error
        kind = inner.get("type") or inner.get("code")
        message = inner.get("message") or json.dumps(inner)[:300]
        text = f"{kind}: {message}" if kind else str(message)
    else:
        text = str(error)[:300]
    return f"HTTP {status}: {text}" if status else text


def _retryable_status(status: Any) -> bool:
    return isinstance(status, int) and (status in (408, 409, 429) or status >= 500)


def parse_openai_line(line: dict[str, Any]) -> LineOutcome:
    """An OpenAI batch output or error line (docs/PROVIDERS-WIRE.md, "Batch API")."""
    custom_id = str(line.get("custom_id"))
    response = line.get("response")
    if isinstance(response, dict):
        status = response.get("status_code")
        body = response.get("body")
        if status == 200 and isinstance(body, dict):
            try:
                text = body["choices"][0]["message"].get("content") or ""
            except (KeyError, IndexError, TypeError, AttributeError):
                return LineOutcome(custom_id, error="HTTP 200 without a message in the batch result")
            return LineOutcome(custom_id, text=text, usage=read_usage(body.get("usage")))
        return LineOutcome(custom_id, error=_error_text(body, status), retryable=_retryable_status(status))
    error = line.get("error")
    code = error.get("code") if isinstance(error, dict) else None
    # batch_expired / batch_cancelled: the request never ran, so a new batch can run it.
    return LineOutcome(custom_id, error=_error_text(error) if error else "no result",
                       retryable=code in (None, "batch_expired", "batch_cancelled"))


# Anthropic error types worth another batch (the request did not fail for its own content).
_ANTHROPIC_TRANSIENT = frozenset({"overloaded_error", "api_error", "rate_limit_error", "timeout_error"})


def parse_anthropic_line(line: dict[str, Any]) -> LineOutcome:
    """An Anthropic Message Batches result line: succeeded, errored, canceled or expired."""
    custom_id = str(line.get("custom_id"))
    result: dict[str, Any] = line["result"] if isinstance(line.get("result"), dict) else {}
    kind = result.get("type")
    if kind == "succeeded":
        message = result.get("message") or {}
        return LineOutcome(custom_id, text=anthropic_text(message), usage=read_usage(message.get("usage")))
    if kind == "errored":
        error = result.get("error") or {}
        inner: dict[str, Any] = error["error"] if isinstance(error.get("error"), dict) else error
        return LineOutcome(custom_id, error=_error_text(error),
                           retryable=inner.get("type") in _ANTHROPIC_TRANSIENT)
    if kind in ("canceled", "expired"):
        return LineOutcome(custom_id, error=f"request {kind} before it ran", retryable=True)
    return LineOutcome(custom_id, error=f"unknown result type {kind!r}")


def anthropic_text(message: dict[str, Any]) -> str:
    """The verdict text of an Anthropic message, as LiteLLM's synchronous path reads it: the text
    blocks, or the forced tool's input as JSON (docs/PROVIDERS-WIRE.md)."""
    parts: list[str] = []
    for block in message.get("content") or []:
        if not isinstance(block, dict):
            continue
        if block.get("type") == "text":
            parts.append(str(block.get("text", "")))
        elif block.get("type") == "tool_use" and not parts:
            return json.dumps(block.get("input"))
    return "".join(parts)
