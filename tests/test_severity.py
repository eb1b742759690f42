"""Severity mapping kinds (judge/core/severity.py): each declared kind's formula, and a kind
registered from outside is found by the rubric loader and the verdict parser."""

from __future__ import annotations

import math
from collections.abc import Iterator, Mapping
from pathlib import Path
from typing import Any

import pytest

from judge.core.errors import RubricError
from judge.core.severity import (
    SeverityKind,
    map_severity,
    register_severity_kind,
    severity_kind_names,
    unregister_severity_kind,
)


@pytest.mark.parametrize(
    ("mapping", "verdict", "score", "raw"),
    [
        pytest.param({"kind": "linear", "field": "s", "min": 0, "max": 4}, {"s": 2}, 0.5, 2.0, id="linear"),
        pytest.param({"kind": "binary", "field": "label"}, {"label": 1}, 1.0, 1.0, id="binary"),
        pytest.param({"kind": "compression", "reference": "r", "generated": "g"}, {"r": 0.8, "g": 0.2},
                     0.75, 0.75, id="compression"),
        pytest.param({"kind": "compression", "reference": "r", "generated": "g"}, {"r": 0.2, "g": 0.8},
                     0.0, -3.0, id="amplified-clipped"),
        pytest.param({"kind": "compression", "reference": "r", "generated": "g"}, {"r": 0.0, "g": 0.5},
                     0.0, None, id="zero-reference"),
        pytest.param({"kind": "count_compression", "reference": "r", "generated": "g"},
                     {"r": [{"death": 2, "injury": 1}, {"death": 1}], "g": [{"death": 1}]}, 0.75, 0.75, id="counts"),
        pytest.param({"kind": "count_compression", "reference": "r", "generated": "g"},
                     {"r": [], "g": [{"death": 1}]}, 0.0, None, id="counts-empty-reference"),
    ],
)
def test_severity_mappings(mapping: dict, verdict: dict, score: float, raw: float | None) -> None:
    got_score, got_raw = map_severity(mapping, verdict)
    assert got_score == pytest.approx(score)
    assert got_raw == (pytest.approx(raw) if raw is not None else None)


def test_feature_distance_counts_only_distancing() -> None:
    mapping = {"kind": "feature_distance", "reference": "r", "generated": "g"}
    ref = {"passive_share": 0.1, "nominalisation_density": 0.05, "nonhuman_subject_share": 0.2}
    closer = {"passive_share": 0.0, "nominalisation_density": 0.0, "nonhuman_subject_share": 0.0}
    assert map_severity(mapping, {"r": ref, "g": closer}) == (0.0, 0.0)
    farther = {"passive_share": 0.6, "nominalisation_density": 0.05, "nonhuman_subject_share": 0.2}
    score, raw = map_severity(mapping, {"r": ref, "g": farther})
    assert raw == pytest.approx(math.sqrt(1.0 / 3))  # (0.5 / 0.5)^2 averaged over three features
    assert score == pytest.approx(raw)




@pytest.fixture
def stepwise() -> Iterator[SeverityKind]:
    def score(mapping: Mapping[str, Any], verdict: Mapping[str, Any]) -> tuple[float, float | None]:
        value = float(verdict[mapping["field"]])
        return (1.0 if value >= mapping["threshold"] else 0.0), value

    kind = register_severity_kind(SeverityKind("stepwise", ("field", "threshold"), score))
    yield kind
    unregister_severity_kind("stepwise")


def _ca_paper_with(tmp_path: Path, severity: str) -> Path:
    from judge.core import paths

    text = (paths.rubrics_dir() / "ca-paper" / "v1.yaml").read_text(encoding="utf-8")
    path = tmp_path / "ca-paper" / "v1.yaml"
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text[: text.index("severity:\n")] + severity + "\n", encoding="utf-8")
    return path


def test_a_registered_kind_is_used_by_the_loader_and_the_parser(tmp_path: Path, stepwise: SeverityKind) -> None:
    from judge.inputs.rubrics import load_rubric
    from judge.inputs.verdicts import VerdictParser

    assert "stepwise" in severity_kind_names()
    rubric = load_rubric(_ca_paper_with(tmp_path, "severity: {kind: stepwise, field: label, threshold: 1}"))
    parsed = VerdictParser(rubric).parse('{"rationale": "r", "label": 1}')
    assert (parsed.status, parsed.score, parsed.raw_score) == ("ok", 1.0, 1.0)
    assert map_severity({"kind": "stepwise", "field": "x", "threshold": 2}, {"x": 1}) == (0.0, 1.0)


@pytest.mark.parametrize(
    ("severity", "needle"),
    [
        pytest.param("severity: {kind: stepwse, field: label}", "severity.kind: unknown kind 'stepwse' "
                     "(did you mean 'stepwise'?)", id="typo-of-a-registered-kind"),
        pytest.param("severity: {kind: stepwise, field: label}", "severity.threshold: missing; kind 'stepwise' "
                     "needs field, threshold", id="missing-key"),
        pytest.param("severity: {kind: stepwise, field: lable, threshold: 1}", "severity.field: 'lable' is not a "
                     "property of the verdict schema", id="not-a-verdict-field"),
        pytest.param("severity: {kind: linear, field: label, min: 1, max: 0}", "severity: linear needs numbers "
                     "with max > min", id="kind-check"),
    ],
)  # fmt: skip
def test_mapping_problems_name_the_field(tmp_path: Path, stepwise: SeverityKind, severity: str, needle: str) -> None:
    from judge.inputs.rubrics import load_rubric

    path = _ca_paper_with(tmp_path, severity)
    with pytest.raises(RubricError) as info:
        load_rubric(path)
    assert str(info.value).startswith(str(path)) and needle in str(info.value)


def test_an_unknown_kind_is_an_error_when_mapping() -> None:
    with pytest.raises(ValueError, match="unknown severity kind 'nope'"):
        map_severity({"kind": "nope"}, {})
