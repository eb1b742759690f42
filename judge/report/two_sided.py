"""report.html sections for the opposite error and for how judges err: severity beside the
amplification rate per model, abstentions, and the calibration views (length bias against gold,
confidence against error, level bias, confusion matrices).

Like every section of the page, these read summary.json and compute nothing: every number carries
its JSON pointer (``data-key``) and full value (``data-value``).
"""

from __future__ import annotations

from typing import Any

from judge.report import plots
from judge.report.markup import cell, ci_html, esc, fmt, no_data, num, pointer, rubric_of, section, table

AMPLIFIED = ("amplification_rate", "amplification_rate_ci_low", "amplification_rate_ci_high")
MEAN_AMPLIFICATION = ("amplification_mean", "amplification_mean_ci_low", "amplification_mean_ci_high")


def _two_sided_rows(rows: list[tuple[int, dict[str, Any]]], key: str, columns: tuple[str, ...]) -> list[list[str]]:
    """(index in summary[key], record) pairs as table rows: the rubric, the ``columns``, then severity,
    amplification rate and mean amplification with their CIs, and the items."""
    out = []
    for i, r in rows:
        base = pointer(key, i)
        out.append(
            [cell(rubric_of(r))] + [cell(r.get(c)) for c in columns]
            + [cell(r["mean"], ci_html(r, base)),
               cell(r["amplification_rate"], ci_html(r, base, *AMPLIFIED)),
               cell(r["amplification_mean"], ci_html(r, base, *MEAN_AMPLIFICATION)),
               cell(r["n_amplification"], key=pointer(key, i, "n_amplification"))]
        )  # fmt: skip
    return out


def amplification_section(summary: dict[str, Any]) -> tuple[str, str, str]:
    """summary.json ``scores_by_model_overall`` and ``scores_by_model``: each rubric's severity
    beside its amplification rate and mean amplification, for the rubrics with that scale."""
    title = "Severity and amplification, per model (95% CI)"
    key = "scores_by_model_overall"
    overall = summary.get(key)
    if not isinstance(overall, list) or not all(isinstance(r, dict) and "n_amplification" in r for r in overall):
        return section("amplification", title, no_data("summary.json has no amplification figures (written before "
                                                         "they existed)"))  # fmt: skip
    shown = [(i, r) for i, r in enumerate(overall) if r["n_amplification"]]
    if not shown:
        return section("amplification", title, no_data("no rubric in this run has an amplification scale "
                                                         "(graded v3 has one)"))  # fmt: skip
    at = (summary.get("settings") or {}).get("amplified_at", 2)
    labels = sorted({rubric_of(r) for _, r in shown})
    models = sorted({r["model"] for _, r in shown})
    values = {(rubric_of(r), r["model"]): (r["amplification_rate"], r["amplification_rate_ci_low"],
                                           r["amplification_rate_ci_high"]) for _, r in shown}  # fmt: skip
    chart = plots.interval_bars(labels, models, values, title=f"share of items amplified (panel level >= {at} of 4)",
                                xlabel="amplification rate")  # fmt: skip
    intro = (
        f'<p class="muted">Severity (the mechanism\'s loss) is only half of a verdict: a reply that '
        f"melodramatises, invents detail or moralises scores 0 on it. Beside it: the share of items whose "
        f"panel amplification (the opposite error) is at level {at} or more of 4, and the mean amplification "
        "(0-1). CIs: percentile bootstrap over items.</p>"
    )
    head = ["rubric", "model", "severity", "amplified", "mean amplification", "items"]
    parts = [chart, intro, table(head, _two_sided_rows(shown, key, ("model",)))]
    by_dim = summary.get("scores_by_model")
    if isinstance(by_dim, list) and all(isinstance(r, dict) and "n_amplification" in r for r in by_dim):
        dims = [(i, r) for i, r in enumerate(by_dim) if r["n_amplification"]]
        if dims:
            head = ["rubric", "model", "dimension", "severity", "amplified", "mean amplification", "items"]
            rows = _two_sided_rows(dims, "scores_by_model", ("model", "dimension"))
            parts.append(f"<details><summary>per dimension ({len(dims)} rows)</summary>{table(head, rows)}</details>")
    return section("amplification", title, "".join(parts))


