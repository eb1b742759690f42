"""report.html from hand-made run directories: sections with and without data, escaping,
self-containment, and the CLI paths that write it."""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

import polars as pl
import pytest

from judge.cli.main import main
from judge.core.hashing import file_hash
from judge.report import plots
from judge.report.data import load_run
from judge.report.html import render, write_report
from judge.store.rundir import MANIFEST, SUMMARY, VERDICT_COLUMNS, polars_schema, write_json

HOSTILE = '<script>alert(1)</script><img src="https://evil.example/x.png">'


def verdict(item: str, judge: str, status: str = "ok", score: float | None = 0.5, **extra: Any) -> dict[str, Any]:
    row: dict[str, Any] = dict.fromkeys(VERDICT_COLUMNS)
    row.update(
        item_id=item, task="news", model=extra.pop("model", "m1"), rubric_id="sa-graded", rubric_version=1,
        rubric_hash="r" * 64, prompt_hash="p" * 64, family="graded", mechanism="sentiment_attenuation",
        dimension="cognitive", judge=judge, judge_hash="j" * 64, repeat=0, status=status,
        score=score if status == "ok" else None, attempts=1, latency_ms=10.0, cost_usd=0.001, cached=False,
        finished_at="2026-01-01T00:00:00.000Z", rationale=f"{judge} thinks {item}",
    )  # fmt: skip
    row.update(extra)
    return row


def make_run(
    root: Path,
    rows: list[dict[str, Any]],
    *,
    summary: dict[str, Any] | None = None,
    dataset: list[dict[str, Any]] | None = None,
) -> Path:
    run_dir = root / "run"
    run_dir.mkdir()
    data_path = root / "data.jsonl"
    if dataset is not None:
        data_path.write_text("".join(json.dumps(d) + "\n" for d in dataset), encoding="utf-8")
    manifest = {
        "format_version": 1, "run_id": "test-run", "status": "completed", "argv": ["run"], "repeats": 1,
        "started_at": "2026-01-01T00:00:00.000Z",
        "dataset": {"path": str(data_path), "format": "jsonl", "items": len(dataset or []),
                    "hash": file_hash(str(data_path)) if dataset is not None else "d" * 64},
        "rubrics": [{"id": "sa-graded", "version": 1, "hash": "r" * 64, "mechanism": "sentiment_attenuation",
                     "family": "graded", "prompt": "graded-v1", "prompt_hash": "p" * 64,
                     "dimensions": ["cognitive"], "path": "rubrics/sa-graded/v1.yaml"}],
        "judges": [{"label": "a", "model": "offline/lexicon", "hash": "j" * 64}],
    }  # fmt: skip
    write_json(run_dir / MANIFEST, manifest)
    if summary is not None:  # the keys every summary.json has, plus the test's own
        write_json(run_dir / SUMMARY, {"format_version": 1, "counts": {}, **summary})
    pl.DataFrame(rows, schema=polars_schema()).write_parquet(run_dir / "verdicts.parquet")
    return run_dir


def section(page: str, anchor: str) -> str:
    match = re.search(rf'<section id="{anchor}">(.*?)</section>', page, re.S)
    assert match, f"section {anchor} missing"
    return match.group(1)


def test_empty_run_says_no_data_everywhere_and_draws_nothing(tmp_path: Path) -> None:
    rows = [verdict("i1", "a", status="skipped"), verdict("i2", "a", status="skipped")]
    page = render(load_run(make_run(tmp_path, rows), n_boot=50))
    for anchor in ("heatmap", "severity", "paper", "agreement", "distributions", "calibration", "disputed"):
        body = section(page, anchor)
        assert "No data:" in body, anchor
        assert "<svg" not in body, f"{anchor}: an empty chart"
    assert "the dataset" in section(page, "calibration")  # says why: the dataset file is gone


def test_single_judge_with_failures(tmp_path: Path) -> None:
    rows = [
        verdict("i1", "a", score=0.25),
        verdict("i2", "a", score=0.75),
        verdict("i3", "a", status="invalid", raw_text=HOSTILE, error="reply is not JSON"),
        verdict("i4", "a", status="error", error="HTTP 500 after 6 attempts"),
    ]
    page = render(load_run(make_run(tmp_path, rows), n_boot=50))
    assert "at least two judges" in section(page, "agreement")
    problems = section(page, "problems")
    assert "reply is not JSON" in problems and "HTTP 500 after 6 attempts" in problems
    # Judged and judge text is data: it is escaped, never markup.
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in problems
    assert "<script>alert" not in page and 'src="https://' not in page
    assert "<svg" in section(page, "severity") and 'class="num heat"' in section(page, "heatmap")


def test_page_is_self_contained(tmp_path: Path) -> None:
    rows = [verdict(f"i{k}", j, score=(k % 5) / 4) for k in range(6) for j in ("a", "b")]
    page = render(load_run(make_run(tmp_path, rows), n_boot=50))
    assert "Content-Security-Policy" in page and "default-src 'none'" in page
    # no external references of any kind: scripts, styles, images, fonts, links
    assert not re.search(r'(src|href)="(?!#|data:)', page)
    assert "@import" not in page and not re.search(r"url\((?!#)", page)  # only clip-path ids
    assert page.count("<svg") >= 3  # severity, agreement, distributions (the heatmap is a table)


