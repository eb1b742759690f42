"""Running a plan: ``evaluate_async(plan) -> Run``, the one async core behind ``judge.evaluate``
and ``empathy-judge run``, and ``evaluate``, its synchronous form.

A run: build the judge clients (wrapped by the budget, then the response cache), create the run
directory (or take the one a resumed plan finishes), write the manifest, judge every unit
concurrently into the durable log, compact it to Parquet, write summary.json and report.html, and
return the Run. The run's status is decided in one place, ``run_status``, from how the work ended.
The library prints nothing: warnings go to ``on_message`` and ``Run.messages``; ``progress=True``
draws the progress line on stderr.
"""

from __future__ import annotations

import asyncio
import contextlib
import functools
import sys
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

from judge import __version__
from judge.core import paths
from judge.core.errors import ConfigError, JudgeError, RunDirError, RunInterrupted
from judge.core.records import (
    FORMAT_VERSION,
    BudgetInfo,
    DatasetInfo,
    JudgeInfo,
    Manifest,
    ResumeInfo,
    RubricInfo,
    Run,
    RunHealth,
    SampleInfo,
    Summary,
)
from judge.core.taxonomy import REDO_STATUSES, REDO_WITH_ERRORS
from judge.engine.plan import DATASET_FILE, Plan
from judge.engine.runner import RunOutcome
from judge.engine.sync import StopSwitch, run_sync
from judge.inputs.sampling import sample_info
from judge.store.items import ITEMS_LOG, ItemLog, compact_items
from judge.store.rundir import (
    VERDICTS_LOG,
    VERDICTS_PARQUET,
    RunLock,
    VerdictKey,
    VerdictLog,
    atomic_write_bytes,
    compact,
    done_keys,
    new_run_id,
    now_iso,
    prepare_run_dir,
    write_manifest,
)

Say = Callable[[str], None]


def run_status(
    outcome: RunOutcome | None, error: BaseException | None = None, health: RunHealth | None = None
) -> str:
    """The run's final status, decided here only. An exception that ended the run: ``interrupted``
    for Ctrl-C, SIGTERM or a cancelled task, else ``failed``. Otherwise, in this order: an error that
    stopped the run (a --replay miss) ``failed``; a stop signal that left planned work without a
    row ``interrupted`` (also when the budget ran out too: the work is missing, not skipped); a
    spent budget ``budget_exhausted`` (every unit has a row, the unpaid ones ``skipped``); a judge
    with no ok verdict or too many errors (``health``, judge/stats/health.py) ``degraded``; else
    ``completed``."""
    if error is not None:
        return "interrupted" if isinstance(error, KeyboardInterrupt | asyncio.CancelledError) else "failed"
    assert outcome is not None
    if outcome.failure is not None:
        return "failed"
    if outcome.interrupted:  # work left without a row: only "interrupted" says a resume is due
        return "interrupted"
    if outcome.budget_exhausted:
        return "budget_exhausted"
    if health is not None and health.unhealthy:
        return "degraded"
    return "completed"


@dataclass
class _Session:
    """One invocation's state between preparing the run directory and returning the Run."""

    plan: Plan
    run_dir: Path
    manifest: Manifest
    judges: list[Any]
    cache: Any
    budget: Any
    messages: list[str] = field(default_factory=list)
    on_message: Say | None = None
    budget_recorded: bool = False
    batch_judges: list[Any] = field(default_factory=list)
    notes: list[Say] = field(default_factory=list)  # where batch progress goes (the progress display)

    def note(self, message: str) -> None:
        for sink in self.notes:
            sink(message)

    def say(self, message: str) -> None:
        self.messages.append(message)
        if self.on_message is not None:
            self.on_message(message)

    def record_budget(self) -> None:
        """Add this invocation's cap and spend to the manifest, once, however the invocation ends
        (an interrupt can land anywhere after calls were made)."""
        if self.budget is not None and not self.budget_recorded:
            self.manifest.budgets.append(BudgetInfo.from_dict(_budget_record(self.budget)))
            self.budget_recorded = True

    def end(self, status: str, failure: str | None = None) -> None:
        self.record_budget()
        self.manifest.status, self.manifest.finished_at = status, now_iso()
        if failure is not None:
            self.manifest.failure = failure
        write_manifest(self.run_dir, self.manifest)


