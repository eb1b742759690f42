"""Shared helpers for the benchmarks: child-process measurement, the loopback server, synthetic data.

Every measured thing runs in its own child process and is reaped with ``os.wait4``, which returns
that one child's rusage: CPU seconds (user + system) and peak RSS are per process, not mixed with
the parent's or the fake server's.
"""

from __future__ import annotations

import json
import os
import random
import signal
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
PYTHON = sys.executable

# LiteLLM must never go to the internet or read a developer's .env (shared/notes/litellm.md).
SAFE_ENV = {
    "LITELLM_LOCAL_MODEL_COST_MAP": "True",
    "LITELLM_OFFLINE_MODE": "true",
    "LITELLM_MODE": "PRODUCTION",
    "NO_PROXY": "127.0.0.1,localhost,::1",
}


def child_env(extra: dict[str, str] | None = None) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.upper().endswith("_API_KEY")}
    for name in ("HTTP_PROXY", "HTTPS_PROXY", "ALL_PROXY", "http_proxy", "https_proxy", "all_proxy"):
        env.pop(name, None)
    env.update(SAFE_ENV)
    env["PYTHONPATH"] = str(ROOT)
    env.update(extra or {})
    return env


@dataclass
class Measured:
    """One child process: wall seconds, CPU seconds, peak RSS (MiB), exit code, its stdout."""

    wall_s: float
    cpu_s: float
    user_s: float
    sys_s: float
    peak_rss_mib: float
    rc: int
    stdout: str
    stderr: str
    started_at: float = 0.0  # epoch seconds when the process was started (to place its log's timestamps)

    def data(self) -> dict[str, Any]:
        """What goes in results.json (stdout/stderr tails only)."""
        d = asdict(self)
        d["stdout"] = self.stdout[-2000:]
        d["stderr"] = self.stderr[-2000:]
        return d

    def json_line(self) -> dict[str, Any]:
        """The last stdout line parsed as JSON (children report their own timings that way)."""
        for line in reversed(self.stdout.strip().splitlines()):
            if line.startswith("{"):
                return json.loads(line)
        raise RuntimeError(f"child printed no JSON result; rc={self.rc}; stderr tail: {self.stderr[-800:]}")


def measure(cmd: Sequence[str], *, env: dict[str, str] | None = None, timeout_s: float = 300.0,
            cwd: Path = ROOT) -> Measured:
    """Run ``cmd`` to completion (killed at ``timeout_s``) and return its own rusage."""
    with tempfile.TemporaryFile() as out, tempfile.TemporaryFile() as err:
        started_at = time.time()
        start = time.perf_counter()
        proc = subprocess.Popen(list(cmd), stdout=out, stderr=err, env=env or child_env(), cwd=cwd,
                                start_new_session=True)
        deadline = start + timeout_s
        while True:
            pid, status, usage = os.wait4(proc.pid, os.WNOHANG)
            if pid:
                break
            if time.perf_counter() > deadline:
                os.killpg(proc.pid, signal.SIGKILL)
                pid, status, usage = os.wait4(proc.pid, 0)
                break
            time.sleep(0.005)
        wall = time.perf_counter() - start
        proc.returncode = os.waitstatus_to_exitcode(status)  # reaped here; keep Popen consistent
        out.seek(0)
        err.seek(0)
        return Measured(
            wall_s=wall,
            cpu_s=usage.ru_utime + usage.ru_stime,
            user_s=usage.ru_utime,
            sys_s=usage.ru_stime,
            peak_rss_mib=usage.ru_maxrss / 1024.0,  # Linux reports KiB
            rc=proc.returncode,
            stdout=out.read().decode("utf-8", "replace"),
            stderr=err.read().decode("utf-8", "replace"),
            started_at=started_at,
        )


