"""The regression gate's rules (judge/stats/gate.py) and how compare's primary cells apply them.

Each rule has a test that fails if the rule is dropped: the sign-flip p-value against exact
enumeration and the exact sign test, Holm's adjustment, the minimum number of paired items, the
correction across cells (a raw p below alpha that does not survive it), the minimum effect, and
option validation.
"""

from __future__ import annotations

import itertools
import math

import numpy as np
import polars as pl
import pytest

from judge.core.errors import ConfigError
from judge.stats.compare import PRIMARY, primary_cells
from judge.stats.gate import GateRules, check_rules, holm, sign_flip_pvalue


def exact_sign_flip(d: np.ndarray) -> float:
    """The exact one-sided p-value: the share of all 2^n sign patterns with sum >= the observed."""
    sums = [np.dot(signs, d) for signs in itertools.product((-1, 1), repeat=len(d))]
    return float(np.mean(np.asarray(sums) >= d.sum() - 1e-12))


@pytest.mark.parametrize("seed", [1, 2, 3])
def test_sign_flip_matches_exact_enumeration(seed: int) -> None:
    rng = np.random.default_rng(seed)
    d = rng.choice([-0.25, -0.125, 0.0, 0.125, 0.25, 0.5], size=12) + 0.05
    exact = exact_sign_flip(d)
    mc = sign_flip_pvalue(d, n_flips=100_000, seed=seed)
    assert mc is not None and abs(mc - exact) < 4 * math.sqrt(exact * (1 - exact) / 100_000) + 1e-4


def test_equal_magnitudes_give_the_exact_sign_test() -> None:
    """26 of 40 differences positive, all of one size: P(Binomial(40, 1/2) >= 26) = 0.0403."""
    d = np.array([0.25] * 26 + [-0.25] * 14)
    binomial = sum(math.comb(40, k) for k in range(26, 41)) / 2**40
    assert binomial == pytest.approx(0.040345, abs=1e-6)
    p = sign_flip_pvalue(d, n_flips=100_000, seed=0)
    assert p is not None and abs(p - binomial) < 0.003


def test_sign_flip_edge_cases() -> None:
    assert sign_flip_pvalue(np.zeros(0), n_flips=100, seed=0) is None
    assert sign_flip_pvalue(np.zeros(50), n_flips=1000, seed=0) == 1.0  # nothing moved: never evidence
    # The smallest p-value B flips can give, never 0.
    assert sign_flip_pvalue(np.full(40, 0.5), n_flips=999, seed=0) == pytest.approx(1 / 1000)
    # A single item, however large its increase, cannot be evidence (p of one flip is 1/2).
    assert sign_flip_pvalue(np.array([0.375]), n_flips=10_000, seed=0) > 0.45  # type: ignore[operator]
    # The same numbers whatever the chunking (memory bound) and for a given seed.
    a = sign_flip_pvalue(np.linspace(-0.2, 0.4, 300), n_flips=5000, seed=[7, 1])
    assert a == sign_flip_pvalue(np.linspace(-0.2, 0.4, 300), n_flips=5000, seed=[7, 1])


def test_holm() -> None:
    # sorted 0.005, 0.01, 0.03, 0.04 -> 4 x 0.005, 3 x 0.01, 2 x 0.03, max(0.06, 1 x 0.04)
    assert holm([0.01, 0.04, 0.03, 0.005]) == pytest.approx([0.03, 0.06, 0.06, 0.02])
    assert holm([0.5, 0.9]) == pytest.approx([1.0, 1.0])
    assert holm([]) == []
    ps = list(np.random.default_rng(0).uniform(size=20))
    adjusted = holm(ps)
    assert all(a >= p for a, p in zip(adjusted, ps, strict=True))
    assert min(adjusted) == pytest.approx(min(1.0, 20 * min(ps)))  # the first step is Bonferroni


def pairs(cells: dict[str, list[float]]) -> pl.DataFrame:
    """Paired items as compare builds them: one row per item of each rubric, with its difference."""
    rows = []
    for rubric, diffs in cells.items():
        for i, d in enumerate(diffs):
            base = 0.25
            rows.append({"item_id": f"{rubric}-{i}", "rubric_id": rubric, "rubric_version": 1, "baseline_version": 1,
                         "family": "graded", "mechanism": "sentiment_attenuation", "score": base,
                         "score_new": base + d, "diff": d})  # fmt: skip
    return pl.DataFrame(rows)


def rubrics(names: list[str]) -> list[dict[str, object]]:
    return [{"rubric_id": r, "rubric_version": 1, "baseline_version": 1, "family": "graded",
             "mechanism": "sentiment_attenuation"} for r in names]  # fmt: skip


RULES = GateRules(n_boot=20_000)


