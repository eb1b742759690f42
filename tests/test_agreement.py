"""Agreement coefficients against published worked examples, plus degenerate cases."""

from __future__ import annotations

import numpy as np
import polars as pl
import pytest

from judge.stats.agreement import (
    NO_PAIRABLE,
    NO_VARIATION,
    average_ranks,
    cohen_kappa,
    fleiss_kappa,
    gwet_ac1,
    kendall_tau_b,
    krippendorff_alpha,
    pairwise_correlations,
    percent_agreement,
    spearman_rho,
)

TOL = 1e-3


def long(matrix: dict[str, list[object]]) -> pl.DataFrame:
    """rater -> ratings per unit (None = missing) into the long format."""
    rows = [(u, r, v) for r, vs in matrix.items() for u, v in enumerate(vs) if v is not None]
    return pl.DataFrame(rows, schema=["unit", "rater", "value"], orient="row")


def from_table(table: list[list[int]]) -> pl.DataFrame:
    """A two-rater contingency table (rows rater a, columns rater b) into long format."""
    rows, unit = [], 0
    for i, row in enumerate(table):
        for j, count in enumerate(row):
            for _ in range(count):
                rows += [(unit, "a", i), (unit, "b", j)]
                unit += 1
    return pl.DataFrame(rows, schema=["unit", "rater", "value"], orient="row")


def from_multisets(subjects: list[list[int]]) -> pl.DataFrame:
    """Each subject's ratings (rater identity irrelevant) into long format."""
    rows = [(u, f"r{k}", v) for u, vs in enumerate(subjects) for k, v in enumerate(vs)]
    return pl.DataFrame(rows, schema=["unit", "rater", "value"], orient="row")


# Krippendorff (2011), "Computing Krippendorff's Alpha-Reliability", section E: 4 observers,
# 12 units, values 1-5, missing data. Unit 12 has a single value and drops out. The same matrix
# is Gwet's `cac.raw4raters` data set (irrCAC package, Gwet 2014 Handbook), used below too.
KRIPPENDORFF_2011 = long(
    {
        "A": [1, 2, 3, 3, 2, 1, 4, 1, 2, None, None, None],
        "B": [1, 2, 3, 3, 2, 2, 4, 1, 2, 5, None, 3],
        "C": [None, 3, 3, 3, 2, 3, 4, 2, 2, 5, 1, None],
        "D": [1, 2, 3, 3, 2, 4, 4, 1, 2, 5, 1, None],
    }
)


@pytest.mark.parametrize(
    ("level", "expected"),
    [
        pytest.param("nominal", 0.743, id="nominal"),
        pytest.param("ordinal", 0.815, id="ordinal"),
        pytest.param("interval", 0.849, id="interval"),
        pytest.param("ratio", 0.797, id="ratio"),
    ],
)
def test_krippendorff_2011_worked_example(level: str, expected: float) -> None:
    got = krippendorff_alpha(KRIPPENDORFF_2011, level=level)  # type: ignore[arg-type]
    assert got.value == pytest.approx(expected, abs=TOL)
    assert got.n_units == 11


def test_gwet_raw4raters() -> None:
    # Gwet (2014) Handbook of Inter-Rater Reliability, 4th ed.; values as printed in the irrCAC
    # package README/vignette by Gwet: pa 0.8181818, AC1 0.77544, Fleiss 0.76117.
    assert percent_agreement(KRIPPENDORFF_2011).value == pytest.approx(0.8181818, abs=TOL)
    assert gwet_ac1(KRIPPENDORFF_2011).value == pytest.approx(0.77544, abs=TOL)
    assert fleiss_kappa(KRIPPENDORFF_2011).value == pytest.approx(0.76117, abs=TOL)


# Fleiss (1971), "Measuring nominal scale agreement among many raters", Psychol. Bull. 76,
# Table 1: 30 patients, 6 psychiatrists each, 5 diagnoses. The per-patient ratings are as
# distributed in R's irr package (`diagnoses`); category totals 26, 26, 30, 55, 43 match
# Fleiss's p_j = .144, .144, .167, .306, .239. Fleiss reports kappa = .430.
FLEISS_1971 = [
    [4, 4, 4, 4, 4, 4], [2, 2, 2, 5, 5, 5], [2, 3, 3, 3, 3, 5], [5, 5, 5, 5, 5, 5],
    [2, 2, 2, 4, 4, 4], [1, 1, 3, 3, 3, 3], [3, 3, 3, 3, 5, 5], [1, 1, 3, 3, 3, 4],
    [1, 1, 4, 4, 4, 4], [5, 5, 5, 5, 5, 5], [1, 4, 4, 4, 4, 4], [1, 2, 4, 4, 4, 4],
    [2, 2, 2, 3, 3, 3], [1, 4, 4, 4, 4, 4], [2, 2, 4, 4, 4, 5], [3, 3, 3, 3, 3, 5],
    [1, 1, 1, 4, 5, 5], [1, 1, 1, 1, 1, 2], [2, 2, 4, 4, 4, 4], [1, 3, 3, 5, 5, 5],
    [5, 5, 5, 5, 5, 5], [2, 4, 4, 4, 4, 4], [2, 2, 4, 5, 5, 5], [1, 1, 4, 4, 4, 4],
    [1, 4, 4, 4, 4, 5], [2, 2, 2, 2, 2, 4], [1, 1, 1, 1, 5, 5], [2, 2, 4, 4, 4, 4],
    [1, 3, 3, 3, 3, 3], [5, 5, 5, 5, 5, 5],
]  # fmt: skip


