"""What a reply does with the tension (conflict avoidance's aspect under the disambiguation rules):
explore it (open questions, reflections, invitations to say more) or close it (advice, directives,
suggestions dressed as questions, reassurance, verdicts and moral lessons), and, as the opposite
error, push the person into conflict (confrontation, ultimatums, accusing questions, moralising).

Each sentence is classified by its grammatical form first (a question, an imperative, a modal
directive "you should/could/need to", "it is important/helpful to ...", a future promise "it
will get better", "you are not alone") and by short move patterns second, so a synonym swap in
the content words ("speak with HR" for "talk to HR") does not change the move.

>>> [m.kind for m in classify_text("What happened next? You should talk to HR.")]
['open', 'directive']
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field

from judge.core.text import Hit, sentence_offsets
from judge.offline import lexicons as lx

_PREAMBLE = r"^(?:(?:so|and|but|also|then|first|firstly|finally|now|well|honestly|maybe|perhaps|lastly|next|secondly|please|just|and then)\b[,\s]*)*"  # noqa: E501


def _rx(pattern: str) -> re.Pattern[str]:
    return re.compile(pattern, re.IGNORECASE)


# Questions that hand over a solution ("have you tried ...?") or only offer ("would that help?").
_SUGGESTING_Q = _rx(
    _PREAMBLE + r"(?:have you (?:tried|considered|thought about|looked into|asked|talked|spoken)|"
    r"(?:would|could|might) it (?:help|be (?:worth|helpful|useful|good|an idea))|"
    r"what if you|why not|how about|(?:can|could) you (?:try|just|maybe|simply)|"
    r"is it possible (?:to|for you to)|did you try|wouldn't it be|isn't it (?:better|time))\b"
)
_OFFER_Q = _rx(
    r"\b(?:would (?:that|this|it) help|does (?:that|this) (?:make sense|help|sound)|"
    r"would you like (?:me|some)|shall i|want me to|is there anything (?:else )?i can)\b"
)
_ACCUSING_Q = _rx(
    _PREAMBLE + r"(?:why (?:did|didn't|would|wouldn't|do|don't|haven't|hadn't|were|weren't|are|aren't) you|"
    r"what were you (?:thinking|expecting)|how could you|did you (?:even|really|not)|"
    r"don't you (?:think|see|realise|realize|know)|(?:aren't|weren't) you|isn't it (?:obvious|clear)|"
    r"what did you expect|who (?:do|did) you think)\b"
)
_OPEN_Q = _rx(
    _PREAMBLE + r"(?:what|how|when|where|who|whom|whose|which|why|in what way|tell me|"
    r"(?:can|could|would|will) you (?:say|tell|describe|share|talk|walk me|help me understand|"
    r"put into words|remember|recall)|i wonder|i'm wondering|i am wondering)\b"
)
# Statements that explore: reflections and invitations to say more.
_REFLECTION = _rx(
    r"\b(?:(?:it )?sounds (?:like|as if|as though|so|really|incredibly|very)|it (?:seems|feels) (?:like|as if|as though|that)|"  # noqa: E501
    r"i (?:can )?hear|i(?:'m| am) hearing|i wonder|i(?:'m| am) wondering|i(?:'m| am) curious|"
    r"i can (?:only )?imagine|i imagine|no wonder|it makes sense that|it's understandable that you|"
    r"you (?:seem|sound)|what i'm hearing|if i understand)\b"
)
_INVITATION = _rx(
    r"\b(?:tell me (?:more|about|what|how)|help me understand|i(?:'d| would) (?:like|love) to (?:hear|understand|know)|"
    r"i want to understand|(?:say|share) (?:more|a bit more|whatever)|take your time|if you(?:'d| would)? like to (?:talk|say|share))\b"  # noqa: E501
)
# Directives: modal advice, evaluative "it is helpful to", recommendation verbs, next steps.
_DIRECTIVE = _rx(
    r"\b(?:(?:you|we|one)(?:'d| would)? (?:should|could|might|must|need to|have to|ought to|better|had better|"
    r"may want to|might want to|can (?:try|always|start|ask|talk|speak|write)|will (?:want|need) to|would do well to)|"
    r"(?:i|i'd|i would|we|we'd) (?:strongly )?(?:suggest|recommend|encourage|advise|urge)|"
    r"it (?:is|'s|would be|might be|may be|could be|can be|will be) (?:very |really |also |always )?"
    r"(?:important|helpful|essential|crucial|vital|wise|worth|a good idea|best|useful|good|key|beneficial|"
    r"advisable|necessary|worthwhile|smart|healthy|okay to ask|ok to ask) (?:to|for you to)|"
    r"the (?:best|next|first|key|most important|right) (?:step|thing|move|approach|option)|"
    r"(?:one|another|a good|the) (?:option|strategy|approach|step) (?:is|would be|could be|might be)|"
    r"make sure|try (?:to|and)|my advice|a good idea|consider (?:\w+ing|talking|speaking|asking|seeing|writing))\b"
)
# Closure: reassurance, silver linings, normalising, tidy endings.
_CLOSURE = _rx(
    r"\b(?:(?:everything|things|it|this|you|that|all)(?:'ll| will| is going to| are going to|'re going to|'s going to) "
    r"(?:be (?:ok|okay|fine|alright|all right|better|over|great|sorted)|get (?:better|easier|through)|work out|"
    r"turn out|pass|feel better|come right|improve|heal|be proud)|"
    r"you(?:'re| are) (?:not alone|strong|stronger|capable|brave|doing (?:great|well|your best|fine|the right)|not the only|"  # noqa: E501
    r"going to (?:be|get|make)|more than|resilient|worth|enough)|"
    r"(?:don't|do not|try not to) (?:worry|be too hard|beat yourself|stress|blame yourself|dwell)|no need to (?:worry|feel|be)|"  # noqa: E501
    r"it(?:'s| is) (?:ok|okay|alright|all right|normal|natural|common|completely normal|perfectly normal|only human) (?:to|that|if)|"  # noqa: E501
    r"(?:everyone|everybody|we all|lots of people|many people|most people) (?:goes through|feels|struggles|has|makes|experiences|gets)|"  # noqa: E501
    r"bright side|silver lining|for a reason|at least|could (?:have been|be) worse|in time|time heals|"
    r"you've got this|you can do (?:it|this)|stay (?:strong|positive)|good luck|best of luck|wishing you|i(?:'m| am) sure|"  # noqa: E501
    r"i(?:'m| am) confident|believe in you|proud of you|hang in there|keep going|keep your chin|this too shall|"
    r"brighter days|better days|in the end|at the end of the day|move on|moving forward|fresh start|new chapter|"
    r"learning (?:experience|opportunity)|opportunity to grow|blessing in disguise|hope (?:this|that) helps|"
    r"(?:all|everything) (?:will|would) be|remember that you|look forward|you deserve (?:to be happy|better|peace))\b"
)
# Verdicts and moral lessons: closing the question of who is right.
_VERDICT = _rx(
    r"\b(?:(?:we|everyone|everybody|people|nobody|no one|society|one) (?:should|must|ought to|needs to|has to)|"
    r"it(?:'s| is) (?:never|always|simply|just|clearly) (?:ok|okay|acceptable|right|wrong|fine)|"
    r"(?:is|are|was|were)(?: simply| clearly| completely)? (?:never|not) (?:ok|okay|acceptable|excusable)|unacceptable|inexcusable|"  # noqa: E501
    r"no excuse|a lesson|lessons? (?:here|to learn|learned)|a reminder that|reminds us|the right thing|"
    r"(?:it's|it is|that's|that is) (?:his|her|their|your|my) fault|you did (?:nothing wrong|the right thing|everything right)|"  # noqa: E501
    r"(?:he|she|they|your \w+)(?:'s| is| are|'re| was| were) (?:clearly |obviously |simply )?"
    r"(?:toxic|abusive|a bully|manipulative|selfish|the problem|in the wrong|wrong|out of line|a narcissist|to blame)|"
    r"you(?:'re| are| were) (?:right|in the right|the victim|completely justified|justified)|"
    r"(?:shame on|how dare))\b"
)
# Pushing into conflict: confrontational steps, ultimatums and urgency.
_CONFRONT = _rx(
    r"\b(?:confront|quit|resign|leave (?:him|her|them|the job|your job|that job|right now|immediately)|"
    r"cut (?:him|her|them|ties|contact)(?: off)?|report (?:him|her|them|it) (?:to|now|immediately)|stand up to|"
    r"call (?:him|her|them) out|tell (?:him|her|them) (?:off|exactly|straight|that you|where)|demand|walk out|"
    r"divorce|sue|block (?:him|her|them)|fight back|go (?:straight )?to (?:the police|a lawyer|the press|hr now)|"
    r"file a (?:formal )?(?:complaint|grievance|report)|escalate|ultimatum|don't let (?:him|her|them) get away|"
    r"right now|tonight|immediately|right away|at once|before it's too late|no more excuses)\b"
)
_MODAL_YOU = _rx(r"\byou (?:must|have to|need to|should have|shouldn't have|had better|'d better)\b")
_WORD = re.compile(r"[a-z']+")


@dataclass(frozen=True)
class Move:
    kind: str  # open, question, suggestion, offer, accusing, reflection, invitation, directive, closure, verdict, none
    confront: bool
    start: int
    end: int


def _first_word(sentence: str) -> str:
    low = re.sub(_PREAMBLE, "", sentence.lower().replace("’", "'").lstrip("\"'“‘*-• "))
    words = _WORD.findall(low)
    return words[0] if words else ""


def classify(sentence: str) -> tuple[str, bool]:
    """(kind, confrontational) of one sentence; see the module doc for the kinds."""
    text = sentence.replace("’", "'")
    is_q = sentence.rstrip("\"'”’) *").endswith(("?", "？"))
    first = _first_word(text)
    imperative = not is_q and (first in lx.IMPERATIVE_VERBS or first in {"don't", "never", "let's"})
    confront = bool(_CONFRONT.search(text)) and (
        imperative or bool(_DIRECTIVE.search(text)) or bool(_MODAL_YOU.search(text))
    )
    if is_q:
        if _ACCUSING_Q.search(text):
            return "accusing", True
        if _SUGGESTING_Q.search(text):
            return "suggestion", confront
        if _OFFER_Q.search(text):
            return "offer", False
        return ("open" if _OPEN_Q.search(text) else "question"), False
    if _VERDICT.search(text):
        return "verdict", confront
    if _INVITATION.search(text):
        return "invitation", False
    if _CLOSURE.search(text):
        return "closure", confront
    if imperative or _DIRECTIVE.search(text) or _MODAL_YOU.search(text):
        return "directive", confront
    if _REFLECTION.search(text):
        return "reflection", False
    return "none", False


def classify_text(text: str) -> list[Move]:
    out = []
    for sent, off in sentence_offsets(text):
        kind, confront = classify(sent)
        out.append(Move(kind, confront, off, off + len(sent)))
    return out


EXPLORING = {"open": 1.5, "question": 1.0, "invitation": 1.0, "reflection": 0.5}
CLOSING = frozenset({"directive", "suggestion", "closure", "verdict"})


@dataclass(frozen=True)
class Moves:
    """A reply's moves, summed: exploring weight, closing count, pushing count."""

    sentences: int = 0
    explore: float = 0.0
    close: int = 0
    push: int = 0
    questions: int = 0
    open_questions: int = 0
    ends_exploring: bool = False
    closes_first: bool = False
    counts: dict[str, int] = field(default_factory=dict)
    close_hits: list[Hit] = field(default_factory=list)
    explore_hits: list[Hit] = field(default_factory=list)
    push_hits: list[Hit] = field(default_factory=list)


