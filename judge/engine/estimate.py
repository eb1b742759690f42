"""``empathy-judge estimate``: calls and cost of a run, without calling any judge.

Every prompt of the plan is rendered and its tokens counted with LiteLLM's counter. Per call:

    prompt tokens     low = 0.9 x counted, expected = counted, high = the budget's worst case
                      (counted x PROMPT_MARGIN + per-message overhead)
    completion tokens from past verdicts of the same rubric in --runs-dir when there are any
                      (low = smallest seen, expected = mean, high = the completion cap); else
                      from the rubric's schema (low = a minimal instance, expected = a typical
                      one, high = the completion cap: max_tokens, or DEFAULT_MAX_TOKENS)
    calls             expected = units - expected cache hits + expected re-asks (past invalid
                      rate x max_reasks for rubrics with on_invalid: reask); low = units - hits;
                      high = (units - hits) x (1 + max_reasks)

A unit is one verdict row; it makes one call, or for a per-sentence rubric (``calls:
per_sentence``) one call per numbered sentence, each counted (and probed in the cache) on its own,
with completion sizes from the sentence schema. Rubrics that do not apply to an item make no call.

A unit counts as an expected cache hit when the response cache (judge/cache.py; --cache-dir,
default <runs-dir>/.cache) holds its first-turn reply, under exactly the key a run would look up.
In a build without the cache, or when the cache folder does not exist, nothing hits. Retries that got no reply
body cost nothing and are not counted.
**Provider prompt caching.** A rubric's prompts share a stable prefix: for OpenAI-style judges (which
cache any repeated prefix by themselves) the longest prefix common to all of the rubric's rendered
prompts in this plan; for Anthropic judges the system message, where the ``cache_control``
breakpoint goes (none with ``cache_control: false``). When that prefix reaches the model's minimum
(``prompt_cache_min_tokens`` in LiteLLM's map: 1,024 tokens by default, 4,096 for
claude-haiku-4-5), low and expected assume every call of the rubric after the first reads it from
the provider's cache at the cache-read rate, and the first writes it (Anthropic: at the cache-write
rate). That is the best case: a provider cache lives minutes, so calls spread over a long batch
window may miss. ``high`` assumes no cache hit and every prompt token at the dearest input rate.

**Batch price.** ``batch_expected_usd`` and ``batch_high_usd`` price the same calls at the batch
rates (LiteLLM's ``*_batches`` keys; a model without them keeps its normal rates), for judges that
can batch (judging/batching.py); ``batch_high_usd`` is what ``--batch --budget-usd`` reserves.
"""

from __future__ import annotations

import importlib
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from judge.core.taxonomy import REPLIED_STATUSES
from judge.inputs.parts import sentence_parts, sentence_schema_hash
from judge.judging.pricing import (
    DEFAULT_MAX_TOKENS,
    count_prompt_tokens,
    effective_max_tokens,
    price_for,
    worst_prompt_tokens,
)

STRING_TOKENS = {"minimal": 1, "typical": 24}
ARRAY_ITEMS = {"minimal": 0, "typical": 2}


def instance_tokens(schema: dict[str, Any], kind: str) -> int:
    """A rough token count of a JSON reply to ``schema``: keys, punctuation and values."""

    def walk(node: Any) -> int:
        if not isinstance(node, dict):
            return 2
        kind_ = node.get("type")
        if isinstance(kind_, list):
            kind_ = next((k for k in kind_ if k != "null"), "string")
        if "enum" in node or "const" in node:
            return 2
        if kind_ == "object" or "properties" in node:
            props = node.get("properties") or {}
            keep = props if kind == "typical" else {k: props[k] for k in node.get("required", []) if k in props}
            return 2 + sum(3 + walk(v) for v in keep.values())
        if kind_ == "array":
            n = max(ARRAY_ITEMS[kind], int(node.get("minItems", 0)))
            return 2 + n * (1 + walk(node.get("items") or {}))
        if kind_ == "string":
            return 2 + STRING_TOKENS[kind]
        return 2

    return walk(schema)


MONEY = ("low_usd", "expected_usd", "high_usd", "batch_expected_usd", "batch_high_usd")


