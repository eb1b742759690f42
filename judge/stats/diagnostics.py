"""How far to trust the judges: calibration against gold labels, per-judge diagnostics
and a disagreement triage list. Conventions as in ``judge.stats.scores`` (ok rows carry scores,
item-bootstrap CIs, null never NaN, sorted output).
"""

from __future__ import annotations

import itertools
import math
from collections.abc import Callable
from typing import Any

import numpy as np
import polars as pl

from judge.core.taxonomy import VERDICT_STATUSES
from judge.stats.agreement import (
    average_ranks,
    kappa_from_tables,
    krippendorff_alpha,
    pearson_rows,
    weight_matrix,
)
from judge.stats.baselines import baseline_predictions
from judge.stats.bootstrap import bootstrap, resampled_ranks
from judge.stats.calibration_views import VIEW_SCHEMA, item_confidence, rater_views
from judge.stats.panel import (
    ITEM,
    RUBRIC_KEY,
    Aggregate,
    check_verdict_columns,
    item_panel,
    judge_item_scores,
    not_applicable,
    ok_rows,
    severity_levels,
)

_QUADRATIC5 = weight_matrix(5, "quadratic")

_CALIBRATION_SCHEMA = {
    "rubric_id": pl.String,
    "rubric_version": pl.Int64,
    "mechanism": pl.String,
    "scale": pl.String,
    "kind": pl.String,
    "rater": pl.String,
    "n": pl.Int64,
    **{
        f"{m}{s}": pl.Float64 for m in ("kappa_w", "spearman", "mae") for s in ("", "_low", "_high")
    },
    **VIEW_SCHEMA,
}
# The scales a rubric's verdicts are calibrated on: the name, the gold columns' prefix (dataset
# columns gold_<mechanism>[__<annotator>] and amplification_<mechanism>[__<annotator>]), and the
# judge's and the panel's item value on that scale.
SCALES = (("severity", "gold", "score", "panel"), ("amplification", "amplification", "amplification",
                                                    "panel_amplification"))


def _null(x: float) -> float | None:
    return float(x) if math.isfinite(x) else None


def calibration_stat(pred: np.ndarray, gold: np.ndarray) -> Callable[[np.ndarray], np.ndarray]:
    """The calibration statistics on a chunk of item resamples (indices form, B x n): one row per
    resample of quadratic weighted kappa (on 0-4 levels, halves up), Spearman and MAE (on the 0-4
    scale, unrounded). One definition for :func:`calibration_metrics` and
    :func:`calibration_difference`."""
    pred, gold = np.asarray(pred, np.float64), np.asarray(gold, np.float64)
    code = severity_levels(pred) * 5 + severity_levels(gold)
    err = np.abs(pred - gold)

    def stats(idx: np.ndarray) -> np.ndarray:
        b = idx.shape[0]
        flat = (code[idx] + 25 * np.arange(b)[:, None]).ravel()
        tables = np.bincount(flat, minlength=25 * b).reshape(b, 5, 5)
        kappa = kappa_from_tables(tables, _QUADRATIC5)
        rho = pearson_rows(resampled_ranks(pred, idx), resampled_ranks(gold, idx))
        return np.stack([kappa, rho, err[idx].mean(1)], axis=1)

    return stats


CALIBRATION_METRICS = ("kappa_w", "spearman", "mae")


def calibration_metrics(
    pred: np.ndarray, gold: np.ndarray, *, n_boot: int, seed: int, ci: float
) -> dict[str, float | None]:
    """Quadratic weighted kappa (on 0-4 levels, halves up), Spearman and MAE (on the 0-4
    scale, unrounded), each with an item-bootstrap CI."""
    est = bootstrap(calibration_stat(pred, gold), len(pred), n_boot=n_boot, seed=seed, ci=ci, form="indices")
    out: dict[str, float | None] = {}
    for i, name in enumerate(CALIBRATION_METRICS):
        out[name], out[f"{name}_low"], out[f"{name}_high"] = est.row(i)
    return out


