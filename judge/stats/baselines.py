"""Baseline raters for calibration: what a judge must beat to be worth its cost.

Each baseline predicts an item's 0-4 level from something other than reading the texts, and is
calibrated against gold exactly like a judge (``judge.stats.diagnostics.calibration``, kind
``baseline``). None of them sees the item's own gold label.

- ``length``: a rater whose level is a monotone function of the response's length. The item's
  length percentile among the rubric's items (mid-ranks, ties averaged) is mapped onto the gold
  level distribution of the *other* items (leave-one-out, inverted CDF), in the direction the
  other items' lengths and labels go together (the sign of their covariance; increasing when it
  is 0). It keeps gold's own spread of levels, so its kappa is the best any length-only rater of
  that shape could show, without fitting to the item itself.
- ``constant``: the median gold level of the rubric's items (halves up), for every item. Its
  weighted kappa is 0 by construction and its Spearman undefined; its MAE is the floor a judge
  must beat.
- ``model``: which model under test wrote the reply: the mean gold level of the other items of
  the same model (leave-one-out); an item whose model has no other item gets the mean of all
  other items. Only where the items come from at least two models.
"""

from __future__ import annotations

import numpy as np

from judge.stats.agreement import average_ranks
from judge.stats.panel import severity_levels

BASELINES = ("constant", "length", "model")


def constant_baseline(gold: np.ndarray) -> np.ndarray:
    """The median gold level (halves up) for every item."""
    gold = np.asarray(gold, np.float64)
    if len(gold) == 0:
        return gold
    return np.full(len(gold), float(severity_levels(np.array([np.median(gold)]))[0]))


def length_baseline(length: np.ndarray, gold: np.ndarray) -> np.ndarray:
    """Leave-one-out quantile map from response length onto the other items' gold levels.

    Item i's percentile is p = (mid-rank of its length - 0.5) / n, reversed (1 - p) when the other
    items' lengths and gold levels covary negatively; its prediction is the smallest of the other
    n - 1 gold values whose empirical CDF reaches p (the k-th smallest, k = ceil(p (n - 1)) - 1).
    Undefined (NaN) with fewer than two items.
    """
    x, g = np.asarray(length, np.float64), np.asarray(gold, np.float64)
    n = len(g)
    if n < 2:
        return np.full(n, np.nan)
    m = n - 1
    # (n - 1) x the covariance of the other items, from the totals without item i
    sx, sg, sxg = x.sum() - x, g.sum() - g, (x * g).sum() - x * g
    falling = sxg - sx * sg / m < -1e-9
    p = (average_ranks(x) - 0.5) / n
    p = np.where(falling, 1 - p, p)
    k = np.clip(np.ceil(p * m - 1e-9).astype(np.int64) - 1, 0, m - 1)
    ordered = np.sort(g)
    own = np.searchsorted(ordered, g, side="left")  # one place of item i's own label, to skip it
    return np.where(k < own, ordered[k], ordered[np.minimum(k + 1, n - 1)])


def model_baseline(models: np.ndarray, gold: np.ndarray) -> np.ndarray:
    """Leave-one-out mean gold of the item's model; the other items' mean when its model has no
    other item. NaN with fewer than two items."""
    g = np.asarray(gold, np.float64)
    n = len(g)
    if n < 2:
        return np.full(n, np.nan)
    _, code = np.unique(np.asarray(models, dtype=object).astype(str), return_inverse=True)
    sums = np.bincount(code, weights=g)
    sizes = np.bincount(code)
    others = sizes[code] - 1
    with np.errstate(divide="ignore", invalid="ignore"):
        same = (sums[code] - g) / np.where(others > 0, others, 1)
    return np.where(others > 0, same, (g.sum() - g) / (n - 1))


def baseline_predictions(
    gold: np.ndarray, *, length: np.ndarray | None = None, models: np.ndarray | None = None
) -> dict[str, np.ndarray]:
    """Each baseline that the facts given allow, by name: ``constant`` always, ``length`` with the
    items' response lengths, ``model`` with their models under test when there are at least two.
    The leave-one-out baselines need at least two items."""
    out = {"constant": constant_baseline(gold)}
    if len(gold) < 2:
        return out
    if length is not None:
        out["length"] = length_baseline(length, gold)
    if models is not None and len(set(np.asarray(models, dtype=object).tolist())) >= 2:
        out["model"] = model_baseline(models, gold)
    return out
