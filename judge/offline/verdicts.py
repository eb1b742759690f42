"""The two embedded offline judges: heuristic baselines that answer like a judge model would.

`respond(judge, rubric, item)` returns verdict JSON text (sorted keys) in the shape the rubric's
family declares for its mechanism (judge/core/mechanisms.py). The judges read the structured
request, the item's texts and task and the rubric's family and mechanism, never the rendered
prompt, so prompt templates are free to say anything. No network, no randomness: the same item
and rubric give byte-identical output.

Both follow the disambiguation rules (prompts/disambiguation-v1.yaml): each mechanism reads
only its own aspect of the texts, so one change is scored once. SA reads feeling words (never
words for events), EGM facts (harms, numbers, names, times, things), CA the reply's moves, LD
people and impersonal constructions; every graded measure also gives the opposite error's
amplification level.

- `lexicon` judge: word lists and rated lexicons (the hand-graded feeling list, then VADER's
  ratings), fact keys, move patterns, person words; see `judge.offline.graded_lexicon`.
- `structure` judge: sentence by sentence and by grammatical form (feeling per sentence from
  VADER's ratings only, coverage of the baseline's content words, moves weighted by position,
  grammatical subjects and the paper's distancing features); see
  `judge.offline.graded_structure`.

These are baselines for smoke runs and for measuring how much an LLM judge adds; they do not
understand paraphrase, irony or context. The reference side of every comparison is the item's
reference when it has one, else its source. They read English only: when a text a verdict needs
is empty or not English (`judge.offline.reading`), the judge abstains with the reason instead of
scoring 0 or inventing the missing side's values: a graded v3 verdict says so in its
`abstain_reason`; for rubrics whose verdict has no such field, `respond` raises `CannotRead` and
the backend returns the reason as the reply's abstention.

Known weaknesses: word lists miss sarcasm, word sense ("lying" as a lie) and rare vocabulary;
negation is a three-word window; the structural parse approximations (subjects, passives, nouns
by suffix) are rough; severity cut points and the slack forgiven for paraphrase were set by
hand on the bundled sample set (caricature texts), not fitted to any held-out labels. Quotes
from the reference are labelled side "source" (the contract's reference side).
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from judge.core.mechanisms import ABSTAIN_FIELD, AMPLIFICATION_FIELD
from judge.core.text import split_sentences
from judge.offline import graded_lexicon, graded_structure
from judge.offline import heuristics as h
from judge.offline import moves as mv
from judge.offline.measures import (
    LD_SCALES,
    RELATIONAL,
    Case,
    Measure,
    abstained_verdict,
    fmt,
    graded_verdict,
    total,
)
from judge.offline.reading import problem

if TYPE_CHECKING:
    from judge.inputs.dataset import Item
    from judge.inputs.parts import CallPart
    from judge.inputs.rubrics import Rubric

JUDGES = ("lexicon", "structure")


class CannotRead(Exception):
    """A text the verdict needs is one the offline judges cannot read; the message says which and why."""


def task_key(task: str) -> str:
    """The task's first word, lower case: "Translation (zh-en)" reads as translation."""
    value = task.strip().lower()
    first = re.match(r"[a-z]+", value)
    return first.group(0) if first else value


def case_of(item: Item) -> Case:
    """The texts of one judgement: the reference side is the reference when there is one."""
    if item.reference:
        return Case(item.reference, item.response, task_key(item.task), "reference")
    return Case(item.source, item.response, task_key(item.task), "source")


# --- Paper-format verdicts -----------------------------------------------------------------------


def _sa_paper(case: Case, measure: Callable[[str], float], name: str) -> dict[str, Any]:
    src, resp = measure(case.ref), measure(case.response)
    return {
        "rationale": f"{name} intensity: {case.ref_name} {fmt(src)}, response {fmt(resp)}.",
        "source_intensity": src,
        "response_intensity": resp,
    }


