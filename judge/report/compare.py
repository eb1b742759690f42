"""``empathy-judge compare`` as views: load two run directories, compare them with
``judge.stats.compare``, add the moved items' texts, and render Markdown or one HTML page.

Every number shown comes from the comparison result (``judge.stats.compare``); this module reads
runs and formats, nothing else.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from judge.core.records import rubric_ref
from judge.report.assets import CSS, JS
from judge.report.markup import cell, esc, no_data, page, section, table, text_block
from judge.report.versions import version_line
from judge.stats.compare import Allow, RunSide, compare
from judge.stats.gate import GateRules
from judge.stats.movement import moved_ids
from judge.store.reader import read_manifest, read_run

# The verdict columns compare reads: the item-panel reducer's, rationales (movement), and what
# judge health reads for runs older than its record (errors, response format).
COLUMNS = ("item_id", "rubric_id", "rubric_version", "family", "mechanism", "dimension", "model", "judge", "repeat",
           "status", "score", "amplification", "rationale", "error", "response_format")  # fmt: skip


def load_side(run_dir: Path) -> RunSide:
    """A run directory as compare's input: verdicts, the plan facts compare checks, agreement."""
    run = read_run(run_dir, columns=COLUMNS)
    m = run.manifest
    return RunSide(
        name=str(run_dir),
        verdicts=run.verdicts,
        rubric_hashes={r.ref: r.hash for r in m.rubrics},
        judges={j.label: j.hash for j in m.judges},
        dataset=m.dataset.hash,
        sample=(m.sample.n, m.sample.seed) if m.sample is not None else None,
        limit=m.limit,
        status=m.status,
        agreement=run.summary.agreement if run.summary is not None else {},
        calibration=run.summary.calibration if run.summary is not None else [],
        health=m.health.to_dict() if m.health is not None else _computed_health(run.verdicts),
    )


def _computed_health(verdicts: Any) -> dict[str, Any]:
    """Judge health of a run recorded before runs kept it (format < 4), with the default threshold."""
    from judge.inputs.config import DEFAULT_MAX_ERROR_SHARE
    from judge.stats.health import judge_health

    return judge_health(verdicts, DEFAULT_MAX_ERROR_SHARE)


def run_items(run_dir: Path) -> Any:
    """The run's items table (texts, gold labels), or, for a run written before items tables, the
    one rebuilt from its dataset when that is unchanged; None when neither can be had."""
    from judge.report.data import dataset_items
    from judge.store.items import has_items, read_items

    if has_items(run_dir):
        return read_items(run_dir, read_manifest(run_dir).dataset.gold_columns)
    return dataset_items(run_dir)[0]


def dataset_gold(run_dir: Path) -> Any:
    """The gold labels of the run's items (``id`` and the gold_* columns), or None."""
    import polars as pl

    gold = read_manifest(run_dir).dataset.gold_columns
    items = run_items(run_dir) if gold else None
    return items.select(pl.col("item_id").alias("id"), *gold) if items is not None else None


def item_texts(run_dir: Path, ids: set[str]) -> dict[str, dict[str, str]]:
    """Source and response of the given items, from the run's items table."""
    import polars as pl

    items = run_items(run_dir) if ids else None
    if items is None:
        return {}
    rows = items.filter(pl.col("item_id").is_in(list(ids))).select("item_id", "source", "response")
    return {r["item_id"]: {"source": r["source"], "response": r["response"]} for r in rows.iter_rows(named=True)}


def compare_runs(
    baseline: Path,
    new: Path,
    *,
    delta: float | None,
    rules: GateRules | None = None,
    allow: Allow | None = None,
) -> dict[str, Any]:
    """Compare two run directories; moved items carry their texts (from the new run's dataset,
    else the baseline's)."""
    gold = dataset_gold(new)
    result = compare(load_side(baseline), load_side(new), delta=delta, rules=rules, allow=allow,
                     gold=gold if gold is not None else dataset_gold(baseline))  # fmt: skip
    movement = result["movement"]
    ids = moved_ids(movement)
    texts = item_texts(new, ids) or item_texts(baseline, ids)
    for row in (*movement["moved"], *movement["flipped"]):
        row.update(texts.get(row["item_id"], {}))
    return result


