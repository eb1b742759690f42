"""How well the offline judges agree with a dataset's gold labels, beside what they must beat and the
ceiling they can reach: the README's offline-vs-gold tables, with one command.

    python benchmarks/offline_vs_gold.py --dataset realistic     # the realistic set, two AI labelling passes
    python benchmarks/offline_vs_gold.py --dataset sample        # the caricature sample set (the default)
    python benchmarks/offline_vs_gold.py --dataset PATH [--run-dir DIR] [--json]
    python benchmarks/offline_vs_gold.py --dataset realistic --save   # measure, record in offline_vs_gold.json
    python benchmarks/offline_vs_gold.py --readme                     # the README's blocks, from that file

``--save`` records the result (figures rounded to 4 decimals, with the commit, date and command)
under the dataset's path in ``benchmarks/offline_vs_gold.json``: the one source of the README's
offline-vs-gold tables, which ``--readme`` renders from it (``--readme --write`` puts them into
README.md between their markers, and tests/test_offline_vs_gold.py fails while the two differ).

Without --run-dir it runs ``python -m judge run`` on the dataset with the offline panel and every
latest rubric into a temporary folder. Every figure comes from the statistics layer, so it equals
what a run's summary.json and report show:

- graded rubrics, both scales (severity; amplification where the dataset has amplification labels):
  the run's own ``calibration`` rows (judge.stats.diagnostics.calibration): each judge, the panel,
  the baselines that read no text (length, model, constant) and the annotator pairs (the
  inter-annotator ceiling), with quadratic weighted kappa, Spearman and MAE, 95% item-bootstrap CIs;
- paper rubrics: Spearman only (the score is a compression rate, a label or a feature distance, not
  a 0-4 level) of each judge's and the panel's item score (judge.stats.panel) against the same
  reference (judge.stats.diagnostics.gold_reference), with judge.stats.diagnostics.calibration_metrics;
- the perturbation pairs (benchmarks/perturbations.py): the share of pairs in which the degraded
  reply scored more severe than the faithful one, per mechanism and rubric family;
- items and abstentions: per rubric, the items it applies to, the items with a reference label, the
  items every annotator labelled, and each judge's abstentions (summary.json ``judges``);
- with several annotators: the panel against each annotator alone and against the reference limited
  to the items every annotator labelled; with several models under test: the same calibration within
  each model's items (what the whole-set figures owe to telling the writers apart).

The reference is the stats layer's: the adjudicated ``gold_<mechanism>`` when the dataset has one,
else the mean of the annotators who labelled the item.
"""

from __future__ import annotations

import argparse
import json
import re
import subprocess
import sys
import tempfile
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

import numpy as np
import polars as pl

from benchmarks.perturbations import PAIRS, load_pairs
from benchmarks.perturbations import measure as measure_pairs
from judge.core import paths
from judge.core.taxonomy import MECHANISM_CODES, MECHANISMS
from judge.inputs.dataset import open_dataset
from judge.stats.diagnostics import calibration, calibration_metrics, gold_reference
from judge.stats.panel import item_panel, judge_item_scores, not_applicable
from judge.stats.summary import item_facts

N_BOOT = 1000
PANEL = "panel"
ROOT = Path(__file__).resolve().parent.parent
RESULTS = Path(__file__).with_name("offline_vs_gold.json")
README = ROOT / "README.md"
# The README's generated blocks: <!-- offline_vs_gold: DATASET --> ... <!-- /offline_vs_gold -->
BLOCK = re.compile(r"(<!-- offline_vs_gold: (\S+) -->\n)(.*?)(<!-- /offline_vs_gold -->)", re.S)


def run_offline(dataset: Path, run_dir: Path) -> Path:
    subprocess.run([sys.executable, "-m", "judge", "run", "--dataset", str(dataset), "--run-dir", str(run_dir),
                    "--quiet", "--no-cache"], check=True, stdout=subprocess.DEVNULL,
                   cwd=paths.rubrics_dir().parent)  # fmt: skip
    return run_dir


def _annotator_sets(gold: pl.DataFrame) -> list[str]:
    return sorted({c.split("__", 1)[1] for c in gold.columns if "__" in c})


