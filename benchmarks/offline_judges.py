"""Time the offline judges' verdicts per call, on the bundled sample dataset's real prompts.

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
from judge.inputs.config import OFFLINE_MODELS
from judge.inputs.dataset import open_dataset
from judge.inputs.prompts import PromptLibrary
from judge.inputs.rubrics import select
from judge.offline.verdicts import respond


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--repeat", type=int, default=3)
    args = parser.parse_args()
    rubrics = select(paths.rubrics_dir())
    prompts = PromptLibrary(paths.prompts_dir())
    items = list(open_dataset(paths.sample_dataset()).items())
    results = {}
    for judge in OFFLINE_MODELS:
        for rubric in rubrics:
            rendered = [prompts.render(rubric, item) for item in items]
            times = []
            for _ in range(args.repeat):
                for messages in rendered:
                    start = time.perf_counter()
                    respond(judge, rubric.id, messages)
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
