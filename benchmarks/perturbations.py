"""Perturbation pairs: does each offline judge score a reply degraded on one mechanism as more
severe than its faithful twin?

    python benchmarks/perturbations.py [--pairs judge/data/perturbations.jsonl] [--json]

For every pair (judge/data/perturbations.jsonl, written after the heuristics were frozen; see
judge/data/DATASHEET.md) and every latest rubric of the pair's mechanism that applies to its task,
each offline judge scores the faithful reply and the degraded one. The score is the rubric's
mapped score: graded rubrics, severity / 4; paper rubrics, the paper metric's per-item value (SA
and EGM compression, the CA label, the LD feature distance). The panel's score is the mean of
the judges'. An attenuation pair is a **hit** when the degraded reply's score is strictly higher,
a **tie** when equal (ties count as failures and are reported apart), a miss otherwise; an
abstention on either reply is a miss. Amplification pairs are read on the graded rubric's
amplification level instead: a hit when it is strictly higher for the amplified copy.

A second table reads the disambiguation rules off the same pairs: for the pairs degraded on one
mechanism, the share in which the panel's graded severity of each *other* mechanism also rose
(a change the rules give to one owner should move that owner only).
"""

from __future__ import annotations

import argparse
import json
import sys
from collections import defaultdict
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from judge.core import paths
from judge.core.severity import map_severity
from judge.core.taxonomy import MECHANISM_CODES, MECHANISMS
from judge.inputs.dataset import Item
from judge.inputs.rubrics import Rubric, select
from judge.offline.verdicts import JUDGES, CannotRead, respond

TARGET = 0.8
PAIRS = paths.sample_dataset().parent / "perturbations.jsonl"


def load_pairs(path: Path) -> list[dict[str, Any]]:
    return [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines() if line.strip()]


def _item(pair: dict[str, Any], response: str) -> Item:
    return Item(id=pair["pair_id"], task=pair["task"], dimension="", model="pair", source=pair["source"],
                response=response, reference=pair.get("reference"))  # fmt: skip


def _score(judge: str, rubric: Rubric, item: Item) -> tuple[float, float | None] | None:
    """(mapped score, amplification in [0, 1] or None), or None when the judge abstains."""
    try:
        verdict = json.loads(respond(judge, rubric, item))
    except CannotRead:
        return None
    if verdict.get("abstain_reason"):
        return None
    score, _ = map_severity(rubric.severity, verdict)
    amp = verdict.get("amplification")
    return score, (amp / 4 if isinstance(amp, int) else None)


def measure(pairs: list[dict[str, Any]]) -> list[dict[str, Any]]:
    rubrics = [r for r in select(paths.rubrics_dir()) if r.family in ("graded", "paper")]
    tally: dict[tuple[str, str, str, str], dict[str, int]] = defaultdict(lambda: {"n": 0, "hit": 0, "tie": 0,
                                                                                    "abstained": 0})  # fmt: skip
    for pair in pairs:
        amplifying = pair["direction"] == "amplification"
        for rubric in rubrics:
            if rubric.mechanism != pair["mechanism"] or (rubric.tasks and pair["task"] not in rubric.tasks):
                continue
            if amplifying and rubric.family != "graded":
                continue  # only the graded rubrics have an amplification scale
            got = {j: (_score(j, rubric, _item(pair, pair["faithful"])),
                       _score(j, rubric, _item(pair, pair["degraded"]))) for j in JUDGES}  # fmt: skip
            index = 1 if amplifying else 0
            values: dict[str, tuple[float, float] | None] = {}
            for judge, (good, bad) in got.items():
                values[judge] = None if good is None or bad is None else (good[index] or 0.0, bad[index] or 0.0)
            present = [v for v in values.values() if v is not None]
            values["panel"] = (
                (sum(v[0] for v in present) / len(present), sum(v[1] for v in present) / len(present))
                if len(present) == len(JUDGES)
                else None
            )
            for judge, pair_values in values.items():
                row = tally[pair["mechanism"], rubric.family, pair["direction"], judge]
                row["n"] += 1
                if pair_values is None:
                    row["abstained"] += 1
                elif pair_values[1] > pair_values[0] + 1e-9:
                    row["hit"] += 1
                elif abs(pair_values[1] - pair_values[0]) <= 1e-9:
                    row["tie"] += 1
    out = []
    for (mechanism, family, direction, judge), row in tally.items():
        share = row["hit"] / row["n"] if row["n"] else None
        out.append({"mechanism": mechanism, "family": family, "direction": direction, "judge": judge, **row,
                    "accuracy": share, "tie_share": row["tie"] / row["n"] if row["n"] else None,
                    "meets_target": share is not None and share >= TARGET})  # fmt: skip
    order = {m: i for i, m in enumerate(MECHANISMS)}
    return sorted(out, key=lambda r: (r["direction"] != "attenuation", order[r["mechanism"]], r["family"],
                                      r["judge"] != "panel", r["judge"]))  # fmt: skip


