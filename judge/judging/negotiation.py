"""Response-format negotiation: find the structured-output form a judge's server accepts.

Servers differ in how they take a JSON Schema. OpenAI, vLLM and LM Studio take
``{"type": "json_schema", "json_schema": {...}}``; llama-cpp-python's server rejects that type
(HTTP 500, "Input should be 'text' or 'json_object'") but takes its own
``{"type": "json_object", "schema": {...}}`` and constrains decoding to the schema; some servers
take only ``{"type": "json_object"}``, and some no ``response_format`` at all. The modes, from the
strongest constraint to none:

    json_schema          {"type": "json_schema", "json_schema": {name, schema, strict}}
    json_object_schema   {"type": "json_object", "schema": ...}   (llama.cpp's form)
    json_object          {"type": "json_object"}
    none                 no response_format; the schema is in the prompt

With ``response_format: auto`` a judge starts at the strongest mode its model may take and, when
the server rejects the parameter itself (judge/judging/retries.py: ``is_format_rejection``), steps
down one mode. A rejection is deterministic, so it spends no retry attempt; each step happens
once per judge, however many calls are in flight; the first mode the server answers (HTTP 200,
whatever the reply says) is kept for the rest of the run. An explicit mode is used as is.
"""

from __future__ import annotations

import asyncio
import json
from dataclasses import dataclass, field
from typing import Any

from judge.core.taxonomy import RESPONSE_FORMAT_MODES

LADDER = RESPONSE_FORMAT_MODES
# How the console and README describe each mode.
MODE_TITLES = {
    "json_schema": "the schema as json_schema, enforced by the server",
    "json_object_schema": "json_object with the schema, llama.cpp's form",
    "json_object": "any JSON object; the schema only in the prompt",
    "none": "no response_format; the schema only in the prompt",
}
SCHEMA_NOTE = "Reply with exactly one JSON object that matches this JSON Schema, and nothing else:"


def response_format(mode: str, name: str, schema: dict[str, Any], strict: bool) -> dict[str, Any] | None:
    """The ``response_format`` request field for ``mode`` (None: send none)."""
    if mode == "json_schema":
        return {"type": "json_schema", "json_schema": {"name": name, "schema": schema, "strict": strict}}
    if mode == "json_object_schema":
        return {"type": "json_object", "schema": schema}
    if mode == "json_object":
        return {"type": "json_object"}
    if mode == "none":
        return None
    raise ValueError(f"unknown response format mode {mode!r}; known: {', '.join(LADDER)}")


def with_schema_in_prompt(messages: list[dict[str, str]], schema: dict[str, Any]) -> list[dict[str, str]]:
    """``messages``, with the schema added to the system message unless a message already
    carries it, for the modes in which the server does not see the schema."""
    # Templates render the schema indented (judge/inputs/prompts.py); compare without whitespace.
    needle = "".join(json.dumps(schema, sort_keys=True).split())
    for message in messages:
        if needle in "".join((message.get("content") or "").split()):
            return messages
    note = f"{SCHEMA_NOTE}\n{json.dumps(schema, indent=1, sort_keys=True)}"
    if messages and messages[0].get("role") == "system":
        first = {**messages[0], "content": f"{messages[0]['content']}\n\n{note}"}
        return [first, *messages[1:]]
    return [{"role": "system", "content": note}, *messages]


@dataclass
class FormatNegotiation:
    """One judge's response-format state for a run, shared by all its concurrent calls."""

    configured: str  # "auto" or an explicit mode
    mode: str  # the mode calls use now
    settled: bool = False  # a call in ``mode`` got an answer: no more stepping
    rejected: list[dict[str, str]] = field(default_factory=list)  # each step: mode and why
    lock: asyncio.Lock = field(default_factory=asyncio.Lock)

    @classmethod
    def start(cls, configured: str, first: str = "json_schema") -> FormatNegotiation:
        """``first``: where ``auto`` starts (lower when the model map says the model cannot
        take a schema)."""
        if configured != "auto":
            return cls(configured, configured, settled=True)
        return cls(configured, first)

    @property
    def explicit(self) -> bool:
        return self.configured != "auto"

    def step_down(self, failed: str, error: str) -> bool:
        """After ``failed`` was rejected: True when the call should be sent again (in the new
        ``mode``), False when there is nothing left to try."""
        if self.explicit:
            return False
        if self.mode != failed:
            return True  # another call already stepped past it
        index = LADDER.index(failed)
        if index + 1 >= len(LADDER):
            return False
        self.rejected.append({"mode": failed, "error": error})
        self.mode = LADDER[index + 1]
        return True

    def settle(self, mode: str) -> bool:
        """A call in ``mode`` was answered. True the first time the mode settles after a step
        down (the moment to tell the user)."""
        if self.settled or mode != self.mode:
            return False
        self.settled = True
        return bool(self.rejected)

    def record(self) -> dict[str, Any]:
        """What the manifest keeps: the configured and working modes and each rejected step."""
        return {
            "configured": self.configured,
            "mode": self.mode if self.settled else None,
            "rejected": list(self.rejected),
        }

    def notice(self, label: str) -> str:
        steps = "; ".join(f"{r['mode']} rejected ({r['error'][:200]})" for r in self.rejected)
        return f"judge '{label}': {steps}; using {self.mode} ({MODE_TITLES[self.mode]}) for the rest of the run"
