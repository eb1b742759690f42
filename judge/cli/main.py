"""Command-line interface; the one place errors become exit codes.

Exit codes: 0 done; 1 unexpected failure; 2 bad input or config (nothing judged); 3 budget
reached; 4 regression found; 130 interrupted. Known errors print one line on stderr; unexpected
ones keep their traceback. Heavy imports (LiteLLM, polars) happen inside commands, never here.
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence
from pathlib import Path
from typing import NoReturn

from judge import __version__
from judge.core import paths
from judge.core.errors import EXIT_INPUT, EXIT_INTERRUPTED, JudgeError, RunInterrupted, one_line


class _Parser(argparse.ArgumentParser):
    """Option errors end like every other bad input: one line on stderr, exit 2."""

    def error(self, message: str) -> NoReturn:
        print(f"empathy-judge: error: {one_line(message)} (see: {self.prog} --help)", file=sys.stderr)
        raise SystemExit(EXIT_INPUT)


def _path(value: str) -> Path:
    """A path option: an empty one would mean the current folder, never what was meant."""
    if not value.strip():
        raise argparse.ArgumentTypeError("an empty path; name a file or folder")
    return Path(value)


def _dataset(value: str) -> Path:
    """A dataset option: a path (never empty) or a bundled set's name."""
    return paths.dataset_path(_path(value))


def _add_rubrics_dir(p: argparse.ArgumentParser) -> None:
    p.add_argument(
        "--rubrics-dir", type=_path, metavar="DIR",
        help="a folder of your own rubric files (<id>/v<N>.yaml), added to the built-in ones",
    )  # fmt: skip


def _add_selection(p: argparse.ArgumentParser) -> None:
    """Options shared by every command that plans a run (run, estimate)."""
    p.add_argument("--config", type=_path, help="YAML run config (judges, rubrics, dataset, repeats)")
    p.add_argument(
        "--dataset", type=_dataset,
        help="JSONL, JSON array, CSV, Parquet or Inspect AI log (.eval), or a bundled set's name: sample (the "
        "default: caricature replies, one annotator) or realistic (real small-model and assistant-style replies, "
        "two AI labelling passes)",
    )
    p.add_argument(
        "--map", action="append", default=[], metavar="FIELD=COLUMN",
        help="read the dataset's COLUMN as FIELD, e.g. --map response=output,source=prompt (repeatable)",
    )
    p.add_argument(
        "--judge",
        action="append",
        default=[],
        metavar="MODEL",
        help="judge model string or configured judge name; repeat for a panel (default: the offline panel)",
    )
    p.add_argument(
        "--rubric",
        action="append",
        default=[],
        metavar="ID[@VERSION]",
        help="rubric to apply; repeat for several (default: latest version of every rubric)",
    )
    p.add_argument("--repeats", type=int, help="independent verdicts per item x rubric x judge (default 1)")
    p.add_argument("--limit", type=int, help="judge only the first N items (only those rows are read)")
    p.add_argument("--concurrency", type=int, help="override every judge's max_concurrency")
    _add_rubrics_dir(p)
    p.add_argument("--prompts-dir", type=_path, help="folder of prompt templates (default: the project's prompts/)")
    p.add_argument("--sample", type=int, metavar="N", help="judge a sample of N items stratified by task x model")
    p.add_argument("--seed", type=int, help="seed for --sample (default 0)")
    p.add_argument(
        "--max-text-chars", type=int, default=None, help="refuse dataset texts longer than this (default 200000)"
    )
    p.add_argument(
        "--shard", metavar="I/N",
        help="judge only the items of shard I of N (1-based, by item id); each shard is a complete run",
    )


