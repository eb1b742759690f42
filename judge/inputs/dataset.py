"""Datasets of model outputs to judge: JSONL, a JSON array, CSV, Parquet or an Inspect AI eval log,
one row per judged output.

Required fields: ``id``, ``task``, ``source``, ``response``. Optional: ``model`` (model under test),
``reference``, ``dimension``, ``source_id``, gold labels ``gold_<mechanism>`` (0-4) and
``gold_<mechanism>__<annotator>``, amplification labels ``amplification_<mechanism>`` and
``amplification_<mechanism>__<annotator>`` (0-4; only for a known mechanism: any other column that
starts with ``amplification_`` stays metadata, as before); anything else is kept as metadata
(``Item.metadata``; a run stores it in its items table, and ``export`` writes it) and never sent to
a judge. A column mapping
(``judge.inputs.mapping``) renames columns as rows are read, for files with other column names.

Opening a dataset reads and validates its rows in one streaming pass, and a run parses the file
only that once: the validated items are kept (``Dataset.kept``) for everything after (prompt checks,
sampling, judging, the summary's item facts, the report's texts), unless their texts pass
``KEEP_CHARS``; a dataset that big is streamed again wherever its items are needed, a pass that is
small beside the calls a run of that size makes. With ``limit=N`` (``--limit N``) only the first N
rows are read and validated: the rest of the file is never parsed, so a problem there (a malformed
line, a duplicate id) is not reported; the hash still covers the whole file.
``open_rows`` does the same for rows held in memory (a list of dicts, a polars DataFrame): they are
serialised once to JSONL bytes, validated like a file, and hashed like the file they make when a run
saves them (``Dataset.data``).
"""

from __future__ import annotations

import contextlib
import csv
import hashlib
import io
import json
import math
import re
import sys
import unicodedata
from collections import Counter
from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass, field
from itertools import islice
from pathlib import Path
from typing import Any

from judge.core import paths
from judge.core.errors import DatasetError, did_you_mean
from judge.core.hashing import content_hash, file_hash
from judge.core.mechanisms import mechanism_ids
from judge.core.taxonomy import DIMENSIONS, GOLD_PREFIXES, TASK_DIMENSIONS
from judge.inputs.mapping import apply_map

REQUIRED = ("id", "task", "source", "response")
TEXT_FIELDS = ("source", "response", "reference")
KNOWN = (*REQUIRED, "model", "reference", "dimension", "source_id")
DEFAULT_MAX_CHARS = 200_000
FORMATS = {
    ".jsonl": "jsonl", ".ndjson": "jsonl", ".json": "json", ".csv": "csv", ".parquet": "parquet", ".eval": "inspect",
}  # fmt: skip
ROWS = "<rows>"  # the path shown for in-memory rows
# A task reaches every prompt outside the fenced data blocks (``Task: {{ task }}``), so it is a
# short slug, never free text a row could use to speak to the judge.
TASK_SLUG = re.compile(r"[A-Za-z0-9][A-Za-z0-9_-]{0,39}")
# Validated items are kept in memory while their texts total at most this many characters (about
# 100 MB of items): every dataset of ordinary size is parsed once per run.
KEEP_CHARS = 32_000_000


@dataclass(slots=True)
class Item:
    id: str
    task: str
    dimension: str
    model: str
    source: str
    response: str
    reference: str | None = None
    source_id: str | None = None
    gold: dict[str, int | None] = field(default_factory=dict)
    metadata: dict[str, Any] = field(default_factory=dict)

    @property
    def content_hash(self) -> str:
        """Hash of exactly what a judge sees of this item."""
        return content_hash([self.task, self.dimension, self.source, self.reference, self.response])

    def record(self) -> dict[str, Any]:
        """The item as a row of a run's items table (judge/store/items.py): its fields, each gold
        column, and the metadata as one JSON text (null when there is none)."""
        meta = json.dumps(self.metadata, ensure_ascii=False, sort_keys=True, default=str) if self.metadata else None
        return {
            "item_id": self.id, "task": self.task, "dimension": self.dimension, "model": self.model,
            "source_id": self.source_id, "source": self.source, "reference": self.reference,
            "response": self.response, **self.gold, "meta": meta,
        }  # fmt: skip


