"""Anthropic's Message Batches API, spoken directly over HTTP: the one step LiteLLM 1.110.2 lacks.

LiteLLM's ``acreate_batch`` does not accept ``anthropic`` in the pinned version (it can retrieve
Anthropic batches, but creating one raises ``NotImplementedError``). Rather than move the pin or
route through the LiteLLM proxy server, this small client speaks the four calls batch mode needs:

    POST {base}/v1/messages/batches                 {"requests": [{"custom_id", "params"}, ...]}
    GET  {base}/v1/messages/batches?limit=100       newest first; ``after_id`` pages on
    GET  {base}/v1/messages/batches/{id}            ``processing_status``: in_progress | canceling | ended
    GET  {base}/v1/messages/batches/{id}/results    JSONL: succeeded | errored | canceled | expired

with the headers LiteLLM sends on its synchronous route (``x-api-key``, ``anthropic-version:
2023-06-01``, and ``anthropic-beta: structured-outputs-2025-11-13`` when a request uses the native
``output_format``). Each request's ``params`` is the body LiteLLM would POST to ``/v1/messages``
for the same call (judging/batch_api.py ``request_body``), so a batched verdict is asked exactly as
a synchronous one.

The one thing Anthropic's API cannot do is carry a tag of ours: a message batch has no metadata.
After a lost answer to a create call, ``find`` therefore looks for a batch we have not claimed that
was created at or after our intent record (less a minute of clock skew) with exactly as many
requests, the oldest such first. Results are matched by custom_id, so if that guess ever adopted
someone else's batch, our requests would find no result in it and be submitted again (a
double submission, never a wrong verdict).

httpx (a LiteLLM dependency) does the HTTP; every call has a timeout and no retries of its own.
"""

from __future__ import annotations

import contextlib
import json
from datetime import datetime
from typing import Any

from judge.judging.batch_api import BatchAPIError, BatchState, LineOutcome, parse_anthropic_line

API_VERSION = "2023-06-01"
STRUCTURED_OUTPUTS_BETA = "structured-outputs-2025-11-13"
DEFAULT_BASE = "https://api.anthropic.com"
SKEW_S = 60.0


def _epoch(value: Any) -> float:
    if not isinstance(value, str):
        return 0.0
    try:
        return datetime.fromisoformat(value.replace("Z", "+00:00")).timestamp()
    except ValueError:
        return 0.0


