"""The hard budget, through the real CLI and runner against the loopback server with prices.

The provider's bill is computed from what the fake server answered (its usage rule: characters
of all messages // 4 prompt tokens, characters of the reply // 4 completion tokens, for every 200
it sent), never from our own ledger, so a ledger bug cannot hide itself.
"""

from __future__ import annotations

import json
import random
from pathlib import Path
from typing import Any

import polars as pl
import pytest

from judge.cli.main import main
from judge.core.errors import BudgetExhausted
from judge.judging.budget import Budget
from tests.fakeserver import GENERIC_VERDICT, FakeServer, FaultPlan, Malformed, _message_text

ITEMS = [
    {"id": f"i{k}", "task": task, "model": model, "source": src, "response": resp}
    for k, (task, model, src, resp) in enumerate(
        [
            ("news", "m1", "Three workers were killed when the scaffold fell.", "An incident occurred on site."),
            ("counselling", "m1", "My manager mocks me in every meeting.", "Try to stay positive."),
            ("counselling", "m2", "My sister lied to me about money.", "That sounds painful."),
            ("news", "m2", "Floods displaced two thousand families overnight.", "Some areas saw heavy rain."),
        ]
    )
]
RUBRICS = ("sa-graded", "ld-graded")  # both apply to every item
JUDGES = ("judge-a", "judge-b")
IN_PRICE, OUT_PRICE = 1e-6, 4e-6
BILLED = {"reply", "malformed", "schema-breaking", "fenced"}
REPLY_TEXT = json.dumps(GENERIC_VERDICT)


def write_inputs(tmp_path: Path, server: FakeServer, *, concurrency: int, priced: bool = True) -> tuple[Path, Path]:
    data = tmp_path / "data.jsonl"
    data.write_text("".join(json.dumps(i) + "\n" for i in ITEMS), encoding="utf-8")
    lines = ["judges:"]
    for model in JUDGES:
        lines += [
            f"  - model: openai/{model}",
            f"    api_base: {server.base_url}",
            "    max_attempts: 3",
            "    max_wait_s: 2",
            "    timeout_s: 5",
            f"    max_concurrency: {concurrency}",
            "    params: {max_tokens: 200}",
        ]
        if priced:
            lines += [f"    input_cost_per_token: {IN_PRICE:.10f}", f"    output_cost_per_token: {OUT_PRICE:.10f}"]
    config = tmp_path / "judges.yaml"
    config.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return config, data


