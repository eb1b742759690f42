"""Which lines of a verdict log are whole verdict rows, and setting damaged ones aside.

A line is a whole row when it ends in a newline and is one JSON object (no NaN or Infinity token)
with the key columns (item_id, rubric_id, judge as strings, rubric_version and repeat as
integers), a known status, and every other column it has holding that column's type
(judge.core.records.VERDICT_COLUMNS).

Two kinds of bad line, treated differently:

- a **torn tail**: the last line without its newline. Each row reaches the OS in one write, so
  that is what a killed process leaves; it is cut off and its key is judged again.
- a **damaged line** anywhere else (a disk error, a hand edit, a NaN written by an older version):
  it is moved, with its line number, to ``verdicts.damaged.jsonl`` next to the log, never silently
  dropped, and the rows after it are kept. Its key, having no row, is judged again on resume.
"""

from __future__ import annotations

import json
import math
import os
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from judge.core.records import VERDICT_COLUMNS
from judge.core.taxonomy import VERDICT_STATUSES

DAMAGED_LOG = "verdicts.damaged.jsonl"
_KINDS: dict[str, tuple[type, ...]] = {"str": (str,), "int": (int,), "float": (float, int), "bool": (bool,)}
_CHECKS = tuple((name, _KINDS[kind]) for name, kind in VERDICT_COLUMNS.items())
_KEYS = (("item_id", str), ("rubric_id", str), ("rubric_version", int), ("judge", str), ("repeat", int))


def _no_constant(name: str) -> Any:
    raise ValueError(f"{name} is not valid JSON")


def parse_row(raw: bytes) -> dict[str, Any] | None:
    """The verdict row a log line holds (with its newline), or None when it is not a whole one."""
    try:
        row = json.loads(raw, parse_constant=_no_constant)
    except (ValueError, RecursionError):
        return None
    if not isinstance(row, dict):
        return None
    for name, kind in _KEYS:
        if type(row.get(name)) is not kind:
            return None
    if row.get("status") not in VERDICT_STATUSES:
        return None
    for name, kinds in _CHECKS:  # type() not isinstance(): a bool is not an int column's value
        value = row.get(name)
        if value is not None and (type(value) not in kinds or (type(value) is float and not math.isfinite(value))):
            return None  # 1e400 parses as inf without any NaN/Infinity token
    return row


@dataclass
class LogRepair:
    """What reading a log with repair did: a torn tail cut, damaged lines set aside."""

    path: Path
    torn_bytes: int = 0
    set_aside: list[int] = field(default_factory=list)  # 1-based line numbers

    def message(self) -> str | None:
        """A warning for the user when lines were set aside (a cut torn tail is routine)."""
        if not self.set_aside:
            return None
        lines = ", ".join(str(n) for n in self.set_aside[:10]) + (" ..." if len(self.set_aside) > 10 else "")
        return (
            f"empathy-judge: warning: {self.path}: {len(self.set_aside)} damaged line(s) (line {lines}) moved to "
            f"{self.path.with_name(DAMAGED_LOG)}; the rows after them are kept, and their keys are judged again"
        )


def repair_log(path: Path, on_row: Callable[[dict[str, Any]], None] | None = None) -> LogRepair:
    """Check every line of the log at ``path``, calling ``on_row`` with each whole row in order;
    cut a torn tail off and move damaged lines aside (see the module docstring)."""
    repair = LogRepair(path)
    if not path.exists():
        return repair
    size = 0
    with path.open("rb") as fh:
        for lineno, raw in enumerate(fh, 1):
            if not raw.endswith(b"\n"):
                repair.torn_bytes = len(raw)
                break
            size += len(raw)
            row = parse_row(raw)
            if row is None:
                repair.set_aside.append(lineno)
            elif on_row is not None:
                on_row(row)
    if repair.set_aside:
        _set_aside(path, repair.set_aside)
    elif repair.torn_bytes:
        with path.open("r+b") as fh:
            fh.truncate(size)
            fh.flush()
            os.fsync(fh.fileno())
    return repair


def _set_aside(path: Path, bad: list[int]) -> None:
    """Append the bad lines to the damaged log, then replace the log with its whole rows."""
    wanted = set(bad)
    damaged = path.with_name(DAMAGED_LOG)
    tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    # The damaged lines are saved (and synced) before the log loses them: a crash in between
    # leaves them in both places, never in neither.
    with path.open("rb") as src, damaged.open("ab") as out:
        for lineno, raw in enumerate(src, 1):
            if lineno in wanted:
                record = {"line": lineno, "text": raw.decode("utf-8", "replace").rstrip("\n")}
                out.write(json.dumps(record, ensure_ascii=False).encode("utf-8") + b"\n")
        out.flush()
        os.fsync(out.fileno())
    with path.open("rb") as src, tmp.open("wb") as out:
        for lineno, raw in enumerate(src, 1):
            if lineno not in wanted and raw.endswith(b"\n"):
                out.write(raw)
        out.flush()
        os.fsync(out.fileno())
    os.replace(tmp, path)
