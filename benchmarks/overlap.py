"""Cross-mechanism overlap: how often one response is penalised under several mechanisms, and how
often for the same textual change, from gold labels and from a panel of judges.

    python benchmarks/overlap.py [--dataset sample|realistic|PATH] [--rubrics 2|3] [--run-dir DIR] [--json]

Without --run-dir it runs ``python -m judge run`` with the offline panel and the graded rubrics of
version ``--rubrics`` (2: before the disambiguation rules; 3: with them) into a temporary folder.

Definitions (a mechanism "penalises" an item when its level is >= 2, "moderate" on the 0-4 scale):

- ``level``: gold labels as given (with several annotators, ``gold_<mechanism>__<annotator>``: each
  annotator's labels alone, and their mean rounded halves up, the stats layer's reference); a
  judge's level is round(4 x its item score) (repeats averaged, halves up); the panel's is
  round(4 x the mean of the judges' item scores). Only mechanisms that
  apply to the item count (conflict avoidance from version 3 on: counselling, workplace and
  education; an abstained or skipped verdict has no level).
- ``items``: the items every annotator labelled on at least one mechanism (all of them on the sample
  set; on the realistic set the items neither labelling pass abstained on entirely); gold, the
  panel and every judge are counted over these same items.
- ``multi``: the share of items penalised under two or more mechanisms (denominator: those items).
- ``multi_given_failing``: the same among items penalised under at least one mechanism.
- ``same_change`` (judges only, they quote): for one judge, the share of items where two
  mechanisms both penalise the item and each cites evidence on the same side whose spans overlap
  in that side's text (quotes located with ``judge.inputs.evidence.locate``, after its
  normalisation; the source side is the source or the reference). Denominator: all items; also
  given as a share of the judge's multi-penalised items. The panel value is the mean over judges.
  Gold labels carry no quotes, so this has no gold value.
- ``rho``: Spearman correlation between two mechanisms' item levels (gold) or item scores
  (panel), over the items both have; also over failing items (any mechanism >= 2).
- ``by_model``: the gold (or mean) and panel ``rho`` over each model's items alone (models with at
  least ``MIN_MODEL_ITEMS`` items): mechanisms that move together only because one writer fails
  them all and another none correlate over the whole set, not within a writer.

The three mechanisms that apply to every task (SA, EGM, LD) are also reported alone
(``three_*``), so a change in conflict avoidance's applicability does not move the comparison.
"""

from __future__ import annotations

import argparse
import itertools
import json
import subprocess
import sys
import tempfile
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

import polars as pl

from judge.core import paths
from judge.core.taxonomy import MECHANISM_CODES, MECHANISMS
from judge.inputs.evidence import find_quote, side_texts
from judge.stats.agreement import spearman_rho

FAIL_LEVEL = 2
MIN_MODEL_ITEMS = 20
EVERY_TASK = ("sentiment_attenuation", "granularity_mismatch", "linguistic_distancing")


def _level(score: float) -> int:
    return int(score * 4 + 0.5)  # halves up, as the stats round a 0-4 level


def load_items(dataset: Path) -> dict[str, dict[str, Any]]:
    rows = [json.loads(line) for line in dataset.read_text(encoding="utf-8").splitlines() if line.strip()]
    return {r["id"]: r for r in rows}


def gold_levels(items: dict[str, dict[str, Any]]) -> dict[str, dict[str, dict[str, float]]]:
    """label set -> item -> mechanism -> gold level. A dataset with plain ``gold_<mechanism>`` columns
    has one set, "gold"; one with ``gold_<mechanism>__<annotator>`` columns has one per annotator
    and "mean", their mean over those who labelled the item, rounded halves up."""
    annotators = sorted({k.split("__", 1)[1] for r in items.values() for k in r
                         if k.startswith("gold_") and not k.startswith("gold_note_") and "__" in k})  # fmt: skip
    if not annotators:
        return {"gold": {i: {m: float(r[f"gold_{m}"]) for m in MECHANISMS if r.get(f"gold_{m}") is not None}
                         for i, r in items.items()}}  # fmt: skip
    out: dict[str, dict[str, dict[str, float]]] = {a: {} for a in [*annotators, "mean"]}
    for item_id, row in items.items():
        for a in annotators:
            out[a][item_id] = {m: float(row[f"gold_{m}__{a}"]) for m in MECHANISMS
                               if row.get(f"gold_{m}__{a}") is not None}  # fmt: skip
        out["mean"][item_id] = {}
        for m in MECHANISMS:
            given = [row[f"gold_{m}__{a}"] for a in annotators if row.get(f"gold_{m}__{a}") is not None]
            if given:
                out["mean"][item_id][m] = float(_level(sum(given) / len(given) / 4))
    return out


