"""Render the figures in benchmarks/results.json as Markdown tables, into benchmarks/RESULTS.md.

The tables go between the ``<!-- figures:begin -->`` and ``<!-- figures:end -->`` markers, so
the prose around them (profiles, explanations) stays as written and every number in the tables
comes from the results file. The targets table (each target, its figure, met or not, and when
that figure was measured) goes between ``<!-- targets:begin -->`` and ``<!-- targets:end -->``
in RESULTS.md and in README.md's performance section.

    python benchmarks/results_md.py [--results benchmarks/results.json] [--md benchmarks/RESULTS.md]
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent
BEGIN, END = "<!-- figures:begin -->", "<!-- figures:end -->"
# The targets table, written into RESULTS.md and into README.md's performance section alike.
TARGETS_BEGIN, TARGETS_END = "<!-- targets:begin -->", "<!-- targets:end -->"


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
            f"Fully cached re-run of {cached['verdicts']:,} rows ({cached['items']:,} items x 4 graded rubrics; a "
            "rubric that does not apply to an item makes a skipped row and no call, so the replies from the cache "
            "are counted apart; target < 3 s for 10,000 of them)." + _case_load(cached),
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
    "fixed_costs": fixed_costs, "fixed_costs_before_after": fixed_costs, "cached_rerun_before_after": fixed_costs,
    "throughput": throughput, "litellm_switches": switches, "startup": startup,
    "cached_rerun": cached, "aggregation": aggregation, "memory": memory,
}  # fmt: skip


def _when(entry: dict[str, Any], case: dict[str, Any] | None = None) -> str:
    """Where a target's figure comes from: the entry's date and commit, and the 1-minute load
    average: the median (range) before each measured process of the case where it was recorded,
    else the load when the entry started."""
    commit = (entry.get("machine", {}).get("git_commit") or "?")[:7]
    load = (case or {}).get("loadavg_1min")
    if load:
        spread = f"{load['min']:.1f}-{load['max']:.1f}"
        return f"{entry.get('at', '?')[:10]}, `{commit}`, load {load['median']:.1f} ({spread})"
    before = entry.get("loadavg_before")
    return f"{entry.get('at', '?')[:10]}, `{commit}`, load {before[0]:.1f}" if before else f"`{commit}`"


def _times(ratio: dict[str, Any]) -> str:
    return f"**{_f(ratio['median'])}x** ({_f(ratio['min'])}-{_f(ratio['max'])})"


def _met(ok: bool | None, note: str = "") -> str:
    word = "-" if ok is None else ("yes" if ok else "**no**")
    return f"{word}{note}"


def _target_rows(b: dict[str, Any]) -> list[tuple[Any, ...]]:
    """(measure, result, target, met?, entry[, case]) for every target with a figure in results.json;
    the case, where given, is the part of the entry whose load average the figure was taken at."""
    rows: list[tuple[Any, ...]] = []
    fixed = b.get("fixed_costs", {})
    r = fixed.get("result", {})
    e2e, cached, limit = r.get("end_to_end"), r.get("cached_rerun"), r.get("limit_large_file")
    if e2e:
        ours, plain = e2e["this tree"], e2e["plain litellm loop"]
        ratio = ours["ratio_to_plain_loop"]
        # Both processes are CPU-bound on a shared machine, so the CPU ratio is what a quiet machine's
        # wall ratio would come close to: a wall ratio met while the CPU ratio is not is only just met.
        cpu_ratio = plain["cpu_s"] / ours["cpu_s"]
        note = ", narrowly: not by CPU seconds" if ratio["median"] >= 0.9 > cpu_ratio else ""
        rows.append((
            f"`empathy-judge run` / plain LiteLLM loop, end to end (whole process, import included; {e2e['calls']:,} "
            f"calls, concurrency {e2e['concurrency']}, {e2e['latency_ms']:g} ms latency; median of {r['reps']} "
            "paired reps)",
            f"{_times(ratio)} ({_f(ours['calls_per_s'], 0)} vs {_f(plain['calls_per_s'], 0)} calls/s; ours: "
            f"{_f(ours.get('to_first_verdict_s'), 1)} s to the first verdict, {_f(ours.get('judging_s'), 1)} s "
            f"judging, {_f(ours.get('after_last_verdict_s'), 1)} s after the last); by CPU seconds "
            f"{_f(cpu_ratio)}x ({_f(plain['cpu_s'])} vs {_f(ours['cpu_s'])} s)",
            ">= 0.9x", _met(ratio["median"] >= 0.9, note), fixed, e2e))
    # The cached re-run measured on its own beside a baseline (run_all.py --only cached_rerun_before_after
    # --baseline REV), when there is such an entry, is the newer figure: the target row reads it.
    cached_entry = fixed
    alone = b.get("cached_rerun_before_after", {})
    if alone.get("result", {}).get("cached_rerun"):
        cached, cached_entry = alone["result"]["cached_rerun"], alone
    if cached:
        ours = cached["this tree"]
        reps = cached_entry["result"]["reps"]
        before = cached.get("baseline")
        was = (f"; {_f(before['wall_s'])} s ({_f(before['cpu_s'])} s CPU) for the baseline "
               f"`{cached_entry['result']['baseline']}` in the same run") if before else ""  # fmt: skip
        replay = b.get("cached_rerun", {}).get("result", {})
        also = ""
        if "replay" in replay:
            imports = "imports LiteLLM" if replay.get("replay_imports_litellm") else "LiteLLM never imported"
            also = f"; `--replay` {_f(replay['replay']['wall_s'])} s in cached_replay.py, {imports}"
        rows.append((
            f"fully cached re-run of {ours.get('from_cache', 0):,} verdicts ({cached['verdicts']:,} rows: "
            f"{cached['items']:,} items x 4 graded rubrics, the rest not applicable; median of {reps})",
            f"**{_f(ours['wall_s'])} s** ({_f(ours['cpu_s'])} s CPU){was}{also}", "< 3 s", _met(ours["wall_s"] < 3),
            cached_entry, cached))
    if limit:
        ratio = limit["this tree"]["ratio_large_to_small"]
        big, small = limit["this tree"]["large"], limit["this tree"]["small"]
        rows.append((
            f"`--limit {limit['limit']}` on a {limit['rows']:,}-row file / on a 10-row file (offline panel; median "
            f"of {r['reps']} paired reps)",
            f"{_times(ratio)} ({_f(big['wall_s'])} vs {_f(small['wall_s'])} s; peak RSS "
            f"{_f(big['peak_rss_mib'], 0)} vs {_f(small['peak_rss_mib'], 0)} MiB)",
            "< 2x", _met(ratio["median"] < 2), fixed, limit))
    tp = b.get("throughput")
    if tp and "result" in tp:
        c, q = tp["result"]["clients"], tp["result"]["ratios_calls_per_s"]
        rows.append((
            f"throughput, {tp['result']['n']:,} calls at concurrency {tp['result']['concurrency']}, "
            f"{tp['result']['latency_ms']:g} ms latency (floor {_f(tp['result']['floor']['calls_per_s'], 0)} calls/s)",
            f"plain openai SDK {_f(c['openai']['calls_per_s'], 0)} calls/s; plain LiteLLM "
            f"{_f(c['litellm']['calls_per_s'], 0)}; `empathy-judge run` {_f(c['empathy-judge']['calls_per_s'], 0)}",
            "-", "-", tp))
        rows.append(("`empathy-judge run` / plain openai SDK loop", f"{_f(q['empathy-judge / openai'])}x "
                     f"(LiteLLM with our settings alone: {_f(q['litellm-tuned / openai'])}x)", "stretch >= 0.5x",
                     _met(q["empathy-judge / openai"] >= 0.5), tp))  # fmt: skip
    sw = b.get("litellm_switches")
    if sw and "result" in sw:
        v = sw["result"]["variants"]["gc_freeze"]
        rows.append(("LiteLLM with `gc.freeze()` after import / plain LiteLLM, CPU per call",
                     f"{_f(v['cpu_vs_default'])}x", "-", "-", sw))
    st = b.get("startup")
    if st and "result" in st:
        cmds = st["result"]["commands"]
        worst = max(cmds["--help"]["over_bare_python_ms"], cmds["rubrics list"]["over_bare_python_ms"])
        heavy = cmds["--help"]["heavy"]
        rows.append(("`empathy-judge --help`, `rubrics list` over bare Python (median of "
                     f"{st['result']['reps']})", f"+{_f(cmds['--help']['over_bare_python_ms'], 0)} ms, "
                     f"+{_f(cmds['rubrics list']['over_bare_python_ms'], 0)} ms; `--help` imports "
                     f"{', '.join(heavy) if heavy else 'neither LiteLLM nor polars'}", "<= 0.3 s",
                     _met(worst <= 300 and not heavy), st))  # fmt: skip
    cr = b.get("cached_rerun")
    if cr and "replay_imports_litellm" in cr.get("result", {}):
        rows.append(("a cache hit does not import LiteLLM (`--replay`, `-X importtime`)",
                     "not imported" if not cr["result"]["replay_imports_litellm"] else "imported", "not imported",
                     _met(not cr["result"]["replay_imports_litellm"]), cr))  # fmt: skip
    ag = b.get("aggregation")
    if ag and "result" in ag:
        a = ag["result"]
        total = a["timings"]["statistics_total_s"]
        rows.append((f"{a['rows'] / 1e6:.0f}M-row summary, {a['n_boot']:,} bootstrap resamples (stats benchmark)",
                     f"{_f(total, 1)} s", "< 60 s", _met(total < 60), ag))
        kc = [v for v in a.get("krippendorff_comparison", {}).values() if isinstance(v, dict) and "ours_s" in v]
        if kc:
            ours_eval = [v["ours_eval_s"] for v in kc]
            theirs = [v["theirs_s"] for v in kc]
            ours_all = [v["ours_s"] for v in kc]
            pivot = [v["pivot_for_theirs_s"] for v in kc]
            rows.append(("Krippendorff's alpha, ours vs the krippendorff package",
                         f"alpha step {_f(min(ours_eval), 4)}-{_f(max(ours_eval), 4)} s vs {_f(min(theirs), 4)}-"
                         f"{_f(max(theirs), 4)} s; from the long table {_f(min(ours_all))}-{_f(max(ours_all))} s vs "
                         f"{_f(min(pivot), 1)}-{_f(max(pivot), 1)} s (its pivot)", "no slower",
                         _met(all(o <= t for o, t in zip(ours_eval, theirs, strict=True))), ag))  # fmt: skip
    mem = b.get("memory")
    if mem and "result" in mem:
        runs = sorted(mem["result"]["runs"].values(), key=lambda c: c["items"])
        ratio = mem["result"]["rss_ratio_largest_to_smallest"]
        rows.append((f"peak RSS, {runs[-1]['items']:,}-item run / {runs[0]['items']:,}-item run",
                     f"{_f(runs[-1]['peak_rss_mib'], 0)} / {_f(runs[0]['peak_rss_mib'], 0)} MiB = {_f(ratio)}x",
                     "< 1.5x", _met(ratio < 1.5), mem))  # fmt: skip
    rows.append((">= 3x an Inspect AI model-graded scorer", "not benchmarked (Inspect AI is not installed; optional "
                 "in the issue)", ">= 3x", "-", None))  # fmt: skip
    return rows


def targets(results: dict[str, Any]) -> str:
    """The targets table, in RESULTS.md and README.md alike: each figure from its results.json
    entry, with that entry's date, commit and load average, so an old figure shows its age."""
    lines = ["| measure | result | target | met? | measured (date, commit, 1-minute load) |", "|---|---|---|---|---|"]
    for measure, result, target, met, entry, *case in _target_rows(results["benchmarks"]):
        when = _when(entry, case[0] if case else None) if entry else "-"
        lines.append(f"| {measure} | {result} | {target} | {met} | {when} |")
    return "\n".join(lines)


def _splice(text: str, begin: str, end: str, body: str, where: Path) -> str:
    head, found, rest = text.partition(begin)
    if not found or end not in rest:
        raise SystemExit(f"{where}: no {begin} ... {end} markers to write between")
    _, _, tail = rest.partition(end)
    return f"{head}{begin}\n{body}\n{end}{tail}"


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
    parser.add_argument("--readme", type=Path, default=HERE.parent / "README.md",
                        help="its performance table (between the targets markers) is written too")  # fmt: skip
    args = parser.parse_args(argv)
    results = json.loads(args.results.read_text(encoding="utf-8"))
    text = args.md.read_text(encoding="utf-8") if args.md.exists() else f"# Benchmark results\n\n{BEGIN}\n{END}\n"
    text = _splice(text, BEGIN, END, render(results), args.md)
    table = targets(results)
    if TARGETS_BEGIN in text:
        text = _splice(text, TARGETS_BEGIN, TARGETS_END, table, args.md)
    args.md.write_text(text, encoding="utf-8")
    if args.readme.exists():
        readme = args.readme.read_text(encoding="utf-8")
        args.readme.write_text(_splice(readme, TARGETS_BEGIN, TARGETS_END, table, args.readme), encoding="utf-8")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
