"""Column mapping (judge/inputs/mapping.py): datasets whose columns have other names, from the
command line (``--map``), a config file (``map:``) and the Python API."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

import judge
from judge.cli.main import main
from judge.core.errors import ConfigError, DatasetError
from judge.inputs.dataset import open_dataset
from judge.inputs.mapping import parse_map, show_map
from judge.store.reader import read_run

# A file as another tool writes it: no 'source' or 'response' columns, a 'uid', extra columns.
ROWS = [
    {"uid": "c1", "task": "counselling", "prompt": "I was laid off after nine years. I feel I failed my family.",
     "output": "Layoffs happen. Update your CV.", "bot": "bot-a", "lang": "en", "tags": ["layoff", "family"]},
    {"uid": "n1", "task": "news", "prompt": "Three workers died when the scaffold collapsed.",
     "output": "An incident occurred at a site.", "bot": "bot-b", "lang": "en", "tags": []},
]  # fmt: skip
MAP = "response=output,source=prompt,id=uid,model=bot"


def write(path: Path, rows: list[dict[str, Any]]) -> Path:
    path.write_text("".join(json.dumps(r) + "\n" for r in rows), encoding="utf-8")
    return path


@pytest.mark.parametrize(
    ("given", "expected"),
    [
        pytest.param("response=output", {"response": "output"}, id="one"),
        pytest.param("response=output, source = prompt", {"response": "output", "source": "prompt"}, id="spaces"),
        pytest.param(["response=output", "source=prompt"], {"response": "output", "source": "prompt"}, id="repeated"),
        pytest.param({"response": "output"}, {"response": "output"}, id="mapping"),
        pytest.param("response=response", {}, id="identity-dropped"),
        pytest.param(None, {}, id="none"),
    ],
)
def test_parse_map(given: Any, expected: dict[str, str]) -> None:
    assert parse_map(given) == expected


@pytest.mark.parametrize(
    ("given", "message"),
    [
        pytest.param("response", "'response' is not NEW=OLD", id="no-equals"),
        pytest.param("=output", "both names must be non-empty", id="empty-new"),
        pytest.param("response=", "both names must be non-empty", id="empty-old"),
        pytest.param("response=a,response=b", "field 'response' is mapped twice", id="twice"),
        pytest.param({"response": 3}, "both names must be non-empty text", id="not-text"),
    ],
)
def test_parse_map_refuses(given: Any, message: str) -> None:
    with pytest.raises(ConfigError, match=message):
        parse_map(given)


def test_show_map_round_trips() -> None:
    mapping = parse_map(MAP)
    assert parse_map(show_map(mapping)) == mapping


def test_a_mapped_file_reads_as_items_with_its_other_columns_as_metadata(tmp_path: Path) -> None:
    ds = open_dataset(write(tmp_path / "d.jsonl", ROWS), mapping=parse_map(MAP))
    first, second = ds.items()
    assert (first.id, first.model) == ("c1", "bot-a")
    assert (first.source, first.response) == (ROWS[0]["prompt"], ROWS[0]["output"])
    assert first.metadata == {"lang": "en", "tags": ["layoff", "family"]}  # mapped columns are consumed
    assert second.id == "n1" and ds.models == {"bot-a": 1, "bot-b": 1}


def test_a_missing_mapped_column_names_the_mapping(tmp_path: Path) -> None:
    path = write(tmp_path / "d.jsonl", [{k: v for k, v in ROWS[0].items() if k != "output"}])
    with pytest.raises(DatasetError, match=r"line 1: column 'output' \(mapped to 'response' by --map response=output"):
        open_dataset(path, mapping=parse_map(MAP))


def test_without_a_map_the_error_suggests_one(tmp_path: Path) -> None:
    with pytest.raises(DatasetError, match=r"missing required field 'id'.*--map id=COLUMN"):
        open_dataset(write(tmp_path / "d.jsonl", ROWS))


def test_a_column_hidden_by_a_mapping_is_refused_and_can_be_moved_aside(tmp_path: Path) -> None:
    rows = [{**r, "response": "an older reply"} for r in ROWS]
    path = write(tmp_path / "d.jsonl", rows)
    with pytest.raises(DatasetError, match=r"column 'response' would be hidden by the mapping response=output"):
        open_dataset(path, mapping=parse_map(MAP))
    ds = open_dataset(path, mapping=parse_map(MAP + ",original_response=response"))
    item = next(ds.items())
    assert item.response == ROWS[0]["output"] and item.metadata["original_response"] == "an older reply"


def test_cli_map_and_config_map_judge_the_same_items(tmp_path: Path) -> None:
    data = write(tmp_path / "d.jsonl", ROWS)
    maps = ["--map", "response=output,source=prompt", "--map", "id=uid", "--map", "model=bot"]
    assert main(["run", "--dataset", str(data), *maps, "--rubric", "sa-graded", "--run-dir", str(tmp_path / "cli"),
                 "--quiet"]) == 0  # fmt: skip
    config = tmp_path / "c.yaml"
    config.write_text("dataset: d.jsonl\nrubrics: [sa-graded]\nmap: {response: output, source: prompt, id: uid, "
                      "model: bot}\n", encoding="utf-8")  # fmt: skip
    assert main(["run", "--config", str(config), "--run-dir", str(tmp_path / "cfg"), "--quiet"]) == 0
    a, b = read_run(tmp_path / "cli"), read_run(tmp_path / "cfg")
    assert sorted(a.verdicts["item_id"]) == sorted(b.verdicts["item_id"]) == ["c1", "c1", "n1", "n1"]
    assert set(a.verdicts["model"]) == {"bot-a", "bot-b"}
    assert a.manifest.options is not None and a.manifest.options.map == parse_map(MAP)
    assert a.manifest.plan.map == b.manifest.plan.map == parse_map(MAP)
    assert b.verdicts["cached"].all()  # the config run read the same texts: every reply came from the cache
    assert a.verdicts.drop("finished_at", "latency_ms", "cached", "attempts").sort("item_id", "judge").equals(
        b.verdicts.drop("finished_at", "latency_ms", "cached", "attempts").sort("item_id", "judge"))


def test_a_bad_config_map_names_the_file(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    config = tmp_path / "c.yaml"
    config.write_text("map: [response, output]\n", encoding="utf-8")
    assert main(["run", "--config", str(config), "--quiet"]) == 2
    assert f"{config}: map: must be a mapping" in capsys.readouterr().err


def test_the_python_api_takes_a_map(tmp_path: Path) -> None:
    plan = judge.Plan(ROWS, map={"response": "output", "source": "prompt", "id": "uid"}, rubrics=["ca-graded"])
    run = judge.evaluate(plan, runs_dir=tmp_path)
    assert sorted(set(run.verdicts["item_id"])) == ["c1", "n1"]
    assert judge.Plan.resume(run.path).dataset.mapping == {"response": "output", "source": "prompt", "id": "uid"}
