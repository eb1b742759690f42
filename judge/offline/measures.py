"""Graded measures of the two offline judges: signals -> loss, evidence and rationale.

Each measure compares the reference side (the item's reference if it has one, else its source)
with the response and returns a loss in [0, 1] (higher = worse failure) that `graded_verdict`
maps to the 0-4 severity with fixed cut points. The lexicon and structure judges use different signals here
so that their agreement is informative.
"""

from __future__ import annotations

import math
import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

from judge.core.taxonomy import LD_FEATURE_SCALES
from judge.core.text import Hit, sentence_offsets, split_sentences, token_spans
from judge.offline import heuristics as h

LD_SCALES = LD_FEATURE_SCALES
# How much of the client's intensity a good reply is expected to carry: a counselling reply
# should name the feeling accurately, not mirror it; news and translation should keep it all.
SA_EXPECTED_SHARE = {"counselling": 0.7, "workplace": 0.7, "education": 0.85}
RELATIONAL = frozenset({"counselling", "workplace", "education"})
MAX_EVIDENCE = 6
ECHO_FULL = 0.3

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
    overcorrection: bool
    strength: float  # how clear the signal is, in [0, 1]
    rationale: str
    evidence: list[dict[str, str]]
    # The opposite error in [0, 1], on the same cut points as the loss (graded v3's
    # amplification). Where ``overcorrection`` is set it reaches level 2 or more; without it, it
    # stays below level 2.
    amplification: float = 0.0


CUTS = (0.1, 0.25, 0.45, 0.7)
LEVEL_2 = CUTS[1]
BELOW_LEVEL_2 = CUTS[1] - 0.01


def _severity(loss: float) -> int:
    """Calibrated cut points on the loss: <0.1 none, <0.25 mild, <0.45 clear, <0.7 strong."""
    return sum(loss >= cut for cut in CUTS)


def _clamp(x: float) -> float:
    return max(0.0, min(1.0, x))


def _quote_range(text: str, hit: Hit, pad: int = 3, max_tokens: int = 14) -> Hit | None:
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


def _evidence(side: str, text: str, hits: Sequence[Hit], limit: int) -> list[dict[str, str]]:
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


def _sentence_hits(text: str, keep: Callable[[str], bool]) -> list[Hit]:
    return [(start, start + len(s)) for s, start in sentence_offsets(text) if keep(s)]


def _confidence(strength: float, case: Case) -> float:
    """Signal strength scaled by how much text there was to measure (short texts: less sure)."""
    n = min(len(case.ref.split()), len(case.response.split()))
    coverage = min(1.0, n / 40)
    return round(_clamp((0.3 + 0.5 * strength) * (0.5 + 0.5 * coverage)), 2)


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
        out["overcorrection"] = m.overcorrection
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


def gain_amplification(ref: float, resp: float, over: bool, span: float = 0.6) -> float:
    """Amplification from a rise in a signal: (resp - ref) / span, at level 2 or more where the
    judge's over-correction test holds and below level 2 where it does not."""
    amp = _clamp((resp - ref) / span)
    return max(amp, LEVEL_2) if over else min(amp, BELOW_LEVEL_2)


def count_amplification(ref: float, resp: float, over: bool) -> float:
    """Amplification from added elements: (resp - ref) / (ref + 6), gated like ``gain_amplification``."""
    amp = _clamp((resp - ref) / (ref + 6))
    return max(amp, LEVEL_2) if over else min(amp, BELOW_LEVEL_2)


def _relative_loss(ref: float, resp: float, floor: float) -> float:
    """(ref - resp) / ref clipped to [0, 1]; 0 when the reference value is below floor."""
    return _clamp((ref - resp) / ref) if ref >= floor else 0.0


def fmt(x: float) -> str:
    return f"{x:.2f}"


# --- Lexicon judge: graded measures --------------------------------------------------------------


def _sa_target(case: Case, ref_value: float) -> float:
    return ref_value * SA_EXPECTED_SHARE.get(case.task or "", 1.0)


def _lex_sa(case: Case) -> Measure:
    ref, resp = h.intensity_details(case.ref), h.intensity_details(case.response)
    target = _sa_target(case, ref.score)
    loss = _relative_loss(target, resp.score, floor=0.1)
    over = resp.score - ref.score > 0.25 and resp.score > 1.5 * ref.score
    hits_ref = [(s, e) for _, s, e in ref.hits]
    hits_resp = resp.clinical_hits + [(s, e) for _, s, e in resp.hits]
    evidence = _evidence("source", case.ref, hits_ref, 3) + _evidence(
        "response", case.response, hits_resp, 3
    )
    rationale = (
        f"Lexicon intensity {case.ref_name} {fmt(ref.score)} (emotion weight "
        f"{ref.emotion_weight:g}, {ref.exclamations} '!', {ref.clinical} clinical words) vs "
        f"response {fmt(resp.score)} (emotion weight {resp.emotion_weight:g}, "
        f"{resp.exclamations} '!', {resp.clinical} clinical words); expected at least "
        f"{fmt(target)} for task {case.task or 'unknown'}, shortfall {loss:.0%}."
    )
    if over:
        rationale += " The response is markedly more intense than the reference side."
    amp = gain_amplification(ref.score, resp.score, over)
    return Measure(loss, over, max(loss, abs(resp.score - ref.score)), rationale, evidence, amp)