async def evaluate_async(
    plan: Plan,
    run_dir: str | Path | None = None,
    *,
    runs_dir: str | Path | None = None,
    progress: bool = False,
    html: bool = True,
    on_message: Say | None = None,
    argv: Sequence[str] | None = None,
) -> Run:
    """Run ``plan`` and return the Run (manifest, verdicts frame, summary, path, status).

    ``run_dir``: where to write the run (default ``runs_dir/<run-id>``, ``runs_dir`` defaulting to
    the config's ``runs_dir`` or ``runs/``); a resumed plan (``Plan.resume``) finishes its own run.
    ``progress``: draw the progress line on stderr. ``html``: write report.html. ``on_message``:
    called with each warning or note as it happens (also kept in ``Run.messages``). ``argv``: the
    command line to record in the manifest. Raises the error that stopped a run (e.g. ReplayMiss)
    after marking it ``failed``; an interrupted run returns with status ``interrupted``.
    """
    return await _evaluate(plan, run_dir, runs_dir, progress, html, on_message, argv, None)


def evaluate(
    plan: Plan,
    run_dir: str | Path | None = None,
    *,
    runs_dir: str | Path | None = None,
    progress: bool = False,
    html: bool = True,
    on_message: Say | None = None,
    argv: Sequence[str] | None = None,
) -> Run:
    """``evaluate_async`` for synchronous code; also inside a running event loop (a notebook),
    where the run gets its own loop in a worker thread (judge/engine/sync.py)."""
    stop = StopSwitch()
    return run_sync(lambda: _evaluate(plan, run_dir, runs_dir, progress, html, on_message, argv, stop), stop)


async def _evaluate(
    plan: Plan,
    run_dir: str | Path | None,
    runs_dir: str | Path | None,
    progress: bool,
    html: bool,
    on_message: Say | None,
    argv: Sequence[str] | None,
    stop: StopSwitch | None,
) -> Run:
    session = _prepare(plan, run_dir, runs_dir, list(argv or []), on_message)
    with RunLock(session.run_dir):
        return await _execute(session, progress=progress, html=html, stop=stop)


def _same(client: Any) -> Any:
    return client


def _wrap_with_cache(clients: list[Any], plan: Plan, run_dir: Path) -> tuple[list[Any], Any]:
    from judge.judging.cache import CachedJudge, ResponseCache

    folder = plan.cache_folder(run_dir)
    if folder is None:
        return clients, None
    cache = ResponseCache(folder)
    replay = plan.cache == "replay"
    return [CachedJudge(c.config, functools.partial(_same, c), cache, replay=replay) for c in clients], cache


def _check_cache_folder(plan: Plan, run_dir: Path) -> None:
    """Refuse a response cache folder that cannot be written before anything is called: a failed
    cache write would otherwise be found only after the provider had billed the reply."""
    from judge.judging.cache import check_writable

    folder = plan.cache_folder(run_dir)
    if folder is None or plan.cache == "replay":  # replay only reads
        return
    problem = check_writable(folder)
    if problem is not None:
        raise ConfigError(
            f"--cache-dir {folder}: cannot write the response cache there ({problem}); choose another folder, "
            "or run with --no-cache"
        )


