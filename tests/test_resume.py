"""Crash safety: kill -9 a real `python -m judge run` at random points, resume it each time, and
get exactly the verdicts of an uninterrupted run, with no duplicate and no corrupt line; the
server sees again at most the calls that were in flight at each kill. Also SIGTERM -> 130."""

from __future__ import annotations

import json
import os
import random
import signal
import subprocess
import sys
import time
from collections import Counter
from pathlib import Path

import polars as pl
import pytest

from judge.cli.main import main
from tests.conftest import LITELLM_SAFE_ENV
from tests.reliability_helpers import GRADED, items, started_server, write_config, write_dataset

ROOT = Path(__file__).resolve().parent.parent
SAME = ["item_id", "rubric_id", "judge", "repeat", "status", "score", "raw_score", "verdict", "raw_text"]
KEY = ["item_id", "rubric_id", "judge", "repeat"]
CONCURRENCY = 4  # per judge; two judges


def _env() -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.upper().endswith("_API_KEY")}
    env.update(LITELLM_SAFE_ENV, PYTHONPATH=str(ROOT), NO_PROXY="127.0.0.1,localhost")
    return env


def _log_rows(run_dir: Path) -> int:
    try:
        return (run_dir / "verdicts.jsonl").read_bytes().count(b"\n")
    except FileNotFoundError:
        return 0


def _start(args: list[str]) -> subprocess.Popen[bytes]:
    return subprocess.Popen(
        [sys.executable, "-m", "judge", "run", *args, "--quiet", "--no-cache"],
        cwd=ROOT,
        env=_env(),
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
    )


def _unit_requests(server: object) -> Counter[tuple[str, str]]:
    return Counter(
        # The whole conversation names the unit: the rubric is in the system message, the item in the user's.
        (r.model, json.dumps(r.body["messages"]))
        for r in server.requests  # type: ignore[attr-defined]
        if isinstance(r.body, dict)
    )


class WarmJudge:
    """Forks `judge.cli.main.main` children from a pre-warmed process (tests/warm_judge.py)."""

    def __init__(self, tmp: Path) -> None:
        self.tmp = tmp
        self.proc = subprocess.Popen(
            [sys.executable, "-m", "tests.warm_judge"],
            cwd=ROOT,
            env=_env(),
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            text=True,
        )
        assert self.proc.stdout is not None and self.proc.stdout.readline().strip() == "ready"

    def _ask(self, request: list[object]) -> int:
        assert self.proc.stdin is not None and self.proc.stdout is not None
        self.proc.stdin.write(json.dumps(request) + "\n")
        self.proc.stdin.flush()
        return int(self.proc.stdout.readline())

    def start(self, argv: list[str]) -> int:
        return self._ask(
            [["run", *argv, "--quiet", "--no-cache"], str(self.tmp / "out.txt"), str(self.tmp / "err.txt")]
        )

    def wait(self, pid: int) -> int:
        return self._ask(["wait", pid])

    def close(self) -> None:
        self.proc.kill()
        self.proc.wait()


def _wait_for_rows(run_dir: Path, target: int, alive: object) -> None:
    deadline = time.monotonic() + 120  # a loaded machine's start-up can take 20-30 s
    while alive() and _log_rows(run_dir) < target and time.monotonic() < deadline:  # type: ignore[operator]
        time.sleep(0.003)


def _running(pid: int) -> bool:
    try:
        waited, _ = os.waitpid(pid, os.WNOHANG)
    except ChildProcessError:
        return True  # not our child (the warm process's): alive until killed
    return waited == 0


