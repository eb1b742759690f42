"""The offline judges (``offline/lexicon``, ``offline/structure``) as a registered backend.

They answer the structured request (the item's texts and task, the rubric's family and
mechanism) directly, in process: no prompt parsing, no LiteLLM, so a run whose judges are all
offline never imports it (about 3 s saved). They still pass through everything a remote judge
does above the client: the response cache, the budget, the runner's verdict parsing and
re-ask policy. The verdicts themselves come from ``judge.offline.verdicts``.
"""

from __future__ import annotations

import time

from judge.core.errors import ConfigError
from judge.inputs.config import JudgeConfig
from judge.judging.pricing import Price
from judge.judging.protocol import Completion, JudgeCallError, JudgeRequest
from judge.judging.registry import register_backend
from judge.offline.verdicts import JUDGES, CannotRead, respond

PREFIX = "offline"


def _estimate_tokens(text: str) -> int:
    # Offline judges cost nothing; a rough count keeps token columns comparable across judges.
    return max(1, len(text) // 4)


class OfflineJudge:
    """A deterministic heuristic judge computed in process."""

    def __init__(self, config: JudgeConfig, name: str) -> None:
        self.config = config
        self.name = name

    def __repr__(self) -> str:
        return f"OfflineJudge({self.config.label!r})"

    async def complete(self, request: JudgeRequest) -> Completion:
        start = time.perf_counter()
        abstain: str | None = None
        try:
            text = respond(self.name, request.rubric, request.item, request.part)
        except CannotRead as exc:  # a verdict format with no abstention field: abstain on the reply
            text, abstain = "", f"offline/{self.name}: {exc}"
        except ValueError as exc:  # a rubric these judges do not answer: a final error, like a 400
            raise JudgeCallError(f"offline judge '{self.name}': {exc}", attempts=1, status=400) from None
        prompt_tokens = sum(_estimate_tokens(str(m.get("content", ""))) for m in request.messages)
        return Completion(
            text=text,
            prompt_tokens=prompt_tokens,
            completion_tokens=_estimate_tokens(text) if text else 0,
            cost_usd=0.0,
            latency_ms=(time.perf_counter() - start) * 1000.0,
            attempts=1,
            abstain_reason=abstain,
        )


class OfflineBackend:
    def build(self, config: JudgeConfig) -> OfflineJudge:
        name = config.model.split("/", 1)[1]
        if name not in JUDGES:
            available = ", ".join(f"{PREFIX}/{j}" for j in JUDGES)
            raise ConfigError(f"judge '{config.label}': unknown offline judge '{name}'; available: {available}")
        return OfflineJudge(config, name)

    def price(self, config: JudgeConfig) -> Price:
        return Price(0.0, 0.0, "offline")


register_backend(PREFIX, OfflineBackend())
