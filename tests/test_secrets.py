"""Secrets: a canary API key, planted in the environment and named in the config, must reach the
provider and nothing else: not the manifest, verdicts, summary, cache, nor any console output,
even when the provider echoes it back in error bodies."""

from __future__ import annotations

import secrets
from pathlib import Path

import polars as pl
import pytest
import yaml

from judge.cli.main import main
from tests.fakeserver import FakeServer, Status, with_fields
from tests.reliability_helpers import items, write_dataset


def test_canary_key_never_leaves_the_request(
    tmp_path: Path, fake_server: FakeServer, monkeypatch: pytest.MonkeyPatch, capfd: pytest.CaptureFixture[str]
) -> None:
    canary_a = "sk-canary-" + secrets.token_hex(16)
    canary_b = "canary" + secrets.token_hex(12)  # not key-shaped: only exact-match redaction catches it
    monkeypatch.setenv("EJ_CANARY_A", canary_a)
    monkeypatch.setenv("EJ_CANARY_B", canary_b)
    # Providers echo rejected keys; here every error body carries the key.
    echo = {"error": {"message": f"Incorrect API key provided: {canary_a}", "type": "invalid_request_error"}}
    fake_server.script(Status(500, body=echo), Status(429, body=echo, retry_after=0.01), model="judge-a", strict=False)
    fake_server.script(Status(401, body={"error": {"message": f"bad key {canary_b}"}}), model="judge-b", strict=False)
    config = tmp_path / "judges.yaml"
    config.write_text(
        yaml.safe_dump(
            {
                "judges": [
                    {
                        "model": "openai/judge-a",
                        "api_base": fake_server.base_url,
                        "api_key_env": "EJ_CANARY_A",
                        "max_concurrency": 1,
                    },
                    {
                        "model": "openai/judge-b",
                        "api_base": fake_server.base_url,
                        "api_key_env": "EJ_CANARY_B",
                        "max_concurrency": 1,
                    },
                ]
            }
        ),
        encoding="utf-8",
    )
    run_dir = tmp_path / "runs" / "r"
    code = main(
        [
            "run",
            "--config",
            str(config),
            "--dataset",
            str(write_dataset(tmp_path / "d.jsonl", items(3))),
            "--rubric",
            "sa-graded",
            "--run-dir",
            str(run_dir),
        ]
    )
    out, err = capfd.readouterr()
    assert code == 5  # judge-b never produced a verdict: the run is degraded, and says which judge
    # The keys were really used: the server saw them.
    auth = {r.headers.get("authorization") for r in fake_server.requests}
    assert f"Bearer {canary_a}" in auth and f"Bearer {canary_b}" in auth
    verdicts = pl.read_parquet(run_dir / "verdicts.parquet")
    assert verdicts.filter(pl.col("judge") == "openai/judge-b")["status"].sort().to_list() == [
        "error",
        "skipped",
        "skipped",
    ]
    assert "stopped" in err  # the bad key stopped judge-b at once, with a clear warning
    assert "check the API key in EJ_CANARY_B" in err  # naming the variable to fix
    assert "unhealthy judge openai/judge-b" in out
    texts = {"stdout": out, "stderr": err}
    files = [p for p in tmp_path.rglob("*") if p.is_file() and p.name not in ("judges.yaml", "d.jsonl")]
    assert any(p.parent.parent.name == ".cache" for p in files)  # the cache was written and is scanned
    for path in files:
        if path.suffix == ".parquet":  # compressed: scan its cells, not its bytes
            frame = pl.read_parquet(path)
            texts[str(path)] = "\n".join(str(v) for col in frame.columns for v in frame[col].to_list())
        else:
            texts[str(path)] = path.read_bytes().decode("utf-8", "replace")
    for name, text in texts.items():
        for canary in (canary_a, canary_b):
            assert canary not in text, f"key leaked into {name}"
            assert canary[-12:] not in text, f"part of a key leaked into {name}"


def test_key_echoed_in_a_successful_reply_is_scrubbed(
    tmp_path: Path, fake_server: FakeServer, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Issue 15 item 7: a reply quoting the key was stored verbatim in raw_text, rationale, the
    log, the Parquet table and the cache."""
    canary = "canary" + secrets.token_hex(12)
    monkeypatch.setenv("EJ_CANARY", canary)
    fake_server.set_responder(with_fields(rationale=f"the key is {canary}"))
    config = tmp_path / "judges.yaml"
    config.write_text(yaml.safe_dump({"judges": [{"model": "openai/judge-a", "api_base": fake_server.base_url,
                                                  "api_key_env": "EJ_CANARY"}]}))  # fmt: skip
    run_dir = tmp_path / "runs" / "r"
    args = ["run", "--config", str(config), "--dataset", str(write_dataset(tmp_path / "d.jsonl", items(2))),
            "--rubric", "sa-graded", "--run-dir", str(run_dir), "--quiet"]  # fmt: skip
    assert main(args) == 0
    verdicts = pl.read_parquet(run_dir / "verdicts.parquet")
    assert verdicts["status"].to_list() == ["ok", "ok"]
    assert all("the key is ***" in r for r in verdicts["rationale"].to_list())
    for path in (p for p in tmp_path.rglob("*") if p.is_file() and p.suffix != ".parquet"):
        assert canary not in path.read_bytes().decode("utf-8", "replace"), f"key leaked into {path}"
    assert not any(canary in str(v) for col in verdicts.columns for v in verdicts[col].to_list())
