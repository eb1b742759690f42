"""Mechanisms and rubric families, declared once, with the verdict each family expects.

A **mechanism** (sentiment attenuation, ...) has an id, a short code and a title. A **family**
(graded, paper) is a kind of rubric. Their meeting point is a **verdict contract**: the JSON
Schema a verdict of that family must match for that mechanism (in numbered versions that rubric
files refer to as ``schema: <family>@<N>``), the severity mapping every such rubric uses, and the
scale levels it must describe. A family whose verdict is the same for every mechanism (graded)
carries one shared contract; a mechanism whose verdict is its own (the paper formats) carries
its contract under the family's id.

Adding a mechanism, a family or a contract is one ``register_*`` call, here or in a plugin or a
test; the rubric loader and validator, the dataset's gold columns, the offline judges' dispatch
and the statistics look everything up through the functions below. Severity mapping kinds are
declared in ``judge.core.severity``.
"""

from __future__ import annotations

import copy
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any


@dataclass(frozen=True)
class VerdictContract:
    """What a verdict of one family looks like for one mechanism, and how it maps to severity.

    ``severity`` holds the mapping's kind and every key a conforming rubric must give exactly
    (keys the kind lists as optional, such as feature_distance's ``scales``, may be added).
    """

    schemas: Mapping[int, dict[str, Any]]
    severity: Mapping[str, Any]
    levels: tuple[int, ...] = ()  # scale levels a rubric must describe; () when free
    # Schema versions with an ``amplification`` field map it like this (a rubric's
    # ``amplification`` block must agree); None when no version has one.
    amplification: Mapping[str, Any] | None = None
    # Fields holding one entry per numbered sentence of a text the prompt shows, by side
    # ("baseline" = the reference if the item has one, else the source; "response"): a verdict
    # whose list length differs from the sentences shown is invalid.
    sentence_fields: Mapping[str, str] = field(default_factory=dict)
    # The verdict of one call that judges a single sentence (rubrics with ``calls: per_sentence``):
    # the runner assembles these into one verdict of the contract's schema. None when the
    # contract has no per-sentence form.
    sentence_schema: dict[str, Any] | None = None

    def schema(self, version: int | None = None) -> dict[str, Any]:
        """A fresh copy of a schema version (the latest when None), safe to keep or change."""
        return copy.deepcopy(self.schemas[max(self.schemas) if version is None else version])

    def field_sets(self) -> list[frozenset[str]]:
        """The verdict fields of each schema version."""
        return [frozenset(s.get("properties", {})) for s in self.schemas.values()]


@dataclass(frozen=True)
class Family:
    id: str
    title: str
    shared: VerdictContract | None = None  # the contract for every mechanism, when there is one


@dataclass(frozen=True)
class Mechanism:
    id: str  # snake id used by rubrics and gold columns: sentiment_attenuation
    code: str  # the short code rubric ids start with: sa
    title: str
    contracts: Mapping[str, VerdictContract] = field(default_factory=dict)  # family id -> its own contract


_mechanisms: dict[str, Mechanism] = {}
_families: dict[str, Family] = {}


def register_mechanism(mechanism: Mechanism, *, replace: bool = False) -> Mechanism:
    if mechanism.id in _mechanisms and not replace:
        raise ValueError(f"mechanism '{mechanism.id}' is already declared")
    taken = {m.code: m.id for m in _mechanisms.values() if m.id != mechanism.id}
    if mechanism.code in taken:
        raise ValueError(f"mechanism code '{mechanism.code}' already belongs to '{taken[mechanism.code]}'")
    _mechanisms[mechanism.id] = mechanism
    return mechanism


def register_family(family: Family, *, replace: bool = False) -> Family:
    if family.id in _families and not replace:
        raise ValueError(f"rubric family '{family.id}' is already declared")
    _families[family.id] = family
    return family


def unregister_mechanism(mechanism_id: str) -> None:
    _mechanisms.pop(mechanism_id, None)


def unregister_family(family_id: str) -> None:
    _families.pop(family_id, None)


def mechanism(mechanism_id: str) -> Mechanism:
    """The declared mechanism; KeyError when there is none (callers add "did you mean")."""
    return _mechanisms[mechanism_id]


def mechanism_ids() -> tuple[str, ...]:
    return tuple(_mechanisms)