@dataclass
class Tally:
    units: int = 0
    cache_hits: int = 0
    calls_low: int = 0
    calls: float = 0.0
    calls_high: int = 0
    prompt_tokens: int = 0
    prompt_cached_tokens: float = 0.0  # expected prompt tokens read from the provider's prompt cache
    low_usd: float = 0.0
    expected_usd: float = 0.0
    high_usd: float = 0.0
    batch_expected_usd: float = 0.0
    batch_high_usd: float = 0.0
    batchable: bool = True
    priced: bool = True
    sources: set[str] = field(default_factory=set)
    prompt_cache: dict[str, Any] = field(default_factory=dict)  # rubric -> {prefix_tokens, min_tokens, cached}

    def public(self) -> dict[str, Any]:
        money = {k: (round(getattr(self, k), 8) if self.priced else None) for k in MONEY}
        if not self.batchable:
            money["batch_expected_usd"] = money["batch_high_usd"] = None
        return {"units": self.units, "cache_hits": self.cache_hits, "calls": round(self.calls, 2),
                "calls_low": self.calls_low, "calls_high": self.calls_high, "prompt_tokens": self.prompt_tokens,
                "prompt_cached_tokens": round(self.prompt_cached_tokens), **money, "priced": self.priced,
                "batchable": self.batchable, "completion_from": sorted(self.sources),
                "prompt_cache": self.prompt_cache}


@dataclass
class _Group:
    """The calls of one judge x rubric, summed, to price with the rubric's prompt-cache prefix."""

    calls_low: int = 0
    prompt_low: float = 0.0
    completion_low: float = 0.0
    calls: float = 0.0
    prompt: float = 0.0
    completion: float = 0.0


def _common_prefix(a: str | None, b: str) -> str:
    if a is None:
        return b
    n = 0
    for x, y in zip(a, b, strict=False):
        if x != y:
            break
        n += 1
    return a[:n]


def _flat(messages: list[dict[str, str]]) -> str:
    return "".join(f"{m['role']}\n{m['content']}\n" for m in messages)


def cache_min_tokens(judge: Any) -> int | None:
    """The smallest prefix the judge's provider caches, or None when none is cached (or priced)."""
    from judge.judging.litellm_client import bootstrap_litellm
    from judge.judging.prompt_cache import wants_marker

    if judge.provider == "anthropic" and not wants_marker(judge.provider, judge.cache_control):
        return None
    if judge.provider not in ("openai", "anthropic"):
        return None
    name = judge.model.split("/", 1)[1]
    try:
        return int(bootstrap_litellm().utils.get_prompt_cache_min_tokens(name))
    except Exception:  # the pinned helper moved: the provider's documented default
        return 1024


def _history(runs_dir: Path) -> Any:
    """Past verdict rows (only the columns we need) from every run under ``runs_dir``."""
    import polars as pl

    from judge.core.errors import RunDirError
    from judge.store.reader import read_verdicts

    frames = []
    cols = ["item_id", "rubric_id", "rubric_hash", "prompt_hash", "judge", "judge_hash", "repeat", "status",
            "completion_tokens", "rescued_by"]
    if runs_dir.is_dir():
        for parquet in sorted(runs_dir.glob("*/verdicts.parquet")):
            try:
                frames.append(read_verdicts(parquet.parent, cols))
            except RunDirError:  # a damaged or foreign table: history is optional
                continue
    if not frames:
        return None
    return pl.concat(frames, how="vertical_relaxed")


def _cache_probe(cache_dir: Path) -> Callable[[str, Any, list[dict[str, str]]], bool] | None:
    """Whether the response cache (judge/cache.py) holds a call's reply, under the key a run uses;
    None when nothing can hit.

    Imported by name so this module works in a build without the cache, where nothing can hit."""
    try:
        cache_mod = importlib.import_module("judge.judging.cache")
    except ImportError:
        return None
    if not cache_dir.is_dir():
        return None
    cache = cache_mod.ResponseCache(cache_dir)
    key = cache_mod.cache_key
    return lambda judge_hash, context, messages: cache.get(key(judge_hash, context, messages)) is not None


