"""kill -9 a real batch run, resume it, and check the provider saw every request submitted once and
the verdicts equal an uninterrupted run's: while its batches are being polled, and between the
intent record and the provider's answer to the create call (the batch then exists, but the killed
run never learnt its id)."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import polars as pl
import pytest

from judge.cli.main import main
from judge.store.batches import BatchJournal
from tests.conftest import LITELLM_SAFE_ENV
from tests.fakeserver import Delay
from tests.providers import BatchPlan, DropAfter, ProviderServer

ROOT = Path(__file__).resolve().parent.parent
KEY_ENV = "FAKE_ANTHROPIC_KEY"
OPENAI, ANTHROPIC = "openai/gpt-4o-mini", "anthropic/claude-haiku-4-5"
SAME = ["item_id", "rubric_id", "judge", "repeat", "status", "score", "raw_score", "verdict", "raw_text",
        "prompt_tokens", "completion_tokens", "cost_usd"]
ITEMS = [
    {"id": f"c{i}", "task": "counselling", "model": "m1",
     "source": f"My manager mocks me in every meeting, week {i}, and I dread Mondays.",
     "response": "Try to stay positive and talk to HR."}
    for i in range(5)
]
SLOW = BatchPlan(validate_polls=2, progress_polls=40, lines_per_poll=1)  # ~2 s of polling at 0.05 s

pytestmark = pytest.mark.slow


def _inputs(tmp: Path, server: ProviderServer, models: tuple[str, ...]) -> list[str]:
    data = tmp / "data.jsonl"
    data.write_text("".join(json.dumps(i) + "\n" for i in ITEMS), encoding="utf-8")
    lines = ["judges:"]
    for model in models:
        base = server.root_url if model.startswith("anthropic/") else server.base_url
        lines += [f"  - model: {model}", f"    api_base: {base}", f"    api_key_env: {KEY_ENV}",
                  "    batch_poll_s: 0.05", "    timeout_s: 10"]
    config = tmp / "judges.yaml"
    config.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return ["--config", str(config), "--dataset", str(data), "--rubric", "sa-graded", "--rubric", "ca-paper",
            "--batch", "--no-cache", "--quiet"]


def _env() -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.upper().endswith("_API_KEY")}
    env.update(LITELLM_SAFE_ENV, PYTHONPATH=str(ROOT), NO_PROXY="127.0.0.1,localhost")
    env[KEY_ENV] = "sk-ant-fake-key"
    return env


def _kill_when(args: list[str], run_dir: Path, ready: Callable[[list[dict[str, Any]]], bool]) -> None:
    """Start a run in a child process and kill -9 it as soon as its batch journal says ``ready``."""
    proc = subprocess.Popen([sys.executable, "-m", "judge", "run", *args, "--run-dir", str(run_dir)],
                            cwd=ROOT, env=_env(), stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    journal = BatchJournal(run_dir / "batches.jsonl")
    deadline = time.monotonic() + 120
    try:
        while not ready(journal.records()):
            if proc.poll() is not None:
                err = proc.stderr.read().decode() if proc.stderr else ""
                raise AssertionError(f"the run ended before the kill: {err}")
            assert time.monotonic() < deadline, "the run never reached the point of the kill"
            time.sleep(0.01)
    finally:
        proc.send_signal(signal.SIGKILL)
        proc.wait()
    assert proc.returncode == -signal.SIGKILL


def _verdicts(run_dir: Path) -> pl.DataFrame:
    return pl.read_parquet(run_dir / "verdicts.parquet").select(SAME).sort(["item_id", "rubric_id", "judge"])


def _baseline(tmp: Path, models: tuple[str, ...]) -> pl.DataFrame:
    (tmp / "base").mkdir()
    with ProviderServer() as server:
        args = _inputs(tmp / "base", server, models)
        assert main(["run", *args, "--run-dir", str(tmp / "base" / "run")]) == 0
    return _verdicts(tmp / "base" / "run")


def test_kill_9_while_polling_then_resume_submits_nothing_twice(tmp_path: Path,
                                                                monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv(KEY_ENV, "sk-ant-fake-key")
    models = (OPENAI, ANTHROPIC)
    expected = _baseline(tmp_path, models)
    with ProviderServer(batch_plan=SLOW) as server:
        args = _inputs(tmp_path, server, models)
        run_dir = tmp_path / "run"

        def both_submitted(records: list[dict[str, Any]]) -> bool:
            return sum(r["event"] == "submitted" for r in records) == 2

        _kill_when(args, run_dir, both_submitted)
        assert all(b.status not in ("completed", "expired") for b in server.batches), "killed too late"
        killed_at = {b.id: b.polls for b in server.batches}
        assert main(["run", "--resume", str(run_dir), "--quiet"]) == 0
        # Each batch was created once, and each request was in exactly one batch.
        assert len(server.batches) == 2 and {b.id for b in server.batches} == set(killed_at)
        submissions = server.submissions()
        assert len(submissions) == expected.height and set(submissions.values()) == {1}
        assert all(b.polls > killed_at[b.id] for b in server.batches)  # the resume re-attached and polled
    got = _verdicts(run_dir)
    assert got.equals(expected)
    events = [r["event"] for r in BatchJournal(run_dir / "batches.jsonl").records()]
    assert events.count("intent") == events.count("submitted") == events.count("ended") == 2


@pytest.mark.parametrize("model", [OPENAI, ANTHROPIC])
def test_kill_9_before_the_create_answer_then_resume_finds_the_batch(tmp_path: Path, model: str,
                                                                      monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv(KEY_ENV, "sk-ant-fake-key")
    expected = _baseline(tmp_path, (model,))
    with ProviderServer(batch_plan=BatchPlan(progress_polls=2)) as server:
        # The create call is held 1.5 s, then carried out and its answer dropped: the batch comes to
        # exist after the client is gone, and the journal holds only the intent.
        server.script_batch_api("create", Delay(1500, then=DropAfter()))
        args = _inputs(tmp_path, server, (model,))
        run_dir = tmp_path / "run"

        def intent_only(records: list[dict[str, Any]]) -> bool:
            return [r["event"] for r in records] == ["intent"] and any(
                r.method == "POST" and r.path.endswith("batches") for r in server.requests)

        _kill_when(args, run_dir, intent_only)
        deadline = time.monotonic() + 10
        while not server.batches:  # the held create goes ahead without the killed client
            assert time.monotonic() < deadline
            time.sleep(0.02)
        assert main(["run", "--resume", str(run_dir), "--quiet"]) == 0
        assert len(server.batches) == 1, "the resumed run submitted the batch again"
        assert set(server.submissions().values()) == {1} and len(server.submissions()) == expected.height
    assert _verdicts(run_dir).equals(expected)
    events = [r["event"] for r in BatchJournal(run_dir / "batches.jsonl").records()]
    assert events == ["intent", "submitted", "ended"]


def test_an_intent_the_provider_never_got_is_submitted_on_resume(tmp_path: Path,
                                                                 monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv(KEY_ENV, "sk-ant-fake-key")
    expected = _baseline(tmp_path, (OPENAI,))
    with ProviderServer(batch_plan=BatchPlan(progress_polls=2)) as server:
        # The upload is held and the process killed during it: no batch ever exists.
        server.script_batch_api("upload", Delay(3000))
        args = _inputs(tmp_path, server, (OPENAI,))
        run_dir = tmp_path / "run"
        _kill_when(args, run_dir, lambda records: [r["event"] for r in records] == ["intent"])
        assert not server.batches
        assert main(["run", "--resume", str(run_dir), "--quiet"]) == 0
        assert len(server.batches) == 1 and set(server.submissions().values()) == {1}
    assert _verdicts(run_dir).equals(expected)
    events = [r["event"] for r in BatchJournal(run_dir / "batches.jsonl").records()]
    assert events == ["intent", "abandoned", "intent", "submitted", "ended"]


def test_a_budgeted_batch_run_killed_while_polling_resumes_within_its_cap(tmp_path: Path,
                                                                         monkeypatch: pytest.MonkeyPatch) -> None:
    # The killed invocation never records its spend; the resumed one re-attaches the running batch,
    # reserves its recorded worst case first (it is already submitted and cannot be refused) and
    # settles it to what its results cost: the cap holds and nothing is submitted twice.
    monkeypatch.setenv(KEY_ENV, "sk-ant-fake-key")
    expected = _baseline(tmp_path, (OPENAI,))
    cap = 0.5
    with ProviderServer(batch_plan=SLOW) as server:
        args = [*_inputs(tmp_path, server, (OPENAI,)), "--budget-usd", str(cap)]
        run_dir = tmp_path / "run"
        _kill_when(args, run_dir, lambda records: any(r["event"] == "submitted" for r in records))
        intents = [r for r in BatchJournal(run_dir / "batches.jsonl").records() if r["event"] == "intent"]
        assert len(intents) == 1 and 0 < intents[0]["reserved_usd"] <= cap
        assert main(["run", "--resume", str(run_dir), "--quiet", "--budget-usd", str(cap)]) == 0
        assert len(server.batches) == 1 and set(server.submissions().values()) == {1}
    got = _verdicts(run_dir)
    assert got.equals(expected)
    budget = json.loads((run_dir / "manifest.json").read_text())["budgets"][-1]
    assert budget["cap_usd"] == cap and budget["overshoot_usd"] == 0
    assert budget["spent_usd"] == pytest.approx(got["cost_usd"].sum()) and budget["spent_usd"] <= cap
