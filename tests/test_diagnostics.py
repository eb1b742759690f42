"""Calibration, judge diagnostics and disagreement triage on panels with known structure."""

from __future__ import annotations

import numpy as np
import polars as pl
import pytest

from judge.stats.diagnostics import calibration, disagreement, judge_diagnostics
from tests.panels import has_nan, synth, truth

GOOD3_ADV = {"a": "identical", "b": "identical", "c": "identical", "adv": "adversarial"}


def gold_frame(n_items: int = 200, *, annotators: bool = True) -> pl.DataFrame:
    sev = truth(n_items)
    noisy = np.clip(sev + np.random.default_rng(7).integers(-1, 2, n_items), 0, 4)
    cols: dict[str, object] = {"id": [f"i{i:04d}" for i in range(n_items)]}
    cols["gold_sentiment_attenuation"] = sev
    if annotators:
        cols["gold_sentiment_attenuation__ann1"] = sev
        cols["gold_sentiment_attenuation__ann2"] = noisy
    return pl.DataFrame(cols)


def test_adversarial_judge_is_flagged() -> None:
    got = judge_diagnostics(synth(GOOD3_ADV, invalid=0.05))
    flagged = got.filter(pl.col("flagged"))["judge"].to_list()
    assert flagged == ["adv"]
    adv = got.filter(pl.col("judge") == "adv").row(0, named=True)
    assert adv["loo_alpha"] < -0.9 and adv["loo_spearman"] == pytest.approx(-1.0)
    assert adv["retest_alpha"] == pytest.approx(1.0)  # consistently wrong
    assert not has_nan(got)


def test_invalid_rate_counts_every_status() -> None:
    v = synth({"a": "identical", "b": "identical"}, n_items=10, repeats=1).with_columns(
        pl.when(pl.col("item_id") == "i0000")
        .then(pl.lit("error"))
        .when(pl.col("item_id") == "i0001")
        .then(pl.lit("skipped"))
        .otherwise(pl.col("status"))
        .alias("status")
    )
    row = judge_diagnostics(v).row(0, named=True)
    assert (row["n_rows"], row["n_ok"], row["n_error"], row["n_skipped"]) == (10, 8, 1, 1)
    assert row["invalid_rate"] == pytest.approx(1 / 9)


def test_judge_without_valid_verdicts_still_listed() -> None:
    v = synth({"a": "identical", "b": "identical", "z": "identical"}, n_items=20)
    v = v.with_columns(
        pl.when(pl.col("judge") == "z").then(pl.lit("invalid")).otherwise("status").alias("status")
    )
    z = judge_diagnostics(v).filter(pl.col("judge") == "z").row(0, named=True)
    assert z["invalid_rate"] == 1.0 and z["loo_alpha"] is None and z["flagged"] is False


@pytest.mark.parametrize(
    ("kinds", "n_eff"),
    [
        pytest.param({f"j{k}": "identical" for k in range(4)}, 1.0, id="identical-redundant"),
        pytest.param({f"j{k}": "random" for k in range(4)}, 4.0, id="independent"),
    ],
)
def test_effective_number_of_judges(kinds: dict[str, str], n_eff: float) -> None:
    got = judge_diagnostics(synth(kinds, n_items=400, repeats=1))
    assert got["n_eff"][0] == pytest.approx(n_eff, abs=0.3)
    assert got["error_basis"][0] == "scores"
    assert got["retest_alpha"].null_count() == 4  # one repeat: no test-retest


def test_error_correlation_against_gold() -> None:
    # A random judge's item score is the mean of 2 uniform 0-4 draws (variance 1); its error
    # against gold subtracts the shared truth (variance 2), so two judges' errors correlate
    # at var(truth) / (1 + var(truth)) = 2/3.
    got = judge_diagnostics(
        synth({f"j{k}": "random" for k in range(3)}, n_items=400), gold=gold_frame(400)
    )
    assert got["error_basis"][0] == "gold"
    assert got["mean_error_corr"][0] == pytest.approx(2 / 3, abs=0.06)


def test_calibration_per_judge_panel_and_humans() -> None:
    got = calibration(synth(GOOD3_ADV), gold_frame(), n_boot=200)
    assert got.columns[:7] == ["rubric_id", "rubric_version", "mechanism", "scale", "kind", "rater", "n"]
    by = {r["rater"]: r for r in got.iter_rows(named=True)}
    # no response lengths given: no length baseline; two models under test: the model baseline
    assert set(by) == {"a", "b", "c", "adv", "panel", "ann1~ann2", "constant", "model"}
    assert {by[b]["kind"] for b in ("constant", "model")} == {"baseline"} and set(got["scale"]) == {"severity"}
    assert by["a"]["kappa_w"] == pytest.approx(1.0) and by["a"]["mae"] == 0.0
    assert by["adv"]["kappa_w"] < -0.9 and by["adv"]["spearman"] == pytest.approx(-1.0)
    assert by["panel"]["spearman"] == pytest.approx(1.0)  # 3 right, 1 mirrored: still monotone
    human = by["ann1~ann2"]
    assert human["kind"] == "annotators" and 0.5 < human["kappa_w"] < 1.0
    assert human["kappa_w_low"] < human["kappa_w"] < human["kappa_w_high"]
    assert not has_nan(got)


def test_calibration_skips_paper_rubrics_and_missing_gold() -> None:
    paper = synth({"a": "identical"}, rubric=("sa-paper", "paper", "sentiment_attenuation"))
    assert calibration(paper, gold_frame(), n_boot=10).height == 0
    other = gold_frame().rename({"gold_sentiment_attenuation": "gold_conflict_avoidance"})
    other = other.drop("gold_sentiment_attenuation__ann1", "gold_sentiment_attenuation__ann2")
    assert calibration(synth({"a": "identical"}), other, n_boot=10).height == 0


def test_disagreement_ranks_and_attaches_snippets() -> None:
    v = synth({"a": "identical", "adv": "adversarial"}, n_items=6, repeats=1)
    items = pl.DataFrame(
        {"id": [f"i{i:04d}" for i in range(6)], "source": ["s" * 500] * 6, "response": ["r"] * 6}
    )
    got = disagreement(v, items, top=3, snippet=10)
    assert got.height == 3 and got["rank"].to_list() == [1, 2, 3]
    assert got["range"].is_sorted(descending=True)
    sev = truth(6)
    assert got["range"][0] == pytest.approx(np.abs(4 - 2 * sev).max() / 4)
    assert got["source_snippet"][0] == "s" * 10
