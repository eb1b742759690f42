"""summary.json from a verdict frame: stable keys, counts, scores, gold calibration, and the
disagreement work list with its texts, the item facts gathered in one pass over the dataset."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import polars as pl
import pytest

from judge.inputs.dataset import Dataset, open_dataset
from judge.report.summary_files import DISAGREEMENT_FILE, dataset_facts, write_summary
from judge.report.terminal import table
from judge.stats.summary import ItemFacts, SummarySettings, summarise
from judge.store.rundir import VERDICT_COLUMNS, polars_schema

KEYS = {
    "format_version", "run_id", "status", "settings", "counts", "cost_usd", "cost", "scores", "scores_by_model",
    "agreement", "calibration", "judges", "judge_cards", "invalid_rate", "paper_metrics", "disagreement",
    "scores_by_model_overall", "score_distributions", "problems", "health", "version_differences", "abstentions",
}  # fmt: skip


def dataset(tmp_path: Path, n: int = 6) -> Dataset:
    rows = [
        {"id": f"i{k}", "task": "counselling", "model": "m", "source": f"source text {k}",
         "response": " ".join(["word"] * (k + 1)), "gold_conflict_avoidance": k % 5}
        for k in range(n)
    ]  # fmt: skip
    path = tmp_path / "d.jsonl"
    path.write_text("".join(json.dumps(r) + "\n" for r in rows), encoding="utf-8")
    return open_dataset(path)


def row(item: str, judge: str, severity: int | None, status: str = "ok") -> dict[str, Any]:
    base = dict.fromkeys(VERDICT_COLUMNS)
    base.update(
        item_id=item, task="counselling", model="m", rubric_id="ca-graded", rubric_version=2, family="graded",
        mechanism="conflict_avoidance", dimension="relational", judge=judge, repeat=0, status=status,
        score=None if severity is None else severity / 4, raw_score=severity, attempts=1, cached=False,
        cost_usd=0.001, rationale=f"{judge} says {severity}",
    )  # fmt: skip
    return base


def verdicts(rows: list[dict[str, Any]]) -> pl.DataFrame:
    return pl.DataFrame(rows, schema=polars_schema())


def panel(n: int = 6) -> pl.DataFrame:
    # Judge a agrees with gold (k % 5); b agrees on all but i5, where a says 0 and b says 4.
    rows = [row(f"i{k}", "a", k % 5) for k in range(n)]
    rows += [row(f"i{k}", "b", (k % 5) if k != 5 else 4) for k in range(n)]
    rows.append(row("i0", "c", None, status="invalid"))
    return verdicts(rows)


def test_keys_counts_and_scores(tmp_path: Path) -> None:
    facts = dataset_facts(dataset(tmp_path), set())
    summary = summarise(panel(), {"run_id": "r", "status": "completed"}, facts=facts,
                        settings=SummarySettings(n_boot=200)).summary
    assert set(summary) == KEYS
    assert summary["counts"] == {"ok": 12, "invalid": 1, "error": 0, "skipped": 0, "abstained": 0,
                                 "not_applicable": 0, "total": 13}
    assert summary["cost_usd"] == pytest.approx(0.013)
    (score,) = summary["scores"]
    # Panel mean per item, then over items: a gives 0,1,2,3,4,0; b the same but 4 for i5.
    assert score["mean"] == pytest.approx((0 + 1 + 2 + 3 + 4 + 2) / 6 / 4)
    assert score["n_items"] == 6 and score["ci_low"] <= score["mean"] <= score["ci_high"]
    kinds = {(r["kind"], r["rater"]) for r in summary["calibration"]}
    assert {("judge", "a"), ("judge", "b"), ("panel", "panel")} <= kinds
    judge_a = next(r for r in summary["calibration"] if r["rater"] == "a")
    assert judge_a["mae"] == pytest.approx(0.0) and judge_a["n"] == 6
    assert {c["judge"] for c in summary["judge_cards"]} == {"a", "b", "c"}
    json.dumps(summary)  # everything in it is JSON


def test_disagreement_rows_rank_and_carry_texts(tmp_path: Path) -> None:
    texts = pl.DataFrame({"id": ["i5"], "source": ["source text 5"], "response": ["the reply"]})
    result = summarise(panel(), {}, facts=ItemFacts(texts=texts), settings=SummarySettings(n_boot=50))
    top = result.disagreement[0]
    assert top["item_id"] == "i5" and top["range"] == pytest.approx(1.0)
    assert top["source_snippet"] == "source text 5"
    assert [(j["judge"], j["score"]) for j in top["judges"]] == [("a", 0.0), ("b", 1.0)]
    # i0..i4: both judges agree, so nothing else is disputed
    assert [r["item_id"] for r in result.disagreement] == ["i5"]
    assert [r["item_id"] for r in result.summary["disagreement"]] == ["i5"]
    assert "source_snippet" not in result.summary["disagreement"][0]


def test_write_summary_writes_both_files(tmp_path: Path) -> None:
    run_dir = tmp_path / "run"
    run_dir.mkdir()
    summary = write_summary(run_dir, panel(), {"run_id": "r"}, dataset=dataset(tmp_path),
                            settings=SummarySettings(n_boot=50))  # fmt: skip
    lines = [json.loads(x) for x in (run_dir / DISAGREEMENT_FILE).read_text().splitlines()]
    assert lines[0]["item_id"] == "i5" and lines[0]["source_snippet"] == "source text 5"
    assert json.loads((run_dir / "summary.json").read_text()) == json.loads(json.dumps(summary))
    assert summary["calibration"], "gold labels reach the summary"


def test_item_facts_is_one_pass_over_the_dataset(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    data = dataset(tmp_path)
    passes = []
    items = Dataset.items

    def counting(self: Dataset) -> Any:
        passes.append(1)
        return items(self)

    monkeypatch.setattr(Dataset, "items", counting)
    facts = dataset_facts(data, {"i2"})
    assert len(passes) == 1
    assert facts.gold is not None and facts.gold["gold_conflict_avoidance"].to_list() == [0, 1, 2, 3, 4, 0]
    assert facts.lengths is not None and facts.lengths["length"].to_list() == [1, 2, 3, 4, 5, 6]
    assert facts.texts is not None and facts.texts["id"].to_list() == ["i2"]
    assert dataset_facts(None, set()).gold is None


def test_empty_run_keeps_every_key() -> None:
    summary = summarise(verdicts([]), {"run_id": "r", "status": "interrupted"}).summary
    assert set(summary) == KEYS
    assert summary["counts"]["total"] == 0 and summary["scores"] == []
    assert "no valid verdicts" in table(summary)


def test_abstentions_and_not_applicable_are_counted_apart(tmp_path: Path) -> None:
    rows = [row(f"i{k}", "a", k % 5) for k in range(4)]
    gone = row("i4", "a", None, status="abstained")
    gone["error"] = "the response is not in English"
    other = row("i5", "a", None, status="abstained")
    other["model"], other["error"] = "n", "the response is empty"
    na = row("i6", "a", None, status="skipped")
    na["error"] = "not applicable: ca-graded@3 applies to tasks counselling, workplace, education, not news"
    budget = row("i7", "a", None, status="skipped")
    budget["error"] = "budget exhausted"
    summary = summarise(verdicts([*rows, gone, other, na, budget]), {}, settings=SummarySettings(n_boot=20)).summary
    counts = summary["counts"]
    # a rubric that does not apply is no failure: counted apart from the work left undone
    assert (counts["skipped"], counts["not_applicable"], counts["abstained"], counts["total"]) == (1, 1, 2, 8)
    assert sum(counts[k] for k in counts if k != "total") == counts["total"]
    by = {r["model"]: r for r in summary["abstentions"]}
    # calls made = rows not skipped: 4 ok + 2 abstained, of which model m has 5 (4 ok, 1 abstained)
    assert (by["all"]["calls"], by["all"]["abstained"], by["all"]["rate"]) == (6, 2, pytest.approx(1 / 3))
    assert (by["m"]["calls"], by["m"]["abstained"], by["m"]["top_reason"]) == (5, 1, "the response is not in English")
    assert by["n"]["rate"] == 1.0 and [r["model"] for r in summary["abstentions"]] == ["all", "m", "n"]
    (diag,) = summary["judges"]
    assert diag["abstention_rate"] == pytest.approx(2 / 6)
    assert "not applicable 1" in table(summary)


def test_unknown_cost_is_null_never_zero_and_cached_tokens_are_apart() -> None:
    """Issue 15 item 14: an unpriced judge's verdicts carry cost_usd null, but the summary's total,
    its per-judge cost and the judge card's cost per verdict said 0.0; and cached rows' tokens were
    added to the billed ones (64,443 reported, 44,853 billed)."""
    rows = [{**row(f"i{k}", "priced", 1), "prompt_tokens": 100, "completion_tokens": 10} for k in range(3)]
    rows += [{**row(f"i{k}", "free-local", 1), "cost_usd": None, "prompt_tokens": 100, "completion_tokens": 10}
             for k in range(2)]  # fmt: skip
    rows.append({**row("i2", "free-local", 1), "cost_usd": 0.0, "cached": True, "prompt_tokens": 100,
                 "completion_tokens": 10})  # fmt: skip
    rows.append({**row("i3", "free-local", None, status="error"), "cost_usd": None})  # no reply: not unpriced
    summary = summarise(verdicts(rows), {"format_version": 2}, settings=SummarySettings(n_boot=20)).summary
    cost = summary["cost"]
    assert summary["cost_usd"] is None and cost["total_usd"] is None and cost["unpriced"] == 2
    by_judge = {r["judge"]: r for r in cost["by_judge"]}
    assert by_judge["priced"]["cost_usd"] == pytest.approx(0.003) and by_judge["priced"]["unpriced"] == 0
    assert by_judge["free-local"]["cost_usd"] is None and by_judge["free-local"]["unpriced"] == 2
    assert (cost["prompt_tokens"], cost["completion_tokens"]) == (500, 50)  # billed only
    assert (cost["cached_prompt_tokens"], cost["cached_completion_tokens"]) == (100, 10)
    assert by_judge["free-local"]["cached_prompt_tokens"] == 100
    cards = {c["judge"]: c for c in summary["judge_cards"]}
    assert cards["free-local"]["cost_usd"] is None and cards["free-local"]["cost_per_verdict_usd"] is None
    assert cards["free-local"]["unpriced"] == 2
    assert cards["priced"]["cost_per_verdict_usd"] == pytest.approx(0.001)
    text = table(summary)
    assert "cost unknown (2 replies unpriced)" in text and "free-local: unknown" in text
    assert "110 tokens served from the cache, not billed" in text


def test_the_terminal_never_prints_negative_zero() -> None:
    """A constant baseline's kappa comes out as a tiny negative float: it reads 0.00, not -0.00."""
    from judge.report.terminal import _fmt

    assert _fmt(-1e-17) == "0.00" and _fmt(-0.004) == "0.00" and _fmt(-0.006) == "-0.01" and _fmt(None) == "-"


def test_offline_token_counts_are_not_called_billed() -> None:
    from judge.report.terminal import _billed

    assert _billed("offline/lexicon") == "(estimated, nothing billed)" and _billed("openai/gpt-4o-mini") == "billed"