def calibration_difference(
    pred_a: np.ndarray, pred_b: np.ndarray, gold: np.ndarray, *, n_boot: int, seed: int, ci: float
) -> dict[str, float | None]:
    """How much closer to gold ``pred_b`` is than ``pred_a`` on the same items: b - a of each
    calibration statistic (``kappa_w_diff``, ``spearman_diff``, ``mae_diff``; a better b has higher
    kappa and Spearman and lower MAE), with a paired item-bootstrap CI (every resample draws the
    same items for both), and each side's value (``kappa_w_a``, ``kappa_w_b``, ...)."""
    if len(gold) == 0:
        return {f"{m}{s}": None for m in CALIBRATION_METRICS for s in ("_a", "_b", "_diff", "_diff_low", "_diff_high")}
    a, b = calibration_stat(pred_a, gold), calibration_stat(pred_b, gold)
    est = bootstrap(lambda idx: b(idx) - a(idx), len(gold), n_boot=n_boot, seed=seed, ci=ci, form="indices")
    identity = np.arange(len(gold), dtype=np.int64)[None]
    with np.errstate(all="ignore"):
        sides = {"a": a(identity)[0], "b": b(identity)[0]} if len(gold) else {}
    out: dict[str, float | None] = {}
    for i, name in enumerate(CALIBRATION_METRICS):
        for side, values in sides.items():
            out[f"{name}_{side}"] = _null(float(values[i]))
        out[f"{name}_diff"], out[f"{name}_diff_low"], out[f"{name}_diff_high"] = est.row(i)
    return out


def _annotator_columns(gold: pl.DataFrame, mechanism: str, prefix: str = "gold") -> list[str]:
    return sorted(c for c in gold.columns if c.startswith(f"{prefix}_{mechanism}__"))


def gold_reference(gold: pl.DataFrame, mechanism: str, id_col: str, prefix: str = "gold") -> pl.DataFrame | None:
    """item_id, gold (0-4): the adjudicated label, else the annotators' mean. ``prefix``
    "amplification" reads the amplification labels instead of the severity ones."""
    adjudicated = f"{prefix}_{mechanism}"
    annotators = _annotator_columns(gold, mechanism, prefix)
    if adjudicated in gold.columns:
        ref = pl.col(adjudicated).cast(pl.Float64)
    elif annotators:
        ref = pl.mean_horizontal([pl.col(c).cast(pl.Float64) for c in annotators])
    else:
        return None
    return gold.select(pl.col(id_col).alias("item_id"), ref.alias("gold")).drop_nulls()


