"""Judge cards: validity, cost, agreement with the panel, length bias and repeat consistency."""

from __future__ import annotations

import numpy as np
import polars as pl
import pytest

from judge.stats.cards import judge_cards, length_slope
from tests.test_html_report import verdict


def frame(rows: list[dict]) -> pl.DataFrame:
    from judge.store.rundir import polars_schema

    return pl.DataFrame(rows, schema=polars_schema())


def test_length_slope_recovers_a_known_slope_within_rubrics() -> None:
    rng = np.random.default_rng(1)
    n = 400
    length = rng.uniform(0, 5, n)
    rows = []
    for rubric, offset in (("sa-graded", 0.0), ("ca-graded", 0.4)):  # rubric base rates differ
        score = offset + 0.08 * length + rng.normal(0, 0.05, n)
        rows += [{"rubric_id": rubric, "item_id": f"i{k}", "score": s, "length": x} for k, (s, x) in
                 enumerate(zip(score, length, strict=True))]  # fmt: skip
    got = length_slope(pl.DataFrame(rows), n_boot=300, seed=0)
    assert got["slope"] == pytest.approx(0.08, abs=0.005)
    assert got["ci_low"] < 0.08 < got["ci_high"]
    assert got["ci_high"] - got["ci_low"] < 0.02


def test_length_slope_is_null_without_length_variation() -> None:
    rows = pl.DataFrame({"rubric_id": ["r"] * 4, "item_id": list("abcd"), "score": [0.0, 0.5, 1.0, 0.2],
                         "length": [3.0] * 4})  # fmt: skip
    assert length_slope(rows)["slope"] is None


def test_cards_validity_cost_agreement_and_retest() -> None:
    rows = []
    for k in range(6):
        score = (k % 5) / 4
        for repeat in (0, 1):
            rows.append(verdict(f"i{k}", "a", score=score, repeat=repeat))
            rows.append(verdict(f"i{k}", "b", score=score, repeat=repeat))  # b agrees with a exactly
    rows.append(verdict("i9", "c", status="invalid"))
    rows.append(verdict("i9", "c", status="skipped", cost_usd=None, latency_ms=None))
    rows.append(verdict("i8", "c", score=1.0))
    lengths = pl.DataFrame({"item_id": [f"i{k}" for k in range(10)], "length": [100 * k for k in range(10)]})
    cards = {c["judge"]: c for c in judge_cards(frame(rows), lengths, n_boot=100)}
    assert list(cards) == ["a", "b", "c"]
    a, c = cards["a"], cards["c"]
    assert a["validity_rate"] == 1.0 and a["n_verdicts"] == 12
    assert c["validity_rate"] == pytest.approx(1 / 2)  # the skipped row made no call
    assert c["cost_per_verdict_usd"] == pytest.approx(0.001)
    assert a["panel_alpha"] == pytest.approx(1.0) and a["panel_mae"] == 0.0
    assert a["retest_alpha"] == pytest.approx(1.0)
    assert c["retest_alpha"] is None and c["retest_reason"] == "one repeat"
    assert c["panel_n"] == 0 and c["panel_alpha"] is None  # no item judged by c and another judge
    assert a["length_bias"]["unit"] == "severity per 100 words" and a["length_bias"]["slope"] is not None


def test_disagreeing_judge_has_low_panel_agreement() -> None:
    rows = []
    for k in range(8):
        score = (k % 5) / 4
        rows += [verdict(f"i{k}", "a", score=score), verdict(f"i{k}", "b", score=score),
                 verdict(f"i{k}", "contrarian", score=1 - score)]  # fmt: skip
    cards = {c["judge"]: c for c in judge_cards(frame(rows), n_boot=0)}
    assert cards["contrarian"]["panel_alpha"] < 0 < cards["a"]["panel_alpha"]
    assert cards["a"]["length_bias"] is None  # no dataset lengths given


def test_cards_unfound_quote_and_abstention_rates() -> None:
    rows = [verdict("i0", "a", evidence_found=1.0), verdict("i1", "a", evidence_found=0.5),
            verdict("i2", "a", status="invalid", evidence_found=0.0),  # require_found made it invalid
            verdict("i3", "a", evidence_found=None),  # no quotes: not counted either way
            verdict("i4", "a", status="abstained", error="the response is empty"),
            verdict("i0", "b")]  # fmt: skip
    cards = {c["judge"]: c for c in judge_cards(frame(rows), n_boot=0)}
    a = cards["a"]
    # three verdicts had quotes checked: 0, 1/2 and all of them unfound -> mean 0.5
    assert a["n_quoted"] == 3 and a["unfound_quote_rate"] == pytest.approx(0.5)
    assert a["abstention_rate"] == pytest.approx(1 / 5)
    assert cards["b"]["n_quoted"] == 0 and cards["b"]["unfound_quote_rate"] is None


def test_panel_agreement_does_not_depend_on_row_order() -> None:
    """summary.json is the same for the same verdicts: panel_mae once differed in its last digit
    between identical runs, because a join's row order (and so the order of a float sum) varies."""
    import random

    from judge.stats.cards import _panel_agreement

    rng = random.Random(3)
    rows = [
        {"rubric_id": "sa-graded", "rubric_version": 3, "item_id": f"i{i}", "judge": judge, "score": rng.random() / 7}
        for i in range(400)
        for judge in ("a", "b", "c")
    ]
    results = set()
    for seed in range(6):
        random.Random(seed).shuffle(rows)
        out = _panel_agreement(pl.DataFrame(rows), "a")
        results.add((out["panel_mae"], out["panel_alpha"]))
    assert len(results) == 1
