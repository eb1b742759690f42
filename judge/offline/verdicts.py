"""The two embedded offline judges: heuristic baselines that answer like a judge model would.

`respond(judge, rubric_id, messages)` reads the delimited blocks and the `Task:` line from the
last user message and returns verdict JSON text (sorted keys) in the shape docs/CONTRACTS.md gives for
the rubric. No network, no randomness: the same messages give byte-identical output.

- `lexicon` judge: word lists (emotion intensity, aversive elements, advice/closure/question
  markers, person and clinical vocabulary); see `judge.offline.heuristics`.
- `structure` judge: sentence shape and word form (exclamations, sentence length, tense, person,
  detail density, sentence types, the paper's distancing features); see `judge.offline.structure`.

These are baselines for smoke runs and for measuring how much an LLM judge adds; they do not
understand paraphrase, irony or context. The reference side of every comparison is the
REFERENCE block when present, else SOURCE; a Chinese source with no English reference is
reported as not comparable rather than scored with English word lists.

Known weaknesses: word lists miss paraphrase, sarcasm and rare vocabulary; negation is a
three-word window; the structural parse approximations (subjects, passives, nouns by suffix)
are rough; severity cut points are set by hand on a few worked examples, not fitted to gold
labels. Quotes from a REFERENCE block are labelled side "source" (the contract's reference side).
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable, Sequence
from typing import Any

from judge.core.text import split_sentences
from judge.offline import heuristics as h
from judge.offline.measures import (
    GRADED,
    LD_SCALES,
    Case,
    ca_closing,
    fmt,
    graded_verdict,
    not_comparable,
    total,
)

JUDGES = ("lexicon", "structure")
RUBRIC_IDS = (
    "ca-graded", "ca-paper", "egm-graded", "egm-paper",
    "ld-graded", "ld-paper", "sa-graded", "sa-paper",
)  # fmt: skip
BLOCK_NAMES = ("source", "reference", "response")

_BLOCK = re.compile(
    r"^<<<(SOURCE|REFERENCE|RESPONSE)>>>[ \t]*\n(?:(.*?)\n)?<<<END \1>>>[ \t]*$",
    re.MULTILINE | re.DOTALL,
)
_TASK = re.compile(r"^Task:[ \t]*(\S[^\n]*?)[ \t]*$", re.MULTILINE)
_NUMBERED = re.compile(r"^\s*\[(\d+)\][ \t]?(.*)$")


# --- Parsing the prompt -------------------------------------------------------------------------


def extract_blocks(user_message: str) -> dict[str, str]:
    """Texts of the <<<SOURCE>>>, <<<REFERENCE>>> and <<<RESPONSE>>> blocks, keyed lower case.

    Markers must stand on their own lines; when a block repeats, the last one wins (templates
    put instructions first). "reference" is absent when there is no such block.
    Raises ValueError when SOURCE or RESPONSE is missing.
    """
    text = user_message.replace("\r\n", "\n")
    found = {m.group(1).lower(): m.group(2) or "" for m in _BLOCK.finditer(text)}
    missing = [name for name in ("source", "response") if name not in found]
    if missing:
        names = " and ".join(f"<<<{m.upper()}>>>" for m in missing)
        raise ValueError(f"offline judge: no {names} block in the last user message")
    return {name: found[name] for name in BLOCK_NAMES if name in found}


def extract_task(user_message: str) -> str | None:
    """The value of a `Task: <task>` line outside the text blocks, lower case; None if absent."""
    outside = _BLOCK.sub("", user_message.replace("\r\n", "\n"))
    m = _TASK.search(outside)
    if not m:
        return None
    value = m.group(1).strip().lower()
    first = re.match(r"[a-z]+", value)
    return first.group(0) if first else value


def extract_sentences(block: str) -> list[str]:
    """The numbered sentences ("[1] ...", one per line) of a block, in order; lines without a
    number continue the previous sentence. A block with no numbers is split with split_sentences.
    """
    sentences: list[str] = []
    numbered = False
    for line in block.replace("\r\n", "\n").split("\n"):
        m = _NUMBERED.match(line)
        if m:
            numbered = True
            sentences.append(m.group(2).strip())
        elif numbered and line.strip():
            sentences[-1] = f"{sentences[-1]} {line.strip()}".strip()
    return sentences if numbered else split_sentences(block)


def _last_user_text(messages: Sequence[dict[str, Any]]) -> str:
    for message in reversed(messages):
        if message.get("role") != "user":
            continue
        content = message.get("content")
        if isinstance(content, str):
            return content
        if isinstance(content, list):  # OpenAI content parts
            return "\n".join(
                str(p.get("text", "")) for p in content if isinstance(p, dict) and "text" in p
            )
    raise ValueError("offline judge: no user message with text content")


# --- Paper-format verdicts -----------------------------------------------------------------------


def _sa_paper(case: Case, measure: Callable[[str], float], name: str) -> dict[str, Any]:
    if not case.comparable:
        return {
            "rationale": f"{not_comparable(case)['rationale']} Source intensity reported as 0.",
            "source_intensity": 0.0,
            "response_intensity": measure(case.response),
        }
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
    m = h.conflict_markers(case.response)
    closing = ca_closing(m)
    label = int(closing >= 2 and m.open_questions <= 1 and closing >= 2 * m.questions)
    return {
        "rationale": (
            f"{m.questions} questions ({m.open_questions} open) against {m.advice} advice "
            f"sentences, {m.closure} closure and {m.moralising} moralising phrases: the reply "
            f"{'mainly closes' if label else 'does not mainly close'} the conflict."
        ),
        "label": label,
    }


def _ca_paper_structure(case: Case) -> dict[str, Any]:
    p = h.structure_profile(case.response)
    close = p.imperative_share + p.modal_you_share
    label = int(p.sentences > 0 and (p.question_share == 0 or close >= 2 * p.question_share))
    return {
        "rationale": (
            f"Questions {p.question_share:.0%} of {p.sentences} sentences, directives "
            f"{close:.0%}: the reply {'asks too little' if label else 'mainly asks'}."
        ),
        "label": label,
    }


def _ld_paper(case: Case, features: Callable[[str], dict[str, float]], name: str) -> dict[str, Any]:
    resp = features(case.response)
    if not case.comparable:
        return {
            "rationale": f"{not_comparable(case)['rationale']} Source features mirror the "
            "response's so that no distance is reported.",
            "source_features": dict(resp),
            "response_features": resp,
        }
    src = features(case.ref)
    return {
        "rationale": f"{name} features ({case.ref_name} vs response): "
        + ", ".join(f"{k} {src[k]:.3f} vs {resp[k]:.3f}" for k in LD_SCALES)
        + ".",
        "source_features": src,
        "response_features": resp,
    }


# --- Entry point -------------------------------------------------------------------------------


def verdict(judge: str, rubric_id: str, user_message: str) -> dict[str, Any]:
    """The verdict object for one rubric from the judge's own signals (see `respond`)."""
    judge = judge.removeprefix("offline/")
    if judge not in JUDGES:
        raise ValueError(f"unknown offline judge {judge!r}; expected one of {', '.join(JUDGES)}")
    if rubric_id not in RUBRIC_IDS:
        raise ValueError(
            f"offline judge has no verdict shape for rubric {rubric_id!r}; expected one of "
            + ", ".join(RUBRIC_IDS)
        )
    blocks = extract_blocks(user_message)
    ref_name = "reference" if "reference" in blocks else "source"
    case = Case(blocks[ref_name], blocks["response"], extract_task(user_message), ref_name)
    mechanism, family = rubric_id.split("-")
    lexicon = judge == "lexicon"
    if family == "graded":
        if not case.comparable and mechanism != "ca":
            return not_comparable(case)
        return graded_verdict(case, GRADED[judge, mechanism](case))
    if mechanism == "sa":
        measure = h.intensity if lexicon else h.structural_intensity
        return _sa_paper(case, measure, "Lexicon" if lexicon else "Structural")
    if mechanism == "egm":
        count = h.aversive_counts if lexicon else h.aversive_counts_stems
        ref_sents = extract_sentences(case.ref)
        if not case.comparable:
            ref_sents = [""] * len(ref_sents)  # English counting rules do not apply to Chinese
        return _egm_paper(
            ref_sents,
            extract_sentences(case.response),
            count,
            "Word-list counts" if lexicon else "Stem counts (negation skipped)",
        )
    if mechanism == "ca":
        return _ca_paper_lexicon(case) if lexicon else _ca_paper_structure(case)
    features = h.lexical_ld_features if lexicon else h.ld_features
    return _ld_paper(case, features, "Bag-of-words" if lexicon else "Parse-approximation")


def respond(judge: str, rubric_id: str, messages: Sequence[dict[str, Any]]) -> str:
    """Verdict JSON text (sorted keys) for judge "lexicon" or "structure" and a rubric id.

    The texts come from the delimited blocks of the last user message. Raises ValueError for an
    unknown judge or rubric, or when the message lacks the SOURCE or RESPONSE block.
    """
    result = verdict(judge, rubric_id, _last_user_text(messages))
    return json.dumps(result, sort_keys=True, ensure_ascii=False)
