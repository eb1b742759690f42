"""``empathy-judge compare BASELINE_RUN NEW_RUN``: did severity move, beyond noise?

Pairing: each item x rubric x model is scored in each run as the panel mean (over judges and
repeats, ok verdicts only); only keys scored in both runs count. Per mechanism x dimension x
model, the effect is the mean paired difference (new - baseline) of normalised severity, with a
percentile bootstrap CI that resamples items (an item with several rubrics of one mechanism
counts once), vectorised and seeded. Agreement changes come from each run's summary.json.

The gate (--fail-on-regression DELTA) flags a cell whose difference is above DELTA and whose CI
lies wholly above zero; compare then exits 4. Runs whose rubric hashes differ for a shared rubric
are refused unless --allow-rubric-change: a changed rubric is not a regression of the model.
"""

from __future__ import annotations

import argparse
import html
import json
import sys
from pathlib import Path
from typing import Any

from judge.core.errors import EXIT_OK, EXIT_REGRESSION, InputError
from judge.stats.movement import markdown as movement_markdown
from judge.stats.movement import moved_items
from judge.store.rundir import MANIFEST, SUMMARY, atomic_write_text, load_verdicts, read_json

CELL = ["mechanism", "dimension", "model"]


def _rubric_hashes(run_dir: Path) -> dict[str, str]:
    return {r["id"]: r["hash"] for r in read_json(run_dir / MANIFEST).get("rubrics", [])}


def check_rubrics(baseline: Path, new: Path) -> list[str]:
    """Shared rubric ids whose hashes differ."""
    a, b = _rubric_hashes(baseline), _rubric_hashes(new)
    return sorted(rid for rid in a.keys() & b.keys() if a[rid] != b[rid])


def _panel(run_dir: Path) -> Any:
    import polars as pl

    return (
        load_verdicts(run_dir)
        .filter(pl.col("status") == "ok")
        .group_by("item_id", "rubric_id", "model", "mechanism", "dimension")
        .agg(pl.col("score").mean().alias("score"))
    )


def paired_differences(baseline: Path, new: Path, *, n_boot: int = 2000, seed: int = 0, ci: float = 0.95) -> list[dict]:
    import numpy as np
    import polars as pl

    from judge.stats.bootstrap import bootstrap

    keys = ["item_id", "rubric_id", "model", "mechanism", "dimension"]
    pairs = (
        _panel(baseline)
        .join(_panel(new), on=keys, how="inner", suffix="_new")
        .with_columns((pl.col("score_new") - pl.col("score")).alias("diff"))
        .sort(keys)
    )
    cells = []
    for (mechanism, dimension, model), group in pairs.group_by(CELL, maintain_order=True):
        diffs = group["diff"].to_numpy()
        items = group["item_id"].to_numpy()
        _, clusters = np.unique(items, return_inverse=True)

        def stat(w: np.ndarray, d: np.ndarray = diffs) -> np.ndarray:
            total = w.sum(axis=1)
            return np.where(total > 0, (w @ d) / np.where(total > 0, total, 1), np.nan)

        interval = bootstrap(stat, len(diffs), n_boot=n_boot, seed=seed, ci=ci, weights=True, clusters=clusters)
        cells.append(
            {
                "mechanism": mechanism,
                "dimension": dimension,
                "model": model,
                "n_items": int(clusters.max()) + 1,
                "n_pairs": len(diffs),
                "baseline_mean": float(group["score"].mean()),
                "new_mean": float(group["score_new"].mean()),
                "diff": float(diffs.mean()),
                "ci_low": interval[0] if interval else None,
                "ci_high": interval[1] if interval else None,
            }
        )
    return sorted(cells, key=lambda c: (c["mechanism"], c["dimension"], c["model"]))


