"""Token usage as providers report it, read the same way for every route.

LiteLLM's usage (and an OpenAI batch output line's ``response.body.usage``) counts every prompt
token in ``prompt_tokens``, cached ones included, and says how many came from the provider's prompt
cache in ``prompt_tokens_details.cached_tokens``; for Anthropic it also maps the tokens written to
the cache into ``prompt_tokens_details.cache_creation_tokens`` (docs/PROVIDERS-WIRE.md). Anthropic's
own usage (a Message Batches result) has ``input_tokens`` (uncached only),
``cache_read_input_tokens``, ``cache_creation_input_tokens`` and ``output_tokens``.

``read_usage`` takes any of these, as an object with attributes or as a dict, and returns one
``Usage``. A count the provider did not report is None, never 0: "no prompt cache information" and
"nothing was cached" are different facts.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any


@dataclass(frozen=True, slots=True)
class Usage:
    prompt_tokens: int | None = None  # all prompt tokens, cached ones included
    completion_tokens: int | None = None
    cache_read_tokens: int | None = None  # prompt tokens read from the provider's prompt cache
    cache_write_tokens: int | None = None  # prompt tokens written to it (Anthropic bills a surcharge)


def _get(obj: Any, name: str) -> Any:
    if obj is None:
        return None
    if isinstance(obj, dict):
        return obj.get(name)
    return getattr(obj, name, None)


def _int(value: Any) -> int | None:
    if isinstance(value, bool) or not isinstance(value, int | float):
        return None
    return int(value)


def read_usage(usage: Any) -> Usage:
    """One Usage from LiteLLM's, OpenAI's or Anthropic's usage object or dict (None: all None)."""
    if usage is None:
        return Usage()
    if _get(usage, "prompt_tokens") is None and _get(usage, "input_tokens") is not None:
        return _anthropic(usage)
    details = _get(usage, "prompt_tokens_details")
    read = _int(_get(details, "cached_tokens"))
    write = _int(_get(details, "cache_creation_tokens"))
    # LiteLLM also keeps Anthropic's own names on its usage; they are the same counts.
    if read is None:
        read = _int(_get(usage, "cache_read_input_tokens"))
    if write is None:
        write = _int(_get(usage, "cache_creation_input_tokens"))
    return Usage(
        prompt_tokens=_int(_get(usage, "prompt_tokens")),
        completion_tokens=_int(_get(usage, "completion_tokens")),
        cache_read_tokens=read,
        cache_write_tokens=write,
    )


def _anthropic(usage: Any) -> Usage:
    uncached = _int(_get(usage, "input_tokens")) or 0
    read = _int(_get(usage, "cache_read_input_tokens"))
    write = _int(_get(usage, "cache_creation_input_tokens"))
    return Usage(
        prompt_tokens=uncached + (read or 0) + (write or 0),
        completion_tokens=_int(_get(usage, "output_tokens")),
        cache_read_tokens=read,
        cache_write_tokens=write,
    )
