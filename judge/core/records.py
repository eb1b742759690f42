"""Typed run records: a verdict row, the manifest, the summary, and the run they make up.

These dataclasses are the one definition of what a run directory holds. The verdict table's
column list (``VERDICT_COLUMNS``) and its polars/Parquet schema (``verdict_schema()``) are derived
from ``VerdictRow``; ``Manifest.from_dict`` and ``Summary.from_dict`` check every field's type and
say which one is wrong. Reading a run directory, with upgrades of older formats, is
``judge.store.read_run``.

``FORMAT_VERSION`` (manifest.json and summary.json):
    1   the first versioned layout
    2   the manifest gains ``plan`` (the resume identity: everything that decides which calls are
        made and how, and its hash), and ``options`` holds the plan's keyword arguments, resolved
        (``judges``, ``rubrics``, ``cache``, ``cache_dir``, ...) instead of argparse names
    3   one run may hold several versions of one rubric: the verdict key (``KEY_COLUMNS``) gains
        ``rubric_version``; ``plan.rubrics`` is keyed by the rubric's ref (``id@version``); the
        summary's per-rubric rows carry ``rubric_version`` and ``agreement`` is keyed by ref
        and (the same version) ``options.map`` and ``plan.map``: the
        dataset's column mapping (None when the columns are read as named); the run directory may
        hold ``items.parquet`` (judge/store/items.py)
    4   verdicts gain ``response_format`` (the form the judge was asked to answer in); the manifest
        gains ``health`` (each judge's outcome: counts, working response format, healthy or why
        not) and a run can end ``degraded``; the summary repeats ``health``. Older verdict tables
        read with the column null (``ADDED_COLUMNS``).
    5   verdicts gain ``amplification`` (the opposite error of the severity, normalised to [0, 1])
        and ``evidence_found`` (the share of a verdict's quotes found in the texts), both null in
        older tables (``ADDED_COLUMNS``); the status ``abstained`` appears.
        (The same version) verdict columns ``cache_read_tokens``, ``cache_write_tokens`` (the
        provider's prompt cache), ``batch_id`` (the provider batch that answered) and
        ``deployment`` (which api_base answered), null in older tables; the plan identity gains
        ``shard`` (left out of the hash when None, so an unsharded plan hashes as before), the
        options ``batch`` and ``shard``, the manifest ``shards`` (a merged run's parts).
"""

from __future__ import annotations

import dataclasses
import types
import typing
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any, ClassVar, Union

from judge.core.hashing import content_hash
from judge.core.taxonomy import RUN_STATUSES

if TYPE_CHECKING:
    import polars as pl

FORMAT_VERSION = 5
TOOL = "empathy-judge"
# How a run uses the response cache: read and write it, ignore it, or answer only from it.
CACHE_MODES = ("on", "off", "replay")


class RecordError(ValueError):
    """A record field with the wrong type or value; the message names the field."""


# ---------------------------------------------------------------------------------------------
# The verdict row


@dataclass(slots=True)
class VerdictRow:
    """One verdict: item x rubric x judge x repeat (docs/CONTRACTS.md has each column's meaning).

    The runner fills one per unit of work and appends ``to_dict()`` to the verdict log; the field
    order is the column order of verdicts.parquet and of ``empathy-judge export``.
    """

    item_id: str
    task: str
    model: str
    source_id: str | None
    rubric_id: str
    rubric_version: int
    rubric_hash: str
    prompt_hash: str
    family: str
    mechanism: str
    dimension: str
    judge: str
    judge_hash: str
    repeat: int
    status: str | None = None
    score: float | None = None
    raw_score: float | None = None
    amplification: float | None = None
    evidence_found: float | None = None
    verdict: str | None = None
    raw_text: str | None = None
    rationale: str | None = None
    error: str | None = None
    attempts: int = 0
    latency_ms: float | None = None
    prompt_tokens: int | None = None
    completion_tokens: int | None = None
    cost_usd: float | None = None
    rescued_by: str | None = None
    cached: bool = False
    # How the judge was asked to answer (judge.core.taxonomy.RESPONSE_FORMAT_MODES); null for
    # judges that take none (offline) and in runs older than format 4.
    response_format: str | None = None
    finished_at: str | None = None
    cache_read_tokens: int | None = None
    cache_write_tokens: int | None = None
    batch_id: str | None = None
    deployment: str | None = None

    def to_dict(self) -> dict[str, Any]:
        return {name: getattr(self, name) for name in VERDICT_COLUMNS}