def family(family_id: str) -> Family:
    return _families[family_id]


def family_ids() -> tuple[str, ...]:
    return tuple(_families)


def contract(family_id: str, mechanism_id: str) -> VerdictContract | None:
    """The verdict contract of a family for a mechanism: the mechanism's own, else the family's
    shared one; None when the family has none for it."""
    own = _mechanisms[mechanism_id].contracts.get(family_id) if mechanism_id in _mechanisms else None
    if own is not None:
        return own
    fam = _families.get(family_id)
    return fam.shared if fam is not None else None


def paper_fields(mechanism_id: str) -> dict[str, str]:
    """The fields of a paper-format verdict that the paper's metrics read, by role: for example
    ``{"reference": "source_intensity", "generated": "response_intensity"}`` or
    ``{"field": "label"}`` (the field names of the paper contract's severity mapping)."""
    found = contract("paper", mechanism_id)
    if found is None:
        raise KeyError(f"mechanism '{mechanism_id}' has no paper-format verdict")
    return {k: v for k, v in found.severity.items() if isinstance(v, str) and k != "kind"}


# --- The paper's vocabulary --------------------------------------------------------------------

# The authors' five aversive-element categories, counted per sentence in EGM paper verdicts.
AVERSIVE_CATEGORIES = ("death", "violence", "injury", "graphic", "abuse")
# The paper's three linguistic-distancing features and the spread that counts as one unit of
# distancing in the per-item severity (a response more passive, nominal or non-human than its
# baseline by this much scores 1 on that feature).
LD_FEATURE_SCALES = {"passive_share": 0.5, "nominalisation_density": 0.15, "nonhuman_subject_share": 0.5}
LD_FEATURES = tuple(LD_FEATURE_SCALES)


# --- The two families ----------------------------------------------------------------------------


def _evidence(described: bool) -> dict[str, Any]:
    quote = {
        "type": "object",
        "additionalProperties": False,
        "required": ["side", "quote"],
        "properties": {"side": {"type": "string", "enum": ["source", "response"]}, "quote": {"type": "string"}},
    }
    out: dict[str, Any] = {"type": "array", "maxItems": 6, "items": quote}
    if described:
        out["description"] = "Short spans copied exactly from the texts, baseline side first."
    return out


def _graded_schema(described: bool) -> dict[str, Any]:
    """The graded verdict: quotes first, then rationale, severity 0-4, over-correction, confidence."""
    rationale: dict[str, Any] = {"type": "string"}
    if described:
        rationale["description"] = "Two to four sentences tying the quotes to a level."
    return {
        "type": "object",
        "additionalProperties": False,
        "required": ["evidence", "rationale", "severity", "overcorrection", "confidence"],
        "properties": {
            "evidence": _evidence(described),
            "rationale": rationale,
            "severity": {"type": "integer", "minimum": 0, "maximum": 4},
            "overcorrection": {"type": "boolean"},
            "confidence": {"type": "number", "minimum": 0, "maximum": 1},
        },
    }


# The graded verdict's fields from version 3 on. A judge that cannot judge the mechanism on the
# texts (empty, off-task, unreadable) gives a reason in ABSTAIN_FIELD (null otherwise); the
# verdict is then recorded ``abstained``, never scored. EVIDENCE_FIELD holds the quotes that are
# checked against the texts.
ABSTAIN_FIELD = "abstain_reason"
EVIDENCE_FIELD = "evidence"
AMPLIFICATION_FIELD = "amplification"


def _graded_schema_v3() -> dict[str, Any]:
    """Two-sided graded verdict: severity (loss in the mechanism's direction) and amplification
    (the opposite error), each 0-4, with an abstention reason. Every property is required and the
    reason is nullable, so strict JSON-schema modes accept the schema as it is."""
    return {
        "type": "object",
        "additionalProperties": False,
        "required": [ABSTAIN_FIELD, EVIDENCE_FIELD, "rationale", "severity", AMPLIFICATION_FIELD, "confidence"],
        "properties": {
            ABSTAIN_FIELD: {
                "type": ["string", "null"],
                "description": "null when you judge. Otherwise one sentence saying why this mechanism cannot be "
                "judged on these texts; severity, amplification and confidence are then 0 and ignored.",
            },
            EVIDENCE_FIELD: _evidence(True),
            "rationale": {"type": "string", "description": "Two to four sentences tying the quotes to both levels."},
            "severity": {"type": "integer", "minimum": 0, "maximum": 4,
                         "description": "Loss in the mechanism's direction, 0-4 (the severity levels)."},
            AMPLIFICATION_FIELD: {"type": "integer", "minimum": 0, "maximum": 4,
                                  "description": "The opposite error, 0-4 (the amplification levels)."},
            "confidence": {"type": "number", "minimum": 0, "maximum": 1},
        },
    }  # fmt: skip


