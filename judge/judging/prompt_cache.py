"""Provider prompt caching: where the stable prefix of a judge call ends, and how to say so.

OpenAI caches repeated prompt prefixes by itself (1,024 tokens and more, in steps of 128). Anthropic
caches only up to a ``cache_control`` breakpoint that the request marks, and only prefixes of at
least the model's minimum (``prompt_cache_min_tokens`` in LiteLLM's map: 4,096 tokens for
claude-haiku-4-5, 1,024 for claude-sonnet-4-5); a shorter marked prefix is simply not cached, at no
charge. Reads then cost a tenth of the input rate, writes a quarter more.

A rendered judge prompt is a system message, which depends only on the rubric (the same bytes
for every item), then the user message with the item. So the breakpoint goes on the system
message: every call of one rubric shares that prefix. LiteLLM forwards a system message given as
content parts, ``cache_control`` included, unchanged into Anthropic's ``system`` list; a
plain-string system message cannot carry the marker (docs/PROVIDERS-WIRE.md).

The marker is added to the request only, at send time: the response-cache key and the prompt
hash stay those of the plain messages, so switching ``cache_control`` off or on changes no verdict
identity.
"""

from __future__ import annotations

from typing import Any

# Providers whose requests take cache_control breakpoints (through LiteLLM's anthropic/ route, and
# our own Message Batches client, which sends the same body).
MARKED_PROVIDERS = frozenset({"anthropic"})
EPHEMERAL = {"type": "ephemeral"}


def wants_marker(provider: str, enabled: bool) -> bool:
    return enabled and provider in MARKED_PROVIDERS


def mark_stable_prefix(messages: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """A copy of ``messages`` whose system message carries a cache_control breakpoint.

    Messages without a system message come back unchanged (nothing is known to be stable)."""
    out: list[dict[str, Any]] = []
    marked = False
    for message in messages:
        if not marked and message.get("role") == "system":
            content = message.get("content")
            if isinstance(content, str) and content:
                message = {**message, "content": [{"type": "text", "text": content, "cache_control": EPHEMERAL}]}
                marked = True
        out.append(message)
    return out
