"""Which items' verdicts moved between two runs: the work list for rubric iteration.

For each item x rubric scored in both runs, the panel severity (mean over judges and repeats of
ok verdicts) before and after, the shift, and whether the panel's call *flipped*: the item
crossed the failure line (normalised severity 0.5, graded level 2 of 4, a binary label of 1) in
either direction. Items carry their source and response text (from each run's dataset file, when
it still exists) and every judge's score and rationale from both runs, so a researcher can read
why the verdict moved.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import polars as pl

from judge.core.errors import JudgeError
from judge.store.rundir import MANIFEST, load_verdicts, read_json

FAILURE_LINE = 0.5
KEYS = ["item_id", "rubric_id", "model"]


def _panel_with_rationales(run_dir: Path) -> pl.DataFrame:
    ok = load_verdicts(run_dir).filter(pl.col("status") == "ok")
    judged = (
        ok.group_by([*KEYS, "judge"])
        .agg(pl.col("score").mean(), pl.col("rationale").drop_nulls().first())
        .sort([*KEYS, "judge"])
    )
    return judged.group_by(KEYS, maintain_order=True).agg(
        pl.col("score").mean().alias("panel"),
        pl.struct("judge", "score", "rationale").alias("judges"),
    )


def _texts(run_dir: Path, ids: set[str]) -> dict[str, dict[str, str]]:
    """Source and response of the given items, from the run's dataset if it is still readable."""
    from judge.inputs.dataset import open_dataset

    path = (read_json(run_dir / MANIFEST).get("dataset") or {}).get("path")
    if not path or not ids or not Path(path).is_file():
        return {}
    try:
        items = open_dataset(Path(path)).items()
        return {i.id: {"source": i.source, "response": i.response} for i in items if i.id in ids}
    except JudgeError:
        return {}  # the file changed since the run: rationales still tell the story


def moved_items(baseline: Path, new: Path, *, top: int = 20, max_flipped: int = 200) -> dict[str, Any]:
    """The ``top`` items with the largest absolute shift, and every item that flipped (capped)."""
    before = _panel_with_rationales(baseline)
    after = _panel_with_rationales(new)
    pairs = before.join(after, on=KEYS, how="inner", suffix="_new").with_columns(
        (pl.col("panel_new") - pl.col("panel")).alias("shift"),
        ((pl.col("panel") >= FAILURE_LINE) != (pl.col("panel_new") >= FAILURE_LINE)).alias("flipped"),
    )
    order = [pl.col("shift").abs(), pl.col("item_id"), pl.col("rubric_id")]
    ranked = pairs.sort(order, descending=[True, False, False])
    moved = ranked.head(top)
    flipped = ranked.filter(pl.col("flipped")).head(max_flipped)
    ids = set(moved["item_id"].to_list()) | set(flipped["item_id"].to_list())
    texts = _texts(new, ids) or _texts(baseline, ids)

    def rows(frame: pl.DataFrame) -> list[dict[str, Any]]:
        out = []
        for r in frame.to_dicts():
            out.append({
                "item_id": r["item_id"], "rubric_id": r["rubric_id"], "model": r["model"],
                "baseline": r["panel"], "new": r["panel_new"], "shift": r["shift"], "flipped": r["flipped"],
                "baseline_judges": r["judges"], "new_judges": r["judges_new"],
                **texts.get(r["item_id"], {"source": None, "response": None}),
            })  # fmt: skip
        return out

    return {
        "n_paired": pairs.height,
        "n_flipped": int(pairs["flipped"].sum()),
        "failure_line": FAILURE_LINE,
        "moved": rows(moved),
        "flipped": rows(flipped),
    }


def _snip(text: str | None, n: int = 70) -> str:
    if not text:
        return ""
    flat = " ".join(text.split()).replace("|", "/")
    return flat if len(flat) <= n else flat[: n - 1] + "…"


def markdown(movement: dict[str, Any], *, limit: int = 10) -> str:
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
            f"| {m['item_id']} | {m['rubric_id']} | {m['model']} | {m['baseline']:.2f} | {m['new']:.2f} | "
            f"{m['shift']:+.2f} | {'yes' if m['flipped'] else ''} | {_snip(m['response'])} |"
        )
    if movement["flipped"]:
        ids = ", ".join(f"{m['item_id']} ({m['rubric_id']})" for m in movement["flipped"][:30])
        more = len(movement["flipped"]) - 30
        lines += ["", f"Flipped: {ids}" + (f", and {more} more" if more > 0 else "") + "."]
    return "\n".join(lines) + "\n"
