"""Time the offline judges' verdicts per call, on the bundled sample dataset's items.

    python benchmarks/offline_judges.py [--repeat 3]

Prints JSON: milliseconds per respond() call (median and p95) per judge x rubric.
"""

from __future__ import annotations

import argparse
import json
import statistics
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from judge.core import paths
from judge.inputs.dataset import open_dataset
from judge.inputs.rubrics import select
from judge.offline.verdicts import JUDGES, respond


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--repeat", type=int, default=3)
    args = parser.parse_args()
    rubrics = select(paths.rubrics_dir())
    items = list(open_dataset(paths.sample_dataset()).items())
    results = {}
    for judge in JUDGES:
        for rubric in rubrics:
            times = []
            for _ in range(args.repeat):
                for item in items:
                    start = time.perf_counter()
                    respond(judge, rubric, item)
                    times.append((time.perf_counter() - start) * 1000)
            times.sort()
            results[f"{judge}/{rubric.id}"] = {
                "calls": len(times),
                "median_ms": round(statistics.median(times), 3),
                "p95_ms": round(times[int(0.95 * (len(times) - 1))], 3),
            }
    print(json.dumps(results, indent=2))


if __name__ == "__main__":
    main()
