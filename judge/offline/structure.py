"""Structure judge signals: sentence shape, word form, tense and person; no emotion vocabulary.

Approximates the dependency-parse features of the paper's linguistic distancing measure without a
parser (no spaCy/NLTK models offline): a part-of-speech guess from suffixes and small closed
word lists. Re-exported from `judge.offline.heuristics`.
"""

from __future__ import annotations

import re

from judge.core.text import Span, split_sentences, word_spans
from judge.offline import lexicons as lx


def _clamp(x: float, lo: float = 0.0, hi: float = 1.0) -> float:
    return max(lo, min(hi, x))


_SKIP_IN_NP = frozenset({"also", "just", "still", "never", "not", "only", "then", "even", "all"})
_DETERMINERS = frozenset(
    {
        "the",
        "a",
        "an",
        "this",
        "that",
        "these",
        "those",
        "my",
        "your",
        "his",
        "her",
        "our",
        "their",
        "its",
        "some",
        "many",
        "every",
        "each",
    }
)
_PREPOSITIONS = frozenset(
    {
        "in",
        "on",
        "at",
        "after",
        "before",
        "during",
        "for",
        "with",
        "from",
        "over",
        "under",
        "since",
        "by",
        "of",
        "to",
        "into",
        "as",
        "despite",
    }
)


def _lows(sentence: str) -> list[str]:
    return [s.token.lower().replace("’", "'") for s in word_spans(sentence)]


def _is_participle(word: str) -> bool:
    if word in lx.ADJECTIVAL_ED:
        return False
    return word in lx.IRREGULAR_PARTICIPLES or (len(word) > 4 and word.endswith("ed"))


def _agentless_passive(ws: list[str]) -> bool:
    """be/get + (up to two adverbs or 'not'/'being') + participle, and no 'by' after it."""
    for i, w in enumerate(ws):
        if w not in lx.BE_GET_FORMS:
            continue
        j = i + 1
        while (
            j < len(ws)
            and j <= i + 3
            and (ws[j].endswith("ly") or ws[j] in {"not", "never", "being", "also", "just", "been"})
        ):
            j += 1
        if j < len(ws) and _is_participle(ws[j]) and "by" not in ws[j + 1 :]:
            return True
    return False


def _is_verb(ws: list[str], i: int) -> bool:
    w = ws[i]
    prev = ws[i - 1] if i else ""
    if w in lx.AUXILIARIES or w in lx.COMMON_VERBS:
        return True
    if w.endswith("ed") and len(w) > 3 and prev not in _DETERMINERS and w not in lx.ADJECTIVAL_ED:
        return True
    return w.endswith("s") and prev in {"he", "she", "it", "this", "that", "who"}


def _clauses(ws: list[str]) -> list[list[str]]:
    """Split a sentence's words into rough clauses at subordinating/coordinating openers."""
    clauses: list[list[str]] = [[]]
    for w in ws:
        if w in lx.CLAUSE_OPENERS and clauses[-1]:
            clauses.append([])
        else:
            clauses[-1].append(w)
    return [c for c in clauses if c]


def _subject_np(clause: list[str]) -> list[str] | None:
    """Noun phrase before the clause's first verb; None for verbless or verb-first clauses."""
    if clause and clause[0] in _PREPOSITIONS:
        return None  # a fronted prepositional phrase: too ambiguous to find the subject
    for i in range(len(clause)):
        if _is_verb(clause, i):
            np = [w for w in clause[:i] if w not in _SKIP_IN_NP and not w.endswith("ly")]
            if "of" in np:
                np = np[: np.index("of")]
            if not np or np[-1] in {"there", "here"}:
                return None  # imperative or existential: the parse has no nominal subject here
            return np
    return None


def subjects(text: str) -> list[tuple[str, bool]]:
    """Approximate grammatical subjects as (head, is_human), clause by clause.

    The head is the last word of the noun phrase before the clause's first verb-like word.
    Human: a personal pronoun, a person noun, or a name: a word the text capitalises inside a
    sentence somewhere, or a bare capitalised singular word opening a sentence ("Maria said").
    """
    sents = split_sentences(text)
    names: set[str] = set()
    for sent in sents:
        names.update(
            s.token.lower()
            for k, s in enumerate(word_spans(sent))
            if k and s.token[:1].isupper() and s.token.lower() != "i"
        )
    out: list[tuple[str, bool]] = []
    for sent in sents:
        spans = word_spans(sent)
        first = spans[0].token if spans else ""
        for clause in _clauses(_lows(sent)):
            np = _subject_np(clause)
            if np is None:
                continue
            head = np[-1]
            bare_initial = (
                len(np) == 1
                and head == first.lower()
                and first.istitle()
                and not head.endswith("s")
                and not head.endswith(lx.NOMINAL_SUFFIXES)
                and head not in _DETERMINERS
                and head not in {"it", "this", "what", "which"}
            )
            human = (
                head in lx.PERSONAL_PRONOUNS
                or head in lx.PERSON_NOUNS
                or ((head in names or bare_initial) and head not in lx.CLINICAL_WORDS)
            )
            out.append((head, human))
    return out