def calibration(
    verdicts: pl.DataFrame,
    gold: pl.DataFrame,
    *,
    aggregate: Aggregate = "mean",
    quorum: int = 1,
    n_boot: int = 1000,
    seed: int = 0,
    ci: float = 0.95,
    id_col: str = "id",
    lengths: pl.DataFrame | None = None,
) -> pl.DataFrame:
    """Judges, the panel, baselines and annotator pairs against gold labels, per graded rubric.

    Only graded rubrics are calibrated: gold labels are 0-4 severities, and a graded score s
    maps back to 4 * s exactly (paper rubrics measure other quantities). Reference = the
    adjudicated ``gold_<mechanism>``, else the mean of ``gold_<mechanism>__<annotator>``
    columns. kind "annotators" rows compare each annotator pair: the inter-annotator ceiling
    (people or not: who labelled is the dataset's business, so the kind does not say "human"). kind
    "baseline" rows are raters that do not read the texts (``judge.stats.baselines``: constant,
    response length, which model wrote it), on the items the rubric applies to. Where the dataset
    has amplification labels (``amplification_<mechanism>[__<annotator>]``), the same rows again
    with ``scale`` "amplification" (the judges' and the panel's amplification against them).
    Every row also carries the views of ``judge.stats.calibration_views`` (confusion matrix, level
    bias, confidence against error, length bias against gold's own; ``lengths``: item_id, length
    in words).
    """
    check_verdict_columns(verdicts)
    # Every frame below in item order, so that the bootstrap CIs of one set of items do not depend on
    # the order the run stored them in (a merged run's items come shard by shard).
    gold = gold.sort(id_col)
    per_judge = judge_item_scores(verdicts).filter(pl.col("family") == "graded")
    panel = item_panel(verdicts, aggregate=aggregate, quorum=quorum).filter(pl.col("family") == "graded")
    confidence = item_confidence(verdicts)
    boot: dict[str, Any] = {"n_boot": n_boot, "seed": seed, "ci": ci}
    rows: list[dict[str, object]] = []

    def rater(base: dict[str, Any], kind: str, name: str, frame: pl.DataFrame, value: str) -> None:
        """One calibration row from ``frame`` (item_id, gold, ``value`` on 0-4, optional length and
        confidence)."""
        if "item_id" in frame.columns:  # the bootstrap draws rows by position: one order for one set
            frame = frame.sort("item_id")
        pred, ref = frame[value].to_numpy(), frame["gold"].to_numpy()
        views = rater_views(pred, ref, **boot, length=_known(frame, "length"), confidence=_known(frame, "confidence"))
        rows.append({**base, "kind": kind, "rater": name, "n": frame.height, **calibration_metrics(pred, ref, **boot),
                     **views})  # fmt: skip

    rubrics = per_judge.select(*RUBRIC_KEY, "mechanism").unique().sort(RUBRIC_KEY)
    for rubric_id, version, mechanism in rubrics.iter_rows():
        this = (pl.col("rubric_id") == rubric_id) & (pl.col("rubric_version") == version)
        applies = verdicts.filter(this & ~not_applicable(verdicts)).select("item_id", "model")
        applies = applies.unique("item_id").sort("item_id")
        if lengths is not None:
            applies = applies.join(lengths, on="item_id", how="left")
        for scale, prefix, value, panel_value in SCALES:
            ref = gold_reference(gold, mechanism, id_col, prefix)
            if ref is None or value not in per_judge.columns:
                continue
            base = {"rubric_id": rubric_id, "rubric_version": version, "mechanism": mechanism, "scale": scale}
            known = applies.join(ref, on="item_id", maintain_order="left")
            mine = per_judge.filter(this & pl.col(value).is_not_null())
            if scale == "severity":
                mine = mine.join(confidence, on=[*ITEM, "judge"], how="left")
            for (judge,), frame in sorted(mine.group_by("judge"), key=lambda g: str(g[0][0])):
                both = frame.join(known.drop("model"), on="item_id").with_columns(pl.col(value) * 4)
                rater(base, "judge", str(judge), both, value)
            both = panel.filter(this & pl.col(panel_value).is_not_null()).join(known.drop("model"), on="item_id")
            rater(base, "panel", "panel", both.with_columns(pl.col(panel_value) * 4), panel_value)
            facts = {"length": _known(known, "length"), "models": known["model"].to_numpy()}
            for name, pred in (baseline_predictions(known["gold"].to_numpy(), **facts) if known.height else {}).items():
                rater(base, "baseline", name, known.with_columns(pl.Series("pred", pred, pl.Float64)), "pred")
            for a, b in itertools.combinations(_annotator_columns(gold, mechanism, prefix), 2):
                pair = gold.select(pl.col(a).cast(pl.Float64), pl.col(b).cast(pl.Float64).alias("gold")).drop_nulls()
                name = f"{a.split('__', 1)[1]}~{b.split('__', 1)[1]}"
                rater(base, "annotators", name, pair, a)
    order = pl.col("scale") != "severity"
    return (
        pl.DataFrame(rows, schema=_CALIBRATION_SCHEMA)
        .sort([*RUBRIC_KEY, order, "kind", "rater"])  # type: ignore[list-item]
    )


def _known(frame: pl.DataFrame, column: str) -> np.ndarray | None:
    """A column as floats when the frame has it for every row, else None (a view it feeds is null)."""
    if column not in frame.columns or frame[column].null_count():
        return None
    return frame[column].cast(pl.Float64).to_numpy()


def quote_rates(verdicts: pl.DataFrame, keys: list[str]) -> pl.DataFrame:
    """Per ``keys``: ``n_quoted`` (verdicts with evidence quotes that were checked: a non-null
    ``evidence_found``, whatever the status) and ``unfound_quote_rate``, the mean over them of the
    share of quotes not found in the texts (null when none was checked)."""
    if "evidence_found" not in verdicts.columns:
        return verdicts.select(keys).unique().with_columns(
            pl.lit(0, pl.Int64).alias("n_quoted"), pl.lit(None, pl.Float64).alias("unfound_quote_rate")
        )
    found = pl.col("evidence_found")
    return verdicts.group_by(keys).agg(
        found.is_not_null().sum().cast(pl.Int64).alias("n_quoted"), (1 - found).mean().alias("unfound_quote_rate")
    )


