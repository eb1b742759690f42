"""report.html: one self-contained page per run for the researcher.

Everything is inline (styles, a few lines of script for sortable tables, charts as SVG), and a
Content-Security-Policy forbids the page any network request, so it opens from a file on an
offline laptop and can be mailed as an attachment. Sections follow whatever data the run has;
a section without data says so instead of drawing an empty chart.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from judge.core.taxonomy import DIMENSIONS
from judge.report import plots
from judge.report.assets import CSS, JS
from judge.report.browser import browser_section, static
from judge.report.data import RunData, load_run
from judge.report.markup import (
    _plain,
    cell,
    ci_html,
    esc,
    generic,
    no_data,
    num,
    page,
    pointer,
    rubric_of,
    section,
    table,
    text_block,
)
from judge.report.two_sided import abstention_section, amplification_section, calibration_views_section
from judge.report.versions import version_line
from judge.store.rundir import atomic_write_text, output_path, write_output

REPORT_HTML = "report.html"
# Keys of summary.json this page renders in their own sections; any other key is shown raw at
# the end, so numbers added by newer code are never hidden.
KNOWN_KEYS = {
    "format_version",
    "run_id",
    "status",
    "counts",
    "cost_usd",
    "scores",
    "scores_by_model",
    "scores_by_model_overall",
    "agreement",
    "paper_metrics",
    "judge_cards",
    "judges",
    "calibration",
    "version_differences",
    "disagreement",
    "score_distributions",
    "problems",
    "settings",
    "abstentions",
}


def _records(summary: dict[str, Any], key: str, needs: tuple[str, ...]) -> list[dict[str, Any]] | str:
    """summary[key] as a list of records with every needed field, or why the page cannot use it."""
    records = summary.get(key)
    if records is None:
        return f"summary.json has no {key} (it was written before this key existed, or not at all)"
    if not isinstance(records, list) or not all(isinstance(r, dict) and all(k in r for k in needs) for r in records):
        return f"summary.json's {key} has a shape this page does not know"
    return records


# ------------------------------------------------------------------------------- sections


def header_section(data: RunData) -> tuple[str, str, str]:
    m, s = data.manifest, data.summary
    ds = m.get("dataset") or {}
    cost = s.get("cost_usd")
    facts: dict[str, Any] = {
        "status": m.get("status"),
        "started": m.get("started_at"),
        "finished": m.get("finished_at"),
        "tool": f"{m.get('tool', 'empathy-judge')} {m.get('version', '')}",
        "command": " ".join(m.get("argv") or []),
        "config file": m.get("config_file") or "none (command-line options)",
        "repeats": m.get("repeats"),
        "item limit": m.get("limit") or "none",
        "dataset": f"{ds.get('path')} ({ds.get('format')}, {ds.get('items')} items)",
        "dataset sha256": ds.get("hash"),
        "gold columns": ", ".join(ds.get("gold_columns") or []) or "none",
        "statistics": ", ".join(f"{k} {val}" for k, val in (s.get("settings") or {}).items()) or "defaults",
    }
    rows = [[cell(k), cell(val, src="manifest")] for k, val in facts.items()]
    shown = num(cost, "/cost_usd", 4, prefix="$")
    unpriced = (s.get("cost") or {}).get("unpriced") if isinstance(s.get("cost"), dict) else None
    if unpriced:  # unknown is not $0: say how many billed replies had no price
        shown += f" (unknown: {num(unpriced, '/cost/unpriced', 0)} replies unpriced)"
    rows.insert(-1, [cell("cost"), cell(cost, shown)])
    parts = []
    if data.summary_note:
        parts.append(f'<p class="nodata">{esc(data.summary_note)}.</p>')
    parts.append(table(["", ""], rows, sortable=False, cls="kv"))
    parts.append("<h3>Verdicts by status</h3>")
    counts = s.get("counts") or {}
    parts.append(
        table(list(counts), [[cell(counts[k], key=pointer("counts", k)) for k in counts]], sortable=False)
        if counts
        else no_data("summary.json has no verdict counts")
    )
    rubrics = m.get("rubrics") or []
    parts.append("<h3>Rubrics</h3>")
    parts.append(
        table(
            ["rubric", "version", "mechanism", "family", "rubric hash", "prompt", "prompt hash"],
            [
                [
                    cell(r.get("id")),
                    cell(r.get("version"), src="manifest"),
                    cell(r.get("mechanism")),
                    cell(r.get("family")),
                    f"<td><code>{esc(str(r.get('hash'))[:12])}</code></td>",
                    cell(r.get("prompt")),
                    f"<td><code>{esc(str(r.get('prompt_hash'))[:12])}</code></td>",
                ]
                for r in rubrics
            ],
        )
        if rubrics
        else no_data("the manifest lists no rubrics")
    )
    judges = m.get("judges") or []
    parts.append("<h3>Judges</h3>")
    parts.append(
        table(
            ["judge", "model", "api base", "concurrency", "params", "hash"],
            [
                [
                    cell(j.get("label")),
                    cell(j.get("model")),
                    cell(j.get("api_base") or "–"),
                    cell(j.get("max_concurrency"), src="manifest"),
                    cell(_plain(j.get("params") or {})),
                    f"<td><code>{esc(str(j.get('hash'))[:12])}</code></td>",
                ]
                for j in judges
            ],
        )
        if judges
        else no_data("the manifest lists no judges")
    )
    return section("run", "Run", "".join(parts))


def _rubric_label(rubric_id: str, mechanism: str) -> str:
    return f"{rubric_id} ({mechanism.replace('_', ' ')})"


def _rubric_rows(records: list[dict[str, Any]]) -> list[tuple[str, str]]:
    return sorted({(rubric_of(r), r["mechanism"]) for r in records})


FAMILY_SCALES = {
    "graded": ("Graded rubrics", "mean severity level / 4 (0 = faithful, 1 = severe)", plots.ORRD),
    "paper": ("Paper rubrics", "the authors' measures, normalised: compression rate, label share or feature "
              "distance (0 = faithful, 1 = severe)", plots.PUBU),
}  # fmt: skip


def heat_cell(r: dict[str, Any], base: str, palette: tuple[str, ...]) -> str:
    """One heatmap cell: mean [CI] and n, coloured by the mean and faded as the CI widens (a cell of
    one item has no CI and is drawn faintest), so n = 1 never looks as sure as n = 40."""
    if r.get("mean") is None:
        n = r.get("n_scored")
        return f'<td class="heat empty">{"–" if not n else num(n, base + "/n_scored", prefix="n=")}</td>'
    low, high = r.get("ci_low"), r.get("ci_high")
    width = (high - low) if low is not None and high is not None else None
    strength = 0.2 if width is None else 1.0 - 0.8 * min(width / 0.5, 1.0)
    background = plots.colour(r["mean"], palette, strength)
    ink = "#fff" if r["mean"] * strength > 0.55 else "#111"
    bounds = f"{num(low, base + '/ci_low')}, {num(high, base + '/ci_high')}"
    ci = "" if width is None else f' <span class="ci">[{bounds}]</span>'
    title = f"n = {r.get('n_scored')} items scored" + ("" if width is not None else "; too few items for a CI")
    n = num(r.get("n_scored"), base + "/n_scored", prefix="n=")
    style = f"background:{background};color:{ink}"
    return (
        f'<td class="num heat" data-v="{r["mean"]}" style="{style}" title="{esc(title)}">'
        f'{num(r["mean"], base + "/mean")}{ci}<br><span class="n">{n}</span></td>'
    )


def heatmap_section(summary: dict[str, Any]) -> tuple[str, str, str]:
    """summary.json ``scores`` (models pooled) and ``scores_by_model``: one table per rubric family,
    rows rubric x model, columns dimensions."""
    title = "Severity: mechanism × dimension, per model under test"
    needs = ("rubric_id", "mechanism", "family", "dimension", "mean", "ci_low", "ci_high", "n_scored")
    cells = _records(summary, "scores_by_model", (*needs, "model"))
    pooled = _records(summary, "scores", needs)
    if isinstance(cells, str) or all(r["mean"] is None for r in cells):
        return section("heatmap", title, no_data(cells if isinstance(cells, str) else "no valid verdicts"))
    pooled = pooled if isinstance(pooled, list) else []
    seen = {r["dimension"] for r in cells}
    dims = [d for d in DIMENSIONS if d in seen] + sorted(seen - set(DIMENSIONS))
    models = sorted({r["model"] for r in cells})
    parts = [
        '<p class="muted">Mean panel severity per cell, [95% CI] (item bootstrap) and n = items scored. Graded '
        "and paper rubrics measure different things, so each family has its own table and colour scale. "
        "A cell's colour fades as its CI widens; a cell with one item (no CI) is drawn faintest. "
        "Empty: no items of that dimension.</p>"
    ]
    index = {("by_model", rubric_of(r), r["model"], r["dimension"]): i for i, r in enumerate(cells)}
    index.update({("pooled", rubric_of(r), "", r["dimension"]): i for i, r in enumerate(pooled)})
    for family in [f for f in FAMILY_SCALES if any(r["family"] == f for r in cells)] + sorted(
        {r["family"] for r in cells} - set(FAMILY_SCALES)
    ):
        heading, scale, palette = FAMILY_SCALES.get(family, (f"{family} rubrics", "normalised severity", plots.ORRD))
        rows = []
        for ref, mechanism in _rubric_rows([r for r in cells if r["family"] == family]):
            lines = [("pooled", "", "all models")] if len(models) > 1 else []
            lines += [("by_model", m, m) for m in models]
            for k, (kind, model, shown) in enumerate(lines):
                source, key = (pooled, "scores") if kind == "pooled" else (cells, "scores_by_model")
                label = f"<td>{esc(_rubric_label(ref, mechanism))}</td>" if k == 0 else "<td></td>"
                tds = []
                for d in dims:
                    i = index.get((kind, ref, model, d))
                    tds.append(heat_cell(source[i], pointer(key, i), palette) if i is not None else
                               '<td class="heat empty">–</td>')  # fmt: skip
                rows.append([label, f"<td>{esc(shown)}</td>", *tds])
        parts.append(f"<h3>{esc(heading)}</h3><p class=\"muted\">Scale: {esc(scale)}.</p>")
        parts.append(table(["rubric", "model", *dims], rows, sortable=False, cls="heatmap"))
    return section("heatmap", title, "".join(parts))


def severity_section(summary: dict[str, Any]) -> tuple[str, str, str]:
    title = "Severity per mechanism, per model (95% CI)"
    key = "scores_by_model_overall"
    overall = _records(summary, key, ("rubric_id", "mechanism", "model", "mean", "ci_low", "ci_high", "n_scored"))
    if isinstance(overall, str) or all(r["mean"] is None for r in overall):
        return section("severity", title, no_data(overall if isinstance(overall, str) else "no valid verdicts"))
    labels = [_rubric_label(rid, mech) for rid, mech in _rubric_rows(overall)]
    models = sorted({r["model"] for r in overall})
    values = {
        (_rubric_label(rubric_of(r), r["mechanism"]), r["model"]): (r["mean"], r["ci_low"], r["ci_high"])
        for r in overall
    }
    chart = plots.interval_bars(
        labels,
        models,
        values,
        title="mean panel severity by rubric and model",
        xlabel="mean severity (0 = faithful, 1 = severe)",
    )
    rows = [
        [
            cell(rubric_of(r)),
            cell(r["model"]),
            cell(r["mean"], ci_html(r, pointer(key, i))),
            cell(r["n_scored"], key=pointer(key, i, "n_scored")),
            cell(r.get("n_below_quorum"), key=pointer(key, i, "n_below_quorum")),
        ]
        for i, r in enumerate(overall)
    ]
    note = '<p class="muted">CIs: percentile bootstrap over items (judges and repeats of an item move together).</p>'
    return section(
        "severity", title, chart + note + table(["rubric", "model", "mean [95% CI]", "items", "below quorum"], rows)
    )


def paper_section(summary: dict[str, Any]) -> tuple[str, str, str]:
    title = "Paper metrics"
    metrics = summary.get("paper_metrics")
    if not metrics or (isinstance(metrics, dict) and "rows" in metrics and not metrics["rows"]):
        return section("paper", title, no_data("this run has no paper-faithful rubric results in summary.json"))
    rows = metrics.get("rows") if isinstance(metrics, dict) else None
    needed = ("metric", "scope", "value", "ci_low", "ci_high")
    if not isinstance(rows, list) or not all(isinstance(r, dict) and all(k in r for k in needed) for r in rows):
        return section("paper", title, generic(metrics, "/paper_metrics"))  # a shape this page does not know yet

    def model(r: dict[str, Any]) -> str:
        return r.get("model") or "all models"

    indexed = list(enumerate(rows))
    panel = [(i, r) for i, r in indexed if r["scope"] == "panel"]
    # The compression rates share one scale (share lost; negative = amplified): one chart.
    compress = [r for _, r in panel if "compression" in r["metric"]]
    chart = ""
    if any(r["value"] is not None for r in compress):
        labels = list(dict.fromkeys(r["metric"] for r in compress))
        models = sorted({model(r) for r in compress}, key=lambda m: (m != "all models", m))
        values = {(r["metric"], model(r)): (r["value"], r["ci_low"], r["ci_high"]) for r in compress}
        chart = plots.interval_bars(
            labels, models, values, title="compression rates, panel (95% CI)",
            xlabel="share of reference intensity / aversive detail lost (negative = amplified)", xlim=None,
        )  # fmt: skip

    def table_of(subset: list[tuple[int, dict[str, Any]]]) -> str:
        body = [
            [cell(r["metric"]), cell(rubric_of(r)), cell(r.get("judge") or "panel"), cell(model(r)),
             cell(r["value"], ci_html(r, pointer("paper_metrics", "rows", i), "value")),
             cell(r.get("n_defined"), key=pointer("paper_metrics", "rows", i, "n_defined")),
             cell(r.get("n_items"), key=pointer("paper_metrics", "rows", i, "n_items")),
             cell(", ".join(r.get("dropped") or []) or (r.get("reason") or ""))]
            for i, r in subset
        ]  # fmt: skip
        head = ["metric", "rubric", "judge", "model", "value [95% CI]", "defined", "items", "note"]
        return table(head, body)

    judges = [(i, r) for i, r in indexed if r["scope"] != "panel"]
    parts = [chart, "<h3>Panel</h3>", table_of(panel) if panel else no_data("no panel-level paper metrics")]
    if judges:
        parts.append(f"<details><summary>per judge ({len(judges)} rows)</summary>{table_of(judges)}</details>")
    settings = metrics.get("settings")
    if isinstance(settings, dict):
        parts.append(f'<p class="muted">{esc(", ".join(f"{k}: {v}" for k, v in settings.items()))}</p>')
    return section("paper", title, "".join(parts))


AGREE_COLUMNS = ("rubric_id", "level", "alpha", "ci_low", "ci_high", "percent_agreement", "fleiss_kappa",
                 "gwet_ac1", "n_items", "n_judges", "reason")  # fmt: skip


def agreement_section(summary: dict[str, Any]) -> tuple[str, str, str]:
    title = "Inter-judge agreement per rubric"
    agreement = summary.get("agreement")
    if not agreement:
        return section("agreement", title, no_data("no valid verdicts"))
    if not isinstance(agreement, dict) or not all(
        isinstance(r, dict) and all(k in r for k in AGREE_COLUMNS) for r in agreement.values()
    ):
        return section("agreement", title, generic(agreement, "/agreement"))
    if max(r["n_judges"] for r in agreement.values()) < 2:
        return section("agreement", title, no_data("agreement needs at least two judges; this run has one"))
    values = {(rid, "alpha"): (r["alpha"], r["ci_low"], r["ci_high"]) for rid, r in agreement.items()}
    plotted = [k for k, v in values.items() if v[0] is not None]
    chart = (
        plots.interval_bars(
            list(agreement),
            ["alpha"],
            values,
            title="Krippendorff's alpha with 95% CI",
            xlabel="alpha (1 = perfect, 0 = chance)",
            xlim=None,
        )
        if plotted
        else no_data("alpha is undefined for every rubric (no variation or no pairable units)")
    )
    rows = [
        [
            cell(rid),
            cell(r["level"]),
            cell(r["alpha"], ci_html(r, pointer("agreement", rid), "alpha")),
            *[cell(r[c], key=pointer("agreement", rid, c)) for c in
              ("percent_agreement", "fleiss_kappa", "gwet_ac1", "n_items", "n_judges")],
            cell(r["reason"] or ""),
        ]
        for rid, r in agreement.items()
    ]  # fmt: skip
    headers = ["rubric", "level", "alpha [95% CI]", "% agree (0-4)", "Fleiss κ", "Gwet AC1", "items", "judges", "note"]
    return section("agreement", title, chart + table(headers, rows))


DIAGNOSTIC_COLUMNS = {
    "rubric_id": "rubric", "rubric_version": "version", "judge": "judge", "n_rows": "verdicts",
    "invalid_rate": "invalid rate",
    "loo_alpha": "α vs rest of panel", "loo_spearman": "ρ vs rest of panel", "retest_alpha": "retest α",
    "flagged": "flagged", "mean_error_corr": "mean error corr.", "n_eff": "effective judges",
    "error_basis": "error basis",
}  # fmt: skip


def diagnostics_table(diagnostics: Any) -> str:
    """summary.json ``judges``: per rubric x judge diagnostics from judge/stats/diagnostics.py."""
    if not isinstance(diagnostics, list) or not diagnostics:
        return ""
    columns = [c for c in DIAGNOSTIC_COLUMNS if any(c in r for r in diagnostics)]
    rows = [[cell(_plain(r.get(c)), key=pointer("judges", i, c)) for c in columns] for i, r in enumerate(diagnostics)]
    return "<h3>Per rubric diagnostics</h3>" + table([DIAGNOSTIC_COLUMNS[c] for c in columns], rows)


def _card(c: dict[str, Any], i: int) -> str:
    def k(*parts: str) -> str:
        return pointer("judge_cards", i, *parts)

    lb = c.get("length_bias") or {}
    facts = {
        "verdicts": num(c.get("n_verdicts"), k("n_verdicts")),
        "validity": num(c.get("validity_rate"), k("validity_rate"), 1, scale=100, suffix="%"),
        "abstained": num(c.get("abstention_rate"), k("abstention_rate"), 1, scale=100, suffix="%"),
        "unfound quotes": f"{num(c.get('unfound_quote_rate'), k('unfound_quote_rate'), 1, scale=100, suffix='%')} "
        f"of {num(c.get('n_quoted'), k('n_quoted'))} verdicts' quotes"
        if c.get("n_quoted")
        else "– (no quotes checked)",
        "mean latency": num(c.get("mean_latency_ms"), k("mean_latency_ms"), 0, suffix=" ms"),
        "cost / verdict": num(c.get("cost_per_verdict_usd"), k("cost_per_verdict_usd"), 5, prefix="$"),
        "agreement with panel": f"α {num(c.get('panel_alpha'), k('panel_alpha'))}, "
        f"MAE {num(c.get('panel_mae'), k('panel_mae'))}"
        if c.get("panel_n")
        else "– (no other judge)",
        "length bias": f"{ci_html(lb, k('length_bias'), 'slope')} {esc(lb.get('unit', ''))}"
        if lb.get("slope") is not None
        else "– (no response texts)",
        "consistency (repeats)": num(c["retest_alpha"], k("retest_alpha"))
        if c.get("retest_alpha") is not None
        else f"– ({esc(c.get('retest_reason') or 'undefined')})",
    }
    dl = "".join(f"<dt>{esc(name)}</dt><dd>{value}</dd>" for name, value in facts.items())
    return f'<div class="card"><h3>{esc(c.get("judge"))}</h3><dl>{dl}</dl></div>'


def cards_section(summary: dict[str, Any]) -> tuple[str, str, str]:
    title = "Judge cards"
    cards = summary.get("judge_cards")
    if not cards:
        return section("cards", title, no_data("no verdicts"))
    out = "".join(_card(c, i) for i, c in enumerate(cards))
    return section("cards", title, f'<div class="cards">{out}</div>' + diagnostics_table(summary.get("judges")))


def distribution_section(summary: dict[str, Any]) -> tuple[str, str, str]:
    title = "Score distributions per judge"
    dist = summary.get("score_distributions")
    if not isinstance(dist, dict) or "edges" not in dist:
        return section("distributions", title, no_data("summary.json has no score_distributions"))
    if not dist.get("rows"):
        return section("distributions", title, no_data("no valid verdicts"))
    panels: dict[str, dict[str, Any]] = {}
    for r in dist["rows"]:
        panels.setdefault(rubric_of(r), {})[str(r["judge"])] = r["counts"]
    chart = plots.histograms(panels, dist["edges"], title="normalised severity, share of each judge's verdicts")
    return section("distributions", title, chart)


def calibration_section(data: RunData) -> tuple[str, str, str]:
    """summary.json ``calibration``: rubric_id, kind, rater, n, and mae / spearman / kappa_w each
    with _low/_high."""
    title = "Calibration against gold labels"
    key = "calibration"
    calib = _records(data.summary, key, ("rubric_id", "kind", "rater", "n", "kappa_w", "mae", "spearman"))
    if isinstance(calib, str) or not calib:
        reason = data.texts_note or "the dataset has no gold labels for the graded rubrics in this run"
        return section("calibration", title, no_data(calib if isinstance(calib, str) else reason))
    severity = [r for r in calib if r.get("scale", "severity") == "severity"]  # the chart: severity only
    labels = sorted({rubric_of(r) for r in severity})
    raters = list(dict.fromkeys(r["rater"] for r in sorted(severity, key=lambda r: (r["kind"], r["rater"]))))
    values = {(rubric_of(r), r["rater"]): (r["kappa_w"], r.get("kappa_w_low"), r.get("kappa_w_high"))
              for r in severity}  # fmt: skip
    chart = plots.interval_bars(
        labels, raters, values, title="quadratic weighted kappa against gold (0-4 scale), 95% CI",
        xlabel="weighted kappa", xlim=(-0.2, 1.0),
    )  # fmt: skip
    # Per rubric: the inter-annotator ceiling (annotator pairs) first, then the panel and each judge, so
    # a judge's agreement with gold reads beside the annotators' agreement with each other; then the
    # baselines that read no text (what a judge must beat). The amplification scale follows severity.
    pair_kinds = ("annotators", "human")  # "human": summaries written before the kind was renamed
    rank = {**dict.fromkeys(pair_kinds, 0), "panel": 1, "judge": 2}
    ordered = sorted(enumerate(calib), key=lambda p: (rubric_of(p[1]), p[1].get("scale", "severity") != "severity",
                                                      rank.get(p[1]["kind"], 3), p[1]["rater"]))  # fmt: skip
    kinds = {**dict.fromkeys(pair_kinds, "annotator pair"), "panel": "panel", "judge": "judge", "baseline": "baseline"}

    def rubric_cell(r: dict[str, Any]) -> str:
        scale = r.get("scale", "severity")
        return cell(rubric_of(r) if scale == "severity" else f"{rubric_of(r)} ({scale})")

    rows = [
        [rubric_cell(r), cell(kinds.get(str(r.get("kind")), r.get("kind"))), cell(r["rater"]),
         cell(r["n"], key=pointer(key, i, "n"))]
        + [cell(r[m], ci_html(r, pointer(key, i), m, f"{m}_low", f"{m}_high")) for m in ("mae", "spearman", "kappa_w")]
        for i, r in ordered
    ]  # fmt: skip
    head = ["rubric", "kind", "rater", "items", "MAE (0-4)", "Spearman", "weighted κ"]
    pairs = any(r["kind"] in pair_kinds for r in calib)
    note_text = (
        '<p class="muted">Severity on the 0-4 scale; kappa on 0-4 levels (halves up). [95% CI] when given. '
        + ("Annotator pairs (a~b) compare two annotators' gold labels with each other: the agreement a judge "
           "can hope to reach (who or what the annotators are, people or AI labelling passes, is for the "
           "dataset's datasheet to say). Judges and the panel are compared with the adjudicated label, else the "
           "annotators' mean." if pairs else
           "One set of gold labels: no second annotator, so no inter-annotator ceiling to compare with "
           "(label items with <code>empathy-judge annotate</code>).")
        + (" Baselines read no text: constant (gold's median level), length (response length mapped onto the "
           "other items' gold levels), model (the other items' mean gold for the same model under test)."
           if any(r["kind"] == "baseline" for r in calib) else "")
        + "</p>"
    )  # fmt: skip
    return section("calibration", title, chart + note_text + table(head, rows) + _versions_html(data.summary))


def _versions_html(summary: dict[str, Any]) -> str:
    """summary.json ``version_differences``: one line per pair of versions of a rubric."""
    rows = summary.get("version_differences")
    if not isinstance(rows, list) or not rows:
        return ""
    lines = []
    for i, d in enumerate(rows):
        a, b = f"{d['rubric_id']}@{d['version_a']}", f"{d['rubric_id']}@{d['version_b']}"

        def number(field: str, i: int = i, d: dict[str, Any] = d) -> str:
            signed = field.endswith(("_diff", "_low", "_high")) and d.get(field) is not None
            return num(d.get(field), pointer("version_differences", i, field), prefix="+" if signed and
                       d[field] >= 0 else "")  # fmt: skip

        lines.append(f"<li>{version_line(d, esc(a), esc(b), number)}</li>")
    return ('<h3>Rubric versions against gold</h3><p class="muted">Each version against the one before it on the '
            "same gold-labelled items: b - a with a paired 95% item-bootstrap interval.</p><ul>"
            + "".join(lines) + "</ul>")


def _gold_labels(labels: dict[str, Any], mechanism: str) -> str:
    """An item's gold labels for one mechanism: the adjudicated one, then each annotator's."""
    own = labels.get(mechanism)
    others = [f"{k.split('__', 1)[1]} {v}" for k, v in sorted(labels.items()) if k.startswith(mechanism + "__")]
    text = "" if own is None else str(own)
    return (f"{text} " if text else "") + f"({', '.join(others)})" if others else text or "–"


def disputed_section(data: RunData) -> tuple[str, str, str]:
    """summary.json ``disagreement`` in its ranking, with the items' texts and every verdict's
    rationale (text from the run's verdicts; every number from summary.json)."""
    title = "Most disputed items"
    key = "disagreement"
    disputed = _records(data.summary, key, ("rubric_id", "item_id", "range"))
    if isinstance(disputed, str):
        return section("disputed", title, no_data(disputed))
    if not disputed:
        cards = data.summary.get("judge_cards") or []
        reason = "needs at least two judges" if len(cards) < 2 else "the judges never disagreed"
        return section("disputed", title, no_data(reason))
    texts = {r["id"]: r for r in data.texts.iter_rows(named=True)} if data.texts is not None else {}
    mechanisms = {str(r.get("id")): str(r.get("mechanism")) for r in data.manifest.get("rubrics") or []}
    gold: dict[str, dict[str, Any]] = {}
    if data.items is not None:
        shown = {str(d["item_id"]) for d in disputed}
        columns = [c for c in data.items.columns if c.startswith("gold_")]
        for row in data.items.select("item_id", *columns).iter_rows(named=True):
            if row["item_id"] in shown:
                gold[row["item_id"]] = {c[5:]: v for c, v in row.items() if c != "item_id" and v is not None}
    wanted = {(rubric_of(d), d["item_id"]) for d in disputed}
    rows_by_key: dict[tuple[str, str], list[dict[str, Any]]] = {}
    for r in data.verdicts.sort("judge", "repeat").iter_rows(named=True):
        if (rubric_of(r), r["item_id"]) in wanted:
            rows_by_key.setdefault((rubric_of(r), r["item_id"]), []).append(r)
    rows = []
    for i, d in enumerate(disputed):
        verdicts = rows_by_key.get((rubric_of(d), d["item_id"]), [])
        scores = {j["judge"]: (k, j) for k, j in enumerate(d.get("judges") or [])}
        judged = []
        for judge in sorted({v["judge"] for v in verdicts} | set(scores)):
            k, j = scores.get(judge, (-1, {}))
            score = num(j.get("score"), pointer(key, i, "judges", k, "score")) if j else "no valid verdict"
            lines = "".join(
                f"<br>{'#' + str(v['repeat']) + ' ' if v['repeat'] else ''}"
                f"{'' if v['status'] == 'ok' else esc(v['status']) + ': '}{esc(v['rationale'] or v['error'] or '')}"
                for v in verdicts
                if v["judge"] == judge
            )
            judged.append(f"<p><b>{esc(judge)}</b>: {score}{lines}</p>")
        item = texts.get(d["item_id"], {})
        opener = f'<a href="#items" data-ib-open="{esc(d["item_id"])}\n{esc(rubric_of(d))}">quotes &amp; detail</a>'
        rows.append(
            [
                cell(d["range"], key=pointer(key, i, "range")),
                cell(rubric_of(d)),
                cell(f"{d['item_id']} ({d.get('model', '')})"),
                f"<td>{text_block(item.get('reference') or item.get('source'), 300)}</td>",
                f"<td>{text_block(item.get('response'), 600)}</td>",
                f"<td>{''.join(judged)}</td>",
                cell(_gold_labels(gold.get(d["item_id"], {}), mechanisms.get(str(d["rubric_id"]), ""))),
                f"<td>{opener}</td>",
            ]
        )
    note = f'<p class="muted">Texts unavailable: {esc(data.texts_note)}.</p>' if data.texts_note else ""
    head = ["score range", "rubric", "item (model)", "source / reference", "response", "each judge: score, rationale",
            "gold (0-4)", ""]  # fmt: skip
    intro = '<p class="muted">A judge\'s score is the mean of its valid repeats; ranked per rubric by range.</p>'
    return section("disputed", title, intro + note + table(head, rows))


def problems_section(summary: dict[str, Any]) -> tuple[str, str, str]:
    title = "Invalid and error verdicts"
    problems = summary.get("problems")
    if not isinstance(problems, dict) or "totals" not in problems:
        return section("problems", title, no_data("summary.json has no problems"))
    if not problems["totals"]:
        return section("problems", title, no_data("every verdict was valid"))
    totals = table(
        ["status", "judge", "verdicts"],
        [
            [cell(t["status"]), cell(t["judge"]), cell(t["verdicts"], key=pointer("problems", "totals", i, "verdicts"))]
            for i, t in enumerate(problems["totals"])
        ],
    )
    rows = [
        [
            cell(r["status"]),
            cell(r["judge"]),
            cell(rubric_of(r)),
            cell(r["item_id"]),
            cell(r.get("attempts"), key=pointer("problems", "examples", i, "attempts")),
            f"<td>{text_block(r.get('error'))}</td>",
            f"<td>{text_block(r.get('raw_text'))}</td>",
        ]
        for i, r in enumerate(problems.get("examples") or [])
    ]
    examples = table(["status", "judge", "rubric", "item", "attempts", "error", "raw reply"], rows)
    return section("problems", title, totals + "<h3>Examples</h3>" + examples)


def extra_section(summary: dict[str, Any]) -> tuple[str, str, str] | None:
    extra = {k: v for k, v in summary.items() if k not in KNOWN_KEYS and v not in (None, [], {})}
    if not extra:
        return None
    body = "".join(f"<h3>{esc(k)}</h3>{generic(v, pointer(k))}" for k, v in sorted(extra.items()))
    return section("more", "More from summary.json", body)


# ----------------------------------------------------------------------------------- page


def render(data: RunData) -> str:
    """The page, from summary.json (every number), the manifest and the disputed items' texts."""
    summary = data.summary
    sections = [
        header_section(data),
        heatmap_section(summary),
        severity_section(summary),
        amplification_section(summary),
        paper_section(summary),
        agreement_section(summary),
        cards_section(summary),
        distribution_section(summary),
        calibration_section(data),
        calibration_views_section(summary),
        abstention_section(summary),
        disputed_section(data),
        browser_section(data),
        problems_section(summary),
    ]
    extra = extra_section(summary)
    if extra:
        sections.append(extra)
    run_id = data.manifest.get("run_id") or data.run_dir.name
    nav = "".join(f'<a href="#{a}">{esc(t)}</a>' for a, t, _ in sections)
    written = f'<p class="muted">Written by empathy-judge from {esc(data.run_dir)}.</p>'
    body = "".join(s for _, _, s in sections) + written
    return page(f"empathy-judge run {run_id}", f"empathy-judge run <code>{esc(run_id)}</code>", body,
                css=CSS + static("browser.css"), scripts=(JS, static("browser.js")), nav=nav)  # fmt: skip


def write_report(run_dir: Path, path: Path | None = None, *, n_boot: int = 1000, dataset: Any = None) -> Path:
    """Render the run's report and write it atomically; returns the path written.

    ``dataset``: the run's validated Dataset when the caller holds it, so it is not re-validated.
    ``n_boot``: resamples for the summary when the run has no summary.json.
    """
    if path is None:
        target = run_dir / REPORT_HTML
        atomic_write_text(target, render(load_run(run_dir, dataset, n_boot=n_boot)))
        return target
    output_path(path, "--html")  # refuse a folder before the work of rendering
    return write_output(path, render(load_run(run_dir, dataset, n_boot=n_boot)), "--html")
