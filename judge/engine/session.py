"""The commands behind the CLI: plan a run from options, execute it, write its directory."""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import functools
import signal
import sys
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

from judge import __version__
from judge.core import paths
from judge.core.errors import EXIT_BUDGET, EXIT_INPUT, EXIT_INTERRUPTED, EXIT_OK, ConfigError, InputError
from judge.inputs.config import JudgeConfig, RunConfig, load_config, resolve_judges
from judge.inputs.dataset import DEFAULT_MAX_CHARS, Dataset, open_dataset
from judge.inputs.prompts import PromptLibrary
from judge.inputs.rubrics import Rubric, load_all, select
from judge.inputs.sampling import sample_dataset, sample_info
from judge.store.rundir import (
    FORMAT_VERSION,
    MANIFEST,
    VERDICTS_LOG,
    VerdictLog,
    compact,
    load_verdicts,
    new_run_id,
    now_iso,
    prepare_run_dir,
    write_json,
)


@dataclass
class Plan:
    dataset: Dataset
    rubrics: list[Rubric]
    judges: list[JudgeConfig]
    prompts: PromptLibrary
    repeats: int
    limit: int | None
    config: RunConfig | None


def _positive(name: str, value: int | None) -> int | None:
    if value is not None and value < 1:
        raise ConfigError(f"--{name}: {value} must be a positive integer")
    return value


def make_plan(args: argparse.Namespace) -> Plan:
    """Resolve options, config, rubrics, prompts and dataset; validate everything up front so a
    bad input fails before anything is judged or written."""
    config = load_config(args.config) if args.config else None
    judges = resolve_judges(config, args.judge)
    concurrency = _positive("concurrency", args.concurrency)
    if concurrency:
        judges = [replace(j, max_concurrency=concurrency) for j in judges]
    repeats = _positive("repeats", args.repeats) or (config.repeats if config else 1)
    limit = _positive("limit", args.limit)
    max_chars = _positive("max-text-chars", args.max_text_chars) or DEFAULT_MAX_CHARS
    rubrics = select(args.rubrics_dir or paths.rubrics_dir(), args.rubric or (config.rubrics if config else None))
    prompts = PromptLibrary(args.prompts_dir or paths.prompts_dir())
    dataset_path = args.dataset or (config.dataset if config else None) or paths.sample_dataset()
    dataset = open_dataset(Path(dataset_path), max_chars=max_chars)
    if getattr(args, "sample", None) is not None:
        dataset = sample_dataset(dataset, args.sample, args.seed or 0)
    first = next(dataset.items())
    for rubric in rubrics:
        prompts.render(rubric, first)  # surfaces template errors before the run starts
    return Plan(dataset, rubrics, judges, prompts, repeats, limit, config)


def manifest_for(plan: Plan, run_id: str, argv: list[str]) -> dict[str, Any]:
    return {
        "format_version": FORMAT_VERSION,
        "tool": "empathy-judge",
        "version": __version__,
        "run_id": run_id,
        "status": "running",
        "started_at": now_iso(),
        "finished_at": None,
        "argv": argv,
        "config_file": str(plan.config.source) if plan.config and plan.config.source else None,
        "repeats": plan.repeats,
        "limit": plan.limit,
        "sample": sample_info(plan.dataset),
        "dataset": {
            "path": str(plan.dataset.path),
            "hash": plan.dataset.hash,
            "format": plan.dataset.format,
            "items": plan.dataset.count,
            "gold_columns": list(plan.dataset.gold_columns),
        },
        "rubrics": [
            {
                "id": r.id,
                "version": r.version,
                "hash": r.hash,
                "mechanism": r.mechanism,
                "family": r.family,
                "dimensions": list(r.dimensions),
                "prompt": r.prompt,
                "prompt_hash": plan.prompts.prompt_hash(r),
                "path": str(r.path),
            }
            for r in plan.rubrics
        ],
        "judges": [{**j.public(), "label": j.label, "hash": j.hash} for j in plan.judges],
    }


def _sigterm_as_interrupt() -> None:
    """Until the event loop installs its own handlers, SIGTERM behaves like Ctrl-C (exit 130)."""

    def handler(signum: int, frame: object) -> None:
        raise KeyboardInterrupt

    with contextlib.suppress(ValueError):  # not the main thread (in-process tests)
        signal.signal(signal.SIGTERM, handler)


def _same(client: Any) -> Any:
    return client


def _wrap_with_cache(args: argparse.Namespace, clients: list[Any], run_dir: Path) -> tuple[list[Any], Any]:
    from judge.judging.cache import CachedJudge, ResponseCache

    if args.no_cache:
        if args.replay:
            raise ConfigError("--replay answers only from the cache; it cannot be combined with --no-cache")
        return clients, None
    cache = ResponseCache(args.cache_dir or run_dir.parent / ".cache")
    wrapped = [CachedJudge(c.config, functools.partial(_same, c), cache, replay=args.replay) for c in clients]
    return wrapped, cache


