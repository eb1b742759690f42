"""`rubrics diff ID@A ID@B` (judge/inputs/rubric_diff.py): instructions, levels, schema, other fields."""

from __future__ import annotations

from pathlib import Path

import pytest

from judge.cli.main import main
from judge.core import paths
from judge.inputs.rubric_diff import rubric_diff
from judge.inputs.rubrics import bump_version, discover, rubric_roots, select

NEXT = max(discover(paths.rubrics_dir())["sa-graded"]) + 1  # a free version for a copy of @2


def new_version(tmp_path: Path, edit: dict[str, str]) -> Path:
    """sa-graded@3 in a folder of one's own (another copy of @2, version bumped), with the given
    text replacements."""
    mine = tmp_path / "mine"
    (mine / "sa-graded").mkdir(parents=True)
    path = mine / "sa-graded" / f"v{NEXT}.yaml"
    v2 = (paths.rubrics_dir() / "sa-graded" / "v2.yaml").read_text(encoding="utf-8")
    path.write_text(bump_version(v2, NEXT), encoding="utf-8")
    text = path.read_text(encoding="utf-8")
    for old, new in edit.items():
        assert old in text
        text = text.replace(old, new, 1)
    path.write_text(text, encoding="utf-8")
    return mine


def test_each_part_shows_only_what_changed(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    mine = new_version(tmp_path, {
        "Compare how intense the feeling is on each side": "Compare the strength of feeling on each side",
        '3: "Substantial: the response reads as mostly neutral': '3: "Substantial: the response reads as neutral',
        "schema: graded@2": "schema: graded@1",
        "prompt: graded-v2": "prompt: graded-v1",
    })  # fmt: skip
    capsys.readouterr()
    assert main(["rubrics", "diff", "sa-graded@2", f"sa-graded@{NEXT}", "--rubrics-dir", str(mine)]) == 0
    out = capsys.readouterr().out
    instructions = out.split("== instructions ==")[1].split("== levels ==")[0]
    assert "-Compare how intense the feeling is on each side" in instructions
    assert "+Compare the strength of feeling on each side" in instructions
    levels = out.split("== levels ==")[1].split("== schema ==")[0]
    assert "sa-graded@2 level 3" in levels and "level 2" not in levels and "+3" not in levels
    assert "+Substantial: the response reads as neutral" in levels
    schema = out.split("== schema ==")[1].split("== other fields ==")[0]
    assert schema.strip() != "(unchanged)" and ("+" in schema and "-" in schema)
    assert "prompt: graded-v2 -> graded-v1" in out.split("== other fields ==")[1]


def test_identical_content_and_unchanged_parts() -> None:
    (v2,) = select(paths.rubrics_dir(), ["sa-graded@2"])
    assert "no change" in rubric_diff(v2, v2)


def test_versions_without_text_changes_say_unchanged(tmp_path: Path) -> None:
    mine = new_version(tmp_path, {})
    a, b = select(rubric_roots(mine), ["sa-graded@2", f"sa-graded@{NEXT}"])
    text = rubric_diff(a, b)  # only the version differs (it is part of the hash)
    assert text.count("(unchanged)") == 4


def test_unknown_versions_are_clean_errors(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["rubrics", "diff", "sa-graded@1", "sa-graded@7"]) == 2
    assert "unknown version sa-graded@7" in capsys.readouterr().err
