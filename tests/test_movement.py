"""Rubric iteration: compare two runs that differ only by rubric version and list what flipped.

Two runs through the real CLI against the loopback server: sa-graded@1, then sa-graded@2. The
fake judges answer the v2 prompt harshly for responses that blur harm into "an incident", and
the v1 prompt leniently for everything, so exactly those items must flip.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from judge.cli.main import main
from tests.fakeserver import GENERIC_VERDICT_V2, FakeServer

ITEMS = [
    {"id": f"i{k}", "task": "news", "model": "m1",
     "source": f"Three workers were killed when the scaffold fell on site {k}.",
     "response": "An incident occurred on a site." if k % 3 == 0 else f"Three workers died when scaffold {k} fell."}
    for k in range(12)
]
V2_MARKER = "Everything between a line <<<NAME>>>"  # only graded-v2's system prompt says this


def reply(body: dict[str, Any]) -> dict[str, Any]:
    system, user = body["messages"][0]["content"], body["messages"][-1]["content"]
    harsh = V2_MARKER in system and "An incident occurred" in user
    judge = body["model"]
    return {**GENERIC_VERDICT_V2, "severity": 4 if harsh else 0, "rationale": f"{judge} v2={V2_MARKER in system}"}


def run(tmp_path: Path, server: FakeServer, name: str, rubric: str) -> Path:
    data = tmp_path / "data.jsonl"
    data.write_text("".join(json.dumps(i) + "\n" for i in ITEMS), encoding="utf-8")
    config = tmp_path / "judges.yaml"
    config.write_text("judges:\n" + "".join(
        f"  - model: openai/{m}\n    api_base: {server.base_url}\n" for m in ("judge-a", "judge-b")
    ), encoding="utf-8")
    run_dir = tmp_path / name
    code = main(["run", "--config", str(config), "--dataset", str(data), "--run-dir", str(run_dir), "--quiet",
                 "--no-cache", "--rubric", rubric])
    assert code == 0
    return run_dir


def test_compare_lists_items_that_flipped_between_rubric_versions(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    with FakeServer(responder=reply) as server:
        v1 = run(tmp_path, server, "v1", "sa-graded@1")
        v2 = run(tmp_path, server, "v2", "sa-graded@2")
    capsys.readouterr()
    # Different rubric versions are refused unless the user says this is rubric iteration.
    assert main(["compare", str(v1), str(v2)]) == 2
    err = capsys.readouterr().err
    assert "rubric versions differ (sa-graded: sa-graded@1 in the baseline, sa-graded@2 in the new run" in err

    page = tmp_path / "compare.html"
    assert main(["compare", str(v1), str(v2), "--allow-rubric-change", "--json", "--html", str(page)]) == 0
    result = json.loads(capsys.readouterr().out)
    movement = result["movement"]
    expected = {i["id"] for i in ITEMS if i["response"].startswith("An incident")}
    assert {m["item_id"] for m in movement["flipped"]} == expected
    assert movement["n_flipped"] == len(expected) and movement["n_paired"] == len(ITEMS)
    top = movement["moved"][0]
    assert top["item_id"] in expected and top["shift"] == pytest.approx(1.0)
    assert top["response"] == "An incident occurred on a site."
    assert top["source"].startswith("Three workers were killed")
    assert {j["rationale"] for j in top["baseline_judges"]} == {"judge-a v2=False", "judge-b v2=False"}
    assert {j["rationale"] for j in top["new_judges"]} == {"judge-a v2=True", "judge-b v2=True"}

    text = page.read_text(encoding="utf-8")
    assert "Items that flipped" in text and "An incident occurred on a site." in text and "judge-a v2=True" in text

    assert main(["compare", str(v1), str(v2), "--allow-rubric-change"]) == 0
    markdown = capsys.readouterr().out
    assert f"{len(expected)} of {len(ITEMS)} item x rubric pairs flipped" in markdown
    assert "Flipped: " in markdown