def version_differences(
    verdicts: pl.DataFrame,
    gold: pl.DataFrame,
    *,
    aggregate: Aggregate = "mean",
    quorum: int = 1,
    n_boot: int = 1000,
    seed: int = 0,
    ci: float = 0.95,
    id_col: str = "id",
) -> pl.DataFrame:
    """Rubric iteration within a run: for each graded rubric judged in several versions, each
    version against the one before it, on the items both scored (panel) that have a gold label:
    :func:`calibration_difference` (b - a, paired item bootstrap). Columns: rubric_id, mechanism,
    version_a, version_b, n, then ``<metric>_a``, ``<metric>_b``, ``<metric>_diff`` with
    ``_low``/``_high`` for kappa_w, spearman and mae."""
    check_verdict_columns(verdicts)
    panel = item_panel(verdicts, aggregate=aggregate, quorum=quorum).filter(
        (pl.col("family") == "graded") & pl.col("panel").is_not_null()
    )
    rows: list[dict[str, Any]] = []
    versions = panel.select("rubric_id", "mechanism", "rubric_version").unique().sort(RUBRIC_KEY)
    for (rubric_id, mechanism), group in versions.group_by("rubric_id", "mechanism", maintain_order=True):
        ref = gold_reference(gold, mechanism, id_col)
        found = group["rubric_version"].to_list()
        if ref is None or len(found) < 2:
            continue
        mine = panel.filter(pl.col("rubric_id") == rubric_id).select("item_id", "rubric_version", "panel")
        for a, b in itertools.pairwise(found):
            both = (
                mine.filter(pl.col("rubric_version") == a)
                .join(mine.filter(pl.col("rubric_version") == b), on="item_id", suffix="_b")
                .join(ref, on="item_id")
                .sort("item_id")
            )
            diff = calibration_difference(4 * both["panel"].to_numpy(), 4 * both["panel_b"].to_numpy(),
                                          both["gold"].to_numpy(), n_boot=n_boot, seed=seed, ci=ci)  # fmt: skip
            rows.append({"rubric_id": rubric_id, "mechanism": mechanism, "version_a": a, "version_b": b,
                         "n": both.height, **diff})  # fmt: skip
    return pl.DataFrame(rows, schema=VERSION_DIFFERENCE_SCHEMA)


VERSION_DIFFERENCE_SCHEMA = {
    "rubric_id": pl.String, "mechanism": pl.String, "version_a": pl.Int64, "version_b": pl.Int64, "n": pl.Int64,
    **{f"{m}{s}": pl.Float64 for m in CALIBRATION_METRICS for s in ("_a", "_b", "_diff", "_diff_low", "_diff_high")},
}  # fmt: skip


def _pairwise_mean_corr(wide: np.ndarray) -> float | None:
    """Mean Pearson r over column pairs, each on the rows both columns have."""
    rs = []
    for i, j in itertools.combinations(range(wide.shape[1]), 2):
        keep = np.isfinite(wide[:, i]) & np.isfinite(wide[:, j])
        if keep.sum() >= 3:
            r = pearson_rows(wide[keep, i][None], wide[keep, j][None])[0]
            if np.isfinite(r):
                rs.append(r)
    return float(np.mean(rs)) if rs else None


