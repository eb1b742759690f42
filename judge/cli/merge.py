"""``empathy-judge merge RUN_DIR... --run-dir OUT``: join the shards of one plan into one run and
print its table (judge/engine/merge.py does the work)."""

from __future__ import annotations

import argparse
import sys

from judge.core.errors import EXIT_OK


def merge_command(args: argparse.Namespace) -> int:
    from judge.engine.merge import merge_runs
    from judge.report.terminal import print_table

    run = merge_runs(list(args.shards), args.run_dir, argv=sys.argv[1:])
    if not args.quiet:
        shards = ", ".join(f"{s.shard} ({s.run_id})" for s in run.manifest.shards)
        print(f"empathy-judge: merged shards {shards} -> {run.path}", file=sys.stderr)
    if run.summary is not None:
        print_table(run.summary.to_dict(), run.path)
    return EXIT_OK