@dataclass
class Dataset:
    path: Path
    format: str
    hash: str
    count: int
    tasks: Counter[str]
    models: Counter[str]
    gold_columns: tuple[str, ...]
    max_chars: int = DEFAULT_MAX_CHARS
    # In-memory rows as JSONL bytes (open_rows); None for a file. ``hash`` is their sha256, so a
    # run that writes them to a file records the hash that file has.
    data: bytes | None = field(default=None, repr=False)
    limit: int | None = None  # only the first ``limit`` rows were read (``count`` counts those)
    first: Item | None = field(default=None, repr=False)  # the first item, for checks before a run
    # The validated items, in file order; None when they were too big to keep (items() streams).
    kept: list[Item] | None = field(default=None, repr=False)
    mapping: Mapping[str, str] = field(default_factory=dict)  # column renames (judge.inputs.mapping)

    def items(self) -> Iterator[Item]:
        """The items to judge, in file order: the kept ones, or the file streamed again."""
        if self.kept is not None:
            return iter(self.kept)
        return self.stream()

    def stream(self) -> Iterator[Item]:
        """Parse the rows again (the first ``limit`` of them), validating each."""
        return self.parse(self.limit)

    def parse(self, limit: int | None) -> Iterator[Item]:
        """The file's first ``limit`` rows (every row with None) as items, validated."""
        for where, row in _limited(_rows(self.path, self.format, self.data, limit, self.max_chars), limit):
            yield _to_item(self.path, where, apply_map(row, self.mapping, self.path, where), self.max_chars,
                           self.mapping)

    def task_dimensions(self) -> Counter[tuple[str, str]]:
        """How many items of each (task, dimension) are judged: what decides the rubrics that apply."""
        return Counter((item.task, item.dimension) for item in self.items())


def dataset_format(path: Path) -> str:
    """The format a dataset file is read as, from its extension (``.json``: an array of rows, or
    an Inspect AI log when it holds one)."""
    fmt = FORMATS.get(path.suffix.lower())
    if fmt is None:
        raise DatasetError(
            f"{path}: unknown dataset format '{path.suffix}'; use .jsonl, .json (an array of rows), .csv, .parquet "
            f"or .eval (an Inspect AI log), or a bundled set's name: {', '.join(paths.BUNDLED_DATASETS)}"
        )
    if not path.is_file():
        raise DatasetError(f"{path}: dataset file not found; check the path given to --dataset")
    if fmt == "json":
        from judge.inputs.inspect_log import looks_like_inspect_json

        with path.open("rb") as fh:
            if looks_like_inspect_json(fh.read(4096)):
                return "inspect"
    return fmt


def raw_rows(path: Path) -> Iterator[tuple[str, dict[str, Any]]]:
    """A dataset file's rows as they are in the file (no mapping, no validation), with where each
    is: for tools that rewrite the file with columns added (``labels merge``)."""
    return _rows(path, dataset_format(path))


def open_dataset(
    path: Path,
    *,
    max_chars: int = DEFAULT_MAX_CHARS,
    limit: int | None = None,
    mapping: Mapping[str, str] | None = None,
) -> Dataset:
    """Validate ``path`` row by row (only the first ``limit`` rows when given); raise DatasetError
    naming the file, row and field. The hash is always the whole file's. ``mapping``: column
    renames, ``{"response": "output"}`` (judge.inputs.mapping)."""
    fmt = dataset_format(path)
    return _validate(path, fmt, None, max_chars, file_hash(str(path)), limit, dict(mapping or {}))


