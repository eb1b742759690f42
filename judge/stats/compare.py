"""The statistics of ``empathy-judge compare``: did severity move between two runs, beyond noise?

Pairing: each item x rubric version x model is scored in each run by the one item-panel reducer
(``judge.stats.panel``: a judge's ok repeats averaged, then the mean over judges; items below the
quorum are left out); only keys scored in both runs pair. A baseline rubric version pairs with
the same version in the new run, or, when each run holds one version of the rubric and the
difference is allowed, with the new run's version (``version_map``: rubric iteration across runs).

Cells: **primary** cells, one per rubric version pooled over dimensions and models, are what the
regression gate tests (``judge.stats.gate``: minimum items, sign-flip p-values, Holm across the
primary cells, a minimum effect); **exploratory** cells (rubric x dimension x model) are reported
with intervals and unadjusted p-values and never gate. Intervals are percentile bootstraps over
items from the one bootstrap (``judge.stats.bootstrap``).

Refusals (``InputError``, exit 2) before anything is computed: runs with different judge panels,
rubric versions or sets, datasets or samples, each unless its ``Allow`` flag is set; two runs
with no paired item. Health: a run with an unhealthy judge (the run's own ``health`` record, from
``judge.stats.health``: no ok verdict, or errors on more than its ``max_error_share`` of calls),
or a primary cell that both runs hold but no item pairs in, makes the gate's status
``unhealthy``: it cannot vouch for the new run.

Loading the runs and rendering the result (Markdown, HTML) is ``judge.report.compare``'s job.
"""

from __future__ import annotations

import zlib
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import polars as pl

from judge.core.errors import InputError
from judge.core.records import rubric_ref
from judge.stats.bootstrap import bootstrap
from judge.stats.diagnostics import calibration_difference, gold_reference
from judge.stats.gate import GateRules, check_rules, holm, sign_flip_pvalue
from judge.stats.health import judge_health
from judge.stats.movement import moved_items
from judge.stats.panel import AMPLIFIED_AT, RUBRIC_KEY, Aggregate, item_panel

KEYS = ["item_id", *RUBRIC_KEY, "model", "family", "mechanism", "dimension"]
PRIMARY = [*RUBRIC_KEY, "family", "mechanism"]
EXPLORATORY = [*RUBRIC_KEY, "mechanism", "dimension", "model"]


@dataclass(frozen=True)
class RunSide:
    """What compare needs of one run, loaded by the caller (``judge.report.compare.load_side``)."""

    name: str  # how messages and the result name the run (its directory)
    verdicts: pl.DataFrame
    rubric_hashes: Mapping[str, str] = field(default_factory=dict)  # rubric ref (id@version) -> hash
    judges: Mapping[str, str] = field(default_factory=dict)  # judge label -> judge hash
    dataset: str | None = None  # the dataset's content hash
    sample: tuple[int, int] | None = None  # (n, seed) of --sample
    limit: int | None = None
    status: str | None = None  # the run's status (manifest)
    agreement: Mapping[str, Any] = field(default_factory=dict)  # summary.json's "agreement"
    calibration: list[dict[str, Any]] = field(default_factory=list)  # summary.json's "calibration"
    # The run's judge health (manifest.json's ``health``, a RunHealth as plain data); None: computed
    # here from the verdicts with the default threshold (frames given without a run's record).
    health: Mapping[str, Any] | None = None


@dataclass(frozen=True)
class Allow:
    """Differences between the runs the caller accepts (each a ``--allow-...`` option)."""

    rubric_change: bool = False
    panel_change: bool = False
    dataset_change: bool = False
    sample_change: bool = False


# ------------------------------------------------------------------------------ comparability


def _by_id(hashes: Mapping[str, str]) -> dict[str, dict[str, str]]:
    out: dict[str, dict[str, str]] = {}
    for ref, digest in hashes.items():
        out.setdefault(ref.rpartition("@")[0] or ref, {})[ref] = digest
    return out


def changed_rubrics(baseline: RunSide, new: RunSide) -> list[str]:
    """Rubric ids whose versions or hashes differ between the runs, or that only one run has."""
    a, b = _by_id(baseline.rubric_hashes), _by_id(new.rubric_hashes)
    return sorted(rid for rid in a.keys() | b.keys() if a.get(rid) != b.get(rid))


