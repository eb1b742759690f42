"""Batch mode: a judge whose calls go through its provider's batch API, at the batch price.

``BatchJudge`` is a Judge like any other: the runner awaits ``complete(request)`` per unit, so
parsing, the rubric's invalid-reply policy (a re-ask is a new request, so it goes into a follow-up
batch), the response cache (a hit never reaches a batch) and the verdict log work unchanged. Inside,
requests wait in a queue; a collector closes a batch when it holds ``batch_size`` requests (or the
provider's byte limit), or when no new request came for a moment (the runner has handed over all
it can), then submits it, polls it every ``batch_poll_s`` seconds, reads its results and hands each
reply back to the request it answers, matched by custom id. Several batches may be in flight.

A custom id is a digest of the judge, the item id and the response-cache key (rubric, prompt,
schema and item hashes, repeat, re-ask turn and the exact messages), so the same request always
gets the same id, in this run and in a resumed one.

**Never submitted twice.** Before anything is uploaded, an intent record (the batch's key, its
custom ids, a random marker, the time and its worst-case cost) goes into the run directory's batch
journal and is fsynced (judge/store/batches.py); the batch id follows as soon as the provider gives
it. A killed run, resumed, finds every request of the plan that a journal batch carries and
re-attaches to that batch (polls it, reads its results) instead of submitting it again. An intent
without an id (killed during the create call, or its answer lost) is looked up by marker (OpenAI
batch metadata; for Anthropic, see judging/anthropic_batches.py) before anything is resubmitted;
only a lookup that finds nothing marks it abandoned. The same lookup runs at once when a create
call's answer is lost in a live run, instead of a blind retry.

**Failures.** A request that failed or expired inside a batch for a reason another batch could fix
(expired, cancelled, rate-limited, server error) goes into a later batch, at most
``batch_resubmits`` times; whatever still fails, or failed for its own content, is an ``error``
verdict with the provider's reason.

**Budget.** Each batch's worst case (every request's prompt at the dearest input rate plus its
completion cap, at the batch price) is reserved before the batch is submitted; when it does not all
fit, the requests that fit go and the rest wait for earlier batches to settle, as calls do. Results
settle the reservation to their actual cost. Batches re-attached after a kill are reserved first,
without the cap check, since they already run (judge/judging/budget.py).

Supported: ``openai/`` and ``hosted_vllm/`` through LiteLLM's file and batch API
(judging/openai_batches.py), ``anthropic/`` through our own Message Batches client
(judging/anthropic_batches.py). Every other provider is refused with the reason (``batch_support``).
"""

from __future__ import annotations

import asyncio
import hashlib
import os
import secrets
import time
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime
from typing import Any, Protocol

from judge.core.errors import BudgetExhausted
from judge.inputs.config import JudgeConfig
from judge.judging.batch_api import BatchAPIError, BatchTransport, LineOutcome, request_body
from judge.judging.cache import cache_key
from judge.judging.negotiation import FormatNegotiation
from judge.judging.pricing import (
    DEFAULT_MAX_TOKENS,
    Price,
    count_prompt_tokens,
    effective_max_tokens,
    worst_prompt_tokens,
)
from judge.judging.protocol import Completion, Judge, JudgeCallError, JudgeRequest

# provider prefix -> how its batches travel
BATCH_ROUTES = {
    "openai": "LiteLLM's file and batch API",
    "hosted_vllm": "LiteLLM's file and batch API (the server must implement /v1/files and /v1/batches)",
    "anthropic": "our Message Batches client (LiteLLM 1.110.2 cannot create Anthropic batches)",
}
# A batch closes when no request arrived for this long: the runner has handed over all it can.
FLUSH_IDLE_S = 0.5
# Create attempts for one batch (lost answers looked up in between) before its requests fail.
CREATE_ATTEMPTS = 4
# Lookups of a marker after a lost answer, and the wait before each (a new batch may take a moment
# to appear in the provider's list).
LOOKUPS = 3
LOOKUP_WAIT_S = 1.0