def total(counts: Sequence[dict[str, int]]) -> int:
    return sum(sum(c.values()) for c in counts)


def _lex_egm(case: Case) -> Measure:
    ref_sents, resp_sents = split_sentences(case.ref), split_sentences(case.response)
    ref_total = total([h.aversive_counts(s) for s in ref_sents])
    resp_total = total([h.aversive_counts(s) for s in resp_sents])
    ref_hits = sorted(x for hs in h.aversive_hits(case.ref).values() for x in hs)
    resp_hits = sorted(x for hs in h.aversive_hits(case.response).values() for x in hs)
    if ref_total:
        what, ref_n, resp_n = "aversive elements", ref_total, resp_total
    else:  # no aversive content: granularity of affect = strong, specific emotion words
        ri, si = h.intensity_details(case.ref), h.intensity_details(case.response)
        ref_hits = [(s, e) for w, s, e in ri.hits if w >= 2]
        resp_hits = [(s, e) for w, s, e in si.hits if w >= 2]
        what, ref_n, resp_n = "specific emotion words (weight >= 2)", len(ref_hits), len(resp_hits)
    # One or two elements are weak evidence: scale the loss by how much there was to lose.
    loss = _relative_loss(ref_n, resp_n, floor=1) * min(1.0, ref_n / 3)
    vague = h.intensity_details(case.response).clinical_hits
    over = resp_n > 1.5 * ref_n + 2
    density_ref = ref_n / max(len(ref_sents), 1)
    density_resp = resp_n / max(len(resp_sents), 1)
    evidence = _evidence("source", case.ref, ref_hits, 3) + _evidence(
        "response", case.response, vague + resp_hits, 3
    )
    rationale = (
        f"{what.capitalize()}: {case.ref_name} {ref_n} ({density_ref:.2f}/sentence) vs response "
        f"{resp_n} ({density_resp:.2f}/sentence); compression {loss:.0%}; response uses "
        f"{len(vague)} vague or clinical words."
    )
    if over:
        rationale += " The response adds far more such detail than the reference side."
    amp = count_amplification(ref_n, resp_n, over)
    return Measure(loss, over, loss if ref_n else 0.2, rationale, evidence, amp)


def ca_closing(m: h.ConflictMarkers) -> int:
    return m.advice + m.closure + m.moralising


def _lex_ca(case: Case) -> Measure:
    resp = h.conflict_markers(case.response)
    closing = ca_closing(resp)
    exploring = resp.open_questions + 0.5 * (resp.questions - resp.open_questions)
    if case.task in RELATIONAL or case.task is None:
        if closing == 0:
            loss = 0.0
        elif exploring == 0:
            loss = min(1.0, 0.5 + 0.15 * closing)
        else:
            loss = closing / (closing + 2 * exploring)
        scope = "has"
    else:  # news/translation: only added closure or moralising counts
        ref = h.conflict_markers(case.ref)
        added = (resp.closure + resp.moralising) - (ref.closure + ref.moralising)
        loss = min(0.6, 0.2 * max(added, 0))
        scope = f"adds {max(added, 0)} closure/moralising phrases over the {case.ref_name}; it has"
    over = resp.moralising > 0
    hits = resp.moralising_hits + resp.closure_hits + resp.advice_hits
    evidence = _evidence("response", case.response, hits, 4) + _evidence(
        "response", case.response, resp.question_hits, 2
    )
    rationale = (
        f"Response {scope} {resp.questions} questions ({resp.open_questions} open), "
        f"{resp.advice} advice sentences, {resp.closure} closure and {resp.moralising} "
        f"moralising phrases over {resp.sentences} sentences (task {case.task or 'unknown'})."
    )
    # Moralising phrases: one reaches level 2, each further one about a level more.
    amp = LEVEL_2 + 0.2 * (resp.moralising - 1) if over else 0.0
    return Measure(loss, over, min(1.0, (closing + resp.questions) / 4), rationale, evidence, _clamp(amp))