def open_rows(
    rows: Iterable[Mapping[str, Any]] | Any,
    *,
    max_chars: int = DEFAULT_MAX_CHARS,
    limit: int | None = None,
    mapping: Mapping[str, str] | None = None,
) -> Dataset:
    """Validate rows held in memory: an iterable of mappings, or a polars DataFrame. Errors name the
    row by its 0-based position, as for a Parquet file. Every row is kept (a run saves them all);
    with ``limit`` only the first ``limit`` are validated."""
    polars = sys.modules.get("polars")  # a DataFrame can only exist if polars is loaded
    if polars is not None and isinstance(rows, polars.DataFrame):
        rows = rows.iter_rows(named=True)
    elif isinstance(rows, str | bytes | Mapping) or not isinstance(rows, Iterable):
        raise DatasetError(
            f"dataset: got {type(rows).__name__}; give a file path, a list of row dicts or a polars DataFrame"
        )
    lines = []
    for index, row in enumerate(rows):
        if not isinstance(row, Mapping):
            raise DatasetError(f"{ROWS}: row {index}: expected a mapping of field names to values, got "
                               f"{type(row).__name__}")
        try:
            text = json.dumps(dict(row), ensure_ascii=False, default=str)
        except RecursionError:
            raise DatasetError(f"{ROWS}: row {index}: nested too deeply to save; flatten the row") from None
        lines.append(text.encode("utf-8", "surrogatepass") + b"\n")
    data = b"".join(lines)
    return _validate(Path(ROWS), "jsonl", data, max_chars, hashlib.sha256(data).hexdigest(), limit,
                     dict(mapping or {}))


def _limited(rows: Iterator[tuple[str, dict[str, Any]]], limit: int | None) -> Iterator[tuple[str, dict[str, Any]]]:
    return rows if limit is None else islice(rows, limit)


def item_chars(item: Item) -> int:
    """About how much text an item holds (what keeping it in memory costs)."""
    extra = sum(len(v) for v in item.metadata.values() if isinstance(v, str))
    return len(item.source) + len(item.response) + len(item.reference or "") + extra


class _Keeper:
    """Collects items while their texts total at most KEEP_CHARS; past that, none (``items`` None)."""

    def __init__(self) -> None:
        self.items: list[Item] | None = []
        self.chars = 0

    def add(self, item: Item) -> None:
        if self.items is None:
            return
        self.chars += item_chars(item)
        if self.chars > KEEP_CHARS:
            self.items = None
        else:
            self.items.append(item)


def keep_items(items: Iterable[Item]) -> list[Item] | None:
    """``items`` as a list, or None (after reading them all) when their texts pass KEEP_CHARS."""
    keeper = _Keeper()
    for item in items:
        keeper.add(item)
    return keeper.items


def _validate(path: Path, fmt: str, data: bytes | None, max_chars: int, digest: str, limit: int | None,
              mapping: dict[str, str]) -> Dataset:  # fmt: skip
    seen: dict[str, str] = {}
    tasks: Counter[str] = Counter()
    models: Counter[str] = Counter()
    gold: set[str] = set()
    keeper = _Keeper()  # too big to hold: items() streams the file instead
    first: Item | None = None
    first_ids: dict[str, str] = {}
    for where, row in _limited(_rows(path, fmt, data, limit, max_chars), limit):
        item = _to_item(path, where, apply_map(row, mapping, path, where), max_chars, mapping)
        key = id_key(item.id)
        if key in seen:
            if first_ids[key] == item.id:
                shown, same = f"'{item.id}'", ""
            else:  # they look alike: show the code points that differ
                shown = ascii(item.id)
                same = (f" as {first_ids[key]!a}; ids are compared after Unicode normalisation (NFC) "
                        "with invisible characters removed")
            raise DatasetError(
                f"{path}: {where}: duplicate id {shown} (first at {seen[key]}{same}); ids must be unique"
            )
        seen[key] = where
        first_ids[key] = item.id
        tasks[item.task] += 1
        models[item.model] += 1
        gold.update(item.gold)
        keeper.add(item)
        first = first or item
    if first is None:
        raise DatasetError(f"{path}: the dataset has no rows; add at least one item to judge")
    return Dataset(
        path=path,
        format=fmt,
        hash=digest,
        count=len(seen),
        tasks=tasks,
        models=models,
        gold_columns=tuple(sorted(gold)),
        max_chars=max_chars,
        data=data,
        limit=limit,
        first=first,
        kept=keeper.items,
        mapping=mapping,
    )


