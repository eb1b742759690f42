"""Structure judge signals: sentence shape, word form, tense and person; no emotion vocabulary.

Approximates the dependency-parse features of the paper's linguistic distancing measure without a
parser (no spaCy/NLTK models offline): a part-of-speech guess from suffixes and small closed
word lists. Re-exported from `judge.offline.heuristics`.
"""

from __future__ import annotations

import math
import re
from dataclasses import dataclass, field

from judge.core.text import Hit, Span, sentence_offsets, split_sentences, word_spans
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


def ld_features(text: str) -> dict[str, float]:
    """The paper's three distancing features, approximated without a dependency parser.

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
        noms += sum(_is_nominalisation(s, k == 0) for k, s in enumerate(spans))
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
        r"^(kill|bod(y|ies)$|dead|death|die[ds]?$|dying|murder|slain|slaughter|massacr"
        r"|execution|fatal|drown|corpse|perish|assassinat|behead|homicid"
        r"|suicid|lifeless|strangl)"
    ),
    "violence": re.compile(
        r"^(attack|shoot|shot$|gun|stab|bomb|explo|blast|beat(en|ing)?$"
        r"|punch|kick|assault|rampage|ambush|raid|shell(ing|ed)$|airstrike"
        r"|clash|riot|smash|slash|grenade|missile|violen|fight|fought|war$)"
    ),
    "injury": re.compile(
        r"^(injur|wound|hurt$|maim|bruis|fractur|broken$|burn(s|ed|t)$|bleed"
        r"|bled$|concuss|paraly|amputat|crippl|hospitali[sz]ed|scarr)"
    ),
    "graphic": re.compile(
        r"^(blood|gore|entrail|sever(ed)$|charred|mutilat|dismember|decapitat"
        r"|disfigur|skull|brains$|flesh|bones?$|guts$|intestin|limbs$|torn$"
        r"|splatter|rott|decompos|scream|shrapnel|rubble|oozing|stench|vomit)"
    ),
    "abuse": re.compile(
        r"^(abus|tortur|rap(e|ed|es|ing)$|molest|traffick|enslav|whip|flog"
        r"|starv|bull(y|ied|ying)$|harass|humiliat|degrad|neglect|batter"
        r"|kidnap|abduct|hostage|imprison|persecut|terrori[sz]ed|exploited"
        r"|coerc)"
    ),
}


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
        for cat in lx.AVERSIVE_CATEGORIES:
            if _STEMS[cat].match(w):
                counts[cat] += 1
                break
    return counts


@dataclass(frozen=True)
class StructureProfile:
    """Sentence-shape and word-form signals of one text (no emotion vocabulary)."""

    sentences: int = 0
    words: int = 0
    mean_sentence_length: float = 0.0
    short_sentence_share: float = 0.0
    exclamation_share: float = 0.0
    question_share: float = 0.0
    imperative_share: float = 0.0
    modal_you_share: float = 0.0
    first_person_rate: float = 0.0
    present_tense_rate: float = 0.0
    numbers: int = 0
    proper_nouns: int = 0
    concrete_nouns: int = 0
    detail_per_sentence: float = 0.0
    last_sentence_question: bool = False
    detail_hits: list[Hit] = field(default_factory=list)


_PRESENT = frozenset(
    {
        "am",
        "is",
        "are",
        "do",
        "does",
        "have",
        "has",
        "i'm",
        "you're",
        "we're",
        "they're",
        "he's",
        "she's",
        "it's",
        "don't",
        "doesn't",
        "isn't",
        "aren't",
        "can",
        "can't",
        "will",
        "won't",
    }
)
_PAST = frozenset(
    {"was", "were", "did", "had", "didn't", "wasn't", "weren't", "could", "would", "hadn't"}
)
_MODAL_YOU = re.compile(r"\byou (should|could|might|need to|must|have to|may want)\b")


def structure_profile(text: str) -> StructureProfile:
    """Sentence counts and lengths, sentence types, tense, person and detail density.

    Detail = numbers + proper nouns (capitalised words inside a sentence) + concrete nouns.
    Rates are over words; shares are over sentences. Empty text: all zero.
    """
    sents = sentence_offsets(text)
    if not sents:
        return StructureProfile()
    n_words = short = excl = quest = imper = modal = fps = present = past = 0
    numbers = proper = concrete = 0
    detail_hits: list[Hit] = []
    for sent, off in sents:
        spans = word_spans(sent)
        ws = [s.token.lower().replace("’", "'") for s in spans]
        n_words += len(ws)
        short += len(ws) <= 8
        tail = sent.rstrip("\"'”’) ")
        excl += tail.endswith(("!", "！"))
        is_q = tail.endswith(("?", "？"))
        quest += is_q
        imper += bool(ws) and not is_q and ws[0] in lx.IMPERATIVE_VERBS
        modal += bool(_MODAL_YOU.search(" ".join(ws)))
        fps += sum(w in lx.FIRST_SINGULAR for w in ws)
        for k, (s, w) in enumerate(zip(spans, ws, strict=True)):
            kind = None
            if w[0].isdigit() or w in lx.NUMBER_WORDS:
                numbers, kind = numbers + 1, "n"
            elif k and s.token[:1].isupper() and w != "i" and not w.startswith("i'"):
                proper, kind = proper + 1, "p"
            elif w in lx.CONCRETE_NOUNS:
                concrete, kind = concrete + 1, "c"
            if kind:
                detail_hits.append((off + s.start, off + s.end))
            if w in _PRESENT:
                present += 1
            elif w in _PAST or (
                w.endswith("ed") and len(w) > 4 and k and w not in lx.ADJECTIVAL_ED
            ):
                past += 1
            elif w.endswith("s") and k and ws[k - 1] in {"he", "she", "it", "who", "that"}:
                present += 1
    n_sent = len(sents)
    last = sents[-1][0].rstrip("\"'”’) ")
    return StructureProfile(
        sentences=n_sent,
        words=n_words,
        mean_sentence_length=round(n_words / n_sent, 3),
        short_sentence_share=round(short / n_sent, 4),
        exclamation_share=round(excl / n_sent, 4),
        question_share=round(quest / n_sent, 4),
        imperative_share=round(imper / n_sent, 4),
        modal_you_share=round(modal / n_sent, 4),
        first_person_rate=round(fps / n_words, 4) if n_words else 0.0,
        present_tense_rate=round(present / (present + past), 4) if present + past else 0.0,
        numbers=numbers,
        proper_nouns=proper,
        concrete_nouns=concrete,
        detail_per_sentence=round((numbers + proper + concrete) / n_sent, 4),
        last_sentence_question=last.endswith(("?", "？")),
        detail_hits=detail_hits,
    )


def structural_intensity(text: str) -> float:
    """Intensity from form alone, in [0, 1]: exclamations, short sentences, first person,
    present tense and concrete detail raise it; nominalisations and agentless passives (clinical
    register) lower it. Empty text: 0.0.
    """
    p = structure_profile(text)
    if not p.sentences:
        return 0.0
    ld = ld_features(text)
    z = (
        1.2 * p.exclamation_share
        + 0.5 * p.short_sentence_share
        + 4.0 * min(p.first_person_rate, 0.15)
        + 0.3 * p.present_tense_rate
        + 0.15 * min(p.detail_per_sentence, 3.0)
        - 3.0 * ld["nominalisation_density"]
        - 0.3 * ld["passive_share"]
    )
    return round(_clamp(1.0 - math.exp(-max(z, 0.0) / 0.8)), 4)


_FUNCTION_WORDS = frozenset(
    {"about", "after", "again", "against", "because", "before", "being", "between", "could",
     "during", "every", "their", "there", "these", "thing", "things", "those", "through",
     "under", "until", "where", "which", "while", "would", "should", "other", "really",
     "today", "still", "since", "right", "going", "yours", "myself", "yourself"}
)  # fmt: skip


def _content_stems(text: str) -> list[tuple[str, Span]]:
    """Content words (5+ letters, not function words) with a crude 5-letter stem."""
    return [
        (s.token.lower()[:5], s)
        for s in word_spans(text)
        if len(s.token) >= 5 and s.token.isalpha() and s.token.lower() not in _FUNCTION_WORDS
    ]


def content_echo(reference: str, response: str) -> tuple[float, list[Hit]]:
    """Share of the reference's distinct content stems that the response re-uses, and the
    reference spans it dropped. Naming the reference's own concrete words (rather than generic
    substitutes) is a form-level sign that affect was kept. Empty reference: (0.0, [])."""
    ref = _content_stems(reference)
    if not ref:
        return 0.0, []
    resp = {stem for stem, _ in _content_stems(response)}
    distinct = {stem for stem, _ in ref}
    dropped = [(s.start, s.end) for stem, s in ref if stem not in resp]
    return round(len(distinct & resp) / len(distinct), 4), dropped
