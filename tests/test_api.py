"""The Python API (judge.Plan, judge.evaluate, judge.evaluate_async, judge.read_run): typed results,
rows and frames as datasets, validation up front, and runs from inside a running event loop (a
notebook), including Ctrl-C there."""

from __future__ import annotations

import _thread
import ast
import asyncio
import json
import re
import signal
import threading
import time
from pathlib import Path
from typing import Any

import polars as pl
import pytest

import judge
from judge.cli.main import main
from judge.core.errors import ConfigError, DatasetError, RubricError
from judge.inputs.config import JudgeConfig
from tests.fakeserver import FakeServer
from tests.reliability_helpers import items, started_server, write_dataset

OFFLINE = ["offline/lexicon", "offline/structure"]
RUBRICS = ["sa-graded", "ld-paper"]  # both apply to every item


def rows(n: int = 4) -> list[dict[str, Any]]:
    return items(n)


def test_evaluate_rows_returns_typed_records(tmp_path: Path) -> None:
    plan = judge.Plan(rows(), judges=OFFLINE, rubrics=RUBRICS)
    run = judge.evaluate(plan, runs_dir=tmp_path)
    assert isinstance(run, judge.Run)
    assert run.status == "completed" and run.path.parent == tmp_path
    assert isinstance(run.manifest, judge.Manifest) and isinstance(run.summary, judge.Summary)
    assert isinstance(run.verdicts, pl.DataFrame) and run.verdicts.height == 4 * 2 * 2
    assert run.summary.counts["ok"] == 16 and run.summary.status == "completed"
    assert {ref.split("@")[0] for ref in run.summary.agreement} == set(RUBRICS)
    # The rows are saved with the run, under the hash they were validated with.
    saved = run.path / "dataset.jsonl"
    assert run.manifest.dataset.path == str(saved) and saved.is_file()
    assert judge.open_dataset(saved).hash == run.manifest.dataset.hash == run.manifest.plan.dataset
    # read_run gives back the same records.
    back = judge.read_run(run.path)
    assert back.manifest == run.manifest and back.summary == run.summary
    assert back.verdicts.equals(run.verdicts)
    assert (run.path / "report.html").is_file()


def test_a_polars_frame_is_a_dataset(tmp_path: Path) -> None:
    frame = pl.DataFrame(rows(3))
    run = judge.evaluate(judge.Plan(frame, judges=["offline/lexicon"], rubrics=["sa-graded"]), tmp_path / "r",
                         html=False)
    assert run.verdicts["item_id"].to_list() == ["i000", "i001", "i002"]
    assert not (run.path / "report.html").exists()
    # The same rows as a list hash the same: one serialisation for both.
    assert judge.Plan(rows(3), judges=["offline/lexicon"]).dataset.hash == run.manifest.dataset.hash


def test_judge_configs_are_recorded_whole_and_resume(tmp_path: Path, fake_server: FakeServer) -> None:
    config = JudgeConfig(model="openai/judge-a", api_base=fake_server.base_url, timeout_s=5, max_concurrency=2)
    plan = judge.Plan(rows(2), judges=[config, {"model": "offline/lexicon", "name": "lex"}], rubrics=["sa-graded"])
    run = judge.evaluate(plan, tmp_path / "r", html=False)
    assert run.status == "completed" and run.verdicts.height == 4
    assert run.manifest.options is not None
    first, second = run.manifest.options.judges
    assert (first["model"], first["api_base"], first["max_concurrency"]) == ("openai/judge-a", fake_server.base_url, 2)
    assert (second["model"], second["name"]) == ("offline/lexicon", "lex")
    # A finished run resumes from its own records (judges, rows saved in the run) and calls nothing.
    calls = fake_server.count()
    again = judge.evaluate(judge.Plan.resume(run.path), html=False)
    assert again.status == "completed" and fake_server.count() == calls
    assert len(again.manifest.resumed) == 1


def test_a_sample_of_rows_resumes_and_refuses_another_sample(tmp_path: Path) -> None:
    plan = judge.Plan(rows(20), judges=["offline/lexicon"], rubrics=["sa-graded"], sample=5, seed=3)
    run = judge.evaluate(plan, tmp_path / "r", html=False)
    assert run.verdicts["item_id"].n_unique() == 5 and run.manifest.plan.sample == 5
    with pytest.raises(ConfigError) as info:
        judge.Plan.resume(run.path, sample=6)
    assert "--sample: the run was started with 5, not 6" in str(info.value)
    resumed = judge.Plan.resume(run.path, budget_usd=1.0)
    assert resumed.dataset.keep == plan.dataset.keep  # the saved rows, sampled the same way
    assert judge.evaluate(resumed, html=False).status == "completed"


