"""A real model judges through the whole pipeline: llama-cpp-python's server with SmolLM2-135M.

Starts the server on loopback (tests/llama_server.py finds it and the model; see the README, "A
real model"), then judges a handful of items from the bundled sample set with every rubric,
through the Python API (``judge.evaluate``), one rubric at a time, in these configurations:

    layout   mode                 what it shows
    after    auto                 the negotiation (it lands on json_object_schema) and the prompt
                                  layout of today (rubric first, item last)
    before   auto                 the same, with the templates from before the layout change
    after    json_object          any JSON object, the schema only in the prompt
    after    none                 no response_format, the schema only in the prompt

One rubric at a time and one call at a time (``max_concurrency: 1``): llama.cpp's server keeps
the KV cache of the last prompt, so a call reuses the prefix it shares with the call before it.
The first call of a rubric's run follows another run's last call; the later ones follow the same
run's. The configurations take turns rubric by rubric, so a change in the machine's load hits
them alike. Latency is the client's, per verdict.

The server runs with ``--verbose``: its log says, per request, how many prompt tokens it found in
its KV cache ("prefix-match hit") and how long the request took on its side; both go beside the
client's latency.

The table goes between markers in benchmarks/RESULTS.md; the raw figures to
benchmarks/real_judge.json (written after every run, so an interrupted benchmark keeps what it
measured; ``--render`` redraws the table from it).

A 135M model is a poor judge. This measures the real path (server, tokenizer, constrained
decoding, context length, latency, exit status), never the validity of its verdicts.

    python benchmarks/real_judge.py [--items 3] [--modes auto json_object none] [--render]
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from benchmarks._common import SAFE_ENV  # noqa: E402

os.environ.update(SAFE_ENV)  # before LiteLLM is imported (shared/notes/litellm.md)

from tests.llama_server import ALIAS, LlamaServer, find_llama  # noqa: E402

RESULTS_JSON = ROOT / "benchmarks" / "real_judge.json"
RESULTS_MD = ROOT / "benchmarks" / "RESULTS.md"
BEGIN, END = "<!-- real-judge:begin -->", "<!-- real-judge:end -->"
# The templates before "prompts: rubric first, item last, for prefix caching" (its parent commit).
LAYOUT_COMMIT = "5c66ea8"
# One item of each of three tasks from the bundled sample set (a news rewrite, a counselling
# reply, a literary translation with its reference): different tasks, so the prompts of two
# consecutive items differ from the task line on.
ITEM_IDS = ("news-01-a", "counselling-01-b", "translation-01-a")
MAX_TOKENS = 600  # enough for every verdict shape here; a 135M model may otherwise ramble on


def before_prompts(target: Path) -> Path:
    """The prompt templates as they were before the layout change, checked out from git."""
    ref = f"{LAYOUT_COMMIT}^"
    names = subprocess.run(["git", "ls-tree", "--name-only", f"{ref}:prompts"], cwd=ROOT, check=True,
                           capture_output=True, text=True).stdout.split()  # fmt: skip
    target.mkdir(parents=True, exist_ok=True)
    for name in names:
        text = subprocess.run(["git", "show", f"{ref}:prompts/{name}"], cwd=ROOT, check=True,
                              capture_output=True, text=True).stdout  # fmt: skip
        (target / name).write_text(text, encoding="utf-8")
    return target


def items_file(target: Path, n: int) -> Path:
    from judge.core import paths

    wanted = ITEM_IDS[:n]
    rows = {}
    with open(paths.sample_dataset(), encoding="utf-8") as fh:
        for line in fh:
            row = json.loads(line)
            if row["id"] in wanted:
                rows[row["id"]] = row
    target.write_text("".join(json.dumps(rows[i], ensure_ascii=False) + "\n" for i in wanted), encoding="utf-8")
    return target


def server_requests(log: Path) -> list[dict[str, float]]:
    """Each answered request in the server's verbose log, in order: prompt tokens reused from the
    KV cache, prompt tokens evaluated (when it reused any), and the server's total time."""
    found: list[dict[str, float]] = []
    hit: tuple[float, float] | None = None
    for line in log.read_text(encoding="utf-8", errors="replace").splitlines():
        if "prefix-match hit" in line:  # "Llama.generate: 850 prefix-match hit, remaining 43 prompt tokens to eval"
            words = line.split()
            hit = (float(words[1]), float(words[words.index("remaining") + 1]))
        elif "total time =" in line:  # "llama_perf_context_print: total time = 12341.10 ms / 29 tokens"
            total_ms = float(line.split("=", 1)[1].split("ms", 1)[0])
            found.append({"prefix_hit": hit[0] if hit else 0.0, "server_ms": total_ms})
            hit = None
    return found