def run_command(args: argparse.Namespace) -> int:
    _sigterm_as_interrupt()
    try:
        return _run(args)
    except KeyboardInterrupt:
        # Interrupted outside the event loop (start-up): nothing was judged yet.
        print("empathy-judge: interrupted", file=sys.stderr)
        return EXIT_INTERRUPTED


def _run(args: argparse.Namespace) -> int:
    from judge.engine.resume import apply_stored, check_unchanged, load_manifest, record_options
    from judge.judging.budget import apply_budget, default_cap_notice
    from judge.judging.registry import build_judges
    from judge.store.rundir import RunLock

    old: dict[str, Any] | None = None
    if args.retry_errors and not args.resume:
        raise ConfigError("--retry-errors only applies with --resume RUN_DIR")
    if args.resume:
        if args.run_dir:
            raise ConfigError("--resume names the run directory itself; drop --run-dir")
        old = load_manifest(args.resume)
        args = apply_stored(args, old)
    plan = make_plan(args)
    # The budget wraps the client inside the cache, so a cache hit never reserves or spends.
    clients, budget = apply_budget(args.budget_usd, build_judges(plan.judges))
    notice = default_cap_notice(plan.judges, plan.rubrics) if budget is not None else None
    if notice:
        print(notice, file=sys.stderr)
    if args.resume:
        run_dir = args.resume
        run_id = str(old["run_id"]) if old else run_dir.name
    else:
        runs_dir = (
            args.runs_dir
            or (plan.config.runs_dir if plan.config and plan.config.runs_dir else None)
            or paths.default_runs_dir()
        )
        run_id = args.run_dir.name if args.run_dir else new_run_id()
        run_dir = args.run_dir or runs_dir / run_id
    judges, cache = _wrap_with_cache(args, clients, run_dir)
    manifest = manifest_for(plan, run_id, list(sys.argv[1:]))
    manifest["options"] = record_options(args, plan)
    if old is not None:
        check_unchanged(run_dir, old, manifest)
        manifest = {
            **old,
            "status": "running",
            "finished_at": None,
            "resumed": [*old.get("resumed", []), {"at": now_iso(), "argv": list(sys.argv[1:])}],
        }
    else:
        prepare_run_dir(run_dir)
    with RunLock(run_dir):
        return _execute(args, plan, judges, cache, run_dir, run_id, manifest, resuming=old is not None, budget=budget)


def _execute(
    args: argparse.Namespace,
    plan: Plan,
    judges: list[Any],
    cache: Any,
    run_dir: Path,
    run_id: str,
    manifest: dict[str, Any],
    *,
    resuming: bool,
    budget: Any = None,
) -> int:
    from judge.engine.runner import Runner
    from judge.judging.budget import exhausted_message, finish
    from judge.report.summary_files import write_summary
    from judge.report.terminal import print_table
    from judge.store.rundir import VERDICTS_PARQUET, done_keys

    skip = None
    if resuming:
        done = done_keys(run_dir / VERDICTS_LOG, redo=("skipped", "error") if args.retry_errors else ("skipped",))
        skip = done.__contains__
        # Derived from the log; rewritten when this attempt ends, and stale until then.
        (run_dir / VERDICTS_PARQUET).unlink(missing_ok=True)
    write_json(run_dir / MANIFEST, manifest)
    log = VerdictLog(run_dir / VERDICTS_LOG)
    runner = Runner(
        dataset=plan.dataset,
        rubrics=plan.rubrics,
        judges=judges,
        prompts=plan.prompts,
        repeats=plan.repeats,
        log=log,
        limit=plan.limit,
        skip=skip,
    )
    progress = None
    if not args.quiet:
        from judge.engine.progress import Progress

        planned = runner.planned()
        todo = planned - len(done) if skip is not None else planned
        left = f", {todo} left to judge" if skip is not None else ""
        print(
            f"empathy-judge: run {run_id}: {planned} verdicts{left} "
            f"({len(plan.rubrics)} rubrics x {len(judges)} judges x {plan.repeats} repeats) -> {run_dir}",
            file=sys.stderr,
        )
        progress = Progress(todo, stream=sys.stderr, budget_usd=getattr(args, "budget_usd", None))
        runner.on_row = progress.update
    try:
        outcome = asyncio.run(runner.run())
    except KeyboardInterrupt:  # a signal before the loop took over: the log holds what finished
        manifest.update(status="interrupted", finished_at=now_iso())
        write_json(run_dir / MANIFEST, manifest)
        raise
    finally:
        log.close()
        if progress is not None:
            progress.close()
    _sigterm_as_interrupt()  # asyncio put the default (kill) back when its loop closed
    for reason in outcome.stopped_judges.values():
        print(f"empathy-judge: warning: {reason}", file=sys.stderr)
    if cache is not None and not args.quiet:
        print(f"empathy-judge: cache {cache.root}: {cache.hits} hits, {cache.misses} misses", file=sys.stderr)
    if outcome.failure is not None:
        manifest.update(status="failed", finished_at=now_iso(), failure=str(outcome.failure))
        write_json(run_dir / MANIFEST, manifest)
        raise outcome.failure
    try:
        compact(run_dir)
        verdicts = load_verdicts(run_dir)
        manifest.update(status="interrupted" if outcome.interrupted else "completed", finished_at=now_iso())
        finish(manifest, outcome, budget)
        summary = write_summary(run_dir, verdicts, manifest, dataset=plan.dataset)
    except KeyboardInterrupt:  # every verdict is in the log; only the summary is missing
        manifest.update(status="interrupted", finished_at=now_iso())
        write_json(run_dir / MANIFEST, manifest)
        raise
    write_json(run_dir / MANIFEST, manifest)
    write_html_report(run_dir, plan.dataset)
    print_table(summary, run_dir)
    if budget is not None and outcome.budget_exhausted:
        print(exhausted_message(budget, run_dir), file=sys.stderr)
        return EXIT_BUDGET
    if outcome.interrupted:
        print(
            f"empathy-judge: interrupted; {run_dir} holds the verdicts so far; "
            f"finish it with: empathy-judge run --resume {run_dir}",
            file=sys.stderr,
        )
        return EXIT_INTERRUPTED
    return EXIT_OK


