"""Judge health: a run whose judge never worked, or mostly failed, ends `degraded` with exit 5 and
names the judge and its error; a healthy run still exits 0. Through the CLI, real LiteLLM calls
and the loopback server."""

from __future__ import annotations

import json
import socket
from pathlib import Path
from typing import Any

import polars as pl
import pytest
import yaml

from judge.cli.main import main
from judge.core.errors import EXIT_DEGRADED, EXIT_OK
from judge.stats.health import judge_health
from tests.fakeserver import FakeServer, Malformed, Status
from tests.reliability_helpers import items, write_dataset

RUBRIC = ("--rubric", "sa-graded")


def run(tmp_path: Path, judges: list[dict[str, Any]], *extra: str, n_items: int = 6) -> tuple[int, Path]:
    tmp_path.mkdir(parents=True, exist_ok=True)
    config = tmp_path / "judges.yaml"
    base = {"timeout_s": 5, "max_concurrency": 1, "max_attempts": 2, "max_wait_s": 1}
    config.write_text(yaml.safe_dump({"judges": [{**base, **j} for j in judges]}), encoding="utf-8")
    run_dir = tmp_path / "run"
    code = main(["run", "--config", str(config), "--dataset", str(write_dataset(tmp_path / "d.jsonl", items(n_items))),
                 "--run-dir", str(run_dir), *RUBRIC, *extra])  # fmt: skip
    return code, run_dir


def health_of(run_dir: Path) -> dict[str, dict[str, Any]]:
    manifest = json.loads((run_dir / "manifest.json").read_text())
    summary = json.loads((run_dir / "summary.json").read_text())
    assert summary["health"] == manifest["health"]  # one record, repeated
    assert summary["status"] == manifest["status"]
    return {j["judge"]: j for j in manifest["health"]["judges"]}


def test_a_judge_that_always_fails_stops_early_and_degrades_the_run(
    tmp_path: Path, fake_server: FakeServer, capsys: pytest.CaptureFixture[str]
) -> None:
    gone = {"error": {"message": "The model `judge-b` does not exist", "type": "invalid_request_error"}}
    fake_server.script(*[Status(404, body=gone)] * 20, model="judge-b", strict=False)
    code, run_dir = run(tmp_path, [
        {"model": "openai/judge-a", "api_base": fake_server.base_url},
        {"model": "openai/judge-b", "api_base": fake_server.base_url},
    ])  # fmt: skip
    assert code == EXIT_DEGRADED
    out, err = capsys.readouterr()
    verdicts = pl.read_parquet(run_dir / "verdicts.parquet")
    b = verdicts.filter(pl.col("judge") == "openai/judge-b")
    # The same final error three times in a row stops the judge; the rest is skipped, not sent.
    assert b["status"].value_counts().sort("status").rows() == [("error", 3), ("skipped", 3)]
    assert fake_server.count("judge-b") == 3
    assert "does not exist" in b.filter(pl.col("status") == "skipped")["error"][0]
    health = health_of(run_dir)
    assert health["openai/judge-a"]["healthy"] and health["openai/judge-a"]["problem"] is None
    sick = health["openai/judge-b"]
    assert not sick["healthy"] and sick["problem"].startswith("no ok verdicts (0 invalid, 3 errors, 3 skipped)")
    assert "does not exist" in sick["top_error"] and sick["error_share"] == 1.0
    assert json.loads((run_dir / "manifest.json").read_text())["status"] == "degraded"
    assert "unhealthy judge openai/judge-b: no ok verdicts" in out and "does not exist" in out
    assert "judge 'openai/judge-b' stopped" in err and "judge 'openai/judge-b' is unhealthy" in err


def test_more_errors_than_the_allowed_share_degrades_the_run(tmp_path: Path, fake_server: FakeServer) -> None:
    # 4 of 6 calls end in 503s that outlast the retries: ok verdicts exist, but 67% are errors.
    fake_server.script(*[Status(503)] * 8, model="judge-a", strict=False)
    code, run_dir = run(tmp_path, [{"model": "openai/judge-a", "api_base": fake_server.base_url}])
    assert code == EXIT_DEGRADED
    judge = health_of(run_dir)["openai/judge-a"]
    assert (judge["ok"], judge["error"]) == (2, 4)
    assert judge["problem"] == "errors on 67% of its calls (more than max_error_share 50%)"
    assert "503" in judge["top_error"]
    # The same run with a looser threshold is healthy.
    fake_server.reset()
    fake_server.script(*[Status(503)] * 8, model="judge-a", strict=False)
    code, run_dir = run(tmp_path / "loose", [{"model": "openai/judge-a", "api_base": fake_server.base_url}],
                        "--max-error-share", "0.7")  # fmt: skip
    assert code == EXIT_OK and health_of(run_dir)["openai/judge-a"]["healthy"]


