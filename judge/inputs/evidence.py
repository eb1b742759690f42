"""Checked evidence: are a verdict's quotes really in the texts they claim to quote?

A quote claims a side: ``response`` (the judged response) or ``source`` (the baseline side, which
covers the source *and* the reference: graded rubrics label reference quotes ``source``). It is
found when, after both it and the text are normalised the same way, it occurs in a text of its side.

Normalisation (``normalise``), applied to quote and text alike:

1. Unicode NFKC (full-width forms, ligatures, no-break spaces, the ellipsis character);
2. curly, angled and CJK quote marks to ``'`` or ``"``; every dash and minus to ``-``;
3. Markdown emphasis asterisks removed (judges quote "**Talk to HR**" as "Talk to HR");
4. case folded;
5. every run of whitespace to one space, ends trimmed.

A quote is also trimmed of the quote marks, dots and punctuation around it (a judge may wrap a
quote in quotation marks or end it with a full stop the text does not have there), and ``...``
inside a quote marks an elision: its pieces must occur in the text in order. A quote that is empty
after trimming is not found (it quotes nothing).
"""

from __future__ import annotations

import functools
import re
import unicodedata
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

_SINGLE = "‘’‚‛′`´"
_DOUBLE = "“”„‟″«»「」『』〝〞"
_DASHES = "‐‑‒–—―−﹘﹣－"
_TRANSLATE = str.maketrans({**dict.fromkeys(_SINGLE, "'"), **dict.fromkeys(_DOUBLE, '"'),
                            **dict.fromkeys(_DASHES, "-"), "*": None})  # fmt: skip
_SPACE = re.compile(r"\s+")
_EDGE = " \"'.,;:!?-…()[]"
_ELISION = re.compile(r"\s*(?:\.\s*){3,}\s*|\s*\[\s*\.\.\.\s*\]\s*")


@functools.lru_cache(maxsize=8192)
def normalise(text: str) -> str:
    """The form quotes and texts are compared in (see the module docstring)."""
    text = unicodedata.normalize("NFKC", text).translate(_TRANSLATE).casefold()
    return _SPACE.sub(" ", text).strip()


def quote_pieces(quote: str) -> list[str]:
    """The normalised pieces a quote must match in order: split at elisions, edges trimmed."""
    pieces = [p.strip(_EDGE) for p in _ELISION.split(normalise(quote))]
    return [p for p in pieces if p]


def locate(quote: str, text: str) -> tuple[int, int] | None:
    """Where ``quote`` occurs in ``normalise(text)`` (start, end of the whole match, elisions
    included), or None when it does not occur or quotes nothing."""
    pieces = quote_pieces(quote)
    if not pieces:
        return None
    haystack = normalise(text)
    start = end = haystack.find(pieces[0])
    if start < 0:
        return None
    end = start + len(pieces[0])
    for piece in pieces[1:]:
        at = haystack.find(piece, end)
        if at < 0:
            return None
        end = at + len(piece)
    return start, end


def side_texts(source: str, reference: str | None, response: str) -> dict[str, tuple[tuple[str, str], ...]]:
    """The texts each quote side may quote, by name: ``source`` covers source and reference."""
    baseline = (("source", source),) + ((("reference", reference),) if reference else ())
    return {"source": baseline, "response": (("response", response),)}


@dataclass(frozen=True, slots=True)
class EvidenceCheck:
    """The result of checking a verdict's quotes: how many there were, how many were found, and
    the first one that was not (as the judge wrote it, with its side)."""

    total: int
    found: int
    first_unfound: tuple[str, str] | None = None

    @property
    def share(self) -> float | None:
        """The share of quotes found; None when there were no quotes to check."""
        return self.found / self.total if self.total else None

    def reason(self) -> str | None:
        """Why a verdict with unfound quotes is invalid (rubric option ``evidence: require_found``)."""
        if self.first_unfound is None:
            return None
        side, quote = self.first_unfound
        shown = quote if len(quote) <= 80 else quote[:77] + "..."
        return (
            f"evidence quote not found in the {side} side: {shown!r} "
            f"({self.total - self.found} of {self.total} quotes not found)"
        )


def find_quote(side: str, quote: str, texts: Mapping[str, Sequence[tuple[str, str]]]) -> tuple[str, int, int] | None:
    """(text name, start, end) of the first text of ``side`` that holds ``quote``; None if none."""
    for name, text in texts.get(side, ()):
        span = locate(quote, text)
        if span is not None:
            return name, span[0], span[1]
    return None


def check_evidence(evidence: Iterable[Any], texts: Mapping[str, Sequence[tuple[str, str]]]) -> EvidenceCheck:
    """Check every ``{side, quote}`` entry of a verdict's evidence against the side's texts."""
    total = found = 0
    first: tuple[str, str] | None = None
    for entry in evidence:
        if not isinstance(entry, Mapping):
            continue
        side, quote = str(entry.get("side", "")), str(entry.get("quote", ""))
        total += 1
        if find_quote(side, quote, texts) is not None:
            found += 1
        elif first is None:
            first = (side, quote)
    return EvidenceCheck(total, found, first)