def estimate(plan: Any, runs_dir: Path, cache_dir: Path | None = None) -> dict[str, Any]:
    import polars as pl

    from judge.core.hashing import content_hash
    from judge.judging.batching import batch_support
    from judge.judging.protocol import CallContext

    history = _history(runs_dir)
    probe = _cache_probe(cache_dir or runs_dir / ".cache")
    completion: dict[str, tuple[float, float]] = {}  # rubric_id -> (min, mean) completion tokens
    invalid_rate: dict[str, float] = {}
    if history is not None:
        done = history.filter(pl.col("status").is_in(REPLIED_STATUSES))
        # Per-call completion tokens: a row's tokens add its re-asks, so only unrescued rows are used.
        single = done.filter(pl.col("rescued_by").is_null() & pl.col("completion_tokens").is_not_null())
        for rid, lo, mean in single.group_by("rubric_id").agg(
            pl.col("completion_tokens").min(), pl.col("completion_tokens").mean().alias("mean")
        ).iter_rows():
            completion[rid] = (float(lo), float(mean))
        for rid, rate in done.group_by("rubric_id").agg((pl.col("status") == "invalid").mean()).iter_rows():
            invalid_rate[rid] = float(rate)

    schema_hashes = {r.id: content_hash(r.schema) for r in plan.rubrics}
    judges = plan.judges
    prices = {j.label: price_for(j) for j in judges}
    tallies = {j.label: Tally(batchable=batch_support(j) is None) for j in judges}
    groups: dict[tuple[str, str], _Group] = {}
    common: dict[str, str | None] = {r.id: None for r in plan.rubrics}  # the rubric's shared prompt prefix
    system: dict[str, str] = {}  # the rubric's system message (the same for every item)
    for item in plan.items():
        for rubric in plan.rubrics:
            if not rubric.applies_to(item.task, item.dimension):
                continue  # recorded as skipped, with no call
            calls = _calls(plan, rubric, item, schema_hashes[rubric.id])
            for messages, _, _, _ in calls:
                common[rubric.id] = _common_prefix(common[rubric.id], _flat(messages))
                system.setdefault(rubric.id, messages[0]["content"] if messages[0]["role"] == "system" else "")
            prompt_hash = plan.prompts.prompt_hash(rubric)
            reasks = int(rubric.on_invalid.get("max_reasks", 1)) if rubric.on_invalid.get("policy") == "reask" else 0
            counts: dict[tuple[str, int], int] = {}
            for judge in judges:
                cap = effective_max_tokens(judge, rubric.max_tokens) or DEFAULT_MAX_TOKENS
                price = prices[judge.label]
                t = tallies[judge.label]
                t.units += plan.repeats
                for n, (messages, schema_hash, part, schema) in enumerate(calls):
                    counted = counts.get((judge.model, n))
                    if counted is None:
                        counted = counts[judge.model, n] = count_prompt_tokens(judge.model, messages)
                    # A per-sentence row's tokens sum its calls: history only fits whole-item calls.
                    if rubric.id in completion and part is None:
                        c_low, c_exp = completion[rubric.id]
                        source = "history"
                    else:
                        c_low, c_exp = instance_tokens(schema, "minimal"), instance_tokens(schema, "typical")
                        source = "schema"
                    c_exp = min(c_exp, cap)
                    t.sources.add(source)
                    # Repeats differ only in whether the cache holds them, so every sum below is one
                    # product, and the work does not grow with --repeats (only the cache look-ups do).
                    hits = 0
                    if probe is not None:
                        for repeat in range(plan.repeats):
                            context = CallContext(item.id, item.content_hash, rubric.id, rubric.hash, prompt_hash,
                                                  schema_hash, repeat, part=part)  # fmt: skip
                            hits += probe(judge.hash, context, messages)
                    t.cache_hits += hits
                    made = plan.repeats - hits
                    if not made:
                        continue
                    extra = invalid_rate.get(rubric.id, 0.0) * reasks
                    t.calls_low += made
                    t.calls += made * (1 + extra)
                    t.calls_high += made * (1 + reasks)
                    t.prompt_tokens += made * counted
                    if price is None:
                        t.priced = False
                        continue
                    # Low and expected costs are priced per judge x rubric (_price_groups), where the
                    # rubric's expected prompt-cache hits are known.
                    g = groups.setdefault((judge.label, rubric.id), _Group())
                    g.calls_low += made
                    g.prompt_low += made * int(counted * 0.9)
                    g.completion_low += made * int(c_low)
                    g.calls += made * (1 + extra)
                    g.prompt += made * (1 + extra) * counted
                    g.completion += made * (1 + extra) * round(c_exp)
                    # A re-ask resends the prompt plus the bad reply, so its prompt is longer.
                    worst = worst_prompt_tokens(counted, len(messages))
                    reask_prompt = worst_prompt_tokens(counted + cap + 64, len(messages) + 2)
                    t.high_usd += made * (price.worst(worst, cap) + reasks * price.worst(reask_prompt, cap))
                    t.batch_high_usd += made * (price.worst(worst, cap, batch=True)
                                                + reasks * price.worst(reask_prompt, cap, batch=True))
    _price_groups(plan, groups, tallies, prices, common, system)
    total = Tally()
    for t in tallies.values():
        for name in ("units", "cache_hits", "calls_low", "calls", "calls_high", "prompt_tokens",
                     "prompt_cached_tokens", *MONEY):
            setattr(total, name, getattr(total, name) + getattr(t, name))
        total.priced &= t.priced
        total.batchable &= t.batchable
        total.sources |= t.sources
    out = total.public()
    out.pop("prompt_cache")
    return {"total": out, "judges": {label: t.public() for label, t in tallies.items()}}


