"""Throughput: N judge calls at concurrency C against a loopback server with fixed latency.

Side by side, each client in its own process (wall time, CPU seconds and peak RSS per process):

- floor:        N x latency / C, what an infinitely fast client would take;
- openai:       a plain ``openai.AsyncOpenAI`` loop with a semaphore (the practical limit);
- litellm:      a plain ``litellm.acompletion`` loop with a semaphore (default settings);
- litellm-tuned: the same loop with the switches ``judge/judges.py`` sets (see RESULTS.md);
- empathy-judge: ``python -m judge run`` end to end: dataset validation, prompt rendering, the
                 calls, verdict parsing, the durable log, Parquet compaction, the summary and
                 report.html. Its wall time is split in three from the verdicts' ``finished_at``:
                 process start to the first verdict (start-up, LiteLLM's import, the first call),
                 first to last verdict (judging), last verdict to exit (compaction, summary, report).

Every client sends the same rendered sa-graded prompt (about 4 KB) with the rubric's
``json_schema`` response format to ``openai/gpt-4o-mini`` (so LiteLLM prices every call), and reads
back the verdict JSON. The server is tests/fakeserver.py in its own process.

    python benchmarks/throughput.py --n 1200 --concurrency 64 --latency-ms 50 --out tp.json
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import statistics
import sys
import tempfile
import time
from datetime import datetime
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from benchmarks._common import (
    MODEL,
    PYTHON,
    ROOT,
    Measured,
    emit_results,
    fake_server,
    measure,
    write_dataset,
    write_judge_config,
)

RUBRIC = "sa-graded"
CLIENTS = ("openai", "litellm", "litellm-tuned", "empathy-judge")


# --- the children -------------------------------------------------------------------------


def _load_requests(path: Path) -> tuple[list[list[dict[str, str]]], dict[str, Any]]:
    data = json.loads(path.read_text(encoding="utf-8"))
    return data["messages"], data["response_format"]


async def _loop(call: Any, requests: list[list[dict[str, str]]], concurrency: int) -> dict[str, Any]:
    sem = asyncio.Semaphore(concurrency)
    ok = errors = 0
    cost = 0.0
    first_error = ""

    async def one(messages: list[dict[str, str]]) -> None:
        nonlocal ok, errors, cost, first_error
        async with sem:
            try:
                text, call_cost = await call(messages)
                json.loads(text)  # every client reads the verdict back, as a judge pipeline must
                ok += 1
                cost += call_cost or 0.0
            except Exception as exc:  # counted and reported: a benchmark must not hide failures
                errors += 1
                first_error = first_error or f"{type(exc).__name__}: {exc}"[:300]

    start = time.perf_counter()
    await asyncio.gather(*(one(m) for m in requests))
    return {"ok": ok, "errors": errors, "loop_s": time.perf_counter() - start, "cost_usd": cost,
            "first_error": first_error}


def child_openai(args: argparse.Namespace) -> dict[str, Any]:
    t0 = time.perf_counter()
    import openai

    import_s = time.perf_counter() - t0
    requests, fmt = _load_requests(args.requests)
    client = openai.AsyncOpenAI(base_url=args.base_url, api_key="sk-bench", max_retries=0, timeout=60)

    async def call(messages: list[dict[str, str]]) -> tuple[str, float | None]:
        resp = await client.chat.completions.create(model=MODEL, messages=messages,  # type: ignore[arg-type]
                                                    response_format=fmt)
        return resp.choices[0].message.content or "", None

    async def main() -> dict[str, Any]:
        try:
            return await _loop(call, requests, args.concurrency)
        finally:
            await client.close()

    return {"import_s": import_s, **asyncio.run(main())}


def child_litellm(args: argparse.Namespace, *, tuned: bool) -> dict[str, Any]:
    t0 = time.perf_counter()
    if tuned:
        from judge.judging.litellm_client import bootstrap_litellm

        litellm = bootstrap_litellm()
    else:
        import litellm

        litellm.suppress_debug_info = True
    import_s = time.perf_counter() - t0
    requests, fmt = _load_requests(args.requests)

    async def call(messages: list[dict[str, str]]) -> tuple[str, float | None]:
        resp = await litellm.acompletion(
            model=f"openai/{MODEL}", messages=messages, response_format=fmt, api_base=args.base_url,
            api_key="sk-bench", timeout=60, num_retries=0, max_retries=0,
        )
        return resp.choices[0].message.content or "", resp._hidden_params.get("response_cost")

    return {"import_s": import_s, **asyncio.run(_loop(call, requests, args.concurrency))}


# --- the orchestrator ---------------------------------------------------------------------


def prepare(work: Path, n: int, rubric_ref: str = RUBRIC) -> tuple[Path, Path]:
    """The dataset, and the exact messages the pipeline renders for it, for the plain loops."""
    from judge.core import paths
    from judge.inputs.dataset import open_dataset
    from judge.inputs.prompts import PromptLibrary
    from judge.inputs.rubrics import select

    dataset_path = write_dataset(work / "data.jsonl", n)
    rubric = select(paths.rubrics_dir(), [rubric_ref])[0]
    prompts = PromptLibrary(paths.prompts_dir())
    messages = [prompts.render(rubric, item) for item in open_dataset(dataset_path).items()]
    fmt = {"type": "json_schema", "json_schema": {"name": rubric.id, "schema": rubric.schema, "strict": False}}
    requests = work / "requests.json"
    requests.write_text(json.dumps({"messages": messages, "response_format": fmt}), encoding="utf-8")
    return dataset_path, requests


def run_client(client: str, work: Path, base_url: str, dataset: Path, requests: Path, args: argparse.Namespace,
               rep: int) -> dict[str, Any]:
    if client == "empathy-judge":
        config = write_judge_config(work / "judges.yaml", base_url, concurrency=args.concurrency)
        run_dir = work / f"run-{rep}"
        # A fresh response cache per rep: every call goes to the server (as a first run's do) while
        # the run still pays for writing each reply to the cache, as it does by default.
        cache = ["--cache-dir", str(work / f"cache-{rep}")] if _run_has("--cache-dir") else []
        m = measure([PYTHON, "-m", "judge", "run", "--config", str(config), "--dataset", str(dataset),
                     "--rubric", RUBRIC, "--run-dir", str(run_dir), "--quiet", *cache], timeout_s=args.timeout_s)
        if cache and _count_cached(run_dir):
            raise RuntimeError("empathy-judge answered from a cache in a throughput run")
        return {**_summary(m), **_run_counts(run_dir), **_phases(m, run_dir)}
    m = measure([PYTHON, __file__, "--child", client, "--base-url", base_url, "--requests", str(requests),
                 "--concurrency", str(args.concurrency)], timeout_s=args.timeout_s)
    inner = m.json_line() if m.rc == 0 else {}
    return {**_summary(m), **inner}


def _run_has(option: str) -> bool:
    return option in measure([PYTHON, "-m", "judge", "run", "--help"], timeout_s=60).stdout


def _count_cached(run_dir: Path) -> int:
    log = run_dir / "verdicts.jsonl"
    if not log.exists():
        return 0
    with log.open(encoding="utf-8") as fh:
        return sum(bool(json.loads(line).get("cached")) for line in fh)


def _summary(m: Measured) -> dict[str, Any]:
    out = {"wall_s": m.wall_s, "cpu_s": m.cpu_s, "peak_rss_mib": m.peak_rss_mib, "rc": m.rc}
    if m.rc != 0:
        out["stderr_tail"] = m.stderr[-1500:]
    return out


def _phases(m: Measured, run_dir: Path) -> dict[str, Any]:
    """Seconds from process start to the first verdict, first to last verdict, last verdict to exit."""
    log = run_dir / "verdicts.jsonl"
    if m.rc != 0 or not log.exists():
        return {}
    with log.open(encoding="utf-8") as fh:
        stamps = [datetime.fromisoformat(json.loads(line)["finished_at"]).timestamp() for line in fh]
    if not stamps:
        return {}
    first, last = min(stamps), max(stamps)
    return {"to_first_verdict_s": first - m.started_at, "judging_s": last - first,
            "after_last_verdict_s": m.started_at + m.wall_s - last}  # fmt: skip


def _run_counts(run_dir: Path) -> dict[str, Any]:
    log = run_dir / "verdicts.jsonl"
    if not log.exists():
        return {"ok": 0, "errors": 0}
    ok = errors = 0
    cost = 0.0
    latencies = []
    with log.open(encoding="utf-8") as fh:
        for line in fh:
            row = json.loads(line)
            ok += row["status"] == "ok"
            errors += row["status"] != "ok"
            cost += row["cost_usd"] or 0.0
            latencies.append(row["latency_ms"] or 0.0)
    return {"ok": ok, "errors": errors, "cost_usd": cost}


def orchestrate(args: argparse.Namespace) -> dict[str, Any]:
    n, c, latency = args.n, args.concurrency, args.latency_ms
    floor_s = n * latency / 1000.0 / c
    results: dict[str, Any] = {
        "n": n, "concurrency": c, "latency_ms": latency, "reps": args.reps, "model": f"openai/{MODEL}",
        "rubric": RUBRIC, "floor": {"wall_s": floor_s, "calls_per_s": n / floor_s}, "clients": {},
    }
    with tempfile.TemporaryDirectory(prefix="ej-throughput-") as tmp, fake_server(latency) as base_url:
        work = Path(tmp)
        dataset, requests = prepare(work, n)
        runs: dict[str, list[dict[str, Any]]] = {client: [] for client in args.clients}
        # Interleave the clients rep by rep, so drift on a shared machine hits them all alike.
        for rep in range(args.reps):
            for client in args.clients:
                r = run_client(client, work, base_url, dataset, requests, args, rep)
                print(f"  throughput {client} rep {rep}: wall {r['wall_s']:.2f}s cpu {r['cpu_s']:.2f}s "
                      f"rss {r['peak_rss_mib']:.0f}MiB ok {r.get('ok')} err {r.get('errors')}", file=sys.stderr)
                runs[client].append(r)
        for client, reps in runs.items():
            results["clients"][client] = _median_rep(reps, n)
    _ratios(results)
    _paired(results, runs)
    return results


def _paired(results: dict[str, Any], runs: dict[str, list[dict[str, Any]]]) -> None:
    """empathy-judge / plain LiteLLM per rep: the two ran back to back, so each pair saw about the
    same load; the median and the range of these ratios say more than one ratio of medians."""
    ours, plain = runs.get("empathy-judge"), runs.get("litellm")
    if not ours or not plain:
        return
    pairs = sorted(b["wall_s"] / a["wall_s"] for a, b in zip(ours, plain, strict=True))
    results["paired_ratio_empathy_judge_to_litellm"] = {
        "median": statistics.median(pairs), "min": pairs[0], "max": pairs[-1], "all": [round(x, 3) for x in pairs],
    }  # fmt: skip


def _median_rep(reps: list[dict[str, Any]], n: int) -> dict[str, Any]:
    """The rep with the median whole-process wall time, plus the spread of all reps."""
    good = [r for r in reps if r["rc"] == 0 and r.get("ok") == n]
    pool = good or reps
    chosen = sorted(pool, key=lambda r: r["wall_s"])[len(pool) // 2]
    out = dict(chosen)
    out["calls_per_s"] = n / chosen["wall_s"]
    if chosen.get("loop_s"):
        out["loop_calls_per_s"] = n / chosen["loop_s"]
    out["cpu_ms_per_call"] = chosen["cpu_s"] * 1000.0 / n
    out["all_wall_s"] = [round(r["wall_s"], 3) for r in reps]
    if "to_first_verdict_s" in chosen:
        for phase in ("to_first_verdict_s", "judging_s", "after_last_verdict_s"):
            out[f"all_{phase}"] = [round(r.get(phase, float("nan")), 3) for r in reps]
    out["all_ok"] = [r.get("ok") for r in reps]
    out["valid"] = bool(good) and len(good) == len(reps)
    return out


def _ratios(results: dict[str, Any]) -> None:
    clients = results["clients"]
    ratios: dict[str, float] = {}

    def rate(name: str) -> float | None:
        return clients[name]["calls_per_s"] if name in clients else None

    pairs = [("empathy-judge", "litellm"), ("empathy-judge", "openai"), ("litellm", "openai"),
             ("litellm-tuned", "litellm"), ("litellm-tuned", "openai"), ("openai", "floor"),
             ("empathy-judge", "floor")]
    for a, b in pairs:
        ra = rate(a)
        rb = results["floor"]["calls_per_s"] if b == "floor" else rate(b)
        if ra and rb:
            ratios[f"{a} / {b}"] = ra / rb
    results["ratios_calls_per_s"] = ratios


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--n", type=int, default=1200)
    parser.add_argument("--concurrency", type=int, default=64)
    parser.add_argument("--latency-ms", type=float, default=50.0)
    parser.add_argument("--reps", type=int, default=3)
    parser.add_argument("--clients", nargs="+", default=list(CLIENTS), choices=CLIENTS)
    parser.add_argument("--timeout-s", type=float, default=300.0, help="kill any one client after this long")
    parser.add_argument("--out", type=Path)
    parser.add_argument("--child", choices=("openai", "litellm", "litellm-tuned"), help=argparse.SUPPRESS)
    parser.add_argument("--base-url", help=argparse.SUPPRESS)
    parser.add_argument("--requests", type=Path, help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.child:
        if args.child == "openai":
            result = child_openai(args)
        else:
            result = child_litellm(args, tuned=args.child == "litellm-tuned")
        print(json.dumps(result))
        return 0
    os.chdir(ROOT)
    results = orchestrate(args)
    emit_results(results, args.out)
    rates = {k: round(v["calls_per_s"], 1) for k, v in results["clients"].items()}
    print(f"throughput calls/s (whole process): {rates}; floor {results['floor']['calls_per_s']:.0f}",
          file=sys.stderr)
    return 0 if all(v["valid"] for v in results["clients"].values()) else 1


if __name__ == "__main__":
    raise SystemExit(main())
