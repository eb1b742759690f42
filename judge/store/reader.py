"""Reading a run directory back as typed records: ``read_run(path) -> Run``.

Every reader of a run (resume, report, compare, movement, export, the Python API) comes through
here, so a damaged or foreign directory fails the same way everywhere: one RunDirError naming the
file, what is wrong with it, and the fix. Runs written in an older format are upgraded in memory by
the named steps of judge/store/upgrades.py; nothing on disk is rewritten.
"""

from __future__ import annotations

import io
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from judge.core.errors import RunDirError
from judge.core.records import (
    ADDED_COLUMNS,
    FORMAT_VERSION,
    KEY_COLUMNS,
    TOOL,
    VERDICT_COLUMNS,
    Manifest,
    RecordError,
    Run,
    Summary,
    verdict_schema,
)
from judge.store.rundir import MANIFEST, SUMMARY, VERDICTS_LOG, VERDICTS_PARQUET, read_json
from judge.store.upgrades import RawRun, upgrade


def _object(path: Path, what: str) -> dict[str, Any]:
    data = read_json(path)
    if not isinstance(data, dict):
        kind = {list: "array", str: "string", bool: "boolean", int: "number", float: "number"}.get(type(data), "null")
        raise RunDirError(
            f"{path}: holds a JSON {kind}, not {what} (an object); is {path.parent} an empathy-judge run directory?"
        )
    return data


def _version(path: Path, manifest: dict[str, Any]) -> int:
    tool = manifest.get("tool", TOOL)
    version = manifest.get("format_version")
    if tool != TOOL or not isinstance(version, int) or isinstance(version, bool):
        raise RunDirError(
            f"{path}: not an empathy-judge manifest (tool {tool!r}, format_version {version!r}); "
            f"is {path.parent} an empathy-judge run directory?"
        )
    if version > FORMAT_VERSION:
        raise RunDirError(
            f"{path}: written by a newer empathy-judge (run format {version}; this one reads up to "
            f"{FORMAT_VERSION}); upgrade empathy-judge to read it"
        )
    if version < 1:
        raise RunDirError(f"{path}: format_version {version} is not a run format; the file is damaged")
    return version


def _raw(run_dir: Path, *, summary: bool) -> RawRun:
    if not run_dir.is_dir():
        raise RunDirError(f"{run_dir}: no such run directory; check the path")
    manifest_path = run_dir / MANIFEST
    manifest = _object(manifest_path, "a run manifest")
    version = _version(manifest_path, manifest)
    summary_path = run_dir / SUMMARY
    summary_data = _object(summary_path, "a run summary") if summary and summary_path.exists() else None
    raw = RawRun(run_dir, manifest, summary_data)
    upgrade(raw, version)
    return raw


def _manifest(run_dir: Path, data: dict[str, Any]) -> Manifest:
    try:
        return Manifest.from_dict(data)
    except RecordError as exc:
        raise RunDirError(
            f"{run_dir / MANIFEST}: {exc}; the manifest is damaged or was not written by empathy-judge "
            f"(the verdicts themselves are in {VERDICTS_LOG})"
        ) from None


def read_manifest(run_dir: Path | str) -> Manifest:
    """The run's manifest alone (upgraded to the current format): cheap, no verdicts read."""
    run_dir = Path(run_dir)
    return _manifest(run_dir, _raw(run_dir, summary=False).manifest)


def read_run(path: Path | str, *, columns: Sequence[str] | None = None) -> Run:
    """The run directory at ``path``: manifest, verdicts (only ``columns`` when given), summary.

    Raises RunDirError, naming the file and the fix, for a missing, damaged or foreign directory.
    """
    run_dir = Path(path)
    raw = _raw(run_dir, summary=True)
    manifest = _manifest(run_dir, raw.manifest)
    summary = None
    if raw.summary is not None:
        try:
            summary = Summary.from_dict(raw.summary)
        except RecordError as exc:
            raise RunDirError(
                f"{run_dir / SUMMARY}: {exc}; the file is damaged: rebuild it with: "
                f"empathy-judge run --resume {run_dir}"
            ) from None
    return Run(path=run_dir, manifest=manifest, verdicts=read_verdicts(run_dir, columns), summary=summary)


def _names(names: list[str]) -> str:
    return ", ".join(names[:3]) + (f" (and {len(names) - 3} more)" if len(names) > 3 else "")


def _check_schema(path: Path, found: dict[str, Any]) -> None:
    expected = verdict_schema()
    problems = []
    missing = [name for name in expected if name not in found and name not in ADDED_COLUMNS]
    if missing:
        problems.append(f"missing column{'s' if len(missing) > 1 else ''} {_names(missing)}")
    problems += [
        f"column '{name}' is {found[name]}, expected {kind}"
        for name, kind in expected.items()
        if name in found and found[name] != kind
    ]
    unexpected = [name for name in found if name not in expected]
    if unexpected:
        problems.append(f"unexpected column{'s' if len(unexpected) > 1 else ''} {_names(unexpected)}")
    if problems:
        raise RunDirError(
            f"{path}: not an empathy-judge verdict table: {'; '.join(problems)}; delete it and rebuild it from "
            f"{VERDICTS_LOG} with: empathy-judge run --resume {path.parent}"
        )


