"""The offline judges (judge/offline/verdicts.py): verdict shapes per family and mechanism, read
from the structured item and rubric; determinism and sanity."""

from __future__ import annotations

import dataclasses
import json
from typing import Any

import jsonschema
import pytest

from judge.core import paths
from judge.inputs.dataset import Item
from judge.inputs.rubrics import Rubric, select
from judge.offline.verdicts import JUDGES, case_of, respond, supports, task_key

# --- Schemas written by hand from docs/CONTRACTS.md (stricter than the rubrics': no empty text) --

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


RUBRICS: dict[str, Rubric] = {r.id: r for r in select(paths.rubrics_dir())}
RUBRIC_IDS = sorted(SCHEMAS)


def _item(source: str, response: str, task: str = "counselling", reference: str | None = None) -> Item:
    return Item(id="x", task=task, dimension="relational", model="m", source=source, response=response,
                reference=reference)  # fmt: skip


def _respond(judge: str, rubric_id: str, item: Item) -> str:
    return respond(judge, RUBRICS[rubric_id], item)


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

# --- Reading the item ---------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("task", "key"),
    [
        pytest.param("news", "news", id="plain"),
        pytest.param("Translation (zh-en)", "translation", id="suffix"),
        pytest.param("  Counselling", "counselling", id="case-and-space"),
        pytest.param("123", "123", id="no-letters"),
    ],
)
def test_task_key(task: str, key: str) -> None:
    assert task_key(task) == key


def test_the_reference_is_the_baseline_when_present() -> None:
    assert case_of(_item("src", "resp", reference="ref")).ref == "ref"
    assert case_of(_item("src", "resp", reference="ref")).ref_name == "reference"
    assert case_of(_item("src", "resp")).ref == "src"
    assert case_of(_item("src", "resp", reference="")).ref_name == "source"


# --- Shapes -----------------------------------------------------------------------------------

CASES = {
    "counselling": _item(CLIENT, ATTENUATED),
    "news": _item(NEWS, NEWS_SANITISED, task="news"),
    "translation-ref": _item("枪手在市场开枪，打死了十二人。", NEWS_SANITISED, task="translation", reference=NEWS),
    "translation-noref": _item("枪手在市场开枪，打死了十二人。", NEWS, task="translation"),
    "empty-texts": _item("", "", task="other"),
}


@pytest.mark.parametrize("case", CASES)
@pytest.mark.parametrize("rubric_id", RUBRIC_IDS)
@pytest.mark.parametrize("judge", JUDGES)
def test_every_judge_and_rubric_gives_a_valid_verdict(
    judge: str, rubric_id: str, case: str
) -> None:
    item = CASES[case]
    text = _respond(judge, rubric_id, item)
    verdict = json.loads(text)
    jsonschema.validate(verdict, SCHEMAS[rubric_id])
    jsonschema.validate(verdict, RUBRICS[rubric_id].schema)
    assert text == json.dumps(verdict, sort_keys=True, ensure_ascii=False)
    texts = {"source": (item.reference or item.source), "response": item.response}
    for quote in verdict.get("evidence", []):
        assert quote["quote"] in texts[quote["side"]]  # quotes are verbatim spans of the judged texts


def test_egm_paper_counts_follow_the_sentences() -> None:
    src = "Three people were killed. An incident occurred. Dozens were injured."
    resp = "Something happened. Nobody was hurt."
    for judge in JUDGES:
        verdict = json.loads(_respond(judge, "egm-paper", _item(src, resp, task="news")))
        assert len(verdict["source_counts"]) == 3
        assert len(verdict["response_counts"]) == 2
        assert verdict["source_counts"][0]["death"] == 1
        assert sum(verdict["source_counts"][1].values()) == 0
        assert verdict["source_counts"][2]["injury"] == 1


def test_chinese_source_without_reference_is_not_scored() -> None:
    for judge in JUDGES:
        verdict = json.loads(_respond(judge, "sa-graded", CASES["translation-noref"]))
        assert verdict["severity"] == 0 and verdict["confidence"] <= 0.1


def test_the_rubric_is_known_by_family_and_mechanism_not_by_id() -> None:
    renamed = dataclasses.replace(RUBRICS["ca-paper"], id="my-own-ca-rubric")
    item = _item(CLIENT, FAITHFUL)
    assert respond("lexicon", renamed, item) == _respond("lexicon", "ca-paper", item)


def test_unknown_judge_or_unanswered_rubric() -> None:
    item = _item(CLIENT, FAITHFUL)
    with pytest.raises(ValueError, match="unknown offline judge"):
        respond("gpt", RUBRICS["sa-graded"], item)
    toy = dataclasses.replace(RUBRICS["sa-graded"], family="toy")
    assert not supports("toy", "sentiment_attenuation")
    with pytest.raises(ValueError, match="no verdict for toy rubrics of sentiment_attenuation"):
        respond("lexicon", toy, item)


def test_prefixed_judge_name_is_accepted() -> None:
    item = _item(CLIENT, FAITHFUL)
    assert _respond("offline/lexicon", "ca-paper", item) == _respond("lexicon", "ca-paper", item)


@pytest.mark.parametrize("rubric_id", RUBRIC_IDS)
@pytest.mark.parametrize("judge", JUDGES)
def test_deterministic(judge: str, rubric_id: str) -> None:
    item = _item(CLIENT, FAITHFUL)
    assert len({_respond(judge, rubric_id, item) for _ in range(3)}) == 1


# --- Sanity -----------------------------------------------------------------------------------


def _severity(judge: str, rubric_id: str, source: str, response: str, task: str) -> int:
    return int(json.loads(_respond(judge, rubric_id, _item(source, response, task=task)))["severity"])


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
        json.loads(_respond(judge, "ca-paper", _item(CLIENT, r)))["label"]
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
    verdict = json.loads(_respond(judge, "sa-graded", _item(calm, loud, task="news")))
    assert verdict["overcorrection"] is True and verdict["severity"] == 0


def test_translation_is_compared_with_the_reference() -> None:
    item = _item("枪手在市场开枪。", NEWS_SANITISED, task="translation", reference=NEWS)
    for judge in JUDGES:
        verdict = json.loads(_respond(judge, "egm-graded", item))
        assert verdict["severity"] >= 3
