"""Gold labels as a file of their own, and merging them into a dataset's gold columns.

A **labels file** is JSON Lines (or CSV with the same columns), one label per line, appended as
labels are given: by ``empathy-judge annotate`` (judge/annotate/), or by any other labelling
process (a second person's spreadsheet, an AI labelling pass) that writes the same fields:

    item_id     the dataset row's id (after any --map), text
    mechanism   one of the mechanisms (sentiment_attenuation, ...)
    annotator   who or what labelled: letters, digits, '.', '-', '_' (no '__'); it names the
                column gold_<mechanism>__<annotator>
    label       the severity on the graded 0-4 scale, or null for "cannot judge"
    note        optional text
    amplification  optional: the opposite error's level 0-4 (two-sided rubrics, graded v3)
    plus anything else, kept in the file and ignored here (the annotation page writes ``rubric``,
    ``at``, ``origin``, ``seconds``, ``dataset``)

A JSONL line may instead hold one item's labels for several mechanisms (the form a labelling pass
over a whole item writes, as judge/data/labels/ does): ``id`` or ``item_id``, ``annotator``, and
per mechanism either a number (the label) or an object with ``severity`` (the label),
``amplification`` (the opposite error, 0-4, optional), ``abstain`` (a reason: the label is then
null, "cannot judge") and ``note``. Each mechanism present becomes one label.

A later line for the same item, mechanism and annotator replaces an earlier one (a corrected
label, or one given again after a resume); a null label clears it. ``merge_labels`` writes the
dataset with one column ``gold_<mechanism>__<annotator>`` per annotator and mechanism, plus
``gold_note_<mechanism>__<annotator>`` for notes and abstention reasons and
``amplification_<mechanism>__<annotator>`` for amplification levels (read back as gold columns
of their own: calibration's amplification scale), every other column and row kept as it was, so
the summary's calibration reports each annotator pair (kind "annotators": the inter-annotator ceiling) beside
the judges.
"""

from __future__ import annotations

import csv
import io
import json
import os
import re
from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from judge.core.errors import DatasetError, InputError, did_you_mean
from judge.core.mechanisms import mechanism_ids
from judge.inputs.dataset import dataset_format, raw_rows
from judge.inputs.mapping import apply_map

ANNOTATOR = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]*$")
WRITERS = {".jsonl": "jsonl", ".ndjson": "jsonl", ".json": "json", ".csv": "csv", ".parquet": "parquet"}


@dataclass(frozen=True)
class Label:
    item_id: str
    mechanism: str
    annotator: str
    label: int | None
    note: str | None = None
    amplification: int | None = None  # the opposite error, 0-4, when the labelling gave one

    @property
    def column(self) -> str:
        return f"gold_{self.mechanism}__{self.annotator}"


def check_annotator(name: str, where: str = "--annotator", error: type[InputError] = InputError) -> str:
    if not isinstance(name, str) or not ANNOTATOR.match(name) or "__" in name:
        raise error(
            f"{where}: annotator '{name}' must be letters, digits, '.', '-' or '_' (no '__'), starting with a "
            "letter or digit: it becomes part of the column name gold_<mechanism>__<annotator>"
        )
    return name


def _level(value: Any, where: str, field: str) -> int | None:
    """A 0-4 level (text digits allowed, as CSV gives them), or None for null or an empty cell."""
    if value is None or (isinstance(value, str) and value.strip() in ("", "null")):
        return None
    try:
        level = int(value)
    except (TypeError, ValueError):
        level = -1
    if isinstance(value, bool) or str(level) != str(value).strip() or not 0 <= level <= 4:
        raise DatasetError(f"{where}: {field} must be an integer 0-4 (or null: cannot judge), got {value!r}")
    return level


