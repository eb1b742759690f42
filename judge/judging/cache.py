"""A content-addressed cache of judge replies, shared across runs (default ``runs/.cache/``).

The key is the sha256 of everything that can change a reply: the judge's hash (model, sampling
parameters, output format), the rubric, prompt and schema hashes, the item's content hash, the
repeat index, the turn (0, or n for the n-th re-ask), the sentence of a per-sentence call, and the
exact messages sent. Editing a rubric, a prompt or an item therefore misses, and repeats stay
independent draws. A judge's abstention (``Completion.abstain_reason``) is a reply and is stored.

Layout: one small JSON file per entry, ``<root>/<first 2 hex>/<key>.json``, written to a temporary
file and moved into place, so concurrent runs and crashes leave either a whole entry or none. An
unreadable entry is a miss. Only replies a provider returned (HTTP 200) are stored, with their
usage; errors never are, so a retry after an outage asks again.

During a run the entries are written by a thread of their own (``put_later``, then ``flush`` when
the run ends): creating a small file costs about 0.2 ms of system time and up to a few ms of wait
on a busy disk, which on the event loop held up every call in flight, about 7% of a run's wall
time (benchmarks/RESULTS.md). A queued entry is visible to ``get`` at once; a write that fails is
counted (``write_errors``), never fatal, since the verdict itself is safe in the run's log.

``CachedJudge`` wraps any judge (the ``Judge`` protocol); it builds the real client only on the
first miss, so a run whose every reply is cached never imports LiteLLM.
"""

from __future__ import annotations

import hashlib
import json
import os
import queue
import threading
from collections.abc import Callable
from json.encoder import encode_basestring  # type: ignore[attr-defined]
from pathlib import Path
from typing import Any

from judge.core.errors import ReplayMiss
from judge.core.hashing import canonical_json
from judge.inputs.config import JudgeConfig
from judge.judging.protocol import CallContext, Completion, Judge, JudgeRequest

CACHE_FORMAT = 1


def cache_key(judge_hash: str, context: CallContext, messages: list[dict[str, str]]) -> str:
    parts = {
        "v": CACHE_FORMAT,
        "judge": judge_hash,
        "rubric": context.rubric_hash,
        "prompt": context.prompt_hash,
        "schema": context.schema_hash,
        "item": context.item_hash,
        "repeat": context.repeat,
        "turn": context.turn,
        "messages": messages_digest(messages),
    }
    if context.part is not None:  # only per-sentence calls carry it: every other key is unchanged
        parts["part"] = context.part
    return hashlib.sha256(canonical_json(parts).encode("utf-8")).hexdigest()


# sha256 states after the canonical JSON of a request's leading messages, keyed by those messages.
# A run sends a handful of distinct system prompts (one per rubric and task, ~12 KB each with
# graded v3) ahead of each item's own user message; escaping and hashing that prefix again for
# every key was most of a key's cost.
_PREFIXES: dict[tuple[tuple[str, str], ...], Any] = {}
_MAX_PREFIXES = 256


def _fragment(message: dict[str, str]) -> str:
    # canonical_json of {"role": r, "content": c}: keys sorted, no spaces, ensure_ascii=False
    return '{"content":' + encode_basestring(message["content"]) + ',"role":' + encode_basestring(message["role"]) + "}"


def _plain(messages: list[dict[str, str]]) -> bool:
    return type(messages) is list and len(messages) > 0 and all(
        type(m) is dict and len(m) == 2 and type(m.get("role")) is str and type(m.get("content")) is str
        for m in messages
    )


def messages_digest(messages: list[dict[str, str]]) -> str:
    """sha256 hex digest of ``canonical_json(messages)``, the same bytes hashed, with the state after
    the leading messages kept for the next request that shares them. Any other shape of messages
    than role/content string pairs is hashed from ``canonical_json`` as it is."""
    if not _plain(messages):
        return hashlib.sha256(canonical_json(messages).encode("utf-8")).hexdigest()
    head = tuple((m["role"], m["content"]) for m in messages[:-1])
    state = _PREFIXES.get(head)
    if state is None:
        state = hashlib.sha256(("[" + "".join(_fragment(m) + "," for m in messages[:-1])).encode("utf-8"))
        if len(_PREFIXES) >= _MAX_PREFIXES:
            _PREFIXES.clear()
        _PREFIXES[head] = state
    digest = state.copy()
    digest.update((_fragment(messages[-1]) + "]").encode("utf-8"))
    return digest.hexdigest()