def agreement_changes(baseline: Path, new: Path) -> list[dict[str, Any]]:
    """Per rubric, Krippendorff's alpha and percent agreement across judges, before and after."""

    def stats(run_dir: Path) -> dict[str, dict[str, Any]]:
        path = run_dir / SUMMARY
        agreement = read_json(path).get("agreement", {}) if path.exists() else {}
        return {
            rid: {"alpha": v.get("alpha", v.get("krippendorff_alpha")), "percent": v.get("percent_agreement")}
            for rid, v in agreement.items()
            if isinstance(v, dict)
        }

    def diff(x: float | None, y: float | None) -> float | None:
        return y - x if x is not None and y is not None else None

    a, b = stats(baseline), stats(new)
    out = []
    for rid in sorted(a.keys() | b.keys()):
        before, after = a.get(rid, {}), b.get(rid, {})
        out.append({
            "rubric_id": rid,
            "baseline_alpha": before.get("alpha"),
            "new_alpha": after.get("alpha"),
            "change": diff(before.get("alpha"), after.get("alpha")),
            "baseline_percent_agreement": before.get("percent"),
            "new_percent_agreement": after.get("percent"),
            "percent_agreement_change": diff(before.get("percent"), after.get("percent")),
        })  # fmt: skip
    return out


def compare(baseline: Path, new: Path, *, delta: float | None, allow_rubric_change: bool = False,
            n_boot: int = 2000, seed: int = 0) -> dict[str, Any]:
    changed = check_rubrics(baseline, new)
    if changed and not allow_rubric_change:
        raise InputError(
            f"{new}: rubric hashes differ from {baseline} for {', '.join(changed)}; the runs used different "
            "rubrics, so differences would not be the model's. Compare runs of the same rubric versions, or pass "
            "--allow-rubric-change"
        )
    cells = paired_differences(baseline, new, n_boot=n_boot, seed=seed)
    for cell in cells:
        cell["regression"] = bool(
            delta is not None and cell["diff"] > delta and cell["ci_low"] is not None and cell["ci_low"] > 0
        )
    return {
        "baseline": str(baseline),
        "new": str(new),
        "rubrics_changed": changed,
        "delta": delta,
        "n_boot": n_boot,
        "seed": seed,
        "cells": cells,
        "agreement": agreement_changes(baseline, new),
        "regressions": [c for c in cells if c["regression"]],
        "movement": moved_items(baseline, new),
    }


def _f(value: float | None, sign: bool = False) -> str:
    return "-" if value is None else (f"{value:+.3f}" if sign else f"{value:.3f}")


def markdown(result: dict[str, Any]) -> str:
    regressions = result["regressions"]
    head = "## empathy-judge: severity change\n\n"
    gate = result["delta"]
    if gate is None:
        head += "No regression gate set.\n\n"
    elif regressions:
        head += f"**{len(regressions)} regression(s)** above delta {gate} with a CI excluding zero.\n\n"
    else:
        head += f"No regression above delta {gate}.\n\n"
    if result["rubrics_changed"]:
        head += f"Rubrics changed between runs: {', '.join(result['rubrics_changed'])}.\n\n"
    rows = [
        "| mechanism | dimension | model | items | baseline | new | diff | 95% CI | |",
        "|---|---|---|---:|---:|---:|---:|---|---|",
    ]
    for c in result["cells"]:
        rows.append(
            f"| {c['mechanism']} | {c['dimension']} | {c['model']} | {c['n_items']} | {_f(c['baseline_mean'])} | "
            f"{_f(c['new_mean'])} | {_f(c['diff'], True)} | [{_f(c['ci_low'], True)}, {_f(c['ci_high'], True)}] | "
            f"{'REGRESSION' if c['regression'] else ''} |"
        )
    agree = ["", "| rubric | baseline alpha | new alpha | change | % agreement change |", "|---|---:|---:|---:|---:|"]
    for a in result["agreement"]:
        agree.append(
            f"| {a['rubric_id']} | {_f(a['baseline_alpha'])} | {_f(a['new_alpha'])} | {_f(a['change'], True)} "
            f"| {_f(a['percent_agreement_change'], True)} |"
        )
    note = (f"\nSeverity is normalised to [0, 1]; diff = new - baseline, paired by item x rubric x model; "
            f"CI: item bootstrap, {result['n_boot']} resamples, seed {result['seed']}.\n")
    return head + "\n".join(rows) + "\n" + "\n".join(agree) + "\n" + note + movement_markdown(result["movement"])


