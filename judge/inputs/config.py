"""Run configuration: the judge panel and run options, from a YAML file and the command line.

Example ``judges.yaml``::

    judges:
      - model: openai/gpt-4o-mini
        api_key_env: OPENAI_API_KEY        # the variable's *name*; the key never enters a file
        params: {temperature: 0, max_tokens: 600}
        max_concurrency: 8
      - name: local-qwen
        model: openai/qwen2.5-7b-instruct
        api_base: http://localhost:8000/v1
        input_cost_per_token: 0
        output_cost_per_token: 0
    rubrics: [sa-graded, ca-paper@1]
    repeats: 1
    map: {response: output, source: prompt}   # dataset column renames, as --map
    max_error_share: 0.5                 # more errors than this from one judge: the run is degraded

Every key is checked; unknown ones are errors with a "did you mean" hint.

Judges are deterministic by default: ``temperature`` 0 unless ``params`` says otherwise, and a
``seed`` (0) for providers whose LiteLLM route takes one (``SEED_PROVIDERS``; repeat r of an
item sends seed + r, so repeats at a temperature above 0 stay separate draws). The defaults are
written into ``params``, so the manifest and the judge hash record them.
"""

from __future__ import annotations

import functools
import math
import os
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import yaml

from judge.core import paths
from judge.core.errors import ConfigError, did_you_mean
from judge.core.hashing import content_hash
from judge.core.taxonomy import RESPONSE_FORMAT_MODES
from judge.inputs.mapping import parse_map

# The panel a run gets when nothing names one: the two offline judges (judge/offline), which need
# no key and no network.
DEFAULT_JUDGES = ("offline/lexicon", "offline/structure")
RESPONSE_FORMATS = ("auto", *RESPONSE_FORMAT_MODES)
# Sampling defaults every judge gets unless its params say otherwise.
DEFAULT_PARAMS: dict[str, Any] = {"temperature": 0}
DEFAULT_SEED = 0
# Providers whose LiteLLM route accepts ``seed`` (litellm.get_supported_openai_params, LiteLLM
# 1.110.2; tests/test_config.py checks this against LiteLLM). Sending it elsewhere would be an
# error, since parameters are never dropped silently.
SEED_PROVIDERS = frozenset(
    {
        "openai", "azure", "hosted_vllm", "vllm", "ollama", "ollama_chat", "lm_studio", "gemini", "vertex_ai",
        "mistral", "groq", "deepseek", "together_ai", "openrouter", "fireworks_ai", "xai", "cohere", "cerebras",
        "huggingface",
    }
)
DEFAULT_TIMEOUT_S = 60.0
# A judge with errors on more than this share of its calls makes the run ``degraded``.
DEFAULT_MAX_ERROR_SHARE = 0.5
# A model server on this machine is usually CPU-bound: a cold first call of ~1,700 prompt tokens
# took 133 s on two busy cores (shared/notes/local-servers.md), so loopback servers get longer.
LOOPBACK_TIMEOUT_S = 300.0
_LOOPBACK_HOSTS = ("localhost", "127.0.0.1", "::1", "[::1]")
# Sampling parameters forwarded to the provider; anything else in `params` is refused so a typo
# cannot silently change nothing.
SAMPLING_PARAMS = (
    "temperature",
    "top_p",
    "max_tokens",
    "seed",
    "frequency_penalty",
    "presence_penalty",
    "stop",
    "reasoning_effort",
    "top_k",
)


# Resource bounds: a config is a small hand-written file, and everything in it is copied into
# every run's manifest and report. An alias-expansion bomb of 30 lines once made a 184 MB manifest.
MAX_CONFIG_BYTES = 1 << 20
MAX_ALIASES = 100
MAX_REPEATS = 1000
MAX_CONCURRENCY = 1024
MAX_ATTEMPTS = 100
MAX_BATCH_SIZE = 50_000  # OpenAI's limit on requests per batch file (Anthropic's is higher)
MAX_BATCH_POLL_S = 3600.0  # a batch completes within 24 h; polling less than hourly only delays the run
MAX_BATCH_RESUBMITS = 10
MAX_DEPLOYMENTS = 64  # api_bases of one judge
MAX_NAME_CHARS = 200
# Each sampling parameter's accepted type and range (the widest any provider documents).
MAX_STOP_SEQUENCES = 4
MAX_STOP_CHARS = 200
REASONING_EFFORTS = ("none", "minimal", "low", "medium", "high")
PARAM_RANGES: dict[str, tuple[bool, float, float]] = {  # name: (integer, minimum, maximum)
    "temperature": (False, 0.0, 2.0),
    "top_p": (False, 0.0, 1.0),
    "max_tokens": (True, 1, 1_000_000),
    "seed": (True, -(2**63), 2**63 - 1),
    "frequency_penalty": (False, -2.0, 2.0),
    "presence_penalty": (False, -2.0, 2.0),
    "top_k": (True, 1, 100_000),
}


