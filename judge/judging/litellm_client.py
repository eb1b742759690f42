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
from judge.inputs.config import DEFAULT_PARAMS, JudgeConfig, check_api_base, effective_api_base, is_loopback
from judge.judging.deployments import DeploymentRouter, deployment_of
from judge.judging.negotiation import LADDER, FormatNegotiation, response_format, with_schema_in_prompt
from judge.judging.prompt_cache import mark_stable_prefix, wants_marker
from judge.judging.protocol import Completion, JudgeCallError, JudgeRequest
from judge.judging.registry import register_default_backend
from judge.judging.retries import (
    FATAL_STATUS,
    describe,
    is_connection_error,
    is_context_overflow,
    is_format_rejection,
    is_retryable,
    retry_after_s,
    status_of,
    stop_after_waiting,
    wait_s,
)
from judge.judging.usage import read_usage

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
# A judge whose calls end in the same final error this many times in a row is stopped.
STOP_AFTER_SAME_ERRORS = 3

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
    """A judge reached through ``litellm.acompletion``, with tenacity owning retries.

    Its response format is negotiated once per run (judge/judging/negotiation.py). It also
    watches its own health: the same final error on ``STOP_AFTER_SAME_ERRORS`` calls in a row
    (a wrong model name, a parameter the server refuses, a server that is not there) makes the
    next such failure fatal, so the runner stops sending it work instead of failing every item.
    """

    def __init__(
        self, config: JudgeConfig, *, api_key: str | None = None, limiter: JudgeLimiter | None = None
    ) -> None:
        self.config = config
        self._api_key = api_key
        self._negotiation: FormatNegotiation | None = None
        self.limiter = limiter
        self._last_failure: str | None = None
        self._same_failures = 0
        self._router: DeploymentRouter | None = None  # built on first use when api_bases lists several

    @property
    def label(self) -> str:
        return self.config.label

    def __repr__(self) -> str:  # never show the key
        return f"LiteLLMJudge({self.config.label!r})"

    @property
    def negotiation(self) -> FormatNegotiation:
        # ``auto`` always starts at json_schema: LiteLLM's model map says "no schema support" for
        # many models and servers that take one (every unknown ``openai/NAME``, Ollama models),
        # and a server that does not take it says so at once, which costs one unbilled request.
        if self._negotiation is None:
            self._negotiation = FormatNegotiation.start(self.config.response_format)
        return self._negotiation

    async def complete(self, request: JudgeRequest) -> Completion:
        litellm = bootstrap_litellm()
        negotiation = self.negotiation
        while True:
            if negotiation.settled:
                return await self._complete_in(negotiation.mode, litellm, request)
            # Until a mode is settled, calls go one at a time, so each step down happens once
            # (and a cold local server warms its prompt cache on the first of them).
            async with negotiation.lock:
                if negotiation.settled:
                    continue
                mode = negotiation.mode
                try:
                    completion = await self._complete_in(mode, litellm, request)
                except _FormatRejected as rejected:
                    if negotiation.step_down(mode, rejected.message):
                        continue
                    raise rejected.final from None
                if negotiation.settle(mode):
                    completion.notice = negotiation.notice(self.label)
                completion.negotiation = negotiation.record()
                return completion

    def request_kwargs(self, mode: str, request: JudgeRequest) -> dict[str, Any]:
        """``litellm.acompletion``'s arguments for ``request`` in ``mode`` (batch mode sends the same)."""
        return self._kwargs(mode, request)

    def _kwargs(self, mode: str, request: JudgeRequest) -> dict[str, Any]:
        cfg = self.config
        messages = request.messages
        if mode in ("json_object", "none"):
            messages = with_schema_in_prompt(messages, request.schema)
        kwargs: dict[str, Any] = {
            "model": cfg.model,
            "messages": messages,
            "timeout": cfg.timeout_s,
            "num_retries": 0,
            "max_retries": 0,
            **cfg.params,
        }
        if request.max_tokens is not None and "max_tokens" not in cfg.params:
            kwargs["max_tokens"] = request.max_tokens
        if isinstance(cfg.params.get("seed"), int):
            # Each repeat its own seed: reproducible, yet repeats above temperature 0 stay distinct draws.
            kwargs["seed"] = cfg.params["seed"] + request.context.repeat
        fmt = response_format(mode, request.schema_name, request.schema, request.strict)
        if fmt is not None:
            kwargs["response_format"] = fmt
        if wants_marker(cfg.provider, cfg.cache_control):
            kwargs["messages"] = mark_stable_prefix(messages)
        if cfg.api_base:
            kwargs["api_base"] = cfg.api_base
        if self._api_key is not None:
            kwargs["api_key"] = self._api_key
        return kwargs

    async def _complete_in(self, mode: str, litellm: Any, request: JudgeRequest) -> Completion:
        """One call in ``mode``, with retries; raises _FormatRejected when the server refused
        the format and JudgeCallError when the call failed for good."""
        cfg = self.config
        kwargs = self._kwargs(mode, request)
        messages, max_tokens = kwargs["messages"], request.max_tokens
        sends_format = "response_format" in kwargs

        def worth_retrying(exc: BaseException) -> bool:
            return _worth_retrying(exc, sends_format)

        attempts = 0
        last_error: str | None = None
        start = time.perf_counter()
        retrying = AsyncRetrying(
            stop=stop_after_attempt(cfg.max_attempts) | stop_after_waiting(cfg.max_wait_s),
            wait=wait_s,
            retry=retry_if_exception(worth_retrying),
            reraise=True,
        )
        try:
            async for attempt in retrying:
                with attempt:
                    attempts += 1
                    try:
                        response = await self._attempt(litellm, kwargs, messages, max_tokens)
                    except Exception as exc:
                        last_error = describe(exc, self._api_key, timeout_s=cfg.timeout_s)
                        raise
            text = response.choices[0].message.content or ""
            if self._api_key and len(self._api_key) >= 8:
                # A reply can echo the key (prompt injection, a chatty proxy); it must not reach the
                # verdict log, the tables or the cache. Only the exact key: pattern redaction
                # (retries.redact) could break a valid JSON verdict.
                text = text.replace(self._api_key, "***")
        except BaseException as exc:
            if isinstance(exc, asyncio.CancelledError | KeyboardInterrupt | SystemExit):
                raise
            raise self._failure(exc, mode, attempts, sends_format) from None
        self._same_failures, self._last_failure = 0, None
        latency_ms = (time.perf_counter() - start) * 1000.0
        usage = read_usage(getattr(response, "usage", None))
        prompt_tokens, completion_tokens = usage.prompt_tokens, usage.completion_tokens
        if self.limiter is not None and prompt_tokens is not None:
            self.limiter.settle(
                _estimate_tokens(messages, max_tokens), prompt_tokens + (completion_tokens or 0)
            )
        return Completion(
            text=text,
            prompt_tokens=prompt_tokens,
            completion_tokens=completion_tokens,
            cost_usd=self._cost(response, usage),
            latency_ms=latency_ms,
            attempts=attempts,
            last_error=last_error,
            response_format=mode,
            cache_read_tokens=usage.cache_read_tokens,
            cache_write_tokens=usage.cache_write_tokens,
            deployment=deployment_of(response) if cfg.api_bases else None,
        )

    def _failure(self, exc: BaseException, mode: str, attempts: int, sends_format: bool) -> Exception:
        """What a failed call becomes: a format rejection to negotiate, or a JudgeCallError that
        says what to fix and whether the judge should stop."""
        cfg = self.config
        status = status_of(exc)
        message = describe(exc, self._api_key, timeout_s=cfg.timeout_s)
        fix = None
        rejected = sends_format and is_format_rejection(exc)
        if rejected:
            others = ", ".join(m for m in LADDER if m != mode)
            fix = (
                f"the server rejected response_format {mode}; set response_format: auto for this judge "
                f"(or one of {others})"
            )
        elif status in FATAL_STATUS:
            fix = f"check the API key in {key_variable(cfg)}"
        elif is_connection_error(exc):
            fix = f"check that the server at {effective_api_base(cfg) or 'the provider'} is running and reachable"
        elif _mentions_default_temperature(exc, cfg):
            fix = "this model refuses the default temperature 0; set params: {temperature: 1} for it"
        if rejected and not self.negotiation.explicit:
            final = JudgeCallError(f"{message}; {fix}", attempts=attempts, status=status, fix=fix, response_format=mode)
            return _FormatRejected(message, final)
        fatal = status in FATAL_STATUS or self._repeated(exc, message, sends_format)
        text = f"{message}; {fix}" if fix else message
        if fatal and status not in FATAL_STATUS:
            text += f" (the same error on {self._same_failures} calls in a row)"
        return JudgeCallError(text, attempts=attempts, status=status, fatal=fatal, fix=fix, response_format=mode)

    def _repeated(self, exc: BaseException, message: str, sends_format: bool) -> bool:
        """Count final errors that say the same thing; True once the judge should stop.

        Counted: errors no retry could fix (4xx, a refused format or parameter) and a server
        that cannot be reached. Not counted: a too-long prompt (the item's fault) and 5xx, 429
        and timeouts, which come and go.
        """
        judge_wide = is_connection_error(exc) or not (_worth_retrying(exc, sends_format) or is_context_overflow(exc))
        if not judge_wide:
            self._same_failures, self._last_failure = 0, None
            return False
        if message == self._last_failure:
            self._same_failures += 1
        else:
            self._same_failures, self._last_failure = 1, message
        return self._same_failures >= STOP_AFTER_SAME_ERRORS

    async def _attempt(
        self, litellm: Any, kwargs: dict[str, Any], messages: list[dict[str, str]], max_tokens: int | None
    ) -> Any:
        """One HTTP request, inside the judge's rate limits; tells the limiter how it went."""
        cfg = self.config
        limiter = self.limiter
        acompletion = litellm.acompletion
        if cfg.api_bases:  # several deployments: LiteLLM's Router picks one (judging/deployments.py)
            if self._router is None:
                self._router = DeploymentRouter(cfg, self._api_key, litellm)
            acompletion = self._router.acompletion
        # A guard a little past LiteLLM's own timeout, so no path through it can hang a worker.
        if limiter is None:
            async with asyncio.timeout(cfg.timeout_s + 1.0):
                return await acompletion(**kwargs)
        async with limiter.slot(_estimate_tokens(messages, max_tokens)):
            try:
                async with asyncio.timeout(cfg.timeout_s + 1.0):
                    response = await acompletion(**kwargs)
            except BaseException as exc:
                limiter.record(rate_limited=status_of(exc) == 429, retry_after=retry_after_s(exc))
                raise
            limiter.record(rate_limited=False)
            return response

    def _cost(self, response: Any, usage: Any) -> float | None:
        from judge.judging.pricing import configured_price

        price = configured_price(self.config)
        if price is not None:
            if usage.prompt_tokens is None or usage.completion_tokens is None:
                return None
            return price.cost(usage.prompt_tokens, usage.completion_tokens, cached=usage.cache_read_tokens or 0,
                              cache_write=usage.cache_write_tokens or 0)
        # LiteLLM prices mapped models itself, cached and cache-write tokens at their own rates.
        hidden = getattr(response, "_hidden_params", None) or {}
        cost = hidden.get("response_cost")
        return float(cost) if cost is not None else None


