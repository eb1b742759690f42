"""``empathy-judge export``: a run as one flat table, one row per verdict, in CSV, JSONL, JSON or Parquet.

The table (``export_table``) is the verdict table joined with the run's items table on ``item_id``:

1. the verdict columns of docs/CONTRACTS.md, in their order, except ``verdict``;
2. ``verdict_<field>``: the parsed verdict's fields (but the rationale, a column already), one
   column each, nested objects flattened with ``_`` (``verdict_source_features_passive_share``);
   lists (evidence quotes, per-sentence counts) are JSON text, and so is a field whose values
   have mixed types;
3. ``source``, ``reference``, ``response``: the item's texts;
4. ``gold``: the row's own gold label (``gold_<mechanism>`` of its mechanism; null without one),
   then every gold column of the dataset (``gold_<mechanism>``, ``gold_<mechanism>__<annotator>``,
   and the amplification labels ``amplification_<mechanism>[__<annotator>]``);
5. ``meta_<key>``: the dataset's other columns, one each (nested values as JSON text).

So a spreadsheet, pandas, polars or DuckDB sees everything about a verdict in one row, with no
JSON to parse. The long verdict table itself stays lean (texts and metadata are stored once per
item, judge/store/items.py); the join happens here.

The output format follows the file's extension unless ``fmt`` names one; naming one that the
extension contradicts is an error (a file called x.parquet holding CSV helps nobody). In CSV, a
text cell that a spreadsheet would run as a formula (starting with =, +, -, @, tab or carriage
return) is prefixed with an apostrophe; the other formats keep every value exactly.
"""

from __future__ import annotations

import json
import os
from collections.abc import Iterable
from pathlib import Path
from typing import Any

from judge.core.errors import InputError
from judge.core.records import VERDICT_COLUMNS
from judge.core.taxonomy import GOLD_PREFIXES
from judge.store.items import TEXT_COLUMNS, read_items
from judge.store.reader import read_run
from judge.store.rundir import output_path

FORMATS = {".csv": "csv", ".jsonl": "jsonl", ".ndjson": "jsonl", ".json": "json", ".parquet": "parquet"}
NAMES = ("csv", "jsonl", "json", "parquet")


def output_format(output: Path | None, fmt: str | None) -> str:
    """The format to write: ``fmt`` when given (checked against the extension), else the
    extension's, else csv. InputError names the clash or the unknown extension."""
    if fmt is not None and fmt not in NAMES:
        raise InputError(f"--format {fmt}: unknown export format; use one of {', '.join(NAMES)}")
    if output is None or not output.suffix:
        return fmt or "csv"
    implied = FORMATS.get(output.suffix.lower())
    if implied is None:
        if fmt is None:
            raise InputError(
                f"--output {output}: cannot tell the format from '{output.suffix}'; use a name ending in "
                f"{', '.join(FORMATS)}, or give --format"
            )
        return fmt
    if fmt is not None and fmt != implied:
        raise InputError(
            f"--output {output} names a {implied} file but --format is {fmt}; drop --format (the extension "
            f"decides) or name the file .{fmt}"
        )
    return implied


def _flatten(value: Any, prefix: str, out: dict[str, Any]) -> None:
    if isinstance(value, dict) and value:
        for key, inner in value.items():
            _flatten(inner, f"{prefix}_{key}", out)
    else:
        out[prefix] = value


def _kind(value: Any) -> str:
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "bool"
    if isinstance(value, int):
        return "int"
    if isinstance(value, float):
        return "float"
    if isinstance(value, str):
        return "str"
    return "json"


def _columns(records: list[dict[str, Any]]) -> dict[str, Any]:
    """Records of flat values as typed polars columns: numbers, booleans and text keep their type;
    lists, objects and columns of mixed types become JSON text."""
    import polars as pl

    names: dict[str, None] = {}
    for record in records:
        names.update(dict.fromkeys(record))
    out: dict[str, Any] = {}
    for name in names:
        values = [r.get(name) for r in records]
        kinds = {_kind(v) for v in values} - {"null"}
        if kinds <= {"int"}:
            out[name] = pl.Series(name, values, dtype=pl.Int64)
        elif kinds <= {"int", "float"}:
            out[name] = pl.Series(name, [None if v is None else float(v) for v in values], dtype=pl.Float64)
        elif kinds == {"bool"}:
            out[name] = pl.Series(name, values, dtype=pl.Boolean)
        elif kinds == {"str"}:
            out[name] = pl.Series(name, values, dtype=pl.String)
        else:
            text = [None if v is None else json.dumps(v, ensure_ascii=False, sort_keys=True) for v in values]
            out[name] = pl.Series(name, text, dtype=pl.String)
    return out