def _prepare(plan: Plan, run_dir: str | Path | None, runs_dir: str | Path | None, argv: list[str],
             on_message: Say | None) -> _Session:
    """Everything before the first call; nothing is written until every check has passed."""
    from judge.judging.budget import apply_budget, default_cap_notice
    from judge.judging.pricing import require_prices
    from judge.judging.registry import build_judges

    if plan.resume_dir is not None and run_dir is not None:
        raise ConfigError("--resume names the run directory itself; drop --run-dir")
    if plan.resumed is not None and plan.resumed.shards:
        raise ConfigError(
            f"{plan.resume_dir}: a merged run cannot be resumed; resume its shards "
            f"({', '.join(s.path for s in plan.resumed.shards)}) and merge them again"
        )
    built = build_judges(plan.judges)
    if plan.budget_usd is not None:
        apply_budget(plan.budget_usd, [])  # checks the cap before anything is written
        require_prices(plan.judges)  # ... and that every judge is priced
    messages: list[str] = []
    if plan.resume_dir is not None and plan.resumed is not None:
        target = plan.resume_dir
        _check_cache_folder(plan, target)
        manifest = replace(
            plan.resumed,
            status="running",
            finished_at=None,
            failure=None,
            resumed=[*plan.resumed.resumed, ResumeInfo(at=now_iso(), argv=argv)],
            budgets=list(plan.resumed.budgets),
        )
    else:
        parent = Path(runs_dir) if runs_dir is not None else plan.runs_dir or paths.default_runs_dir()
        target = Path(run_dir) if run_dir is not None else parent / new_run_id()
        existed = target.is_dir()
        prepare_run_dir(target)
        try:
            _check_cache_folder(plan, target)
        except ConfigError:
            if not existed:
                with contextlib.suppress(OSError):
                    (target / ".lock").unlink(missing_ok=True)
                    target.rmdir()  # leave nothing behind for a refused run
            raise
        saved = None
        if plan.dataset.data is not None:  # rows given in memory: the run keeps them, to resume and report
            saved = target / DATASET_FILE
            atomic_write_bytes(saved, plan.dataset.data)
        manifest = manifest_for(plan, target, argv, saved)
    session = _Session(plan, target, manifest, [], None, None, messages, on_message)
    built = _with_batches(session, built)
    # The budget wraps the client inside the cache, so a cache hit never reserves or spends.
    clients, budget = apply_budget(plan.budget_usd, built)
    notice = default_cap_notice(plan.judges, plan.rubrics) if budget is not None else None
    session.judges, session.cache = _wrap_with_cache(clients, plan, target)
    session.budget = budget
    if notice:
        session.say(notice)
    if plan.budget_inherited and plan.budget_usd is not None:
        session.say(
            f"empathy-judge: resumed under the run's last budget cap, ${plan.budget_usd:g} for this invocation; "
            "--budget-usd sets another"
        )
    return session


def _with_batches(session: _Session, clients: list[Any]) -> list[Any]:
    """Batch-mode judges get a batch judge on the run directory's journal in place of their client;
    a resumed run whose journal has batches still running for a judge keeps that judge batching."""
    from judge.judging.batching import build_batch_judge
    from judge.judging.litellm_client import resolve_api_key
    from judge.judging.pricing import price_for
    from judge.store.batches import BATCH_JOURNAL, BatchJournal

    journal = BatchJournal(session.run_dir / BATCH_JOURNAL)
    open_batches = _open_batches(journal.records())
    out = []
    for client in clients:
        cfg = client.config
        if not cfg.batch:
            if cfg.label in open_batches:
                raise ConfigError(
                    f"{session.run_dir}: judge '{cfg.label}' has {open_batches[cfg.label]} batch(es) still open in "
                    f"this run ({BATCH_JOURNAL}); resume it in batch mode (--batch), or its work would be paid twice"
                )
            out.append(client)
            continue
        batch_judge = build_batch_judge(client, api_key=resolve_api_key(cfg), journal=journal, price=price_for(cfg),
                                        on_event=session.note)
        session.batch_judges.append(batch_judge)
        out.append(batch_judge)
    return out


def _open_batches(records: list[dict[str, Any]]) -> dict[str, int]:
    """Judge label -> batches of the journal that neither ended nor were abandoned."""
    judge_of: dict[str, str] = {}
    closed: set[str] = set()
    for record in records:
        if record.get("event") == "intent":
            judge_of[record["key"]] = str(record.get("judge"))
        elif record.get("event") in ("ended", "abandoned"):
            closed.add(record["key"])
    counts: dict[str, int] = {}
    for key, label in judge_of.items():
        if key not in closed:
            counts[label] = counts.get(label, 0) + 1
    return counts


def manifest_for(plan: Plan, run_dir: Path, argv: list[str], saved_dataset: Path | None = None) -> Manifest:
    sample = sample_info(plan.dataset)
    dataset = plan.dataset
    return Manifest(
        format_version=FORMAT_VERSION,
        version=__version__,
        run_id=run_dir.name,
        status="running",
        started_at=now_iso(),
        argv=argv,
        config_file=str(plan.config.source) if plan.config and plan.config.source else None,
        repeats=plan.repeats,
        limit=plan.limit,
        sample=SampleInfo(**sample) if sample else None,
        dataset=DatasetInfo(
            path=str(saved_dataset or dataset.path),
            hash=dataset.hash,
            format=dataset.format,
            items=dataset.count,
            gold_columns=list(dataset.gold_columns),
        ),
        rubrics=[
            RubricInfo(
                id=r.id,
                version=r.version,
                hash=r.hash,
                mechanism=r.mechanism,
                family=r.family,
                dimensions=list(r.dimensions),
                prompt=r.prompt,
                prompt_hash=plan.prompts.prompt_hash(r),
                path=str(r.path),
            )
            for r in plan.rubrics
        ],
        judges=[JudgeInfo(label=j.label, hash=j.hash, model=j.model, config=j.public()) for j in plan.judges],
        options=plan.options(run_dir, saved_dataset),
        plan=plan.identity(run_dir),
    )


