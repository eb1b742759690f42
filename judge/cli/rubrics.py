"""``empathy-judge rubrics``: list, show, validate, start a new version of, or diff rubric files.

Rubrics are found in the built-in folder and, with ``--rubrics-dir``, in a folder of your own on
top of it (``judge.inputs.rubrics.rubric_roots``).
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path
from typing import TYPE_CHECKING

from judge.core import paths
from judge.core.errors import EXIT_INPUT, EXIT_OK, InputError, RubricError, did_you_mean
from judge.inputs.prompts import PromptLibrary
from judge.inputs.rubrics import bump_version, discover, load_all, load_rubric, parse_selector, rubric_roots, select

if TYPE_CHECKING:
    from judge.inputs.dataset import Item

ACTIONS = "list, show ID[@VERSION], validate [PATH], new ID, or diff ID@A ID@B"


def rubrics_command(args: argparse.Namespace) -> int:
    """``rubrics list | show | validate | new | diff``."""
    action = args.rubrics_command
    if action == "list":
        rubrics = sorted(load_all(rubric_roots(args.rubrics_dir)), key=lambda r: (r.id, r.version))
        width = max([14, *(len(r.prompt) for r in rubrics)])
        for rubric in rubrics:
            # What changes which items a rubric judges, and how: shown so `latest` is not a surprise.
            notes = [f"tasks: {', '.join(rubric.tasks)}"] if rubric.tasks else []
            notes += ["one call per sentence"] if rubric.calls == "per_sentence" else []
            notes += ["opt-in: never the latest"] if rubric.opt_in else []
            print(
                f"{rubric.ref:<14} {rubric.mechanism:<24} {rubric.family:<7} {rubric.hash[:12]}  "
                f"{rubric.prompt:<{width}} {rubric.title}" + (f" [{'; '.join(notes)}]" if notes else "")
            )
        return EXIT_OK
    if action == "show":
        return _show_rubric(args)
    if action == "validate":
        from judge.inputs.rubric_check import validate

        target = args.path or paths.rubrics_dir()
        count, problems = validate(target, args.prompts_dir or paths.prompts_dir())
        if count == 0 and not problems:
            raise InputError(
                f"{target}: no rubric files found (rubrics are <id>/v<N>.yaml); "
                "name a rubrics folder or one rubric file"
            )
        for problem in problems:
            print(problem)
        verdict = f"{len(problems)} problem(s)" if problems else "all valid"
        print(f"{count} rubric file(s) checked in {target}: {verdict}")
        return EXIT_INPUT if problems else EXIT_OK
    if action == "new":
        return _new_version(args)
    if action == "diff":
        from judge.inputs.rubric_diff import rubric_diff

        a, b = select(rubric_roots(args.rubrics_dir), [args.a, args.b])
        print(rubric_diff(a, b), end="")
        return EXIT_OK
    raise InputError(f"rubrics: choose an action: {ACTIONS}")


def _new_version(args: argparse.Namespace) -> int:
    """Copy the latest version of a rubric to the next one, ``version:`` bumped, into
    ``--rubrics-dir`` (or the built-in folder of a checkout)."""
    rid, version = parse_selector(args.rubric)
    if version is not None:
        raise InputError(f"rubrics new: give a rubric id without a version ('{rid}'); the latest version is copied")
    if args.rubrics_dir:
        Path(args.rubrics_dir).mkdir(parents=True, exist_ok=True)  # where the new version goes
    found = discover(rubric_roots(args.rubrics_dir))
    if rid not in found:
        raise RubricError(f"unknown rubric '{rid}'{did_you_mean(rid, found)}; available: {', '.join(sorted(found))}")
    latest = max(found[rid])
    source = found[rid][latest]
    target_root = Path(args.rubrics_dir) if args.rubrics_dir else paths.rubrics_dir()
    if "_bundled" in target_root.parts:
        raise InputError(
            f"{target_root}: the built-in rubrics belong to the installed package; pass --rubrics-dir DIR to write "
            "the new version into a folder of your own"
        )
    target = target_root / rid / f"v{latest + 1}.yaml"
    if target.exists():
        raise RubricError(f"{target}: already exists; edit it, or remove it to start again from {rid}@{latest}")
    text = bump_version(source.read_text(encoding="utf-8"), latest + 1)
    target.parent.mkdir(parents=True, exist_ok=True)
    target.write_text(text, encoding="utf-8")
    try:
        load_rubric(target)
    except RubricError:
        target.unlink()
        raise
    print(f"{target}: {rid}@{latest + 1}, a copy of {rid}@{latest} ({source})")
    print(f"edit it, then: empathy-judge rubrics diff {rid}@{latest} {rid}@{latest + 1}"
          + (f" --rubrics-dir {args.rubrics_dir}" if args.rubrics_dir else ""))  # fmt: skip
    return EXIT_OK


def _show_rubric(args: argparse.Namespace) -> int:
    from judge.core.taxonomy import TASK_DIMENSIONS
    from judge.inputs.rubric_check import sample_items

    (rubric,) = select(rubric_roots(args.rubrics_dir), [args.rubric])
    prompts = PromptLibrary(args.prompts_dir or paths.prompts_dir())
    # The item first: a bad --dataset or --item stops before anything is printed.
    if args.no_render:
        item = None
    elif args.item is not None or args.dataset is not None:
        item, label = _dataset_item(args)
    else:
        if args.task not in TASK_DIMENSIONS:
            raise InputError(f"--task: unknown task '{args.task}'; use one of {', '.join(TASK_DIMENSIONS)}")
        item, label = next(i for i in sample_items() if i.task == args.task), f"sample {args.task} item"
    print(f"rubric:      {rubric.ref}  ({rubric.path})")
    print(f"hash:        {rubric.hash}")
    print(f"prompt:      {rubric.prompt}  (hash {prompts.prompt_hash(rubric)})")
    print(f"mechanism:   {rubric.mechanism}   family: {rubric.family}   dimensions: {', '.join(rubric.dimensions)}")
    print(f"title:       {rubric.title}")
    print(f"severity:    {json.dumps(rubric.severity, sort_keys=True)}")
    print(f"\ndefinition:\n{rubric.definition.strip()}")
    if rubric.description:
        print(f"\ndescription:\n{rubric.description.strip()}")
    print(f"\nverdict schema:\n{json.dumps(rubric.schema, indent=1, sort_keys=True)}")
    if item is None:
        return EXIT_OK
    if not rubric.applies_to(item.task, item.dimension):
        print(f"\nnote: a run does not apply {rubric.ref} to this item (task {item.task}, dimension "
              f"{item.dimension}); rendered anyway")  # fmt: skip
    for message in prompts.first_call(rubric, item):
        print(f"\n----- {message['role']} ({label}) -----\n{message['content']}")
    return EXIT_OK


def _dataset_item(args: argparse.Namespace) -> tuple[Item, str]:
    """The item ``--item`` names in ``--dataset`` (both needed), validated like a run's."""
    from judge.inputs.dataset import open_dataset

    if args.item is None or args.dataset is None:
        raise InputError("rubrics show: --dataset FILE and --item ITEM_ID go together (render that item of the file)")
    dataset = open_dataset(Path(args.dataset))
    ids = []
    for item in dataset.items():
        if item.id == args.item:
            return item, f"item {item.id} of {args.dataset}"
        ids.append(item.id)
    raise InputError(f"--item: no item '{args.item}' in {args.dataset}{did_you_mean(args.item, ids)}")
