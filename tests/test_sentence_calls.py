"""The authors' per-sentence convention for the EGM paper format (egm-paper@2, ``calls:
per_sentence``): one call per numbered sentence, assembled into one verdict row; tokens and cost
summed; a failed sentence call makes the row fail with the sentence named. Through the loopback
server with LiteLLM, and through the offline judges."""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

import polars as pl

from judge.cli.main import main
from judge.core import paths
from judge.inputs.dataset import Item
from judge.inputs.parts import assemble, sentence_parts
from judge.inputs.rubrics import select
from judge.offline.verdicts import respond
from tests.fakeserver import FakeServer, Malformed, Reply, Status
from tests.reliability_helpers import write_config, write_dataset

CATEGORIES = ("death", "violence", "injury", "graphic", "abuse")
NEWS = {"id": "n1", "task": "news", "model": "m1",
        "source": "Three people died in the fire. Two neighbours were injured. The cause is unknown.",
        "response": "A fire broke out on Sunday. One man died."}  # fmt: skip
SIDES = {"baseline": 3, "response": 2}


def counting_judge(body: dict[str, Any]) -> dict[str, Any]:
    """Counts 'died' as death and 'injured' as injury in the one sentence it is shown."""
    user = body["messages"][-1]["content"]
    (sentence,) = re.findall(r"<<<SENTENCE>>>\n\[\d+\] (.*)\n<<<END SENTENCE>>>", user)
    counts = dict.fromkeys(CATEGORIES, 0)
    counts["death"] = sentence.count("died")
    counts["injury"] = sentence.count("injured")
    return {"counts": counts}


def _run(tmp_path: Path, server: FakeServer, name: str, *extra: str, code: int = 0) -> Path:
    config = write_config(tmp_path / "judges.yaml", server.base_url, models=("judge-a",))
    run_dir = tmp_path / name
    args = ["run", "--config", str(config), "--dataset", str(write_dataset(tmp_path / "d.jsonl", [NEWS])),
            "--rubric", "egm-paper@2", "--run-dir", str(run_dir), "--quiet", "--cache-dir", str(tmp_path / "cache")]
    assert main([*args, *extra]) == code
    return run_dir


def test_one_call_per_sentence_assembled_into_one_row(tmp_path: Path, fake_server: FakeServer) -> None:
    fake_server.set_responder(counting_judge)
    run_dir = _run(tmp_path, fake_server, "first")
    requests = [r for r in fake_server.requests if r.outcome == "reply"]
    assert len(requests) == sum(SIDES.values())
    assert {r.body["response_format"]["json_schema"]["name"] for r in requests} == {"egm-paper-sentence"}
    # Each call shows one sentence; everything before the sentence is the same for every call.
    systems = {r.body["messages"][0]["content"] for r in requests}
    assert len(systems) == 1 and "<<<SENTENCE>>>" not in systems.pop()
    (row,) = pl.read_parquet(run_dir / "verdicts.parquet").to_dicts()
    verdict = json.loads(row["verdict"])
    assert [c["death"] for c in verdict["source_counts"]] == [1, 0, 0]
    assert [c["injury"] for c in verdict["source_counts"]] == [0, 1, 0]
    assert [c["death"] for c in verdict["response_counts"]] == [0, 1]
    assert verdict["rationale"] == "Assembled from 5 per-sentence calls (3 baseline, 2 response sentences)."
    assert (row["status"], row["score"], row["raw_score"]) == ("ok", 0.5, 0.5)  # totals 2 -> 1
    # Tokens and attempts are the sums over the five calls (the server bills characters / 4).
    billed = sum(sum(len(m["content"]) for m in r.body["messages"]) // 4 for r in requests)
    assert row["attempts"] == 5 and row["prompt_tokens"] == billed
    assert [p["part"] for p in json.loads(row["raw_text"])] == [
        "baseline[1]", "baseline[2]", "baseline[3]", "response[1]", "response[2]"]
    # Each sentence call is cached under its own key: the same run again asks nothing.
    again = _run(tmp_path, fake_server, "second")
    assert fake_server.count() == 5
    (cached,) = pl.read_parquet(again / "verdicts.parquet").to_dicts()
    assert cached["cached"] and cached["verdict"] == row["verdict"] and cached["cost_usd"] == 0


def test_a_failed_sentence_call_fails_the_row_and_names_the_sentence(tmp_path: Path, fake_server: FakeServer) -> None:
    fake_server.set_responder(counting_judge)
    fake_server.script(Reply(json.dumps({"counts": dict.fromkeys(CATEGORIES, 0)})), Malformed(), strict=False)
    run_dir = _run(tmp_path, fake_server, "bad", code=5)  # its one judge delivered nothing valid
    (row,) = pl.read_parquet(run_dir / "verdicts.parquet").to_dicts()
    # egm-paper's policy repairs what it can; a reply that is not JSON at all stays invalid.
    assert row["status"] == "invalid" and row["score"] is None
    assert row["error"].startswith("sentence baseline[2] (2 of 5 calls): reply is not JSON")
    assert fake_server.count() == 2  # the remaining sentences are not asked
    fake_server.script(Status(400), strict=False)
    run_dir = _run(tmp_path, fake_server, "error", "--no-cache", code=5)
    (row,) = pl.read_parquet(run_dir / "verdicts.parquet").to_dicts()
    assert row["status"] == "error" and row["error"].startswith("sentence baseline[1] (1 of 5 calls): ")


def _item(raw: dict[str, Any], reference: str | None = None) -> Item:
    return Item(id=raw["id"], task=raw["task"], dimension="cognitive", model="m", source=raw["source"],
                response=raw["response"], reference=reference)  # fmt: skip


def test_offline_per_sentence_counts_equal_the_one_call_counts() -> None:
    one, per = (select(paths.rubrics_dir(), [r])[0] for r in ("egm-paper@1", "egm-paper@2"))
    item = _item(NEWS)
    for judge in ("lexicon", "structure"):
        whole = json.loads(respond(judge, one, item))
        parts = [(p, json.loads(respond(judge, per, item, p))) for p in sentence_parts(per, item)]
        assembled = assemble(per, parts)
        assert assembled["source_counts"] == whole["source_counts"]
        assert assembled["response_counts"] == whole["response_counts"]


def test_offline_judges_abstain_on_a_sentence_they_cannot_read(tmp_path: Path) -> None:
    chinese = {**NEWS, "id": "t1", "task": "translation", "source": "三个人在火灾中死亡。两名邻居受伤。"}
    run_dir = tmp_path / "run"
    args = ["run", "--dataset", str(write_dataset(tmp_path / "d.jsonl", [chinese, NEWS])), "--rubric",
            "egm-paper@2", "--run-dir", str(run_dir), "--quiet", "--no-cache"]  # fmt: skip
    assert main(args) == 0
    rows = pl.read_parquet(run_dir / "verdicts.parquet")
    bad = rows.filter(pl.col("item_id") == "t1")
    assert set(bad["status"]) == {"abstained"} and bad["score"].null_count() == 2
    assert bad["error"].str.starts_with("sentence baseline[1] (1 of ").all()
    assert bad["error"].str.contains("mostly in Chinese, Japanese or Korean script").all()
    assert set(rows.filter(pl.col("item_id") == "n1")["status"]) == {"ok"}