def judge_diagnostics(
    verdicts: pl.DataFrame,
    *,
    gold: pl.DataFrame | None = None,
    id_col: str = "id",
    flag_below: float = 0.2,
) -> pl.DataFrame:
    """Per rubric x judge: validity counts and invalid rate, leave-one-out agreement with the
    rest of the panel, test-retest agreement across repeats, and the rubric's mean inter-judge
    error correlation with the effective number of judges it implies.

    - invalid_rate = (invalid + error) / (rows - skipped); abstention_rate = abstained / (rows -
      skipped); unfound_quote_rate and n_quoted as :func:`quote_rates`.
    - loo_alpha: interval alpha between the judge's item scores and the mean of the other
      judges' (loo_spearman likewise); ``flagged`` when loo_alpha < ``flag_below``.
    - retest_alpha: interval alpha over the judge's repeats (units = items); null with one
      repeat.
    - mean_error_corr: with gold for the mechanism, errors are score - gold / 4
      (error_basis "gold"); without, truth is unknown and the judges' raw item scores are
      correlated instead ("scores"; redundancy, an upper bound on error correlation).
      n_eff = n / (1 + (n - 1) r), clipped to [1, n].
    """
    check_verdict_columns(verdicts)
    status = pl.col("status")
    counts = verdicts.group_by(*RUBRIC_KEY, "judge").agg(
        pl.len().cast(pl.Int64).alias("n_rows"),
        *[
            (status == s).sum().cast(pl.Int64).alias(f"n_{s}")
            for s in VERDICT_STATUSES
        ],
    )
    called = pl.col("n_rows") - pl.col("n_skipped")
    counts = counts.with_columns(
        pl.when(called > 0).then((pl.col("n_invalid") + pl.col("n_error")) / called).alias("invalid_rate"),
        pl.when(called > 0).then(pl.col("n_abstained") / called).alias("abstention_rate"),
    ).join(quote_rates(verdicts, [*RUBRIC_KEY, "judge"]), on=[*RUBRIC_KEY, "judge"], how="left")
    per_judge = judge_item_scores(verdicts)
    ok = ok_rows(verdicts)
    rows: list[dict[str, object]] = []
    for (rubric_id, version, mechanism), frame in per_judge.group_by(*RUBRIC_KEY, "mechanism"):
        wide = frame.pivot(on="judge", index="item_id", values="score").sort("item_id")
        judges = sorted(c for c in wide.columns if c != "item_id")
        basis, matrix = "scores", wide.select(judges).to_numpy().astype(np.float64)
        ref = gold_reference(gold, mechanism, id_col) if gold is not None else None
        if ref is not None:
            g = wide.select("item_id").join(ref, on="item_id", how="left")["gold"]
            matrix = matrix - g.fill_null(np.nan).to_numpy()[:, None] / 4
            basis = "gold"
        r = _pairwise_mean_corr(matrix)
        n = len(judges)
        n_eff = None if r is None else float(np.clip(n / max(1 + (n - 1) * r, 1e-12), 1, n))
        for judge in judges:
            others = [j for j in judges if j != judge]
            loo = wide.select(
                "item_id",
                pl.col(judge).alias("self"),
                (pl.mean_horizontal(others) if others else pl.lit(None, pl.Float64)).alias("rest"),
            ).unpivot(index="item_id", variable_name="rater")
            a = krippendorff_alpha(loo, level="interval", unit="item_id")
            pair = loo.pivot(on="rater", index="item_id", values="value").drop_nulls()
            rho = (
                pearson_rows(
                    average_ranks(pair["self"].to_numpy())[None],
                    average_ranks(pair["rest"].to_numpy())[None],
                )[0]
                if others and pair.height >= 2
                else np.nan
            )
            mine = ok.filter(
                (pl.col("rubric_id") == rubric_id) & (pl.col("rubric_version") == version) & (pl.col("judge") == judge)
            )
            retest = krippendorff_alpha(
                mine, level="interval", unit="item_id", rater="repeat", value="score"
            )
            rows.append(
                {
                    "rubric_id": rubric_id,
                    "rubric_version": version,
                    "judge": judge,
                    "loo_alpha": a.value,
                    "loo_spearman": _null(float(rho)),
                    "retest_alpha": retest.value,
                    "flagged": a.value is not None and a.value < flag_below,
                    "n_judges": n,
                    "mean_error_corr": r,
                    "n_eff": n_eff,
                    "error_basis": basis,
                }
            )
    schema = {
        "rubric_id": pl.String,
        "rubric_version": pl.Int64,
        "judge": pl.String,
        "loo_alpha": pl.Float64,
        "loo_spearman": pl.Float64,
        "retest_alpha": pl.Float64,
        "flagged": pl.Boolean,
        "n_judges": pl.Int64,
        "mean_error_corr": pl.Float64,
        "n_eff": pl.Float64,
        "error_basis": pl.String,
    }
    agreement = pl.DataFrame(rows, schema=schema)
    # judges with no ok verdict still appear, with their invalid rate and null agreement
    return (
        counts.join(agreement, on=[*RUBRIC_KEY, "judge"], how="left")
        .with_columns(pl.col("flagged").fill_null(False))
        .sort(*RUBRIC_KEY, "judge")
    )


