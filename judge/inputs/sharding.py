"""Shards: one plan split over several machines by item (``run --shard I/N``).

An item belongs to shard ``1 + (h mod N)``, where ``h`` is the first 8 bytes of the sha256 of its
id. Every repeat, rubric and judge of an item therefore lands in the same shard; the split depends
only on the ids, not on row order, concurrency or which machine runs what; and the shards of one N
partition the plan's items (after ``--sample`` and ``--limit``, which choose the plan's items
first). Shards are numbered from 1, as Playwright's and Jest's ``--shard`` are.

``shard_dataset`` gives the plan's dataset as one shard sees it: same file and hash, only the
shard's items, ``count`` the shard's size; ``base`` is the dataset it was cut from (a sample's
facts, for the manifest, are read there).
"""

from __future__ import annotations

import dataclasses
import hashlib
import re
from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass

from judge.core.errors import ConfigError
from judge.inputs.dataset import Dataset, Item

_SHARD = re.compile(r"^\s*(\d+)\s*/\s*(\d+)\s*$")


def parse_shard(value: str) -> tuple[int, int]:
    """``"2/4"`` -> (2, 4); ConfigError for anything but I/N with 1 <= I <= N."""
    match = _SHARD.match(value) if isinstance(value, str) else None
    if match is None:
        raise ConfigError(f"--shard: '{value}' must be I/N, e.g. 1/4 for the first of four shards")
    index, count = int(match.group(1)), int(match.group(2))
    if count < 1 or not 1 <= index <= count:
        raise ConfigError(f"--shard: '{value}': I must be between 1 and N (shards are numbered from 1)")
    return index, count


def shard_of(item_id: str, count: int) -> int:
    """The shard (1..count) that judges ``item_id``."""
    digest = hashlib.sha256(item_id.encode("utf-8")).digest()
    return 1 + int.from_bytes(digest[:8], "big") % count


def in_shard(item_id: str, shard: tuple[int, int] | None) -> bool:
    return shard is None or shard_of(item_id, shard[1]) == shard[0]


def shard_label(shard: tuple[int, int] | None) -> str | None:
    return None if shard is None else f"{shard[0]}/{shard[1]}"


@dataclass
class ShardedDataset(Dataset):
    """One shard of a dataset (see ``shard_dataset``)."""

    base: Dataset | None = dataclasses.field(default=None, repr=False)
    shard: tuple[int, int] = (1, 1)

    def items(self) -> Iterator[Item]:
        if self.kept is not None:
            return iter(self.kept)
        return self.stream()

    def stream(self) -> Iterator[Item]:
        assert self.base is not None
        return (item for item in self.base.items() if in_shard(item.id, self.shard))


def shard_dataset(dataset: Dataset, shard: tuple[int, int]) -> ShardedDataset:
    """``dataset`` cut to the items of ``shard``; read once more to count them (kept in memory when
    the dataset keeps its items)."""
    chosen = [item for item in dataset.items() if in_shard(item.id, shard)]
    fields = {f.name: getattr(dataset, f.name) for f in dataclasses.fields(Dataset)}
    fields.update(
        count=len(chosen),
        tasks=Counter(item.task for item in chosen),
        models=Counter(item.model for item in chosen),
        kept=chosen if dataset.kept is not None else None,
    )
    return ShardedDataset(**fields, base=dataset, shard=shard)
