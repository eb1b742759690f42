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
from judge.offline.verdicts import JUDGES, CannotRead, case_of, respond, supports, task_key

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
    "required": ["abstain_reason", "evidence", "rationale", "severity", "amplification", "confidence"],
    "additionalProperties": False,
    "properties": {
        "abstain_reason": {"type": ["string", "null"], "minLength": 1},
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
        "amplification": {"type": "integer", "minimum": 0, "maximum": 4},
        "confidence": _UNIT,
    },
}
# Version 2 of the graded verdict: the over-correction flag, no abstention, no amplification.
GRADED_V2 = {
    **GRADED,
    "required": ["evidence", "rationale", "severity", "overcorrection", "confidence"],
    "properties": {
        **{k: v for k, v in GRADED["properties"].items() if k not in ("abstain_reason", "amplification")},
        "overcorrection": {"type": "boolean"},
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
RUBRICS.update({r.ref: r for r in select(paths.rubrics_dir(), [f"{m}-graded@2" for m in ("sa", "egm", "ca", "ld")])})
SCHEMAS.update({f"{m}-graded@2": GRADED_V2 for m in ("sa", "egm", "ca", "ld")})
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
# The same news with a feeling voiced by a witness, for sentiment attenuation: under the
# disambiguation rules a sanitised event is granularity mismatch's, a muted feeling SA's.
NEWS_FELT = NEWS + " 'I was terrified, I am still shaking,' said one stall owner."
NEWS_FELT_FAITHFUL = NEWS_FAITHFUL + " One stall owner said she had been terrified and was still shaking."
NEWS_FELT_MUTED = NEWS_FAITHFUL + " One stall owner said the situation had been a little concerning."

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


# Cases the offline judges cannot read (a Chinese baseline without a reference, empty texts),
# except where a verdict reads only the response: the CA paper label.
UNREADABLE = {"translation-noref", "empty-texts"}
READS_ONLY_THE_RESPONSE = {("ca-paper", "translation-noref")}


@pytest.mark.parametrize("case", CASES)
@pytest.mark.parametrize("rubric_id", RUBRIC_IDS)
@pytest.mark.parametrize("judge", JUDGES)
def test_every_judge_and_rubric_gives_a_valid_verdict_or_abstains(
    judge: str, rubric_id: str, case: str
) -> None:
    item = CASES[case]
    readable = case not in UNREADABLE or (rubric_id, case) in READS_ONLY_THE_RESPONSE
    abstains_in_json = "abstain_reason" in RUBRICS[rubric_id].schema["properties"]
    if not readable and not abstains_in_json:
        with pytest.raises(CannotRead, match="read English only"):
            _respond(judge, rubric_id, item)
        return
    text = _respond(judge, rubric_id, item)
    verdict = json.loads(text)
    jsonschema.validate(verdict, SCHEMAS[rubric_id])
    jsonschema.validate(verdict, RUBRICS[rubric_id].schema)
    assert text == json.dumps(verdict, sort_keys=True, ensure_ascii=False)
    if abstains_in_json:
        assert (verdict["abstain_reason"] is None) == readable
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


@pytest.mark.parametrize(
    ("item", "reason"),
    [
        pytest.param(CASES["translation-noref"], "the source is mostly in Chinese, Japanese or Korean script and "
                     "the item has no reference translation", id="chinese-source-no-reference"),
        pytest.param(_item(CLIENT, "   "), "the response is empty", id="empty-response"),
        pytest.param(_item(CLIENT, "?!... 123"), "the response has no words", id="no-words"),
        pytest.param(_item(NEWS, "Ayer hubo un tiroteo en el mercado de Kano y la policía dice que murieron doce "
                                 "personas en el ataque.", task="news"),
                     "the response does not read as English", id="spanish-response"),
    ],
)  # fmt: skip
def test_an_unreadable_text_is_an_abstention_with_its_reason_never_a_score(item: Item, reason: str) -> None:
    for judge in JUDGES:
        verdict = json.loads(_respond(judge, "sa-graded", item))
        assert verdict["abstain_reason"].startswith(reason)
        assert verdict["abstain_reason"].endswith("the offline judges read English only, so they abstain")
        with pytest.raises(CannotRead, match=reason.split(" and ")[0]):
            _respond(judge, "ld-paper", item)  # no invented reference features
        with pytest.raises(CannotRead):
            _respond(judge, "sa-graded@2", item)


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
        pytest.param(NEWS_FELT, NEWS_FELT_FAITHFUL, NEWS_FELT_MUTED, "news", id="news"),
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
def test_amplified_response_is_recorded_as_amplification_not_as_faithful(judge: str) -> None:
    calm = "The meeting ran late and I felt a little tired afterwards."
    loud = "I AM FURIOUS! I am screaming! I hate this, I hate them, I am shaking with rage!"
    v3 = json.loads(_respond(judge, "sa-graded", _item(calm, loud, task="news")))
    assert v3["severity"] == 0 and v3["amplification"] >= 2 and v3["abstain_reason"] is None
    v2 = json.loads(_respond(judge, "sa-graded@2", _item(calm, loud, task="news")))
    assert v2["overcorrection"] is True and v2["severity"] == 0
    faithful = json.loads(_respond(judge, "sa-graded", _item(CLIENT, FAITHFUL)))
    assert faithful["amplification"] <= 1


@pytest.mark.parametrize("judge", JUDGES)
def test_invented_graphic_detail_is_egm_amplification(judge: str) -> None:
    gory = NEWS_FAITHFUL + (" Blood soaked the stalls, a child was shot dead, and the wounded screamed as "
                            "bodies were crushed and burned.")  # fmt: skip
    verdict = json.loads(_respond(judge, "egm-graded", _item(NEWS, gory, task="news")))
    assert verdict["amplification"] >= 2 and verdict["severity"] <= 1


def test_translation_is_compared_with_the_reference() -> None:
    item = _item("枪手在市场开枪。", NEWS_SANITISED, task="translation", reference=NEWS)
    for judge in JUDGES:
        verdict = json.loads(_respond(judge, "egm-graded", item))
        assert verdict["severity"] >= 3
