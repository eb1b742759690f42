"""``empathy-judge rubrics``: list, show or validate rubric files."""

from __future__ import annotations

import argparse
import json

from judge.core import paths
from judge.core.errors import EXIT_INPUT, EXIT_OK, InputError
from judge.inputs.prompts import PromptLibrary
from judge.inputs.rubrics import load_all, select


def rubrics_command(args: argparse.Namespace) -> int:
    """``rubrics list``, ``rubrics show ID[@VERSION]`` and ``rubrics validate [PATH]``."""
    action = args.rubrics_command
    if action == "list":
        rubrics = sorted(load_all(args.rubrics_dir or paths.rubrics_dir()), key=lambda r: (r.id, r.version))
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
        for problem in problems:
            print(problem)
        verdict = f"{len(problems)} problem(s)" if problems else "all valid"
        print(f"{count} rubric file(s) checked in {target}: {verdict}")
        return EXIT_INPUT if problems else EXIT_OK
    raise InputError("rubrics: choose an action: list, show ID[@VERSION] or validate [PATH]")


def _show_rubric(args: argparse.Namespace) -> int:
    from judge.core.taxonomy import TASK_DIMENSIONS
    from judge.inputs.rubric_check import sample_items

    (rubric,) = select(args.rubrics_dir or paths.rubrics_dir(), [args.rubric])
    prompts = PromptLibrary(args.prompts_dir or paths.prompts_dir())
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
    if args.no_render:
        return EXIT_OK
    if args.task not in TASK_DIMENSIONS:
        raise InputError(f"--task: unknown task '{args.task}'; use one of {', '.join(TASK_DIMENSIONS)}")
    item = next(i for i in sample_items() if i.task == args.task)
    for message in prompts.first_call(rubric, item):
        print(f"\n----- {message['role']} (sample {args.task} item) -----\n{message['content']}")
    return EXIT_OK