def labelled_items(gold: dict[str, dict[str, dict[str, float]]]) -> set[str]:
    """The items every annotator (every label set but the mean) labelled on at least one mechanism."""
    sets = [levels for name, levels in gold.items() if name != "mean"]
    return {i for i in sets[0] if all(s.get(i) for s in sets)}


def multi_penalised(levels: dict[str, dict[str, float]], mechanisms: tuple[str, ...]) -> dict[str, Any]:
    failing = multi = 0
    for by_mechanism in levels.values():
        n = sum(1 for m in mechanisms if by_mechanism.get(m, 0) >= FAIL_LEVEL)
        failing += n >= 1
        multi += n >= 2
    total = len(levels)
    return {"items": total, "failing": failing, "multi": multi / total if total else None,
            "multi_given_failing": multi / failing if failing else None}  # fmt: skip


def correlations(
    values: dict[str, dict[str, float]], levels: dict[str, dict[str, float]]
) -> dict[str, dict[str, float | None]]:
    """Spearman rho of every mechanism pair's ``values``, over all items and over the items
    failing somewhere (a ``levels`` entry >= 2)."""
    out: dict[str, dict[str, float | None]] = {}
    failing = {i for i, v in levels.items() if v and max(v.values()) >= FAIL_LEVEL}
    for a, b in itertools.combinations(MECHANISMS, 2):
        both = [(v[a], v[b]) for v in values.values() if a in v and b in v]
        fail = [(v[a], v[b]) for i, v in values.items() if a in v and b in v and i in failing]
        pair = f"{MECHANISM_CODES[a]}/{MECHANISM_CODES[b]}"
        out[pair] = {"all": _rho(both), "failing": _rho(fail), "n_all": len(both), "n_failing": len(fail)}
    return out


def _rho(pairs: list[tuple[float, float]]) -> float | None:
    if len(pairs) < 3:
        return None
    return spearman_rho([p[0] for p in pairs], [p[1] for p in pairs]).value


def run_offline(dataset: Path, version: int, out: Path) -> Path:
    rubrics = [a for m in ("sa", "egm", "ca", "ld") for a in ("--rubric", f"{m}-graded@{version}")]
    subprocess.run([sys.executable, "-m", "judge", "run", "--dataset", str(dataset), *rubrics, "--run-dir",
                    str(out), "--quiet", "--no-cache"], check=True, cwd=paths.rubrics_dir().parent,
                   stdout=subprocess.DEVNULL)  # fmt: skip
    return out


def judge_levels(verdicts: pl.DataFrame) -> dict[str, dict[str, dict[str, float]]]:
    """judge -> item -> mechanism -> item score (ok graded verdicts, repeats averaged)."""
    ok = verdicts.filter((pl.col("family") == "graded") & (pl.col("status") == "ok"))
    means = ok.group_by("judge", "item_id", "mechanism").agg(pl.col("score").mean())
    out: dict[str, dict[str, dict[str, float]]] = {}
    for judge, item_id, mechanism, score in means.iter_rows():
        out.setdefault(judge, {}).setdefault(item_id, {})[mechanism] = score
    return out


def _spans(verdict: dict[str, Any], texts: dict[str, Any]) -> list[tuple[str, int, int]]:
    found = []
    for entry in verdict.get("evidence") or []:
        hit = find_quote(str(entry.get("side")), str(entry.get("quote")), texts)
        if hit is not None:
            found.append(hit)
    return found


