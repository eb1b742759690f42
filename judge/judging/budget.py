"""A hard spending cap: a ledger shared by every judge, and a wrapper judge that uses it.

Before each call the wrapper reserves the call's worst-case cost: prompt tokens (LiteLLM's count,
scaled up by judge.judging.pricing.PROMPT_MARGIN) plus the completion cap, at the judge's price. When the
call returns, the reservation is settled to what the reply actually cost. A call starts only if
``spent + reserved + its reservation <= cap``, so however many calls are in flight at once, the
spend can never pass the cap.

Why one reservation per call covers retries: the LiteLLM client retries only on failures that returned
no reply body (status errors, timeouts, dropped connections); a body, valid or not, ends the retry
loop. So one ``complete()`` yields at most one billed body. Re-asks after an invalid reply are
new ``complete()`` calls, each with its own reservation (its prompt includes the invalid reply).
A failed call settles to 0: nothing was billed. A cancelled call (Ctrl-C) keeps its whole
reservation as spent, since we cannot know whether the provider billed it; the manifest's record
reports it apart (``cancelled_usd``), so ``spent_usd`` there is what the replies received cost.

Batch mode (judge/judging/batching.py) reserves a whole batch, every request at its worst case at
the batch price, before submitting it, and settles it to what its results cost; a re-attached batch
that an earlier invocation submitted is reserved without the cap check (``force_reserve``: it is
already running and cannot be refused), before any new work.

A call that does not fit while others are in flight waits for them to settle (their actual costs
are usually far below their worst cases) and tries again. The first call that cannot fit with
nothing in flight marks the budget exhausted: the runner then starts no new calls, lets in-flight
ones finish, and records the rest as ``skipped``. Concurrency therefore never lets the spend pass
the cap, and costs only waiting near the end of the budget.
"""

from __future__ import annotations

import asyncio
from dataclasses import dataclass, field, replace
from typing import Any

from judge.core.errors import BudgetExhausted
from judge.inputs.config import JudgeConfig
from judge.judging.pricing import (
    DEFAULT_MAX_TOKENS,
    Price,
    count_prompt_tokens,
    effective_max_tokens,
    worst_prompt_tokens,
)
from judge.judging.protocol import Completion, Judge, JudgeCallError, JudgeRequest


@dataclass
class Budget:
    """The ledger. Used from one event loop; every method is synchronous, so each is atomic."""

    cap_usd: float
    spent_usd: float = 0.0
    reserved_usd: float = 0.0
    exhausted: bool = False
    calls: int = 0
    refused: int = 0
    # How far actual costs passed their reservations (should stay 0; reported, never hidden).
    overshoot_usd: float = 0.0
    # Reservations of calls cancelled in flight: counted as spent (the cap must hold whatever the
    # provider billed), reported apart (nobody knows whether it did).
    cancelled_usd: float = 0.0
    peak_committed_usd: float = 0.0
    waits: int = 0
    _open: dict[int, float] = field(default_factory=dict)
    _next: int = 0
    _settled: asyncio.Event | None = None

    async def acquire(self, amount: float) -> int:
        """Reserve ``amount``, waiting for in-flight calls to settle while they might free room.

        Only when nothing is in flight and the call still cannot fit is the budget exhausted:
        reservations are worst cases, so waiting for actual costs usually frees most of them.
        """
        while not self.exhausted and self._open and self.spent_usd + self.reserved_usd + amount > self.cap_usd:
            if self._settled is None:
                self._settled = asyncio.Event()
            self.waits += 1
            await self._settled.wait()
        return self.reserve(amount)

    def reserve(self, amount: float) -> int:
        """Reserve ``amount``; raise BudgetExhausted (and mark the budget exhausted) if it cannot fit."""
        if self.exhausted or self.spent_usd + self.reserved_usd + amount > self.cap_usd:
            self.exhausted = True
            self.refused += 1
            raise BudgetExhausted(
                f"budget exhausted: ${self.spent_usd:.6f} spent, ${self.reserved_usd:.6f} reserved, next call "
                f"needs up to ${amount:.6f}, cap ${self.cap_usd:.6f}"
            )
        self._next += 1
        self._open[self._next] = amount
        self.reserved_usd += amount
        self.calls += 1
        self.peak_committed_usd = max(self.peak_committed_usd, self.spent_usd + self.reserved_usd)
        return self._next

    def force_reserve(self, amount: float) -> int:
        """Reserve ``amount`` even past the cap (work already submitted, which cannot be refused)."""
        self._next += 1
        self._open[self._next] = amount
        self.reserved_usd += amount
        self.peak_committed_usd = max(self.peak_committed_usd, self.spent_usd + self.reserved_usd)
        return self._next

    @property
    def room_usd(self) -> float:
        """What a new reservation may take now."""
        return 0.0 if self.exhausted else max(0.0, self.cap_usd - self.spent_usd - self.reserved_usd)

    @property
    def in_flight(self) -> bool:
        return bool(self._open)

    def reserved_for(self, ticket: int) -> float:
        return self._open.get(ticket, 0.0)

    async def settled(self) -> None:
        """Wait until some reservation settles."""
        if self._settled is None:
            self._settled = asyncio.Event()
        await self._settled.wait()

    def settle(self, ticket: int, actual: float, *, cancelled: bool = False) -> None:
        amount = self._open.pop(ticket)
        self.reserved_usd = max(0.0, self.reserved_usd - amount)
        self.spent_usd += actual
        if cancelled:
            self.cancelled_usd += actual
        if actual > amount:
            self.overshoot_usd += actual - amount
        if self._settled is not None:  # wake every waiter; each re-checks the room left
            self._settled.set()
            self._settled = None

    @property
    def left_usd(self) -> float:
        return max(0.0, self.cap_usd - self.spent_usd)