def _judge_spread(per_judge: pl.DataFrame, keys: list[str]) -> pl.DataFrame:
    """Per ``keys`` (a rubric x item): how the judges' item scores spread: ``n_judges``, ``min``,
    ``max``, ``range`` (max - min), ``variance`` (population) and ``judges`` (each judge's item score
    and ``n_repeats``). The one definition of an item's disagreement."""
    return (
        per_judge.group_by(keys)
        .agg(
            pl.len().cast(pl.Int64).alias("n_judges"),
            pl.col("score").min().alias("min"),
            pl.col("score").max().alias("max"),
            pl.col("score").var(ddof=0).alias("variance"),
            pl.struct("judge", "score", "n_repeats").alias("judges"),
        )
        .with_columns((pl.col("max") - pl.col("min")).alias("range"))
    )


def item_spread(verdicts: pl.DataFrame, *, aggregate: Aggregate = "mean", quorum: int = 1) -> pl.DataFrame:
    """Every rubric x item seen (whatever its verdicts' status): the panel score and quorum of the
    one reducer (``item_panel``), and the judges' spread as :func:`disagreement` ranks it: ``range``
    and ``variance`` (null with fewer than two valid judges), ``judges`` (each judge's item score).
    The report's item browser shows these for every item."""
    panel = item_panel(verdicts, aggregate=aggregate, quorum=quorum)
    spread = _judge_spread(judge_item_scores(verdicts), ITEM).select(
        *ITEM,
        "judges",
        *[pl.when(pl.col("n_judges") >= 2).then(pl.col(c)).otherwise(None).alias(c) for c in ("range", "variance")],
    )
    return panel.join(spread, on=ITEM, how="left", nulls_equal=True).sort(ITEM)


def disagreement(
    verdicts: pl.DataFrame,
    items: pl.DataFrame | None = None,
    *,
    top: int = 20,
    snippet: int = 160,
) -> pl.DataFrame:
    """The ``top`` items per rubric version where judges disagree most: ranked by the range of their
    item scores, then variance (population), then item_id. Items with one judge, or whose judges
    all gave the same score, are left out: they are not disputed.
    ``judges`` lists each judge's item score (mean of its ok repeats) and ``n_repeats``.
    With ``items`` (columns id, source, response), the first ``snippet`` characters of each
    are attached as source_snippet and response_snippet.
    """
    spread = (
        _judge_spread(judge_item_scores(verdicts), [*RUBRIC_KEY, "item_id", "model", "dimension"])
        .select(*RUBRIC_KEY, "item_id", "model", "dimension", "n_judges", "min", "max", "variance", "judges", "range")
        .filter(pl.col("n_judges") >= 2)
        .filter(pl.col("range") > 0)
        .sort(
            [*RUBRIC_KEY, "range", "variance", "item_id"],
            descending=[False, False, True, True, False],
        )
        .with_columns(pl.int_range(1, pl.len() + 1).over(RUBRIC_KEY).alias("rank"))
        .filter(pl.col("rank") <= top)
    )
    if items is not None:
        snippets = items.select(
            pl.col("id").alias("item_id"),
            pl.col("source").str.slice(0, snippet).alias("source_snippet"),
            pl.col("response").str.slice(0, snippet).alias("response_snippet"),
        )
        spread = spread.join(snippets, on="item_id", how="left")
    return spread.sort(*RUBRIC_KEY, "rank")


def problem_examples(verdicts: pl.DataFrame, *, per_status: int = 10) -> dict[str, list[dict[str, Any]]]:
    """Invalid and error verdicts: ``totals`` per status x judge, and up to ``per_status``
    ``examples`` of each status, spread over judges and rubrics (round robin), with the error and
    the raw reply."""
    bad = verdicts.filter(pl.col("status").is_in(["invalid", "error"]))
    if bad.height == 0:
        return {"totals": [], "examples": []}
    totals = bad.group_by("status", "judge").agg(pl.len().cast(pl.Int64).alias("verdicts")).sort("status", "judge")
    examples = (
        bad.sort("status", "judge", *RUBRIC_KEY, "item_id", "repeat")
        .with_columns(pl.int_range(pl.len()).over("status", "judge", *RUBRIC_KEY).alias("_k"))
        .sort("_k", "status", "judge", *RUBRIC_KEY, "item_id", "repeat")
        .group_by("status", maintain_order=True)
        .head(per_status)
        .sort("status", "judge", *RUBRIC_KEY, "item_id", "repeat")
        .select("status", "judge", *RUBRIC_KEY, "item_id", "repeat", "attempts", "error", "raw_text")
    )
    return {"totals": totals.to_dicts(), "examples": examples.to_dicts()}
