"""Which call failures are worth another try, how long to wait, and how to describe them safely.

Retrying belongs to tenacity alone (the LiteLLM client switches LiteLLM's and the OpenAI SDK's
own retries off, because the three layers stack: see shared/notes/litellm.md). This module holds
the decisions that loop makes: retryable or final, the server's Retry-After, full-jitter backoff,
a stop condition on total waiting, and error text scrubbed of keys. It also tells apart the
failures the retry loop must not spend attempts on: a server that rejects the ``response_format``
parameter itself (judge/judging/negotiation.py steps down instead), and names what a failure is
(a refused connection, a timeout, an auth error) so its message can say what to fix. Nothing here
imports LiteLLM.
"""

from __future__ import annotations

import asyncio
import random
import re
import time
from typing import Any

from tenacity import RetryCallState
from tenacity.stop import stop_base

RETRYABLE_STATUS = frozenset({408, 409, 429})
FATAL_STATUS = frozenset({401, 403})
MAX_RETRY_AFTER_S = 120.0
_SECRET_LIKE = re.compile(r"\b(sk|pk|rk|key|api)[-_][A-Za-z0-9_\-]{12,}", re.IGNORECASE)
# Exceptions that carry no usable status but are transient: openai.APIConnectionError and
# litellm.Timeout (a subclass of it), matched by name so this module never imports either library.
_TRANSIENT_NAMES = frozenset({"APIConnectionError", "Timeout", "APITimeoutError"})
_TIMEOUT_NAMES = frozenset({"Timeout", "APITimeoutError", "TimeoutError"})
# How a refused or failed connection reads on each LiteLLM route (docs/PROVIDERS-WIRE.md): the
# openai SDK says "Connection error.", LiteLLM's aiohttp routes "Cannot connect to host". Both
# arrive as a 500, which would otherwise read as the server's own fault.
_CONNECTION_TEXT = re.compile(
    r"Connection error\.|Cannot connect to host|Connect call failed|Connection refused|"
    r"All connection attempts failed|Name or service not known|nodename nor servname",
    re.IGNORECASE,
)
# A rejection of the structured-output parameter names it: llama.cpp's pydantic error says
# "('body', 'response_format', 'type')", LiteLLM's UnsupportedParamsError lists 'response_format',
# vLLM and LM Studio name json_schema or guided decoding.
_FORMAT_TEXT = re.compile(
    r"response_format|json_schema|json_object|\bschema\b|structured.output|guided_json|guided.decoding|grammar",
    re.IGNORECASE,
)
FORMAT_REJECTION_STATUS = frozenset({400, 404, 422, 500, 501})
# LiteLLM repeats the class name ("litellm.InternalServerError: InternalServerError: ..."); the
# description names it once.
_NAME_PREFIX = re.compile(r"^(?:litellm\.)?[A-Za-z]+(?:Error|Exception|Timeout):\s*")
MAX_ERROR_CHARS = 2000


def status_of(exc: BaseException) -> int | None:
    status = getattr(exc, "status_code", None)
    return status if isinstance(status, int) else None


def _is_named(exc: BaseException, names: frozenset[str] | set[str]) -> bool:
    return any(cls.__name__ in names for cls in type(exc).__mro__)


def is_context_overflow(exc: BaseException) -> bool:
    """The prompt is too long for the model: a fault of one item, not of the judge."""
    return _is_named(exc, {"ContextWindowExceededError"})


def is_timeout(exc: BaseException) -> bool:
    return isinstance(exc, TimeoutError | asyncio.TimeoutError) or _is_named(exc, _TIMEOUT_NAMES)


def is_connection_error(exc: BaseException) -> bool:
    """The server could not be reached at all (refused, unresolvable, dropped before an answer)."""
    if is_timeout(exc):
        return False
    if isinstance(exc, ConnectionError) or _is_named(exc, {"APIConnectionError"}):
        return True
    status = status_of(exc)
    return (status is None or status >= 500) and bool(_CONNECTION_TEXT.search(str(exc)))


def is_format_rejection(exc: BaseException) -> bool:
    """The server (or LiteLLM before sending) refused the ``response_format`` parameter itself.

    That is deterministic, not a transient fault: the same request fails the same way every time,
    so it never spends retries; with ``response_format: auto`` the judge steps down to a form
    the server takes (judge/judging/negotiation.py).
    """
    if is_context_overflow(exc) or is_connection_error(exc) or is_timeout(exc):
        return False
    return status_of(exc) in FORMAT_REJECTION_STATUS and bool(_FORMAT_TEXT.search(str(exc)))


def is_retryable(exc: BaseException) -> bool:
    """429, 408, 409, 5xx, timeouts and connection errors are worth another try; 4xx are not.

    The client also never retries a rejected ``response_format`` (``is_format_rejection``),
    whatever its status, when it sent one."""
    if isinstance(exc, TimeoutError | asyncio.TimeoutError | ConnectionError):
        return True
    if is_context_overflow(exc):
        return False  # the prompt is too long for the model: another try cannot help
    status = status_of(exc)
    if status is not None:
        return status in RETRYABLE_STATUS or status >= 500
    return type(exc).__name__ in _TRANSIENT_NAMES