def test_a_cell_below_the_minimum_is_reported_but_never_gates() -> None:
    data = {"big": [1.0] * 10}  # ten items, each up by the whole scale
    cells = primary_cells(pairs(data), rubrics(["big"]), RULES, gate=True)
    (cell,) = cells
    assert cell["n_items"] == 10 and cell["diff"] == 1.0 and not cell["tested"] and not cell["regression"]
    assert cell["p_holm"] is None and "too few paired items (10 < 30)" in cell["reason"]
    lower = GateRules(min_items=5, n_boot=20_000)
    assert primary_cells(pairs(data), rubrics(["big"]), lower, gate=True)[0]["regression"]


def test_untested_cells_do_not_dilute_the_correction() -> None:
    data = {"a": [0.25] * 26 + [-0.25] * 14, **{f"small{k}": [0.5] * 5 for k in range(7)}}
    cells = {c["rubric_id"]: c for c in primary_cells(pairs(data), rubrics(list(data)), RULES, gate=True)}
    assert [r for r, c in cells.items() if c["tested"]] == ["a"]
    assert cells["a"]["p_holm"] == cells["a"]["p_value"]  # a family of one


def test_a_raw_p_below_alpha_does_not_survive_the_correction() -> None:
    """Eight tested cells: one moved a little (raw p 0.008), seven did not. Uncorrected, it would
    gate; Holm multiplies its p by the family size, so it does not."""
    data = {"moved": [0.25] * 28 + [-0.25] * 12, **{f"null{k}": [0.25, -0.25] * 20 for k in range(7)}}
    cells = {c["rubric_id"]: c for c in primary_cells(pairs(data), rubrics(list(data)), RULES, gate=True)}
    moved = cells["moved"]
    assert moved["tested"] and moved["p_value"] < RULES.alpha and moved["diff"] > RULES.min_effect
    assert moved["p_holm"] == pytest.approx(8 * moved["p_value"]) and not moved["regression"]
    assert "Holm p" in moved["reason"]
    alone = primary_cells(pairs({"moved": data["moved"]}), rubrics(["moved"]), RULES, gate=True)[0]
    assert alone["regression"]  # the same cell on its own does gate


def test_a_precise_increase_below_the_minimum_effect_does_not_gate() -> None:
    data = {"tiny": [0.03] * 400}  # certain, but small
    (cell,) = primary_cells(pairs(data), rubrics(["tiny"]), RULES, gate=True)
    assert cell["p_holm"] < 0.001 and not cell["regression"]
    assert "not above the minimum effect 0.05" in cell["reason"]
    strict = GateRules(min_effect=0.02, n_boot=20_000)
    assert primary_cells(pairs(data), rubrics(["tiny"]), strict, gate=True)[0]["regression"]


def test_a_decrease_never_gates() -> None:
    (cell,) = primary_cells(pairs({"better": [-0.5] * 100}), rubrics(["better"]), RULES, gate=True)
    assert cell["p_value"] == 1.0 and not cell["regression"]


def test_a_rubric_both_runs_hold_without_pairs_is_listed() -> None:
    cells = primary_cells(pairs({"a": [0.0] * 40}), rubrics(["a", "gone"]), RULES, gate=True)
    gone = next(c for c in cells if c["rubric_id"] == "gone")
    assert gone["n_items"] == 0 and gone["reason"] == "no paired items" and not gone["tested"]
    assert PRIMARY == ["rubric_id", "rubric_version", "family", "mechanism"]


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"n_boot": 99}, "--n-boot: 99 must be an integer from 100 to 100,000"),
        ({"n_boot": 100_001}, "--n-boot: 100001"),
        ({"n_boot": 2.5}, "--n-boot: 2.5"),
        ({"n_boot": True}, "--n-boot: True"),
        ({"min_effect": float("nan")}, "--fail-on-regression: nan must be a finite number"),
        ({"min_effect": float("-inf")}, "--fail-on-regression: -inf must be a finite number"),
        ({"min_effect": -0.01}, "--fail-on-regression: -0.01 must be at least 0"),
        ({"alpha": 0.0}, "--alpha: 0.0 must be above 0"),
        ({"alpha": float("inf")}, "--alpha: inf must be a finite number"),
        ({"min_items": 0}, "--min-items: 0 must be an integer at least 2"),
        ({"seed": -3}, "--seed: -3 must be an integer from 0"),
    ],
)
def test_rules_are_validated(kwargs: dict[str, object], message: str) -> None:
    with pytest.raises(ConfigError, match="^" + message.replace("(", r"\(").replace(".", r"\.")):
        check_rules(**kwargs)


def test_defaults() -> None:
    assert check_rules() == GateRules(alpha=0.025, min_items=30, min_effect=0.05, n_boot=10_000, seed=0)