def html_page(result: dict[str, Any]) -> str:
    """A self-contained page: one table, inline style, no scripts, nothing fetched."""
    cells = "".join(
        "<tr{}>{}</tr>".format(
            ' class="bad"' if c["regression"] else "",
            "".join(f"<td>{html.escape(str(v))}</td>" for v in (
                c["mechanism"], c["dimension"], c["model"], c["n_items"], _f(c["baseline_mean"]), _f(c["new_mean"]),
                _f(c["diff"], True), f"[{_f(c['ci_low'], True)}, {_f(c['ci_high'], True)}]")),
        )
        for c in result["cells"]
    )
    header = "".join(f"<th>{h}</th>" for h in ("mechanism", "dimension", "model", "items", "baseline", "new", "diff",
                                              "95% CI"))
    return (
        "<!doctype html><html><head><meta charset='utf-8'>"
        "<meta http-equiv='Content-Security-Policy' content=\"default-src 'none'; style-src 'unsafe-inline'\">"
        "<title>empathy-judge compare</title><style>"
        "body{font-family:sans-serif;max-width:1400px;margin:auto}td,th{padding:2px 8px;border-bottom:1px solid #ddd;"
        "vertical-align:top;text-align:left}.bad{background:#fdd}.txt{max-width:420px;font-size:90%}"
        f"</style></head><body><h1>Severity change</h1><p>{html.escape(result['baseline'])} &rarr; "
        f"{html.escape(result['new'])}</p><table><tr>{header}</tr>{cells}</table>"
        f"{_movement_html(result['movement'])}</body></html>\n"
    )


def _judges_html(judges: list[dict[str, Any]]) -> str:
    return "".join(
        f"<p><b>{html.escape(j['judge'])}</b> {_f(j['score'])}: {html.escape(j['rationale'] or '')}</p>" for j in judges
    )


def _movement_html(movement: dict[str, Any]) -> str:
    def table(rows: list[dict[str, Any]]) -> str:
        if not rows:
            return "<p>None.</p>"
        head = "".join(f"<th>{h}</th>" for h in ("item", "rubric", "model", "baseline", "new", "shift", "source",
                                                  "response", "baseline rationales", "new rationales"))
        body = "".join(
            "<tr{}>{}</tr>".format(
                ' class="bad"' if m["flipped"] else "",
                "".join(f"<td>{html.escape(str(v))}</td>" for v in (
                    m["item_id"], m["rubric_id"], m["model"], _f(m["baseline"]), _f(m["new"]), _f(m["shift"], True)))
                + f"<td class='txt'>{html.escape(m['source'] or '')}</td>"
                + f"<td class='txt'>{html.escape(m['response'] or '')}</td>"
                + f"<td class='txt'>{_judges_html(m['baseline_judges'])}</td>"
                + f"<td class='txt'>{_judges_html(m['new_judges'])}</td>",
            )
            for m in rows
        )
        return f"<table><tr>{head}</tr>{body}</table>"

    return (
        f"<h2>Items that moved most</h2><p>{movement['n_flipped']} of {movement['n_paired']} item x rubric pairs "
        f"flipped across severity {movement['failure_line']} (flipped rows are shaded).</p>{table(movement['moved'])}"
        f"<h2>Items that flipped</h2>{table(movement['flipped'])}"
    )


def compare_command(args: argparse.Namespace) -> int:
    result = compare(args.baseline, args.new, delta=args.fail_on_regression,
                     allow_rubric_change=args.allow_rubric_change, n_boot=args.n_boot, seed=args.seed)
    if args.json:
        json.dump(result, sys.stdout, indent=2, sort_keys=True)
        sys.stdout.write("\n")
    else:
        sys.stdout.write(markdown(result))
    if args.html:
        atomic_write_text(args.html, html_page(result))
    if args.fail_on_regression is not None and result["regressions"]:
        print(f"empathy-judge: {len(result['regressions'])} regression(s) found", file=sys.stderr)
        return EXIT_REGRESSION
    return EXIT_OK
