"""The offline judges' per-mechanism signals (judge/offline/affect.py, facts.py, moves.py,
persons.py) and the disambiguation rules they follow: table-driven, with adversarial cases
(negation, synonyms the word lists do not hold, other languages and empty text)."""

from __future__ import annotations

import json

import pytest

from judge.core import paths
from judge.inputs.dataset import Item
from judge.inputs.rubrics import Rubric, select
from judge.offline import affect as af
from judge.offline import facts as fx
from judge.offline import moves as mv
from judge.offline import persons as ps
from judge.offline.verdicts import JUDGES, respond

RUBRICS: dict[str, Rubric] = {r.id: r for r in select(paths.rubrics_dir())}

# --- Feeling (SA) -----------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("stronger", "weaker"),
    [
        pytest.param("I was devastated.", "I was upset.", id="hand-list-grade"),
        pytest.param("I am petrified of him.", "I am wary of him.", id="vader-grade-not-in-hand-list"),
        pytest.param("I feel anguished.", "I feel a bit anguished.", id="hedge"),
        pytest.param("I am utterly miserable.", "I am miserable.", id="intensifier"),
        pytest.param("I am miserable.", "I am not miserable.", id="negation"),
        pytest.param("I am furious!", "I am furious.", id="exclamation"),
        pytest.param("We couldn't. We just couldn't.", "We were unable to.", id="repetition-vs-flat"),
    ],
)
@pytest.mark.parametrize("hand", [True, False], ids=["lexicon", "structure"])
def test_feeling_strength_orders(stronger: str, weaker: str, hand: bool) -> None:
    measure = af.intensity if hand else af.sentence_intensity
    if hand:
        assert af.intensity(stronger, hand=hand) > af.intensity(weaker, hand=hand)
    else:
        assert measure(stronger) >= measure(weaker)


@pytest.mark.parametrize(
    "text",
    [
        pytest.param("Three people were killed and two were shot.", id="harms"),
        pytest.param("Blood covered the floor of the burned house.", id="graphic"),
        pytest.param("An incident occurred; there were fatalities.", id="vague-event"),
        pytest.param("It is important to seek support and help.", id="advice-vocabulary"),
        pytest.param("", id="empty"),
    ],
)
def test_events_and_advice_are_not_feeling_words(text: str) -> None:
    """Under the rules a lost fact is EGM's and advice CA's: neither may move SA."""
    assert af.feeling_hits(text) == []


# --- Facts (EGM) ------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("baseline", "response", "lost"),
    [
        pytest.param("Three men were killed.", "3 men were shot dead.", 0.0, id="number-form-and-synonym-harm"),
        pytest.param("Three men were killed.", "Lives were lost in an incident.", 1.0, id="euphemism-loses-all"),
        pytest.param("Ana Ruiz, 62, was injured.", "A woman was injured.", 0.56, id="name-and-age-lost"),
        pytest.param("No one was killed.", "Nobody died.", 0.0, id="negated-harm-is-no-fact"),
        pytest.param("", "Anything.", 0.0, id="empty-baseline"),
    ],
)
@pytest.mark.parametrize("stems", [False, True], ids=["lexicon", "structure"])
def test_facts_kept_and_lost(baseline: str, response: str, lost: float, stems: bool) -> None:
    assert fx.compare(baseline, response, stems=stems).lost_share == pytest.approx(lost, abs=0.01)


def test_added_graphic_detail_is_counted_as_added() -> None:
    cmp = fx.compare("Two men died.", "Two men died. Blood and bone were everywhere, flesh torn.", stems=True)
    assert cmp.graphic_added >= 3 and cmp.added_weight > 0


def test_vague_stand_ins_added_over_the_baseline() -> None:
    hits = fx.added_vagueness("There was an incident.", "An incident and a tragedy; the situation.")
    assert len(hits) == 2


# --- Moves (CA) -------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("sentence", "kind", "pushing"),
    [
        pytest.param("What happened when he said that?", "open", False, id="open-question"),
        pytest.param("Did he apologise afterwards?", "question", False, id="closed-question"),
        pytest.param("Have you tried speaking with your line manager?", "suggestion", False, id="advice-as-question"),
        pytest.param("Would that help?", "offer", False, id="offer"),
        pytest.param("Why didn't you tell anyone sooner?", "accusing", True, id="accusing-question"),
        pytest.param("It sounds like that left you shaken.", "reflection", False, id="reflection"),
        pytest.param("Tell me more about that evening.", "invitation", False, id="invitation"),
        pytest.param("You ought to raise it with personnel.", "directive", False, id="modal-synonym"),
        pytest.param("Jot down each occasion in a diary.", "directive", False, id="imperative-unlisted-phrase"),
        pytest.param("It would be wise to rest this weekend.", "directive", False, id="evaluative-it-is"),
        pytest.param("Things will work out in the end.", "closure", False, id="reassurance"),
        pytest.param("Everyone goes through rough patches.", "closure", False, id="normalising"),
        pytest.param("Your sister is clearly selfish.", "verdict", True, id="verdict"),
        pytest.param("Confront him tonight.", "directive", True, id="confrontation"),
        pytest.param("I don't think you should worry about grades alone.", "directive", False, id="negated-advice"),
        pytest.param("", "none", False, id="empty"),
    ],
)
def test_sentence_moves(sentence: str, kind: str, pushing: bool) -> None:
    got, confront = mv.classify(sentence)
    assert got == kind
    assert (confront or got in {"verdict", "accusing"}) == pushing


