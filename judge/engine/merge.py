"""Joining the shards of one plan into one run: ``merge_runs(shard_dirs, out)``.

``empathy-judge run --shard I/N`` judges the items of shard I (judge/inputs/sharding.py), each in a
complete, resumable run directory, on as many machines as there are shards. ``merge`` checks that
the directories are exactly shards 1..N of one plan (the same plan identity but for the shard: same
dataset, sample, rubrics and prompts, judges, repeats, cache mode), each finished, then writes one
run: the verdict logs concatenated and compacted, summary.json, disagreement.jsonl and report.html
computed over all of it, the items tables concatenated (so the merged run, like any run, needs no
dataset file to report on), and a manifest whose plan is the unsharded plan (its hash equals that of
the same plan run in one process) and whose ``shards`` lists the parts. Nothing in the shard
directories changes.
"""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path
from typing import Any

from judge import __version__
from judge.core.errors import ConfigError, RunDirError
from judge.core.records import FORMAT_VERSION, Manifest, Run, RunHealth, ShardInfo, Summary
from judge.inputs.sharding import parse_shard
from judge.store.reader import read_manifest, read_verdicts
from judge.store.rundir import VERDICTS_LOG, compact, now_iso, prepare_run_dir, write_manifest

# A shard must have finished to be merged (a degraded shard has: its judges' health is recomputed
# over all the shards' verdicts).
MERGEABLE = ("completed", "degraded", "budget_exhausted")


def _differences(a: Manifest, b: Manifest) -> list[str]:
    x, y = a.plan.to_dict(), b.plan.to_dict()
    return [name for name in x if name not in ("shard", "hash") and x[name] != y.get(name)]


def check_shards(shard_dirs: list[Path]) -> list[tuple[Path, Manifest, tuple[int, int]]]:
    """The shards, in shard order, after every check; ConfigError naming what is wrong and the fix."""
    if not shard_dirs:
        raise ConfigError("merge: name the shard run directories")
    found: list[tuple[Path, Manifest, tuple[int, int]]] = []
    for path in shard_dirs:
        manifest = read_manifest(path)
        if manifest.plan.shard is None:
            raise ConfigError(
                f"{path}: not a shard (it was not run with --shard I/N); merge joins the shards of one plan"
            )
        shard = parse_shard(manifest.plan.shard)
        if manifest.status not in MERGEABLE:
            raise ConfigError(
                f"{path}: shard {manifest.plan.shard} is '{manifest.status}', not finished; "
                f"finish it with: empathy-judge run --resume {path}"
            )
        found.append((path, manifest, shard))
    first_path, first, (_, count) = found[0]
    for path, manifest, (_, n) in found[1:]:
        if n != count:
            raise ConfigError(f"{path}: shard {manifest.plan.shard} is one of {n}, but {first_path} is one of {count}")
        differ = _differences(first, manifest)
        if differ:
            raise ConfigError(
                f"{path}: a shard of another plan than {first_path} ({', '.join(differ)} differ); "
                "merge only the shards of one plan"
            )
    seen: dict[int, Path] = {}
    for path, _, (index, _) in found:
        if index in seen:
            raise ConfigError(f"shard {index}/{count} given twice: {seen[index]} and {path}")
        seen[index] = path
    missing = [f"{i}/{count}" for i in range(1, count + 1) if i not in seen]
    if missing:
        raise ConfigError(
            f"shard{'s' if len(missing) > 1 else ''} {', '.join(missing)} missing; run "
            f"{'them' if len(missing) > 1 else 'it'} (empathy-judge run --shard I/{count} ...) and merge again"
        )
    return sorted(found, key=lambda entry: entry[2][0])