def parse_labels(data: Any, where: str) -> list[Label]:
    """One labels-file record as its labels: one (the one-label form) or one per mechanism present
    (the per-item form); DatasetError naming the place and the field."""
    if isinstance(data, dict) and "mechanism" not in data and any(m in data for m in mechanism_ids()):
        item_id = data.get("item_id", data.get("id"))
        out = []
        for mechanism in mechanism_ids():
            if mechanism not in data:
                continue
            value = data[mechanism]
            entry = value if isinstance(value, dict) else {"severity": value}
            abstain = entry.get("abstain")
            note = entry.get("note") or None
            if abstain:
                note = f"abstained: {abstain}" + (f"; {note}" if note else "")
            label = parse_label({"item_id": item_id, "mechanism": mechanism, "annotator": data.get("annotator"),
                                 "label": None if abstain else entry.get("severity"), "note": note},
                                f"{where}: {mechanism}")  # fmt: skip
            amplification = None if abstain else _level(entry.get("amplification"), f"{where}: {mechanism}",
                                                         "amplification")  # fmt: skip
            out.append(Label(label.item_id, mechanism, label.annotator, label.label, label.note, amplification))
        return out
    return [parse_label(data, where)]


def parse_label(data: Any, where: str) -> Label:
    """One labels-file record as a Label; DatasetError naming the place and the field."""
    if not isinstance(data, dict):
        raise DatasetError(f"{where}: expected an object with item_id, mechanism, annotator, label")
    for key in ("item_id", "mechanism", "annotator", "label"):
        if key not in data:
            raise DatasetError(f"{where}: missing field '{key}'{did_you_mean(key, [str(k) for k in data])}")
    item_id, mechanism = data["item_id"], data["mechanism"]
    if isinstance(item_id, bool) or not isinstance(item_id, str | int) or not str(item_id).strip():
        raise DatasetError(f"{where}: item_id must be a non-empty text or integer")
    if mechanism not in mechanism_ids():
        raise DatasetError(f"{where}: unknown mechanism '{mechanism}'{did_you_mean(str(mechanism), mechanism_ids())}")
    if not isinstance(data["annotator"], str):
        raise DatasetError(f"{where}: annotator must be text")
    annotator = check_annotator(data["annotator"], f"{where}: annotator", DatasetError)
    label = _level(data["label"], where, "label")
    amplification = _level(data.get("amplification"), where, "amplification")
    note = data.get("note")
    return Label(str(item_id).strip(), mechanism, annotator, label, note if isinstance(note, str) and note else None,
                 amplification)  # fmt: skip


def read_labels(path: Path) -> Iterator[Label]:
    """The labels of a JSONL or CSV labels file, in file order; a torn last line (a crash while
    writing) is skipped, any other bad line is an error naming it."""
    if not path.is_file():
        raise DatasetError(f"{path}: labels file not found")
    data = path.read_bytes()
    if path.suffix.lower() == ".csv":
        reader = csv.DictReader(io.StringIO(data.decode("utf-8-sig"), newline=""))
        for row in reader:
            yield parse_label({k: (v if v != "" else None) for k, v in row.items()}, f"{path}: line {reader.line_num}")
        return
    lines = data.split(b"\n")
    for number, raw in enumerate(lines, 1):
        if not raw.strip():
            continue
        try:
            record = json.loads(raw.decode("utf-8"))
        except (UnicodeDecodeError, json.JSONDecodeError):
            if number == len(lines) and not data.endswith(b"\n"):
                return  # torn by a crash mid-write: the label was never confirmed to anyone
            raise DatasetError(f"{path}: line {number}: not a JSON object; each line must be one label") from None
        yield from parse_labels(record, f"{path}: line {number}")


def latest(labels: Iterable[Label]) -> dict[tuple[str, str, str], Label]:
    """The last label per (item, mechanism, annotator), in first-seen order."""
    out: dict[tuple[str, str, str], Label] = {}
    for label in labels:
        out[(label.item_id, label.mechanism, label.annotator)] = label
    return out


