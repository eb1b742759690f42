"""Judges: one async method behind a protocol, and the LiteLLM client that implements it.

Every judge, remote or offline, goes through ``litellm.acompletion``. The offline judges are a
LiteLLM custom provider (``offline/...``), so they travel exactly the code path remote judges do.

Retrying belongs to tenacity alone: LiteLLM's and the OpenAI SDK's own retries are switched off on
every call (``num_retries=0, max_retries=0``), because the three layers stack (see
shared/notes/litellm.md). Retry-After is read from the error's response headers and honoured.
LiteLLM is imported lazily, on the first call, because importing it costs about 3 s.
"""

from __future__ import annotations

import asyncio
import logging
import os
import random
import re
import time
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Protocol

from tenacity import AsyncRetrying, RetryCallState, retry_if_exception, stop_after_attempt
from tenacity.stop import stop_base

from judge.core.errors import ConfigError
from judge.inputs.config import OFFLINE_MODELS, JudgeConfig

if TYPE_CHECKING:
    from judge.judging.limits import JudgeLimiter

RETRYABLE_STATUS = frozenset({408, 409, 429})
FATAL_STATUS = frozenset({401, 403})
MAX_RETRY_AFTER_S = 120.0
# Providers accepted without importing LiteLLM (3 s), so a fully cached re-run never loads it;
# any other prefix is checked against LiteLLM's own list.
COMMON_PROVIDERS = frozenset(
    {
        "openai", "azure", "anthropic", "gemini", "vertex_ai", "bedrock", "mistral", "groq", "cohere",
        "together_ai", "openrouter", "deepseek", "fireworks_ai", "ollama", "ollama_chat", "hosted_vllm",
        "vllm", "xai", "perplexity", "databricks", "huggingface", "lm_studio", "cerebras", "sambanova",
    }
)
_SECRET_LIKE = re.compile(r"\b(sk|pk|rk|key|api)[-_][A-Za-z0-9_\-]{12,}", re.IGNORECASE)
_LOOPBACK = ("http://127.", "http://localhost", "https://127.", "https://localhost", "http://[::1]")


@dataclass(slots=True)
class Completion:
    """A reply body the provider returned (and billed), whatever its content turns out to be."""

    text: str
    prompt_tokens: int | None
    completion_tokens: int | None
    cost_usd: float | None
    latency_ms: float
    attempts: int
    cached: bool = False  # served from the response cache: no call made, nothing billed
    last_error: str | None = None  # the last transient failure before this reply, if it took retries


class JudgeCallError(Exception):
    """A call that failed for good: retries exhausted, or a final error such as 400 or 401."""

    def __init__(self, message: str, *, attempts: int, status: int | None = None, fatal: bool = False) -> None:
        super().__init__(message)
        self.attempts = attempts
        self.status = status
        self.fatal = fatal  # the judge itself is unusable (bad key): stop sending it work


@dataclass(frozen=True, slots=True)
class CallContext:
    """What a call is for. Wrappers (cache, budget, rate limits) key and account by it; the
    LiteLLM client itself ignores it. ``turn`` is 0 for the first call, n for the n-th re-ask."""

    item_id: str
    item_hash: str
    rubric_id: str
    rubric_hash: str
    prompt_hash: str
    schema_hash: str
    repeat: int
    turn: int = 0


class Judge(Protocol):
    """Anything that can turn chat messages into a verdict text."""

    config: JudgeConfig

    async def complete(
        self,
        messages: list[dict[str, str]],
        *,
        schema_name: str,
        schema: dict[str, Any],
        strict: bool = False,
        max_tokens: int | None = None,
        context: CallContext | None = None,
    ) -> Completion: ...


_litellm: Any = None


