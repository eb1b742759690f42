"""``empathy-judge run``: plan from the options, ``judge.evaluate``, print the table, map the
run's status to the exit code."""

from __future__ import annotations

import argparse
import contextlib
import signal
import sys

from judge.cli.options import plan_kwargs
from judge.core.errors import (
    EXIT_BUDGET,
    EXIT_DEGRADED,
    EXIT_INTERRUPTED,
    EXIT_OK,
    ConfigError,
    RunInterrupted,
    one_line,
)

EXIT_CODES = {
    "completed": EXIT_OK,
    "degraded": EXIT_DEGRADED,
    "budget_exhausted": EXIT_BUDGET,
    "interrupted": EXIT_INTERRUPTED,
}


def _sigterm_as_interrupt() -> None:
    """SIGTERM behaves like Ctrl-C (exit 130, the run left resumable); while judging, the runner
    takes both signals itself and stops gracefully."""

    def handler(signum: int, frame: object) -> None:
        raise KeyboardInterrupt

    with contextlib.suppress(ValueError):  # not the main thread (in-process tests)
        signal.signal(signal.SIGTERM, handler)


def run_command(args: argparse.Namespace) -> int:
    _sigterm_as_interrupt()
    try:
        return _run(args)
    except RunInterrupted:
        raise  # says how to finish the run; the CLI's error boundary prints it
    except KeyboardInterrupt:
        # Interrupted before a run had started, or before it took the signals (then its manifest
        # says so).
        print("empathy-judge: interrupted", file=sys.stderr)
        return EXIT_INTERRUPTED


def _say(message: str) -> None:
    print(one_line(message), file=sys.stderr)


def _run(args: argparse.Namespace) -> int:
    from judge.engine.plan import Plan
    from judge.engine.session import evaluate, interrupted_message
    from judge.report.terminal import print_table

    kwargs = plan_kwargs(args)
    if args.retry_errors and not args.resume:
        raise ConfigError("--retry-errors only applies with --resume RUN_DIR")
    if args.resume:
        if args.run_dir:
            raise ConfigError("--resume names the run directory itself; drop --run-dir")
        plan = Plan.resume(args.resume, retry_errors=args.retry_errors, **kwargs)
    else:
        plan = Plan(**kwargs)
    run = evaluate(
        plan, args.run_dir, runs_dir=args.runs_dir, progress=not args.quiet, on_message=_say, argv=sys.argv[1:]
    )
    if run.summary is not None:
        print_table(run.summary.to_dict(), run.path)
    if run.status == "budget_exhausted" and run.manifest.budgets:
        from judge.judging.budget import exhausted_message

        print(exhausted_message(run.manifest.budgets[-1], run.path), file=sys.stderr)  # type: ignore[arg-type]
    elif run.status == "interrupted":
        print(f"empathy-judge: {one_line(interrupted_message(run.path))}", file=sys.stderr)
    return EXIT_CODES[run.status]
