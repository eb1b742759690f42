"""Resuming a run: recover its options from the manifest and refuse if anything that changes a
verdict has changed since (dataset, rubrics, prompts, judges, repeats, limit).

The manifest's ``options`` block holds what ``run`` was given, with absolute paths, so
``empathy-judge run --resume RUN_DIR`` needs nothing else. Options given on the command line next
to ``--resume`` override the stored ones; the hash check then refuses any that would change a
verdict, while ``--concurrency`` (how fast, not what) may change freely.
"""

from __future__ import annotations

import argparse
from pathlib import Path
from typing import Any

from judge.core.errors import RunDirError
from judge.store.rundir import MANIFEST, read_json

# run options recorded in the manifest and restored on --resume (argparse dest names).
OPTIONS = (
    "config",
    "dataset",
    "judge",
    "rubric",
    "repeats",
    "limit",
    "concurrency",
    "rubrics_dir",
    "prompts_dir",
    "max_text_chars",
    "sample",
    "seed",
)
_PATHS = ("config", "dataset", "rubrics_dir", "prompts_dir")


def record_options(args: argparse.Namespace, plan: Any) -> dict[str, Any]:
    """The options to store in the manifest: absolute paths, exact rubric versions."""
    out: dict[str, Any] = {}
    for name in OPTIONS:
        value = getattr(args, name, None)
        if name in _PATHS and value is not None:
            value = str(Path(value).resolve())
        out[name] = value
    out["dataset"] = str(Path(plan.dataset.path).resolve())
    out["rubric"] = [r.ref for r in plan.rubrics]
    return out


def load_manifest(run_dir: Path) -> dict[str, Any]:
    if not run_dir.is_dir():
        raise RunDirError(f"{run_dir}: no such run directory; check the path given to --resume")
    manifest = read_json(run_dir / MANIFEST)
    if not isinstance(manifest, dict) or not isinstance(manifest.get("options"), dict):
        raise RunDirError(
            f"{run_dir / MANIFEST}: has no recorded run options, so the run cannot be resumed; start a new run"
        )
    return manifest


def apply_stored(args: argparse.Namespace, manifest: dict[str, Any]) -> argparse.Namespace:
    """``args`` with every option not given on the command line taken from the manifest."""
    merged = argparse.Namespace(**vars(args))
    for name, stored in manifest["options"].items():
        if name not in OPTIONS:
            continue
        given = getattr(args, name, None)
        if given is None or given == []:
            if name in _PATHS and stored is not None:
                stored = Path(stored)
            setattr(merged, name, stored)
    return merged


def _identity(manifest: dict[str, Any]) -> dict[str, Any]:
    return {
        "dataset": manifest["dataset"]["hash"],
        "rubrics": {r["id"]: (r["version"], r["hash"], r["prompt_hash"]) for r in manifest["rubrics"]},
        "judges": {j["label"]: j["hash"] for j in manifest["judges"]},
        "repeats": manifest.get("repeats"),
        "limit": manifest.get("limit"),
    }


def check_unchanged(run_dir: Path, old: dict[str, Any], new: dict[str, Any]) -> None:
    """Raise RunDirError naming everything that would make resumed verdicts differ from the rest."""
    a, b = _identity(old), _identity(new)
    changes = []
    if a["dataset"] != b["dataset"]:
        path = new["dataset"]["path"]
        changes.append(f"the dataset {path} changed (hash {a['dataset'][:12]} -> {b['dataset'][:12]})")
    for rid in sorted(set(a["rubrics"]) | set(b["rubrics"])):
        was, now = a["rubrics"].get(rid), b["rubrics"].get(rid)
        if was is None or now is None:
            changes.append(f"rubric '{rid}' was {'added' if was is None else 'removed'}")
        elif was[0] != now[0]:
            changes.append(f"rubric '{rid}' version {was[0]} -> {now[0]}")
        elif was[1] != now[1]:
            changes.append(f"rubric '{rid}' v{was[0]} was edited (hash {was[1][:12]} -> {now[1][:12]})")
        elif was[2] != now[2]:
            changes.append(f"the prompt of rubric '{rid}' was edited (hash {was[2][:12]} -> {now[2][:12]})")
    for label in sorted(set(a["judges"]) | set(b["judges"])):
        was, now = a["judges"].get(label), b["judges"].get(label)
        if was is None or now is None:
            changes.append(f"judge '{label}' was {'added' if was is None else 'removed'}")
        elif was != now:
            changes.append(f"judge '{label}' changed model, parameters or output format")
    for name in ("repeats", "limit"):
        if a[name] != b[name]:
            changes.append(f"{name} {a[name]} -> {b[name]}")
    if changes:
        raise RunDirError(
            f"{run_dir}: cannot resume: {'; '.join(changes)}. Restore what changed, "
            "or start a new run (the response cache re-uses every reply that is still valid)"
        )
