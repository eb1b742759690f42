"""summary.json: the run's verdicts aggregated late, in polars; the one source of every number
the terminal table and report.html show.

Stable top-level keys (CI jobs read them; the README documents each):
    format_version, run_id, status, settings, counts, cost_usd,
    cost              spend and tokens per judge, per rubric and per judge x rubric (stats/cost.py)
    scores            panel severity per rubric x dimension, all models pooled, with CIs
    scores_by_model   the same per model under test
    scores_by_model_overall  the same per rubric x model, dimensions pooled
    agreement         per rubric version (keyed by ref, ``sa-graded@2``): Krippendorff's alpha
                      with CI, percent agreement, Fleiss, AC1
    calibration       judges, panel and annotator pairs against gold labels (when gold exists)
    version_differences  rubric iteration: each graded rubric judged in several versions, each
                      version against the one before on the same gold-labelled items (b - a of
                      weighted kappa, Spearman, MAE, paired item-bootstrap CIs)
    judges            per rubric x judge diagnostics: invalid rate, leave-one-out agreement,
                      test-retest, error correlation and effective number of judges
    disagreement      the most disputed items per rubric (ids, spread and each judge's item score;
                      the longer list with texts is ``Summarised.disagreement``)
    judge_cards       one card per judge: validity, latency, cost per verdict, agreement with
                      the panel, length bias with CI, consistency across repeats (stats/cards.py)
    paper_metrics     the authors' own metrics (SA and EGM compression, CA percent, LD z-scored
                      distance) from paper-family verdicts, per model and judge, with CIs
                      (stats/paper_metrics.py)
    invalid_rate      per judge x rubric: replies, invalid, rate, rescues
    score_distributions  each judge's ok scores per rubric in ten bins over [0, 1]
    problems          invalid and error verdicts: totals per status x judge and a few examples
    health            the manifest's judge health (stats/health.py): per judge, counts, error share,
                      healthy or the problem and its most frequent error, the response format it
                      ended up using and the forms its server refused; null for older runs

This module reads no files and writes none: the caller gives the item facts it has (gold labels,
response lengths, texts of the disputed items; ``item_facts`` builds them in one pass over the
dataset's items) and writes what comes back.
"""

from __future__ import annotations

from collections.abc import Container, Iterable, Mapping, Sequence
from dataclasses import asdict, dataclass, field
from typing import Any, Protocol

import polars as pl

from judge.core.records import rubric_ref
from judge.core.taxonomy import REPLIED_STATUSES, VERDICT_STATUSES
from judge.stats.panel import AMPLIFIED_AT, RUBRIC_KEY, not_applicable


@dataclass(frozen=True)
class SummarySettings:
    aggregate: str = "mean"  # panel aggregation over judges, per item
    quorum: int = 1  # minimum valid judges for an item to be scored
    n_boot: int = 1000
    seed: int = 0
    ci: float = 0.95
    top_disputed: int = 20
    amplified_at: int = AMPLIFIED_AT  # an item is amplified when its panel amplification level is at least this


@dataclass(frozen=True)
class ItemFacts:
    """What the summary needs from the dataset; each part optional (null statistics without it)."""

    gold: pl.DataFrame | None = None  # id + gold_* columns (Int64), when the dataset has gold labels
    lengths: pl.DataFrame | None = None  # item_id, length (words of the response), for length bias
    texts: pl.DataFrame | None = None  # id, source, response: snippets for the disagreement rows


@dataclass(frozen=True)
class Summarised:
    """``summary`` is summary.json; ``disagreement`` the rows of disagreement.jsonl (the
    ``top_disputed`` items per rubric, ranked, with text snippets where texts were given)."""

    summary: dict[str, Any]
    disagreement: list[dict[str, Any]] = field(default_factory=list)


class ItemLike(Protocol):
    """The fields of a dataset item that :func:`item_facts` reads."""

    @property
    def id(self) -> str: ...
    @property
    def source(self) -> str: ...
    @property
    def response(self) -> str: ...
    @property
    def gold(self) -> Mapping[str, int | None]: ...


