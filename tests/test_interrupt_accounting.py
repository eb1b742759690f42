"""Every billed reply is recorded, whatever interrupts its key: re-asks, faults, a budget running
out and Ctrl-C at any moment (issue 15 items 10-12).

The provider's bill is computed from what the loopback server answered (tests/test_budget.py's
``provider_bill``), never from our own ledger. The invariants, checked after every invocation and
at the end: exit 3 means every planned key has a row (the unpaid ones ``skipped``); exit 130 means
the manifest says ``interrupted`` and says how to resume; at the end every key has exactly one row,
no key was judged twice, and the bill equals the recorded spend, in the verdict rows and in the
manifest's budget records.
"""

from __future__ import annotations

import json
import os
import random
import signal
import threading
import time
from collections import Counter
from pathlib import Path
from typing import Any

import polars as pl
import pytest

from judge.cli.main import main
from tests.fakeserver import GENERIC_VERDICT, FakeServer, FaultPlan, Malformed, Reply, Stall, Status
from tests.reliability_helpers import items, write_dataset
from tests.test_budget import RUBRICS, cli_run, provider_bill, reask_rubrics, write_inputs
from tests.test_resume import WarmJudge

KEY = ["item_id", "rubric_id", "rubric_version", "judge", "repeat"]


def _rows(run_dir: Path) -> list[dict[str, Any]]:
    try:
        text = (run_dir / "verdicts.jsonl").read_text(encoding="utf-8")
    except FileNotFoundError:
        return []
    return [json.loads(line) for line in text.split("\n")[:-1]]  # a line being written is not one yet


def _key(row: dict[str, Any]) -> tuple[Any, ...]:
    return tuple(row[k] for k in KEY)


def _recorded(run_dir: Path) -> float:
    return sum(r["cost_usd"] or 0.0 for r in _rows(run_dir))


def _interrupt_when(condition: Any, timeout: float = 120.0) -> threading.Thread:
    """SIGINT to this process (the runner's loop takes it) once ``condition()`` holds; the wait is
    long because a loaded 2-core machine can take tens of seconds to start a run, and it ends as
    soon as the condition holds."""

    def watch() -> None:
        deadline = time.monotonic() + timeout
        while not condition():
            if time.monotonic() > deadline:
                return  # never signal outside the run: pytest itself would take the Ctrl-C
            time.sleep(0.005)
        os.kill(os.getpid(), signal.SIGINT)

    thread = threading.Thread(target=watch, daemon=True)
    thread.start()
    return thread


