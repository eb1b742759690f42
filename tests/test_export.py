"""``empathy-judge export``: one row per verdict in CSV, JSONL or Parquet."""

from __future__ import annotations

from pathlib import Path

import polars as pl
import pytest
from polars.testing import assert_frame_equal

from judge.cli.main import main
from judge.store.export import export_verdicts
from judge.store.rundir import VERDICT_COLUMNS, load_verdicts
from tests.test_html_report import make_run, verdict

ROWS = [
    verdict("i1", "a", score=0.25, rationale='says "hi", then, a comma\nand a newline'),
    verdict("i1", "b", status="invalid", raw_text="not json", error="reply is not JSON"),
    verdict("i2", "a", score=1.0),
]


@pytest.mark.parametrize("fmt", ["csv", "jsonl", "parquet"])
def test_export_round_trips(tmp_path: Path, fmt: str) -> None:
    run_dir = make_run(tmp_path, ROWS)
    path, n = export_verdicts(run_dir, fmt)
    assert path == run_dir / f"verdicts-export.{fmt}" and n == 3
    reader = {"csv": pl.read_csv, "jsonl": pl.read_ndjson, "parquet": pl.read_parquet}[fmt]
    back = reader(path, schema=load_verdicts(run_dir).schema) if fmt != "parquet" else reader(path)
    assert back.columns == list(VERDICT_COLUMNS)
    assert_frame_equal(back, load_verdicts(run_dir))


def test_export_cli(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    run_dir = make_run(tmp_path, ROWS)
    out = tmp_path / "elsewhere" / "v.csv"
    assert main(["export", str(run_dir), "--format", "csv", "--output", str(out)]) == 0
    assert "wrote 3 verdicts" in capsys.readouterr().out
    assert pl.read_csv(out).height == 3


def test_export_refuses_a_directory_target(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    run_dir = make_run(tmp_path, ROWS)
    assert main(["export", str(run_dir), "--output", str(tmp_path)]) == 2
    assert "is a directory" in capsys.readouterr().err
