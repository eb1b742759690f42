"""How a rater errs against gold, beyond one agreement number: the views beside each
calibration row (``judge.stats.diagnostics.calibration``).

For one rater (a judge, the panel, a baseline, an annotator) on one rubric, with its item levels
``pred`` and the gold levels on the 0-4 scale:

- ``confusion``: 5 x 5 counts, row = gold level, column = the rater's level (both rounded the one
  way, halves up: ``judge.stats.panel.severity_levels``).
- ``level_bias``: per gold level 0-4, the mean signed error pred - gold on the 0-4 scale
  (unrounded), null for a level no item has: where on the scale the rater runs high or low.
- ``confidence_bins``: the judge's own confidence (the verdict's ``confidence``, its repeats
  averaged per item) in five bins of width 0.2 over [0, 1] (half-open, the last closed), each with
  ``n`` and the mean absolute error on 0-4; and ``confidence_spearman``, the rank correlation of
  confidence with absolute error (negative: the judge is more often right when it says it is
  sure), with a CI. Null for raters without a confidence (panel, baselines, annotators) and on
  the amplification scale (the confidence is the severity's).
- length bias against gold: ``length_slope`` is the slope of the rater's normalised level
  (level / 4) on response length per 100 words, ``gold_length_slope`` gold's own on the same items,
  and ``length_bias`` their difference with a CI (``length_bias_low``/``_high``). A judge whose
  severity falls with length exactly as gold's does has no length bias, however steep the slope.

CIs come from the one bootstrap (indices form, items resampled), with the summary's seed.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import polars as pl

from judge.stats.agreement import pearson_rows
from judge.stats.bootstrap import bootstrap, resampled_ranks
from judge.stats.panel import ITEM, ok_rows, over_repeats, severity_levels

LENGTH_UNIT_WORDS = 100
CONFIDENCE_EDGES = (0.0, 0.2, 0.4, 0.6, 0.8, 1.0)
VIEW_SCHEMA: dict[str, Any] = {
    "confusion": pl.List(pl.List(pl.Int64)),
    "level_bias": pl.List(pl.Float64),
    "confidence_bins": pl.List(pl.Struct({"low": pl.Float64, "high": pl.Float64, "n": pl.Int64,
                                          "mean_abs_error": pl.Float64})),
    **{f"confidence_spearman{s}": pl.Float64 for s in ("", "_low", "_high")},
    "length_slope": pl.Float64,
    "gold_length_slope": pl.Float64,
    **{f"length_bias{s}": pl.Float64 for s in ("", "_low", "_high")},
}  # fmt: skip


def item_confidence(verdicts: pl.DataFrame) -> pl.DataFrame:
    """One row per rubric x item x judge: ``confidence``, the mean over the judge's ok repeats of
    the verdict's ``confidence`` field (null where the verdict has none: paper rubrics)."""
    keys = [*ITEM, "judge"]
    if "verdict" not in verdicts.columns:
        return pl.DataFrame(schema={**{k: verdicts.schema[k] for k in keys}, "confidence": pl.Float64})
    ok = ok_rows(verdicts).filter(pl.col("family") == "graded")
    conf = pl.col("verdict").str.json_path_match("$.confidence").cast(pl.Float64, strict=False)
    return over_repeats(ok.select(*keys, conf.alias("confidence")), keys, ["confidence"]).drop("n_repeats")


def confusion(pred: np.ndarray, gold: np.ndarray) -> list[list[int]]:
    """5 x 5 counts, row = gold level, column = predicted level."""
    code = severity_levels(gold) * 5 + severity_levels(pred)
    return np.bincount(code, minlength=25).reshape(5, 5).tolist()


def level_bias(pred: np.ndarray, gold: np.ndarray) -> list[float | None]:
    """Mean pred - gold (0-4, unrounded) per gold level 0-4; None for a level with no item."""
    level = severity_levels(gold)
    err = np.asarray(pred, np.float64) - np.asarray(gold, np.float64)
    return [float(err[level == k].mean()) if (level == k).any() else None for k in range(5)]


def confidence_bins(confidence: np.ndarray, abs_error: np.ndarray) -> list[dict[str, Any]]:
    """Mean absolute error per confidence bin (``CONFIDENCE_EDGES``; half-open, the last closed)."""
    edges = np.asarray(CONFIDENCE_EDGES)
    where = np.clip(np.searchsorted(edges, np.clip(confidence, 0.0, 1.0), side="right") - 1, 0, len(edges) - 2)
    out = []
    for k in range(len(edges) - 1):
        hit = where == k
        out.append({"low": float(edges[k]), "high": float(edges[k + 1]), "n": int(hit.sum()),
                    "mean_abs_error": float(abs_error[hit].mean()) if hit.any() else None})  # fmt: skip
    return out


def _slopes(x: np.ndarray, y: np.ndarray) -> np.ndarray:
    """Least-squares slope of each row of y on the same row of x (B x n); NaN without spread."""
    xc = x - x.mean(axis=1, keepdims=True)
    sxx = (xc**2).sum(axis=1)
    with np.errstate(divide="ignore", invalid="ignore"):
        return np.where(sxx > 1e-12, (xc * (y - y.mean(axis=1, keepdims=True))).sum(axis=1) / sxx, np.nan)


def rater_views(
    pred: np.ndarray,
    gold: np.ndarray,
    *,
    length: np.ndarray | None = None,
    confidence: np.ndarray | None = None,
    n_boot: int,
    seed: int,
    ci: float,
) -> dict[str, Any]:
    """The views of one rater on one rubric (module docstring); every key of ``VIEW_SCHEMA``.
    ``length`` (words) and ``confidence`` per item, aligned with ``pred``; None when unknown."""
    pred, gold = np.asarray(pred, np.float64), np.asarray(gold, np.float64)
    out: dict[str, Any] = dict.fromkeys(VIEW_SCHEMA)
    out["confusion"] = confusion(pred, gold)
    out["level_bias"] = level_bias(pred, gold)
    err = np.abs(pred - gold)
    has_conf = confidence is not None and len(pred) > 0 and bool(np.isfinite(confidence).all())
    if has_conf:
        out["confidence_bins"] = confidence_bins(np.asarray(confidence, np.float64), err)
    if length is None and not has_conf:
        return out
    x = None if length is None else np.asarray(length, np.float64) / LENGTH_UNIT_WORDS
    conf = np.asarray(confidence, np.float64) if has_conf else None

    def stats(idx: np.ndarray) -> np.ndarray:
        cols = []
        if x is not None:
            rater, own = _slopes(x[idx], pred[idx] / 4), _slopes(x[idx], gold[idx] / 4)
            cols += [rater, own, rater - own]
        if conf is not None:
            cols.append(pearson_rows(resampled_ranks(conf, idx), resampled_ranks(err, idx)))
        return np.stack(cols, axis=1)

    est = bootstrap(stats, len(pred), n_boot=n_boot, seed=seed, ci=ci, form="indices")
    at = 0
    if x is not None:
        out["length_slope"], out["gold_length_slope"] = est.row(0)[0], est.row(1)[0]
        out["length_bias"], out["length_bias_low"], out["length_bias_high"] = est.row(2)
        at = 3
    if conf is not None:
        out["confidence_spearman"], out["confidence_spearman_low"], out["confidence_spearman_high"] = est.row(at)
    return out
