"""The run directory: manifest, durable verdict log, compacted Parquet, summary.

    runs/<run-id>/
      manifest.json      format version, plan, options, rubric and dataset hashes, status
      verdicts.jsonl     one JSON object per verdict, appended and fsynced as verdicts complete
      verdicts.parquet   the same rows, compacted with an explicit schema when the run ends
      summary.json       aggregated scores and agreement (see judge/stats/summary.py)

The records each file holds are typed in judge/core/records.py; judge/store/reader.py reads a run
back (``read_run``), upgrading older formats.

Every whole-file write goes to a temporary file first and is moved into place with ``os.replace``,
so a crash leaves either the old file or the new one, never half of one. The verdict log is
append-only; a line cut short by a crash is cut off when the log is read for a resume or compacted,
and a damaged line elsewhere is set aside (judge/store/logcheck.py).
"""

from __future__ import annotations

import io
import json
import os
import secrets
import time
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from judge.core.errors import InputError, RunDirError
from judge.core.records import FORMAT_VERSION as FORMAT_VERSION  # re-exported: the records define these
from judge.core.records import KEY_COLUMNS, Manifest, verdict_schema
from judge.core.records import VERDICT_COLUMNS as VERDICT_COLUMNS
from judge.core.taxonomy import NOT_APPLICABLE, REDO_STATUSES, VERDICT_STATUSES
from judge.store.logcheck import LogRepair, parse_row, repair_log

MANIFEST = "manifest.json"
VERDICTS_LOG = "verdicts.jsonl"
VERDICTS_PARQUET = "verdicts.parquet"
SUMMARY = "summary.json"


def polars_schema() -> dict[str, Any]:
    """The verdict table's schema (derived from judge.core.records.VerdictRow)."""
    return verdict_schema()