def abstention_section(summary: dict[str, Any]) -> tuple[str, str, str]:
    """summary.json ``abstentions``: per rubric and model, the calls the judges declined."""
    title = "Abstentions"
    key = "abstentions"
    rows = summary.get(key)
    if not isinstance(rows, list):
        return section("abstentions", title, no_data("summary.json has no abstentions (written before they existed)"))
    if not any(r.get("abstained") for r in rows):
        return section("abstentions", title, no_data("no judge abstained"))
    body = [
        [cell(rubric_of(r)), cell(r["model"]), cell(r["calls"], key=pointer(key, i, "calls")),
         cell(r["abstained"], key=pointer(key, i, "abstained")),
         cell(r["rate"], num(r["rate"], pointer(key, i, "rate"), 1, scale=100, suffix="%")),
         cell(r.get("top_reason") or "")]
        for i, r in enumerate(rows)
    ]  # fmt: skip
    note = ('<p class="muted">A judge abstains when it cannot judge the mechanism on the texts (empty, off-task, '
            "unreadable): no score, its reason kept. Calls made = verdicts not skipped.</p>")  # fmt: skip
    return section("abstentions", title, note + table(["rubric", "model", "calls", "abstained", "rate",
                                                       "most frequent reason"], body))  # fmt: skip


def _matrix(r: dict[str, Any], i: int) -> str:
    grid = r.get("confusion")
    if not grid:
        return ""
    rows = [[cell(f"gold {g}")] + [cell(n, key=pointer("calibration", i, "confusion", g, p))
                                   for p, n in enumerate(line)] for g, line in enumerate(grid)]  # fmt: skip
    label = f"{rubric_of(r)} {r.get('scale', 'severity')}: {r['kind']} {r['rater']}"
    return f"<h4>{esc(label)}</h4>" + table(["", *[f"rated {p}" for p in range(5)]], rows, sortable=False)


def _bins(r: dict[str, Any], i: int) -> str:
    bins = r.get("confidence_bins")
    if not bins:
        return ""
    at = ("calibration", i, "confidence_bins")
    rows = [[cell(f"{fmt(b['low'], 1)}-{fmt(b['high'], 1)}"), cell(b["n"], key=pointer(*at, k, "n")),
             cell(b["mean_abs_error"], key=pointer(*at, k, "mean_abs_error"))]
            for k, b in enumerate(bins)]  # fmt: skip
    return f"<h4>{esc(rubric_of(r))}: {esc(r['rater'])}</h4>" + table(["confidence", "items", "mean |error|"], rows,
                                                                       sortable=False)  # fmt: skip


def calibration_views_section(summary: dict[str, Any]) -> tuple[str, str, str]:
    """summary.json ``calibration``: per rater, its length bias against gold's own slope, its
    confidence against its error, its mean signed error per gold level, and its confusion matrix."""
    title = "How the raters err against gold"
    key = "calibration"
    calib = summary.get(key)
    if not isinstance(calib, list) or not calib:
        return section("calibration-views", title, no_data("the run has no calibration against gold labels"))
    if not all(isinstance(r, dict) and "level_bias" in r for r in calib):
        return section("calibration-views", title, no_data("summary.json's calibration has no views (written before "
                                                             "they existed)"))  # fmt: skip
    rows = []
    for i, r in enumerate(calib):
        base = pointer(key, i)
        rows.append(
            [cell(rubric_of(r)), cell(r.get("scale")), cell(r["kind"]), cell(r["rater"]),
             cell(r["n"], key=pointer(key, i, "n")),
             cell(r.get("length_slope"), key=pointer(key, i, "length_slope")),
             cell(r.get("gold_length_slope"), key=pointer(key, i, "gold_length_slope")),
             cell(r.get("length_bias"), ci_html(r, base, "length_bias", "length_bias_low", "length_bias_high")),
             cell(r.get("confidence_spearman"), ci_html(r, base, "confidence_spearman", "confidence_spearman_low",
                                                        "confidence_spearman_high"))]
            + [cell(b, key=pointer(key, i, "level_bias", g)) for g, b in enumerate(r["level_bias"])]
        )  # fmt: skip
    head = ["rubric", "scale", "kind", "rater", "items", "length slope", "gold's slope", "length bias [95% CI]",
            "confidence ~ |error| ρ", *[f"bias at gold {g}" for g in range(5)]]  # fmt: skip
    note = (
        '<p class="muted">Length slopes: level / 4 per 100 response words; length bias = the rater\'s slope '
        "minus gold's on the same items (0: it follows length exactly as much as gold does). Confidence ~ |error|: "
        "Spearman of the judge's stated confidence with its absolute error (negative: surer when right). "
        "Bias at gold k: mean (rater - gold) on 0-4 over the items gold puts at level k. Baselines read no text: "
        "constant (gold's median level), length (a leave-one-out quantile map of response length onto the "
        "other items' gold levels), model (the other items' mean gold level for the same model under test).</p>"
    )
    matrices = "".join(_matrix(r, i) for i, r in enumerate(calib))
    bins = "".join(_bins(r, i) for i, r in enumerate(calib))
    parts = [note, table(head, rows),
             f"<details><summary>confusion matrices (rows: gold level, columns: the rater's)</summary>{matrices}"
             "</details>"]  # fmt: skip
    if bins:
        parts.append(f"<details><summary>mean absolute error per confidence bin</summary>{bins}</details>")
    return section("calibration-views", title, "".join(parts))