def test_disputed_items_show_texts_and_each_rationale(tmp_path: Path) -> None:
    rows = [verdict("i1", "a", score=0.0), verdict("i1", "b", score=1.0), verdict("i2", "a"), verdict("i2", "b")]
    dataset = [
        {"id": "i1", "task": "news", "source": "The fire killed three.", "response": "An incident happened."},
        {"id": "i2", "task": "news", "source": "Calm day.", "response": "Calm day."},
    ]
    page = render(load_run(make_run(tmp_path, rows, dataset=dataset), n_boot=50))
    disputed = section(page, "disputed")
    assert "The fire killed three." in disputed and "An incident happened." in disputed
    assert "a thinks i1" in disputed and "b thinks i1" in disputed
    assert "i2" not in disputed  # the judges agreed on i2


def test_summary_keys_drive_sections(tmp_path: Path) -> None:
    summary = {
        "paper_metrics": {"sa-paper": {"compression_mean": 0.31, "n": 12}},
        "judge_cards": [{"judge": "a", "n_verdicts": 3, "validity_rate": 0.5, "retest_reason": "one repeat"}],
        "brand_new_statistic": {"value": 0.42},
    }
    page = render(load_run(make_run(tmp_path, [verdict("i1", "a")], summary=summary), n_boot=50))
    assert "compression_mean" in section(page, "paper") and "0.31" in section(page, "paper")
    assert "50.0%" in section(page, "cards")
    assert "brand_new_statistic" in section(page, "more")


def test_report_command_writes_html(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    run_dir = make_run(tmp_path, [verdict("i1", "a"), verdict("i1", "b", score=0.0)], summary={"counts": {}})
    target = tmp_path / "out" / "page.html"
    assert main(["report", str(run_dir), "--html", str(target)]) == 0
    assert target.read_text(encoding="utf-8").startswith("<!DOCTYPE html>")
    assert str(target) in capsys.readouterr().out


def test_write_report_default_path(tmp_path: Path) -> None:
    run_dir = make_run(tmp_path, [verdict("i1", "a")])
    assert write_report(run_dir, n_boot=10) == run_dir / "report.html"


def _tiny_dataset(tmp_path: Path) -> Path:
    path = tmp_path / "tiny.jsonl"
    rows = [
        {"id": "n1", "task": "news", "source": "Three workers were killed when the scaffold fell.",
         "response": "An incident occurred at a site.", "model": "m1"},
        {"id": "c1", "task": "counselling", "source": "My manager mocks me and I dread Mondays.",
         "response": "Stay positive and talk to HR!", "model": "m2"},
    ]  # fmt: skip
    path.write_text("".join(json.dumps(r) + "\n" for r in rows), encoding="utf-8")
    return path


def test_every_run_writes_report_html(tmp_path: Path) -> None:
    run_dir = tmp_path / "run"
    code = main(["run", "--dataset", str(_tiny_dataset(tmp_path)), "--run-dir", str(run_dir), "--quiet",
                 "--rubric", "sa-graded"])  # fmt: skip
    assert code == 0
    page = (run_dir / "report.html").read_text(encoding="utf-8")
    assert '<section id="heatmap">' in page and 'class="num heat"' in section(page, "heatmap")
    assert '<script type="application/json" id="ib-data">' in section(page, "items")
    summary = json.loads((run_dir / "summary.json").read_text(encoding="utf-8"))
    assert [c["judge"] for c in summary["judge_cards"]] == ["offline/lexicon", "offline/structure"]


def test_a_failing_report_does_not_fail_the_run(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    import judge.report.html

    def broken(*args: object, **kwargs: object) -> None:
        raise RuntimeError("chart exploded")

    monkeypatch.setattr(judge.report.html, "write_report", broken)
    run_dir = tmp_path / "run"
    code = main(["run", "--dataset", str(_tiny_dataset(tmp_path)), "--run-dir", str(run_dir), "--quiet",
                 "--rubric", "ca-graded"])  # fmt: skip
    assert code == 0
    assert (run_dir / "summary.json").is_file() and not (run_dir / "report.html").exists()
    err = capsys.readouterr().err
    assert "report.html not written (RuntimeError: chart exploded)" in err
    assert f"empathy-judge report {run_dir} --html" in err


def test_settings_show_in_the_header_not_as_an_unknown_key(tmp_path: Path) -> None:
    summary = {"settings": {"n_boot": 20, "quorum": 2}}
    page = render(load_run(make_run(tmp_path, [verdict("i1", "a")], summary=summary)))
    assert "n_boot 20, quorum 2" in section(page, "run")
    assert 'id="more"' not in page


def test_heatmap_keeps_families_apart_and_fades_thin_cells(tmp_path: Path) -> None:
    graded = [verdict(f"i{k}", j, score=(k % 3) / 4) for k in range(8) for j in ("a", "b")]
    paper = [verdict("i0", j, score=0.9, rubric_id="sa-paper", family="paper") for j in ("a", "b")]
    page = render(load_run(make_run(tmp_path, graded + paper), n_boot=50))
    heat = section(page, "heatmap")
    graded_part, paper_part = heat.split("<h3>Paper rubrics</h3>")
    assert "<h3>Graded rubrics</h3>" in graded_part and "sa-graded" in graded_part and "sa-paper" not in graded_part
    assert "sa-paper" in paper_part and "sa-graded" not in paper_part
    # 8 items: a CI, and n; 1 item: no CI, drawn faint and saying why
    assert 'data-key="/scores_by_model/0/ci_low"' in heat and "n=8" in graded_part
    thin = re.search(r'<td class="num heat"[^>]*title="([^"]*)"[^>]*>(.*?)</td>', paper_part, re.S)
    assert thin and "too few items for a CI" in thin.group(1) and "ci_low" not in thin.group(2)
    assert f"background:{plots.colour(0.9, plots.PUBU, 0.2)}" in thin.group(0)  # faded towards white
    assert plots.colour(0.9, plots.PUBU, 0.2) != plots.colour(0.9, plots.PUBU)
