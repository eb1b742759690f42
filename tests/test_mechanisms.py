"""The mechanism registry (judge/core/mechanisms.py): adding a mechanism, a severity mapping kind
or a rubric family is one declaration, and rubric files may refer to a family's verdict schema."""

from __future__ import annotations

import json
import textwrap
from collections.abc import Iterator, Mapping
from pathlib import Path
from typing import Any

import pytest

from judge.core import paths
from judge.core.errors import DatasetError, RubricError
from judge.core.hashing import content_hash
from judge.core.mechanisms import (
    Family,
    Mechanism,
    VerdictContract,
    contract,
    mechanism_ids,
    paper_fields,
    register_family,
    register_mechanism,
    unregister_family,
    unregister_mechanism,
)
from judge.core.severity import SeverityKind, clamp, register_severity_kind, unregister_severity_kind
from judge.core.taxonomy import MECHANISMS
from judge.inputs.dataset import open_dataset
from judge.inputs.rubric_check import validate
from judge.inputs.rubrics import load_rubric, select
from judge.inputs.verdicts import VerdictParser


def _difference(mapping: Mapping[str, Any], verdict: Mapping[str, Any]) -> tuple[float, float | None]:
    raw = float(verdict[mapping["reference"]]) - float(verdict[mapping["generated"]])
    return clamp(raw), raw


WARMTH_SCHEMA = {
    "type": "object",
    "additionalProperties": False,
    "required": ["rationale", "source_warmth", "response_warmth"],
    "properties": {
        "rationale": {"type": "string"},
        "source_warmth": {"type": "number", "minimum": 0, "maximum": 1},
        "response_warmth": {"type": "number", "minimum": 0, "maximum": 1},
    },
}


@pytest.fixture
def warmth() -> Iterator[Mechanism]:
    """A toy mechanism with its own paper-format verdict, mapped by a toy severity kind: the
    only declarations a new mechanism needs."""
    register_severity_kind(SeverityKind("difference", ("reference", "generated"), _difference))
    declared = register_mechanism(Mechanism(
        "warmth_loss", "wl", "Warmth loss",
        {"paper": VerdictContract(
            schemas={1: WARMTH_SCHEMA},
            severity={"kind": "difference", "reference": "source_warmth", "generated": "response_warmth"},
        )},
    ))  # fmt: skip
    yield declared
    unregister_mechanism("warmth_loss")
    unregister_severity_kind("difference")


def _rubric_text(rid: str, mechanism: str, family: str, schema: str, severity: str, prompt: str) -> str:
    levels = "".join(f'    {n}: "level {n}"\n' for n in range(5))
    head = textwrap.dedent(f"""\
        id: {rid}
        version: 1
        mechanism: {mechanism}
        family: {family}
        title: Warmth loss
        dimensions: [relational]
        prompt: {prompt}
        definition: The reply is colder than the message it answers.
        instructions: Compare the warmth of the two texts.
        scale:
          type: ordinal
          min: 0
          max: 4
          levels:
        """)
    return f"{head}{levels}schema: {schema}\nseverity: {severity}\n"


def _write(root: Path, rid: str, text: str) -> Path:
    path = root / rid / "v1.yaml"
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text, encoding="utf-8")
    return path


def test_a_new_mechanism_is_one_declaration(tmp_path: Path, warmth: Mechanism) -> None:
    assert "warmth_loss" in mechanism_ids() and "warmth_loss" not in MECHANISMS  # MECHANISMS: the paper's four
    root = tmp_path / "rubrics"
    _write(root, "wl-paper", _rubric_text("wl-paper", "warmth_loss", "paper", "paper@1",
                                          "{kind: difference, reference: source_warmth, generated: response_warmth}",
                                          "paper-sa-v1"))  # fmt: skip
    # The graded family's shared contract covers a new mechanism with no more declarations.
    _write(root, "wl-graded", _rubric_text("wl-graded", "warmth_loss", "graded", "graded@2",
                                           "{kind: linear, field: severity, min: 0, max: 4}", "graded-v2"))  # fmt: skip
    paper, graded = select(root, ["wl-paper", "wl-graded"])
    assert paper.schema == WARMTH_SCHEMA and graded.schema == contract("graded", "sentiment_attenuation").schema(2)
    count, problems = validate(root, paths.prompts_dir())
    assert count == 2 and problems == []
    verdict = {"rationale": "cooler", "source_warmth": 0.9, "response_warmth": 0.4}
    parsed = VerdictParser(paper).parse(json.dumps(verdict))
    assert parsed.status == "ok" and parsed.score == pytest.approx(0.5) and parsed.raw_score == pytest.approx(0.5)
    assert paper_fields("warmth_loss") == {"reference": "source_warmth", "generated": "response_warmth"}
    # Gold labels for it are accepted too.
    data = tmp_path / "gold.jsonl"
    row = {"id": "a", "task": "counselling", "source": "s", "response": "r", "gold_warmth_loss": 2}
    data.write_text(json.dumps(row) + "\n", encoding="utf-8")
    assert next(open_dataset(data).items()).gold == {"gold_warmth_loss": 2}