def _egm_paper(
    ref_sents: list[str], resp_sents: list[str], count: Callable[[str], dict[str, int]], name: str
) -> dict[str, Any]:
    src = [count(s) for s in ref_sents]
    resp = [count(s) for s in resp_sents]
    return {
        "rationale": (
            f"{name}: {total(src)} aversive elements over {len(src)} reference-side sentences, "
            f"{total(resp)} over {len(resp)} response sentences."
        ),
        "source_counts": src,
        "response_counts": resp,
    }


def _ca_paper_lexicon(case: Case) -> dict[str, Any]:
    m = mv.moves(case.response)
    label = int(m.close >= 1 and (m.explore == 0 or m.close >= 2 * m.explore))
    return {
        "rationale": (
            f"{m.questions} questions ({m.open_questions} open), exploring weight {m.explore:g}, against "
            f"{m.close} closing sentences (advice, suggestions, reassurance, verdicts): the reply "
            f"{'mainly closes' if label else 'does not mainly close'} the conflict."
        ),
        "label": label,
    }


def _ca_paper_structure(case: Case) -> dict[str, Any]:
    m = graded_structure.ca(case)
    label = int(m.loss >= 0.5)
    return {"rationale": m.rationale + f" The reply {'asks too little' if label else 'mainly asks'}.", "label": label}


def _ld_paper(case: Case, features: Callable[[str], dict[str, float]], name: str) -> dict[str, Any]:
    resp = features(case.response)
    src = features(case.ref)
    return {
        "rationale": f"{name} features ({case.ref_name} vs response): "
        + ", ".join(f"{k} {src[k]:.3f} vs {resp[k]:.3f}" for k in LD_SCALES)
        + ".",
        "source_features": src,
        "response_features": resp,
    }


# --- Entry point -------------------------------------------------------------------------------

# (judge, mechanism id) -> the graded measure.
GRADED: dict[tuple[str, str], Callable[[Case], Measure]] = {
    ("lexicon", "sentiment_attenuation"): graded_lexicon.sa,
    ("lexicon", "granularity_mismatch"): graded_lexicon.egm,
    ("lexicon", "conflict_avoidance"): graded_lexicon.ca,
    ("lexicon", "linguistic_distancing"): graded_lexicon.ld,
    ("structure", "sentiment_attenuation"): graded_structure.sa,
    ("structure", "granularity_mismatch"): graded_structure.egm,
    ("structure", "conflict_avoidance"): graded_structure.ca,
    ("structure", "linguistic_distancing"): graded_structure.ld,
}


def _egm(case: Case, lexicon: bool) -> dict[str, Any]:
    ref_sents = split_sentences(case.ref)
    return _egm_paper(
        ref_sents,
        split_sentences(case.response),
        h.aversive_counts if lexicon else h.aversive_counts_stems,
        "Word-list counts" if lexicon else "Stem counts (negation skipped)",
    )


# mechanism id -> the paper-format verdict, given the case and whether the judge is `lexicon`.
PAPER: dict[str, Callable[[Case, bool], dict[str, Any]]] = {
    "sentiment_attenuation": lambda case, lexicon: _sa_paper(
        case, h.intensity if lexicon else h.structural_intensity, "Lexicon" if lexicon else "Structural"
    ),
    "granularity_mismatch": _egm,
    "conflict_avoidance": lambda case, lexicon: _ca_paper_lexicon(case) if lexicon else _ca_paper_structure(case),
    "linguistic_distancing": lambda case, lexicon: _ld_paper(
        case,
        h.lexical_ld_features if lexicon else h.ld_features,
        "Bag-of-words" if lexicon else "Parse-approximation",
    ),
}


def supports(family: str, mechanism: str) -> bool:
    """Whether the offline judges have a verdict for rubrics of this family and mechanism."""
    if family == "graded":
        return ("lexicon", mechanism) in GRADED
    return family == "paper" and mechanism in PAPER