class AnthropicBatches:
    """A BatchTransport for one ``anthropic/`` judge."""

    provider = "anthropic"
    max_requests = 100_000  # Anthropic's limit per message batch
    max_bytes = 250 * 1024 * 1024  # ... and 256 MB per batch request

    def __init__(self, *, api_base: str | None, api_key: str | None, timeout_s: float) -> None:
        base = (api_base or DEFAULT_BASE).rstrip("/")
        # LiteLLM takes the server root as api_base for anthropic/ (it appends /v1/messages).
        self.base = base[: -len("/v1")] if base.endswith("/v1") else base
        self._api_key = api_key
        self.timeout_s = timeout_s
        self._client: Any = None

    def line(self, custom_id: str, body: dict[str, Any]) -> bytes:
        params = {k: v for k, v in body.items() if k != "stream"}
        return json.dumps({"custom_id": custom_id, "params": params}, ensure_ascii=False,
                          separators=(",", ":")).encode("utf-8") + b"\n"

    def _http(self) -> Any:
        import httpx

        if self._client is None:
            self._client = httpx.AsyncClient(timeout=self.timeout_s, trust_env=False)
        return self._client

    async def aclose(self) -> None:
        if self._client is not None:
            await self._client.aclose()
            self._client = None

    def _headers(self, beta: bool = False) -> dict[str, str]:
        if not self._api_key:
            raise BatchAPIError("no Anthropic API key: set ANTHROPIC_API_KEY or name a variable with api_key_env",
                                status=401)
        headers = {"x-api-key": self._api_key, "anthropic-version": API_VERSION, "content-type": "application/json"}
        if beta:
            headers["anthropic-beta"] = STRUCTURED_OUTPUTS_BETA
        return headers

    async def _request(self, method: str, path: str, *, create: bool = False, beta: bool = False,
                       body: bytes | None = None, params: dict[str, Any] | None = None) -> Any:
        import httpx

        url = path if path.startswith("http") else f"{self.base}{path}"
        try:
            response = await self._http().request(method, url, headers=self._headers(beta), content=body,
                                                  params=params)
        except httpx.ConnectError as exc:  # never reached the server: nothing happened
            raise BatchAPIError(f"connection failed: {exc}", retryable=True) from None
        except httpx.HTTPError as exc:  # sent, answer lost: a create may have happened
            raise BatchAPIError(f"{type(exc).__name__}: {exc}", ambiguous=create, retryable=True) from None
        if response.status_code >= 400:
            raise _status_error(response, create=create)
        return response

    async def submit(self, lines: list[bytes], marker: str) -> str:
        beta = any(b'"output_format"' in line for line in lines)
        body = b'{"requests":[' + b",".join(line.rstrip(b"\n") for line in lines) + b"]}"
        response = await self._request("POST", "/v1/messages/batches", create=True, beta=beta, body=body)
        return str(response.json()["id"])

    async def find(self, marker: str, since_epoch: float, count: int, claimed: set[str]) -> str | None:
        params: dict[str, Any] = {"limit": 100}
        candidates: list[tuple[float, str]] = []
        while True:
            page = (await self._request("GET", "/v1/messages/batches", params=params)).json()
            batches = page.get("data") or []
            for batch in batches:
                counts = batch.get("request_counts") or {}
                total = sum(int(v or 0) for v in counts.values())
                created = _epoch(batch.get("created_at"))
                if batch.get("id") not in claimed and total == count and created >= since_epoch - SKEW_S:
                    candidates.append((created, str(batch["id"])))
            oldest = min((_epoch(b.get("created_at")) for b in batches), default=0.0)
            if not batches or not page.get("has_more") or oldest < since_epoch - SKEW_S:
                break
            params = {"limit": 100, "after_id": page.get("last_id") or batches[-1].get("id")}
        return min(candidates)[1] if candidates else None

    async def poll(self, batch_id: str) -> BatchState:
        batch = (await self._request("GET", f"/v1/messages/batches/{batch_id}")).json()
        counts = batch.get("request_counts") or {}
        processing = int(counts.get("processing") or 0)
        failed = sum(int(counts.get(k) or 0) for k in ("errored", "canceled", "expired"))
        total = processing + int(counts.get("succeeded") or 0) + failed
        status = str(batch.get("processing_status"))
        return BatchState(status=status, done=status == "ended", total=total, finished=total - processing,
                          failed=failed, ref={"results_url": batch.get("results_url")})

    async def results(self, batch_id: str, state: BatchState) -> list[LineOutcome]:
        url = state.ref.get("results_url") or f"/v1/messages/batches/{batch_id}/results"
        response = await self._request("GET", str(url))
        return [parse_anthropic_line(json.loads(raw)) for raw in response.content.splitlines() if raw.strip()]


def _status_error(response: Any, *, create: bool) -> BatchAPIError:
    status = response.status_code
    try:
        error = response.json().get("error") or {}
        text = f"{error.get('type')}: {error.get('message')}"
    except (ValueError, AttributeError):
        text = response.text[:300]
    retry_after = None
    with contextlib.suppress(TypeError, ValueError):
        retry_after = float(response.headers.get("retry-after"))
    message = f"Anthropic message batches: HTTP {status}: {text}"
    if status in (429, 529):  # refused before any work: nothing was created
        return BatchAPIError(message, retryable=True, status=status, retry_after=retry_after)
    if status >= 500:
        return BatchAPIError(message, ambiguous=create, retryable=True, status=status, retry_after=retry_after)
    return BatchAPIError(message, status=status)