def _column_kind(annotation: str) -> str:
    kind = annotation.split("|")[0].strip()
    if kind not in ("str", "int", "float", "bool"):
        raise TypeError(f"VerdictRow: column type {annotation!r} has no Parquet type")
    return kind


# Column name -> "str" | "int" | "float" | "bool", in table order. Plain names, so importing this
# module does not import polars.
VERDICT_COLUMNS: dict[str, str] = {f.name: _column_kind(str(f.type)) for f in dataclasses.fields(VerdictRow)}
# Columns added after the first format, with the format that added them: a verdict table written
# before then lacks them, and reads with them null.
ADDED_COLUMNS: dict[str, int] = {
    "response_format": 4,
    "amplification": 5,
    "evidence_found": 5,
    "cache_read_tokens": 5,
    "cache_write_tokens": 5,
    "batch_id": 5,
    "deployment": 5,
}
# One row per key in verdicts.parquet (the log's last row for a key wins). The rubric version is
# part of the key: two versions of one rubric can share a run (rubric iteration) and stay apart.
KEY_COLUMNS = ("item_id", "rubric_id", "rubric_version", "judge", "repeat")


def rubric_ref(rubric_id: str, version: int) -> str:
    """How a rubric version is named everywhere: ``sa-graded@2``."""
    return f"{rubric_id}@{version}"


def verdict_schema() -> dict[str, pl.DataType]:
    """The verdict table's polars schema (also the Parquet file's)."""
    import polars as pl

    types_ = {"str": pl.String(), "int": pl.Int64(), "float": pl.Float64(), "bool": pl.Boolean()}
    return {name: types_[kind] for name, kind in VERDICT_COLUMNS.items()}


# ---------------------------------------------------------------------------------------------
# Checked records: from_dict validates every field against its annotation


def _describe(value: Any) -> str:
    text = repr(value)
    return f"{type(value).__name__} {text[:40]}{'...' if len(text) > 40 else ''}"


def _convert(value: Any, hint: Any, where: str) -> Any:
    """``value`` checked against the annotation ``hint``; nested records are built."""
    if hint is Any:
        return value
    origin = typing.get_origin(hint)
    if origin in (Union, types.UnionType):
        arms = typing.get_args(hint)
        if value is None and type(None) in arms:
            return None
        errors = []
        for arm in arms:
            if arm is type(None):
                continue
            try:
                return _convert(value, arm, where)
            except RecordError as exc:
                errors.append(str(exc))
        raise RecordError(errors[0] if len(errors) == 1 else f"{where}: unexpected {_describe(value)}")
    if origin is list:
        if not isinstance(value, list):
            raise RecordError(f"{where}: must be a list, got {_describe(value)}")
        (inner,) = typing.get_args(hint)
        return [_convert(v, inner, f"{where}[{i}]") for i, v in enumerate(value)]
    if origin is dict:
        if not isinstance(value, dict):
            raise RecordError(f"{where}: must be an object, got {_describe(value)}")
        _, inner = typing.get_args(hint)
        return {str(k): _convert(v, inner, f"{where}.{k}") for k, v in value.items()}
    if isinstance(hint, type) and issubclass(hint, Record):
        return hint.from_dict(value, where=where)
    if hint is bool:
        if not isinstance(value, bool):
            raise RecordError(f"{where}: must be true or false, got {_describe(value)}")
        return value
    if hint is int:
        if isinstance(value, bool) or not isinstance(value, int):
            raise RecordError(f"{where}: must be an integer, got {_describe(value)}")
        return value
    if hint is float:
        if isinstance(value, bool) or not isinstance(value, int | float):
            raise RecordError(f"{where}: must be a number, got {_describe(value)}")
        return float(value)
    if hint is str:
        if not isinstance(value, str):
            raise RecordError(f"{where}: must be a string, got {_describe(value)}")
        return value
    raise TypeError(f"no check for annotation {hint!r}")  # a programming error in a record


def _plain(value: Any) -> Any:
    if isinstance(value, Record):
        return value.to_dict()
    if isinstance(value, list):
        return [_plain(v) for v in value]
    if isinstance(value, dict):
        return {k: _plain(v) for k, v in value.items()}
    return value


