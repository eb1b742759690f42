"""Static charts for the HTML report, written directly as inline SVG text.

SVG needs no JavaScript runtime and no fonts shipped with the page (text stays text, drawn in
the reader's sans-serif), so the report opens offline and survives being emailed. The three chart
kinds the page uses (a heatmap, bars with CI whiskers, small-multiple histograms) are a few
rectangles, paths and labels each, so they are written here by hand: drawing them with matplotlib
cost about a second per run (its import, then a constrained layout per figure), which every run
paid to write report.html; this takes milliseconds and imports nothing.

Sizes are in CSS pixels; text widths are estimated (``_width``), since the page cannot measure
the reader's font. Output is deterministic, so reports diff cleanly.
"""

from __future__ import annotations

import math
from collections.abc import Sequence

PALETTE = ("#4c72b0", "#dd8452", "#55a868", "#c44e52", "#8172b3", "#937860", "#da8bc3", "#8c8c8c")
# ColorBrewer's sequential OrRd (9 classes), interpolated linearly: light = faithful, dark = severe.
ORRD = ("#fff7ec", "#fee8c8", "#fdd49e", "#fdbb84", "#fc8d59", "#ef6548", "#d7301f", "#b30000", "#7f0000")
# ColorBrewer's sequential PuBu: the paper rubrics' own measures, kept visibly apart from OrRd.
PUBU = ("#fff7fb", "#ece7f2", "#d0d1e6", "#a6bddb", "#74a9cf", "#3690c0", "#0570b0", "#045a8d", "#023858")
EMPTY = "#eeeeee"
INK = "#222222"
MUTED = "#555555"
GRID = "#dddddd"
FONT = 12  # px; labels
SMALL = 11  # px; ticks, notes, legends


def _esc(text: str) -> str:
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;").replace('"', "&quot;")


def _n(value: float) -> str:
    """A coordinate, short and stable."""
    return f"{value:.1f}".rstrip("0").rstrip(".")


def _width(text: str, size: float = FONT) -> float:
    """Estimated rendered width of ``text`` in a sans-serif font of ``size`` px."""
    return len(text) * size * 0.6


def _text(
    x: float, y: float, text: str, *, size: float = SMALL, anchor: str = "start", fill: str = INK, extra: str = ""
) -> str:
    return (f'<text x="{_n(x)}" y="{_n(y)}" font-size="{_n(size)}" text-anchor="{anchor}" fill="{fill}"'
            f'{extra}>{_esc(text)}</text>')  # fmt: skip


def _line(x1: float, y1: float, x2: float, y2: float, stroke: str = INK, width: float = 1.0) -> str:
    return (f'<path d="M{_n(x1)} {_n(y1)}L{_n(x2)} {_n(y2)}" stroke="{stroke}" stroke-width="{_n(width)}" '
            'fill="none"/>')  # fmt: skip


def _rect(x: float, y: float, w: float, h: float, fill: str, extra: str = "") -> str:
    return f'<rect x="{_n(x)}" y="{_n(y)}" width="{_n(w)}" height="{_n(h)}" fill="{fill}"{extra}/>'


def _svg(width: float, height: float, label: str, body: list[str]) -> str:
    w, h = math.ceil(width), math.ceil(height)
    return (
        f'<svg class="chart" role="img" aria-label="{_esc(label)}" xmlns="http://www.w3.org/2000/svg" '
        f'width="{w}" height="{h}" viewBox="0 0 {w} {h}" font-family="sans-serif">' + "".join(body) + "</svg>"
    )


def colour(value: float, palette: Sequence[str] = ORRD, strength: float = 1.0) -> str:
    """The colour of a severity in [0, 1] (clamped) on ``palette`` (OrRd by default), mixed with
    white by ``1 - strength`` (a faded cell: a wide CI)."""
    t = min(max(value, 0.0), 1.0) * (len(palette) - 1)
    i = min(int(t), len(palette) - 2)
    frac = t - i
    a, b = palette[i], palette[i + 1]
    mixed = [round(int(a[k : k + 2], 16) * (1 - frac) + int(b[k : k + 2], 16) * frac) for k in (1, 3, 5)]
    faded = [round(255 - (255 - c) * min(max(strength, 0.0), 1.0)) for c in mixed]
    return "#" + "".join(f"{c:02x}" for c in faded)


def ticks(lo: float, hi: float, target: int = 5) -> list[float]:
    """Round tick positions covering [lo, hi], about ``target`` of them."""
    if hi <= lo:
        hi = lo + 1.0
    raw = (hi - lo) / target
    power = 10 ** math.floor(math.log10(raw))
    step = next(m * power for m in (1, 2, 2.5, 5, 10) if m * power >= raw)
    first = math.ceil(lo / step - 1e-9)
    out = []
    k = first
    while k * step <= hi + step * 1e-9:
        out.append(round(k * step, 10) + 0.0)  # + 0.0: no "-0"
        k += 1
    return out


