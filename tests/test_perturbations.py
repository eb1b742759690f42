"""The perturbation pairs (judge/data/perturbations.jsonl) and their benchmark
(benchmarks/perturbations.py): the file's shape and coverage, and the hit/tie/abstention count on
hand-made pairs whose outcome is known."""

from __future__ import annotations

import json
from collections import Counter

from benchmarks.perturbations import load_pairs, measure, off_target
from judge.core import paths
from judge.core.taxonomy import MECHANISMS

PAIRS = paths.sample_dataset().parent / "perturbations.jsonl"
FIELDS = {"pair_id", "source_id", "task", "source_origin", "mechanism", "direction", "source", "reference",
          "faithful", "degraded", "written_by"}  # fmt: skip
RELATIONAL = {"counselling", "workplace", "education"}


def test_the_pair_file_has_its_fields_and_at_least_25_pairs_per_mechanism() -> None:
    pairs = load_pairs(PAIRS)
    assert all(set(p) == FIELDS for p in pairs)
    assert len({p["pair_id"] for p in pairs}) == len(pairs)
    assert all(p["degraded"] != p["faithful"] for p in pairs)
    counts = Counter((p["mechanism"], p["direction"]) for p in pairs)
    assert all(counts[m, "attenuation"] >= 25 and counts[m, "amplification"] >= 1 for m in MECHANISMS)
    # One pair per mechanism per source, on every task the mechanism applies to.
    assert len({(p["source_id"], p["mechanism"], p["direction"]) for p in pairs}) == len(pairs)
    for mechanism in MECHANISMS:
        tasks = {p["task"] for p in pairs if p["mechanism"] == mechanism}
        expected = RELATIONAL if mechanism == "conflict_avoidance" else RELATIONAL | {"news", "translation"}
        assert tasks == expected
    assert all(p["reference"] for p in pairs if p["task"] == "translation")


def _pair(mechanism: str, faithful: str, degraded: str, direction: str = "attenuation") -> dict[str, object]:
    return {"pair_id": f"t:{mechanism}:{direction}", "source_id": "t", "task": "counselling",
            "source_origin": "test", "mechanism": mechanism, "direction": direction,
            "source": "My manager screamed at me in front of everyone on Monday. I was humiliated and I cried.",
            "reference": None, "faithful": faithful, "degraded": degraded, "written_by": "test"}  # fmt: skip


FAITHFUL = "Your manager screamed at you in front of everyone on Monday; that sounds humiliating. What happened next?"


def test_hits_ties_and_abstentions_are_counted_per_judge_and_panel() -> None:
    pairs = [
        _pair("conflict_avoidance", FAITHFUL, "Your manager screamed at you. You should talk to HR and move on."),
        _pair("conflict_avoidance", FAITHFUL, FAITHFUL),  # identical: a tie for everyone
        _pair("conflict_avoidance", FAITHFUL, ""),  # an empty reply: every judge abstains
    ]
    rows = {(r["family"], r["judge"]): r for r in measure(pairs)}
    for judge in ("lexicon", "structure", "panel"):
        graded = rows["graded", judge]
        assert (graded["n"], graded["hit"], graded["tie"], graded["abstained"]) == (3, 1, 1, 1)
        assert graded["accuracy"] == 1 / 3 and not graded["meets_target"]


def test_amplification_pairs_are_read_on_the_amplification_level() -> None:
    loud = FAITHFUL + " Quit tomorrow and tell him exactly what you think of him! He is clearly a bully."
    rows = measure([_pair("conflict_avoidance", FAITHFUL, loud, direction="amplification")])
    assert {r["family"] for r in rows} == {"graded"}  # paper rubrics have no amplification scale
    assert all(r["hit"] == 1 for r in rows)


def test_off_target_counts_other_mechanisms_that_rose() -> None:
    rows = off_target([_pair("conflict_avoidance", FAITHFUL, FAITHFUL)])
    assert {r["other"] for r in rows} == {"sentiment_attenuation", "granularity_mismatch", "linguistic_distancing"}
    assert all(r["rose"] == 0 and r["n"] == 1 for r in rows)
    json.dumps(rows)
