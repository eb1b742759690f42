"""A loopback OpenAI-compatible chat server whose behaviour tests can script.

Stdlib only: asyncio streams and a small HTTP/1.1 parser (keep-alive, Content-Length or chunked
request bodies). It answers ``POST /v1/chat/completions`` (and ``/chat/completions``) with a
``chat.completion`` whose content is a verdict built from the request's JSON Schema, and
``GET /v1/models``. Everything it receives is recorded.

In a test (the ``fake_server`` fixture in conftest.py does this for you)::

    with FakeServer(latency_ms=5) as server:
        server.script(Status(429, retry_after=2), Reply({"severity": 3}), model="judge-a")
        ...  # litellm.acompletion(model="openai/judge-a", api_base=server.base_url, ...)
        assert server.count("judge-a") == 2

For benchmarks, as its own process (prints the port, serves until killed)::

    python -m tests.fakeserver --port 0 --latency-ms 50 --print-port [--faults p429=0.2,seed=1]

What a request gets, first match wins: a refused response format (``refuse_formats``), the
model's script, the global script, the model's or the global FaultPlan, then the model's or the
global responder (default: a minimal valid instance of the request's ``response_format``
schema, in OpenAI's json_schema form or llama.cpp's json_object-with-schema form). A ``strict``
script that runs out answers HTTP 500 "script exhausted" and records the failure in
``script_errors``; ``check()`` raises on it.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import copy
import hashlib
import itertools
import json
import random
import signal
import sys
import threading
import time
import traceback
from collections import deque
from collections.abc import Awaitable, Callable, Iterable, Mapping
from dataclasses import dataclass, field, fields
from typing import Any

__all__ = [
    "GENERIC_VERDICT",
    "GENERIC_VERDICT_V2",
    "LLAMA_CPP_FORMAT_ERROR",
    "Behaviour",
    "Delay",
    "Disconnect",
    "FakeServer",
    "FaultPlan",
    "Fenced",
    "Malformed",
    "RecordedRequest",
    "Reply",
    "Responder",
    "SchemaBreaking",
    "Stall",
    "Status",
    "format_mode",
    "minimal_instance",
    "request_schema",
    "with_fields",
]

Responder = Callable[[dict[str, Any]], "str | dict[str, Any]"]

# A valid verdict of the latest graded schema (graded@3), and of graded@1 and @2.
GENERIC_VERDICT: dict[str, Any] = {
    "abstain_reason": None,
    "evidence": [],
    "rationale": "fake",
    "severity": 1,
    "amplification": 0,
    "confidence": 0.5,
}
GENERIC_VERDICT_V2: dict[str, Any] = {
    "evidence": [],
    "rationale": "fake",
    "severity": 1,
    "overcorrection": False,
    "confidence": 0.5,
}
# llama-cpp-python 0.3.36's server's answer (HTTP 500) to response_format type json_schema, as
# measured (shared/notes/local-servers.md), less its traceback lines.
LLAMA_CPP_FORMAT_ERROR = (
    "1 validation error:\n  {'type': 'literal_error', 'loc': ('body', 'response_format', 'type'), "
    "'msg': \"Input should be 'text' or 'json_object'\", 'input': 'json_schema', "
    "'ctx': {'expected': \"'text' or 'json_object'\"}}"
)
CHAT_PATHS = frozenset({"/v1/chat/completions", "/chat/completions"})
MODELS_PATHS = frozenset({"/v1/models", "/models"})
MAX_BODY = 64 * 1024 * 1024


# --- behaviours -----------------------------------------------------------------------------


@dataclass(frozen=True)
class Reply:
    """A 200 whose message content is ``content`` (a dict is JSON-encoded); ``None`` = default."""

    content: str | dict[str, Any] | None = None
    usage: dict[str, Any] | None = None
    finish_reason: str = "stop"


@dataclass(frozen=True)
class Status:
    """An HTTP error. ``body`` defaults to an OpenAI-style error object for ``code``.

    ``retry_after`` (seconds) becomes a ``Retry-After`` header; ``headers`` adds any others.
    """

    code: int
    body: str | dict[str, Any] | None = None
    retry_after: float | str | None = None
    headers: Mapping[str, str] | None = None


@dataclass(frozen=True)
class Delay:
    """Wait ``ms`` on top of the base latency, then behave as ``then`` (default: a normal reply)."""

    ms: float
    then: Behaviour | None = None


@dataclass(frozen=True)
class Stall:
    """Never answer: hold the connection until the client gives up or the server stops."""


@dataclass(frozen=True)
class Disconnect:
    """Close the connection without answering (the client sees a connection error)."""


@dataclass(frozen=True)
class Malformed:
    """A 200 whose content is not JSON, like a chatty model cut off mid-verdict."""

    text: str = 'Sure! Here is the verdict: {"severity": 2'


@dataclass(frozen=True)
class SchemaBreaking:
    """A 200 with valid JSON that breaks the schema: first required key dropped and, where the
    schema has a bounded number or an enum, that value put out of range."""


@dataclass(frozen=True)
class Fenced:
    """A 200 with a valid verdict inside a ```json fence, wrapped in prose."""

    before: str = "Here is my assessment of the response.\n\n"
    after: str = "\n\nLet me know if you need anything else."


Behaviour = Reply | Status | Delay | Stall | Disconnect | Malformed | SchemaBreaking | Fenced


# --- fault plan -----------------------------------------------------------------------------


@dataclass(frozen=True)
class FaultPlan:
    """Random faults for soak tests, each with its probability per request.

    The draw for a request is seeded by (seed, model, request body, how many times that exact body
    was seen before), so which requests fail does not depend on arrival order or concurrency,
    while a retry of the same request draws afresh. ``retry_after`` (seconds, or None for no
    header) goes on every 429.
    """

    p429: float = 0.0
    p500: float = 0.0
    p503: float = 0.0
    p_malformed: float = 0.0
    p_schema: float = 0.0
    p_fenced: float = 0.0
    p_stall: float = 0.0
    p_disconnect: float = 0.0
    retry_after: float | None = None
    seed: int = 0

    def __post_init__(self) -> None:
        probs = [getattr(self, f.name) for f in fields(self) if f.name.startswith("p")]
        if any(p < 0 or p > 1 for p in probs) or sum(probs) > 1 + 1e-9:
            raise ValueError(f"FaultPlan probabilities must lie in [0, 1] and sum to <= 1: {self}")

    @classmethod
    def parse(cls, spec: str) -> FaultPlan:
        """``"p429=0.2,p500=0.05,retry_after=0.05,seed=1"`` -> FaultPlan (for the CLI)."""
        kwargs: dict[str, Any] = {}
        names = {f.name for f in fields(cls)}
        for part in filter(None, (p.strip() for p in spec.split(","))):
            key, sep, value = part.partition("=")
            if not sep or key not in names:
                raise ValueError(f"bad fault spec {part!r}; keys: {', '.join(sorted(names))}")
            kwargs[key] = int(value) if key == "seed" else float(value)
        return cls(**kwargs)

    def draw(self, key: str) -> Behaviour | None:
        """The fault for the request identified by ``key``, or None for a normal reply."""
        u = random.Random(f"{self.seed}|{key}").random()
        for p, behaviour in (
            (self.p429, Status(429, retry_after=self.retry_after)),
            (self.p500, Status(500)),
            (self.p503, Status(503)),
            (self.p_malformed, Malformed()),
            (self.p_schema, SchemaBreaking()),
            (self.p_fenced, Fenced()),
            (self.p_stall, Stall()),
            (self.p_disconnect, Disconnect()),
        ):
            if u < p:
                return behaviour
            u -= p
        return None


# --- schema instances -----------------------------------------------------------------------


def request_schema(body: Mapping[str, Any]) -> dict[str, Any] | None:
    """The JSON Schema in a chat request's ``response_format``, if it declares one.

    Both OpenAI's ``json_schema`` type and llama.cpp's ``json_object`` with a ``schema`` count.
    Other providers' request bodies are understood too (tests/providers.py serves them): an
    Anthropic ``output_format`` or forced tool's ``input_schema``, and an Ollama ``format``.
    """
    fmt = body.get("response_format")
    if isinstance(fmt, dict) and fmt.get("type") == "json_schema":
        schema = (fmt.get("json_schema") or {}).get("schema")
        return schema if isinstance(schema, dict) else None
    if isinstance(fmt, dict) and fmt.get("type") == "json_object" and isinstance(fmt.get("schema"), dict):
        return fmt["schema"]
    if fmt is not None:
        return None
    return _other_provider_schema(body)


def format_mode(body: Mapping[str, Any]) -> str:
    """Which response-format form an OpenAI-format request uses: json_schema,
    json_object_schema (llama.cpp's), json_object, or none."""
    fmt = body.get("response_format")
    if not isinstance(fmt, dict):
        return "none"
    if fmt.get("type") == "json_object":
        return "json_object_schema" if "schema" in fmt else "json_object"
    return str(fmt.get("type"))


def _other_provider_schema(body: Mapping[str, Any]) -> dict[str, Any] | None:
    output_format = body.get("output_format")  # Anthropic structured outputs
    if isinstance(output_format, dict) and isinstance(output_format.get("schema"), dict):
        return output_format["schema"]
    choice = body.get("tool_choice")  # Anthropic forced tool: {"type": "tool", "name": ...}
    if isinstance(choice, dict) and choice.get("type") == "tool":
        for tool in body.get("tools") or []:
            if isinstance(tool, dict) and tool.get("name") == choice.get("name"):
                schema = tool.get("input_schema")
                return schema if isinstance(schema, dict) else None
    ollama_format = body.get("format")  # Ollama: the schema itself, or the string "json"
    return ollama_format if isinstance(ollama_format, dict) else None


def minimal_instance(schema: Mapping[str, Any], root: Mapping[str, Any] | None = None) -> Any:
    """A deterministic small instance valid against ``schema``.

    Objects get every listed property, arrays ``minItems`` items, integers their minimum (so a
    severity is 0), bounded numbers the middle of their range (so ratios such as
    (src - resp) / src are defined), strings "fake", booleans False, enums their first option,
    nullable fields (a type list with "null") null. Handles ``const``, type lists,
    anyOf/oneOf/allOf (first branch) and local ``$ref``s.
    """
    root = schema if root is None else root
    if "$ref" in schema:
        return minimal_instance(_resolve_ref(root, schema["$ref"]), root)
    if "const" in schema:
        return copy.deepcopy(schema["const"])
    if "enum" in schema:
        return copy.deepcopy(schema["enum"][0])
    for key in ("anyOf", "oneOf", "allOf"):
        if schema.get(key):
            return minimal_instance(schema[key][0], root)
    kind = schema.get("type")
    if isinstance(kind, list):
        if "null" in kind:
            return None  # the smallest valid value (a graded v3 verdict that does not abstain)
        kind = next(iter(kind), "null")
    if kind is None:
        kind = "object" if "properties" in schema else "string"
    if kind == "object":
        props = schema.get("properties", {})
        names = list(props) + [r for r in schema.get("required", []) if r not in props]
        return {n: minimal_instance(props.get(n, {"type": "string"}), root) for n in names}
    if kind == "array":
        item = schema.get("items", {"type": "string"})
        return [minimal_instance(item, root) for _ in range(int(schema.get("minItems", 0)))]
    if kind == "integer":
        return _integer(schema)
    if kind == "number":
        return _number(schema)
    if kind == "boolean":
        return False
    if kind == "null":
        return None
    return _string(schema)


def _resolve_ref(root: Mapping[str, Any], ref: str) -> Mapping[str, Any]:
    if not ref.startswith("#/"):
        raise ValueError(f"fake server resolves only local $refs, got {ref!r}")
    node: Any = root
    for part in ref[2:].split("/"):
        node = node[part.replace("~1", "/").replace("~0", "~")]
    return node


def _integer(schema: Mapping[str, Any]) -> int:
    if "minimum" in schema:
        return int(-(-schema["minimum"] // 1))  # ceil without importing math for one call
    if "exclusiveMinimum" in schema:
        return int(schema["exclusiveMinimum"] // 1) + 1
    if "maximum" in schema:
        return min(0, int(schema["maximum"] // 1))
    return 0


def _number(schema: Mapping[str, Any]) -> float:
    lo = schema.get("minimum", schema.get("exclusiveMinimum"))
    hi = schema.get("maximum", schema.get("exclusiveMaximum"))
    if lo is not None and hi is not None:
        return (lo + hi) / 2
    if lo is not None:
        return float(lo) + (1.0 if "exclusiveMinimum" in schema else 0.0)
    if hi is not None:
        return min(0.0, float(hi) - (1.0 if "exclusiveMaximum" in schema else 0.0))
    return 0.0


def _string(schema: Mapping[str, Any]) -> str:
    text = "fake"
    lo, hi = int(schema.get("minLength", 0)), schema.get("maxLength")
    if len(text) < lo:
        text = text + "x" * (lo - len(text))
    return text if hi is None else text[: int(hi)]


def _break(schema: Mapping[str, Any] | None) -> dict[str, Any]:
    if schema is None:
        return {"rationale": "fake", "severity": 9}
    inst = minimal_instance(schema)
    if not isinstance(inst, dict):
        return {"unexpected": inst}
    props = schema.get("properties", {})
    for name, sub in props.items():
        if name not in inst or not isinstance(sub, dict):
            continue
        if "maximum" in sub:
            inst[name] = sub["maximum"] + 5
            break
        if "enum" in sub:
            inst[name] = "not-an-option"
            break
    required = [r for r in schema.get("required", []) if r in inst]
    if required:
        del inst[required[0]]
    return inst


def with_fields(**values: Any) -> Responder:
    """A responder: the minimal valid verdict with some top-level fields fixed.

    ``server.set_responder(with_fields(severity=4), model="judge-a")`` makes judge-a harsh.
    """

    def responder(body: dict[str, Any]) -> dict[str, Any]:
        schema = request_schema(body)
        base = minimal_instance(schema) if schema else dict(GENERIC_VERDICT)
        return {**base, **values}

    return responder


# --- recording ------------------------------------------------------------------------------


@dataclass
class RecordedRequest:
    """One request as the server saw it; ``outcome`` says what it did ("reply", "status:429")."""

    method: str
    path: str
    headers: dict[str, str]
    body: Any
    timestamp: float
    monotonic: float
    outcome: str = ""

    @property
    def model(self) -> str | None:
        return self.body.get("model") if isinstance(self.body, dict) else None


@dataclass
class _Script:
    queue: deque[Behaviour] = field(default_factory=deque)
    strict: bool = True


# --- the server -----------------------------------------------------------------------------


class FakeServer:
    """A loopback OpenAI-compatible server on its own event loop in a background thread.

    Args:
        latency_ms: added before every answer (asyncio.sleep, so it costs no CPU).
        responder: default content builder, ``body -> str | dict``.
        responders: per-model responders. Models are named as the server sees them ("judge-a");
            an "openai/" prefix is dropped, as LiteLLM drops it, wherever a model is named.
        fault_plan: a global FaultPlan; ``set_fault_plan(plan, model=...)`` for one model.
        host, port: where to listen; port 0 picks a free one.
        keep_requests: keep only the latest N in ``requests`` (None = all); ``count()`` still
            counts everything, so long soak runs need not hold every body in memory.
    """

    def __init__(
        self,
        *,
        latency_ms: float = 0.0,
        responder: Responder | None = None,
        responders: Mapping[str, Responder] | None = None,
        fault_plan: FaultPlan | None = None,
        host: str = "127.0.0.1",
        port: int = 0,
        keep_requests: int | None = None,
    ) -> None:
        self.latency_ms = latency_ms
        self.host = host
        self.port = port
        self.script_errors: list[str] = []
        self.handler_errors: list[str] = []
        self._responders: dict[str | None, Responder] = {
            _model_key(k): v for k, v in (responders or {}).items()
        }
        if responder is not None:
            self._responders[None] = responder
        self._plans: dict[str | None, FaultPlan] = {}
        if fault_plan is not None:
            self._plans[None] = fault_plan
        self._scripts: dict[str | None, _Script] = {}
        self._refused: dict[str, tuple[int, str]] = {}
        self._requests: deque[RecordedRequest] = deque(maxlen=keep_requests)
        self._counts: dict[str | None, int] = {}
        self._seen_bodies: dict[str, int] = {}
        self._lock = threading.Lock()
        self._ids = itertools.count(1)
        self._instance_cache: dict[str, str] = {}
        self._in_flight: dict[str | None, int] = {}
        self._peak: dict[str | None, int] = {}
        self._loop: asyncio.AbstractEventLoop | None = None
        self._server: asyncio.Server | None = None
        self._thread: threading.Thread | None = None

    # -- lifecycle --

    @property
    def base_url(self) -> str:
        """``http://127.0.0.1:PORT/v1``, the ``api_base`` to give LiteLLM or openai."""
        return f"http://{self.host}:{self.port}/v1"

    def start(self) -> str:
        """Start serving in a background thread; returns ``base_url``."""
        if self._thread is not None:
            raise RuntimeError("FakeServer already started")
        ready = threading.Event()
        failure: list[BaseException] = []

        def run() -> None:
            loop = asyncio.new_event_loop()
            self._loop = loop
            try:
                loop.run_until_complete(self._bind())
            except BaseException as exc:  # reported to start()'s caller below
                failure.append(exc)
                ready.set()
                loop.close()
                return
            ready.set()
            try:
                loop.run_forever()
            finally:
                loop.run_until_complete(self._shutdown())
                loop.close()

        self._thread = threading.Thread(target=run, name="FakeServer", daemon=True)
        self._thread.start()
        ready.wait()
        if failure:
            self._thread.join()
            self._thread = None
            raise failure[0]
        return self.base_url

    def stop(self) -> None:
        """Stop serving, dropping open connections (stalled ones included)."""
        if self._thread is None or self._loop is None:
            return
        self._loop.call_soon_threadsafe(self._loop.stop)
        self._thread.join(timeout=10)
        self._thread = None

    def __enter__(self) -> FakeServer:
        self.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop()

    async def _bind(self) -> None:
        self._server = await asyncio.start_server(
            self._on_connect, self.host, self.port, limit=MAX_BODY, backlog=1024
        )
        self.port = self._server.sockets[0].getsockname()[1]

    async def _shutdown(self) -> None:
        if self._server is not None:
            self._server.close()
        await asyncio.sleep(0)  # let connections accepted just now start, so they get cancelled too
        # Every other task on this private loop is a connection (or its close); end them all.
        tasks = [t for t in asyncio.all_tasks() if t is not asyncio.current_task()]
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)
        if self._server is not None:
            await self._server.wait_closed()

    # -- configuration (thread-safe; call from the test thread) --

    def script(self, *behaviours: Behaviour, model: str | None = None, strict: bool = True) -> None:
        """Queue behaviours, one consumed per request, for ``model`` (None = any model).

        With ``strict`` (the default) a request that finds the script empty is a test bug: it gets
        HTTP 500 "script exhausted" and is recorded in ``script_errors``. Calling again appends.
        """
        model = _model_key(model)
        with self._lock:
            entry = self._scripts.setdefault(model, _Script(strict=strict))
            entry.strict = strict
            entry.queue.extend(behaviours)

    def refuse_formats(self, *modes: str, status: int = 500, message: str = LLAMA_CPP_FORMAT_ERROR) -> None:
        """Answer every request whose response format is one of ``modes`` (see ``format_mode``)
        with ``status`` and ``message``, as a server that does not take that form does. The
        default is llama-cpp-python's answer to ``json_schema``. Calling again adds modes."""
        with self._lock:
            for mode in modes:
                self._refused[mode] = (status, message)

    def set_responder(self, responder: Responder | None, model: str | None = None) -> None:
        model = _model_key(model)
        with self._lock:
            if responder is None:
                self._responders.pop(model, None)
            else:
                self._responders[model] = responder

    def set_fault_plan(self, plan: FaultPlan | None, model: str | None = None) -> None:
        model = _model_key(model)
        with self._lock:
            if plan is None:
                self._plans.pop(model, None)
            else:
                self._plans[model] = plan

    def reset(self) -> None:
        """Forget requests, scripts, errors and peaks; keep responders, plans and latency."""
        with self._lock:
            self._requests.clear()
            self._counts.clear()
            self._scripts.clear()
            self._seen_bodies.clear()
            self._peak.clear()
            self.script_errors.clear()
            self.handler_errors.clear()

    # -- inspection --

    @property
    def requests(self) -> list[RecordedRequest]:
        """A snapshot of every request received, in arrival order."""
        with self._lock:
            return list(self._requests)

    def count(self, model: str | None = None) -> int:
        """Chat-completion requests received, for one model or all."""
        with self._lock:
            return self._counts.get(_model_key(model), 0)

    def peak_in_flight(self, model: str | None = None) -> int:
        """Most chat requests held at once (for one model, or all): checks client concurrency."""
        return self._peak.get(_model_key(model), 0)

    def pending_script(self, model: str | None = None) -> int:
        """Behaviours still queued for ``model`` (None = the global script)."""
        with self._lock:
            entry = self._scripts.get(_model_key(model))
            return len(entry.queue) if entry else 0

    def take_errors(self) -> list[str]:
        """Return and clear the recorded script and handler errors."""
        with self._lock:
            errors = self.script_errors + self.handler_errors
            self.script_errors.clear()
            self.handler_errors.clear()
        return errors

    def check(self) -> None:
        """Raise AssertionError if a strict script ran out or a responder raised."""
        errors = self.script_errors + self.handler_errors
        if errors:
            raise AssertionError("fake server errors:\n" + "\n".join(errors))

    # -- HTTP --

    async def _on_connect(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        try:
            await self._serve_connection(reader, writer)
        except (ConnectionError, asyncio.IncompleteReadError, asyncio.CancelledError):
            pass
        finally:
            writer.close()
            # Swallow a cancel here too: the loop stops anyway, and a task that ends cancelled
            # makes asyncio's stream callback log a traceback per connection on 3.11.
            with contextlib.suppress(Exception, asyncio.CancelledError):
                await writer.wait_closed()

    async def _serve_connection(
        self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter
    ) -> None:
        while True:
            try:
                head = await reader.readuntil(b"\r\n\r\n")
            except asyncio.IncompleteReadError:
                return  # client closed between requests: the normal end of keep-alive
            except asyncio.LimitOverrunError:
                await self._write(writer, 431, {"error": {"message": "headers too large"}}, {})
                return
            lines = head.decode("latin-1").split("\r\n")
            try:
                method, target, version = lines[0].split(" ", 2)
            except ValueError:
                await self._write(writer, 400, {"error": {"message": "bad request line"}}, {})
                return
            headers: dict[str, str] = {}
            for line in lines[1:]:
                if line:
                    name, _, value = line.partition(":")
                    headers[name.strip().lower()] = value.strip()
            if "chunked" in headers.get("transfer-encoding", "").lower():
                raw = await _read_chunked(reader)
            else:
                length = int(headers.get("content-length") or 0)
                raw = await reader.readexactly(length) if length else b""
            conn = headers.get("connection", "").lower()
            keep_alive = conn != "close" if version == "HTTP/1.1" else conn == "keep-alive"
            path = target.split("?", 1)[0]
            if not await self._dispatch(method, path, headers, raw, reader, writer, keep_alive):
                return
            if not keep_alive:
                return

    async def _dispatch(
        self,
        method: str,
        path: str,
        headers: dict[str, str],
        raw: bytes,
        reader: asyncio.StreamReader,
        writer: asyncio.StreamWriter,
        keep_alive: bool,
    ) -> bool:
        """Answer one request; False when the connection must close."""
        body: Any = None
        if raw:
            try:
                body = json.loads(raw)
            except ValueError:
                body = raw.decode("utf-8", "replace")
        rec = RecordedRequest(method, path, headers, body, time.time(), time.monotonic())
        with self._lock:
            self._requests.append(rec)
        if path in MODELS_PATHS and method == "GET":
            rec.outcome = "models"
            await self._write(writer, 200, self._models_payload(), {}, keep_alive)
            return True
        handler = self._route(method, path)
        if handler is not None:
            return await handler(rec, raw, reader, writer, keep_alive)
        if path not in CHAT_PATHS:
            rec.outcome = "status:404"
            await self._write(writer, 404, _error_body(404, f"no route {path}"), {}, keep_alive)
            return True
        if method != "POST":
            rec.outcome = "status:405"
            await self._write(writer, 405, _error_body(405, "use POST"), {}, keep_alive)
            return True
        if not isinstance(body, dict):
            rec.outcome = "status:400"
            await self._write(writer, 400, _error_body(400, "body is not a JSON object"), {})
            return True
        return await self._serve_chat(rec, body, raw, reader, writer, keep_alive, OPENAI_WIRE)

    def _route(self, method: str, path: str) -> RouteHandler | None:
        """Hook for subclasses: a handler for a path this server does not serve itself."""
        return None

    async def _serve_chat(
        self,
        rec: RecordedRequest,
        body: dict[str, Any],
        raw: bytes,
        reader: asyncio.StreamReader,
        writer: asyncio.StreamWriter,
        keep_alive: bool,
        wire: Wire,
    ) -> bool:
        """One chat request in ``wire``'s format: count it, pick its behaviour, answer."""
        model = body.get("model")
        with self._lock:
            for key in (None, model) if model is not None else (None,):
                self._counts[key] = self._counts.get(key, 0) + 1
        self._enter(model)
        try:
            refused = self._refused.get(format_mode(body))
            if refused is not None:
                rec.outcome = f"refused:{format_mode(body)}"
                await self._write(writer, refused[0], wire.error(refused[0], refused[1]), {}, keep_alive)
                return True
            behaviour = self._choose(model, raw)
            if self.latency_ms:
                await asyncio.sleep(self.latency_ms / 1000)
            return await self._perform(behaviour, rec, body, reader, writer, keep_alive, wire)
        finally:
            self._leave(model)

    def _enter(self, model: str | None) -> None:
        # Runs on the server's loop thread only, so plain dict updates are race-free.
        for key in (None, model) if model is not None else (None,):
            n = self._in_flight.get(key, 0) + 1
            self._in_flight[key] = n
            if n > self._peak.get(key, 0):
                self._peak[key] = n

    def _leave(self, model: str | None) -> None:
        for key in (None, model) if model is not None else (None,):
            self._in_flight[key] -= 1

    def _choose(self, model: str | None, raw: bytes) -> Behaviour | _Exhausted | None:
        with self._lock:
            for key in (model, None):
                entry = self._scripts.get(key)
                if entry is None:
                    continue
                if entry.queue:
                    return entry.queue.popleft()
                if entry.strict:
                    scope = f"model {key!r}" if key is not None else "the global script"
                    msg = f"script exhausted for {scope} (request for model {model!r})"
                    self.script_errors.append(msg)
                    return _Exhausted(msg)
            plan = self._plans.get(model) or self._plans.get(None)
            if plan is None:
                return None
            digest = hashlib.blake2b(raw, digest_size=16).hexdigest()
            seen = self._seen_bodies.get(digest, 0)
            self._seen_bodies[digest] = seen + 1
        return plan.draw(f"{model}|{digest}|{seen}")

    async def _perform(
        self,
        behaviour: Behaviour | _Exhausted | None,
        rec: RecordedRequest,
        body: dict[str, Any],
        reader: asyncio.StreamReader,
        writer: asyncio.StreamWriter,
        keep_alive: bool,
        wire: Wire,
    ) -> bool:
        behaviour = await _settle(behaviour)
        if isinstance(behaviour, Stall):
            rec.outcome = "stall"
            # Wait for the client to hang up; any bytes it sends meanwhile are ignored.
            while await reader.read(65536):
                pass
            return False
        if isinstance(behaviour, Disconnect):
            rec.outcome = "disconnect"
            return False
        answer = self._answer(behaviour, body, wire)
        rec.outcome = answer.outcome
        await self._write(writer, answer.code, answer.payload, answer.headers, keep_alive)
        return True

    def _answer(
        self,
        behaviour: Behaviour | _Exhausted | None,
        body: dict[str, Any],
        wire: Wire,
    ) -> Answer:
        """What a settled behaviour (no Delay, Stall or Disconnect) answers, in ``wire``'s format."""
        if isinstance(behaviour, Delay | Stall | Disconnect):
            raise TypeError(f"{behaviour!r} does not produce an answer")
        if isinstance(behaviour, _Exhausted):
            error = wire.error(500, behaviour.message, "script_exhausted")
            return Answer(500, error, {"x-fake-script-exhausted": "1"}, "script-exhausted")
        if isinstance(behaviour, Status):
            extra = dict(behaviour.headers or {})
            if behaviour.retry_after is not None:
                extra["retry-after"] = _fmt_seconds(behaviour.retry_after)
            payload = behaviour.body if behaviour.body is not None else wire.error(behaviour.code)
            return Answer(behaviour.code, payload, extra, f"status:{behaviour.code}")
        schema = wire.schema(body)
        usage: dict[str, Any] | None = None
        finish = "stop"
        if isinstance(behaviour, Malformed):
            outcome, content = "malformed", behaviour.text
        elif isinstance(behaviour, SchemaBreaking):
            outcome, content = "schema-breaking", json.dumps(_break(schema))
        elif isinstance(behaviour, Fenced):
            fenced = self._content(body, schema, None)
            if fenced is None:
                return self._responder_failed(wire)
            outcome = "fenced"
            content = f"{behaviour.before}```json\n{fenced}\n```{behaviour.after}"
        else:
            reply = behaviour if isinstance(behaviour, Reply) else Reply()
            produced = self._content(body, schema, reply.content)
            if produced is None:
                return self._responder_failed(wire)
            outcome, content = "reply", produced
            usage, finish = reply.usage, reply.finish_reason
        return Answer(200, wire.completion(self, body, content, usage, finish), {}, outcome)

    def _content(
        self,
        body: dict[str, Any],
        schema: dict[str, Any] | None,
        given: str | dict[str, Any] | None,
    ) -> str | None:
        """The message text: ``given``, else the responder's, else the schema instance."""
        if given is not None:
            return given if isinstance(given, str) else json.dumps(given)
        model = body.get("model")
        responder = self._responders.get(model) or self._responders.get(None)
        if responder is not None:
            try:
                out = responder(body)
            except Exception:
                with self._lock:
                    self.handler_errors.append(f"responder raised:\n{traceback.format_exc()}")
                return None
            return out if isinstance(out, str) else json.dumps(out)
        if schema is None:
            return json.dumps(GENERIC_VERDICT)
        key = json.dumps(schema, sort_keys=True)
        text = self._instance_cache.get(key)
        if text is None:
            text = self._instance_cache[key] = json.dumps(minimal_instance(schema))
        return text

    def _responder_failed(self, wire: Wire) -> Answer:
        payload = wire.error(500, "fake server responder raised; see server.handler_errors")
        return Answer(500, payload, {}, "responder-error")

    def _completion(
        self,
        body: dict[str, Any],
        content: str,
        usage: dict[str, Any] | None,
        finish_reason: str,
    ) -> dict[str, Any]:
        if usage is None:
            prompt = sum(len(_message_text(m)) for m in body.get("messages") or []) // 4
            completion = len(content) // 4
            usage = {
                "prompt_tokens": prompt,
                "completion_tokens": completion,
                "total_tokens": prompt + completion,
            }
        return {
            "id": f"chatcmpl-fake-{next(self._ids)}",
            "object": "chat.completion",
            "created": int(time.time()),
            "model": body.get("model"),
            "choices": [
                {
                    "index": 0,
                    "message": {"role": "assistant", "content": content},
                    "finish_reason": finish_reason,
                }
            ],
            "usage": usage,
        }

    def _models_payload(self) -> dict[str, Any]:
        with self._lock:
            names = {r.model for r in self._requests if r.model}
            names |= {k for k in (*self._scripts, *self._responders, *self._plans) if k}
        data = [
            {"id": n, "object": "model", "created": 0, "owned_by": "fake"} for n in sorted(names)
        ]
        return {"object": "list", "data": data}

    @staticmethod
    async def _write(
        writer: asyncio.StreamWriter,
        code: int,
        payload: bytes | str | dict[str, Any],
        extra: Mapping[str, str],
        keep_alive: bool = True,
        content_type: str = "application/json",
    ) -> None:
        if isinstance(payload, bytes):
            data = payload
        else:
            data = (payload if isinstance(payload, str) else json.dumps(payload)).encode()
        head = [
            f"HTTP/1.1 {code} {_REASONS.get(code, 'Status')}",
            f"content-type: {content_type}",
            f"content-length: {len(data)}",
            f"connection: {'keep-alive' if keep_alive else 'close'}",
            *(f"{k}: {v}" for k, v in extra.items()),
        ]
        writer.write(("\r\n".join(head) + "\r\n\r\n").encode("latin-1") + data)
        await writer.drain()


@dataclass(frozen=True)
class _Exhausted:
    message: str


@dataclass(frozen=True)
class Answer:
    """A response decided but not yet written: status code, body, extra headers, outcome label."""

    code: int
    payload: str | dict[str, Any]
    headers: Mapping[str, str]
    outcome: str


class Wire:
    """A provider's chat format: where a request's schema is, what a reply and an error look like.

    This base speaks OpenAI's chat completions; tests/providers.py adds Anthropic and Ollama.
    Scripts, fault plans, responders, latency and recording work the same for every wire.
    """

    name = "openai"

    def schema(self, body: Mapping[str, Any]) -> dict[str, Any] | None:
        return request_schema(body)

    def error(
        self, code: int, message: str | None = None, error_code: str | None = None
    ) -> str | dict[str, Any]:
        body = _error_body(code, message)
        if error_code is not None:
            body["error"]["code"] = error_code
        return body

    def completion(
        self,
        server: FakeServer,
        body: dict[str, Any],
        content: str,
        usage: dict[str, Any] | None,
        finish_reason: str,
    ) -> dict[str, Any]:
        return server._completion(body, content, usage, finish_reason)


OPENAI_WIRE = Wire()

# A subclass's handler for an extra route: (recorded request, raw body, reader, writer,
# keep_alive) -> False when the connection must close.
RouteHandler = Callable[
    [RecordedRequest, bytes, asyncio.StreamReader, asyncio.StreamWriter, bool],
    Awaitable[bool],
]


async def _settle(behaviour: Behaviour | _Exhausted | None) -> Behaviour | _Exhausted | None:
    """Sleep through any Delay wrappers; return the behaviour they end in."""
    while isinstance(behaviour, Delay):
        await asyncio.sleep(behaviour.ms / 1000)
        behaviour = behaviour.then
    return behaviour


_REASONS = {
    200: "OK",
    400: "Bad Request",
    401: "Unauthorized",
    403: "Forbidden",
    404: "Not Found",
    405: "Method Not Allowed",
    408: "Request Timeout",
    409: "Conflict",
    422: "Unprocessable Entity",
    429: "Too Many Requests",
    431: "Request Header Fields Too Large",
    500: "Internal Server Error",
    502: "Bad Gateway",
    503: "Service Unavailable",
    504: "Gateway Timeout",
    529: "Overloaded",
}

_ERROR_KINDS = {
    400: ("invalid_request_error", None),
    401: ("invalid_request_error", "invalid_api_key"),
    403: ("permission_error", None),
    404: ("invalid_request_error", "model_not_found"),
    429: ("requests", "rate_limit_exceeded"),
}


def _model_key(model: str | None) -> str | None:
    # LiteLLM strips its provider prefix before sending, so "openai/judge-a" arrives as "judge-a";
    # accept either spelling wherever a test names a model.
    if model is not None and model.startswith("openai/"):
        return model[len("openai/") :]
    return model


def _error_body(code: int, message: str | None = None) -> dict[str, Any]:
    kind, err_code = _ERROR_KINDS.get(code, ("server_error" if code >= 500 else "error", None))
    text = message or f"fake server: HTTP {code} {_REASONS.get(code, '')}".strip()
    return {"error": {"message": text, "type": kind, "param": None, "code": err_code}}


def _fmt_seconds(value: float | str) -> str:
    if isinstance(value, str):
        return value
    return str(int(value)) if float(value).is_integer() else repr(float(value))


def _message_text(message: Any) -> str:
    if not isinstance(message, dict):
        return ""
    content = message.get("content")
    if isinstance(content, str):
        return content
    if isinstance(content, list):
        return "".join(p.get("text", "") for p in content if isinstance(p, dict))
    return ""


async def _read_chunked(reader: asyncio.StreamReader) -> bytes:
    parts: list[bytes] = []
    while True:
        size = int((await reader.readuntil(b"\r\n")).split(b";", 1)[0], 16)
        if size == 0:
            while (await reader.readuntil(b"\r\n")) != b"\r\n":
                pass  # trailers
            return b"".join(parts)
        parts.append(await reader.readexactly(size))
        await reader.readexactly(2)


# --- command line ---------------------------------------------------------------------------


def main(argv: Iterable[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m tests.fakeserver", description="Loopback OpenAI-compatible fake server."
    )
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=0)
    parser.add_argument("--latency-ms", type=float, default=0.0)
    parser.add_argument("--faults", default="", help="FaultPlan spec, e.g. p429=0.2,seed=1")
    parser.add_argument("--print-port", action="store_true", help="print the bound port first")
    parser.add_argument(
        "--keep-requests", type=int, default=1000, help="recorded requests kept (bounds memory)"
    )
    args = parser.parse_args(list(argv) if argv is not None else None)
    plan = FaultPlan.parse(args.faults) if args.faults else None
    server = FakeServer(
        latency_ms=args.latency_ms,
        fault_plan=plan,
        host=args.host,
        port=args.port,
        keep_requests=args.keep_requests,
    )

    async def serve() -> None:
        await server._bind()
        if args.print_port:
            print(server.port, flush=True)
        else:
            print(f"serving on {server.base_url}", file=sys.stderr, flush=True)
        done = asyncio.Event()
        loop = asyncio.get_running_loop()
        for sig in (signal.SIGINT, signal.SIGTERM):
            loop.add_signal_handler(sig, done.set)
        await done.wait()
        await server._shutdown()

    asyncio.run(serve())
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
