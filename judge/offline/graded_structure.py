"""The structure judge's graded measures: sentence shape, grammatical form and coverage, per
mechanism, each scoring only the aspect the disambiguation rules give it.

- SA: feeling carried sentence by sentence (VADER's ratings only, not the hand list), with the
  sentence's form (exclamation, repetition, fragments): the baseline's most feeling sentences
  against the response's, and how many sentences carry feeling at all.
- EGM: coverage of the baseline's content words, and its facts with harms found by word stem.
- CA: the reply's sentence moves weighted by position (what it ends on weighs most).
- LD: the paper's three features (vague stand-ins for events left out) and the share of
  grammatical subjects that are people.
Each also measures the opposite error, the rules' amplification.
"""

from __future__ import annotations

from judge.core.text import sentence_offsets
from judge.offline import affect as af
from judge.offline import facts as fx
from judge.offline import lexicons as lx
from judge.offline import moves as mv
from judge.offline import persons as ps
from judge.offline.measures import (
    LD_SCALES,
    Case,
    Measure,
    clamp,
    evidence,
    fmt,
    ld_distance,
    relational,
    relative_loss,
    sa_target,
    tolerate,
)
from judge.offline.structure import ld_features, subjects

# Share of the baseline's content words a faithful response re-uses, by task: a rewrite or a
# translation keeps most; a reply picks up the person's specifics, not all their words.
EXPECTED_COVERAGE = {"counselling": 0.3, "workplace": 0.3, "education": 0.3}
FEELING_SENTENCE = 1.0
_VAGUE_NOUNS = frozenset(t for t in lx.VAGUE_EVENT_TERMS if " " not in t)


def sa(case: Case) -> Measure:
    ref_s, ref_spans, negative = af.sentence_feeling(case.ref, None)
    resp_s, resp_spans, _ = af.sentence_feeling(case.response, negative)
    ref_peak, resp_peak = af.peak(ref_s), af.peak(resp_s)
    share = sa_target(case, 1.0)
    ref_n = sum(x >= FEELING_SENTENCE for x in ref_s)
    resp_n = sum(x >= FEELING_SENTENCE for x in resp_s)
    # How many feeling sentences a response must keep: the baseline's, at most four.
    need = min(ref_n, 4)
    carried = min(1.0, resp_n / (share * need)) if need else 1.0
    other = af.affect(case.response, negative=not negative, hand=False).mass
    cheer = (
        0.08 * min(other, 5)
        if negative and ref_peak > 1 and other > af.affect(case.ref, hand=False).opposite_mass
        else 0
    )
    loss = tolerate(0.6 * relative_loss(share * ref_peak, resp_peak, floor=0.8) + 0.4 * (1 - carried) + cheer, 0.08)
    gain = (resp_peak - ref_peak) / max(ref_peak, 1.0)
    extra = max(0, resp_n - max(ref_n, 1))
    amp = clamp(0.5 * gain + 0.07 * extra)
    top_ref = sorted(range(len(ref_s)), key=lambda i: -ref_s[i])[:2]
    low_resp = sorted(range(len(resp_s)), key=lambda i: resp_s[i])[:2]
    quotes = evidence("source", case.ref, [ref_spans[i] for i in top_ref if ref_s[i] > 0], 2)
    if top_ref:  # the response's flattest sentences, where the baseline had feeling to carry
        quotes += evidence("response", case.response, [resp_spans[i] for i in low_resp], 2)
    rationale = (
        f"Feeling by sentence: the {case.ref_name}'s three most feeling sentences average {fmt(ref_peak)}, "
        f"the response's {fmt(resp_peak)}; sentences carrying feeling {ref_n} vs {resp_n} (expected "
        f"{share:.0%} of up to four for task {case.task or 'unknown'}); opposite-polarity feeling "
        f"in the response {other:g}."
    )
    if amp >= 0.25:
        rationale += " The response is pitched above the baseline."
    return Measure(clamp(loss), max(clamp(loss), amp), rationale, quotes, amp)


def egm(case: Case) -> Measure:
    cov, missing = fx.coverage(case.ref, case.response)
    expected = EXPECTED_COVERAGE.get(case.task or "", 0.55)
    cov_loss = clamp(1 - cov / expected)
    cmp = fx.compare(case.ref, case.response, stems=True)
    detail = tolerate(cmp.lost_share, 0.2) * min(1.0, cmp.baseline_weight / 4)
    vague = fx.added_vagueness(case.ref, case.response)
    loss = tolerate(0.5 * cov_loss + 0.5 * detail if cmp.baseline_weight else 0.7 * cov_loss, 0.1)
    loss += 0.05 * min(len(vague), 4) if loss > 0.1 else 0.0
    amp = clamp(cmp.added_weight / (cmp.baseline_weight + 6) + 0.1 * cmp.graphic_added)
    lost_hits = [(f.start, f.end) for f in cmp.lost] + missing
    quotes = evidence("source", case.ref, lost_hits, 3)
    quotes += evidence("response", case.response, vague + [(f.start, f.end) for f in cmp.added], 3)
    rationale = (
        f"The response re-uses {cov:.0%} of the {case.ref_name}'s content words (a faithful one about "
        f"{expected:.0%} for task {case.task or 'unknown'}); facts by stem: weight {cmp.baseline_weight:g}, "
        f"kept {cmp.kept_weight:g}; {len(vague)} vague stand-ins for events added; adds facts of weight "
        f"{cmp.added_weight:g}."
    )
    return Measure(clamp(loss), max(clamp(loss), amp), rationale, quotes, amp)