def moves(text: str) -> Moves:
    """Every sentence's move, summed. Pushing counts confrontational sentences, verdicts and
    accusing questions, plus every question past the third in a row (a string of questions
    reads as interrogation)."""
    found = classify_text(text)
    counts: dict[str, int] = {}
    explore = 0.0
    close = push = run = 0
    first_kind = next((m.kind for m in found if m.kind in CLOSING or m.kind in EXPLORING), None)
    close_hits: list[Hit] = []
    explore_hits: list[Hit] = []
    push_hits: list[Hit] = []
    for m in found:
        counts[m.kind] = counts.get(m.kind, 0) + 1
        span = (m.start, m.end)
        run = run + 1 if m.kind in {"open", "question", "accusing", "suggestion"} else 0
        pushing = m.confront or m.kind in {"verdict", "accusing"} or run > 3
        if pushing:
            push += 1
            push_hits.append(span)
        if m.kind in CLOSING:
            close += 1
            close_hits.append(span)
        elif m.kind in EXPLORING:
            explore += EXPLORING[m.kind]
            explore_hits.append(span)
    last = next((m.kind for m in reversed(found) if m.kind != "none"), None)
    return Moves(
        sentences=len(found), explore=explore, close=close, push=push,
        questions=sum(counts.get(k, 0) for k in ("open", "question", "accusing", "suggestion", "offer")),
        open_questions=counts.get("open", 0), ends_exploring=last in EXPLORING,
        closes_first=first_kind in CLOSING, counts=counts,
        close_hits=close_hits, explore_hits=explore_hits, push_hits=push_hits,
    )  # fmt: skip
