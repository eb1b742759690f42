"""Checked evidence (judge/inputs/evidence.py): quotes matched against the texts of their side
after normalisation, and what a verdict records or becomes when a quote is not found."""

from __future__ import annotations

import pytest

from judge.core import paths
from judge.core.hashing import canonical_json
from judge.inputs.dataset import Item
from judge.inputs.evidence import check_evidence, locate, normalise, side_texts
from judge.inputs.rubrics import select
from judge.inputs.verdicts import VerdictParser

SOURCE = "My boss screamed at me in front of the whole team.\nI cried in the toilet — for an hour."
REFERENCE = "The water took the house; they lost “everything” they owned."
RESPONSE = "Being **screamed at** in front of your team sounds humiliating. What happened next?"


@pytest.mark.parametrize(
    ("quote", "text", "found"),
    [
        pytest.param("screamed at me", SOURCE, True, id="verbatim"),
        pytest.param("SCREAMED AT ME", SOURCE, True, id="case"),
        pytest.param("whole  team.   I cried", SOURCE, True, id="whitespace-and-line-break"),
        pytest.param("I cried in the toilet - for an hour", SOURCE, True, id="straight-dash-for-em-dash"),
        pytest.param("I cried in the toilet -- for an hour", SOURCE, False, id="two-dashes-are-not-one"),
        pytest.param('they lost "everything"', REFERENCE, True, id="straight-quotes-for-curly"),
        pytest.param("they lost ‘everything’", "they lost 'everything'", True, id="curly-single-for-straight"),
        pytest.param("“screamed at me in front”", SOURCE, True, id="wrapped-in-quote-marks"),
        pytest.param("in front of the whole team.", SOURCE, True, id="trailing-full-stop"),
        pytest.param("My boss screamed ... for an hour", SOURCE, True, id="elision"),
        pytest.param("My boss screamed … whole team", SOURCE, True, id="elision-character"),
        pytest.param("for an hour ... My boss", SOURCE, False, id="elision-out-of-order"),
        pytest.param("Being screamed at in front", RESPONSE, True, id="markdown-emphasis"),
        pytest.param("screamed at us", SOURCE, False, id="changed-word"),
        pytest.param("", SOURCE, False, id="empty"),
        pytest.param(' "..." ', SOURCE, False, id="only-punctuation"),
        pytest.param("全角ＡＢＣ", "全角ABC", True, id="full-width-letters"),
    ],
)
def test_locate(quote: str, text: str, found: bool) -> None:
    assert (locate(quote, text) is not None) == found


def test_locate_gives_the_span_in_the_normalised_text() -> None:
    start, end = locate("WHOLE team", SOURCE) or (0, 0)
    assert normalise(SOURCE)[start:end] == "whole team"


TEXTS = side_texts(SOURCE, REFERENCE, RESPONSE)


@pytest.mark.parametrize(
    ("evidence", "total", "found", "first"),
    [
        pytest.param([], 0, 0, None, id="no-quotes"),
        pytest.param([{"side": "source", "quote": "screamed at me"}], 1, 1, None, id="source-side"),
        pytest.param([{"side": "source", "quote": "they lost everything"}], 1, 0,
                     ("source", "they lost everything"), id="curly-quotes-are-not-words"),
        pytest.param([{"side": "source", "quote": 'they lost "everything"'}], 1, 1, None,
                     id="reference-counts-as-source-side"),
        pytest.param([{"side": "response", "quote": "screamed at me"}], 1, 0, ("response", "screamed at me"),
                     id="wrong-side"),
        pytest.param([{"side": "response", "quote": "What happened next?"},
                      {"side": "response", "quote": "invented words"},
                      {"side": "source", "quote": "also invented"}], 3, 1, ("response", "invented words"),
                     id="first-unfound-named"),
    ],
)  # fmt: skip
def test_check_evidence(evidence: list[dict[str, str]], total: int, found: int, first: tuple[str, str] | None) -> None:
    checked = check_evidence(evidence, TEXTS)
    assert (checked.total, checked.found, checked.first_unfound) == (total, found, first)
    assert checked.share == (found / total if total else None)


ITEM = Item(id="x", task="counselling", dimension="relational", model="m", source=SOURCE, response=RESPONSE,
            reference=REFERENCE)  # fmt: skip


def _verdict(*quotes: tuple[str, str]) -> str:
    return canonical_json({
        "abstain_reason": None, "evidence": [{"side": s, "quote": q} for s, q in quotes], "rationale": "r",
        "severity": 2, "amplification": 1, "confidence": 0.7,
    })  # fmt: skip


def test_every_verdict_records_the_share_of_quotes_found() -> None:
    (rubric,) = select(paths.rubrics_dir(), ["sa-graded"])
    assert rubric.evidence == "record"
    parser = VerdictParser(rubric)
    half = parser.parse(_verdict(("source", "screamed at me"), ("response", "not in the reply")), ITEM)
    assert half.status == "ok" and half.evidence_found == 0.5 and half.score == 0.5
    assert parser.parse(_verdict(), ITEM).evidence_found is None  # nothing to check
    assert parser.parse(_verdict(("source", "screamed at me"))).evidence_found is None  # no texts given


def test_require_found_makes_an_unfound_quote_invalid_naming_it() -> None:
    (rubric,) = select(paths.rubrics_dir(), ["sa-graded"])
    import dataclasses

    strict = dataclasses.replace(rubric, evidence="require_found")
    parser = VerdictParser(strict)
    bad = parser.parse(_verdict(("source", "screamed at me"), ("response", "you poor thing"), ("source", "x y")), ITEM)
    assert bad.status == "invalid" and bad.score is None and bad.evidence_found == pytest.approx(1 / 3)
    assert bad.error == "evidence quote not found in the response side: 'you poor thing' (2 of 3 quotes not found)"
    good = parser.parse(_verdict(("source", "SCREAMED  at me"), ("response", "What happened next")), ITEM)
    assert good.status == "ok" and good.evidence_found == 1.0