def merge_runs(shard_dirs: list[Path], out: Path, *, argv: list[str] | None = None, html: bool = True) -> Run:
    """Check the shards, write the merged run into ``out`` (which must be new), return it."""
    shards = check_shards([Path(p) for p in shard_dirs])
    prepare_run_dir(out)
    with (out / VERDICTS_LOG).open("wb") as log:
        for path, _, _ in shards:
            source = path / VERDICTS_LOG
            if source.exists():
                data = source.read_bytes()
                log.write(data[: data.rfind(b"\n") + 1])  # a crash-torn last line is dropped, as on resume
            else:  # only the compacted table is left: write its rows as a log
                log.write(read_verdicts(path).write_ndjson().encode("utf-8"))
    compact(out)
    verdicts = read_verdicts(out)
    manifest = _merged_manifest(shards, out, argv or [], verdicts)
    _merge_items(shards, out, manifest.dataset.gold_columns)  # the summary and report read it
    from judge.report.summary_files import write_summary

    summary = write_summary(out, verdicts, manifest.to_dict())
    write_manifest(out, manifest)
    if html:
        from judge.report.html import write_report

        write_report(out)
    return Run(path=out, manifest=manifest, verdicts=verdicts, summary=Summary.from_dict(summary))


def _merged_manifest(shards: list[tuple[Path, Manifest, tuple[int, int]]], out: Path, argv: list[str],
                     verdicts: Any) -> Manifest:
    from judge.stats.health import judge_health

    first = shards[0][1]
    # Each judge's health over every shard's verdicts, with the response formats the shards settled on.
    formats: dict[str, dict[str, Any]] = {}
    for _, m, _ in shards:
        for judge in m.health.judges if m.health is not None else []:
            entry = formats.setdefault(judge.judge, {"mode": judge.response_format, "rejected": []})
            entry["rejected"] += [r for r in judge.format_rejected if r not in entry["rejected"]]
    share = first.health.max_error_share if first.health is not None else (
        first.options.max_error_share if first.options is not None and first.options.max_error_share else 0.5)
    health = RunHealth.from_dict(judge_health(verdicts, share, formats))
    statuses = {m.status for _, m, _ in shards}
    status = "budget_exhausted" if "budget_exhausted" in statuses else "degraded" if health.unhealthy else "completed"
    return replace(
        first,
        format_version=FORMAT_VERSION,
        version=__version__,
        run_id=out.name,
        status=status,
        started_at=min(m.started_at for _, m, _ in shards),
        finished_at=now_iso(),
        argv=argv,
        plan=replace(first.plan, shard=None),
        options=replace(first.options, shard=None) if first.options is not None else None,
        resumed=[],
        budgets=[b for _, m, _ in shards for b in m.budgets],
        failure=None,
        health=health,
        dataset=replace(first.dataset, items=sum(m.dataset.items for _, m, _ in shards)),
        shards=[
            ShardInfo(shard=str(m.plan.shard), run_id=m.run_id, path=str(path.resolve()), status=m.status,
                      plan_hash=m.plan.hash)
            for path, m, _ in shards
        ],
    )


def _merge_items(shards: list[tuple[Path, Manifest, tuple[int, int]]], out: Path, gold: list[str]) -> None:
    """Write the merged run's items table: the shards' items tables concatenated (the shards
    partition the items, so no id repeats). A shard with verdicts but no items table (one written
    before items tables) has its items rebuilt from its dataset, which must then still be where the
    shard recorded it; shards that have their tables need no dataset at all."""
    import polars as pl

    from judge.report.data import dataset_items
    from judge.store.items import ITEMS_PARQUET, items_schema, read_items

    parts: list[Any] = []
    for path, _, _ in shards:
        items = read_items(path, gold)
        if items is None and read_verdicts(path, ["item_id"]).height:
            items, why = dataset_items(path)
            if items is None:
                raise RunDirError(f"{path}: this shard has no items table and {why}; merge where its dataset "
                                  "is at the path its manifest.json records (dataset.path), unchanged")
        if items is not None:
            parts.append(items.select(list(items_schema(gold))))
    if not parts:
        return
    table = pl.concat(parts, how="vertical")
    doubled = table.filter(pl.col("item_id").is_duplicated())["item_id"].unique().sort().to_list()
    if doubled:  # never for shards of one plan; possible for hand-copied directories
        raise RunDirError(f"item ids {doubled[:5]} are in more than one shard's items table; the shards of one "
                          "plan never share an item: check that each directory holds the shard it says")
    table.write_parquet(out / ITEMS_PARQUET)
