"""How strongly a text expresses feeling: the signals both offline judges use for sentiment
attenuation, following the disambiguation rules (prompts/disambiguation-v1.yaml).

Feeling words and their strength come from two sources: the project's hand-graded list
(`lexicons.EMOTION_WEIGHTS`) and the VADER lexicon (Hutto and Gilbert 2014, the
`vaderSentiment` package), about 7,500 English words each rated for valence by ten people on
-4..+4. A word's strength is the absolute rating scaled to the hand list's 0-3 (|v| x 0.75), so
"devastated" (-3.0) outweighs "upset" (-1.6) and "terrified" (-3.0) outweighs "worried" (-1.2)
without either pair being written down here. Words that name what happened (killed, blood,
shot, injured: the aversive elements that granularity mismatch owns) are never feeling words,
whatever their rating, so a dropped fact never reads as lost intensity.

Modifiers work on every feeling word alike: an intensifier before it (so, utterly, -ly degree
adverbs) raises it, a hedge ("a bit", slightly) lowers it, a negation in the three words before
weakens it to 0.3; CAPS raise it. Exclamations, repeated words and short fragments are the
emotional form the rules give to SA too, counted by `form_cues`.

>>> [round(h.weight, 2) for h in feeling_hits("I am devastated.")]
[2.25]
>>> feeling_hits("Three people were killed.")
[]
"""

from __future__ import annotations

import functools
import importlib.resources
import math
import re
from dataclasses import dataclass

from judge.core.text import Hit, sentence_offsets, token_spans
from judge.offline import lexicons as lx

VADER_SCALE = 0.75  # |valence| 4 -> weight 3, the hand list's "raw"
MIN_WEIGHT = 0.6  # weaker ratings (|v| < 0.8) are evaluative noise, not named feeling
NEGATED = 0.3
HEDGED = 0.6
INTENSIFIED = 1.5


@functools.cache
def vader_lexicon() -> dict[str, float]:
    """word -> valence (-4..+4) from the VADER lexicon file the vaderSentiment package ships.

    Read directly from the data file (the package's analyser module also imports requests and
    handles emoji, neither needed here). Only single alphabetic words are kept."""
    text = (importlib.resources.files("vaderSentiment") / "vader_lexicon.txt").read_text(encoding="utf-8")
    out: dict[str, float] = {}
    for line in text.splitlines():
        parts = line.split("\t")
        if len(parts) >= 2 and re.fullmatch(r"[a-z][a-z'-]*", parts[0]):
            out[parts[0]] = float(parts[1])
    return out


_AVERSIVE_WORDS = frozenset().union(*lx.AVERSIVE.values())


def owned_by_events(word: str) -> bool:
    """Words that name an event, harm or body (granularity mismatch's), not a feeling."""
    from judge.offline.structure import aversive_stem_category

    return word in _AVERSIVE_WORDS or word in lx.EVENT_ONLY_WORDS or aversive_stem_category(word) is not None


def word_valence(word: str, *, hand: bool = True) -> float | None:
    """Signed feeling strength on 0-3 (negative for painful feeling), or None when ``word`` is
    not a feeling word: the hand list first (its weights are negative feelings unless listed
    as positive; ``hand=False`` skips it), then VADER; event words are never feeling words."""
    if word in lx.FEELING_EXEMPT or (word not in lx.EMOTION_WEIGHTS and owned_by_events(word)):
        return None
    if hand and word in lx.EMOTION_WEIGHTS:
        weight = lx.EMOTION_WEIGHTS[word]
        return weight if word in lx.POSITIVE_FEELINGS else -weight
    rating = vader_lexicon().get(word)
    if rating is None:
        rating = _inflected_rating(word)
    if rating is None or abs(rating) * VADER_SCALE < MIN_WEIGHT:
        return None
    return rating * VADER_SCALE