def id_key(item_id: str) -> str:
    """What two ids are compared by: "café" composed and decomposed, or "zw" with a zero-width
    space inside, look the same to a reader, so they are the same id (NFC, format characters
    such as U+200B and U+FEFF removed)."""
    text = unicodedata.normalize("NFC", item_id)
    return "".join(ch for ch in text if unicodedata.category(ch) != "Cf")


def _rows(
    path: Path, fmt: str, data: bytes | None = None, limit: int | None = None, max_chars: int = DEFAULT_MAX_CHARS
) -> Iterator[tuple[str, dict[str, Any]]]:
    """The rows of a dataset with where each is; ``limit`` lets a reader stop early (the caller
    still cuts the stream at ``limit`` rows)."""
    if data is not None:  # written by open_rows: one JSON object per line, always well formed
        for index, line in enumerate(data.splitlines()):
            yield f"row {index}", _loads(ROWS, f"row {index}", line.decode("utf-8"))
    elif fmt == "jsonl":
        yield from _jsonl_rows(path)
    elif fmt == "json":
        yield from _json_array_rows(path)
    elif fmt == "inspect":
        from judge.inputs.inspect_log import inspect_rows

        yield from inspect_rows(path)
    elif fmt == "csv":
        yield from _csv_rows(path, max_chars)
    else:
        yield from _parquet_rows(path, limit)


def _loads(path: Path | str, where: str, text: str) -> Any:
    """One JSON value, every way it can fail turned into a DatasetError naming the line."""
    try:
        return json.loads(text)
    except json.JSONDecodeError as exc:
        raise DatasetError(
            f"{path}: {where}, column {exc.colno}: malformed JSON ({exc.msg}); "
            "each line must be one complete JSON object"
        ) from None
    except RecursionError:
        raise DatasetError(f"{path}: {where}: JSON nested too deeply to read; flatten the row") from None
    except ValueError:  # an integer literal past Python's 4,300-digit conversion limit
        raise DatasetError(
            f"{path}: {where}: a number has more than 4,300 digits and cannot be read; shorten it or write it "
            "as a string"
        ) from None


def _jsonl_rows(path: Path) -> Iterator[tuple[str, dict[str, Any]]]:
    with path.open("rb") as fh:
        for lineno, raw in enumerate(fh, 1):
            where = f"line {lineno}"
            try:
                text = raw.decode("utf-8")
            except UnicodeDecodeError as exc:
                raise DatasetError(
                    f"{path}: {where}: not valid UTF-8 (byte {exc.start}: {raw[exc.start : exc.start + 1]!r}); "
                    "re-save the file as UTF-8"
                ) from None
            if lineno == 1 and text.startswith("\ufeff"):
                text = text[1:]  # a byte-order mark, as some editors save UTF-8 (accepted in CSV too)
            if not text.strip():
                continue
            row = _loads(path, where, text)
            if not isinstance(row, dict):
                raise DatasetError(f"{path}: {where}: expected a JSON object, got {type(row).__name__}")
            yield where, row


def _json_array_rows(path: Path) -> Iterator[tuple[str, dict[str, Any]]]:
    """A ``.json`` file holding one array of row objects (read whole: JSON has no line boundaries
    to stream on; use JSONL for very large files)."""
    try:
        rows = json.loads(path.read_bytes().decode("utf-8-sig"))
    except UnicodeDecodeError:
        raise DatasetError(f"{path}: not valid UTF-8; re-save the file as UTF-8") from None
    except json.JSONDecodeError as exc:
        raise DatasetError(f"{path}: line {exc.lineno}, column {exc.colno}: malformed JSON ({exc.msg})") from None
    except RecursionError:
        raise DatasetError(f"{path}: JSON nested too deeply to read; flatten the rows") from None
    except ValueError:  # an integer literal past Python's 4,300-digit conversion limit
        raise DatasetError(f"{path}: a number has more than 4,300 digits and cannot be read; shorten it") from None
    if not isinstance(rows, list):
        raise DatasetError(
            f"{path}: holds a JSON {type(rows).__name__}, not an array of rows; a .json dataset is one array of "
            "objects ([{\"id\": ...}, ...]); use .jsonl for one object per line"
        )
    for index, row in enumerate(rows):
        where = f"element [{index}]"
        if not isinstance(row, dict):
            raise DatasetError(f"{path}: {where}: expected a JSON object, got {type(row).__name__}")
        yield where, row


