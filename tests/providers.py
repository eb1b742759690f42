"""Loopback servers for other providers' wire formats, built on tests/fakeserver.py.

``ProviderServer`` is a ``FakeServer`` (so the OpenAI chat endpoint, scripts, fault plans,
responders, latency and recording all work as before) that also answers:

* Anthropic Messages, ``POST /v1/messages``: LiteLLM's ``anthropic/NAME`` with
  ``api_base=server.root_url`` (not ``base_url``: LiteLLM appends ``/v1/messages`` itself).
* Ollama, ``POST /api/chat`` (non-streaming) plus ``/api/show`` and ``/api/tags``:
  ``ollama_chat/NAME`` with ``api_base=server.root_url``.
* vLLM needs nothing extra: ``hosted_vllm/NAME`` with ``api_base=server.base_url`` is the
  OpenAI chat endpoint.
* The OpenAI Files and Batches API (``/v1/files``, ``/v1/batches``...): batch lines really run,
  each through the same script / fault plan / responder machinery as a chat request.

What LiteLLM 1.110.2 sends to and expects from each is written up in docs/PROVIDERS-WIRE.md.

Prompt caching is off unless ``server.prompt_caching = PromptCaching(...)``. Then OpenAI-format
replies (chat endpoint and batch lines) report ``usage.prompt_tokens_details.cached_tokens`` for
a prompt prefix seen before, and Anthropic replies report ``cache_creation_input_tokens`` /
``cache_read_input_tokens`` for prefixes that end at a ``cache_control`` breakpoint. Tokens are
the server's usual estimate, characters // 4. An explicit ``Reply(usage=...)`` always wins.

Batches move ``validating`` -> ``in_progress`` -> (``finalizing``) -> ``completed`` as clients
poll ``GET /v1/batches/{id}``; a ``BatchPlan`` says after how many polls or seconds, how many
lines run per poll, when the batch expires instead, and fixed behaviours for some custom_ids.

Anthropic's Message Batches API (``/v1/messages/batches``: create, list, retrieve, results,
cancel) runs on the same machinery: a message batch is ``in_progress`` while the OpenAI-style
stages above run, ``canceling`` while cancelled, then ``ended``; its results are Anthropic's
``succeeded`` / ``errored`` / ``canceled`` / ``expired`` lines, and each request's ``params`` is
answered as a ``POST /v1/messages`` with that body would be (prompt caching included).
"""

from __future__ import annotations

import asyncio
import hashlib
import itertools
import json
import random
import re
import time
from collections import Counter, deque
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any, Literal

from tests.fakeserver import (
    OPENAI_WIRE,
    Behaviour,
    Delay,
    Disconnect,
    FakeServer,
    RecordedRequest,
    RouteHandler,
    Stall,
    Status,
    Wire,
    _error_body,
    _fmt_seconds,
    _message_text,
    _settle,
    request_schema,
)

__all__ = [
    "ANTHROPIC_WIRE",
    "OLLAMA_WIRE",
    "BatchPlan",
    "DropAfter",
    "FakeBatch",
    "PromptCaching",
    "ProviderServer",
    "anthropic_error",
]

BatchOp = Literal["upload", "create", "retrieve", "content", "cancel", "list"]
TERMINAL = frozenset({"completed", "failed", "expired", "cancelled"})
DAY = 24 * 3600


# --- prompt caching -------------------------------------------------------------------------


@dataclass(frozen=True)
class PromptCaching:
    """How the server reports cached prompt tokens.

    ``min_tokens``: a prefix shorter than this is never cached (OpenAI: 1024 tokens).
    ``increment``: OpenAI-style cached counts are whole multiples of this many tokens beyond
    nothing (OpenAI: 128), taken at the longest such boundary whose prefix was seen before.
    Prefixes are remembered per model. Tokens are characters // 4 of the prompt text.
    """

    min_tokens: int = 1024
    increment: int = 128


def _prompt_text(body: Mapping[str, Any]) -> str:
    """The OpenAI-format prompt as one string, roles included, in order."""
    return "".join(
        f"{m.get('role', '')}\n{_message_text(m)}\n"
        for m in body.get("messages") or []
        if isinstance(m, dict)
    )


def _boundary_digests(text: str, step: int) -> list[tuple[int, bytes]]:
    """(end, digest of text[:end]) for every multiple ``end`` of ``step`` within ``text``."""
    digest = hashlib.blake2b(digest_size=16)
    out: list[tuple[int, bytes]] = []
    for end in range(step, len(text) + 1, step):
        digest.update(text[end - step : end].encode())
        out.append((end, digest.copy().digest()))
    return out


def _anthropic_blocks(body: Mapping[str, Any]) -> list[tuple[str, bool]]:
    """Anthropic's cache order (tools, system, messages) as (text, carries cache_control)."""
    blocks: list[tuple[str, bool]] = []
    for tool in body.get("tools") or []:
        if isinstance(tool, dict):
            blocks.append((json.dumps(tool, sort_keys=True), "cache_control" in tool))
    system = body.get("system")
    if isinstance(system, str):
        blocks.append((system, False))
    elif isinstance(system, list):
        blocks.extend((_block_text(b), _has_cache_control(b)) for b in system)
    for message in body.get("messages") or []:
        if not isinstance(message, dict):
            continue
        content = message.get("content")
        role = str(message.get("role", ""))
        if isinstance(content, str):
            blocks.append((f"{role}\n{content}", False))
        elif isinstance(content, list):
            blocks.extend((f"{role}\n{_block_text(b)}", _has_cache_control(b)) for b in content)
    return blocks


def _block_text(block: Any) -> str:
    if not isinstance(block, dict):
        return ""
    if block.get("type") == "text":
        return str(block.get("text", ""))
    return json.dumps({k: v for k, v in block.items() if k != "cache_control"}, sort_keys=True)


def _has_cache_control(block: Any) -> bool:
    return isinstance(block, dict) and "cache_control" in block


# --- wires ----------------------------------------------------------------------------------