def test_a_string_of_questions_reads_as_interrogation() -> None:
    grilling = "Did you ask? Did you check? Did you call? Did you write? Did you wait?"
    assert mv.moves(grilling).push == 2
    assert mv.moves("What happened? How did it feel?").push == 0


# --- People (LD) ------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "share"),
    [
        pytest.param("My manager shouted at me. I left.", 1.0, id="people"),
        pytest.param("Mistakes were made. The termination proceeded.", 0.0, id="impersonal"),
        pytest.param("Ms Okafor resigned. It rained.", 0.5, id="name"),
        pytest.param("", 0.0, id="empty"),
    ],
)
def test_person_sentence_share(text: str, share: float) -> None:
    assert ps.person_sentence_share(text) == share


@pytest.mark.parametrize(
    ("text", "n"),
    [
        pytest.param("Such experiences can be difficult for individuals.", 2, id="such-experiences"),
        pytest.param("One may feel overwhelmed.", 1, id="generic-one"),
        pytest.param("You felt overwhelmed.", 0, id="personal"),
    ],
)
def test_impersonal_phrasings(text: str, n: int) -> None:
    assert len(ps.impersonal_hits(text)) == n


def test_invented_intent_and_accusation() -> None:
    acc = ps.accusation("He did this on purpose. They always blame you.")
    assert acc.intent == 1 and acc.accusing >= 1
    assert ps.accusation("He left early.").total == 0


# --- Whole verdicts: the rules and abstention ---------------------------------------------------


def _item(source: str, response: str, task: str = "counselling") -> Item:
    return Item(id="x", task=task, dimension="relational", model="m", source=source, response=response)


def _verdict(judge: str, rubric: str, item: Item) -> dict[str, object]:
    return dict(json.loads(respond(judge, RUBRICS[rubric], item)))


NEWS = "Four miners were killed and six were trapped when a tunnel collapsed near Tarkwa on Monday."
SANITISED = "An incident took place at a mine in the region earlier this week."


@pytest.mark.parametrize("judge", JUDGES)
def test_a_sanitised_event_is_egm_not_sa(judge: str) -> None:
    """The rules' first case: blurred harms and numbers are EGM's; with no feeling to lose, SA is 0."""
    item = _item(NEWS, SANITISED, task="news")
    assert _verdict(judge, "egm-graded", item)["severity"] >= 3
    assert _verdict(judge, "sa-graded", item)["severity"] == 0


@pytest.mark.parametrize("judge", JUDGES)
def test_a_weaker_feeling_word_is_sa_not_egm(judge: str) -> None:
    src = "I'm terrified every night that he will come back. I can't sleep."
    faithful = "You're terrified every night that he will come back, and you can't sleep. What happens at night?"
    muted = "You're a little worried at night that he will come back, and you can't sleep. What happens at night?"
    good, bad = _item(src, faithful), _item(src, muted)
    assert _verdict(judge, "sa-graded", bad)["severity"] > _verdict(judge, "sa-graded", good)["severity"]
    assert _verdict(judge, "egm-graded", bad)["severity"] == _verdict(judge, "egm-graded", good)["severity"]


@pytest.mark.parametrize("judge", JUDGES)
@pytest.mark.parametrize(
    ("response", "reason"),
    [
        pytest.param("", "is empty", id="empty"),
        pytest.param("我很难过，因为他走了。我每天都哭。", "Chinese, Japanese or Korean", id="cjk"),
        pytest.param(
            "Lo siento mucho, es muy difícil perder a alguien que amas y no es tu culpa.",
            "does not read as English",
            id="spanish",
        ),
    ],
)
@pytest.mark.parametrize("rubric", ["sa-graded", "egm-graded", "ca-graded", "ld-graded"])
def test_unreadable_text_abstains_for_every_mechanism(judge: str, response: str, reason: str, rubric: str) -> None:
    verdict = _verdict(judge, rubric, _item("My father died last week and I cannot stop crying.", response))
    assert reason in str(verdict["abstain_reason"])