# ------------------------------------------------------------------------------- Markdown


def _ref(row: dict[str, Any]) -> str:
    """A row's rubric as its ref; ``sa-graded@1->2`` when a baseline version was compared with another."""
    ref = rubric_ref(row["rubric_id"], row["rubric_version"])
    before = row.get("baseline_version")
    return f"{ref[: -len(str(row['rubric_version']))]}{before}->{row['rubric_version']}" if (
        before is not None and before != row["rubric_version"]) else ref  # fmt: skip


def _f(value: float | None, sign: bool = False) -> str:
    return "-" if value is None else (f"{value:+.3f}" if sign else f"{value:.3f}")


def _p(value: float | None) -> str:
    return "-" if value is None else f"{value:.4f}" if value >= 0.0001 else "<0.0001"


def gate_summary(result: dict[str, Any]) -> str:
    """One line: what the gate decided, and why."""
    gate, primary = result["gate"], result["primary"]
    status = gate["status"]
    if status == "off":
        return "No regression gate set (`--fail-on-regression`); the primary cells are tested for information."
    if status == "unhealthy":
        return "**Gate: UNHEALTHY** - the comparison cannot vouch for the new run: " + "; ".join(gate["problems"]) + "."
    if status == "regression":
        names = ", ".join(_ref(c) for c in result["regressions"])
        return (f"**Gate: REGRESSION** in {len(result['regressions'])} of {gate['n_tested']} tested primary cells "
                f"({names}): Holm-adjusted p <= {gate['alpha']:g} and an increase above {gate['min_effect']:g}.")
    return (f"**Gate: pass** - no primary cell rose beyond noise by more than {gate['min_effect']:g} "
            f"({gate['n_tested']} of {len(primary)} cells tested at family-wise alpha {gate['alpha']:g}).")


def rules_note(result: dict[str, Any]) -> str:
    g = result["gate"]
    return (
        f"Primary cells: one per rubric version, dimensions and models pooled; diff = new - baseline in normalised "
        f"severity [0, 1], paired by item x rubric x model. p: one-sided sign-flip permutation test of no increase "
        f"({g['n_boot']:,} flips, seed {g['seed']}); Holm p: adjusted over the {g['n_tested']} tested cells "
        f"(family-wise alpha {g['alpha']:g}). A cell is tested with at least {g['min_items']} paired items and gates "
        f"when its Holm p <= alpha and its increase is above {g['min_effect']:g}. CI: item bootstrap, "
        f"{g['n_boot']:,} resamples. Amplified: the share of paired items whose panel amplification (the opposite "
        "error, graded v3) is level 2 or more of 4, baseline -> new, with the paired difference; shown beside "
        "severity, never gated."
    )


