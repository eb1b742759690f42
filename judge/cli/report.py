"""``empathy-judge report``: a finished run's table again, or its HTML page."""

from __future__ import annotations

import argparse

from judge.core.errors import EXIT_OK, RunDirError


def report_command(args: argparse.Namespace) -> int:
    if args.html:
        from judge.report.html import write_report

        # No summary.json needed: a crashed run's verdict log still makes a page.
        path = write_report(args.run_dir, args.html)
        print(f"empathy-judge: wrote {path}")
        return EXIT_OK
    from judge.report.terminal import table
    from judge.store.reader import read_run

    run = read_run(args.run_dir, columns=())
    path = args.run_dir / "summary.json"
    if run.summary is None:
        raise RunDirError(
            f"{path}: not found: the run ended before its summary was written; "
            f"finish it with: empathy-judge run --resume {args.run_dir}"
        )
    try:
        text = table(run.summary.to_dict())
    except (KeyError, TypeError, ValueError, AttributeError, IndexError) as exc:
        # read_run checks the summary's top level; a section holding the wrong shapes shows here.
        raise RunDirError(
            f"{path}: a section cannot be shown ({type(exc).__name__}: {str(exc)[:80]}); the file is damaged: "
            f"rebuild it with: empathy-judge run --resume {args.run_dir}"
        ) from None
    print(f"{text}\n\nrun directory: {args.run_dir}")
    return EXIT_OK