def test_fleiss_1971() -> None:
    df = from_multisets(FLEISS_1971)
    counts = df.group_by("value").len().sort("value")["len"].to_list()
    assert counts == [26, 26, 30, 55, 43]
    assert fleiss_kappa(df).value == pytest.approx(0.430, abs=TOL)


def test_gwet_distrib_6raters() -> None:
    # Gwet's distrib.6raters (the first 15 Fleiss 1971 patients, category counts per patient);
    # irrCAC README: AC1 0.4448007, Fleiss 0.4139265, Krippendorff 0.4204384.
    df = from_multisets(FLEISS_1971[:15])
    assert gwet_ac1(df).value == pytest.approx(0.4448007, abs=TOL)
    assert fleiss_kappa(df).value == pytest.approx(0.4139265, abs=TOL)
    assert krippendorff_alpha(df).value == pytest.approx(0.4204384, abs=TOL)


# Gwet (2014) / irrCAC `cont3x3abstractors`: two abstractors, 100 pregnancies, 3 categories.
ABSTRACTORS = from_table([[13, 0, 0], [0, 20, 7], [0, 4, 56]])


def test_gwet_abstractors_two_raters() -> None:
    # irrCAC README and weighting vignette (Gwet): kappa 0.7964094, quadratic-weighted kappa
    # 0.8921569, AC1 0.8493305, Krippendorff 0.7972585, percent agreement 0.89.
    assert cohen_kappa(ABSTRACTORS).value == pytest.approx(0.7964094, abs=TOL)
    q = cohen_kappa(ABSTRACTORS, weights="quadratic").value
    assert q == pytest.approx(0.8921569, abs=TOL)
    assert gwet_ac1(ABSTRACTORS).value == pytest.approx(0.8493305, abs=TOL)
    assert krippendorff_alpha(ABSTRACTORS).value == pytest.approx(0.7972585, abs=TOL)
    assert percent_agreement(ABSTRACTORS).value == pytest.approx(0.89, abs=TOL)


# Cohen (1960), Table 1 proportions for 200 items (x 200 = counts): p_o = .70, p_c = .41,
# kappa = .492. Cohen (1968) reanalyses the same table with disagreement weights 1, 3, 6
# (cells 1-2, 1-3, 2-3) and reports kappa_w = .35 (two decimals only).
COHEN_1960 = from_table([[88, 14, 18], [10, 40, 10], [2, 6, 12]])


def test_cohen_1960() -> None:
    assert cohen_kappa(COHEN_1960).value == pytest.approx(0.492, abs=TOL)


def test_cohen_1968_custom_weights() -> None:
    disagreement = np.array([[0, 1, 3], [1, 0, 6], [3, 6, 0]], dtype=float)
    got = cohen_kappa(COHEN_1960, weights=1 - disagreement / 6).value
    assert got == pytest.approx(0.35, abs=5e-3)  # published to two decimals


def test_sas_skin_condition_simple_kappa() -> None:
    # SAS/STAT PROC FREQ "Agreement Study" (skin condition, two dermatologists): simple kappa
    # 0.3449.
    table = [[10, 4, 1, 0], [5, 10, 12, 2], [2, 4, 12, 5], [0, 2, 6, 13]]
    assert cohen_kappa(from_table(table)).value == pytest.approx(0.3449, abs=TOL)


def test_linear_weights_sas_printout() -> None:
    # SAS PROC FREQ printout for a 3x3 table (recorded in statsmodels' inter-rater tests):
    # simple kappa 0.4842, Cicchetti-Allison (linear) weighted kappa 0.4701.
    df = from_table([[0, 4, 1], [0, 8, 0], [0, 1, 5]])
    assert cohen_kappa(df).value == pytest.approx(0.4842, abs=TOL)
    assert cohen_kappa(df, weights="linear").value == pytest.approx(0.4701, abs=TOL)


