"""Who acts and who feels (linguistic distancing's aspect under the disambiguation rules): people
as the ones who act and feel, the impersonal constructions that remove them, and, as the
opposite error, wording that invents or accuses actors.

Both offline judges read people the same way (pronouns, possessives, person nouns, names), and
differ in how they measure their loss: the lexicon judge by sentences that mention anyone and by
impersonal phrasings, the structure judge by grammatical subjects and the paper's features.

>>> person_sentence_share("Mistakes were made. I cried.")
0.5
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field

from judge.core.text import Hit, sentence_offsets, word_spans
from judge.offline import lexicons as lx

_POSSESSIVES = frozenset({"my", "your", "his", "her", "our", "their", "mine", "yours", "ours", "theirs"})
PERSON_WORDS = lx.PERSONAL_PRONOUNS | lx.PERSON_NOUNS | _POSSESSIVES


def _rx(pattern: str) -> re.Pattern[str]:
    return re.compile(pattern, re.IGNORECASE)


# Constructions that put no one in the place of a person (the rules' "impersonal 'such
# experiences'", "one may feel", "those affected", "it is natural to ...", "there was ...").
_IMPERSONAL = _rx(
    r"\b(?:such (?:experiences|situations|feelings|things|events|behaviou?rs?|incidents|matters|difficulties)|"
    r"one (?:may|might|can|could|should|must|would|often|sometimes)|"
    r"(?:those|persons|individuals|people|parties|staff|employees|students|learners) (?:affected|involved|concerned|impacted)|"  # noqa: E501
    r"the (?:individual|individuals|person concerned|parties|party|employee|employees|staff member|personnel|"
    r"stakeholders?|learner|student body|complainant|reporting party|involved parties|relevant parties|family member)|"
    r"(?:individuals|persons|stakeholders|personnel)\b|"
    r"it (?:is|can be|may be|might be|could be|was)(?: often| quite| very)? (?:natural|normal|common|understandable|"
    r"important|difficult|hard|challenging|possible|necessary|recommended|advisable|noted|reported|understood|"
    r"acknowledged|recognised|recognized|felt|believed|said) (?:to|for|when|that)|"
    r"there (?:is|are|was|were|has been|have been|may be|can be|will be)|"
    r"(?:this|that|the situation|the experience|the incident|the matter|the event|the process|the decision|"
    r"these (?:events|experiences|feelings)) (?:can|may|might|could|has|have|caused|led|resulted|leads|causes|"
    r"creates|created|involves|involved|required|requires))\b"
)
# Invented intentions and accusing wording (LD amplification under the rules).
_INTENT = _rx(
    r"\b(?:on purpose|deliberately|intentionally|knowingly|purposely|maliciously|wilfully|willfully|"
    r"(?:wanted|meant|tried|trying|wants|means|tries) to (?:hurt|humiliate|undermine|sabotage|destroy|control|"
    r"break|punish|crush|hurt you|get rid|push you|make you|isolate)|out to get|did (?:this|it|that) to you|"
    r"knew (?:exactly|full well|perfectly well)|(?:his|her|their) (?:plan|agenda|game|motive|scheme)|"
    r"(?:enjoys?|enjoyed|loves?|loved) (?:hurting|humiliating|watching you|seeing you)|get away with)\b"
)
_ACCUSING = _rx(
    r"\b(?:(?:you|they|he|she)(?: all)? (?:always|never|constantly|keep|kept) |"
    r"(?:it's|it is|it was|that's|that is) (?:all )?(?:your|their|his|her) (?:fault|doing)|"
    r"blame (?:him|her|them|you|yourself)|because of (?:him|her|them|you)\b|"
    r"(?:he|she|they) (?:is|are|was|were) (?:the one|responsible|behind))"
)
# The responder talking about themself rather than the person (self-disclosure).
_SELF = _rx(
    r"\b(?:i (?:remember|once|had|went|used to|myself|also|too|know exactly|know how|have been|was|felt|lost|experienced)|"  # noqa: E501
    r"when i was|in my (?:experience|life|case|own)|my own|for me,|same thing happened to me)\b"
)


def _lows(sentence: str) -> list[str]:
    return [s.token.lower().replace("’", "'") for s in word_spans(sentence)]


def mentions_person(sentence: str) -> bool:
    """Whether a sentence names or refers to anyone: a pronoun, possessive, person noun or a
    capitalised word inside the sentence (a name)."""
    spans = word_spans(sentence)
    for k, s in enumerate(spans):
        low = s.token.lower().replace("’", "'")
        if low in PERSON_WORDS or (low.split("'")[0] in PERSON_WORDS):
            return True
        if k and s.token[:1].isupper() and low not in lx.TIME_WORDS:
            return True
    return False


def person_sentence_share(text: str) -> float:
    """Share of sentences that mention anyone. Empty text: 0.0."""
    sents = sentence_offsets(text)
    if not sents:
        return 0.0
    return round(sum(mentions_person(s) for s, _ in sents) / len(sents), 4)


def pronoun_rate(text: str) -> float:
    """Personal pronouns and possessives per word. Empty text: 0.0."""
    ws = [w for s, _ in sentence_offsets(text) for w in _lows(s)]
    if not ws:
        return 0.0
    return round(sum(w in lx.PERSONAL_PRONOUNS or w in _POSSESSIVES for w in ws) / len(ws), 4)


def impersonal_hits(text: str) -> list[Hit]:
    return [(m.start(), m.end()) for m in _IMPERSONAL.finditer(text.replace("’", "'"))]


@dataclass(frozen=True)
class Accusation:
    """Wording that invents intentions or accuses, and the responder's self-disclosure."""

    intent: int = 0
    accusing: int = 0
    self_focus: int = 0
    hits: list[Hit] = field(default_factory=list)

    @property
    def total(self) -> int:
        return self.intent + self.accusing + self.self_focus


def accusation(text: str) -> Accusation:
    plain = text.replace("’", "'")
    intent = [(m.start(), m.end()) for m in _INTENT.finditer(plain)]
    accusing = [(m.start(), m.end()) for m in _ACCUSING.finditer(plain)]
    self_focus = [(m.start(), m.end()) for m in _SELF.finditer(plain)]
    return Accusation(len(intent), len(accusing), len(self_focus), intent + accusing + self_focus)


def new_actors(baseline: str, response: str) -> list[Hit]:
    """Person nouns and names the response uses that the baseline never mentions."""
    have = {s.token.lower() for s in word_spans(baseline)}
    out: list[Hit] = []
    for sent, off in sentence_offsets(response):
        for k, s in enumerate(word_spans(sent)):
            low = s.token.lower()
            named = k and s.token[:1].isupper() and low not in lx.TIME_WORDS and low != "i"
            if (low in lx.PERSON_NOUNS or named) and low not in have:
                out.append((off + s.start, off + s.end))
    return out