def _rubric_differences(baseline: RunSide, new: RunSide) -> list[str]:
    a, b = baseline.rubric_hashes, new.rubric_hashes
    out = []
    for rid in changed_rubrics(baseline, new):
        mine = sorted(r for r in a if r.rpartition("@")[0] == rid)
        theirs = sorted(r for r in b if r.rpartition("@")[0] == rid)
        if mine == theirs:
            out.append(f"{', '.join(r for r in mine if a[r] != b[r])} edited (rubric hashes differ)")
        else:
            before, after = ", ".join(mine) or "none", ", ".join(theirs) or "none"
            out.append(f"{rid}: {before} in the baseline, {after} in the new run")
    return out


def _panel_differences(baseline: RunSide, new: RunSide) -> list[str]:
    a, b = baseline.judges, new.judges
    out = [f"judge '{j}' only in the baseline" for j in sorted(a.keys() - b.keys())]
    out += [f"judge '{j}' only in the new run" for j in sorted(b.keys() - a.keys())]
    out += [f"judge '{j}' changed model, parameters or output format" for j in sorted(a.keys() & b.keys())
            if a[j] != b[j]]  # fmt: skip
    return out


def differences(baseline: RunSide, new: RunSide) -> dict[str, list[str]]:
    """What differs between the runs' plans, by kind (``rubrics``, ``panel``, ``dataset``,
    ``sample``); empty lists where they agree."""
    out: dict[str, list[str]] = {
        "rubrics": _rubric_differences(baseline, new),
        "panel": _panel_differences(baseline, new),
        "dataset": [],
        "sample": [],
    }
    if baseline.dataset and new.dataset and baseline.dataset != new.dataset:
        out["dataset"].append(f"dataset content {baseline.dataset[:12]} vs {new.dataset[:12]}")

    def sample(side: RunSide) -> str:
        s = f"--sample {side.sample[0]} --seed {side.sample[1]}" if side.sample else "no sample"
        return s + (f", --limit {side.limit}" if side.limit is not None else "")

    if (baseline.sample, baseline.limit) != (new.sample, new.limit):
        out["sample"].append(f"{sample(baseline)} vs {sample(new)}")
    return out


OPTION = {"rubrics": "--allow-rubric-change", "panel": "--allow-panel-change",
          "dataset": "--allow-dataset-change", "sample": "--allow-sample-change"}  # fmt: skip
WHAT = {"rubrics": "rubric versions differ", "panel": "judge panels differ",
        "dataset": "datasets differ", "sample": "samples differ"}  # fmt: skip


def check_comparable(baseline: RunSide, new: RunSide, allow: Allow) -> dict[str, list[str]]:
    """Raise InputError naming every difference not allowed (and the option that allows it);
    return all differences (the allowed ones are reported with the result)."""
    found = differences(baseline, new)
    allowed = {"rubrics": allow.rubric_change, "panel": allow.panel_change, "dataset": allow.dataset_change,
               "sample": allow.sample_change}  # fmt: skip
    refused = [f"{WHAT[k]} ({'; '.join(v)}; pass {OPTION[k]} to compare anyway)" for k, v in found.items()
               if v and not allowed[k]]  # fmt: skip
    if refused:
        raise InputError(
            f"cannot compare {new.name} with {baseline.name}: {'; '.join(refused)}. A difference between the runs' "
            "plans is not a change in the judged model"
        )
    return found


# ------------------------------------------------------------------------------------ pairing


def version_map(baseline: pl.DataFrame, new: pl.DataFrame) -> dict[tuple[str, int], int]:
    """Which baseline rubric version pairs with which new one: a version in both runs with
    itself; a rubric id with one version on each side (rubric iteration across runs) across
    versions; anything else unpaired."""

    def versions(frame: pl.DataFrame) -> dict[str, set[int]]:
        out: dict[str, set[int]] = {}
        for rid, version in frame.select(RUBRIC_KEY).unique().iter_rows():
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


