"""The run: every item x rubric x repeat sent to every judge, concurrently, verdicts logged as
they complete.

One producer renders each item x rubric prompt once and feeds a bounded queue per judge; each
judge has as many workers as its ``max_concurrency``. Queues are bounded so a 100,000-item dataset
streams through in constant memory. Verdict rows go straight to the durable log.
"""

from __future__ import annotations

import asyncio
import math
import signal
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field, replace
from typing import Any

from judge.core.errors import BudgetExhausted, JudgeError
from judge.core.hashing import canonical_json, content_hash
from judge.core.records import VerdictRow
from judge.inputs.config import JudgeConfig
from judge.inputs.dataset import Dataset, Item
from judge.inputs.parts import CallPart, assemble, sentence_parts, sentence_schema, sentence_schema_hash
from judge.inputs.prompts import PromptLibrary
from judge.inputs.rubrics import Rubric
from judge.inputs.verdicts import Parsed, VerdictParser, repair, verdict_json
from judge.judging.protocol import CallContext, Completion, Judge, JudgeCallError, JudgeRequest
from judge.store.rundir import VerdictKey, VerdictLog, now_iso

BUDGET_EXHAUSTED = "budget exhausted"
REASK_TEMPLATE = (
    "Your reply could not be used: {error}. Reply again with only one JSON object that matches "
    "the schema, with no code fences and no other text."
)


@dataclass(slots=True)
class Unit:
    item: Item
    rubric: Rubric
    prompt_hash: str
    messages: list[dict[str, str]]
    repeat: int
    item_hash: str


INTERRUPTED = "interrupted"


@dataclass
class RunOutcome:
    counts: Counter[str] = field(default_factory=Counter)
    interrupted: bool = False  # a stop left planned work without a row (resume finishes it)
    stopped_judges: dict[str, str] = field(default_factory=dict)
    budget_exhausted: bool = False  # a call was refused by the budget: the rest is skipped
    failure: JudgeError | None = None  # an error that stopped the whole run (e.g. a --replay miss)
    # Each judge's response-format negotiation as its client last reported it (mode, rejected steps).
    formats: dict[str, dict[str, Any]] = field(default_factory=dict)


def base_row(unit: Unit, judge: JudgeConfig) -> VerdictRow:
    item, rubric = unit.item, unit.rubric
    return VerdictRow(
        item_id=item.id,
        task=item.task,
        model=item.model,
        source_id=item.source_id,
        rubric_id=rubric.id,
        rubric_version=rubric.version,
        rubric_hash=rubric.hash,
        prompt_hash=unit.prompt_hash,
        family=rubric.family,
        mechanism=rubric.mechanism,
        dimension=item.dimension,
        judge=judge.label,
        judge_hash=judge.hash,
        repeat=unit.repeat,
    )


def _skip(row: VerdictRow, reason: str) -> None:
    row.status, row.error = "skipped", reason


# Runs judging on each event loop, and the signal handlers their loop replaced. Ctrl-C or SIGTERM
# stops every run on the loop (several can share one: asyncio.gather over evaluate_async).
_SIGNAL_RUNS: dict[asyncio.AbstractEventLoop, tuple[set[Runner], dict[signal.Signals, Any]]] = {}


def _take_signals(loop: asyncio.AbstractEventLoop, runner: Runner) -> None:
    entry = _SIGNAL_RUNS.get(loop)
    if entry is None:
        saved: dict[signal.Signals, Any] = {}
        for sig in (signal.SIGINT, signal.SIGTERM):
            try:
                previous = signal.getsignal(sig)
                loop.add_signal_handler(sig, _stop_runs, loop)
                saved[sig] = previous
            except (NotImplementedError, RuntimeError, ValueError):
                pass  # not the main thread: the caller stops the run instead (request_stop)
        entry = _SIGNAL_RUNS[loop] = (set(), saved)
    entry[0].add(runner)


def _stop_runs(loop: asyncio.AbstractEventLoop) -> None:
    for runner in list(_SIGNAL_RUNS.get(loop, (set(), {}))[0]):
        runner.request_stop()


def _release_signals(loop: asyncio.AbstractEventLoop, runner: Runner) -> None:
    runners, saved = _SIGNAL_RUNS[loop]
    runners.discard(runner)
    if runners:
        return
    del _SIGNAL_RUNS[loop]
    for sig, previous in saved.items():
        loop.remove_signal_handler(sig)
        # remove_signal_handler leaves the default (SIGTERM kills); put back what the caller had,
        # e.g. the CLI's SIGTERM-as-Ctrl-C, for the summary that follows.
        if previous is not None:
            signal.signal(sig, previous)


