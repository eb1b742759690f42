"""The run: every item x rubric x repeat sent to every judge, concurrently, verdicts logged as
they complete.

One producer renders each item x rubric prompt once and feeds a bounded queue per judge; each
judge has as many workers as its ``max_concurrency``. Queues are bounded so a 100,000-item dataset
streams through in constant memory. Verdict rows go straight to the durable log.
"""

from __future__ import annotations

import asyncio
import signal
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field, replace
from typing import Any

from judge.core.errors import BudgetExhausted, JudgeError
from judge.core.hashing import content_hash
from judge.core.records import VerdictRow
from judge.inputs.config import JudgeConfig
from judge.inputs.dataset import Dataset, Item
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


@dataclass
class RunOutcome:
    counts: Counter[str] = field(default_factory=Counter)
    interrupted: bool = False
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
        self.schema_hashes = {r.id: content_hash(r.schema) for r in rubrics}
        self.outcome = RunOutcome()
        self.interrupt_grace_s = interrupt_grace_s
        self._stop = asyncio.Event()
        self._in_flight = 0

    def planned(self) -> int:
        """How many verdict rows the plan has (before resume skips)."""
        n = sum(
            count * sum(1 for r in self.rubrics if r.applies_to(task, dimension))
            for (task, dimension), count in self.dataset.task_dimensions().items()
        )
        return n * self.repeats * len(self.judges)

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
        self.outcome.interrupted = self._stop.is_set() and self.outcome.failure is None
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
                    if not rubric.applies_to(item.task, item.dimension):
                        continue
                    messages = self.prompts.render(rubric, item)
                    prompt_hash = self.prompts.prompt_hash(rubric)
                    for repeat in range(self.repeats):
                        for judge, queue in zip(self.judges, queues, strict=True):
                            key = (item.id, rubric.id, rubric.version, judge.config.label, repeat)
                            if self.skip and self.skip(key):
                                continue
                            if self._stop.is_set():
                                return
                            # Workers drain without calling once stopped, so this never blocks long.
                            await queue.put(Unit(item, rubric, prompt_hash, messages, repeat, item_hash))
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
            if self.outcome.budget_exhausted:
                _skip(row, BUDGET_EXHAUSTED)
            elif label in self.outcome.stopped_judges:
                _skip(row, self.outcome.stopped_judges[label])
            else:
                self._in_flight += 1
                try:
                    await self._judge_one(judge, unit, row)
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
        self.outcome.counts[row.status or "error"] += 1
        if self.on_row is not None:
            self.on_row(row)

    async def _judge_one(self, judge: Judge, unit: Unit, row: VerdictRow) -> None:
        rubric = unit.rubric
        parser = self.parsers[rubric.id]
        messages = unit.messages
        policy = rubric.on_invalid.get("policy", "none")
        reasks_left = int(rubric.on_invalid.get("max_reasks", 1)) if policy == "reask" else 0
        step = None
        parsed: Parsed | None = None  # the previous turn's parse, while re-asking
        context = CallContext(
            item_id=unit.item.id,
            item_hash=unit.item_hash,
            rubric_id=rubric.id,
            rubric_hash=rubric.hash,
            prompt_hash=unit.prompt_hash,
            schema_hash=self.schema_hashes[rubric.id],
            repeat=unit.repeat,
        )
        while True:
            request = JudgeRequest(messages, rubric, unit.item, context, max_tokens=rubric.max_tokens)
            try:
                completion = await judge.complete(request)
            except BudgetExhausted:
                # Refused before it started: nothing billed for this call.
                self.outcome.budget_exhausted = True
                if parsed is None:
                    _skip(row, BUDGET_EXHAUSTED)
                    return
                # A refused re-ask: the billed invalid reply stays the verdict, so its cost stays on
                # record and a resume does not pay for this key twice.
                _fill(row, parsed, None)
                row.error = f"{parsed.error}; re-ask not sent: {BUDGET_EXHAUSTED}"
                return
            except JudgeCallError as exc:
                row.attempts += exc.attempts
                row.status, row.error = "error", str(exc)
                row.response_format = exc.response_format or row.response_format
                if exc.fatal:
                    reason = f"judge '{judge.config.label}' stopped: {exc}; resume the run once that is fixed"
                    self.outcome.stopped_judges.setdefault(judge.config.label, reason)
                return
            self._note(judge.config.label, completion)
            row.attempts += completion.attempts
            row.latency_ms = _add(row.latency_ms, completion.latency_ms)
            row.prompt_tokens = _add(row.prompt_tokens, completion.prompt_tokens)
            row.completion_tokens = _add(row.completion_tokens, completion.completion_tokens)
            row.cost_usd = _add(row.cost_usd, completion.cost_usd)
            row.cached = completion.cached if context.turn == 0 else row.cached and completion.cached
            row.raw_text = completion.text
            row.response_format = completion.response_format
            if completion.abstain_reason is not None:
                # The judge declined the call as a whole: recorded, never scored, cost kept.
                row.status, row.error, row.raw_text = "abstained", completion.abstain_reason, completion.text or None
                return
            parsed = parser.parse(completion.text, unit.item)
            if not parsed.settled and policy == "repair":
                fixed = repair(completion.text)
                if fixed is not None and fixed != completion.text:
                    rescued = parser.parse(fixed, unit.item)
                    if rescued.settled:
                        parsed, step = rescued, "repair"
            if parsed.settled or reasks_left <= 0:
                break
            reasks_left -= 1
            context = replace(context, turn=context.turn + 1)
            step = f"reask-{int(rubric.on_invalid.get('max_reasks', 1)) - reasks_left}"
            messages = [
                *unit.messages,
                {"role": "assistant", "content": completion.text},
                {"role": "user", "content": REASK_TEMPLATE.format(error=parsed.error)},
            ]
        _fill(row, parsed, step if parsed.settled else None)
        if row.error is None and completion.last_error is not None:
            # An ok verdict that needed retries keeps the last transient error, for diagnosis.
            row.error = f"recovered after {row.attempts} attempts; last error: {completion.last_error}"


    def _note(self, label: str, completion: Completion) -> None:
        if completion.negotiation is not None:
            self.outcome.formats[label] = completion.negotiation
        if completion.notice is not None and self.on_notice is not None:
            self.on_notice(completion.notice)


def _fill(row: VerdictRow, parsed: Parsed, rescued_by: str | None) -> None:
    row.status = parsed.status
    row.score = parsed.score
    row.raw_score = parsed.raw_score
    row.verdict = verdict_json(parsed.verdict)
    row.rationale = parsed.rationale
    row.error = parsed.error
    row.rescued_by = rescued_by