def bootstrap_litellm() -> Any:
    """Import and configure LiteLLM once per process: offline price map, no .env loading, quiet
    logs, no silent parameter dropping, and the offline custom provider registered."""
    global _litellm
    if _litellm is not None:
        return _litellm
    os.environ.setdefault("LITELLM_LOCAL_MODEL_COST_MAP", "True")
    os.environ.setdefault("LITELLM_OFFLINE_MODE", "true")
    # Anything but PRODUCTION makes LiteLLM load a .env file found by walking up from the package.
    os.environ["LITELLM_MODE"] = "PRODUCTION"
    import litellm

    litellm.suppress_debug_info = True
    litellm.drop_params = False
    litellm.telemetry = False
    for name in ("LiteLLM", "LiteLLM Router", "LiteLLM Proxy", "litellm"):
        logging.getLogger(name).setLevel(logging.ERROR)
    from judge.judging.offline_provider import OfflineProvider

    litellm.custom_provider_map = [{"provider": "offline", "custom_handler": OfflineProvider()}]
    from litellm.utils import custom_llm_setup

    custom_llm_setup()
    litellm.register_model(
        {
            f"offline/{name}": {
                "input_cost_per_token": 0.0,
                "output_cost_per_token": 0.0,
                "litellm_provider": "offline",
                "mode": "chat",
                "supports_response_schema": True,
                "max_tokens": 4096,
                "max_input_tokens": 1_000_000,
                "max_output_tokens": 4096,
            }
            for name in OFFLINE_MODELS
        }
    )
    # Importing LiteLLM leaves ~370,000 objects that live as long as the process; without this,
    # every full collection rescans them all, which cost ~0.7 ms of CPU per call at 64 concurrent
    # calls (benchmarks/RESULTS.md). Freezing moves them out of the collector's way for good.
    import gc

    gc.freeze()
    _litellm = litellm
    return litellm


def status_of(exc: BaseException) -> int | None:
    status = getattr(exc, "status_code", None)
    return status if isinstance(status, int) else None


def is_retryable(exc: BaseException) -> bool:
    """429, 408, 409, 5xx, timeouts and connection errors are worth another try; 4xx are not."""
    if isinstance(exc, TimeoutError | asyncio.TimeoutError | ConnectionError):
        return True
    litellm = _litellm
    if litellm is not None and isinstance(exc, litellm.ContextWindowExceededError):
        return False
    status = status_of(exc)
    if status is not None:
        return status in RETRYABLE_STATUS or status >= 500
    # openai.APIConnectionError (and litellm.Timeout, a subclass of it) carry no usable status.
    return type(exc).__name__ in ("APIConnectionError", "Timeout", "APITimeoutError")


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