def write_html_report(run_dir: Path, dataset: Dataset | None = None) -> None:
    """report.html beside the verdicts. The page is derived data: if drawing it fails, the run
    (already saved) still succeeds, and the warning says how to draw it again."""
    from judge.report.html import write_report

    try:
        write_report(run_dir, dataset=dataset)
    except Exception as exc:  # a broken chart must not fail a finished, saved run
        print(
            f"empathy-judge: warning: report.html not written ({type(exc).__name__}: {exc}); "
            f"retry with: empathy-judge report {run_dir} --html {run_dir / 'report.html'}",
            file=sys.stderr,
        )


def rubrics_command(args: argparse.Namespace, parser: argparse.ArgumentParser) -> int:
    """``rubrics list``, ``rubrics show ID[@VERSION]`` and ``rubrics validate [PATH]``."""
    action = args.rubrics_command
    if action == "list":
        rubrics = sorted(load_all(args.rubrics_dir or paths.rubrics_dir()), key=lambda r: (r.id, r.version))
        for rubric in rubrics:
            print(
                f"{rubric.ref:<14} {rubric.mechanism:<24} {rubric.family:<7} {rubric.hash[:12]}  "
                f"{rubric.prompt:<14} {rubric.title}"
            )
        return EXIT_OK
    if action == "show":
        return _show_rubric(args)
    if action == "validate":
        from judge.inputs.rubric_check import validate

        target = args.path or paths.rubrics_dir()
        count, problems = validate(target, args.prompts_dir or paths.prompts_dir())
        for problem in problems:
            print(problem)
        verdict = f"{len(problems)} problem(s)" if problems else "all valid"
        print(f"{count} rubric file(s) checked in {target}: {verdict}")
        return EXIT_INPUT if problems else EXIT_OK
    raise InputError("rubrics: choose an action: list, show ID[@VERSION] or validate [PATH]")


def _show_rubric(args: argparse.Namespace) -> int:
    import json

    from judge.core.taxonomy import TASK_DIMENSIONS
    from judge.inputs.rubric_check import sample_items

    (rubric,) = select(args.rubrics_dir or paths.rubrics_dir(), [args.rubric])
    prompts = PromptLibrary(args.prompts_dir or paths.prompts_dir())
    print(f"rubric:      {rubric.ref}  ({rubric.path})")
    print(f"hash:        {rubric.hash}")
    print(f"prompt:      {rubric.prompt}  (hash {prompts.prompt_hash(rubric)})")
    print(f"mechanism:   {rubric.mechanism}   family: {rubric.family}   dimensions: {', '.join(rubric.dimensions)}")
    print(f"title:       {rubric.title}")
    print(f"severity:    {json.dumps(rubric.severity, sort_keys=True)}")
    print(f"\ndefinition:\n{rubric.definition.strip()}")
    if rubric.description:
        print(f"\ndescription:\n{rubric.description.strip()}")
    print(f"\nverdict schema:\n{json.dumps(rubric.schema, indent=1, sort_keys=True)}")
    if args.no_render:
        return EXIT_OK
    if args.task not in TASK_DIMENSIONS:
        raise InputError(f"--task: unknown task '{args.task}'; use one of {', '.join(TASK_DIMENSIONS)}")
    item = next(i for i in sample_items() if i.task == args.task)
    for message in prompts.render(rubric, item):
        print(f"\n----- {message['role']} (sample {args.task} item) -----\n{message['content']}")
    return EXIT_OK