@pytest.mark.parametrize(
    ("kwargs", "error", "message"),
    [
        pytest.param({"dataset": [{"id": "a", "task": "news", "source": "s"}]}, DatasetError,
                     "<rows>: row 0: missing required field 'response'", id="row-missing-field"),
        pytest.param({"dataset": {"id": "a"}}, DatasetError, "give a file path, a list of row dicts",
                     id="one-dict-not-rows"),
        pytest.param({"dataset": [["a", "news"]]}, DatasetError, "row 0: expected a mapping", id="row-not-a-dict"),
        pytest.param({"repeats": 0}, ConfigError, "--repeats: 0 must be a positive integer", id="repeats-zero"),
        pytest.param({"sample": 0}, ConfigError, "--sample: 0 must be a positive integer", id="sample-zero"),
        pytest.param({"rubrics": ["sa-gradd"]}, RubricError, "did you mean 'sa-graded'", id="rubric-typo"),
        pytest.param({"judges": "offline/lexicon"}, ConfigError, "give a list of model strings", id="judges-str"),
        pytest.param({"judges": [3]}, ConfigError, "judges[0]: got int", id="judge-int"),
        pytest.param({"judges": [{"model": "x/y", "max_concurency": 2}]}, ConfigError,
                     "judges[0]: unknown key 'max_concurency' (did you mean 'max_concurrency'?)",
                     id="judge-config-typo"),
        pytest.param({"cache": "sometimes"}, ConfigError, "cache: 'sometimes' must be one of on, off, replay",
                     id="cache-mode"),
        pytest.param({"dataset": "missing.jsonl"}, DatasetError, "missing.jsonl: dataset file not found",
                     id="dataset-missing"),
    ],
)
def test_plans_are_validated_up_front(kwargs: dict[str, Any], error: type[Exception], message: str) -> None:
    kwargs = {"dataset": rows(2), **kwargs}
    with pytest.raises(error) as info:
        judge.Plan(**kwargs)
    assert message in str(info.value)


def test_sync_evaluate_inside_a_running_loop(tmp_path: Path) -> None:
    """A notebook cell: a loop is running in this thread; evaluate runs its own loop in a worker."""

    async def cell() -> judge.Run:
        return judge.evaluate(judge.Plan(rows(2), judges=OFFLINE, rubrics=["sa-graded"]), tmp_path / "r")

    run = asyncio.run(cell())
    assert run.status == "completed" and run.verdicts.height == 4
    assert json.loads((tmp_path / "r" / "manifest.json").read_text())["status"] == "completed"


def test_evaluate_async_in_the_callers_loop(tmp_path: Path) -> None:
    async def cell() -> list[judge.Run]:
        plans = [judge.Plan(rows(2), judges=["offline/lexicon"], rubrics=[r]) for r in RUBRICS]
        # Two runs at once on one loop.
        return list(await asyncio.gather(*(judge.evaluate_async(p, tmp_path / p.rubrics[0].id) for p in plans)))

    before = signal.getsignal(signal.SIGINT)
    runs = asyncio.run(cell())
    assert [r.status for r in runs] == ["completed", "completed"]
    # The two runs shared the loop's signal handlers and gave back the ones they found.
    assert signal.getsignal(signal.SIGINT) is before
    assert [r.verdicts["rubric_id"].unique().to_list() for r in runs] == [["sa-graded"], ["ld-paper"]]


def test_the_cli_entry_point_works_inside_a_running_loop(tmp_path: Path) -> None:
    """It used to raise "asyncio.run() cannot be called from a running event loop" and leave the run
    directory at ``running``."""
    data = write_dataset(tmp_path / "d.jsonl", rows(2))

    async def cell() -> int:
        return main(["run", "--dataset", str(data), "--rubric", "sa-graded", "--run-dir", str(tmp_path / "r"),
                     "--quiet"])

    assert asyncio.run(cell()) == 0
    assert json.loads((tmp_path / "r" / "manifest.json").read_text())["status"] == "completed"