def batch_support(cfg: JudgeConfig) -> str | None:
    """None when ``cfg`` can use batch mode; otherwise why not, in words."""
    if cfg.provider == "offline":
        return "offline judges answer in process; there is nothing to batch"
    if cfg.provider not in BATCH_ROUTES:
        supported = ", ".join(f"{p}/" for p in BATCH_ROUTES)
        return (f"provider '{cfg.provider or cfg.model}' has no batch route in empathy-judge; batch mode "
                f"supports {supported}")
    if cfg.api_bases:
        return "batch mode sends a batch to one server: give api_base, not api_bases"
    return None


class Journal(Protocol):
    """The run directory's batch journal (judge/store/batches.py)."""

    def append(self, record: dict[str, Any]) -> None: ...

    def records(self) -> list[dict[str, Any]]: ...


def custom_id(label: str, request: JudgeRequest, judge_hash: str) -> str:
    """The request's id inside a batch: stable across runs, unique per unit and re-ask turn, and
    within Anthropic's limits (letters, digits, '-' and '_', at most 64)."""
    key = cache_key(judge_hash, request.context, request.messages)
    digest = hashlib.sha256(f"{label}\0{request.context.item_id}\0{key}".encode()).hexdigest()
    return f"ej{digest[:40]}"


def _now_iso() -> str:
    return datetime.now(UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")


@dataclass(eq=False)
class _Entry:
    """One request on its way through one or more batches."""

    custom_id: str
    request: JudgeRequest
    future: asyncio.Future[Completion]
    enqueued: float
    line: bytes = b""
    worst_usd: float = 0.0
    submissions: int = 0  # batches that carried it (this run and earlier ones)
    last_error: str | None = None


@dataclass
class _Batch:
    """One batch as this process knows it (submitted now, or found in the journal)."""

    key: str
    marker: str
    custom_ids: list[str]
    epoch: float
    reserved_usd: float = 0.0
    batch_id: str | None = None
    ended: bool = False
    abandoned: bool = False
    ticket: int | None = None
    waiting: dict[str, _Entry] = field(default_factory=dict)
    results: dict[str, LineOutcome] | None = None  # once read
    task: asyncio.Task[None] | None = None


class BatchJudge:
    """A Judge that answers through its provider's batch API (see the module docstring)."""

    def __init__(
        self,
        client: Any,
        transport: BatchTransport,
        journal: Journal,
        price: Price | None,
        *,
        on_event: Callable[[str], None] | None = None,
        flush_idle_s: float = FLUSH_IDLE_S,
    ) -> None:
        config: JudgeConfig = client.config
        # The runner keeps max_concurrency requests in flight per judge: for a batch judge that is
        # what lets two full batches be open at once.
        self.config = replace(config, max_concurrency=max(1, config.batch_size) * 2)
        self.judge_config = config
        # The live client builds each request's arguments, so a batched call asks exactly what a
        # live one would; a batch cannot step a response format down, so it uses the first step.
        self.client = client
        self.mode: str = FormatNegotiation.start(config.response_format).mode
        self.transport = transport
        self.journal = journal
        self.price = price
        self.on_event = on_event
        self.flush_idle_s = flush_idle_s
        self.budget: Any = None
        self._pending: list[_Entry] = []
        self._arrived = asyncio.Event()
        self._collector: asyncio.Task[None] | None = None
        self._tasks: set[asyncio.Task[None]] = set()
        self._batches: dict[str, _Batch] = {}
        self._by_custom_id: dict[str, str] = {}  # custom id -> key of the latest batch carrying it
        self._carried: Counter[str] = Counter()  # custom id -> batches that carried it
        self._serial = 0
        self.submitted = 0  # batches this process created
        self._load_journal()

    def __repr__(self) -> str:
        return f"BatchJudge({self.config.label!r}, {self.transport.provider})"

    # -- the journal --

    def _load_journal(self) -> None:
        label = self.config.label
        for record in self.journal.records():
            key = record["key"]
            event = record.get("event")
            if event == "intent" and record.get("judge") == label:
                fresh = _Batch(key=key, marker=str(record.get("marker")),
                               custom_ids=list(record.get("custom_ids") or []),
                               epoch=float(record.get("epoch") or 0.0),
                               reserved_usd=float(record.get("reserved_usd") or 0.0))
                self._batches[key] = fresh
                for cid in fresh.custom_ids:
                    self._by_custom_id[cid] = key
                    self._carried[cid] += 1
                self._serial += 1
                continue
            known = self._batches.get(key)
            if known is None:
                continue
            if event == "submitted":
                known.batch_id = str(record.get("batch_id"))
            elif event == "ended":
                known.ended = True
            elif event == "abandoned":
                known.abandoned = True
                for cid in known.custom_ids:
                    self._carried[cid] -= 1  # never ran: it does not count as a submission

    def attach_budget(self, budget: Any, price: Price) -> None:
        """Use the run's ledger; reserve first what journal batches that may still bill can cost."""
        self.budget = budget
        self.price = price
        for batch in self._batches.values():
            if not batch.abandoned and not batch.ended:
                batch.ticket = budget.force_reserve(batch.reserved_usd)

    def _say(self, text: str) -> None:
        if self.on_event is not None:
            self.on_event(f"empathy-judge: batch ({self.config.label}): {text}")

    # -- the Judge protocol --

    async def complete(self, request: JudgeRequest) -> Completion:
        cfg = self.judge_config
        cap = effective_max_tokens(cfg, request.max_tokens)
        if cap is None and self.budget is not None:
            cap = DEFAULT_MAX_TOKENS  # sent to the provider, so the worst case holds
        if cap is not None and cap != request.max_tokens:
            request = replace(request, max_tokens=cap)
        cid = custom_id(cfg.label, request, cfg.hash)
        loop = asyncio.get_running_loop()
        entry = _Entry(cid, request, loop.create_future(), time.monotonic(), submissions=self._carried[cid])
        key = self._by_custom_id.get(cid)
        batch = self._batches.get(key) if key is not None else None
        if batch is not None and not batch.abandoned:
            self._attach(batch, entry)  # an earlier run submitted it: wait for that batch
        else:
            self._enqueue(entry)
        return await entry.future

    def _enqueue(self, entry: _Entry) -> None:
        self._pending.append(entry)
        self._arrived.set()
        if self._collector is None or self._collector.done():
            self._collector = asyncio.create_task(self._collect())

    def _spawn(self, coro: Any) -> asyncio.Task[None]:
        task: asyncio.Task[None] = asyncio.create_task(coro)
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)
        return task

    async def aclose(self) -> None:
        """Stop collecting and polling (the run is over or interrupted). Batches still running at
        the provider stay in the journal, for --resume; their reservations count as spent."""
        tasks = [t for t in (self._collector, *self._tasks) if t is not None and not t.done()]
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)
        if self.budget is not None:
            for batch in self._batches.values():
                if batch.ticket is not None:
                    # Re-attached but never needed by this run: an earlier invocation paid for it.
                    untouched = batch.task is None and batch.results is None and not batch.waiting
                    self.budget.settle(batch.ticket, 0.0 if untouched else self.budget.reserved_for(batch.ticket))
                    batch.ticket = None
        close = getattr(self.transport, "aclose", None)
        if close is not None:
            await close()

    # -- collecting requests into batches --

    async def _collect(self) -> None:
        size = max(1, self.judge_config.batch_size)
        while self._pending:
            # Wait while requests keep arriving, up to a full batch.
            while len(self._pending) < size:
                self._arrived.clear()
                try:
                    await asyncio.wait_for(self._arrived.wait(), self.flush_idle_s)
                except TimeoutError:
                    break
            taken = self._take(size)
            if taken:
                await self._submit(taken)

    def _take(self, size: int) -> list[_Entry]:
        """Up to ``size`` pending requests (and within the provider's byte limit), lines built."""
        taken: list[_Entry] = []
        total = 0
        while self._pending and len(taken) < min(size, self.transport.max_requests):
            entry = self._pending[0]
            if entry.future.done():  # its worker is gone (interrupted)
                self._pending.pop(0)
                continue
            if not entry.line:
                try:
                    self._prepare(entry)
                except Exception as exc:  # a request LiteLLM refuses to build (an unsupported parameter)
                    self._pending.pop(0)
                    entry.future.set_exception(JudgeCallError(f"cannot build the batch request: {exc}",
                                                              attempts=0))
                    continue
            if taken and total + len(entry.line) > self.transport.max_bytes:
                break
            total += len(entry.line)
            taken.append(self._pending.pop(0))
        return taken

    def _prepare(self, entry: _Entry) -> None:
        cfg = self.judge_config
        request = entry.request
        kwargs = dict(self.client.request_kwargs(self.mode, request))
        messages = kwargs.pop("messages")
        response_format = kwargs.pop("response_format", None)
        max_tokens = kwargs.pop("max_tokens", None)
        params = {k: v for k, v in kwargs.items() if k not in _TRANSPORT_KWARGS}
        body = request_body(cfg.provider, cfg.model, messages, max_tokens=max_tokens,
                            response_format=response_format, params=params)
        entry.line = self.transport.line(entry.custom_id, body)
        if self.price is not None and not self.price.free:
            counted = count_prompt_tokens(cfg.model, list(request.messages))
            completion_cap = request.max_tokens or DEFAULT_MAX_TOKENS
            prompt = worst_prompt_tokens(counted, len(request.messages))
            entry.worst_usd = self.price.worst(prompt, completion_cap, batch=True)

    async def _reserve(self, entries: list[_Entry]) -> tuple[int | None, list[_Entry]]:
        """Reserve the batch's worst case; returns the ticket and the entries that fit (the rest go
        back to the queue). Raises BudgetExhausted when nothing fits and nothing is in flight."""
        budget = self.budget
        if budget is None:
            return None, entries
        while True:
            if budget.exhausted:
                raise BudgetExhausted("budget exhausted")
            fit, total = 0, 0.0
            for entry in entries:
                if total + entry.worst_usd > budget.room_usd:
                    break
                total += entry.worst_usd
                fit += 1
            if fit:
                ticket = budget.reserve(total)
                self._pending[:0] = entries[fit:]
                if fit < len(entries):
                    self._arrived.set()
                return ticket, entries[:fit]
            if not budget.in_flight:
                budget.reserve(entries[0].worst_usd)  # marks the budget exhausted, and raises
            await budget.settled()

    async def _submit(self, entries: list[_Entry]) -> None:
        try:
            ticket, entries = await self._reserve(entries)
        except BudgetExhausted as exc:
            for entry in [*entries, *self._pending]:
                if not entry.future.done():
                    entry.future.set_exception(BudgetExhausted(str(exc)))
            self._pending.clear()
            return
        self._serial += 1
        marker = f"{self.config.label[:24]}-{os.getpid()}-{secrets.token_hex(6)}"
        key = f"{self.config.label}#{self._serial}-{secrets.token_hex(3)}"
        batch = _Batch(key=key, marker=marker, custom_ids=[e.custom_id for e in entries], epoch=time.time(),
                       reserved_usd=sum(e.worst_usd for e in entries), ticket=ticket)
        # The intent is on disk before the provider can have the batch.
        self.journal.append({
            "event": "intent", "key": key, "judge": self.config.label, "provider": self.transport.provider,
            "marker": marker, "at": _now_iso(), "epoch": batch.epoch, "reserved_usd": batch.reserved_usd,
            "custom_ids": batch.custom_ids,
        })
        self._batches[key] = batch
        for entry in entries:
            self._by_custom_id[entry.custom_id] = key
            self._carried[entry.custom_id] += 1
            entry.submissions += 1
            batch.waiting[entry.custom_id] = entry
        batch.task = self._spawn(self._create_and_watch(batch, [e.line for e in entries]))

    async def _create_and_watch(self, batch: _Batch, lines: list[bytes]) -> None:
        try:
            batch_id = await self._create(batch, lines)
        except BatchAPIError as exc:
            self.journal.append({"event": "abandoned", "key": batch.key, "reason": str(exc)[:500]})
            batch.abandoned = True
            self._settle_budget(batch, 0.0)
            self._fail_all(batch, f"batch not submitted: {exc}", fatal=exc.status in (401, 403))
            return
        self._record_submitted(batch, batch_id, len(lines))
        await self._watch(batch)

    def _record_submitted(self, batch: _Batch, batch_id: str, count: int) -> None:
        batch.batch_id = batch_id
        self.journal.append({"event": "submitted", "key": batch.key, "batch_id": batch_id})
        self.submitted += 1
        self._say(f"submitted {batch_id} ({count} requests)")

    async def _create(self, batch: _Batch, lines: list[bytes]) -> str:
        """Create the batch; after a lost answer, look it up by marker before trying again."""
        claimed = self._claimed()
        for attempt in range(1, CREATE_ATTEMPTS + 1):
            try:
                return await self.transport.submit(lines, batch.marker)
            except BatchAPIError as exc:
                if exc.ambiguous:
                    found = await self._lookup(batch, len(lines), claimed)
                    if found is not None:
                        return found
                if not exc.retryable or attempt == CREATE_ATTEMPTS:
                    raise
                await asyncio.sleep(exc.retry_after if exc.retry_after is not None else min(2.0**attempt, 30.0))
        raise AssertionError("unreachable")

    async def _lookup(self, batch: _Batch, count: int, claimed: set[str]) -> str | None:
        for _ in range(LOOKUPS):
            await asyncio.sleep(LOOKUP_WAIT_S)
            try:
                found = await self.transport.find(batch.marker, batch.epoch, count, claimed)
            except BatchAPIError:
                continue
            if found is not None:
                self._say(f"the answer to a create call was lost; found the batch {found} by its marker")
                return found
        return None

    def _claimed(self) -> set[str]:
        return {b.batch_id for b in self._batches.values() if b.batch_id}

    # -- re-attaching to journal batches --

    def _attach(self, batch: _Batch, entry: _Entry) -> None:
        if batch.results is not None:  # already read in this run
            self._deliver(batch, entry, batch.results.get(entry.custom_id))
            return
        batch.waiting[entry.custom_id] = entry
        if batch.task is None:
            batch.task = self._spawn(self._reattach(batch))

    async def _reattach(self, batch: _Batch) -> None:
        if batch.batch_id is None:
            # Killed between the intent and the provider's answer: did the batch come to exist?
            found = None
            for _ in range(LOOKUPS):
                try:
                    found = await self.transport.find(batch.marker, batch.epoch, len(batch.custom_ids), self._claimed())
                    break
                except BatchAPIError as exc:
                    if not exc.retryable:
                        break
                    await asyncio.sleep(LOOKUP_WAIT_S)
            if found is None:
                self.journal.append({"event": "abandoned", "key": batch.key,
                                     "reason": "no batch with its marker was found on resume"})
                batch.abandoned = True
                self._settle_budget(batch, 0.0)
                for entry in list(batch.waiting.values()):
                    entry.submissions -= 1
                    self._carried[entry.custom_id] -= 1
                    self._enqueue(entry)
                batch.waiting.clear()
                return
            self._say(f"re-attached to {found}, found by its marker after an interrupted submission")
            self._record_submitted(batch, found, len(batch.custom_ids))
            self.submitted -= 1  # found, not created by this process
        else:
            self._say(f"re-attached to {batch.batch_id} (submitted by an earlier run)")
        await self._watch(batch)

    # -- polling and results --

    async def _watch(self, batch: _Batch) -> None:
        assert batch.batch_id is not None
        poll_s = self.judge_config.batch_poll_s
        last = None
        while True:
            try:
                state = await self.transport.poll(batch.batch_id)
            except BatchAPIError as exc:
                if not exc.retryable:
                    self._settle_budget(batch, 0.0)
                    self._fail_all(batch, f"batch {batch.batch_id} cannot be polled: {exc}",
                                   fatal=exc.status in (401, 403))
                    return
                await asyncio.sleep(poll_s)
                continue
            shown = (state.status, state.finished)
            if shown != last:
                last = shown
                self._say(f"{batch.batch_id}: {state.status} {state.finished}/{state.total}")
            if state.done:
                break
            await asyncio.sleep(poll_s)
        outcomes: list[LineOutcome] = []
        while True:
            try:
                outcomes = await self.transport.results(batch.batch_id, state)
                break
            except BatchAPIError as exc:
                if not exc.retryable:
                    break
                await asyncio.sleep(poll_s)
        results = {o.custom_id: o for o in outcomes}
        problems = "; ".join(state.errors[:3])
        batch.results = results
        batch.ended = True
        self.journal.append({"event": "ended", "key": batch.key, "status": state.status})
        self._settle_budget(batch, sum(self._cost(o) or 0.0 for o in outcomes if o.ok))
        for cid, entry in list(batch.waiting.items()):
            outcome = results.get(cid)
            if outcome is None and problems:
                outcome = LineOutcome(cid, error=f"batch {state.status}: {problems}")
            self._deliver(batch, entry, outcome)
        batch.waiting.clear()

    def _deliver(self, batch: _Batch, entry: _Entry, outcome: LineOutcome | None) -> None:
        if entry.future.done():
            return
        if outcome is not None and outcome.ok:
            usage = outcome.usage
            entry.future.set_result(Completion(
                text=outcome.text or "",
                prompt_tokens=usage.prompt_tokens,
                completion_tokens=usage.completion_tokens,
                cost_usd=self._cost(outcome),
                latency_ms=(time.monotonic() - entry.enqueued) * 1000.0,
                attempts=max(entry.submissions, 1),
                last_error=entry.last_error,
                cache_read_tokens=usage.cache_read_tokens,
                cache_write_tokens=usage.cache_write_tokens,
                batch_id=batch.batch_id,
                response_format=self.mode,
            ))
            return
        reason = outcome.error if outcome is not None else f"no result for this request in batch {batch.batch_id}"
        retryable = outcome.retryable if outcome is not None else True
        entry.last_error = f"batch {batch.batch_id}: {reason}"
        if retryable and entry.submissions <= self.judge_config.batch_resubmits:
            self._enqueue(entry)  # into a later batch
            return
        tries = f" after {entry.submissions} batches" if entry.submissions > 1 else ""
        entry.future.set_exception(JudgeCallError(f"batch {batch.batch_id}{tries}: {reason}",
                                                  attempts=max(entry.submissions, 1)))

    def _fail_all(self, batch: _Batch, reason: str, *, fatal: bool = False) -> None:
        for entry in batch.waiting.values():
            if not entry.future.done():
                entry.future.set_exception(JudgeCallError(reason, attempts=max(entry.submissions, 1), fatal=fatal))
        batch.waiting.clear()

    def _cost(self, outcome: LineOutcome) -> float | None:
        usage = outcome.usage
        if self.price is None or usage.prompt_tokens is None or usage.completion_tokens is None:
            return None
        return self.price.cost(usage.prompt_tokens, usage.completion_tokens, cached=usage.cache_read_tokens or 0,
                               cache_write=usage.cache_write_tokens or 0, batch=True)

    def _settle_budget(self, batch: _Batch, actual: float) -> None:
        if self.budget is not None and batch.ticket is not None:
            self.budget.settle(batch.ticket, actual)
            batch.ticket = None


