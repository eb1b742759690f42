"""One annotator's labelling session: the items in a seeded random order, what is done, and each
label made durable before it is confirmed.

The order is a shuffle of the dataset's ids seeded by ``seed`` and the annotator's name, so it is
the same every time that annotator comes back (and a different one for each annotator: no two
people see the items in the same order, which keeps order effects out of their agreement). What is
done is read back from the labels file: an item with any record of this annotator and mechanism
(a label, or "cannot judge") is done, so a session resumes at the first item in the order that is
not. Items are handed to the page by their position in the order, never by id, and only with the
texts a judge would see (task, dimension, source, reference, response): neither the id, nor the
model that wrote the reply, nor any metadata column reaches the annotator.
"""

from __future__ import annotations

import hashlib
import random
import threading
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from judge.core.errors import InputError
from judge.inputs.dataset import Dataset, Item
from judge.inputs.labels import append_label, latest, read_labels
from judge.inputs.rubrics import Rubric

ORIGIN = "empathy-judge annotate"


def check_rubric(rubric: Rubric) -> None:
    """Gold labels are on the graded 0-4 scale: annotate with a rubric that has those levels."""
    levels = (rubric.scale or {}).get("levels") or {}
    if sorted(int(k) for k in levels) != [0, 1, 2, 3, 4]:
        raise InputError(
            f"--rubric {rubric.ref}: a {rubric.family} rubric with a {rubric.scale.get('type', 'other')} scale; gold "
            f"labels are severities on the graded 0-4 scale, so annotate with the graded rubric of "
            f"{rubric.mechanism} (e.g. --rubric {rubric.id.split('-')[0]}-graded)"
        )


def order_ids(ids: list[str], seed: int, annotator: str) -> list[str]:
    """The seeded random order of ``ids`` for one annotator (independent of the file's order)."""
    digest = hashlib.sha256(f"{seed}|{annotator}".encode()).digest()
    shuffled = sorted(ids)
    random.Random(int.from_bytes(digest[:8], "big")).shuffle(shuffled)
    return shuffled


@dataclass
class Session:
    dataset: Dataset
    rubric: Rubric
    annotator: str
    labels_path: Path
    seed: int = 0
    order: list[str] = field(default_factory=list)
    items: dict[str, Item] = field(default_factory=dict)
    given: dict[str, dict[str, Any]] = field(default_factory=dict)  # item id -> its latest record here
    lock: threading.Lock = field(default_factory=threading.Lock)

    def __post_init__(self) -> None:
        check_rubric(self.rubric)
        self.items = {item.id: item for item in self.dataset.items()}
        self.order = order_ids(list(self.items), self.seed, self.annotator)
        if self.labels_path.exists():
            mine = [
                label for label in read_labels(self.labels_path)
                if label.annotator == self.annotator and label.mechanism == self.rubric.mechanism
                and label.item_id in self.items
            ]  # fmt: skip
            for label in latest(mine).values():
                self.given[label.item_id] = {"label": label.label, "note": label.note,
                                             "amplification": label.amplification}  # fmt: skip

    @property
    def done(self) -> int:
        return len(self.given)

    def resume_at(self) -> int:
        """The first position in the order not yet done (the end when all are)."""
        for position, item_id in enumerate(self.order):
            if item_id not in self.given:
                return position
        return len(self.order)

    def state(self) -> dict[str, Any]:
        return {"total": len(self.order), "done": self.done, "resume": self.resume_at()}

    @property
    def two_sided(self) -> bool:
        """Whether the rubric also scores the opposite error (graded v3's amplification)."""
        return bool(self.rubric.amplification)

    def item(self, position: int) -> dict[str, Any]:
        """What the page shows of the item at ``position``: the texts a judge sees, blind."""
        if not 0 <= position < len(self.order):
            raise IndexError(position)
        item = self.items[self.order[position]]
        given = self.given.get(item.id)
        return {
            "position": position, "total": len(self.order), "task": item.task, "dimension": item.dimension,
            "source": item.source, "reference": item.reference, "response": item.response,
            "label": given["label"] if given else None, "labelled": given is not None,
            "note": given["note"] if given else None, "amplification": given.get("amplification") if given else None,
        }  # fmt: skip

    def record(self, position: int, label: int | None, note: str | None, seconds: float | None,
               amplification: int | None = None) -> dict[str, Any]:  # fmt: skip
        """Append the label durably, then count it as given; returns the session's state.
        ``amplification``: the opposite error's level, for a two-sided rubric (required there with a
        label; refused for a one-sided one)."""
        if not 0 <= position < len(self.order):
            raise IndexError(position)
        for value, name in ((label, "label"), (amplification, "amplification")):
            if value is not None and (isinstance(value, bool) or not isinstance(value, int) or not 0 <= value <= 4):
                raise ValueError(f"{name} must be 0-4 or null")
        if self.two_sided and label is not None and amplification is None:
            raise ValueError("this rubric is two-sided: give the amplification level with the label")
        if not self.two_sided and amplification is not None:
            raise ValueError("this rubric has no amplification scale")
        item_id = self.order[position]
        record = {
            "item_id": item_id, "mechanism": self.rubric.mechanism, "annotator": self.annotator, "label": label,
            "note": note or None, "rubric": self.rubric.ref, "origin": ORIGIN, "dataset": self.dataset.hash,
            "at": datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%S.%f")[:-3] + "Z",
            "seconds": round(seconds, 1) if isinstance(seconds, int | float) else None,
        }  # fmt: skip
        if self.two_sided:
            record["amplification"] = None if label is None else amplification
        with self.lock:
            append_label(self.labels_path, record)  # durable before it is confirmed
            self.given[item_id] = {"label": label, "note": note or None, "amplification": record.get("amplification")}
            return self.state()

    def rubric_view(self) -> dict[str, Any]:
        """The rubric as the page shows it: title, definition, instructions and level descriptors."""
        levels = (self.rubric.scale or {}).get("levels") or {}
        amplification = self.rubric.amplification or {}
        return {
            "amplification": [[int(k), str(v)] for k, v in sorted((amplification.get("levels") or {}).items(),
                                                                   key=lambda kv: int(kv[0]))],
            "amplification_definition": amplification.get("definition") or "",
            "ref": self.rubric.ref, "title": self.rubric.title, "mechanism": self.rubric.mechanism,
            "definition": self.rubric.definition, "instructions": self.rubric.instructions,
            "levels": [[int(k), str(v)] for k, v in sorted(levels.items(), key=lambda kv: int(kv[0]))],
        }  # fmt: skip
