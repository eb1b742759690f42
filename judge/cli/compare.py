"""``empathy-judge compare BASELINE_RUN NEW_RUN``: print the comparison, write its page, gate."""

from __future__ import annotations

import argparse
import json
import sys

from judge.core.errors import EXIT_OK, EXIT_REGRESSION


def compare_command(args: argparse.Namespace) -> int:
    from judge.report.compare import compare_runs, html_page, markdown
    from judge.store.rundir import atomic_write_text

    result = compare_runs(args.baseline, args.new, delta=args.fail_on_regression,
                          allow_rubric_change=args.allow_rubric_change, n_boot=args.n_boot, seed=args.seed)  # fmt: skip
    if args.json:
        json.dump(result, sys.stdout, indent=2, sort_keys=True)
        sys.stdout.write("\n")
    else:
        sys.stdout.write(markdown(result))
    if args.html:
        atomic_write_text(args.html, html_page(result))
    if args.fail_on_regression is not None and result["regressions"]:
        print(f"empathy-judge: {len(result['regressions'])} regression(s) found", file=sys.stderr)
        return EXIT_REGRESSION
    return EXIT_OK