def markdown(result: dict[str, Any]) -> str:
    head = f"## empathy-judge: severity change\n\n{gate_summary(result)}\n\n"
    status = result["status"]
    head += f"`{result['baseline']}` ({status['baseline']}) -> `{result['new']}` ({status['new']})\n\n"
    for kind, items in result["differences"].items():
        head += f"Allowed difference ({kind}): {'; '.join(items)}.\n\n"
    rows = [
        "### Primary cells (the gate's family)",
        "",
        "| rubric | mechanism | items | baseline | new | diff | 95% CI | p | Holm p | | amplified (diff [95% CI]) |",
        "|---|---|---:|---:|---:|---:|---|---:|---:|---|---|",
    ]
    for c in result["primary"]:
        mark = "REGRESSION" if c["regression"] else "" if c["tested"] and c["p_holm"] is not None else "not tested"
        rows.append(
            f"| {_ref(c)} | {c['mechanism']} | {c['n_items']} | {_f(c['baseline_mean'])} | {_f(c['new_mean'])} | "
            f"{_f(c['diff'], True)} | [{_f(c['ci_low'], True)}, {_f(c['ci_high'], True)}] | {_p(c['p_value'])} | "
            f"{_p(c['p_holm'])} | {mark} | {_amplified(c)} |"
        )
    rows += ["", rules_note(result), "",
             "### Exploratory cells (rubric x dimension x model; unadjusted, never gate)", "",
             "| rubric | dimension | model | items | baseline | new | diff | 95% CI | p | amplified (diff [95% CI]) |",
             "|---|---|---|---:|---:|---:|---:|---|---:|---|"]  # fmt: skip
    for c in result["exploratory"]:
        rows.append(
            f"| {_ref(c)} | {c['dimension']} | {c['model']} | {c['n_items']} | {_f(c['baseline_mean'])} | "
            f"{_f(c['new_mean'])} | {_f(c['diff'], True)} | [{_f(c['ci_low'], True)}, {_f(c['ci_high'], True)}] | "
            f"{_p(c['p_value'])} | {_amplified(c)} |"
        )
    agree = ["", "### Inter-judge agreement", "",
             "| rubric | baseline alpha | new alpha | change | % agreement change |",
             "|---|---:|---:|---:|---:|"]  # fmt: skip
    for a in result["agreement"]:
        agree.append(
            f"| {_ref(a)} | {_f(a['baseline_alpha'])} | {_f(a['new_alpha'])} | {_f(a['change'], True)} "
            f"| {_f(a['percent_agreement_change'], True)} |"
        )
    return (head + "\n".join(rows) + "\n" + "\n".join(agree) + "\n" + gold_markdown(result["calibration"])
            + movement_markdown(result["movement"]))  # fmt: skip


def _amplified(c: dict[str, Any]) -> str:
    """A cell's amplification rate before -> after, with the paired difference and its CI; "-"
    for rubrics without an amplification scale."""
    if not c.get("n_amplification"):
        return "-"
    return (f"{_f(c['baseline_amplification_rate'])} -> {_f(c['new_amplification_rate'])} "
            f"({_f(c['amplification_rate_diff'], True)} [{_f(c['amplification_rate_diff_ci_low'], True)}, "
            f"{_f(c['amplification_rate_diff_ci_high'], True)}])")  # fmt: skip


def _ci(row: dict[str, Any], metric: str) -> str:
    low, high = row.get(metric + "_low"), row.get(metric + "_high")
    return _f(row.get(metric)) + (f" [{_f(low)}, {_f(high)}]" if low is not None else "")


def _version_line(d: dict[str, Any]) -> str:
    a = f"{d['rubric_id']}@{d['baseline_version']} (baseline)"
    return version_line(d, a, f"{d['rubric_id']}@{d['rubric_version']} (new)") + (
        "; new - baseline, paired 95% item-bootstrap interval.")


def gold_markdown(calibration: dict[str, Any]) -> str:
    """Agreement with gold per rubric version (each run's summary) and the paired differences."""
    rows = [(side, r) for side in ("baseline", "new") for r in calibration.get(side) or []]
    if not rows and not calibration.get("differences"):
        return ""
    lines = ["", "### Agreement with gold labels (panel)", "",
             "| rubric | run | items | weighted kappa [95% CI] | Spearman | MAE (0-4) |", "|---|---|---:|---|---|---|"]
    for side, r in rows:
        lines.append(
            f"| {_ref(r)} | {side} | {r['n']} | {_ci(r, 'kappa_w')} | {_ci(r, 'spearman')} | {_ci(r, 'mae')} |"
        )
    lines += [""] + [f"- {_version_line(d)}" for d in calibration.get("differences") or []]
    return "\n".join(lines) + "\n"


def _snip(text: str | None, n: int = 70) -> str:
    if not text:
        return ""
    flat = " ".join(text.split()).replace("|", "/")
    return flat if len(flat) <= n else flat[: n - 1] + "…"