def judge_one_rubric(server: LlamaServer, data: Path, rubric: str, mode: str, prompts: Path | None,
                     run_dir: Path) -> dict[str, Any]:  # fmt: skip
    import judge

    config = {
        "model": f"openai/{ALIAS}", "api_base": server.base_url, "response_format": mode, "max_concurrency": 1,
        "timeout_s": 900, "params": {"max_tokens": MAX_TOKENS}, "input_cost_per_token": 0,
        "output_cost_per_token": 0,
    }  # fmt: skip
    plan = judge.Plan(data, judges=[config], rubrics=[rubric], cache="off", prompts_dir=prompts)
    messages: list[str] = []
    start = time.perf_counter()
    run = judge.evaluate(plan, run_dir, html=False, on_message=messages.append)
    wall = time.perf_counter() - start
    rows = run.verdicts.sort("item_id").to_dicts()
    order = {item: i for i, item in enumerate(ITEM_IDS)}
    rows.sort(key=lambda r: order.get(r["item_id"], 99))  # the order the calls were made in
    health = run.manifest.health.judges[0] if run.manifest.health else None
    return {
        "rubric": rubric,
        "mode": mode,
        "layout": "before" if prompts is not None else "after",
        "status": run.status,
        "wall_s": round(wall, 2),
        "messages": messages,
        "response_format": health.response_format if health else None,
        "format_rejected": health.format_rejected if health else [],
        "verdicts": [
            {k: r[k] for k in ("item_id", "status", "attempts", "latency_ms", "prompt_tokens", "completion_tokens",
                               "cost_usd", "response_format", "error")}
            for r in rows
        ],
    }


def measure(args: argparse.Namespace) -> dict[str, Any]:
    from judge.core import paths
    from judge.inputs.rubrics import select

    setup = find_llama()
    if setup.missing:
        raise SystemExit(f"real_judge: {setup.missing}")
    selected = select(paths.rubrics_dir(), args.rubrics or None)
    rubrics = [r.ref for r in selected]
    templates = {r.ref: r.prompt for r in selected}
    results: dict[str, Any] = {
        "started": time.strftime("%Y-%m-%d %H:%M:%S"),
        "commit": subprocess.run(["git", "rev-parse", "--short", "HEAD"], cwd=ROOT, capture_output=True,
                                 text=True).stdout.strip(),
        "model": str(setup.model.name if setup.model else None),
        "server": {"n_ctx": args.n_ctx, "n_threads": args.n_threads, "package": "llama-cpp-python 0.3.36"},
        "items": list(ITEM_IDS[: args.items]),
        "max_tokens": MAX_TOKENS,
        "load_before": os.getloadavg(),
        "runs": [],
    }
    configs = [("after", "auto"), ("before", "auto")] + [("after", m) for m in args.modes if m != "auto"]
    if args.merge and RESULTS_JSON.exists():  # keep the configurations not measured this time
        kept = json.loads(RESULTS_JSON.read_text(encoding="utf-8"))["runs"]
        results["runs"] = [r for r in kept if (r["layout"], r["mode"]) not in configs]
    with tempfile.TemporaryDirectory() as tmp_name:
        tmp = Path(tmp_name)
        data = items_file(tmp / "items.jsonl", args.items)
        before = before_prompts(tmp / "prompts-before")
        log = tmp / "server.log"
        seen = 0
        with LlamaServer(setup, n_ctx=args.n_ctx, n_threads=args.n_threads, log=log, verbose=True) as server:
            for rubric in rubrics:
                for layout, mode in configs:
                    if layout == "before" and not (before / f"{templates[rubric]}.yaml").exists():
                        continue  # a template written after the layout change: no "before" to compare
                    prompts = before if layout == "before" else None
                    run_dir = tmp / "runs" / f"{layout}-{mode}-{rubric.replace('@', '-')}"
                    entry = judge_one_rubric(server, data, rubric, mode, prompts, run_dir)
                    answered = server_requests(log)
                    replies = [v for v in entry["verdicts"] if v["status"] in ("ok", "invalid")]
                    for verdict, request in zip(replies, answered[seen:], strict=False):
                        verdict.update(request)
                    seen = len(answered)
                    entry.update(at=time.strftime("%Y-%m-%d %H:%M"), load=os.getloadavg()[0])
                    results["runs"].append(entry)
                    print(f"{layout:6} {mode:11} {rubric:14} {entry['status']:9} {entry['wall_s']:7.1f} s "
                          + " ".join(v["status"] for v in entry["verdicts"]), flush=True)  # fmt: skip
                    results["load_after"] = os.getloadavg()
                    RESULTS_JSON.write_text(json.dumps(results, indent=1) + "\n", encoding="utf-8")
    results["finished"] = time.strftime("%Y-%m-%d %H:%M:%S")
    RESULTS_JSON.write_text(json.dumps(results, indent=1) + "\n", encoding="utf-8")
    return results


