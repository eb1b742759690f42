"""One judge, several deployments of the same model (vLLM replicas, regional endpoints), spread by
LiteLLM's Router.

A judge config with ``api_bases: [URL, URL, ...]`` gets one Router whose model group holds one
deployment per URL, all with the judge's own model string and key: the Router picks one per call
(``simple-shuffle``) and takes a deployment that keeps failing out of rotation for a while
(``allowed_fails`` failures, then ``cooldown_time`` seconds). Everything else stays ours:

- retries: the Router's are off (``num_retries=0``, and ``max_retries=0`` per deployment), so a
  failed call goes back to our tenacity loop, whose next attempt the Router sends to a deployment
  that is not cooling down;
- no fallbacks to other models, ever: a Router fallback silently changes which judge produced a
  verdict (shared/notes/litellm.md). Every deployment in the group is the judge's one model, and
  the Router is given no fallbacks;
- no Router rpm/tpm limits (measured unreliable); the judge's own limits (judging/limits.py) apply
  to the judge as a whole.

Which deployment answered is read from the reply (the Router's ``model_id``, which we set to the
deployment's URL) and recorded on the verdict (``deployment``).

Building a Router writes its deployments into LiteLLM's process-wide price map (an empty entry for
a model the map lacks, which LiteLLM then prices at 0, and one per deployment id); those writes
are undone at once, so an unpriced model stays unpriced for every judge of the process.
"""

from __future__ import annotations

import copy
from typing import Any

from judge.inputs.config import JudgeConfig

# A deployment that fails this many times within a minute is taken out of rotation ...
ALLOWED_FAILS = 2
# ... for this many seconds, then tried again.
COOLDOWN_S = 30.0


class DeploymentRouter:
    """``acompletion(**kwargs)`` like ``litellm.acompletion``, spread over the judge's api_bases."""

    def __init__(self, config: JudgeConfig, api_key: str | None, litellm: Any) -> None:
        self.config = config
        self.group = f"empathy-judge:{config.label}"
        model_list = []
        for base in config.api_bases:
            params: dict[str, Any] = {"model": config.model, "api_base": base, "max_retries": 0,
                                      "timeout": config.timeout_s}
            if api_key is not None:
                params["api_key"] = api_key
            model_list.append({"model_name": self.group, "litellm_params": params, "model_info": {"id": base}})
        prices = litellm.model_cost
        before = set(prices)
        touched = {key: copy.deepcopy(prices[key]) for key in _map_keys(config.model) if key in prices}
        self.router = litellm.Router(
            model_list=model_list,
            routing_strategy="simple-shuffle",
            num_retries=0,
            allowed_fails=ALLOWED_FAILS,
            cooldown_time=COOLDOWN_S,
            fallbacks=[],
            default_fallbacks=None,
            timeout=config.timeout_s,
        )
        for key in set(prices) - before:
            del prices[key]
        prices.update(touched)

    async def acompletion(self, **kwargs: Any) -> Any:
        # The deployment supplies model, endpoint and key; the rest (messages, format, sampling,
        # timeout, retry switches) is the call's own.
        for key in ("api_base", "api_key"):
            kwargs.pop(key, None)
        kwargs["model"] = self.group
        return await self.router.acompletion(**kwargs)


def _map_keys(model: str) -> list[str]:
    """The price-map entries a deployment of ``model`` may rewrite."""
    return [model, model.split("/", 1)[1]] if "/" in model else [model]


def deployment_of(response: Any) -> str | None:
    """The api_base of the deployment that produced ``response`` (None if not routed)."""
    hidden = getattr(response, "_hidden_params", None) or {}
    model_id = hidden.get("model_id")
    return str(model_id) if model_id else None