def item_facts(items: Iterable[ItemLike], gold_columns: Sequence[str], text_ids: Container[str] = ()) -> ItemFacts:
    """Gold labels, response lengths and the texts of ``text_ids``, in one pass over ``items``."""
    gold_rows: list[dict[str, Any]] = []
    ids: list[str] = []
    lengths: list[int] = []
    texts: list[dict[str, str]] = []
    for item in items:
        ids.append(item.id)
        lengths.append(len(item.response.split()))
        if gold_columns:
            gold_rows.append({"id": item.id, **{c: item.gold.get(c) for c in gold_columns}})
        if item.id in text_ids:
            texts.append({"id": item.id, "source": item.source, "response": item.response})
    gold_schema = {"id": pl.String, **dict.fromkeys(gold_columns, pl.Int64)}
    text_schema = {"id": pl.String, "source": pl.String, "response": pl.String}
    return ItemFacts(
        gold=pl.DataFrame(gold_rows, schema=gold_schema) if gold_columns else None,
        lengths=pl.DataFrame({"item_id": ids, "length": lengths}, schema={"item_id": pl.String, "length": pl.Int64}),
        texts=pl.DataFrame(texts, schema=text_schema) if texts else None,
    )


def table_facts(items: pl.DataFrame, gold_columns: Sequence[str], text_ids: Iterable[str] = ()) -> ItemFacts:
    """The same facts as :func:`item_facts`, from a run's items table (judge/store/items.py:
    item_id, source, response and the gold columns), computed in polars without a pass in Python.
    A response's length is its number of whitespace-separated words, as in ``item_facts``."""
    texts = items.filter(pl.col("item_id").is_in(sorted(text_ids))).select(
        pl.col("item_id").alias("id"), "source", pl.col("response").fill_null("")
    )
    return ItemFacts(
        gold=items.select(pl.col("item_id").alias("id"), *[pl.col(c).cast(pl.Int64) for c in gold_columns])
        if gold_columns
        else None,
        lengths=items.select(
            "item_id", pl.col("response").fill_null("").str.count_matches(r"\S+").cast(pl.Int64).alias("length")
        ),
        texts=texts if texts.height else None,
    )


def disputed_ids(verdicts: pl.DataFrame, settings: SummarySettings | None = None) -> set[str]:
    """The items whose texts the disagreement rows will show (to gather them before summarising)."""
    from judge.stats.diagnostics import disagreement

    if verdicts.height == 0:
        return set()
    top = (settings or SummarySettings()).top_disputed
    return set(disagreement(verdicts, top=top)["item_id"].to_list())


def counts(verdicts: pl.DataFrame) -> dict[str, int]:
    """Verdicts per status, with ``skipped`` split: ``not_applicable`` counts the rows of a rubric
    that does not apply to the item, ``skipped`` the work that applies and was not done (budget,
    a stopped judge). The statuses and ``not_applicable`` add up to ``total``."""
    out = dict.fromkeys(VERDICT_STATUSES, 0)
    for status, n in verdicts.group_by("status").len().iter_rows():
        out[status] = n
    n_na = verdicts.select(not_applicable(verdicts).sum()).item() if verdicts.height else 0
    out["skipped"] -= n_na
    out["not_applicable"] = int(n_na)
    out["total"] = verdicts.height
    return out


def abstentions(verdicts: pl.DataFrame) -> list[dict[str, Any]]:
    """Per rubric version x model under test (and ``model`` "all", pooled): of the calls made (rows
    not skipped), how many the judges abstained on, the rate, and the most frequent reason."""
    called = verdicts.filter(pl.col("status") != "skipped")
    if called.height == 0:
        return []
    frame = pl.concat([called, called.with_columns(pl.lit("all").alias("model"))])
    abstained = pl.col("status") == "abstained"
    rows = (
        frame.group_by(*RUBRIC_KEY, "model")
        .agg(
            pl.len().cast(pl.Int64).alias("calls"),
            abstained.sum().cast(pl.Int64).alias("abstained"),
            pl.col("error").filter(abstained).drop_nulls().mode().sort().first().alias("top_reason"),
        )
        .with_columns((pl.col("abstained") / pl.col("calls")).alias("rate"))
        .with_columns((pl.col("model") != "all").alias("_m"))
        .sort(*RUBRIC_KEY, "_m", "model")
        .drop("_m")
    )
    return rows.select(*RUBRIC_KEY, "model", "calls", "abstained", "rate", "top_reason").to_dicts()


