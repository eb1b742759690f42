"""Time the full statistics on a large synthetic verdict frame.

Builds ``--rows`` (default 1,000,000) verdict rows: 8 rubrics x 5 judges x 3 repeats per item,
about 3% invalid and 1% error rows, judges of varying quality (one adversarial), and gold
labels for the graded rubrics. Then times panel scores, per-rubric agreement, calibration,
judge diagnostics and the disagreement list, each with ``--boot`` bootstrap resamples, and
compares our Krippendorff alpha with the ``krippendorff`` package (the ``bench`` extra) when
it is installed. Prints JSON, or writes it to ``--out``.

    python benchmarks/aggregate.py --out bench.json
"""

from __future__ import annotations

import argparse
import functools
import json
import os
import platform
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np
import polars as pl

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from judge.stats.agreement import Level, alpha_data, krippendorff_alpha
from judge.stats.diagnostics import calibration, disagreement, judge_diagnostics
from judge.stats.scores import panel_scores, rubric_agreement

MECHANISMS = {
    "sa": "sentiment_attenuation",
    "egm": "granularity_mismatch",
    "ca": "conflict_avoidance",
    "ld": "linguistic_distancing",
}
TASKS = {"news": "cognitive", "translation": "cultural", "counselling": "relational"}
JUDGES = {"good-1": 0.4, "good-2": 0.5, "fair-1": 0.9, "fair-2": 1.0, "adversarial": None}
REPEATS = 3


