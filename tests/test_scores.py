"""Panel scores and per-rubric agreement on hand-made and synthetic panels."""

from __future__ import annotations

import numpy as np
import polars as pl
import pytest
from polars.testing import assert_frame_equal

from judge.stats.agreement import alpha_data, krippendorff_alpha
from judge.stats.panel import item_panel
from judge.stats.scores import panel_scores, rubric_agreement
from tests.panels import SCHEMA, has_nan, synth

RUBRIC = ("sa-graded", "graded", "sentiment_attenuation")


def rows(*spec: tuple[str, str, int, str, float | None]) -> pl.DataFrame:
    """(item, judge, repeat, status, score) rows on one rubric, model m, dimension cognitive."""
    return pl.DataFrame(
        [(i, "m", *RUBRIC, "cognitive", j, r, s, x, 1) for i, j, r, s, x in spec],
        schema=SCHEMA,
        orient="row",
    )


SMALL = rows(
    ("a", "j1", 0, "ok", 0.25),
    ("a", "j1", 1, "ok", 0.75),  # j1's score for a: mean of repeats, 0.5
    ("a", "j2", 0, "ok", 1.0),
    ("b", "j1", 0, "ok", 0.0),
    ("b", "j2", 0, "invalid", None),  # b has one valid judge
    ("c", "j1", 0, "error", None),
    ("c", "j2", 0, "invalid", None),  # c has none, yet is counted
)


def expected_scores(n_scored: int, below: int, mean: float | None) -> pl.DataFrame:
    return pl.DataFrame(
        {
            "rubric_id": ["sa-graded"], "rubric_version": [1], "family": ["graded"],
            "mechanism": ["sentiment_attenuation"], "dimension": ["cognitive"], "model": ["m"],
            "n_items": [3], "n_scored": [n_scored], "n_below_quorum": [below],
            "mean": [mean], "ci_low": [None], "ci_high": [None], "n_amplification": [0],
            **{f"amplification_{s}{e}": [None] for s in ("rate", "mean") for e in ("", "_ci_low", "_ci_high")},
        },
        schema_overrides={"mean": pl.Float64, "ci_low": pl.Float64, "ci_high": pl.Float64,
                          **{f"amplification_{s}{e}": pl.Float64 for s in ("rate", "mean")
                             for e in ("", "_ci_low", "_ci_high")}},
    )  # fmt: skip


def test_quorum_reports_items_below_it() -> None:
    got = panel_scores(SMALL, quorum=2, n_boot=100)
    # only item a reaches two valid judges; one scored item gives no interval
    assert_frame_equal(got, expected_scores(1, 2, 0.75))


def test_quorum_one_and_median() -> None:
    panel = item_panel(SMALL, aggregate="median", quorum=1)
    assert panel["panel"].to_list() == [0.75, 0.0, None]
    assert panel["n_valid_judges"].to_list() == [2, 1, 0]
    got = panel_scores(SMALL, quorum=1, n_boot=200)
    assert got["n_scored"].item() == 2 and got["n_below_quorum"].item() == 1
    assert got["mean"].item() == pytest.approx(0.375)
    assert got["ci_low"].item() == pytest.approx(0.0)
    assert got["ci_high"].item() == pytest.approx(0.75)


def test_bad_arguments() -> None:
    with pytest.raises(ValueError, match="aggregate"):
        panel_scores(SMALL, aggregate="mode")  # type: ignore[arg-type]
    with pytest.raises(ValueError, match="quorum"):
        panel_scores(SMALL, quorum=0)
    with pytest.raises(ValueError, match="lacks column"):
        panel_scores(SMALL.drop("judge"))


def test_more_judges_and_repeats_do_not_fake_precision() -> None:
    one = panel_scores(synth({"j": "identical"}, repeats=1), n_boot=500, seed=4)
    many = panel_scores(
        synth({f"j{k}": "identical" for k in range(6)}, repeats=3), n_boot=500, seed=4
    )
    assert_frame_equal(one, many)


def test_panel_ci_is_seeded_and_covers_the_mean() -> None:
    v = synth({"a": "random", "b": "random"}, n_items=300)
    first = panel_scores(v, n_boot=300, seed=9)
    assert_frame_equal(first, panel_scores(v, n_boot=300, seed=9))
    assert ((first["ci_low"] < first["mean"]) & (first["mean"] < first["ci_high"])).all()
    assert not has_nan(first)


@pytest.mark.parametrize("level", ["nominal", "ordinal", "interval", "ratio"])
def test_weighted_alpha_equals_duplicated_units(level: str) -> None:
    # Bootstrap weights must act exactly like copies of the resampled units.
    rng = np.random.default_rng(2)
    df = pl.DataFrame(
        {"unit": np.repeat(np.arange(30), 3), "rater": np.tile(["a", "b", "c"], 30),
         "value": rng.integers(1, 5, 90)}
    ).filter(pl.col("value") != 4)  # some missing  # fmt: skip
    data = alpha_data(df, level=level)  # type: ignore[arg-type]
    w = rng.integers(0, 3, data.n_units)
    copies = pl.concat(
        [
            df.filter(pl.col("unit") == u).with_columns(pl.lit(f"{u}-{k}").alias("unit"))
            for u, n in zip(data.units, w, strict=True)
            for k in range(n)
        ]
    )
    expected = krippendorff_alpha(copies, level=level).value  # type: ignore[arg-type]
    assert data.alpha(w[None].astype(float))[0] == pytest.approx(expected, abs=1e-12)