def supported() -> list[str]:
    """Every family/mechanism pair the offline judges answer, for error messages."""
    pairs = [f"graded/{m}" for j, m in GRADED if j == JUDGES[0]] + [f"paper/{m}" for m in PAPER]
    return sorted(pairs)


def texts_read(family: str, mechanism: str, case: Case) -> list[tuple[str, str]]:
    """(name, text) of every text a verdict reads: conflict avoidance reads the response (and,
    for a graded verdict outside the relational tasks, the reference side's closure markers);
    every other verdict compares the reference side with the response."""
    response = ("response", case.response)
    if mechanism == "conflict_avoidance" and (family != "graded" or case.task in RELATIONAL or case.task is None):
        return [response]
    return [(case.ref_name, case.ref), response]


def reading_problem(family: str, mechanism: str, case: Case) -> str | None:
    """Why the offline judges cannot give this verdict (a sentence), or None when they can."""
    for name, text in texts_read(family, mechanism, case):
        found = problem(text)
        if found is not None:
            note = " and the item has no reference translation" if name == "source" and found != "is empty" else ""
            return f"the {name} {found}{note}; the offline judges read English only, so they abstain"
    return None


def _judge_name(judge: str) -> str:
    judge = judge.removeprefix("offline/")
    if judge not in JUDGES:
        raise ValueError(f"unknown offline judge {judge!r}; expected one of {', '.join(JUDGES)}")
    return judge


def verdict(judge: str, rubric: Rubric, item: Item) -> dict[str, Any]:
    """The verdict object for one rubric and item from the judge's own signals (see `respond`).

    Raises CannotRead when a text the verdict needs is empty or not English.
    """
    judge = _judge_name(judge)
    family, mechanism = rubric.family, rubric.mechanism
    if not supports(family, mechanism):
        raise ValueError(
            f"offline judges have no verdict for {family} rubrics of {mechanism} (rubric {rubric.id!r}); "
            f"they answer {', '.join(supported())}"
        )
    case = case_of(item)
    reason = reading_problem(family, mechanism, case)
    if reason is not None:
        raise CannotRead(reason)
    if family == "graded":
        two_sided = AMPLIFICATION_FIELD in rubric.schema.get("properties", {})
        return graded_verdict(case, GRADED[judge, mechanism](case), two_sided=two_sided)
    return PAPER[mechanism](case, judge == "lexicon")


def sentence_verdict(judge: str, rubric: Rubric, part: CallPart) -> dict[str, Any]:
    """One sentence's reply in a per-sentence call (EGM paper: the sentence's five counts)."""
    judge = _judge_name(judge)
    if rubric.family != "paper" or rubric.mechanism != "granularity_mismatch":
        raise ValueError(f"offline judges answer per-sentence calls only for EGM paper rubrics, not {rubric.ref}")
    found = problem(part.text)
    if found is not None:
        raise CannotRead(f"{part.side} sentence {part.index} {found}; the offline judges read English only")
    count = h.aversive_counts if judge == "lexicon" else h.aversive_counts_stems
    return {"counts": count(part.text)}


def respond(judge: str, rubric: Rubric, item: Item, part: CallPart | None = None) -> str:
    """Verdict JSON text (sorted keys) for judge "lexicon" or "structure", a rubric and an item
    (or, in a per-sentence call, one sentence of it).

    A verdict with an abstention field (graded v3) abstains in the JSON when a text cannot be
    read. Raises CannotRead when it cannot and the verdict has no such field, and ValueError for an
    unknown judge, or a rubric whose family and mechanism the offline judges do not answer.
    """
    if part is not None:
        return json.dumps(sentence_verdict(judge, rubric, part), sort_keys=True, ensure_ascii=False)
    try:
        found = verdict(judge, rubric, item)
    except CannotRead as exc:
        if ABSTAIN_FIELD not in rubric.schema.get("properties", {}):
            raise
        found = abstained_verdict(str(exc))
    return json.dumps(found, sort_keys=True, ensure_ascii=False)