def _is_nominalisation(span: Span, sentence_initial: bool) -> bool:
    w = span.token.lower()
    if len(w) < 5 or w in lx.NOMINAL_STOPLIST or not w.endswith(lx.NOMINAL_SUFFIXES):
        return False
    return sentence_initial or not span.token[:1].isupper()  # mid-sentence capitals: names


def ld_features(text: str, *, skip: frozenset[str] = frozenset()) -> dict[str, float]:
    """The paper's three distancing features, approximated without a dependency parser.
    ``skip``: nouns not counted as nominalisations (the graded measure leaves out the vague
    stand-ins for events, which the disambiguation rules give to granularity mismatch).

    passive_share: sentences with be/get + participle (-ed or irregular) and no later "by".
    nominalisation_density: words ending -tion/-sion/-ment/-ance/-ence/-ity/-ness/-al over all
    words, minus a stoplist of common adjectives/verbs with those endings (our stand-in for
    the noun tag) and minus capitalised words inside a sentence (names, organisations).
    nonhuman_subject_share: see `subjects`. Empty text (or no subject found): 0.0.
    """
    sents = split_sentences(text)
    passive = noms = total = 0
    for sent in sents:
        spans = word_spans(sent)
        total += len(spans)
        noms += sum(_is_nominalisation(s, k == 0) and s.token.lower() not in skip for k, s in enumerate(spans))
        passive += _agentless_passive([s.token.lower() for s in spans])
    subj = subjects(text)
    return {
        "passive_share": round(passive / len(sents), 4) if sents else 0.0,
        "nominalisation_density": round(noms / total, 4) if total else 0.0,
        "nonhuman_subject_share": round(sum(not h for _, h in subj) / len(subj), 4)
        if subj
        else 0.0,
    }


_STEMS: dict[str, re.Pattern[str]] = {
    "death": re.compile(
        r"^(kill|bod(y|ies)$|dead$|deadly$|death|die[ds]?$|dying|murder|slain|slaughter|massacr"
        r"|execution|fatal$|fatally|drown|corpse|perish|assassinat|behead|homicid"
        r"|suicid|lifeless|strangl|lynch|suffocat)"
    ),
    "violence": re.compile(
        r"^(attack|shoot|shot$|gun|stab|bomb|explod|explosi|blast|beat(en|ing)?$"
        r"|punch|kick|assault|rampage|ambush|raid(s|ed)?$|shell(ing|ed)$|airstrike"
        r"|clash|riot|smash|slash|grenade|missile|violen|fight|fought|war$|slap|shov|chok(e|ed|ing)$"
        r"|hit$|struck$|arson|torch(ed)?$|hack(ed|ing)$)"
    ),
    "injury": re.compile(
        r"^(injur|wound|hurt$|maim|bruis|fractur|broken$|burn(s|ed|t)$|bleed"
        r"|bled$|concuss|paraly|amputat|crippl|hospitali[sz]ed|scarr|gash|limp(ing|ed)?$)"
    ),
    "graphic": re.compile(
        r"^(blood|gore|entrail|sever(ed)$|charred|mutilat|dismember|decapitat"
        r"|disfigur|skull|brains$|flesh|bones?$|guts$|intestin|limbs$|torn$"
        r"|splatter|rott|decompos|scream|shrapnel|rubble|oozing|stench|vomit|crush(ed)?$"
        r"|ash(es)?$|smoulder|soaked$)"
    ),
    "abuse": re.compile(
        r"^(abus|tortur|rap(e|ed|es|ing)$|molest|traffick|enslav|whip(ped|ping)?$|flog"
        r"|starv|bull(y|ied|ying)$|harass|degrad|neglect|batter(ed|ing)?$"
        r"|kidnap|abduct|hostage|imprison|persecut|terrori[sz]ed|exploited"
        r"|coerc|mock(ed|ing|s)?$|insult|yell|shout(ed|ing|s)?$|ridicul|belittl|threaten"
        r"|intimidat|stalk(ed|ing)?$|grop(e|ed|ing)$|berat|sneer)"
    ),
}


def aversive_stem_category(word: str) -> str | None:
    """The aversive category whose stems ``word`` (lower case) matches, or None."""
    for cat in lx.AVERSIVE_CATEGORIES:
        if _STEMS[cat].match(word):
            return cat
    return None


def aversive_counts_stems(sentence: str) -> dict[str, int]:
    """The structure judge's EGM count: word stems (morphology, not a word list), one point per
    word, skipping words negated within the three words before ("no one was killed").
    """
    counts = dict.fromkeys(lx.AVERSIVE_CATEGORIES, 0)
    ws = _lows(sentence)
    for i, w in enumerate(ws):
        window_before = ws[max(0, i - 3) : i]
        if any(b in {"no", "not", "without", "never", "nobody"} for b in window_before):
            continue
        cat = aversive_stem_category(w)
        if cat is not None:
            counts[cat] += 1
    return counts