class BudgetedJudge:
    """Wraps a judge: reserve the worst case, call, settle the actual cost."""

    def __init__(self, inner: Judge, budget: Budget, price: Price) -> None:
        self.inner = inner
        self.config: JudgeConfig = inner.config
        self.budget = budget
        self.price = price

    def worst_case_usd(self, messages: list[dict[str, str]], max_tokens: int) -> float:
        if self.price.free:
            return 0.0  # nothing to count: a free judge (offline) never loads LiteLLM's tokenizer
        counted = count_prompt_tokens(self.config.model, messages)
        return self.price.worst(worst_prompt_tokens(counted, len(messages)), max_tokens)

    async def complete(self, request: JudgeRequest) -> Completion:
        if self.budget.exhausted:
            # Refused at once, without counting the prompt: once the budget is spent every unit
            # that is not in the response cache (which sits outside this wrapper) comes here.
            self.budget.refused += 1
            raise BudgetExhausted(f"budget exhausted: ${self.budget.spent_usd:.6f} spent of ${self.budget.cap_usd:.6f}")
        cap = effective_max_tokens(self.config, request.max_tokens)
        if cap is None:
            cap = DEFAULT_MAX_TOKENS  # sent to the provider, so the worst case holds
            request = replace(request, max_tokens=cap)
        ticket = await self.budget.acquire(self.worst_case_usd(request.messages, cap))
        try:
            completion = await self.inner.complete(request)
        except JudgeCallError:
            self.budget.settle(ticket, 0.0)
            raise
        except (asyncio.CancelledError, KeyboardInterrupt):
            self.budget.settle(ticket, self.budget._open.get(ticket, 0.0), cancelled=True)
            raise
        except BaseException:
            self.budget.settle(ticket, 0.0)
            raise
        self.budget.settle(ticket, self._actual(completion, self.budget._open[ticket]))
        return completion

    def _actual(self, completion: Completion, reserved: float) -> float:
        if completion.cost_usd is not None:
            return completion.cost_usd
        if completion.prompt_tokens is not None and completion.completion_tokens is not None:
            cost = self.price.cost(completion.prompt_tokens, completion.completion_tokens,
                                   cached=completion.cache_read_tokens or 0,
                                   cache_write=completion.cache_write_tokens or 0)
            completion.cost_usd = cost
            return cost
        completion.cost_usd = reserved  # no usage reported: assume the worst case was billed
        return reserved


def wrap_judges(judges: list[Any], budget: Budget, prices: dict[str, Price]) -> list[Any]:
    """Each judge wrapped in the ledger; a judge that budgets itself (batch mode: it reserves whole
    batches) is handed the ledger instead (``attach_budget``)."""
    out: list[Any] = []
    for judge in judges:
        attach = getattr(judge, "attach_budget", None)
        if attach is not None:
            attach(budget, prices[judge.config.label])
            out.append(judge)
        else:
            out.append(BudgetedJudge(judge, budget, prices[judge.config.label]))
    return out


def apply_budget(cap_usd: float | None, clients: list[Any]) -> tuple[list[Any], Budget | None]:
    """Wrap every judge in the shared ledger when a cap is given (an unpriced judge is an error).

    Wrap *inside* any response cache, so a cache hit never reserves or spends."""
    if cap_usd is None:
        return clients, None
    from judge.judging.pricing import require_prices

    if not cap_usd > 0:
        from judge.core.errors import ConfigError

        raise ConfigError(f"--budget-usd: {cap_usd} must be a positive amount in USD")
    budget = Budget(cap_usd=cap_usd)
    return wrap_judges(clients, budget, require_prices([c.config for c in clients])), budget


def record(budget: Budget) -> dict[str, Any]:
    """This invocation's cap and spend, as the manifest's ``budgets`` list records it."""
    return {
        "cap_usd": budget.cap_usd,
        "spent_usd": budget.spent_usd - budget.cancelled_usd,  # what the replies received cost
        "calls": budget.calls,
        "exhausted": budget.exhausted,
        "overshoot_usd": budget.overshoot_usd,
        "cancelled_usd": budget.cancelled_usd,
    }


def exhausted_message(budget: Budget, run_dir: Any) -> str:
    return (
        f"empathy-judge: budget exhausted: spent ${budget.spent_usd:.4f} of ${budget.cap_usd:.4f}; the remaining "
        f"work is marked skipped; continue with: empathy-judge run --resume {run_dir} --budget-usd MORE"
    )


def default_cap_notice(judges: list[JudgeConfig], rubrics: list[Any]) -> str | None:
    """Say so when a budgeted run has to default the completion cap (nothing sets max_tokens)."""
    uncapped = sorted(
        f"{j.label} x {r.id}" for j in judges for r in rubrics if effective_max_tokens(j, r.max_tokens) is None
    )
    if not uncapped:
        return None
    shown = ", ".join(uncapped[:4]) + (f" and {len(uncapped) - 4} more" if len(uncapped) > 4 else "")
    return (
        f"empathy-judge: note: no max_tokens for {shown}; the budget caps those replies at {DEFAULT_MAX_TOKENS} "
        "tokens (sent to the provider). Set max_tokens in the rubric or the judge's params to change it"
    )
