"""Batch mode end to end: real LiteLLM file/batch calls (openai/) and our Message Batches client
(anthropic/) over real HTTP against the loopback batch servers of tests/providers.py.

What is pinned: verdicts come back matched by custom id and priced at the batch rates; a batch
request's body is byte for byte what the synchronous call puts on the wire; failed and expired
requests go into later batches (bounded) and what still fails keeps the provider's reason; an
invalid reply's re-ask goes into a follow-up batch; a lost answer to the create call is found by
its marker instead of being submitted twice; the budget reserves each batch at the batch price;
unsupported providers are refused with the reason. Killing a batch run and resuming it is in
tests/test_batch_resume.py.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import polars as pl
import pytest

from judge.cli.main import main
from judge.core.errors import ConfigError
from judge.engine.estimate import estimate
from judge.engine.plan import Plan
from judge.judging.batch_api import parse_anthropic_line, parse_openai_line
from judge.judging.pricing import litellm_price
from judge.store.batches import BatchJournal
from tests.fakeserver import Malformed, Status
from tests.providers import BatchPlan, DropAfter, ProviderServer
from tests.reliability_helpers import rubrics_with_policy

KEY_ENV = "FAKE_ANTHROPIC_KEY"
ITEMS = [
    {"id": f"n{i}", "task": "counselling", "model": "m1",
     "source": f"My manager mocks me in every meeting, on floor {i}, and I dread Mondays.",
     "response": f"Try to stay positive and talk to HR about floor {i}."}
    for i in range(4)
]
RUBRICS = ["--rubric", "sa-graded", "--rubric", "ca-paper"]
OPENAI = "openai/gpt-4o-mini"
ANTHROPIC = "anthropic/claude-haiku-4-5"


@pytest.fixture
def server() -> Any:
    with ProviderServer() as s:
        s.batch_plan = BatchPlan(validate_polls=1, progress_polls=1)
        yield s
    s.check()


def write_inputs(tmp: Path, server: ProviderServer, models: tuple[str, ...], items: list[dict[str, Any]] = ITEMS,
                 **extra: Any) -> tuple[Path, Path]:
    data = tmp / "data.jsonl"
    data.write_text("".join(json.dumps(i) + "\n" for i in items), encoding="utf-8")
    lines = ["judges:"]
    for model in models:
        lines += [f"  - model: {model}", "    batch_poll_s: 0.05", "    timeout_s: 10", "    max_attempts: 2"]
        if model.startswith("anthropic/"):
            lines += [f"    api_base: {server.root_url}", f"    api_key_env: {KEY_ENV}"]
        else:
            lines += [f"    api_base: {server.base_url}"]
        lines += [f"    {k}: {json.dumps(v)}" for k, v in extra.items()]
    config = tmp / "judges.yaml"
    config.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return config, data


def run(tmp: Path, config: Path, data: Path, *extra: str, name: str = "run",
        rubrics: list[str] = RUBRICS) -> tuple[int, Path]:
    run_dir = tmp / name
    code = main(["run", "--config", str(config), "--dataset", str(data), "--run-dir", str(run_dir), "--quiet",
                 "--no-cache", *rubrics, *extra])
    return code, run_dir


def verdicts(run_dir: Path) -> pl.DataFrame:
    return pl.read_parquet(run_dir / "verdicts.parquet")


@pytest.fixture(autouse=True)
def _key(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv(KEY_ENV, "sk-ant-fake-key")


@pytest.mark.parametrize("model", [OPENAI, ANTHROPIC])
def test_a_batch_run_answers_every_unit_at_the_batch_price(tmp_path: Path, server: ProviderServer,
                                                           model: str) -> None:
    config, data = write_inputs(tmp_path, server, (model,))
    code, run_dir = run(tmp_path, config, data, "--batch")
    assert code == 0
    v = verdicts(run_dir)
    assert v.height == 8 and v["status"].to_list() == ["ok"] * 8
    assert len(server.batches) == 1 and v["batch_id"].unique().to_list() == [server.batches[0].id]
    assert set(server.submissions().values()) == {1} and len(server.submissions()) == 8
    # No chat call was made: every verdict came through the batch.
    assert not [r for r in server.requests if r.path in ("/v1/chat/completions", "/v1/messages")]
    price = litellm_price(model.split("/", 1)[1])
    assert price is not None and price.batch_input_per_token is not None
    for row in v.iter_rows(named=True):
        expected = price.cost(row["prompt_tokens"], row["completion_tokens"], cached=row["cache_read_tokens"] or 0,
                              cache_write=row["cache_write_tokens"] or 0, batch=True)
        assert row["cost_usd"] == pytest.approx(expected)
        assert row["cost_usd"] < price.cost(row["prompt_tokens"], row["completion_tokens"])
    summary = json.loads((run_dir / "summary.json").read_text())
    assert summary["cost"]["batched"] == 8
    journal = BatchJournal(run_dir / "batches.jsonl").records()
    assert [r["event"] for r in journal] == ["intent", "submitted", "ended"]


def test_anthropic_batches_carry_the_headers_and_the_cache_marker(tmp_path: Path, server: ProviderServer) -> None:
    config, data = write_inputs(tmp_path, server, (ANTHROPIC,))
    assert run(tmp_path, config, data, "--batch")[0] == 0
    create = next(r for r in server.requests if r.path == "/v1/messages/batches" and r.method == "POST")
    assert create.headers["x-api-key"] == "sk-ant-fake-key" and create.headers["anthropic-version"] == "2023-06-01"
    assert create.headers["anthropic-beta"] == "structured-outputs-2025-11-13"
    params = create.body["requests"][0]["params"]
    assert params["system"][-1]["cache_control"] == {"type": "ephemeral"}
    assert "output_format" in params and "json_mode" not in params and "stream" not in params


def test_cache_control_can_be_switched_off(tmp_path: Path, server: ProviderServer) -> None:
    config, data = write_inputs(tmp_path, server, (ANTHROPIC,), cache_control=False)
    assert run(tmp_path, config, data, "--batch")[0] == 0
    create = next(r for r in server.requests if r.path == "/v1/messages/batches" and r.method == "POST")
    assert all("cache_control" not in block for block in create.body["requests"][0]["params"]["system"])


@pytest.mark.parametrize(("model", "path"), [(OPENAI, "/v1/chat/completions"), (ANTHROPIC, "/v1/messages")])
def test_a_batch_request_is_the_synchronous_request(tmp_path: Path, server: ProviderServer, model: str,
                                                    path: str) -> None:
    config, data = write_inputs(tmp_path, server, (model,), items=ITEMS[:1])
    assert run(tmp_path, config, data, name="sync")[0] == 0
    sync = {json.dumps(r.body["messages"], sort_keys=True): r.body for r in server.requests if r.path == path}
    assert len(sync) == 2
    assert run(tmp_path, config, data, "--batch", name="batch")[0] == 0
    batch = server.batches[0]
    assert len(batch.lines) == 2
    for line in batch.lines:
        body = dict(line["body"])
        assert body == sync[json.dumps(body["messages"], sort_keys=True)]


def _text(body: dict[str, Any]) -> str:
    return json.dumps(body.get("messages"))


def test_failed_and_expired_requests_go_into_later_batches(tmp_path: Path, server: ProviderServer) -> None:
    items = [*ITEMS[:2], {**ITEMS[2], "source": "RETRY this one: my sister lied to me about the money."},
             {**ITEMS[3], "source": "REFUSE this one: my sister lied to me about the money."}]

    def first(body: dict[str, Any]) -> Any:
        return Status(503) if "RETRY" in _text(body) else Status(400) if "REFUSE" in _text(body) else None

    server.script_batches(BatchPlan(validate_polls=1, line_rule=first),
                          BatchPlan(expire_after_polls=1),  # the resubmission expires once ...
                          BatchPlan(progress_polls=1))  # ... and then runs
    config, data = write_inputs(tmp_path, server, (OPENAI,), items=items, batch_resubmits=2)
    assert run(tmp_path, config, data, "--batch")[0] == 0
    v = verdicts(run_dir := tmp_path / "run").sort(["item_id", "rubric_id"])
    retried = v.filter(pl.col("item_id") == "n2")
    assert retried["status"].to_list() == ["ok", "ok"] and retried["attempts"].to_list() == [3, 3]
    assert retried["batch_id"].unique().to_list() == [server.batches[2].id]
    assert all("batch_expired" in e or "HTTP 503" in e for e in retried["error"].to_list())
    refused = v.filter(pl.col("item_id") == "n3")
    assert refused["status"].to_list() == ["error", "error"] and refused["attempts"].to_list() == [1, 1]
    assert all("HTTP 400" in e for e in refused["error"].to_list())
    assert v.filter(pl.col("item_id").is_in(["n0", "n1"]))["attempts"].to_list() == [1, 1, 1, 1]
    assert [len(b.lines) for b in server.batches] == [8, 2, 2]
    assert run_dir.exists()


def test_requests_that_keep_failing_stop_after_the_resubmissions(tmp_path: Path, server: ProviderServer) -> None:
    server.batch_plan = BatchPlan(line_rule=lambda body: Status(500))
    config, data = write_inputs(tmp_path, server, (OPENAI,), items=ITEMS[:1], batch_resubmits=1)
    assert run(tmp_path, config, data, "--batch")[0] == 5  # no ok verdict: the judge is unhealthy
    v = verdicts(tmp_path / "run")
    assert v["status"].to_list() == ["error", "error"] and v["attempts"].to_list() == [2, 2]
    assert all("after 2 batches" in e and "HTTP 500" in e for e in v["error"].to_list())
    assert len(server.batches) == 2


def test_an_invalid_reply_is_re_asked_in_a_follow_up_batch(tmp_path: Path, server: ProviderServer) -> None:
    rubrics_dir = rubrics_with_policy(tmp_path / "rubrics", "reask", max_reasks=1)

    def bad_once(body: dict[str, Any]) -> Any:
        return Malformed() if "floor 0" in _text(body) else None

    server.script_batches(BatchPlan(line_rule=bad_once))
    config, data = write_inputs(tmp_path, server, (OPENAI,), items=ITEMS[:2])
    assert run(tmp_path, config, data, "--batch", "--rubrics-dir", str(rubrics_dir),
               rubrics=["--rubric", "ca-paper"])[0] == 0
    v = verdicts(tmp_path / "run").filter(pl.col("rubric_id") == "ca-paper").sort("item_id")
    assert v["status"].to_list() == ["ok", "ok"]
    assert v["rescued_by"].to_list() == ["reask-1", None]
    assert len(server.batches) == 2 and len(server.batches[1].lines) == 1
    reask = server.batches[1].lines[0]["body"]["messages"]
    assert [m["role"] for m in reask] == ["system", "user", "assistant", "user"]


@pytest.mark.parametrize("model", [OPENAI, ANTHROPIC])
def test_a_lost_answer_to_create_is_looked_up_not_submitted_again(tmp_path: Path, server: ProviderServer,
                                                                  model: str) -> None:
    server.script_batch_api("create", DropAfter())
    config, data = write_inputs(tmp_path, server, (model,), items=ITEMS[:2])
    assert run(tmp_path, config, data, "--batch")[0] == 0
    assert len(server.batches) == 1, "the batch was created twice"
    assert set(server.submissions().values()) == {1}
    assert verdicts(tmp_path / "run")["status"].to_list() == ["ok"] * 4
    events = [r["event"] for r in BatchJournal(tmp_path / "run" / "batches.jsonl").records()]
    assert events == ["intent", "submitted", "ended"]


def test_a_refused_create_is_an_error_with_the_reason(tmp_path: Path, server: ProviderServer) -> None:
    server.script_batch_api("create", Status(400, body={"error": {"message": "model not allowed in batches"}}))
    config, data = write_inputs(tmp_path, server, (OPENAI,), items=ITEMS[:1])
    assert run(tmp_path, config, data, "--batch")[0] == 5  # no ok verdict: the judge is unhealthy
    v = verdicts(tmp_path / "run")
    assert v["status"].to_list() == ["error", "error"]
    assert all("model not allowed in batches" in e for e in v["error"].to_list())
    events = [r["event"] for r in BatchJournal(tmp_path / "run" / "batches.jsonl").records()]
    assert events == ["intent", "abandoned"] and not server.batches


def test_the_budget_reserves_each_batch_before_submitting_it(tmp_path: Path, server: ProviderServer) -> None:
    config, data = write_inputs(tmp_path, server, (ANTHROPIC,), batch_size=4)
    # A request's worst case (its prompt at the dearest rate plus 1,024 completion tokens, at the
    # batch price) is several times its actual cost: a cap of 1.6 worst cases pays for a few
    # requests, one batch at a time, then stops.
    worst = estimate(Plan(str(data), config=str(config), rubrics=["sa-graded", "ca-paper"]),
                     tmp_path / "none")["total"]["batch_high_usd"] / 8
    cap = 1.6 * worst
    code, run_dir = run(tmp_path, config, data, "--batch", "--budget-usd", f"{cap:.6f}")
    manifest = json.loads((run_dir / "manifest.json").read_text())
    budget = manifest["budgets"][-1]
    v = verdicts(run_dir)
    assert budget["spent_usd"] <= cap and budget["overshoot_usd"] == 0
    assert v["cost_usd"].sum() == pytest.approx(budget["spent_usd"])
    # Each batch was submitted only once its worst case fit: the cap cut the run short.
    assert code == 3 and 0 < v.filter(pl.col("status") == "ok").height < 8
    assert v.filter(pl.col("status") == "skipped").height > 0
    assert sum(len(b.lines) for b in server.batches) == v.filter(pl.col("status") == "ok").height
    intents = [r for r in BatchJournal(run_dir / "batches.jsonl").records() if r["event"] == "intent"]
    assert intents and all(r["reserved_usd"] <= cap for r in intents)


@pytest.mark.parametrize(
    ("judge", "reason"),
    [
        ("ollama_chat/qwen3:8b", "has no batch route"),
        ("offline/lexicon", "nothing to batch"),
    ],
)
def test_batch_mode_refuses_judges_it_cannot_batch(judge: str, reason: str) -> None:
    with pytest.raises(ConfigError, match=reason):
        Plan(judges=[judge], batch=True, rubrics=["sa-graded"], limit=1)
    with pytest.raises(ConfigError, match=reason):
        Plan(judges=[{"model": judge, "batch": True}], rubrics=["sa-graded"], limit=1)


def test_batch_applies_to_the_judges_that_can_batch() -> None:
    plan = Plan(judges=["offline/lexicon", "openai/gpt-4o-mini"], batch=True, rubrics=["sa-graded"], limit=1)
    assert [j.batch for j in plan.judges] == [False, True]


@pytest.mark.parametrize(
    ("line", "ok", "retryable", "reason"),
    [
        pytest.param({"custom_id": "a", "response": {"status_code": 200, "body": {
            "choices": [{"message": {"content": "{}"}}], "usage": {"prompt_tokens": 5, "completion_tokens": 1,
                                                                    "prompt_tokens_details": {"cached_tokens": 3}}}},
                      "error": None}, True, False, None, id="ok"),
        pytest.param({"custom_id": "a", "response": {"status_code": 429, "body": {"error": {"message": "slow"}}}},
                     False, True, "HTTP 429", id="429"),
        pytest.param({"custom_id": "a", "response": {"status_code": 400, "body": {"error": {"message": "bad"}}}},
                     False, False, "HTTP 400", id="400"),
        pytest.param({"custom_id": "a", "response": None, "error": {"code": "batch_expired", "message": "late"}},
                     False, True, "batch_expired", id="expired"),
    ],
)
def test_openai_result_lines(line: dict[str, Any], ok: bool, retryable: bool, reason: str | None) -> None:
    outcome = parse_openai_line(line)
    assert outcome.ok is ok and outcome.retryable is retryable
    if ok:
        assert (outcome.usage.prompt_tokens, outcome.usage.cache_read_tokens) == (5, 3)
    else:
        assert reason is not None and outcome.error is not None and reason in outcome.error


@pytest.mark.parametrize(
    ("result", "ok", "retryable"),
    [
        pytest.param({"type": "succeeded", "message": {"content": [{"type": "text", "text": "{}"}], "usage": {
            "input_tokens": 10, "cache_read_input_tokens": 90, "cache_creation_input_tokens": 0,
            "output_tokens": 4}}}, True, False, id="text"),
        pytest.param({"type": "succeeded", "message": {"content": [{"type": "tool_use", "name": "json_tool_call",
                                                                     "input": {"a": 1}}], "usage": {}}},
                     True, False, id="tool"),
        pytest.param({"type": "errored", "error": {"type": "error", "error": {"type": "overloaded_error",
                                                                             "message": "busy"}}}, False, True,
                     id="overloaded"),
        pytest.param({"type": "errored", "error": {"type": "error", "error": {"type": "invalid_request_error",
                                                                             "message": "bad"}}}, False, False,
                     id="invalid"),
        pytest.param({"type": "expired"}, False, True, id="expired"),
        pytest.param({"type": "canceled"}, False, True, id="canceled"),
    ],
)
def test_anthropic_result_lines(result: dict[str, Any], ok: bool, retryable: bool) -> None:
    outcome = parse_anthropic_line({"custom_id": "x", "result": result})
    assert outcome.ok is ok and outcome.retryable is retryable
    if result.get("type") == "succeeded" and result["message"]["usage"]:
        assert (outcome.usage.prompt_tokens, outcome.usage.cache_read_tokens, outcome.usage.completion_tokens) == (
            100, 90, 4)
    if ok and result["message"]["content"][0]["type"] == "tool_use":
        assert json.loads(outcome.text or "") == {"a": 1}


def test_the_journal_survives_a_torn_line(tmp_path: Path) -> None:
    path = tmp_path / "batches.jsonl"
    journal = BatchJournal(path)
    journal.append({"event": "intent", "key": "a"})
    with path.open("ab") as fh:
        fh.write(b'{"event": "submitted", "key": "a", "bat')  # killed mid-write
    again = BatchJournal(path)
    again.append({"event": "abandoned", "key": "a"})
    assert [r["event"] for r in again.records()] == ["intent", "abandoned"]
