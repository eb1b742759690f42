"""Fixed costs per run, side by side in one run: this tree (and optionally a baseline commit)
against a plain LiteLLM loop.

Three cases, each rep in fresh processes, the contestants interleaved rep by rep so load drift on
a shared machine hits them all alike; medians with every rep's value beside them:

- end to end: ``empathy-judge run`` on N calls (default 1,200) at concurrency 64 against the
  loopback server with 50 ms latency, and the plain ``litellm.acompletion`` loop of
  benchmarks/throughput.py over the same rendered requests, its import included. Each run's wall
  time is split at its first and last verdict (the verdicts' ``finished_at``): start-up, judging,
  and what follows the last verdict. The ratio is plain-loop wall / empathy-judge wall, per rep.
- cached re-run: a finished run of ITEMS x 4 graded rubrics done again with every reply in the
  response cache (each tree fills its own cache first, on a server with no latency). A rubric
  that does not apply to an item's task or dimension makes a skipped row and no call (a sixth of
  the rows with this dataset), so the default 3,000 items make 12,000 rows of which 10,000 are
  replies served from the cache: the target's 10,000 verdicts.
- ``--limit 10`` on a ROWS-row file (default 100,000) against the same on a 10-row file, with the
  default offline panel and every rubric (no LiteLLM import for the dataset's cost to hide behind).

    python benchmarks/fixed_costs.py [--baseline REV] [--rubric-version 2] [--reps 5] [--out fixed_costs.json]

The baseline tree is extracted with ``git archive`` into a temporary folder. A tree's latest rubric
can differ from the baseline's (graded v3 prompts are twice as long as v2's), so a before/after
comparison pins a version both trees have (``--rubric-version 2``): the same requests on both sides.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import sys
import tempfile
from collections.abc import Callable
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from benchmarks._common import (
    PYTHON,
    ROOT,
    Measured,
    child_env,
    emit_results,
    fake_server,
    measure,
    write_dataset,
    write_judge_config,
)
from benchmarks.offline_backend import extract
from benchmarks.throughput import _phases, prepare

GRADED = ("sa-graded", "egm-graded", "ca-graded", "ld-graded")


def _ref(rubric: str, args: argparse.Namespace) -> str:
    """A rubric as the runs name it: pinned to --rubric-version (so two trees judge the same
    requests), else its latest version in each tree."""
    return f"{rubric}@{args.rubric_version}" if args.rubric_version else rubric


def _median(values: list[float]) -> float:
    return statistics.median(values)


def _row(ms: list[Measured], extra: list[dict[str, Any]] | None = None) -> dict[str, Any]:
    out: dict[str, Any] = {
        "wall_s": _median([m.wall_s for m in ms]),
        "cpu_s": _median([m.cpu_s for m in ms]),
        "peak_rss_mib": _median([m.peak_rss_mib for m in ms]),
        "all_wall_s": [round(m.wall_s, 3) for m in ms],
    }
    for key in ("to_first_verdict_s", "judging_s", "after_last_verdict_s"):
        values = [e[key] for e in extra or [] if key in e]
        if values:
            out[key] = _median(values)
            out[f"all_{key}"] = [round(v, 3) for v in values]
    return out


def _slug(*parts: object) -> str:
    return "-".join(str(p) for p in parts).replace(" ", "_")


def _judge(*args: str) -> list[str]:
    return [PYTHON, "-m", "judge", "run", "--quiet", *args]


def _run(tree: Path, cmd: list[str], timeout_s: float) -> Measured:
    m = measure(cmd, env=child_env({"PYTHONPATH": str(tree)}), cwd=tree, timeout_s=timeout_s)
    if m.rc != 0:
        raise RuntimeError(f"{tree}: {' '.join(cmd[2:6])}...: exit {m.rc}: {m.stderr[-800:]}")
    return m


LOAD: list[float] = []  # the 1-minute load average before each measured process of a case


def _interleave(names: list[str], reps: int, one: Callable[[str, int], tuple[Measured, dict[str, Any]]]) -> dict:
    samples: dict[str, list[tuple[Measured, dict[str, Any]]]] = {name: [] for name in names}
    for rep in range(reps):
        for name in names:
            LOAD.append(os.getloadavg()[0])
            samples[name].append(one(name, rep))
    return samples


def end_to_end(trees: dict[str, Path], work: Path, args: argparse.Namespace) -> dict[str, Any]:
    out: dict[str, Any] = {"calls": args.n, "concurrency": 64, "latency_ms": 50.0}
    with fake_server(50.0) as base_url:
        dataset, requests = prepare(work, args.n, _ref("sa-graded", args))
        config = write_judge_config(work / "judges.yaml", base_url, concurrency=64)

        def one(name: str, rep: int) -> tuple[Measured, dict[str, Any]]:
            if name == "plain litellm loop":
                cmd = [PYTHON, str(ROOT / "benchmarks" / "throughput.py"), "--child", "litellm", "--base-url", base_url,
                       "--requests", str(requests), "--concurrency", "64"]  # fmt: skip
                m = _run(ROOT, cmd, args.timeout_s)
                return m, m.json_line()
            run_dir, cache = work / _slug("e2e", name, rep), work / _slug("cache", name, rep)
            cmd = _judge("--config", str(config), "--dataset", str(dataset), "--rubric", _ref("sa-graded", args),
                         "--run-dir", str(run_dir), "--cache-dir", str(cache))  # fmt: skip
            m = _run(trees[name], cmd, args.timeout_s)
            return m, _phases(m, run_dir)

        names = ["plain litellm loop", *trees]
        samples = _interleave(names, args.reps, one)
    plain = samples["plain litellm loop"]
    for name in names:
        ms = [m for m, _ in samples[name]]
        row = _row(ms, [e for _, e in samples[name]])
        row["calls_per_s"] = args.n / row["wall_s"]
        if name != "plain litellm loop":
            ratios = sorted(p.wall_s / m.wall_s for (p, _), m in zip(plain, ms, strict=True))
            row["ratio_to_plain_loop"] = {"median": _median(ratios), "min": ratios[0], "max": ratios[-1],
                                          "all": [round(r, 3) for r in ratios]}  # fmt: skip
        out[name] = row
    return out


def cached_rerun(trees: dict[str, Path], work: Path, args: argparse.Namespace) -> dict[str, Any]:
    out: dict[str, Any] = {"items": args.items, "verdicts": args.items * len(GRADED)}
    dataset = write_dataset(work / "cached.jsonl", args.items)
    rubrics = [a for r in GRADED for a in ("--rubric", _ref(r, args))]
    with fake_server(0.0) as base_url:
        config = write_judge_config(work / "cached.yaml", base_url, concurrency=64)
        for name, tree in trees.items():  # fill each tree's own cache
            fill = _judge("--config", str(config), "--dataset", str(dataset), *rubrics, "--run-dir",
                          str(work / _slug("fill", name)), "--cache-dir", str(work / _slug("cache", name)))  # fmt: skip
            _run(tree, fill, 1800)

        def one(name: str, rep: int) -> tuple[Measured, dict[str, Any]]:
            run_dir = work / _slug("cached", name, rep)
            cmd = _judge("--config", str(config), "--dataset", str(dataset), *rubrics, "--run-dir", str(run_dir),
                         "--cache-dir", str(work / _slug("cache", name)))  # fmt: skip
            m = _run(trees[name], cmd, args.timeout_s)
            with (run_dir / "verdicts.jsonl").open(encoding="utf-8") as fh:
                rows = [json.loads(line) for line in fh]
            # Every row is a cached reply, or a rubric that does not apply to the item (skipped, no call).
            called = [r for r in rows if not r.get("cached") and r["status"] != "skipped"]
            if len(rows) != out["verdicts"] or called:
                raise RuntimeError(f"{name}: {len(rows)} rows, {len(called)} not from the cache")
            return m, {"from_cache": sum(bool(r.get("cached")) for r in rows)}

        samples = _interleave(list(trees), args.reps, one)
    for name, pairs in samples.items():
        out[name] = {**_row([m for m, _ in pairs]), "from_cache": pairs[0][1]["from_cache"]}
    return out


def limit_on_large_file(trees: dict[str, Path], work: Path, args: argparse.Namespace) -> dict[str, Any]:
    out: dict[str, Any] = {"rows": args.rows, "limit": 10}
    files = {"large": write_dataset(work / "large.jsonl", args.rows), "small": write_dataset(work / "small.jsonl", 10)}
    out["large_file_mib"] = files["large"].stat().st_size / 2**20
    names = [f"{tree} / {size}" for tree in trees for size in files]

    def one(name: str, rep: int) -> tuple[Measured, dict[str, Any]]:
        tree, size = name.split(" / ")
        run_dir = work / _slug("limit", tree, size, rep)
        cmd = _judge("--dataset", str(files[size]), "--limit", "10", "--no-cache", "--run-dir", str(run_dir))
        return _run(trees[tree], cmd, args.timeout_s), {}

    samples = _interleave(names, args.reps, one)
    for tree in trees:
        large = [m for m, _ in samples[f"{tree} / large"]]
        small = [m for m, _ in samples[f"{tree} / small"]]
        ratios = sorted(a.wall_s / b.wall_s for a, b in zip(large, small, strict=True))
        out[tree] = {"large": _row(large), "small": _row(small),
                     "ratio_large_to_small": {"median": _median(ratios), "min": ratios[0], "max": ratios[-1],
                                              "all": [round(r, 3) for r in ratios]}}  # fmt: skip
    return out


CASES = {"end_to_end": end_to_end, "cached_rerun": cached_rerun, "limit_large_file": limit_on_large_file}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--baseline", help="git revision to measure beside this tree (e.g. the commit before)")
    parser.add_argument("--reps", type=int, default=5)
    parser.add_argument("--n", type=int, default=1200, help="calls in the end-to-end case")
    parser.add_argument("--items", type=int, default=3000, help="items in the cached case (x 4 rubrics; "
                        "3,000 items give 10,000 replies from the cache)")  # fmt: skip
    parser.add_argument("--rows", type=int, default=100_000, help="rows of the large file in the --limit case")
    parser.add_argument("--cases", nargs="+", choices=list(CASES), default=list(CASES))
    parser.add_argument("--rubric-version", type=int, help="pin the graded rubrics to this version (e.g. 2, which "
                        "a baseline tree also has); default: the latest in each tree")  # fmt: skip
    parser.add_argument("--timeout-s", type=float, default=600.0)
    parser.add_argument("--out", type=Path)
    args = parser.parse_args(argv)
    results: dict[str, Any] = {"baseline": args.baseline, "reps": args.reps, "rubric_version": args.rubric_version}
    with tempfile.TemporaryDirectory(prefix="ej-fixed-") as tmp:
        work = Path(tmp)
        trees = {"this tree": ROOT}
        if args.baseline:
            trees = {"baseline": extract(args.baseline, work / "baseline-tree"), **trees}
        for case in args.cases:
            LOAD.clear()
            results[case] = CASES[case](trees, work, args)
            results[case]["loadavg_1min"] = {"min": min(LOAD), "median": statistics.median(LOAD), "max": max(LOAD)}
            print(f"  fixed costs: {case} done", file=sys.stderr)
    emit_results(results, args.out)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
