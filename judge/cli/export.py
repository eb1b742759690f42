"""``empathy-judge export``: a run's verdict table as CSV, JSONL or Parquet."""

from __future__ import annotations

import argparse

from judge.core.errors import EXIT_OK


def export_command(args: argparse.Namespace) -> int:
    from judge.store.export import export_verdicts

    path, rows = export_verdicts(args.run_dir, args.format, args.output)
    print(f"empathy-judge: wrote {rows} verdicts to {path}")
    return EXIT_OK
