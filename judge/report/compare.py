"""``empathy-judge compare`` as views: load two run directories, compare them with
``judge.stats.compare``, add the moved items' texts, and render Markdown or one HTML page.

Every number shown comes from the comparison result (``judge.stats.compare``); this module reads
runs and formats, nothing else.
"""

from __future__ import annotations

import html
from pathlib import Path
from typing import Any

from judge.core.errors import JudgeError
from judge.core.records import rubric_ref
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
    """A self-contained page: one table, inline style, no scripts, nothing fetched."""
    cells = "".join(
        "<tr{}>{}</tr>".format(
            ' class="bad"' if c["regression"] else "",
            "".join(f"<td>{html.escape(str(v))}</td>" for v in (
                c["mechanism"], c["dimension"], c["model"], c["n_items"], _f(c["baseline_mean"]), _f(c["new_mean"]),
                _f(c["diff"], True), f"[{_f(c['ci_low'], True)}, {_f(c['ci_high'], True)}]")),
        )
        for c in result["cells"]
    )  # fmt: skip
    header = "".join(f"<th>{h}</th>" for h in ("mechanism", "dimension", "model", "items", "baseline", "new", "diff",
                                              "95% CI"))  # fmt: skip
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
                                                  "response", "baseline rationales", "new rationales"))  # fmt: skip
        body = "".join(
            "<tr{}>{}</tr>".format(
                ' class="bad"' if m["flipped"] else "",
                "".join(f"<td>{html.escape(str(v))}</td>" for v in (
                    m["item_id"], _ref(m), m["model"], _f(m["baseline"]), _f(m["new"]), _f(m["shift"], True)))
                + f"<td class='txt'>{html.escape(m['source'] or '')}</td>"
                + f"<td class='txt'>{html.escape(m['response'] or '')}</td>"
                + f"<td class='txt'>{_judges_html(m['baseline_judges'])}</td>"
                + f"<td class='txt'>{_judges_html(m['new_judges'])}</td>",
            )
            for m in rows
        )  # fmt: skip
        return f"<table><tr>{head}</tr>{body}</table>"

    return (
        f"<h2>Items that moved most</h2><p>{movement['n_flipped']} of {movement['n_paired']} item x rubric pairs "
        f"flipped across severity {movement['failure_line']} (flipped rows are shaded).</p>{table(movement['moved'])}"
        f"<h2>Items that flipped</h2>{table(movement['flipped'])}"
    )