def _add(a: float | int | None, b: float | int | None) -> Any:
    return b if a is None else a if b is None else a + b


def _tokens(value: Any) -> int | None:
    """A provider's token count, or None when it is not a plausible one (usage is untrusted input)."""
    ok = isinstance(value, int) and not isinstance(value, bool) and 0 <= value < 1 << 53
    return value if ok else None


def _usd(value: Any) -> float | None:
    """A reply's cost, or None (unknown) when it is not a finite amount >= 0."""
    if isinstance(value, bool) or not isinstance(value, int | float):
        return None
    try:
        amount = float(value)
    except OverflowError:  # an integer past any float
        return None
    return amount if math.isfinite(amount) and amount >= 0 else None


class Runner:
    """Runs one plan; ``on_row`` sees every finished row (progress display, budget, tests)."""

    def __init__(
        self,
        *,
        dataset: Dataset,
        rubrics: list[Rubric],
        judges: list[Judge],
        prompts: PromptLibrary,
        repeats: int,
        log: VerdictLog,
        on_row: Callable[[VerdictRow], None] | None = None,
        skip: Callable[[VerdictKey], bool] | None = None,
        interrupt_grace_s: float = 2.0,
        on_item: Callable[[Item], None] | None = None,
        on_notice: Callable[[str], None] | None = None,
    ) -> None:
        self.dataset = dataset
        self.rubrics = rubrics
        self.judges = judges
        self.prompts = prompts
        self.repeats = repeats
        self.log = log
        self.on_row = on_row
        self.on_notice = on_notice  # a judge's news worth telling as it happens (a format step-down)
        self.skip = skip
        self.on_item = on_item  # sees each item as it is read (the run's items table)
        self.parsers = {r.id: VerdictParser(r) for r in rubrics}
        # Per-sentence rubrics: each call's reply is one sentence's, checked against its own schema.
        self.part_parsers = {
            r.id: VerdictParser(r, schema=sentence_schema(r)) for r in rubrics if r.calls == "per_sentence"
        }
        self.schema_hashes = {r.id: content_hash(r.schema) for r in rubrics}
        self.outcome = RunOutcome()
        self.interrupt_grace_s = interrupt_grace_s
        self._stop = asyncio.Event()
        self._in_flight = 0
        # Whether every planned unit got a row: the producer went through the whole plan and each
        # unit it queued was emitted. A stop that came after that interrupted nothing.
        self._produced_all = False
        self._queued = 0
        self._emitted = 0

    def planned(self) -> int:
        """How many verdict rows the plan has (before resume skips)."""
        # Rubrics that do not apply to an item still get a row each (skipped, with the reason).
        n = sum(self.dataset.task_dimensions().values())
        return n * len(self.rubrics) * self.repeats * len(self.judges)

    async def run(self) -> RunOutcome:
        loop = asyncio.get_running_loop()
        _take_signals(loop, self)
        queues = [asyncio.Queue[Unit | None](maxsize=max(4, j.config.max_concurrency * 2)) for j in self.judges]
        workers = [
            asyncio.create_task(self._worker(judge, queue))
            for judge, queue in zip(self.judges, queues, strict=True)
            for _ in range(judge.config.max_concurrency)
        ]
        producer = asyncio.create_task(self._produce(queues))
        everything = asyncio.gather(producer, *workers)
        stopped = asyncio.create_task(self._stop.wait())
        try:
            first: list[asyncio.Future[Any]] = [everything, stopped]
            await asyncio.wait(first, return_when=asyncio.FIRST_COMPLETED)
            # Interrupted: calls already in flight get a short grace to land (they are billed),
            # then are cancelled; their units are simply missing, and --resume redoes them.
            deadline = loop.time() + self.interrupt_grace_s
            while not everything.done() and self._in_flight and loop.time() < deadline:
                await asyncio.sleep(0.02)
        finally:
            for task in (producer, *workers, stopped):
                task.cancel()
            await asyncio.gather(everything, stopped, return_exceptions=True)
            _release_signals(loop, self)
        error = None if everything.cancelled() else everything.exception()
        if error is not None and not isinstance(error, asyncio.CancelledError):
            raise error  # a bug in a worker: keep its traceback
        complete = self._produced_all and self._emitted == self._queued
        self.outcome.interrupted = self._stop.is_set() and not complete and self.outcome.failure is None
        return self.outcome

    def request_stop(self) -> None:
        """Stop starting calls; calls in flight get a short grace to land. Call on the run's loop
        (from another thread: ``loop.call_soon_threadsafe(runner.request_stop)``)."""
        self._stop.set()

    async def _produce(self, queues: list[asyncio.Queue[Unit | None]]) -> None:
        try:
            for item in self.dataset.items():  # the dataset yields only what is judged (limit, sample)
                if self.on_item is not None:
                    self.on_item(item)
                item_hash = item.content_hash
                for rubric in self.rubrics:
                    prompt_hash = self.prompts.prompt_hash(rubric)
                    not_applicable = rubric.not_applicable(item.task, item.dimension)
                    # Per-sentence rubrics render each sentence's call in the worker.
                    rendered = not_applicable is None and rubric.calls != "per_sentence"
                    messages = self.prompts.render(rubric, item) if rendered else []
                    for repeat in range(self.repeats):
                        for judge, queue in zip(self.judges, queues, strict=True):
                            key = (item.id, rubric.id, rubric.version, judge.config.label, repeat)
                            if self.skip and self.skip(key):
                                continue
                            if self._stop.is_set():
                                return
                            unit = Unit(item, rubric, prompt_hash, messages, repeat, item_hash)
                            if not_applicable is not None:
                                # Recorded, not silently absent: a row with the reason, no call, no cost.
                                row = base_row(unit, judge.config)
                                _skip(row, not_applicable)
                                row.finished_at = now_iso()
                                self._queued += 1
                                self._emit(row)
                                continue
                            # Workers drain without calling once stopped, so this never blocks long.
                            await queue.put(unit)
                            self._queued += 1
            self._produced_all = not self._stop.is_set()
        finally:
            if not self._stop.is_set():  # when stopped, the workers are cancelled instead
                for queue, judge in zip(queues, self.judges, strict=True):
                    for _ in range(judge.config.max_concurrency):
                        await queue.put(None)

    async def _worker(self, judge: Judge, queue: asyncio.Queue[Unit | None]) -> None:
        label = judge.config.label
        while True:
            unit = await queue.get()
            if unit is None:
                return
            if self._stop.is_set():
                return  # the run is being interrupted: start nothing new
            row = base_row(unit, judge.config)
            # No shortcut for a spent budget: the judge refuses what needs a call at once, and a
            # cached reply, which spends nothing, is still served.
            if label in self.outcome.stopped_judges:
                _skip(row, self.outcome.stopped_judges[label])
            else:
                self._in_flight += 1
                try:
                    await self._judge_one(judge, unit, row)
                except asyncio.CancelledError:
                    # The interrupt's grace ran out mid-call. A reply already received for this key
                    # was billed: its row goes on record before the cancellation takes it with it.
                    if row.raw_text is not None:
                        if row.status is None:
                            row.status = "error"
                            row.error = f"{INTERRUPTED} after a billed reply, before the key's calls were done"
                        row.finished_at = now_iso()
                        self._emit(row)
                    raise
                except JudgeError as exc:  # stops the run (a --replay miss): recorded, then raised
                    if self.outcome.failure is None:
                        self.outcome.failure = exc
                    self._stop.set()
                    continue
                except Exception as exc:  # one odd reply must not end a long run: record it
                    row.status, row.error = "error", f"unexpected {type(exc).__name__}: {str(exc)[:300]}"
                finally:
                    self._in_flight -= 1
            row.finished_at = now_iso()
            self._emit(row)

    def _emit(self, row: VerdictRow) -> None:
        self.log.append(row.to_dict())
        self._emitted += 1
        self.outcome.counts[row.status or "error"] += 1
        if self.on_row is not None:
            self.on_row(row)

    def _note(self, label: str, completion: Completion) -> None:
        if completion.negotiation is not None:
            self.outcome.formats[label] = completion.negotiation
        if completion.notice is not None and self.on_notice is not None:
            self.on_notice(completion.notice)

    def _context(self, unit: Unit, schema_hash: str, part: CallPart | None = None) -> CallContext:
        rubric = unit.rubric
        return CallContext(
            item_id=unit.item.id,
            item_hash=unit.item_hash,
            rubric_id=rubric.id,
            rubric_hash=rubric.hash,
            prompt_hash=unit.prompt_hash,
            schema_hash=schema_hash,
            repeat=unit.repeat,
            part=part.label if part is not None else None,
        )

    async def _judge_one(self, judge: Judge, unit: Unit, row: VerdictRow) -> None:
        if unit.rubric.calls == "per_sentence":
            await self._judge_sentences(judge, unit, row)
            return
        context = self._context(unit, self.schema_hashes[unit.rubric.id])
        answer = await self._ask(judge, unit, row, unit.messages, context, self.parsers[unit.rubric.id], first=True)
        row.raw_text = answer.text
        if answer.parsed is None:
            row.status, row.error = answer.status, answer.error
            return
        _fill(row, answer.parsed, answer.step)
        if row.error is None and answer.last_error is not None:
            # An ok verdict that needed retries keeps the last transient error, for diagnosis.
            row.error = f"recovered after {row.attempts} attempts; last error: {answer.last_error}"

    async def _judge_sentences(self, judge: Judge, unit: Unit, row: VerdictRow) -> None:
        """One call per numbered sentence (rubric option ``calls: per_sentence``), assembled into
        one verdict row: tokens and cost summed; the first sentence call that fails makes the row
        error, invalid or abstained, with the reason naming the sentence."""
        rubric, item = unit.rubric, unit.item
        parts = sentence_parts(rubric, item)
        parser = self.part_parsers[rubric.id]
        schema_hash = sentence_schema_hash(rubric)
        replies: list[tuple[CallPart, dict[str, Any]]] = []
        texts: list[dict[str, str | None]] = []
        steps: set[str] = set()
        for n, part in enumerate(parts):
            if n and self._stop.is_set():
                # Interrupted between sentence calls: what was billed so far stays on record.
                row.raw_text = canonical_json(texts)
                row.status, row.error = "error", f"{INTERRUPTED} after {n} of {len(parts)} sentence calls"
                return
            messages = self.prompts.render(rubric, item, part=part)
            answer = await self._ask(judge, unit, row, messages, self._context(unit, schema_hash, part), parser,
                                     first=n == 0, part=part)  # fmt: skip
            texts.append({"part": part.label, "text": answer.text})
            where = f"sentence {part.label} ({n + 1} of {len(parts)} calls)"
            if answer.parsed is None or answer.parsed.status != "ok":
                row.raw_text = canonical_json(texts)
                if answer.parsed is None:
                    row.status, row.error = answer.status, f"{where}: {answer.error}"
                else:
                    row.status, row.error = answer.parsed.status, f"{where}: {answer.parsed.error}"
                    row.verdict = verdict_json(answer.parsed.verdict)
                if row.status == "skipped" and n > 0:
                    # Part of the row was judged and billed: keep it on record as an error (its
                    # replies are cached, so --retry-errors does not pay for them again).
                    row.status = "error"
                return
            assert answer.parsed.verdict is not None  # an ok parse has its verdict
            replies.append((part, answer.parsed.verdict))
            if answer.step is not None:
                steps.add(answer.step)
        row.raw_text = canonical_json(texts)
        parsed = self.parsers[rubric.id].parse(canonical_json(assemble(rubric, replies)), item)
        _fill(row, parsed, ",".join(sorted(steps)) or None if parsed.settled else None)

    async def _ask(
        self, judge: Judge, unit: Unit, row: VerdictRow, messages: list[dict[str, str]], context: CallContext,
        parser: VerdictParser, *, first: bool, part: CallPart | None = None,
    ) -> Answer:  # fmt: skip
        """One call under the rubric's rescue policy (repair, re-asks), adding its attempts, tokens,
        latency and cost to ``row``. The answer has the final parse, or a status and reason when
        the call ended without one (skipped, error, abstained)."""
        rubric = unit.rubric
        policy = rubric.on_invalid.get("policy", "none")
        reasks_left = int(rubric.on_invalid.get("max_reasks", 1)) if policy == "reask" else 0
        step = None
        parsed: Parsed | None = None  # the previous turn's parse, while re-asking
        first_messages = messages
        while True:
            if parsed is not None and self._stop.is_set():
                # Interrupted between turns: the billed invalid reply stays the verdict (as for a
                # re-ask the budget refuses), so its cost is on record and a resume does not pay twice.
                parsed = replace(parsed, error=f"{parsed.error}; re-ask not sent: {INTERRUPTED}")
                return Answer(parsed, None, text=row.raw_text)
            request = JudgeRequest(messages, rubric, unit.item, context, max_tokens=rubric.max_tokens, part=part)
            try:
                completion = await judge.complete(request)
            except asyncio.CancelledError:
                if parsed is not None:  # mid re-ask: the worker records the billed invalid reply
                    _fill(row, replace(parsed, error=f"{parsed.error}; re-ask not finished: {INTERRUPTED}"), None)
                raise
            except BudgetExhausted:
                # Refused before it started: nothing billed for this call.
                self.outcome.budget_exhausted = True
                if parsed is None:
                    return Answer(None, None, "skipped", BUDGET_EXHAUSTED)
                # A refused re-ask: the billed invalid reply stays the verdict, so its cost stays on
                # record and a resume does not pay for this key twice.
                parsed = replace(parsed, error=f"{parsed.error}; re-ask not sent: {BUDGET_EXHAUSTED}")
                return Answer(parsed, None, text=row.raw_text)
            except JudgeCallError as exc:
                row.attempts += exc.attempts
                row.response_format = exc.response_format or row.response_format
                if exc.fatal:
                    reason = f"judge '{judge.config.label}' stopped: {exc}; resume the run once that is fixed"
                    self.outcome.stopped_judges.setdefault(judge.config.label, reason)
                return Answer(None, None, "error", str(exc))
            self._note(judge.config.label, completion)
            row.attempts += completion.attempts
            row.latency_ms = _add(row.latency_ms, completion.latency_ms)
            row.prompt_tokens = _add(row.prompt_tokens, _tokens(completion.prompt_tokens))
            row.completion_tokens = _add(row.completion_tokens, _tokens(completion.completion_tokens))
            cost = _usd(completion.cost_usd)
            if first and context.turn == 0:
                row.cost_usd = cost
            elif row.cost_usd is not None:
                # An unpriced reply makes the row's cost unknown for good: never a known amount.
                row.cost_usd = None if cost is None else row.cost_usd + cost
            row.cache_read_tokens = _add(row.cache_read_tokens, _tokens(completion.cache_read_tokens))
            row.cache_write_tokens = _add(row.cache_write_tokens, _tokens(completion.cache_write_tokens))
            row.batch_id = completion.batch_id or row.batch_id
            row.deployment = completion.deployment or row.deployment
            row.cached = completion.cached if first and context.turn == 0 else row.cached and completion.cached
            row.raw_text = completion.text
            row.response_format = completion.response_format
            if completion.abstain_reason is not None:
                # The judge declined the call as a whole: recorded, never scored, cost kept.
                return Answer(None, None, "abstained", completion.abstain_reason, completion.text or None)
            parsed = parser.parse(completion.text, None if part is not None else unit.item)
            if not parsed.settled and policy == "repair":
                fixed = repair(completion.text)
                if fixed is not None and fixed != completion.text:
                    rescued = parser.parse(fixed, None if part is not None else unit.item)
                    if rescued.settled:
                        parsed, step = rescued, "repair"
            if parsed.settled or reasks_left <= 0:
                break
            reasks_left -= 1
            context = replace(context, turn=context.turn + 1)
            step = f"reask-{int(rubric.on_invalid.get('max_reasks', 1)) - reasks_left}"
            messages = [
                *first_messages,
                {"role": "assistant", "content": completion.text},
                {"role": "user", "content": REASK_TEMPLATE.format(error=parsed.error)},
            ]
        return Answer(parsed, step if parsed.settled else None, text=completion.text, last_error=completion.last_error)


@dataclass(slots=True)
class Answer:
    """How one call (with its repairs and re-asks) ended: the final parse, or, when there is
    none, the row status and reason it leaves (skipped, error, abstained)."""

    parsed: Parsed | None
    step: str | None  # the rescue step that made the parse valid
    status: str | None = None
    error: str | None = None
    text: str | None = None  # the last reply's text
    last_error: str | None = None  # the last transient failure before the reply


def _fill(row: VerdictRow, parsed: Parsed, rescued_by: str | None) -> None:
    row.status = parsed.status
    row.score = parsed.score
    row.raw_score = parsed.raw_score
    row.amplification = parsed.amplification
    row.evidence_found = parsed.evidence_found
    row.verdict = verdict_json(parsed.verdict)
    row.rationale = parsed.rationale
    row.error = parsed.error
    row.rescued_by = rescued_by