def _every_annotator(gold: pl.DataFrame) -> pl.DataFrame:
    """The gold frame with each mechanism's annotator columns (both scales) nulled on the items
    that not every annotator labelled: the reference then rests only on items all of them gave."""
    out = []
    for column in gold.columns:
        if "__" not in column:
            out.append(pl.col(column))
            continue
        prefix = column.split("__", 1)[0]
        siblings = [c for c in gold.columns if c.startswith(prefix + "__")]
        out.append(pl.when(pl.all_horizontal(pl.col(c).is_not_null() for c in siblings)).then(pl.col(column))
                   .otherwise(None).alias(column))  # fmt: skip
    return gold.select(out)


def paper_rows(verdicts: pl.DataFrame, gold: pl.DataFrame, *, n_boot: int) -> list[dict[str, Any]]:
    """Spearman of each judge's and the panel's paper-rubric item score against the reference."""
    paper = verdicts.filter(pl.col("family") == "paper")
    values = pl.concat([
        judge_item_scores(paper).select("rubric_id", "rubric_version", "mechanism", "judge", "item_id", "score"),
        item_panel(paper).select("rubric_id", "rubric_version", "mechanism", pl.lit(PANEL).alias("judge"), "item_id",
                                 pl.col("panel").alias("score")),
    ]).drop_nulls("score")  # fmt: skip
    rows = []
    for (rubric_id, version, mechanism, judge), frame in values.group_by(
        "rubric_id", "rubric_version", "mechanism", "judge", maintain_order=True
    ):
        ref = gold_reference(gold, str(mechanism), "id")
        if ref is None:
            continue
        both = frame.join(ref, on="item_id").sort("item_id")
        got = calibration_metrics(both["score"].to_numpy(), both["gold"].to_numpy(), n_boot=n_boot, seed=0, ci=0.95)
        rows.append({"rubric_id": rubric_id, "rubric_version": version, "mechanism": mechanism, "scale": "severity",
                     "kind": "panel" if judge == PANEL else "judge", "rater": judge, "n": both.height,
                     **{k: v for k, v in got.items() if k.startswith("spearman")}})  # fmt: skip
    return sorted(rows, key=lambda r: (r["rubric_id"], r["rater"]))


def items_and_abstentions(verdicts: pl.DataFrame, gold: pl.DataFrame, summary: dict[str, Any]) -> list[dict[str, Any]]:
    """Per rubric: items it applies to, items with a reference label, items every annotator labelled,
    and per judge the abstentions over all applicable items and over the labelled ones."""
    out = []
    for (rubric_id, version, mechanism), frame in verdicts.group_by(
        "rubric_id", "rubric_version", "mechanism", maintain_order=True
    ):
        applies = set(frame.filter(~not_applicable(frame))["item_id"])
        ref = gold_reference(gold, str(mechanism), "id")
        labelled = set(ref["item_id"]) & applies if ref is not None else set()
        strict = gold_reference(_every_annotator(gold), str(mechanism), "id")
        every = set(strict["item_id"]) & applies if strict is not None else set()
        row: dict[str, Any] = {"rubric_id": rubric_id, "rubric_version": version, "mechanism": mechanism,
                               "applies": len(applies), "labelled": len(labelled), "every_annotator": len(every),
                               "judges": {}}  # fmt: skip
        for j in summary.get("judges") or []:
            if j["rubric_id"] != rubric_id or j["rubric_version"] != version:
                continue
            mine = frame.filter(pl.col("judge") == j["judge"])
            abstained = set(mine.filter(pl.col("status") == "abstained")["item_id"])
            row["judges"][j["judge"]] = {"abstained": j["n_abstained"], "of_labelled": len(abstained & labelled),
                                         "ok": j["n_ok"], "invalid": j["n_invalid"] + j["n_error"]}  # fmt: skip
        out.append(row)
    return sorted(out, key=lambda r: (MECHANISMS.index(r["mechanism"]), r["rubric_id"]))


VIEW_KEYS = ("rubric_id", "rubric_version", "mechanism", "scale", "kind", "rater", "n",
             *(f"{m}{end}" for m in ("kappa_w", "spearman", "mae") for end in ("", "_low", "_high")))  # fmt: skip


