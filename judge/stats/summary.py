"""summary.json: the run's verdicts aggregated late, in polars, plus the disagreement work list.

Stable top-level keys (CI jobs read them; the README documents each):
    format_version, run_id, status, settings, counts, cost_usd,
    cost              spend and tokens per judge, per rubric and per judge x rubric (judge/cost.py)
    scores            panel severity per rubric x dimension, all models pooled, with CIs
    scores_by_model   the same per model under test
    agreement         per rubric: Krippendorff's alpha with CI, percent agreement, Fleiss, AC1
    calibration       judges, panel and annotator pairs against gold labels (when gold exists)
    judges            per rubric x judge diagnostics: invalid rate, leave-one-out agreement,
                      test-retest, error correlation and effective number of judges
    disagreement      the most disputed items per rubric (ids and spread; texts in
                      disagreement.jsonl in the run directory)
    judge_cards       one card per judge: validity, latency, cost per verdict, agreement with
                      the panel, length bias with CI, consistency across repeats (judge/cards.py)
    paper_metrics     the authors' own metrics (SA and EGM compression, CA percent, LD z-scored
                      distance) from paper-family verdicts, per model and judge, with CIs
                      (judge/paper_metrics.py)
"""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

import polars as pl

from judge.core.taxonomy import VERDICT_STATUSES
from judge.inputs.dataset import Dataset
from judge.judging.pricing import cost_breakdown
from judge.store.rundir import FORMAT_VERSION, atomic_write_text

DISAGREEMENT_FILE = "disagreement.jsonl"


@dataclass(frozen=True)
class SummarySettings:
    aggregate: str = "mean"  # panel aggregation over judges, per item
    quorum: int = 1  # minimum valid judges for an item to be scored
    n_boot: int = 1000
    seed: int = 0
    ci: float = 0.95
    top_disputed: int = 20


def _records(frame: pl.DataFrame) -> list[dict[str, Any]]:
    return frame.to_dicts()


@dataclass
class ItemFacts:
    """What the summary needs from the dataset, gathered in one streaming pass."""

    gold: pl.DataFrame | None  # id + gold_* columns, when the dataset has gold labels
    lengths: pl.DataFrame | None  # item_id, length (words of the response), for length bias
    texts: pl.DataFrame | None  # id, source, response of the disputed items


def item_facts(dataset: Dataset | None, text_ids: set[str]) -> ItemFacts:
    if dataset is None:
        return ItemFacts(None, None, None)
    gold_rows: list[dict[str, Any]] = []
    ids: list[str] = []
    lengths: list[int] = []
    texts: list[dict[str, str]] = []
    for item in dataset.items():
        ids.append(item.id)
        lengths.append(len(item.response.split()))
        if dataset.gold_columns:
            gold_rows.append({"id": item.id, **item.gold})
        if item.id in text_ids:
            texts.append({"id": item.id, "source": item.source, "response": item.response})
    gold_schema = {"id": pl.String, **dict.fromkeys(dataset.gold_columns, pl.Int64)}
    return ItemFacts(
        gold=pl.DataFrame(gold_rows, schema=gold_schema) if dataset.gold_columns else None,
        lengths=pl.DataFrame({"item_id": ids, "length": lengths}, schema={"item_id": pl.String, "length": pl.Int64}),
        texts=pl.DataFrame(texts, schema={"id": pl.String, "source": pl.String, "response": pl.String})
        if texts
        else None,
    )


def counts(verdicts: pl.DataFrame) -> dict[str, int]:
    out = dict.fromkeys(VERDICT_STATUSES, 0)
    for status, n in verdicts.group_by("status").len().iter_rows():
        out[status] = n
    out["total"] = verdicts.height
    return out


