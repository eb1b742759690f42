"""How well the offline judges agree with the gold labels of a dataset (default: the sample set).

    python benchmarks/offline_vs_gold.py [--run-dir DIR] [--dataset PATH] [--json]

Without --run-dir it first runs ``python -m judge run`` with the offline panel and every latest
rubric into a temporary folder. For each rubric x judge (and the panel mean), it compares the
item severity on the 0-4 scale (normalised score x 4, repeats averaged) with ``gold_<mechanism>``:
quadratic-weighted kappa on rounded severities and MAE (graded rubrics only: a paper rubric's
score is a compression rate or a label, not a 0-4 level) and Spearman's rho, with 95% item-bootstrap
CIs from ``judge.stats.diagnostics.calibration_metrics``.
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import tempfile
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

import polars as pl

from judge.core import paths
from judge.stats.diagnostics import calibration_metrics


def load_gold(dataset: Path) -> pl.DataFrame:
    rows = [json.loads(line) for line in dataset.read_text(encoding="utf-8").splitlines() if line.strip()]
    keep = [{k: v for k, v in r.items() if k == "id" or (k.startswith("gold_") and "__" not in k
             and not k.startswith("gold_note"))} for r in rows]  # fmt: skip
    return pl.DataFrame(keep).rename({"id": "item_id"})


def measure(run_dir: Path, dataset: Path, *, n_boot: int = 1000) -> list[dict[str, object]]:
    verdicts = pl.read_parquet(run_dir / "verdicts.parquet").filter(pl.col("status") == "ok")
    gold = load_gold(dataset)
    per_judge = verdicts.group_by("rubric_id", "family", "mechanism", "judge", "item_id").agg(
        (pl.col("score").mean() * 4).alias("pred")
    )
    panel = per_judge.group_by("rubric_id", "family", "mechanism", "item_id").agg(
        pl.col("pred").mean(), pl.lit("panel").alias("judge")
    )
    both = pl.concat([per_judge, panel.select(per_judge.columns)])
    out = []
    for (rubric_id, family, mechanism, judge), frame in both.group_by(
        "rubric_id", "family", "mechanism", "judge", maintain_order=True
    ):
        col = f"gold_{mechanism}"
        if col not in gold.columns:
            continue
        joined = frame.join(gold.select("item_id", col), on="item_id").drop_nulls([col, "pred"])
        got = calibration_metrics(
            joined["pred"].to_numpy(), joined[col].to_numpy(), n_boot=n_boot, seed=0, ci=0.95
        )
        if family != "graded":
            # Only the rank order of a compression rate or label is comparable with a 0-4 level.
            got = {k: v for k, v in got.items() if k.startswith("spearman")}
        out.append({"rubric_id": rubric_id, "judge": judge, "n": joined.height, **got})
    return sorted(out, key=lambda r: (str(r["rubric_id"]), str(r["judge"])))


def _fmt(r: dict[str, object], key: str) -> str:
    v, lo, hi = r.get(key), r.get(f"{key}_low"), r.get(f"{key}_high")
    if v is None:
        return "-" if key in r else "n/a"
    return f"{v:.2f} [{lo:.2f}, {hi:.2f}]" if lo is not None else f"{v:.2f}"  # type: ignore[str-format]


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--run-dir", type=Path)
    parser.add_argument("--dataset", type=Path, default=paths.sample_dataset())
    parser.add_argument("--json", action="store_true")
    args = parser.parse_args()
    run_dir = args.run_dir
    if run_dir is None:
        run_dir = Path(tempfile.mkdtemp(prefix="offline-vs-gold-")) / "run"
        subprocess.run(
            [sys.executable, "-m", "judge", "run", "--dataset", str(args.dataset), "--run-dir", str(run_dir),
             "--quiet"],
            check=True, stdout=subprocess.DEVNULL,
        )  # fmt: skip
    rows = measure(run_dir, args.dataset)
    if args.json:
        print(json.dumps(rows, indent=1))
        return
    print("| rubric | judge | n | weighted kappa (quadratic) | Spearman | MAE (0-4) |")
    print("|---|---|---|---|---|---|")
    for r in rows:
        print(f"| {r['rubric_id']} | {r['judge']} | {r['n']} | {_fmt(r, 'kappa_w')} | {_fmt(r, 'spearman')} "
              f"| {_fmt(r, 'mae')} |")  # fmt: skip


if __name__ == "__main__":
    main()