def _view_rows(rows: pl.DataFrame) -> list[dict[str, Any]]:
    """The views' rows, with the agreement figures only (the whole-set calibration keeps the rest)."""
    return [{k: r.get(k) for k in VIEW_KEYS} for r in rows.to_dicts()
            if r["kind"] in ("judge", "panel", "annotators", "baseline")]  # fmt: skip


def _shown(path: Path) -> str:
    """A path inside the repository relative to its root (the bundled sets), any other as given."""
    root = paths.PACKAGE_DIR.parent
    return str(path.resolve().relative_to(root)) if path.resolve().is_relative_to(root) else str(path)


def measure(run_dir: Path, dataset: Path, *, n_boot: int = N_BOOT) -> dict[str, Any]:
    verdicts = pl.read_parquet(run_dir / "verdicts.parquet")
    summary = json.loads((run_dir / "summary.json").read_text(encoding="utf-8"))
    data = open_dataset(dataset)
    items = list(data.items())
    facts = item_facts(items, data.gold_columns)
    if facts.gold is None:
        raise SystemExit(f"{dataset}: no gold columns; nothing to compare with")
    gold = facts.gold
    boot = {"n_boot": n_boot, "seed": 0, "ci": 0.95}
    result: dict[str, Any] = {
        "dataset": _shown(dataset),
        "run": str(run_dir),
        "n_boot": n_boot,  # the paper rows' and the views' resamples; calibration's are the run's settings
        "rubrics": sorted({f"{r}@{v}" for r, v in verdicts.select("rubric_id", "rubric_version").unique().iter_rows()}),
        "calibration": summary.get("calibration") or [],
        "paper": paper_rows(verdicts, gold, n_boot=n_boot),
        "items": items_and_abstentions(verdicts, gold, summary),
        "pairs": measure_pairs(load_pairs(PAIRS)),
    }
    annotators = _annotator_sets(gold)
    if len(annotators) >= 2:
        views: dict[str, Any] = {}
        for name in annotators:
            one = gold.select("id", *[c for c in gold.columns if c.endswith(f"__{name}")])
            views[name] = _view_rows(calibration(verdicts, one, lengths=facts.lengths, **boot))
        views["every annotator"] = _view_rows(calibration(verdicts, _every_annotator(gold), lengths=facts.lengths,
                                                           **boot))  # fmt: skip
        result["by_reference"] = views
    models = sorted({i.model for i in items})
    if len(models) >= 2:
        result["within_model"] = {}
        for model in models:
            ids = [i.id for i in items if i.model == model]
            mine = verdicts.filter(pl.col("model") == model)
            rows = calibration(mine, gold.filter(pl.col("id").is_in(ids)), lengths=facts.lengths, **boot)
            result["within_model"][model] = _view_rows(rows)
    return result


# --- markdown -----------------------------------------------------------------------------------

def _ci(r: dict[str, Any] | None, key: str, *, ci: bool = True) -> str:
    if r is None or r.get(key) is None:
        return "-"
    lo, hi = r.get(f"{key}_low"), r.get(f"{key}_high")
    return f"{r[key]:.2f} [{lo:.2f}, {hi:.2f}]" if ci and lo is not None and hi is not None else f"{r[key]:.2f}"


def _graded(result: dict[str, Any], scale: str) -> dict[tuple[str, str], dict[str, Any]]:
    return {(r["mechanism"], r["rater"]): r for r in result["calibration"] if r.get("scale", "severity") == scale}


def _pair_cell(result: dict[str, Any], mechanism: str, family: str, direction: str) -> str:
    got = {r["judge"]: r for r in result["pairs"] if r["mechanism"] == mechanism and r["family"] == family
           and r["direction"] == direction}  # fmt: skip
    if PANEL not in got:
        return "-"
    p = got[PANEL]
    return (f"{p['accuracy']:.0%} of {p['n']} (lexicon {got['lexicon']['accuracy']:.0%}, structure "
            f"{got['structure']['accuracy']:.0%})")  # fmt: skip


def _ceiling(rows: dict[tuple[str, str], dict[str, Any]], mechanism: str, key: str) -> str:
    pairs = [r for (m, _), r in rows.items() if m == mechanism and r["kind"] in ("annotators", "human")]
    return "; ".join(f"{_ci(r, key)} ({r['n']}, {r['rater']})" for r in pairs) or "- (one annotator)"