@dataclass(frozen=True)
class JudgeConfig:
    model: str
    name: str = ""
    api_base: str | None = None
    api_key_env: str | None = None
    params: dict[str, Any] = field(default_factory=dict)
    timeout_s: float = DEFAULT_TIMEOUT_S
    max_concurrency: int = 8
    rpm: float | None = None
    tpm: float | None = None
    max_attempts: int = 6
    max_wait_s: float = 300.0
    input_cost_per_token: float | None = None
    output_cost_per_token: float | None = None
    # Prompt-cache and batch rates (LiteLLM's key names); unset ones fall back (judging/pricing.py).
    cache_read_input_token_cost: float | None = None
    cache_creation_input_token_cost: float | None = None
    input_cost_per_token_batches: float | None = None
    output_cost_per_token_batches: float | None = None
    response_format: str = "auto"
    # Send the judge's calls through the provider's batch API (judging/batching.py).
    batch: bool = False
    batch_size: int = 2000  # requests per batch file at most (the provider's own limit is higher)
    batch_poll_s: float = 30.0  # seconds between polls of a submitted batch
    batch_resubmits: int = 2  # times a failed or expired request is put into a new batch
    # Anthropic judges: mark the prompt's stable prefix for the provider's prompt cache.
    cache_control: bool = True
    # Several deployments of this one model (e.g. vLLM replicas), spread by LiteLLM's Router.
    api_bases: list[str] = field(default_factory=list)

    def __post_init__(self) -> None:
        # Deterministic unless the config says otherwise; written into params so the manifest
        # and the judge hash show what was sent.
        object.__setattr__(self, "params", {**default_params(self.provider), **self.params})

    @property
    def label(self) -> str:
        return self.name or self.model

    @property
    def provider(self) -> str:
        return self.model.split("/", 1)[0] if "/" in self.model else ""

    @functools.cached_property
    def hash(self) -> str:
        """What can change this judge's verdicts: model, sampling and output format.

        Endpoint, key, concurrency, timeouts, prices, batch mode, cache markers and deployments
        change how a verdict is fetched or billed, not what it says, so they stay out (a moved
        server keeps its cache). Computed once: every verdict row and every cache key carries it.
        """
        return content_hash({"model": self.model, "params": self.params, "response_format": self.response_format})

    def public(self) -> dict[str, Any]:
        """The config as recorded in the manifest: it holds env var *names*, never keys."""
        return asdict(self)


@dataclass
class RunConfig:
    judges: list[JudgeConfig]
    rubrics: list[str] = field(default_factory=list)
    dataset: Path | None = None
    repeats: int = 1
    runs_dir: Path | None = None
    source: Path | None = None  # the config file, when there is one
    map: dict[str, str] = field(default_factory=dict)  # dataset column renames (judge/inputs/mapping.py)
    # A judge with errors on more than this share of its calls makes the run ``degraded``.
    max_error_share: float | None = None


_JUDGE_KEYS = tuple(JudgeConfig.__dataclass_fields__)
_TOP_KEYS = ("judges", "rubrics", "dataset", "repeats", "runs_dir", "map", "max_error_share")


def default_params(provider: str) -> dict[str, Any]:
    """The sampling parameters a judge of ``provider`` gets unless its config sets them."""
    seed = {"seed": DEFAULT_SEED} if provider in SEED_PROVIDERS else {}
    return {**DEFAULT_PARAMS, **seed}


def effective_api_base(cfg: JudgeConfig) -> str | None:
    """Where the judge's calls go: its ``api_base``, or for ``openai/`` the standard variables
    LiteLLM reads (OPENAI_BASE_URL, OPENAI_API_BASE)."""
    if cfg.api_base:
        return cfg.api_base
    if cfg.provider == "openai":
        return os.environ.get("OPENAI_BASE_URL") or os.environ.get("OPENAI_API_BASE") or None
    return None


def is_loopback(url: str | None) -> bool:
    if not url:
        return False
    try:
        host = urlsplit(url).hostname or ""
    except ValueError:
        return False
    return host in _LOOPBACK_HOSTS or host.startswith("127.")