_ANTHROPIC_KINDS = {
    400: "invalid_request_error",
    401: "authentication_error",
    403: "permission_error",
    404: "not_found_error",
    413: "request_too_large",
    429: "rate_limit_error",
    500: "api_error",
    529: "overloaded_error",
}


def anthropic_error(code: int, message: str | None = None) -> dict[str, Any]:
    """Anthropic's error body: ``{"type": "error", "error": {"type": ..., "message": ...}}``."""
    kind = _ANTHROPIC_KINDS.get(code, "api_error" if code >= 500 else "invalid_request_error")
    text = message or ("Overloaded" if code == 529 else f"fake server: HTTP {code}")
    return {"type": "error", "error": {"type": kind, "message": text}}


_STOP_REASONS = {"stop": "end_turn", "length": "max_tokens"}


class AnthropicWire(Wire):
    """Anthropic Messages: the verdict goes back as a text block, or as the forced tool's input.

    For ``output_format`` LiteLLM moves bounds the API rejects (minItems >= 2, minimum, maxLength,
    ...) into "Note: ..." descriptions; the default verdict reads them back, as a model would.
    """

    name = "anthropic"

    def schema(self, body: Mapping[str, Any]) -> dict[str, Any] | None:
        schema = request_schema(body)
        return _restore_notes(schema) if schema is not None and "output_format" in body else schema

    def error(
        self, code: int, message: str | None = None, error_code: str | None = None
    ) -> dict[str, Any]:
        return anthropic_error(code, message)

    def completion(
        self,
        server: FakeServer,
        body: dict[str, Any],
        content: str,
        usage: dict[str, Any] | None,
        finish_reason: str,
    ) -> dict[str, Any]:
        n = next(server._ids)
        block: dict[str, Any] = {"type": "text", "text": content}
        stop = _STOP_REASONS.get(finish_reason, finish_reason)
        tool = _forced_tool(body)
        if tool is not None:
            try:
                tool_input = json.loads(content)
            except ValueError:
                tool_input = None
            if isinstance(tool_input, dict):
                block = {"type": "tool_use", "id": f"toolu_fake_{n}", "name": tool, "input": tool_input}
                stop = "tool_use" if finish_reason == "stop" else stop
        if usage is None:
            usage = _anthropic_usage(server, body, content)
        return {
            "id": f"msg_fake_{n}",
            "type": "message",
            "role": "assistant",
            "model": body.get("model"),
            "content": [block],
            "stop_reason": stop,
            "stop_sequence": None,
            "usage": usage,
        }


_NOTE_KEYS = {
    "minimum number of items": "minItems",
    "maximum number of items": "maxItems",
    "exclusive minimum value": "exclusiveMinimum",
    "exclusive maximum value": "exclusiveMaximum",
    "minimum value": "minimum",
    "maximum value": "maximum",
    "minimum length": "minLength",
    "maximum length": "maxLength",
}


def _restore_notes(node: Any) -> Any:
    """A copy of a schema with LiteLLM's "Note: minimum value: 0, ..." turned back into bounds."""
    if isinstance(node, list):
        return [_restore_notes(item) for item in node]
    if not isinstance(node, dict):
        return node
    out = {key: _restore_notes(value) for key, value in node.items()}
    description = node.get("description")
    if isinstance(description, str) and "Note: " in description:
        for part in description.split("Note: ", 1)[1].rstrip(".").split(", "):
            label, _, number = part.partition(": ")
            if label not in _NOTE_KEYS:
                continue
            try:
                value = float(number)
            except ValueError:
                continue
            out.setdefault(_NOTE_KEYS[label], int(value) if value.is_integer() else value)
    return out


def _forced_tool(body: Mapping[str, Any]) -> str | None:
    choice = body.get("tool_choice")
    if isinstance(choice, dict) and choice.get("type") == "tool":
        name = choice.get("name")
        return name if isinstance(name, str) else None
    return None


def _anthropic_usage(server: FakeServer, body: Mapping[str, Any], content: str) -> dict[str, Any]:
    blocks = _anthropic_blocks(body)
    total = sum(len(text) for text, _ in blocks) // 4
    read = created = 0
    if isinstance(server, ProviderServer):
        read, created = server._anthropic_cache(body, blocks)
    return {
        "input_tokens": total - read - created,
        "output_tokens": len(content) // 4,
        "cache_creation_input_tokens": created,
        "cache_read_input_tokens": read,
    }


