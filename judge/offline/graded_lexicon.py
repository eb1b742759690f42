"""The lexicon judge's graded measures: word lists and rated lexicons, per mechanism, each scoring
only the aspect the disambiguation rules give it (prompts/disambiguation-v1.yaml).

- SA: feeling words (hand-graded list, then VADER's ratings), modified by intensifiers, hedges
  and negation; the baseline's strongest feelings looked for at their strength in the response.
- EGM: facts (harms by category, numbers by value, names, times, things) kept or lost, and vague
  stand-ins for events added.
- CA: the reply's moves (judge.offline.moves): exploring against closing.
- LD: sentences that mention anyone, personal pronouns, impersonal phrasings, the paper's
  features in their bag-of-words form.
Each also measures the opposite error, the rules' amplification.
"""

from __future__ import annotations

from judge.offline import affect as af
from judge.offline import facts as fx
from judge.offline import heuristics as h
from judge.offline import moves as mv
from judge.offline import persons as ps
from judge.offline.measures import (
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

STRONG = 1.5  # a feeling word at this strength or more is one the response must carry


def feeling_coverage(ref: af.Affect, resp: af.Affect, share: float) -> tuple[float, list[af.FeelingHit]]:
    """Share of the baseline's strong feeling words (its five strongest) that the response
    matches with a feeling word of at least ``share`` x their strength (one for one, strongest
    first, any word: a synonym carries the feeling), and the baseline hits left unmatched."""
    need = [x for x in ref.hits if x.weight >= STRONG][:5]
    if not need:
        return 1.0, []
    have = sorted((x.weight for x in resp.hits), reverse=True)
    missing = []
    for hit in need:
        if have and have[0] >= share * hit.weight * 0.8:
            have.pop(0)
        else:
            missing.append(hit)
    return 1 - len(missing) / len(need), missing


def sa(case: Case) -> Measure:
    ref = af.affect(case.ref)
    resp = af.affect(case.response, negative=ref.negative)
    share = sa_target(case, 1.0)
    peak_loss = relative_loss(share * ref.peak, resp.peak, floor=0.3)
    coverage, missing = feeling_coverage(ref, resp, share)
    ref_form, resp_form = af.form_cues(case.ref), af.form_cues(case.response)
    ref_marks = ref_form.exclamations + ref_form.repeats
    form_loss = relative_loss(ref_marks, resp_form.exclamations + resp_form.repeats, floor=1) * min(1.0, ref_marks / 3)
    # A cheerful or official tone in place of named pain (the rules' SA case).
    register = len(af.register_hits(case.response)) - len(af.register_hits(case.ref))
    tone = clamp(0.08 * max(register, 0) + (0.1 * min(resp.opposite_mass, 4) if ref.negative and ref.peak > 0.5 else 0))
    raw = 0.45 * peak_loss + 0.35 * (1 - coverage) + 0.2 * form_loss + tone if ref.peak >= 0.3 else tone
    loss = tolerate(raw, 0.08)
    # Amplification: stronger peak, more strong feelings, more exclamations than the baseline.
    extra_strong = max(0, resp.strong - max(ref.strong, 1))
    gain = (resp.peak - ref.peak) / max(ref.peak, 1.0)
    marks = max(0, resp_form.exclamations + resp_form.caps // 2 - ref_form.exclamations - ref_form.caps // 2)
    amp = clamp(0.5 * gain + 0.08 * extra_strong + 0.08 * marks)
    quotes = evidence("source", case.ref, [(x.start, x.end) for x in missing or ref.hits], 3)
    weakest = sorted(resp.hits, key=lambda x: x.weight)
    quotes += evidence("response", case.response, [(x.start, x.end) for x in weakest], 3)
    rationale = (
        f"Feeling words ({'painful' if ref.negative else 'pleasant'}): {case.ref_name} peak {fmt(ref.peak)} over "
        f"{len(ref.hits)} words ({ref.strong} strong), response peak {fmt(resp.peak)} over {len(resp.hits)} "
        f"({resp.strong} strong); {coverage:.0%} of the {case.ref_name}'s strong feelings carried at "
        f"{share:.0%} of their strength (task {case.task or 'unknown'}); exclamations and repeats "
        f"{ref_marks} vs {resp_form.exclamations + resp_form.repeats}; official register +{max(register, 0)}."
    )
    if amp >= 0.25:
        rationale += " The response expresses more feeling than the baseline."
    return Measure(loss, max(loss, amp, abs(gain) / 2), rationale, quotes, amp)


def egm(case: Case) -> Measure:
    cmp = fx.compare(case.ref, case.response, stems=False)
    vague = fx.added_vagueness(case.ref, case.response)
    # One or two facts are weak evidence: scale by how much there was to lose.
    lost = tolerate(cmp.lost_share, 0.25) * min(1.0, cmp.baseline_weight / 4)
    loss = clamp(lost + (0.06 * min(len(vague), 5) if lost > 0 else 0.0))
    amp = clamp(cmp.added_weight / (cmp.baseline_weight + 6) + 0.1 * cmp.graphic_added)
    quotes = evidence("source", case.ref, [(f.start, f.end) for f in cmp.lost], 3)
    quotes += evidence("response", case.response, vague + [(f.start, f.end) for f in cmp.added], 3)
    rationale = (
        f"Facts (harms, numbers, names, times, things): {case.ref_name} weight {cmp.baseline_weight:g}, "
        f"kept {cmp.kept_weight:g} ({1 - cmp.lost_share:.0%}); {len(vague)} vague stand-ins for events added; "
        f"response adds facts of weight {cmp.added_weight:g} ({cmp.graphic_added} graphic)."
    )
    return Measure(loss, max(loss, amp) if cmp.baseline_weight else 0.2, rationale, quotes, amp)


def ca(case: Case) -> Measure:
    m = mv.moves(case.response)
    if relational(case):
        if m.close == 0:
            loss = 0.0 if m.explore >= 1 or m.sentences == 0 else 0.15
        elif m.explore == 0:
            loss = min(0.85, 0.45 + 0.08 * m.close)
        else:
            loss = m.close / (m.close + 1.5 * m.explore)
            loss *= 0.75 if m.ends_exploring else 1.0
            loss += 0.1 if m.closes_first else 0.0
        scope = "has"
    else:  # graded v1/v2 judge every task: only closure and verdicts added over the baseline count
        ref = mv.moves(case.ref)
        added = (m.counts.get("closure", 0) + m.counts.get("verdict", 0)) - (
            ref.counts.get("closure", 0) + ref.counts.get("verdict", 0)
        )
        loss = min(0.6, 0.2 * max(added, 0))
        scope = f"adds {max(added, 0)} closing sentences over the {case.ref_name}; it has"
    amp = clamp(0.17 * m.push)
    quotes = evidence("response", case.response, m.push_hits + m.close_hits, 4)
    quotes += evidence("response", case.response, m.explore_hits, 2)
    rationale = (
        f"Response {scope} {m.questions} questions ({m.open_questions} open), exploring weight {m.explore:g} "
        f"against {m.close} closing sentences (advice, suggestions, reassurance, verdicts) over {m.sentences} "
        f"sentences; {m.push} pushing or accusing; it {'ends' if m.ends_exploring else 'does not end'} "
        f"exploring (task {case.task or 'unknown'})."
    )
    return Measure(clamp(loss), min(1.0, (m.close + m.explore + m.push) / 4), rationale, quotes, amp)


def ld(case: Case) -> Measure:
    ref_share, resp_share = ps.person_sentence_share(case.ref), ps.person_sentence_share(case.response)
    ref_pron, resp_pron = ps.pronoun_rate(case.ref), ps.pronoun_rate(case.response)
    n_ref = max(1, len(h.split_sentences(case.ref)))
    n_resp = max(1, len(h.split_sentences(case.response)))
    impersonal = ps.impersonal_hits(case.response)
    imp_rise = len(impersonal) / n_resp - len(ps.impersonal_hits(case.ref)) / n_ref
    parts = {
        "people": relative_loss(ref_share, resp_share, 0.2),
        "pronouns": relative_loss(ref_pron * (0.8 if relational(case) else 1.0), resp_pron, 0.02),
        "impersonal": clamp(imp_rise / 0.5),
        "features": ld_distance(h.lexical_ld_features(case.ref), h.lexical_ld_features(case.response)),
    }
    loss = clamp(
        0.3 * parts["people"] + 0.25 * parts["pronouns"] + 0.25 * parts["impersonal"] + 0.3 * parts["features"]
    )
    ref_acc, resp_acc = ps.accusation(case.ref), ps.accusation(case.response)
    actors = ps.new_actors(case.ref, case.response)
    amp = clamp(0.17 * max(0, resp_acc.total - ref_acc.total) + 0.05 * max(0, len(actors) - 2))
    quotes = evidence("response", case.response, resp_acc.hits + impersonal, 4)
    rationale = (
        f"Sentences mentioning anyone {case.ref_name} {ref_share:.0%} vs response {resp_share:.0%}; personal "
        f"pronouns per word {ref_pron:.3f} vs {resp_pron:.3f}; impersonal phrasings {len(impersonal)}; components "
        + ", ".join(f"{k} {v:.2f}" for k, v in parts.items())
        + f"; invented intentions, accusations or self-focus {resp_acc.total} (baseline {ref_acc.total}), "
        f"{len(actors)} people the {case.ref_name} does not mention."
    )
    return Measure(loss, max(loss, amp), rationale, quotes, amp)
