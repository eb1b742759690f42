"""The run's items table: one row per judged item, beside the long verdict table.

Why a table of its own: the verdict table is long (item x rubric x judge x repeat) and stays lean,
so the texts, gold labels and metadata of an item are stored once, here, and joined on
``item_id`` where they are needed (``export``, the report's item browser, the summary's gold
labels and response lengths). Sixteen verdicts of one item (8 rubrics x 2 judges) would otherwise
carry sixteen copies of its texts and metadata. It also makes the run directory self-contained: the
report and export no longer need the dataset file to still be where it was, unchanged.

Columns: ``item_id, task, dimension, model, source_id, source, reference, response``, one Int64
column per gold label of the dataset (``gold_<mechanism>``, ``gold_<mechanism>__<annotator>``),
and ``meta``: the row's other columns as one JSON object text (null when it has none). Metadata
is free-form (lists, nested objects, any types per row), so one JSON column keeps the schema fixed.

Written as the runner reads the items (``items.jsonl``, one line per item, in the pass that
produces the work: no extra pass over the dataset), compacted to ``items.parquet`` when the run
ends. A resumed attempt writes the items again; the last row of an id wins.
"""

from __future__ import annotations

import json
import os
from collections.abc import Sequence
from pathlib import Path
from typing import IO, Any

ITEMS_LOG = "items.jsonl"
ITEMS_PARQUET = "items.parquet"
TEXT_COLUMNS = ("source", "reference", "response")
ITEM_COLUMNS = ("item_id", "task", "dimension", "model", "source_id", *TEXT_COLUMNS)


def items_schema(gold_columns: Sequence[str]) -> dict[str, Any]:
    import polars as pl

    return {
        **dict.fromkeys(ITEM_COLUMNS, pl.String()),
        **{c: pl.Int64() for c in gold_columns},
        "meta": pl.String(),
    }


class ItemLog:
    """Appends item records (``Item.record()``) to the run's items log; derived data, so it is
    flushed with the verdict log's batches but never fsynced on its own."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self._fh: IO[str] | None = path.open("a", encoding="utf-8")

    def add(self, record: dict[str, Any]) -> None:
        if self._fh is not None:
            self._fh.write(json.dumps(record, ensure_ascii=False) + "\n")

    def close(self) -> None:
        if self._fh is not None:
            self._fh.close()
            self._fh = None


def _scan(run_dir: Path, gold_columns: Sequence[str]) -> Any:
    """The items as a LazyFrame (items.parquet, then the log's newer rows; the last row of an id
    wins), or None when the run has neither."""
    import polars as pl

    schema = items_schema(gold_columns)
    parts = []
    parquet = run_dir / ITEMS_PARQUET
    if parquet.exists():
        parts.append(pl.scan_parquet(parquet, schema=schema))
    log = run_dir / ITEMS_LOG
    if log.exists() and log.stat().st_size:
        parts.append(pl.scan_ndjson(log, schema=schema))
    if not parts:
        return None
    return pl.concat(parts, how="vertical").unique(subset="item_id", keep="last", maintain_order=True)


def compact_items(run_dir: Path, gold_columns: Sequence[str]) -> bool:
    """Fold the items log into items.parquet (streamed: memory does not grow with the dataset);
    False when the run has no items at all."""
    frame = _scan(run_dir, gold_columns)
    if frame is None:
        return False
    target = run_dir / ITEMS_PARQUET
    tmp = run_dir / f".{ITEMS_PARQUET}.{os.getpid()}.tmp"
    frame.sink_parquet(tmp)
    os.replace(tmp, target)
    (run_dir / ITEMS_LOG).unlink(missing_ok=True)
    return True


def has_items(run_dir: Path | str) -> bool:
    """Whether the run has an items table (runs of format 3 that read at least one item)."""
    return any((Path(run_dir) / name).exists() for name in (ITEMS_PARQUET, ITEMS_LOG))


def read_items(run_dir: Path | str, gold_columns: Sequence[str], columns: Sequence[str] | None = None) -> Any:
    """The items table as a polars DataFrame (only ``columns`` when given), or None for a run that
    has none (written before format 3, or stopped before its first item)."""
    frame = _scan(Path(run_dir), gold_columns)
    if frame is None:
        return None
    return frame.select(list(columns)).collect() if columns is not None else frame.collect()
