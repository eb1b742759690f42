"""One judge, several deployments: ``api_bases`` spread by LiteLLM's Router over real HTTP, a
failing deployment taken out of rotation, and every verdict saying which deployment answered."""

from __future__ import annotations

import json
from pathlib import Path

import polars as pl
import pytest

from judge.cli.main import main
from judge.core.errors import ConfigError
from judge.inputs.config import judge_from_dict
from judge.judging.deployments import ALLOWED_FAILS
from judge.judging.pricing import litellm_price
from tests.fakeserver import FakeServer, FaultPlan

ITEMS = [
    {"id": f"c{i}", "task": "counselling", "model": "m1",
     "source": f"My manager mocks me in every meeting, week {i}.", "response": "Try to stay positive."}
    for i in range(6)
]


def _run(tmp: Path, bases: list[str]) -> Path:
    data = tmp / "data.jsonl"
    data.write_text("".join(json.dumps(i) + "\n" for i in ITEMS), encoding="utf-8")
    config = tmp / "judges.yaml"
    config.write_text(
        "judges:\n  - model: openai/judge-a\n    max_concurrency: 2\n    timeout_s: 5\n    max_attempts: 6\n"
        f"    api_bases: {json.dumps(bases)}\n",
        encoding="utf-8",
    )
    run_dir = tmp / "run"
    code = main(["run", "--config", str(config), "--dataset", str(data), "--run-dir", str(run_dir), "--quiet",
                 "--no-cache", "--rubric", "sa-graded", "--rubric", "ca-graded"])
    assert code == 0
    return run_dir


def test_a_failing_deployment_is_taken_out_of_rotation(tmp_path: Path) -> None:
    with FakeServer() as good, FakeServer(fault_plan=FaultPlan(p500=1.0)) as bad:
        run_dir = _run(tmp_path, [good.base_url, bad.base_url])
        v = pl.read_parquet(run_dir / "verdicts.parquet")
        assert v.height == 12 and v["status"].to_list() == ["ok"] * 12
        # Every verdict names the deployment that answered: always the healthy one.
        assert v["deployment"].unique().to_list() == [good.base_url]
        assert good.count() == 12
        # The failing one got a few calls, then was cooled down: the Router stopped sending it work.
        assert 1 <= bad.count() <= ALLOWED_FAILS + 2
        # Both servers were only ever asked for the judge's own model: no fallback to another one.
        assert {r.model for s in (good, bad) for r in s.requests} == {"judge-a"}
    # The Router's writes to LiteLLM's process-wide price map were undone: judge-a is still unpriced
    # (not free), and its deployments are not models.
    assert litellm_price("openai/judge-a") is None and v["cost_usd"].null_count() == 12
    assert litellm_price(good.base_url) is None


def test_healthy_deployments_share_the_work(tmp_path: Path) -> None:
    with FakeServer() as one, FakeServer() as two:
        run_dir = _run(tmp_path, [one.base_url, two.base_url])
        v = pl.read_parquet(run_dir / "verdicts.parquet")
        assert v["status"].to_list() == ["ok"] * 12
        assert one.count() + two.count() == 12 and one.count() and two.count()
        counts = v.group_by("deployment").len()
        assert dict(counts.iter_rows()) == {one.base_url: one.count(), two.base_url: two.count()}


def test_a_single_endpoint_judge_records_no_deployment(tmp_path: Path) -> None:
    with FakeServer() as server:
        data = tmp_path / "data.jsonl"
        data.write_text(json.dumps(ITEMS[0]) + "\n", encoding="utf-8")
        config = tmp_path / "judges.yaml"
        config.write_text(f"judges:\n  - model: openai/judge-a\n    api_base: {server.base_url}\n", encoding="utf-8")
        assert main(["run", "--config", str(config), "--dataset", str(data), "--run-dir", str(tmp_path / "r"),
                     "--quiet", "--no-cache", "--rubric", "sa-graded"]) == 0
        assert pl.read_parquet(tmp_path / "r" / "verdicts.parquet")["deployment"].to_list() == [None]


@pytest.mark.parametrize(
    ("judge", "message"),
    [
        ({"model": "openai/x", "api_base": "http://a/v1", "api_bases": ["http://b/v1"]}, "not both"),
        ({"model": "openai/x", "api_bases": ["http://b/v1", "http://b/v1"]}, "same server twice"),
        ({"model": "openai/x", "api_bases": "http://b/v1"}, "list of at most 64 server URLs"),
        ({"model": "openai/x", "api_bases": [f"http://b{i}/v1" for i in range(65)]}, "at most 64"),
        ({"model": "openai/x", "api_bases": ["http://b/" + "v" * 300]}, "at most 200 characters"),
    ],
)
def test_bad_deployment_lists_are_refused(judge: dict[str, object], message: str) -> None:
    with pytest.raises(ConfigError, match=message):
        judge_from_dict(judge)