def append_label(path: Path, record: Mapping[str, Any]) -> None:
    """Append one label as one line and make it durable (flush, fsync) before returning: a label
    confirmed to the annotator survives a killed server or a power cut. One write call per line
    in append mode, so several annotators' servers can share a file."""
    line = (json.dumps(dict(record), ensure_ascii=False, sort_keys=True) + "\n").encode("utf-8")
    fd = os.open(path, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o644)
    try:
        os.write(fd, line)
        os.fsync(fd)
    finally:
        os.close(fd)


def merge_labels(
    dataset: Path,
    labels: Iterable[Label],
    output: Path,
    *,
    mapping: Mapping[str, str] | None = None,
    replace: bool = False,
) -> dict[str, int]:
    """Write ``dataset`` to ``output`` with the labels as gold columns; returns labels per column.

    Refused (InputError, nothing written): a label for an id the dataset lacks; a column the
    dataset already has, unless ``replace`` (then it is rebuilt from the labels); an output whose
    extension names no format."""
    fmt = WRITERS.get(output.suffix.lower())
    if fmt is None:
        raise InputError(f"--output {output}: use a name ending in {', '.join(WRITERS)}")
    dataset_format(dataset)  # checks the file exists and is a known format
    rows = [row for _, row in raw_rows(dataset)]
    ids = [str(apply_map(row, mapping or {}, dataset, "").get("id", "")).strip() for row in rows]
    known = set(ids)
    final = [label for label in latest(labels).values()]
    unknown = sorted({label.item_id for label in final} - known)
    if unknown:
        shown = ", ".join(unknown[:5]) + (f" (and {len(unknown) - 5} more)" if len(unknown) > 5 else "")
        raise InputError(
            f"{dataset}: {len(unknown)} labelled item id(s) are not in the dataset: {shown}; merge into the dataset "
            "the labels were given on (with the same --map)"
        )
    columns: dict[str, dict[str, Any]] = {}
    for label in final:
        columns.setdefault(label.column, {})[label.item_id] = label.label
        if label.note:
            columns.setdefault(f"gold_note_{label.mechanism}__{label.annotator}", {})[label.item_id] = label.note
        if label.amplification is not None:
            columns.setdefault(f"amplification_{label.mechanism}__{label.annotator}", {})[label.item_id] = (
                label.amplification)
    existing = {key for row in rows for key in row}
    clash = sorted(existing & set(columns))
    if clash and not replace:
        raise InputError(
            f"{dataset}: already has column(s) {', '.join(clash)} (from an earlier merge?); merge into the original "
            "dataset, or give --replace to rebuild them from the labels"
        )
    for row, item_id in zip(rows, ids, strict=True):
        for column, values in columns.items():
            row[column] = values.get(item_id)
    _write_rows(rows, output, fmt)
    return {c: sum(v is not None for v in values.values()) for c, values in columns.items() if c.startswith("gold_")
            and not c.startswith("gold_note_")}  # fmt: skip


def _write_rows(rows: list[dict[str, Any]], output: Path, fmt: str) -> None:
    output.parent.mkdir(parents=True, exist_ok=True)
    tmp = output.with_name(f".{output.name}.{os.getpid()}.tmp")
    try:
        if fmt in ("jsonl", "json"):
            with tmp.open("w", encoding="utf-8") as fh:
                if fmt == "json":
                    json.dump(rows, fh, ensure_ascii=False, indent=1, default=str)
                else:
                    fh.writelines(json.dumps(r, ensure_ascii=False, default=str) + "\n" for r in rows)
        else:
            import polars as pl

            names = list(dict.fromkeys(k for r in rows for k in r))
            frame = pl.DataFrame([{k: r.get(k) for k in names} for r in rows], infer_schema_length=None)
            if fmt == "csv":
                frame.write_csv(tmp)
            else:
                frame.write_parquet(tmp)
        os.replace(tmp, output)
    finally:
        tmp.unlink(missing_ok=True)
