"""The LiteLLM client: every judge but the registered backends goes through ``litellm.acompletion``.

It is the registry's default backend (judge/judging/registry.py): a model string whose prefix no
backend registered is checked against LiteLLM's provider list and judged through LiteLLM.

Retrying belongs to tenacity alone: LiteLLM's and the OpenAI SDK's own retries are switched off on
every call (``num_retries=0, max_retries=0``), because the three layers stack (see
shared/notes/litellm.md); the retry decisions are in judge/judging/retries.py. Each HTTP attempt
passes the judge's rate limits (judge/judging/limits.py). LiteLLM is imported lazily, on the first
call, because importing it costs about 3 s.
"""

from __future__ import annotations

import asyncio
import logging
import os
import re
import time
from collections.abc import Iterable
from typing import TYPE_CHECKING, Any

from tenacity import AsyncRetrying, retry_if_exception, stop_after_attempt

from judge.core.errors import ConfigError, did_you_mean
from judge.inputs.config import JudgeConfig
from judge.judging.protocol import Completion, JudgeCallError, JudgeRequest
from judge.judging.registry import register_default_backend
from judge.judging.retries import (
    FATAL_STATUS,
    describe,
    is_retryable,
    retry_after_s,
    status_of,
    stop_after_waiting,
    wait_s,
)

if TYPE_CHECKING:
    from judge.judging.limits import JudgeLimiter
    from judge.judging.pricing import Price

# Providers accepted without importing LiteLLM (3 s), so a fully cached re-run never loads it;
# any other prefix is checked against LiteLLM's own list.
COMMON_PROVIDERS = frozenset(
    {
        "openai", "azure", "anthropic", "gemini", "vertex_ai", "bedrock", "mistral", "groq", "cohere",
        "together_ai", "openrouter", "deepseek", "fireworks_ai", "ollama", "ollama_chat", "hosted_vllm",
        "vllm", "xai", "perplexity", "databricks", "huggingface", "lm_studio", "cerebras", "sambanova",
    }
)
_LOOPBACK = ("http://127.", "http://localhost", "https://127.", "https://localhost", "http://[::1]")

_litellm: Any = None


def bootstrap_litellm() -> Any:
    """Import and configure LiteLLM once per process: offline price map, no .env loading, quiet
    logs, no silent parameter dropping."""
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
    # Importing LiteLLM leaves ~370,000 objects that live as long as the process; without this,
    # every full collection rescans them all, which cost ~0.7 ms of CPU per call at 64 concurrent
    # calls (benchmarks/RESULTS.md). Freezing moves them out of the collector's way for good.
    import gc

    gc.freeze()
    _litellm = litellm
    return litellm


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

    def _response_format(self, request: JudgeRequest) -> dict[str, Any] | None:
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
            schema = {"name": request.schema_name, "schema": request.schema, "strict": request.strict}
            return {"type": "json_schema", "json_schema": schema}
        if self._format_mode == "json_object":
            return {"type": "json_object"}
        return None

    async def complete(self, request: JudgeRequest) -> Completion:
        litellm = bootstrap_litellm()
        cfg = self.config
        messages, max_tokens = request.messages, request.max_tokens
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
        fmt = self._response_format(request)
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
            stop=stop_after_attempt(cfg.max_attempts) | stop_after_waiting(cfg.max_wait_s),
            wait=wait_s,
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
        # A guard a little past LiteLLM's own timeout, so no path through it can hang a worker.
        if limiter is None:
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


def resolve_api_key(cfg: JudgeConfig) -> str | None:
    """The key for a judge, from the env var its config names, or the provider's standard one.

    Returns None to let LiteLLM find the provider's key itself. Raises ConfigError when a named
    variable is unset. A loopback ``openai/`` server with no key gets a dummy one, because LiteLLM
    turns a missing key into a retryable 500 ("Missing credentials").
    """
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


class LiteLLMBackend:
    """The registry's default backend: any provider LiteLLM knows."""

    def check_prefix(self, prefix: str, registered: Iterable[str]) -> None:
        """Common providers pass without importing LiteLLM (so a fully cached re-run never loads
        it); others are checked against LiteLLM's provider list, read from its source."""
        if not prefix or prefix in COMMON_PROVIDERS:
            return  # no prefix: LiteLLM guesses the provider from the name (checked in build)
        providers = providers_from_source()
        if providers is None:
            providers = [str(getattr(p, "value", p)) for p in bootstrap_litellm().provider_list]
        if prefix not in providers:
            raise ConfigError(
                f"unknown provider '{prefix}'{did_you_mean(prefix, [*registered, *providers])}; use a model "
                "string such as openai/NAME, anthropic/NAME or offline/lexicon"
            )

    def build(self, config: JudgeConfig) -> LiteLLMJudge:
        from judge.judging.limits import JudgeLimiter

        if not config.provider:
            _check_bare_model(config)
        return LiteLLMJudge(config, api_key=resolve_api_key(config), limiter=JudgeLimiter.for_config(config))

    def price(self, config: JudgeConfig) -> Price | None:
        """The config's prices when it gives any, else LiteLLM's bundled price map."""
        from judge.judging.pricing import Price, configured_price

        configured = configured_price(config)
        if configured is not None:
            return configured
        litellm = bootstrap_litellm()
        try:
            info = litellm.get_model_info(config.model)
        except Exception:  # not in the bundled map
            return None
        inp, out = info.get("input_cost_per_token"), info.get("output_cost_per_token")
        if inp is None and out is None:
            return None
        return Price(float(inp or 0.0), float(out or 0.0), "litellm")


def _check_bare_model(cfg: JudgeConfig) -> None:
    """A model string without a prefix: LiteLLM must be able to tell its provider."""
    try:
        bootstrap_litellm().get_llm_provider(cfg.model)
    except Exception:
        raise ConfigError(
            f"judge '{cfg.label}': LiteLLM cannot tell the provider of '{cfg.model}'; "
            f"prefix it, as in openai/{cfg.model}"
        ) from None


def providers_from_source() -> list[str] | None:
    """LiteLLM's provider names, read from its source instead of importing it (3-5 s), so a typo in
    a provider fails fast. The version is pinned; if the enum moves, this returns None and the
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


register_default_backend(LiteLLMBackend())
