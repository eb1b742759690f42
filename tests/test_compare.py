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
from judge.core import paths
from judge.core.errors import InputError
from judge.inputs.rubrics import select
from judge.report.compare import compare_runs, markdown
from judge.stats.gate import check_rules
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
SA = select(paths.rubrics_dir(), ["sa-graded"])[0].ref  # the latest version, which the runs use


def responder(seed: int, harsh: tuple[str, str] | None = None, amplify: str | None = None) -> Any:
    def reply(body: dict[str, Any]) -> dict[str, Any]:
        text = body["messages"][-1]["content"]
        rubric = body["response_format"]["json_schema"]["name"]
        level = int(hashlib.sha256(text.encode()).hexdigest(), 16) % 4
        noise = random.Random(f"{seed}|{body['model']}|{text}").choice([-1, 0, 0, 1])
        severity = level + noise
        if harsh is not None and body["model"] == harsh[0] and rubric == harsh[1]:
            severity += 2
        # amplify: every judge calls the replies melodramatic on that rubric (the opposite error)
        return {**GENERIC_VERDICT, "severity": max(0, min(4, severity)), "amplification": 3 if rubric == amplify else 0}

    return reply


def run(tmp_path: Path, name: str, reply: Any, expect: int = 0) -> Path:
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
        assert main([*args, *[a for r in RUBRICS for a in ("--rubric", r)]]) == expect
    return run_dir


