"""``empathy-judge estimate``: the plan's calls and cost, calling no judge."""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

from judge.cli.options import plan_kwargs
from judge.core import paths
from judge.core.errors import EXIT_OK


def estimate_command(args: argparse.Namespace) -> int:
    from judge.engine.estimate import estimate, render
    from judge.engine.plan import Plan

    plan = Plan(**plan_kwargs(args))
    runs_dir = args.runs_dir or plan.runs_dir or paths.default_runs_dir()
    result = estimate(plan, Path(runs_dir), args.cache_dir)
    if args.json:
        json.dump(result, sys.stdout, indent=2, sort_keys=True)
        sys.stdout.write("\n")
    else:
        print(render(result))
    return EXIT_OK