def _tick_label(value: float) -> str:
    return f"{value:g}"


def heatmap(
    rows: Sequence[str],
    cols: Sequence[str],
    values: list[list[float | None]],
    notes: list[list[str]],
    title: str,
    ids: list[list[str | None]] | None = None,
) -> str:
    """Rows x cols cells coloured by severity in [0, 1]; empty cells grey. ``ids``: an SVG id per
    note (the page uses it to name the note's source in summary.json)."""
    cell_w, cell_h = 92.0, 30.0
    left = max((_width(r) for r in rows), default=0.0) + 14
    top = 30.0
    grid_w, grid_h = cell_w * len(cols), cell_h * len(rows)
    bar_x, bar_w = left + grid_w + 18, 12.0
    body = [_text(0, 16, title, size=13)]
    for i, row in enumerate(rows):
        y = top + i * cell_h
        body.append(_text(left - 8, y + cell_h / 2 + 4, row, size=FONT, anchor="end"))
        for j, value in enumerate(values[i]):
            x = left + j * cell_w
            body.append(_rect(x, y, cell_w, cell_h, EMPTY if value is None else colour(value)))
            note = notes[i][j]
            if not note:
                continue
            ink = "white" if value is not None and value > 0.6 else "black"
            label = _text(x + cell_w / 2, y + cell_h / 2 + 4, note, anchor="middle", fill=ink)
            gid = ids[i][j] if ids is not None else None
            body.append(f'<g id="{_esc(gid)}">{label}</g>' if gid else label)
    for j, col in enumerate(cols):
        body.append(_text(left + (j + 0.5) * cell_w, top + grid_h + 16, col, size=FONT, anchor="middle"))
    # The colour bar: 20 bands from 0 (bottom) to 1 (top), ticks every 0.2.
    bands = 20
    for k in range(bands):
        y = top + grid_h * (1 - (k + 1) / bands)
        body.append(_rect(bar_x, y, bar_w, grid_h / bands + 0.3, colour((k + 0.5) / bands)))
    for tick in (0.0, 0.2, 0.4, 0.6, 0.8, 1.0):
        y = top + grid_h * (1 - tick)
        body.append(_line(bar_x + bar_w, y, bar_x + bar_w + 3, y))
        body.append(_text(bar_x + bar_w + 5, y + 4, _tick_label(tick)))
    label_x = bar_x + bar_w + 40
    body.append(_text(label_x, top + grid_h / 2, "mean severity (0-1)", anchor="middle",
                      extra=f' transform="rotate(90 {_n(label_x)} {_n(top + grid_h / 2)})"'))  # fmt: skip
    width = max(label_x + 12, _width(title, 13) + 4)
    return _svg(width, top + grid_h + 28, title, body)


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
    if xlim is None:
        seen = [v for triple in values.values() for v in triple if v is not None]
        lo, hi = min([0.0, *seen]), max([0.0, *seen])
        pad = (hi - lo) * 0.05 or 0.5
        lo, hi = (lo - pad if lo < 0 else lo), hi + pad
    else:
        lo, hi = xlim
    scale_ticks = [t for t in ticks(lo, hi) if lo - 1e-9 <= t <= hi + 1e-9]
    n_groups = max(len(groups), 1)
    band = 8.0 + 16.0 * n_groups  # height of one label's band
    left = max((_width(label) for label in labels), default=0.0) + 14
    top, plot_w = 30.0, 380.0
    plot_h = band * len(labels)
    legend_w = (max(_width(g, SMALL) for g in groups) + 30) if len(groups) > 1 else 0.0

    def x_of(value: float) -> float:
        return left + (min(max(value, lo), hi) - lo) / (hi - lo) * plot_w

    body = [_text(0, 16, title, size=13)]
    for t in scale_ticks:
        x = x_of(t)
        body.append(_line(x, top, x, top + plot_h, GRID))
        body.append(_line(x, top + plot_h, x, top + plot_h + 4))
        body.append(_text(x, top + plot_h + 16, _tick_label(t), anchor="middle"))
    bar_h = 16.0 * 0.85
    for i, label in enumerate(labels):
        centre = top + (i + 0.5) * band
        body.append(_text(left - 8, centre + 4, label, size=FONT, anchor="end"))
        for g, group in enumerate(groups):
            value, low, high = values.get((label, group), (None, None, None))
            if value is None:
                continue
            y = centre + (g - (n_groups - 1) / 2) * 16.0
            x0, x1 = sorted((x_of(0.0 if lo <= 0 <= hi else lo), x_of(value)))
            body.append(_rect(x0, y - bar_h / 2, max(x1 - x0, 0.5), bar_h, PALETTE[g % len(PALETTE)],
                              ' fill-opacity="0.85"'))  # fmt: skip
            if low is not None and high is not None:
                a, b = x_of(low), x_of(high)
                body.append(
                    f'<path d="M{_n(a)} {_n(y)}H{_n(b)}M{_n(a)} {_n(y - 3)}V{_n(y + 3)}'
                    f'M{_n(b)} {_n(y - 3)}V{_n(y + 3)}" stroke="{INK}" stroke-width="1" fill="none"/>'
                )
    if lo < 0 < hi:
        body.append(_line(x_of(0.0), top, x_of(0.0), top + plot_h, "#888888"))
    body.append(_line(left, top + plot_h, left + plot_w, top + plot_h, MUTED))
    body.append(_line(left, top, left, top + plot_h, MUTED))
    body.append(_text(left + plot_w / 2, top + plot_h + 34, xlabel, size=FONT, anchor="middle"))
    if len(groups) > 1:  # beside the plot, so it never hides a bar or a whisker
        lx = left + plot_w + 14
        for g, group in enumerate(groups):
            ly = top + 6 + g * 18
            body.append(_rect(lx, ly - 5, 12, 10, PALETTE[g % len(PALETTE)]))
            body.append(_text(lx + 18, ly + 4, group))
    width = max(left + plot_w + 14 + legend_w, _width(title, 13) + 4, left + plot_w / 2 + _width(xlabel) / 2 + 4)
    return _svg(width, top + plot_h + 44, title, body)


