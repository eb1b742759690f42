"""Start-up: wall time, CPU and peak RSS of CLI commands that judge nothing, against bare Python.

Commands (each run ``--reps`` times in a fresh process, median reported): ``python -c pass``,
``python -m judge --help``, ``python -m judge rubrics list`` and ``python -m judge report RUN_DIR``
(a small finished run made here with an offline judge). Also checks, with ``python -X
importtime``, which heavy packages each command imports: ``--help`` and ``rubrics list`` must load
neither LiteLLM nor polars.

    python benchmarks/startup.py --reps 7 --out startup.json
"""

from __future__ import annotations

import argparse
import statistics
import sys
import tempfile
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from benchmarks._common import PYTHON, emit_results, measure, write_dataset

HEAVY = ("litellm", "polars", "numpy", "openai", "jsonschema", "tenacity", "aiohttp", "httpx")


def commands(run_dir: Path) -> dict[str, list[str]]:
    return {
        "python -c pass": [PYTHON, "-c", "pass"],
        "--help": [PYTHON, "-m", "judge", "--help"],
        "rubrics list": [PYTHON, "-m", "judge", "rubrics", "list"],
        "report RUN_DIR": [PYTHON, "-m", "judge", "report", str(run_dir)],
    }


def heavy_imports(cmd: list[str]) -> dict[str, Any]:
    """Top-level packages among ``HEAVY`` that the command imports, and its module count."""
    m = measure([cmd[0], "-X", "importtime", *cmd[1:]], timeout_s=120)
    tops = set()
    modules = 0
    for line in m.stderr.splitlines():
        if line.startswith("import time:") and "|" in line:
            name = line.rsplit("|", 1)[1].strip()
            if name == "imported package":
                continue
            modules += 1
            tops.add(name.split(".")[0])
    return {"heavy": sorted(t for t in tops if t in HEAVY), "modules": modules}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--reps", type=int, default=7)
    parser.add_argument("--out", type=Path)
    args = parser.parse_args(argv)
    results: dict[str, Any] = {"reps": args.reps, "commands": {}}
    with tempfile.TemporaryDirectory(prefix="ej-startup-") as tmp:
        work = Path(tmp)
        dataset = write_dataset(work / "data.jsonl", 20)
        run_dir = work / "run"
        cmd = [PYTHON, "-m", "judge", "run", "--dataset", str(dataset), "--judge", "offline/lexicon",
               "--rubric", "sa-graded", "--run-dir", str(run_dir), "--quiet"]
        if _has_option("--cache-dir"):  # keep the response cache out of the project folder
            cmd += ["--cache-dir", str(work / "cache")]
        made = measure(cmd, timeout_s=180)
        if made.rc != 0:
            raise RuntimeError(f"could not make a run for `report`: {made.stderr[-1000:]}")
        cmds = commands(run_dir)
        samples: dict[str, list[Any]] = {name: [] for name in cmds}
        for _ in range(args.reps):  # interleaved, so load drift hits every command alike
            for name, cmd in cmds.items():
                m = measure(cmd, timeout_s=120)
                if m.rc != 0:
                    raise RuntimeError(f"{name}: exit {m.rc}: {m.stderr[-800:]}")
                samples[name].append(m)
        base = statistics.median(m.wall_s for m in samples["python -c pass"])
        for name, ms in samples.items():
            wall = statistics.median(m.wall_s for m in ms)
            results["commands"][name] = {
                "wall_ms": wall * 1000,
                "min_wall_ms": min(m.wall_s for m in ms) * 1000,
                "over_bare_python_ms": (wall - base) * 1000,
                "cpu_ms": statistics.median(m.cpu_s for m in ms) * 1000,
                "peak_rss_mib": statistics.median(m.peak_rss_mib for m in ms),
                **heavy_imports(cmds[name]),
            }
            print(f"  startup {name}: {wall * 1000:.0f} ms (+{(wall - base) * 1000:.0f} ms over bare python)",
                  file=sys.stderr)
    emit_results(results, args.out)
    return 0


def _has_option(option: str) -> bool:
    """Whether ``run`` has ``option`` (the response cache lands on another branch)."""
    m = measure([PYTHON, "-m", "judge", "run", "--help"], timeout_s=60)
    return option in m.stdout


if __name__ == "__main__":
    raise SystemExit(main())
