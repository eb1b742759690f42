"""report.html: one self-contained page per run for the researcher.

Everything is inline (styles, a few lines of script for sortable tables, charts as SVG), and a
Content-Security-Policy forbids the page any network request, so it opens from a file on an
offline laptop and can be mailed as an attachment. Sections follow whatever data the run has;
a section without data says so instead of drawing an empty chart.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import Any

import polars as pl

from judge.core.taxonomy import DIMENSIONS
from judge.report import plots
from judge.report.assets import CSS, JS
from judge.report.data import (
    RunData,
    agreement_table,
    calibration_table,
    disputed_items,
    load_run,
    ok_rows,
    problem_rows,
    severity_cells,
    severity_overall,
)
from judge.report.markup import (
    _plain,
    cell,
    ci_text,
    esc,
    fmt,
    generic,
    no_data,
    section,
    table,
    text_block,
)
from judge.store.rundir import atomic_write_text

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
    "agreement",
    "paper_metrics",
    "judge_cards",
    "judges",
    "calibration",
    "disagreement",
    "settings",
}


# ------------------------------------------------------------------------------- sections


def header_section(data: RunData) -> tuple[str, str, str]:
    m, s, v = data.manifest, data.summary, data.verdicts
    counts = s.get("counts") or {st: int((v["status"] == st).sum()) for st in ("ok", "invalid", "error", "skipped")}
    cost = s.get("cost_usd", float(v["cost_usd"].fill_null(0).sum()) if v.height else 0.0)
    ds = m.get("dataset") or {}
    facts = {
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
        "cost": f"${cost:.4f}",
        "statistics": ", ".join(f"{k} {val}" for k, val in (s.get("settings") or {}).items()) or "defaults",
    }
    parts = [table(["", ""], [[cell(k), cell(val)] for k, val in facts.items()], sortable=False, cls="kv")]
    parts.append("<h3>Verdicts by status</h3>")
    parts.append(table(list(counts), [[cell(counts[k]) for k in counts]], sortable=False))
    rubrics = m.get("rubrics") or []
    parts.append("<h3>Rubrics</h3>")
    parts.append(
        table(
            ["rubric", "version", "mechanism", "family", "rubric hash", "prompt", "prompt hash"],
            [
                [
                    cell(r.get("id")),
                    cell(r.get("version")),
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
                    cell(j.get("max_concurrency")),
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


def heatmap_section(cells: pl.DataFrame) -> tuple[str, str, str]:
    title = "Severity: mechanism × dimension, per model under test"
    if cells.is_empty():
        return section("heatmap", title, no_data("no valid verdicts"))
    parts = [
        '<p class="muted">Mean panel severity (0 = faithful, 1 = severe); (n) items. '
        "Grey cells: no items of that dimension.</p>"
    ]
    charts: list[str] = []
    rubric_rows = cells.select("rubric_id", "mechanism").unique().sort("rubric_id").rows()
    dims = [d for d in DIMENSIONS if d in set(cells["dimension"])] + sorted(set(cells["dimension"]) - set(DIMENSIONS))
    for model in sorted(set(cells["model"])):
        sub = {
            (r["rubric_id"], r["dimension"]): r for r in cells.filter(pl.col("model") == model).iter_rows(named=True)
        }
        values = [[(sub.get((rid, d)) or {}).get("mean") for d in dims] for rid, _ in rubric_rows]
        notes = [
            [
                f"{fmt(c['mean'])} ({c['n_scored']})" if (c := sub.get((rid, d))) and c["mean"] is not None else ""
                for d in dims
            ]
            for rid, _ in rubric_rows
        ]
        labels = [_rubric_label(rid, mech) for rid, mech in rubric_rows]
        charts.append(plots.heatmap(labels, dims, values, notes, f"model: {model}"))
    return section("heatmap", title, "".join(parts) + f'<div class="charts">{"".join(charts)}</div>')


def severity_section(overall: pl.DataFrame) -> tuple[str, str, str]:
    title = "Severity per mechanism, per model (95% CI)"
    if overall.is_empty():
        return section("severity", title, no_data("no valid verdicts"))
    rubric_rows = overall.select("rubric_id", "mechanism").unique().sort("rubric_id").rows()
    labels = [_rubric_label(rid, mech) for rid, mech in rubric_rows]
    models = sorted(set(overall["model"]))
    values = {
        (_rubric_label(r["rubric_id"], r["mechanism"]), r["model"]): (r["mean"], r["ci_low"], r["ci_high"])
        for r in overall.iter_rows(named=True)
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
            cell(r["rubric_id"]),
            cell(r["model"]),
            cell(r["mean"], ci_text(r["mean"], r["ci_low"], r["ci_high"])),
            cell(r["n_scored"]),
            cell(r["n_below_quorum"]),
        ]
        for r in overall.iter_rows(named=True)
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
        return section("paper", title, generic(metrics))  # a shape this page does not know yet

    def model(r: dict[str, Any]) -> str:
        return r.get("model") or "all models"

    panel = [r for r in rows if r["scope"] == "panel"]
    # The compression rates share one scale (share lost; negative = amplified): one chart.
    compress = [r for r in panel if "compression" in r["metric"]]
    chart = ""
    if any(r["value"] is not None for r in compress):
        labels = list(dict.fromkeys(r["metric"] for r in compress))
        models = sorted({model(r) for r in compress}, key=lambda m: (m != "all models", m))
        values = {(r["metric"], model(r)): (r["value"], r["ci_low"], r["ci_high"]) for r in compress}
        chart = plots.interval_bars(
            labels, models, values, title="compression rates, panel (95% CI)",
            xlabel="share of reference intensity / aversive detail lost (negative = amplified)", xlim=None,
        )  # fmt: skip

    def table_of(subset: list[dict[str, Any]]) -> str:
        body = [
            [cell(r["metric"]), cell(r.get("rubric_id")), cell(r.get("judge") or "panel"), cell(model(r)),
             cell(r["value"], ci_text(r["value"], r["ci_low"], r["ci_high"])), cell(r.get("n_defined")),
             cell(r.get("n_items")), cell(", ".join(r.get("dropped") or []) or (r.get("reason") or ""))]
            for r in subset
        ]  # fmt: skip
        head = ["metric", "rubric", "judge", "model", "value [95% CI]", "defined", "items", "note"]
        return table(head, body)

    judges = [r for r in rows if r["scope"] != "panel"]
    parts = [chart, "<h3>Panel</h3>", table_of(panel) if panel else no_data("no panel-level paper metrics")]
    if judges:
        parts.append(f"<details><summary>per judge ({len(judges)} rows)</summary>{table_of(judges)}</details>")
    settings = metrics.get("settings")
    if isinstance(settings, dict):
        parts.append(f'<p class="muted">{esc(", ".join(f"{k}: {v}" for k, v in settings.items()))}</p>')
    return section("paper", title, "".join(parts))


def agreement_section(agree: pl.DataFrame, summary: dict[str, Any], n_judges: int) -> tuple[str, str, str]:
    title = "Inter-judge agreement per rubric"
    if agree.is_empty():
        if n_judges < 2:
            return section("agreement", title, no_data("agreement needs at least two judges; this run has one"))
        return section(
            "agreement",
            title,
            generic(summary.get("agreement")) if summary.get("agreement") else no_data("no valid verdicts"),
        )
    values = {(r["rubric_id"], "alpha"): (r["alpha"], r["ci_low"], r["ci_high"]) for r in agree.iter_rows(named=True)}
    labels = agree["rubric_id"].to_list()
    plotted = [k for k, v in values.items() if v[0] is not None]
    chart = (
        plots.interval_bars(
            labels,
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
            cell(r["rubric_id"]),
            cell(r["level"]),
            cell(r["alpha"], ci_text(r["alpha"], r["ci_low"], r["ci_high"])),
            cell(r["percent_agreement"]),
            cell(r["fleiss_kappa"]),
            cell(r["gwet_ac1"]),
            cell(r["n_items"]),
            cell(r["n_judges"]),
            cell(r["reason"] or ""),
        ]
        for r in agree.iter_rows(named=True)
    ]
    headers = ["rubric", "level", "alpha [95% CI]", "% agree (0-4)", "Fleiss κ", "Gwet AC1", "items", "judges", "note"]
    return section("agreement", title, chart + table(headers, rows))


DIAGNOSTIC_COLUMNS = {
    "rubric_id": "rubric", "judge": "judge", "n_rows": "verdicts", "invalid_rate": "invalid rate",
    "loo_alpha": "α vs rest of panel", "loo_spearman": "ρ vs rest of panel", "retest_alpha": "retest α",
    "flagged": "flagged", "mean_error_corr": "mean error corr.", "n_eff": "effective judges",
    "error_basis": "error basis",
}  # fmt: skip


def diagnostics_table(diagnostics: Any) -> str:
    """summary.json ``judges``: per rubric x judge diagnostics from judge/diagnostics.py."""
    if not isinstance(diagnostics, list) or not diagnostics:
        return ""
    columns = [c for c in DIAGNOSTIC_COLUMNS if any(c in r for r in diagnostics)]
    rows = [[cell(_plain(r.get(c))) for c in columns] for r in diagnostics]
    return "<h3>Per rubric diagnostics</h3>" + table([DIAGNOSTIC_COLUMNS[c] for c in columns], rows)


def cards_section(cards: list[dict[str, Any]] | None, diagnostics: Any = None) -> tuple[str, str, str]:
    title = "Judge cards"
    if not cards:
        return section("cards", title, no_data("no verdicts"))
    out = []
    for c in cards:
        lb = c.get("length_bias") or {}
        facts = {
            "verdicts": c.get("n_verdicts"),
            "validity": f"{fmt(100 * c['validity_rate'], 1)}%" if c.get("validity_rate") is not None else "–",
            "mean latency": f"{fmt(c.get('mean_latency_ms'), 0)} ms" if c.get("mean_latency_ms") is not None else "–",
            "cost / verdict": f"${c['cost_per_verdict_usd']:.5f}" if c.get("cost_per_verdict_usd") is not None else "–",
            "agreement with panel": f"α {fmt(c.get('panel_alpha'))}, MAE {fmt(c.get('panel_mae'))}"
            if c.get("panel_n")
            else "– (no other judge)",
            "length bias": f"{ci_text(lb.get('slope'), lb.get('ci_low'), lb.get('ci_high'))} {lb.get('unit', '')}"
            if lb.get("slope") is not None
            else "– (no response texts)",
            "consistency (repeats)": fmt(c.get("retest_alpha"))
            if c.get("retest_alpha") is not None
            else f"– ({c.get('retest_reason') or 'undefined'})",
        }
        dl = "".join(f"<dt>{esc(k)}</dt><dd>{esc(v)}</dd>" for k, v in facts.items())
        out.append(f'<div class="card"><h3>{esc(c["judge"])}</h3><dl>{dl}</dl></div>')
    return section("cards", title, f'<div class="cards">{"".join(out)}</div>' + diagnostics_table(diagnostics))


def distribution_section(verdicts: pl.DataFrame) -> tuple[str, str, str]:
    title = "Score distributions per judge"
    ok = ok_rows(verdicts)
    if ok.is_empty():
        return section("distributions", title, no_data("no valid verdicts"))
    panels: dict[str, dict[str, Any]] = {}
    for (rubric_id, judge), frame in ok.sort("rubric_id", "judge").group_by("rubric_id", "judge", maintain_order=True):
        panels.setdefault(str(rubric_id), {})[str(judge)] = frame["score"].to_numpy()
    return section(
        "distributions", title, plots.histograms(panels, title="normalised severity, share of each judge's verdicts")
    )


def calibration_section(calib: pl.DataFrame, note: str | None) -> tuple[str, str, str]:
    """``calib``: rubric_id, kind, rater, n, and mae / spearman / kappa_w each with _low/_high."""
    title = "Calibration against gold labels"
    if calib.is_empty():
        reason = note or "the dataset has no gold labels for the graded rubrics in this run"
        return section("calibration", title, no_data(reason))

    def get(r: dict[str, Any], key: str) -> Any:
        return r.get(key)

    labels = sorted(set(calib["rubric_id"]))
    raters = list(dict.fromkeys(calib.sort("kind", "rater")["rater"].to_list()))
    values: dict[tuple[str, str], tuple[float | None, float | None, float | None]] = {
        (r["rubric_id"], r["rater"]): (r["kappa_w"], get(r, "kappa_w_low"), get(r, "kappa_w_high"))
        for r in calib.iter_rows(named=True)
    }
    chart = plots.interval_bars(
        labels, raters, values, title="quadratic weighted kappa against gold (0-4 scale), 95% CI",
        xlabel="weighted kappa", xlim=(-0.2, 1.0),
    )  # fmt: skip
    rows = [
        [cell(r["rubric_id"]), cell(r.get("kind")), cell(r["rater"]), cell(r["n"])]
        + [cell(r[m], ci_text(r[m], get(r, f"{m}_low"), get(r, f"{m}_high"))) for m in ("mae", "spearman", "kappa_w")]
        for r in calib.iter_rows(named=True)
    ]
    head = ["rubric", "kind", "rater", "items", "MAE (0-4)", "Spearman", "weighted κ"]
    note_text = '<p class="muted">Severity on the 0-4 scale; kappa on rounded severities. [95% CI] when given.</p>'
    return section("calibration", title, chart + note_text + table(head, rows))


def disputed_section(data: RunData, disputed: pl.DataFrame) -> tuple[str, str, str]:
    title = "Most disputed items"
    if disputed.is_empty():
        reason = "needs at least two judges" if data.verdicts["judge"].n_unique() < 2 else "the judges never disagreed"
        return section("disputed", title, no_data(reason))
    texts = {}
    if data.items is not None:  # only the disputed items' rows become Python dicts, not every item's
        wanted = data.items.filter(pl.col("id").is_in(disputed["item_id"].implode()))
        texts = {r["id"]: r for r in wanted.iter_rows(named=True)}
    keys = disputed.select("rubric_id", "item_id")
    rows_by_key: dict[tuple[str, str], list[dict[str, Any]]] = {}
    detail = data.verdicts.join(keys, on=["rubric_id", "item_id"], how="inner").sort("judge", "repeat")
    for r in detail.iter_rows(named=True):
        rows_by_key.setdefault((r["rubric_id"], r["item_id"]), []).append(r)
    rows = []
    for d in disputed.iter_rows(named=True):
        verdicts = rows_by_key.get((d["rubric_id"], d["item_id"]), [])
        judged = "".join(
            f"<p><b>{esc(v['judge'])}</b>{' #' + str(v['repeat']) if v['repeat'] else ''}: "
            f"{esc(fmt(v['score']) if v['status'] == 'ok' else v['status'])}<br>"
            f"{esc(v['rationale'] or v['error'] or '')}</p>"
            for v in verdicts
        )
        item = texts.get(d["item_id"], {})
        model = verdicts[0]["model"] if verdicts else ""
        rows.append(
            [
                cell(d["range"]),
                cell(d["rubric_id"]),
                cell(f"{d['item_id']} ({model})"),
                f"<td>{text_block(item.get('reference') or item.get('source'), 300)}</td>",
                f"<td>{text_block(item.get('response'), 600)}</td>",
                f"<td>{judged}</td>",
            ]
        )
    note = f'<p class="muted">Texts unavailable: {esc(data.items_note)}.</p>' if data.items is None else ""
    head = [
        "score range",
        "rubric",
        "item (model)",
        "source / reference",
        "response",
        "each judge: score and rationale",
    ]
    return section("disputed", title, note + table(head, rows))


def problems_section(verdicts: pl.DataFrame) -> tuple[str, str, str]:
    title = "Invalid and error verdicts"
    bad = problem_rows(verdicts)
    if bad.is_empty():
        return section("problems", title, no_data("every verdict was valid"))
    totals = (
        verdicts.filter(pl.col("status").is_in(["invalid", "error"]))
        .group_by("status", "judge")
        .len()
        .sort("status", "judge")
    )
    summary_table = table(
        ["status", "judge", "verdicts"], [[cell(s), cell(j), cell(n)] for s, j, n in totals.iter_rows()]
    )
    rows = [
        [
            cell(r["status"]),
            cell(r["judge"]),
            cell(r["rubric_id"]),
            cell(r["item_id"]),
            cell(r["attempts"]),
            f"<td>{text_block(r['error'])}</td>",
            f"<td>{text_block(r['raw_text'])}</td>",
        ]
        for r in bad.iter_rows(named=True)
    ]
    examples = table(["status", "judge", "rubric", "item", "attempts", "error", "raw reply"], rows)
    return section("problems", title, summary_table + "<h3>Examples</h3>" + examples)


def extra_section(summary: dict[str, Any]) -> tuple[str, str, str] | None:
    extra = {k: v for k, v in summary.items() if k not in KNOWN_KEYS}
    if not extra:
        return None
    body = "".join(f"<h3>{esc(k)}</h3>{generic(v)}" for k, v in sorted(extra.items()))
    return section("more", "More from summary.json", body)


# ----------------------------------------------------------------------------------- page


AGREE_COLUMNS = ("rubric_id", "level", "alpha", "ci_low", "ci_high", "percent_agreement", "fleiss_kappa",
                 "gwet_ac1", "n_items", "n_judges", "reason")  # fmt: skip


def _records_frame(records: Any, *, needs: Sequence[str]) -> pl.DataFrame | None:
    """A summary.json list of records as a frame, if it has every needed key; else None."""
    if not isinstance(records, list) or not records or not all(isinstance(r, dict) for r in records):
        return None
    if not all(all(k in r for k in needs) for r in records):
        return None
    return pl.DataFrame(records, infer_schema_length=None)


def render(data: RunData, *, n_boot: int = 1000) -> str:
    from judge.stats.cards import judge_cards, response_lengths

    v, summary = data.verdicts, data.summary
    settings = summary.get("settings")
    if isinstance(settings, dict) and isinstance(settings.get("n_boot"), int):
        n_boot = settings["n_boot"]  # the CIs computed here match those summary.json carries
    cards = summary.get("judge_cards")
    if cards is None:
        lengths = response_lengths(data.items) if data.items is not None else None
        cards = judge_cards(v, lengths, n_boot=n_boot) if v.height else []
    # Numbers already in summary.json are shown as they are (same settings, same CIs); only
    # what is missing there is computed from the verdicts.
    cells = _records_frame(summary.get("scores_by_model"), needs=("model", "dimension", "mean", "n_scored"))
    if cells is None:
        cells = severity_cells(v, n_boot=n_boot)
    agreement = summary.get("agreement")
    agree = _records_frame(list(agreement.values()) if isinstance(agreement, dict) else None, needs=AGREE_COLUMNS)
    if agree is None:
        agree = agreement_table(v, n_boot=n_boot)
    calib = _records_frame(summary.get("calibration"), needs=("rubric_id", "kind", "rater", "n", "kappa_w"))
    if calib is None:
        calib = calibration_table(v, data.items)
    sections = [
        header_section(data),
        heatmap_section(cells),
        severity_section(severity_overall(v, n_boot=n_boot)),
        paper_section(summary),
        agreement_section(agree, summary, v["judge"].n_unique() if v.height else 0),
        cards_section(cards, summary.get("judges")),
        distribution_section(v),
        calibration_section(calib, data.items_note),
        disputed_section(data, disputed_items(v)),
        problems_section(v),
    ]
    extra = extra_section(data.summary)
    if extra:
        sections.append(extra)
    run_id = data.manifest.get("run_id") or data.run_dir.name
    nav = "".join(f'<a href="#{a}">{esc(t)}</a>' for a, t, _ in sections)
    body = "".join(s for _, _, s in sections)
    # The CSP is the guarantee behind "offline": the browser refuses any fetch the page might try.
    csp = "default-src 'none'; style-src 'unsafe-inline'; script-src 'unsafe-inline'; img-src data:"
    return (
        "<!DOCTYPE html>\n"
        f'<html lang="en"><head><meta charset="utf-8">'
        f'<meta http-equiv="Content-Security-Policy" content="{csp}">'
        '<meta name="viewport" content="width=device-width, initial-scale=1">'
        '<link rel="icon" href="data:,">'
        f"<title>empathy-judge run {esc(run_id)}</title><style>{CSS}</style></head><body>"
        f"<h1>empathy-judge run <code>{esc(run_id)}</code></h1><nav>{nav}</nav>{body}"
        f'<p class="muted">Written by empathy-judge from {esc(data.run_dir)}.</p>'
        f"<script>{JS}</script></body></html>\n"
    )


def write_report(run_dir: Path, path: Path | None = None, *, n_boot: int = 1000, dataset: Any = None) -> Path:
    """Render the run's report and write it atomically; returns the path written.

    ``dataset``: the run's validated Dataset when the caller holds it, so it is not re-validated.
    """
    target = path or run_dir / REPORT_HTML
    target.parent.mkdir(parents=True, exist_ok=True)
    atomic_write_text(target, render(load_run(run_dir, dataset), n_boot=n_boot))
    return target
