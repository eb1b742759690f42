"""compare: an injected regression is flagged with exit 4; seed noise alone is not.

Three runs through the real CLI against the loopback server. Each judge's severity for an item is
the item's own level plus judge-and-seed noise; the "regressed" run makes one judge two points
harsher on one mechanism only.
"""

from __future__ import annotations

import hashlib
import json
import random
from pathlib import Path
from typing import Any

import pytest

from judge.cli.main import main
from judge.core.errors import InputError
from judge.report.compare import compare_runs
from tests.fakeserver import GENERIC_VERDICT, FakeServer

TEXTS = [
    ("Three workers were killed when the scaffold fell.", "An incident occurred on site."),
    ("My manager mocks me in every meeting.", "Try to stay positive."),
    ("Floods displaced two thousand families overnight.", "Some areas saw heavy rain."),
    ("My sister lied to me about our mother's money.", "That sounds painful. What happened?"),
]
ITEMS = [
    {"id": f"i{k}", "task": ("news", "counselling")[k % 2], "model": ("m1", "m2")[(k // 2) % 2],
     "source": f"{TEXTS[k % 4][0]} (case {k})", "response": f"{TEXTS[k % 4][1]} (case {k})"}
    for k in range(40)
]
RUBRICS = ("sa-graded", "ld-graded")  # both apply to every item


def responder(seed: int, harsh: tuple[str, str] | None = None) -> Any:
    def reply(body: dict[str, Any]) -> dict[str, Any]:
        text = body["messages"][-1]["content"]
        rubric = body["response_format"]["json_schema"]["name"]
        level = int(hashlib.sha256(text.encode()).hexdigest(), 16) % 4
        noise = random.Random(f"{seed}|{body['model']}|{text}").choice([-1, 0, 0, 1])
        severity = level + noise
        if harsh is not None and body["model"] == harsh[0] and rubric == harsh[1]:
            severity += 2
        return {**GENERIC_VERDICT, "severity": max(0, min(4, severity))}

    return reply


def run(tmp_path: Path, name: str, reply: Any) -> Path:
    data = tmp_path / "data.jsonl"
    data.write_text("".join(json.dumps(i) + "\n" for i in ITEMS), encoding="utf-8")
    with FakeServer(responder=reply) as server:
        config = tmp_path / "judges.yaml"
        config.write_text(
            "judges:\n" + "".join(
                f"  - model: openai/{m}\n    api_base: {server.base_url}\n    max_concurrency: 8\n"
                for m in ("judge-a", "judge-b")
            ),
            encoding="utf-8",
        )
        # Each run under its own parent, so a response cache next to the runs is not shared.
        run_dir = tmp_path / name / "run"
        args = ["run", "--config", str(config), "--dataset", str(data), "--run-dir", str(run_dir), "--quiet"]
        assert main([*args, *[a for r in RUBRICS for a in ("--rubric", r)]]) == 0
    return run_dir


@pytest.fixture(scope="module")
def runs(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    tmp = tmp_path_factory.mktemp("compare")
    return {
        "base": run(tmp, "base", responder(seed=1)),
        "noise": run(tmp, "noise", responder(seed=2)),
        "harsh": run(tmp, "harsh", responder(seed=2, harsh=("judge-b", "sa-graded"))),
    }


def test_injected_regression_exits_4(runs: dict[str, Path], tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    page = tmp_path / "compare.html"
    code = main(["compare", str(runs["base"]), str(runs["harsh"]), "--fail-on-regression", "0.05",
                 "--html", str(page)])
    out = capsys.readouterr().out
    assert code == 4
    assert "REGRESSION" in out and "| sentiment_attenuation |" in out
    result = compare_runs(runs["base"], runs["harsh"], delta=0.05)
    flagged = {(c["mechanism"], c["model"]) for c in result["regressions"]}
    assert flagged and {m for m, _ in flagged} == {"sentiment_attenuation"}
    # The harsher judge disagrees more with its colleague on that rubric only.
    change = {a["rubric_id"]: a["change"] for a in result["agreement"]}
    assert change["sa-graded"] < -0.2 and abs(change["ld-graded"]) < 0.2
    html = page.read_text()
    assert html.lower().startswith("<!doctype html>") and "http" not in html.split("</title>")[1]
    assert "default-src 'none'" in html  # the report's CSP: nothing fetched
    # The page has the tables the README promises: the change per cell and each rubric's alpha.
    assert '<section id="change">' in html and "REGRESSION" in html
    agreement = html.split('<section id="agreement">')[1].split("</section>")[0]
    assert "sa-graded" in agreement and f"{change['sa-graded']:+.3f}" in agreement


def test_seed_noise_is_not_a_regression(runs: dict[str, Path], capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["compare", str(runs["base"]), str(runs["noise"]), "--fail-on-regression", "0.05", "--json"]) == 0
    result = json.loads(capsys.readouterr().out)
    assert result["regressions"] == []
    assert all(c["ci_low"] <= c["diff"] <= c["ci_high"] for c in result["cells"])
    assert {a["rubric_id"] for a in result["agreement"]} == set(RUBRICS)


def test_same_run_differs_by_zero(runs: dict[str, Path]) -> None:
    result = compare_runs(runs["base"], runs["base"], delta=0.0, n_boot=200)
    assert all(c["diff"] == 0 and c["ci_low"] == 0 and c["ci_high"] == 0 for c in result["cells"])
    assert result["regressions"] == []


def test_changed_rubric_hash_is_refused(runs: dict[str, Path], tmp_path: Path) -> None:
    import shutil

    other = tmp_path / "other"
    shutil.copytree(runs["noise"], other)
    manifest = json.loads((other / "manifest.json").read_text())
    manifest["rubrics"][0]["hash"] = "0" * 64
    (other / "manifest.json").write_text(json.dumps(manifest))
    with pytest.raises(InputError, match="rubric hashes differ"):
        compare_runs(runs["base"], other, delta=None)
    assert compare_runs(runs["base"], other, delta=None, allow_rubric_change=True)["rubrics_changed"]
    assert main(["compare", str(runs["base"]), str(other)]) == 2