def summarise(
    verdicts: pl.DataFrame,
    manifest: dict[str, Any],
    *,
    dataset: Dataset | None = None,
    settings: SummarySettings | None = None,
    run_dir: Path | None = None,
) -> dict[str, Any]:
    """Aggregate a run's verdicts. With ``run_dir``, also writes disagreement.jsonl there."""
    from judge.stats.cards import judge_cards
    from judge.stats.diagnostics import calibration, disagreement, judge_diagnostics
    from judge.stats.scores import panel_scores, rubric_agreement

    s = settings or SummarySettings()
    boot: dict[str, Any] = {"n_boot": s.n_boot, "seed": s.seed, "ci": s.ci}
    panel: dict[str, Any] = {"aggregate": s.aggregate, "quorum": s.quorum, **boot}
    cost = verdicts["cost_usd"].sum() if verdicts.height else 0.0
    summary: dict[str, Any] = {
        "format_version": FORMAT_VERSION,
        "run_id": manifest.get("run_id"),
        "status": manifest.get("status"),
        "settings": asdict(s),
        "counts": counts(verdicts),
        "cost_usd": float(cost or 0.0),
        "cost": cost_breakdown(verdicts),
        "scores": [], "scores_by_model": [], "agreement": {}, "calibration": [], "judges": [],
        "disagreement": [], "judge_cards": [], "paper_metrics": _paper_metrics(verdicts, boot),
        "invalid_rate": invalid_rates(verdicts),
    }  # fmt: skip
    if verdicts.height == 0:
        return summary
    pooled = verdicts.with_columns(pl.lit("all").alias("model"))
    summary["scores"] = _records(panel_scores(pooled, **panel).drop("model"))
    summary["scores_by_model"] = _records(panel_scores(verdicts, **panel))
    agreement = rubric_agreement(verdicts, n_boot=s.n_boot, seed=s.seed, ci=s.ci)
    summary["agreement"] = {row["rubric_id"]: row for row in _records(agreement)}
    disputed = disagreement(verdicts, top=s.top_disputed)
    facts = item_facts(dataset, set(disputed["item_id"].to_list()) if run_dir is not None else set())
    if facts.gold is not None:
        summary["calibration"] = _records(calibration(verdicts, facts.gold, **panel))
    summary["judges"] = _records(judge_diagnostics(verdicts, gold=facts.gold))
    summary["judge_cards"] = judge_cards(verdicts, facts.lengths, n_boot=s.n_boot, seed=s.seed)
    summary["disagreement"] = _records(disputed.group_by("rubric_id", maintain_order=True).head(5))
    if run_dir is not None:
        if facts.texts is not None:
            disputed = disagreement(verdicts, facts.texts, top=s.top_disputed)  # the same ranking, with snippets
        lines = "".join(json.dumps(r, ensure_ascii=False, sort_keys=True) + "\n" for r in disputed.to_dicts())
        atomic_write_text(run_dir / DISAGREEMENT_FILE, lines)
    return summary


def invalid_rates(verdicts: pl.DataFrame) -> list[dict[str, Any]]:
    """Per judge x rubric: of the replies received (ok + invalid), the share still invalid after
    the rubric's on_invalid policy, and how many each rescue step saved."""
    replied = verdicts.filter(pl.col("status").is_in(["ok", "invalid"]))
    out = []
    for (judge, rubric_id), rows in sorted(replied.group_by("judge", "rubric_id"), key=lambda g: g[0]):  # type: ignore[arg-type,return-value]
        invalid = rows.filter(pl.col("status") == "invalid").height
        rescued = rows.filter(pl.col("rescued_by").is_not_null())["rescued_by"].value_counts(sort=True)
        out.append(
            {
                "judge": judge,
                "rubric_id": rubric_id,
                "replies": rows.height,
                "invalid": invalid,
                "rate": invalid / rows.height,
                "rescued": {str(k): int(n) for k, n in rescued.iter_rows()},
            }
        )
    return out


def _paper_metrics(verdicts: pl.DataFrame, boot: dict[str, Any]) -> dict[str, Any]:
    from judge.stats.paper_metrics import summary_section

    return summary_section(verdicts, **boot)