@pytest.mark.slow
def test_kill_9_and_resume_matches_an_uninterrupted_run(tmp_path: Path) -> None:
    rng = random.Random(20261125)
    server = started_server(latency_ms=20)
    warm = WarmJudge(tmp_path)
    try:
        config = write_config(tmp_path / "judges.yaml", server.base_url, max_concurrency=CONCURRENCY)
        dataset = write_dataset(tmp_path / "d.jsonl", items(22))
        common = ["--config", str(config), "--dataset", str(dataset), *GRADED]
        baseline_dir = tmp_path / "baseline"
        assert main(["run", *common, "--run-dir", str(baseline_dir), "--quiet", "--no-cache"]) == 0
        baseline = pl.read_parquet(baseline_dir / "verdicts.parquet")
        planned = baseline.height
        server.reset()

        run_dir = tmp_path / "killed"
        # Kill 1: a real `python -m judge run`, mid-run.
        proc = _start([*common, "--run-dir", str(run_dir)])
        _wait_for_rows(run_dir, rng.randint(1, 25), lambda: proc.poll() is None)
        proc.kill()
        proc.wait()
        kills = 1
        # Kills 2..11: resumed runs forked warm, killed at random points (sometimes before the
        # first new row lands, sometimes between rows, sometimes right after one).
        while kills < 11:
            pid = warm.start(["--resume", str(run_dir)])
            target = _log_rows(run_dir) + rng.randint(0, 12)
            _wait_for_rows(run_dir, target, lambda pid=pid: _log_rows(run_dir) < planned)
            time.sleep(rng.uniform(0, 0.03))
            os.kill(pid, signal.SIGKILL)
            assert warm.wait(pid) in (-signal.SIGKILL, 0)
            kills += 1
        assert _log_rows(run_dir) < planned, "the kills came too late to interrupt anything"
        # The last resume is left to finish.
        pid = warm.start(["--resume", str(run_dir)])
        assert warm.wait(pid) == 0, (tmp_path / "err.txt").read_text()
        assert "Traceback" not in (tmp_path / "err.txt").read_text()
    finally:
        warm.close()
        server.stop()
    final = pl.read_parquet(run_dir / "verdicts.parquet")
    assert final.height == planned
    assert final.select(KEY).is_unique().all()
    # The log itself has no duplicate and no torn line.
    rows = [json.loads(line) for line in (run_dir / "verdicts.jsonl").read_text(encoding="utf-8").splitlines()]
    assert len(rows) == planned
    assert final.sort(KEY).select(SAME).equals(baseline.sort(KEY).select(SAME))
    # Calls made again are at most those in flight at each kill.
    seen = _unit_requests(server)
    again = sum(n - 1 for n in seen.values())
    # Rows of a rubric that does not apply to the item are skipped without a call.
    assert len(seen) == baseline.filter(pl.col("status") != "skipped").height
    assert again <= kills * 2 * CONCURRENCY
    manifest = json.loads((run_dir / "manifest.json").read_text())
    assert manifest["status"] == "completed" and len(manifest["resumed"]) == kills
    print(f"kill/resume: {kills} kills, {again} calls repeated, {planned} verdicts")


def test_sigterm_marks_interrupted_and_exits_130_then_resume_finishes(tmp_path: Path) -> None:
    server = started_server(latency_ms=30)
    try:
        config = write_config(tmp_path / "judges.yaml", server.base_url, max_concurrency=2)
        run_dir = tmp_path / "run"
        proc = _start(
            [
                *GRADED,
                "--config",
                str(config),
                "--dataset",
                str(write_dataset(tmp_path / "d.jsonl", items(20))),
                "--run-dir",
                str(run_dir),
            ]
        )
        deadline = time.monotonic() + 120  # a loaded machine's start-up can take 20-30 s
        while _log_rows(run_dir) < 5 and time.monotonic() < deadline and proc.poll() is None:
            time.sleep(0.01)
        proc.send_signal(signal.SIGTERM)
        _, err = proc.communicate(timeout=30)
        assert proc.returncode == 130, err.decode()
        assert b"Traceback" not in err and b"--resume" in err
        manifest = json.loads((run_dir / "manifest.json").read_text())
        assert manifest["status"] == "interrupted"
        partial = _log_rows(run_dir)
        assert 5 <= partial < 20 * 4 * 2
        # A changed option that would alter verdicts is refused, and nothing is touched.
        snapshot = {p.name: p.read_bytes() for p in run_dir.iterdir() if p.is_file()}
        assert main(["run", "--resume", str(run_dir), "--repeats", "2", "--no-cache", "--quiet"]) == 2
        assert {p.name: p.read_bytes() for p in run_dir.iterdir() if p.is_file()} == snapshot
        assert main(["run", "--resume", str(run_dir), "--no-cache", "--quiet"]) == 0
    finally:
        server.stop()
    final = pl.read_parquet(run_dir / "verdicts.parquet")
    assert final.height == 20 * 4 * 2 and final.select(KEY).is_unique().all()
    assert json.loads((run_dir / "manifest.json").read_text())["status"] == "completed"


