"""The offline default run, this tree against a baseline commit, side by side in one run.

Measures what taking the offline judges off LiteLLM's custom-provider path and onto a direct,
registered backend changed: the default run (both offline judges, every rubric, the bundled sample
set, no cache) in full and with ``--limit 1`` (almost all fixed cost), each in a fresh process,
the two trees interleaved so load drift hits both alike. Also records whether each run imported
LiteLLM (``python -X importtime``).

    python benchmarks/offline_backend.py --baseline 2f805c8 --reps 5 [--out offline_backend.json]

The baseline tree is extracted with ``git archive`` into a temporary folder.
"""

from __future__ import annotations

import argparse
import statistics
import subprocess
import sys
import tempfile
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from benchmarks._common import PYTHON, ROOT, child_env, emit_results, measure


def extract(rev: str, into: Path) -> Path:
    archive = subprocess.run(["git", "archive", rev], cwd=ROOT, capture_output=True, check=True).stdout
    into.mkdir(parents=True)
    subprocess.run(["tar", "-x", "-C", str(into)], input=archive, check=True)
    return into


def run_cmd(tree: Path, run_dir: Path, limit: int | None, *, importtime: bool = False) -> list[str]:
    cmd = [PYTHON, *(["-X", "importtime"] if importtime else []), "-m", "judge", "run", "--no-cache", "--quiet",
           "--run-dir", str(run_dir)]  # fmt: skip
    return cmd + (["--limit", str(limit)] if limit else [])


def imports_litellm(tree: Path, work: Path) -> bool:
    m = measure(run_cmd(tree, work / "probe", 1, importtime=True), env=child_env({"PYTHONPATH": str(tree)}),
                cwd=tree, timeout_s=300)  # fmt: skip
    if m.rc != 0:
        raise RuntimeError(f"{tree}: exit {m.rc}: {m.stderr[-800:]}")
    return any(line.rsplit("|", 1)[-1].strip() == "litellm" for line in m.stderr.splitlines())


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--baseline", required=True, help="git revision to compare with (e.g. the commit before)")
    parser.add_argument("--reps", type=int, default=5)
    parser.add_argument("--out", type=Path)
    args = parser.parse_args(argv)
    results: dict[str, Any] = {"baseline": args.baseline, "reps": args.reps, "cases": {}}
    with tempfile.TemporaryDirectory(prefix="ej-offline-") as tmp:
        work = Path(tmp)
        trees = {"baseline": extract(args.baseline, work / "baseline"), "this tree": ROOT}
        results["imports_litellm"] = {name: imports_litellm(tree, work / name) for name, tree in trees.items()}
        for case, limit in (("--limit 1", 1), ("full default run", None)):
            samples: dict[str, list[Any]] = {name: [] for name in trees}
            for rep in range(args.reps):
                for name, tree in trees.items():
                    run_dir = work / f"{name}-{case}-{rep}".replace(" ", "_")
                    m = measure(run_cmd(tree, run_dir, limit), env=child_env({"PYTHONPATH": str(tree)}), cwd=tree,
                                timeout_s=600)  # fmt: skip
                    if m.rc != 0:
                        raise RuntimeError(f"{name} {case}: exit {m.rc}: {m.stderr[-800:]}")
                    samples[name].append(m)
            row = {
                name: {
                    "wall_s": statistics.median(m.wall_s for m in ms),
                    "cpu_s": statistics.median(m.cpu_s for m in ms),
                    "peak_rss_mib": statistics.median(m.peak_rss_mib for m in ms),
                    "walls": [round(m.wall_s, 3) for m in ms],
                }
                for name, ms in samples.items()
            }
            row["saved_wall_s"] = row["baseline"]["wall_s"] - row["this tree"]["wall_s"]
            row["wall_ratio"] = row["this tree"]["wall_s"] / row["baseline"]["wall_s"]
            results["cases"][case] = row
            print(f"  {case}: baseline {row['baseline']['wall_s']:.2f} s, this tree {row['this tree']['wall_s']:.2f} s "
                  f"(saved {row['saved_wall_s']:.2f} s)", file=sys.stderr)  # fmt: skip
    emit_results(results, args.out)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
