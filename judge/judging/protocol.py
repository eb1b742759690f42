"""What a judge is: one async method that turns a structured request into a reply text.

Every judge (the LiteLLM client, the offline heuristics, a test's scripted judge) and every
wrapper around one (response cache, budget) implements ``Judge``; the runner and the wrappers
see nothing else. A request carries the structured call (the rubric with its verdict schema, the
item with its task and texts, what the call is for) beside the rendered chat messages, so a
backend uses whichever it needs and never has to parse prompt text back into data.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Protocol

if TYPE_CHECKING:
    from judge.inputs.config import JudgeConfig
    from judge.inputs.dataset import Item
    from judge.inputs.parts import CallPart
    from judge.inputs.rubrics import Rubric


@dataclass(frozen=True, slots=True)
class CallContext:
    """What a call is for. Wrappers (cache, budget, rate limits) key and account by it.
    ``turn`` is 0 for the first call, n for the n-th re-ask."""

    item_id: str
    item_hash: str
    rubric_id: str
    rubric_hash: str
    prompt_hash: str
    schema_hash: str
    repeat: int
    turn: int = 0
    part: str | None = None  # a per-sentence call's sentence, as "baseline[3]"; None for a whole item


@dataclass(frozen=True, slots=True)
class JudgeRequest:
    """One call: the rendered chat for model judges, and the structured call behind it.

    ``max_tokens`` is the completion cap to send: the rubric's, unless a wrapper sets one (the
    budget does when nothing else caps a reply). The judge's own params still win over it.
    """

    messages: list[dict[str, str]]
    rubric: Rubric
    item: Item
    context: CallContext
    max_tokens: int | None = None
    part: CallPart | None = None  # the one sentence a per-sentence call judges; None otherwise

    @property
    def schema(self) -> dict[str, Any]:
        """The JSON Schema the reply must match: the rubric's verdict, or one sentence's reply."""
        return self.part.schema if self.part is not None else self.rubric.schema

    @property
    def schema_name(self) -> str:
        return self.rubric.id if self.part is None else f"{self.rubric.id}-sentence"

    @property
    def strict(self) -> bool:
        return self.rubric.strict

    @property
    def task(self) -> str:
        return self.item.task


@dataclass(slots=True)
class Completion:
    """A reply body the judge returned (and the provider billed), whatever its content turns out to be."""

    text: str
    prompt_tokens: int | None
    completion_tokens: int | None
    cost_usd: float | None
    latency_ms: float
    attempts: int
    cached: bool = False  # served from the response cache: no call made, nothing billed
    last_error: str | None = None  # the last transient failure before this reply, if it took retries
    # The response-format mode the reply was asked in (judge/judging/negotiation.py); None for
    # judges that take no response_format (the offline ones).
    response_format: str | None = None
    # The judge's negotiation so far (configured mode, working mode, rejected steps), for the manifest.
    negotiation: dict[str, Any] | None = None
    # Something to tell the user once, as it happens (e.g. the judge stepped down a format).
    notice: str | None = None
    # The judge declined the whole call, with this reason, instead of giving a verdict (a backend
    # whose rubric's verdict format has no abstention field: the offline judges on a text they
    # cannot read). The row is recorded ``abstained``; ``text`` is then empty.
    abstain_reason: str | None = None
    cache_read_tokens: int | None = None  # prompt tokens the provider read from its prompt cache
    cache_write_tokens: int | None = None  # prompt tokens the provider wrote to its prompt cache
    batch_id: str | None = None  # the provider batch that answered (batch mode)
    deployment: str | None = None  # which of the judge's api_bases answered (several deployments)


class JudgeCallError(Exception):
    """A call that failed for good: retries exhausted, or a final error such as 400 or 401.

    ``fatal``: the judge itself is unusable (a bad key, or the same final error call after call):
    stop sending it work. ``fix`` says what the user should change, when we know.
    """

    def __init__(
        self,
        message: str,
        *,
        attempts: int,
        status: int | None = None,
        fatal: bool = False,
        fix: str | None = None,
        response_format: str | None = None,
    ) -> None:
        super().__init__(message)
        self.attempts = attempts
        self.status = status
        self.fatal = fatal
        self.fix = fix
        self.response_format = response_format


class Judge(Protocol):
    """Anything that answers a request with a reply text; ``config`` names and tunes it."""

    config: JudgeConfig

    async def complete(self, request: JudgeRequest) -> Completion: ...