def provider_bill(server: FakeServer) -> float:
    """What the fake provider billed: every 200 body, by its own usage rule."""
    total = 0.0
    for req in server.requests:
        if req.outcome not in BILLED:
            continue
        prompt = sum(len(_message_text(m)) for m in req.body["messages"]) // 4
        text = Malformed().text if req.outcome == "malformed" else REPLY_TEXT
        total += prompt * IN_PRICE + (len(text) // 4) * OUT_PRICE
    return total


def cli_run(config: Path, data: Path, run_dir: Path, *extra: str) -> int:
    args = ["run", "--config", str(config), "--dataset", str(data), "--quiet"]
    for rubric in RUBRICS:
        args += ["--rubric", rubric]
    return main([*args, "--run-dir", str(run_dir), *extra])


def log_rows(run_dir: Path) -> list[dict[str, Any]]:
    return [json.loads(line) for line in (run_dir / "verdicts.jsonl").read_text().splitlines()]


PLANNED = len(ITEMS) * len(RUBRICS) * len(JUDGES)


def reask_rubrics(tmp_path: Path) -> Path:
    """The project's rubrics with re-asks on (as new versions, added with --rubrics-dir), so invalid
    replies trigger billed second calls."""
    from tests.reliability_helpers import rubrics_with_policy

    return rubrics_with_policy(tmp_path / "rubrics", "reask", max_reasks=1)


def _trial(tmp_path: Path, seed: int) -> dict[str, Any]:
    rng = random.Random(seed)
    reask = seed % 2 == 1
    concurrency = rng.choice([1, 2, 4, 8])
    plan = FaultPlan(
        p429=rng.choice([0.0, 0.1]),
        p500=rng.choice([0.0, 0.1]),
        p_malformed=rng.choice([0.15, 0.3]) if reask else rng.choice([0.0, 0.15]),
        p_disconnect=rng.choice([0.0, 0.05]),
        retry_after=0.01,
        seed=seed,
    )
    # A full run costs about $0.03-0.04 here (more with re-asks); a call's worst case about $0.003.
    cap = round(rng.uniform(0.001, 0.06), 6)
    server = FakeServer(latency_ms=rng.choice([0, 5, 30]), responder=lambda body: GENERIC_VERDICT, fault_plan=plan)
    with server:
        config, data = write_inputs(tmp_path, server, concurrency=concurrency)
        run_dir = tmp_path / "run"
        extra = ["--rubrics-dir", str(reask_rubrics(tmp_path))] if reask else []
        code = cli_run(config, data, run_dir, "--budget-usd", str(cap), *extra)
        reasks = sum(1 for r in server.requests if len(r.body["messages"]) > 2)
        bill = provider_bill(server)
    rows = log_rows(run_dir)
    manifest = json.loads((run_dir / "manifest.json").read_text())
    spend = sum(r["cost_usd"] or 0.0 for r in rows)
    assert bill <= cap + 1e-12, f"seed {seed}: billed {bill} past the cap {cap}"
    assert spend == pytest.approx(bill, rel=1e-9, abs=1e-12), f"seed {seed}: recorded {spend} != billed {bill}"
    assert len(rows) == PLANNED  # every unit has a row, skipped ones included
    ledger = manifest["budgets"][-1]
    assert ledger["overshoot_usd"] == 0  # no reply cost more than its reservation
    assert ledger["spent_usd"] == pytest.approx(bill, rel=1e-9, abs=1e-12)
    skipped = [r for r in rows if r["status"] == "skipped"]
    # A refused re-ask keeps its billed invalid reply as the verdict.
    assert all(r["status"] == "invalid" and r["cost_usd"] for r in rows if "re-ask not sent" in (r["error"] or ""))
    if code == 3:
        assert manifest["status"] == "budget_exhausted"
        assert all(r["error"] == "budget exhausted" for r in skipped)
        refused_reasks = [r for r in rows if "re-ask not sent" in (r["error"] or "")]
        assert skipped or refused_reasks  # the budget refused some call
        assert manifest["budgets"][-1]["exhausted"] is True
    else:
        assert code == 0 and manifest["status"] == "completed" and not skipped
    return {"code": code, "cap": cap, "reasks": reasks, "bill": bill, "skipped": len(skipped)}


@pytest.mark.parametrize("seed", range(22))
def test_randomised_budget_trials_never_pass_the_cap(tmp_path: Path, seed: int) -> None:
    _trial(tmp_path, seed)


def test_exhausted_run_resumes_with_a_larger_budget(tmp_path: Path) -> None:
    server = FakeServer(responder=lambda body: GENERIC_VERDICT)
    with server:
        config, data = write_inputs(tmp_path, server, concurrency=3)
        run_dir = tmp_path / "run"
        assert cli_run(config, data, run_dir, "--budget-usd", "0.008") == 3
        first = log_rows(run_dir)
        done = {(r["item_id"], r["rubric_id"], r["judge"], r["repeat"]) for r in first if r["status"] != "skipped"}
        assert 0 < len(done) < PLANNED
        sent_before = server.count()
        # The run's options (config, dataset, rubrics) come back from its manifest.
        assert main(["run", "--resume", str(run_dir), "--budget-usd", "1", "--quiet"]) == 0
        # Only the skipped work was sent again.
        assert server.count() - sent_before == PLANNED - len(done)
        bill = provider_bill(server)
    manifest = json.loads((run_dir / "manifest.json").read_text())
    assert manifest["status"] == "completed"
    assert [b["cap_usd"] for b in manifest["budgets"]] == [0.008, 1.0]
    verdicts = pl.read_parquet(run_dir / "verdicts.parquet")
    assert verdicts.height == PLANNED
    assert verdicts.select("item_id", "rubric_id", "judge", "repeat").is_unique().all()
    assert set(verdicts["status"]) == {"ok"}
    final = [r for r in log_rows(run_dir) if r["status"] != "skipped"]
    assert len(final) == PLANNED  # no key judged twice
    assert sum(r["cost_usd"] for r in final) == pytest.approx(bill, rel=1e-9)
    summary = json.loads((run_dir / "summary.json").read_text())
    assert summary["cost"]["total_usd"] == pytest.approx(bill, rel=1e-9)
    assert {row["judge"] for row in summary["cost"]["by_judge"]} == {f"openai/{j}" for j in JUDGES}


def test_unpriced_judge_with_a_budget_is_a_config_error(
    tmp_path: Path, fake_server: FakeServer, capsys: pytest.CaptureFixture[str]
) -> None:
    config, data = write_inputs(tmp_path, fake_server, concurrency=1, priced=False)
    assert cli_run(config, data, tmp_path / "run", "--budget-usd", "1") == 2
    err = capsys.readouterr().err
    assert "judge 'openai/judge-a': no known price" in err and "input_cost_per_token" in err
    assert fake_server.count() == 0


def test_bundled_price_map_prices_known_models() -> None:
    from judge.inputs.config import JudgeConfig
    from judge.judging.pricing import price_for

    price = price_for(JudgeConfig(model="openai/gpt-4o-mini"))
    assert price is not None and price.source == "litellm" and price.input_per_token > 0
    assert price_for(JudgeConfig(model="offline/lexicon")) == price_for(JudgeConfig(model="offline/structure"))
    assert price_for(JudgeConfig(model="openai/no-such-model-xyz")) is None


def test_ledger_refuses_what_would_pass_the_cap() -> None:
    budget = Budget(cap_usd=1.0)
    a = budget.reserve(0.6)
    with pytest.raises(BudgetExhausted):
        budget.reserve(0.5)  # 0.6 reserved + 0.5 > 1.0, although nothing is spent yet
    assert budget.exhausted
    budget.settle(a, 0.2)
    assert budget.spent_usd == pytest.approx(0.2) and budget.reserved_usd == 0
    with pytest.raises(BudgetExhausted):
        budget.reserve(0.01)  # once exhausted, no new calls start


def test_spend_shows_next_to_the_progress(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    with FakeServer(responder=lambda body: GENERIC_VERDICT) as server:
        config, data = write_inputs(tmp_path, server, concurrency=2)
        args = ["run", "--config", str(config), "--dataset", str(data), "--rubric", "sa-graded",
                "--run-dir", str(tmp_path / "run"), "--budget-usd", "0.5"]
        assert main(args) == 0
        bill = provider_bill(server)
    err = capsys.readouterr().err
    n = len(ITEMS) * len(JUDGES)
    assert f"{n}/{n} (100%)" in err and f"${bill:.4f}/$0.50" in err


def test_offline_judges_cost_nothing_under_a_budget(tmp_path: Path) -> None:
    data = tmp_path / "data.jsonl"
    data.write_text("".join(json.dumps(i) + "\n" for i in ITEMS[:2]), encoding="utf-8")
    run_dir = tmp_path / "run"
    args = ["run", "--dataset", str(data), "--rubric", "ld-graded", "--judge", "offline/lexicon",
            "--run-dir", str(run_dir), "--quiet", "--budget-usd", "0.000001"]
    assert main(args) == 0
    summary = json.loads((run_dir / "summary.json").read_text())
    assert summary["cost"]["total_usd"] == 0 and summary["counts"]["ok"] == 2


def test_price_map_judge_is_billed_at_the_bundled_price(
    tmp_path: Path, fake_server: FakeServer, capsys: pytest.CaptureFixture[str]
) -> None:
    """A judge LiteLLM's bundled map knows needs no configured price; the bill uses the map."""
    from judge.inputs.config import JudgeConfig
    from judge.judging.pricing import price_for

    fake_server.set_responder(lambda body: GENERIC_VERDICT)
    data = tmp_path / "data.jsonl"
    data.write_text("".join(json.dumps(i) + "\n" for i in ITEMS[:2]), encoding="utf-8")
    config = tmp_path / "judges.yaml"
    config.write_text(f"judges:\n  - model: openai/gpt-4o-mini\n    api_base: {fake_server.base_url}\n")
    run_dir = tmp_path / "run"
    args = ["run", "--config", str(config), "--dataset", str(data), "--rubric", "sa-graded",
            "--run-dir", str(run_dir), "--quiet", "--budget-usd", "1"]
    assert main(args) == 0
    price = price_for(JudgeConfig(model="openai/gpt-4o-mini"))
    assert price is not None and price.source == "litellm"
    expected = 0.0
    for req in fake_server.requests:
        prompt = sum(len(_message_text(m)) for m in req.body["messages"]) // 4
        expected += price.cost(prompt, len(REPLY_TEXT) // 4)
        assert req.body["max_tokens"] == 1024  # no cap anywhere: the budget's default is sent
    assert "no max_tokens for openai/gpt-4o-mini x sa-graded" in capsys.readouterr().err
    rows = log_rows(run_dir)
    assert sum(r["cost_usd"] for r in rows) == pytest.approx(expected, rel=1e-9)


def test_a_resume_without_a_budget_keeps_the_runs_last_cap(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """A capped run stays capped: `--resume` alone (a nightly's retry) gets the last cap again, never
    none; `--budget-usd` on the resume sets another."""
    server = FakeServer(responder=lambda body: GENERIC_VERDICT)
    with server:
        config, data = write_inputs(tmp_path, server, concurrency=3)
        run_dir = tmp_path / "run"
        assert cli_run(config, data, run_dir, "--budget-usd", "0.008") == 3
        capsys.readouterr()
        sent = server.count()
        assert main(["run", "--resume", str(run_dir)]) == 3  # exhausted again, not run uncapped
        assert "resumed under the run's last budget cap, $0.008" in capsys.readouterr().err
        assert 0 < server.count() - sent < PLANNED
        manifest = json.loads((run_dir / "manifest.json").read_text())
        assert [b["cap_usd"] for b in manifest["budgets"]] == [0.008, 0.008]
        assert all(b["spent_usd"] <= b["cap_usd"] for b in manifest["budgets"])
        assert main(["run", "--resume", str(run_dir), "--budget-usd", "1", "--quiet"]) == 0
    manifest = json.loads((run_dir / "manifest.json").read_text())
    assert manifest["status"] == "completed" and [b["cap_usd"] for b in manifest["budgets"]] == [0.008, 0.008, 1.0]


def test_a_damaged_cap_in_the_manifest_is_named_not_blamed_on_the_option(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    server = FakeServer(responder=lambda body: GENERIC_VERDICT)
    with server:
        config, data = write_inputs(tmp_path, server, concurrency=3)
        run_dir = tmp_path / "run"
        assert cli_run(config, data, run_dir, "--budget-usd", "0.008") == 3
        manifest_file = run_dir / "manifest.json"
        manifest = json.loads(manifest_file.read_text())
        manifest["budgets"][-1]["cap_usd"] = -5
        manifest_file.write_text(json.dumps(manifest))
        before = manifest_file.read_bytes()
        capsys.readouterr()
        assert main(["run", "--resume", str(run_dir)]) == 2
        err = capsys.readouterr().err
        assert "budgets[-1].cap_usd is -5" in err and "give --budget-usd" in err and len(err.strip().splitlines()) == 1
        assert manifest_file.read_bytes() == before
        assert main(["run", "--resume", str(run_dir), "--budget-usd", "1", "--quiet"]) == 0
