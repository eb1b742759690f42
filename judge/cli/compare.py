"""``empathy-judge compare BASELINE_RUN NEW_RUN``: print the comparison, write its page, gate."""

from __future__ import annotations

import argparse
import json
import sys

from judge.core.errors import EXIT_DEGRADED, EXIT_OK, EXIT_REGRESSION


def compare_command(args: argparse.Namespace) -> int:
    from judge.report.compare import compare_runs, html_page, markdown
    from judge.stats.compare import Allow
    from judge.stats.gate import check_rules
    from judge.store.rundir import output_path, write_output

    # Every option is checked before a run is read (exit 2, one line naming the option).
    if args.html:
        output_path(args.html, "--html")  # a folder or an unmakeable path fails before the work
    delta = args.fail_on_regression
    rules = check_rules(alpha=args.alpha, min_items=args.min_items, n_boot=args.n_boot, seed=args.seed,
                        **({} if delta is None else {"min_effect": delta}))  # fmt: skip
    allow = Allow(rubric_change=args.allow_rubric_change, panel_change=args.allow_panel_change,
                  dataset_change=args.allow_dataset_change, sample_change=args.allow_sample_change)  # fmt: skip
    result = compare_runs(args.baseline, args.new, delta=delta, rules=rules, allow=allow)
    if args.json:
        json.dump(result, sys.stdout, indent=2, sort_keys=True)
        sys.stdout.write("\n")
    else:
        sys.stdout.write(markdown(result))
    if args.html:
        write_output(args.html, html_page(result), "--html")
    status = result["gate"]["status"]
    if status == "unhealthy":
        print(f"empathy-judge: gate failed: {'; '.join(result['gate']['problems'])}", file=sys.stderr)
        return EXIT_DEGRADED
    if status == "regression":
        names = ", ".join(f"{c['rubric_id']}@{c['rubric_version']}" for c in result["regressions"])
        print(f"empathy-judge: {len(result['regressions'])} regression(s) found: {names}", file=sys.stderr)
        return EXIT_REGRESSION
    return EXIT_OK
