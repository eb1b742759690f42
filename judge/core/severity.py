"""Severity mapping kinds, declared once: how a valid verdict becomes the normalised severity.

A rubric's ``severity`` mapping names a kind and the verdict fields it reads, for example
``{kind: compression, reference: source_intensity, generated: response_intensity}``. Each kind is
declared here with the keys it takes and the function that maps a verdict to ``(score, raw)``:
``score`` is the normalised severity in [0, 1] (higher = worse failure), ``raw`` the rubric's
primary raw value (None when undefined). The rubric loader, the verdict parser and the rubric
validator all look kinds up here, so adding a kind is one ``register_severity_kind`` call.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

from judge.core.mechanisms import LD_FEATURE_SCALES

Score = tuple[float, float | None]
# Mapping keys whose values name a property of the verdict schema (checked when a rubric loads).
FIELD_KEYS = ("field", "reference", "generated")


@dataclass(frozen=True)
class SeverityKind:
    """One way to map a verdict to a severity.

    ``required`` and ``optional`` are the mapping's keys besides ``kind``; ``check`` returns a
    problem with a mapping that the key check cannot see (None when there is none).
    """

    name: str
    required: tuple[str, ...]
    score: Callable[[Mapping[str, Any], Mapping[str, Any]], Score]
    optional: tuple[str, ...] = ()
    check: Callable[[Mapping[str, Any]], str | None] | None = None
    description: str = ""


_kinds: dict[str, SeverityKind] = {}


def register_severity_kind(kind: SeverityKind, *, replace: bool = False) -> SeverityKind:
    if kind.name in _kinds and not replace:
        raise ValueError(f"severity kind '{kind.name}' is already declared")
    _kinds[kind.name] = kind
    return kind


def unregister_severity_kind(name: str) -> None:
    _kinds.pop(name, None)


def severity_kind(name: str) -> SeverityKind:
    """The declared kind; KeyError when there is none (callers add "did you mean")."""
    return _kinds[name]


def severity_kind_names() -> tuple[str, ...]:
    return tuple(_kinds)


def map_severity(mapping: Mapping[str, Any], verdict: Mapping[str, Any]) -> Score:
    """Map a valid verdict to (normalised severity in [0, 1], raw score) per the rubric's mapping."""
    kind = _kinds.get(mapping["kind"])
    if kind is None:
        raise ValueError(f"unknown severity kind {mapping['kind']!r}")
    score, raw = kind.score(mapping, verdict)
    # clamp() passes NaN through min/max as 0.0 or NaN depending on order: check, never store it.
    if not (math.isfinite(score) and 0.0 <= score <= 1.0) or (raw is not None and not math.isfinite(raw)):
        raise ValueError(f"the {mapping['kind']} mapping gave score {score!r}, raw {raw!r}: not a finite severity")
    return score, raw


def clamp(x: float) -> float:
    if math.isnan(x):  # min/max would quietly turn NaN into 0.0, a perfect score
        raise ValueError("severity is NaN")
    return min(1.0, max(0.0, x))


# --- the declared kinds ------------------------------------------------------------------------


def _linear(mapping: Mapping[str, Any], verdict: Mapping[str, Any]) -> Score:
    value = float(verdict[mapping["field"]])
    lo, hi = float(mapping["min"]), float(mapping["max"])
    return clamp((value - lo) / (hi - lo)), value


def _linear_check(mapping: Mapping[str, Any]) -> str | None:
    lo, hi = mapping.get("min"), mapping.get("max")
    ok = isinstance(lo, int | float) and isinstance(hi, int | float) and hi > lo
    return None if ok else "linear needs numbers with max > min"


def _binary(mapping: Mapping[str, Any], verdict: Mapping[str, Any]) -> Score:
    value = float(verdict[mapping["field"]])
    return clamp(value), value


def _rate(ref: float, gen: float) -> Score:
    if ref <= 0:
        # Nothing to attenuate: no failure is possible, and the paper's rate is undefined.
        return 0.0, None
    raw = (ref - gen) / ref
    return clamp(raw), raw


def _compression(mapping: Mapping[str, Any], verdict: Mapping[str, Any]) -> Score:
    return _rate(float(verdict[mapping["reference"]]), float(verdict[mapping["generated"]]))


def _total(counts: list[dict[str, Any]]) -> float:
    return float(sum(v for sentence in counts for v in sentence.values() if isinstance(v, int | float)))


def _count_compression(mapping: Mapping[str, Any], verdict: Mapping[str, Any]) -> Score:
    return _rate(_total(verdict[mapping["reference"]]), _total(verdict[mapping["generated"]]))


def _feature_distance(mapping: Mapping[str, Any], verdict: Mapping[str, Any]) -> Score:
    scales = {**LD_FEATURE_SCALES, **(mapping.get("scales") or {})}
    ref, gen = verdict[mapping["reference"]], verdict[mapping["generated"]]
    keys = sorted(scales)
    # Only distancing counts (the response more passive, nominal, non-human than its baseline).
    parts = [max(0.0, (float(gen[k]) - float(ref[k])) / scales[k]) ** 2 for k in keys]
    raw = math.sqrt(sum(parts) / len(parts))
    return clamp(raw), raw


register_severity_kind(SeverityKind(
    "linear", ("field", "min", "max"), _linear, check=_linear_check,
    description="(field - min) / (max - min), clipped to [0, 1]; raw: the field",
))
register_severity_kind(SeverityKind(
    "binary", ("field",), _binary, description="the 0/1 field; raw: the field",
))
register_severity_kind(SeverityKind(
    "compression", ("reference", "generated"), _compression,
    description="clamp((ref - gen) / ref, 0, 1), 0 when ref = 0; raw: the rate unclipped, null when ref = 0",
))
register_severity_kind(SeverityKind(
    "count_compression", ("reference", "generated"), _count_compression,
    description="compression of the totals of per-sentence count objects",
))
register_severity_kind(SeverityKind(
    "feature_distance", ("reference", "generated"), _feature_distance, optional=("scales",),
    description="sqrt(mean_k max(0, (gen_k - ref_k) / scale_k)^2) clipped to [0, 1]; raw: before clipping",
))  # fmt: skip
