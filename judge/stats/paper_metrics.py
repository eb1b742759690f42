"""The paper's own metrics, computed from paper-family verdicts (You, Huang, Yu 2026,
arXiv 2604.10557, and the authors' released scripts in youxiaoxing/LLM_Empathy).

Per item, each judge's repeats are averaged first; the panel value of an item is then the mean
(or median, with the summary's ``aggregate``) over judges of every raw field (intensities,
totals, densities, label, features), by the one item-panel reducer (``judge.stats.panel``, with
its quorum: items below it are left out of the panel rows). Metrics are
computed per model under test and over all models (``model`` null), from the panel values and
from each judge's own values. CIs are percentile bootstraps over items (each item a cluster of
judges and repeats), seeded and vectorised as weight matrices (``judge.stats.bootstrap``, the one
bootstrap; one set of resamples serves every metric of a group).

Metrics (``ref`` = baseline side, the reference if the item has one, else the source):

- SA (sa-paper): ``sa_compression_item_mean`` = mean over items with ref > 0 of
  (ref - gen) / ref; ``sa_compression_of_means`` = (mean ref - mean gen) / mean ref; plus
  ``sa_mean_reference_intensity`` and ``sa_mean_generated_intensity``.
- EGM (egm-paper): ``egm_compression_of_totals`` = (sum ref totals - sum gen totals) / sum ref
  totals; ``egm_compression_item_mean`` = mean over items with ref total > 0 of the per-item rate;
  ``egm_density_difference`` = mean over items of (ref total / ref sentences - gen total / gen
  sentences), a text with no sentences having density 0 as in the authors' script; plus the
  two mean densities. Those three are signed, so amplification cancels attenuation in them; the
  two-sided measures beside them do not: ``egm_abs_density_difference`` = mean over items of
  |ref density - gen density|; ``egm_symmetric_difference`` = mean over items with ref + gen > 0
  of |ref - gen| / ((ref + gen) / 2) on the totals (0 to 2; an item with no element on either side
  is 0/0, left out and counted in ``n_defined``); ``egm_density_auc`` = the probability that a
  reference text of the group has a higher aversive density than a generated one (ties count
  half; 0.5: the two sides' densities cannot be told apart, above: the generated texts are
  sparser, below: denser), and ``egm_discrimination`` = |2 x auc - 1|, how well the density
  separates reference from generated text in either direction (0 to 1). The discrimination score
  is our reconstruction of the authors' term (see the README), not their code.
- CA (ca-paper): ``ca_percent_labelled_1`` = 100 x mean label (a panel label is the judges'
  mean, so a split panel counts as a fraction).
- LD (ld-paper): ``ld_zscore_distance`` = mean over items of the Euclidean distance between the
  reference and generated feature vectors after z-scoring both with the reference side's mean and
  population sd (ddof 0) over the items of the group. The mean cancels, so the distance is
  sqrt(sum_k ((gen_k - ref_k) / sd_k)^2). A feature whose reference sd is 0 is dropped (listed in
  ``dropped``); with every feature dropped the metric is null.

A value is null, never NaN, when undefined, and ``reason`` says why.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import numpy as np
import polars as pl

from judge.core.mechanisms import contract, paper_fields
from judge.core.taxonomy import AVERSIVE_CATEGORIES as CATEGORIES
from judge.core.taxonomy import LD_FEATURES as FEATURES
from judge.stats.bootstrap import bootstrap
from judge.stats.panel import RUBRIC_KEY, Aggregate, over_judges, over_repeats

FAMILY = "paper"
# The mechanisms the paper defines metrics for (the formulas below); a paper-format rubric of any
# other declared mechanism is left out of this section rather than guessed at.
WITH_METRICS = ("sentiment_attenuation", "granularity_mismatch", "conflict_avoidance", "linguistic_distancing")
_ROW_SCHEMA: dict[str, Any] = {
    "mechanism": pl.String,
    "rubric_id": pl.String,
    "rubric_version": pl.Int64,
    "metric": pl.String,
    "scope": pl.String,
    "judge": pl.String,
    "model": pl.String,
    "n_items": pl.Int64,
    "n_defined": pl.Int64,
    "value": pl.Float64,
    "ci_low": pl.Float64,
    "ci_high": pl.Float64,
    "reason": pl.String,
    "dropped": pl.List(pl.String),
}

Stat = Callable[[np.ndarray], np.ndarray]


# --- per-item values -----------------------------------------------------------------------------


def _total(side: str) -> pl.Expr:
    per_sentence = pl.sum_horizontal(pl.element().struct.field(c) for c in CATEGORIES)
    return pl.col("v").struct.field(side).list.eval(per_sentence).list.sum().cast(pl.Float64)


def _dtype(schema: dict[str, Any]) -> Any:
    """The polars type that decodes JSON matching ``schema`` (numbers as Float64)."""
    kind = schema.get("type")
    if kind == "object":
        return pl.Struct({k: _dtype(v) for k, v in schema.get("properties", {}).items()})
    if kind == "array":
        return pl.List(_dtype(schema.get("items", {})))
    return {"integer": pl.Int64, "number": pl.Float64, "boolean": pl.Boolean}.get(str(kind), pl.String)


def _verdict_dtype(mechanism: str) -> pl.Struct:
    """Decodes the fields the metrics read from a mechanism's paper verdict (judge/core/mechanisms.py)."""
    found = contract(FAMILY, mechanism)
    if found is None:
        raise KeyError(f"mechanism '{mechanism}' has no paper-format verdict")
    props = found.schema().get("properties", {})
    fields = {}
    for name in paper_fields(mechanism).values():
        dtype = _dtype(props[name])
        # Labels and intensities are averaged over judges and repeats: decode scalars as floats.
        fields[name] = dtype if isinstance(dtype, pl.Struct | pl.List) else pl.Float64
    return pl.Struct(fields)


