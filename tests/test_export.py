"""``empathy-judge export`` (judge/store/export.py): one flat row per verdict in CSV, JSONL, JSON or
Parquet, with the item's texts, gold labels and metadata; the format follows the file's extension."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import polars as pl
import pytest
from polars.testing import assert_frame_equal

import judge
from judge.cli.main import main
from judge.store.export import export_table, export_verdicts
from judge.store.reader import read_run
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


def test_csv_cells_a_spreadsheet_would_run_are_quoted(tmp_path: Path) -> None:
    """Issue 15 item 8: model text starting with =, +, -, @ (or tab, carriage return) was written to
    CSV as is, and a spreadsheet opening the file runs it as a formula. CSV quotes it with a leading
    apostrophe; JSONL keeps every value exactly."""
    hostile = ['=HYPERLINK("http://x.invalid","click")', "+1+1", "-2+3", "@SUM(A1:A2)", "\t=1", "\r=1"]
    rows = [verdict(f"i{n}", "a", rationale=text, raw_text=text) for n, text in enumerate(hostile)]
    rows.append(verdict("plain", "a", rationale="a 1-2 score, = fine inside", raw_text="ok"))
    run_dir = make_run(tmp_path, rows)
    csv_path, _ = export_verdicts(run_dir, "csv")
    back = pl.read_csv(csv_path, schema=load_verdicts(run_dir).schema)
    by_item = {r["item_id"]: r for r in back.iter_rows(named=True)}
    for n, text in enumerate(hostile):
        assert by_item[f"i{n}"]["rationale"] == "'" + text and by_item[f"i{n}"]["raw_text"] == "'" + text
    assert by_item["plain"]["rationale"] == "a 1-2 score, = fine inside" and by_item["plain"]["raw_text"] == "ok"
    jsonl_path, _ = export_verdicts(run_dir, "jsonl")
    exact = {r["item_id"]: r["rationale"] for r in pl.read_ndjson(jsonl_path).iter_rows(named=True)}
    assert [exact[f"i{n}"] for n in range(len(hostile))] == hostile


# ------------------------------------------------------------------ the flat export of a real run

DATA = [
    {"id": "c1", "task": "counselling", "model": "bot-a", "batch": 3, "tags": ["a", "b"], "note": "first",
     "source": "My manager mocks me in every meeting. I feel humiliated and I dread Mondays.",
     "response": "Try to stay positive and talk to HR!", "gold_conflict_avoidance": 3,
     "gold_conflict_avoidance__ann": 2},
    {"id": "n1", "task": "news", "model": "bot-b", "batch": 4.5, "note": None,
     "source": "Three workers were killed when the scaffold collapsed.",
     "response": "An incident occurred at a construction site.", "gold_sentiment_attenuation": 4},
]  # fmt: skip


@pytest.fixture(scope="module")
def real_run(tmp_path_factory: pytest.TempPathFactory) -> Path:
    tmp = tmp_path_factory.mktemp("export")
    data = tmp / "d.jsonl"
    data.write_text("".join(json.dumps(r) + "\n" for r in DATA), encoding="utf-8")
    rubrics = [a for r in ("ca-graded", "sa-graded", "ld-paper", "egm-paper") for a in ("--rubric", r)]
    assert main(["run", "--dataset", str(data), *rubrics, "--run-dir", str(tmp / "run"), "--quiet"]) == 0
    return tmp / "run"


def test_the_flat_export_has_texts_gold_metadata_and_the_verdict_fields(real_run: Path) -> None:
    table = export_table(real_run)
    verdicts = read_run(real_run).verdicts
    assert table.height == verdicts.height  # one row per verdict, nothing duplicated by the join
    assert table.columns[: len(VERDICT_COLUMNS) - 1] == [c for c in VERDICT_COLUMNS if c != "verdict"]
    rows = {(r["item_id"], r["rubric_id"], r["judge"]): r for r in table.iter_rows(named=True)}
    ca = rows[("c1", "ca-graded", "offline/lexicon")]
    stored = json.loads(verdicts.filter((pl.col("item_id") == "c1") & (pl.col("rubric_id") == "ca-graded")
                                        & (pl.col("judge") == "offline/lexicon"))["verdict"][0])  # fmt: skip
    # The verdict's fields, one column each; lists as JSON text; no duplicate rationale column.
    assert ca["verdict_severity"] == stored["severity"] and ca["verdict_confidence"] == stored["confidence"]
    assert ca["verdict_amplification"] == stored["amplification"] and ca["verdict_abstain_reason"] is None
    assert json.loads(ca["verdict_evidence"]) == stored["evidence"] and "verdict_rationale" not in table.columns
    # Texts, the row's own gold label, every gold column, metadata.
    assert (ca["source"], ca["response"]) == (DATA[0]["source"], DATA[0]["response"])
    assert (ca["gold"], ca["gold_conflict_avoidance"], ca["gold_conflict_avoidance__ann"]) == (3, 3, 2)
    assert ca["meta_batch"] == 3.0 and json.loads(ca["meta_tags"]) == ["a", "b"] and ca["meta_note"] == "first"
    sa = rows[("n1", "sa-graded", "offline/structure")]
    assert (sa["gold"], sa["gold_conflict_avoidance"], sa["meta_batch"], sa["meta_tags"]) == (4, None, 4.5, None)
    ld = rows[("n1", "ld-paper", "offline/lexicon")]
    assert ld["gold"] is None  # no gold label for linguistic distancing
    assert isinstance(ld["verdict_source_features_passive_share"], float)  # nested objects flattened
    schema = table.schema
    assert schema["verdict_severity"] == pl.Int64 and schema["meta_batch"] == pl.Float64
    assert schema["verdict_amplification"] == pl.Int64 and schema["gold"] == pl.Int64
    assert schema["amplification"] == pl.Float64 and schema["evidence_found"] == pl.Float64


@pytest.mark.parametrize(
    ("name", "fmt", "written"),
    [
        pytest.param("x.parquet", None, "parquet", id="extension-decides"),
        pytest.param("x.jsonl", None, "jsonl", id="jsonl"),
        pytest.param("x.json", None, "json", id="json-array"),
        pytest.param("x.CSV", None, "csv", id="case-insensitive"),
        pytest.param("x.csv", "csv", "csv", id="agreeing-format"),
        pytest.param("x.data", "parquet", "parquet", id="format-for-an-unknown-extension"),
        pytest.param("x", "jsonl", "jsonl", id="no-extension"),
    ],
)
def test_the_format_follows_the_extension(real_run: Path, tmp_path: Path, name: str, fmt: str | None,
                                          written: str) -> None:  # fmt: skip
    target = tmp_path / name
    args = ["export", str(real_run), "-o", str(target), *(["--format", fmt] if fmt else [])]
    assert main(args) == 0
    readers = {"csv": pl.read_csv, "jsonl": pl.read_ndjson, "json": pl.read_json, "parquet": pl.read_parquet}
    back = readers[written](target)
    expected = export_table(real_run)
    assert back.height == expected.height and sorted(back.columns) == sorted(expected.columns)
    if written == "jsonl":
        assert list(json.loads(target.read_text().splitlines()[0])) == expected.columns  # in order
    if written in ("csv", "parquet"):
        assert back.columns == expected.columns
    if written == "parquet":
        assert_frame_equal(back, expected)
    if written == "json":
        assert json.loads(target.read_text())[0]["item_id"] == expected["item_id"][0]  # an array of rows


@pytest.mark.parametrize(
    ("name", "fmt", "message"),
    [
        pytest.param("x.parquet", "csv", "names a parquet file but --format is csv", id="clash"),
        pytest.param("x.xlsx", None, "cannot tell the format from '.xlsx'", id="unknown-extension"),
    ],
)
def test_a_format_the_extension_contradicts_is_refused(real_run: Path, tmp_path: Path,
                                                       capsys: pytest.CaptureFixture[str], name: str,
                                                       fmt: str | None, message: str) -> None:  # fmt: skip
    target = tmp_path / name
    assert main(["export", str(real_run), "-o", str(target), *(["--format", fmt] if fmt else [])]) == 2
    err = capsys.readouterr().err
    assert message in err and err.count("\n") == 1
    assert not target.exists() and not list(tmp_path.glob(".*.tmp"))


def test_verdicts_only_writes_the_stored_columns(real_run: Path, tmp_path: Path) -> None:
    assert main(["export", str(real_run), "--verdicts-only", "-o", str(tmp_path / "v.parquet")]) == 0
    assert_frame_equal(pl.read_parquet(tmp_path / "v.parquet"), load_verdicts(real_run))


def test_a_run_without_an_items_table_takes_them_from_its_dataset(
    real_run: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    old = tmp_path / "old"
    shutil.copytree(real_run, old)
    (old / "items.parquet").unlink()  # as a run written before format 3
    assert main(["export", str(old), "-o", str(tmp_path / "a.parquet")]) == 0
    assert_frame_equal(pl.read_parquet(tmp_path / "a.parquet"), export_table(real_run))
    dataset = Path(read_run(old).manifest.dataset.path)
    dataset.write_text(dataset.read_text() + "\n", encoding="utf-8")  # the dataset changed since
    assert main(["export", str(old), "-o", str(tmp_path / "b.parquet")]) == 0
    assert "changed since the run" in capsys.readouterr().err
    assert "source" not in pl.read_parquet(tmp_path / "b.parquet").columns


def test_to_pandas_with_the_pandas_extra(real_run: Path) -> None:
    pytest.importorskip("pandas", reason="the 'pandas' extra is not installed (pip install '.[pandas]')")
    pytest.importorskip("pyarrow", reason="the 'pandas' extra is not installed (pip install '.[pandas]')")
    frame = judge.export_table(real_run).to_pandas()
    assert len(frame) == read_run(real_run).verdicts.height and "response" in frame.columns
    verdicts = judge.read_run(real_run).verdicts.to_pandas()
    assert list(verdicts.columns) == list(VERDICT_COLUMNS)
