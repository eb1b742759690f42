"""Fault soak: a few hundred calls through LiteLLM to a loopback server that fails often.

20% 429 with Retry-After, 5% 500, 5% 503, 5% malformed JSON, 5% schema-breaking JSON and 1%
stalls past the timeout. The run must finish with exactly one terminal row per item x rubric x
judge, at least 97% ok (retries and re-asks absorb the faults), and no invalid row with a score.
"""

from __future__ import annotations

import json
from pathlib import Path

import polars as pl
import pytest

from judge.cli.main import main
from tests.fakeserver import FaultPlan
from tests.reliability_helpers import GRADED, items, rubrics_with_policy, started_server, write_config, write_dataset

N_ITEMS = 25


@pytest.mark.slow
def test_fault_soak_converges(tmp_path: Path) -> None:
    plan = FaultPlan(
        p429=0.20, p500=0.05, p503=0.05, p_malformed=0.05, p_schema=0.05, p_stall=0.01, retry_after=0.05, seed=7
    )
    server = started_server(latency_ms=5, fault_plan=plan)
    try:
        config = write_config(tmp_path / "judges.yaml", server.base_url, timeout_s=1, max_attempts=8, max_wait_s=30)
        rubrics = rubrics_with_policy(tmp_path / "rubrics", "reask", max_reasks=2)
        run_dir = tmp_path / "run"
        code = main(
            [
                "run",
                "--config",
                str(config),
                "--dataset",
                str(write_dataset(tmp_path / "d.jsonl", items(N_ITEMS))),
                *GRADED,
                "--rubrics-dir",
                str(rubrics),
                "--run-dir",
                str(run_dir),
                "--quiet",
                "--no-cache",
            ]
        )
        calls = server.count()
        outcomes = [r.outcome for r in server.requests]
    finally:
        server.stop()
    assert code == 0
    verdicts = pl.read_parquet(run_dir / "verdicts.parquet")
    # Every item has a row per graded rubric and judge; conflict avoidance's rows for items outside
    # its tasks are skipped without a call (not applicable), the rest are judged.
    total = N_ITEMS * 4 * 2
    assert verdicts.height == total
    not_applicable = verdicts.filter(pl.col("status") == "skipped")
    assert not_applicable["error"].str.starts_with("not applicable: ").all()
    assert set(not_applicable["rubric_id"]) == {"ca-graded"}
    expected = total - not_applicable.height
    assert verdicts.select("item_id", "rubric_id", "judge", "repeat").is_unique().all()
    log_rows = [json.loads(line) for line in (run_dir / "verdicts.jsonl").read_text().splitlines()]
    assert len(log_rows) == total  # one terminal row per unit in the log too
    ok = verdicts.filter(pl.col("status") == "ok").height
    assert ok / expected >= 0.97, verdicts.group_by("status", "error").len()
    assert verdicts.filter(pl.col("status") != "ok")["score"].null_count() == total - ok
    assert calls >= 250  # the soak really exercised a few hundred calls
    # Every kind of fault was served, and the retries / re-asks show on the rows.
    for kind in ("status:429", "status:500", "status:503", "malformed", "schema-breaking", "stall"):
        assert kind in outcomes, kind
    assert verdicts["attempts"].max() > 1
    # An ok verdict that took retries keeps its attempts and the last transient error.
    retried = verdicts.filter((pl.col("status") == "ok") & (pl.col("attempts") > 1) & pl.col("rescued_by").is_null())
    assert retried.height and retried["error"].str.contains("last error: ").all()
    assert verdicts["rescued_by"].drop_nulls().str.starts_with("reask").any()
    summary = json.loads((run_dir / "summary.json").read_text())
    rates = {(r["judge"], r["rubric_id"]): r for r in summary["invalid_rate"]}
    assert len(rates) == 8
    # Three bad replies in a row for one unit (p ~ 0.001 a unit, ~0.2 a run) leave it invalid; at most
    # one or two such units, which in the smallest group (15 conflict-avoidance rows) is a rate of 1/15.
    assert sum(r["invalid"] for r in rates.values()) <= 2
    assert all(0.0 <= r["rate"] <= 0.07 for r in rates.values()), rates
    print(f"soak: {calls} calls, ok-rate {ok / expected:.4f}")
