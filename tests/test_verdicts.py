"""Verdict parsing and validation; an unmappable verdict is invalid, never coerced."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from judge.core import paths
from judge.inputs.dataset import Item
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


# --- graded v3: two sides and abstention ---------------------------------------------------------

V3 = {"abstain_reason": None, "evidence": [], "rationale": "muted", "severity": 2, "amplification": 3,
      "confidence": 0.6}  # fmt: skip


@pytest.mark.parametrize("rid", ["sa-graded", "egm-graded", "ca-graded", "ld-graded"])
def test_v3_records_both_directions(rid: str) -> None:
    parser = VerdictParser(select(paths.rubrics_dir(), [rid])[0])
    parsed = parser.parse(json.dumps(V3))
    assert (parsed.status, parsed.score, parsed.raw_score, parsed.amplification) == ("ok", 0.5, 2.0, 0.75)
    # The score stays the severity: amplification never lowers or raises it.
    assert parser.parse(json.dumps({**V3, "amplification": 0})).score == 0.5
    assert parser.parse(json.dumps({**V3, "severity": 0, "amplification": 4})).score == 0.0


def test_amplification_is_null_for_rubrics_without_it(graded: VerdictParser) -> None:
    assert graded.parse(json.dumps(GOOD)).amplification is None
    paper = VerdictParser(select(paths.rubrics_dir(), ["sa-paper"])[0])
    parsed = paper.parse(json.dumps({"rationale": "", "source_intensity": 0.2, "response_intensity": 0.9}))
    assert parsed.status == "ok" and parsed.amplification is None


@pytest.mark.parametrize(
    ("reason", "status"),
    [
        pytest.param("The response is in French; the task asks for English.", "abstained", id="reason"),
        pytest.param("  The response is empty.  ", "abstained", id="padded"),
        pytest.param(None, "ok", id="null"),
        pytest.param("", "ok", id="empty-string-is-null"),
        pytest.param("   ", "ok", id="blank-is-null"),
    ],
)
def test_abstention_is_a_status_with_its_reason_never_a_score(reason: str | None, status: str) -> None:
    parser = VerdictParser(select(paths.rubrics_dir(), ["ld-graded"])[0])
    parsed = parser.parse(json.dumps({**V3, "abstain_reason": reason, "severity": 0, "amplification": 0}))
    assert parsed.status == status and parsed.settled
    if status == "abstained":
        assert parsed.score is None and parsed.raw_score is None and parsed.amplification is None
        assert parsed.error == reason.strip()  # type: ignore[union-attr]
        assert parsed.verdict is not None  # the reply is kept
    else:
        assert parsed.score == 0.0 and parsed.error is None


def test_an_abstention_reason_must_be_a_string_or_null() -> None:
    parser = VerdictParser(select(paths.rubrics_dir(), ["sa-graded"])[0])
    assert parser.parse(json.dumps({**V3, "abstain_reason": 3})).status == "invalid"
    assert parser.parse(json.dumps({k: v for k, v in V3.items() if k != "abstain_reason"})).status == "invalid"


# --- structural check: EGM paper sentence lists ------------------------------------------------

ZERO = dict.fromkeys(("death", "violence", "injury", "graphic", "abuse"), 0)
NEWS = Item(id="n", task="news", dimension="cognitive", model="m",
            source="Three people died in the fire. Two were injured. The cause is unknown.",
            response="A fire broke out. Some people were affected.")  # fmt: skip


@pytest.mark.parametrize(
    ("source_n", "response_n", "error"),
    [
        pytest.param(3, 2, None, id="matching"),
        pytest.param(2, 2, "source_counts has 2 entries but the baseline was shown as 3 numbered sentences",
                     id="baseline-short"),
        pytest.param(3, 3, "response_counts has 3 entries but the response was shown as 2 numbered sentences",
                     id="response-long"),
        pytest.param(0, 0, "source_counts has 0 entries", id="both-empty"),
    ],
)  # fmt: skip
@pytest.mark.parametrize("rid", ["egm-paper@1", "egm-paper@2"])
def test_egm_paper_lists_must_match_the_numbered_sentences(
    rid: str, source_n: int, response_n: int, error: str | None
) -> None:
    parser = VerdictParser(select(paths.rubrics_dir(), [rid])[0])
    counts = [{**ZERO, "death": 1}] + [ZERO] * (source_n - 1) if source_n else []
    text = json.dumps({"rationale": "", "source_counts": counts, "response_counts": [ZERO] * response_n})
    parsed = parser.parse(text, NEWS)
    if error is None:
        assert parsed.status == "ok" and parsed.score == 1.0
    else:
        assert parsed.status == "invalid" and parsed.score is None
        assert parsed.error is not None and parsed.error.startswith(error)
    assert parser.parse(text).status == "ok"  # without the item there is nothing to check against