@contextmanager
def fake_server(latency_ms: float) -> Iterator[str]:
    """The loopback fake server as its own process (so its CPU is not charged to the client);
    yields its base URL."""
    proc = subprocess.Popen(
        [PYTHON, "-m", "tests.fakeserver", "--port", "0", "--print-port", "--latency-ms", str(latency_ms)],
        cwd=ROOT, env=child_env(), stdout=subprocess.PIPE, text=True,
    )
    try:
        assert proc.stdout is not None  # stdout=PIPE
        port = int(proc.stdout.readline())
        yield f"http://127.0.0.1:{port}/v1"
    finally:
        proc.terminate()
        try:
            proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()


# --- synthetic, realistic items -------------------------------------------------------------

_SOURCES = {
    "news": [
        "Three workers were killed and two others badly injured when scaffolding collapsed at the site on Tuesday.",
        "Families waited through the night outside the hospital, some weeping openly, as rescuers searched the rubble.",
        "The flood swept away the village school; a teacher said she could still hear the children screaming.",
        "Police said the attack was brutal and the victim, a 19-year-old student, died at the scene.",
    ],
    "counselling": [
        "My manager mocks me in every meeting and I dread Mondays so much I cannot sleep on Sunday nights.",
        "My sister lied to me about our mother's money and I feel completely betrayed and alone.",
        "Since my dad died I wake up at 4am with my heart pounding and I don't know who to talk to.",
        "I failed the exam again. Everyone in my family expects me to be a doctor and I feel like a fraud.",
    ],
    "translation": [
        "他悲痛欲绝，整夜守在母亲的病床前，一句话也说不出来。",
        "村民们愤怒地聚集在政府门口，要求给死去的孩子们一个交代。",
    ],
}
_RESPONSES = [
    "An incident occurred and relevant parties are reviewing the situation.",
    "That sounds really painful. It makes sense that you feel this way; what happened when you found out?",
    "Try to stay positive and talk to HR about it when you get a chance.",
    "Several individuals were affected by the event, according to officials.",
    "I am so sorry. Losing a parent is devastating; waking at 4am with a pounding heart is a common grief response.",
]


def synthetic_items(n: int, seed: int = 0) -> Iterator[dict[str, Any]]:
    """``n`` dataset rows of realistic length (a few hundred characters each), deterministic."""
    rng = random.Random(seed)
    tasks = list(_SOURCES)
    for i in range(n):
        task = tasks[i % len(tasks)]
        # The case number makes every item unique, so a response cache never answers one item
        # with another's reply: every item is a real call.
        source = " ".join(rng.choice(_SOURCES[task]) for _ in range(3)) + f" (Case {i}.)"
        response = " ".join(rng.choice(_RESPONSES) for _ in range(2))
        row: dict[str, Any] = {"id": f"item-{i:07d}", "task": task, "source": source, "response": response,
                               "model": f"model-{i % 4}"}
        if task == "translation":
            row["reference"] = "He was grief-stricken and stayed all night by his mother's bed, unable to speak."
        yield row


def write_dataset(path: Path, n: int, seed: int = 0) -> Path:
    with path.open("w", encoding="utf-8") as fh:
        for row in synthetic_items(n, seed):
            fh.write(json.dumps(row, ensure_ascii=False) + "\n")
    return path


# A model in LiteLLM's price map, so every call is costed exactly as a real gpt-4o-mini call would be;
# the fake server answers for any model name.
MODEL = "gpt-4o-mini"


def write_judge_config(path: Path, base_url: str, *, concurrency: int, model: str = MODEL) -> Path:
    path.write_text(
        "judges:\n"
        f"  - model: openai/{model}\n"
        f"    api_base: {base_url}\n"
        f"    max_concurrency: {concurrency}\n"
        "    timeout_s: 60\n",
        encoding="utf-8",
    )
    return path


def write_json(path: Path, data: Any) -> None:
    path.write_text(json.dumps(data, indent=2, sort_keys=True) + "\n", encoding="utf-8")


def emit_results(results: Any, out: Path | None) -> None:
    """A benchmark's results as JSON: into ``--out`` when given, else on stdout."""
    if out:
        write_json(out, results)
    else:
        print(json.dumps(results, indent=2, sort_keys=True))
