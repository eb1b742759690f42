"""Upgrades of older run directories, by named steps, applied in memory when a run is read.

``UPGRADES`` lists one step per format version: step ``"1->2"`` turns a version-1 manifest and
summary (as plain JSON data) into version 2. ``upgrade`` runs every step from the run's version to
``FORMAT_VERSION`` in order. Files on disk are never rewritten here: reading a run (a pinned
baseline in git, say) changes nothing; a resumed run writes its manifest in the current format.
"""

from __future__ import annotations

import contextlib
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from judge.core.hashing import content_hash
from judge.core.records import (
    FORMAT_VERSION,
    PlanIdentity,
    PlanOptions,
    RecordError,
    RubricKey,
    rubric_ref,
)


@dataclass
class RawRun:
    """A run's JSON files as read, before they become typed records."""

    path: Path
    manifest: dict[str, Any]
    summary: dict[str, Any] | None


def _argv_cache(argv: list[str]) -> tuple[str, str | None]:
    """The cache mode and folder a version-1 run was started with, from its recorded command line
    (version 1 did not record them anywhere else)."""
    mode, folder = "on", None
    for i, arg in enumerate(argv):
        if arg == "--no-cache":
            mode = "off"
        elif arg == "--replay":
            mode = "replay"
        elif arg == "--cache-dir" and i + 1 < len(argv):
            folder = argv[i + 1]
        elif arg.startswith("--cache-dir="):
            folder = arg.split("=", 1)[1]
    return mode, folder


def _v1_to_v2(raw: RawRun) -> None:
    """Version 2 adds the plan identity and keys ``options`` by the plan's keyword arguments."""
    m = raw.manifest
    mode, folder = _argv_cache([str(a) for a in m.get("argv") or []])
    if mode == "off":
        cache_dir = None
    else:
        # A relative --cache-dir was relative to the working directory of the start, which v1 did
        # not record; the present one is the best guess (and what a v1 --resume used).
        cache_dir = str(Path(folder).resolve()) if folder else str((raw.path.parent / ".cache").resolve())
    sample = m.get("sample") if isinstance(m.get("sample"), dict) else None
    old = m.get("options")
    if isinstance(old, dict):
        m["options"] = PlanOptions(
            dataset=old.get("dataset"),
            # v1 stored only judges named on the command line; the run's panel is what counts.
            judges=list(old.get("judge") or []) or [j.get("label") for j in m.get("judges") or []],
            rubrics=list(old.get("rubric") or []),
            repeats=m.get("repeats"),
            limit=m.get("limit"),
            sample=sample.get("n") if sample else None,
            seed=sample.get("seed") if sample else None,
            cache=mode,
            cache_dir=cache_dir,
            concurrency=old.get("concurrency"),
            config=old.get("config"),
            rubrics_dir=old.get("rubrics_dir"),
            prompts_dir=old.get("prompts_dir"),
            max_text_chars=old.get("max_text_chars"),
        ).to_dict()
    else:
        m.pop("options", None)  # too old to resume; reading it still works
    with contextlib.suppress(KeyError, TypeError):  # a damaged v1 manifest: the record check names the field
        m["plan"] = PlanIdentity(
            dataset=m["dataset"]["hash"],
            sample=sample.get("n") if sample else None,
            seed=sample.get("seed") if sample else None,
            limit=m.get("limit"),
            repeats=m["repeats"],
            rubrics={r["id"]: RubricKey(r["version"], r["hash"], r["prompt_hash"]) for r in m["rubrics"]},
            judges={j["label"]: j["hash"] for j in m["judges"]},
            cache=mode,
            cache_dir=cache_dir,
        ).to_dict()
    m["format_version"] = 2
    if raw.summary is not None:
        raw.summary["format_version"] = 2


def _add_versions(node: Any, versions: dict[str, int]) -> None:
    """Give every summary row that names a rubric its version (rows of every section, nested)."""
    if isinstance(node, list):
        for value in node:
            _add_versions(value, versions)
    elif isinstance(node, dict):
        rid = node.get("rubric_id")
        if isinstance(rid, str) and "rubric_version" not in node and rid in versions:
            node["rubric_version"] = versions[rid]
        for value in node.values():
            _add_versions(value, versions)