def same_change(verdicts: pl.DataFrame, items: dict[str, dict[str, Any]]) -> dict[str, dict[str, Any]]:
    """Per judge: items where two penalising mechanisms quote overlapping spans (see module doc)."""
    ok = verdicts.filter((pl.col("family") == "graded") & (pl.col("status") == "ok") & (pl.col("repeat") == 0))
    out: dict[str, dict[str, Any]] = {}
    for (judge,), rows in sorted(ok.group_by("judge"), key=lambda g: str(g[0])):
        shared = multi = 0
        items_seen = set()
        for (item_id,), group in rows.group_by("item_id"):
            items_seen.add(item_id)
            row = items[str(item_id)]
            texts = side_texts(row["source"], row.get("reference"), row["response"])
            failing = {
                r["mechanism"]: _spans(json.loads(r["verdict"]), texts)
                for r in group.iter_rows(named=True)
                if _level(r["score"]) >= FAIL_LEVEL
            }
            if len(failing) < 2:
                continue
            multi += 1
            if any(
                x[0] == y[0] and x[1] < y[2] and y[1] < x[2]
                for a, b in itertools.combinations(failing, 2)
                for x in failing[a]
                for y in failing[b]
            ):
                shared += 1
        n = len(items_seen)
        out[str(judge)] = {"items": n, "multi_items": multi, "same_change": shared / n if n else None,
                           "same_change_given_multi": shared / multi if multi else None}  # fmt: skip
    return out


def measure(run_dir: Path, dataset: Path) -> dict[str, Any]:
    every = load_items(dataset)
    gold_sets = gold_levels(every)
    keep = labelled_items(gold_sets)
    items = {i: r for i, r in every.items() if i in keep}
    gold_sets = {name: {i: v for i, v in levels.items() if i in keep} for name, levels in gold_sets.items()}
    gold = gold_sets.get("gold", gold_sets.get("mean", {}))
    verdicts = pl.read_parquet(run_dir / "verdicts.parquet").filter(pl.col("item_id").is_in(sorted(keep)))
    by_judge = judge_levels(verdicts)
    judges = sorted(by_judge)
    panel: dict[str, dict[str, float]] = {}
    for item_id in items:
        for mechanism in MECHANISMS:
            scores = [by_judge[j][item_id][mechanism] for j in judges if mechanism in by_judge[j].get(item_id, {})]
            if scores:
                panel.setdefault(item_id, {})[mechanism] = sum(scores) / len(scores)
    levels = {j: {i: {m: float(_level(s)) for m, s in v.items()} for i, v in by_judge[j].items()} for j in judges}
    panel_levels = {i: {m: float(_level(s)) for m, s in v.items()} for i, v in panel.items()}
    same = same_change(verdicts, items)
    rubrics = sorted(set(verdicts.filter(pl.col("family") == "graded")["rubric_id"] + "@"
                         + verdicts.filter(pl.col("family") == "graded")["rubric_version"].cast(pl.String)))
    return {
        "dataset": str(dataset),
        "rubrics": rubrics,
        "gold": {"all": multi_penalised(gold, MECHANISMS), "three": multi_penalised(gold, EVERY_TASK),
                 "rho": correlations(gold, gold)},
        "gold_sets": {name: {"all": multi_penalised(levels, MECHANISMS), "three": multi_penalised(levels, EVERY_TASK),
                             "rho": correlations(levels, levels)} for name, levels in gold_sets.items()},
        "panel": {"all": multi_penalised(panel_levels, MECHANISMS), "three": multi_penalised(panel_levels, EVERY_TASK),
                  "rho": correlations(panel, panel_levels),
                  "same_change": _mean([s["same_change"] for s in same.values()]),
                  "same_change_given_multi": _mean([s["same_change_given_multi"] for s in same.values()])},
        "judges": {j: {"all": multi_penalised(levels[j], MECHANISMS), "three": multi_penalised(levels[j], EVERY_TASK),
                       **same[j]} for j in judges},
        "by_model": by_model(items, gold, panel, panel_levels),
    }  # fmt: skip