def align_versions(baseline: pl.DataFrame, pairs: Mapping[tuple[str, int], int]) -> pl.DataFrame:
    """The baseline's verdicts with each rubric version renamed to the new run's version it pairs
    with, and ``baseline_version`` keeping the original."""
    mapping = pl.DataFrame(
        [{"rubric_id": rid, "rubric_version": v, "_to": to} for (rid, v), to in pairs.items()],
        schema={"rubric_id": pl.String, "rubric_version": pl.Int64, "_to": pl.Int64},
    )
    return (
        baseline.join(mapping, on=RUBRIC_KEY, how="left")
        .with_columns(pl.col("rubric_version").alias("baseline_version"))
        .with_columns(pl.coalesce("_to", "rubric_version").alias("rubric_version"))
        .drop("_to")
    )


def _panel(verdicts: pl.DataFrame, aggregate: Aggregate, quorum: int) -> pl.DataFrame:
    panel = item_panel(verdicts, aggregate=aggregate, quorum=quorum)
    return panel.filter(pl.col("panel").is_not_null()).select(
        *KEYS, pl.col("panel").alias("score"), pl.col("panel_amplification").alias("amplification")
    )


def paired_items(
    baseline: pl.DataFrame, new: pl.DataFrame, *, aggregate: Aggregate = "mean", quorum: int = 1
) -> pl.DataFrame:
    """One row per item x rubric version x model scored in both runs (baseline already aligned):
    ``score`` (baseline), ``score_new``, ``diff`` = new - baseline, ``baseline_version``, and the
    panel ``amplification`` and ``amplification_new`` (null for rubrics without that scale)."""
    versions = baseline.select(*RUBRIC_KEY, "baseline_version").unique()
    return (
        _panel(baseline.drop("baseline_version"), aggregate, quorum)
        .join(_panel(new, aggregate, quorum), on=KEYS, how="inner", suffix="_new")
        .with_columns((pl.col("score_new") - pl.col("score")).alias("diff"))
        .join(versions, on=RUBRIC_KEY, how="left")
        .sort(KEYS)
    )


# -------------------------------------------------------------------------------------- cells


def _cell_seed(seed: int, key: tuple[Any, ...]) -> list[int]:
    """A cell's own random stream: the same whatever other cells the comparison has."""
    return [seed, zlib.crc32("|".join(map(str, key)).encode())]


def _estimate(
    diffs: np.ndarray, items: np.ndarray, base: np.ndarray, key: tuple[Any, ...], rules: GateRules
) -> dict[str, Any]:
    _, clusters = np.unique(items, return_inverse=True)
    n_items = int(clusters.max()) + 1 if len(diffs) else 0
    if n_items < len(diffs):
        # Several rows of one item in a cell (items of several models under test sharing ids):
        # the item is resampled whole, its rows weighted by its draw count.
        def mean(w: np.ndarray, d: np.ndarray = diffs) -> np.ndarray:
            total = w.sum(axis=1)
            return np.where(total > 0, (w @ d) / np.where(total > 0, total, 1), np.nan)

        est = bootstrap(mean, len(diffs), n_boot=rules.n_boot, seed=rules.seed, ci=rules.ci, clusters=clusters)
    else:  # one row per item: the resampled values' mean (same draws, a quarter of the time)
        est = bootstrap(lambda idx: diffs[idx].mean(axis=1), len(diffs), n_boot=rules.n_boot, seed=rules.seed,
                        ci=rules.ci, form="indices")  # fmt: skip
    diff, lo, hi = est.row()
    return {
        "n_items": n_items,
        "baseline_mean": float(base.mean()) if len(diffs) else None,
        "new_mean": float((base + diffs).mean()) if len(diffs) else None,
        "diff": diff,
        "ci_low": lo,
        "ci_high": hi,
        "p_value": sign_flip_pvalue(diffs, n_flips=rules.n_boot, seed=_cell_seed(rules.seed, key)),
    }