def _worth_retrying(exc: BaseException, sends_format: bool) -> bool:
    # A refused response_format is deterministic: another try would be refused the same way.
    return is_retryable(exc) and not (sends_format and is_format_rejection(exc))


class _FormatRejected(Exception):
    """The server refused the response format (never leaves this module)."""

    def __init__(self, message: str, final: JudgeCallError) -> None:
        super().__init__(message)
        self.message = message
        self.final = final  # what the call raises when there is no mode left to try


def _mentions_default_temperature(exc: BaseException, cfg: JudgeConfig) -> bool:
    return "temperature" in str(exc) and cfg.params.get("temperature") == DEFAULT_PARAMS.get("temperature")


def key_variable(cfg: JudgeConfig) -> str:
    """The environment variable that holds a judge's key: the one its config names, else the
    provider's standard one (what LiteLLM reads)."""
    if cfg.api_key_env:
        return cfg.api_key_env
    return f"{(cfg.provider or 'OPENAI').upper()}_API_KEY"


def _estimate_tokens(messages: list[dict[str, str]], max_tokens: int | None) -> int:
    # About four characters a token, plus the reply budget: enough to pace a tpm limit; the real
    # usage corrects the bucket once the reply comes (JudgeLimiter.settle).
    return sum(len(_text_of(m.get("content"))) for m in messages) // 4 + (max_tokens or 512)


def _text_of(content: Any) -> str:
    """A message's text, whether a string or content parts (a cache_control breakpoint's)."""
    if isinstance(content, list):
        return "".join(str(part.get("text", "")) for part in content if isinstance(part, dict))
    return content or ""


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
        if is_loopback(effective_api_base(cfg)) or (cfg.api_bases and all(map(is_loopback, cfg.api_bases))):
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
        base = effective_api_base(config)
        if base and not config.api_base:  # from OPENAI_BASE_URL: checked here, as a config api_base is
            check_api_base(base, f"judge '{config.label}': OPENAI_BASE_URL")
        return LiteLLMJudge(config, api_key=resolve_api_key(config), limiter=JudgeLimiter.for_config(config))

    def price(self, config: JudgeConfig) -> Price | None:
        """The config's prices when it gives any, else LiteLLM's bundled price map.

        An unknown model on a loopback server is not assumed free: it may be a local proxy to a
        paid API, and a budget must not take it for free. A local model gets its 0 prices from
        the config."""
        from judge.judging.pricing import configured_price, litellm_price

        # Cached and batch rates come with the normal ones (judging/pricing.py).
        return configured_price(config) or litellm_price(config.model)


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
