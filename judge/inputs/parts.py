"""Per-sentence calls: a rubric with ``calls: per_sentence`` judges each numbered sentence of each
text in its own call, and the replies are assembled into one verdict of the rubric's schema.

This is the authors' convention for the EGM paper format (one judge call per sentence, counts
summed afterwards). The verdict contract says which verdict fields hold one entry per sentence
and of which text (``sentence_fields``), and what one sentence's reply looks like
(``sentence_schema``: an object with one required field, the entry). The sentences are the same
ones the one-call prompt numbers (``judge.core.text.split_sentences``), so both forms of the
rubric count over the same units.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from judge.core.hashing import content_hash
from judge.core.mechanisms import contract
from judge.core.text import split_sentences

if TYPE_CHECKING:
    from judge.inputs.dataset import Item
    from judge.inputs.rubrics import Rubric

SIDES = ("baseline", "response")


@dataclass(frozen=True, slots=True)
class CallPart:
    """One sentence judged in its own call: the side it comes from, its 1-based number there,
    its text, and the JSON Schema the call's reply must match."""

    side: str  # "baseline" (the reference if the item has one, else the source) or "response"
    index: int
    text: str
    schema: dict[str, Any]

    @property
    def label(self) -> str:
        """``baseline[3]``: how errors and cache keys name the part."""
        return f"{self.side}[{self.index}]"


def side_text(item: Item, side: str) -> str:
    """The text of one side of an item: the response, or the baseline (reference, else source)."""
    return item.response if side == "response" else (item.reference or item.source)


def sentence_counts(item: Item) -> dict[str, int]:
    """How many numbered sentences each side shows (what per-sentence lists must match)."""
    return {side: len(split_sentences(side_text(item, side))) for side in SIDES}


def sentence_schema(rubric: Rubric) -> dict[str, Any]:
    found = contract(rubric.family, rubric.mechanism)
    if found is None or found.sentence_schema is None:
        raise ValueError(f"rubric {rubric.ref}: {rubric.family} {rubric.mechanism} verdicts have no per-sentence form")
    return found.sentence_schema


def sentence_schema_hash(rubric: Rubric) -> str:
    return content_hash(sentence_schema(rubric))


def sentence_parts(rubric: Rubric, item: Item) -> list[CallPart]:
    """Every sentence call of one item, baseline sentences first, each side in order."""
    schema = sentence_schema(rubric)
    return [
        CallPart(side, i, sentence, schema)
        for side in SIDES
        for i, sentence in enumerate(split_sentences(side_text(item, side)), 1)
    ]


def _entry_key(schema: dict[str, Any]) -> str:
    (key,) = schema["required"]
    return str(key)


def assemble(rubric: Rubric, replies: list[tuple[CallPart, dict[str, Any]]]) -> dict[str, Any]:
    """One verdict of the rubric's schema from the validated replies of every sentence call.

    Each sentence field gets the entries of its side in sentence order; a rationale, when the
    schema has one, says how the verdict was made.
    """
    found = contract(rubric.family, rubric.mechanism)
    assert found is not None and found.sentence_schema is not None  # checked when the rubric loaded
    key = _entry_key(found.sentence_schema)
    by_side: dict[str, list[tuple[int, Any]]] = {side: [] for side in SIDES}
    for part, reply in replies:
        by_side[part.side].append((part.index, reply[key]))
    verdict: dict[str, Any] = {}
    for field_name, side in found.sentence_fields.items():
        verdict[field_name] = [entry for _, entry in sorted(by_side[side], key=lambda pair: pair[0])]
    if "rationale" in rubric.schema.get("properties", {}):
        counts = {side: len(entries) for side, entries in by_side.items()}
        verdict["rationale"] = (
            f"Assembled from {sum(counts.values())} per-sentence calls "
            f"({counts['baseline']} baseline, {counts['response']} response sentences)."
        )
    return verdict
