"""What batches and prompt caching save on a nightly-sized run, measured end to end.

    python benchmarks/batch_savings.py              # 500 items x 8 rubrics x 2 judges, ~10 min
    python benchmarks/batch_savings.py --items 60   # a quick look

The same plan (N items x every latest rubric x openai/gpt-4o-mini and anthropic/claude-haiku-4-5,
priced from LiteLLM's bundled map) is run four ways through the real CLI against the loopback
servers of tests/providers.py, which report cached prompt tokens the way each provider does and
run the OpenAI Files/Batches API and Anthropic's Message Batches API:

    plain     live calls, the servers cache nothing
    caching   live calls, the servers cache prompt prefixes as the providers do: OpenAI from
              1,024 tokens in steps of 128; Anthropic up to the cache_control breakpoint, from the
              model's minimum in LiteLLM's map (prompt_cache_min_tokens: 4,096 for claude-haiku-4-5)
    batch     --batch, the servers cache nothing
    both      --batch and caching

Every configuration runs with ``--budget-usd`` at the estimate's worst case for it, and one more
run of ``both`` with a cap at half its measured cost shows the cap holding: it stops (exit 3)
having spent no more than the cap. A hypothetical row runs the Anthropic judge with a 1,024-token
minimum, to show what its cache would give if the prefix qualified.

The items: the bundled sample set (168) and realistic set (180), and, to reach N, items made by
pairing a source with the response of another item of the same task (every prompt distinct). The
servers answer each rubric with a valid verdict whose rationale is about 600 characters (~150
tokens), so completions are realistic in length. Tokens are the servers' count (characters / 4).
Results go to benchmarks/batch_savings.json; the tables to stdout (copied into RESULTS.md and the
README by hand).
"""

from __future__ import annotations

import argparse
import contextlib
import io
import json
import os
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
os.environ.update({"LITELLM_LOCAL_MODEL_COST_MAP": "True", "LITELLM_OFFLINE_MODE": "true",
                   "LITELLM_MODE": "PRODUCTION", "NO_PROXY": "127.0.0.1,localhost"})

JUDGES = {"openai": "openai/gpt-4o-mini", "anthropic": "anthropic/claude-haiku-4-5"}
KEY_ENV = "BENCH_FAKE_KEY"
RATIONALE = ("The response replaces the source's concrete account of harm with a general statement; "
             "the quoted spans show that the deaths and the named victims are gone and that the "
             "emotional register drops from grief to neutral description. Under the task's norm "
             "this is a clear loss of the source's intensity, though not a complete erasure, so the "
             "level in the middle of the scale fits best, with moderate confidence.")


def items(n: int) -> list[dict[str, Any]]:
    """N distinct items: the bundled sets, then same-task source/response pairings."""
    from judge.core import paths

    data = paths.sample_dataset().parent
    rows: list[dict[str, Any]] = []
    for name in ("sample.jsonl", "realistic.jsonl"):
        for line in (data / name).read_text(encoding="utf-8").splitlines():
            row = json.loads(line)
            rows.append({k: row[k] for k in ("id", "task", "source", "response") if k in row}
                        | {"model": row.get("model", "unknown"), "id": f"{name.split('.')[0]}-{row['id']}"})
    base = list(rows)
    by_task: dict[str, list[dict[str, Any]]] = {}
    for row in base:
        by_task.setdefault(row["task"], []).append(row)
    shift = 1
    while len(rows) < n:
        for i, row in enumerate(base):
            same = by_task[row["task"]]
            other = same[(same.index(row) + shift) % len(same)]
            if other is not row:
                rows.append({**row, "id": f"pair{shift}-{i}", "response": other["response"]})
            if len(rows) >= n:
                break
        shift += 1
    return rows[:n]


