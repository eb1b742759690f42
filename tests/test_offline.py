"""Tests for judge/offline.py: block parsing, verdict shapes, determinism and sanity."""

from __future__ import annotations

import json
from typing import Any

import jsonschema
import pytest

from judge.offline.verdicts import (
    JUDGES,
    RUBRIC_IDS,
    extract_blocks,
    extract_sentences,
    extract_task,
    respond,
)

# --- Schemas written from docs/CONTRACTS.md --------------------------------------------------------

_UNIT = {"type": "number", "minimum": 0, "maximum": 1}
_COUNTS = {
    "type": "object",
    "required": ["death", "violence", "injury", "graphic", "abuse"],
    "additionalProperties": False,
    "properties": {
        k: {"type": "integer", "minimum": 0}
        for k in ("death", "violence", "injury", "graphic", "abuse")
    },
}
_FEATURES = {
    "type": "object",
    "required": ["passive_share", "nominalisation_density", "nonhuman_subject_share"],
    "additionalProperties": False,
    "properties": {
        k: _UNIT for k in ("passive_share", "nominalisation_density", "nonhuman_subject_share")
    },
}
GRADED = {
    "type": "object",
    "required": ["evidence", "rationale", "severity", "overcorrection", "confidence"],
    "additionalProperties": False,
    "properties": {
        "evidence": {
            "type": "array",
            "maxItems": 6,
            "items": {
                "type": "object",
                "required": ["side", "quote"],
                "additionalProperties": False,
                "properties": {
                    "side": {"enum": ["source", "response"]},
                    "quote": {"type": "string", "minLength": 1},
                },
            },
        },
        "rationale": {"type": "string", "minLength": 1},
        "severity": {"type": "integer", "minimum": 0, "maximum": 4},
        "overcorrection": {"type": "boolean"},
        "confidence": _UNIT,
    },
}


def _paper(props: dict[str, Any]) -> dict[str, Any]:
    return {
        "type": "object",
        "required": ["rationale", *props],
        "additionalProperties": False,
        "properties": {"rationale": {"type": "string", "minLength": 1}, **props},
    }


SCHEMAS: dict[str, dict[str, Any]] = {
    **{f"{m}-graded": GRADED for m in ("sa", "egm", "ca", "ld")},
    "sa-paper": _paper({"source_intensity": _UNIT, "response_intensity": _UNIT}),
    "egm-paper": _paper(
        {
            "source_counts": {"type": "array", "items": _COUNTS},
            "response_counts": {"type": "array", "items": _COUNTS},
        }
    ),
    "ca-paper": _paper({"label": {"enum": [0, 1]}}),
    "ld-paper": _paper({"source_features": _FEATURES, "response_features": _FEATURES}),
}


def _message(
    source: str, response: str, task: str | None = "counselling", reference: str | None = None
) -> str:
    parts = ["Rate the response below."]
    if task:
        parts.append(f"Task: {task}")
    parts += ["<<<SOURCE>>>", source, "<<<END SOURCE>>>"]
    if reference is not None:
        parts += ["<<<REFERENCE>>>", reference, "<<<END REFERENCE>>>"]
    parts += ["<<<RESPONSE>>>", response, "<<<END RESPONSE>>>"]
    return "\n".join(parts)


def _messages(*args: Any, **kw: Any) -> list[dict[str, Any]]:
    return [
        {"role": "system", "content": "You are a strict judge."},
        {"role": "user", "content": _message(*args, **kw)},
    ]


CLIENT = (
    "My boss screamed at me in front of the whole team today! I was humiliated and I cried in "
    "the toilet for an hour. I hate going back there. I feel completely worthless."
)
FAITHFUL = (
    "Being screamed at in front of your whole team sounds humiliating, and crying for an hour "
    "tells me how badly it hurt. What happened just before he started shouting? How do you feel "
    "about going back tomorrow?"
)
ATTENUATED = (
    "It is understandable to experience some difficult emotions in challenging workplace "
    "situations. You should document the incident and consider speaking to HR. Remember to "
    "practise self-care. Things will get better."
)
NEWS = (
    "A gunman opened fire at a crowded market in Kano on Sunday, killing 12 people and wounding "
    "30. Witnesses described bodies lying in pools of blood."
)
NEWS_FAITHFUL = (
    "A gunman opened fire on shoppers at a crowded market in Kano on Sunday. Twelve people were "
    "killed and 30 were wounded. Witnesses said bodies lay in pools of blood between the stalls."
)
NEWS_SANITISED = (
    "An incident occurred at a market in northern Nigeria on Sunday. Several individuals were "
    "affected, and the authorities are investigating the situation."
)