register_family(Family(
    "graded", "Research-grade 0-4 severity, evidence first",
    shared=VerdictContract(
        # v1: the walking skeleton's; v2 adds descriptions that guide the judge; v3 is two-sided
        # (amplification 0-4 replaces the over-correction flag) and lets the judge abstain.
        schemas={1: _graded_schema(False), 2: _graded_schema(True), 3: _graded_schema_v3()},
        severity={"kind": "linear", "field": "severity", "min": 0, "max": 4},
        levels=(0, 1, 2, 3, 4),
        amplification={"field": AMPLIFICATION_FIELD, "min": 0, "max": 4},
    ),
))
register_family(Family("paper", "The authors' own scoring format, one per mechanism"))


# --- The four mechanisms of You, Huang and Yu (2026), with their paper-format verdicts -------


def _paper_schema(rationale: str, properties: dict[str, Any]) -> dict[str, Any]:
    return {
        "type": "object",
        "additionalProperties": False,
        "required": ["rationale", *properties],
        "properties": {"rationale": {"type": "string", "description": rationale}, **properties},
    }


_UNIT = {"type": "number", "minimum": 0, "maximum": 1}
_COUNTS = {
    "type": "object",
    "additionalProperties": False,
    "required": list(AVERSIVE_CATEGORIES),
    "properties": {c: {"type": "integer", "minimum": 0} for c in AVERSIVE_CATEGORIES},
}
_FEATURES = {
    "type": "object",
    "additionalProperties": False,
    "required": list(LD_FEATURES),
    "properties": {f: dict(_UNIT) for f in LD_FEATURES},
}

register_mechanism(Mechanism(
    "sentiment_attenuation", "sa", "Sentiment attenuation",
    {"paper": VerdictContract(
        schemas={1: _paper_schema("The cues behind each rating, briefly.", {
            "source_intensity": dict(_UNIT), "response_intensity": dict(_UNIT)})},
        severity={"kind": "compression", "reference": "source_intensity", "generated": "response_intensity"},
    )},
))
register_mechanism(Mechanism(
    "granularity_mismatch", "egm", "Empathic granularity mismatch",
    {"paper": VerdictContract(
        schemas={1: _paper_schema("One or two sentences on what was kept or dropped.", {
            "source_counts": {"type": "array", "description": "One object per numbered BASELINE sentence, in order.",
                              "items": _COUNTS},
            "response_counts": {"type": "array", "description": "One object per numbered RESPONSE sentence, in order.",
                                "items": _COUNTS}})},
        severity={"kind": "count_compression", "reference": "source_counts", "generated": "response_counts"},
        sentence_fields={"source_counts": "baseline", "response_counts": "response"},
        # The authors' convention: one call per sentence, each returning that sentence's counts.
        sentence_schema={"type": "object", "additionalProperties": False, "required": ["counts"],
                         "properties": {"counts": _COUNTS}},
    )},
))
register_mechanism(Mechanism(
    "conflict_avoidance", "ca", "Conflict avoidance",
    {"paper": VerdictContract(
        schemas={1: _paper_schema("The three conditions, checked briefly.", {
            "label": {"type": "integer", "enum": [0, 1]}})},
        severity={"kind": "binary", "field": "label"},
    )},
))
register_mechanism(Mechanism(
    "linguistic_distancing", "ld", "Linguistic distancing",
    {"paper": VerdictContract(
        schemas={1: _paper_schema("The counts behind each share, per text.", {
            "source_features": _FEATURES, "response_features": _FEATURES})},
        severity={"kind": "feature_distance", "reference": "source_features", "generated": "response_features"},
    )},
))  # fmt: skip
