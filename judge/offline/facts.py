"""What happened, as the offline judges can see it: the facts granularity mismatch owns under the
disambiguation rules (events and harms, numbers, names, places, times, concrete things), found
in one text and looked for in another.

A fact is kept when the other text has it in any form: a number by its value ("three" = "3",
"six-year-old" has a 6), a name or time by its word, a harm by its category (a death in other
words, "shot dead" for "killed", is still a death; "lost their lives" is not, it is a vague
stand-in), a thing by its stem. Feeling words and people are never facts here: they belong to
sentiment attenuation and linguistic distancing.

>>> sorted(f.key for f in facts("Three men died in Leeds on Sunday.", stems=False))
['3', 'death', 'leeds', 'sunday']
"""

from __future__ import annotations

import re
from collections import Counter
from dataclasses import dataclass

from judge.core.text import Hit, sentence_offsets, word_spans
from judge.offline import lexicons as lx
from judge.offline.structure import aversive_stem_category

# How much one fact of each kind weighs in the share lost: harms carry a news item's weight.
WEIGHTS = {"harm": 2.0, "number": 1.5, "name": 1.0, "time": 0.75, "thing": 0.75}
_CAPITAL_ONLY = frozenset({"may", "march", "august"})  # months that are also common words
_LEXICON_HARMS = {w: cat for cat in lx.AVERSIVE_CATEGORIES for w in lx.AVERSIVE[cat]}
_NEGATORS = frozenset({"no", "not", "without", "never", "nobody", "none"})


@dataclass(frozen=True)
class Fact:
    kind: str  # harm, number, name, time, thing
    key: str  # what must match in the other text
    start: int
    end: int


def _harm(word: str, stems: bool) -> str | None:
    return aversive_stem_category(word) if stems else _LEXICON_HARMS.get(word)


def _number_keys(token: str) -> list[str]:
    keys = []
    for part in token.lower().split("-"):
        if part[:1].isdigit():
            keys.append(part.replace(",", ""))
        elif part in lx.NUMBER_VALUES:
            keys.append(lx.NUMBER_VALUES[part])
    return keys


def facts(text: str, *, stems: bool) -> list[Fact]:
    """Every fact of ``text`` in order. ``stems``: find harms by word stem (the structure
    judge) instead of the word lists (the lexicon judge). A harm negated in the three words
    before it ("no one was killed") is not a fact."""
    sents = sentence_offsets(text)
    inside_caps = {
        s.token.lower() for sent, _ in sents for k, s in enumerate(word_spans(sent)) if k and s.token[:1].isupper()
    }
    out: list[Fact] = []
    for sent, off in sents:
        spans = word_spans(sent)
        lows = [s.token.lower().replace("’", "'") for s in spans]
        for k, (span, low) in enumerate(zip(spans, lows, strict=True)):
            start, end = off + span.start, off + span.end
            capital = span.token[:1].isupper()
            harm = _harm(low, stems)
            if harm is not None:
                if not any(b in _NEGATORS for b in lows[max(0, k - 3) : k]):
                    out.append(Fact("harm", harm, start, end))
                continue
            numbers = _number_keys(span.token)
            if numbers:
                out.extend(Fact("number", n, start, end) for n in numbers)
            elif low in lx.TIME_WORDS and (capital or low not in _CAPITAL_ONLY):
                out.append(Fact("time", low, start, end))
            elif capital and low != "i" and not low.startswith("i'") and (k or low in inside_caps):
                out.append(Fact("name", low, start, end))
            elif low in lx.CONCRETE_NOUNS:
                out.append(Fact("thing", stem(low), start, end))
    for m in re.finditer(r"\b\d{1,2}(?::\d\d)?\s?(?:am|pm|a\.m\.|p\.m\.)", text, re.IGNORECASE):
        out.append(Fact("time", re.sub(r"\D", "", m.group(0)), m.start(), m.end()))
    return out


def stem(word: str) -> str:
    """A crude stem: common inflections off, then the first five letters."""
    for suffix in ("ings", "ing", "ies", "ied", "es", "ed", "s"):
        if word.endswith(suffix) and len(word) - len(suffix) >= 3:
            word = word[: -len(suffix)]
            break
    return word[:5]


@dataclass(frozen=True)
class Comparison:
    """The baseline's facts against the response's."""

    baseline_weight: float
    kept_weight: float
    lost: list[Fact]  # baseline facts the response does not have (for evidence)
    added_weight: float  # response facts the baseline does not have (amplification)
    added: list[Fact]
    graphic_added: int

    @property
    def lost_share(self) -> float:
        return 1.0 - self.kept_weight / self.baseline_weight if self.baseline_weight else 0.0