def test_ctrl_c_in_a_notebook_stops_the_run_gracefully_and_it_resumes(tmp_path: Path) -> None:
    """Ctrl-C reaches the notebook's thread, not the run's worker: the run stops starting calls, lets
    those in flight land, says ``interrupted``, and finishes later with Plan.resume."""
    server = started_server(latency_ms=40)
    config = tmp_path / "judges.yaml"
    config.write_text(
        "judges:\n"
        f"  - {{model: openai/judge-a, api_base: '{server.base_url}', timeout_s: 5, max_concurrency: 1}}\n"
    )
    run_dir = tmp_path / "r"
    try:
        plan = judge.Plan(rows(40), config=config, rubrics=["sa-graded"], cache="off")

        def interrupt_after_some_rows() -> None:
            # Generous: on a loaded 2-core machine the run's start-up (LiteLLM's import) took 20-30 s,
            # and an interrupt before the run starts tests something else (and may land in an import).
            deadline = time.monotonic() + 300
            log = run_dir / "verdicts.jsonl"
            while time.monotonic() < deadline and (not log.exists() or log.read_bytes().count(b"\n") < 3):
                time.sleep(0.01)
            _thread.interrupt_main()  # what a kernel interrupt does: KeyboardInterrupt in the main thread

        async def cell() -> judge.Run:
            return judge.evaluate(plan, run_dir, html=False)

        # A kernel has Python's own SIGINT handler. pytest started as a background job of a
        # non-interactive shell (`./.ci/run &`) inherits SIGINT ignored, and interrupt_main() then
        # does nothing: the run completed and this test failed only under such a CI.
        previous = signal.signal(signal.SIGINT, signal.default_int_handler)
        threading.Thread(target=interrupt_after_some_rows, daemon=True).start()
        # run_until_complete, as a kernel runs its loop: Ctrl-C stays a KeyboardInterrupt (asyncio.run
        # would turn it into a cancellation of the cell's task).
        loop = asyncio.new_event_loop()
        try:
            run = loop.run_until_complete(cell())
        finally:
            loop.close()
            signal.signal(signal.SIGINT, previous)
        assert run.status == "interrupted"
        assert 3 <= run.verdicts.height < 40
        assert json.loads((run_dir / "manifest.json").read_text())["status"] == "interrupted"
        done = server.count()
        finished = judge.evaluate(judge.Plan.resume(run_dir), html=False)
    finally:
        server.stop()
    assert finished.status == "completed" and finished.verdicts.height == 40
    assert finished.verdicts.select("item_id").is_unique().all()
    assert server.count() - done <= 40 - run.verdicts.height + 1  # at most the one call in flight again


