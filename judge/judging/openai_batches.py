"""Batches for OpenAI-format providers (``openai/``, ``hosted_vllm/``) through LiteLLM's file and
batch API: ``acreate_file``, ``acreate_batch``, ``alist_batches``, ``aretrieve_batch``,
``afile_content`` (measured in docs/PROVIDERS-WIRE.md, "Batch API").

Every call passes ``max_retries=0`` (the SDK would otherwise repeat a create whose answer was lost,
submitting the batch twice) and an explicit timeout. A poll passes
``litellm_metadata={"batch_ignore_default_logging": True}``: without it LiteLLM downloads a
finished batch's output and error files in the background, on every poll, to price the batch.

Each batch is tagged with our marker in its ``metadata``; after a lost answer to the create call,
``find`` pages through ``GET /batches`` for that marker.
"""

from __future__ import annotations

import json
from typing import Any

from judge.judging.batch_api import (
    MARKER_KEY,
    BatchAPIError,
    BatchState,
    LineOutcome,
    parse_openai_line,
)
from judge.judging.retries import describe, retry_after_s, status_of

ENDPOINT = "/v1/chat/completions"
TERMINAL = frozenset({"completed", "failed", "expired", "cancelled"})
# Lookups after a lost answer look back this far before the intent (clock skew between us and
# the provider), and stop paging once batches are older.
LOOKBACK_S = 600.0


def _api_error(exc: BaseException, *, create: bool = False) -> BatchAPIError:
    """An SDK or LiteLLM exception as a BatchAPIError (see its docstring for the three kinds)."""
    status = status_of(exc)
    name = type(exc).__name__
    message = describe(exc)
    lost = status is None and name in ("APIConnectionError", "APITimeoutError", "Timeout")
    if status is None and not lost:
        lost = isinstance(exc, TimeoutError | ConnectionError)
    if lost or (create and status is not None and status >= 500):
        # The request may have reached the provider: for a create, the batch may exist.
        return BatchAPIError(message, ambiguous=create, retryable=True, status=status)
    retryable = status is not None and (status in (408, 409, 429) or status >= 500)
    return BatchAPIError(message, retryable=retryable, status=status, retry_after=retry_after_s(exc))


class OpenAIBatches:
    """A BatchTransport for one OpenAI-format judge."""

    max_requests = 50_000  # OpenAI's limit per batch
    max_bytes = 190 * 1024 * 1024  # OpenAI accepts input files up to 200 MB

    def __init__(self, provider: str, *, api_base: str | None, api_key: str | None, timeout_s: float) -> None:
        self.provider = provider
        self._common: dict[str, Any] = {
            "custom_llm_provider": provider,
            "timeout": timeout_s,
            "max_retries": 0,
        }
        if api_base:
            self._common["api_base"] = api_base
        if api_key is not None:
            self._common["api_key"] = api_key
        self._api_key = api_key

    def line(self, custom_id: str, body: dict[str, Any]) -> bytes:
        record = {"custom_id": custom_id, "method": "POST", "url": ENDPOINT, "body": body}
        return json.dumps(record, ensure_ascii=False, separators=(",", ":")).encode("utf-8") + b"\n"

    def _litellm(self) -> Any:
        from judge.judging.litellm_client import bootstrap_litellm

        return bootstrap_litellm()

    async def submit(self, lines: list[bytes], marker: str) -> str:
        litellm = self._litellm()
        data = b"".join(lines)
        try:
            # A lost answer to the upload leaves an unused file behind, which costs nothing.
            uploaded = await litellm.acreate_file(
                file=(f"{marker}.jsonl", data, "application/jsonl"), purpose="batch", **self._common
            )
        except Exception as exc:
            raise _api_error(exc) from None
        try:
            batch = await litellm.acreate_batch(
                completion_window="24h", endpoint=ENDPOINT, input_file_id=uploaded.id,
                metadata={MARKER_KEY: marker}, **self._common,
            )
        except Exception as exc:
            raise _api_error(exc, create=True) from None
        return str(batch.id)

    async def find(self, marker: str, since_epoch: float, count: int, claimed: set[str]) -> str | None:
        litellm = self._litellm()
        after: str | None = None
        while True:
            try:
                page = await litellm.alist_batches(after=after, limit=100, **self._common)
            except Exception as exc:
                raise _api_error(exc) from None
            batches = list(getattr(page, "data", None) or [])
            for batch in batches:
                metadata = getattr(batch, "metadata", None) or {}
                if metadata.get(MARKER_KEY) == marker and str(batch.id) not in claimed:
                    return str(batch.id)
            oldest = min((getattr(b, "created_at", 0) or 0 for b in batches), default=0)
            if not batches or not getattr(page, "has_more", False) or oldest < since_epoch - LOOKBACK_S:
                return None
            after = str(batches[-1].id)

    async def poll(self, batch_id: str) -> BatchState:
        litellm = self._litellm()
        try:
            batch = await litellm.aretrieve_batch(
                batch_id=batch_id, litellm_metadata={"batch_ignore_default_logging": True}, **self._common
            )
        except Exception as exc:
            raise _api_error(exc) from None
        counts = getattr(batch, "request_counts", None)
        completed = int(getattr(counts, "completed", 0) or 0)
        failed = int(getattr(counts, "failed", 0) or 0)
        errors = []
        for problem in getattr(getattr(batch, "errors", None), "data", None) or []:
            line = getattr(problem, "line", None)
            where = f" (line {line})" if line else ""
            errors.append(f"{getattr(problem, 'code', '')}{where}: {getattr(problem, 'message', '')}")
        status = str(batch.status)
        return BatchState(
            status=status,
            done=status in TERMINAL,
            total=int(getattr(counts, "total", 0) or 0),
            finished=completed + failed,
            failed=failed,
            errors=errors,
            ref={"output_file_id": getattr(batch, "output_file_id", None),
                 "error_file_id": getattr(batch, "error_file_id", None)},
        )

    async def results(self, batch_id: str, state: BatchState) -> list[LineOutcome]:
        litellm = self._litellm()
        out: list[LineOutcome] = []
        for key in ("output_file_id", "error_file_id"):
            file_id = state.ref.get(key)
            if not file_id:
                continue  # null when nothing succeeded (output) or nothing failed (errors)
            try:
                content = await litellm.afile_content(file_id=file_id, **self._common)
            except Exception as exc:
                raise _api_error(exc) from None
            for raw in bytes(content.content).splitlines():
                if raw.strip():
                    out.append(parse_openai_line(json.loads(raw)))
        return out