def _cells(pairs: pl.DataFrame, keys: list[str], rules: GateRules) -> list[dict[str, Any]]:
    """One cell per value of ``keys`` (pairs sorted by them once, then sliced: no per-cell copy)."""
    ordered = pairs.sort([*keys, "item_id"])
    groups = ordered.select(keys).with_row_index("_at").group_by(keys, maintain_order=True).agg(
        pl.col("_at").first().alias("start"), pl.len().alias("n")
    )
    diffs, base = ordered["diff"].to_numpy(), ordered["score"].to_numpy()
    items, versions = ordered["item_id"].to_numpy(), ordered["baseline_version"].to_numpy()
    # pairs built without amplification columns (frames from elsewhere) have none to compare
    amp, amp_new = (ordered[c].cast(pl.Float64).fill_null(np.nan).to_numpy() if c in ordered.columns
                    else np.full(ordered.height, np.nan) for c in ("amplification", "amplification_new"))  # fmt: skip
    out = []
    for row in groups.iter_rows(named=True):
        at = slice(row["start"], row["start"] + row["n"])
        key = tuple(row[k] for k in keys)
        cell = {**dict(zip(keys, key, strict=True)), "baseline_version": int(versions[at.start])}
        out.append({**cell, **_estimate(diffs[at], items[at], base[at], key, rules),
                    **_amplification(amp[at], amp_new[at], items[at], rules)})  # fmt: skip
    return sorted(out, key=lambda c: tuple(c[k] for k in keys))


def _amplification(base: np.ndarray, new: np.ndarray, items: np.ndarray, rules: GateRules) -> dict[str, Any]:
    """The cell's amplification rate in each run (the share of paired items whose panel
    amplification level is at least ``AMPLIFIED_AT``, as in summary.json's scores) and the paired
    difference new - baseline with an item-bootstrap CI; over the items with an amplification in
    both runs (``n_amplification``; 0 and nulls for rubrics without that scale). Reported beside
    the severity, so a model that trades attenuation for melodrama shows; the gate tests severity
    only."""
    keep = np.isfinite(base) & np.isfinite(new)
    out: dict[str, Any] = {"n_amplification": len(np.unique(items[keep]))}
    names = ("baseline_amplification_rate", "new_amplification_rate", "amplification_rate_diff",
             "amplification_rate_diff_ci_low", "amplification_rate_diff_ci_high")  # fmt: skip
    if not keep.any():
        return {**out, **dict.fromkeys(names)}
    level = AMPLIFIED_AT - 0.5  # a panel value of 1.5 on 0-4 is level 2 (halves up)
    a, b = (4 * base[keep] >= level).astype(np.float64), (4 * new[keep] >= level).astype(np.float64)
    _, clusters = np.unique(items[keep], return_inverse=True)

    def mean(w: np.ndarray, d: np.ndarray = b - a) -> np.ndarray:
        total = w.sum(axis=1)
        return np.where(total > 0, (w @ d) / np.where(total > 0, total, 1), np.nan)

    diff, lo, hi = bootstrap(mean, len(a), n_boot=rules.n_boot, seed=rules.seed, ci=rules.ci, clusters=clusters).row()
    return {**out, **dict(zip(names, (float(a.mean()), float(b.mean()), diff, lo, hi), strict=True))}


def primary_cells(
    pairs: pl.DataFrame, rubrics: list[dict[str, Any]], rules: GateRules, gate: bool
) -> list[dict[str, Any]]:
    """One cell per rubric version both runs hold (``rubrics``: rubric_id, rubric_version,
    baseline_version, family, mechanism), tested by the gate's rules: ``tested``, ``p_holm``
    (over the tested cells), ``regression`` and ``reason`` (why not tested, or not flagged)."""
    found = {(c["rubric_id"], c["rubric_version"]): c for c in _cells(pairs, PRIMARY, rules)}
    cells = []
    for r in rubrics:
        cell = found.get((r["rubric_id"], r["rubric_version"])) or {
            **r, "n_items": 0, "baseline_mean": None, "new_mean": None, "diff": None, "ci_low": None,
            "ci_high": None, "p_value": None,
            **_amplification(np.zeros(0), np.zeros(0), np.zeros(0), rules),
        }  # fmt: skip
        cells.append({**cell, "tested": cell["n_items"] >= rules.min_items, "p_holm": None, "regression": False})
    tested = [c for c in cells if c["tested"]]
    for cell, adjusted in zip(tested, holm([c["p_value"] for c in tested]), strict=True):
        cell["p_holm"] = adjusted
    for c in cells:
        if c["n_items"] == 0:
            c["reason"] = "no paired items"
        elif not c["tested"]:
            c["reason"] = f"too few paired items ({c['n_items']} < {rules.min_items}): reported, not tested"
        elif c["p_holm"] > rules.alpha:
            c["reason"] = f"no increase beyond noise (Holm p {c['p_holm']:.3g} > {rules.alpha:g})"
        elif c["diff"] <= rules.min_effect:
            c["reason"] = f"increase {c['diff']:+.3f} not above the minimum effect {rules.min_effect:g}"
        else:
            c["reason"] = "regression" if gate else "increase beyond noise (no gate set)"
            c["regression"] = gate
    return cells