# What the run's summary (and its health check) reads of the verdict table: every column but the
# judges' rationales, with the raw replies of verdicts that are not ok only (problem examples show
# them). On a real run these texts are most of the table's bytes.
SUMMARY_SKIPS = ("rationale",)


def read_summary_verdicts(run_dir: Path | str) -> Any:
    """The verdict table as the summary reads it (``SUMMARY_SKIPS`` left out, ``raw_text`` null
    where the status is ok), streamed from Parquet so the left-out texts are never held whole."""
    import polars as pl

    columns = [c for c in VERDICT_COLUMNS if c not in SUMMARY_SKIPS]
    parquet = Path(run_dir) / VERDICTS_PARQUET
    if parquet.exists():
        read_verdicts(run_dir, ())  # checks the table's schema, reading no rows
        if set(columns) <= set(pl.read_parquet_schema(parquet)):
            scan = pl.scan_parquet(parquet).select(columns).with_columns(_problem_replies())
            return scan.collect(engine="streaming")
    # A run that never compacted (the log), or a table from before a column was added.
    return read_verdicts(run_dir, columns).with_columns(_problem_replies())


def _problem_replies() -> Any:
    import polars as pl

    return pl.when(pl.col("status") != "ok").then(pl.col("raw_text")).alias("raw_text")


def read_verdicts(run_dir: Path | str, columns: Sequence[str] | None = None) -> Any:
    """The verdict table as a polars DataFrame: verdicts.parquet, or the log when the run never
    compacted (a crash) or its Parquet file is damaged or foreign (it is derived from the log, so
    the log rebuilds it: in memory here, on disk by the next resume). The schema is checked against
    the verdict record. Columns added after the first format (``ADDED_COLUMNS``) read as null from a
    table written before them."""
    run_dir = Path(run_dir)
    wanted = list(columns) if columns is not None else list(VERDICT_COLUMNS)
    unknown = [c for c in wanted if c not in VERDICT_COLUMNS]
    if unknown:
        raise ValueError(f"unknown verdict columns {unknown}; the columns are {list(VERDICT_COLUMNS)}")
    parquet = run_dir / VERDICTS_PARQUET
    log = run_dir / VERDICTS_LOG
    if parquet.exists():
        try:
            return _from_parquet(parquet, wanted)
        except RunDirError:
            if not (log.exists() and log.stat().st_size):
                raise
    if not log.exists():
        raise RunDirError(
            f"{run_dir}: no verdicts found ({VERDICTS_PARQUET} or {VERDICTS_LOG}); is it a run directory?"
        )
    return _from_log(log, wanted)


def _from_parquet(parquet: Path, wanted: list[str]) -> Any:
    import polars as pl

    try:
        found = dict(pl.read_parquet_schema(parquet))
    except Exception as exc:  # polars raises several unrelated types for a bad file
        raise RunDirError(
            f"{parquet}: cannot be read as Parquet ({type(exc).__name__}); delete it and rebuild it from "
            f"{VERDICTS_LOG} with: empathy-judge run --resume {parquet.parent}"
        ) from None
    _check_schema(parquet, found)
    if not wanted:
        return pl.DataFrame()
    try:
        # A table from before a column was added (ADDED_COLUMNS) reads with that column null.
        frame = pl.read_parquet(parquet, columns=[c for c in wanted if c in found])
    except Exception as exc:  # a footer that reads but pages that do not: truncated or damaged
        raise RunDirError(
            f"{parquet}: cannot be read as Parquet ({type(exc).__name__}); delete it and rebuild it from "
            f"{VERDICTS_LOG} with: empathy-judge run --resume {parquet.parent}"
        ) from None
    schema = verdict_schema()
    added = [pl.lit(None, dtype=schema[c]).alias(c) for c in wanted if c not in found]
    return frame.with_columns(added).select(wanted)


def _from_log(log: Path, wanted: list[str]) -> Any:
    import polars as pl

    if not log.stat().st_size:
        return pl.DataFrame(schema=verdict_schema()).select(wanted)
    data = log.read_bytes()
    data = data[: data.rfind(b"\n") + 1]  # a crash-torn last line is dropped, as on resume
    try:
        # Rows are parsed in Rust with the explicit schema, never as Python dicts: a 100,000-item
        # run has over a million rows.
        frame = pl.read_ndjson(io.BytesIO(data), schema=verdict_schema())
    except Exception as exc:
        raise RunDirError(
            f"{log}: a line does not match the verdict record ({type(exc).__name__}: {str(exc)[:200]}); "
            f"the log is damaged: resume the run to set damaged lines aside (empathy-judge run --resume {log.parent})"
        ) from None
    # As compaction does: one row per key, the log's last one (a resumed key has several rows).
    keys = list(KEY_COLUMNS)
    if frame.select(keys).is_duplicated().any():
        frame = frame.unique(subset=keys, keep="last", maintain_order=True)
    return frame.sort(keys).select(wanted)