def histograms(panels: dict[str, dict[str, Sequence[int]]], edges: Sequence[float], *, title: str) -> str:
    """Small multiples: one panel per key, overlaid step histograms per judge, drawn from bin
    counts over ``edges`` (each judge's share of its verdicts per bin)."""
    names = list(panels)
    ncols = max(min(4, len(names)), 1)
    nrows = -(-len(names) // ncols)
    judges = sorted({j for per in panels.values() for j in per})
    pw, ph = 150.0, 100.0  # one panel's plot area
    gap_x, gap_y, left, top = 46.0, 52.0, 58.0, 50.0
    x0, x1 = float(edges[0]), float(edges[-1])
    body = [_text(0, 16, title, size=13)]
    body.append(_text(14, top + ph / 2, "share of verdicts", anchor="middle",
                      extra=f' transform="rotate(-90 14 {_n(top + ph / 2)})"'))  # fmt: skip
    for k, name in enumerate(names):
        ox = left + (k % ncols) * (pw + gap_x)
        oy = top + (k // ncols) * (ph + gap_y)
        shares = {}
        for judge in judges:
            counts = [float(c) for c in panels[name].get(judge) or []]
            total = sum(counts)
            if total > 0:
                shares[judge] = [c / total for c in counts]
        ymax = max((max(s) for s in shares.values()), default=1.0) * 1.05 or 1.0
        body.append(_text(ox + pw / 2, oy - 8, name, size=FONT, anchor="middle"))
        for t in ticks(0.0, ymax, 3):
            if t > ymax:
                continue
            y = oy + ph - t / ymax * ph
            body.append(_line(ox, y, ox + pw, y, GRID))
            body.append(_text(ox - 4, y + 4, _tick_label(t), size=10, anchor="end"))
        for t in ticks(x0, x1, 2):
            x = ox + (t - x0) / (x1 - x0) * pw
            body.append(_line(x, oy + ph, x, oy + ph + 3))
            body.append(_text(x, oy + ph + 14, _tick_label(t), size=10, anchor="middle"))
        for judge, share in shares.items():
            j = judges.index(judge)
            xs = [ox + (float(e) - x0) / (x1 - x0) * pw for e in edges]
            ys = [oy + ph - s / ymax * ph for s in share]
            d = (
                f"M{_n(xs[0])} {_n(oy + ph)}"
                + "".join(f"V{_n(y)}H{_n(xs[b + 1])}" for b, y in enumerate(ys[: len(xs) - 1]))
                + f"V{_n(oy + ph)}"
            )
            body.append(f'<path d="{d}" stroke="{PALETTE[j % len(PALETTE)]}" stroke-width="1.4" fill="none"/>')
        body.append(f'<path d="M{_n(ox)} {_n(oy)}V{_n(oy + ph)}H{_n(ox + pw)}" stroke="{MUTED}" fill="none"/>')
    height = top + nrows * (ph + gap_y) - gap_y + 38
    if judges:
        lx = left
        for j, judge in enumerate(judges):
            body.append(_rect(lx, height - 9, 14, 3, PALETTE[j % len(PALETTE)]))
            body.append(_text(lx + 19, height - 3, judge))
            lx += _width(judge, SMALL) + 38
        height += 12
    width = max(left + ncols * (pw + gap_x) - gap_x + 10, _width(title, 13) + 4)
    return _svg(width, height, title, body)