def test_a_judge_with_only_invalid_replies_is_unhealthy(tmp_path: Path, fake_server: FakeServer) -> None:
    fake_server.script(*[Malformed()] * 6, model="judge-a", strict=False)
    code, run_dir = run(tmp_path, [{"model": "openai/judge-a", "api_base": fake_server.base_url}])
    assert code == EXIT_DEGRADED
    judge = health_of(run_dir)["openai/judge-a"]
    assert judge["problem"] == "no ok verdicts (6 invalid, 0 errors, 0 skipped)"
    assert judge["top_error"].startswith("reply is not JSON")


def test_a_healthy_run_exits_0_and_records_each_judges_format(
    tmp_path: Path, fake_server: FakeServer, capsys: pytest.CaptureFixture[str]
) -> None:
    fake_server.refuse_formats("json_schema")
    fake_server.script(Status(503), model="judge-a", strict=False)  # one transient error, retried
    code, run_dir = run(tmp_path, [{"model": "openai/judge-a", "api_base": fake_server.base_url}])
    assert code == EXIT_OK
    out, err = capsys.readouterr()
    # Said once on the console as it happened, and again in the final table.
    assert err.count("json_schema rejected") == 1 and "using json_object_schema" in err
    assert "answered in response format json_object_schema (its server refused json_schema)" in out
    judge = health_of(run_dir)["openai/judge-a"]
    assert judge["healthy"] and judge["error"] == 0 and judge["error_share"] == 0.0
    assert judge["response_format"] == "json_object_schema"
    assert [r["mode"] for r in judge["format_rejected"]] == ["json_schema"]
    verdicts = pl.read_parquet(run_dir / "verdicts.parquet")
    assert set(verdicts["response_format"]) == {"json_object_schema"}


def test_a_server_that_is_not_there_is_a_connection_error_naming_the_address(tmp_path: Path) -> None:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        base = f"http://127.0.0.1:{sock.getsockname()[1]}/v1"
    code, run_dir = run(tmp_path, [{"model": "openai/judge-a", "api_base": base}])
    assert code == EXIT_DEGRADED
    verdicts = pl.read_parquet(run_dir / "verdicts.parquet")
    errors = verdicts.filter(pl.col("status") == "error")["error"].to_list()
    assert len(errors) == 3 and all(e.startswith("ConnectionError: could not connect") for e in errors)
    assert f"check that the server at {base} is running" in errors[0]
    assert "500" not in errors[0]


@pytest.mark.parametrize(
    ("api_base", "message"),
    [
        pytest.param("file:///tmp/models", "judges[0].api_base: 'file:///tmp/models' is not an HTTP(S) URL", id="file"),
        pytest.param("ftp://127.0.0.1/v1", "is not an HTTP(S) URL", id="ftp"),
    ],
)
def test_a_non_http_api_base_is_refused_before_anything_runs(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], api_base: str, message: str
) -> None:
    code, run_dir = run(tmp_path, [{"model": "openai/judge-a", "api_base": api_base}])
    assert code == 2 and not run_dir.exists()
    assert message in capsys.readouterr().err


def test_a_non_http_openai_base_url_is_refused_too(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setenv("OPENAI_BASE_URL", "file:///srv/model")
    code = main(["run", "--judge", "openai/x", "--dataset", str(write_dataset(tmp_path / "d.jsonl", items(1))),
                 "--run-dir", str(tmp_path / "run"), *RUBRIC])  # fmt: skip
    assert code == 2
    assert "judge 'openai/x': OPENAI_BASE_URL: 'file:///srv/model' is not an HTTP(S) URL" in capsys.readouterr().err


def test_health_counts_every_status_and_ignores_skips_in_the_share() -> None:
    frame = pl.DataFrame({
        "judge": ["a"] * 5 + ["b"] * 2,
        "status": ["ok", "error", "skipped", "skipped", "invalid", "skipped", "skipped"],
        "error": [None, "boom", "budget exhausted", "budget exhausted", "bad", "x", "x"],
        "response_format": ["json_schema"] * 5 + [None] * 2,
    })  # fmt: skip
    health = judge_health(frame, 0.5)
    a, b = health["judges"]
    assert (a["ok"], a["invalid"], a["error"], a["skipped"]) == (1, 1, 1, 2)
    assert a["error_share"] == pytest.approx(1 / 3) and a["healthy"] and a["response_format"] == "json_schema"
    assert b["error_share"] is None and not b["healthy"] and b["top_error"] is None
