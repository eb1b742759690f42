"""Prices and token counts (the cost breakdown of a finished run is ``judge.stats.cost``).

A judge's price comes from its backend (judge/judging/registry.py): the offline judges cost
nothing; a LiteLLM judge takes ``input_cost_per_token`` / ``output_cost_per_token`` from its config
(local and self-hosted judges, or to override the bundled map), else LiteLLM's bundled price map
(read offline, never downloaded; see judge/judging/litellm_client.py). A judge with no price has
its verdicts carry ``cost_usd = null``, and a run with a budget refuses to start (``require_prices``).
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
    input_per_token: float
    output_per_token: float
    source: str  # who priced it: "offline", "config", "litellm", or another backend's name

    @property
    def free(self) -> bool:
        return self.input_per_token == 0 and self.output_per_token == 0

    def cost(self, prompt_tokens: int, completion_tokens: int) -> float:
        return prompt_tokens * self.input_per_token + completion_tokens * self.output_per_token


def price_for(cfg: JudgeConfig) -> Price | None:
    """The judge's per-token price, as its backend knows it; None when nothing prices it."""
    from judge.judging.registry import backend_for

    return backend_for(cfg.model).price(cfg)


def configured_price(cfg: JudgeConfig) -> Price | None:
    """The price the judge's config gives, if it gives one."""
    if cfg.input_cost_per_token is not None or cfg.output_cost_per_token is not None:
        return Price(cfg.input_cost_per_token or 0.0, cfg.output_cost_per_token or 0.0, "config")
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
