"""Terminal report of a run: status counts, severity by mechanism x dimension, agreement."""

from __future__ import annotations

import argparse
from pathlib import Path
from typing import Any

from judge.errors import EXIT_OK
from judge.store import SUMMARY, read_json


def _fmt(value: float | None, digits: int = 2) -> str:
    return "-" if value is None else f"{value:.{digits}f}"


def table(summary: dict[str, Any]) -> str:
    lines = []
    counts = summary["counts"]
    lines.append(
        f"run {summary.get('run_id')} [{summary.get('status')}]: {counts['total']} verdicts: "
        + ", ".join(f"{k} {counts[k]}" for k in ("ok", "invalid", "error", "skipped"))
        + f"; cost ${summary.get('cost_usd', 0.0):.4f}"
    )
    scores = summary.get("scores") or []
    dims = sorted({row["dimension"] for row in scores})
    rubrics = sorted({row["rubric_id"] for row in scores})
    if scores:
        lines.append("")
        lines.append("mean severity (0 = faithful, 1 = severe), per rubric x dimension")
        header = f"{'rubric':<14}" + "".join(f"{d:>12}" for d in dims) + f"{'alpha':>9}"
        lines.append(header)
        lines.append("-" * len(header))
        cell = {(r["rubric_id"], r["dimension"]): r for r in scores}
        agreement = summary.get("agreement") or {}
        for rid in rubrics:
            parts = [f"{rid:<14}"]
            for d in dims:
                row = cell.get((rid, d))
                parts.append(f"{_fmt(row['mean']) + ' (' + str(row['n_items']) + ')':>12}" if row else f"{'':>12}")
            alpha = (agreement.get(rid) or {}).get("krippendorff_alpha")
            parts.append(f"{_fmt(alpha):>9}")
            lines.append("".join(parts))
        lines.append("(n) = items with at least one valid verdict; alpha = Krippendorff, interval, across judges")
    lines += paper_table(summary.get("paper_metrics") or {})
    return "\n".join(lines)


def paper_table(section: dict[str, Any]) -> list[str]:
    """The paper's metrics (panel of judges), over all models and per model under test."""
    rows = [r for r in section.get("rows") or [] if r.get("scope") == "panel"]
    if not rows:
        return []
    ci = (section.get("settings") or {}).get("ci", 0.95)
    lines = ["", f"paper metrics (You, Huang, Yu 2026), panel mean over judges, {ci:.0%} CI over items"]
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


def print_table(summary: dict[str, Any], run_dir: Path | None = None) -> None:
    print(table(summary))
    if run_dir is not None:
        print(f"\nrun directory: {run_dir}")


def report_command(args: argparse.Namespace) -> int:
    summary = read_json(args.run_dir / SUMMARY)
    print_table(summary, args.run_dir)
    return EXIT_OK
