"""Signal functions for the two offline judges: deterministic, pure-Python heuristic baselines.

Two independent families, so that agreement between the offline judges means something:

- lexicon signals (word lists): `intensity`, `aversive_counts`, `lexical_ld_features`; the
  graded measures also read `judge.offline.affect`, `facts`, `moves` and `persons`.
- structure signals (sentence shape and word form, no emotion vocabulary): `ld_features`
  (the paper's three distancing features, approximated without a parser),
  `aversive_counts_stems`, `structural_intensity`, `subjects`
  (implemented in `judge.offline.structure`, re-exported here).

Every function accepts any string; empty text yields zeros (documented per function). These are
baselines: they miss paraphrase, irony and anything outside their word lists.
"""

from __future__ import annotations

import itertools

from judge.core.text import Hit, split_sentences, word_spans
from judge.offline import affect
from judge.offline import lexicons as lx
from judge.offline.affect import sentence_intensity as structural_intensity
from judge.offline.structure import (
    aversive_counts_stems,
    ld_features,
    subjects,
)

__all__ = [
    "aversive_counts",
    "aversive_counts_stems",
    "intensity",
    "ld_features",
    "lexical_ld_features",
    "structural_intensity",
    "subjects",
]

# ---------------------------------------------------------------------------------------------
# Lexicon judge
# ---------------------------------------------------------------------------------------------


def intensity(text: str) -> float:
    """Lexicon emotional intensity in [0, 1] (0 = flat or clinical, 1 = raw). Empty text: 0.0.
    See `judge.offline.affect.intensity`: feeling words (hand list, then VADER), modifiers,
    emotional form, less official register; words for events never count."""
    return affect.intensity(text)


def _aversive_hits(sentence: str) -> dict[str, list[Hit]]:
    """Aversive element words per category with their offsets (the lexicon judge's EGM count)."""
    found: dict[str, list[Hit]] = {c: [] for c in lx.AVERSIVE_CATEGORIES}
    for span in word_spans(sentence):
        low = span.token.lower()
        for cat in lx.AVERSIVE_CATEGORIES:
            if low in lx.AVERSIVE[cat]:
                found[cat].append((span.start, span.end))
                break  # one point per element word, in its first category
    return found


def aversive_counts(sentence: str) -> dict[str, int]:
    """Counts per category (death, violence, injury, graphic, abuse), one point per element word.

    A victim count adds nothing by itself ("three people were killed" scores death 1); vague
    words ("incident", "tragedy") score 0.
    """
    return {cat: len(hits) for cat, hits in _aversive_hits(sentence).items()}


def lexical_ld_features(text: str) -> dict[str, float]:
    """Bag-of-words stand-ins for the paper's three LD features (the lexicon judge's view).

    passive: a sentence has a be-form immediately followed by an -ed/irregular participle and no
    "by" anywhere; nominalisation: only the unambiguous suffixes -tion/-sion/-ment/-ness/-ity;
    non-human subjects: share of sentences that mention no person word at all. Empty text: 0.0.
    """
    sents = split_sentences(text)
    if not sents:
        return {"passive_share": 0.0, "nominalisation_density": 0.0, "nonhuman_subject_share": 0.0}
    passive = no_person = noms = total = 0
    for sent in sents:
        ws = [s.token.lower().replace("’", "'") for s in word_spans(sent)]
        total += len(ws)
        noms += sum(len(w) > 5 and w.endswith(("tion", "sion", "ment", "ness", "ity")) for w in ws)
        bigram = any(
            a in lx.BE_GET_FORMS
            and (b in lx.IRREGULAR_PARTICIPLES or b.endswith("ed"))
            and b not in lx.ADJECTIVAL_ED
            for a, b in itertools.pairwise(ws)
        )
        passive += bigram and "by" not in ws
        no_person += not any(w in lx.PERSONAL_PRONOUNS or w in lx.PERSON_NOUNS for w in ws)
    return {
        "passive_share": round(passive / len(sents), 4),
        "nominalisation_density": round(noms / total, 4) if total else 0.0,
        "nonhuman_subject_share": round(no_person / len(sents), 4),
    }