def _inflected_rating(word: str) -> float | None:
    """VADER lists base forms; try the usual inflections (terrifying -> terrify, panicked -> panic)."""
    lex = vader_lexicon()
    for suffix, repl in (("ing", ""), ("ing", "e"), ("ed", ""), ("ed", "e"), ("d", ""), ("s", ""),
                         ("ly", ""), ("ked", ""), ("ied", "y"), ("ies", "y"), ("ily", "y")):  # fmt: skip
        if word.endswith(suffix) and len(word) - len(suffix) >= 3:
            rating = lex.get(word[: len(word) - len(suffix)] + repl)
            if rating is not None:
                return rating
    return None


@dataclass(frozen=True)
class FeelingHit:
    weight: float  # strength after modifiers, >= 0
    positive: bool
    start: int
    end: int


def _is_degree_adverb(word: str) -> bool:
    """An intensifier: listed, or an -ly adverb that is itself strongly rated ("horribly",
    "painfully": a strongly valenced adverb before a feeling word raises it)."""
    if word in lx.INTENSIFIERS:
        return True
    if not word.endswith("ly") or word in lx.DOWNTONERS:
        return False
    rating = vader_lexicon().get(word)
    if rating is None:
        rating = _inflected_rating(word)
    return rating is not None and abs(rating) >= 1.5


def feeling_hits(text: str, *, hand: bool = True) -> list[FeelingHit]:
    """Every feeling word of ``text`` with its strength after modifiers, in text order
    (``hand=False``: VADER's ratings only, the structure judge's view)."""
    spans = token_spans(text)
    lows = [s.token.lower().replace("’", "'") for s in spans]
    out: list[FeelingHit] = []
    for i, (span, low) in enumerate(zip(spans, lows, strict=True)):
        valence = word_valence(low, hand=hand)
        if valence is None:
            continue
        if low == "hurt" and i and lows[i - 1] in lx.BE_GET_FORMS:
            continue  # "was hurt": an injury, not a feeling
        weight = abs(valence)
        before = lows[max(0, i - 3) : i]
        if any(b in lx.NEGATORS or b.endswith("n't") for b in before):
            weight *= NEGATED
        elif any(_is_degree_adverb(b) for b in before[-2:]):
            weight *= INTENSIFIED
        elif any(b in lx.DOWNTONERS for b in before):
            weight *= HEDGED
        if span.token.isupper() and len(span.token) > 2:
            weight *= 1.3
        out.append(FeelingHit(round(weight, 3), valence > 0, span.start, span.end))
    return out


@dataclass(frozen=True)
class FormCues:
    """Emotional form: exclamations, words in CAPS, repeated content words, short fragments."""

    sentences: int
    exclamations: int
    caps: int
    repeats: int
    fragments: int
    hits: list[Hit]


def form_cues(text: str) -> FormCues:
    """Counts of the emotional form the rules give to SA. A repeat is a sentence that says a
    content word (4+ letters) twice, or a short sentence (8 words at most) that says again a
    content word of the short sentence before it ("We couldn't get in. We just couldn't."); a
    fragment is a sentence of at most four words."""
    sents = sentence_offsets(text)
    excl = caps = repeats = fragments = 0
    hits: list[Hit] = []
    previous: set[str] = set()
    for sent, off in sents:
        tail = sent.rstrip("\"'”’) ")
        tokens = [s for s in token_spans(sent) if s.token[:1].isalpha()]
        said = [s.token.lower() for s in tokens if len(s.token) >= 4 and s.token.lower() not in lx.FORM_STOPWORDS]
        words = set(said) if len(tokens) <= 8 else set()
        if tail.endswith(("!", "！")):
            excl += 1
            hits.append((off, off + len(sent)))
        caps += sum(1 for s in tokens if len(s.token) > 2 and s.token.isupper())
        if len(said) > len(set(said)) or words & previous:
            repeats += 1
            hits.append((off, off + len(sent)))
        if 0 < len(tokens) <= 4:
            fragments += 1
        previous = words
    return FormCues(len(sents), excl, caps, repeats, fragments, hits)


