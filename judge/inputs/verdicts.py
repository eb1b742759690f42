"""Verdicts: parse a judge's raw reply, validate it against the rubric's schema, and score it.

A reply that is not JSON, or does not match the schema, is ``invalid``: it keeps its raw text and
the reason, and its score stays null. Nothing is ever coerced into a score. Whether a rubric may
try to rescue such a reply (strip code fences, or ask the judge again) is its ``on_invalid`` policy.

Given the item the verdict judged, the parser also checks the verdict against the texts:

- **abstention**: a verdict whose ``abstain_reason`` is a non-empty string is ``abstained``: no
  score, the reason kept as the row's ``error`` (an empty or blank reason counts as null);
- **structure**: fields that hold one entry per numbered sentence (the contract's
  ``sentence_fields``, e.g. EGM paper counts) must have exactly as many entries as sentences were
  shown, else the verdict is ``invalid`` (the list length is the density denominator);
- **evidence**: every quote is looked up in the texts of its side (``judge.inputs.evidence``);
  ``evidence_found`` is the share found (null with no quotes), and under the rubric option
  ``evidence: require_found`` a verdict with an unfound quote is ``invalid``, naming the first.

``amplification`` is the rubric's amplification field normalised to [0, 1] ((value - min) /
(max - min)); null for rubrics without one and for verdicts without a score.
"""

from __future__ import annotations

import json
import math
import re
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from judge.core.hashing import canonical_json
from judge.core.mechanisms import ABSTAIN_FIELD, EVIDENCE_FIELD, contract
from judge.core.severity import clamp, map_severity
from judge.core.taxonomy import VALID_STATUSES
from judge.inputs.evidence import EvidenceCheck, check_evidence, side_texts
from judge.inputs.parts import sentence_counts
from judge.inputs.quick_schema import compile_quick
from judge.inputs.rubrics import Rubric

if TYPE_CHECKING:
    from judge.inputs.dataset import Item

# An abstention reason longer than this is cut (it is a sentence, not an essay).
MAX_REASON_CHARS = 500

_FENCE = re.compile(r"```(?:json|JSON)?\s*\n?(.*?)```", re.S)
# The finite bound on every number in a verdict, whatever its schema says: the rubrics' scales are
# 0-1, 0-4 and per-sentence counts, and an unbounded count (egm-paper's) once let one reply of
# 1e308 overflow a total to inf and store a NaN score. A reply past it is invalid, never scored.
NUMBER_BOUND = 1_000_000


@dataclass(slots=True)
class Parsed:
    status: str  # "ok", "invalid" or "abstained"
    verdict: dict[str, Any] | None
    score: float | None
    raw_score: float | None
    rationale: str | None
    error: str | None  # why invalid; the judge's reason when abstained
    amplification: float | None = None  # normalised to [0, 1]; null without a scale or a score
    evidence_found: float | None = None  # share of quotes found in the texts; null when unchecked

    @property
    def settled(self) -> bool:
        """A reply that validated (ok or abstained): nothing to repair or re-ask."""
        return self.status in VALID_STATUSES


def _reject_constant(name: str) -> float:
    # Python's json accepts NaN and Infinity, which slip past JSON Schema's minimum/maximum.
    raise ValueError(f"{name} is not valid JSON")