class LiteLLMJudge:
    """A judge reached through ``litellm.acompletion``, with tenacity owning retries."""

    def __init__(
        self, config: JudgeConfig, *, api_key: str | None = None, limiter: JudgeLimiter | None = None
    ) -> None:
        self.config = config
        self._api_key = api_key
        self._format_mode: str | None = None
        self.limiter = limiter

    @property
    def label(self) -> str:
        return self.config.label

    def __repr__(self) -> str:  # never show the key
        return f"LiteLLMJudge({self.config.label!r})"

    def _response_format(self, schema_name: str, schema: dict[str, Any], strict: bool) -> dict[str, Any] | None:
        if self._format_mode is None:
            mode = self.config.response_format
            if mode == "auto":
                mode = "json_schema"
                litellm = bootstrap_litellm()
                try:
                    known = litellm.get_model_info(self.config.model)
                except Exception:  # unknown to the price map: assume an OpenAI-compatible server
                    known = None
                if known is not None and not litellm.supports_response_schema(self.config.model):
                    mode = "json_object" if known.get("supports_response_schema") is None else "none"
            self._format_mode = mode
        if self._format_mode == "json_schema":
            return {"type": "json_schema", "json_schema": {"name": schema_name, "schema": schema, "strict": strict}}
        if self._format_mode == "json_object":
            return {"type": "json_object"}
        return None

    def _wait(self, state: RetryCallState) -> float:
        exc = state.outcome.exception() if state.outcome else None
        hinted = retry_after_s(exc)
        if hinted is not None:
            # The server said when: wait that long, plus a little jitter so the requests it turned
            # away together do not all come back in the same millisecond. Sustained 429s also
            # shrink the judge's concurrency (judge/limits.py), so this cannot hammer.
            return hinted + random.uniform(0, min(1.0, 0.1 + hinted * 0.1))
        return backoff_s(state.attempt_number)

    async def complete(
        self,
        messages: list[dict[str, str]],
        *,
        schema_name: str,
        schema: dict[str, Any],
        strict: bool = False,
        max_tokens: int | None = None,
        context: CallContext | None = None,
    ) -> Completion:
        litellm = bootstrap_litellm()
        cfg = self.config
        kwargs: dict[str, Any] = {
            "model": cfg.model,
            "messages": messages,
            "timeout": cfg.timeout_s,
            "num_retries": 0,
            "max_retries": 0,
            **cfg.params,
        }
        if max_tokens is not None and "max_tokens" not in cfg.params:
            kwargs["max_tokens"] = max_tokens
        fmt = self._response_format(schema_name, schema, strict)
        if fmt is not None:
            kwargs["response_format"] = fmt
        if cfg.api_base:
            kwargs["api_base"] = cfg.api_base
        if self._api_key is not None:
            kwargs["api_key"] = self._api_key

        attempts = 0
        last_error: str | None = None
        start = time.perf_counter()
        retrying = AsyncRetrying(
            stop=stop_after_attempt(cfg.max_attempts) | _stop_after_waiting(cfg.max_wait_s),
            wait=self._wait,
            retry=retry_if_exception(is_retryable),
            reraise=True,
        )
        try:
            async for attempt in retrying:
                with attempt:
                    attempts += 1
                    try:
                        response = await self._attempt(litellm, kwargs, messages, max_tokens)
                    except Exception as exc:
                        last_error = describe(exc, self._api_key)
                        raise
            text = response.choices[0].message.content or ""
        except BaseException as exc:
            if isinstance(exc, asyncio.CancelledError | KeyboardInterrupt | SystemExit):
                raise
            status = status_of(exc)
            fatal = status in FATAL_STATUS
            message = describe(exc, self._api_key)
            raise JudgeCallError(message, attempts=attempts, status=status, fatal=fatal) from None
        latency_ms = (time.perf_counter() - start) * 1000.0
        usage = getattr(response, "usage", None)
        prompt_tokens = getattr(usage, "prompt_tokens", None)
        completion_tokens = getattr(usage, "completion_tokens", None)
        if self.limiter is not None and prompt_tokens is not None:
            self.limiter.settle(
                _estimate_tokens(messages, max_tokens), prompt_tokens + (completion_tokens or 0)
            )
        return Completion(
            text=text,
            prompt_tokens=prompt_tokens,
            completion_tokens=completion_tokens,
            cost_usd=self._cost(response, prompt_tokens, completion_tokens),
            latency_ms=latency_ms,
            attempts=attempts,
            last_error=last_error,
        )

    async def _attempt(
        self, litellm: Any, kwargs: dict[str, Any], messages: list[dict[str, str]], max_tokens: int | None
    ) -> Any:
        """One HTTP request, inside the judge's rate limits; tells the limiter how it went."""
        cfg = self.config
        limiter = self.limiter
        if limiter is None:
            # LiteLLM does not enforce `timeout` for custom providers; this does, for all.
            async with asyncio.timeout(cfg.timeout_s + 1.0):
                return await litellm.acompletion(**kwargs)
        async with limiter.slot(_estimate_tokens(messages, max_tokens)):
            try:
                async with asyncio.timeout(cfg.timeout_s + 1.0):
                    response = await litellm.acompletion(**kwargs)
            except BaseException as exc:
                limiter.record(rate_limited=status_of(exc) == 429, retry_after=retry_after_s(exc))
                raise
            limiter.record(rate_limited=False)
            return response

    def _cost(self, response: Any, prompt_tokens: int | None, completion_tokens: int | None) -> float | None:
        cfg = self.config
        if cfg.is_offline:
            return 0.0
        if cfg.input_cost_per_token is not None or cfg.output_cost_per_token is not None:
            if prompt_tokens is None or completion_tokens is None:
                return None
            return prompt_tokens * (cfg.input_cost_per_token or 0.0) + completion_tokens * (
                cfg.output_cost_per_token or 0.0
            )
        hidden = getattr(response, "_hidden_params", None) or {}
        cost = hidden.get("response_cost")
        return float(cost) if cost is not None else None


def _estimate_tokens(messages: list[dict[str, str]], max_tokens: int | None) -> int:
    # About four characters a token, plus the reply budget: enough to pace a tpm limit; the real
    # usage corrects the bucket once the reply comes (JudgeLimiter.settle).
    return sum(len(m.get("content") or "") for m in messages) // 4 + (max_tokens or 512)


class _stop_after_waiting(stop_base):
    """Stop when the next wait would take the total time spent waiting past the cap.

    Tenacity computes the upcoming sleep before it asks the stop condition, so a long
    Retry-After is refused up front instead of being slept and then given up on.
    """

    def __init__(self, max_wait_s: float) -> None:
        self.max_wait_s = max_wait_s

    def __call__(self, state: RetryCallState) -> bool:
        return (state.idle_for or 0.0) + (state.upcoming_sleep or 0.0) > self.max_wait_s