def graded_table(result: dict[str, Any], scale: str, key: str) -> str:
    rows = _graded(result, scale)
    direction = "attenuation" if scale == "severity" else "amplification"
    head = ["mechanism", "items", "offline/lexicon", "offline/structure", "panel", "length baseline",
            "model baseline", "MAE: panel / constant", "inter-annotator ceiling (items, pair)",
            f"perturbation pairs ({direction}): panel"]  # fmt: skip
    lines = ["| " + " | ".join(head) + " |", "|---" * len(head) + "|"]
    for mechanism in MECHANISMS:
        if (mechanism, PANEL) not in rows:
            continue
        cells = [_ci(rows.get((mechanism, j)), key) for j in ("offline/lexicon", "offline/structure")]
        panel, const = rows[(mechanism, PANEL)], rows.get((mechanism, "constant"))
        mae = f"{panel['mae']:.2f} / {const['mae']:.2f}" if const and const.get("mae") is not None else "-"
        lines.append(f"| {MECHANISM_CODES[mechanism].upper()} | {panel['n']} | {' | '.join(cells)} | "
                     f"{_ci(panel, key)} | {_ci(rows.get((mechanism, 'length')), key)} | "
                     f"{_ci(rows.get((mechanism, 'model')), key)} | {mae} | {_ceiling(rows, mechanism, key)} | "
                     f"{_pair_cell(result, mechanism, 'graded', direction)} |")  # fmt: skip
    return "\n".join(lines)


def spearman_table(result: dict[str, Any]) -> str:
    graded = _graded(result, "severity")
    paper = {(r["mechanism"], r["rater"]): r for r in result["paper"]}
    head = ["rubric", "items", "offline/lexicon", "offline/structure", "panel", "length baseline", "model baseline",
            "inter-annotator ceiling (items, pair)", "perturbation pairs: panel"]  # fmt: skip
    lines = ["| " + " | ".join(head) + " |", "|---" * len(head) + "|"]
    for mechanism in MECHANISMS:
        for family, rows in (("graded", graded), ("paper", paper)):
            if (mechanism, PANEL) not in rows:
                continue
            panel = rows[(mechanism, PANEL)]
            cells = [_ci(rows.get((mechanism, j)), "spearman") for j in ("offline/lexicon", "offline/structure")]
            lines.append(f"| {panel['rubric_id']} | {panel['n']} | {' | '.join(cells)} | {_ci(panel, 'spearman')} | "
                         f"{_ci(graded.get((mechanism, 'length')), 'spearman')} | "
                         f"{_ci(graded.get((mechanism, 'model')), 'spearman')} | "
                         f"{_ceiling(graded, mechanism, 'spearman')} | "
                         f"{_pair_cell(result, mechanism, family, 'attenuation')} |")  # fmt: skip
    return "\n".join(lines)


def items_table(result: dict[str, Any]) -> str:
    judges = sorted({j for r in result["items"] for j in r["judges"]})
    head = ["rubric", "items it applies to", "with a reference label", "labelled by every annotator",
            *[f"{j}: abstained (of them labelled)" for j in judges]]  # fmt: skip
    lines = ["| " + " | ".join(head) + " |", "|---" * len(head) + "|"]
    for r in result["items"]:
        cells = [f"{r['judges'][j]['abstained']} ({r['judges'][j]['of_labelled']})" if j in r["judges"] else "-"
                 for j in judges]  # fmt: skip
        lines.append(f"| {r['rubric_id']}@{r['rubric_version']} | {r['applies']} | {r['labelled']} | "
                     f"{r['every_annotator']} | {' | '.join(cells)} |")  # fmt: skip
    return "\n".join(lines)