def movement_markdown(movement: dict[str, Any], *, limit: int = 10) -> str:
    lines = [
        "",
        f"### Items that moved most ({movement['n_flipped']} of {movement['n_paired']} item x rubric pairs flipped "
        f"across severity {movement['failure_line']})",
        "",
        "| item | rubric | model | baseline | new | shift | flipped | response |",
        "|---|---|---|---:|---:|---:|---|---|",
    ]
    for m in movement["moved"][:limit]:
        lines.append(
            f"| {m['item_id']} | {_ref(m)} | {m['model']} | {m['baseline']:.2f} | {m['new']:.2f} | "
            f"{m['shift']:+.2f} | {'yes' if m['flipped'] else ''} | {_snip(m['response'])} |"
        )
    if movement["flipped"]:
        ids = ", ".join(f"{m['item_id']} ({_ref(m)})" for m in movement["flipped"][:30])
        more = len(movement["flipped"]) - 30
        lines += ["", f"Flipped: {ids}" + (f", and {more} more" if more > 0 else "") + "."]
    return "\n".join(lines) + "\n"


# ----------------------------------------------------------------------------------- HTML


def _num(value: float | None, shown: str) -> str:
    return cell(value, esc(shown)) if value is not None else cell(shown)


def _ci_cell(c: dict[str, Any]) -> str:
    return cell(f"[{_f(c['ci_low'], True)}, {_f(c['ci_high'], True)}]")