def _v2_to_v3(raw: RawRun) -> None:
    """Version 3 (this release's additions, one step) keeps rubric versions apart: ``plan.rubrics``
    is keyed by ref (``id@version``), summary rows carry ``rubric_version`` and the summary's
    ``agreement`` is keyed by ref. Before version 3 a run held one version per rubric id, so the
    manifest's rubric list says which. The options and the plan gain ``map`` (the dataset's column
    mapping; None: no run before had one). The plan's stored hash covered the version-2 fields, so
    it is checked against them before anything changes and then written afresh; a plan that fails
    the check is left as it is, for the manifest check to name the field."""
    m = raw.manifest
    if isinstance(m.get("options"), dict):
        m["options"].setdefault("map", None)
    rubrics = m["rubrics"] if isinstance(m.get("rubrics"), list) else []
    versions = {r["id"]: r["version"] for r in rubrics if isinstance(r, dict) and "id" in r and "version" in r}
    plan = m.get("plan")
    if isinstance(plan, dict) and isinstance(plan.get("rubrics"), dict):
        fields = {k: v for k, v in plan.items() if k != "hash"}
        if plan.get("hash") in (None, content_hash(fields)):
            try:
                old = PlanIdentity.from_dict(fields)  # map: None (the default)
            except RecordError:
                pass  # damaged: left as it is, for the manifest check to name the field
            else:
                old.rubrics = {rubric_ref(rid, key.version): key for rid, key in old.rubrics.items()}
                m["plan"] = old.to_dict()
    m["format_version"] = 3
    if raw.summary is not None:
        summary = raw.summary
        agreement = summary.get("agreement")
        if isinstance(agreement, dict):
            summary["agreement"] = {
                rubric_ref(rid, versions[rid]) if rid in versions else rid: row for rid, row in agreement.items()
            }
        _add_versions(summary, versions)
        summary["format_version"] = 3


def _v3_to_v4(raw: RawRun) -> None:
    """Version 4 adds the verdicts' ``response_format`` column (read as null: ADDED_COLUMNS) and
    the manifest's and summary's ``health``, absent for older runs: nothing to convert."""
    raw.manifest["format_version"] = 4
    if raw.summary is not None:
        raw.summary["format_version"] = 4


def _v4_to_v5(raw: RawRun) -> None:
    """Version 5 adds the verdicts' ``amplification`` and ``evidence_found`` columns (read as null:
    ADDED_COLUMNS, which is what they mean there: no amplification scale, no quotes checked) and
    the status ``abstained``; and (the same version) the verdicts' ``cache_read_tokens``,
    ``cache_write_tokens``, ``batch_id`` and ``deployment`` columns (null), the plan's ``shard``
    (None: left out of the plan hash, so nothing to rehash), the options' ``batch`` and ``shard``
    and the manifest's ``shards``, absent or defaulted for older runs: nothing to convert. Also the
    manifest's budget records' ``cancelled_usd`` (0 when absent: the record's default, as no older
    run cancelled a call in flight), and the summary's ``cost`` gaining ``cached_prompt_tokens`` and
    ``cached_completion_tokens`` and a ``cost_usd`` that may be null (an unpriced reply); views read
    these with defaults."""
    raw.manifest["format_version"] = 5
    if raw.summary is not None:
        raw.summary["format_version"] = 5


UPGRADES: list[tuple[str, Callable[[RawRun], None]]] = [
    ("1->2", _v1_to_v2),
    ("2->3", _v2_to_v3),
    ("3->4", _v3_to_v4),
    ("4->5", _v4_to_v5),
]


def upgrade(raw: RawRun, version: int) -> list[str]:
    """Bring ``raw`` from ``version`` to FORMAT_VERSION; returns the names of the steps applied."""
    applied = []
    for name, step in UPGRADES:
        start = int(name.split("->")[0])
        if start >= version:
            step(raw)
            applied.append(name)
    assert raw.manifest.get("format_version") == FORMAT_VERSION, "UPGRADES must reach FORMAT_VERSION"
    return applied