async def _execute(session: _Session, *, progress: bool, html: bool, stop: StopSwitch | None) -> Run:
    plan, run_dir = session.plan, session.run_dir
    skip = None
    done: set[VerdictKey] = set()
    if plan.resume_dir is not None:
        redo = REDO_WITH_ERRORS if plan.retry_errors else REDO_STATUSES
        done, repair = done_keys(run_dir / VERDICTS_LOG, redo=redo)
        if (warning := repair.message()) is not None:
            session.say(warning)
        skip = done.__contains__
        # Derived from the log; rewritten when this attempt ends, and stale until then.
        (run_dir / VERDICTS_PARQUET).unlink(missing_ok=True)
    # From here the manifest says `running`: whatever ends this invocation must leave it saying how
    # (an interrupt can land while the manifest itself is being written).
    try:
        write_manifest(run_dir, session.manifest)
        return await _judge_and_finish(session, skip, len(done), progress=progress, html=html, stop=stop)
    except JudgeError:
        raise  # the run was marked (a --replay miss: failed; interrupted while finishing)
    except (KeyboardInterrupt, asyncio.CancelledError) as exc:
        # Ctrl-C or SIGTERM outside the runner's own handling (before it took the signals, or while
        # the run was being finished), or the caller cancelled evaluate_async.
        with contextlib.suppress(OSError):
            session.end("interrupted")
        if isinstance(exc, KeyboardInterrupt):
            raise RunInterrupted(interrupted_message(run_dir)) from None
        raise
    except OSError as exc:  # the run directory stopped taking writes: a full disk
        with contextlib.suppress(OSError):
            session.end("failed", failure=f"{type(exc).__name__}: {exc}")
        raise _storage_error(run_dir, exc) from None
    except BaseException as exc:  # a bug: keep its traceback
        with contextlib.suppress(OSError):
            session.end("failed", failure=f"{type(exc).__name__}: {exc}")
        raise


def interrupted_message(run_dir: Path) -> str:
    return (
        f"interrupted; {run_dir} holds the verdicts so far; finish it with: empathy-judge run --resume {run_dir}"
    )


async def _judge_and_finish(
    session: _Session, skip: Any, done: int, *, progress: bool, html: bool, stop: StopSwitch | None
) -> Run:
    from judge.engine.runner import Runner

    plan, run_dir = session.plan, session.run_dir
    log = VerdictLog(run_dir / VERDICTS_LOG)
    items = ItemLog(run_dir / ITEMS_LOG)
    runner = Runner(
        dataset=plan.dataset,
        rubrics=plan.rubrics,
        judges=session.judges,
        prompts=plan.prompts,
        repeats=plan.repeats,
        log=log,
        skip=skip,
        on_item=lambda item: items.add(item.record()),
        on_notice=lambda notice: session.say(f"empathy-judge: {notice}"),
    )
    display = _progress(session, runner, done) if progress else None
    if stop is not None:
        stop.attach(runner)
    try:
        outcome = await runner.run()
    finally:
        if stop is not None:
            stop.detach()
        for batch_judge in session.batch_judges:
            await batch_judge.aclose()
        with contextlib.suppress(OSError):  # a full disk: the error on its way says so
            log.close()
        with contextlib.suppress(OSError):
            items.close()
        if session.cache is not None:
            session.cache.flush()  # replies queued for the response cache reach the disk
        if display is not None:
            display.close()
    for reason in outcome.stopped_judges.values():
        session.say(f"empathy-judge: warning: {reason}")
    if session.cache is not None and progress:
        cache = session.cache
        print(f"empathy-judge: cache {cache.root}: {cache.hits} hits, {cache.misses} misses", file=sys.stderr)
    if session.cache is not None and session.cache.write_errors:
        cache = session.cache
        session.say(
            f"empathy-judge: warning: {cache.write_errors} replies could not be written to the response cache "
            f"{cache.root} ({cache.first_write_error}); the verdicts are saved, later runs will ask again"
        )
    session.record_budget()
    if outcome.failure is not None:
        session.end(run_status(outcome), failure=str(outcome.failure))
        raise outcome.failure
    # Finishing: every verdict is in the log. The manifest takes the run's final status only once
    # summary.json and itself are written; an interrupt before that leaves it `interrupted`, and a
    # resume (which then judges nothing) finishes the run.
    if (warning := compact(run_dir).message()) is not None:
        session.say(warning)
    compact_items(run_dir, plan.dataset.gold_columns)
    verdicts = _summary_verdicts(run_dir)  # what the summary and health read; Run.verdicts reads it all
    session.manifest.health = _health(session, verdicts, outcome)
    status = run_status(outcome, health=session.manifest.health)
    for judge in session.manifest.health.unhealthy:
        session.say(f"empathy-judge: warning: judge '{judge.judge}' is unhealthy: {judge.problem}"
                    + (f"; most frequent error: {judge.top_error}" if judge.top_error else ""))
    session.manifest.status, session.manifest.finished_at = status, now_iso()
    summary = _summarise(session, verdicts)
    write_manifest(run_dir, session.manifest)
    if html:
        write_html_report(session)
    # The whole table is read only if the caller asks for it (the CLI never does).
    full = functools.partial(_read_verdicts, run_dir)
    return Run(path=run_dir, manifest=session.manifest, verdicts=full, summary=summary, messages=session.messages)


