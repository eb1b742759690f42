"""``empathy-judge annotate`` (the labelling page) and ``empathy-judge labels merge``."""

from __future__ import annotations

import argparse
import sys
import webbrowser
from pathlib import Path

from judge.core.errors import EXIT_OK


def annotate_command(args: argparse.Namespace) -> int:
    from judge.annotate.server import AnnotationServer
    from judge.annotate.session import Session
    from judge.inputs.dataset import open_dataset
    from judge.inputs.labels import check_annotator
    from judge.inputs.mapping import parse_map
    from judge.inputs.rubrics import rubric_roots, select

    annotator = check_annotator(args.annotator)
    (rubric,) = select(rubric_roots(args.rubrics_dir), [args.rubric])
    dataset = open_dataset(args.dataset, mapping=parse_map(args.map or None))
    labels = args.labels or Path(f"{args.dataset.stem}.labels.jsonl")
    session = Session(dataset, rubric, annotator, labels.resolve(), seed=args.seed)
    server = AnnotationServer(session, args.port)
    print(f"empathy-judge: annotating {dataset.count} items of {args.dataset} on {rubric.ref} as {annotator}; "
          f"{session.done} done; labels are appended to {labels}", flush=True)  # fmt: skip
    print(f"empathy-judge: open {server.url} (loopback only; Ctrl-C stops, nothing is lost)", flush=True)
    if args.open:
        webbrowser.open(server.url)
    try:
        server.serve_forever()
    except KeyboardInterrupt:
        print(f"empathy-judge: stopped; {session.done} of {dataset.count} labelled", file=sys.stderr)
    finally:
        server.server_close()
    return EXIT_OK


def labels_command(args: argparse.Namespace, parser: argparse.ArgumentParser) -> int:
    from judge.inputs.labels import merge_labels, read_labels
    from judge.inputs.mapping import parse_map

    if args.labels_command != "merge":
        parser.parse_args(["labels", "--help"])
        return EXIT_OK
    labels = [label for path in args.labels_files for label in read_labels(path)]
    counts = merge_labels(args.dataset, labels, args.output, mapping=parse_map(args.map or None), replace=args.replace)
    shown = ", ".join(f"{column} ({n})" for column, n in sorted(counts.items())) or "no labels"
    print(f"empathy-judge: wrote {args.output} with {shown}")
    return EXIT_OK