def _price_groups(plan: Any, groups: dict[tuple[str, str], _Group], tallies: dict[str, Tally],
                  prices: dict[str, Any], common: dict[str, str | None], system: dict[str, str]) -> None:
    """Low, expected and batch-expected cost of each judge x rubric, with its expected prompt-cache hits."""
    by_label = {j.label: j for j in plan.judges}
    prefix_tokens: dict[tuple[str, str], int] = {}
    for (label, rubric_id), g in groups.items():
        judge, price, t = by_label[label], prices[label], tallies[label]
        minimum = cache_min_tokens(judge)
        prefix = 0
        if minimum is not None:
            # Anthropic caches up to its breakpoint (the system message); OpenAI any shared prefix.
            text = system.get(rubric_id, "") if judge.provider == "anthropic" else common.get(rubric_id) or ""
            key = (judge.model, text)
            if text and key not in prefix_tokens:
                prefix_tokens[key] = count_prompt_tokens(judge.model, [{"role": "user", "content": text}])
            prefix = prefix_tokens.get(key, 0)
            t.prompt_cache[rubric_id] = {"prefix_tokens": prefix, "min_tokens": minimum,
                                         "cached": prefix >= minimum}
            if prefix < minimum:
                prefix = 0
        # The rubric's first call writes the prefix to the cache, every later one reads it.
        read_low, read = prefix * max(g.calls_low - 1, 0), prefix * max(g.calls - 1, 0)
        write = prefix if g.calls else 0
        t.prompt_cached_tokens += read
        t.low_usd += price.cost(round(g.prompt_low), round(g.completion_low), cached=read_low, cache_write=write)
        t.expected_usd += price.cost(round(g.prompt), round(g.completion), cached=round(read), cache_write=write)
        t.batch_expected_usd += price.cost(round(g.prompt), round(g.completion), cached=round(read),
                                           cache_write=write, batch=True)


def _calls(
    plan: Any, rubric: Any, item: Any, schema_hash: str
) -> list[tuple[list[dict[str, str]], str, str | None, dict[str, Any]]]:
    """(messages, schema hash, part label, reply schema) of every call one unit makes: one for the
    whole item, or one per numbered sentence (``calls: per_sentence``)."""
    if rubric.calls != "per_sentence":
        return [(plan.prompts.render(rubric, item), schema_hash, None, rubric.schema)]
    part_hash = sentence_schema_hash(rubric)
    return [
        (plan.prompts.render(rubric, item, part=part), part_hash, part.label, part.schema)
        for part in sentence_parts(rubric, item)
    ]


def _usd(value: float | None) -> str:
    return "unpriced" if value is None else f"${value:.4f}"


def _batch_usd(t: dict[str, Any], key: str) -> str:
    return "-" if not t.get("batchable", True) else _usd(t[key])


def render(result: dict[str, Any]) -> str:
    lines = [f"{'judge':<36}{'calls':>9}{'cached':>8}{'low':>12}{'expected':>12}{'high':>12}"
             f"{'batch exp.':>12}{'batch high':>12}"]
    rows = [*result["judges"].items(), ("total", result["total"])]
    for label, t in rows:
        lines.append(
            f"{label:<36}{t['calls']:>9g}{t['cache_hits']:>8}{_usd(t['low_usd']):>12}"
            f"{_usd(t['expected_usd']):>12}{_usd(t['high_usd']):>12}"
            f"{_batch_usd(t, 'batch_expected_usd'):>12}{_batch_usd(t, 'batch_high_usd'):>12}"
        )
    lines.append(f"completion tokens from: {', '.join(result['total']['completion_from']) or '-'}; "
                 "high = every call at its worst case (what --budget-usd reserves); batch = the same calls "
                 "at the batch price (run --batch)")
    for label, t in result["judges"].items():
        cache = t.get("prompt_cache") or {}
        if not cache:
            continue
        hit = [f"{r} ({c['prefix_tokens']})" for r, c in sorted(cache.items()) if c["cached"]]
        miss = [f"{r} ({c['prefix_tokens']})" for r, c in sorted(cache.items()) if not c["cached"]]
        minimum = next(iter(cache.values()))["min_tokens"]
        parts = ([f"cached after each rubric's first call: {', '.join(hit)}"] if hit else []) + (
            [f"below the model's {minimum}-token minimum: {', '.join(miss)}"] if miss else [])
        lines.append(f"prompt cache, {label}, shared prefix tokens per rubric: {'; '.join(parts)}")
    return "\n".join(lines)
