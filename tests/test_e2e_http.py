"""End to end through real HTTP: the CLI judges a dataset with two `openai/` judges served by the
loopback fake server, through LiteLLM, and writes the run directory."""

from __future__ import annotations

import json
from pathlib import Path

import polars as pl
import pytest

from judge.cli.main import main
from judge.core import paths
from judge.inputs.rubrics import select
from tests.fakeserver import FakeServer, Malformed, SchemaBreaking, Status, with_fields

ITEMS = [
    {"id": "n1", "task": "news", "source": "Three workers were killed when the scaffold fell.",
     "response": "An incident occurred at a construction site.", "model": "m1"},
    {"id": "c1", "task": "counselling", "source": "My manager mocks me in every meeting and I dread Mondays.",
     "response": "Try to stay positive and talk to HR.", "model": "m1"},
    {"id": "c2", "task": "counselling", "source": "My sister lied to me about our mother's money.",
     "response": "That sounds painful. What happened when you found out?", "model": "m2"},
]


def write_dataset(tmp_path: Path, items: list[dict] = ITEMS) -> Path:
    path = tmp_path / "data.jsonl"
    path.write_text("".join(json.dumps(i) + "\n" for i in items), encoding="utf-8")
    return path


def write_config(tmp_path: Path, server: FakeServer, *, models: tuple[str, ...] = ("judge-a", "judge-b")) -> Path:
    lines = ["judges:"]
    for model in models:
        lines += [
            f"  - model: openai/{model}",
            f"    api_base: {server.base_url}",
            "    max_attempts: 4",
            "    timeout_s: 5",
            "    max_concurrency: 4",
        ]
    path = tmp_path / "judges.yaml"
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return path


def run_cli(tmp_path: Path, server: FakeServer, *extra: str) -> tuple[int, Path]:
    run_dir = tmp_path / "run"
    code = main([
        "run", "--config", str(write_config(tmp_path, server)), "--dataset", str(write_dataset(tmp_path)),
        "--run-dir", str(run_dir), "--quiet", *extra,
    ])
    return code, run_dir


def graded_rubrics() -> list[str]:
    return [r.id for r in select(paths.rubrics_dir()) if r.family == "graded"]


def test_counts_are_items_x_rubrics_x_judges(tmp_path: Path, fake_server: FakeServer) -> None:
    rubrics = graded_rubrics()
    code, run_dir = run_cli(tmp_path, fake_server, *[arg for r in rubrics for arg in ("--rubric", r)])
    assert code == 0
    verdicts = pl.read_parquet(run_dir / "verdicts.parquet")
    assert verdicts.height == len(ITEMS) * len(rubrics) * 2
    assert verdicts.select("item_id", "rubric_id", "rubric_version", "judge", "repeat").is_unique().all()
    # Conflict avoidance applies to replies to a person: the news item's row is skipped, with the
    # reason, and costs no call.
    skipped = verdicts.filter(pl.col("status") == "skipped")
    assert skipped.select("item_id", "rubric_id").unique().rows() == [("n1", "ca-graded")] and skipped.height == 2
    assert skipped["error"].to_list() == ["not applicable: ca-graded@3 applies to tasks counselling, workplace, "
                                          "education, not news"] * 2  # fmt: skip
    assert skipped["cost_usd"].null_count() == 2 and (skipped["attempts"] == 0).all()
    assert set(verdicts["status"]) == {"ok", "skipped"}
    assert fake_server.count() == verdicts.height - skipped.height
    for name in ("manifest.json", "verdicts.parquet", "summary.json"):
        assert (run_dir / name).is_file()
    manifest = json.loads((run_dir / "manifest.json").read_text())
    assert manifest["status"] == "completed"
    assert {j["label"] for j in manifest["judges"]} == {"openai/judge-a", "openai/judge-b"}
    summary = json.loads((run_dir / "summary.json").read_text())
    # ... and counted apart from other skips: they are not failures
    assert summary["counts"]["ok"] == verdicts.height - skipped.height
    assert (summary["counts"]["skipped"], summary["counts"]["not_applicable"]) == (0, 2)
    assert {ref.split("@")[0] for ref in summary["agreement"]} == set(rubrics)
    # Every verdict carries the hashes that could change it.
    assert verdicts["rubric_hash"].null_count() == 0 and verdicts["prompt_hash"].null_count() == 0


