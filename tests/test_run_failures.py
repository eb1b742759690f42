"""A run that something outside it breaks: the response cache stops taking writes, the disk fills
up mid-run, Ctrl-C or SIGTERM arrives after the last verdict while the run is being finished.
Each ends in a clear state: no billed reply lost, one line on stderr, and a resume that finishes.

Faults are injected in process (a full disk cannot be made without root-only mounts): the
injected OSError is exactly what the OS raises, at exactly the call that would raise it.
"""

from __future__ import annotations

import errno
import json
from pathlib import Path
from typing import Any

import polars as pl
import pytest

from judge.cli.main import main
from tests.fakeserver import GENERIC_VERDICT, FakeServer
from tests.test_budget import ITEMS, JUDGES, RUBRICS, cli_run, provider_bill, write_inputs

PLANNED = len(ITEMS) * len(RUBRICS) * len(JUDGES)


def _one_line(err: str) -> str:
    lines = [line for line in err.splitlines() if line.strip()]
    assert len(lines) == 1 and "Traceback" not in err, err
    return lines[0]


def test_a_failed_cache_write_keeps_the_billed_reply(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    """Issue 15 item 2: with an unwritable cache, every billed reply became `error: unexpected
    NotADirectoryError` with no text, tokens or cost, and summary.cost_usd said 0.0."""
    from judge.judging.cache import ResponseCache

    def full_disk(self: ResponseCache, key: str, data: bytes) -> None:
        raise OSError(errno.ENOSPC, "No space left on device", str(self.root / key[:2]))

    monkeypatch.setattr(ResponseCache, "_write", full_disk)
    with FakeServer(responder=lambda body: GENERIC_VERDICT) as server:
        config, data = write_inputs(tmp_path, server, concurrency=2)
        run_dir = tmp_path / "run"
        assert cli_run(config, data, run_dir, "--cache-dir", str(tmp_path / "cache")) == 0
        bill = provider_bill(server)
    err = capsys.readouterr().err
    assert f"{PLANNED} replies could not be written to the response cache" in err and "No space left" in err
    verdicts = pl.read_parquet(run_dir / "verdicts.parquet")
    assert verdicts.height == PLANNED and set(verdicts["status"]) == {"ok"}
    assert verdicts["raw_text"].null_count() == 0 and verdicts["cost_usd"].null_count() == 0
    summary = json.loads((run_dir / "summary.json").read_text())
    assert summary["cost_usd"] == pytest.approx(bill, rel=1e-9) and bill > 0


def test_an_unwritable_cache_folder_is_refused_before_any_call(
    tmp_path: Path, fake_server: FakeServer, capsys: pytest.CaptureFixture[str]
) -> None:
    config, data = write_inputs(tmp_path, fake_server, concurrency=1)
    (tmp_path / "a-file").write_text("x")
    code = cli_run(config, data, tmp_path / "run", "--cache-dir", str(tmp_path / "a-file" / "cache"))
    assert code == 2 and fake_server.count() == 0
    assert "--cache-dir" in _one_line(capsys.readouterr().err)
    assert not (tmp_path / "run").exists()


def test_disk_full_mid_run_is_one_line_and_resume_recovers(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    """Issue 15 item 5: a full disk mid-run ended in a traceback and left the manifest `running`."""
    from judge.store.rundir import VerdictLog

    real_append = VerdictLog.append
    written = {"rows": 0}

    def fills_up(self: VerdictLog, row: dict[str, Any]) -> None:
        if written["rows"] >= 5:
            raise OSError(errno.ENOSPC, "No space left on device", str(self.path))
        written["rows"] += 1
        real_append(self, row)

    monkeypatch.setattr(VerdictLog, "append", fills_up)
    with FakeServer(responder=lambda body: GENERIC_VERDICT) as server:
        config, data = write_inputs(tmp_path, server, concurrency=1)
        run_dir = tmp_path / "run"
        assert cli_run(config, data, run_dir, "--no-cache") == 2
        line = _one_line(capsys.readouterr().err)
        assert "No space left on device" in line and f"--resume {run_dir}" in line
        manifest = json.loads((run_dir / "manifest.json").read_text())
        assert manifest["status"] == "failed" and "No space left" in manifest["failure"]
        monkeypatch.setattr(VerdictLog, "append", real_append)  # space freed
        assert main(["run", "--resume", str(run_dir), "--no-cache", "--quiet"]) == 0
    final = pl.read_parquet(run_dir / "verdicts.parquet")
    assert final.height == PLANNED and final.select("item_id", "rubric_id", "judge", "repeat").is_unique().all()
    assert json.loads((run_dir / "manifest.json").read_text())["status"] == "completed"


@pytest.mark.parametrize("step", ["compact", "_summarise", "write_html_report"])
def test_interrupt_while_finishing_leaves_an_interrupted_run_that_resume_finishes(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str], step: str
) -> None:
    """Issue 15 item 16: SIGTERM just after the last verdict exited 130 but left the manifest
    `completed`, with summary.json and no report.html, and no resume hint. The CLI's SIGTERM
    handler raises KeyboardInterrupt wherever the main thread is; here it is raised in each step
    of finishing a run."""
    import judge.engine.session as session

    real = getattr(session, step)

    def interrupted(*args: Any, **kwargs: Any) -> Any:
        if step == "write_html_report":
            real(*args, **kwargs)  # the page is written, then the signal lands
        raise KeyboardInterrupt

    monkeypatch.setattr(session, step, interrupted)
    with FakeServer(responder=lambda body: GENERIC_VERDICT) as server:
        config, data = write_inputs(tmp_path, server, concurrency=2)
        run_dir = tmp_path / "run"
        assert cli_run(config, data, run_dir, "--no-cache") == 130
        line = _one_line(capsys.readouterr().err)
        assert line.startswith("empathy-judge: interrupted") and f"empathy-judge run --resume {run_dir}" in line
        assert json.loads((run_dir / "manifest.json").read_text())["status"] == "interrupted"
        calls = server.count()
        monkeypatch.setattr(session, step, real)
        assert main(["run", "--resume", str(run_dir), "--no-cache", "--quiet"]) == 0
        assert server.count() == calls  # every verdict was already in the log
    assert json.loads((run_dir / "manifest.json").read_text())["status"] == "completed"
    assert json.loads((run_dir / "summary.json").read_text())["status"] == "completed"
    assert (run_dir / "report.html").exists() and pl.read_parquet(run_dir / "verdicts.parquet").height == PLANNED
