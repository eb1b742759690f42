"""Where a judge's evidence quote sits in the item's text, for highlighting it in place.

Judges copy quotes loosely: other quote marks and dashes, different case or spacing, a full stop
added at the end, ``...`` for an elision. Both the quote and the text are compared in one
normalised form (NFKC, curly quotes and dashes made plain, Markdown asterisks dropped, case
folded, whitespace runs as one space), and the text keeps, for every normalised character, the
offset of the original character it came from, so a match is reported in the original text's
offsets and can be marked there. An elided quote matches when its pieces occur in order; each
piece is a span.

This only places quotes for display. Whether a verdict's quotes count as found (and the share
found) is the verdict parser's decision, recorded on the verdict, not this module's.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Iterable
from functools import lru_cache

_SINGLE = "‘’‚‛′`´"
_DOUBLE = "“”„‟″«»「」『』〝〞"
_DASHES = "‐‑‒–—―−﹘﹣－"
_PLAIN = str.maketrans({**dict.fromkeys(_SINGLE, "'"), **dict.fromkeys(_DOUBLE, '"'),
                        **dict.fromkeys(_DASHES, "-"), "*": ""})  # fmt: skip
_EDGE = " \"'.,;:!?-…()[]"
_ELISION = re.compile(r"\s*(?:\.\s*){3,}\s*|\s*…\s*|\s*\[\s*\.\.\.\s*\]\s*")


@lru_cache(maxsize=65536)
def _fold(char: str) -> str:
    return unicodedata.normalize("NFKC", char).translate(_PLAIN).casefold()


@lru_cache(maxsize=4096)
def normalised(text: str) -> tuple[str, tuple[int, ...]]:
    """``text`` in the compared form, and for each of its characters the original offset."""
    out: list[str] = []
    where: list[int] = []
    space = True  # drops leading whitespace and collapses runs
    for offset, char in enumerate(text):
        if char.isspace():
            if not space:
                out.append(" ")
                where.append(offset)
                space = True
            continue
        for folded in _fold(char):
            out.append(folded)
            where.append(offset)
        space = False
    if out and out[-1] == " ":
        out.pop()
        where.pop()
    return "".join(out), tuple(where)


def pieces(quote: str) -> list[str]:
    """The normalised pieces of a quote: split at elisions, surrounding punctuation trimmed."""
    folded, _ = normalised(quote)
    parts = [p.strip(_EDGE) for p in _ELISION.split(folded.replace("…", "..."))]
    return [p for p in parts if p]


def locate(quote: str, text: str | None) -> list[tuple[int, int]] | None:
    """The spans (start, end offsets in ``text``) of ``quote``, one per piece, or None when the
    quote is not in the text (or quotes nothing)."""
    if not text:
        return None
    wanted = pieces(quote)
    if not wanted:
        return None
    haystack, where = normalised(text)
    spans: list[tuple[int, int]] = []
    start = 0
    for piece in wanted:
        found = haystack.find(piece, start)
        if found < 0:
            return None
        spans.append((where[found], where[found + len(piece) - 1] + 1))
        start = found + len(piece)
    return spans


def place(quote: str, texts: Iterable[tuple[str, str | None]]) -> tuple[str | None, list[tuple[int, int]] | None]:
    """The first of ``texts`` (name, text) that holds ``quote``, and the spans; (None, None) if none."""
    for name, text in texts:
        spans = locate(quote, text)
        if spans is not None:
            return name, spans
    return None, None
