"""Tests for judge/heuristics.py (lexicon signals) and judge/structure.py (structure signals)."""

from __future__ import annotations

from collections.abc import Callable

import pytest

from judge.offline import heuristics as h

ZERO = {"death": 0, "violence": 0, "injury": 0, "graphic": 0, "abuse": 0}


def _counts(**kw: int) -> dict[str, int]:
    return {**ZERO, **kw}


@pytest.mark.parametrize("count", [h.aversive_counts, h.aversive_counts_stems], ids=["lex", "stem"])
@pytest.mark.parametrize(
    ("sentence", "expected"),
    [
        pytest.param("", ZERO, id="empty"),
        pytest.param("An incident occurred.", ZERO, id="vague-incident"),
        pytest.param("It was a tragedy for the town.", ZERO, id="vague-tragedy"),
        pytest.param(
            "Three people were killed and dozens injured.",
            _counts(death=1, injury=1),
            id="victim-count-scores-one",
        ),
        pytest.param("A gunman shot two guards.", _counts(violence=2), id="gunman-shot"),
        pytest.param("Her body lay in a pool of blood.", _counts(death=1, graphic=1), id="graphic"),
        pytest.param("The prisoners were tortured.", _counts(abuse=1), id="abuse"),
        pytest.param("Dead, dead, dead.", _counts(death=3), id="one-point-per-word"),
    ],
)
def test_aversive_counts(
    count: Callable[[str], dict[str, int]], sentence: str, expected: dict[str, int]
) -> None:
    assert count(sentence) == expected


def test_stem_counter_skips_negated_elements_and_lexicon_does_not() -> None:
    text = "No one was killed."
    assert h.aversive_counts_stems(text)["death"] == 0
    assert h.aversive_counts(text)["death"] == 1


@pytest.mark.parametrize(
    ("text", "passive"),
    [
        pytest.param("The patient was moved.", 1.0, id="agentless"),
        pytest.param("The patient was moved by the nurse.", 0.0, id="with-by-agent"),
        pytest.param("Mistakes were made.", 1.0, id="irregular-participle"),
        pytest.param("He got fired.", 1.0, id="get-passive"),
        pytest.param("The data was not fully checked.", 1.0, id="adverbs-between"),
        pytest.param("I was tired.", 0.0, id="adjectival-ed"),
        pytest.param("She moved the chair.", 0.0, id="active"),
        pytest.param("It was done. We left.", 0.5, id="one-of-two"),
        pytest.param("", 0.0, id="empty"),
    ],
)
def test_passive_share(text: str, passive: float) -> None:
    assert h.ld_features(text)["passive_share"] == passive


@pytest.mark.parametrize(
    ("text", "density"),
    [
        pytest.param("The situation requires attention.", 0.5, id="two-of-four"),
        pytest.param("The general gave a normal final order.", 0.0, id="adjective-stoplist"),
        pytest.param("They met at the United Nations Organisation.", 0.0, id="named-entity"),
        pytest.param("Happiness matters.", 0.5, id="sentence-initial-counts"),
        pytest.param("", 0.0, id="empty"),
    ],
)
def test_nominalisation_density(text: str, density: float) -> None:
    assert h.ld_features(text)["nominalisation_density"] == density


@pytest.mark.parametrize(
    ("text", "share"),
    [
        pytest.param("I cried. She left.", 0.0, id="pronouns"),
        pytest.param("My manager shouted at me.", 0.0, id="person-noun"),
        pytest.param("Maria said no.", 0.0, id="name"),
        pytest.param("The decision was made.", 1.0, id="abstract-subject"),
        pytest.param("It hurts. I cried.", 0.5, id="mixed"),
        pytest.param("Try again.", 0.0, id="imperative-no-subject"),
        pytest.param("", 0.0, id="empty"),
    ],
)
def test_nonhuman_subject_share(text: str, share: float) -> None:
    assert h.ld_features(text)["nonhuman_subject_share"] == share


def test_ld_features_are_in_unit_interval() -> None:
    text = "The restructuring was implemented. Efficiency is important. Staff were informed."
    feats = h.ld_features(text)
    assert set(feats) == {"passive_share", "nominalisation_density", "nonhuman_subject_share"}
    assert all(0.0 <= v <= 1.0 for v in feats.values())
    assert feats["passive_share"] == pytest.approx(2 / 3, abs=1e-4)


RAW = (
    "I can't breathe. They took my son! I keep screaming his name and nobody answers! "
    "I am so terrified and furious."
)
CLINICAL = (
    "The individual reported significant distress following the removal of a family member. "
    "The situation is being managed and support has been offered."
)


@pytest.mark.parametrize("measure", [h.intensity, h.structural_intensity], ids=["lex", "struct"])
def test_intensity_monotonic_raw_above_clinical(measure: Callable[[str], float]) -> None:
    assert measure(RAW) > measure(CLINICAL) + 0.3
    assert measure("") == 0.0
    assert 0.0 <= measure(RAW) <= 1.0


@pytest.mark.parametrize(
    ("stronger", "weaker"),
    [
        pytest.param("I am so angry.", "I am angry.", id="intensifier"),
        pytest.param("I am angry.", "I am not angry.", id="negation"),
        pytest.param("I am angry!", "I am angry.", id="exclamation"),
        pytest.param("I am devastated.", "I am upset.", id="graded-weight"),
        pytest.param("I am upset.", "I am a bit upset.", id="downtoner"),
        pytest.param(
            "I am upset.", "I am upset about the situation and my concerns.", id="clinical-register"
        ),
    ],
)
def test_intensity_lexicon_modifiers(stronger: str, weaker: str) -> None:
    assert h.intensity(stronger) > h.intensity(weaker)


def test_lexical_ld_features_shapes() -> None:
    assert h.lexical_ld_features("") == {
        "passive_share": 0.0,
        "nominalisation_density": 0.0,
        "nonhuman_subject_share": 0.0,
    }
    assert h.lexical_ld_features("Mistakes were made.")["passive_share"] == 1.0