def test_resume_retry_errors_rejudges_only_errors(tmp_path: Path) -> None:
    from tests.fakeserver import Status

    server = started_server()
    try:
        config = write_config(tmp_path / "judges.yaml", server.base_url, max_concurrency=1)
        dataset = write_dataset(tmp_path / "d.jsonl", items(4))
        server.script(Status(400), Status(400), model="judge-a", strict=False)  # final: not retried
        run_dir = tmp_path / "run"
        args = ["--config", str(config), "--dataset", str(dataset), "--rubric", "sa-graded", "--quiet", "--no-cache"]
        assert main(["run", *args, "--run-dir", str(run_dir)]) == 0
        first = pl.read_parquet(run_dir / "verdicts.parquet")
        assert first["status"].to_list().count("error") == 2
        calls = server.count()
        # A plain resume of a finished run judges nothing.
        assert main(["run", "--resume", str(run_dir), "--no-cache", "--quiet"]) == 0
        assert server.count() == calls
        # --retry-errors re-judges exactly the two errors.
        assert main(["run", "--resume", str(run_dir), "--retry-errors", "--no-cache", "--quiet"]) == 0
        assert server.count() == calls + 2
    finally:
        server.stop()
    final = pl.read_parquet(run_dir / "verdicts.parquet")
    assert final.height == first.height and final.select(KEY).is_unique().all()
    assert set(final["status"]) == {"ok"}


def test_a_damaged_line_mid_log_costs_one_call_on_resume(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """Issue 15 item 4: line 3 of 10 corrupted used to make --resume cut rows 3-10 and pay for 8
    calls again; now line 3 is set aside (reported) and only its key is judged again."""
    server = started_server()
    try:
        config = write_config(tmp_path / "judges.yaml", server.base_url, models=("judge-a",), max_concurrency=1)
        dataset = write_dataset(tmp_path / "d.jsonl", items(10))
        run_dir = tmp_path / "run"
        args = ["--config", str(config), "--dataset", str(dataset), "--rubric", "sa-graded", "--quiet", "--no-cache"]
        assert main(["run", *args, "--run-dir", str(run_dir)]) == 0
        log = run_dir / "verdicts.jsonl"
        lines = log.read_bytes().splitlines(keepends=True)
        assert len(lines) == 10
        damaged_key = json.loads(lines[2])["item_id"]
        lines[2] = lines[2][:40] + b"\xff\xfe disk error \n"
        log.write_bytes(b"".join(lines))
        calls = server.count()
        capsys.readouterr()
        assert main(["run", "--resume", str(run_dir), "--no-cache", "--quiet"]) == 0
        assert server.count() == calls + 1
        assert "1 damaged line(s) (line 3) moved to" in capsys.readouterr().err
    finally:
        server.stop()
    final = pl.read_parquet(run_dir / "verdicts.parquet")
    assert final.height == 10 and final.select(KEY).is_unique().all() and set(final["status"]) == {"ok"}
    rows = [json.loads(line) for line in log.read_text().splitlines()]
    assert len(rows) == 10 and rows[-1]["item_id"] == damaged_key  # nine kept, one judged again
    (aside,) = (run_dir / "verdicts.damaged.jsonl").read_text().splitlines()
    assert json.loads(aside)["line"] == 3
