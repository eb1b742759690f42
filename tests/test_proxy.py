"""Shared rate limits across workers: a real LiteLLM proxy server on loopback in front of the mock,
two `empathy-judge run` workers pointed at it, and the proxy's per-deployment limit holding for
both together.

The proxy runs from a throwaway virtual environment (.ci/proxy-venv creates `.venv-proxy`, or set
EMPATHY_JUDGE_PROXY_VENV), never the project's: see tests/proxy-requirements.txt. Without it the
test skips and says how to get it.
"""

from __future__ import annotations

import json
import os
import secrets
import socket
import subprocess
import sys
import time
import urllib.request
from collections.abc import Iterator
from pathlib import Path

import polars as pl
import pytest

from tests.conftest import LITELLM_SAFE_ENV
from tests.fakeserver import FakeServer

ROOT = Path(__file__).resolve().parent.parent
PINNED = "1.110.2"
LIMIT = 2  # the proxy lets this many calls reach the model at once, whoever sends them
ITEMS = [
    {"id": f"c{i}", "task": "counselling", "model": "m1",
     "source": f"My manager mocks me in every meeting, week {i}.", "response": "Try to stay positive."}
    for i in range(6)
]

pytestmark = pytest.mark.slow


def _venv() -> Path:
    return Path(os.environ.get("EMPATHY_JUDGE_PROXY_VENV") or ROOT / ".venv-proxy")


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@pytest.fixture
def proxy(tmp_path: Path) -> Iterator[tuple[str, str, FakeServer]]:
    """(base URL, master key, the mock behind it): a LiteLLM proxy on loopback in front of a mock."""
    venv = _venv()
    binary = venv / "bin" / "litellm"
    if not binary.exists():
        pytest.skip(f"no LiteLLM proxy at {binary}: run .ci/proxy-venv (a throwaway venv; never install "
                    "litellm[proxy] into the project's environment)")
    version = subprocess.run([str(venv / "bin" / "python"), "-c",
                              "import importlib.metadata as m; print(m.version('litellm'))"],
                             capture_output=True, text=True, check=True).stdout.strip()
    assert version == PINNED, f"{venv} has litellm {version}; the proxy must be the project's pin {PINNED}"
    with FakeServer(latency_ms=150) as mock:
        port, key = _free_port(), "sk-" + secrets.token_hex(24)
        config = tmp_path / "proxy.yaml"
        config.write_text(
            "model_list:\n  - model_name: judge-a\n    litellm_params:\n      model: openai/judge-a\n"
            f"      api_base: {mock.base_url}\n      api_key: sk-mock\n      max_parallel_requests: {LIMIT}\n",
            encoding="utf-8",
        )
        env = {k: v for k, v in os.environ.items() if not k.upper().endswith("_API_KEY")}
        env.update(LITELLM_SAFE_ENV, LITELLM_MASTER_KEY=key, NO_PROXY="127.0.0.1,localhost")
        log = (tmp_path / "proxy.log").open("wb")
        proc = subprocess.Popen([str(binary), "--config", str(config), "--host", "127.0.0.1", "--port", str(port)],
                                env=env, stdout=log, stderr=subprocess.STDOUT, cwd=tmp_path)
        try:
            deadline = time.monotonic() + 120
            while True:
                try:
                    urllib.request.urlopen(f"http://127.0.0.1:{port}/health/liveliness", timeout=1)
                    break
                except OSError:
                    assert proc.poll() is None, (tmp_path / "proxy.log").read_text()[-2000:]
                    assert time.monotonic() < deadline, "the proxy did not start within 120 s"
                    time.sleep(0.5)
            yield f"http://127.0.0.1:{port}/v1", key, mock
        finally:
            proc.terminate()
            try:
                proc.wait(timeout=15)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait()
            log.close()


def _worker(tmp: Path, name: str, base: str, key_env: str) -> tuple[subprocess.Popen[bytes], Path]:
    data = tmp / "data.jsonl"
    data.write_text("".join(json.dumps(i) + "\n" for i in ITEMS), encoding="utf-8")
    config = tmp / f"{name}.yaml"
    config.write_text(f"judges:\n  - model: openai/judge-a\n    api_base: {base}\n    api_key_env: {key_env}\n"
                      "    max_concurrency: 8\n    max_attempts: 10\n    timeout_s: 20\n", encoding="utf-8")
    run_dir = tmp / name
    env = {k: v for k, v in os.environ.items() if not k.upper().endswith("_API_KEY")}
    env.update(LITELLM_SAFE_ENV, PYTHONPATH=str(ROOT), NO_PROXY="127.0.0.1,localhost")
    proc = subprocess.Popen(
        [sys.executable, "-m", "judge", "run", "--config", str(config), "--dataset", str(data), "--run-dir",
         str(run_dir), "--rubric", "sa-graded", "--rubric", "ca-graded", "--quiet", "--no-cache"],
        cwd=ROOT, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE,
    )
    return proc, run_dir


def test_two_workers_share_the_proxys_limit(tmp_path: Path, proxy: tuple[str, str, FakeServer],
                                            monkeypatch: pytest.MonkeyPatch) -> None:
    base, key, mock = proxy
    monkeypatch.setenv("PROXY_KEY", key)
    # Control: one worker straight at the mock has more than LIMIT calls in flight at once ...
    direct, _ = _worker(tmp_path, "direct", mock.base_url, "PROXY_KEY")
    assert direct.wait(timeout=300) == 0, direct.stderr.read().decode() if direct.stderr else ""
    assert mock.peak_in_flight("judge-a") > LIMIT
    mock.reset()
    # ... and two workers through the proxy never have more than LIMIT between them.
    workers = [_worker(tmp_path, f"worker{k}", base, "PROXY_KEY") for k in (1, 2)]
    for proc, run_dir in workers:
        _, err = proc.communicate(timeout=300)
        assert proc.returncode == 0, err.decode()
        v = pl.read_parquet(run_dir / "verdicts.parquet")
        assert v.height == 12 and v["status"].to_list() == ["ok"] * 12
    assert mock.count("judge-a") == 24
    assert mock.peak_in_flight("judge-a") <= LIMIT
