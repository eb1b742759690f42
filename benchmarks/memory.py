"""Memory: peak RSS of ``empathy-judge run`` as the item count grows, against a fast server.

Runs the whole pipeline (one graded rubric, one ``openai/`` judge, concurrency 64) on synthetic
datasets of each ``--items`` size against the loopback server with no added latency, each run in
its own process, and reports peak RSS, wall time and CPU. Verdicts stream to the log and rows are
aggregated in polars at the end, so RSS should grow far slower than the item count; the target is
RSS(100,000 items) < 1.5 x RSS(1,000 items).

    python benchmarks/memory.py --items 1000 100000 --out memory.json
"""

from __future__ import annotations

import argparse
import sys
import tempfile
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from benchmarks._common import PYTHON, emit_results, fake_server, measure, write_dataset, write_judge_config


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--items", type=int, nargs="+", default=[1000, 10000, 100000])
    parser.add_argument("--concurrency", type=int, default=64)
    parser.add_argument("--timeout-s", type=float, default=1500.0, help="kill any one run after this long")
    parser.add_argument("--out", type=Path)
    args = parser.parse_args(argv)
    results: dict[str, Any] = {"concurrency": args.concurrency, "rubric": "sa-graded", "runs": {}}
    with tempfile.TemporaryDirectory(prefix="ej-memory-") as tmp, fake_server(0) as base_url:
        work = Path(tmp)
        config = write_judge_config(work / "judges.yaml", base_url, concurrency=args.concurrency)
        for n in sorted(args.items):
            dataset = write_dataset(work / f"data-{n}.jsonl", n)
            run_dir = work / f"run-{n}"
            m = measure([PYTHON, "-m", "judge", "run", "--config", str(config), "--dataset", str(dataset),
                         "--rubric", "sa-graded", "--run-dir", str(run_dir), "--quiet", *_no_cache()],
                        timeout_s=args.timeout_s)
            verdicts = _count_lines(run_dir / "verdicts.jsonl")
            results["runs"][str(n)] = {
                "items": n, "verdicts": verdicts, "rc": m.rc, "peak_rss_mib": m.peak_rss_mib,
                "wall_s": m.wall_s, "cpu_s": m.cpu_s, "calls_per_s": verdicts / m.wall_s if m.wall_s else None,
                "log_mib": (run_dir / "verdicts.jsonl").stat().st_size / 2**20 if verdicts else 0.0,
                **({"stderr_tail": m.stderr[-1500:]} if m.rc else {}),
            }
            print(f"  memory {n} items: rss {m.peak_rss_mib:.0f} MiB, wall {m.wall_s:.1f}s, rc {m.rc}",
                  file=sys.stderr)
            for f in run_dir.glob("*"):  # 100,000 verdicts is ~100 MB of log: free the disk
                f.unlink()
            dataset.unlink()
    runs = results["runs"]
    smallest, largest = str(min(args.items)), str(max(args.items))
    if runs[smallest]["peak_rss_mib"]:
        results["rss_ratio_largest_to_smallest"] = runs[largest]["peak_rss_mib"] / runs[smallest]["peak_rss_mib"]
    emit_results(results, args.out)
    return 0 if all(r["rc"] == 0 and r["verdicts"] == r["items"] for r in runs.values()) else 1


def _no_cache() -> list[str]:
    """``--no-cache`` once the response cache exists: 100,000 cached replies would measure the
    cache's disk use, not the run's memory."""
    m = measure([PYTHON, "-m", "judge", "run", "--help"], timeout_s=60)
    return ["--no-cache"] if "--no-cache" in m.stdout else []


def _count_lines(path: Path) -> int:
    if not path.exists():
        return 0
    with path.open("rb") as fh:
        return sum(1 for _ in fh)


if __name__ == "__main__":
    raise SystemExit(main())
