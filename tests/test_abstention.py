"""Abstain, never invent: a judge's abstention is a recorded status with its reason (never a score,
never judged again on resume, its cost kept); a rubric that does not apply to an item leaves a
skipped row with the reason and no call; graded v3's two sides and checked quotes reach the
verdict table. Real runs through the CLI against the loopback server."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import polars as pl

from judge.cli.main import main
from judge.core.taxonomy import REPLIED_STATUSES, SCORED_STATUSES, STATUS_TABLE, VALID_STATUSES, VERDICT_STATUSES
from tests.fakeserver import FakeServer
from tests.reliability_helpers import write_config, write_dataset

ITEMS = [
    {"id": "c1", "task": "counselling", "model": "m1", "source": "My manager mocks me in every meeting. I dread it.",
     "response": "Being mocked in every meeting sounds humiliating. What happens in those meetings?"},
    {"id": "c2", "task": "counselling", "model": "m2", "source": "My sister lied to me about our mother's money.",
     "response": "Ce doit être douloureux."},
    {"id": "n1", "task": "news", "model": "m1", "source": "Three workers were killed when the scaffold fell.",
     "response": "An incident occurred at a construction site."},
]  # fmt: skip
RUBRICS = ["sa-graded", "ca-graded"]


def responder(body: dict[str, Any]) -> dict[str, Any]:
    """A judge that abstains on the French reply, quotes once correctly and once not, and amplifies."""
    user = body["messages"][-1]["content"]
    if "Ce doit être douloureux" in user:
        return {"abstain_reason": "The reply is in French; the person wrote in English.", "evidence": [],
                "rationale": "Not judged.", "severity": 0, "amplification": 0, "confidence": 0}
    return {"abstain_reason": None, "rationale": "Muted and inflated in places.", "severity": 2, "amplification": 3,
            "confidence": 0.7, "evidence": [{"side": "source", "quote": "mocks me in every meeting."},
                                            {"side": "response", "quote": "a quote the reply does not contain"}]}


def _run(tmp_path: Path, server: FakeServer, *extra: str) -> int:
    config = write_config(tmp_path / "judges.yaml", server.base_url, models=("judge-a",))
    args = ["run", "--config", str(config), "--dataset", str(write_dataset(tmp_path / "d.jsonl", ITEMS)), "--quiet"]
    return main([*args, *[a for r in RUBRICS for a in ("--rubric", r)], *extra])


def test_the_status_table_is_the_one_source_of_status_lists() -> None:
    assert VERDICT_STATUSES == ("ok", "invalid", "error", "skipped", "abstained")
    assert SCORED_STATUSES == ("ok",) and set(VALID_STATUSES) == {"ok", "abstained"}
    assert "abstained" in REPLIED_STATUSES and "skipped" not in REPLIED_STATUSES
    abstained = next(s for s in STATUS_TABLE if s.name == "abstained")
    assert not abstained.scored and not abstained.redo and not abstained.redo_on_error


def test_abstention_applicability_and_the_new_columns_in_a_run(tmp_path: Path, fake_server: FakeServer) -> None:
    fake_server.set_responder(responder)
    run_dir = tmp_path / "run"
    assert _run(tmp_path, fake_server, "--run-dir", str(run_dir)) == 0
    rows = {(r["item_id"], r["rubric_id"]): r for r in pl.read_parquet(run_dir / "verdicts.parquet").to_dicts()}
    assert len(rows) == len(ITEMS) * len(RUBRICS)
    # Judged: severity is the score; amplification and the share of quotes found are columns.
    ok = rows["c1", "sa-graded"]
    assert (ok["status"], ok["score"], ok["amplification"], ok["evidence_found"]) == ("ok", 0.5, 0.75, 0.5)
    # Abstained: the judge's reason, no score, the reply and its cost kept.
    gone = rows["c2", "sa-graded"]
    assert gone["status"] == "abstained" and gone["error"] == "The reply is in French; the person wrote in English."
    assert gone["score"] is None and gone["raw_score"] is None and gone["amplification"] is None
    assert gone["raw_text"] and gone["prompt_tokens"] and gone["attempts"] == 1
    # Not applicable: conflict avoidance is not judged on news; a row with the reason, no call.
    skip = rows["n1", "ca-graded"]
    assert skip["status"] == "skipped" and skip["score"] is None and skip["attempts"] == 0
    assert skip["error"] == "not applicable: ca-graded@3 applies to tasks counselling, workplace, education, not news"
    assert skip["prompt_tokens"] is None and skip["cost_usd"] is None
    assert fake_server.count() == len(rows) - 1
    summary = json.loads((run_dir / "summary.json").read_text())
    assert summary["counts"] == {"ok": 3, "invalid": 0, "error": 0, "skipped": 0, "abstained": 2,
                                 "not_applicable": 1, "total": 6}
    (health,) = json.loads((run_dir / "manifest.json").read_text())["health"]["judges"]
    assert health["healthy"] and (health["ok"], health["abstained"], health["skipped"]) == (3, 2, 1)
    card = summary["judge_cards"][0]
    assert card["counts"]["abstained"] == 2 and card["abstention_rate"] == 2 / 5 and card["validity_rate"] == 1.0

    # Resume: abstained and not-applicable rows are final; nothing is called or written again.
    calls, lines = fake_server.count(), (run_dir / "verdicts.jsonl").read_text().count("\n")
    assert main(["run", "--resume", str(run_dir), "--quiet"]) == 0
    assert main(["run", "--resume", str(run_dir), "--retry-errors", "--quiet"]) == 0
    assert fake_server.count() == calls
    assert (run_dir / "verdicts.jsonl").read_text().count("\n") == lines


def test_strict_quotes_make_an_unfound_quote_invalid(tmp_path: Path, fake_server: FakeServer) -> None:
    from tests.reliability_helpers import rubric_overlay

    # --rubrics-dir adds to the built-in rubrics: the strict copy is the next version of sa-graded.
    strict = "evidence: require_found"
    rubrics = rubric_overlay(tmp_path / "rubrics", lambda text: text.replace("evidence: record", strict), ["sa-graded"])
    fake_server.set_responder(responder)
    run_dir = tmp_path / "run"
    assert _run(tmp_path, fake_server, "--run-dir", str(run_dir), "--rubrics-dir", str(rubrics)) == 0
    verdicts = pl.read_parquet(run_dir / "verdicts.parquet").filter(pl.col("rubric_id") == "sa-graded")
    bad = verdicts.filter(pl.col("status") == "invalid").to_dicts()
    assert [r["item_id"] for r in bad] == ["c1", "n1"]
    assert bad[0]["error"] == (
        "evidence quote not found in the response side: 'a quote the reply does not contain' (1 of 2 quotes not found)"
    )
    assert bad[0]["score"] is None and bad[0]["evidence_found"] == 0.5
