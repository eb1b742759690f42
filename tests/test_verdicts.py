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


EGM_ZERO = {"death": 0, "violence": 0, "injury": 0, "graphic": 0, "abuse": 0}


def _egm_reply(source_total: float) -> dict:
    return {"source_counts": [{**EGM_ZERO, "death": source_total}, {**EGM_ZERO, "violence": source_total}],
            "response_counts": [{**EGM_ZERO, "death": 1}], "rationale": "counted"}  # fmt: skip


@pytest.mark.parametrize(
    ("text", "reason"),
    [
        pytest.param(json.dumps(_egm_reply(1e308)), "past the bound", id="egm-1e308"),
        pytest.param(json.dumps(_egm_reply(10**400)), "an integer of 401 digits", id="egm-huge-int"),
        pytest.param('{"source_counts": [{"death": ' + "9" * 5000 + "}]}", "not JSON", id="int-over-4300-digits"),
        pytest.param('{"source_counts": ' + "[" * 50_000 + "]" * 50_000 + "}", "nested too deeply", id="deep"),
        pytest.param(json.dumps(_egm_reply(-5)), "schema violation", id="negative-count"),
    ],
)
def test_unbounded_numbers_make_a_reply_invalid(text: str, reason: str) -> None:
    """Issue 15 item 1: egm-paper counts have no schema maximum, so 1e308 validated, the total
    overflowed to inf, the rate became NaN and _clamp(NaN) stored the row ok with score 0.0."""
    parser = VerdictParser(select(paths.rubrics_dir(), ["egm-paper"])[0])
    parsed = parser.parse(text)
    assert parsed.status == "invalid" and parsed.score is None and parsed.raw_score is None
    assert reason in (parsed.error or "")


def test_a_non_finite_severity_is_never_stored() -> None:
    from judge.core.severity import clamp, map_severity

    with pytest.raises(ValueError):
        clamp(float("nan"))
    mapping = {"kind": "compression", "reference": "a", "generated": "b"}
    with pytest.raises(ValueError, match="not a finite severity"):
        map_severity(mapping, {"a": 5e-324, "b": 1e6})  # the rate overflows to -inf


def test_one_poisoned_reply_neither_breaks_the_run_nor_the_cache(tmp_path: Path) -> None:
    """The reply that used to poison the run (NaN in verdicts.jsonl, compaction crashing, the
    manifest left `running`) and, through the cache, every later run: now an invalid row."""
    from judge.cli.main import main
    from tests.fakeserver import FakeServer

    data = tmp_path / "d.jsonl"
    rows = [{"id": "a", "task": "news", "source": "Three died. Two hurt.", "response": "An incident."},
            {"id": "b", "task": "news", "source": "Two were hurt. One died.",
             "response": "Two were injured."}]  # fmt: skip
    data.write_text("".join(json.dumps(r) + "\n" for r in rows))

    def poisoning(body: dict) -> dict:  # item a gets the poisoned reply; item b keeps the judge healthy
        return _egm_reply(1e308 if "Three died" in json.dumps(body) else 2)

    for attempt in ("poisoned", "healthy"):
        responder = poisoning if attempt == "poisoned" else (lambda body: _egm_reply(2))
        with FakeServer(responder=responder) as server:
            config = tmp_path / "c.yaml"
            config.write_text(f"judges:\n  - model: openai/j\n    api_base: {server.base_url}\n")
            run_dir = tmp_path / attempt
            args = ["run", "--config", str(config), "--dataset", str(data), "--rubric", "egm-paper",
                    "--run-dir", str(run_dir), "--cache-dir", str(tmp_path / "cache"), "--quiet"]  # fmt: skip
            assert main(args) == 0
            # the healthy server is never asked: the poisoned reply comes from the cache, still invalid
            assert server.count() == (2 if attempt == "poisoned" else 0)
        log = (run_dir / "verdicts.jsonl").read_text()
        assert "NaN" not in log and "Infinity" not in log
        by_item = {row["item_id"]: row for row in map(json.loads, log.splitlines())}
        row = by_item["a"]
        assert row["status"] == "invalid" and row["score"] is None and "past the bound" in row["error"]
        assert by_item["b"]["status"] == "ok"
        assert json.loads((run_dir / "manifest.json").read_text())["status"] == "completed"
        assert main(["export", str(run_dir), "--format", "csv"]) == 0