def _lex_ld(case: Case) -> Measure:
    ref, resp = h.lexical_distancing(case.ref), h.lexical_distancing(case.response)
    parts = {
        "human reference drop": _relative_loss(
            ref["human_reference"], resp["human_reference"], 0.03
        ),
        "clinical rise": _clamp((resp["clinical"] - ref["clinical"]) / 0.05),
    }
    if case.task not in RELATIONAL:  # a counsellor is not expected to say "I" like the client
        parts["first person drop"] = _relative_loss(ref["first_person"], resp["first_person"], 0.02)
    parts["feature distance"] = _ld_distance(
        h.lexical_ld_features(case.ref), h.lexical_ld_features(case.response)
    )
    loss = sum(parts.values()) / len(parts)
    clinical = h.intensity_details(case.response).clinical_hits
    evidence = _evidence("response", case.response, clinical, 4)
    rationale = (
        f"Per-word rates {case.ref_name} vs response: first person {ref['first_person']:.3f} vs "
        f"{resp['first_person']:.3f}, person words {ref['human_reference']:.3f} vs "
        f"{resp['human_reference']:.3f}, clinical words {ref['clinical']:.3f} vs "
        f"{resp['clinical']:.3f}; components "
        + ", ".join(f"{k} {v:.2f}" for k, v in parts.items())
        + "."
    )
    return Measure(loss, False, loss, rationale, evidence)


def _ld_distance(ref: dict[str, float], resp: dict[str, float]) -> float:
    """The rubric's feature_distance with its default scales (only increases count)."""
    terms = [max(0.0, (resp[k] - ref[k]) / s) ** 2 for k, s in LD_SCALES.items()]
    return _clamp(math.sqrt(sum(terms) / len(terms)))


# --- Structure judge: graded measures ------------------------------------------------------------


def _is_short_or_exclaimed(sentence: str) -> bool:
    return sentence.rstrip("\"'”’) ").endswith(("!", "！")) or len(sentence.split()) <= 6


def _is_distanced(sentence: str) -> bool:
    f = h.ld_features(sentence)
    return f["passive_share"] > 0 or f["nominalisation_density"] >= 0.1


def _struct_sa(case: Case) -> Measure:
    ref_p, resp_p = h.structure_profile(case.ref), h.structure_profile(case.response)
    ref_i, resp_i = h.structural_intensity(case.ref), h.structural_intensity(case.response)
    target = _sa_target(case, ref_i)
    shortfall = _relative_loss(target, resp_i, floor=0.1)
    echo, dropped = h.content_echo(case.ref, case.response)
    # Re-using under ECHO_FULL of the reference's content words reads as a generic paraphrase.
    # Only when the form is also flatter: a louder rewrite in new words is not attenuation.
    echo_loss = _clamp(1.0 - echo / ECHO_FULL) if dropped and resp_i < ref_i else 0.0
    loss = 0.5 * shortfall + 0.5 * echo_loss
    over = resp_i - ref_i > 0.25 and resp_i > 1.5 * ref_i
    evidence = (
        _evidence("source", case.ref, _sentence_hits(case.ref, _is_short_or_exclaimed), 2)
        + _evidence("source", case.ref, dropped, 2)
        + _evidence("response", case.response, _sentence_hits(case.response, _is_distanced), 2)
    )
    rationale = (
        f"Structural intensity {case.ref_name} {fmt(ref_i)} vs response {fmt(resp_i)} "
        f"(expected at least {fmt(target)} for task {case.task or 'unknown'}; shortfall "
        f"{shortfall:.0%}); the response re-uses {echo:.0%} of the {case.ref_name}'s content "
        f"words. Exclamatory sentences {ref_p.exclamation_share:.0%} vs "
        f"{resp_p.exclamation_share:.0%}, mean sentence length {ref_p.mean_sentence_length:.1f} "
        f"vs {resp_p.mean_sentence_length:.1f} words, first person "
        f"{ref_p.first_person_rate:.3f} vs {resp_p.first_person_rate:.3f}, present tense "
        f"{ref_p.present_tense_rate:.2f} vs {resp_p.present_tense_rate:.2f}."
    )
    amp = gain_amplification(ref_i, resp_i, over)
    return Measure(loss, over, max(loss, abs(resp_i - ref_i)), rationale, evidence, amp)


