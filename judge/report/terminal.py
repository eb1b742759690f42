"""Terminal report of a run: status counts, severity by rubric x dimension with CIs, agreement,
severity beside the amplification rate per model, abstentions, calibration against gold with the
baselines beside every judge, and flagged judges."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from judge.core.taxonomy import VERDICT_STATUSES
from judge.report.markup import rubric_of
from judge.report.versions import version_line


def _fmt(value: float | None, digits: int = 2) -> str:
    if value is None:
        return "-"
    text = f"{value:.{digits}f}"
    # A tiny negative (a constant baseline's kappa of -1e-17) would print as "-0.00".
    return text[1:] if text.startswith("-") and float(text) == 0 else text


def _ci(row: dict[str, Any], key: str = "mean") -> str:
    if row.get(key) is None:
        return "-"
    if row.get("ci_low") is None:
        return _fmt(row[key])
    return f"{_fmt(row[key])} [{_fmt(row['ci_low'])},{_fmt(row['ci_high'])}]"


def _usd(value: float | None) -> str:
    return "unknown" if value is None else f"${value:.4f}"


def _cached_tokens(row: dict[str, Any]) -> str:
    cached = (row.get("cached_prompt_tokens") or 0) + (row.get("cached_completion_tokens") or 0)
    return f"; {cached} tokens served from the cache, not billed" if cached else ""


def _billed(judge: str) -> str:
    # Offline judges have no provider: their counts are characters / 4, kept so token columns
    # compare across judges, and nothing is billed.
    return "(estimated, nothing billed)" if judge.startswith("offline/") else "billed"


def _header(summary: dict[str, Any]) -> str:
    counts = summary["counts"]
    cost = summary.get("cost") or {}
    unpriced = cost.get("unpriced") or 0
    return (
        f"run {summary.get('run_id')} [{summary.get('status')}]: {counts['total']} verdicts: "
        + ", ".join(f"{k} {counts.get(k, 0)}" for k in VERDICT_STATUSES)
        + (f", not applicable {counts['not_applicable']}" if counts.get("not_applicable") else "")
        + f"; cost {_usd(summary.get('cost_usd'))}"
        + (f" ({unpriced} replies unpriced)" if unpriced else "")
        + "".join(
            f"\n  {row['judge']}: {_usd(row['cost_usd'])}, {row['prompt_tokens'] or 0} prompt + "
            f"{row['completion_tokens'] or 0} completion tokens {_billed(row['judge'])}{_cached_tokens(row)}"
            + (f" ({row['unpriced']} replies unpriced)" if row["unpriced"] else "")
            for row in cost.get("by_judge") or []
        )
        + _rubric_costs(summary)
    )


def _rubric_costs(summary: dict[str, Any]) -> str:
    rows = (summary.get("cost") or {}).get("by_rubric") or []
    if not rows:
        return ""
    return "\n  by rubric: " + ", ".join(f"{rubric_of(r)} {_usd(r['cost_usd'])}" for r in rows)


def severity_table(summary: dict[str, Any]) -> list[str]:
    scores = summary.get("scores") or []
    if not scores:
        return ["no valid verdicts: nothing to score"]
    dims = sorted({row["dimension"] for row in scores})
    rubrics = sorted({rubric_of(row) for row in scores})
    cell = {(rubric_of(r), r["dimension"]): r for r in scores}
    agreement = summary.get("agreement") or {}
    width = 20
    header = f"{'rubric':<16}" + "".join(f"{d:>{width}}" for d in dims) + f"{'alpha [95% CI]':>22}"
    lines = ["mean severity [95% CI] (0 = faithful, 1 = severe), items pooled over models", header, "-" * len(header)]
    for rid in rubrics:
        parts = [f"{rid:<16}"]
        for d in dims:
            row = cell.get((rid, d))
            parts.append(f"{_ci(row):>{width}}" if row else f"{'':>{width}}")
        agree = agreement.get(rid) or {}
        parts.append(f"{_ci(agree, 'alpha'):>22}")
        lines.append("".join(parts))
    lines.append("alpha = Krippendorff across judges (ordinal for graded rubrics, interval for paper ones)")
    return lines


def two_sided_table(summary: dict[str, Any]) -> list[str]:
    """Per rubric x model (dimensions pooled): the severity beside the amplification rate, for the
    rubrics with an amplification scale, so a melodramatic model cannot pass for a faithful one."""
    rows = [r for r in summary.get("scores_by_model_overall") or [] if r.get("n_amplification")]
    if not rows:
        return []
    at = (summary.get("settings") or {}).get("amplified_at", 2)
    width = 20
    model_width = max(18, *(len(str(r["model"])) + 2 for r in rows))
    header = (f"{'rubric':<16}{'model':<{model_width}}{'severity':>{width}}{'amplified':>{width}}"
              f"{'mean ampl.':>12}{'n':>6}")  # fmt: skip
    lines = [f"severity and amplification [95% CI] per model (amplified: panel amplification level >= {at} of 4)",
             header, "-" * len(header)]  # fmt: skip
    for r in rows:
        amplified = {"mean": r.get("amplification_rate"), "ci_low": r.get("amplification_rate_ci_low"),
                     "ci_high": r.get("amplification_rate_ci_high")}  # fmt: skip
        lines.append(f"{rubric_of(r):<16}{r['model']!s:<{model_width}}{_ci(r):>{width}}{_ci(amplified):>{width}}"
                     f"{_fmt(r.get('amplification_mean')):>12}{r['n_amplification']:>6}")  # fmt: skip
    lines.append("severity: the mechanism's loss; amplification: the opposite error (melodrama, invented detail, "
                 "moralising); both 0-1")  # fmt: skip
    return lines


def abstention_lines(summary: dict[str, Any]) -> list[str]:
    rows = [r for r in summary.get("abstentions") or [] if r.get("model") == "all" and r.get("abstained")]
    lines = [f"abstained: {rubric_of(r)} {r['abstained']} of {r['calls']} calls ({r['rate']:.1%})"
             + (f", most often: {r['top_reason']}" if r.get("top_reason") else "") for r in rows]  # fmt: skip
    return lines


# "human" is what summaries written before the kind was renamed "annotators" call an annotator pair.
KIND_ORDER = {"judge": 0, "panel": 1, "baseline": 2, "annotators": 3, "human": 3}


def calibration_lines(summary: dict[str, Any]) -> list[str]:
    """Every calibration row: judges, the panel, the baselines beside them and the annotator pairs,
    with the length bias against gold's own slope."""
    def order(r: dict[str, Any]) -> tuple[Any, ...]:
        return rubric_of(r), r.get("scale", "severity") != "severity", KIND_ORDER.get(r.get("kind", ""), 9), r["rater"]

    rows = sorted(summary.get("calibration") or [], key=order)
    if not rows:
        return []
    lines = ["agreement with gold labels (quadratic-weighted kappa, Spearman, MAE on 0-4; length bias: the rater's "
             "slope per 100 words minus gold's, 0-1 scale, [95% CI])"]  # fmt: skip
    for r in rows:
        scale = "" if r.get("scale", "severity") == "severity" else " ampl."
        bias = {"mean": r.get("length_bias"), "ci_low": r.get("length_bias_low"), "ci_high": r.get("length_bias_high")}
        name = f"{r['rater']}" if r["kind"] in ("judge", "panel") else f"{r['kind']}:{r['rater']}"
        lines.append(
            f"  {rubric_of(r) + scale:<18} {name[:24]:<24} n={r['n']:<4} kappa {_fmt(r.get('kappa_w')):>5}  "
            f"rho {_fmt(r.get('spearman')):>5}  MAE {_fmt(r.get('mae'))}  length bias {_ci(bias)}"
        )
    for d in summary.get("version_differences") or []:
        a, b = f"{d['rubric_id']}@{d['version_a']}", f"{d['rubric_id']}@{d['version_b']}"
        lines.append(f"  {version_line(d, a, b)} (b - a, 95% paired CI)")
    return lines