def _fields(mechanism: str) -> list[pl.Expr]:
    """Numeric per-verdict columns for one mechanism, from the decoded verdict struct ``v``."""
    v = pl.col("v")
    names = paper_fields(mechanism)
    if "field" in names:  # conflict avoidance: one label
        return [v.struct.field(names["field"]).alias("label")]
    ref, gen = names["reference"], names["generated"]
    if mechanism == "sentiment_attenuation":
        return [v.struct.field(ref).alias("ref"), v.struct.field(gen).alias("gen")]
    if mechanism == "granularity_mismatch":
        n_ref = v.struct.field(ref).list.len().cast(pl.Float64)
        n_gen = v.struct.field(gen).list.len().cast(pl.Float64)
        # A text with no sentences has no aversive elements: density 0, as the authors' script does.
        return [
            _total(ref).alias("ref"),
            _total(gen).alias("gen"),
            pl.when(n_ref > 0).then(_total(ref) / n_ref).otherwise(0.0).alias("ref_density"),
            pl.when(n_gen > 0).then(_total(gen) / n_gen).otherwise(0.0).alias("gen_density"),
        ]
    return [v.struct.field(ref).struct.field(f).alias(f"ref_{f}") for f in FEATURES] + [
        v.struct.field(gen).struct.field(f).alias(f"gen_{f}") for f in FEATURES
    ]


def judge_item_values(verdicts: pl.DataFrame, mechanism: str) -> pl.DataFrame:
    """One row per rubric version x model x item x judge: the mean over ok repeats of each raw field."""
    rows = verdicts.filter(
        (pl.col("family") == FAMILY)
        & (pl.col("mechanism") == mechanism)
        & (pl.col("status") == "ok")
        & pl.col("verdict").is_not_null()
    )
    keys = [*RUBRIC_KEY, "model", "item_id", "judge"]
    if rows.is_empty():
        return pl.DataFrame(schema={k: pl.Int64 if k == "rubric_version" else pl.String for k in keys})
    decoded = rows.select(*keys, pl.col("verdict").str.json_decode(_verdict_dtype(mechanism)).alias("v"))
    values = decoded.select(*keys, *_fields(mechanism))
    cols = [c for c in values.columns if c not in keys]
    return over_repeats(values, keys, cols).drop("n_repeats")