def reference_table(result: dict[str, Any], scales: tuple[str, ...] = ("severity", "amplification")) -> str:
    """Each judge's and the panel's weighted kappa against each annotator alone and against the
    reference limited to items every annotator labelled, beside the default reference."""
    views = result.get("by_reference")
    if not views:
        return ""
    names = list(views)
    head = ["rubric (scale)", "rater", "default reference", *names]
    lines = ["| " + " | ".join(head) + " |", "|---" * len(head) + "|"]
    base = {(r["rubric_id"], r["scale"], r["rater"]): r for r in result["calibration"]
            if r["kind"] in ("judge", "panel") and r["scale"] in scales}  # fmt: skip
    order = sorted(base, key=lambda k: (scales.index(k[1]), MECHANISMS.index(base[k]["mechanism"]),
                                        k[2] == PANEL, k[2]))  # fmt: skip
    for rubric_id, scale, rater in order:
        cells = []
        for name in names:
            got = next((v for v in views[name] if v["rater"] == rater and v["rubric_id"] == rubric_id
                        and v["scale"] == scale), None)  # fmt: skip
            cells.append(f"{_ci(got, 'kappa_w')} ({got['n']})" if got else "-")
        r = base[(rubric_id, scale, rater)]
        lines.append(f"| {rubric_id} ({scale}) | {rater} | {_ci(r, 'kappa_w')} ({r['n']}) | {' | '.join(cells)} |")
    return "\n".join(lines)


def within_table(result: dict[str, Any], scales: tuple[str, ...] = ("severity", "amplification")) -> str:
    views = result.get("within_model")
    if not views:
        return ""
    head = ["rubric (scale)", "model under test", "items", "panel: kappa / Spearman", "length baseline",
            "inter-annotator ceiling (items, pair)"]  # fmt: skip
    lines = ["| " + " | ".join(head) + " |", "|---" * len(head) + "|"]
    for model, rows in views.items():
        by = {(r["rubric_id"], r["scale"], r["kind"], r["rater"]): r for r in rows}
        for (rubric_id, scale, kind, _), r in sorted(by.items(), key=lambda x: (x[0][1] != "severity", x[0][0])):
            if kind != "panel" or scale not in scales:
                continue
            length = by.get((rubric_id, scale, "baseline", "length"))
            pairs = [v for k, v in by.items() if k[:3] == (rubric_id, scale, "annotators")]

            def pair(x: dict[str, Any] | None) -> str:
                return "-" if x is None else f"{_ci(x, 'kappa_w', ci=False)} / {_ci(x, 'spearman', ci=False)}"

            ceiling = f"{pair(pairs[0])} ({pairs[0]['n']}, {pairs[0]['rater']})" if pairs else "-"
            lines.append(f"| {rubric_id} ({scale}) | {model} | {r['n']} | {pair(r)} | {pair(length)} | {ceiling} |")
    return "\n".join(lines)


def markdown(result: dict[str, Any], *, brief: bool = False) -> str:
    """Every table; ``brief`` (the README's block) leaves out amplification Spearman and the
    amplification rows of the per-annotator and per-model views."""
    scales = ("severity",) if brief else ("severity", "amplification")
    head = f"dataset: {result['dataset']}; rubrics: {', '.join(result['rubrics'])}"
    if result.get("measured"):
        m = result["measured"]
        head += f"; measured at commit {m['commit']} ({m['date'][:10]}, {result['n_boot']} bootstrap resamples)"
    out = [head, "", "Severity, weighted kappa [95% CI] (graded rubrics):", "",
           graded_table(result, "severity", "kappa_w"), "",
           "Severity, Spearman [95% CI] (graded and paper rubrics):", "", spearman_table(result)]  # fmt: skip
    if any(r.get("scale") == "amplification" for r in result["calibration"]):
        out += ["", "Amplification, weighted kappa [95% CI] (graded rubrics):", "",
                graded_table(result, "amplification", "kappa_w")]  # fmt: skip
        if not brief:
            out += ["", "Amplification, Spearman [95% CI]:", "", graded_table(result, "amplification", "spearman")]
    out += ["", "Items and abstentions:", "", items_table(result)]
    if result.get("by_reference"):
        out += ["", "Each judge and the panel against each annotator alone (weighted kappa [95% CI], items):", "",
                reference_table(result, scales)]  # fmt: skip
    if result.get("within_model"):
        out += ["", "Within one model under test (weighted kappa / Spearman):", "", within_table(result, scales)]
    return "\n".join(out)


# --- the recorded results and the README ------------------------------------------------------