# The csv module's own cap on one field (131,072 characters) is below our text limit's default.
CSV_FIELD_LIMIT = 131_072


@contextlib.contextmanager
def _csv_field_limit(limit: int) -> Iterator[None]:
    previous = csv.field_size_limit()
    csv.field_size_limit(max(previous, limit))
    try:
        yield
    finally:
        csv.field_size_limit(previous)


def _csv_rows(path: Path, max_chars: int = DEFAULT_MAX_CHARS) -> Iterator[tuple[str, dict[str, Any]]]:
    data = path.read_bytes()
    try:
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        line = data.count(b"\n", 0, exc.start) + 1
        raise DatasetError(f"{path}: line {line}: not valid UTF-8; re-save the file as UTF-8") from None
    reader = csv.reader(io.StringIO(text, newline=""))
    # One past the text limit, so a text field just over it gets the message naming the field.
    with _csv_field_limit(max(CSV_FIELD_LIMIT, max_chars + 1)):
        try:
            header = next(reader, None)
            if header is None:
                return
            repeated = sorted({name for name in header if header.count(name) > 1})
            if repeated:
                raise DatasetError(
                    f"{path}: line 1: column '{repeated[0]}' appears more than once in the header; "
                    "give every column a distinct name"
                )
            for fields in reader:
                if not fields:
                    continue
                if len(fields) > len(header):
                    raise DatasetError(
                        f"{path}: line {reader.line_num}: more fields than the header has; "
                        "quote fields that contain commas"
                    )
                fields += [""] * (len(header) - len(fields))
                row = {k: (v if v != "" else None) for k, v in zip(header, fields, strict=True)}
                yield f"line {reader.line_num}", row
        except csv.Error as exc:
            raise DatasetError(
                f"{path}: line {reader.line_num}: unreadable CSV ({exc}); a field longer than "
                f"{max_chars:,} characters needs a higher --max-text-chars"
            ) from None


def _parquet_rows(path: Path, limit: int | None = None) -> Iterator[tuple[str, dict[str, Any]]]:
    import polars as pl

    try:
        frame = pl.read_parquet(path, n_rows=limit)
    except Exception as exc:  # polars raises several unrelated types for a bad file
        raise DatasetError(
            f"{path}: cannot read as Parquet ({exc.__class__.__name__}); is it a Parquet file?"
        ) from None
    for index, row in enumerate(frame.iter_rows(named=True)):
        yield f"row {index}", row


def _text(path: Path, where: str, row: dict[str, Any], name: str, max_chars: int) -> str | None:
    value = row.get(name)
    if value is None:
        return None
    if not isinstance(value, str):
        raise DatasetError(f"{path}: {where}: field '{name}' must be text, got {type(value).__name__}")
    if len(value) > max_chars:
        raise DatasetError(
            f"{path}: {where}: field '{name}' has {len(value):,} characters, over the limit of "
            f"{max_chars:,}; shorten it or raise --max-text-chars"
        )
    try:
        value.encode("utf-8")
    except UnicodeEncodeError as exc:
        raise DatasetError(
            f"{path}: {where}: field '{name}' holds an unpaired surrogate at character {exc.start}; "
            "fix the \\uXXXX escape in the file"
        ) from None
    return value


def _gold(path: Path, where: str, key: str, value: Any) -> int | None:
    """A gold label on the 0-4 scale: an integer (2, 2.0 or "2"); anything else is refused, never
    truncated (2.9 is not 2) or overflowed (inf)."""
    if value is None:
        return None
    label: int | None = None
    if isinstance(value, int) and not isinstance(value, bool):
        label = value
    elif isinstance(value, float) and math.isfinite(value) and value.is_integer():
        label = int(value)
    elif isinstance(value, str) and value.strip().isdecimal() and len(value.strip()) < 4:
        label = int(value.strip())
    if label is None or not 0 <= label <= 4:
        shown = repr(value) if len(repr(value)) <= 20 else repr(value)[:20] + "..."
        raise DatasetError(f"{path}: {where}: gold label '{key}' must be an integer 0-4 or empty, got {shown}")
    return label


