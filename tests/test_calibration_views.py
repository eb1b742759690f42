"""Calibration views (judge/stats/calibration_views.py) on a small hand-made panel: confusion
matrix, level bias, confidence against error, length bias against gold's own slope, and the
amplification scale calibrated against amplification labels."""

from __future__ import annotations

import json
from typing import Any

import numpy as np
import polars as pl
import pytest

from judge.stats.diagnostics import calibration
from judge.store.rundir import VERDICT_COLUMNS, polars_schema

GOLD = [0, 1, 2, 3, 4]
SEVERITY = [0, 2, 2, 4, 3]
CONFIDENCE = [0.9, 0.3, 0.85, 0.5, 0.1]
AMPLIFICATION = [0, 0, 1, 3, 4]
AMP_GOLD = {"ann1": [0, 0, 1, 3, 3], "ann2": [0, 1, 1, 3, None]}


def verdict_row(k: int) -> dict[str, Any]:
    row: dict[str, Any] = dict.fromkeys(VERDICT_COLUMNS)
    body = {"severity": SEVERITY[k], "amplification": AMPLIFICATION[k], "confidence": CONFIDENCE[k]}
    row.update(
        item_id=f"i{k}", task="news", model="m", rubric_id="sa-graded", rubric_version=3, family="graded",
        mechanism="sentiment_attenuation", dimension="cognitive", judge="j", repeat=0, status="ok",
        score=SEVERITY[k] / 4, raw_score=SEVERITY[k], amplification=AMPLIFICATION[k] / 4, verdict=json.dumps(body),
        attempts=1, cached=False,
    )  # fmt: skip
    return row


def hand_panel() -> pl.DataFrame:
    return pl.DataFrame([verdict_row(k) for k in range(5)], schema=polars_schema())


def labels() -> pl.DataFrame:
    return pl.DataFrame(
        {"id": [f"i{k}" for k in range(5)], "gold_sentiment_attenuation": GOLD,
         **{f"amplification_sentiment_attenuation__{a}": v for a, v in AMP_GOLD.items()}},
        schema_overrides={f"amplification_sentiment_attenuation__{a}": pl.Int64 for a in AMP_GOLD},
    )  # fmt: skip


LENGTHS = pl.DataFrame({"item_id": [f"i{k}" for k in range(5)], "length": [100, 200, 300, 400, 500]})


def rows(got: pl.DataFrame, scale: str) -> dict[str, dict[str, Any]]:
    return {r["rater"]: r for r in got.filter(pl.col("scale") == scale).iter_rows(named=True)}


def test_confusion_level_bias_and_confidence_by_hand() -> None:
    got = rows(calibration(hand_panel(), labels(), lengths=LENGTHS, n_boot=200), "severity")
    j = got["j"]
    expected = np.zeros((5, 5), int)
    for g, p in zip(GOLD, SEVERITY, strict=True):
        expected[g, p] += 1  # row: gold level, column: the judge's
    assert j["confusion"] == expected.tolist()
    # signed error per gold level: 0, +1, 0, +1, -1
    assert j["level_bias"] == [0.0, 1.0, 0.0, 1.0, -1.0]
    # |error| 0, 1, 0, 1, 1 by confidence bin: 0.1 -> [0, .2), 0.3 -> [.2, .4), 0.5 -> [.4, .6),
    # none in [.6, .8), 0.9 and 0.85 -> [.8, 1]
    bins = [(b["low"], b["high"], b["n"], b["mean_abs_error"]) for b in j["confidence_bins"]]
    assert bins == [(0.0, 0.2, 1, 1.0), (0.2, 0.4, 1, 1.0), (0.4, 0.6, 1, 1.0), (0.6, 0.8, 0, None),
                    (0.8, 1.0, 2, 0.0)]  # fmt: skip
    conf_ranks, err_ranks = np.array([5, 2, 4, 3, 1]), np.array([1.5, 4, 1.5, 4, 4])
    assert j["confidence_spearman"] == pytest.approx(np.corrcoef(conf_ranks, err_ranks)[0, 1])
    assert j["confidence_spearman"] < 0  # sure when right
    # the panel and the baselines have no confidence of their own
    assert got["panel"]["confidence_bins"] is None and got["constant"]["confidence_spearman"] is None
    assert got["panel"]["confusion"] == j["confusion"]  # one judge: the panel is the judge


def test_length_bias_is_measured_against_golds_own_slope() -> None:
    got = rows(calibration(hand_panel(), labels(), lengths=LENGTHS, n_boot=300), "severity")
    j = got["j"]
    # per 100 words x = 1..5; judge level / 4 = 0, .5, .5, 1, .75 -> slope 2.0 / 10 = 0.2;
    # gold / 4 = 0, .25, .5, .75, 1 -> slope 0.25. The judge rises with length, but less than gold.
    assert j["length_slope"] == pytest.approx(0.2) and j["gold_length_slope"] == pytest.approx(0.25)
    assert j["length_bias"] == pytest.approx(-0.05)
    assert j["length_bias_low"] <= j["length_bias"] <= j["length_bias_high"]
    # the constant rater ignores length entirely: its bias is minus gold's slope
    assert got["constant"]["length_bias"] == pytest.approx(-0.25)
    # without lengths there is no length view, and no length baseline
    plain = rows(calibration(hand_panel(), labels(), n_boot=50), "severity")
    assert plain["j"]["length_bias"] is None and "length" not in plain


def test_amplification_is_calibrated_against_amplification_labels() -> None:
    got = calibration(hand_panel(), labels(), lengths=LENGTHS, n_boot=100)
    assert got["scale"].to_list()[:1] == ["severity"] and "amplification" in got["scale"].to_list()
    amp = rows(got, "amplification")
    # gold = the annotators' mean: 0, 0.5, 1, 3, 3 (ann2 has no label for i4)
    j = amp["j"]
    assert j["n"] == 5 and j["mae"] == pytest.approx((0 + 0.5 + 0 + 0 + 1) / 5)
    # gold levels (halves up) 0, 1, 1, 3, 3; errors 0, -0.5, 0, 0, +1
    assert j["level_bias"] == [0.0, -0.25, None, 0.5, None]
    assert j["confidence_bins"] is None  # the confidence is the severity's
    assert amp["ann1~ann2"]["kind"] == "annotators" and amp["ann1~ann2"]["n"] == 4
    assert {"panel", "constant", "length"} <= set(amp)