def test_an_interrupted_reask_keeps_its_billed_reply(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """Item 10: Ctrl-C while a re-ask was in flight dropped the key's row, and with it the billed
    invalid reply (summary undercounted; a resume paid again or served it free from the cache)."""
    server = FakeServer(responder=lambda body: GENERIC_VERDICT)
    with server:
        config, _ = write_inputs(tmp_path, server, concurrency=1)
        data = write_dataset(tmp_path / "d.jsonl", items(2))
        # The first reply is invalid; its re-ask never answers, so the interrupt's grace runs out.
        server.script(Malformed(), Stall(), model="judge-a", strict=False)
        run_dir = tmp_path / "run"
        args = ["run", "--config", str(config), "--dataset", str(data), "--rubric", "sa-graded", "--judge",
                "openai/judge-a", "--rubrics-dir", str(reask_rubrics(tmp_path)), "--run-dir", str(run_dir),
                "--cache-dir", str(tmp_path / "cache"), "--quiet"]  # fmt: skip
        watcher = _interrupt_when(lambda: server.count() >= 2)
        assert main(args) == 130
        watcher.join()
        assert "--resume" in capsys.readouterr().err
        (row,) = _rows(run_dir)
        assert row["status"] == "invalid" and "re-ask not finished: interrupted" in row["error"]
        assert row["cost_usd"] > 0 and row["cost_usd"] == pytest.approx(provider_bill(server), rel=1e-9)
        calls = server.count()
        assert main(["run", "--resume", str(run_dir), "--quiet"]) == 0
        assert server.count() == calls + 1  # only the other item: the recorded key is not paid again
        assert _recorded(run_dir) == pytest.approx(provider_bill(server), rel=1e-9)
    final = pl.read_parquet(run_dir / "verdicts.parquet")
    assert final.height == 2 and final.select(KEY).is_unique().all()


def test_ctrl_c_as_the_budget_runs_out_never_claims_skipped_work(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    """Item 11: SIGINT as the budget ran out exited 3 ("the remaining work is marked skipped")
    with 37 of 40 rows. Now exit 3 means every key has a row; keys left without one mean 130."""
    from judge.engine.runner import Runner

    real_emit = Runner._emit

    def emit(self: Runner, row: Any) -> None:
        real_emit(self, row)
        if row.status == "skipped" and not getattr(self, "_signalled", False):
            self._signalled = True  # type: ignore[attr-defined]
            os.kill(os.getpid(), signal.SIGINT)

    monkeypatch.setattr(Runner, "_emit", emit)
    server = FakeServer(responder=lambda body: GENERIC_VERDICT)
    with server:
        config, _ = write_inputs(tmp_path, server, concurrency=1)
        data = write_dataset(tmp_path / "d.jsonl", items(10))
        run_dir = tmp_path / "run"
        code = cli_run(config, data, run_dir, "--budget-usd", "0.006", "--no-cache")
        err = capsys.readouterr().err
        planned = 10 * len(RUBRICS) * 2
        keys = {_key(r) for r in _rows(run_dir)}
        status = json.loads((run_dir / "manifest.json").read_text())["status"]
        if code == 3:
            assert len(keys) == planned and status == "budget_exhausted"
        else:
            assert code == 130 and status == "interrupted" and len(keys) < planned
            assert f"--resume {run_dir}" in err and "marked skipped" not in err
        monkeypatch.setattr(Runner, "_emit", real_emit)
        assert main(["run", "--resume", str(run_dir), "--budget-usd", "5", "--no-cache", "--quiet"]) == 0
        assert _recorded(run_dir) == pytest.approx(provider_bill(server), rel=1e-9)
    final = pl.read_parquet(run_dir / "verdicts.parquet")
    assert final.height == planned and final.select(KEY).is_unique().all() and set(final["status"]) == {"ok"}


def test_cached_work_is_served_when_the_budget_is_spent(tmp_path: Path) -> None:
    """Item 12: a re-run with a warm cache and a tiny budget made no request but marked cached
    keys `skipped: budget exhausted`, against "a cached reply never reserves or spends"."""
    server = FakeServer(responder=lambda body: GENERIC_VERDICT)
    with server:
        config, _ = write_inputs(tmp_path, server, concurrency=1)
        data = write_dataset(tmp_path / "d.jsonl", items(6))
        # Three of judge-b's calls fail for good the first time (never twice in a row, which would
        # stop the judge): those keys are not in the cache.
        server.script(*[Status(400), Reply()] * 3, model="judge-b", strict=False)
        cache = ["--cache-dir", str(tmp_path / "cache")]
        assert cli_run(config, data, tmp_path / "warm", *cache) == 0
        warm = {_key(r): r["status"] for r in _rows(tmp_path / "warm")}
        assert Counter(warm.values()) == {"ok": 21, "error": 3}
        before = server.count()
        # A budget below one call's worst case: only what the cache holds can be judged.
        assert cli_run(config, data, tmp_path / "again", *cache, "--budget-usd", "0.0001") == 3
        assert server.count() == before
    rows = {_key(r): r for r in _rows(tmp_path / "again")}
    assert len(rows) == 24
    for key, status in warm.items():
        expected = "ok" if status == "ok" else "skipped"
        assert rows[key]["status"] == expected, (key, rows[key]["error"])
    assert all(r["cached"] for r in rows.values() if r["status"] == "ok")


def _started(run_dir: Path) -> int:
    """How many invocations have started judging this run (its first plus each resume)."""
    try:
        manifest = json.loads((run_dir / "manifest.json").read_text())
    except (FileNotFoundError, json.JSONDecodeError):  # none yet, or being replaced this instant
        return 0
    return 1 + len(manifest.get("resumed") or [])


def _wait_until_started(run_dir: Path, before: int, timeout: float = 120.0) -> None:
    deadline = time.monotonic() + timeout
    while _started(run_dir) <= before and time.monotonic() < deadline:
        time.sleep(0.002)


def _trial(tmp_path: Path, warm: WarmJudge, seed: int) -> dict[str, Any]:
    rng = random.Random(seed)
    plan = FaultPlan(p429=0.1, p500=0.05, p_malformed=rng.choice([0.25, 0.4]), p_disconnect=0.05,
                     retry_after=0.01, seed=seed)  # fmt: skip
    server = FakeServer(latency_ms=rng.choice([0, 5, 15]), responder=lambda body: GENERIC_VERDICT, fault_plan=plan)
    with server:
        config, _ = write_inputs(tmp_path, server, concurrency=rng.choice([1, 2, 4]))
        data = write_dataset(tmp_path / "d.jsonl", items(6))
        planned = 6 * len(RUBRICS) * 2
        run_dir = tmp_path / "run"
        start = ["--config", str(config), "--dataset", str(data), "--rubrics-dir", str(reask_rubrics(tmp_path)),
                 *[a for r in RUBRICS for a in ("--rubric", r)], "--run-dir", str(run_dir)]  # fmt: skip
        codes = []
        for attempt in range(6):
            last = attempt == 5
            argv = start if attempt == 0 else ["--resume", str(run_dir)]
            budget = "10" if last else f"{rng.uniform(0.002, 0.02):.6f}"
            err = tmp_path / f"err{attempt}.txt"
            before = (run_dir / "manifest.json").read_bytes() if (run_dir / "manifest.json").exists() else None
            started = _started(run_dir)
            if attempt and before is None:
                argv = start  # the first attempt was stopped before it made its run directory
            pid = warm._ask([["run", *argv, "--cache-dir", str(tmp_path / "cache"), "--budget-usd", budget,
                              "--quiet"], str(tmp_path / "out.txt"), str(err)])  # fmt: skip
            if not last and rng.random() < 0.8:
                # Wait until the child is judging (its manifest records this attempt): a signal in
                # the first instants after the fork can land inside Python's at-fork hooks, which
                # leaves the logging lock held in the child: an artefact of the warm fork, which a
                # real `python -m judge` start does not have.
                _wait_until_started(run_dir, started)
                target = len(_rows(run_dir)) + rng.randint(0, 8)
                deadline = time.monotonic() + rng.uniform(0.0, 1.5)
                while len(_rows(run_dir)) < target and time.monotonic() < deadline:
                    time.sleep(0.002)
                os.kill(pid, signal.SIGINT)
            code = warm.wait(pid)
            codes.append(code)
            text = err.read_text()
            assert "Traceback" not in text, text
            latest = {_key(r): r["status"] for r in _rows(run_dir)}
            assert code in (0, 3, 130), (code, text)
            manifest_file = run_dir / "manifest.json"
            if code == 130 and (not manifest_file.exists() or manifest_file.read_bytes() == before):
                # Interrupted before the run started (no manifest written): nothing to resume yet.
                assert text.strip() == "empathy-judge: interrupted", text
                continue
            manifest = json.loads(manifest_file.read_text())
            if code == 3:  # item 11: "the remaining work is marked skipped" must be true
                assert manifest["status"] == "budget_exhausted" and len(latest) == planned, text
            elif code == 130:
                assert manifest["status"] == "interrupted" and f"--resume {run_dir}" in text, text
            else:
                assert manifest["status"] == "completed" and len(latest) == planned
                assert "skipped" not in latest.values()
            if code == 0:
                break
        bill = provider_bill(server)
    rows = _rows(run_dir)
    final = pl.read_parquet(run_dir / "verdicts.parquet")
    assert final.height == planned and final.select(KEY).is_unique().all()
    # No key judged twice: a key's only rows besides its verdict are `skipped` ones (never billed).
    judged = Counter(_key(r) for r in rows if r["status"] != "skipped")
    assert set(judged.values()) == {1} and len(judged) == planned
    # Item 10: every billed reply is on record, in the rows and in the budget ledger alike.
    recorded = _recorded(run_dir)
    budgets = json.loads((run_dir / "manifest.json").read_text())["budgets"]
    assert sum(b["spent_usd"] for b in budgets) == pytest.approx(recorded, rel=1e-9, abs=1e-12), seed
    assert all(b["overshoot_usd"] == 0 for b in budgets)
    # The one thing no client can record: a call cancelled in flight when an interrupt's 2 s grace
    # ran out (a retry that started late) whose reply the provider still sent and billed. The ledger
    # reports such calls' worst cases apart (cancelled_usd); the bill may exceed the record by no more.
    cancelled = sum(b["cancelled_usd"] for b in budgets)
    assert recorded <= bill + 1e-12 and bill - recorded <= cancelled + 1e-12, (seed, recorded, bill, cancelled)
    if cancelled == 0:
        assert recorded == pytest.approx(bill, rel=1e-9, abs=1e-12), seed
    reasked = sum(1 for r in server.requests if len(r.body["messages"]) > 2)
    return {"codes": codes, "bill": bill, "reasks": reasked}


@pytest.mark.slow
def test_random_interrupts_with_reasks_faults_and_a_budget_record_every_billed_reply(tmp_path: Path) -> None:
    warm = WarmJudge(tmp_path)
    results = []
    try:
        for seed in range(2):
            (tmp_path / f"t{seed}").mkdir()
            results.append(_trial(tmp_path / f"t{seed}", warm, seed))
    finally:
        warm.close()
    codes = Counter(c for r in results for c in r["codes"])
    assert codes[130] >= 2 and sum(r["reasks"] for r in results) > 0  # the interrupts and re-asks happened
    print(f"interrupt trials: exit codes {dict(codes)}, re-asks {[r['reasks'] for r in results]}")
