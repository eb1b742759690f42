"""A plan: what to judge, by whom, with which rubrics and how often, resolved and validated up front.

``Plan(...)`` takes keyword arguments (the Python API; the CLI builds one from its options) and
checks everything a run needs before anything is called or written: the config file, the judges,
the rubrics and their prompt templates (rendered once against the first item), the dataset (every
row in one streaming pass, or with ``limit`` and no sample only the first ``limit`` rows; the run
uses the items read here and parses the file no more) and the numeric options. A bad input raises
an InputError whose message names the file, row or option and the fix.

``Plan.resume(run_dir, **options)`` rebuilds the plan a run was started with from its manifest: an
option not given is restored, an option given must agree with the run's plan identity
(judge/engine/resume.py).
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Mapping, Sequence
from dataclasses import replace
from pathlib import Path
from typing import Any

from judge.core import paths
from judge.core.errors import ConfigError
from judge.core.records import CACHE_MODES, Manifest, PlanIdentity, PlanOptions, RubricKey
from judge.inputs.config import (
    DEFAULT_MAX_ERROR_SHARE,
    MAX_CONCURRENCY,
    MAX_REPEATS,
    JudgeConfig,
    RunConfig,
    check_error_share,
    check_unique,
    judge_from_dict,
    load_config,
    resolve_judges,
)
from judge.inputs.dataset import DEFAULT_MAX_CHARS, Dataset, Item, open_dataset, open_rows
from judge.inputs.mapping import parse_map
from judge.inputs.prompts import PromptLibrary
from judge.inputs.rubrics import Rubric, rubric_roots, select
from judge.inputs.sampling import sample_dataset, sample_info
from judge.inputs.sharding import parse_shard, shard_dataset, shard_label

DatasetArg = str | Path | Iterable[Mapping[str, Any]] | Any  # Any: a polars DataFrame
JudgeArg = str | JudgeConfig | Mapping[str, Any]
DATASET_FILE = "dataset.jsonl"  # in-memory rows are saved under this name in the run directory


def _positive(name: str, value: int | None, maximum: int | None = None) -> int | None:
    if value is not None and (isinstance(value, bool) or not isinstance(value, int) or value < 1):
        raise ConfigError(f"--{name}: {value} must be a positive integer")
    if value is not None and maximum is not None and value > maximum:
        raise ConfigError(f"--{name}: {value} is over the limit of {maximum:,}")
    return value


def _path(value: str | Path | None) -> Path | None:
    return None if value is None else Path(value)


def _absolute(value: str | Path | None) -> str | None:
    return None if value is None else str(Path(value).resolve())


class Plan:
    """Everything a run needs, resolved and validated. Build one, then ``judge.evaluate(plan)``.

    ``dataset``: a JSONL, JSON (array), CSV, Parquet or Inspect AI log path, a list of row dicts, or
    a polars DataFrame (default: the config's dataset, else the bundled sample set). ``map``: column
    renames, ``{"response": "output"}`` or ``"response=output,source=prompt"`` (default: the
    config's ``map``). ``judges``: model strings, configured
    judge names, ``JudgeConfig`` objects or judge mappings as in a config file (default: the
    config's judges, else the offline panel). ``rubrics``: ``id`` or ``id@version`` (default: the
    latest version of every rubric). ``cache``: "on" (default), "off" or "replay" (answer only
    from the cache; a miss fails the run). ``budget_usd``: a hard cap on this invocation's spend.
    ``max_error_share``: a judge with errors on more of its calls than this (default 0.5, or the
    config's), or with no ok verdict, makes the run ``degraded`` (exit code 5).
    ``batch``: send every LiteLLM judge's calls through its provider's batch API (a judge's config
    can also ask for it alone). ``shard``: ``"I/N"``, judge only the items of shard I of N
    (judge/inputs/sharding.py); each shard is a complete run, and ``empathy-judge merge`` joins them.

    >>> plan = Plan("outputs.jsonl", judges=["openai/gpt-4o-mini"], rubrics=["sa-graded"], sample=50, seed=1)
    """

    def __init__(
        self,
        dataset: DatasetArg = None,
        *,
        judges: Sequence[JudgeArg] | None = None,
        rubrics: Sequence[str] | None = None,
        repeats: int | None = None,
        limit: int | None = None,
        sample: int | None = None,
        seed: int | None = None,
        budget_usd: float | None = None,
        cache: str | None = None,
        cache_dir: str | Path | None = None,
        concurrency: int | None = None,
        config: str | Path | None = None,
        rubrics_dir: str | Path | None = None,
        prompts_dir: str | Path | None = None,
        max_text_chars: int | None = None,
        map: str | Sequence[str] | Mapping[str, str] | None = None,
        max_error_share: float | None = None,
        batch: bool | None = None,
        shard: str | None = None,
    ) -> None:
        self.config: RunConfig | None = load_config(Path(config)) if config is not None else None
        mapping = parse_map(map) if map is not None else dict(self.config.map if self.config else {})
        for name, given in (("judges", judges), ("rubrics", rubrics)):
            if given is not None and not isinstance(given, str | bytes | Mapping) and len(given) == 0:
                # An empty list would mean "everything" (the offline panel, every rubric).
                raise ConfigError(f"{name}: an empty list; name at least one, or leave it out (None) for the default")
        self.judges, self._judge_options = _judges(self.config, judges)
        concurrency = _positive("concurrency", concurrency, MAX_CONCURRENCY)
        if concurrency:
            self.judges = [replace(j, max_concurrency=concurrency) for j in self.judges]
        self.batch = bool(batch)
        self.judges = _with_batch(self.judges, self.batch)
        self.shard: tuple[int, int] | None = parse_shard(shard) if shard is not None else None
        self.repeats: int = _positive("repeats", repeats, MAX_REPEATS) or (self.config.repeats if self.config else 1)
        self.limit = _positive("limit", limit)
        max_chars = _positive("max-text-chars", max_text_chars) or DEFAULT_MAX_CHARS
        self.rubrics: list[Rubric] = select(
            rubric_roots(rubrics_dir), list(rubrics or (self.config.rubrics if self.config else []))
        )
        self.prompts = PromptLibrary(_path(prompts_dir) or paths.prompts_dir())
        # Read once, here: with a limit and no sample only the first rows are read at all; a sample
        # needs every id, and the limit then applies to the sample.
        self.dataset: Dataset = _dataset(dataset, self.config, max_chars, None if sample is not None else self.limit,
                                         mapping)
        if sample is not None:
            self.dataset = sample_dataset(self.dataset, sample, seed or 0, limit=self.limit)
        if self.shard is not None:
            self.dataset = shard_dataset(self.dataset, self.shard)
        if cache is not None and cache not in CACHE_MODES:
            raise ConfigError(f"cache: '{cache}' must be one of {', '.join(CACHE_MODES)}")
        self.cache: str = cache or "on"
        self.cache_dir = _path(cache_dir) if self.cache != "off" else None
        self.budget_usd = budget_usd
        share = max_error_share
        if share is None and self.config is not None:
            share = self.config.max_error_share
        self.max_error_share: float = (
            check_error_share(share, "max_error_share") if share is not None else DEFAULT_MAX_ERROR_SHARE
        )
        self.runs_dir: Path | None = self.config.runs_dir if self.config else None
        first = self.dataset.first
        assert first is not None  # an empty dataset is refused when opened
        for rubric in self.rubrics:
            self.prompts.first_call(rubric, first)  # surfaces template errors before the run starts
        self._options = PlanOptions(
            dataset=None if self.dataset.data is not None else _absolute(self.dataset.path),
            judges=self._judge_options,
            rubrics=[r.ref for r in self.rubrics],
            repeats=self.repeats,
            limit=self.limit,
            sample=sample,
            seed=(seed or 0) if sample is not None else None,
            cache=self.cache,
            cache_dir=_absolute(self.cache_dir),
            concurrency=concurrency,
            config=_absolute(config),
            rubrics_dir=_absolute(rubrics_dir),
            prompts_dir=_absolute(prompts_dir),
            max_text_chars=max_text_chars,
            map=mapping or None,
            max_error_share=max_error_share,
            batch=self.batch,
            shard=shard_label(self.shard),
        )
        # Set by Plan.resume: the run to finish, its manifest, and whether to redo errors.
        self.resume_dir: Path | None = None
        self.resumed: Manifest | None = None
        self.retry_errors = False
        self.given: frozenset[str] = frozenset()
        self.budget_inherited = False  # budget_usd taken from the resumed run's last cap

    @classmethod
    def resume(cls, run_dir: str | Path, *, retry_errors: bool = False, **options: Any) -> Plan:
        """The plan of the run in ``run_dir``, to finish it: options not given come from its
        manifest; one given that would change which calls are made, or how, is refused (ConfigError
        naming the option and both values). ``budget_usd`` and ``concurrency`` may change; a run that
        was capped keeps its last invocation's cap when ``budget_usd`` is not given."""
        from judge.engine.resume import resumed_plan

        return resumed_plan(cls, Path(run_dir), options, retry_errors=retry_errors)

    def cache_folder(self, run_dir: Path) -> Path | None:
        """The response cache folder of a run in ``run_dir``: None with the cache off; by default
        ``.cache`` beside the run directories, shared by every run there."""
        if self.cache == "off":
            return None
        return (self.cache_dir or run_dir.parent / ".cache").resolve()

    def options(self, run_dir: Path, dataset_path: Path | None = None) -> PlanOptions:
        """The options as the manifest records them (what --resume restores)."""
        folder = self.cache_folder(run_dir)
        return replace(
            self._options,
            dataset=_absolute(dataset_path) if dataset_path is not None else self._options.dataset,
            cache_dir=str(folder) if folder else None,
        )

    def identity(self, run_dir: Path) -> PlanIdentity:
        """Everything that decides which calls the run makes and how (the resume identity)."""
        sample = sample_info(self.dataset)
        folder = self.cache_folder(run_dir)
        return PlanIdentity(
            dataset=self.dataset.hash,
            sample=sample["n"] if sample else None,
            seed=sample["seed"] if sample else None,
            limit=self.limit,
            repeats=self.repeats,
            rubrics={r.ref: RubricKey(r.version, r.hash, self.prompts.prompt_hash(r)) for r in self.rubrics},
            judges={j.label: j.hash for j in self.judges},
            cache=self.cache,
            cache_dir=str(folder) if folder else None,
            map=dict(self.dataset.mapping) or None,
            shard=shard_label(self.shard),
        )

    def items(self) -> Iterator[Item]:
        """The items this run judges, in dataset order (after limit, sample and shard)."""
        return self.dataset.items()

    def __repr__(self) -> str:
        sample = sample_info(self.dataset)
        return (
            f"Plan(dataset={str(self.dataset.path)!r}, items={self.dataset.count}"
            + (f", sample={sample['n']}, seed={sample['seed']}" if sample else "")
            + f", judges={[j.label for j in self.judges]}, rubrics={[r.ref for r in self.rubrics]}, "
            f"repeats={self.repeats}, limit={self.limit}, cache={self.cache!r}"
            + (f", batch={self.batch}" if self.batch else "")
            + (f", shard={shard_label(self.shard)!r}" if self.shard else "")
            + ")"
        )


def _judges(config: RunConfig | None, given: Sequence[JudgeArg] | None) -> tuple[list[JudgeConfig], list[Any]]:
    """The panel, and how the manifest records it: a judge named by a string stays that string (so a
    resume re-reads the config file, and sees any edit), a judge given as a config is recorded
    whole (its public fields: environment variable names, never keys)."""
    if isinstance(given, str | bytes | Mapping):
        raise ConfigError("judges: give a list of model strings, judge names or judge configs")
    if not given:
        panel = resolve_judges(config, [])
        return panel, [j.label for j in panel]
    if all(isinstance(judge, str) for judge in given):
        return resolve_judges(config, list(given)), list(given)  # type: ignore[arg-type]
    judges: list[JudgeConfig] = []
    recorded: list[Any] = []
    for index, judge in enumerate(given):
        if isinstance(judge, str):
            (resolved,) = resolve_judges(config, [judge])
            recorded.append(judge)
        elif isinstance(judge, JudgeConfig):
            resolved = judge_from_dict(_public(judge), index=index)  # validates a hand-made config too
            recorded.append(_public(resolved))
        elif isinstance(judge, Mapping):
            resolved = judge_from_dict(dict(judge), index=index)
            recorded.append(_public(resolved))
        else:
            raise ConfigError(f"judges[{index}]: got {type(judge).__name__}; give a model string or a judge config")
        judges.append(resolved)
    check_unique(judges)
    return judges, recorded


def _with_batch(judges: list[JudgeConfig], everyone: bool) -> list[JudgeConfig]:
    """The panel with batch mode on for every judge that can batch (``everyone``: --batch), after
    checking that each judge asking for it can (judge/judging/batching.py says which can)."""
    from judge.judging.batching import batch_support

    out = []
    for judge in judges:
        problem = batch_support(judge)
        if judge.batch and problem is not None:
            raise ConfigError(f"judge '{judge.label}': batch: {problem}")
        if everyone and problem is None and not judge.batch:
            judge = replace(judge, batch=True)
        out.append(judge)
    if everyone and not any(j.batch for j in out):
        reasons = "; ".join(f"'{j.label}': {batch_support(j)}" for j in judges)
        raise ConfigError(f"--batch: no judge of this run can use a batch API ({reasons})")
    return out


def _public(judge: JudgeConfig) -> dict[str, Any]:
    """A judge config as a mapping judge_from_dict accepts: unset optional fields left out."""
    return {k: v for k, v in judge.public().items() if v is not None and not (k == "name" and v == "")}


def _dataset(
    given: DatasetArg, config: RunConfig | None, max_chars: int, limit: int | None, mapping: dict[str, str]
) -> Dataset:
    if given is None:
        given = (config.dataset if config else None) or paths.sample_dataset()
    if isinstance(given, str | Path):
        return open_dataset(Path(given), max_chars=max_chars, limit=limit, mapping=mapping)
    return open_rows(given, max_chars=max_chars, limit=limit, mapping=mapping)
