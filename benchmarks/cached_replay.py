"""Cached re-run: a finished 10,000-verdict run done again with every reply in the response cache,
and again with ``--replay`` (answers only from the cache).

Makes the first run (3,000 items x the 4 graded rubrics x 1 judge: 12,000 rows, of which the
2,000 whose rubric does not apply to the item's task or dimension are skipped rows with no call,
so 10,000 replies) against the loopback server,
filling a fresh cache, then measures wall time, CPU and peak RSS of the two re-runs, each into a
new run directory, and checks that they made no calls and wrote every verdict. The target is
under 3 s; a cache hit should not even import LiteLLM (checked with ``-X importtime``).

    python benchmarks/cached_replay.py --items 3000 --out cached.json

Needs the response cache (``--cache-dir``, ``--replay``); without it the result says "pending".
"""

from __future__ import annotations

import argparse
import json
import sys
import tempfile
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from benchmarks._common import (
    PYTHON,
    Measured,
    emit_results,
    fake_server,
    measure,
    write_dataset,
    write_judge_config,
)

RUBRICS = ("sa-graded", "egm-graded", "ca-graded", "ld-graded")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--items", type=int, default=3000, help="items; rows = items x 4 rubrics")
    parser.add_argument("--timeout-s", type=float, default=900.0)
    parser.add_argument("--out", type=Path)
    args = parser.parse_args(argv)
    results = run(args)
    emit_results(results, args.out)
    return 0 if results.get("status") in ("ok", "pending") else 1


def run(args: argparse.Namespace) -> dict[str, Any]:
    help_text = measure([PYTHON, "-m", "judge", "run", "--help"], timeout_s=60).stdout
    if "--replay" not in help_text or "--cache-dir" not in help_text:
        return {"status": "pending", "reason": "this build has no response cache (--cache-dir, --replay)"}
    results: dict[str, Any] = {"status": "ok", "items": args.items, "rubrics": list(RUBRICS)}
    with tempfile.TemporaryDirectory(prefix="ej-cached-") as tmp, fake_server(0) as base_url:
        work = Path(tmp)
        config = write_judge_config(work / "judges.yaml", base_url, concurrency=64)
        dataset = write_dataset(work / "data.jsonl", args.items)
        cache = work / "cache"

        def cmd(name: str, *extra: str) -> list[str]:
            return [PYTHON, "-m", "judge", "run", "--config", str(config), "--dataset", str(dataset),
                    *[a for r in RUBRICS for a in ("--rubric", r)], "--run-dir", str(work / name),
                    "--cache-dir", str(cache), "--quiet", *extra]

        first = measure(cmd("first"), timeout_s=args.timeout_s)
        results["first_run"] = _row(first, work / "first")
        print(f"  cached: first run {first.wall_s:.1f}s, {results['first_run']['verdicts']} verdicts",
              file=sys.stderr)
        if first.rc != 0:
            results["status"] = "failed"
            return results
        for name, extra in (("cached", ()), ("replay", ("--replay",))):
            m = measure(cmd(name, *extra), timeout_s=args.timeout_s)
            results[name] = _row(m, work / name)
            print(f"  cached: {name} re-run {m.wall_s:.2f}s (rc {m.rc})", file=sys.stderr)
            if m.rc != 0:
                results["status"] = "failed"
        probe = measure([PYTHON, "-X", "importtime", *cmd("probe", "--replay")[1:]], timeout_s=args.timeout_s)
        results["replay_imports_litellm"] = any(
            line.rsplit("|", 1)[-1].strip().split(".")[0] == "litellm"
            for line in probe.stderr.splitlines() if line.startswith("import time:")
        )
    return results


def _row(m: Measured, run_dir: Path) -> dict[str, Any]:
    rows = []
    log = run_dir / "verdicts.jsonl"
    if log.exists():
        with log.open(encoding="utf-8") as fh:
            rows = [json.loads(line) for line in fh]
    out = {
        "wall_s": m.wall_s, "cpu_s": m.cpu_s, "peak_rss_mib": m.peak_rss_mib, "rc": m.rc,
        "verdicts": len(rows), "ok": sum(r["status"] == "ok" for r in rows),
        "cached_rows": sum(bool(r.get("cached")) for r in rows),
    }
    if m.rc:
        out["stderr_tail"] = m.stderr[-1500:]
    return out


if __name__ == "__main__":
    raise SystemExit(main())