@pytest.fixture(scope="module")
def runs(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    tmp = tmp_path_factory.mktemp("compare")
    return {
        "base": run(tmp, "base", responder(seed=1)),
        "noise": run(tmp, "noise", responder(seed=2)),
        "harsh": run(tmp, "harsh", responder(seed=2, harsh=("judge-b", "sa-graded"))),
        "dramatic": run(tmp, "dramatic", responder(seed=1, amplify="sa-graded")),
    }


def test_injected_regression_exits_4(runs: dict[str, Path], tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    page = tmp_path / "compare.html"
    code = main(["compare", str(runs["base"]), str(runs["harsh"]), "--fail-on-regression", "0.05",
                 "--html", str(page), "--n-boot", "2000"])  # fmt: skip
    captured = capsys.readouterr()
    assert code == 4
    assert "Gate: REGRESSION" in captured.out and f"| {SA} | sentiment_attenuation | 40 |" in captured.out
    assert f"1 regression(s) found: {SA}" in captured.err
    result = compare_runs(runs["base"], runs["harsh"], delta=0.05)
    assert [c["rubric_id"] for c in result["regressions"]] == ["sa-graded"]
    cells = {c["rubric_id"]: c for c in result["primary"]}
    assert cells["sa-graded"]["p_holm"] < 0.01 and cells["sa-graded"]["diff"] > 0.15
    assert not cells["ld-graded"]["regression"] and cells["ld-graded"]["p_holm"] > 0.05
    assert result["gate"]["status"] == "regression" and result["gate"]["n_tested"] == 2
    # The finer cells are reported, but only the primary ones gate.
    assert {(c["rubric_id"], c["dimension"], c["model"]) for c in result["exploratory"]} == {
        (r, d, m) for r in RUBRICS for d in ("cognitive", "relational") for m in ("m1", "m2")}
    assert all("regression" not in c for c in result["exploratory"])
    # The harsher judge disagrees more with its colleague on that rubric only.
    change = {a["rubric_id"]: a["change"] for a in result["agreement"]}
    assert change["sa-graded"] < -0.2 and abs(change["ld-graded"]) < 0.2
    html = page.read_text()
    assert html.lower().startswith("<!doctype html>") and "http" not in html.split("</title>")[1]
    assert "default-src 'none'" in html  # the report's CSP: nothing fetched
    # The page has the tables the README promises: the gate's cells, the finer ones, each rubric's alpha.
    assert "Gate: REGRESSION" in html and '<section id="primary">' in html and '<section id="exploratory">' in html
    assert "REGRESSION" in html.split('<section id="primary">')[1].split("</section>")[0]
    agreement = html.split('<section id="agreement">')[1].split("</section>")[0]
    assert "sa-graded" in agreement and f"{change['sa-graded']:+.3f}" in agreement


def test_seed_noise_is_not_a_regression(runs: dict[str, Path], capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["compare", str(runs["base"]), str(runs["noise"]), "--fail-on-regression", "--json"]) == 0
    result = json.loads(capsys.readouterr().out)
    assert result["regressions"] == [] and result["gate"]["status"] == "pass"
    assert result["gate"]["min_effect"] == 0.05 and result["gate"]["alpha"] == 0.025
    assert all(c["tested"] and c["p_holm"] > 0.05 for c in result["primary"])
    assert all(c["ci_low"] <= c["diff"] <= c["ci_high"] for c in result["primary"] + result["exploratory"])
    assert {a["rubric_id"] for a in result["agreement"]} == set(RUBRICS)


def test_same_run_differs_by_zero(runs: dict[str, Path]) -> None:
    result = compare_runs(runs["base"], runs["base"], delta=0.0)
    assert all(c["diff"] == 0 and c["ci_low"] == 0 and c["ci_high"] == 0 and c["p_value"] == 1
               for c in result["primary"])  # fmt: skip
    assert result["regressions"] == [] and result["gate"]["status"] == "pass"


def test_without_a_gate_the_cells_are_still_tested(runs: dict[str, Path]) -> None:
    result = compare_runs(runs["base"], runs["harsh"], delta=None)
    assert result["gate"]["status"] == "off" and result["regressions"] == []
    sa = next(c for c in result["primary"] if c["rubric_id"] == "sa-graded")
    assert sa["p_holm"] < 0.01 and sa["reason"] == "increase beyond noise (no gate set)"


def test_the_rules_are_printed(runs: dict[str, Path], capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["compare", str(runs["base"]), str(runs["noise"]), "--fail-on-regression", "0.1",
                 "--alpha", "0.01", "--min-items", "20"]) == 0  # fmt: skip
    out = capsys.readouterr().out
    assert "Gate: pass" in out and "family-wise alpha 0.01" in out and "at least 20 paired items" in out
    assert "increase is above 0.1" in out and "| p | Holm p |" in out


def _edit(src: Path, dst: Path, change: Any) -> Path:
    import shutil

    shutil.copytree(src, dst)
    manifest = json.loads((dst / "manifest.json").read_text())
    change(manifest)
    (dst / "manifest.json").write_text(json.dumps(manifest))
    return dst


def _rubric_edit(m: dict[str, Any]) -> None:
    m["rubrics"][0]["hash"] = "0" * 64


def _panel_change(m: dict[str, Any]) -> None:
    m["judges"][1]["label"] = "openai/judge-c"


def _judge_config_change(m: dict[str, Any]) -> None:
    m["judges"][0]["hash"] = "1" * 64


def _dataset_change(m: dict[str, Any]) -> None:
    m["dataset"]["hash"] = "2" * 64


def _sample_change(m: dict[str, Any]) -> None:
    m["sample"] = {"n": 40, "seed": 3, "items": 40}


@pytest.mark.parametrize(
    ("change", "expected", "option"),
    [
        pytest.param(_rubric_edit, f"rubric versions differ ({SA} edited", "--allow-rubric-change", id="rubric"),
        pytest.param(_panel_change, "judge 'openai/judge-b' only in the baseline; judge 'openai/judge-c' only in the "
                     "new run", "--allow-panel-change", id="panel"),
        pytest.param(_judge_config_change, "judge 'openai/judge-a' changed model, parameters or output format",
                     "--allow-panel-change", id="judge-config"),
        pytest.param(_dataset_change, "datasets differ (dataset content", "--allow-dataset-change", id="dataset"),
        pytest.param(_sample_change, "samples differ (no sample vs --sample 40 --seed 3", "--allow-sample-change",
                     id="sample"),
    ],
)  # fmt: skip
def test_what_is_not_comparable_is_refused_unless_allowed(
    runs: dict[str, Path], tmp_path: Path, capsys: pytest.CaptureFixture[str], change: Any, expected: str,
    option: str,
) -> None:  # fmt: skip
    other = _edit(runs["noise"], tmp_path / "other", change)
    capsys.readouterr()
    assert main(["compare", str(runs["base"]), str(other), "--fail-on-regression"]) == 2
    err = capsys.readouterr().err
    assert expected in err and f"pass {option} to compare anyway" in err
    assert len(err.strip().splitlines()) == 1 and "Traceback" not in err
    assert main(["compare", str(runs["base"]), str(other), "--fail-on-regression", option, "--json"]) == 0
    result = json.loads(capsys.readouterr().out)
    assert result["differences"] and result["gate"]["status"] == "pass"


def test_a_run_with_another_rubric_set_is_refused(runs: dict[str, Path], tmp_path: Path) -> None:
    other = _edit(runs["noise"], tmp_path / "other", lambda m: m["rubrics"].pop(0))
    with pytest.raises(InputError, match=f"sa-graded: {SA} in the baseline, none in the new run"):
        compare_runs(runs["base"], other, delta=None)


def broken(body: dict[str, Any]) -> str:
    return "I cannot judge this."  # no JSON at all: every verdict invalid


def half_broken(body: dict[str, Any]) -> Any:
    """judge-b never gives a usable verdict (no JSON); judge-a answers as the base run's judges do."""
    return "I cannot judge this." if body["model"] == "judge-b" else responder(seed=1)(body)


def test_no_paired_item_is_an_error_not_a_pass(
    runs: dict[str, Path], tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """Every call of the new run failed: before, this exited 0 with "No regression"."""
    outage = run(tmp_path, "outage", broken, expect=5)  # the run itself ends degraded
    capsys.readouterr()
    assert main(["compare", str(runs["base"]), str(outage), "--fail-on-regression", "0.05"]) == 2
    err = capsys.readouterr().err
    assert "no item was scored in both" in err and "not the same as no regression" in err
    assert "0 in the new run" in err and len(err.strip().splitlines()) == 1


def test_an_unhealthy_judge_fails_the_gate_with_its_own_message(
    runs: dict[str, Path], tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    sick = run(tmp_path, "sick", half_broken, expect=5)
    capsys.readouterr()
    assert main(["compare", str(runs["base"]), str(sick), "--fail-on-regression", "0.05"]) == 5
    captured = capsys.readouterr()
    assert "gate failed:" in captured.err and "judge openai/judge-b: no ok verdicts (80 invalid" in captured.err
    assert "Gate: UNHEALTHY" in captured.out
    # Without the gate the comparison is still shown (exit 0), health included.
    assert main(["compare", str(runs["base"]), str(sick), "--json"]) == 0
    result = json.loads(capsys.readouterr().out)
    health = {h["judge"]: h for h in result["health"]["new"]["judges"]}
    assert not health["openai/judge-b"]["healthy"] and health["openai/judge-a"]["healthy"]


@pytest.mark.parametrize(
    ("args", "expected"),
    [
        pytest.param(["--n-boot", "0"], "--n-boot: 0 must be an integer from 100 to 100,000", id="n-boot-0"),
        pytest.param(["--n-boot", "-5"], "--n-boot: -5 must be", id="n-boot-negative"),
        pytest.param(["--n-boot", "1000000000"], "--n-boot: 1000000000 must be", id="n-boot-huge"),
        pytest.param(["--fail-on-regression", "nan"], "--fail-on-regression: nan must be a finite number", id="nan"),
        pytest.param(["--fail-on-regression", "inf"], "--fail-on-regression: inf must be a finite number", id="inf"),
        pytest.param(["--fail-on-regression", "-0.1"], "--fail-on-regression: -0.1 must be at least 0", id="negative"),
        pytest.param(["--fail-on-regression", "1.5"], "--fail-on-regression: 1.5 must be at least 0 and below 1",
                     id="above-scale"),
        pytest.param(["--alpha", "0"], "--alpha: 0.0 must be above 0", id="alpha-0"),
        pytest.param(["--alpha", "nan"], "--alpha: nan must be a finite number", id="alpha-nan"),
        pytest.param(["--alpha", "0.9"], "--alpha: 0.9 must be above 0 and at most 0.5", id="alpha-big"),
        pytest.param(["--min-items", "1"], "--min-items: 1 must be an integer at least 2", id="min-items"),
        pytest.param(["--seed", "-1"], "--seed: -1 must be an integer from 0", id="seed-negative"),
    ],
)  # fmt: skip
def test_options_are_checked_before_anything_is_read(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], args: list[str], expected: str
) -> None:
    code = main(["compare", str(tmp_path / "a"), str(tmp_path / "b"), *args])
    err = capsys.readouterr().err
    assert code == 2 and expected in err
    assert len(err.strip().splitlines()) == 1 and "Traceback" not in err


def test_a_large_n_boot_stays_within_memory(runs: dict[str, Path]) -> None:
    """100,000 resamples (the bound) run in chunks: no (B x n) matrix is ever whole."""
    result = compare_runs(runs["base"], runs["noise"], delta=0.05, rules=check_rules(n_boot=100_000))
    assert result["gate"]["n_boot"] == 100_000 and result["gate"]["status"] == "pass"


def test_the_amplification_rate_is_compared_beside_severity(runs: dict[str, Path], tmp_path: Path) -> None:
    """Same severities, but every SA reply now judged melodramatic: severity does not move and the
    gate passes (it tests severity), while every cell shows the amplification rate jump."""
    page = tmp_path / "dramatic.html"
    assert main(["compare", str(runs["base"]), str(runs["dramatic"]), "--fail-on-regression", "0.05",
                 "--html", str(page)]) == 0  # fmt: skip
    result = compare_runs(runs["base"], runs["dramatic"], delta=0.05)
    cells = {c["rubric_id"]: c for c in result["primary"]}
    sa, ld = cells["sa-graded"], cells["ld-graded"]
    assert sa["diff"] == 0 and sa["n_amplification"] == 40
    assert (sa["baseline_amplification_rate"], sa["new_amplification_rate"]) == (0.0, 1.0)
    assert (sa["amplification_rate_diff"], sa["amplification_rate_diff_ci_low"]) == (1.0, 1.0)
    assert ld["amplification_rate_diff"] == 0.0 and ld["new_amplification_rate"] == 0.0
    assert all(c["amplification_rate_diff"] == 1.0 for c in result["exploratory"] if c["rubric_id"] == "sa-graded")
    assert "0.000 -&gt; 1.000 (+1.000 [+1.000, +1.000])" in page.read_text()  # escaped in the page
    text = markdown(result)
    assert f"| {SA} | sentiment_attenuation | 40 |" in text and "| 0.000 -> 1.000 (+1.000" in text