def panel_item_values(per_judge: pl.DataFrame, *, aggregate: Aggregate = "mean", quorum: int = 1) -> pl.DataFrame:
    """One row per rubric version x model x item with at least ``quorum`` judges: each field's mean
    (or median) over judges, and ``n_judges``."""
    keys = [*RUBRIC_KEY, "model", "item_id"]
    cols = [c for c in per_judge.columns if c not in (*keys, "judge")]
    if not cols:
        return per_judge.drop("judge") if "judge" in per_judge.columns else per_judge
    panel = over_judges(per_judge, keys, cols, aggregate=aggregate, quorum=quorum)
    return panel.filter(~pl.col("below_quorum")).drop("below_quorum").rename({"n_valid_judges": "n_judges"})


# --- statistics on weight matrices (B x n): row b weights each item by its resample count ------


def _ratio(num: np.ndarray, den: np.ndarray) -> np.ndarray:
    with np.errstate(divide="ignore", invalid="ignore"):
        return np.where(den > 0, num / np.where(den > 0, den, 1.0), np.nan)


def _mean(x: np.ndarray) -> Stat:
    return lambda w: _ratio(w @ x, w.sum(axis=1))


def _item_rate_mean(ref: np.ndarray, gen: np.ndarray) -> Stat:
    defined = (ref > 0).astype(np.float64)
    with np.errstate(divide="ignore", invalid="ignore"):
        rate = np.where(ref > 0, (ref - gen) / np.where(ref > 0, ref, 1.0), 0.0)
    return lambda w: _ratio(w @ rate, w @ defined)


def _symmetric_difference(ref: np.ndarray, gen: np.ndarray) -> Stat:
    """Mean over items with ref + gen > 0 of |ref - gen| / ((ref + gen) / 2)."""
    total = ref + gen
    defined = (total > 0).astype(np.float64)
    with np.errstate(divide="ignore", invalid="ignore"):
        rel = np.where(total > 0, np.abs(ref - gen) / (np.where(total > 0, total, 1.0) / 2), 0.0)
    return lambda w: _ratio(w @ rel, w @ defined)


def _auc(ref: np.ndarray, gen: np.ndarray, *, two_sided: bool) -> Stat:
    """P(ref_i > gen_j) + P(ref_i = gen_j) / 2 over all pairs of the group's reference and
    generated values, each item weighted by its resample count (the Mann-Whitney U / (n x n));
    ``two_sided``: |2 auc - 1|. O(n) per resample: the generated values are sorted once and each
    resample's cumulative weights looked up at every reference value's place among them."""
    order = np.argsort(gen, kind="stable")
    below_at = np.searchsorted(gen[order], ref, side="left")
    upto_at = np.searchsorted(gen[order], ref, side="right")

    def stat(w: np.ndarray) -> np.ndarray:
        cum = np.concatenate([np.zeros((w.shape[0], 1)), np.cumsum(w[:, order], axis=1)], axis=1)
        below, upto = cum[:, below_at], cum[:, upto_at]
        wins = (w * (below + (upto - below) / 2)).sum(axis=1)
        total = w.sum(axis=1)
        auc = _ratio(wins, total**2)
        return np.abs(2 * auc - 1) if two_sided else auc

    return stat


def _rate_of_sums(ref: np.ndarray, gen: np.ndarray) -> Stat:
    # (mean ref - mean gen) / mean ref == (sum ref - sum gen) / sum ref under the same weights.
    return lambda w: _ratio(w @ ref - w @ gen, w @ ref)


def _ld_distance(ref: np.ndarray, gen: np.ndarray) -> Stat:
    """ref, gen: (n x k). Reference mean and sd recomputed in every resample; sd 0 drops a feature."""
    sq_diff = (gen - ref) ** 2

    def stat(w: np.ndarray) -> np.ndarray:
        total = w.sum(axis=1, keepdims=True)
        mu = (w @ ref) / total
        var = np.maximum((w @ ref**2) / total - mu**2, 0.0)
        keep = var > 1e-12
        inv = np.where(keep, 1.0 / np.where(keep, var, 1.0), 0.0)
        dist = np.sqrt(np.einsum("nk,bk->bn", sq_diff, inv))
        out = _ratio((w * dist).sum(axis=1), total[:, 0])
        return np.where(keep.any(axis=1), out, np.nan)

    return stat


# --- metric rows ---------------------------------------------------------------------------------