def build_parser() -> argparse.ArgumentParser:
    parser = _Parser(
        prog="empathy-judge",
        description="Judge model outputs for empathy failure mechanisms with a panel of LLM judges.",
    )
    parser.add_argument("--version", action="version", version=f"empathy-judge {__version__}")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")

    run = sub.add_parser("run", help="judge a dataset and write a run directory")
    _add_selection(run)
    run.add_argument("--run-dir", type=_path, help="where to write the run (default: runs/<run-id>)")
    run.add_argument("--runs-dir", type=_path, help="parent folder for new run directories (default: runs/)")
    run.add_argument(
        "--quiet", action="store_true", help="no progress display; print only errors and the final table"
    )
    run.add_argument(
        "--budget-usd", type=float, metavar="X",
        help="hard spending cap in USD for this invocation; exit 3 when hit"
    )
    run.add_argument(
        "--max-error-share", type=float, metavar="X",
        help="a judge with errors on more than this share of its calls (default 0.5), or with no ok "
        "verdict, makes the run 'degraded': exit 5",
    )
    run.add_argument(
        "--resume",
        type=_path,
        metavar="RUN_DIR",
        help="finish an interrupted run: judge only what its log lacks, with the options it was started with",
    )
    run.add_argument(
        "--retry-errors", action="store_true", help="with --resume: also re-judge verdicts that ended in 'error'"
    )
    run.add_argument("--no-cache", action="store_true", help="neither read nor write the response cache")
    run.add_argument(
        "--replay", action="store_true", help="answer only from the cache; fail on any miss (no network; for CI)"
    )
    run.add_argument(
        "--cache-dir", type=_path, help="response cache folder (default: .cache next to the run directories)"
    )
    run.add_argument(
        "--batch", action="store_true", default=None,
        help="send the LiteLLM judges' calls through their provider's batch API (about half price, results "
        "within 24 h); openai/, hosted_vllm/ and anthropic/ judges",
    )

    merge = sub.add_parser("merge", help="join the shards of one plan (run --shard I/N) into one run")
    merge.add_argument("shards", nargs="+", type=Path, metavar="RUN_DIR", help="the shard run directories")
    merge.add_argument("--run-dir", type=Path, required=True, help="where to write the merged run")
    merge.add_argument("--quiet", action="store_true", help="print only errors and the final table")

    est = sub.add_parser("estimate", help="estimate a run's calls and cost without calling any judge")
    _add_selection(est)
    est.add_argument("--json", action="store_true", help="print the estimate as JSON")
    est.add_argument("--runs-dir", type=_path, help="past runs to learn completion lengths from (default: runs/)")
    est.add_argument("--cache-dir", type=_path, help="response cache to count hits in (default: RUNS_DIR/.cache)")

    cmp = sub.add_parser(
        "compare", help="paired severity differences between two runs, and a regression gate with a stated error rate"
    )
    cmp.add_argument("baseline", type=_path, metavar="BASELINE_RUN")
    cmp.add_argument("new", type=_path, metavar="NEW_RUN")
    cmp.add_argument(
        "--fail-on-regression",
        type=float,
        nargs="?",
        const=0.05,
        default=None,
        metavar="DELTA",
        help="exit 4 when a primary cell (a rubric version) rose beyond noise (Holm-adjusted p <= --alpha) by more "
        "than DELTA in normalised severity (default DELTA 0.05); exit 5 when a run is unhealthy",
    )
    cmp.add_argument(
        "--alpha", type=float, default=0.025,
        help="the gate's family-wise error rate: the chance it fires when nothing changed (default 0.025)",
    )  # fmt: skip
    cmp.add_argument(
        "--min-items", type=int, default=30, help="paired items a primary cell needs to be tested (default 30)"
    )
    cmp.add_argument("--json", action="store_true", help="print JSON instead of Markdown")
    cmp.add_argument("--html", type=_path, metavar="PATH", help="also write a self-contained HTML page")
    cmp.add_argument(
        "--allow-rubric-change", action="store_true", help="compare even if rubric versions, hashes or sets differ"
    )
    cmp.add_argument("--allow-panel-change", action="store_true", help="compare even if the judge panels differ")
    cmp.add_argument("--allow-dataset-change", action="store_true", help="compare even if the datasets differ")
    cmp.add_argument(
        "--allow-sample-change", action="store_true", help="compare even if --sample, --seed or --limit differ"
    )
    cmp.add_argument(
        "--n-boot", type=int, default=10_000,
        help="bootstrap resamples and sign flips, 100 to 100,000 (default 10,000)",
    )  # fmt: skip
    cmp.add_argument("--seed", type=int, default=0, help="seed of the resamples and flips (default 0)")

    report = sub.add_parser("report", help="print a finished run's summary table again, or write its HTML page")
    report.add_argument("run_dir", type=_path, metavar="RUN_DIR")
    report.add_argument("--html", type=_path, metavar="PATH", help="write the self-contained HTML report to PATH")

    export = sub.add_parser(
        "export", help="write a run as one flat table (verdicts, texts, gold labels, metadata), one row per verdict"
    )
    export.add_argument("run_dir", type=_path, metavar="RUN_DIR")
    export.add_argument(
        "--format", choices=("csv", "jsonl", "json", "parquet"),
        help="output format (default: from the --output extension, else csv); must agree with the extension",
    )
    export.add_argument("--output", "-o", type=_path, help="file to write (default: RUN_DIR/verdicts-export.FORMAT)")
    export.add_argument(
        "--verdicts-only", action="store_true",
        help="only the verdict table's own columns, as stored (no texts, gold labels or metadata; verdict as JSON)",
    )

    ann = sub.add_parser("annotate", help="label a dataset's items on a rubric's 0-4 scale in a local web page")
    ann.add_argument("--dataset", type=_dataset, required=True,
                     help="the dataset to label (any format run reads, or a bundled set's name)")  # fmt: skip
    ann.add_argument("--rubric", required=True, metavar="ID[@VERSION]", help="a graded rubric (its levels)")
    ann.add_argument("--annotator", required=True, metavar="NAME", help="who labels; names the gold column")
    ann.add_argument(
        "--labels", type=_path, help="labels file to append to (default: ./<dataset name>.labels.jsonl)"
    )
    ann.add_argument("--map", action="append", default=[], metavar="FIELD=COLUMN", help="column renames, as for run")
    ann.add_argument("--seed", type=int, default=0, help="item order seed (default 0)")
    ann.add_argument("--port", type=int, default=0, help="loopback port (default: any free one)")
    _add_rubrics_dir(ann)
    ann.add_argument("--open", action="store_true", help="open the page in the default browser")

    labels = sub.add_parser("labels", help="merge labels files into a dataset's gold columns")
    lsub = labels.add_subparsers(dest="labels_command", metavar="ACTION")
    merge = lsub.add_parser("merge", help="write the dataset with gold_<mechanism>__<annotator> columns from labels")
    merge.add_argument("labels_files", nargs="+", type=_path, metavar="LABELS", help="labels files (JSONL or CSV)")
    merge.add_argument("--dataset", type=_path, required=True, help="the dataset the labels were given on")
    merge.add_argument(
        "--output", "-o", type=_path, required=True, help="dataset to write (.jsonl/.json/.csv/.parquet)"
    )
    merge.add_argument("--map", action="append", default=[], metavar="FIELD=COLUMN", help="column renames, as for run")
    merge.add_argument("--replace", action="store_true", help="rebuild gold columns the dataset already has")

    rubrics = sub.add_parser("rubrics", help="list, show, validate, start a new version of, or diff rubrics")
    rsub = rubrics.add_subparsers(dest="rubrics_command", metavar="ACTION")
    rlist = rsub.add_parser("list", help="every rubric version with its family, hash and prompt")
    _add_rubrics_dir(rlist)
    rshow = rsub.add_parser("show", help="one rubric's fields, hashes and its prompt rendered for an item")
    rshow.add_argument("rubric", metavar="ID[@VERSION]", help="rubric id, optionally with a version (latest if not)")
    _add_rubrics_dir(rshow)
    rshow.add_argument("--prompts-dir", type=_path, help="folder of prompt templates (default: the project's prompts/)")
    rshow.add_argument(
        "--task", default="news", help="task of the sample item the prompt is rendered for (default: news)"
    )
    rshow.add_argument("--dataset", type=_path, metavar="FILE", help="with --item: render a real item of this dataset")
    rshow.add_argument("--item", metavar="ITEM_ID", help="with --dataset: the id of the item to render")
    rshow.add_argument("--no-render", action="store_true", help="show the rubric without rendering its prompt")
    rcheck = rsub.add_parser("validate", help="check rubric files and render each against sample items")
    rcheck.add_argument(
        "path", nargs="?", type=_path, metavar="PATH", help="a rubrics folder or one rubric file (default: rubrics/)"
    )
    rcheck.add_argument(
        "--prompts-dir", type=_path, help="folder of prompt templates (default: the project's prompts/)"
    )
    rnew = rsub.add_parser("new", help="copy a rubric's latest version to the next one, with `version:` bumped")
    rnew.add_argument("rubric", metavar="ID", help="rubric id")
    rnew.add_argument(
        "--rubrics-dir", type=_path,
        help="write the new version here (default: the project's rubrics/ of a checkout)",
    )  # fmt: skip
    rdiff = rsub.add_parser("diff", help="what changed between two rubric versions: instructions, levels, schema")
    rdiff.add_argument("a", metavar="ID@A")
    rdiff.add_argument("b", metavar="ID@B")
    _add_rubrics_dir(rdiff)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    try:
        return _main(argv)
    except KeyboardInterrupt:  # Ctrl-C while the options were still being read
        print("empathy-judge: interrupted", file=sys.stderr)
        return EXIT_INTERRUPTED


