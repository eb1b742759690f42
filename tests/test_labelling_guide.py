"""docs/LABELLING-GUIDE.md quotes the graded v3 rubrics and the disambiguation rules verbatim, names
their hashes, and its output format is a valid JSON Schema that its own example meets."""

from __future__ import annotations

import json
import re
from pathlib import Path

import jsonschema
import pytest
import yaml

from judge.core import paths
from judge.core.taxonomy import MECHANISMS
from judge.inputs.prompts import PromptLibrary
from judge.inputs.rubrics import Rubric, select

GUIDE = (Path(__file__).resolve().parents[1] / "docs" / "LABELLING-GUIDE.md").read_text(encoding="utf-8")
GRADED = [r for r in select(paths.rubrics_dir()) if r.family == "graded"]


@pytest.mark.parametrize("rubric", GRADED, ids=lambda r: r.id)
def test_the_guide_quotes_each_rubric_verbatim(rubric: Rubric) -> None:
    assert rubric.version == 3 and rubric.amplification is not None
    assert rubric.definition.strip() in GUIDE
    assert rubric.instructions.strip() in GUIDE
    assert rubric.amplification["definition"].strip() in GUIDE
    for level, text in rubric.scale["levels"].items():
        assert f"| {level} | {text} |" in GUIDE
    for level, text in rubric.amplification["levels"].items():
        assert f"| {level} | {text} |" in GUIDE
    assert f"| {rubric.mechanism} | `{rubric.ref}` | `{rubric.hash[:12]}` |" in GUIDE


def test_the_guide_quotes_the_rules_and_names_the_prompt_hash() -> None:
    rules = yaml.safe_load((paths.prompts_dir() / "disambiguation-v1.yaml").read_text(encoding="utf-8"))
    assert rules["disambiguation"].strip() in GUIDE and rules["abstention"].strip() in GUIDE
    assert PromptLibrary(paths.prompts_dir()).template("graded-v3").hash[:12] in GUIDE
    assert {r.prompt for r in GRADED} == {"graded-v3"}


def test_the_output_format_schema_accepts_its_example_and_rejects_mixed_labels() -> None:
    blocks = re.findall(r"```json\n(.*?)```", GUIDE, re.S)
    example, schema = (json.loads(b) for b in blocks)
    jsonschema.Draft202012Validator.check_schema(schema)
    validator = jsonschema.Draft202012Validator(schema)
    assert validator.is_valid(example)
    assert set(example) == {"id", "annotator", *MECHANISMS}
    bad = json.loads(json.dumps(example))
    bad["granularity_mismatch"]["abstain"] = "The response is empty."  # a reason with levels given
    assert not validator.is_valid(bad)
    bad = json.loads(json.dumps(example))
    bad["conflict_avoidance"]["severity"] = 2  # a level with no amplification
    assert not validator.is_valid(bad)
