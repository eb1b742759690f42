"""Tests for judge/text.py: sentence splitting and tokenisation."""

from __future__ import annotations

import pytest

from judge.core.text import cjk_share, split_sentences, token_spans, tokenize, window, words


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        pytest.param("", [], id="empty"),
        pytest.param("   \n\n ", [], id="whitespace-only"),
        pytest.param("One. Two! Three?", ["One.", "Two!", "Three?"], id="basic"),
        pytest.param("No final stop", ["No final stop"], id="no-terminator"),
        pytest.param(
            "Dr. Li arrived. She sat.", ["Dr. Li arrived.", "She sat."], id="title-abbrev"
        ),
        pytest.param("Mr. and Mrs. Smith left.", ["Mr. and Mrs. Smith left."], id="two-titles"),
        pytest.param(
            "Bring food, e.g. rice. Then go.", ["Bring food, e.g. rice.", "Then go."], id="e.g."
        ),
        pytest.param("That is, i.e. Yes.", ["That is, i.e. Yes."], id="i.e.-before-capital"),
        pytest.param("It cost 3.5 million. Fine.", ["It cost 3.5 million.", "Fine."], id="decimal"),
        pytest.param("J. K. Rowling wrote it.", ["J. K. Rowling wrote it."], id="initials"),
        pytest.param("The U.S. Army came. We ran.", ["The U.S. Army came.", "We ran."], id="U.S."),
        pytest.param(
            'He said "stop!" Then he left.', ['He said "stop!"', "Then he left."], id="quote-close"
        ),
        pytest.param(
            "“I hate this.” She cried.", ["“I hate this.”", "She cried."], id="curly-quote"
        ),
        pytest.param("Wait... What? No!", ["Wait...", "What?", "No!"], id="ellipsis"),
        pytest.param("Really?! Yes.", ["Really?!", "Yes."], id="mixed-terminators"),
        pytest.param("ends with etc. and more", ["ends with etc. and more"], id="lowercase-next"),
        pytest.param(
            "他走了。她哭了！真的吗？", ["他走了。", "她哭了！", "真的吗？"], id="chinese"
        ),
        pytest.param("“你好。”他说。", ["“你好。”", "他说。"], id="chinese-quote"),
        pytest.param(
            "Headline\nBody one. Body two.",
            ["Headline", "Body one.", "Body two."],
            id="newline-breaks",
        ),
        pytest.param("See www.example.com now.", ["See www.example.com now."], id="url-dots"),
    ],
)
def test_split_sentences(text: str, expected: list[str]) -> None:
    assert split_sentences(text) == expected


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        pytest.param("", [], id="empty"),
        pytest.param("It's fine.", ["It's", "fine", "."], id="contraction"),
        pytest.param("well-being matters", ["well-being", "matters"], id="hyphen"),
        pytest.param(
            "3.5 km, 1,200 and 40%", ["3.5", "km", ",", "1,200", "and", "40%"], id="numbers"
        ),
        pytest.param("Wait!?", ["Wait", "!", "?"], id="punct-split"),
        pytest.param("他走了", ["他", "走", "了"], id="chinese-chars"),
        pytest.param("café naïve", ["café", "naïve"], id="accents"),
        pytest.param("don’t", ["don’t"], id="curly-apostrophe"),
    ],
)
def test_tokenize(text: str, expected: list[str]) -> None:
    assert tokenize(text) == expected


def test_words_drops_punctuation() -> None:
    assert words("Hi, you! 12 times.") == ["Hi", "you", "12", "times"]


def test_token_spans_are_verbatim() -> None:
    text = "She said: “no,” twice."
    for span in token_spans(text):
        assert text[span.start : span.end] == span.token


def test_window_is_a_verbatim_slice() -> None:
    text = "one two three four five six seven"
    spans = token_spans(text)
    assert window(text, spans, 3, width=1) == "three four five"
    assert window(text, spans, 0, width=2) == "one two three"


@pytest.mark.parametrize(
    ("text", "low", "high"),
    [
        pytest.param("", 0.0, 0.0, id="empty"),
        pytest.param("plain English", 0.0, 0.0, id="english"),
        pytest.param("他走了", 1.0, 1.0, id="chinese"),
    ],
)
def test_cjk_share(text: str, low: float, high: float) -> None:
    assert low <= cjk_share(text) <= high