def check_api_base(url: str, where: str) -> None:
    """An api_base must be an HTTP(S) URL with a host; anything else fails before the run
    (LiteLLM would send it on and report each call as a retryable 500)."""
    try:
        parts = urlsplit(url)
        ok = parts.scheme in ("http", "https") and bool(parts.hostname)
    except ValueError:
        ok = False
    if not ok:
        raise ConfigError(
            f"{where}: {url!r} is not an HTTP(S) URL; give the server's address, "
            "such as http://localhost:8000/v1"
        )


def _where(path: Path | None, field_path: str) -> str:
    return f"{path}: {field_path}" if path else field_path


def _number(
    path: Path | None,
    fp: str,
    value: Any,
    *,
    integer: bool = False,
    minimum: float = 0,
    allow_zero: bool = False,
    maximum: float | None = None,
) -> Any:
    ok = isinstance(value, int if integer else int | float) and not isinstance(value, bool)
    ok = ok and math.isfinite(value) and (maximum is None or value <= maximum)
    if ok and (value > minimum or (allow_zero and value == minimum)):
        return value
    kind = "an integer" if integer else "a number"
    bound = f">= {minimum}" if allow_zero else f"> {minimum}"
    if maximum is not None:
        bound += f" and <= {maximum:,}"
    raise ConfigError(f"{_where(path, fp)}: {_shown(value)} must be {kind} {bound}")


def _shown(value: Any) -> str:
    text = repr(value)
    return text if len(text) <= 40 else text[:40] + "..."


def _check_params(path: Path | None, fp: str, params: dict[str, Any]) -> None:
    """Every sampling parameter type-checked and bounded: they are sent with every call and
    recorded in every manifest."""
    for key, value in params.items():
        if key in PARAM_RANGES:
            integer, low, high = PARAM_RANGES[key]
            _number(path, f"{fp}.{key}", value, integer=integer, minimum=low, allow_zero=True, maximum=high)
        elif key == "stop":
            stops = [value] if isinstance(value, str) else value
            ok = isinstance(stops, list) and 0 < len(stops) <= MAX_STOP_SEQUENCES
            if not ok or not all(isinstance(x, str) and 0 < len(x) <= MAX_STOP_CHARS for x in stops):
                raise ConfigError(
                    f"{_where(path, fp + '.stop')}: must be a string or a list of up to {MAX_STOP_SEQUENCES} "
                    f"non-empty strings of at most {MAX_STOP_CHARS} characters"
                )
        elif key == "reasoning_effort" and value not in REASONING_EFFORTS:
            raise ConfigError(
                f"{_where(path, fp + '.reasoning_effort')}: {_shown(value)} must be one of "
                f"{', '.join(REASONING_EFFORTS)}"
            )