def responder(body: dict[str, Any]) -> dict[str, Any]:
    from tests.fakeserver import GENERIC_VERDICT, minimal_instance, request_schema

    schema = request_schema(body)
    verdict = minimal_instance(schema) if schema else dict(GENERIC_VERDICT)
    if isinstance(verdict, dict) and "rationale" in verdict:
        verdict["rationale"] = RATIONALE
    return verdict


def cache_min(model: str) -> int:
    from judge.judging.litellm_client import bootstrap_litellm

    return int(bootstrap_litellm().utils.get_prompt_cache_min_tokens(model.split("/", 1)[1]))


def run_once(tmp: Path, data: Path, mode: str, *, anthropic_min: int | None, budget: float | None,
             name: str) -> dict[str, Any]:
    """One configuration: fresh servers, one CLI run; returns spend per judge and the budget record."""
    import polars as pl

    from judge.cli.main import main
    from tests.providers import BatchPlan, PromptCaching, ProviderServer

    caching = mode in ("caching", "both")
    servers = {
        "openai": ProviderServer(responder=responder, batch_plan=BatchPlan(progress_polls=1),
                                 prompt_caching=PromptCaching(min_tokens=cache_min(JUDGES["openai"]),
                                                              increment=128) if caching else None),
        "anthropic": ProviderServer(responder=responder, batch_plan=BatchPlan(progress_polls=1),
                                    prompt_caching=PromptCaching(min_tokens=anthropic_min or cache_min(
                                        JUDGES["anthropic"])) if caching else None),
    }
    for server in servers.values():
        server.start()
    try:
        lines = ["judges:"]
        for kind, model in JUDGES.items():
            base = servers[kind].root_url if kind == "anthropic" else servers[kind].base_url
            lines += [f"  - model: {model}", f"    api_base: {base}", f"    api_key_env: {KEY_ENV}",
                      "    max_concurrency: 16", "    batch_poll_s: 0.2", "    batch_size: 5000",
                      "    timeout_s: 60"]
        config = tmp / f"{name}.yaml"
        config.write_text("\n".join(lines) + "\n", encoding="utf-8")
        run_dir = tmp / name
        args = ["run", "--config", str(config), "--dataset", str(data), "--run-dir", str(run_dir), "--quiet",
                "--no-cache"]
        if mode in ("batch", "both"):
            args.append("--batch")
        if budget is not None:
            args += ["--budget-usd", f"{budget:.6f}"]
        started = time.perf_counter()
        with contextlib.redirect_stdout(io.StringIO()):
            code = main(args)
        wall = time.perf_counter() - started
        v = pl.read_parquet(run_dir / "verdicts.parquet")
        manifest = json.loads((run_dir / "manifest.json").read_text())
        per_judge = {}
        for kind, model in JUDGES.items():
            rows = v.filter(pl.col("judge") == model)
            per_judge[kind] = {
                "cost_usd": float(rows["cost_usd"].sum() or 0.0),
                "ok": rows.filter(pl.col("status") == "ok").height,
                "verdicts": rows.height,
                "prompt_tokens": int(rows["prompt_tokens"].sum() or 0),
                "completion_tokens": int(rows["completion_tokens"].sum() or 0),
                "cache_read_tokens": int(rows["cache_read_tokens"].sum() or 0),
                "cache_write_tokens": int(rows["cache_write_tokens"].sum() or 0),
                "batches": rows["batch_id"].n_unique() - (1 if rows["batch_id"].null_count() else 0),
            }
        return {"mode": mode, "exit": code, "wall_s": round(wall, 1), "judges": per_judge,
                "budget": manifest["budgets"][-1] if manifest.get("budgets") else None,
                "batches_created": sum(len(s.batches) for s in servers.values())}
    finally:
        for server in servers.values():
            server.stop()


def estimate_high(data: Path) -> dict[str, float]:
    """The estimate's worst cases, normal and batch: the caps the runs are given."""
    from judge.engine.estimate import estimate
    from judge.engine.plan import Plan

    plan = Plan(str(data), judges=list(JUDGES.values()))
    result = estimate(plan, Path(tempfile.mkdtemp()))
    return {"normal": result["total"]["high_usd"], "batch": result["total"]["batch_high_usd"],
            "expected": result["total"]["expected_usd"], "batch_expected": result["total"]["batch_expected_usd"]}


