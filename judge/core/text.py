"""Small text utilities shared by the prompt renderer and the offline judges.

Sentence splitting and tokenisation here are deliberately simple, rule-based and dependency-free
(no spaCy/NLTK models can be downloaded offline). They handle English and Chinese punctuation,
common abbreviations, decimals, initials and closing quotes, which is what the judged texts need.

>>> split_sentences('Dr. Li said "stop!" Then she left.')
['Dr. Li said "stop!"', 'Then she left.']
>>> tokenize("It's 3.5 km, isn't it?")
["It's", '3.5', 'km', ',', "isn't", 'it', '?']
"""

from __future__ import annotations

import functools
import re
from typing import NamedTuple

# Lower-case, without the final period. A period after one of these never ends a sentence.
ABBREVIATIONS = frozenset(
    {
        "mr", "mrs", "ms", "dr", "prof", "sr", "jr", "st", "mt", "rev", "gen", "col", "lt",
        "sgt", "capt", "gov", "sen", "rep", "pres", "vs", "e.g", "i.e", "cf", "approx", "no",
        "fig", "dept", "inc", "ltd", "co", "corp", "jan", "feb", "mar", "apr", "jun", "jul",
        "aug", "sep", "sept", "oct", "nov", "dec", "u.s", "u.k", "a.m", "p.m",
    }
)  # fmt: skip

_CJK = r"\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff"
_TERMINATORS = ".!?。！？…"
_CLOSERS = "\"'”’)]」』）》"
# A run of terminators, then any closing quotes/brackets; group 1 is the whole boundary.
_BOUNDARY = re.compile(rf"([{re.escape(_TERMINATORS)}]+[{re.escape(_CLOSERS)}]*)")
_TOKEN = re.compile(
    rf"[{_CJK}]"  # one Chinese character per token
    r"|\d+(?:[.,:]\d+)*%?"  # 12, 3.5, 1,200, 10:30, 40%
    r"|[^\W\d_]+(?:[-'’][^\W\d_]+)*"  # words, hyphenated words, contractions
    r"|[^\w\s]"  # any single punctuation or symbol
)
_WORDLIKE = re.compile(rf"[{_CJK}\w]")
_CJK_CHAR = re.compile(rf"[{_CJK}]")


Hit = tuple[int, int]  # character offsets (start, end) of a span in the analysed text


class Span(NamedTuple):
    """A token and its character offsets in the original text (text[start:end] == token)."""

    token: str
    start: int
    end: int


def _is_abbreviation(before: str) -> bool:
    """True when the chunk ending just before a '.' is an abbreviation or an initial."""
    chunk = before.rsplit(None, 1)[-1] if before.strip() else ""
    chunk = chunk.lstrip("\"'“‘([").rstrip(".")
    if not chunk:
        return False
    low = chunk.lower()
    # Single letters are initials ("J. K. Rowling"); dotted forms like "U.S" are abbreviations.
    return low in ABBREVIATIONS or (len(chunk) == 1 and chunk.isalpha())


def split_sentences(text: str) -> list[str]:
    """Split text into sentences; line breaks also end a sentence (headlines, list items).

    A '.' does not end a sentence after a known abbreviation or an initial, inside a number, or
    when the next character is lower case. Chinese 。！？ end a sentence without a following space.
    Returns stripped, non-empty sentences in order; empty text gives [].
    """
    return list(_split_sentences(text))


# The judges re-read the same short texts many times per verdict; caching keeps them pure-Python
# fast without threading token lists through every signal function.
@functools.lru_cache(maxsize=4096)
def _split_sentences(text: str) -> tuple[str, ...]:
    sentences: list[str] = []
    for line in text.splitlines():
        start = 0
        for m in _BOUNDARY.finditer(line):
            end = m.end()
            rest = line[end:]
            mark = m.group(1)
            cjk_mark = any(c in "。！？" for c in mark)
            if not cjk_mark and rest and not rest[0].isspace() and not _CJK_CHAR.match(rest):
                continue  # "3.5", "e.g.x", "U.S." inside a token
            if mark.rstrip(_CLOSERS) == "." and not cjk_mark:
                if _is_abbreviation(line[start : m.start()]):
                    continue
                nxt = rest.lstrip()
                if nxt and (nxt[0].islower() or nxt[0].isdigit()):
                    continue
            piece = line[start:end].strip()
            if piece:
                sentences.append(piece)
            start = end
        piece = line[start:].strip()
        if piece:
            sentences.append(piece)
    return tuple(sentences)


def token_spans(text: str) -> list[Span]:
    """Tokens with their offsets, so evidence quotes can be cut verbatim from the text."""
    return list(_token_spans(text))


@functools.lru_cache(maxsize=4096)
def _token_spans(text: str) -> tuple[Span, ...]:
    return tuple(Span(m.group(0), m.start(), m.end()) for m in _TOKEN.finditer(text))


def tokenize(text: str) -> list[str]:
    """Words (with internal hyphens/apostrophes), numbers, CJK characters and punctuation."""
    return _TOKEN.findall(text)


def is_word(token: str) -> bool:
    """True for words and numbers, False for punctuation and symbols."""
    return bool(_WORDLIKE.match(token))


def words(text: str) -> list[str]:
    """The non-punctuation tokens of text, case kept."""
    return [t for t in tokenize(text) if is_word(t)]


def cjk_share(text: str) -> float:
    """Share of word-like characters that are Chinese; used to avoid English lexicons on Chinese."""
    wordlike = _WORDLIKE.findall(text)
    if not wordlike:
        return 0.0
    return len(_CJK_CHAR.findall(text)) / len(wordlike)


def window(text: str, spans: list[Span], index: int, width: int = 4) -> str:
    """A verbatim slice of text around token `index`, `width` tokens either side."""
    lo = max(0, index - width)
    hi = min(len(spans) - 1, index + width)
    return text[spans[lo].start : spans[hi].end]


def word_spans(text: str) -> list[Span]:
    """The word and number tokens of text with their offsets."""
    return list(_word_spans(text))


@functools.lru_cache(maxsize=4096)
def _word_spans(text: str) -> tuple[Span, ...]:
    return tuple(s for s in _token_spans(text) if is_word(s.token))


def sentence_offsets(text: str) -> list[tuple[str, int]]:
    """Sentences with their start offsets in text (split_sentences strips, so search forward)."""
    out: list[tuple[str, int]] = []
    pos = 0
    for sent in split_sentences(text):
        start = text.find(sent, pos)
        start = pos if start < 0 else start
        out.append((sent, start))
        pos = start + len(sent)
    return out
