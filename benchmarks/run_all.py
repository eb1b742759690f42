"""Run every benchmark and write one results file with the machine's details.

    python benchmarks/run_all.py                 # everything, full sizes -> benchmarks/results.json
    python benchmarks/run_all.py --quick         # small sizes, a smoke test of the harness
    python benchmarks/run_all.py --only throughput startup

Each benchmark is its own script (throughput.py, fixed_costs.py, litellm_switches.py, startup.py,
cached_replay.py, aggregate.py, memory.py, report_browser.py), run here as a child process; each of those runs the
things it measures in child processes of their own, reaped with ``os.wait4``, so CPU seconds
and peak RSS are per process.
Everything talks to the loopback fake server only; every loop is bounded in count and time.
benchmarks/RESULTS.md quotes the figures this writes.
"""

from __future__ import annotations

import argparse
import importlib.metadata
import json
import os
import platform
import subprocess
import sys
import time
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from benchmarks._common import PYTHON, ROOT, measure

HERE = ROOT / "benchmarks"
PACKAGES = ("litellm", "openai", "polars", "numpy", "tenacity", "jsonschema", "aiohttp", "krippendorff", "pyyaml")

# name -> (script, full-size arguments, --quick arguments, time limit in seconds)
BENCHMARKS: dict[str, tuple[str, list[str], list[str], float]] = {
    "throughput": ("throughput.py", ["--n", "1200", "--concurrency", "64", "--latency-ms", "50", "--reps", "5"],
                   ["--n", "300", "--concurrency", "64", "--latency-ms", "50", "--reps", "1"], 1200),
    # The fixed costs per run (issue 11): end to end against the plain LiteLLM loop, the cached
    # re-run of 10,000 verdicts, --limit 10 on a 100,000-row file, with the latest rubrics; and
    # (with run_all.py --baseline REV) the same beside a commit's tree, both judging graded v2.
    "fixed_costs": ("fixed_costs.py", ["--reps", "5"],
                    ["--reps", "1", "--n", "200", "--items", "100", "--rows", "5000"], 3600),
    "fixed_costs_before_after": ("fixed_costs.py", ["--reps", "5", "--rubric-version", "2"],
                                 ["--reps", "1", "--n", "200", "--items", "100", "--rows", "5000",
                                  "--rubric-version", "2"], 5400),
    # The cached re-run alone, this tree beside --baseline REV's, with the latest rubrics (graded v3):
    # the before/after of the cached path's own work (bootstrap draws, cache key, validation).
    "cached_rerun_before_after": ("fixed_costs.py", ["--reps", "5", "--cases", "cached_rerun"],
                                  ["--reps", "1", "--items", "100", "--cases", "cached_rerun"], 3600),
    "litellm_switches": ("litellm_switches.py", ["--n", "1000", "--reps", "2"], ["--n", "200", "--reps", "1"], 900),
    "startup": ("startup.py", ["--reps", "9"], ["--reps", "2"], 300),
    "cached_rerun": ("cached_replay.py", ["--items", "3000"], ["--items", "100"], 1200),
    "aggregation": ("aggregate.py", ["--rows", "1000000", "--boot", "1000"], ["--rows", "50000", "--boot", "100"],
                    900),
    "memory": ("memory.py", ["--items", "1000", "10000", "100000"], ["--items", "200", "1000"], 3600),
    "report_browser": ("report_browser.py", [], ["--quick"], 1800),
}