class Record:
    """Base of the JSON records: ``from_dict`` checks types, ``to_dict`` gives plain JSON data.

    Keys a record does not declare are kept in ``extra`` (when it has one) and written back, so a
    reader never drops what a newer writer added.
    """

    _hints: ClassVar[dict[str, Any]]

    @classmethod
    def _fields(cls) -> dict[str, Any]:
        hints = cls.__dict__.get("_hints")
        if hints is None:
            hints = typing.get_type_hints(cls)
            hints = {f.name: hints[f.name] for f in dataclasses.fields(cls)}  # type: ignore[arg-type]
            cls._hints = hints
        return hints

    @classmethod
    def from_dict(cls, data: Any, *, where: str = "") -> typing.Self:
        name = where or cls.__name__
        if not isinstance(data, dict):
            raise RecordError(f"{name}: must be an object, got {_describe(data)}")
        kwargs: dict[str, Any] = {}
        fields = cls._fields()
        defaults = {f.name for f in dataclasses.fields(cls) if f.default is not dataclasses.MISSING  # type: ignore[arg-type]
                    or f.default_factory is not dataclasses.MISSING}
        for key, hint in fields.items():
            if key == "extra":
                continue
            if key not in data:
                if key in defaults:
                    continue
                raise RecordError(f"{_join(where, key)}: missing")
            kwargs[key] = _convert(data[key], hint, _join(where, key))
        if "extra" in fields:
            kwargs["extra"] = {k: v for k, v in data.items() if k not in fields}
        record = cls(**kwargs)
        record._check(where)
        return record

    def _check(self, where: str) -> None:
        """Checks beyond types (allowed values); raise RecordError."""

    def to_dict(self) -> dict[str, Any]:
        out = {f.name: _plain(getattr(self, f.name)) for f in dataclasses.fields(self) if f.name != "extra"}  # type: ignore[arg-type]
        out.update(getattr(self, "extra", None) or {})
        return out


def _join(where: str, key: str) -> str:
    return f"{where}.{key}" if where else key


# ---------------------------------------------------------------------------------------------
# The manifest


@dataclass
class DatasetInfo(Record):
    path: str
    hash: str
    format: str
    items: int
    gold_columns: list[str] = field(default_factory=list)


@dataclass
class RubricInfo(Record):
    id: str
    version: int
    hash: str
    mechanism: str
    family: str
    dimensions: list[str]
    prompt: str
    prompt_hash: str
    path: str

    @property
    def ref(self) -> str:
        return rubric_ref(self.id, self.version)


@dataclass
class JudgeInfo(Record):
    """A judge as recorded: its label, its hash and its whole config (env var names, never keys).

    On disk it is one flat object: the config's keys plus ``label`` and ``hash``."""

    label: str
    hash: str
    model: str
    config: dict[str, Any] = field(default_factory=dict)

    @classmethod
    def from_dict(cls, data: Any, *, where: str = "") -> typing.Self:
        if not isinstance(data, dict):
            raise RecordError(f"{where or 'judge'}: must be an object, got {_describe(data)}")
        for key in ("label", "hash", "model"):
            if not isinstance(data.get(key), str):
                raise RecordError(f"{_join(where, key)}: must be a string, got {_describe(data.get(key))}")
        config = {k: v for k, v in data.items() if k not in ("label", "hash")}
        return cls(label=data["label"], hash=data["hash"], model=data["model"], config=config)

    def to_dict(self) -> dict[str, Any]:
        return {**self.config, "model": self.model, "label": self.label, "hash": self.hash}


@dataclass
class SampleInfo(Record):
    n: int
    seed: int
    items: int


@dataclass
class ResumeInfo(Record):
    at: str
    argv: list[str] = field(default_factory=list)


@dataclass
class BudgetInfo(Record):
    """One invocation's spending cap and what it spent: ``spent_usd`` is what the replies it
    received cost; ``cancelled_usd`` the worst cases of calls cancelled in flight (Ctrl-C after the
    grace), which the provider may or may not have billed (the cap counted them as spent)."""

    cap_usd: float
    spent_usd: float
    calls: int
    exhausted: bool
    overshoot_usd: float = 0.0
    cancelled_usd: float = 0.0