@pytest.mark.parametrize(
    ("kinds", "low", "high"),
    [
        pytest.param({"a": "identical", "b": "identical", "c": "identical"}, 1.0, 1.0, id="same"),
        pytest.param({"a": "random", "b": "random", "c": "random"}, -0.1, 0.1, id="random"),
    ],
)
def test_alpha_on_known_panels(kinds: dict[str, str], low: float, high: float) -> None:
    got = rubric_agreement(synth(kinds, invalid=0.05), n_boot=200)
    row = got.row(0, named=True)
    assert low - 1e-9 <= row["alpha"] <= high + 1e-9
    assert row["ci_low"] <= row["alpha"] <= row["ci_high"]
    assert row["level"] == "ordinal" and row["n_items"] == 200
    assert low - 1e-9 <= row["fleiss_kappa"] <= high + 1e-9
    if kinds["a"] == "random":
        assert row["ci_low"] < 0 < row["ci_high"]


def test_alpha_undefined_when_all_agree_on_one_value() -> None:
    v = synth({"a": "identical", "b": "identical"}).with_columns(pl.lit(0.5).alias("score"))
    row = rubric_agreement(v, n_boot=50).row(0, named=True)
    assert row["alpha"] is None and row["reason"] == "no variation"
    assert row["ci_low"] is None and row["percent_agreement"] == 1.0


def two_sided(n: int = 40) -> pl.DataFrame:
    """A graded v3 rubric judged by two judges over two models: 'sober' replies attenuate (severity
    2, amplification 0), 'dramatic' ones melodramatise (severity 0, so they look faithful on
    severity, and amplification 3 from one judge, 2 from the other). One more item of each kind
    pins the threshold: panel amplification 1.5 (levels 2 and 1) counts, 1.0 does not. A paper
    rubric beside it has no amplification scale."""
    rows = []
    for i in range(n):
        model = "dramatic" if i % 2 else "sober"
        for judge, amp in (("j1", 3), ("j2", 2)):
            sev, a = (0, amp) if model == "dramatic" else (2, 0)
            rows.append((f"i{i:03d}", model, *RUBRIC, "cognitive", judge, 0, "ok", sev / 4, 3, a / 4))
            rows.append((f"i{i:03d}", model, "sa-paper", "paper", RUBRIC[2], "cognitive", judge, 0, "ok", 0.1, 1,
                         None))  # fmt: skip
    for item, amps in (("half", (2, 1)), ("one", (1, 1))):
        for judge, a in zip(("j1", "j2"), amps, strict=True):
            rows.append((item, "edge", *RUBRIC, "cognitive", judge, 0, "ok", 0.0, 3, a / 4))
    return pl.DataFrame(rows, schema={**SCHEMA, "amplification": pl.Float64}, orient="row")


def test_amplification_rate_makes_a_melodramatic_model_stand_out() -> None:
    got = panel_scores(two_sided(), n_boot=300, seed=2)
    by = {(r["rubric_id"], r["model"]): r for r in got.iter_rows(named=True)}
    sober, dramatic = by[("sa-graded", "sober")], by[("sa-graded", "dramatic")]
    # On severity alone the melodramatic model looks faithful ...
    assert dramatic["mean"] == 0.0 < sober["mean"] == 0.5
    # ... and beside it, every one of its items is amplified (panel 2.5 -> level 3 >= 2), the sober none.
    assert dramatic["n_amplification"] == 20 and dramatic["amplification_rate"] == 1.0
    assert dramatic["amplification_mean"] == pytest.approx(2.5 / 4)
    assert (dramatic["amplification_rate_ci_low"], dramatic["amplification_rate_ci_high"]) == (1.0, 1.0)
    assert sober["amplification_rate"] == 0.0 and sober["amplification_mean"] == 0.0
    # the threshold on the panel level, halves up: 1.5 counts, 1.0 does not
    edge = by[("sa-graded", "edge")]
    assert edge["amplification_rate"] == pytest.approx(0.5)
    assert edge["amplification_rate_ci_low"] == 0.0 and edge["amplification_rate_ci_high"] == 1.0
    assert panel_scores(two_sided(), n_boot=0, amplified_at=3).filter(pl.col("model") == "edge")[
        "amplification_rate"].item() == 0.0  # fmt: skip
    # a rubric without an amplification scale: no amplification figures, not zeros
    paper = by[("sa-paper", "dramatic")]
    assert paper["n_amplification"] == 0 and paper["amplification_rate"] is None
    assert paper["amplification_mean"] is None and paper["amplification_rate_ci_low"] is None
    assert not has_nan(got)


def test_amplification_ci_from_the_one_bootstrap() -> None:
    # a half-amplified cell: its rate's CI is a real interval around 0.5, seeded
    v = two_sided(80).with_columns(
        pl.when((pl.col("model") == "dramatic")
                & (pl.col("item_id").str.slice(1).cast(pl.Int64, strict=False) % 4 == 1))
        .then(0.0).otherwise(pl.col("amplification")).alias("amplification")
    )  # fmt: skip
    a = panel_scores(v, n_boot=400, seed=5).filter((pl.col("model") == "dramatic") & (pl.col("family") == "graded"))
    assert_frame_equal(a, panel_scores(v, n_boot=400, seed=5).filter(
        (pl.col("model") == "dramatic") & (pl.col("family") == "graded")))  # fmt: skip
    row = a.row(0, named=True)
    assert row["amplification_rate"] == pytest.approx(0.5)
    assert 0.2 < row["amplification_rate_ci_low"] < 0.5 < row["amplification_rate_ci_high"] < 0.8