def machine() -> dict[str, Any]:
    info: dict[str, Any] = {
        "python": sys.version.split()[0],
        "implementation": platform.python_implementation(),
        "platform": platform.platform(),
        "cpu_count": os.cpu_count(),
        "cpus_usable": len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else None,
        "packages": {},
    }
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                info["cpu_model"] = line.split(":", 1)[1].strip()
                break
        for line in Path("/proc/meminfo").read_text().splitlines():
            if line.startswith("MemTotal"):
                info["ram_gib"] = round(int(line.split()[1]) / 2**20, 1)
    except OSError:
        pass
    for name in PACKAGES:
        try:
            info["packages"][name] = importlib.metadata.version(name)
        except importlib.metadata.PackageNotFoundError:
            info["packages"][name] = None
    try:
        info["git_commit"] = subprocess.run(["git", "rev-parse", "HEAD"], cwd=ROOT, capture_output=True, text=True,
                                            check=True).stdout.strip()
        info["git_dirty"] = bool(subprocess.run(["git", "status", "--porcelain", "--untracked-files=no"], cwd=ROOT,
                                                capture_output=True, text=True, check=True).stdout.strip())
    except (OSError, subprocess.CalledProcessError):
        info["git_commit"] = None
    return info


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="small sizes: checks the harness in a minute or two")
    parser.add_argument("--only", nargs="+", choices=list(BENCHMARKS), help="run only these benchmarks")
    parser.add_argument("--out", type=Path, default=HERE / "results.json")
    parser.add_argument("--baseline", help="run fixed_costs_before_after: this tree beside this git revision's")
    args = parser.parse_args(argv)
    names = args.only or list(BENCHMARKS)
    started = datetime.now(UTC).isoformat(timespec="seconds")
    command = " ".join(["python", "benchmarks/run_all.py", *(argv if argv is not None else sys.argv[1:])])
    results: dict[str, Any] = {"command": command, "started_at": started, "quick": args.quick,
                               "machine": machine(), "benchmarks": {}}
    if args.only and args.out.exists():
        # --only refreshes some entries of an existing results file and keeps the others, each
        # entry carrying its own command, time and machine.
        previous = json.loads(args.out.read_text(encoding="utf-8"))
        results["benchmarks"] = previous.get("benchmarks", {})
    if not args.baseline:  # a before/after needs the before
        names = [n for n in names if not n.endswith("_before_after")]
    for name in names:
        script, full, quick, limit = BENCHMARKS[name]
        out = args.out.with_name(f".{args.out.stem}.{name}.json")
        out.unlink(missing_ok=True)
        load_before = os.getloadavg()
        print(f"[{time.strftime('%H:%M:%S')}] {name} ...", file=sys.stderr, flush=True)
        extra = ["--baseline", args.baseline] if args.baseline and name.endswith("_before_after") else []
        m = measure([PYTHON, str(HERE / script), *(quick if args.quick else full), *extra, "--out", str(out)],
                    timeout_s=limit)  # fmt: skip
        entry: dict[str, Any] = {
            "command": command, "at": datetime.now(UTC).isoformat(timespec="seconds"),
            "machine": results["machine"],
            "script": f"benchmarks/{script}", "args": [*(quick if args.quick else full), *extra], "rc": m.rc,
            "wall_s": round(m.wall_s, 2), "loadavg_before": load_before, "loadavg_after": os.getloadavg(),
        }
        if out.exists():
            entry["result"] = json.loads(out.read_text(encoding="utf-8"))
            out.unlink()
        if m.rc != 0:
            entry["stderr_tail"] = m.stderr[-3000:]
        sys.stderr.write(m.stderr[-4000:])
        results["benchmarks"][name] = entry
        print(f"[{time.strftime('%H:%M:%S')}] {name}: rc {m.rc} in {m.wall_s:.0f}s", file=sys.stderr, flush=True)
        _write(args.out, results)  # after each benchmark, so a late failure keeps the rest
    results["finished_at"] = datetime.now(UTC).isoformat(timespec="seconds")
    results["failed"] = sorted(n for n, e in results["benchmarks"].items() if e["rc"] != 0)
    _write(args.out, results)
    print(f"wrote {args.out}", file=sys.stderr)
    return 1 if results["failed"] else 0


def _write(path: Path, data: dict[str, Any]) -> None:
    tmp = path.with_name(f".{path.name}.tmp")
    tmp.write_text(json.dumps(data, indent=2, sort_keys=True) + "\n", encoding="utf-8")
    os.replace(tmp, path)


if __name__ == "__main__":
    raise SystemExit(main())