# --- the table ------------------------------------------------------------------------------


def _s(ms: float | None) -> str:
    return "-" if ms is None else f"{ms / 1000:.1f}"


def _median(values: list[float]) -> float | None:
    return statistics.median(values) if values else None


def render(results: dict[str, Any]) -> str:
    runs = results["runs"]
    rubrics = list(dict.fromkeys(r["rubric"] for r in runs))
    order = ["auto", "json_object_schema", "json_schema", "json_object", "none"]
    configs = sorted(dict.fromkeys((r["layout"], r["mode"]) for r in runs),
                     key=lambda c: (order.index(c[1]) if c[1] in order else 9, c[0] != "after"))  # fmt: skip
    label = {cfg: f"{cfg[1]}{' (before layout)' if cfg[0] == 'before' else ''}" for cfg in configs}
    by = {(r["layout"], r["mode"], r["rubric"]): r for r in runs}
    lines = [
        f"Measured {results['started']} at commit `{results['commit']}`: {results['model']} on llama-cpp-python "
        f"0.3.36's server (`--n_threads {results['server']['n_threads']} --n_ctx {results['server']['n_ctx']}`), "
        f"loopback; items {', '.join(results['items'])} of the bundled sample set; the latest version of every "
        f"rubric at that commit, one rubric at a time, one call at a time; `max_tokens` {results['max_tokens']}; "
        "prices set to 0 in the config. Load "
        f"average before {_load(results.get('load_before'))}, after {_load(results.get('load_after'))} (a "
        "2-core machine shared with other sessions: read latencies as rough). Raw figures: "
        "`benchmarks/real_judge.json`; `python benchmarks/real_judge.py` measures again.",
        "",
        "**A 135M model is a poor judge.** These figures prove the real path works (server, tokenizer, "
        "constrained decoding, context length, latency, exit status); they say nothing about whether its "
        "verdicts are right.",
        "",
        "#### Response format, retries and run status",
        "",
        "| configuration | runs | form it answered in | forms refused on the way | requests beyond one per "
        "verdict (retries) | run statuses | measured | load average (1 min) |",
        "|---|---|---|---|---|---|---|---|",
    ]
    for cfg in configs:
        rs = [r for r in runs if (r["layout"], r["mode"]) == cfg]
        formats = sorted({str(r["response_format"]) for r in rs})
        refused = sorted({f["mode"] for r in rs for f in r["format_rejected"]})
        retries = sum(v["attempts"] - 1 for r in rs for v in r["verdicts"] if v["attempts"])
        statuses = sorted({r["status"] for r in rs})
        times = sorted(r["at"] for r in rs if r.get("at"))
        loads = [r["load"] for r in rs if r.get("load") is not None]
        when = f"{times[0]} to {times[-1][-5:]}" if times else "-"
        load = f"{min(loads):.1f}-{max(loads):.1f}" if loads else "-"
        lines.append(f"| {label[cfg]} | {len(rs)} | {', '.join(formats)} | {', '.join(refused) or '-'} "
                     f"| {retries} | {', '.join(statuses)} | {when} | {load} |")  # fmt: skip
    lines += ["", *[f"{note}" for note in results.get("notes", [])]] if results.get("notes") else []
    lines += [
        "",
        "#### Valid verdicts (ok / judged) per rubric and response format",
        "",
        "| rubric | " + " | ".join(label[c] for c in configs) + " |",
        "|---|" + "---|" * len(configs),
    ]
    totals = {c: [0, 0] for c in configs}
    for rubric in rubrics:
        cells = []
        for cfg in configs:
            run = by.get((*cfg, rubric))
            if run is None:
                cells.append("-")
                continue
            ok = sum(v["status"] == "ok" for v in run["verdicts"])
            totals[cfg][0] += ok
            totals[cfg][1] += len(run["verdicts"])
            cells.append(f"{ok}/{len(run['verdicts'])}")
        lines.append(f"| {rubric} | " + " | ".join(cells) + " |")
    lines.append("| **all** | " + " | ".join(f"**{ok}/{n}** ({ok / n:.0%})" if n else "-"
                                            for ok, n in totals.values()) + " |")  # fmt: skip
    reasons = [f"{label[c]}: {', '.join(_reasons([r for r in runs if (r['layout'], r['mode']) == c]))}"
               for c in configs if _reasons([r for r in runs if (r["layout"], r["mode"]) == c])]  # fmt: skip
    if reasons:
        lines += ["", "Why replies were invalid, per configuration: " + "; ".join(reasons) + "."]
    lines += [
        "",
        "#### Latency: first call of a rubric vs the calls after it (prefix cache), before and after the layout",
        "",
        "Seconds per verdict (the client's), response format `auto` (json_object_schema), and the prompt tokens "
        "the server found in its KV cache (its log's \"prefix-match hit\"), first call / median of the later ones. "
        "The first call of a rubric's run follows another run's last call (the other layout's run of the same "
        "rubric, or the previous rubric's); the later ones follow the same run's. After the layout change the "
        "whole rubric is a shared prefix; before it, the rubric's text came after the item's task line, so "
        "consecutive items of different tasks shared little more than the system message.",
        "",
        "| rubric | prompt tokens | before: first s | before: later s | before: reused tokens | after: first s "
        "| after: later s | after: reused tokens |",
        "|---|---|---|---|---|---|---|---|",
    ]
    firsts: dict[str, list[float]] = {"before": [], "after": []}
    laters: dict[str, list[float]] = {"before": [], "after": []}
    for rubric in rubrics:
        row = [rubric]
        after = by.get(("after", "auto", rubric))
        tokens = [v["prompt_tokens"] for v in (after or {}).get("verdicts", []) if v["prompt_tokens"]]
        row.append(f"{min(tokens)}-{max(tokens)}" if tokens else "-")
        for layout in ("before", "after"):
            verdicts = (by.get((layout, "auto", rubric)) or {}).get("verdicts", [])
            lat = [v["latency_ms"] for v in verdicts if v["latency_ms"] is not None]
            first, later = (lat[0] if lat else None), _median(lat[1:])
            if first is not None:
                firsts[layout].append(first)
            if later is not None:
                laters[layout].append(later)
            hits = [v.get("prefix_hit") for v in verdicts if v.get("prefix_hit") is not None]
            reused = f"{hits[0]:.0f} / {_median(hits[1:]) or 0:.0f}" if hits else "-"
            row += [_s(first), _s(later), reused]
        lines.append("| " + " | ".join(row) + " |")
    lines.append(
        f"| **median** | | **{_s(_median(firsts['before']))}** | **{_s(_median(laters['before']))}** | "
        f"| **{_s(_median(firsts['after']))}** | **{_s(_median(laters['after']))}** | |"
    )
    completion = [v["completion_tokens"] for r in runs for v in r["verdicts"] if v["completion_tokens"]]
    costs = {v["cost_usd"] for r in runs for v in r["verdicts"]}
    lines += [
        "",
        f"Tokens as the server reported them: prompts above; completions {min(completion)}-{max(completion)} "
        f"(median {statistics.median(completion):.0f}). Cost: {', '.join(str(c) for c in sorted(costs, key=str))} "
        "(prices set to 0 for a model on this machine)." if completion else "",
    ]
    return "\n".join(lines) + "\n"