def _expanded(texts: Iterable[str | None], prefix: str, skip: tuple[str, ...] = ()) -> Any:
    """A column of JSON object texts as a frame of flattened, typed columns named ``prefix_<key>``
    (top-level keys in ``skip`` left out)."""
    import polars as pl

    records = []
    for text in texts:
        record: dict[str, Any] = {}
        if text:
            parsed = json.loads(text)
            if isinstance(parsed, dict):
                for key, value in parsed.items():
                    if key not in skip:
                        _flatten(value, f"{prefix}_{key}", record)
        records.append(record)
    columns = _columns(records)
    return pl.DataFrame(list(columns.values())) if columns else pl.DataFrame(height=len(records))


def export_table(run_dir: Path | str, items: Any = None) -> Any:
    """The run as one flat polars DataFrame, one row per verdict (see the module docstring).

    ``items``: the run's items table when the caller has it; by default it is read from the run
    directory. A run without one (written before format 3) gets the verdict columns and the
    flattened verdict fields only, unless the caller passes the items (the CLI rebuilds them from
    the dataset, when it is still there)."""
    import polars as pl

    run_dir = Path(run_dir)
    run = read_run(run_dir)
    verdicts = run.verdicts.select(list(VERDICT_COLUMNS))
    gold_columns = list(run.manifest.dataset.gold_columns)
    if items is None:
        items = read_items(run_dir, gold_columns)
    fields = _expanded(verdicts["verdict"].to_list(), "verdict", skip=("rationale",))  # a column already
    table = pl.concat([verdicts.drop("verdict"), fields], how="horizontal")
    if items is None:
        return table
    gold_columns = [c for c in items.columns if c.startswith(GOLD_PREFIXES)]
    meta = _expanded(items["meta"].to_list(), "meta")
    wanted = items.select("item_id", *[c for c in TEXT_COLUMNS if c in items.columns], *gold_columns)
    wanted = pl.concat([wanted, meta], how="horizontal")
    table = table.join(wanted, on="item_id", how="left", maintain_order="left")
    own = pl.lit(None, dtype=pl.Int64)
    for mechanism in table["mechanism"].unique().to_list():
        column = f"gold_{mechanism}"
        if column in table.columns:
            own = pl.when(pl.col("mechanism") == mechanism).then(pl.col(column)).otherwise(own)
    ordered = [c for c in table.columns if c not in (*gold_columns, *meta.columns)]
    return table.with_columns(own.cast(pl.Int64).alias("gold")).select(*ordered, "gold", *gold_columns, *meta.columns)


# A spreadsheet runs a cell that starts with one of these as a formula (CSV injection); judged
# texts, rationales and raw replies are model output, so they are quoted with a leading apostrophe,
# which spreadsheets show as text and hide.
FORMULA_START = r"^[=+\-@\t\r]"


def spreadsheet_safe(frame: Any) -> Any:
    """``frame`` with every text cell that a spreadsheet would run as a formula prefixed with '."""
    import polars as pl

    text = [name for name, dtype in frame.schema.items() if dtype == pl.String]
    return frame.with_columns(
        pl.when(pl.col(name).str.contains(FORMULA_START)).then("'" + pl.col(name)).otherwise(pl.col(name)).alias(name)
        for name in text
    )


def write_table(frame: Any, target: Path, fmt: str) -> None:
    """Write ``frame`` atomically in ``fmt`` (csv, jsonl, json or parquet); every way writing the
    file can fail (a folder in the way, a full disk) is one InputError."""
    output_path(target, "--output")
    tmp = target.with_name(f".{target.name}.{os.getpid()}.tmp")
    try:
        if fmt == "csv":
            spreadsheet_safe(frame).write_csv(tmp)
        elif fmt == "jsonl":
            frame.write_ndjson(tmp)
        elif fmt == "json":
            frame.write_json(tmp)
        else:
            frame.write_parquet(tmp)
        os.replace(tmp, target)
    except OSError as exc:
        raise InputError(f"--output {target}: cannot write ({exc.strerror or exc}); choose another path") from None
    finally:
        tmp.unlink(missing_ok=True)


def export_run(
    run_dir: Path, output: Path | None = None, fmt: str | None = None, *, verdicts_only: bool = False, items: Any = None
) -> tuple[Path, int, int]:
    """Write the run's export; returns the path written, its rows and its columns.
    ``verdicts_only``: the verdict table's own columns, as stored (the ``verdict`` JSON unflattened)."""
    fmt = output_format(output, fmt)
    target = output or run_dir / f"verdicts-export.{fmt}"
    frame = read_run(run_dir).verdicts.select(list(VERDICT_COLUMNS)) if verdicts_only else export_table(run_dir, items)
    write_table(frame, target, fmt)
    return target, frame.height, frame.width


def export_verdicts(run_dir: Path, fmt: str, output: Path | None = None) -> tuple[Path, int]:
    """The verdict table's own columns in ``fmt`` (the format before the flat export)."""
    path, rows, _ = export_run(run_dir, output, fmt, verdicts_only=True)
    return path, rows
