"""From parsed command-line options to the Python API's keyword arguments."""

from __future__ import annotations

import argparse
from typing import Any

from judge.core.errors import ConfigError


def plan_kwargs(args: argparse.Namespace) -> dict[str, Any]:
    """``Plan(**plan_kwargs(args))``: the selection options every planning command shares, plus the
    run's own (budget, cache) when present. An option not given is None (or left out), so a resume
    can tell it from one given."""
    kwargs: dict[str, Any] = {
        "dataset": args.dataset,
        "judges": args.judge or None,
        "rubrics": args.rubric or None,
        "repeats": args.repeats,
        "limit": args.limit,
        "sample": args.sample,
        "seed": args.seed,
        "concurrency": args.concurrency,
        "config": args.config,
        "rubrics_dir": args.rubrics_dir,
        "prompts_dir": args.prompts_dir,
        "max_text_chars": args.max_text_chars,
        "map": args.map or None,
        "shard": args.shard,
    }
    if args.command == "run":
        if args.no_cache and args.replay:
            raise ConfigError("--replay answers only from the cache; it cannot be combined with --no-cache")
        kwargs.update(
            budget_usd=args.budget_usd,
            cache="off" if args.no_cache else "replay" if args.replay else None,
            cache_dir=args.cache_dir,
            max_error_share=args.max_error_share,
            batch=args.batch,
        )
    return kwargs