Estimate = tuple[float | None, float | None, float | None]


def _estimate(stats: list[Stat], n: int, *, n_boot: int, seed: int, ci: float) -> list[Estimate]:
    """Estimate and percentile CI of each statistic; one set of resamples serves them all."""
    if n == 0:
        return [(None, None, None)] * len(stats)

    def every(w: np.ndarray) -> np.ndarray:
        return np.stack([stat(w) for stat in stats], axis=1)

    return bootstrap(every, n, n_boot=n_boot, seed=seed, ci=ci).rows()


def _metrics_for(mechanism: str, frame: pl.DataFrame) -> list[tuple[str, Stat, int, str, list[str]]]:
    """(metric, statistic, n_defined, reason if undefined, dropped features) for one group."""
    n = frame.height

    def col(name: str) -> np.ndarray:
        if name not in frame.columns:  # no valid verdicts: the metric rows still appear, as null
            return np.zeros(0)
        return frame[name].cast(pl.Float64).to_numpy()

    if mechanism == "sentiment_attenuation":
        ref, gen = col("ref"), col("gen")
        pos = int((ref > 0).sum())
        return [
            ("sa_compression_item_mean", _item_rate_mean(ref, gen), pos, "every item has reference intensity 0", []),
            ("sa_compression_of_means", _rate_of_sums(ref, gen), n, "mean reference intensity is 0", []),
            ("sa_mean_reference_intensity", _mean(ref), n, "", []),
            ("sa_mean_generated_intensity", _mean(gen), n, "", []),
        ]
    if mechanism == "granularity_mismatch":
        ref, gen = col("ref"), col("gen")
        rd, gd = col("ref_density"), col("gen_density")
        pos = int((ref > 0).sum())
        return [
            ("egm_compression_of_totals", _rate_of_sums(ref, gen), n, "reference texts have no aversive elements", []),
            ("egm_compression_item_mean", _item_rate_mean(ref, gen), pos, "reference totals are all 0", []),
            ("egm_density_difference", _mean(rd - gd), n, "", []),
            ("egm_abs_density_difference", _mean(np.abs(rd - gd)), n, "", []),
            ("egm_symmetric_difference", _symmetric_difference(ref, gen), int((ref + gen > 0).sum()),
             "no item has an aversive element on either side (0/0 for every item)", []),
            ("egm_density_auc", _auc(rd, gd, two_sided=False), n, "", []),
            ("egm_discrimination", _auc(rd, gd, two_sided=True), n, "", []),
            ("egm_mean_reference_density", _mean(rd), n, "", []),
            ("egm_mean_generated_density", _mean(gd), n, "", []),
        ]
    if mechanism == "conflict_avoidance":
        return [("ca_percent_labelled_1", _mean(100.0 * col("label")), n, "", [])]
    ref = np.column_stack([col(f"ref_{f}") for f in FEATURES]) if n else np.zeros((0, len(FEATURES)))
    gen = np.column_stack([col(f"gen_{f}") for f in FEATURES]) if n else np.zeros((0, len(FEATURES)))
    dropped = [f for f, sd in zip(FEATURES, ref.std(axis=0) if n else [0.0] * 3, strict=True) if not sd > 1e-6]
    reason = "every feature has zero spread on the reference side" if len(dropped) == len(FEATURES) else ""
    return [("ld_zscore_distance", _ld_distance(ref, gen), n, reason, dropped)]


def _abstentions(rows: pl.DataFrame) -> str:
    """What an empty group's reason adds when its verdicts were abstentions: how many, and the
    first reason (a judge that could not read the texts never supplies invented values)."""
    gone = rows.filter(pl.col("status") == "abstained")
    if gone.is_empty():
        return ""
    first = gone.sort("item_id", "judge")["error"][0] if "error" in gone.columns else None
    return f" ({gone.height} abstained" + (f": {first})" if first else ")")