def judge_from_dict(data: Any, *, path: Path | None = None, index: int = 0) -> JudgeConfig:
    fp = f"judges[{index}]"
    if isinstance(data, str):
        data = {"model": data}
    if not isinstance(data, dict):
        raise ConfigError(f"{_where(path, fp)}: each judge must be a mapping with at least 'model'")
    for key in data:
        if key not in _JUDGE_KEYS:
            raise ConfigError(f"{_where(path, fp)}: unknown key '{key}'{did_you_mean(str(key), _JUDGE_KEYS)}")
    model = data.get("model")
    if not isinstance(model, str) or not model.strip() or model != model.strip():
        raise ConfigError(f"{_where(path, fp + '.model')}: needs a model string such as 'openai/gpt-4o-mini'")
    params = data.get("params", {}) or {}
    if not isinstance(params, dict):
        raise ConfigError(f"{_where(path, fp + '.params')}: must be a mapping of sampling parameters")
    for key in params:
        if key not in SAMPLING_PARAMS:
            raise ConfigError(
                f"{_where(path, fp + '.params')}: unknown parameter '{key}'{did_you_mean(str(key), SAMPLING_PARAMS)}"
            )
    _check_params(path, fp + ".params", params)
    env = data.get("api_key_env")
    if env is not None and (not isinstance(env, str) or not env.replace("_", "").isalnum()):
        raise ConfigError(
            f"{_where(path, fp + '.api_key_env')}: must be the *name* of an environment variable, like OPENAI_API_KEY"
        )
    if isinstance(env, str) and env.startswith(("sk-", "sk_")):
        raise ConfigError(
            f"{_where(path, fp + '.api_key_env')}: looks like a key, not a variable name; "
            "put the key in an environment variable and name it here"
        )
    kwargs: dict[str, Any] = {"model": model, "params": dict(params)}
    for key in ("name", "api_base", "api_key_env"):
        if data.get(key) is not None:
            if not isinstance(data[key], str) or len(data[key]) > MAX_NAME_CHARS:
                raise ConfigError(
                    f"{_where(path, f'{fp}.{key}')}: must be a string of at most {MAX_NAME_CHARS} characters"
                )
            kwargs[key] = data[key]
    if "api_base" in kwargs:
        check_api_base(kwargs["api_base"], _where(path, f"{fp}.api_base"))
    for key in ("batch", "cache_control"):
        if data.get(key) is not None:
            if not isinstance(data[key], bool):
                raise ConfigError(f"{_where(path, f'{fp}.{key}')}: must be true or false")
            kwargs[key] = data[key]
    bases = data.get("api_bases")
    if bases:  # an empty list is "none", as the config records an unset one
        if (not isinstance(bases, list) or len(bases) > MAX_DEPLOYMENTS
                or not all(isinstance(b, str) and 0 < len(b) <= MAX_NAME_CHARS for b in bases)):
            raise ConfigError(f"{_where(path, fp + '.api_bases')}: must be a list of at most {MAX_DEPLOYMENTS} "
                              f"server URLs, each at most {MAX_NAME_CHARS} characters")
        if len(set(bases)) != len(bases):
            raise ConfigError(f"{_where(path, fp + '.api_bases')}: lists the same server twice")
        for index, base in enumerate(bases):
            check_api_base(base, _where(path, f"{fp}.api_bases[{index}]"))
        if data.get("api_base") is not None:
            raise ConfigError(
                f"{_where(path, fp)}: give either api_base (one server) or api_bases (several), not both"
            )
        kwargs["api_bases"] = list(bases)
    for key, integer, zero, maximum in (
        ("timeout_s", False, False, None),
        ("max_concurrency", True, False, MAX_CONCURRENCY),  # one worker task each
        ("rpm", False, False, None),
        ("tpm", False, False, None),
        ("max_attempts", True, False, MAX_ATTEMPTS),
        ("max_wait_s", False, True, None),
        ("input_cost_per_token", False, True, None),
        ("output_cost_per_token", False, True, None),
        ("cache_read_input_token_cost", False, True, None),
        ("cache_creation_input_token_cost", False, True, None),
        ("input_cost_per_token_batches", False, True, None),
        ("output_cost_per_token_batches", False, True, None),
        ("batch_size", True, False, MAX_BATCH_SIZE),
        ("batch_poll_s", False, False, MAX_BATCH_POLL_S),
        ("batch_resubmits", True, True, MAX_BATCH_RESUBMITS),
    ):
        if data.get(key) is not None:
            kwargs[key] = _number(path, f"{fp}.{key}", data[key], integer=integer, allow_zero=zero, maximum=maximum)
    fmt = data.get("response_format", "auto")
    if fmt not in RESPONSE_FORMATS:
        raise ConfigError(
            f"{_where(path, fp + '.response_format')}: '{fmt}' must be one of {', '.join(RESPONSE_FORMATS)}"
        )
    kwargs["response_format"] = fmt
    judge = JudgeConfig(**kwargs)
    if "timeout_s" not in kwargs and is_loopback(effective_api_base(judge)):
        judge = JudgeConfig(**{**kwargs, "timeout_s": LOOPBACK_TIMEOUT_S})
    return judge