def _headers(exc: BaseException | None) -> Any:
    # Only the openai/ route puts the server's headers on exc.response; every LiteLLM route has
    # them on exc.litellm_response_headers (docs/PROVIDERS-WIRE.md).
    headers = getattr(exc, "litellm_response_headers", None)
    if headers:
        return headers
    return getattr(getattr(exc, "response", None), "headers", None)


def retry_after_s(exc: BaseException | None) -> float | None:
    """Seconds the server asked us to wait, from Retry-After or retry-after-ms, if any."""
    headers = _headers(exc)
    if not headers:
        return None
    try:
        if headers.get("retry-after-ms") is not None:
            return min(float(headers["retry-after-ms"]) / 1000.0, MAX_RETRY_AFTER_S)
        value = headers.get("retry-after")
        if value is not None:
            return min(max(float(value), 0.0), MAX_RETRY_AFTER_S)
    except (TypeError, ValueError):
        return _retry_after_date(headers.get("retry-after"))
    return None


def _retry_after_date(value: Any) -> float | None:
    """Retry-After may also be an HTTP date; None when it is neither (then our backoff applies)."""
    from email.utils import parsedate_to_datetime

    try:
        when = parsedate_to_datetime(str(value))
    except (TypeError, ValueError, IndexError):
        return None
    if when.tzinfo is None:
        return None
    return min(max(when.timestamp() - time.time(), 0.0), MAX_RETRY_AFTER_S)


def backoff_s(attempt: int, *, base: float = 0.5, cap: float = 30.0) -> float:
    """Full-jitter exponential backoff: uniform over [0, min(cap, base * 2**attempt)]."""
    return random.uniform(0, min(cap, base * (2 ** max(attempt - 1, 0))))


def wait_s(state: RetryCallState) -> float:
    """Tenacity's wait: the server's Retry-After when it gave one, else full-jitter backoff."""
    exc = state.outcome.exception() if state.outcome else None
    hinted = retry_after_s(exc)
    if hinted is not None:
        # The server said when: wait that long, plus a little jitter so the requests it turned
        # away together do not all come back in the same millisecond. Sustained 429s also
        # shrink the judge's concurrency (judge/judging/limits.py), so this cannot hammer.
        return hinted + random.uniform(0, min(1.0, 0.1 + hinted * 0.1))
    return backoff_s(state.attempt_number)


class stop_after_waiting(stop_base):
    """Stop when the next wait would take the total time spent waiting past the cap.

    Tenacity computes the upcoming sleep before it asks the stop condition, so a long
    Retry-After is refused up front instead of being slept and then given up on.
    """

    def __init__(self, max_wait_s: float) -> None:
        self.max_wait_s = max_wait_s

    def __call__(self, state: RetryCallState) -> bool:
        return (state.idle_for or 0.0) + (state.upcoming_sleep or 0.0) > self.max_wait_s


def redact(text: str, secret: str | None = None) -> str:
    """Remove ``secret`` and anything shaped like an API key from ``text``.

    Providers echo (part of) a rejected key in 401 bodies, and error text ends up in verdicts,
    logs and reports, so it is scrubbed before it leaves the client.
    """
    if secret and len(secret) >= 4:
        text = text.replace(secret, "***")
    return _SECRET_LIKE.sub("***", text)


def clean_message(text: str, secret: str | None = None) -> str:
    """The whole provider message on one line: LiteLLM's repeated class names dropped, whitespace
    collapsed, keys scrubbed, capped (an HTML error page must not fill the log)."""
    text = text.replace("litellm.", "")
    while True:
        stripped = _NAME_PREFIX.sub("", text, count=1)
        if stripped == text:
            break
        text = stripped
    text = redact(" ".join(text.split()), secret)
    return text if len(text) <= MAX_ERROR_CHARS else text[: MAX_ERROR_CHARS - 3] + "..."


def describe(exc: BaseException, secret: str | None = None, *, timeout_s: float | None = None) -> str:
    """One line that says what failed, with the provider's whole message, free of keys.

    A refused connection says so (LiteLLM reports it as a 500), and a timeout names the
    ``timeout_s`` it was given, so a user of a slow local server knows what to raise.
    """
    status = status_of(exc)
    name = type(exc).__name__
    message = clean_message(str(exc), secret)
    if is_timeout(exc) and status != 504:
        allowed = f" = {timeout_s:g} s" if timeout_s is not None else ""
        detail = f" ({message})" if message else ""
        return (
            f"Timeout: no reply within timeout_s{allowed}{detail}; a slow server (a local model on a "
            "CPU, a long prompt) needs a larger timeout_s in the judge's config"
        )
    if is_connection_error(exc):
        return f"ConnectionError: could not connect to the server: {message}"
    return f"{name} ({status}): {message}" if status else f"{name}: {message}"