@dataclass(frozen=True)
class Affect:
    """The feeling a text expresses, in the polarity that dominates it."""

    peak: float  # mean strength of its three strongest feeling words
    mass: float  # summed strength, each word capped at 3
    strong: int  # feeling words of strength >= 1.5
    negative: bool  # whether painful feeling dominates
    opposite_mass: float  # summed strength of feeling words of the other polarity
    hits: list[FeelingHit]


def affect(text: str, negative: bool | None = None, *, hand: bool = True) -> Affect:
    """Feeling of ``text`` in one polarity: the one given, else the one with more mass."""
    hits = feeling_hits(text, hand=hand)
    neg = [h for h in hits if not h.positive]
    pos = [h for h in hits if h.positive]
    if negative is None:
        negative = sum(h.weight for h in neg) >= sum(h.weight for h in pos)
    mine, other = (neg, pos) if negative else (pos, neg)
    top = sorted((h.weight for h in mine), reverse=True)[:3]
    return Affect(
        peak=round(sum(top) / 3, 3),  # fewer than three feeling words is a lower peak
        mass=round(sum(min(h.weight, 3.0) for h in mine), 3),
        strong=sum(h.weight >= 1.5 for h in mine),
        negative=negative,
        opposite_mass=round(sum(min(h.weight, 3.0) for h in other), 3),
        hits=sorted(mine, key=lambda h: (-h.weight, h.start)),
    )


def register_hits(text: str) -> list[Hit]:
    """Official or clinical words for feeling ("feelings", "distress", "coping"): the neutral
    register the rules give to SA when it stands in place of named pain."""
    return [(s.start, s.end) for s in token_spans(text) if s.token.lower() in lx.FEELING_REGISTER]


def intensity(text: str, *, hand: bool = True) -> float:
    """Expressed feeling in [0, 1] (0 flat or clinical, 1 raw): the strongest feeling words,
    their total, emotional form (exclamations, CAPS, repetition) less official register.
    Length-robust: three strong words in a long text read as strongly as in a short one.
    Empty text: 0.0."""
    if not text.strip():
        return 0.0
    aff = affect(text, hand=hand)
    cues = form_cues(text)
    z = (
        aff.peak
        + 0.12 * min(aff.mass, 12.0)
        + 1.2 * cues.exclamations / max(cues.sentences, 1)
        + 0.3 * min(cues.caps, 4)
        + 0.25 * min(cues.repeats, 3)
        - 0.3 * min(len(register_hits(text)), 4)
    )
    return round(1.0 - math.exp(-max(z, 0.0) / 2.0), 4)


def sentence_feeling(text: str, negative: bool | None) -> tuple[list[float], list[Hit], bool]:
    """Per sentence, the feeling it carries (VADER-rated words in the dominant polarity, capped
    at 4, raised by an exclamation or by repeating the short sentence before it), with the
    sentence spans and the polarity used (the structure judge's view)."""
    hits = feeling_hits(text, hand=False)
    if negative is None:
        negative = sum(x.weight for x in hits if not x.positive) >= sum(x.weight for x in hits if x.positive)
    scores: list[float] = []
    spans: list[Hit] = []
    prev: set[str] = set()
    for sent, off in sentence_offsets(text):
        inside = [x.weight for x in hits if off <= x.start < off + len(sent) and x.positive != negative]
        score = min(sum(inside), 4.0)
        short = len(sent.split()) <= 8
        words = {w.strip(".,!?;:'\"").lower() for w in sent.split() if len(w) >= 4}
        if sent.rstrip("\"'”’) ").endswith(("!", "！")):
            score = score * 1.3 + 0.5
        if short and words & prev:
            score += 0.5
        prev = words if short else set()
        scores.append(score)
        spans.append((off, off + len(sent)))
    return scores, spans, negative


def peak(scores: list[float]) -> float:
    """Mean of the three highest scores (missing ones count 0)."""
    return sum(sorted(scores, reverse=True)[:3]) / 3


def sentence_intensity(text: str) -> float:
    """The structure judge's intensity in [0, 1]: its three most feeling sentences. Empty: 0.0."""
    scores, _, _ = sentence_feeling(text, None)
    return round(1.0 - math.exp(-peak(scores) / 2.0), 4) if scores else 0.0
