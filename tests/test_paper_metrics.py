"""Paper metrics against hand-computed small cases (zero reference, empty text, one sentence)."""

from __future__ import annotations

import json
import math
from pathlib import Path
from typing import Any

import polars as pl
import pytest

from judge.cli.main import main
from judge.stats.paper_metrics import CATEGORIES, paper_metrics, summary_section

RUBRICS = {
    "sentiment_attenuation": "sa-paper",
    "granularity_mismatch": "egm-paper",
    "conflict_avoidance": "ca-paper",
    "linguistic_distancing": "ld-paper",
}


def row(item: str, mechanism: str, verdict: dict[str, Any] | None, *, model: str = "m1", judge: str = "j1",
        status: str = "ok", repeat: int = 0) -> dict[str, Any]:  # fmt: skip
    return {
        "item_id": item, "model": model, "judge": judge, "repeat": repeat, "mechanism": mechanism,
        "rubric_id": RUBRICS[mechanism], "rubric_version": 1, "family": "paper", "status": status,
        "verdict": json.dumps(verdict) if verdict is not None else None,
    }  # fmt: skip


def sa(src: float, resp: float) -> dict[str, Any]:
    return {"rationale": "", "source_intensity": src, "response_intensity": resp}


def counts(*totals: int) -> list[dict[str, int]]:
    # one sentence per total, all of it in the "death" category
    return [{c: (t if c == "death" else 0) for c in CATEGORIES} for t in totals]


def egm(ref: list[dict[str, int]], gen: list[dict[str, int]]) -> dict[str, Any]:
    return {"rationale": "", "source_counts": ref, "response_counts": gen}


def ld(ref: tuple[float, float, float], gen: tuple[float, float, float]) -> dict[str, Any]:
    names = ("passive_share", "nominalisation_density", "nonhuman_subject_share")
    return {"rationale": "", "source_features": dict(zip(names, ref, strict=True)),
            "response_features": dict(zip(names, gen, strict=True))}  # fmt: skip


def frame(rows: list[dict[str, Any]]) -> pl.DataFrame:
    return pl.DataFrame(rows, schema={
        "item_id": pl.String, "model": pl.String, "judge": pl.String, "repeat": pl.Int64, "mechanism": pl.String,
        "rubric_id": pl.String, "rubric_version": pl.Int64, "family": pl.String, "status": pl.String,
        "verdict": pl.String,
    })  # fmt: skip


def value(result: pl.DataFrame, metric: str, *, model: str | None = None, judge: str | None = None) -> dict[str, Any]:
    scope = "judge" if judge else "panel"
    hit = result.filter(
        (pl.col("metric") == metric) & (pl.col("scope") == scope)
        & (pl.col("model").is_null() if model is None else pl.col("model") == model)
        & (pl.col("judge").is_null() if judge is None else pl.col("judge") == judge)
    )  # fmt: skip
    assert hit.height == 1, hit
    return hit.row(0, named=True)


def test_sa_both_compression_forms_with_a_zero_reference() -> None:
    # items: (0.8, 0.4), (0.0, 0.2), (0.5, 0.5)
    # per-item rates over ref > 0: 0.5 and 0.0 -> mean 0.25 (the zero-ref item is excluded)
    # of means: mean ref 1.3/3, mean gen 1.1/3 -> (1.3 - 1.1) / 1.3 = 0.153846...
    rows = [row("a", "sentiment_attenuation", sa(0.8, 0.4)), row("b", "sentiment_attenuation", sa(0.0, 0.2)),
            row("c", "sentiment_attenuation", sa(0.5, 0.5))]  # fmt: skip
    out = paper_metrics(frame(rows), n_boot=0)
    item = value(out, "sa_compression_item_mean")
    assert item["value"] == pytest.approx(0.25) and item["n_items"] == 3 and item["n_defined"] == 2
    assert value(out, "sa_compression_of_means")["value"] == pytest.approx(0.2 / 1.3, abs=1e-12)
    assert value(out, "sa_mean_reference_intensity")["value"] == pytest.approx(1.3 / 3)
    assert value(out, "sa_mean_generated_intensity")["value"] == pytest.approx(1.1 / 3)