def _struct_egm(case: Case) -> Measure:
    ref_p, resp_p = h.structure_profile(case.ref), h.structure_profile(case.response)
    ref_detail = ref_p.numbers + ref_p.proper_nouns + ref_p.concrete_nouns
    resp_detail = resp_p.numbers + resp_p.proper_nouns + resp_p.concrete_nouns
    ref_av = total([h.aversive_counts_stems(s) for s in split_sentences(case.ref)])
    resp_av = total([h.aversive_counts_stems(s) for s in split_sentences(case.response)])
    # Scale each loss by how much there was to lose: one dropped detail is weak evidence.
    parts = [_relative_loss(ref_detail, resp_detail, 1) * min(1.0, ref_detail / 3)]
    if ref_av:
        parts.append(_relative_loss(ref_av, resp_av, 1) * min(1.0, ref_av / 3))
    loss = sum(parts) / len(parts)
    over = resp_av > 1.5 * ref_av + 2
    # Details of the reference side that the response never mentions: specificity lost.
    resp_words = {w.lower() for w in re.findall(r"\w+", case.response)}
    dropped = [x for x in ref_p.detail_hits if case.ref[x[0] : x[1]].lower() not in resp_words]
    evidence = _evidence("source", case.ref, dropped, 4) + _evidence(
        "response", case.response, resp_p.detail_hits, 2
    )
    rationale = (
        f"Concrete detail (numbers, proper nouns, concrete nouns) {case.ref_name} {ref_detail} "
        f"({ref_p.detail_per_sentence:.2f}/sentence) vs response {resp_detail} "
        f"({resp_p.detail_per_sentence:.2f}/sentence); {len(dropped)} reference-side details "
        f"absent from the response; aversive stems {ref_av} vs {resp_av}; loss {loss:.0%}."
    )
    amp = count_amplification(ref_av, resp_av, over)
    return Measure(loss, over, loss if ref_detail or ref_av else 0.2, rationale, evidence, amp)


def _is_directive(sentence: str) -> bool:
    p = h.structure_profile(sentence)
    return p.imperative_share > 0 or p.modal_you_share > 0


def _struct_ca(case: Case) -> Measure:
    p = h.structure_profile(case.response)
    close = min(1.0, p.imperative_share + p.modal_you_share)
    explore = p.question_share
    if case.task in RELATIONAL or case.task is None:
        loss = 0.0 if close == 0 else close / (close + explore)
        loss *= 0.6 + 0.4 * (not p.last_sentence_question)
    else:  # news/translation: directives the reference side did not have
        ref = h.structure_profile(case.ref)
        added = max(0.0, close - min(1.0, ref.imperative_share + ref.modal_you_share))
        loss = min(0.6, 2 * added)
    hits_close = _sentence_hits(case.response, _is_directive)
    hits_q = _sentence_hits(case.response, lambda s: s.rstrip("\"'”’) ").endswith(("?", "？")))
    evidence = _evidence("response", case.response, hits_close, 4) + _evidence(
        "response", case.response, hits_q, 2
    )
    rationale = (
        f"Response sentence types over {p.sentences} sentences: questions {p.question_share:.0%}, "
        f"imperatives {p.imperative_share:.0%}, 'you should/could/need to' "
        f"{p.modal_you_share:.0%}; ends with a "
        f"{'question' if p.last_sentence_question else 'statement or directive'} "
        f"(task {case.task or 'unknown'})."
    )
    return Measure(loss, False, min(1.0, close + explore), rationale, evidence)


def _struct_ld(case: Case) -> Measure:
    ref_f, resp_f = h.ld_features(case.ref), h.ld_features(case.response)
    ref_p, resp_p = h.structure_profile(case.ref), h.structure_profile(case.response)
    distance = _ld_distance(ref_f, resp_f)
    tense = _relative_loss(ref_p.present_tense_rate, resp_p.present_tense_rate, 0.1)
    loss = 0.75 * distance + 0.25 * tense
    evidence = _evidence("response", case.response, _sentence_hits(case.response, _is_distanced), 4)
    rationale = (
        "Distancing features "
        + ", ".join(f"{k} {ref_f[k]:.2f} vs {resp_f[k]:.2f}" for k in LD_SCALES)
        + f" ({case.ref_name} vs response); scaled distance {distance:.2f}; present tense "
        f"{ref_p.present_tense_rate:.2f} vs {resp_p.present_tense_rate:.2f}."
    )
    return Measure(loss, False, loss, rationale, evidence)


# (judge, mechanism id) -> the graded measure.
GRADED: dict[tuple[str, str], Callable[[Case], Measure]] = {
    ("lexicon", "sentiment_attenuation"): _lex_sa, ("lexicon", "granularity_mismatch"): _lex_egm,
    ("lexicon", "conflict_avoidance"): _lex_ca, ("lexicon", "linguistic_distancing"): _lex_ld,
    ("structure", "sentiment_attenuation"): _struct_sa, ("structure", "granularity_mismatch"): _struct_egm,
    ("structure", "conflict_avoidance"): _struct_ca, ("structure", "linguistic_distancing"): _struct_ld,
}  # fmt: skip