class OllamaWire(Wire):
    """Ollama ``/api/chat``: the verdict is ``message.content``; errors are ``{"error": text}``.

    ``Reply(usage=...)`` overrides the count fields; a ``None`` value leaves that field out.
    """

    name = "ollama"

    def error(
        self, code: int, message: str | None = None, error_code: str | None = None
    ) -> dict[str, Any]:
        return {"error": message or f"fake server: HTTP {code}"}

    def completion(
        self,
        server: FakeServer,
        body: dict[str, Any],
        content: str,
        usage: dict[str, Any] | None,
        finish_reason: str,
    ) -> dict[str, Any]:
        prompt = sum(len(_message_text(m)) for m in body.get("messages") or []) // 4
        counts: dict[str, Any] = {"prompt_eval_count": prompt, "eval_count": len(content) // 4}
        counts.update(usage or {})
        payload: dict[str, Any] = {
            "model": body.get("model"),
            "created_at": datetime.now(UTC).isoformat().replace("+00:00", "Z"),
            "message": {"role": "assistant", "content": content},
            "done": True,
            "done_reason": finish_reason,
            "total_duration": 1_000_000,
            "load_duration": 1_000,
            "prompt_eval_duration": 1_000,
            "eval_duration": 1_000,
        }
        payload.update({k: v for k, v in counts.items() if v is not None})
        return payload


ANTHROPIC_WIRE = AnthropicWire()
OLLAMA_WIRE = OllamaWire()


# --- batches --------------------------------------------------------------------------------


@dataclass(frozen=True)
class DropAfter:
    """For ``script_batch_api``: do the operation, then close the connection unanswered, so the
    client cannot tell that an upload or a batch creation happened (its retry duplicates it)."""


BatchApiBehaviour = Status | Delay | Stall | Disconnect | DropAfter


@dataclass(frozen=True)
class BatchPlan:
    """How a batch progresses as clients poll ``GET /v1/batches/{id}``.

    A stage ends at the first poll that finds both its poll count and its seconds used up:
    ``validate_polls``/``validate_s`` polls see ``validating``, then ``progress_polls``/
    ``progress_s`` see ``in_progress`` (and at least until every line has run), then
    ``finalize_polls`` see ``finalizing``, then ``completed``. All zero: the first poll sees
    ``completed``. Each poll in progress runs up to ``lines_per_poll`` lines (None: all).

    ``expire_after_polls`` (the poll that first sees ``expired``) or ``expire_after_s`` (since
    creation) expire an unfinished batch: lines not yet run go to the error file with code
    ``batch_expired``. ``line_behaviours`` fixes the behaviour for some custom_ids, ahead of
    scripts and fault plans; a ``Stall`` line never finishes, so only expiry or cancelling ends
    its batch. ``shuffle_output`` writes result lines in a seeded random order (OpenAI does not
    promise input order). ``single_model`` fails validation when lines name different models,
    as OpenAI does. ``line_rule`` picks a behaviour from a line's request body (None: as usual),
    after ``line_behaviours``: for tests that cannot know custom_ids in advance.
    """

    validate_polls: int = 0
    validate_s: float = 0.0
    progress_polls: int = 0
    progress_s: float = 0.0
    finalize_polls: int = 0
    lines_per_poll: int | None = None
    expire_after_polls: int | None = None
    expire_after_s: float | None = None
    line_behaviours: Mapping[str, Behaviour] = field(default_factory=dict)
    shuffle_output: bool = False
    single_model: bool = True
    line_rule: Callable[[dict[str, Any]], Behaviour | None] | None = None


@dataclass
class _File:
    id: str
    filename: str
    purpose: str
    data: bytes
    created_at: int

    def to_json(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "object": "file",
            "bytes": len(self.data),
            "created_at": self.created_at,
            "filename": self.filename,
            "purpose": self.purpose,
            "status": "processed",
            "expires_at": None,
            "status_details": None,
        }


@dataclass
class FakeBatch:
    """A batch as the server holds it; ``server.batch(id)`` returns it for inspection."""

    id: str
    input_file_id: str
    endpoint: str
    completion_window: str
    metadata: dict[str, Any] | None
    plan: BatchPlan
    lines: list[dict[str, Any]]
    validation_errors: list[dict[str, Any]]
    created_at: float
    created_mono: float
    status: str = "validating"
    polls: int = 0
    stage_polls: int = 0
    stage_since: float = 0.0
    next_line: int = 0
    stalled: set[int] = field(default_factory=set)
    outputs: dict[int, dict[str, Any]] = field(default_factory=dict)
    errors: dict[int, dict[str, Any]] = field(default_factory=dict)
    output_file_id: str | None = None
    error_file_id: str | None = None
    times: dict[str, int] = field(default_factory=dict)
    kind: Literal["openai", "anthropic"] = "openai"

    @property
    def custom_ids(self) -> list[str]:
        return [str(line.get("custom_id")) for line in self.lines]

    def to_json(self) -> dict[str, Any]:
        errors = None
        if self.validation_errors and self.status == "failed":
            errors = {"object": "list", "data": self.validation_errors}
        return {
            "id": self.id,
            "object": "batch",
            "endpoint": self.endpoint,
            "errors": errors,
            "input_file_id": self.input_file_id,
            "completion_window": self.completion_window,
            "status": self.status,
            "output_file_id": self.output_file_id,
            "error_file_id": self.error_file_id,
            "created_at": int(self.created_at),
            "expires_at": int(self.created_at) + DAY,
            **{
                f"{stage}_at": self.times.get(stage)
                for stage in (
                    "in_progress",
                    "finalizing",
                    "completed",
                    "failed",
                    "expired",
                    "cancelling",
                    "cancelled",
                )
            },
            "request_counts": {
                "total": len(self.lines),
                "completed": len(self.outputs),
                "failed": len(self.errors),
            },
            "metadata": self.metadata,
        }


_FILE_PATH = re.compile(r"^/files/([^/]+)(/content)?$")
_BATCH_PATH = re.compile(r"^/batches/([^/]+)(/cancel)?$")


# --- the server -----------------------------------------------------------------------------


class ProviderServer(FakeServer):
    """A FakeServer that also speaks Anthropic, Ollama and the OpenAI Files/Batches API.

    Extra args: ``prompt_caching`` (see PromptCaching), ``batch_plan`` (the default BatchPlan).
    """

    def __init__(
        self,
        *args: Any,
        prompt_caching: PromptCaching | None = None,
        batch_plan: BatchPlan | None = None,
        **kwargs: Any,
    ) -> None:
        super().__init__(*args, **kwargs)
        self.prompt_caching = prompt_caching
        self.batch_plan = batch_plan or BatchPlan()
        self._prefixes: set[tuple[Any, ...]] = set()
        self._files: dict[str, _File] = {}
        self._batches: dict[str, FakeBatch] = {}
        self._batch_plans: deque[BatchPlan] = deque()
        self._api_scripts: dict[str, deque[BatchApiBehaviour]] = {}
        self._uploads: Counter[str] = Counter()
        self._submissions: Counter[str] = Counter()
        self._lines_run: Counter[str] = Counter()
        self._file_ids = itertools.count(1)

    @property
    def root_url(self) -> str:
        """``http://127.0.0.1:PORT``: the ``api_base`` for ``anthropic/`` and ``ollama_chat/``."""
        return f"http://{self.host}:{self.port}"

    # -- configuration --

    def script_batches(self, *plans: BatchPlan) -> None:
        """Plans for the next batches created, one each; then ``batch_plan`` again."""
        with self._lock:
            self._batch_plans.extend(plans)

    def script_batch_api(self, op: BatchOp, *behaviours: BatchApiBehaviour) -> None:
        """Queue behaviours for the next ``op`` calls (upload, create, retrieve, content, cancel).

        Status answers an OpenAI-style error instead (nothing happens); Delay waits first; Stall
        and Disconnect do nothing; DropAfter does the operation and then drops the connection.
        When the queue is empty, calls behave normally.
        """
        with self._lock:
            self._api_scripts.setdefault(op, deque()).extend(behaviours)

    def reset(self) -> None:
        """FakeServer.reset, and forget cached prefixes, files, batches and their counters."""
        super().reset()
        with self._lock:
            self._prefixes.clear()
            self._files.clear()
            self._batches.clear()
            self._batch_plans.clear()
            self._api_scripts.clear()
            self._uploads.clear()
            self._submissions.clear()
            self._lines_run.clear()

    # -- inspection --

    def batch(self, batch_id: str) -> FakeBatch:
        with self._lock:
            return self._batches[batch_id]

    @property
    def batches(self) -> list[FakeBatch]:
        """Every batch created, in creation order."""
        with self._lock:
            return list(self._batches.values())

    def upload_count(self, data: bytes) -> int:
        """How many times a file with exactly these bytes was uploaded."""
        with self._lock:
            return self._uploads[hashlib.sha256(data).hexdigest()]

    def submissions(self) -> Counter[str]:
        """custom_id -> how many created batches carried it (1 each: nothing submitted twice)."""
        with self._lock:
            return Counter(self._submissions)

    def lines_run(self) -> Counter[str]:
        """custom_id -> how many times a batch line with it was executed."""
        with self._lock:
            return Counter(self._lines_run)

    def file_bytes(self, file_id: str) -> bytes:
        with self._lock:
            return self._files[file_id].data

    # -- routing --

    def _route(self, method: str, path: str) -> RouteHandler | None:
        if _MESSAGE_BATCH_PATH.match(path):
            return self._message_batches
        if path == "/v1/messages":
            return self._anthropic
        if path == "/api/chat":
            return self._ollama_chat
        if path in ("/api/show", "/api/tags", "/api/version"):
            return self._ollama_info
        # hosted_vllm uses api_base as given, so accept the Files/Batches API without /v1 too.
        short = path[3:] if path.startswith("/v1/") else path
        if short in ("/files", "/batches") or _FILE_PATH.match(short) or _BATCH_PATH.match(short):
            return self._batch_api
        return None

    async def _anthropic(
        self,
        rec: RecordedRequest,
        raw: bytes,
        reader: asyncio.StreamReader,
        writer: asyncio.StreamWriter,
        keep_alive: bool,
    ) -> bool:
        problem: tuple[int, str] | None = None
        if rec.method != "POST":
            problem = (405, "use POST")
        elif "x-api-key" not in rec.headers and "authorization" not in rec.headers:
            problem = (401, "x-api-key header is required")
        elif "anthropic-version" not in rec.headers:
            problem = (400, "anthropic-version: header is required")
        elif not isinstance(rec.body, dict):
            problem = (400, "body is not a JSON object")
        elif "max_tokens" not in rec.body:
            problem = (400, "max_tokens: Field required")
        if problem is not None:
            rec.outcome = f"status:{problem[0]}"
            await self._write(writer, problem[0], anthropic_error(*problem), {}, keep_alive)
            return True
        return await self._serve_chat(rec, rec.body, raw, reader, writer, keep_alive, ANTHROPIC_WIRE)

    async def _ollama_chat(
        self,
        rec: RecordedRequest,
        raw: bytes,
        reader: asyncio.StreamReader,
        writer: asyncio.StreamWriter,
        keep_alive: bool,
    ) -> bool:
        problem: tuple[int, str] | None = None
        if rec.method != "POST":
            problem = (405, "use POST")
        elif not isinstance(rec.body, dict):
            problem = (400, "body is not a JSON object")
        elif rec.body.get("stream", True) is not False:
            # Ollama streams unless told not to; this fake answers only stream=false.
            problem = (400, "fake server answers only stream=false")
        if problem is not None:
            rec.outcome = f"status:{problem[0]}"
            await self._write(writer, problem[0], {"error": problem[1]}, {}, keep_alive)
            return True
        return await self._serve_chat(rec, rec.body, raw, reader, writer, keep_alive, OLLAMA_WIRE)

    async def _ollama_info(
        self,
        rec: RecordedRequest,
        raw: bytes,
        reader: asyncio.StreamReader,
        writer: asyncio.StreamWriter,
        keep_alive: bool,
    ) -> bool:
        rec.outcome = "ollama-info"
        payload: dict[str, Any]
        if rec.path == "/api/version":
            payload = {"version": "0.0.0-fake"}
        elif rec.path == "/api/tags":
            names = sorted({r.model for r in self.requests if r.path == "/api/chat" and r.model})
            payload = {"models": [{"name": n, "model": n, "size": 0} for n in names]}
        else:
            asked = rec.body if isinstance(rec.body, dict) else {}
            name = asked.get("model") or asked.get("name")
            payload = {
                "modelfile": "",
                "parameters": "",
                "template": "{{ .Prompt }}",
                "details": {"family": "fake", "parameter_size": "0B", "quantization_level": "F16"},
                "model_info": {"general.architecture": "fake", "fake.context_length": 8192},
                "capabilities": ["completion"],
                "name": name,
            }
        await self._write(writer, 200, payload, {}, keep_alive)
        return True

    # -- OpenAI-format replies: cached prompt tokens --

    def _completion(
        self,
        body: dict[str, Any],
        content: str,
        usage: dict[str, Any] | None,
        finish_reason: str,
    ) -> dict[str, Any]:
        payload = super()._completion(body, content, usage, finish_reason)
        if usage is None and self.prompt_caching is not None:
            cached = self._openai_cached(body)
            payload["usage"]["prompt_tokens_details"] = {"cached_tokens": cached}
        return payload

    def _openai_cached(self, body: Mapping[str, Any]) -> int:
        """Tokens of the longest remembered prefix at an increment boundary; then remember."""
        caching = self.prompt_caching
        assert caching is not None
        model = body.get("model")
        digests = _boundary_digests(_prompt_text(body), caching.increment * 4)
        hit = 0
        with self._lock:
            for end, digest in digests:
                if (model, digest) in self._prefixes:
                    hit = end
            self._prefixes.update((model, d) for end, d in digests if end // 4 >= caching.min_tokens)
        return hit // 4 if hit // 4 >= caching.min_tokens else 0

    def _anthropic_cache(
        self, body: Mapping[str, Any], blocks: list[tuple[str, bool]]
    ) -> tuple[int, int]:
        """(read, created) tokens for prefixes ending at cache_control breakpoints."""
        caching = self.prompt_caching
        if caching is None:
            return 0, 0
        model = body.get("model")
        digest = hashlib.blake2b(digest_size=16)
        length = 0
        breakpoints: list[tuple[int, bytes]] = []
        for text, marked in blocks:
            digest.update(text.encode() + b"\x00")
            length += len(text)
            if marked and length // 4 >= caching.min_tokens:
                breakpoints.append((length // 4, digest.copy().digest()))
        if not breakpoints:
            return 0, 0
        with self._lock:
            read = max((t for t, d in breakpoints if ("anthropic", model, d) in self._prefixes), default=0)
            self._prefixes.update(("anthropic", model, d) for _, d in breakpoints)
        return read, breakpoints[-1][0] - read

    # -- the Files and Batches API --

    async def _batch_api(
        self,
        rec: RecordedRequest,
        raw: bytes,
        reader: asyncio.StreamReader,
        writer: asyncio.StreamWriter,
        keep_alive: bool,
    ) -> bool:
        short = rec.path[3:] if rec.path.startswith("/v1/") else rec.path
        file_match, batch_match = _FILE_PATH.match(short), _BATCH_PATH.match(short)
        op: BatchOp | None = None
        if short == "/files" and rec.method == "POST":
            op = "upload"
        elif short == "/batches" and rec.method == "POST":
            op = "create"
        elif batch_match and batch_match.group(2) and rec.method == "POST":
            op = "cancel"
        elif batch_match and rec.method == "GET":
            op = "retrieve"
        elif file_match and file_match.group(2) and rec.method == "GET":
            op = "content"
        elif short == "/batches" and rec.method == "GET":
            op = "list"

        async def perform() -> tuple[int, bytes | dict[str, Any], str]:
            return await self._batch_op(rec, raw, short, file_match, batch_match)

        return await self._scripted_op(op, rec, reader, writer, keep_alive, perform, _error_body)

    async def _scripted_op(
        self,
        op: BatchOp | None,
        rec: RecordedRequest,
        reader: asyncio.StreamReader,
        writer: asyncio.StreamWriter,
        keep_alive: bool,
        perform: Any,
        error: Any,
    ) -> bool:
        """One batch API call: the next scripted behaviour for ``op`` if any, else ``perform()``.
        ``error(code)`` is the provider's error body for a scripted Status without a body."""
        behaviour: BatchApiBehaviour | None = None
        if op is not None:
            with self._lock:
                queue = self._api_scripts.get(op)
                behaviour = queue.popleft() if queue else None
        while isinstance(behaviour, Delay):
            await asyncio.sleep(behaviour.ms / 1000)
            then = behaviour.then
            behaviour = then if isinstance(then, BatchApiBehaviour) else None
        if isinstance(behaviour, Status):
            rec.outcome = f"status:{behaviour.code}"
            extra = dict(behaviour.headers or {})
            if behaviour.retry_after is not None:
                extra["retry-after"] = _fmt_seconds(behaviour.retry_after)
            payload = behaviour.body if behaviour.body is not None else error(behaviour.code)
            await self._write(writer, behaviour.code, payload, extra, keep_alive)
            return True
        if isinstance(behaviour, Stall):
            rec.outcome = "stall"
            while await reader.read(65536):
                pass
            return False
        if isinstance(behaviour, Disconnect):
            rec.outcome = "disconnect"
            return False
        code, result, content_type = await perform()
        if isinstance(behaviour, DropAfter):
            rec.outcome = f"dropped-after:{code}"
            return False
        rec.outcome = f"{op or 'batch-api'}:{code}"
        await self._write(writer, code, result, {}, keep_alive, content_type=content_type)
        return True

    # -- Anthropic's Message Batches API --

    async def _message_batches(
        self,
        rec: RecordedRequest,
        raw: bytes,
        reader: asyncio.StreamReader,
        writer: asyncio.StreamWriter,
        keep_alive: bool,
    ) -> bool:
        match = _MESSAGE_BATCH_PATH.match(rec.path)
        assert match is not None
        batch_id, action = match.group(1), match.group(2)
        op: BatchOp | None = None
        if batch_id is None:
            op = "create" if rec.method == "POST" else "list" if rec.method == "GET" else None
        elif action == "/cancel" and rec.method == "POST":
            op = "cancel"
        elif action == "/results" and rec.method == "GET":
            op = "content"
        elif action is None and rec.method == "GET":
            op = "retrieve"

        async def perform() -> tuple[int, bytes | dict[str, Any], str]:
            return await self._message_batch_op(rec, batch_id, action)

        if "x-api-key" not in rec.headers:
            rec.outcome = "status:401"
            await self._write(writer, 401, anthropic_error(401, "x-api-key header is required"), {}, keep_alive)
            return True
        if "anthropic-version" not in rec.headers:
            rec.outcome = "status:400"
            await self._write(writer, 400, anthropic_error(400, "anthropic-version: header is required"), {},
                              keep_alive)
            return True
        return await self._scripted_op(op, rec, reader, writer, keep_alive, perform, anthropic_error)

    async def _message_batch_op(
        self, rec: RecordedRequest, batch_id: str | None, action: str | None
    ) -> tuple[int, bytes | dict[str, Any], str]:
        json_type = "application/json"
        if batch_id is None:
            if rec.method == "POST":
                code, out = self._create_message_batch(rec)
                return code, out, json_type
            if rec.method != "GET":
                return 405, anthropic_error(405, "use GET or POST"), json_type
            with self._lock:
                found = [b for b in reversed(self._batches.values()) if b.kind == "anthropic"]
            data = [_message_batch_json(b, self.root_url) for b in found]
            first, last = (data[0]["id"], data[-1]["id"]) if data else (None, None)
            return 200, {"data": data, "has_more": False, "first_id": first, "last_id": last}, json_type
        with self._lock:
            batch = self._batches.get(batch_id)
        if batch is None or batch.kind != "anthropic":
            return 404, anthropic_error(404, f"message batch '{batch_id}' not found"), json_type
        if action == "/cancel":
            if rec.method != "POST":
                return 405, anthropic_error(405, "use POST"), json_type
            if batch.status in ("validating", "in_progress", "finalizing"):
                batch.status = "cancelling"
                batch.times["cancelling"] = int(time.time())
            return 200, _message_batch_json(batch, self.root_url), json_type
        if rec.method != "GET":
            return 405, anthropic_error(405, "use GET"), json_type
        if action == "/results":
            if batch.status not in TERMINAL:
                return 400, anthropic_error(400, f"message batch {batch.id} has not ended yet"), json_type
            return 200, _message_batch_results(batch), "application/x-jsonl"
        await self._poll(batch)
        return 200, _message_batch_json(batch, self.root_url), json_type

    def _create_message_batch(self, rec: RecordedRequest) -> tuple[int, dict[str, Any]]:
        body = rec.body if isinstance(rec.body, dict) else {}
        requests = body.get("requests")
        if not isinstance(requests, list) or not requests:
            return 400, anthropic_error(400, "requests: must be a non-empty list")
        seen: set[str] = set()
        lines: list[dict[str, Any]] = []
        for index, request in enumerate(requests):
            custom_id = request.get("custom_id") if isinstance(request, dict) else None
            if not isinstance(custom_id, str) or not _ANTHROPIC_CUSTOM_ID.match(custom_id):
                return 400, anthropic_error(400, f"requests.{index}.custom_id: must match ^[a-zA-Z0-9_-]{{1,64}}$")
            if custom_id in seen:
                return 400, anthropic_error(400, f"requests.{index}.custom_id: duplicate custom_id '{custom_id}'")
            seen.add(custom_id)
            params = request.get("params")
            if not isinstance(params, dict) or "max_tokens" not in params or "messages" not in params:
                return 400, anthropic_error(400, f"requests.{index}.params: needs model, max_tokens and messages")
            lines.append({"custom_id": custom_id, "body": params})
        with self._lock:
            plan = self._batch_plans.popleft() if self._batch_plans else self.batch_plan
        now = time.time()
        batch = FakeBatch(
            id=f"msgbatch_fake{next(self._file_ids)}",
            input_file_id="",
            endpoint="/v1/messages",
            completion_window="24h",
            metadata=None,
            plan=plan,
            lines=lines,
            validation_errors=[],
            created_at=now,
            created_mono=time.monotonic(),
            stage_since=time.monotonic(),
            kind="anthropic",
        )
        with self._lock:
            self._batches[batch.id] = batch
            self._submissions.update(batch.custom_ids)
        return 200, _message_batch_json(batch, self.root_url)

    async def _batch_op(
        self,
        rec: RecordedRequest,
        raw: bytes,
        short: str,
        file_match: re.Match[str] | None,
        batch_match: re.Match[str] | None,
    ) -> tuple[int, bytes | dict[str, Any], str]:
        json_type = "application/json"
        if short == "/files":
            if rec.method == "POST":
                code, out = self._upload(rec, raw)
                return code, out, json_type
            with self._lock:
                data = [f.to_json() for f in self._files.values()]
            return 200, {"object": "list", "data": data, "has_more": False}, json_type
        if file_match:
            with self._lock:
                found = self._files.get(file_match.group(1))
            if found is None:
                return 404, _error_body(404, f"No such File object: {file_match.group(1)}"), json_type
            if file_match.group(2):
                return 200, found.data, "application/octet-stream"
            if rec.method == "DELETE":
                with self._lock:
                    self._files.pop(found.id, None)
                return 200, {"id": found.id, "object": "file", "deleted": True}, json_type
            return 200, found.to_json(), json_type
        if short == "/batches":
            if rec.method == "POST":
                code, out = self._create_batch(rec)
                return code, out, json_type
            with self._lock:
                data = [b.to_json() for b in reversed(self._batches.values())]
            return 200, {"object": "list", "data": data, "has_more": False}, json_type
        assert batch_match is not None
        with self._lock:
            batch = self._batches.get(batch_match.group(1))
        if batch is None:
            return 404, _error_body(404, f"No batch found with id '{batch_match.group(1)}'"), json_type
        if batch_match.group(2):
            if rec.method != "POST":
                return 405, _error_body(405, "use POST"), json_type
            if batch.status not in ("validating", "in_progress", "finalizing"):
                msg = f"Cannot cancel a batch with status '{batch.status}'."
                return 409, _error_body(409, msg), json_type
            batch.status = "cancelling"
            batch.times["cancelling"] = int(time.time())
            return 200, batch.to_json(), json_type
        if rec.method != "GET":
            return 405, _error_body(405, "use GET"), json_type
        await self._poll(batch)
        return 200, batch.to_json(), json_type

    def _upload(self, rec: RecordedRequest, raw: bytes) -> tuple[int, dict[str, Any]]:
        fields = _multipart(rec.headers.get("content-type", ""), raw)
        rec.body = {k: (v[0], len(v[1])) if v[0] else v[1].decode() for k, v in fields.items()}
        if "file" not in fields or "purpose" not in fields:
            return 400, _error_body(400, "multipart form needs 'file' and 'purpose'")
        filename, data = fields["file"]
        purpose = fields["purpose"][1].decode()
        found = self._add_file(filename or "upload", purpose, data)
        with self._lock:
            self._uploads[hashlib.sha256(data).hexdigest()] += 1
        return 200, found.to_json()

    def _add_file(self, filename: str, purpose: str, data: bytes) -> _File:
        found = _File(f"file-fake{next(self._file_ids)}", filename, purpose, data, int(time.time()))
        with self._lock:
            self._files[found.id] = found
        return found

    def _create_batch(self, rec: RecordedRequest) -> tuple[int, dict[str, Any]]:
        body = rec.body if isinstance(rec.body, dict) else {}
        missing = [k for k in ("input_file_id", "endpoint", "completion_window") if k not in body]
        if missing:
            return 400, _error_body(400, f"missing required parameter(s): {', '.join(missing)}")
        if body["completion_window"] != "24h":
            return 400, _error_body(400, "completion_window must be '24h'")
        with self._lock:
            source = self._files.get(body["input_file_id"])
        if source is None:
            return 404, _error_body(404, f"No such File object: {body['input_file_id']}")
        with self._lock:
            plan = self._batch_plans.popleft() if self._batch_plans else self.batch_plan
        lines, problems = _parse_batch_file(source.data, body["endpoint"], plan.single_model)
        now = time.time()
        batch = FakeBatch(
            id=f"batch_fake{next(self._file_ids)}",
            input_file_id=source.id,
            endpoint=body["endpoint"],
            completion_window=body["completion_window"],
            metadata=body.get("metadata"),
            plan=plan,
            lines=lines,
            validation_errors=problems,
            created_at=now,
            created_mono=time.monotonic(),
            stage_since=time.monotonic(),
        )
        with self._lock:
            self._batches[batch.id] = batch
            self._submissions.update(batch.custom_ids)
        return 200, batch.to_json()

    async def _poll(self, batch: FakeBatch) -> None:
        """One ``GET /v1/batches/{id}``: move the batch along its plan."""
        plan, now = batch.plan, time.monotonic()
        batch.polls += 1
        if batch.status == "cancelling":
            self._finish(batch, "cancelled", "batch_cancelled", "The batch was cancelled.")
            return
        if batch.status in TERMINAL:
            return
        expired = plan.expire_after_polls is not None and batch.polls >= plan.expire_after_polls
        if plan.expire_after_s is not None and now - batch.created_mono >= plan.expire_after_s:
            expired = True
        if expired and batch.status != "finalizing":
            message = "This request could not be executed before the completion window expired."
            self._finish(batch, "expired", "batch_expired", message)
            return
        if batch.status == "validating" and self._stage_done(batch, plan.validate_polls, plan.validate_s):
            if batch.validation_errors:
                batch.status = "failed"
                batch.times["failed"] = int(time.time())
                return
            self._enter_stage(batch, "in_progress")
        if batch.status == "in_progress":
            await self._run_lines(batch)
            pending = len(batch.lines) - len(batch.outputs) - len(batch.errors)
            if not pending and self._stage_done(batch, plan.progress_polls, plan.progress_s):
                self._enter_stage(batch, "finalizing")
        if batch.status == "finalizing" and batch.stage_polls >= plan.finalize_polls:
            self._finish(batch, "completed", None, None)
            return
        batch.stage_polls += 1

    @staticmethod
    def _stage_done(batch: FakeBatch, polls: int, seconds: float) -> bool:
        return batch.stage_polls >= polls and time.monotonic() - batch.stage_since >= seconds

    @staticmethod
    def _enter_stage(batch: FakeBatch, status: str) -> None:
        batch.status = status
        batch.stage_polls = 0
        batch.stage_since = time.monotonic()
        batch.times[status] = int(time.time())

    async def _run_lines(self, batch: FakeBatch) -> None:
        budget = batch.plan.lines_per_poll
        while batch.next_line < len(batch.lines) and (budget is None or budget > 0):
            index = batch.next_line
            batch.next_line += 1
            if budget is not None:
                budget -= 1
            await self._run_line(batch, index)

    async def _run_line(self, batch: FakeBatch, index: int) -> None:
        line = batch.lines[index]
        custom_id = str(line["custom_id"])
        body: dict[str, Any] = line["body"]
        with self._lock:
            self._lines_run[custom_id] += 1
        fixed = batch.plan.line_behaviours.get(custom_id)
        if fixed is None and batch.plan.line_rule is not None:
            fixed = batch.plan.line_rule(body)
        raw = json.dumps(body, sort_keys=True).encode()
        behaviour = await _settle(fixed if fixed is not None else self._choose(body.get("model"), raw))
        if isinstance(behaviour, Stall):
            batch.stalled.add(index)
            return
        if batch.kind == "anthropic":
            self._run_message_line(batch, index, custom_id, body, behaviour)
            return
        request_id = f"req_fake{index}_{batch.id}"
        result: dict[str, Any] = {"id": f"batch_req_{batch.id}_{index}", "custom_id": custom_id}
        if isinstance(behaviour, Disconnect):
            code: int = 500
            payload: Any = _error_body(500, "The server had an error processing this request.")
        else:
            answer = self._answer(behaviour, body, OPENAI_WIRE)
            code, payload = answer.code, answer.payload
        result["response"] = {"status_code": code, "request_id": request_id, "body": payload}
        result["error"] = None
        (batch.outputs if code == 200 else batch.errors)[index] = result

    def _run_message_line(
        self, batch: FakeBatch, index: int, custom_id: str, body: dict[str, Any], behaviour: Any
    ) -> None:
        """One message batch request, answered as ``POST /v1/messages`` would answer it."""
        if isinstance(behaviour, Disconnect):
            code: int = 500
            payload: Any = anthropic_error(500, "Internal server error")
        else:
            answer = self._answer(behaviour, body, ANTHROPIC_WIRE)
            code, payload = answer.code, answer.payload
        if code == 200:
            batch.outputs[index] = {"custom_id": custom_id, "result": {"type": "succeeded", "message": payload}}
        else:
            error = payload if isinstance(payload, dict) else anthropic_error(code, str(payload))
            batch.errors[index] = {"custom_id": custom_id, "result": {"type": "errored", "error": error}}

    def _finish(self, batch: FakeBatch, status: str, code: str | None, message: str | None) -> None:
        """End the batch: unfinished lines become errors ``code``; write output and error files."""
        if batch.kind == "anthropic":
            outcome = "canceled" if status == "cancelled" else "expired"
            for index, line in enumerate(batch.lines):
                if index not in batch.outputs and index not in batch.errors:
                    batch.errors[index] = {"custom_id": str(line["custom_id"]), "result": {"type": outcome}}
            batch.status = status
            batch.times[status] = int(time.time())
            return
        if code is not None:
            for index, line in enumerate(batch.lines):
                if index not in batch.outputs and index not in batch.errors:
                    batch.errors[index] = {
                        "id": f"batch_req_{batch.id}_{index}",
                        "custom_id": str(line["custom_id"]),
                        "response": None,
                        "error": {"code": code, "message": message},
                    }
        batch.status = status
        batch.times[status] = int(time.time())
        batch.output_file_id = self._result_file(batch, batch.outputs, "output")
        batch.error_file_id = self._result_file(batch, batch.errors, "errors")

    def _result_file(self, batch: FakeBatch, results: dict[int, dict[str, Any]], kind: str) -> str | None:
        """A JSONL file of ``results`` (None when there are none, as OpenAI leaves the id null)."""
        if not results:
            return None
        order = sorted(results)
        if batch.plan.shuffle_output:
            random.Random(batch.id).shuffle(order)
        data = "".join(json.dumps(results[i]) + "\n" for i in order).encode()
        return self._add_file(f"{batch.id}_{kind}.jsonl", "batch_output", data).id


def _parse_batch_file(
    data: bytes, endpoint: str, single_model: bool
) -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
    """Input lines, and OpenAI-style validation errors (code, message, line, param)."""
    lines: list[dict[str, Any]] = []
    problems: list[dict[str, Any]] = []
    seen: set[str] = set()
    models: set[Any] = set()

    def problem(number: int, code: str, message: str, param: str | None = None) -> None:
        problems.append({"code": code, "message": message, "line": number, "param": param})

    for number, text in enumerate(data.decode("utf-8", "replace").splitlines(), 1):
        if not text.strip():
            continue
        try:
            line = json.loads(text)
        except ValueError:
            problem(number, "invalid_json_line", "This line is not parseable as valid JSON.")
            continue
        if not isinstance(line, dict) or not isinstance(line.get("custom_id"), str):
            problem(number, "missing_required_parameter", "custom_id is required", "custom_id")
            continue
        if line["custom_id"] in seen:
            problem(number, "duplicate_custom_id", "The custom_id for this request is a duplicate.")
        seen.add(line["custom_id"])
        if line.get("method") != "POST":
            problem(number, "invalid_method", "Only POST is supported.", "method")
        if line.get("url") != endpoint:
            problem(number, "mismatched_endpoint", f"The url must be {endpoint}.", "url")
        if not isinstance(line.get("body"), dict):
            problem(number, "missing_required_parameter", "body is required", "body")
            continue
        models.add(line["body"].get("model"))
        lines.append(line)
    if single_model and len(models) > 1:
        problem(0, "model_mismatch", "All requests in a batch must use the same model.", "body.model")
    if not lines and not problems:
        problem(0, "empty_file", "The batch input file is empty.")
    return lines, problems


def _multipart(content_type: str, raw: bytes) -> dict[str, tuple[str | None, bytes]]:
    """form field -> (filename or None, bytes), for a multipart/form-data body."""
    match = re.search(r'boundary="?([^";]+)"?', content_type)
    if match is None:
        return {}
    fields: dict[str, tuple[str | None, bytes]] = {}
    for part in raw.split(b"--" + match.group(1).encode()):
        head, sep, value = part.partition(b"\r\n\r\n")
        if not sep:
            continue
        disposition = head.decode("latin-1")
        name = re.search(r'name="([^"]*)"', disposition)
        if name is None:
            continue
        filename = re.search(r'filename="([^"]*)"', disposition)
        value = value[:-2] if value.endswith(b"\r\n") else value
        fields[name.group(1)] = (filename.group(1) if filename else None, value)
    return fields



# --- Anthropic message batches ----------------------------------------------------------------

_MESSAGE_BATCH_PATH = re.compile(r"^/v1/messages/batches(?:/([^/]+)(/results|/cancel)?)?$")
_ANTHROPIC_CUSTOM_ID = re.compile(r"^[a-zA-Z0-9_-]{1,64}$")


def _rfc3339(epoch: float | int | None) -> str | None:
    if epoch is None:
        return None
    return datetime.fromtimestamp(epoch, UTC).isoformat().replace("+00:00", "Z")


def _message_batch_json(batch: FakeBatch, root_url: str) -> dict[str, Any]:
    """A FakeBatch as Anthropic's MessageBatch object."""
    ended = batch.status in TERMINAL
    processing = "ended" if ended else "canceling" if batch.status == "cancelling" else "in_progress"
    kinds: Counter[str] = Counter()
    for result in (*batch.outputs.values(), *batch.errors.values()):
        kinds[result["result"]["type"]] += 1
    done = sum(kinds.values())
    ended_at = next((batch.times[s] for s in ("completed", "expired", "cancelled", "failed") if s in batch.times),
                    None)
    return {
        "id": batch.id,
        "type": "message_batch",
        "processing_status": processing,
        "request_counts": {
            "processing": len(batch.lines) - done,
            "succeeded": kinds["succeeded"],
            "errored": kinds["errored"],
            "canceled": kinds["canceled"],
            "expired": kinds["expired"],
        },
        "created_at": _rfc3339(batch.created_at),
        "expires_at": _rfc3339(batch.created_at + DAY),
        "ended_at": _rfc3339(ended_at),
        "cancel_initiated_at": _rfc3339(batch.times.get("cancelling")),
        "archived_at": None,
        "results_url": f"{root_url}/v1/messages/batches/{batch.id}/results" if ended else None,
    }


def _message_batch_results(batch: FakeBatch) -> bytes:
    """The results JSONL of an ended message batch (order not promised: shuffled on request)."""
    results = {**batch.outputs, **batch.errors}
    order = sorted(results)
    if batch.plan.shuffle_output:
        random.Random(batch.id).shuffle(order)
    return "".join(json.dumps(results[i]) + "\n" for i in order).encode()
