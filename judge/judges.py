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
import time
from dataclasses import dataclass
from typing import Any, Protocol

from tenacity import AsyncRetrying, RetryCallState, retry_if_exception, stop_after_attempt

from judge.config import OFFLINE_MODELS, JudgeConfig
from judge.errors import ConfigError

RETRYABLE_STATUS = frozenset({408, 409, 429})
FATAL_STATUS = frozenset({401, 403})
MAX_RETRY_AFTER_S = 120.0
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
    from judge.offline_provider import OfflineProvider

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
        return None  # an HTTP-date Retry-After: fall back to our own backoff
    return None


def backoff_s(attempt: int, *, base: float = 0.5, cap: float = 30.0) -> float:
    """Full-jitter exponential backoff: uniform over [0, min(cap, base * 2**attempt)]."""
    return random.uniform(0, min(cap, base * (2 ** max(attempt - 1, 0))))


def describe(exc: BaseException) -> str:
    """A one-line description of a call failure, free of request bodies and keys."""
    status = status_of(exc)
    name = type(exc).__name__
    message = str(exc).splitlines()[0] if str(exc) else ""
    message = message.replace("litellm.", "")[:300]
    return f"{name} ({status}): {message}" if status else f"{name}: {message}"


class LiteLLMJudge:
    """A judge reached through ``litellm.acompletion``, with tenacity owning retries."""

    def __init__(self, config: JudgeConfig, *, api_key: str | None = None) -> None:
        self.config = config
        self._api_key = api_key
        self._format_mode: str | None = None

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
        wait = backoff_s(state.attempt_number)
        hinted = retry_after_s(exc)
        return max(wait, hinted) if hinted is not None else wait

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
                    # LiteLLM does not enforce `timeout` for custom providers; this does, for all.
                    async with asyncio.timeout(cfg.timeout_s + 1.0):
                        response = await litellm.acompletion(**kwargs)
        except BaseException as exc:
            if isinstance(exc, asyncio.CancelledError | KeyboardInterrupt):
                raise
            status = status_of(exc)
            fatal = status in FATAL_STATUS
            raise JudgeCallError(describe(exc), attempts=attempts, status=status, fatal=fatal) from exc
        latency_ms = (time.perf_counter() - start) * 1000.0
        text = response.choices[0].message.content or ""
        usage = getattr(response, "usage", None)
        prompt_tokens = getattr(usage, "prompt_tokens", None)
        completion_tokens = getattr(usage, "completion_tokens", None)
        return Completion(
            text=text,
            prompt_tokens=prompt_tokens,
            completion_tokens=completion_tokens,
            cost_usd=self._cost(response, prompt_tokens, completion_tokens),
            latency_ms=latency_ms,
            attempts=attempts,
        )

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


class _stop_after_waiting:
    """Stop once the time spent waiting between attempts would pass the cap."""

    def __init__(self, max_wait_s: float) -> None:
        self.max_wait_s = max_wait_s

    def __call__(self, state: RetryCallState) -> bool:
        return (state.idle_for or 0.0) >= self.max_wait_s


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
    """Check every judge can be called (known provider, key present), then build clients."""
    judges = []
    litellm = None
    for cfg in configs:
        if not cfg.is_offline:
            litellm = litellm or bootstrap_litellm()
            _check_provider(litellm, cfg)
        else:
            name = cfg.model.split("/", 1)[1]
            if name not in OFFLINE_MODELS:
                raise ConfigError(
                    f"judge '{cfg.label}': unknown offline judge '{name}'; "
                    f"available: {', '.join('offline/' + m for m in OFFLINE_MODELS)}"
                )
        judges.append(LiteLLMJudge(cfg, api_key=resolve_api_key(cfg)))
    return judges


def _check_provider(litellm: Any, cfg: JudgeConfig) -> None:
    from judge.errors import did_you_mean

    providers = [str(getattr(p, "value", p)) for p in litellm.provider_list]
    if cfg.provider and cfg.provider not in providers:
        raise ConfigError(
            f"judge '{cfg.label}': unknown provider '{cfg.provider}'{did_you_mean(cfg.provider, providers)}; "
            "use a LiteLLM model string such as openai/NAME, anthropic/NAME or offline/lexicon"
        )
    if not cfg.provider:
        try:
            litellm.get_llm_provider(cfg.model)
        except Exception:
            raise ConfigError(
                f"judge '{cfg.label}': LiteLLM cannot tell the provider of '{cfg.model}'; "
                f"prefix it, as in openai/{cfg.model}"
            ) from None
