"""Time a fully cached re-run: fill the cache with one run against the loopback fake server, then
time `python -m judge run` again (a subprocess, as a user runs it) and check it never imported
LiteLLM. Usage: python -m benchmarks.cached_rerun [N_ITEMS]  (verdicts = N_ITEMS x 4 x 2)."""

from __future__ import annotations

import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from tests.reliability_helpers import GRADED, items, started_server, write_config, write_dataset

ROOT = Path(__file__).resolve().parent.parent


def main() -> None:
    n = int(sys.argv[1]) if len(sys.argv) > 1 else 250
    tmp = Path(tempfile.mkdtemp())
    server = started_server(latency_ms=1)
    env = {
        **os.environ,
        "LITELLM_LOCAL_MODEL_COST_MAP": "True",
        "LITELLM_OFFLINE_MODE": "true",
        "LITELLM_MODE": "PRODUCTION",
        "PYTHONPATH": str(ROOT),
    }
    try:
        config = write_config(tmp / "judges.yaml", server.base_url, max_concurrency=16)
        args = ["--config", str(config), "--dataset", str(write_dataset(tmp / "d.jsonl", items(n))), "--quiet", *GRADED]
        start = time.perf_counter()
        subprocess.run(
            [sys.executable, "-m", "judge", "run", *args, "--run-dir", str(tmp / "runs" / "a")],
            env=env,
            check=True,
            stdout=subprocess.DEVNULL,
        )
        filled = time.perf_counter() - start
        calls = server.count()
        probe = (
            "import sys, runpy; sys.argv = ['judge'] + sys.argv[1:]\n"
            "try:\n    runpy.run_module('judge', run_name='__main__')\n"
            "finally:\n    print('litellm imported:', 'litellm' in sys.modules, file=sys.stderr)\n"
        )
        start = time.perf_counter()
        done = subprocess.run(
            [sys.executable, "-c", probe, "run", *args, "--run-dir", str(tmp / "runs" / "b")],
            env=env,
            capture_output=True,
            text=True,
        )
        cached = time.perf_counter() - start
    finally:
        server.stop()
    print(
        f"{n * 8} verdicts: first run {filled:.1f} s ({calls} calls); cached re-run {cached:.2f} s, "
        f"{server.count() - calls} calls; {done.stderr.strip().splitlines()[-1]}"
    )


if __name__ == "__main__":
    main()