def test_rank_correlations_scipy_doc_examples() -> None:
    # SciPy reference documentation examples, both with ties: kendalltau gives tau-b
    # -0.47140452079103173; spearmanr([1..5], [5, 6, 7, 8, 7]) gives 0.8207826816681233.
    tau = kendall_tau_b([12, 2, 1, 12, 2], [1, 4, 7, 1, 0])
    assert tau.value == pytest.approx(-0.4714045, abs=1e-6)
    rho = spearman_rho([1, 2, 3, 4, 5], [5, 6, 7, 8, 7])
    assert rho.value == pytest.approx(0.8207827, abs=1e-6)


def test_average_ranks_rows() -> None:
    got = average_ranks(np.array([[3.0, 1, 3, 2], [5, 5, 5, 1]]))
    np.testing.assert_allclose(got, [[3.5, 1, 3.5, 2], [3, 3, 3, 1]])


def test_pairwise_correlations_frame() -> None:
    df = long({"x": [1, 2, 3, 4], "y": [2, 4, 6, 8], "z": [4, 3, 2, 1]})
    got = pairwise_correlations(df, method="kendall")
    assert got.columns == ["rater_a", "rater_b", "n", "value", "reason"]
    assert got["value"].to_list() == pytest.approx([1.0, -1.0, -1.0])


# ----------------------------------------------------------------------- degenerate cases

ALL_SAME = long({"a": [2, 2, 2], "b": [2, 2, 2], "c": [2, 2, 2]})
ONE_CONSTANT = long({"a": [1, 1, 1, 1], "b": [1, 2, 1, 2]})
SINGLE_UNIT = long({"a": [1], "b": [2]})
ALL_MISSING = pl.DataFrame(
    {"unit": [0, 0, 1], "rater": ["a", "b", "a"], "value": [None, None, None]},
    schema={"unit": pl.Int64, "rater": pl.String, "value": pl.Float64},
)
ONE_PER_UNIT = long({"a": [1, None], "b": [None, 2]})

CHANCE_CORRECTED = [
    ("alpha", lambda df: krippendorff_alpha(df, level="interval")),
    ("fleiss", fleiss_kappa),
    ("ac1", gwet_ac1),
]


@pytest.mark.parametrize(
    ("frame", "expected", "reason"),
    [
        pytest.param(ALL_SAME, None, NO_VARIATION, id="all-identical"),
        pytest.param(ALL_MISSING, None, NO_PAIRABLE, id="all-missing"),
        pytest.param(ONE_PER_UNIT, None, NO_PAIRABLE, id="no-unit-twice-rated"),
    ],
)
@pytest.mark.parametrize(("name", "fn"), CHANCE_CORRECTED, ids=[c[0] for c in CHANCE_CORRECTED])
def test_undefined_cases(name, fn, frame, expected, reason) -> None:  # type: ignore[no-untyped-def]
    got = fn(frame)
    assert got.value is expected
    assert got.reason == reason


@pytest.mark.parametrize(
    ("fn", "expected"),
    [
        pytest.param(lambda df: cohen_kappa(df), 0.0, id="cohen"),
        pytest.param(lambda df: fleiss_kappa(df), -1 / 3, id="fleiss"),
        pytest.param(lambda df: krippendorff_alpha(df), -1 / 6, id="alpha"),
        pytest.param(lambda df: percent_agreement(df), 0.5, id="percent"),
    ],
)
def test_one_rater_constant(fn, expected) -> None:  # type: ignore[no-untyped-def]
    assert fn(ONE_CONSTANT).value == pytest.approx(expected, abs=1e-9)


def test_one_rater_constant_rank_correlation_undefined() -> None:
    got = spearman_rho([1, 1, 1], [1, 2, 3])
    assert got.value is None and got.reason == NO_VARIATION


def test_all_identical_percent_agreement_is_one() -> None:
    assert percent_agreement(ALL_SAME).value == 1.0
    assert cohen_kappa(long({"a": [1, 1], "b": [1, 1]})).reason == NO_VARIATION


def test_single_unit_is_computed() -> None:
    # one pairable unit with two different values: D_o equals D_e's share, alpha = 0
    assert krippendorff_alpha(SINGLE_UNIT, level="interval").value == pytest.approx(0.0)
    assert percent_agreement(SINGLE_UNIT).value == 0.0


def test_duplicate_rating_rejected() -> None:
    df = pl.DataFrame({"unit": [0, 0], "rater": ["a", "a"], "value": [1, 2]})
    with pytest.raises(ValueError, match="more than once"):
        krippendorff_alpha(df)


def test_cohen_needs_two_raters() -> None:
    with pytest.raises(ValueError, match="exactly two raters"):
        cohen_kappa(KRIPPENDORFF_2011)


def test_nan_is_missing_and_custom_columns() -> None:
    df = pl.DataFrame({"item": [0, 0, 1, 1], "judge": ["a", "b", "a", "b"],
                       "s": [1.0, 1.0, 0.0, float("nan")]})  # fmt: skip
    got = krippendorff_alpha(df, unit="item", rater="judge", value="s")
    assert got.n_units == 1
    assert got.reason == NO_VARIATION
