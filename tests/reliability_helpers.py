"""Shared set-up for the reliability tests: datasets, configs, a rubrics folder with a chosen
on_invalid policy, and a responder whose verdict depends on the item (so runs can be compared)."""

from __future__ import annotations

import hashlib
import json
from collections.abc import Callable, Iterable
from pathlib import Path
from typing import Any

import yaml

from judge.core import paths
from judge.inputs.rubrics import bump_version, discover
from tests.fakeserver import FakeServer, minimal_instance, request_schema

TASKS = ("news", "counselling", "workplace", "education", "translation")
# The four graded rubrics (latest versions): every task's dimension is covered by all four.
GRADED = ["--rubric", "sa-graded", "--rubric", "ca-graded", "--rubric", "egm-graded", "--rubric", "ld-graded"]


def items(n: int) -> list[dict[str, Any]]:
    return [
        {
            "id": f"i{i:03d}",
            "task": TASKS[i % len(TASKS)],
            "source": f"Item {i}: three workers were killed when the scaffold fell; families are devastated.",
            "response": f"Item {i}: an incident occurred at a construction site.",
            "model": f"m{i % 2}",
        }
        for i in range(n)
    ]


def write_dataset(path: Path, rows: list[dict[str, Any]]) -> Path:
    path.write_text("".join(json.dumps(r, ensure_ascii=False) + "\n" for r in rows), encoding="utf-8")
    return path


def write_config(path: Path, base_url: str, *, models: tuple[str, ...] = ("judge-a", "judge-b"), **extra: Any) -> Path:
    judges = []
    for model in models:
        judge = {"model": f"openai/{model}", "api_base": base_url, "timeout_s": 5, "max_concurrency": 4}
        judge.update(extra)
        judges.append(judge)
    path.write_text(yaml.safe_dump({"judges": judges}), encoding="utf-8")
    return path


def rubric_overlay(dest: Path, edit: Callable[[str], str], ids: Iterable[str] | None = None) -> Path:
    """A folder for --rubrics-dir: the latest built-in version of each rubric (or of ``ids``), edited,
    as the next version. --rubrics-dir adds rubrics to the built-in ones (the same id and version
    twice is an error), so the copies take new versions, and ``--rubric ID`` (the latest) selects them."""
    found = discover(paths.rubrics_dir())
    dest.mkdir(parents=True, exist_ok=True)
    for rid in ids or found:
        latest = max(found[rid])
        text = bump_version(found[rid][latest].read_text(encoding="utf-8"), latest + 1)
        (dest / rid).mkdir(exist_ok=True)
        (dest / rid / f"v{latest + 1}.yaml").write_text(edit(text), encoding="utf-8")
    return dest


def rubrics_with_policy(dest: Path, policy: str, max_reasks: int = 2) -> Path:
    """Rubrics to add with --rubrics-dir: every rubric's latest version with its on_invalid policy set."""

    def edit(text: str) -> str:
        data = yaml.safe_load(text)
        data["on_invalid"] = {"policy": policy, **({"max_reasks": max_reasks} if policy == "reask" else {})}
        return yaml.safe_dump(data, sort_keys=False, allow_unicode=True)

    return rubric_overlay(dest, edit)


def item_responder(body: dict[str, Any]) -> dict[str, Any] | str:
    """A valid verdict whose severity is a function of the prompt text."""
    schema = request_schema(body)
    verdict = minimal_instance(schema) if schema else {}
    text = json.dumps(body.get("messages"), sort_keys=True)
    if isinstance(verdict, dict) and "severity" in verdict:
        verdict["severity"] = int(hashlib.sha256(text.encode()).hexdigest(), 16) % 5
    return verdict


def started_server(**kwargs: Any) -> FakeServer:
    server = FakeServer(responder=item_responder, **kwargs)
    server.start()
    return server


def edit_rubric(rubrics: Path, rubric_id: str, key: str, value: Any) -> Path:
    """Change one field of the latest version of a rubric in a rubrics folder of one's own."""
    file = max((rubrics / rubric_id).glob("v*.yaml"), key=lambda f: int(f.stem[1:]))
    data = yaml.safe_load(file.read_text(encoding="utf-8"))
    data[key] = value
    file.write_text(yaml.safe_dump(data, sort_keys=False, allow_unicode=True), encoding="utf-8")
    return file
