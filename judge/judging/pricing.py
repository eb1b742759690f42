"""Prices and token counts (the cost breakdown of a finished run is ``judge.stats.cost``).

A judge's price comes from its backend (judge/judging/registry.py): the offline judges cost
nothing; a LiteLLM judge takes ``input_cost_per_token`` / ``output_cost_per_token`` (and the
cached and batch rates below) from its config (local and self-hosted judges, or to override the
bundled map), else LiteLLM's bundled price map (read offline, never downloaded; see
judge/judging/litellm_client.py). A judge with no price has its verdicts carry ``cost_usd = null``,
and a run with a budget refuses to start (``require_prices``).

A price has up to three sets of rates, named as in LiteLLM's map: the normal ones, the provider's
prompt-cache rates (``cache_read_input_token_cost`` for cached prompt tokens,
``cache_creation_input_token_cost`` for tokens written to the cache: Anthropic charges a surcharge)
and the batch rates (``*_batches``, about half). A rate the map lacks falls back to the nearest one
that is never cheaper: a cached token to the input rate (in a batch, the batch input rate), a batch
rate to the normal one, a batch cache rate to the normal cache rate (as LiteLLM prices OpenAI
batches: cached tokens at the ordinary cache-read rate), so a worst case stays a worst case.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

from judge.core.errors import ConfigError
from judge.inputs.config import JudgeConfig

# A budgeted run needs a completion cap to bound each call's worst case; this one is used (and
# sent to the provider, so it holds) when neither the rubric nor the judge's params give one.
DEFAULT_MAX_TOKENS = 1024
# Our prompt-token count comes from LiteLLM's tokenizer, which can differ from the provider's
# (another tokenizer, chat-template overhead). The worst case scales it up by this margin and
# adds a fixed overhead per message, so a reservation stays above what the provider bills.
PROMPT_MARGIN = 1.25
PER_MESSAGE_OVERHEAD = 8


@dataclass(frozen=True, slots=True)
class Price:
    """Per-token rates in USD. ``prompt_tokens`` everywhere counts every prompt token, cached or
    not (as LiteLLM's usage does); ``cached`` and ``cache_write`` say how many of them were read
    from or written to the provider's prompt cache."""

    input_per_token: float
    output_per_token: float
    source: str  # who priced it: "offline", "config", "litellm", or another backend's name
    cache_read_per_token: float | None = None
    cache_write_per_token: float | None = None
    batch_input_per_token: float | None = None
    batch_output_per_token: float | None = None
    batch_cache_read_per_token: float | None = None
    batch_cache_write_per_token: float | None = None

    @property
    def free(self) -> bool:
        return self.input_per_token == 0 and self.output_per_token == 0

    def rates(self, *, batch: bool = False) -> tuple[float, float, float, float]:
        """(input, output, cache read, cache write) per token, normal or batch."""
        read = self.input_per_token if self.cache_read_per_token is None else self.cache_read_per_token
        write = self.input_per_token if self.cache_write_per_token is None else self.cache_write_per_token
        if not batch:
            return self.input_per_token, self.output_per_token, read, write
        inp = _or(self.batch_input_per_token, self.input_per_token)
        # A provider without cache rates bills cached tokens as input: in a batch, the batch input.
        read = inp if self.cache_read_per_token is None else read
        write = inp if self.cache_write_per_token is None else write
        return (
            inp,
            _or(self.batch_output_per_token, self.output_per_token),
            _or(self.batch_cache_read_per_token, read),
            _or(self.batch_cache_write_per_token, write),
        )

    def cost(
        self, prompt_tokens: int, completion_tokens: int, *, cached: int = 0, cache_write: int = 0,
        batch: bool = False,
    ) -> float:
        inp, out, read, write = self.rates(batch=batch)
        cached, cache_write = max(cached, 0), max(cache_write, 0)
        uncached = max(prompt_tokens - cached - cache_write, 0)
        return uncached * inp + cached * read + cache_write * write + completion_tokens * out

    def worst(self, prompt_tokens: int, completion_tokens: int, *, batch: bool = False) -> float:
        """The most ``prompt_tokens`` and ``completion_tokens`` can cost: every prompt token at the
        dearest of the input, cache-read and cache-write rates (Anthropic bills cache writes above
        the input rate)."""
        inp, out, read, write = self.rates(batch=batch)
        return prompt_tokens * max(inp, read, write) + completion_tokens * out

    @property
    def has_batch_rates(self) -> bool:
        return self.batch_input_per_token is not None or self.batch_output_per_token is not None


def _or(value: float | None, fallback: float) -> float:
    return fallback if value is None else value


# Price fields, by the key LiteLLM's map (and a judge's config) gives each under.
PRICE_KEYS = {
    "input_cost_per_token": "input_per_token",
    "output_cost_per_token": "output_per_token",
    "cache_read_input_token_cost": "cache_read_per_token",
    "cache_creation_input_token_cost": "cache_write_per_token",
    "input_cost_per_token_batches": "batch_input_per_token",
    "output_cost_per_token_batches": "batch_output_per_token",
    "cache_read_input_token_cost_batches": "batch_cache_read_per_token",
    "cache_creation_input_token_cost_batches": "batch_cache_write_per_token",
}


def price_from_map(info: dict[str, object], source: str) -> Price | None:
    """A Price from a LiteLLM price-map entry (or a config's price keys); None when it has neither
    an input nor an output rate."""
    values: dict[str, float | None] = {}
    for key, name in PRICE_KEYS.items():
        value = info.get(key)
        values[name] = float(value) if isinstance(value, int | float) and not isinstance(value, bool) else None
    if values["input_per_token"] is None and values["output_per_token"] is None:
        return None
    values["input_per_token"] = values["input_per_token"] or 0.0
    values["output_per_token"] = values["output_per_token"] or 0.0
    return Price(source=source, **values)  # type: ignore[arg-type]


def litellm_price(model: str) -> Price | None:
    """The model's rates from LiteLLM's bundled price map, cached and batch rates included."""
    from judge.judging.litellm_client import bootstrap_litellm

    try:
        info = bootstrap_litellm().get_model_info(model)
    except Exception:  # not in the bundled map
        return None
    return price_from_map(dict(info), "litellm")


def price_for(cfg: JudgeConfig) -> Price | None:
    """The judge's per-token price, as its backend knows it; None when nothing prices it."""
    from judge.judging.registry import backend_for

    return backend_for(cfg.model).price(cfg)


def configured_price(cfg: JudgeConfig) -> Price | None:
    """The price the judge's config gives, if it gives one."""
    if cfg.input_cost_per_token is not None or cfg.output_cost_per_token is not None:
        return price_from_map({key: getattr(cfg, key, None) for key in PRICE_KEYS}, "config")
    return None


def require_prices(judges: list[JudgeConfig]) -> dict[str, Price]:
    """Prices for every judge; an unpriced judge is a ConfigError naming it and the fix."""
    prices: dict[str, Price] = {}
    for cfg in judges:
        price = price_for(cfg)
        if price is None:
            raise ConfigError(
                f"judge '{cfg.label}': no known price for '{cfg.model}' (not in LiteLLM's price map), so a "
                "budget cannot bound its spend; give it input_cost_per_token and output_cost_per_token in "
                "the config (0 for a free local server), or drop --budget-usd"
            )
        prices[cfg.label] = price
    return prices


def effective_max_tokens(cfg: JudgeConfig, rubric_max_tokens: int | None) -> int | None:
    """The completion cap the provider will be sent: the judge's params win over the rubric
    (mirrors judge.judging.litellm_client.LiteLLMJudge.complete)."""
    value = cfg.params.get("max_tokens")
    if value is not None:
        return int(value)
    return rubric_max_tokens


def count_prompt_tokens(model: str, messages: list[dict[str, str]]) -> int:
    """Prompt tokens as LiteLLM counts them (offline; cl100k for models it does not know)."""
    from judge.judging.litellm_client import bootstrap_litellm

    litellm = bootstrap_litellm()
    try:
        return int(litellm.token_counter(model=model, messages=messages))
    except Exception:  # a tokenizer it cannot load offline: fall back to the default one
        return int(litellm.token_counter(model="gpt-4o", messages=messages))


def worst_prompt_tokens(counted: int, n_messages: int) -> int:
    """An upper bound on billed prompt tokens, from our count (see PROMPT_MARGIN)."""
    return math.ceil(counted * PROMPT_MARGIN) + PER_MESSAGE_OVERHEAD * n_messages