def summarise(
    verdicts: pl.DataFrame,
    manifest: Mapping[str, Any],
    *,
    facts: ItemFacts | None = None,
    settings: SummarySettings | None = None,
) -> Summarised:
    """Aggregate a run's verdicts (``manifest`` gives the run id, status, format version and
    judge health)."""
    from judge.stats.cards import judge_cards
    from judge.stats.cost import cost_breakdown, total_cost
    from judge.stats.diagnostics import (
        calibration,
        disagreement,
        judge_diagnostics,
        problem_examples,
        version_differences,
    )
    from judge.stats.paper_metrics import summary_section
    from judge.stats.scores import panel_scores, rubric_agreement, score_distributions

    s = settings or SummarySettings()
    facts = facts or ItemFacts()
    boot: dict[str, Any] = {"n_boot": s.n_boot, "seed": s.seed, "ci": s.ci}
    panel: dict[str, Any] = {"aggregate": s.aggregate, "quorum": s.quorum, **boot}
    two_sided = {**panel, "amplified_at": s.amplified_at}
    summary: dict[str, Any] = {
        "format_version": manifest.get("format_version"),
        "run_id": manifest.get("run_id"),
        "status": manifest.get("status"),
        "settings": asdict(s),
        "counts": counts(verdicts),
        "cost_usd": total_cost(verdicts),
        "cost": cost_breakdown(verdicts),
        "scores": [], "scores_by_model": [], "scores_by_model_overall": [], "agreement": {}, "calibration": [],
        "version_differences": [],
        "judges": [], "disagreement": [], "judge_cards": [], "paper_metrics": summary_section(verdicts, **panel),
        "invalid_rate": invalid_rates(verdicts), "score_distributions": score_distributions(verdicts),
        "problems": problem_examples(verdicts), "abstentions": abstentions(verdicts),
        "health": manifest.get("health"),
    }  # fmt: skip
    if verdicts.height == 0:
        return Summarised(summary)
    pooled = verdicts.with_columns(pl.lit("all").alias("model"))
    summary["scores"] = panel_scores(pooled, **two_sided).drop("model").to_dicts()
    summary["scores_by_model"] = panel_scores(verdicts, **two_sided).to_dicts()
    overall = verdicts.with_columns(pl.lit("all").alias("dimension"))
    summary["scores_by_model_overall"] = panel_scores(overall, **two_sided).drop("dimension").to_dicts()
    agreement = rubric_agreement(verdicts, **boot)
    summary["agreement"] = {rubric_ref(row["rubric_id"], row["rubric_version"]): row for row in agreement.to_dicts()}
    if facts.gold is not None:
        summary["calibration"] = calibration(verdicts, facts.gold, **panel, lengths=facts.lengths).to_dicts()
        summary["version_differences"] = version_differences(verdicts, facts.gold, **panel).to_dicts()
    summary["judges"] = judge_diagnostics(verdicts, gold=facts.gold).to_dicts()
    summary["judge_cards"] = judge_cards(verdicts, facts.lengths, **boot)
    disputed = disagreement(verdicts, facts.texts, top=s.top_disputed)
    summary["disagreement"] = (
        disputed.drop("source_snippet", "response_snippet", strict=False)
        .group_by(RUBRIC_KEY, maintain_order=True)
        .head(5)
        .to_dicts()
    )
    return Summarised(summary, disputed.to_dicts())


def invalid_rates(verdicts: pl.DataFrame) -> list[dict[str, Any]]:
    """Per judge x rubric: of the replies received (ok, invalid, abstained: ``REPLIED_STATUSES``),
    the share still invalid after the rubric's on_invalid policy, and how many each rescue step saved."""
    replied = verdicts.filter(pl.col("status").is_in(REPLIED_STATUSES))
    out = []
    groups = replied.group_by("judge", *RUBRIC_KEY)
    for (judge, rubric_id, version), rows in sorted(groups, key=lambda g: g[0]):  # type: ignore[arg-type,return-value]
        invalid = rows.filter(pl.col("status") == "invalid").height
        rescued = rows.filter(pl.col("rescued_by").is_not_null())["rescued_by"].value_counts(sort=True)
        out.append(
            {
                "judge": judge,
                "rubric_id": rubric_id,
                "rubric_version": version,
                "replies": rows.height,
                "invalid": invalid,
                "rate": invalid / rows.height,
                "rescued": {str(k): int(n) for k, n in rescued.iter_rows()},
            }
        )
    return out
