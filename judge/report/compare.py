"""``empathy-judge compare`` as views: load two run directories, compare them with
``judge.stats.compare``, add the moved items' texts, and render Markdown or one HTML page.

Every number shown comes from the comparison result (``judge.stats.compare``); this module reads
runs and formats, nothing else.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from judge.core.errors import JudgeError
from judge.core.records import rubric_ref
from judge.report.assets import CSS, JS
from judge.report.markup import cell, esc, no_data, page, section, table, text_block
from judge.stats.compare import RunSide, compare
from judge.stats.movement import moved_ids
from judge.store.reader import read_manifest, read_run

# The verdict columns compare and movement read (the item-panel reducer's, and rationales).
COLUMNS = ("item_id", "rubric_id", "rubric_version", "family", "mechanism", "dimension", "model", "judge", "repeat",
           "status", "score", "rationale")  # fmt: skip


def load_side(run_dir: Path) -> RunSide:
    """A run directory as compare's input: verdicts, rubric hashes, summary.json's agreement."""
    run = read_run(run_dir, columns=COLUMNS)
    return RunSide(
        name=str(run_dir),
        verdicts=run.verdicts,
        rubric_hashes={r.ref: r.hash for r in run.manifest.rubrics},
        agreement=run.summary.agreement if run.summary is not None else {},
    )


def item_texts(run_dir: Path, ids: set[str]) -> dict[str, dict[str, str]]:
    """Source and response of the given items, from the run's dataset if it is still readable."""
    from judge.inputs.dataset import open_dataset

    path = read_manifest(run_dir).dataset.path
    if not path or not ids or not Path(path).is_file():
        return {}
    try:
        items = open_dataset(Path(path)).items()
        return {i.id: {"source": i.source, "response": i.response} for i in items if i.id in ids}
    except JudgeError:
        return {}  # the file changed since the run: rationales still tell the story


def compare_runs(
    baseline: Path,
    new: Path,
    *,
    delta: float | None,
    allow_rubric_change: bool = False,
    n_boot: int = 2000,
    seed: int = 0,
) -> dict[str, Any]:
    """Compare two run directories; moved items carry their texts (from the new run's dataset,
    else the baseline's)."""
    result = compare(
        load_side(baseline), load_side(new), delta=delta, allow_rubric_change=allow_rubric_change,
        n_boot=n_boot, seed=seed,
    )  # fmt: skip
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
            f"| {_ref(a)} | {_f(a['baseline_alpha'])} | {_f(a['new_alpha'])} | {_f(a['change'], True)} "
            f"| {_f(a['percent_agreement_change'], True)} |"
        )
    note = (f"\nSeverity is normalised to [0, 1]; diff = new - baseline, paired by item x rubric x model; "
            f"CI: item bootstrap, {result['n_boot']} resamples, seed {result['seed']}.\n")  # fmt: skip
    return head + "\n".join(rows) + "\n" + "\n".join(agree) + "\n" + note + movement_markdown(result["movement"])


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


def html_page(result: dict[str, Any]) -> str:
    """A self-contained page in the report's style (same shell, CSP and sortable tables): the gate,
    the severity change per cell, each rubric's agreement before and after, and the items that
    moved most and that flipped, with their texts and both runs' rationales. Every number is the
    comparison result's."""
    gate = result["delta"]
    regressions = result["regressions"]
    if gate is None:
        verdict = "No regression gate set."
    elif regressions:
        verdict = f"<b>{len(regressions)} regression(s)</b> above delta {esc(gate)} with a CI excluding zero."
    else:
        verdict = f"No regression above delta {esc(gate)}."
    intro = f"<p>{esc(result['baseline'])} &rarr; {esc(result['new'])}. {verdict}</p>"
    if result.get("rubrics_changed"):
        intro += f'<p class="muted">Rubrics changed between runs: {esc(", ".join(result["rubrics_changed"]))}.</p>'
    cells = [
        [cell(c["mechanism"]), cell(c["dimension"]), cell(c["model"]), cell(c["n_items"], esc(c["n_items"])),
         cell(c["baseline_mean"], esc(_f(c["baseline_mean"]))), cell(c["new_mean"], esc(_f(c["new_mean"]))),
         cell(c["diff"], esc(_f(c["diff"], True))),
         cell(f"[{_f(c['ci_low'], True)}, {_f(c['ci_high'], True)}]"),
         cell("REGRESSION" if c["regression"] else "")]
        for c in result["cells"]
    ]  # fmt: skip
    change = section("change", "Severity change per mechanism × dimension × model", (
        '<p class="muted">Mean normalised severity (0 = faithful, 1 = severe); diff = new - baseline, paired by '
        f"item x rubric x model; 95% CI: item bootstrap, {esc(result['n_boot'])} resamples, seed "
        f"{esc(result['seed'])}.</p>"
        + table(["mechanism", "dimension", "model", "items", "baseline", "new", "diff", "95% CI", ""], cells)
    ))  # fmt: skip
    agreement_rows = [
        [cell(a["rubric_id"]), cell(a["baseline_alpha"], esc(_f(a["baseline_alpha"]))),
         cell(a["new_alpha"], esc(_f(a["new_alpha"]))), cell(a["change"], esc(_f(a["change"], True))),
         cell(a["percent_agreement_change"], esc(_f(a["percent_agreement_change"], True)))]
        for a in result["agreement"]
    ]  # fmt: skip
    agreement = section("agreement", "Inter-judge agreement before and after", (
        '<p class="muted">Krippendorff\'s alpha across judges per rubric, from each run\'s summary.json.</p>'
        + (table(["rubric", "baseline α", "new α", "change", "% agreement change"], agreement_rows)
           if agreement_rows else no_data("neither run has agreement figures (one judge, or no summary)"))
    ))  # fmt: skip
    movement = result["movement"]
    moved = section("moved", "Items that moved most", (
        f'<p class="muted">{esc(movement["n_flipped"])} of {esc(movement["n_paired"])} item x rubric pairs flipped '
        f"across severity {esc(movement['failure_line'])}; flipped rows are marked.</p>"
        + _movement_table(movement["moved"])
    ))  # fmt: skip
    flipped = section("flipped", "Items that flipped", _movement_table(movement["flipped"]))
    sections = [change, agreement, moved, flipped]
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
