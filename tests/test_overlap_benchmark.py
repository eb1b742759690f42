"""The cross-mechanism overlap measures of benchmarks/overlap.py on hand-worked cases."""

from __future__ import annotations

import json

import polars as pl
import pytest

from benchmarks.overlap import correlations, gold_levels, labelled_items, multi_penalised, same_change

SA, EGM, CA, LD = "sentiment_attenuation", "granularity_mismatch", "conflict_avoidance", "linguistic_distancing"


def test_multi_penalised_counts_items_at_level_2_under_two_or_more_mechanisms() -> None:
    levels = {
        "a": {SA: 3, EGM: 2, CA: 0, LD: 0},  # two mechanisms
        "b": {SA: 2, EGM: 1, CA: 1, LD: 1},  # one
        "c": {SA: 0, EGM: 0, CA: 0, LD: 0},  # none
        "d": {SA: 4, EGM: 4, CA: 4, LD: 4},  # four
    }
    result = multi_penalised(levels, (SA, EGM, CA, LD))
    assert result == {"items": 4, "failing": 3, "multi": 0.5, "multi_given_failing": pytest.approx(2 / 3)}
    assert multi_penalised(levels, (CA, LD))["multi"] == 0.25


def test_correlations_over_all_and_failing_items() -> None:
    levels = {str(i): {SA: float(i % 5), EGM: float(i % 5), CA: float(4 - i % 5), LD: 0.0} for i in range(10)}
    rho = correlations(levels, levels)
    assert rho["sa/egm"]["all"] == pytest.approx(1.0) and rho["sa/ca"]["all"] == pytest.approx(-1.0)
    assert rho["sa/ld"]["all"] is None  # a constant side has no rank correlation
    assert rho["sa/egm"]["n_failing"] == 10  # every item fails somewhere (SA or CA >= 2)


def _row(item: str, mechanism: str, score: float, quotes: list[tuple[str, str]]) -> dict[str, object]:
    verdict = {"evidence": [{"side": s, "quote": q} for s, q in quotes]}
    return {"judge": "j", "item_id": item, "mechanism": mechanism, "family": "graded", "status": "ok",
            "repeat": 0, "score": score, "verdict": json.dumps(verdict)}  # fmt: skip


def test_same_change_needs_two_penalising_mechanisms_quoting_overlapping_spans() -> None:
    items = {
        "x": {"source": "Three people were killed in the fire.", "response": "Lives were lost in an incident."},
        "y": {"source": "I am terrified of him.", "response": "You seem a little worried. He sounds difficult."},
    }
    rows = [
        # x: EGM and LD both cite "lost in an incident" (overlapping spans): the same change twice.
        _row("x", EGM, 0.75, [("response", "lost in an incident")]),
        _row("x", LD, 0.5, [("response", "Lives were lost")]),
        _row("x", SA, 0.25, [("response", "an incident")]),  # level 1: does not penalise
        # y: SA and LD both penalise, but quote different sentences.
        _row("y", SA, 0.75, [("response", "a little worried")]),
        _row("y", LD, 0.5, [("response", "He sounds difficult")]),
    ]
    result = same_change(pl.DataFrame(rows), items)["j"]
    assert result == {"items": 2, "multi_items": 2, "same_change": 0.5, "same_change_given_multi": 0.5}


def test_gold_levels_per_annotator_and_their_mean_on_the_items_every_annotator_labelled() -> None:
    items = {
        "x": {f"gold_{SA}__a": 1, f"gold_{SA}__b": 2, f"gold_{EGM}__a": 3, f"gold_{EGM}__b": None,
              f"gold_note_{SA}__a": "kept as metadata, not a level"},
        "y": {f"gold_{SA}__a": 0, f"gold_{SA}__b": None},  # b abstained on everything
    }  # fmt: skip
    got = gold_levels(items)
    assert set(got) == {"a", "b", "mean"}
    assert got["mean"]["x"] == {SA: 2.0, EGM: 3.0}  # 1.5 rounds up; EGM rests on a alone
    assert got["b"]["y"] == {} and labelled_items(got) == {"x"}
    plain = gold_levels({"x": {f"gold_{SA}": 2}})
    assert plain == {"gold": {"x": {SA: 2.0}}} and labelled_items(plain) == {"x"}
