"""The statistics of ``empathy-judge compare``: did severity move between two runs, beyond noise?

Pairing: each item x rubric x model is scored in each run by the one item-panel reducer
(``judge.stats.panel``: a judge's ok repeats averaged, then the mean over judges; items below the
quorum are left out); only keys scored in both runs count. Per mechanism x dimension x model, the
effect is the mean paired difference (new - baseline) of normalised severity, with a percentile
bootstrap CI that resamples items (an item with several rubrics of one mechanism counts once),
from the one bootstrap (``judge.stats.bootstrap``). Agreement changes come from each run's
summary.json.

The gate (--fail-on-regression DELTA) flags a cell whose difference is above DELTA and whose CI
lies wholly above zero. Runs whose rubric hashes differ for a shared rubric are refused unless
``allow_rubric_change``: a changed rubric is not a regression of the model.

Loading the runs and rendering the result (Markdown, HTML) is ``judge.report.compare``'s job.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import polars as pl

from judge.core.errors import InputError
from judge.stats.bootstrap import bootstrap
from judge.stats.movement import moved_items
from judge.stats.panel import Aggregate, item_panel

CELL = ["mechanism", "dimension", "model"]
KEYS = ["item_id", "rubric_id", "rubric_version", "model", "mechanism", "dimension"]


@dataclass(frozen=True)
class RunSide:
    """What compare needs of one run, loaded by the caller."""

    name: str  # how messages and the result name the run (its directory)
    verdicts: pl.DataFrame
    rubric_hashes: Mapping[str, str] = field(default_factory=dict)  # rubric ref (id@version) -> hash (manifest)
    agreement: Mapping[str, Any] = field(default_factory=dict)  # summary.json's "agreement"


def _by_id(hashes: Mapping[str, str]) -> dict[str, dict[str, str]]:
    out: dict[str, dict[str, str]] = {}
    for ref, digest in hashes.items():
        out.setdefault(ref.rpartition("@")[0] or ref, {})[ref] = digest
    return out


def changed_rubrics(baseline: RunSide, new: RunSide) -> list[str]:
    """Rubric ids in both runs whose versions or hashes differ."""
    a, b = _by_id(baseline.rubric_hashes), _by_id(new.rubric_hashes)
    return sorted(rid for rid in a.keys() & b.keys() if a[rid] != b[rid])


def version_map(baseline: pl.DataFrame, new: pl.DataFrame) -> dict[tuple[str, int], int]:
    """Which baseline rubric version pairs with which new one: a version in both runs with
    itself; a rubric id with one version on each side (rubric iteration across runs) across
    versions; anything else unpaired."""

    def versions(frame: pl.DataFrame) -> dict[str, set[int]]:
        out: dict[str, set[int]] = {}
        for rid, version in frame.select("rubric_id", "rubric_version").unique().iter_rows():
            out.setdefault(rid, set()).add(version)
        return out

    a, b = versions(baseline), versions(new)
    pairs: dict[tuple[str, int], int] = {}
    for rid in a.keys() & b.keys():
        if len(a[rid]) == 1 and len(b[rid]) == 1:
            pairs[(rid, next(iter(a[rid])))] = next(iter(b[rid]))
        else:
            pairs.update({(rid, v): v for v in a[rid] & b[rid]})
    return pairs


def align_versions(baseline: pl.DataFrame, new: pl.DataFrame) -> pl.DataFrame:
    """The baseline's verdicts with each rubric version renamed to the new run's version it pairs
    with (``version_map``), so both runs pair on the same key."""
    pairs = version_map(baseline, new)
    if all(k[1] == v for k, v in pairs.items()):
        return baseline
    mapping = pl.DataFrame(
        [{"rubric_id": rid, "rubric_version": v, "_to": to} for (rid, v), to in pairs.items()],
        schema={"rubric_id": pl.String, "rubric_version": pl.Int64, "_to": pl.Int64},
    )
    return (
        baseline.join(mapping, on=["rubric_id", "rubric_version"], how="left")
        .with_columns(pl.coalesce("_to", "rubric_version").alias("rubric_version"))
        .drop("_to")
    )


def _panel(verdicts: pl.DataFrame, aggregate: Aggregate, quorum: int) -> pl.DataFrame:
    panel = item_panel(verdicts, aggregate=aggregate, quorum=quorum)
    return panel.filter(pl.col("panel").is_not_null()).select(*KEYS, pl.col("panel").alias("score"))


def paired_differences(
    baseline: pl.DataFrame,
    new: pl.DataFrame,
    *,
    aggregate: Aggregate = "mean",
    quorum: int = 1,
    n_boot: int = 2000,
    seed: int = 0,
    ci: float = 0.95,
) -> list[dict[str, Any]]:
    """Per mechanism x dimension x model: the mean paired difference with its item-bootstrap CI."""
    pairs = (
        _panel(baseline, aggregate, quorum)
        .join(_panel(new, aggregate, quorum), on=KEYS, how="inner", suffix="_new")
        .with_columns((pl.col("score_new") - pl.col("score")).alias("diff"))
        .sort(KEYS)
    )
    cells = []
    for (mechanism, dimension, model), group in pairs.group_by(CELL, maintain_order=True):
        diffs = group["diff"].to_numpy()
        _, clusters = np.unique(group["item_id"].to_numpy(), return_inverse=True)

        def mean(w: np.ndarray, d: np.ndarray = diffs) -> np.ndarray:
            total = w.sum(axis=1)
            return np.where(total > 0, (w @ d) / np.where(total > 0, total, 1), np.nan)

        diff, lo, hi = bootstrap(mean, len(diffs), n_boot=n_boot, seed=seed, ci=ci, clusters=clusters).row()
        cells.append(
            {
                "mechanism": mechanism,
                "dimension": dimension,
                "model": model,
                "n_items": int(clusters.max()) + 1,
                "n_pairs": len(diffs),
                "baseline_mean": float(group["score"].mean()),  # type: ignore[arg-type]
                "new_mean": float(group["score_new"].mean()),  # type: ignore[arg-type]
                "diff": diff,
                "ci_low": lo,
                "ci_high": hi,
            }
        )
    return sorted(cells, key=lambda c: (c["mechanism"], c["dimension"], c["model"]))


def agreement_changes(
    baseline: Mapping[str, Any], new: Mapping[str, Any], pairs: Mapping[tuple[str, int], int] | None = None
) -> list[dict[str, Any]]:
    """Per rubric version, Krippendorff's alpha and percent agreement across judges, before and
    after, from each run's summary.json ``agreement`` (keyed by ref). ``pairs`` (``version_map``)
    names the new version a baseline version is compared with."""

    def stats(agreement: Mapping[str, Any]) -> dict[tuple[str, int], dict[str, Any]]:
        out = {}
        for ref, v in agreement.items():
            if not isinstance(v, dict):
                continue
            rid, _, version = ref.rpartition("@")
            key = (v.get("rubric_id", rid), int(v.get("rubric_version", version or 0)))
            out[key] = {"alpha": v.get("alpha", v.get("krippendorff_alpha")), "percent": v.get("percent_agreement")}
        return out

    def diff(x: float | None, y: float | None) -> float | None:
        return y - x if x is not None and y is not None else None

    a, b = stats(baseline), stats(new)
    moved = {key: (key[0], to) for key, to in (pairs or {}).items()}
    a_new = {moved.get(key, key): (key[1], row) for key, row in a.items()}
    out = []
    for key in sorted(a_new.keys() | b.keys()):
        base_version, before = a_new.get(key, (None, {}))
        after = b.get(key, {})
        out.append({
            "rubric_id": key[0],
            "rubric_version": key[1],
            "baseline_version": base_version,
            "baseline_alpha": before.get("alpha"),
            "new_alpha": after.get("alpha"),
            "change": diff(before.get("alpha"), after.get("alpha")),
            "baseline_percent_agreement": before.get("percent"),
            "new_percent_agreement": after.get("percent"),
            "percent_agreement_change": diff(before.get("percent"), after.get("percent")),
        })  # fmt: skip
    return out


def compare(
    baseline: RunSide,
    new: RunSide,
    *,
    delta: float | None,
    allow_rubric_change: bool = False,
    n_boot: int = 2000,
    seed: int = 0,
) -> dict[str, Any]:
    """The comparison as plain data (``--json`` prints it). Items in ``movement`` carry no texts
    (source and response null); the caller adds them from the runs' datasets."""
    changed = changed_rubrics(baseline, new)
    if changed and not allow_rubric_change:
        raise InputError(
            f"{new.name}: rubric hashes differ from {baseline.name} for {', '.join(changed)}; the runs used "
            "different rubrics, so differences would not be the model's. Compare runs of the same rubric versions, "
            "or pass --allow-rubric-change"
        )
    aligned = align_versions(baseline.verdicts, new.verdicts)
    cells = paired_differences(aligned, new.verdicts, n_boot=n_boot, seed=seed)
    for cell in cells:
        cell["regression"] = bool(
            delta is not None and cell["diff"] > delta and cell["ci_low"] is not None and cell["ci_low"] > 0
        )
    return {
        "baseline": baseline.name,
        "new": new.name,
        "rubrics_changed": changed,
        "delta": delta,
        "n_boot": n_boot,
        "seed": seed,
        "cells": cells,
        "agreement": agreement_changes(baseline.agreement, new.agreement, version_map(baseline.verdicts, new.verdicts)),
        "regressions": [c for c in cells if c["regression"]],
        "movement": moved_items(aligned, new.verdicts),
    }