def by_model(items: dict[str, dict[str, Any]], gold: dict[str, dict[str, float]], panel: dict[str, dict[str, float]],
             panel_levels: dict[str, dict[str, float]]) -> dict[str, Any]:
    """Per model under test with at least MIN_MODEL_ITEMS items: gold's and the panel's rho."""
    models = sorted({str(r.get("model")) for r in items.values()})
    out = {}
    for model in models if len(models) > 1 else []:
        ids = {i for i, r in items.items() if str(r.get("model")) == model}
        if len(ids) < MIN_MODEL_ITEMS:
            continue
        mine = {i: v for i, v in gold.items() if i in ids}
        out[model] = {"items": len(ids), "gold": correlations(mine, mine),
                      "panel": correlations({i: v for i, v in panel.items() if i in ids},
                                            {i: v for i, v in panel_levels.items() if i in ids})}
    return out


def _mean(values: list[Any]) -> float | None:
    present = [v for v in values if v is not None]
    return sum(present) / len(present) if present else None


def _f(value: Any) -> str:
    return "-" if value is None else f"{value:.2f}"


def markdown(result: dict[str, Any]) -> str:
    lines = [f"rubrics: {', '.join(result['rubrics'])}", "",
             "| source | items | multi (4 mechanisms) | multi given failing | multi (SA, EGM, LD) | same change | "
             "same change given multi |", "|---|---|---|---|---|---|---|"]  # fmt: skip
    sets = result.get("gold_sets") or {"gold": result["gold"]}
    names = {"gold": "gold (one annotator)", "mean": "gold (mean of the annotators)"}
    rows = [(names.get(n, f"gold ({n})"), v, None) for n, v in sets.items()]
    rows += [("offline panel", result["panel"], result["panel"])]
    rows += [(j, v, v) for j, v in result["judges"].items()]
    for name, values, same in rows:
        lines.append(
            f"| {name} | {values['all']['items']} | {_f(values['all']['multi'])} | "
            f"{_f(values['all']['multi_given_failing'])} | {_f(values['three']['multi'])} | "
            f"{_f(same and same.get('same_change'))} | {_f(same and same.get('same_change_given_multi'))} |"
        )
    heads = [f"{names.get(n, f'gold ({n})')} rho" for n in sets]
    lines += ["", "| pair | " + " | ".join(f"{h} (all / failing)" for h in heads) + " | panel rho (all / failing) |",
              "|---" * (len(heads) + 2) + "|"]  # fmt: skip
    for pair in result["gold"]["rho"]:
        cells = [f"{_f(s['rho'][pair]['all'])} / {_f(s['rho'][pair]['failing'])}" for s in sets.values()]
        p = result["panel"]["rho"][pair]
        lines.append(f"| {pair} | {' | '.join(cells)} | {_f(p['all'])} / {_f(p['failing'])} |")
    models = result.get("by_model") or {}
    if models:
        lines += ["", "| pair | " + " | ".join(f"{m} ({v['items']}): gold / panel rho" for m, v in models.items())
                  + " |", "|---" * (len(models) + 1) + "|"]  # fmt: skip
        for pair in result["gold"]["rho"]:
            cells = [f"{_f(v['gold'][pair]['all'])} / {_f(v['panel'][pair]['all'])}" for v in models.values()]
            lines.append(f"| {pair} | {' | '.join(cells)} |")
    return "\n".join(lines)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--dataset", type=paths.dataset_path, default=paths.sample_dataset(),
                        help="a dataset file, or a bundled set's name: sample (default), realistic")  # fmt: skip
    parser.add_argument("--rubrics", type=int, choices=(2, 3), default=3, help="graded rubric version to run")
    parser.add_argument("--run-dir", type=Path, help="measure this run instead of running the offline panel")
    parser.add_argument("--json", action="store_true")
    args = parser.parse_args()
    if args.run_dir is not None:
        result = measure(args.run_dir, args.dataset)
    else:
        with tempfile.TemporaryDirectory() as tmp:
            result = measure(run_offline(args.dataset, args.rubrics, Path(tmp) / "run"), args.dataset)
    print(json.dumps(result, indent=1) if args.json else markdown(result))


if __name__ == "__main__":
    main()