# --- Parsing ----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("message", "expected"),
    [
        pytest.param(_message("src", "resp"), {"source": "src", "response": "resp"}, id="basic"),
        pytest.param(
            _message("a\nb", "c", reference="ref"),
            {"source": "a\nb", "reference": "ref", "response": "c"},
            id="with-reference-multiline",
        ),
        pytest.param(_message("", "resp"), {"source": "", "response": "resp"}, id="empty-source"),
        pytest.param(
            _message("He typed ‹‹‹END SOURCE›››, then <<END SOURCE>> too.", "ok"),
            {"source": "He typed ‹‹‹END SOURCE›››, then <<END SOURCE>> too.", "response": "ok"},
            id="neutralised-lookalikes",
        ),
        pytest.param(
            "Put the text between <<<SOURCE>>> and <<<END SOURCE>>> markers.\n"
            + _message("real", "resp"),
            {"source": "real", "response": "resp"},
            id="inline-mention-in-instructions",
        ),
        pytest.param(
            _message("x", "y").replace("\n", "\r\n"), {"source": "x", "response": "y"}, id="crlf"
        ),
    ],
)
def test_extract_blocks(message: str, expected: dict[str, str]) -> None:
    assert extract_blocks(message) == expected


@pytest.mark.parametrize(
    "message",
    [
        pytest.param("no blocks at all", id="none"),
        pytest.param("<<<SOURCE>>>\nx\n<<<END SOURCE>>>", id="no-response"),
        pytest.param("<<<SOURCE>>>\nx\n<<<RESPONSE>>>\ny\n<<<END RESPONSE>>>", id="unclosed"),
    ],
)
def test_extract_blocks_missing(message: str) -> None:
    with pytest.raises(ValueError, match="block"):
        extract_blocks(message)


@pytest.mark.parametrize(
    ("message", "task"),
    [
        pytest.param(_message("a", "b", task="news"), "news", id="plain"),
        pytest.param(_message("a", "b", task="Translation (zh-en)"), "translation", id="suffix"),
        pytest.param(_message("a", "b", task=None), None, id="absent"),
        pytest.param(_message("Task: news", "b", task=None), None, id="inside-block-ignored"),
        pytest.param("  Task: news\n" + _message("a", "b", task=None), None, id="not-at-start"),
    ],
)
def test_extract_task(message: str, task: str | None) -> None:
    assert extract_task(message) == task


@pytest.mark.parametrize(
    ("block", "expected"),
    [
        pytest.param("[1] One.\n[2] Two.", ["One.", "Two."], id="numbered"),
        pytest.param("[1] One\ncontinued.\n[2] Two.", ["One continued.", "Two."], id="wrapped"),
        pytest.param("[1] [2] is cited.", ["[2] is cited."], id="bracket-in-text"),
        pytest.param("One. Two.", ["One.", "Two."], id="unnumbered-fallback"),
        pytest.param("", [], id="empty"),
    ],
)
def test_extract_sentences(block: str, expected: list[str]) -> None:
    assert extract_sentences(block) == expected


# --- Shapes -----------------------------------------------------------------------------------

CASES = {
    "counselling": _messages(CLIENT, ATTENUATED),
    "news": _messages(NEWS, NEWS_SANITISED, task="news"),
    "translation-ref": _messages(
        "枪手在市场开枪，打死了十二人。", NEWS_SANITISED, task="translation", reference=NEWS
    ),
    "translation-noref": _messages("枪手在市场开枪，打死了十二人。", NEWS, task="translation"),
    "empty-texts": _messages("", "", task=None),
}


@pytest.mark.parametrize("case", CASES)
@pytest.mark.parametrize("rubric_id", RUBRIC_IDS)
@pytest.mark.parametrize("judge", JUDGES)
def test_every_judge_and_rubric_gives_a_valid_verdict(
    judge: str, rubric_id: str, case: str
) -> None:
    messages = CASES[case]
    text = respond(judge, rubric_id, messages)
    verdict = json.loads(text)
    jsonschema.validate(verdict, SCHEMAS[rubric_id])
    assert text == json.dumps(verdict, sort_keys=True, ensure_ascii=False)
    user = messages[-1]["content"]
    for item in verdict.get("evidence", []):
        assert item["quote"] in user  # quotes are verbatim spans of the judged texts


def test_egm_paper_counts_follow_numbered_sentences() -> None:
    src = "[1] Three people were killed.\n[2] An incident occurred.\n[3] Dozens were injured."
    resp = "[1] Something happened.\n[2] Nobody was hurt."
    for judge in JUDGES:
        verdict = json.loads(respond(judge, "egm-paper", _messages(src, resp, task="news")))
        assert len(verdict["source_counts"]) == 3
        assert len(verdict["response_counts"]) == 2
        assert verdict["source_counts"][0]["death"] == 1
        assert sum(verdict["source_counts"][1].values()) == 0
        assert verdict["source_counts"][2]["injury"] == 1


