"""Render the figures in benchmarks/results.json as Markdown tables, into benchmarks/RESULTS.md.

The tables go between the ``<!-- figures:begin -->`` and ``<!-- figures:end -->`` markers, so
the prose around them (profiles, explanations) stays as written and every number in the tables
comes from the results file.

    python benchmarks/results_md.py [--results benchmarks/results.json] [--md benchmarks/RESULTS.md]
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent
BEGIN, END = "<!-- figures:begin -->", "<!-- figures:end -->"


def _f(value: Any, digits: int = 2) -> str:
    return "-" if value is None else f"{value:,.{digits}f}"


def machine(results: dict[str, Any]) -> list[str]:
    m = results["machine"]
    p = m["packages"]
    return [
        f"Machine: {m.get('cpu_model')}, {m.get('cpu_count')} cores, {m.get('ram_gib')} GiB RAM; Python "
        f"{m['python']}; litellm {p.get('litellm')}, openai {p.get('openai')}, polars {p.get('polars')}, numpy "
        f"{p.get('numpy')}, aiohttp {p.get('aiohttp')}, krippendorff {p.get('krippendorff')}. Commit "
        f"`{(m.get('git_commit') or '?')[:12]}`.",
        "",
    ]


def throughput(entry: dict[str, Any]) -> list[str]:
    r = entry["result"]
    lines = [
        f"### Throughput: {r['n']:,} calls, concurrency {r['concurrency']}, server latency {r['latency_ms']:g} ms",
        "",
        f"`{entry['command']}`; median of {r['reps']} interleaved reps per client (wall times of every rep "
        f"in the last column); load average before/after: {_load(entry)}.",
        "",
        "| client | calls/s (whole process) | calls/s (in the loop) | wall s | CPU s | CPU ms/call | peak RSS MiB "
        "| ok | all reps, wall s |",
        "|---|---|---|---|---|---|---|---|---|",
        f"| floor: N x latency / C | {_f(r['floor']['calls_per_s'], 0)} | - | {_f(r['floor']['wall_s'])} | - | - | - "
        "| - | - |",
    ]
    for name, c in r["clients"].items():
        lines.append(
            f"| {name} | {_f(c['calls_per_s'], 1)} | {_f(c.get('loop_calls_per_s'), 1)} | {_f(c['wall_s'])} "
            f"| {_f(c['cpu_s'])} | {_f(c['cpu_ms_per_call'])} | {_f(c['peak_rss_mib'], 0)} | {c.get('ok')} "
            f"| {', '.join(str(w) for w in c['all_wall_s'])} |"
        )
    lines += ["", "| ratio of calls/s (whole process) | value |", "|---|---|"]
    lines += [f"| {k} | {_f(v)} |" for k, v in r["ratios_calls_per_s"].items()]
    cpu = {k: c["cpu_s"] for k, c in r["clients"].items()}
    if "empathy-judge" in cpu and "litellm" in cpu:
        lines.append(f"| CPU s, litellm / empathy-judge | {_f(cpu['litellm'] / cpu['empathy-judge'])} |")
    return [*lines, ""]


def _spread(ratio: dict[str, Any]) -> str:
    return f"**{_f(ratio['median'])}** ({_f(ratio['min'])}-{_f(ratio['max'])})"


def _case_load(case: dict[str, Any]) -> str:
    load = case.get("loadavg_1min")
    if not load:
        return ""
    spread = f"{load['min']:.1f}-{load['max']:.1f}"
    return f" 1-minute load average before each process: median {load['median']:.1f} ({spread})."


def _reps(values: list[float]) -> str:
    return ", ".join(f"{v:.2f}" for v in values)


def fixed_costs(entry: dict[str, Any]) -> list[str]:
    r = entry["result"]
    trees = [t for t in ("baseline", "this tree") if t in r.get("end_to_end", r.get("cached_rerun", {}))]
    base = f" and the baseline `{r['baseline']}`" if r.get("baseline") else ""
    pinned = f", graded rubrics pinned to version {r['rubric_version']}" if r.get("rubric_version") else ""
    lines = [
        f"### Fixed costs per run: this tree{base}, side by side{pinned}",
        "",
        f"`{entry['command']}` (benchmarks/fixed_costs.py); median of {r['reps']} interleaved reps, the range "
        f"in brackets or every rep listed; load average before/after: {_load(entry)}.",
        "",
    ]
    e2e = r.get("end_to_end")
    if e2e:
        lines += [
            f"End to end: {e2e['calls']:,} calls, concurrency {e2e['concurrency']}, server latency "
            f"{e2e['latency_ms']:g} ms. Ratio = plain-loop wall / empathy-judge wall, per rep (>= 0.9 is the target)."
            + _case_load(e2e),
            "",
            "| run | wall s | calls/s | CPU s | peak RSS MiB | start to first verdict s | judging s "
            "| after last verdict s | ratio to plain loop | all reps, wall s |",
            "|---|---|---|---|---|---|---|---|---|---|",
        ]
        for name in ("plain litellm loop", *trees):
            c = e2e[name]
            ratio = _spread(c["ratio_to_plain_loop"]) if "ratio_to_plain_loop" in c else "1"
            lines.append(
                f"| {name} | {_f(c['wall_s'])} | {_f(c['calls_per_s'], 1)} | {_f(c['cpu_s'])} "
                f"| {_f(c['peak_rss_mib'], 0)} | {_f(c.get('to_first_verdict_s'))} | {_f(c.get('judging_s'))} "
                f"| {_f(c.get('after_last_verdict_s'))} | {ratio} | {_reps(c['all_wall_s'])} |"
            )
        lines.append("")
    cached = r.get("cached_rerun")
    if cached:
        lines += [
            f"Fully cached re-run of {cached['verdicts']:,} verdicts ({cached['items']:,} items x 4 graded rubrics; "
            "target < 3 s)." + _case_load(cached),
            "",
            "| tree | wall s | CPU s | peak RSS MiB | replies from the cache | all reps, wall s |",
            "|---|---|---|---|---|---|",
        ]
        for name in trees:
            c = cached[name]
            lines.append(f"| {name} | **{_f(c['wall_s'])}** | {_f(c['cpu_s'])} | {_f(c['peak_rss_mib'], 0)} "
                         f"| {c.get('from_cache', '-')} | {_reps(c['all_wall_s'])} |")  # fmt: skip
        lines.append("")
    limit = r.get("limit_large_file")
    if limit:
        lines += [
            f"`--limit {limit['limit']}` (offline panel, every rubric, no cache) on a {limit['rows']:,}-row file "
            f"({_f(limit['large_file_mib'], 0)} MiB) and on a 10-row file (target: ratio < 2)." + _case_load(limit),
            "",
            "| tree | large file: wall s / CPU s / peak RSS MiB | 10-row file: wall s / CPU s / peak RSS MiB "
            "| ratio large / small | all reps, large; small |",
            "|---|---|---|---|---|",
        ]
        for name in trees:
            big, small = limit[name]["large"], limit[name]["small"]
            lines.append(
                f"| {name} | {_f(big['wall_s'])} / {_f(big['cpu_s'])} / {_f(big['peak_rss_mib'], 0)} "
                f"| {_f(small['wall_s'])} / {_f(small['cpu_s'])} / {_f(small['peak_rss_mib'], 0)} "
                f"| {_spread(limit[name]['ratio_large_to_small'])} | {_reps(big['all_wall_s'])}; "
                f"{_reps(small['all_wall_s'])} |"
            )
        lines.append("")
    return lines


def switches(entry: dict[str, Any]) -> list[str]:
    r = entry["result"]
    lines = [
        f"### LiteLLM switches: CPU per call, {r['n']:,} calls at concurrency {r['concurrency']}",
        "",
        f"`{entry['command']}`; median of {r['reps']} reps; load average before/after: {_load(entry)}.",
        "",
        "| variant | what | CPU ms/call | vs default | loop calls/s | every call costed |",
        "|---|---|---|---|---|---|",
    ]
    for name, v in r["variants"].items():
        lines.append(
            f"| {name} | {v['what']} | {_f(v['cpu_ms_per_call'])} ({', '.join(map(str, v['all_cpu_ms_per_call']))}) "
            f"| {_f(v['cpu_vs_default'])} | {_f(v['loop_calls_per_s'], 0)} | {v['every_call_costed']} |"
        )
    return [*lines, ""]


def startup(entry: dict[str, Any]) -> list[str]:
    r = entry["result"]
    lines = [
        f"### Start-up: median of {r['reps']} fresh processes each",
        "",
        f"`{entry['command']}`; load average before/after: {_load(entry)}.",
        "",
        "| command | wall ms | fastest ms | over bare python ms | CPU ms | peak RSS MiB | modules | heavy imports |",
        "|---|---|---|---|---|---|---|---|",
    ]
    for name, c in r["commands"].items():
        lines.append(
            f"| `{name}` | {_f(c['wall_ms'], 0)} | {_f(c['min_wall_ms'], 0)} | {_f(c['over_bare_python_ms'], 0)} "
            f"| {_f(c['cpu_ms'], 0)} | {_f(c['peak_rss_mib'], 1)} | {c['modules']} "
            f"| {', '.join(c['heavy']) or 'none'} |"
        )
    return [*lines, ""]


def cached(entry: dict[str, Any]) -> list[str]:
    r = entry["result"]
    lines = ["### Cached re-run of a 10,000-verdict run", ""]
    if r.get("status") == "pending":
        return [*lines, f"Pending: {r['reason']}.", ""]
    lines += [
        f"`{entry['command']}`; {r['items']:,} items x {len(r['rubrics'])} rubrics; load average before/after: "
        f"{_load(entry)}. LiteLLM imported by the --replay run: {r.get('replay_imports_litellm')}.",
        "",
        "| run | wall s | CPU s | peak RSS MiB | verdicts | ok | served from cache |",
        "|---|---|---|---|---|---|---|",
    ]
    for name in ("first_run", "cached", "replay"):
        if name in r:
            c = r[name]
            lines.append(
                f"| {name} | {_f(c['wall_s'])} | {_f(c['cpu_s'])} | {_f(c['peak_rss_mib'], 0)} | {c['verdicts']} "
                f"| {c['ok']} | {c['cached_rows']} |"
            )
    return [*lines, ""]


def aggregation(entry: dict[str, Any]) -> list[str]:
    r = entry["result"]
    lines = [
        f"### Aggregation: {r['rows']:,} verdict rows ({r['items']:,} items), {r['n_boot']} bootstrap resamples",
        "",
        f"`{entry['command']}` (benchmarks/aggregate.py, from the stats branch); whole process {entry['wall_s']} s; "
        f"load average before/after: {_load(entry)}.",
        "",
        "| step | seconds |",
        "|---|---|",
    ]
    lines += [f"| {k} | {_f(v, 3)} |" for k, v in r["timings"].items()]
    lines += ["", "Krippendorff's alpha on the same data: *ours s* starts from the long verdict table, *ours eval s*",
              "is the alpha computation once our units are built; *krippendorff pkg s* is the package given its ready",
              "reliability matrix, and *pivot for pkg s* what building that matrix from the same table took.", "",
              "| Krippendorff alpha | ours s | ours eval s | krippendorff pkg s | pivot for pkg s | ours | theirs |",
              "|---|---|---|---|---|---|---|"]
    for k, v in r.get("krippendorff_comparison", {}).items():
        if isinstance(v, dict) and "ours_s" in v:
            lines.append(
                f"| {k} | {_f(v['ours_s'], 4)} | {_f(v.get('ours_eval_s'), 4)} | {_f(v['theirs_s'], 4)} "
                f"| {_f(v['pivot_for_theirs_s'], 4)} "
                f"| {_f(v['ours'], 6)} | {_f(v['theirs'], 6)} |"
            )
    return [*lines, ""]


def memory(entry: dict[str, Any]) -> list[str]:
    r = entry["result"]
    lines = [
        "### Memory: peak RSS of `empathy-judge run` by item count (server with no added latency)",
        "",
        f"`{entry['command']}`; load average before/after: {_load(entry)}.",
        "",
        "| items | verdicts | peak RSS MiB | wall s | CPU s | calls/s | log MiB |",
        "|---|---|---|---|---|---|---|",
    ]
    for c in r["runs"].values():
        lines.append(
            f"| {c['items']:,} | {c['verdicts']:,} | {_f(c['peak_rss_mib'], 0)} | {_f(c['wall_s'], 1)} "
            f"| {_f(c['cpu_s'], 1)} | {_f(c['calls_per_s'], 0)} | {_f(c['log_mib'], 1)} |"
        )
    lines += ["", f"RSS ratio, largest / smallest run: {_f(r.get('rss_ratio_largest_to_smallest'))}."]
    return [*lines, ""]


def _load(entry: dict[str, Any]) -> str:
    b, a = entry.get("loadavg_before"), entry.get("loadavg_after")
    return f"{b[0]:.1f} / {a[0]:.1f}" if b and a else "-"


RENDER = {
    "fixed_costs": fixed_costs, "fixed_costs_before_after": fixed_costs,
    "throughput": throughput, "litellm_switches": switches, "startup": startup,
    "cached_rerun": cached, "aggregation": aggregation, "memory": memory,
}  # fmt: skip


def render(results: dict[str, Any]) -> str:
    lines = machine(results)
    for name, fn in RENDER.items():
        entry = results["benchmarks"].get(name)
        if entry is None:
            lines += [f"### {name}", "", "Not run.", ""]
        elif "result" not in entry:
            lines += [f"### {name}", "", f"Failed (exit {entry['rc']}); see results.json.", ""]
        else:
            lines += fn(entry)
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--results", type=Path, default=HERE / "results.json")
    parser.add_argument("--md", type=Path, default=HERE / "RESULTS.md")
    args = parser.parse_args(argv)
    figures = render(json.loads(args.results.read_text(encoding="utf-8")))
    text = args.md.read_text(encoding="utf-8") if args.md.exists() else f"# Benchmark results\n\n{BEGIN}\n{END}\n"
    head, _, rest = text.partition(BEGIN)
    _, _, tail = rest.partition(END)
    args.md.write_text(f"{head}{BEGIN}\n{figures}\n{END}{tail}", encoding="utf-8")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