@dataclass
class PlanOptions(Record):
    """The plan's keyword arguments as the run used them (paths absolute, rubric versions exact).

    ``--resume`` rebuilds the plan from these; an option given again must agree with them.
    ``judges`` holds model strings or configured judge names, or whole judge configs (objects) for
    judges given as configs through the Python API."""

    dataset: str | None = None
    judges: list[Any] = field(default_factory=list)
    rubrics: list[str] = field(default_factory=list)
    repeats: int | None = None
    limit: int | None = None
    sample: int | None = None
    seed: int | None = None
    cache: str = "on"
    cache_dir: str | None = None
    concurrency: int | None = None
    config: str | None = None
    rubrics_dir: str | None = None
    prompts_dir: str | None = None
    max_text_chars: int | None = None
    map: dict[str, str] | None = None  # dataset column renames, NEW -> OLD (judge/inputs/mapping.py)
    max_error_share: float | None = None
    batch: bool = False
    shard: str | None = None

    def _check(self, where: str) -> None:
        if self.cache not in CACHE_MODES:
            raise RecordError(f"{_join(where, 'cache')}: '{self.cache}' must be one of {', '.join(CACHE_MODES)}")


@dataclass
class RubricKey(Record):
    """What of a rubric decides its calls: the version, the rubric file's hash and its prompt's."""

    version: int
    hash: str
    prompt_hash: str


@dataclass
class PlanIdentity(Record):
    """Everything that decides which calls a run makes and how; resuming requires the same.

    ``dataset`` is the dataset's content hash, ``rubrics`` maps rubric ref (``id@version``) to its key, ``judges``
    maps judge label to the judge's hash, ``cache_dir`` is absolute (None with the cache off).
    Concurrency, budget and timeouts are not here: they change how fast or how far, not what."""

    dataset: str
    sample: int | None
    seed: int | None
    limit: int | None
    repeats: int
    rubrics: dict[str, RubricKey]
    judges: dict[str, str]
    cache: str
    cache_dir: str | None
    map: dict[str, str] | None = None  # how the dataset's columns are read (None: as named)
    shard: str | None = None  # "I/N": this run judges the items of shard I of N (1-based)

    # The fields, in the order a refusal lists them, with the option that sets each.
    OPTION_NAMES: ClassVar[dict[str, str]] = {
        "dataset": "dataset",
        "map": "map",
        "sample": "sample",
        "seed": "seed",
        "limit": "limit",
        "repeats": "repeats",
        "rubrics": "rubric",
        "judges": "judge",
        "cache": "cache",
        "cache_dir": "cache-dir",
        "shard": "shard",
    }

    @property
    def hash(self) -> str:
        return content_hash(self._fields_dict())

    def _fields_dict(self) -> dict[str, Any]:
        out = Record.to_dict(self)
        # An unsharded plan hashes as it did before shards existed, so its hash, and a merged
        # run's, equals that of the same plan run in one process.
        if out.get("shard") is None:
            out.pop("shard", None)
        return out

    @classmethod
    def from_dict(cls, data: Any, *, where: str = "") -> typing.Self:
        record = super().from_dict({k: v for k, v in data.items() if k != "hash"} if isinstance(data, dict) else data,
                                   where=where)
        stored = data.get("hash")
        if stored is not None and stored != record.hash:
            raise RecordError(f"{_join(where, 'hash')}: does not match the plan's fields (edited by hand?)")
        return record

    def to_dict(self) -> dict[str, Any]:
        out = self._fields_dict()
        out["hash"] = content_hash(out)
        return out

    def _check(self, where: str) -> None:
        if self.cache not in CACHE_MODES:
            raise RecordError(f"{_join(where, 'cache')}: '{self.cache}' must be one of {', '.join(CACHE_MODES)}")


@dataclass
class JudgeHealth(Record):
    """One judge's outcome in a run (judge/stats/health.py decides it).

    ``error_share`` is errors / replies asked for (ok + invalid + error), null when the judge made
    no call. A judge is unhealthy with no ok verdict at all, or an error share above the run's
    ``max_error_share``; ``problem`` then says which, and ``top_error`` is its most frequent error
    (or the reason it was stopped). ``response_format`` is the form it ended up answering in, and
    ``format_rejected`` the forms its server refused on the way (mode and error)."""

    judge: str
    ok: int
    invalid: int
    error: int
    skipped: int
    healthy: bool
    abstained: int = 0  # format 5; absent (0) in older manifests
    error_share: float | None = None
    problem: str | None = None
    top_error: str | None = None
    response_format: str | None = None
    format_rejected: list[dict[str, str]] = field(default_factory=list)


