"""Static charts for the HTML report, drawn with matplotlib and returned as inline SVG text.

SVG needs no JavaScript runtime and no fonts shipped with the page (text stays text, drawn in
the reader's sans-serif), so the report opens offline and survives being emailed. matplotlib is
imported only here, and only when a report is written: importing it costs about half a second.
"""

from __future__ import annotations

import io
import re
from collections.abc import Sequence
from typing import Any

PALETTE = ("#4c72b0", "#dd8452", "#55a868", "#c44e52", "#8172b3", "#937860", "#da8bc3", "#8c8c8c")
_HEADER = re.compile(r"^.*?(?=<svg)", re.S)


def _figure(width: float, height: float) -> Any:
    import matplotlib

    matplotlib.rcParams.update(
        {
            "svg.fonttype": "none",  # keep text as <text>: small files, selectable labels
            "svg.hashsalt": "empathy-judge",  # stable element ids, so reports diff cleanly
            "font.family": "sans-serif",
            "font.size": 9,
            "axes.spines.top": False,
            "axes.spines.right": False,
        }
    )
    from matplotlib.figure import Figure

    # Figure() directly, not pyplot: no global figure registry and no GUI backend.
    return Figure(figsize=(width, height), layout="constrained")


def to_svg(fig: Any, label: str) -> str:
    buf = io.StringIO()
    fig.savefig(buf, format="svg", metadata={"Date": None, "Creator": None})
    svg = _HEADER.sub("", buf.getvalue(), count=1)
    # Natural size from width/height; CSS (max-width: 100%) shrinks it on narrow screens.
    return svg.replace("<svg", f'<svg class="chart" role="img" aria-label="{_attr(label)}"', 1)


def _attr(text: str) -> str:
    return text.replace("&", "&amp;").replace('"', "&quot;").replace("<", "&lt;")


def heatmap(
    rows: Sequence[str],
    cols: Sequence[str],
    values: list[list[float | None]],
    notes: list[list[str]],
    title: str,
    ids: list[list[str | None]] | None = None,
) -> str:
    """Rows x cols cells coloured by severity in [0, 1]; empty cells hatched grey. ``ids``: an
    SVG id per note (the page uses it to name the note's source in summary.json)."""
    import numpy as np

    fig = _figure(3.0 + 0.95 * len(cols), 0.9 + 0.4 * len(rows))
    ax = fig.add_subplot()
    data = np.array([[np.nan if v is None else v for v in row] for row in values], dtype=float)
    ax.set_facecolor("#eeeeee")
    image = ax.imshow(np.ma.masked_invalid(data), cmap="OrRd", vmin=0, vmax=1, aspect="auto")
    ax.set_xticks(range(len(cols)), cols)
    ax.set_yticks(range(len(rows)), rows)
    ax.tick_params(length=0)
    for spine in ax.spines.values():
        spine.set_visible(False)
    for i, row in enumerate(values):
        for j, value in enumerate(row):
            colour = "white" if value is not None and value > 0.6 else "black"
            gid = ids[i][j] if ids is not None else None
            ax.text(j, i, notes[i][j], ha="center", va="center", fontsize=8, color=colour, gid=gid)
    fig.colorbar(image, ax=ax, label="mean severity (0-1)", shrink=0.9)
    ax.set_title(title, fontsize=10, loc="left")
    return to_svg(fig, title)


def interval_bars(
    labels: Sequence[str],
    groups: Sequence[str],
    values: dict[tuple[str, str], tuple[float | None, float | None, float | None]],
    *,
    title: str,
    xlabel: str,
    xlim: tuple[float, float] | None = (0.0, 1.0),
) -> str:
    """Horizontal bars per label, one per group, each with a CI whisker: (value, low, high)."""
    fig = _figure(7.5, 0.7 + 0.22 * len(labels) * max(len(groups), 1) + 0.3)
    ax = fig.add_subplot()
    height = 0.8 / max(len(groups), 1)
    for g, group in enumerate(groups):
        ys, xs, whiskers = [], [], []
        for i, label in enumerate(labels):
            value, lo, hi = values.get((label, group), (None, None, None))
            if value is None:
                continue
            y = i + (g - (len(groups) - 1) / 2) * height
            ys.append(y)
            xs.append(value)
            if lo is not None and hi is not None:
                whiskers.append((y, value, value - lo, hi - value))
        colour = PALETTE[g % len(PALETTE)]
        ax.barh(ys, xs, height=height * 0.9, color=colour, label=group, alpha=0.85)
        if whiskers:
            wy, wx, wlo, whi = zip(*whiskers, strict=True)
            ax.errorbar(wx, wy, xerr=[wlo, whi], fmt="none", ecolor="#222222", capsize=2, linewidth=0.8)
    ax.set_yticks(range(len(labels)), labels)
    ax.invert_yaxis()
    if xlim:
        ax.set_xlim(*xlim)
    ax.axvline(0, color="#888888", linewidth=0.6)
    ax.set_xlabel(xlabel)
    ax.set_title(title, fontsize=10, loc="left")
    if len(groups) > 1:
        # outside the axes, so it never hides a bar or a whisker
        ax.legend(fontsize=8, loc="upper left", bbox_to_anchor=(1.01, 1.0), frameon=False)
    ax.grid(axis="x", alpha=0.3)
    return to_svg(fig, title)


def histograms(panels: dict[str, dict[str, Sequence[int]]], edges: Sequence[float], *, title: str) -> str:
    """Small multiples: one panel per key, overlaid step histograms per judge, drawn from bin
    counts over ``edges`` (each judge's share of its verdicts per bin)."""
    import numpy as np

    names = list(panels)
    ncols = min(4, len(names))
    nrows = -(-len(names) // ncols)
    fig = _figure(2.2 * ncols + 0.6, 1.9 * nrows + 0.5)
    axes = fig.subplots(nrows, ncols, squeeze=False, sharex=True)
    bins = np.asarray(edges, dtype=float)
    judges = sorted({j for per in panels.values() for j in per})
    for k, name in enumerate(names):
        ax = axes[k // ncols][k % ncols]
        for j, judge in enumerate(judges):
            counts = np.asarray(panels[name].get(judge) or [], dtype=float)
            if counts.sum() == 0:
                continue
            ax.stairs(counts / counts.sum(), bins, color=PALETTE[j % len(PALETTE)], linewidth=1.4, label=judge)
        ax.set_title(name, fontsize=9)
        ax.set_xlim(bins[0], bins[-1])
    for k in range(len(names), nrows * ncols):
        axes[k // ncols][k % ncols].set_visible(False)
    axes[0][0].set_ylabel("share of verdicts")
    handles, labels = axes[0][0].get_legend_handles_labels()
    if handles:
        fig.legend(handles, labels, loc="outside lower center", ncols=min(4, len(labels)), frameon=False, fontsize=8)
    fig.suptitle(title, fontsize=10, x=0.02, ha="left")
    return to_svg(fig, title)
