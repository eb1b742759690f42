"""Verdict parsing and validation; an unmappable verdict is invalid, never coerced."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from judge.core import paths
from judge.inputs.rubrics import select
from judge.inputs.verdicts import VerdictParser, repair


@pytest.fixture(scope="module")
def graded() -> VerdictParser:
    return VerdictParser(select(paths.rubrics_dir(), ["sa-graded@1"])[0])


GOOD = {"evidence": [{"side": "source", "quote": "killed"}], "rationale": "flat", "severity": 3,
        "overcorrection": False, "confidence": 0.8}


@pytest.mark.parametrize(
    ("text", "reason"),
    [
        pytest.param("not json", "not JSON", id="prose"),
        pytest.param('{"severity": 2', "not JSON", id="truncated"),
        pytest.param("[1, 2]", "not an object", id="array"),
        pytest.param(json.dumps({**GOOD, "severity": 7}), "schema violation at severity", id="out-of-range"),
        pytest.param(
            json.dumps({k: v for k, v in GOOD.items() if k != "severity"}), "'severity' is a required", id="missing"
        ),
        pytest.param(json.dumps({**GOOD, "severity": "3"}), "schema violation at severity", id="string-number"),
        pytest.param(json.dumps(GOOD).replace("0.8", "NaN"), "NaN is not valid JSON", id="nan"),
        pytest.param(json.dumps(GOOD).replace("0.8", "Infinity"), "Infinity is not valid JSON", id="infinity"),
        pytest.param(json.dumps({**GOOD, "extra": 1}), "Additional properties", id="extra-key"),
        pytest.param("```json\n" + json.dumps(GOOD) + "\n```", "not JSON", id="fenced-not-repaired"),
    ],
)
def test_invalid_replies_keep_reason_and_no_score(graded: VerdictParser, text: str, reason: str) -> None:
    parsed = graded.parse(text)
    assert parsed.status == "invalid"
    assert parsed.score is None and parsed.raw_score is None
    assert reason in (parsed.error or "")


def test_valid_graded_reply_scores_linearly(graded: VerdictParser) -> None:
    parsed = graded.parse(json.dumps(GOOD))
    assert parsed.status == "ok"
    assert parsed.score == pytest.approx(0.75)
    assert parsed.raw_score == 3
    assert parsed.rationale == "flat"


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        pytest.param("Here you go:\n```json\n{\"a\": 1}\n```\nThanks", '{"a": 1}', id="fence+prose"),
        pytest.param('Sure! {"a": {"b": 2}} hope it helps', '{"a": {"b": 2}}', id="prose"),
        pytest.param("no braces at all", None, id="nothing"),
    ],
)
def test_repair(text: str, expected: str | None) -> None:
    assert repair(text) == expected


def test_parser_reports_unmappable_verdict_as_invalid(tmp_path: Path) -> None:
    rubric = select(paths.rubrics_dir(), ["sa-graded@1"])[0]
    parser = VerdictParser(rubric)
    parsed = parser.score({"rationale": "x"})  # bypasses the schema: severity field missing
    assert parsed.status == "invalid" and parsed.score is None
