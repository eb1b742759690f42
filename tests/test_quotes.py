"""Placing judges' evidence quotes in the item's texts (judge/report/quotes.py), as report.html's
item browser highlights them: spans in the original text's offsets, however loosely quoted."""

from __future__ import annotations

import pytest

from judge.report.quotes import locate, place

TEXT = "Three workers were killed when the  scaffold collapsed; one was crushed — under “steel” beams.\nHe cried."


@pytest.mark.parametrize(
    ("quote", "expected"),
    [
        pytest.param("were killed", ["were killed"], id="exact"),
        pytest.param("THREE WORKERS", ["Three workers"], id="case"),
        pytest.param("the scaffold collapsed", ["the  scaffold collapsed"], id="whitespace-run"),
        pytest.param('"Three workers were killed."', ["Three workers were killed"], id="wrapped-in-quote-marks"),
        pytest.param('crushed - under "steel" beams', ["crushed — under “steel” beams"], id="dashes-and-curly-quotes"),
        pytest.param("Three workers ... the  scaffold", ["Three workers", "the  scaffold"], id="elision"),
        pytest.param("Three workers … collapsed", ["Three workers", "collapsed"], id="elision-character"),
        pytest.param("beams. He cried", ["beams.\nHe cried"], id="across-a-line-break"),
        pytest.param("**were killed**", ["were killed"], id="markdown-emphasis"),
    ],
)
def test_quotes_are_found_in_the_original_offsets(quote: str, expected: list[str]) -> None:
    spans = locate(quote, TEXT)
    assert spans is not None
    assert [TEXT[a:b] for a, b in spans] == expected


@pytest.mark.parametrize(
    "quote",
    [
        pytest.param("three workers died", id="not-in-the-text"),
        pytest.param("collapsed ... Three workers", id="pieces-out-of-order"),
        pytest.param(" ... ", id="quotes-nothing"),
        pytest.param("", id="empty"),
    ],
)
def test_quotes_not_in_the_text_are_not_placed(quote: str) -> None:
    assert locate(quote, TEXT) is None


def test_full_width_forms_fold() -> None:
    text = "ＡＢＣ said ｈｅｌｌｏ"
    spans = locate("abc said hello", text)
    assert spans == [(0, len(text))]


def test_place_tries_each_text_in_order() -> None:
    texts = [("reference", "My heart broke."), ("source", "我的心碎了。")]
    assert place("heart broke", texts) == ("reference", [(3, 14)])
    assert place("心碎", texts) == ("source", [(2, 4)])
    assert place("nowhere", texts) == (None, None)
    assert locate("x", None) is None