@dataclass
class ShardInfo(Record):
    """One part of a merged run (``empathy-judge merge``)."""

    shard: str
    run_id: str
    path: str
    status: str
    plan_hash: str


@dataclass
class RunHealth(Record):
    """Whether every judge of a run delivered: the run is ``degraded`` when one did not."""

    max_error_share: float
    judges: list[JudgeHealth] = field(default_factory=list)

    @property
    def unhealthy(self) -> list[JudgeHealth]:
        return [j for j in self.judges if not j.healthy]


@dataclass
class Manifest(Record):
    """manifest.json: what was run, with which inputs and options, and how it ended."""

    format_version: int
    run_id: str
    status: str
    started_at: str
    dataset: DatasetInfo
    rubrics: list[RubricInfo]
    judges: list[JudgeInfo]
    repeats: int
    plan: PlanIdentity
    options: PlanOptions | None = None  # None only in runs too old to resume
    tool: str = TOOL
    version: str = ""
    finished_at: str | None = None
    argv: list[str] = field(default_factory=list)
    config_file: str | None = None
    limit: int | None = None
    sample: SampleInfo | None = None
    resumed: list[ResumeInfo] = field(default_factory=list)
    budgets: list[BudgetInfo] = field(default_factory=list)
    failure: str | None = None
    health: RunHealth | None = None  # None until the run ends (and in runs older than format 4)
    shards: list[ShardInfo] = field(default_factory=list)  # non-empty: merged from these runs
    extra: dict[str, Any] = field(default_factory=dict)

    def _check(self, where: str) -> None:
        if self.status not in RUN_STATUSES:
            raise RecordError(f"{_join(where, 'status')}: '{self.status}' must be one of {', '.join(RUN_STATUSES)}")


# ---------------------------------------------------------------------------------------------
# The summary


@dataclass
class Summary(Record):
    """summary.json: the run's statistics (judge/stats/summary.py computes them; the README
    documents each key). Sections stay plain JSON data; the top level is checked."""

    format_version: int
    counts: dict[str, int]
    run_id: str | None = None
    status: str | None = None
    settings: dict[str, Any] = field(default_factory=dict)
    cost_usd: float | None = None  # None: some billed reply had no price (unknown, never $0)
    cost: dict[str, Any] = field(default_factory=dict)
    scores: list[dict[str, Any]] = field(default_factory=list)
    scores_by_model: list[dict[str, Any]] = field(default_factory=list)
    agreement: dict[str, dict[str, Any]] = field(default_factory=dict)
    calibration: list[dict[str, Any]] = field(default_factory=list)
    judges: list[dict[str, Any]] = field(default_factory=list)
    disagreement: list[dict[str, Any]] = field(default_factory=list)
    judge_cards: list[dict[str, Any]] = field(default_factory=list)
    paper_metrics: dict[str, Any] = field(default_factory=dict)
    invalid_rate: list[dict[str, Any]] = field(default_factory=list)
    health: dict[str, Any] | None = None
    extra: dict[str, Any] = field(default_factory=dict)


# ---------------------------------------------------------------------------------------------
# The run


class Run:
    """A run directory read back (``judge.store.read_run``) or just written (``judge.evaluate``).

    ``verdicts`` is the long-format verdict table (one row per item x rubric x judge x repeat,
    columns ``VERDICT_COLUMNS``); ``summary`` is None when the run ended before it was written.
    ``messages`` are the warnings and notes of the invocation that returned this run (not stored).
    ``verdicts`` may be given as a function that reads the table: it is then read from the run
    directory the first time it is asked for (``judge.evaluate`` does this, so a caller that only
    wants the summary, like the CLI, never loads the whole table).
    """

    def __init__(
        self,
        *,
        path: Path,
        manifest: Manifest,
        verdicts: pl.DataFrame | Callable[[], pl.DataFrame],
        summary: Summary | None,
        messages: list[str] | None = None,
    ) -> None:
        self.path = path
        self.manifest = manifest
        self.summary = summary
        self.messages: list[str] = messages if messages is not None else []
        self._verdicts = verdicts

    @property
    def verdicts(self) -> pl.DataFrame:
        if callable(self._verdicts):
            self._verdicts = self._verdicts()
        return self._verdicts

    def __repr__(self) -> str:
        return f"Run(path={str(self.path)!r}, status={self.status!r})"

    @property
    def status(self) -> str:
        return self.manifest.status

    @property
    def run_id(self) -> str:
        return self.manifest.run_id