def _load(value: Any) -> str:
    return "-" if not value else ", ".join(f"{v:.1f}" for v in value)


def _reasons(runs: list[dict[str, Any]]) -> list[str]:
    from collections import Counter

    counted: Counter[str] = Counter()
    for run in runs:
        for v in run["verdicts"]:
            if v["status"] == "invalid" and v["error"]:
                counted[v["error"].split(":")[0].split(" at ")[0][:60]] += 1
    return [f"{reason} {n}" for reason, n in counted.most_common(4)]


def write_md(text: str) -> None:
    md = RESULTS_MD.read_text(encoding="utf-8")
    block = f"{BEGIN}\n{text}{END}"
    if BEGIN in md and END in md:
        md = md[: md.index(BEGIN)] + block + md[md.index(END) + len(END):]
    else:
        md = md.rstrip("\n") + "\n\n## A real model judging (llama.cpp, SmolLM2-135M)\n\n" + block + "\n"
    RESULTS_MD.write_text(md, encoding="utf-8")


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--items", type=int, default=3, choices=range(1, len(ITEM_IDS) + 1))
    parser.add_argument("--modes", nargs="+", default=["auto", "json_object", "none"])
    parser.add_argument("--rubrics", nargs="+", help="only these rubrics (default: the latest of every rubric)")
    parser.add_argument("--n-ctx", type=int, default=4096)
    parser.add_argument("--n-threads", type=int, default=1)
    parser.add_argument("--render", action="store_true", help="redraw the table from real_judge.json only")
    parser.add_argument("--merge", action="store_true",
                        help="keep the runs in real_judge.json of the configurations not measured now")
    args = parser.parse_args()
    results = json.loads(RESULTS_JSON.read_text(encoding="utf-8")) if args.render else measure(args)
    write_md(render(results))
    print(f"real_judge: wrote {RESULTS_MD}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