class VerdictParser:
    """Validates replies for one rubric; build once per rubric (the validator is compiled once)."""

    def __init__(self, rubric: Rubric, schema: dict[str, Any] | None = None) -> None:
        """``schema``: validate against this schema instead of the rubric's (one sentence's reply
        in a per-sentence call); such replies are only loaded, never scored."""
        import jsonschema

        self.rubric = rubric
        self._validator = jsonschema.Draft202012Validator(schema if schema is not None else rubric.schema)
        # Accepts most valid replies in microseconds; anything it is unsure of goes to jsonschema.
        self._quick = compile_quick(schema if schema is not None else rubric.schema)
        self._scores = schema is None
        props = rubric.schema.get("properties", {})
        self._abstains = ABSTAIN_FIELD in props
        self._quotes = EVIDENCE_FIELD in props
        found = contract(rubric.family, rubric.mechanism)
        self._sentence_fields = dict(found.sentence_fields) if found is not None else {}

    def parse(self, text: str, item: Item | None = None) -> Parsed:
        """Parse and score a reply; with ``item``, also check it against the item's texts."""
        verdict, error = self.load(text)
        if verdict is None:
            return Parsed("invalid", None, None, None, None, error)
        if not self._scores:  # one sentence's reply: valid is all it needs to be
            return Parsed("ok", verdict, None, None, _rationale(verdict), None)
        return self.score(verdict, item)

    def load(self, text: str) -> tuple[dict[str, Any] | None, str | None]:
        try:
            data = json.loads(text, parse_constant=_reject_constant)
        except RecursionError:
            return None, "reply is not JSON: nested too deeply"
        except ValueError as exc:  # JSONDecodeError, NaN/Infinity, an integer over 4,300 digits
            return None, f"reply is not JSON: {exc}"
        if not isinstance(data, dict):
            return None, f"reply is JSON but not an object (got {type(data).__name__})"
        out_of_bounds = _unbounded_number(data)
        if out_of_bounds is not None:
            return None, out_of_bounds
        if self._quick is not None and self._quick(data):  # the common case: certainly valid
            return data, None
        if self._validator.is_valid(data):  # without collecting errors
            return data, None
        errors = sorted(self._validator.iter_errors(data), key=lambda e: list(e.absolute_path))
        if errors:
            first = errors[0]
            where = "/".join(str(p) for p in first.absolute_path) or "(root)"
            more = f" (+{len(errors) - 1} more)" if len(errors) > 1 else ""
            return None, f"schema violation at {where}: {first.message}{more}"
        return data, None

    def score(self, verdict: dict[str, Any], item: Item | None = None) -> Parsed:
        rationale = _rationale(verdict)
        checked = self._check_evidence(verdict, item)
        found = checked.share if checked is not None else None
        reason = verdict.get(ABSTAIN_FIELD) if self._abstains else None
        if isinstance(reason, str) and reason.strip():
            return Parsed("abstained", verdict, None, None, rationale, _cut(reason.strip()), evidence_found=found)
        if item is not None:
            problem = self._check_structure(verdict, item)
            if problem is not None:
                return Parsed("invalid", verdict, None, None, rationale, problem, evidence_found=found)
        if checked is not None and self.rubric.evidence == "require_found" and checked.first_unfound is not None:
            return Parsed("invalid", verdict, None, None, rationale, checked.reason(), evidence_found=found)
        try:
            score, raw = map_severity(self.rubric.severity, verdict)
            amplification = self._amplification(verdict)
        except (KeyError, TypeError, ValueError, ArithmeticError) as exc:
            return Parsed(
                "invalid", verdict, None, None, rationale, f"cannot map verdict to severity: {exc!r}",
                evidence_found=found,
            )  # fmt: skip
        return Parsed("ok", verdict, score, raw, rationale, None, amplification, found)

    def _amplification(self, verdict: dict[str, Any]) -> float | None:
        scale = self.rubric.amplification
        if scale is None:
            return None
        lo, hi = float(scale["min"]), float(scale["max"])
        return clamp((float(verdict[scale["field"]]) - lo) / (hi - lo))

    def _check_evidence(self, verdict: dict[str, Any], item: Item | None) -> EvidenceCheck | None:
        quotes = verdict.get(EVIDENCE_FIELD) if self._quotes else None
        if item is None or not isinstance(quotes, list):
            return None
        return check_evidence(quotes, side_texts(item.source, item.reference, item.response))

    def _check_structure(self, verdict: dict[str, Any], item: Item) -> str | None:
        """A per-sentence list whose length differs from the sentences shown: the first one."""
        if not self._sentence_fields:
            return None
        shown = sentence_counts(item)
        for name, side in self._sentence_fields.items():
            value = verdict.get(name)
            if isinstance(value, list) and len(value) != shown[side]:
                return (
                    f"{name} has {len(value)} entries but the {side} was shown as {shown[side]} numbered "
                    "sentences; it needs one entry per sentence"
                )
        return None


def _unbounded_number(data: Any) -> str | None:
    """The first number in ``data`` past NUMBER_BOUND (or not finite), as a reason; else None."""
    stack: list[tuple[str, Any]] = [("", data)]
    while stack:
        where, node = stack.pop()
        if isinstance(node, dict):
            stack.extend((f"{where}/{k}", v) for k, v in node.items())
        elif isinstance(node, list):
            stack.extend((f"{where}/{i}", v) for i, v in enumerate(node))
        elif (
            isinstance(node, int | float)
            and not isinstance(node, bool)
            and (not (isinstance(node, int) or math.isfinite(node)) or abs(node) > NUMBER_BOUND)
        ):
            shown = f"{node:.3g}" if isinstance(node, float) else f"an integer of {len(str(abs(node)))} digits"
            return f"schema violation at {where[1:] or '(root)'}: {shown} is past the bound of {NUMBER_BOUND:,}"
    return None


def repair(text: str) -> str | None:
    """Strip code fences and surrounding prose; return the JSON object text, or None."""
    fenced = _FENCE.search(text)
    if fenced:
        text = fenced.group(1)
    start, end = text.find("{"), text.rfind("}")
    if start < 0 or end <= start:
        return None
    return text[start : end + 1]


def _cut(text: str) -> str:
    return text if len(text) <= MAX_REASON_CHARS else text[: MAX_REASON_CHARS - 3] + "..."


def _rationale(verdict: dict[str, Any]) -> str | None:
    value = verdict.get("rationale")
    return value if isinstance(value, str) else None


def verdict_json(verdict: dict[str, Any] | None) -> str | None:
    return canonical_json(verdict) if verdict is not None else None