def judge_lines(summary: dict[str, Any]) -> list[str]:
    rows = summary.get("judges") or []
    panel_size: dict[str, int] = {}
    for r in rows:
        panel_size[rubric_of(r)] = panel_size.get(rubric_of(r), 0) + 1
    # With two judges, leave-one-out cannot tell which one is off: both would be flagged.
    flagged = [r for r in rows if r.get("flagged") and panel_size[rubric_of(r)] >= 3]
    return [
        f"warning: judge {r['judge']} on {rubric_of(r)} disagrees with the rest of the panel "
        f"(leave-one-out alpha {_fmt(r.get('loo_alpha'))})"
        for r in flagged
    ]


def health_lines(summary: dict[str, Any]) -> list[str]:
    """Each unhealthy judge with its problem and error; each judge whose server made it step down
    from json_schema, with the response format it ended up using."""
    judges = (summary.get("health") or {}).get("judges") or []
    lines = []
    for j in judges:
        if not j.get("healthy", True):
            lines.append(f"unhealthy judge {j['judge']}: {j['problem']}")
            if j.get("top_error"):
                lines.append(f"  most frequent error: {j['top_error']}")
        if j.get("format_rejected"):
            refused = ", ".join(r["mode"] for r in j["format_rejected"])
            lines.append(f"judge {j['judge']} answered in response format {j.get('response_format')} "
                         f"(its server refused {refused})")  # fmt: skip
    return lines


def table(summary: dict[str, Any]) -> str:
    sections = [
        [_header(summary)],
        health_lines(summary),
        severity_table(summary),
        two_sided_table(summary),
        abstention_lines(summary),
        paper_table(summary.get("paper_metrics") or {}),
        calibration_lines(summary),
        judge_lines(summary),
    ]
    return "\n\n".join("\n".join(s) for s in sections if s)


def print_table(summary: dict[str, Any], run_dir: Path | None = None) -> None:
    print(table(summary))
    if run_dir is not None:
        print(f"\nrun directory: {run_dir}")


def paper_table(section: dict[str, Any]) -> list[str]:
    """The paper's metrics (panel of judges), over all models and per model under test."""
    rows = [r for r in section.get("rows") or [] if r.get("scope") == "panel"]
    if not rows:
        return []
    ci = (section.get("settings") or {}).get("ci", 0.95)
    lines = [f"paper metrics (You, Huang, Yu 2026), panel mean over judges, {ci:.0%} CI over items"]
    header = f"{'metric':<30}{'model':<18}{'value':>9}  {'ci':<19}{'n':>5}"
    lines += [header, "-" * len(header)]
    for r in rows:
        model = "all" if r.get("model") is None else str(r["model"])
        interval = f"[{_fmt(r['ci_low'], 3)}, {_fmt(r['ci_high'], 3)}]" if r.get("ci_low") is not None else ""
        note = f"  ({r['reason']})" if r.get("reason") else ""
        if r.get("dropped"):
            note += f"  (dropped: {', '.join(r['dropped'])})"
        value = _fmt(r["value"], 3)
        lines.append(f"{r['metric']:<30}{model[:17]:<18}{value:>9}  {interval:<19}{r['n_items']:>5}{note}")
    lines.append("sa/egm compression: share of reference intensity or aversive detail lost (negative = amplified)")
    return lines
