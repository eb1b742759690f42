"""How many chat requests per second the fake server answers, so client benchmarks know their
ceiling. The server runs as its own process (as benchmarks use it); a raw asyncio client keeps
N keep-alive connections busy for a few seconds, each sending a realistic judge request.

    python benchmarks/loopback_capacity.py [--connections 64] [--seconds 3] [--latency-ms 0]
"""

from __future__ import annotations

import argparse
import asyncio
import json
import statistics
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent

# A graded-rubric-sized request: ~2 KB of prompt and the schema, as the pipeline sends.
SCHEMA = {
    "type": "object",
    "properties": {
        "evidence": {
            "type": "array",
            "items": {
                "type": "object",
                "properties": {
                    "side": {"enum": ["source", "response"]},
                    "quote": {"type": "string"},
                },
                "required": ["side", "quote"],
            },
        },
        "rationale": {"type": "string"},
        "severity": {"type": "integer", "minimum": 0, "maximum": 4},
        "overcorrection": {"type": "boolean"},
        "confidence": {"type": "number", "minimum": 0, "maximum": 1},
    },
    "required": ["evidence", "rationale", "severity", "overcorrection", "confidence"],
}
BODY = json.dumps(
    {
        "model": "judge-a",
        "messages": [
            {"role": "system", "content": "You are a careful judge. " * 20},
            {"role": "user", "content": "<<<SOURCE>>>\n" + "Some text. " * 150},
        ],
        "response_format": {
            "type": "json_schema",
            "json_schema": {"name": "sa-graded", "schema": SCHEMA, "strict": False},
        },
    }
).encode()
REQUEST = (
    b"POST /v1/chat/completions HTTP/1.1\r\nhost: 127.0.0.1\r\n"
    b"content-type: application/json\r\nauthorization: Bearer sk-test\r\n"
    + f"content-length: {len(BODY)}\r\n\r\n".encode()
    + BODY
)


async def worker(port: int, deadline: float, latencies: list[float]) -> int:
    reader, writer = await asyncio.open_connection("127.0.0.1", port)
    done = 0
    while time.perf_counter() < deadline:
        start = time.perf_counter()
        writer.write(REQUEST)
        head = await reader.readuntil(b"\r\n\r\n")
        if not head.startswith(b"HTTP/1.1 200"):
            raise RuntimeError(f"unexpected answer: {head[:80]!r}")
        length = int(head.lower().split(b"content-length:", 1)[1].split(b"\r\n", 1)[0])
        await reader.readexactly(length)
        latencies.append(time.perf_counter() - start)
        done += 1
    writer.close()
    return done


async def measure(port: int, connections: int, seconds: float) -> tuple[float, list[float]]:
    latencies: list[float] = []
    start = time.perf_counter()
    deadline = start + seconds
    counts = await asyncio.gather(*(worker(port, deadline, latencies) for _ in range(connections)))
    return sum(counts) / (time.perf_counter() - start), latencies


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--connections", type=int, default=64)
    parser.add_argument("--seconds", type=float, default=3.0)
    parser.add_argument("--latency-ms", type=float, default=0.0)
    parser.add_argument(
        "--in-process",
        action="store_true",
        help="run the server in a thread of this process (as pytest does); shares the GIL",
    )
    args = parser.parse_args()
    if args.in_process:
        sys.path.insert(0, str(ROOT))
        from tests.fakeserver import FakeServer

        with FakeServer(latency_ms=args.latency_ms, keep_requests=1000) as fake:
            asyncio.run(measure(fake.port, args.connections, 0.5))  # warm up
            rate, latencies = asyncio.run(measure(fake.port, args.connections, args.seconds))
        report(args, "in a thread of this process", rate, latencies)
        return 0
    command = [sys.executable, "-m", "tests.fakeserver", "--print-port", "--port=0"]
    server = subprocess.Popen(
        [*command, f"--latency-ms={args.latency_ms}"],
        cwd=ROOT,
        stdout=subprocess.PIPE,
        text=True,
    )
    try:
        assert server.stdout is not None  # set by stdout=PIPE
        port = int(server.stdout.readline())
        asyncio.run(measure(port, args.connections, 0.5))  # warm up
        rate, latencies = asyncio.run(measure(port, args.connections, args.seconds))
    finally:
        server.terminate()
        server.wait(timeout=10)
    report(args, "in a separate process", rate, latencies)
    return 0


def report(args: argparse.Namespace, where: str, rate: float, latencies: list[float]) -> None:
    q = statistics.quantiles(latencies, n=100)
    print(
        f"{rate:,.0f} requests/s at {args.connections} keep-alive connections, server "
        f"{where} (latency_ms={args.latency_ms:g}, {len(latencies)} requests in "
        f"{args.seconds:g} s; per-request p50 {q[49] * 1000:.1f} ms, p99 {q[98] * 1000:.1f} ms)"
    )


if __name__ == "__main__":
    raise SystemExit(main())