def off_target(pairs: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Per degraded mechanism and other mechanism: pairs whose panel graded level of the other
    mechanism rose (the rules say it should not)."""
    graded = {r.mechanism: r for r in select(paths.rubrics_dir()) if r.family == "graded"}
    tally: dict[tuple[str, str], list[int]] = defaultdict(lambda: [0, 0])
    for pair in pairs:
        if pair["direction"] != "attenuation":
            continue
        for mechanism, rubric in graded.items():
            if mechanism == pair["mechanism"] or (rubric.tasks and pair["task"] not in rubric.tasks):
                continue
            levels = []
            for text in (pair["faithful"], pair["degraded"]):
                scores = [_score(j, rubric, _item(pair, text)) for j in JUDGES]
                levels.append(round(4 * sum(x[0] for x in scores if x) / len(JUDGES)))
            row = tally[pair["mechanism"], mechanism]
            row[0] += 1
            row[1] += levels[1] > levels[0]
    order = {m: i for i, m in enumerate(MECHANISMS)}
    return [{"degraded": d, "other": o, "n": n, "rose": k, "share": k / n}
            for (d, o), (n, k) in sorted(tally.items(), key=lambda x: (order[x[0][0]], order[x[0][1]]))]  # fmt: skip


def markdown(rows: list[dict[str, Any]]) -> str:
    lines = ["| mechanism | family | direction | judge | pairs | degraded more severe | ties | abstained | "
             "accuracy | >= 80%? |", "|---|---|---|---|---|---|---|---|---|---|"]  # fmt: skip
    for r in rows:
        lines.append(
            f"| {MECHANISM_CODES[r['mechanism']]} | {r['family']} | {r['direction']} | {r['judge']} | {r['n']} | "
            f"{r['hit']} | {r['tie']} | {r['abstained']} | {r['accuracy']:.0%} | "
            f"{'yes' if r['meets_target'] else 'no'} |"
        )
    return "\n".join(lines)


def off_target_markdown(rows: list[dict[str, Any]]) -> str:
    lines = ["| degraded on | other mechanism | pairs | its panel level rose | share |", "|---|---|---|---|---|"]
    for r in rows:
        lines.append(f"| {MECHANISM_CODES[r['degraded']]} | {MECHANISM_CODES[r['other']]} | {r['n']} | {r['rose']} | "
                     f"{r['share']:.0%} |")  # fmt: skip
    return "\n".join(lines)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--pairs", type=Path, default=PAIRS)
    parser.add_argument("--json", action="store_true")
    args = parser.parse_args()
    pairs = load_pairs(args.pairs)
    rows, other = measure(pairs), off_target(pairs)
    if args.json:
        print(json.dumps({"pairs": rows, "off_target": other}, indent=1))
    else:
        print(markdown(rows) + "\n\n" + off_target_markdown(other))


if __name__ == "__main__":
    main()