def test_sa_all_zero_reference_is_null_with_reason() -> None:
    rows = [row("a", "sentiment_attenuation", sa(0.0, 0.3)), row("b", "sentiment_attenuation", sa(0.0, 0.0))]
    out = paper_metrics(frame(rows), n_boot=200)
    for metric in ("sa_compression_item_mean", "sa_compression_of_means"):
        got = value(out, metric)
        assert got["value"] is None and got["ci_low"] is None and got["ci_high"] is None
        assert "0" in got["reason"]
    assert value(out, "sa_mean_generated_intensity")["value"] == pytest.approx(0.15)
    assert not out["value"].is_nan().any()


def test_sa_panel_averages_judges_per_item_before_the_rate() -> None:
    # item a: judges give ref 0.8 and 0.4 (mean 0.6), gen 0.2 and 0.4 (mean 0.3): rate 0.5.
    # The mean of the judges' own rates would be (0.75 + 0) / 2 = 0.375 instead.
    rows = [row("a", "sentiment_attenuation", sa(0.8, 0.2), judge="j1"),
            row("a", "sentiment_attenuation", sa(0.4, 0.4), judge="j2")]  # fmt: skip
    out = paper_metrics(frame(rows), n_boot=0)
    assert value(out, "sa_compression_item_mean")["value"] == pytest.approx(0.5)
    assert value(out, "sa_compression_item_mean", judge="j1")["value"] == pytest.approx(0.75)
    assert value(out, "sa_compression_item_mean", judge="j2")["value"] == pytest.approx(0.0)


def test_repeats_are_averaged_and_failed_verdicts_ignored() -> None:
    rows = [row("a", "sentiment_attenuation", sa(1.0, 0.2), repeat=0),
            row("a", "sentiment_attenuation", sa(1.0, 0.6), repeat=1),
            row("a", "sentiment_attenuation", None, repeat=2, status="invalid")]  # fmt: skip
    out = paper_metrics(frame(rows), n_boot=0)
    assert value(out, "sa_compression_item_mean")["value"] == pytest.approx(0.6)


def test_egm_totals_density_empty_text_and_single_sentence() -> None:
    # a: ref 3 sentences with 2, 0, 1 elements (total 3, density 1); gen 1 sentence with 1 (density 1)
    # b: ref 1 sentence with 2 (density 2); gen is empty: 0 sentences, total 0, density 0
    # c: ref 2 sentences with none; gen 1 sentence with 1 (ref total 0: excluded from the item mean)
    rows = [row("a", "granularity_mismatch", egm(counts(2, 0, 1), counts(1))),
            row("b", "granularity_mismatch", egm(counts(2), [])),
            row("c", "granularity_mismatch", egm(counts(0, 0), counts(1)))]  # fmt: skip
    out = paper_metrics(frame(rows), n_boot=0)
    # totals: ref 3 + 2 + 0 = 5, gen 1 + 0 + 1 = 2 -> (5 - 2) / 5
    assert value(out, "egm_compression_of_totals")["value"] == pytest.approx(0.6)
    # per-item rates: a 2/3, b 1, c undefined -> mean 5/6
    got = value(out, "egm_compression_item_mean")
    assert got["value"] == pytest.approx(5 / 6) and got["n_defined"] == 2
    # densities ref 1, 2, 0 and gen 1, 0, 1 -> differences 0, 2, -1 -> mean 1/3
    assert value(out, "egm_density_difference")["value"] == pytest.approx(1 / 3)
    assert value(out, "egm_mean_reference_density")["value"] == pytest.approx(1.0)
    assert value(out, "egm_mean_generated_density")["value"] == pytest.approx(2 / 3)
    # two-sided: |density differences| 0, 2, 1 -> mean 1
    assert value(out, "egm_abs_density_difference")["value"] == pytest.approx(1.0)
    # symmetric relative difference of totals: a |3 - 1| / 2 = 1, b |2 - 0| / 1 = 2, c |0 - 1| / 0.5 = 2
    got = value(out, "egm_symmetric_difference")
    assert got["value"] == pytest.approx(5 / 3) and got["n_defined"] == 3
    # auc over the 9 (reference, generated) density pairs, ref (1, 2, 0) against gen (1, 0, 1):
    # ref 1 ties two and beats one (2), ref 2 beats all three (3), ref 0 ties one (0.5): 5.5 / 9
    assert value(out, "egm_density_auc")["value"] == pytest.approx(5.5 / 9)
    assert value(out, "egm_discrimination")["value"] == pytest.approx(abs(2 * 5.5 / 9 - 1))