def table(results: dict[str, dict[str, Any]]) -> str:
    plain = results["plain"]["judges"]
    panel_plain = sum(j["cost_usd"] for j in plain.values())
    lines = ["| configuration | gpt-4o-mini | claude-haiku-4-5 | panel | panel / plain | budget cap | spent |",
             "|---|---|---|---|---|---|---|"]
    for name, r in results.items():
        j = r["judges"]
        panel = sum(x["cost_usd"] for x in j.values())
        cells = []
        for kind in JUDGES:
            share = j[kind]["cost_usd"] / plain[kind]["cost_usd"] if plain[kind]["cost_usd"] else 0.0
            cells.append(f"${j[kind]['cost_usd']:.4f} ({share:.0%})")
        budget = r.get("budget") or {}
        cap = f"${budget['cap_usd']:.4f}" if budget else "-"
        spent = f"${budget['spent_usd']:.4f}" if budget else "-"
        lines.append(f"| {name} | {cells[0]} | {cells[1]} | ${panel:.4f} | {panel / panel_plain:.1%} | {cap} | "
                     f"{spent} |")
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--items", type=int, default=500)
    parser.add_argument("--output", type=Path, default=ROOT / "benchmarks" / "batch_savings.json")
    args = parser.parse_args(argv)
    os.environ[KEY_ENV] = "sk-fake-benchmark-key"
    tmp = Path(tempfile.mkdtemp(prefix="batch-savings-"))
    data = tmp / "items.jsonl"
    data.write_text("".join(json.dumps(r) + "\n" for r in items(args.items)), encoding="utf-8")
    caps = estimate_high(data)
    results: dict[str, dict[str, Any]] = {}
    for mode in ("plain", "caching", "batch", "both"):
        cap = caps["batch" if mode in ("batch", "both") else "normal"]
        results[mode] = run_once(tmp, data, mode, anthropic_min=None, budget=cap, name=mode)
        print(f"{mode}: exit {results[mode]['exit']}, {results[mode]['wall_s']} s", file=sys.stderr)
    both_cost = sum(j["cost_usd"] for j in results["both"]["judges"].values())
    tight = run_once(tmp, data, "both", anthropic_min=None, budget=both_cost / 2, name="both-half-budget")
    hypothetical = {
        mode: run_once(tmp, data, mode, anthropic_min=1024, budget=None, name=f"{mode}-min1024")
        for mode in ("caching", "both")
    }
    report = {
        "items": args.items, "verdicts_per_run": results["plain"]["judges"]["openai"]["verdicts"] * 2,
        "estimate": caps, "results": results, "half_budget": tight, "anthropic_min_1024": hypothetical,
        "prompt_cache_min_tokens": {k: cache_min(m) for k, m in JUDGES.items()},
    }
    args.output.write_text(json.dumps(report, indent=2, sort_keys=True) + "\n", encoding="utf-8")
    print(table(results))
    print()
    print(f"half budget: cap ${tight['budget']['cap_usd']:.4f}, spent ${tight['budget']['spent_usd']:.4f}, "
          f"exit {tight['exit']}, overshoot ${tight['budget']['overshoot_usd']:.6f}")
    plain = results["plain"]["judges"]
    for mode, r in hypothetical.items():
        cost = r["judges"]["anthropic"]["cost_usd"]
        panel = cost + results[mode]["judges"]["openai"]["cost_usd"]
        print(f"if claude-haiku-4-5 cached from 1,024 tokens, {mode}: haiku ${cost:.4f} "
              f"({cost / plain['anthropic']['cost_usd']:.0%} of plain), panel "
              f"{panel / sum(j['cost_usd'] for j in plain.values()):.1%} of plain")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