def now_iso() -> str:
    return datetime.now(UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")


def new_run_id() -> str:
    return datetime.now(UTC).strftime("%Y%m%d-%H%M%S-") + secrets.token_hex(2)


def atomic_write_bytes(path: Path, data: bytes) -> None:
    tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    try:
        with tmp.open("wb") as fh:
            fh.write(data)
            fh.flush()
            os.fsync(fh.fileno())
        os.replace(tmp, path)
    except BaseException:
        tmp.unlink(missing_ok=True)  # a failed write (disk full, a folder in the way) leaves nothing behind
        raise


def output_path(path: Path, option: str) -> Path:
    """A file the user named (``--html``, ``--output``), ready to be written: refused when it is a
    folder, its parent folders made; an OSError becomes an InputError naming the option."""
    if path.is_dir():
        raise InputError(f"{option} {path}: is a directory; name a file in it instead")
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise InputError(
            f"{option} {path}: cannot create its folder ({exc.strerror or exc}); choose another path"
        ) from None
    return path


def write_output(path: Path, text: str, option: str) -> Path:
    """Write a file the user named, atomically; every way it can fail is one InputError."""
    output_path(path, option)
    try:
        atomic_write_text(path, text)
    except OSError as exc:
        raise InputError(f"{option} {path}: cannot write ({exc.strerror or exc}); choose another path") from None
    return path


def atomic_write_text(path: Path, text: str) -> None:
    atomic_write_bytes(path, text.encode("utf-8"))


def write_json(path: Path, data: Any) -> None:
    atomic_write_text(path, json.dumps(data, indent=2, sort_keys=True, ensure_ascii=False) + "\n")


def write_manifest(run_dir: Path, manifest: Manifest) -> None:
    write_json(run_dir / MANIFEST, manifest.to_dict())


def read_json(path: Path) -> Any:
    try:
        return json.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise RunDirError(f"{path}: not found; is {path.parent} a run directory?") from None
    except (json.JSONDecodeError, UnicodeDecodeError) as exc:
        raise RunDirError(f"{path}: unreadable ({exc}); the file is damaged") from None


class VerdictLog:
    """Append-only JSONL of verdict rows: each row is handed to the OS at once, fsynced in batches.

    Every row goes out in one ``write`` as it completes, so a killed process (kill -9) loses no
    finished verdict. fsync, which only matters if the machine itself goes down, runs when
    ``sync_every`` rows are pending or ``sync_interval_s`` has passed, and always on ``close``.
    """

    def __init__(self, path: Path, *, sync_every: int = 1024, sync_interval_s: float = 0.5) -> None:
        self.path = path
        self._fh = path.open("ab")
        self._pending = 0
        self._last_sync = time.monotonic()
        self.sync_every = sync_every
        self.sync_interval_s = sync_interval_s
        self.written = 0

    def append(self, row: dict[str, Any]) -> None:
        # allow_nan=False: a bare NaN token would make the whole log unreadable to strict parsers
        # (polars, at compaction); a row holding one is a bug, and must fail here, loudly.
        line = json.dumps(row, ensure_ascii=False, separators=(",", ":"), allow_nan=False)
        self._fh.write(line.encode("utf-8") + b"\n")
        self._fh.flush()
        self._pending += 1
        self.written += 1
        if self._pending >= self.sync_every or time.monotonic() - self._last_sync >= self.sync_interval_s:
            self.sync()

    def sync(self) -> None:
        if self._pending:
            self._fh.flush()
            os.fsync(self._fh.fileno())
            self._pending = 0
        self._last_sync = time.monotonic()

    def close(self) -> None:
        if not self._fh.closed:
            self.sync()
            self._fh.close()


def read_log(path: Path) -> Iterator[dict[str, Any]]:
    """Yield the whole rows of a verdict log (judge/store/logcheck.py), skipping a crash-torn last
    line and damaged lines; changes nothing (``repair_log`` cuts and sets aside)."""
    if not path.exists():
        return
    with path.open("rb") as fh:
        for raw in fh:
            if raw.endswith(b"\n"):
                row = parse_row(raw)
                if row is not None:
                    yield row


def cut_torn_tail(path: Path) -> int:
    """Cut a crash-torn last line off the log, reading only the end of the file; returns the
    number of bytes cut.

    Each row goes out in one ``write`` of its JSON and a newline (JSON text never holds a raw
    newline), so a crash can only leave a last line without its newline. A newline-terminated line
    that does not parse is damage, not a crash: compaction sets it aside (judge/store/logcheck.py).
    """
    if not path.exists() or not (size := path.stat().st_size):
        return 0
    with path.open("r+b") as fh:
        fh.seek(size - 1)
        if fh.read(1) == b"\n":
            return 0
        start, pos = 0, size - 1
        while pos > 0:
            begin = max(0, pos - (1 << 16))
            fh.seek(begin)
            newline = fh.read(pos - begin).rfind(b"\n")
            if newline >= 0:
                start = begin + newline + 1
                break
            pos = begin
        fh.truncate(start)
        fh.flush()
        os.fsync(fh.fileno())
    return size - start


VerdictKey = tuple[str, str, int, str, int]  # KEY_COLUMNS' values: item, rubric id, rubric version, judge, repeat


def done_keys(path: Path, *, redo: tuple[str, ...] = REDO_STATUSES) -> tuple[set[VerdictKey], LogRepair]:
    """Keys (item, rubric id, rubric version, judge, repeat) whose latest row in the log is
    terminal, and what the log's repair did.

    A row whose status is in ``redo`` is not: ``skipped`` always (never judged), ``error`` too
    with --retry-errors (``REDO_STATUSES``, ``REDO_WITH_ERRORS``); ``abstained`` is terminal, and
    so is a ``skipped`` row whose rubric does not apply to the item (its reason starts with
    ``NOT_APPLICABLE``): that cannot change while the rubric stays the same, which resume checks.
    Also cuts a crash-torn tail off the log so new rows start on a clean line, and sets damaged
    lines aside (their keys are then not done).
    """
    latest: dict[VerdictKey, bool] = {}

    def note(row: dict[str, Any]) -> None:
        key = (row["item_id"], row["rubric_id"], row["rubric_version"], row["judge"], row["repeat"])
        latest[key] = row["status"] not in redo or str(row.get("error") or "").startswith(NOT_APPLICABLE)

    repair = repair_log(path, note)
    return {key for key, final in latest.items() if final}, repair


class RunLock:
    """An exclusive lock on a run directory, so two processes never append to one log."""

    def __init__(self, run_dir: Path) -> None:
        self.path = run_dir / ".lock"
        self._fh: Any = None

    def __enter__(self) -> RunLock:
        import fcntl

        self._fh = self.path.open("a")
        try:
            fcntl.flock(self._fh.fileno(), fcntl.LOCK_EX | fcntl.LOCK_NB)
        except OSError:
            self._fh.close()
            raise RunDirError(
                f"{self.path.parent}: another empathy-judge process is using this run; wait for it or stop it"
            ) from None
        return self

    def __exit__(self, *exc: object) -> None:
        if self._fh is not None:
            self._fh.close()  # closing releases the lock


# Bytes of log converted to Parquet at a time by compact(): bounds its memory, whatever the run size.
COMPACT_CHUNK_BYTES = 16 << 20


def _whole_rows(frame: Any) -> bool:
    """Whether a chunk parsed by polars holds only whole verdict rows: polars fills a missing key
    with null and reads 1e400 as inf, which no row the runner writes has."""
    import polars as pl

    floats = [name for name, kind in VERDICT_COLUMNS.items() if kind == "float"]
    bad = pl.any_horizontal(
        *[pl.col(k).is_null() for k in KEY_COLUMNS],
        ~pl.col("status").is_in(list(VERDICT_STATUSES)) | pl.col("status").is_null(),
        *[pl.col(name).is_infinite().fill_null(False) for name in floats],
    )
    return not frame.select(bad.any()).item()


def _parse_parts(log: Path, parts_dir: Path) -> list[Path]:
    """The log as Parquet parts, a chunk at a time; ValueError when a chunk holds a damaged line."""
    import polars as pl

    schema = polars_schema()
    parts: list[Path] = []
    if log.exists():
        with log.open("rb") as fh:
            while chunk := fh.read(COMPACT_CHUNK_BYTES):
                chunk += fh.readline()  # end on a line boundary
                try:
                    frame = pl.read_ndjson(io.BytesIO(chunk), schema=schema)
                except Exception as exc:  # polars raises several types for a line it cannot read
                    raise ValueError(str(exc)) from None
                if not _whole_rows(frame):
                    raise ValueError("a line is not a whole verdict row")
                part = parts_dir / f"{len(parts):06d}.parquet"
                frame.write_parquet(part)
                parts.append(part)
    return parts


def compact(run_dir: Path) -> LogRepair:
    """Write verdicts.parquet from the log: one row per key (the last one wins), sorted. Returns
    what checking the log did (a torn tail cut, damaged lines set aside before parsing).

    Memory stays near the size of the compacted table, not several times the log: the log is
    parsed a chunk at a time into temporary Parquet parts, and the de-duplication (which costs
    about as much memory again) runs only when a key really repeats (resumed or retried runs).
    The log is read line by line in Python only when polars finds a damaged line in it.
    """
    import shutil

    import polars as pl

    log = run_dir / VERDICTS_LOG
    torn = cut_torn_tail(log)  # so parsing sees whole lines only
    repair = LogRepair(log, torn_bytes=torn)
    keys = list(KEY_COLUMNS)
    parts_dir = run_dir / f".compact.{os.getpid()}"
    parts_dir.mkdir(exist_ok=True)
    try:
        try:
            parts = _parse_parts(log, parts_dir)
        except ValueError:
            repair = repair_log(log)  # set the damaged lines aside, then parse again
            repair.torn_bytes = torn
            parts = _parse_parts(log, parts_dir)
        frame = pl.scan_parquet(parts) if parts else pl.LazyFrame(schema=polars_schema())
        repeated = frame.select(keys).collect().is_duplicated().any()
        if repeated:
            frame = frame.unique(subset=keys, keep="last", maintain_order=True)
        target = run_dir / VERDICTS_PARQUET
        tmp = target.with_name(f".{target.name}.tmp")
        frame.sort(keys).sink_parquet(tmp)
        os.replace(tmp, target)
    finally:
        shutil.rmtree(parts_dir, ignore_errors=True)
    return repair


def load_verdicts(run_dir: Path, columns: list[str] | None = None) -> Any:
    """The run's verdicts as a polars DataFrame (judge.store.reader.read_verdicts: schema checked)."""
    from judge.store.reader import read_verdicts

    return read_verdicts(run_dir, columns)


def prepare_run_dir(path: Path) -> None:
    """Create a fresh run directory; refuse one that already holds a run (use --resume), one with no
    name to be the run id (``--run-dir ''`` is the current folder), or one that cannot be made."""
    if path.name in ("", ".", ".."):
        raise RunDirError(
            f"run directory '{path}' has no name of its own to serve as the run id; name a new folder "
            "(for example runs/my-run)"
        )
    if path.exists() and not path.is_dir():
        raise RunDirError(f"{path}: exists and is not a directory; choose another --run-dir")
    blocker = next((a for a in path.parents if a.exists()), None)
    if blocker is not None and not blocker.is_dir():
        raise RunDirError(f"{path}: cannot be made: {blocker} is a file; choose another --run-dir or --runs-dir")
    # A lone lock file is what a run killed before writing its manifest leaves: nothing to keep.
    if path.is_dir() and any(p.name != ".lock" for p in path.iterdir()):
        raise RunDirError(f"{path}: already holds files; choose a new --run-dir (or resume it with --resume {path})")
    try:
        path.mkdir(parents=True, exist_ok=True)
        probe = path / f".write-test.{os.getpid()}"
        try:
            probe.write_bytes(b"")  # a read-only mount can still list and stat: find out now, not mid-run
        finally:
            probe.unlink(missing_ok=True)
    except OSError as exc:
        raise RunDirError(
            f"{path}: cannot create the run directory ({exc.strerror or exc}); choose another --run-dir or --runs-dir"
        ) from None