def agreement_changes(
    baseline: Mapping[str, Any], new: Mapping[str, Any], pairs: Mapping[tuple[str, int], int] | None = None
) -> list[dict[str, Any]]:
    """Per rubric version, Krippendorff's alpha and percent agreement across judges, before and
    after, from each run's summary.json ``agreement`` (rows carry rubric_id and rubric_version).
    ``pairs`` (``version_map``) names the new version a baseline version is compared with."""

    def stats(agreement: Mapping[str, Any]) -> dict[tuple[str, int], dict[str, Any]]:
        return {
            (v["rubric_id"], v["rubric_version"]): {"alpha": v.get("alpha"), "percent": v.get("percent_agreement")}
            for v in agreement.values()
            if isinstance(v, dict) and "rubric_id" in v and "rubric_version" in v
        }

    def diff(x: float | None, y: float | None) -> float | None:
        return y - x if x is not None and y is not None else None

    a, b = stats(baseline), stats(new)
    renamed = {(key[0], (pairs or {}).get(key, key[1])): (key[1], row) for key, row in a.items()}
    out = []
    for key in sorted(renamed.keys() | b.keys()):
        base_version, before = renamed.get(key, (None, {}))
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


def gold_agreement(
    baseline: RunSide, new: RunSide, pairs: pl.DataFrame, gold: pl.DataFrame | None, rules: GateRules
) -> dict[str, Any]:
    """Rubric iteration across runs: each run's panel agreement with gold per rubric version (its
    summary.json ``calibration``, not recomputed), and for each paired graded rubric the paired
    difference new - baseline on the items both scored that have a gold label
    (``judge.stats.diagnostics.calibration_difference``)."""

    def panel_rows(side: RunSide) -> list[dict[str, Any]]:
        return [r for r in side.calibration if r.get("kind") == "panel"]

    differences = []
    graded = pairs.filter(pl.col("family") == "graded")
    if gold is not None and graded.height:
        for key, group in graded.group_by(["rubric_id", "rubric_version", "baseline_version", "mechanism"],
                                           maintain_order=True):  # fmt: skip
            rid, version, before, mechanism = key
            ref = gold_reference(gold, str(mechanism), "id")
            if ref is None:
                continue
            both = group.join(ref, on="item_id").sort("item_id")
            diff = calibration_difference(4 * both["score"].to_numpy(), 4 * both["score_new"].to_numpy(),
                                          both["gold"].to_numpy(), n_boot=rules.n_boot, seed=rules.seed,
                                          ci=rules.ci)  # fmt: skip
            differences.append({"rubric_id": rid, "baseline_version": before, "rubric_version": version,
                                "mechanism": mechanism, "n": both.height, **diff})  # fmt: skip
    differences.sort(key=lambda d: (d["rubric_id"], d["rubric_version"]))
    return {"baseline": panel_rows(baseline), "new": panel_rows(new), "differences": differences}


def _shared_rubrics(new: pl.DataFrame, pairs: Mapping[tuple[str, int], int]) -> list[dict[str, Any]]:
    """The rubric versions both runs hold (after pairing), with family and mechanism."""
    info = new.select(*RUBRIC_KEY, "family", "mechanism").unique()
    rows = []
    for (rid, before), after in sorted(pairs.items()):
        match = info.filter((pl.col("rubric_id") == rid) & (pl.col("rubric_version") == after))
        if match.height:
            rows.append({"rubric_id": rid, "rubric_version": after, "baseline_version": before,
                         "family": match["family"][0], "mechanism": match["mechanism"][0]})  # fmt: skip
    return rows