def load_config(path: Path) -> RunConfig:
    """Parse a YAML run config; every error names the file and the field."""
    if not path.is_file():
        raise ConfigError(f"{path}: config file not found")
    if path.stat().st_size > MAX_CONFIG_BYTES:
        raise ConfigError(f"{path}: {path.stat().st_size:,} bytes, over the {MAX_CONFIG_BYTES:,} a run config may have")
    try:
        data = yaml.load(path.read_text(encoding="utf-8"), Loader=_BoundedLoader)  # a SafeLoader with an alias cap
    except UnicodeDecodeError:
        raise ConfigError(f"{path}: not valid UTF-8; save it as UTF-8") from None
    except _TooManyAliases:
        raise ConfigError(
            f"{path}: more than {MAX_ALIASES} YAML aliases (*name); write the values out instead"
        ) from None
    except RecursionError:
        raise ConfigError(f"{path}: nested too deeply to read") from None
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        where = f" line {mark.line + 1}:" if mark else ""
        raise ConfigError(f"{path}:{where} invalid YAML ({getattr(exc, 'problem', exc)})") from None
    if data is None:
        data = {}
    if not isinstance(data, dict):
        raise ConfigError(f"{path}: must be a YAML mapping with keys such as {', '.join(_TOP_KEYS)}")
    for key in data:
        if key not in _TOP_KEYS:
            raise ConfigError(f"{path}: unknown key '{key}'{did_you_mean(str(key), _TOP_KEYS)}")
    for key in ("judges", "rubrics"):
        # An empty list must not mean "everything": the offline panel, or all eight rubrics (8x the
        # calls with priced judges). Leave the key out for the default.
        if key in data and not data[key]:
            raise ConfigError(f"{path}: {key}: is empty; list at least one, or leave '{key}' out for the default")
    raw_judges = data.get("judges") or []
    if not isinstance(raw_judges, list):
        raise ConfigError(f"{path}: judges: must be a list of judges")
    judges = [judge_from_dict(j, path=path, index=i) for i, j in enumerate(raw_judges)]
    check_unique(judges, path)
    rubrics = data.get("rubrics") or []
    if not isinstance(rubrics, list) or not all(isinstance(r, str) for r in rubrics):
        raise ConfigError(f"{path}: rubrics: must be a list of rubric ids such as 'sa-graded@1'")
    repeats = _number(path, "repeats", data.get("repeats", 1), integer=True, maximum=MAX_REPEATS)
    dataset = data.get("dataset")
    runs_dir = data.get("runs_dir")
    mapping = data.get("map") or {}
    if not isinstance(mapping, dict):
        raise ConfigError(f"{path}: map: must be a mapping of dataset fields to columns, like {{response: output}}")
    share = data.get("max_error_share")
    if share is not None:
        check_error_share(share, f"{path}: max_error_share")
    for key, value in (("dataset", dataset), ("runs_dir", runs_dir)):
        if value is not None and (not isinstance(value, str) or not value.strip()):
            raise ConfigError(f"{path}: {key}: must be a path (a non-empty string)")
    base = path.parent
    return RunConfig(
        judges=judges,
        rubrics=list(rubrics),
        dataset=paths.dataset_path(dataset, base) if isinstance(dataset, str) else None,
        repeats=repeats,
        runs_dir=(base / runs_dir) if isinstance(runs_dir, str) else None,
        source=path,
        map=parse_map(mapping, where=f"{path}: map"),
        max_error_share=share,
    )


def check_error_share(value: Any, where: str) -> float:
    """A share of calls, from 0 to 1."""
    if isinstance(value, bool) or not isinstance(value, int | float) or not 0 <= value <= 1:
        raise ConfigError(f"{where}: {value!r} must be a number from 0 to 1 (the share of a judge's calls)")
    return float(value)


class _TooManyAliases(Exception):
    pass


class _BoundedLoader(yaml.SafeLoader):
    """PyYAML's safe loader with a cap on aliases, against alias-expansion bombs."""

    def __init__(self, stream: Any) -> None:
        super().__init__(stream)
        self._aliases = 0

    def compose_node(self, parent: Any, index: Any) -> Any:
        if self.check_event(yaml.AliasEvent):
            self._aliases += 1
            if self._aliases > MAX_ALIASES:
                raise _TooManyAliases
        return super().compose_node(parent, index)


def check_unique(judges: list[JudgeConfig], path: Path | None = None) -> None:
    labels = [j.label for j in judges]
    for label in labels:
        if labels.count(label) > 1:
            raise ConfigError(
                f"{_where(path, 'judges')}: judge '{label}' appears twice; give one of them a distinct 'name'"
            )


def resolve_judges(config: RunConfig | None, cli_models: list[str]) -> list[JudgeConfig]:
    """Judges for a run: configured ones named on the command line, CLI-only models as plain
    judges that use the provider's standard environment variables, or the offline panel."""
    configured = {j.label: j for j in (config.judges if config else [])}
    by_model = {j.model: j for j in configured.values()}
    if cli_models:
        judges: list[JudgeConfig] = []
        for model in cli_models:
            judge = configured.get(model) or by_model.get(model)
            judges.append(judge or judge_from_dict({"model": model}, index=len(judges)))
        check_unique(judges)
        return judges
    if configured:
        return list(configured.values())
    return [JudgeConfig(model=m) for m in DEFAULT_JUDGES]