def _rounded(value: Any) -> Any:
    if isinstance(value, float):
        return round(value, 4)
    if isinstance(value, dict):
        return {k: _rounded(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_rounded(v) for v in value]
    return value


def recorded(path: Path = RESULTS) -> dict[str, Any]:
    return json.loads(path.read_text(encoding="utf-8")) if path.is_file() else {}


def save(result: dict[str, Any], command: str, path: Path = RESULTS) -> None:
    """Record ``result`` under its dataset in ``path``, keeping the other datasets' entries."""
    def git(*args: str) -> str:
        return subprocess.run(["git", *args], cwd=ROOT, capture_output=True, text=True, check=False).stdout.strip()

    # "-dirty" when the tree differs from the commit, leaving out this file (saving one dataset
    # must not mark the next one's measurement dirty)
    changed = git("status", "--porcelain", "--untracked-files=no", "--", ".", f":(exclude){path.resolve()}")
    commit = git("rev-parse", "--short=7", "HEAD") + ("-dirty" if changed else "")
    entry = _rounded({k: v for k, v in result.items() if k != "run"})
    entry["measured"] = {"commit": commit or "unknown", "date": datetime.now(UTC).isoformat(timespec="seconds"),
                         "command": command}  # fmt: skip
    everything = recorded(path)
    everything[result["dataset"]] = entry
    path.write_text(_dump(everything), encoding="utf-8")


def _dump(value: Any, depth: int = 0) -> str:
    """JSON with one row (a dict inside a list) per line: readable diffs, a third of indent's size."""
    pad = " " * (depth + 1)
    if isinstance(value, dict) and value and depth < 3:
        inner = ",\n".join(f"{pad}{json.dumps(k)}: {_dump(v, depth + 1)}" for k, v in sorted(value.items()))
        out = "{\n" + inner + "\n" + " " * depth + "}"
    elif isinstance(value, list) and value and any(isinstance(v, dict) for v in value):
        out = "[\n" + ",\n".join(pad + json.dumps(v, sort_keys=True) for v in value) + "\n" + " " * depth + "]"
    else:
        out = json.dumps(value, sort_keys=True)
    return out + ("\n" if depth == 0 else "")


def readme_blocks(text: str, results: dict[str, Any]) -> str:
    """``text`` with every generated block rendered again from ``results``."""

    def render(m: re.Match[str]) -> str:
        if m.group(2) not in results:
            raise SystemExit(f"README.md has a block for {m.group(2)}, which {RESULTS.name} does not record; "
                             f"run: python benchmarks/offline_vs_gold.py --dataset {m.group(2)} --save")  # fmt: skip
        return f"{m.group(1)}{markdown(results[m.group(2)], brief=True)}\n{m.group(4)}"

    return BLOCK.sub(render, text)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--dataset", type=paths.dataset_path, default=paths.sample_dataset(),
                        help="a dataset file, or a bundled set's name: sample (default), realistic")  # fmt: skip
    parser.add_argument("--run-dir", type=Path, help="measure this run instead of running the offline panel")
    parser.add_argument("--n-boot", type=int, default=N_BOOT)
    parser.add_argument("--json", action="store_true")
    parser.add_argument("--save", action="store_true", help=f"record the result in benchmarks/{RESULTS.name}")
    parser.add_argument("--readme", action="store_true", help=f"print the README's blocks from {RESULTS.name}")
    parser.add_argument("--write", action="store_true", help="with --readme: write them into README.md")
    args = parser.parse_args()
    if args.readme:
        results = recorded()
        if args.write:
            README.write_text(readme_blocks(README.read_text(encoding="utf-8"), results), encoding="utf-8")
        else:
            print("\n\n".join(markdown(r, brief=True) for r in results.values()))
        return
    with tempfile.TemporaryDirectory() as tmp:
        run_dir = args.run_dir or run_offline(args.dataset.resolve(), Path(tmp) / "run")
        result = measure(run_dir, args.dataset, n_boot=args.n_boot)
    if args.save:
        save(result, "python benchmarks/offline_vs_gold.py " + " ".join(sys.argv[1:]))
    print(json.dumps(result, indent=1, default=float) if args.json else markdown(result))


if __name__ == "__main__":
    np.seterr(all="ignore")
    main()