DEFAULT_MAX_ERROR_SHARE = 0.5  # judge.inputs.config's default, for frames without a run's record


def _health(baseline: RunSide, new: RunSide, cells: list[dict[str, Any]]) -> tuple[dict[str, Any], list[str]]:
    health = {
        key: dict(side.health) if side.health is not None else judge_health(side.verdicts, DEFAULT_MAX_ERROR_SHARE)
        for key, side in (("baseline", baseline), ("new", new))
    }
    problems = [f"{side.name}: judge {h['judge']}: {h.get('problem') or 'unhealthy'}"
                for side, key in ((baseline, "baseline"), (new, "new"))
                for h in health[key].get("judges") or [] if not h.get("healthy", True)]  # fmt: skip
    problems += [f"{rubric_ref(c['rubric_id'], c['rubric_version'])}: no item was scored in both runs"
                 for c in cells if c["n_items"] == 0]  # fmt: skip
    return health, problems


def compare(
    baseline: RunSide,
    new: RunSide,
    *,
    delta: float | None,
    rules: GateRules | None = None,
    allow: Allow | None = None,
    detail: bool = True,
    gold: pl.DataFrame | None = None,
) -> dict[str, Any]:
    """The comparison as plain data (``--json`` prints it). ``delta``: the gate's minimum effect
    (None: no gate; the cells are still tested and reported). Items in ``movement`` carry no
    texts (source and response null); the caller adds them from the runs' datasets. ``gold``:
    the dataset's gold labels (``id`` and ``gold_*`` columns), for ``calibration``.

    ``detail=False`` computes only what the gate decides on (primary cells and health), leaving
    ``exploratory``, ``agreement`` and ``movement`` empty: the error-rate benchmark runs the gate
    thousands of times through this same function."""
    given = rules or GateRules()
    rules = check_rules(alpha=given.alpha, min_items=given.min_items, n_boot=given.n_boot, seed=given.seed,
                        min_effect=given.min_effect if delta is None else delta)  # fmt: skip
    found = check_comparable(baseline, new, allow or Allow())
    pairs_map = version_map(baseline.verdicts, new.verdicts)
    aligned = align_versions(baseline.verdicts, pairs_map)
    pairs = paired_items(aligned, new.verdicts)
    if pairs.height == 0:
        raise InputError(
            f"no item was scored in both {baseline.name} and {new.name} ({_scored(baseline)} in the baseline, "
            f"{_scored(new)} in the new run): there is nothing to compare, which is not the same as no regression. "
            "Check that both runs judged the same items with the same rubrics and that their judges answered"
        )
    primary = primary_cells(pairs, _shared_rubrics(new.verdicts, pairs_map), rules, delta is not None)
    exploratory = _cells(pairs, EXPLORATORY, rules) if detail else []
    health, problems = _health(baseline, new, primary)
    regressions = [c for c in primary if c["regression"]]
    status = "off" if delta is None else "unhealthy" if problems else "regression" if regressions else "pass"
    gate = {
        **rules.to_dict(), "delta": delta, "status": status, "correction": "holm",
        "test": "one-sided sign-flip permutation of per-item panel differences",
        "n_tested": sum(c["tested"] for c in primary), "problems": problems,
    }  # fmt: skip
    return {
        "baseline": baseline.name,
        "new": new.name,
        "status": {"baseline": baseline.status, "new": new.status},
        "differences": {k: v for k, v in found.items() if v},
        "rubrics_changed": changed_rubrics(baseline, new),
        "gate": gate,
        "primary": primary,
        "exploratory": exploratory,
        "regressions": regressions,
        "health": health,
        "agreement": agreement_changes(baseline.agreement, new.agreement, pairs_map) if detail else [],
        "calibration": gold_agreement(baseline, new, pairs, gold, rules) if detail else {},
        "movement": moved_items(aligned.drop("baseline_version"), new.verdicts) if detail else {},
    }


def _scored(side: RunSide) -> int:
    v = side.verdicts
    return v.filter(pl.col("status") == "ok").select("item_id").n_unique() if v.height else 0