def _main(argv: Sequence[str] | None) -> int:
    parser = build_parser()
    try:
        args = parser.parse_args(argv)
    except SystemExit as exc:  # --help, --version, or an option error (already printed)
        return exc.code if isinstance(exc.code, int) else EXIT_INPUT
    if args.command is None:
        parser.print_help()
        return 0
    try:
        return _dispatch(args, parser)
    except RunInterrupted as exc:
        print(f"empathy-judge: {one_line(str(exc))}", file=sys.stderr)
        return exc.exit_code
    except JudgeError as exc:
        # Messages quote dataset values (ids, fields): escape what a terminal would act on.
        print(f"empathy-judge: error: {one_line(str(exc))}", file=sys.stderr)
        return exc.exit_code
    except KeyboardInterrupt:
        print("empathy-judge: interrupted", file=sys.stderr)
        return EXIT_INTERRUPTED


def _dispatch(args: argparse.Namespace, parser: argparse.ArgumentParser) -> int:
    if args.command == "run":
        from judge.cli.run import run_command

        return run_command(args)
    if args.command == "estimate":
        from judge.cli.estimate import estimate_command

        return estimate_command(args)
    if args.command == "compare":
        from judge.cli.compare import compare_command

        return compare_command(args)
    if args.command == "report":
        from judge.cli.report import report_command

        return report_command(args)
    if args.command == "export":
        from judge.cli.export import export_command

        return export_command(args)
    if args.command == "annotate":
        from judge.cli.annotate import annotate_command

        return annotate_command(args)
    if args.command == "labels":
        from judge.cli.annotate import labels_command

        return labels_command(args, parser)
    if args.command == "merge":
        from judge.cli.merge import merge_command

        return merge_command(args)
    if args.command == "rubrics":
        from judge.cli.rubrics import rubrics_command

        return rubrics_command(args)
    parser.error(f"unknown command {args.command}")
    return 2
