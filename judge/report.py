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
    for row in (summary.get("cost") or {}).get("by_judge") or []:
        lines.append(
            f"  {row['judge']}: ${row['cost_usd'] or 0.0:.4f}, {row['prompt_tokens'] or 0} prompt + "
            f"{row['completion_tokens'] or 0} completion tokens"
            + (f" ({row['unpriced']} verdicts unpriced)" if row["unpriced"] else "")
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
    return "\n".join(lines)


def print_table(summary: dict[str, Any], run_dir: Path | None = None) -> None:
    print(table(summary))
    if run_dir is not None:
        print(f"\nrun directory: {run_dir}")


def report_command(args: argparse.Namespace) -> int:
    summary = read_json(args.run_dir / SUMMARY)
    print_table(summary, args.run_dir)
    return EXIT_OK
