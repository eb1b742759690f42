"""Graded measures of the two offline judges: signals -> loss, evidence and rationale.

Each measure compares the reference side (the item's reference if it has one, else its source)
with the response and returns a loss in [0, 1] (higher = worse failure) that `graded_verdict`
maps to the 0-4 severity with fixed cut points. The lexicon and structure judges use different signals here
so that their agreement is informative.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

from judge.core.taxonomy import LD_FEATURE_SCALES
from judge.core.text import Hit, sentence_offsets, token_spans

LD_SCALES = LD_FEATURE_SCALES
# How much of the client's intensity a good reply is expected to carry: a counselling reply
# should name the feeling accurately, not mirror it; news and translation should keep it all.
SA_EXPECTED_SHARE = {"counselling": 0.7, "workplace": 0.7, "education": 0.85}
RELATIONAL = frozenset({"counselling", "workplace", "education"})
MAX_EVIDENCE = 6

# --- Shared verdict pieces ---------------------------------------------------------------------


@dataclass(frozen=True)
class Case:
    """The texts of one judgement. `ref` is the reference side (reference, else source)."""

    ref: str
    response: str
    task: str | None
    ref_name: str  # "reference" or "source", for rationales


@dataclass(frozen=True)
class Measure:
    """What a judge measured for a graded verdict; `loss` in [0, 1], higher = worse failure."""

    loss: float
    strength: float  # how clear the signal is, in [0, 1]
    rationale: str
    evidence: list[dict[str, str]]
    # The opposite error in [0, 1], on the same cut points as the loss: graded v3's
    # amplification level, and graded v1/v2's over-correction flag where it reaches level 2.
    amplification: float = 0.0


CUTS = (0.1, 0.25, 0.45, 0.7)
LEVEL_2 = CUTS[1]
BELOW_LEVEL_2 = CUTS[1] - 0.01


def _severity(loss: float) -> int:
    """Calibrated cut points on the loss: <0.1 none, <0.25 mild, <0.45 clear, <0.7 strong."""
    return sum(loss >= cut for cut in CUTS)


def clamp(x: float) -> float:
    return max(0.0, min(1.0, x))


def _quote_range(text: str, hit: Hit, pad: int = 2, max_tokens: int = 12) -> Hit | None:
    """Character range of a verbatim quote around hit: the hit plus `pad` tokens each side,
    kept inside the hit's sentence and capped at `max_tokens` tokens."""
    bounds = next(
        ((st, st + len(se)) for se, st in sentence_offsets(text) if st <= hit[0] < st + len(se)),
        (0, len(text)),
    )
    spans = [sp for sp in token_spans(text) if sp.start >= bounds[0] and sp.end <= bounds[1]]
    idx = [i for i, sp in enumerate(spans) if sp.end > hit[0] and sp.start < hit[1]]
    if not idx:
        return None
    lo, hi = max(0, idx[0] - pad), min(len(spans) - 1, idx[-1] + pad)
    hi = min(hi, lo + max_tokens - 1)
    return spans[lo].start, spans[hi].end


def evidence(side: str, text: str, hits: Sequence[Hit], limit: int) -> list[dict[str, str]]:
    """Up to `limit` non-overlapping verbatim quotes from text around the hits, in hit order."""
    out: list[dict[str, str]] = []
    taken: list[Hit] = []
    for hit in hits:
        rng = _quote_range(text, hit)
        if rng is None or any(rng[0] < e and s < rng[1] for s, e in taken):
            continue
        taken.append(rng)
        out.append({"side": side, "quote": text[rng[0] : rng[1]]})
        if len(out) >= limit:
            break
    return out


def sentence_hits(text: str, keep: Callable[[str], bool]) -> list[Hit]:
    return [(start, start + len(s)) for s, start in sentence_offsets(text) if keep(s)]


def _confidence(strength: float, case: Case) -> float:
    """Signal strength scaled by how much text there was to measure (short texts: less sure)."""
    n = min(len(case.ref.split()), len(case.response.split()))
    coverage = min(1.0, n / 40)
    return round(clamp((0.3 + 0.5 * strength) * (0.5 + 0.5 * coverage)), 2)


def graded_verdict(case: Case, m: Measure, *, two_sided: bool = False) -> dict[str, Any]:
    """The graded verdict: v1/v2's over-correction flag, or with ``two_sided`` graded v3's
    amplification level and a null abstention reason."""
    evidence: list[dict[str, str]] = []
    for item in m.evidence:  # measures gather quotes in several passes: drop repeats
        if not any(e["side"] == item["side"] and item["quote"] in e["quote"] for e in evidence):
            evidence.append(item)
    out: dict[str, Any] = {
        "evidence": evidence[:MAX_EVIDENCE],
        "rationale": m.rationale,
        "severity": _severity(m.loss),
        "confidence": _confidence(m.strength, case),
    }
    if two_sided:
        out.update(abstain_reason=None, amplification=_severity(m.amplification))
    else:
        out["overcorrection"] = _severity(m.amplification) >= 2
    return out


def abstained_verdict(reason: str) -> dict[str, Any]:
    """A graded v3 verdict that abstains: the levels are 0 and ignored."""
    return {
        "abstain_reason": reason,
        "evidence": [],
        "rationale": f"Not judged: {reason}",
        "severity": 0,
        "amplification": 0,
        "confidence": 0.0,
    }


def relative_loss(ref: float, resp: float, floor: float) -> float:
    """(ref - resp) / ref clipped to [0, 1]; 0 when the reference value is below floor."""
    return clamp((ref - resp) / ref) if ref >= floor else 0.0


def fmt(x: float) -> str:
    return f"{x:.2f}"




def total(counts: Sequence[dict[str, int]]) -> int:
    return sum(sum(c.values()) for c in counts)


def sa_target(case: Case, ref_value: float) -> float:
    """How much of the baseline's feeling the response is expected to carry."""
    return ref_value * SA_EXPECTED_SHARE.get(case.task or "", 1.0)


def ld_distance(ref: dict[str, float], resp: dict[str, float]) -> float:
    """The rubric's feature_distance with its default scales (only increases count)."""
    terms = [max(0.0, (resp[k] - ref[k]) / s) ** 2 for k, s in LD_SCALES.items()]
    return clamp(math.sqrt(sum(terms) / len(terms)))


def relational(case: Case) -> bool:
    return case.task in RELATIONAL or case.task is None


def tolerate(loss: float, slack: float) -> float:
    """Forgive the first ``slack`` of a loss (what paraphrase alone costs a measure), rescaling
    the rest to [0, 1]: a faithful rewording should sit at level 0, not 1."""
    return clamp((loss - slack) / (1 - slack))