def test_egm_two_sided_measures_do_not_let_amplification_cancel_attenuation() -> None:
    # a is sanitised (2 elements -> 0), b is sensationalised (0 -> 2), c has none on either side
    rows = [row("a", "granularity_mismatch", egm(counts(2), counts(0))),
            row("b", "granularity_mismatch", egm(counts(0), counts(2))),
            row("c", "granularity_mismatch", egm(counts(0), counts(0)))]  # fmt: skip
    out = paper_metrics(frame(rows), n_boot=0)
    assert value(out, "egm_density_difference")["value"] == pytest.approx(0.0)  # signed: they cancel
    assert value(out, "egm_abs_density_difference")["value"] == pytest.approx(4 / 3)
    got = value(out, "egm_symmetric_difference")  # c is 0/0: left out and counted
    assert got["value"] == pytest.approx(2.0) and got["n_defined"] == 2 and got["n_items"] == 3
    # Discrimination compares the two sides' density distributions as wholes: here they are the
    # same (2, 0, 0 against 0, 2, 0), so it is 0. The paired measures above see both errors.
    assert value(out, "egm_density_auc")["value"] == pytest.approx(0.5)
    assert value(out, "egm_discrimination")["value"] == pytest.approx(0.0)


def test_egm_discrimination_separated_sides_and_the_0_over_0_reason() -> None:
    # every generated text denser than every reference: auc 0, discrimination 1 (amplified)
    rows = [row(f"i{k}", "granularity_mismatch", egm(counts(k), counts(k + 5))) for k in range(4)]
    out = paper_metrics(frame(rows), n_boot=200)
    assert value(out, "egm_density_auc")["value"] == pytest.approx(0.0)
    got = value(out, "egm_discrimination")
    assert got["value"] == pytest.approx(1.0) and got["ci_low"] == pytest.approx(1.0)
    none = paper_metrics(frame([row("a", "granularity_mismatch", egm(counts(0), counts(0)))]), n_boot=0)
    got = value(none, "egm_symmetric_difference")
    assert got["value"] is None and got["n_defined"] == 0 and "0/0" in got["reason"]


def test_egm_counts_every_category() -> None:
    ref = [{"death": 1, "violence": 2, "injury": 1, "graphic": 1, "abuse": 1}]
    gen = [{"death": 1, "violence": 0, "injury": 0, "graphic": 0, "abuse": 0}, dict.fromkeys(CATEGORIES, 0)]
    out = paper_metrics(frame([row("a", "granularity_mismatch", egm(ref, gen))]), n_boot=0)
    assert value(out, "egm_compression_of_totals")["value"] == pytest.approx(5 / 6)
    assert value(out, "egm_density_difference")["value"] == pytest.approx(6 - 0.5)


def test_egm_no_reference_elements_is_null() -> None:
    out = paper_metrics(frame([row("a", "granularity_mismatch", egm([], counts(2)))]), n_boot=0)
    got = value(out, "egm_compression_of_totals")
    assert got["value"] is None and got["reason"]
    assert value(out, "egm_density_difference")["value"] == pytest.approx(-2.0)


def test_ca_percent_per_model_and_overall() -> None:
    rows = [row("a", "conflict_avoidance", {"rationale": "", "label": 1}, model="m1"),
            row("b", "conflict_avoidance", {"rationale": "", "label": 0}, model="m1"),
            row("c", "conflict_avoidance", {"rationale": "", "label": 1}, model="m2"),
            row("d", "conflict_avoidance", {"rationale": "", "label": 1}, model="m2")]  # fmt: skip
    out = paper_metrics(frame(rows), n_boot=0)
    assert value(out, "ca_percent_labelled_1")["value"] == pytest.approx(75.0)
    assert value(out, "ca_percent_labelled_1", model="m1")["value"] == pytest.approx(50.0)
    assert value(out, "ca_percent_labelled_1", model="m2")["value"] == pytest.approx(100.0)


