"""LiteLLM's switches, one at a time: CPU per call of a plain ``litellm.acompletion`` loop.

Each variant runs in its own process: import LiteLLM, apply the switch, warm up, then send
``--n`` calls at concurrency 64 to the loopback server (50 ms latency) and report the process
CPU time spent in the loop per call (``time.process_time``, which is steadier than wall time on a
shared machine) and the loop's calls per second. Cost accounting is checked on every variant:
``_hidden_params["response_cost"]`` must stay set.

    python benchmarks/litellm_switches.py --n 1000 --out switches.json
"""

from __future__ import annotations

import argparse
import asyncio
import json
import statistics
import sys
import time
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from benchmarks._common import MODEL, PYTHON, emit_results, fake_server, measure

VARIANTS: dict[str, str] = {
    "default": "litellm defaults (plus suppress_debug_info)",
    "bootstrap": "judge.judging.litellm_client.bootstrap_litellm(): what empathy-judge sets",
    "turn_off_message_logging": "litellm.turn_off_message_logging = True",
    "httpx_transport": "litellm.disable_aiohttp_transport = True (httpx instead of aiohttp)",
    "disable_token_counter": "litellm.disable_token_counter = True",
    "per_call_prices": "input_cost_per_token/output_cost_per_token passed on every call",
    "gc_freeze": "gc.freeze() after the import: the ~370k objects LiteLLM leaves are not rescanned by the GC",
}
SCHEMA = {"type": "object", "properties": {"severity": {"type": "integer", "minimum": 0, "maximum": 4},
                                           "rationale": {"type": "string"}},
          "required": ["severity", "rationale"]}


def child(variant: str, base_url: str, n: int, concurrency: int) -> dict[str, Any]:
    if variant == "bootstrap":
        from judge.judging.litellm_client import bootstrap_litellm

        litellm = bootstrap_litellm()
    else:
        import litellm

        litellm.suppress_debug_info = True
    if variant == "gc_freeze":
        import gc

        gc.freeze()
    if variant == "turn_off_message_logging":
        litellm.turn_off_message_logging = True
    if variant == "httpx_transport":
        litellm.disable_aiohttp_transport = True
    if variant == "disable_token_counter":
        litellm.disable_token_counter = True
    extra: dict[str, Any] = {}
    if variant == "per_call_prices":
        extra = {"input_cost_per_token": 1.5e-7, "output_cost_per_token": 6e-7}
    messages = [{"role": "system", "content": "You are a careful judge. " * 40},
                {"role": "user", "content": "<<<SOURCE>>>\n" + "Some text. " * 250 + "\n<<<END SOURCE>>>"}]
    fmt = {"type": "json_schema", "json_schema": {"name": "sa-graded", "schema": SCHEMA, "strict": False}}
    costs: list[float | None] = []

    async def one(sem: asyncio.Semaphore) -> None:
        async with sem:
            resp = await litellm.acompletion(model=f"openai/{MODEL}", messages=messages, response_format=fmt,
                                             api_base=base_url, api_key="sk-bench", timeout=60, num_retries=0,
                                             max_retries=0, **extra)
            json.loads(resp.choices[0].message.content)
            costs.append(resp._hidden_params.get("response_cost"))

    async def main() -> tuple[float, float]:
        sem = asyncio.Semaphore(concurrency)
        await asyncio.gather(*(one(sem) for _ in range(100)))  # warm up: clients, caches
        costs.clear()
        cpu, wall = time.process_time(), time.perf_counter()
        await asyncio.gather(*(one(sem) for _ in range(n)))
        return time.process_time() - cpu, time.perf_counter() - wall

    cpu, wall = asyncio.run(main())
    return {"cpu_ms_per_call": cpu * 1000 / n, "loop_calls_per_s": n / wall,
            "costed": sum(c is not None and c > 0 for c in costs), "n": n}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--n", type=int, default=1000)
    parser.add_argument("--concurrency", type=int, default=64)
    parser.add_argument("--reps", type=int, default=2)
    parser.add_argument("--variants", nargs="+", default=list(VARIANTS), choices=list(VARIANTS))
    parser.add_argument("--out", type=Path)
    parser.add_argument("--child", choices=list(VARIANTS), help=argparse.SUPPRESS)
    parser.add_argument("--base-url", help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.child:
        print(json.dumps(child(args.child, args.base_url, args.n, args.concurrency)))
        return 0
    samples: dict[str, list[dict[str, Any]]] = {v: [] for v in args.variants}
    with fake_server(50) as base_url:
        for _ in range(args.reps):
            for variant in args.variants:
                m = measure([PYTHON, __file__, "--child", variant, "--base-url", base_url, "--n", str(args.n),
                             "--concurrency", str(args.concurrency)], timeout_s=300)
                if m.rc != 0:
                    raise RuntimeError(f"{variant}: {m.stderr[-1500:]}")
                samples[variant].append(m.json_line())
    results: dict[str, Any] = {"n": args.n, "concurrency": args.concurrency, "reps": args.reps, "variants": {}}
    base = statistics.median(s["cpu_ms_per_call"] for s in samples.get("default", [])) if "default" in samples \
        else None
    for variant, runs in samples.items():
        cpu = statistics.median(r["cpu_ms_per_call"] for r in runs)
        results["variants"][variant] = {
            "what": VARIANTS[variant], "cpu_ms_per_call": cpu,
            "all_cpu_ms_per_call": [round(r["cpu_ms_per_call"], 3) for r in runs],
            "loop_calls_per_s": statistics.median(r["loop_calls_per_s"] for r in runs),
            "cpu_vs_default": cpu / base if base else None,
            "every_call_costed": all(r["costed"] == r["n"] for r in runs),
        }
        print(f"  switches {variant}: {cpu:.2f} ms CPU/call", file=sys.stderr)
    emit_results(results, args.out)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