def _to_item(path: Path, where: str, row: dict[str, Any], max_chars: int,
             mapping: Mapping[str, str] | None = None) -> Item:  # fmt: skip
    for name in REQUIRED:
        if row.get(name) is None:
            if name in row and not (mapping and name in mapping):
                raise DatasetError(
                    f"{path}: {where}: required field '{name}' is {'empty' if path.suffix == '.csv' else 'null'}; "
                    f"give it a value"
                )
            if mapping and name in mapping:
                raise DatasetError(
                    f"{path}: {where}: column '{mapping[name]}' (mapped to '{name}' by --map {name}={mapping[name]}) "
                    "is missing or empty"
                )
            hint = did_you_mean(name, [str(k) for k in row])
            fix = f"; every row needs {', '.join(REQUIRED)} (or map a column to it: --map {name}=COLUMN)"
            raise DatasetError(f"{path}: {where}: missing required field '{name}'{hint}{fix}")
    raw_id = row["id"]
    if isinstance(raw_id, bool) or not isinstance(raw_id, str | int):
        raise DatasetError(f"{path}: {where}: field 'id' must be a string or integer")
    item_id = str(raw_id).strip()
    if not item_id:
        raise DatasetError(f"{path}: {where}: field 'id' is empty")
    task = row["task"]
    if not isinstance(task, str) or not task.strip():
        raise DatasetError(f"{path}: {where}: field 'task' must be a non-empty string")
    if not TASK_SLUG.fullmatch(task):
        shown = task if len(task) <= 40 else task[:40] + "..."
        raise DatasetError(
            f"{path}: {where}: field 'task' must be a short name (letters, digits, '-' or '_', at most 40), "
            f"not '{shown}'; it is shown to the judge as is"
        )
    dimension = row.get("dimension") or TASK_DIMENSIONS.get(task)
    if dimension is None:
        hint = did_you_mean(task, TASK_DIMENSIONS)
        if hint:
            raise DatasetError(f"{path}: {where}: unknown task '{task}'{hint}")
        raise DatasetError(
            f"{path}: {where}: task '{task}' has no default dimension; add a 'dimension' field "
            f"({', '.join(DIMENSIONS)}) or use a known task ({', '.join(TASK_DIMENSIONS)})"
        )
    if dimension not in DIMENSIONS:
        raise DatasetError(
            f"{path}: {where}: unknown dimension '{dimension}'{did_you_mean(str(dimension), DIMENSIONS)}; "
            f"use one of {', '.join(DIMENSIONS)}"
        )
    source = _text(path, where, row, "source", max_chars)
    response = _text(path, where, row, "response", max_chars)
    if not source or not source.strip():
        raise DatasetError(f"{path}: {where}: field 'source' is empty; the judge needs the source to compare against")
    gold: dict[str, int | None] = {}
    metadata: dict[str, Any] = {}
    for key, value in row.items():
        if key in KNOWN:
            continue
        severity_prefix, amplification_prefix = GOLD_PREFIXES
        amplification = key.startswith(amplification_prefix) and (
            key.removeprefix(amplification_prefix).split("__", 1)[0] in mechanism_ids()
        )
        if amplification or (key.startswith(severity_prefix) and not key.startswith("gold_note_")):
            mechanism = key.removeprefix(amplification_prefix if amplification else severity_prefix).split("__", 1)[0]
            known = mechanism_ids()
            if mechanism not in known:
                raise DatasetError(
                    f"{path}: {where}: gold column '{key}' names unknown mechanism "
                    f"'{mechanism}'{did_you_mean(mechanism, known)}"
                )
            gold[key] = _gold(path, where, key, value)
        else:
            metadata[key] = value
    model = row.get("model")
    source_id = row.get("source_id")
    return Item(
        id=item_id,
        task=task,
        dimension=dimension,
        model=str(model) if model not in (None, "") else "unknown",
        source=source,
        response=response or "",
        reference=_text(path, where, row, "reference", max_chars) or None,
        source_id=str(source_id) if source_id is not None else None,
        gold=gold,
        metadata=metadata,
    )