def _rows_for(
    frame: pl.DataFrame, mechanism: str, rubric: tuple[str, int], scope: str, judge: str | None, model: str | None,
    *, n_boot: int, seed: int, ci: float, abstained: str = "",
) -> list[dict[str, Any]]:  # fmt: skip
    rows = []
    metrics = _metrics_for(mechanism, frame)
    estimates = _estimate([m[1] for m in metrics], frame.height, n_boot=n_boot, seed=seed, ci=ci)
    for (metric, _, n_defined, why, dropped), (value, lo, hi) in zip(metrics, estimates, strict=True):
        reason = None
        if frame.height == 0:
            reason = f"no valid verdicts{abstained}"
        elif value is None:
            reason = why or "undefined"
        rows.append({
            "mechanism": mechanism, "rubric_id": rubric[0], "rubric_version": rubric[1], "metric": metric,
            "scope": scope, "judge": judge,
            "model": model, "n_items": frame.height, "n_defined": n_defined, "value": value,
            "ci_low": lo, "ci_high": hi, "reason": reason, "dropped": dropped,
        })  # fmt: skip
    return rows


def paper_metrics(
    verdicts: pl.DataFrame,
    *,
    aggregate: Aggregate = "mean",
    quorum: int = 1,
    n_boot: int = 1000,
    seed: int = 0,
    ci: float = 0.95,
) -> pl.DataFrame:
    """Every paper metric for every paper rubric in ``verdicts``: per model and over all models
    (model null), for the panel (scope "panel", judge null) and for each judge (scope "judge").

    Columns: see ``_ROW_SCHEMA``. Sorted by mechanism, metric, scope, judge, model (nulls first).
    """
    rows: list[dict[str, Any]] = []
    if verdicts.height and "family" in verdicts.columns:
        found = set(verdicts.filter(pl.col("family") == FAMILY)["mechanism"].to_list())
        mechanisms = sorted(found & set(WITH_METRICS))
    else:
        mechanisms = []
    for mechanism in mechanisms:
        per_judge = judge_item_values(verdicts, mechanism)
        wanted = verdicts.filter((pl.col("family") == FAMILY) & (pl.col("mechanism") == mechanism))
        for rubric in sorted(set(wanted.select(RUBRIC_KEY).iter_rows())):
            this = (pl.col("rubric_id") == rubric[0]) & (pl.col("rubric_version") == rubric[1])
            pj = per_judge.filter(this) if per_judge.height else per_judge
            panel = panel_item_values(pj, aggregate=aggregate, quorum=quorum) if pj.height else pj
            models = sorted(set(wanted.filter(this)["model"].to_list()))
            judges = sorted(set(wanted.filter(this)["judge"].to_list()))
            kw: dict[str, Any] = {"n_boot": n_boot, "seed": seed, "ci": ci}
            mine_rows = wanted.filter(this)
            for model in [None, *models]:
                def pick(frame: pl.DataFrame, model: str | None = model) -> pl.DataFrame:
                    if frame.is_empty() or model is None:
                        return frame
                    return frame.filter(pl.col("model") == model)

                group = pick(mine_rows)
                rows += _rows_for(pick(panel), mechanism, rubric, "panel", None, model, **kw,
                                  abstained=_abstentions(group))  # fmt: skip
                for judge in judges:
                    mine = pj.filter(pl.col("judge") == judge) if pj.height else pj
                    rows += _rows_for(pick(mine), mechanism, rubric, "judge", judge, model, **kw,
                                      abstained=_abstentions(group.filter(pl.col("judge") == judge)))  # fmt: skip
    frame = pl.DataFrame(rows, schema=_ROW_SCHEMA)
    return frame.sort(["mechanism", *RUBRIC_KEY, "metric", "scope", "judge", "model"], nulls_last=False)


def summary_section(
    verdicts: pl.DataFrame,
    *,
    aggregate: Aggregate = "mean",
    quorum: int = 1,
    n_boot: int = 1000,
    seed: int = 0,
    ci: float = 0.95,
) -> dict[str, Any]:
    """The ``paper_metrics`` key of summary.json: settings plus one record per metric row."""
    return {
        "settings": {
            "n_boot": n_boot,
            "seed": seed,
            "ci": ci,
            "aggregation": f"judge repeats averaged per item, then {aggregate} over judges per item (panel)",
            "quorum": quorum,
            "overall_model": None,
        },
        "rows": paper_metrics(verdicts, aggregate=aggregate, quorum=quorum, n_boot=n_boot, seed=seed, ci=ci).to_dicts(),
    }