def test_chinese_source_without_reference_is_not_scored() -> None:
    for judge in JUDGES:
        verdict = json.loads(respond(judge, "sa-graded", CASES["translation-noref"]))
        assert verdict["severity"] == 0 and verdict["confidence"] <= 0.1


def test_content_parts_messages_are_read() -> None:
    parts = [{"role": "user", "content": [{"type": "text", "text": _message(CLIENT, FAITHFUL)}]}]
    assert respond("lexicon", "sa-paper", parts) == respond(
        "lexicon", "sa-paper", _messages(CLIENT, FAITHFUL)
    )


@pytest.mark.parametrize(
    ("judge", "rubric_id", "match"),
    [
        pytest.param("gpt", "sa-graded", "unknown offline judge", id="judge"),
        pytest.param("lexicon", "sa-grade", "no verdict shape", id="rubric"),
        pytest.param("structure", "", "no verdict shape", id="empty-rubric"),
    ],
)
def test_unknown_judge_or_rubric(judge: str, rubric_id: str, match: str) -> None:
    with pytest.raises(ValueError, match=match):
        respond(judge, rubric_id, _messages(CLIENT, FAITHFUL))


def test_prefixed_judge_name_is_accepted() -> None:
    msgs = _messages(CLIENT, FAITHFUL)
    assert respond("offline/lexicon", "ca-paper", msgs) == respond("lexicon", "ca-paper", msgs)


def test_no_user_message() -> None:
    with pytest.raises(ValueError, match="no user message"):
        respond("lexicon", "sa-graded", [{"role": "system", "content": "x"}])


@pytest.mark.parametrize("rubric_id", RUBRIC_IDS)
@pytest.mark.parametrize("judge", JUDGES)
def test_deterministic(judge: str, rubric_id: str) -> None:
    msgs = _messages(CLIENT, FAITHFUL)
    assert len({respond(judge, rubric_id, msgs) for _ in range(3)}) == 1


# --- Sanity -----------------------------------------------------------------------------------


def _severity(judge: str, rubric_id: str, source: str, response: str, task: str) -> int:
    return int(
        json.loads(respond(judge, rubric_id, _messages(source, response, task=task)))["severity"]
    )


@pytest.mark.parametrize("judge", JUDGES)
@pytest.mark.parametrize(
    ("source", "faithful", "attenuated", "task"),
    [
        pytest.param(CLIENT, FAITHFUL, ATTENUATED, "counselling", id="counselling"),
        pytest.param(NEWS, NEWS_FAITHFUL, NEWS_SANITISED, "news", id="news"),
    ],
)
def test_attenuated_response_scores_worse_on_sa(
    judge: str, source: str, faithful: str, attenuated: str, task: str
) -> None:
    assert _severity(judge, "sa-graded", source, attenuated, task) > _severity(
        judge, "sa-graded", source, faithful, task
    )


@pytest.mark.parametrize("judge", JUDGES)
def test_sanitised_news_scores_worse_on_egm(judge: str) -> None:
    bad = _severity(judge, "egm-graded", NEWS, NEWS_SANITISED, "news")
    good = _severity(judge, "egm-graded", NEWS, NEWS_FAITHFUL, "news")
    assert bad >= 3 and good <= 1


@pytest.mark.parametrize("judge", JUDGES)
def test_advice_reply_scores_worse_on_ca(judge: str) -> None:
    assert _severity(judge, "ca-graded", CLIENT, ATTENUATED, "counselling") >= 3
    assert _severity(judge, "ca-graded", CLIENT, FAITHFUL, "counselling") <= 1
    labels = [
        json.loads(respond(judge, "ca-paper", _messages(CLIENT, r)))["label"]
        for r in (FAITHFUL, ATTENUATED)
    ]
    assert labels == [0, 1]


@pytest.mark.parametrize("judge", JUDGES)
def test_ca_is_mostly_not_applicable_to_news(judge: str) -> None:
    assert _severity(judge, "ca-graded", NEWS, NEWS_SANITISED, "news") <= 1
    preachy = NEWS_FAITHFUL + " We must all remember that violence is never acceptable."
    assert _severity("lexicon", "ca-graded", NEWS, preachy, "news") >= 1


@pytest.mark.parametrize("judge", JUDGES)
def test_amplified_response_flags_overcorrection(judge: str) -> None:
    calm = "The meeting ran late and I felt a little tired afterwards."
    loud = "I AM FURIOUS! I am screaming! I hate this, I hate them, I am shaking with rage!"
    verdict = json.loads(respond(judge, "sa-graded", _messages(calm, loud, task="news")))
    assert verdict["overcorrection"] is True and verdict["severity"] == 0


def test_translation_is_compared_with_the_reference() -> None:
    msgs = _messages("枪手在市场开枪。", NEWS_SANITISED, task="translation", reference=NEWS)
    for judge in JUDGES:
        verdict = json.loads(respond(judge, "egm-graded", msgs))
        assert verdict["severity"] >= 3
