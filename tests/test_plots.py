"""The report's SVG charts (judge/report/plots.py): well-formed, every value drawn where it belongs,
notes named by their source, and no plotting library imported."""

from __future__ import annotations

import subprocess
import sys
import xml.etree.ElementTree as ET

import pytest

from judge.report import plots

NS = "{http://www.w3.org/2000/svg}"


def parse(svg: str) -> ET.Element:
    root = ET.fromstring(svg)
    assert root.tag == f"{NS}svg" and root.get("class") == "chart" and root.get("role") == "img"
    assert float(root.get("width") or 0) > 100 and float(root.get("height") or 0) > 50
    return root


def test_heatmap_colours_each_cell_and_names_each_note() -> None:
    svg = plots.heatmap(
        ["sa-graded", "ca-paper <&>"],
        ["cognitive", "relational"],
        [[0.0, 1.0], [None, 0.75]],
        [["0.00 (3)", "1.00 (2)"], ["", "0.75 (4)"]],
        'model: "m" & co',
        [["summary:/a/0/mean|/a/0/n", None], [None, "summary:/a/3/mean|/a/3/n"]],
    )
    root = parse(svg)
    assert root.get("aria-label") == 'model: "m" & co'
    fills = [r.get("fill") for r in root.iter(f"{NS}rect")]
    # Four cells (the empty one grey), then the colour bar's bands, light to dark.
    assert fills[:4] == [plots.ORRD[0], plots.ORRD[-1], plots.EMPTY, plots.colour(0.75)]
    assert len(fills) == 4 + 20
    notes = {g.get("id"): "".join(g.itertext()) for g in root.iter(f"{NS}g")}
    assert notes == {"summary:/a/0/mean|/a/0/n": "0.00 (3)", "summary:/a/3/mean|/a/3/n": "0.75 (4)"}
    texts = ["".join(t.itertext()) for t in root.iter(f"{NS}text")]
    assert "ca-paper <&>" in texts and "1.00 (2)" in texts  # a note without an id is still drawn


@pytest.mark.parametrize(
    ("value", "expected"),
    [(0.0, "#fff7ec"), (1.0, "#7f0000"), (-3.0, "#fff7ec"), (2.0, "#7f0000"), (0.5, "#fc8d59")],
)
def test_colour_scale(value: float, expected: str) -> None:
    assert plots.colour(value) == expected


@pytest.mark.parametrize(
    ("lo", "hi", "expected"),
    [(0.0, 1.0, [0.0, 0.2, 0.4, 0.6, 0.8, 1.0]), (-0.2, 1.0, [0.0, 0.25, 0.5, 0.75, 1.0]),
     (-3.1, 1.2, [-3.0, -2.0, -1.0, 0.0, 1.0]), (0.0, 0.0, [0.0, 0.2, 0.4, 0.6, 0.8, 1.0])],
)  # fmt: skip
def test_ticks_are_round_and_inside_the_range(lo: float, hi: float, expected: list[float]) -> None:
    assert plots.ticks(lo, hi) == expected


def test_interval_bars_draw_bars_whiskers_and_a_legend() -> None:
    values = {("a", "m1"): (0.5, 0.25, 0.75), ("a", "m2"): (-0.5, -1.0, 0.1), ("b", "m1"): (None, None, None)}
    root = parse(plots.interval_bars(["a", "b"], ["m1", "m2"], values, title="t", xlabel="x", xlim=None))
    rects = list(root.iter(f"{NS}rect"))
    bars = [r for r in rects if r.get("fill-opacity")]
    assert len(bars) == 2  # the missing value draws nothing
    # The negative bar ends at 0, where the positive one starts.
    zero = float(bars[0].get("x") or 0)
    assert float(bars[1].get("x") or 0) + float(bars[1].get("width") or 0) == pytest.approx(zero, abs=0.2)
    assert len(rects) == 2 + 2  # bars, then a legend swatch per group
    texts = ["".join(t.itertext()) for t in root.iter(f"{NS}text")]
    assert {"m1", "m2", "a", "b", "x", "t"} <= set(texts)


def test_histograms_draw_each_judges_shares() -> None:
    panels = {"sa-graded": {"j1": [1, 0, 3], "j2": [0, 0, 0]}, "ca-paper": {"j1": [2, 2, 0]}}
    root = parse(plots.histograms(panels, [0.0, 0.5, 0.8, 1.0], title="dist"))
    steps = [p for p in root.iter(f"{NS}path") if p.get("stroke-width") == "1.4"]
    assert len(steps) == 2  # a judge with no verdicts in a panel draws no line
    texts = ["".join(t.itertext()) for t in root.iter(f"{NS}text")]
    assert {"sa-graded", "ca-paper", "j1", "j2", "dist"} <= set(texts)


def test_writing_a_report_imports_no_plotting_library(tmp_path: object) -> None:
    code = (
        "import sys\n"
        "from judge.report import plots\n"
        "plots.heatmap(['r'], ['c'], [[0.5]], [['0.5']], 't')\n"
        "plots.interval_bars(['r'], ['g'], {('r', 'g'): (0.5, 0.4, 0.6)}, title='t', xlabel='x')\n"
        "plots.histograms({'p': {'j': [1, 2]}}, [0, 0.5, 1], title='t')\n"
        "print(sorted(m for m in sys.modules if m.split('.')[0] in ('matplotlib', 'numpy', 'polars')))\n"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "[]"
