"""Baseline raters (judge/stats/baselines.py) on hand-computed cases, and beside the judges in
calibration: the constant rater's kappa is 0, the length rater reproduces a hand-worked case, the
model rater is the leave-one-out mean of the item's model."""

from __future__ import annotations

import numpy as np
import polars as pl
import pytest

from judge.stats.baselines import baseline_predictions, constant_baseline, length_baseline, model_baseline
from judge.stats.diagnostics import calibration
from tests.panels import SCHEMA


def test_length_baseline_by_hand_falling() -> None:
    # Longer replies have lower gold levels, and the other three items always say so.
    # Item 0 (10 words): mid-rank 1 of 4 -> p = 0.125, falling -> 0.875; the others' gold sorted
    # (0, 1, 3): k = ceil(0.875 * 3) - 1 = 2 -> 3. Item 1: p 0.375 -> 0.625, others (0, 1, 4),
    # k = ceil(1.875) - 1 = 1 -> 1. Item 2: p 0.625 -> 0.375, others (0, 3, 4), k = 1 -> 3.
    # Item 3: p 0.875 -> 0.125, others (1, 3, 4), k = 0 -> 1.
    got = length_baseline(np.array([10, 20, 30, 40]), np.array([4, 3, 1, 0]))
    assert got.tolist() == [3.0, 1.0, 3.0, 1.0]


def test_length_baseline_rising_with_ties_and_never_its_own_label() -> None:
    # Rising: p = (mid-rank - 0.5) / 5; the two 20-word replies share mid-rank 2.5 -> p 0.4.
    # Item 0: p 0.1, others (1, 2, 3, 4), k = ceil(0.4) - 1 = 0 -> 1.
    # Items 1 and 2: p 0.4, k = ceil(1.6) - 1 = 1; others (0, 2, 3, 4) -> 2 and (0, 1, 3, 4) -> 1.
    # Item 3: p 0.7, k = 2, others (0, 1, 2, 4) -> 2. Item 4: p 0.9, k = 3, others (0, 1, 2, 3) -> 3.
    got = length_baseline(np.array([5, 20, 20, 30, 40]), np.array([0, 1, 2, 3, 4]))
    assert got.tolist() == [1.0, 2.0, 1.0, 2.0, 3.0]
    # An item's own label never reaches its prediction: a lone extreme label is never predicted.
    assert 4.0 not in length_baseline(np.array([1, 2, 3, 4, 5]), np.array([0, 0, 0, 0, 4])).tolist()
    assert np.isnan(length_baseline(np.array([3]), np.array([2]))).all()


def test_constant_and_model_baselines() -> None:
    assert constant_baseline(np.array([0, 1, 2, 2])).tolist() == [2.0] * 4  # median 1.5, halves up
    assert constant_baseline(np.array([0, 0, 1, 4, 4])).tolist() == [1.0] * 5
    # a: items 0 and 1 predict each other; b and c have no other item: the others' mean
    got = model_baseline(np.array(["a", "a", "b", "c"]), np.array([4, 2, 1, 0]))
    assert got.tolist() == pytest.approx([2.0, 4.0, 2.0, 7 / 3])
    assert set(baseline_predictions(np.array([1, 2]), models=np.array(["x", "x"]))) == {"constant"}
    assert set(baseline_predictions(np.array([1, 2]), length=np.array([1, 2]), models=np.array(["x", "y"]))) == {
        "constant", "length", "model"}  # fmt: skip


def panel_and_gold(n: int = 60) -> tuple[pl.DataFrame, pl.DataFrame, pl.DataFrame]:
    """A judge that says the gold level; items of two models; gold falls with length."""
    gold = np.array([k % 5 for k in range(n)])
    ids = [f"i{k:03d}" for k in range(n)]
    rows = [(i, "m0" if g < 2 else "m1", "sa-graded", "graded", "sentiment_attenuation", "cognitive", "j", 0, "ok",
             g / 4, 3) for i, g in zip(ids, gold, strict=True)]  # fmt: skip
    verdicts = pl.DataFrame(rows, schema=SCHEMA, orient="row")
    labels = pl.DataFrame({"id": ids, "gold_sentiment_attenuation": gold})
    lengths = pl.DataFrame({"item_id": ids, "length": (200 - 40 * gold + np.arange(n) % 7).tolist()})
    return verdicts, labels, lengths


def test_baselines_sit_beside_the_judge_in_calibration() -> None:
    verdicts, labels, lengths = panel_and_gold()
    got = calibration(verdicts, labels, lengths=lengths, n_boot=200)
    by = {r["rater"]: r for r in got.iter_rows(named=True)}
    assert {r: by[r]["kind"] for r in ("constant", "length", "model")} == dict.fromkeys(
        ("constant", "length", "model"), "baseline")  # fmt: skip
    assert all(by[r]["n"] == 60 for r in ("j", "constant", "length", "model"))
    constant = by["constant"]
    assert constant["kappa_w"] == pytest.approx(0.0, abs=1e-12) and constant["spearman"] is None
    assert constant["mae"] == pytest.approx(np.abs(np.arange(60) % 5 - 2).mean())
    # the length baseline is the hand-checkable function above, calibrated like a judge
    expected = length_baseline(lengths["length"].to_numpy(), labels["gold_sentiment_attenuation"].to_numpy())
    assert by["length"]["mae"] == pytest.approx(np.abs(expected - np.arange(60) % 5).mean())
    assert by["length"]["kappa_w"] > 0.8  # length alone nearly orders this gold
    assert by["j"]["kappa_w"] == pytest.approx(1.0)