def test_without_the_declaration_the_mechanism_is_unknown(tmp_path: Path) -> None:
    linear = "{kind: linear, field: severity, min: 0, max: 4}"
    text = _rubric_text("wl-graded", "warmth_loss", "graded", "graded@2", linear, "graded-v2")
    path = _write(tmp_path / "rubrics", "wl-graded", text)
    with pytest.raises(RubricError, match="mechanism: unknown mechanism 'warmth_loss'"):
        load_rubric(path)
    data = tmp_path / "gold.jsonl"
    row = {"id": "a", "task": "news", "source": "s", "response": "r", "gold_warmth_loss": 2}
    data.write_text(json.dumps(row) + "\n", encoding="utf-8")
    with pytest.raises(DatasetError, match="unknown mechanism 'warmth_loss'"):
        list(open_dataset(data).items())


def test_a_new_family_is_one_declaration(tmp_path: Path) -> None:
    flag = {"type": "object", "additionalProperties": False, "required": ["rationale", "flag"],
            "properties": {"rationale": {"type": "string"}, "flag": {"type": "integer", "enum": [0, 1]}}}  # fmt: skip
    binary = {"kind": "binary", "field": "flag"}
    register_family(Family("flagged", "One yes/no flag", VerdictContract({1: flag}, binary)))
    try:
        root = tmp_path / "rubrics"
        text = _rubric_text("ca-flagged", "conflict_avoidance", "flagged", "flagged@1", "{kind: binary, field: flag}",
                            "paper-ca-v1")  # fmt: skip
        _write(root, "ca-flagged", text)
        (rubric,) = select(root, ["ca-flagged"])
        assert rubric.schema == flag
        assert validate(root, paths.prompts_dir()) == (1, [])
    finally:
        unregister_family("flagged")


def test_a_schema_reference_hashes_as_the_schema_written_out(tmp_path: Path) -> None:
    shipped = paths.rubrics_dir() / "sa-graded" / "v2.yaml"
    ref = load_rubric(shipped)
    written = shipped.read_text(encoding="utf-8").replace("schema: graded@2", "schema: " + json.dumps(ref.schema))
    assert "graded@2" not in written
    inline = load_rubric(_write(tmp_path, "sa-graded", written).rename(tmp_path / "sa-graded" / "v2.yaml"))
    assert inline.schema == ref.schema and inline.hash == ref.hash
    assert ref.hash == content_hash({**_yaml(shipped), "schema": ref.schema})


def _yaml(path: Path) -> dict[str, Any]:
    import yaml

    data = yaml.safe_load(path.read_text(encoding="utf-8"))
    assert isinstance(data, dict)
    return data


@pytest.mark.parametrize(
    ("schema", "needle"),
    [
        pytest.param("graded@7", "unknown version 'graded@7'; declared: graded@1, graded@2", id="version"),
        pytest.param("paper@1", "'paper@1' is a paper schema; this rubric's family is graded", id="family"),
        pytest.param("graded-v2", "must be a JSON Schema mapping or a reference such as graded@2", id="syntax"),
    ],
)
def test_bad_schema_references_name_the_file_and_field(tmp_path: Path, schema: str, needle: str) -> None:
    shipped = paths.rubrics_dir() / "sa-graded" / "v2.yaml"
    path = tmp_path / "sa-graded" / "v2.yaml"
    path.parent.mkdir()
    path.write_text(shipped.read_text(encoding="utf-8").replace("schema: graded@2", f"schema: {schema}"))
    with pytest.raises(RubricError) as info:
        load_rubric(path)
    assert str(info.value).startswith(f"{path}: schema: ") and needle in str(info.value)


def test_declarations_refuse_duplicates() -> None:
    with pytest.raises(ValueError, match="already declared"):
        register_mechanism(Mechanism("sentiment_attenuation", "sa", "again"))
    with pytest.raises(ValueError, match="code 'sa' already belongs to 'sentiment_attenuation'"):
        register_mechanism(Mechanism("another", "sa", "x"))
    with pytest.raises(ValueError, match="already declared"):
        register_severity_kind(SeverityKind("linear", ("field",), _difference))


def test_paper_fields_for_the_statistics() -> None:
    assert paper_fields("conflict_avoidance") == {"field": "label"}
    assert paper_fields("linguistic_distancing") == {"reference": "source_features", "generated": "response_features"}
    with pytest.raises(KeyError):
        paper_fields("no_such_mechanism")


def test_the_paper_metrics_read_their_fields_from_the_declarations(warmth: Mechanism) -> None:
    import polars as pl

    from judge.stats.paper_metrics import judge_item_values, paper_metrics

    def row(mechanism: str, verdict: dict[str, Any]) -> dict[str, Any]:
        return {"family": "paper", "mechanism": mechanism, "rubric_id": "r", "rubric_version": 1, "model": "m",
                "item_id": "i",
                "judge": "j", "repeat": 0, "status": "ok", "verdict": json.dumps(verdict)}  # fmt: skip

    ca = row("conflict_avoidance", {"rationale": "x", "label": 1})
    toy = {**row("warmth_loss", {"rationale": "x", "source_warmth": 0.9, "response_warmth": 0.1}), "rubric_id": "t"}
    frame = pl.DataFrame([ca, toy])
    assert judge_item_values(frame, "conflict_avoidance")["label"].to_list() == [1.0]
    # A declared mechanism the paper defines no metric for is left out, not guessed at.
    assert set(paper_metrics(frame, n_boot=0)["mechanism"].to_list()) == {"conflict_avoidance"}