def resolve_api_key(cfg: JudgeConfig) -> str | None:
    """The key for a judge, from the env var its config names, or the provider's standard one.

    Returns None to let LiteLLM find the provider's key itself. Raises ConfigError when a named
    variable is unset. A loopback ``openai/`` server with no key gets a dummy one, because LiteLLM
    turns a missing key into a retryable 500 ("Missing credentials").
    """
    if cfg.is_offline:
        return "offline"
    if cfg.api_key_env:
        value = os.environ.get(cfg.api_key_env)
        if not value:
            raise ConfigError(
                f"judge '{cfg.label}': environment variable {cfg.api_key_env} (its api_key_env) is not set; "
                f"export {cfg.api_key_env}=... before the run"
            )
        return value
    if cfg.provider == "openai":
        if os.environ.get("OPENAI_API_KEY"):
            return os.environ["OPENAI_API_KEY"]
        base = cfg.api_base or os.environ.get("OPENAI_BASE_URL") or os.environ.get("OPENAI_API_BASE") or ""
        if base.startswith(_LOOPBACK):
            return "sk-no-key-needed"
        raise ConfigError(
            f"judge '{cfg.label}': no API key: set OPENAI_API_KEY, or name a variable with api_key_env "
            "in the config, or point api_base (or OPENAI_BASE_URL) at a local server"
        )
    return None


def build_judges(configs: list[JudgeConfig]) -> list[LiteLLMJudge]:
    """Check every judge can be called (known provider, key present), then build clients.

    Common providers are accepted without importing LiteLLM, so building clients is cheap and a
    run whose every reply comes from the cache never loads it (clients import it on first call).
    """
    from judge.judging.limits import JudgeLimiter

    judges = []
    litellm = None
    for cfg in configs:
        if cfg.is_offline:
            name = cfg.model.split("/", 1)[1]
            if name not in OFFLINE_MODELS:
                available = ", ".join("offline/" + m for m in OFFLINE_MODELS)
                raise ConfigError(f"judge '{cfg.label}': unknown offline judge '{name}'; available: {available}")
        elif cfg.provider not in COMMON_PROVIDERS:
            known = _providers_from_source()
            if known is not None and cfg.provider:
                _check_provider_name(cfg, known)
            else:
                litellm = litellm or bootstrap_litellm()
                _check_provider(litellm, cfg)
        judges.append(LiteLLMJudge(cfg, api_key=resolve_api_key(cfg), limiter=JudgeLimiter.for_config(cfg)))
    return judges


def _providers_from_source() -> list[str] | None:
    """LiteLLM's provider names, read from its source instead of importing it (5 s), so a typo in a
    provider fails fast. The version is pinned; if the enum moves, this returns None and the
    caller imports LiteLLM and asks it."""
    import importlib.util
    from pathlib import Path

    try:
        spec = importlib.util.find_spec("litellm")  # finds the package without running it
        if spec is None or not spec.submodule_search_locations:
            return None
        text = (Path(next(iter(spec.submodule_search_locations))) / "types" / "utils.py").read_text("utf-8")
    except (OSError, ImportError, ValueError, StopIteration):
        return None
    start = text.find("class LlmProviders(")
    if start < 0:
        return None
    end = re.search(r"\n(?=\S)", text[start + 1 :])
    body = text[start : start + 1 + end.start()] if end else text[start:]
    names = re.findall(r'^\s+[A-Za-z0-9_]+\s*=\s*"([^"]+)"', body, re.M)
    return names if len(names) > 20 else None


def _check_provider_name(cfg: JudgeConfig, providers: list[str]) -> None:
    from judge.core.errors import did_you_mean

    if cfg.provider not in providers:
        raise ConfigError(
            f"judge '{cfg.label}': unknown provider '{cfg.provider}'{did_you_mean(cfg.provider, providers)}; "
            "use a LiteLLM model string such as openai/NAME, anthropic/NAME or offline/lexicon"
        )


def _check_provider(litellm: Any, cfg: JudgeConfig) -> None:
    providers = [str(getattr(p, "value", p)) for p in litellm.provider_list]
    if cfg.provider:
        _check_provider_name(cfg, providers)
    if not cfg.provider:
        try:
            litellm.get_llm_provider(cfg.model)
        except Exception:
            raise ConfigError(
                f"judge '{cfg.label}': LiteLLM cannot tell the provider of '{cfg.model}'; "
                f"prefix it, as in openai/{cfg.model}"
            ) from None