def ca(case: Case) -> Measure:
    found = [m for m in mv.classify_text(case.response) if m.kind not in {"none", "offer"}]
    n = len(found)
    close_w = explore_w = 0.0
    for i, m in enumerate(found):
        weight = 0.5 + (i / (n - 1) if n > 1 else 1.0)  # the last move weighs three times the first
        if m.kind in mv.CLOSING:
            close_w += weight
        elif m.kind in mv.EXPLORING:
            explore_w += weight * mv.EXPLORING[m.kind]
    if relational(case):
        if close_w == 0:
            loss = 0.0 if explore_w else 0.15 * bool(sentence_offsets(case.response))
        elif explore_w == 0:
            loss = min(0.85, 0.4 + 0.1 * sum(m.kind in mv.CLOSING for m in found))
        else:
            loss = close_w / (close_w + explore_w)
    else:
        ref = [m for m in mv.classify_text(case.ref) if m.kind in mv.CLOSING]
        loss = min(0.6, 0.15 * max(0, sum(m.kind in mv.CLOSING for m in found) - len(ref)))
    pushing = mv.moves(case.response)
    exclaimed = sum(
        1 for m in found if m.kind in mv.CLOSING and case.response[m.start : m.end].rstrip("\"'”’) ").endswith("!")
    )
    amp = clamp(0.17 * pushing.push + 0.08 * exclaimed)
    quotes = evidence("response", case.response, [(m.start, m.end) for m in reversed(found) if m.kind in mv.CLOSING], 4)
    quotes += evidence("response", case.response, [(m.start, m.end) for m in found if m.kind in mv.EXPLORING], 2)
    rationale = (
        f"Moves by position over {n} sentences: closing weight {close_w:.2f}, exploring weight {explore_w:.2f} "
        f"(later sentences weigh more); {pushing.push} pushing or accusing, {exclaimed} exclaimed directives "
        f"(task {case.task or 'unknown'})."
    )
    return Measure(clamp(loss), min(1.0, (close_w + explore_w) / 4), rationale, quotes, amp)


def _people(text: str) -> tuple[float, float, float, int]:
    """Share of subjects that are people, that are I/you/we, that are third persons, and the count."""
    subj = subjects(text)
    if not subj:
        return 0.0, 0.0, 0.0, 0
    n = len(subj)
    human = sum(hum for _, hum in subj) / n
    personal = sum(head in {"i", "you", "we"} for head, _ in subj) / n
    third = sum(hum and head not in {"i", "you", "we"} for head, hum in subj) / n
    return human, personal, third, n


def ld(case: Case) -> Measure:
    ref_f, resp_f = ld_features(case.ref, skip=_VAGUE_NOUNS), ld_features(case.response, skip=_VAGUE_NOUNS)
    distance = ld_distance(ref_f, resp_f)
    ref_h, ref_p, ref_t, _ = _people(case.ref)
    resp_h, resp_p, resp_t, n = _people(case.response)
    people = relative_loss(ref_h, resp_h, 0.2)
    personal = relative_loss(ref_p * (0.8 if relational(case) else 1.0), resp_p, 0.15)
    loss = tolerate(0.5 * distance + 0.3 * people + 0.2 * personal, 0.12)
    acc = ps.accusation(case.response).total - ps.accusation(case.ref).total
    amp = clamp(0.17 * max(acc, 0) + 0.4 * clamp((resp_t - ref_t - 0.15) / 0.5))
    distanced = [
        (off, off + len(sent))
        for sent, off in sentence_offsets(case.response)
        if ld_features(sent, skip=_VAGUE_NOUNS)["passive_share"] > 0
        or ld_features(sent, skip=_VAGUE_NOUNS)["nominalisation_density"] >= 0.12
    ]
    quotes = evidence("response", case.response, ps.accusation(case.response).hits + distanced, 4)
    rationale = (
        "Distancing features (vague stand-ins for events left out) "
        + ", ".join(f"{k} {ref_f[k]:.2f} vs {resp_f[k]:.2f}" for k in LD_SCALES)
        + f" ({case.ref_name} vs response), scaled distance {distance:.2f}; subjects that are people "
        f"{ref_h:.0%} vs {resp_h:.0%}, I/you/we {ref_p:.0%} vs {resp_p:.0%} ({n} subjects in the response); "
        f"third-person subjects {ref_t:.0%} vs {resp_t:.0%}; accusing wording {max(acc, 0)} more."
    )
    return Measure(loss, max(loss, amp), rationale, quotes, amp)
