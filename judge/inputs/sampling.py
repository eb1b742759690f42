"""A reproducible sample of a dataset, stratified by task x model (``run --sample N --seed S``).

Allocation: N is split over the task x model strata in proportion to their sizes (largest
remainder, ties broken by stratum name), with every stratum getting at least one item when N is
at least the number of strata, so a nightly sample never silently drops a task or model.
Selection inside a stratum: items ranked by sha256(seed | id), the first k kept. Ranking by a hash
of the id, not by file position, keeps the sample the same when rows are reordered, and mostly the
same when rows are added, so nightly runs stay comparable.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterator
from dataclasses import dataclass
from itertools import islice

from judge.core.errors import ConfigError
from judge.inputs.dataset import Dataset, Item, keep_items


def _rank(seed: int, item_id: str) -> str:
    return hashlib.sha256(f"{seed}|{item_id}".encode()).hexdigest()


def allocate(sizes: dict[tuple[str, str], int], n: int) -> dict[tuple[str, str], int]:
    """How many items each stratum contributes to a sample of ``n`` (sum == min(n, total))."""
    total = sum(sizes.values())
    if n >= total:
        return dict(sizes)
    strata = sorted(sizes)
    alloc = dict.fromkeys(strata, 0)
    if n >= len(strata):
        for s in strata:
            alloc[s] = 1
    left = n - sum(alloc.values())
    if left > 0:
        spare = {s: sizes[s] - alloc[s] for s in strata}
        spare_total = sum(spare.values())
        quotas = {s: left * spare[s] / spare_total for s in strata}
        for s in strata:
            alloc[s] += int(quotas[s])
        rest = n - sum(alloc.values())
        by_remainder = sorted(strata, key=lambda s: (-(quotas[s] - int(quotas[s])), s))
        for s in by_remainder:
            if rest <= 0:
                break
            if alloc[s] < sizes[s]:
                alloc[s] += 1
                rest -= 1
    elif n < len(strata):
        # Fewer slots than strata: the biggest strata (then by name) get one each.
        for s in sorted(strata, key=lambda s: (-sizes[s], s))[:n]:
            alloc[s] = 1
    return alloc


def sample_ids(items: Iterator[Item], n: int, seed: int) -> frozenset[str]:
    strata: dict[tuple[str, str], list[tuple[str, str]]] = {}
    for item in items:
        strata.setdefault((item.task, item.model), []).append((_rank(seed, item.id), item.id))
    alloc = allocate({s: len(v) for s, v in strata.items()}, n)
    keep: set[str] = set()
    for s, members in strata.items():
        members.sort()
        keep.update(item_id for _, item_id in members[: alloc[s]])
    return frozenset(keep)


@dataclass
class SampledDataset(Dataset):
    """A dataset seen through a sample: same file and hash, only the kept ids are yielded (the
    first ``limit`` of them with a limit). ``count`` is the sample's size."""

    keep: frozenset[str] = frozenset()
    sample_n: int = 0
    seed: int = 0

    def stream(self) -> Iterator[Item]:
        sampled = (item for item in self.parse(None) if item.id in self.keep)
        return sampled if self.limit is None else islice(sampled, self.limit)


def sample_dataset(dataset: Dataset, n: int, seed: int, *, limit: int | None = None) -> SampledDataset:
    """Sample ``n`` items of ``dataset`` (read whole: a sample needs every id); ``limit`` then
    keeps the first ``limit`` of the sample in file order. Kept items stay kept: no file is read."""
    if n < 1:
        raise ConfigError(f"--sample: {n} must be a positive integer")
    if dataset.limit is not None:
        raise ValueError("sample the whole dataset: give the limit to sample_dataset")
    keep = sample_ids(dataset.items(), n, seed)
    # The sample's items, kept for the run: from memory, or one more read of a file too big to keep.
    chosen = (item for item in dataset.items() if item.id in keep)
    kept = keep_items(chosen if limit is None else islice(chosen, limit))
    return SampledDataset(
        path=dataset.path,
        format=dataset.format,
        hash=dataset.hash,
        count=len(keep),
        tasks=dataset.tasks,
        models=dataset.models,
        gold_columns=dataset.gold_columns,
        max_chars=dataset.max_chars,
        data=dataset.data,
        limit=limit,
        first=dataset.first,
        kept=kept,
        mapping=dataset.mapping,
        keep=keep,
        sample_n=n,
        seed=seed,
    )


def sample_info(dataset: Dataset) -> dict[str, int] | None:
    """The manifest's ``sample`` entry: None for a whole dataset."""
    base = getattr(dataset, "base", None)  # a shard of a sample (judge/inputs/sharding.py)
    if base is not None:
        dataset = base
    if not isinstance(dataset, SampledDataset):
        return None
    return {"n": dataset.sample_n, "seed": dataset.seed, "items": dataset.count}