def test_server_receives_the_rubric_schema(tmp_path: Path, fake_server: FakeServer) -> None:
    rubric = select(paths.rubrics_dir(), ["sa-graded"])[0]
    code, _ = run_cli(tmp_path, fake_server, "--rubric", "sa-graded")
    assert code == 0
    bodies = [r.body for r in fake_server.requests]
    assert bodies
    for body in bodies:
        fmt = body["response_format"]
        assert fmt["type"] == "json_schema"
        assert fmt["json_schema"]["name"] == "sa-graded"
        assert fmt["json_schema"]["schema"] == rubric.schema
        user = body["messages"][-1]["content"]
        assert "<<<RESPONSE>>>" in user and "<<<END RESPONSE>>>" in user


def test_429_with_retry_after_is_retried_then_succeeds(tmp_path: Path, fake_server: FakeServer) -> None:
    fake_server.script(Status(429, retry_after=0.3), Status(429, retry_after=0.3), model="judge-a", strict=False)
    code, run_dir = run_cli(tmp_path, fake_server, "--rubric", "sa-graded", "--concurrency", "1")
    assert code == 0
    verdicts = pl.read_parquet(run_dir / "verdicts.parquet")
    assert set(verdicts["status"]) == {"ok"}
    a = verdicts.filter(pl.col("judge") == "openai/judge-a").sort("item_id")
    assert a["attempts"].sum() == len(ITEMS) + 2
    statuses = [r.outcome for r in fake_server.requests if r.model == "judge-a"]
    assert statuses[:2] == ["status:429", "status:429"]
    # Retry-After was honoured: the retries came no sooner than the server asked.
    times = [r.monotonic for r in fake_server.requests if r.model == "judge-a"]
    assert times[1] - times[0] >= 0.29 and times[2] - times[1] >= 0.29


@pytest.mark.parametrize("fault", [Malformed(), SchemaBreaking()], ids=["malformed", "schema-breaking"])
def test_bad_json_is_invalid_with_null_score(tmp_path: Path, fake_server: FakeServer, fault: object) -> None:
    fake_server.script(fault, model="judge-b", strict=False)
    code, run_dir = run_cli(tmp_path, fake_server, "--rubric", "ld-graded", "--concurrency", "1")
    assert code == 0
    verdicts = pl.read_parquet(run_dir / "verdicts.parquet")
    invalid = verdicts.filter(pl.col("status") == "invalid")
    assert invalid.height == 1
    row = invalid.row(0, named=True)
    assert row["judge"] == "openai/judge-b"
    assert row["score"] is None and row["raw_score"] is None
    assert row["raw_text"] and row["error"]
    assert verdicts.filter(pl.col("status") == "ok").height == verdicts.height - 1


def test_judges_disagreeing_show_in_scores(tmp_path: Path, fake_server: FakeServer) -> None:
    fake_server.set_responder(with_fields(severity=4), model="judge-a")
    fake_server.set_responder(with_fields(severity=0), model="judge-b")
    code, run_dir = run_cli(tmp_path, fake_server, "--rubric", "egm-graded")
    assert code == 0
    verdicts = pl.read_parquet(run_dir / "verdicts.parquet")
    by_judge = dict(verdicts.group_by("judge").agg(pl.col("score").mean()).iter_rows())
    assert by_judge == {"openai/judge-a": 1.0, "openai/judge-b": 0.0}
    summary = json.loads((run_dir / "summary.json").read_text())
    assert summary["scores"][0]["mean"] == pytest.approx(0.5)