def html_page(result: dict[str, Any]) -> str:
    """A self-contained page in the report's style (same shell, CSP and sortable tables): the gate
    and its rules, the primary cells it tested, the exploratory cells, each rubric's agreement
    before and after, each version's agreement with gold and their paired difference, and the
    items that moved most and that flipped, with their texts and both runs' rationales. Every
    number is the comparison result's."""
    status = result["gate"]["status"]
    verdict = esc(gate_summary(result).replace("**", ""))
    intro = (f"<p>{esc(result['baseline'])} &rarr; {esc(result['new'])}.</p>"
             f'<p class="gate {esc(status)}"><b>{verdict}</b></p>')  # fmt: skip
    for kind, items in result["differences"].items():
        intro += f'<p class="muted">Allowed difference ({esc(kind)}): {esc("; ".join(items))}.</p>'
    primary_rows = [
        [cell(_ref(c)), cell(c["mechanism"]), cell(c["n_items"], esc(c["n_items"])),
         _num(c["baseline_mean"], _f(c["baseline_mean"])), _num(c["new_mean"], _f(c["new_mean"])),
         _num(c["diff"], _f(c["diff"], True)), _ci_cell(c), _num(c["p_value"], _p(c["p_value"])),
         _num(c["p_holm"], _p(c["p_holm"])), cell("REGRESSION" if c["regression"] else c["reason"]),
         cell(_amplified(c))]
        for c in result["primary"]
    ]  # fmt: skip
    primary = section("primary", "Primary cells: what the gate tested", (
        f'<p class="muted">{esc(rules_note(result))}</p>'
        + table(["rubric", "mechanism", "items", "baseline", "new", "diff", "95% CI", "p", "Holm p", "decision",
                 "amplified (diff [95% CI])"], primary_rows)
    ))  # fmt: skip
    exploratory_rows = [
        [cell(_ref(c)), cell(c["dimension"]), cell(c["model"]), cell(c["n_items"], esc(c["n_items"])),
         _num(c["baseline_mean"], _f(c["baseline_mean"])), _num(c["new_mean"], _f(c["new_mean"])),
         _num(c["diff"], _f(c["diff"], True)), _ci_cell(c), _num(c["p_value"], _p(c["p_value"])),
         cell(_amplified(c))]
        for c in result["exploratory"]
    ]  # fmt: skip
    exploratory = section("exploratory", "Exploratory cells: rubric × dimension × model", (
        '<p class="muted">Unadjusted p-values and intervals, for reading: these cells never gate.</p>'
        + table(["rubric", "dimension", "model", "items", "baseline", "new", "diff", "95% CI", "p",
                 "amplified (diff [95% CI])"], exploratory_rows)
    ))  # fmt: skip
    agreement_rows = [
        [cell(_ref(a)), _num(a["baseline_alpha"], _f(a["baseline_alpha"])), _num(a["new_alpha"], _f(a["new_alpha"])),
         _num(a["change"], _f(a["change"], True)),
         _num(a["percent_agreement_change"], _f(a["percent_agreement_change"], True))]
        for a in result["agreement"]
    ]  # fmt: skip
    agreement = section("agreement", "Inter-judge agreement before and after", (
        '<p class="muted">Krippendorff\'s alpha across judges per rubric, from each run\'s summary.json.</p>'
        + (table(["rubric", "baseline α", "new α", "change", "% agreement change"], agreement_rows)
           if agreement_rows else no_data("neither run has agreement figures (one judge, or no summary)"))
    ))  # fmt: skip
    calibration = result.get("calibration") or {}
    gold_rows = [
        [cell(_ref(r)), cell(side), cell(r["n"], esc(r["n"])), cell(_ci(r, "kappa_w")), cell(_ci(r, "spearman")),
         cell(_ci(r, "mae"))]
        for side in ("baseline", "new") for r in calibration.get(side) or []
    ]  # fmt: skip
    lines = "".join(f"<li>{esc(_version_line(d))}</li>" for d in calibration.get("differences") or [])
    gold = section("gold", "Agreement with gold labels (panel)", (
        (table(["rubric", "run", "items", "weighted κ [95% CI]", "Spearman", "MAE (0-4)"], gold_rows)
         if gold_rows else no_data("neither run's dataset has gold labels for these rubrics"))
        + (f"<ul>{lines}</ul>" if lines else "")
    ))  # fmt: skip
    movement = result["movement"]
    moved = section("moved", "Items that moved most", (
        f'<p class="muted">{esc(movement["n_flipped"])} of {esc(movement["n_paired"])} item x rubric pairs flipped '
        f"across severity {esc(movement['failure_line'])}; flipped rows are marked.</p>"
        + _movement_table(movement["moved"])
    ))  # fmt: skip
    flipped = section("flipped", "Items that flipped", _movement_table(movement["flipped"]))
    sections = [primary, exploratory, agreement, gold, moved, flipped]
    nav = "".join(f'<a href="#{a}">{esc(t)}</a>' for a, t, _ in sections)
    return page("empathy-judge compare", "empathy-judge compare", intro + "".join(b for _, _, b in sections),
                css=CSS, scripts=(JS,), nav=nav)  # fmt: skip


def _judges_html(judges: list[dict[str, Any]]) -> str:
    return "".join(
        f"<p><b>{esc(j['judge'])}</b> {esc(_f(j['score']))}: {esc(j['rationale'] or '')}</p>" for j in judges
    )


def _movement_table(rows: list[dict[str, Any]]) -> str:
    if not rows:
        return no_data("none")
    body = [
        [cell(m["item_id"]), cell(_ref(m)), cell(m["model"]), cell(m["baseline"], esc(_f(m["baseline"]))),
         cell(m["new"], esc(_f(m["new"]))), cell(m["shift"], esc(_f(m["shift"], True))),
         cell("flipped" if m["flipped"] else ""),
         f"<td>{text_block(m.get('source'), 400)}</td>", f"<td>{text_block(m.get('response'), 400)}</td>",
         f"<td>{_judges_html(m['baseline_judges'])}</td>", f"<td>{_judges_html(m['new_judges'])}</td>"]
        for m in rows
    ]  # fmt: skip
    head = ["item", "rubric", "model", "baseline", "new", "shift", "", "source", "response", "baseline rationales",
            "new rationales"]  # fmt: skip
    return table(head, body)
