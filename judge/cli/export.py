"""``empathy-judge export``: a run as one flat table in CSV, JSONL, JSON or Parquet."""

from __future__ import annotations

import argparse
import sys

from judge.core.errors import EXIT_OK


def export_command(args: argparse.Namespace) -> int:
    from judge.store.export import export_run
    from judge.store.items import has_items

    items = None
    if not args.verdicts_only and not has_items(args.run_dir):
        # A run from before items tables: its dataset, if still there and unchanged, has them.
        from judge.report.data import dataset_items

        items, why = dataset_items(args.run_dir)
        if items is None:
            print(f"empathy-judge: note: no texts, gold labels or metadata in the export: {why}", file=sys.stderr)
    path, rows, columns = export_run(args.run_dir, args.output, args.format, verdicts_only=args.verdicts_only,
                                     items=items)  # fmt: skip
    print(f"empathy-judge: wrote {rows} verdicts ({columns} columns) to {path}")
    return EXIT_OK