class ResponseCache:
    """Reply bodies on disk, one file per key."""

    def __init__(self, root: Path) -> None:
        self.root = root
        self._root = os.fspath(root)
        self.hits = 0
        self.misses = 0
        self.writes = 0
        self.write_errors = 0
        self.first_write_error: str | None = None
        self._pending: dict[str, bytes] = {}  # queued for the writer thread, not yet on disk
        self._queue: queue.SimpleQueue[str | None] = queue.SimpleQueue()
        self._writer: threading.Thread | None = None

    def _path(self, key: str) -> Path:
        return self.root / key[:2] / f"{key}.json"

    def get(self, key: str) -> dict[str, Any] | None:
        try:
            raw = self._pending.get(key)
            if raw is None:
                # A plain string path: building a pathlib.Path cost about as much as the read.
                with open(os.path.join(self._root, key[:2], key + ".json"), "rb") as fh:
                    raw = fh.read()
            entry = json.loads(raw)
        except (OSError, ValueError):
            return None  # absent, or damaged by a crash mid-write on an old filesystem: a miss
        if not isinstance(entry, dict) or entry.get("v") != CACHE_FORMAT or not isinstance(entry.get("text"), str):
            return None
        return entry

    def put(self, key: str, entry: dict[str, Any]) -> None:
        """Write one entry now."""
        self._write(key, _encode(entry))

    def put_later(self, key: str, entry: dict[str, Any]) -> None:
        """Queue one entry for the writer thread; ``get`` sees it at once, ``flush`` waits for it."""
        self._pending[key] = _encode(entry)
        if self._writer is None:
            self._writer = threading.Thread(target=self._write_queued, name="empathy-judge-cache", daemon=True)
            self._writer.start()
        self._queue.put(key)

    def flush(self) -> None:
        """Wait until every queued entry is written; the writer thread then ends."""
        if self._writer is not None:
            self._queue.put(None)
            self._writer.join()
            self._writer = None

    def _write_queued(self) -> None:
        while (key := self._queue.get()) is not None:
            data = self._pending.get(key)
            if data is None:
                continue  # the key was queued twice and its latest entry is written already
            try:
                self._write(key, data)
            except OSError as exc:
                self.write_errors += 1
                self.first_write_error = self.first_write_error or f"{type(exc).__name__}: {exc}"
            finally:
                if self._pending.get(key) is data:
                    del self._pending[key]

    def _write(self, key: str, data: bytes) -> None:
        path = self._path(key)
        tmp = path.with_name(f".{key}.{os.getpid()}.{threading.get_ident()}.tmp")
        # No fsync: a cache entry lost to a power cut is refetched, and per-entry fsyncs would cost
        # more than the calls they save on a local server.
        try:
            tmp.write_bytes(data)
        except FileNotFoundError:
            # The shard folder is made on first need only, not before every write: that saves a
            # syscall and a swallowed FileExistsError per reply (see benchmarks/RESULTS.md).
            path.parent.mkdir(parents=True, exist_ok=True)
            tmp.write_bytes(data)
        os.replace(tmp, path)
        self.writes += 1


def _encode(entry: dict[str, Any]) -> bytes:
    return json.dumps({"v": CACHE_FORMAT, **entry}, ensure_ascii=False).encode("utf-8")


class CachedJudge:
    """A Judge that answers from the cache, and on a miss asks the real one (built lazily)."""

    def __init__(
        self,
        config: JudgeConfig,
        factory: Callable[[], Judge],
        cache: ResponseCache,
        *,
        replay: bool = False,
    ) -> None:
        self.config = config
        self._factory = factory
        self._inner: Judge | None = None
        self.cache = cache
        self.replay = replay

    @property
    def inner(self) -> Judge:
        if self._inner is None:
            self._inner = self._factory()
        return self._inner

    async def complete(self, request: JudgeRequest) -> Completion:
        context = request.context
        key = cache_key(self.config.hash, context, request.messages)
        entry = self.cache.get(key)
        if entry is not None:
            self.cache.hits += 1
            return Completion(
                text=entry["text"],
                prompt_tokens=entry.get("prompt_tokens"),
                completion_tokens=entry.get("completion_tokens"),
                cost_usd=0.0,
                latency_ms=0.0,
                attempts=0,
                cached=True,
                response_format=entry.get("response_format"),
                abstain_reason=entry.get("abstain_reason"),
                cache_read_tokens=entry.get("cache_read_tokens"),
                cache_write_tokens=entry.get("cache_write_tokens"),
            )
        self.cache.misses += 1
        if self.replay:
            raise ReplayMiss(
                f"--replay: no cached reply for item '{context.item_id}', rubric '{context.rubric_id}' "
                f"(rubric hash {context.rubric_hash[:12]}, prompt hash {context.prompt_hash[:12]}), "
                f"judge '{self.config.label}', repeat {context.repeat}, turn {context.turn}; "
                f"the rubric, prompt, item or judge changed since it was cached: run once without --replay"
            )
        completion = await self.inner.complete(request)
        self.cache.put_later(
            key,
            {
                "text": completion.text,
                "prompt_tokens": completion.prompt_tokens,
                "completion_tokens": completion.completion_tokens,
                "cost_usd": completion.cost_usd,
                "cache_read_tokens": completion.cache_read_tokens,
                "cache_write_tokens": completion.cache_write_tokens,
                "model": self.config.model,
                "response_format": completion.response_format,
                **({"abstain_reason": completion.abstain_reason} if completion.abstain_reason else {}),
            },
        )
        return completion


def check_writable(root: Path) -> str | None:
    """Why the cache folder ``root`` cannot be written, or None when it can (checked at the start
    of a run, so an unusable --cache-dir is refused before anything is called)."""
    try:
        root.mkdir(parents=True, exist_ok=True)
        probe = root / f".write-test.{os.getpid()}"
        try:
            probe.write_bytes(b"")
        finally:
            probe.unlink(missing_ok=True)
    except OSError as exc:
        return exc.strerror or str(exc)
    return None