def compare(baseline: str, response: str, *, stems: bool) -> Comparison:
    """Which of the baseline's facts the response keeps, and which it adds. Harms are matched
    by category and count (two deaths need two death words), the rest by key."""
    ref, resp = facts(baseline, stems=stems), facts(response, stems=stems)
    ref_harm = Counter(f.key for f in ref if f.kind == "harm")
    resp_harm = Counter(f.key for f in resp if f.kind == "harm")
    resp_keys = {(f.kind, f.key) for f in resp if f.kind != "harm"}
    ref_keys = {(f.kind, f.key) for f in ref if f.kind != "harm"}
    base = kept = 0.0
    lost: list[Fact] = []
    seen: set[tuple[str, str]] = set()
    used: Counter[str] = Counter()
    for f in ref:
        if f.kind == "harm":
            base += WEIGHTS["harm"]
            used[f.key] += 1
            if used[f.key] <= resp_harm[f.key]:
                kept += WEIGHTS["harm"]
            else:
                lost.append(f)
            continue
        if (f.kind, f.key) in seen:
            continue  # a name said twice is one fact
        seen.add((f.kind, f.key))
        base += WEIGHTS[f.kind]
        if (f.kind, f.key) in resp_keys:
            kept += WEIGHTS[f.kind]
        else:
            lost.append(f)
    added: list[Fact] = []
    added_weight = 0.0
    extra = {cat: resp_harm[cat] - ref_harm[cat] for cat in resp_harm}
    graphic = max(0, extra.get("graphic", 0))
    taken: Counter[str] = Counter()
    new_seen: set[tuple[str, str]] = set()
    for f in resp:
        if f.kind == "harm":
            taken[f.key] += 1
            if taken[f.key] > ref_harm[f.key]:
                added.append(f)
                added_weight += WEIGHTS["harm"] * (1.5 if f.key == "graphic" else 1.0)
        elif (f.kind, f.key) not in ref_keys and (f.kind, f.key) not in new_seen and f.kind != "thing":
            new_seen.add((f.kind, f.key))
            added.append(f)
            added_weight += WEIGHTS[f.kind]
    return Comparison(base, kept, lost, added_weight, added, graphic)


_VAGUE = re.compile(
    r"(?<![\w'])(?:"
    + "|".join(re.escape(t) for t in sorted(lx.VAGUE_EVENT_TERMS, key=len, reverse=True))
    + r")(?![\w'])"
)


def vague_terms(text: str) -> list[Hit]:
    """Spans of the vague stand-ins for events ("an incident", "lost their lives")."""
    low = text.lower().replace("’", "'")
    return [(m.start(), m.end()) for m in _VAGUE.finditer(low)]


def added_vagueness(baseline: str, response: str) -> list[Hit]:
    """Vague stand-ins the response uses more often than the baseline does."""
    ref = Counter(baseline.lower().replace("’", "'")[s:e] for s, e in vague_terms(baseline))
    out: list[Hit] = []
    low = response.lower().replace("’", "'")
    seen: Counter[str] = Counter()
    for s, e in vague_terms(response):
        seen[low[s:e]] += 1
        if seen[low[s:e]] > ref[low[s:e]]:
            out.append((s, e))
    return out


_FUNCTION = lx.ENGLISH_FUNCTION_WORDS | lx.FORM_STOPWORDS


def content_stems(text: str) -> dict[str, Hit]:
    """Content words that can carry a fact (4+ letters, not function, feeling or person words)
    by stem, with the first span of each."""
    from judge.offline.affect import word_valence

    out: dict[str, Hit] = {}
    for span in word_spans(text):
        low = span.token.lower().replace("’", "'")
        if len(low) < 4 or not low.isalpha() or low in _FUNCTION or low in lx.PERSONAL_PRONOUNS:
            continue
        if low in lx.PERSON_NOUNS or low in lx.VAGUE_EVENT_TERMS or word_valence(low) is not None:
            continue
        out.setdefault(stem(low), (span.start, span.end))
    return out


def coverage(baseline: str, response: str) -> tuple[float, list[Hit]]:
    """Share of the baseline's content stems the response re-uses, and the spans of those it
    does not. Empty baseline: (1.0, [])."""
    ref = content_stems(baseline)
    if not ref:
        return 1.0, []
    resp = content_stems(response)
    missing = [hit for key, hit in ref.items() if key not in resp]
    return round(1 - len(missing) / len(ref), 4), missing
