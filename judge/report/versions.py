"""Rubric iteration in words: "is the new version better?" as one line with an interval.

The numbers are the stats layer's (``judge.stats.diagnostics.calibration_difference``, in
summary.json's ``version_differences`` and compare's ``calibration``); this module only phrases
them. The call rests on weighted kappa, the scale's own agreement measure: a version agrees
better with gold when the paired 95% interval of its kappa difference lies above zero, worse
when below, and otherwise the data cannot tell them apart.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any


def _signed(value: float | None) -> str:
    return "-" if value is None else f"{value:+.2f}"


def verdict(row: dict[str, Any]) -> str:
    """``agrees better with gold than`` / ``agrees worse with gold than`` / ``cannot be told apart from``."""
    low, high = row.get("kappa_w_diff_low"), row.get("kappa_w_diff_high")
    if low is not None and low > 0:
        return "agrees better with gold than"
    if high is not None and high < 0:
        return "agrees worse with gold than"
    return "cannot be told apart (against gold) from"


def version_line(
    row: dict[str, Any], a: str, b: str, number: Callable[[str], str] | None = None
) -> str:
    """One line: ``sa-graded@3 agrees better with gold than sa-graded@2: weighted kappa +0.08
    [+0.02, +0.15] (0.61 -> 0.69), Spearman ..., MAE ... on 120 items``. ``a``, ``b``: how the
    two sides are named. ``number(field)`` renders a field (the HTML page wraps it with its
    summary.json pointer); plain text by default."""
    show = number or (lambda field: _signed(row.get(field)) if field.endswith(("_diff", "_low", "_high")) else (
        "-" if row.get(field) is None else f"{row[field]:.2f}"))  # fmt: skip

    def part(metric: str, name: str) -> str:
        interval = (f" [{show(f'{metric}_diff_low')}, {show(f'{metric}_diff_high')}]"
                    if row.get(f"{metric}_diff_low") is not None else "")  # fmt: skip
        return f"{name} {show(f'{metric}_diff')}{interval} ({show(f'{metric}_a')} -> {show(f'{metric}_b')})"

    return (f"{b} {verdict(row)} {a}: {part('kappa_w', 'weighted kappa')}, {part('spearman', 'Spearman')}, "
            f"{part('mae', 'MAE (0-4, lower is better)')} on {row.get('n')} items")  # fmt: skip