# acompletion arguments that say how to send a call, not what it asks.
_TRANSPORT_KWARGS = frozenset({"model", "timeout", "num_retries", "max_retries", "api_base", "api_key"})


def build_batch_judge(
    client: Any,
    *,
    api_key: str | None,
    journal: Journal,
    price: Price | None,
    on_event: Callable[[str], None] | None = None,
) -> Judge:
    """The batch judge for the live ``client`` (a LiteLLM judge whose provider ``batch_support``
    accepted): same requests, sent in batches."""
    config: JudgeConfig = client.config
    transport: BatchTransport
    if config.provider == "anthropic":
        from judge.judging.anthropic_batches import AnthropicBatches

        base = config.api_base or os.environ.get("ANTHROPIC_BASE_URL") or os.environ.get("ANTHROPIC_API_BASE")
        key = api_key if api_key is not None else os.environ.get("ANTHROPIC_API_KEY")
        transport = AnthropicBatches(api_base=base, api_key=key, timeout_s=config.timeout_s)
    else:
        from judge.judging.openai_batches import OpenAIBatches

        transport = OpenAIBatches(config.provider, api_base=config.api_base, api_key=api_key,
                                  timeout_s=config.timeout_s)
    return BatchJudge(client, transport, journal, price, on_event=on_event)