def test_ld_zscore_distance_by_hand() -> None:
    # reference features: passive (0.1, 0.3, 0.2) mean 0.2, population sd sqrt(0.02/3);
    # nominalisation (0.05, 0.05, 0.05) sd 0 -> dropped; nonhuman (0.2, 0.6, 0.4) sd sqrt(0.08/3)
    refs = [(0.1, 0.05, 0.2), (0.3, 0.05, 0.6), (0.2, 0.05, 0.4)]
    gens = [(0.3, 0.05, 0.4), (0.3, 0.10, 0.6), (0.2, 0.05, 0.2)]
    rows = [row(str(i), "linguistic_distancing", ld(r, g)) for i, (r, g) in enumerate(zip(refs, gens, strict=True))]
    out = paper_metrics(frame(rows), n_boot=0)
    sd_p, sd_h = math.sqrt(0.02 / 3), math.sqrt(0.08 / 3)
    dists = [math.hypot((g[0] - r[0]) / sd_p, (g[2] - r[2]) / sd_h) for r, g in zip(refs, gens, strict=True)]
    got = value(out, "ld_zscore_distance")
    assert got["value"] == pytest.approx(sum(dists) / 3, rel=1e-9)
    assert got["dropped"] == ["nominalisation_density"]


def test_ld_single_item_has_no_spread_and_is_null() -> None:
    out = paper_metrics(frame([row("a", "linguistic_distancing", ld((0.1, 0.1, 0.1), (0.5, 0.5, 0.5)))]), n_boot=0)
    got = value(out, "ld_zscore_distance")
    assert got["value"] is None and "spread" in got["reason"]
    assert len(got["dropped"]) == 3


def test_bootstrap_ci_is_seeded_and_brackets_the_estimate() -> None:
    rows = [row(f"i{i}", "sentiment_attenuation", sa(0.5 + 0.04 * (i % 10), 0.2 + 0.05 * (i % 7)))
            for i in range(40)]  # fmt: skip
    a = paper_metrics(frame(rows), n_boot=300, seed=7)
    b = paper_metrics(frame(rows), n_boot=300, seed=7)
    c = paper_metrics(frame(rows), n_boot=300, seed=8)
    from polars.testing import assert_frame_equal

    assert_frame_equal(a, b)
    got = value(a, "sa_compression_of_means")
    assert got["ci_low"] < got["value"] < got["ci_high"]
    assert value(c, "sa_compression_of_means")["ci_low"] != got["ci_low"]


def test_no_paper_verdicts_gives_no_rows_and_summary_section_is_json() -> None:
    empty = frame([]).with_columns(pl.lit("graded").alias("family"))
    assert paper_metrics(empty).is_empty()
    rows = [row("a", "conflict_avoidance", None, status="error")]
    section = summary_section(frame(rows), n_boot=10)
    json.dumps(section)  # serialisable as is
    # panel and judge j1, over all models and for m1: every row present, every value null
    assert len(section["rows"]) == 4
    assert all(r["value"] is None and r["reason"] == "no valid verdicts" for r in section["rows"])


def test_a_metric_with_only_abstentions_is_null_with_their_reason(tmp_path: Path) -> None:
    """The offline judges cannot read a Chinese source without a reference: the LD distance is
    null and says why, instead of a 0.0 computed from invented reference features."""
    data = tmp_path / "d.jsonl"
    row = {"id": "t1", "task": "translation", "source": "父亲把碗摔在地上，瓷片溅到我脚边。", "model": "m",
           "response": "My father smashed the bowl on the floor and the shards flew to my feet."}
    data.write_text(json.dumps(row, ensure_ascii=False) + "\n", encoding="utf-8")
    run_dir = tmp_path / "run"
    assert main(["run", "--dataset", str(data), "--rubric", "ld-paper", "--run-dir", str(run_dir), "--quiet"]) == 0
    summary = json.loads((run_dir / "summary.json").read_text(encoding="utf-8"))
    (panel,) = [r for r in summary["paper_metrics"]["rows"] if r["scope"] == "panel" and r["model"] is None]
    assert panel["value"] is None and panel["n_items"] == 0
    assert panel["reason"].startswith("no valid verdicts (2 abstained: offline/")
    assert "mostly in Chinese, Japanese or Korean script" in panel["reason"]