def test_an_unexpected_error_marks_the_run_failed(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """A bug in a worker keeps its traceback, and the run directory says ``failed``, not ``running``."""

    async def broken(self: Any) -> Any:
        raise RuntimeError("a bug")

    monkeypatch.setattr("judge.engine.runner.Runner.run", broken)
    with pytest.raises(RuntimeError, match="a bug"):
        judge.evaluate(judge.Plan(rows(2), judges=["offline/lexicon"], rubrics=["sa-graded"]), tmp_path / "r")
    manifest = judge.read_run(tmp_path / "r").manifest
    assert manifest.status == "failed" and manifest.failure == "RuntimeError: a bug"


@pytest.mark.parametrize(
    ("outcome", "error", "status"),
    [
        pytest.param({}, None, "completed", id="completed"),
        pytest.param({"interrupted": True}, None, "interrupted", id="interrupted"),
        # interrupted: a stop left planned work without a row, which a resume must finish (issue 15 item 11)
        pytest.param({"budget_exhausted": True, "interrupted": True}, None, "interrupted", id="missing-work-wins"),
        pytest.param({"budget_exhausted": True}, None, "budget_exhausted", id="budget"),
        pytest.param({"failure": ConfigError("x"), "budget_exhausted": True}, None, "failed", id="failure-wins"),
        pytest.param({}, KeyboardInterrupt(), "interrupted", id="ctrl-c"),
        pytest.param({}, asyncio.CancelledError(), "interrupted", id="cancelled"),
        pytest.param({}, RuntimeError("bug"), "failed", id="bug"),
    ],
)
def test_run_status_is_decided_in_one_place(outcome: dict[str, Any], error: BaseException | None,
                                            status: str) -> None:
    from judge.engine.runner import RunOutcome
    from judge.engine.session import run_status

    assert run_status(None if error else RunOutcome(**outcome), error) == status


def _readme_blocks() -> list[str]:
    text = (Path(__file__).resolve().parent.parent / "README.md").read_text(encoding="utf-8")
    section = text.split("\n## Python API\n", 1)[1].split("\n## ", 1)[0]
    return re.findall(r"```python\n(.*?)```", section, re.S)


def _run_block(source: str, namespace: dict[str, Any]) -> Any:
    """Run a README block as a notebook cell would: top-level ``await`` allowed."""
    code = compile(source, "README.md", "exec", flags=ast.PyCF_ALLOW_TOP_LEVEL_AWAIT)
    return eval(code, namespace)  # a coroutine when the block awaits


def test_the_readme_example_runs(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    sync_block = _readme_blocks()[0]
    monkeypatch.chdir(tmp_path)
    namespace: dict[str, Any] = {}
    assert _run_block(sync_block, namespace) is None
    assert namespace["run"].status == "completed" and namespace["again"].summary == namespace["run"].summary
    assert namespace["run"].path.parent == Path("runs")


def test_the_readme_example_runs_inside_a_running_loop_sync_and_async(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    sync_block, async_block = _readme_blocks()
    monkeypatch.chdir(tmp_path)
    namespace: dict[str, Any] = {}

    async def notebook() -> None:
        assert _run_block(sync_block, namespace) is None  # the sync form, with a loop running
        first = namespace["run"]
        await _run_block(async_block, namespace)  # the async form, on this loop
        assert namespace["run"] is not first

    asyncio.run(notebook())
    assert namespace["run"].status == "completed"
    assert len([p for p in (tmp_path / "runs").iterdir() if not p.name.startswith(".")]) == 2


@pytest.mark.parametrize(
    "options",
    [pytest.param({}, id="whole"), pytest.param({"limit": 3}, id="limit"),
     pytest.param({"sample": 4, "seed": 1, "limit": 2}, id="sample-and-limit")],
)
def test_a_run_parses_its_dataset_once(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str], options: dict[str, Any]
) -> None:
    """Validation, the prompt check, sampling, the progress line's count, judging, the summary's
    item facts and the report's texts all use the items read when the plan was made."""
    from judge.inputs import dataset as dataset_module

    path = write_dataset(tmp_path / "d.jsonl", rows(8))
    reads = []
    real = dataset_module._rows

    def counted(*args: Any, **kwargs: Any) -> Any:
        reads.append(args[0])
        return real(*args, **kwargs)

    monkeypatch.setattr(dataset_module, "_rows", counted)
    run = judge.evaluate(judge.Plan(path, judges=OFFLINE, rubrics=RUBRICS, **options), tmp_path / "r", progress=True)
    assert reads == [path]
    judged = options.get("limit", 8)
    assert run.verdicts["item_id"].n_unique() == judged and (run.path / "report.html").is_file()
    assert f"{judged * 2 * 2} verdicts" in capsys.readouterr().err  # the progress line's count


def test_the_run_reads_the_whole_verdict_table_only_when_asked(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The summary reads what it needs (no rationales; raw replies of problem verdicts only), and
    ``Run.verdicts`` reads the whole table on first access: the CLI, which prints the summary,
    never loads it."""
    from judge.store import reader

    wanted: list[Any] = []
    real = reader.read_verdicts

    def spy(run_dir: Any, columns: Any = None) -> Any:
        wanted.append(None if columns is None else tuple(columns))
        return real(run_dir, columns)

    monkeypatch.setattr(reader, "read_verdicts", spy)
    run = judge.evaluate(judge.Plan(rows(3), judges=OFFLINE, rubrics=RUBRICS), tmp_path / "r")
    assert None not in wanted  # summary, health and report.html read columns they name
    frame = run.verdicts
    assert wanted.count(None) == 1 and frame.columns == list(judge.VerdictRow.__dataclass_fields__)
    assert run.verdicts is frame and wanted.count(None) == 1  # read once
    summary_frame = reader.read_summary_verdicts(run.path)
    assert "rationale" not in summary_frame.columns
    assert summary_frame["raw_text"].null_count() == summary_frame.height  # every verdict is ok here
