"""The batch journal: ``batches.jsonl`` in the run directory, the record of every provider batch.

Batch mode (judge/judging/batching.py) writes here before it touches the provider, so a run killed
at any moment can find its work again on ``--resume`` instead of submitting it twice:

    {"event": "intent", "key": K, "judge": LABEL, "provider": P, "marker": M, "at": ISO, "epoch": T,
     "custom_ids": [...]}                            before the upload and the create call
    {"event": "submitted", "key": K, "batch_id": B}  as soon as the provider named the batch
    {"event": "ended", "key": K, "status": S}        its results were read (S: the provider's status)
    {"event": "abandoned", "key": K, "reason": R}    the batch never came to exist (refused, or a
                                                     lookup after a lost answer found nothing)

Each line is written in one ``write`` and fsynced before the caller goes on: the intent must be on
disk before the provider can have the batch. A line cut short by a crash is ignored when read.
"""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any

BATCH_JOURNAL = "batches.jsonl"


class BatchJournal:
    """Append-only, fsynced JSONL of batch events (see the module docstring)."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self._clean_end = False

    def append(self, record: dict[str, Any]) -> None:
        line = json.dumps(record, ensure_ascii=False, separators=(",", ":")).encode("utf-8") + b"\n"
        if not self._clean_end:
            # After a crash mid-write the file may end in a torn line: end it, so this record
            # starts a line of its own (the torn one stays unreadable and is skipped).
            try:
                with self.path.open("rb") as fh:
                    fh.seek(-1, os.SEEK_END)
                    if fh.read(1) != b"\n":
                        line = b"\n" + line
            except (FileNotFoundError, OSError):
                pass
            self._clean_end = True
        fd = os.open(self.path, os.O_WRONLY | os.O_CREAT | os.O_APPEND, 0o644)
        try:
            os.write(fd, line)
            os.fsync(fd)
        finally:
            os.close(fd)

    def records(self) -> list[dict[str, Any]]:
        """Every whole record, in order (a crash-torn last line is skipped)."""
        try:
            data = self.path.read_bytes()
        except FileNotFoundError:
            return []
        out = []
        for raw in data.split(b"\n"):
            if not raw.strip():
                continue
            try:
                record = json.loads(raw)
            except json.JSONDecodeError:
                continue  # a torn tail: the write it belonged to never returned
            if isinstance(record, dict) and isinstance(record.get("key"), str):
                out.append(record)
        return out
