"""Prompt layout for prefix caching: what does not depend on the item comes first, byte-identical.

A server that caches prompt prefixes (llama.cpp's KV cache, vLLM's prefix caching, OpenAI's and
Anthropic's prompt caching) reuses the work for the longest prefix a request shares with an
earlier one. Every template therefore puts the rubric (role, definition, instructions, scale,
schema) in the system message, the item's task and norms next, and the item's texts last. The
requests checked here are the ones the loopback server received from a real run.
"""

from __future__ import annotations

import json
import os
import re
from typing import Any

import pytest

from judge.cli.main import main
from judge.core import paths
from judge.inputs.prompts import PromptLibrary, render_scale
from judge.inputs.rubrics import Rubric, select
from tests.fakeserver import FakeServer

ITEMS = [
    {"id": "c1", "task": "counselling", "model": "m", "source": "My manager mocks me in every meeting.",
     "response": "Try to stay positive."},
    {"id": "c2", "task": "counselling", "model": "m", "source": "Our sister lied to us about our mother's money.",
     "response": "That sounds painful. What happened?"},
    {"id": "n1", "task": "news", "model": "m", "source": "Three workers were killed when the scaffold fell.",
     "response": "An incident occurred at a site.", "reference": "Three workers died when scaffolding collapsed."},
]  # fmt: skip


def every_template() -> list[Rubric]:
    """One rubric per prompt template: the latest eight, plus the oldest graded version."""
    rubrics = {r.prompt: r for r in select(paths.rubrics_dir())}
    for old in select(paths.rubrics_dir(), ["sa-graded@1"]):
        rubrics.setdefault(old.prompt, old)
    return list(rubrics.values())


def conversation(body: dict[str, Any]) -> str:
    return "".join(f"{m['role']}\n{m['content']}\n\x00" for m in body["messages"])


def common_prefix(a: str, b: str) -> int:
    """How many leading characters ``a`` and ``b`` share."""
    return len(os.path.commonprefix([a, b]))  # noqa: RUF071 (characters are what we compare)


@pytest.fixture(scope="module")
def requests_by_rubric(tmp_path_factory: pytest.TempPathFactory) -> dict[str, dict[str, dict[str, Any]]]:
    """rubric ref -> item id -> the request body the server received."""
    tmp = tmp_path_factory.mktemp("prefix")
    data = tmp / "d.jsonl"
    data.write_text("".join(json.dumps(i) + "\n" for i in ITEMS), encoding="utf-8")
    config = tmp / "c.yaml"
    found: dict[str, dict[str, dict[str, Any]]] = {}
    rubrics = every_template()
    latest = {r.ref for r in select(paths.rubrics_dir())}
    # One run per group of rubrics with distinct ids (a run takes one version of each).
    for n, group in enumerate(([r for r in rubrics if r.ref in latest], [r for r in rubrics if r.ref not in latest])):
        with FakeServer() as server:
            config.write_text(f"judges: [{{model: openai/j, api_base: '{server.base_url}', timeout_s: 5}}]\n")
            code = main(["run", "--config", str(config), "--dataset", str(data), "--run-dir", str(tmp / f"run{n}"),
                         "--quiet", "--no-cache", *[a for r in group for a in ("--rubric", r.ref)]])  # fmt: skip
            assert code == 0
            bodies = [r.body for r in server.requests]
        refs = {r.id: r.ref for r in group}
        for body in bodies:
            ref = refs[body["response_format"]["json_schema"]["name"]]
            item = next(i["id"] for i in ITEMS if i["source"] in body["messages"][-1]["content"])
            found.setdefault(ref, {})[item] = body
    return found


@pytest.mark.parametrize("rubric", every_template(), ids=lambda r: r.prompt)
def test_the_rubric_comes_first_and_is_the_same_for_every_item(
    rubric: Rubric, requests_by_rubric: dict[str, dict[str, dict[str, Any]]]
) -> None:
    bodies = requests_by_rubric[rubric.ref]
    # A rubric that lists its tasks (conflict avoidance) is not asked about the others' items.
    assert set(bodies) == {i["id"] for i in ITEMS if not rubric.tasks or i["task"] in rubric.tasks}
    convs = {item: conversation(body) for item, body in bodies.items()}
    system = bodies["c1"]["messages"][0]
    assert system["role"] == "system"
    # Everything the rubric decides is in the system message, which no item changes.
    for text in (rubric.definition.strip(), rubric.instructions.strip(), render_scale(rubric.scale)):
        assert text in system["content"]
    assert '"required"' in system["content"]  # the schema
    assert {json.dumps(b["messages"][0]) for b in bodies.values()} == {json.dumps(system)}
    # Items of another task share at least the whole system message...
    system_len = len(f"system\n{system['content']}\n\x00")
    if "n1" in convs:
        assert common_prefix(convs["c1"], convs["n1"]) >= system_len
    # ...and items of the same task share everything up to their own text.
    first_text = convs["c1"].index("<<<SOURCE>>>") + len("<<<SOURCE>>>\n")
    assert common_prefix(convs["c1"], convs["c2"]) == first_text
    # The item's texts come last: after the final block only item-independent words remain.
    tails = {re.split(r"<<<END [A-Z ]+>>>", conv)[-1] for conv in convs.values()}
    assert len(tails) == 1 and len(tails.pop()) < 80


def test_a_rendered_prompt_starts_with_its_rubric_for_any_task() -> None:
    """The same check on rendered messages, for every task of the sample set (no server)."""
    library = PromptLibrary(paths.prompts_dir())
    from judge.inputs.dataset import open_dataset

    by_task = {}
    for item in open_dataset(paths.sample_dataset()).items():
        by_task.setdefault(item.task, item)
    for rubric in every_template():
        systems = {library.render(rubric, item)[0]["content"] for item in by_task.values()}
        assert len(systems) == 1, rubric.ref