def synthetic(n_rows: int, seed: int = 0) -> tuple[pl.DataFrame, pl.DataFrame]:
    """(verdicts, gold) with about n_rows verdict rows, built without per-row Python."""
    rng = np.random.default_rng(seed)
    rubrics = [(f"{p}-{f}", f, m) for p, m in MECHANISMS.items() for f in ("graded", "paper")]
    per_item = len(rubrics) * len(JUDGES) * REPEATS
    n_items = max(1, n_rows // per_item)
    truth = rng.integers(0, 5, (n_items, len(rubrics))).astype(np.float64)
    task = rng.integers(0, len(TASKS), n_items)

    item = np.repeat(np.arange(n_items), per_item)
    rub = np.tile(np.repeat(np.arange(len(rubrics)), len(JUDGES) * REPEATS), n_items)
    judge = np.tile(np.repeat(np.arange(len(JUDGES)), REPEATS), n_items * len(rubrics))
    repeat = np.tile(np.arange(REPEATS), n_items * len(rubrics) * len(JUDGES))
    t = truth[item, rub]
    noise_sd = np.array([s if s is not None else 0.0 for s in JUDGES.values()])[judge]
    adversarial = judge == list(JUDGES).index("adversarial")
    sev = np.where(adversarial, 4 - t, t + rng.normal(0, 1, len(t)) * noise_sd)
    sev = np.clip(sev, 0, 4)
    graded = np.array([f == "graded" for _, f, _ in rubrics])[rub]
    binary = np.array([r == "ca-paper" for r, _, _ in rubrics])[rub]
    score = np.where(graded, np.round(sev) / 4, sev / 4)
    score = np.where(binary, (sev >= 2).astype(np.float64), score)
    u = rng.random(len(t))
    status = np.where(u < 0.03, "invalid", np.where(u < 0.04, "error", "ok"))

    ids = np.array([f"item-{i:06d}" for i in range(n_items)])
    tasks = np.array(list(TASKS))
    verdicts = pl.DataFrame(
        {
            "item_id": ids[item],
            "task": tasks[task][item],
            "model": np.array(["model-a", "model-b", "model-c", "model-d"])[item % 4],
            "rubric_id": np.array([r for r, _, _ in rubrics])[rub],
            "family": np.array([f for _, f, _ in rubrics])[rub],
            "mechanism": np.array([m for _, _, m in rubrics])[rub],
            "dimension": np.array(list(TASKS.values()))[task][item],
            "judge": np.array(list(JUDGES))[judge],
            "repeat": repeat,
            "status": status,
            "score": pl.Series(score).set(pl.Series(status != "ok"), None),
        }
    )
    gold = pl.DataFrame({"id": ids}).with_columns(
        pl.Series(f"gold_{m}", truth[:, i].astype(np.int64))
        for i, (_, f, m) in enumerate(rubrics)
        if f == "graded"
    )
    return verdicts, gold


def timed(fn: Callable[[], Any]) -> tuple[float, Any]:
    start = time.perf_counter()
    out = fn()
    return time.perf_counter() - start, out


def reliability_matrix(frame: pl.DataFrame) -> np.ndarray:
    """The krippendorff package's input: raters x units, NaN for missing."""
    wide = frame.pivot(on="unit", index="rater", values="value").drop("rater")
    return wide.to_numpy().astype(np.float64)


def compare_krippendorff(verdicts: pl.DataFrame) -> dict[str, Any]:
    """Our alpha against the krippendorff package on one graded and one paper rubric."""
    try:
        import krippendorff
    except ImportError:
        return {"skipped": "krippendorff not installed (pip install '.[bench]')"}
    out: dict[str, Any] = {"version": getattr(krippendorff, "__version__", "unknown")}
    # The package materialises a (units x V x V) array over the V distinct values, so
    # continuous paper scores are rounded to 0.05 (21 values) to keep it within memory.
    cases: list[tuple[str, Level, float | None]] = [
        ("sa-graded", "ordinal", None),
        ("sa-graded", "interval", None),
        ("ca-paper", "nominal", None),
        ("sa-paper", "interval", 0.05),
    ]
    for rubric_id, level, step in cases:
        ok = verdicts.filter((pl.col("rubric_id") == rubric_id) & (pl.col("status") == "ok"))
        value = pl.col("score") if step is None else (pl.col("score") / step).round() * step
        frame = ok.select(
            pl.format("{}#{}", "item_id", "repeat").alias("unit"),
            pl.col("judge").alias("rater"),
            value.alias("value"),
        )
        # ours_s: from the long frame; ours_eval_s: alpha from prepared per-unit statistics
        # (what each bootstrap resample costs, before batching)
        ours_s, ours = timed(functools.partial(krippendorff_alpha, frame, level=level))
        data = alpha_data(frame, level=level)
        ours_eval_s, _ = timed(functools.partial(data.alpha, np.ones((1, data.n_units))))
        # theirs_s: alpha on a ready raters x units matrix; pivot_s: building that matrix
        pivot_s, matrix = timed(functools.partial(reliability_matrix, frame))
        theirs_s, theirs = timed(
            functools.partial(
                krippendorff.alpha, reliability_data=matrix, level_of_measurement=level
            )
        )
        out[f"{rubric_id}/{level}"] = {
            "rounded_to": step,
            "units": frame["unit"].n_unique(),
            "ours_s": round(ours_s, 4),
            "ours_eval_s": round(ours_eval_s, 4),
            "theirs_s": round(theirs_s, 4),
            "pivot_for_theirs_s": round(pivot_s, 4),
            "ours": ours.value,
            "theirs": float(theirs),
        }
    return out


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=1_000_000)
    parser.add_argument("--boot", type=int, default=1000)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--out", type=Path, default=None)
    args = parser.parse_args(argv)

    timings: dict[str, float] = {}
    timings["build_s"], (verdicts, gold) = timed(lambda: synthetic(args.rows, args.seed))
    kw = {"n_boot": args.boot, "seed": args.seed}
    steps: dict[str, Callable[[], pl.DataFrame]] = {
        "panel_scores_s": lambda: panel_scores(verdicts, quorum=3, **kw),
        "rubric_agreement_s": lambda: rubric_agreement(verdicts, **kw),
        "calibration_s": lambda: calibration(verdicts, gold, **kw),
        "judge_diagnostics_s": lambda: judge_diagnostics(verdicts, gold=gold),
        "disagreement_s": lambda: disagreement(verdicts, top=20),
    }
    results = {}
    for name, step in steps.items():
        timings[name], results[name] = timed(step)
    timings["statistics_total_s"] = sum(v for k, v in timings.items() if k != "build_s")
    diag = results["judge_diagnostics_s"]
    report = {
        "rows": verdicts.height,
        "items": verdicts["item_id"].n_unique(),
        "n_boot": args.boot,
        "machine": {
            "cpus": os.cpu_count(),
            "python": platform.python_version(),
            "polars": pl.__version__,
            "numpy": np.__version__,
        },
        "timings": {k: round(v, 3) for k, v in timings.items()},
        "checks": {
            "flagged_judges": sorted(set(diag.filter(pl.col("flagged"))["judge"].to_list())),
            "alpha_by_rubric": dict(
                results["rubric_agreement_s"].select("rubric_id", "alpha").iter_rows()
            ),
        },
        "krippendorff_comparison": compare_krippendorff(verdicts),
    }
    text = json.dumps(report, indent=2, sort_keys=True)
    if args.out:
        tmp = args.out.with_suffix(args.out.suffix + ".tmp")
        tmp.write_text(text + "\n")
        os.replace(tmp, args.out)
    else:
        print(text)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
