"""Resuming a run: its plan is rebuilt from the manifest, and must be the plan it started with.

The manifest records the plan's options (``options``: paths absolute, rubric versions exact, the
cache mode and folder) and its identity (``plan``: everything that decides which calls are made and
how, and a hash of it). ``Plan.resume(run_dir, **given)`` takes every option not given from the
manifest, builds the plan, and compares identities field by field:

- a field whose option was given with another value is refused, naming the option and both values
  (``--sample: ...``); budget and concurrency (how far, how fast) may change freely, and a run
  that was capped keeps its last cap unless ``--budget-usd`` gives another;
- a field that changed although no option was given (the dataset file, a rubric or prompt edited, a
  judge's config changed in the config file) is refused, saying what changed.

Either way nothing is touched, and the exit code is 2.
"""

from __future__ import annotations

import inspect
import math
from pathlib import Path
from typing import TYPE_CHECKING, Any

from judge.core.errors import ConfigError, RunDirError
from judge.core.records import PlanIdentity, PlanOptions
from judge.inputs.mapping import show_map
from judge.store.reader import read_manifest

if TYPE_CHECKING:
    from judge.engine.plan import Plan

# identity field -> the Plan keyword argument that sets it
FIELD_OPTION = {
    "dataset": "dataset",
    "map": "map",
    "sample": "sample",
    "seed": "seed",
    "limit": "limit",
    "repeats": "repeats",
    "rubrics": "rubrics",
    "judges": "judges",
    "cache": "cache",
    "cache_dir": "cache_dir",
    "shard": "shard",
}
# how a refusal names each option (the command line's spelling)
FLAG = {
    "dataset": "--dataset",
    "map": "--map",
    "sample": "--sample",
    "seed": "--seed",
    "limit": "--limit",
    "repeats": "--repeats",
    "rubrics": "--rubric",
    "judges": "--judge",
    "cache": "--no-cache/--replay (the cache mode)",
    "cache_dir": "--cache-dir",
    "shard": "--shard",
}


def resumed_plan(cls: type[Plan], run_dir: Path, given: dict[str, Any], *, retry_errors: bool) -> Plan:
    manifest = read_manifest(run_dir)
    if manifest.options is None:
        raise RunDirError(
            f"{run_dir / 'manifest.json'}: has no recorded run options, so the run cannot be resumed; start a new run"
        )
    accepted = set(inspect.signature(cls.__init__).parameters) - {"self"}
    unknown = sorted(set(given) - accepted)
    if unknown:
        raise TypeError(f"Plan.resume() got unexpected options {unknown}")
    given = {k: v for k, v in given.items() if v is not None}
    kwargs = _stored_kwargs(manifest.options)
    kwargs.update(given)
    plan = cls(**kwargs)
    plan.resume_dir, plan.resumed, plan.retry_errors = run_dir, manifest, retry_errors
    plan.given = frozenset(given)
    if "budget_usd" not in given and manifest.budgets:
        # A capped run stays capped: without --budget-usd, a resume (a nightly's retry, say) gets the
        # last invocation's cap again rather than none at all.
        cap = manifest.budgets[-1].cap_usd
        if not (isinstance(cap, int | float) and math.isfinite(cap) and cap > 0):
            raise RunDirError(
                f"{run_dir / 'manifest.json'}: budgets[-1].cap_usd is {cap!r}, not a positive amount, so the "
                "run's cap cannot be kept; give --budget-usd for this invocation"
            )
        plan.budget_usd = float(cap)
        plan.budget_inherited = True
    check_identity(run_dir, manifest.plan, plan.identity(run_dir), given, stored_dataset=manifest.dataset.path)
    return plan


def _stored_kwargs(options: PlanOptions) -> dict[str, Any]:
    kwargs = options.to_dict()
    kwargs["cache_dir"] = options.cache_dir if options.cache != "off" else None
    return kwargs


def _show(name: str, value: Any) -> str:
    if value is None:
        return "none"
    if name == "rubrics":
        return ", ".join(sorted(value)) or "none"
    if name == "judges":
        return ", ".join(sorted(value)) or "none"
    if name == "map":
        return show_map(value) or "none"
    return str(value)


def check_identity(
    run_dir: Path, old: PlanIdentity, new: PlanIdentity, given: dict[str, Any], *, stored_dataset: str = ""
) -> None:
    """Refuse (ConfigError for a given option, RunDirError for a changed input) unless ``new`` is
    the plan ``old`` was; every difference is named, with both values."""
    refused: list[str] = []
    changed: list[str] = []
    for name, option in FIELD_OPTION.items():
        was, now = getattr(old, name), getattr(new, name)
        if was == now:
            continue
        if option in given or (name == "seed" and "sample" in given):
            if name == "dataset":
                shown = f"{stored_dataset} (content {was[:12]}), not {_given_dataset(given)} (content {now[:12]})"
            else:
                shown = f"{_show(name, was)}, not {_show(name, now)}"
            refused.append(f"{FLAG[name]}: the run was started with {shown}")
        else:
            changed += _what_changed(name, was, now, stored_dataset)
    if refused:
        raise ConfigError(
            f"{run_dir}: cannot resume: {'; '.join(refused)}. Drop the option to finish the run as it was "
            "started, or start a new run (the response cache re-uses every reply that is still valid)"
        )
    if changed:
        raise RunDirError(
            f"{run_dir}: cannot resume: {'; '.join(changed)}. Restore what changed, "
            "or start a new run (the response cache re-uses every reply that is still valid)"
        )


def _given_dataset(given: dict[str, Any]) -> str:
    value = given["dataset"]
    return str(value) if isinstance(value, str | Path) else "the rows given"


def _what_changed(name: str, was: Any, now: Any, stored_dataset: str) -> list[str]:
    if name == "dataset":
        return [f"the dataset {stored_dataset} changed (hash {str(was)[:12]} -> {str(now)[:12]})"]
    if name == "rubrics":
        out = []
        for ref in sorted(set(was) | set(now)):  # keyed by ref (id@version): a new version is added
            a, b = was.get(ref), now.get(ref)
            if a is None or b is None:
                out.append(f"rubric '{ref}' was {'added' if a is None else 'removed'}")
            elif a.hash != b.hash:
                out.append(f"rubric '{ref}' was edited (hash {a.hash[:12]} -> {b.hash[:12]})")
            elif a.prompt_hash != b.prompt_hash:
                out.append(
                    f"the prompt of rubric '{ref}' was edited (hash {a.prompt_hash[:12]} -> {b.prompt_hash[:12]})"
                )
        return out
    if name == "judges":
        out = []
        for label in sorted(set(was) | set(now)):
            a, b = was.get(label), now.get(label)
            if a is None or b is None:
                out.append(f"judge '{label}' was {'added' if a is None else 'removed'}")
            elif a != b:
                out.append(f"judge '{label}' changed model, parameters or output format")
        return out
    return [f"{name} {_show(name, was)} -> {_show(name, now)}"]