def _storage_error(run_dir: Path, exc: OSError) -> RunDirError:
    """A run directory that stopped taking writes (disk full, removed, made read-only) mid-run."""
    where = f" {exc.filename}" if exc.filename else ""
    return RunDirError(
        f"{run_dir}: cannot write the run ({exc.strerror or exc}{':' if where else ''}{where}); free space or fix "
        f"the folder, then finish it with: empathy-judge run --resume {run_dir}"
    )


def _progress(session: _Session, runner: Any, done: int) -> Any:
    from judge.engine.progress import Progress

    plan = session.plan
    planned = runner.planned()
    resuming = plan.resume_dir is not None
    todo = planned - done if resuming else planned
    left = f", {todo} left to judge" if resuming else ""
    print(
        f"empathy-judge: run {session.manifest.run_id}: {planned} verdicts{left} "
        f"({len(plan.rubrics)} rubrics x {len(session.judges)} judges x {plan.repeats} repeats) -> {session.run_dir}",
        file=sys.stderr,
    )
    display = Progress(todo, stream=sys.stderr, budget_usd=plan.budget_usd)
    runner.on_row = display.update
    session.notes.append(display.note)
    return display


def _summary_verdicts(run_dir: Path) -> Any:
    from judge.store.reader import read_summary_verdicts

    return read_summary_verdicts(run_dir)


def _read_verdicts(run_dir: Path) -> Any:
    from judge.store.reader import read_verdicts

    return read_verdicts(run_dir)


def _health(session: _Session, verdicts: Any, outcome: RunOutcome) -> RunHealth:
    """Each judge's outcome over the whole run (a resumed run's earlier verdicts included); the
    response-format steps an earlier invocation recorded are kept when this one made none."""
    from judge.stats.health import judge_health

    formats = dict(outcome.formats)
    earlier = session.plan.resumed.health if session.plan.resumed is not None else None
    for judge in earlier.judges if earlier is not None else []:
        if judge.judge not in formats and (judge.response_format or judge.format_rejected):
            formats[judge.judge] = {"mode": judge.response_format, "rejected": judge.format_rejected}
    return RunHealth.from_dict(judge_health(verdicts, session.plan.max_error_share, formats))


def _budget_record(budget: Any) -> dict[str, Any]:
    from judge.judging.budget import record

    return record(budget)


def _summarise(session: _Session, verdicts: Any) -> Summary:
    """Write summary.json (and disagreement.jsonl) for the run; the summary as a record."""
    from judge.report.summary_files import write_summary

    data = write_summary(session.run_dir, verdicts, session.manifest.to_dict(), dataset=session.plan.dataset)
    return Summary.from_dict(data)


def write_html_report(session: _Session) -> None:
    """report.html beside the verdicts. The page is derived data: if drawing it fails, the run
    (already saved) still succeeds, and the warning says how to draw it again."""
    from judge.report.html import write_report

    run_dir = session.run_dir
    try:
        write_report(run_dir, dataset=session.plan.dataset)
    except Exception as exc:  # a broken chart must not fail a finished, saved run
        session.say(
            f"empathy-judge: warning: report.html not written ({type(exc).__name__}: {exc}); "
            f"retry with: empathy-judge report {run_dir} --html {run_dir / 'report.html'}"
        )
