"""Verdicts: parse a judge's raw reply, validate it against the rubric's schema, and score it.

A reply that is not JSON, or does not match the schema, is ``invalid``: it keeps its raw text and
the reason, and its score stays null. Nothing is ever coerced into a score. Whether a rubric may
try to rescue such a reply (strip code fences, or ask the judge again) is its ``on_invalid`` policy.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from typing import Any

from judge.core.hashing import canonical_json
from judge.core.severity import map_severity
from judge.inputs.rubrics import Rubric

_FENCE = re.compile(r"```(?:json|JSON)?\s*\n?(.*?)```", re.S)


@dataclass(slots=True)
class Parsed:
    status: str  # "ok" or "invalid"
    verdict: dict[str, Any] | None
    score: float | None
    raw_score: float | None
    rationale: str | None
    error: str | None


def _reject_constant(name: str) -> float:
    # Python's json accepts NaN and Infinity, which slip past JSON Schema's minimum/maximum.
    raise ValueError(f"{name} is not valid JSON")


class VerdictParser:
    """Validates replies for one rubric; build once per rubric (the validator is compiled once)."""

    def __init__(self, rubric: Rubric) -> None:
        import jsonschema

        self.rubric = rubric
        self._validator = jsonschema.Draft202012Validator(rubric.schema)

    def parse(self, text: str) -> Parsed:
        verdict, error = self.load(text)
        if verdict is None:
            return Parsed("invalid", None, None, None, None, error)
        return self.score(verdict)

    def load(self, text: str) -> tuple[dict[str, Any] | None, str | None]:
        try:
            data = json.loads(text, parse_constant=_reject_constant)
        except (json.JSONDecodeError, ValueError) as exc:
            return None, f"reply is not JSON: {exc}"
        if not isinstance(data, dict):
            return None, f"reply is JSON but not an object (got {type(data).__name__})"
        if self._validator.is_valid(data):  # the common case, without collecting errors
            return data, None
        errors = sorted(self._validator.iter_errors(data), key=lambda e: list(e.absolute_path))
        if errors:
            first = errors[0]
            where = "/".join(str(p) for p in first.absolute_path) or "(root)"
            more = f" (+{len(errors) - 1} more)" if len(errors) > 1 else ""
            return None, f"schema violation at {where}: {first.message}{more}"
        return data, None

    def score(self, verdict: dict[str, Any]) -> Parsed:
        try:
            score, raw = map_severity(self.rubric.severity, verdict)
        except (KeyError, TypeError, ValueError, ZeroDivisionError) as exc:
            return Parsed(
                "invalid", verdict, None, None, _rationale(verdict), f"cannot map verdict to severity: {exc!r}"
            )
        return Parsed("ok", verdict, score, raw, _rationale(verdict), None)


def repair(text: str) -> str | None:
    """Strip code fences and surrounding prose; return the JSON object text, or None."""
    fenced = _FENCE.search(text)
    if fenced:
        text = fenced.group(1)
    start, end = text.find("{"), text.rfind("}")
    if start < 0 or end <= start:
        return None
    return text[start : end + 1]


def _rationale(verdict: dict[str, Any]) -> str | None:
    value = verdict.get("rationale")
    return value if isinstance(value, str) else None


def verdict_json(verdict: dict[str, Any] | None) -> str | None:
    return canonical_json(verdict) if verdict is not None else None
