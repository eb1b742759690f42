"""``empathy-judge export``: a run's verdicts as CSV, JSONL or Parquet, one row per verdict.

The columns are the verdict columns of docs/CONTRACTS.md in their documented order, so a notebook or
a spreadsheet sees the same table the statistics are computed from.
"""

from __future__ import annotations

import os
from pathlib import Path

from judge.core.errors import InputError
from judge.core.records import VERDICT_COLUMNS
from judge.store.reader import read_run

FORMATS = ("csv", "jsonl", "parquet")


def export_verdicts(run_dir: Path, fmt: str, output: Path | None = None) -> tuple[Path, int]:
    """Write the verdict table; returns the path written and the number of rows."""
    if fmt not in FORMATS:
        raise InputError(f"--format {fmt}: unknown export format; use one of {', '.join(FORMATS)}")
    frame = read_run(run_dir).verdicts.select(list(VERDICT_COLUMNS))
    target = output or run_dir / f"verdicts-export.{fmt}"
    if target.is_dir():
        raise InputError(f"--output {target}: is a directory; name a file")
    target.parent.mkdir(parents=True, exist_ok=True)
    tmp = target.with_name(f".{target.name}.{os.getpid()}.tmp")
    if fmt == "csv":
        frame.write_csv(tmp)
    elif fmt == "jsonl":
        frame.write_ndjson(tmp)
    else:
        frame.write_parquet(tmp)
    os.replace(tmp, target)
    return target, frame.height
