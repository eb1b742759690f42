"""Which call failures are worth another try, how long to wait, and how to describe them safely.

Retrying belongs to tenacity alone (the LiteLLM client switches LiteLLM's and the OpenAI SDK's
own retries off, because the three layers stack: see shared/notes/litellm.md). This module holds
the decisions that loop makes: retryable or final, the server's Retry-After, full-jitter backoff,
a stop condition on total waiting, and error text scrubbed of keys. Nothing here imports LiteLLM.
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


def status_of(exc: BaseException) -> int | None:
    status = getattr(exc, "status_code", None)
    return status if isinstance(status, int) else None


def is_retryable(exc: BaseException) -> bool:
    """429, 408, 409, 5xx, timeouts and connection errors are worth another try; 4xx are not."""
    if isinstance(exc, TimeoutError | asyncio.TimeoutError | ConnectionError):
        return True
    if any(cls.__name__ == "ContextWindowExceededError" for cls in type(exc).__mro__):
        return False  # the prompt is too long for the model: another try cannot help
    status = status_of(exc)
    if status is not None:
        return status in RETRYABLE_STATUS or status >= 500
    return type(exc).__name__ in _TRANSIENT_NAMES


def retry_after_s(exc: BaseException | None) -> float | None:
    """Seconds the server asked us to wait, from Retry-After or retry-after-ms, if any."""
    response = getattr(exc, "response", None)
    headers = getattr(response, "headers", None)
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


def describe(exc: BaseException, secret: str | None = None) -> str:
    """A one-line description of a call failure, free of request bodies and keys."""
    status = status_of(exc)
    name = type(exc).__name__
    message = str(exc).splitlines()[0] if str(exc) else ""
    message = redact(message.replace("litellm.", ""), secret)[:300]
    return f"{name} ({status}): {message}" if status else f"{name}: {message}"
