"""Property-based: arbitrary JSON verdicts through parsing, severity mapping, the verdict log,
compaction and the summary never crash and never produce a NaN or a score outside [0, 1].

The replies are drawn two ways: shaped like the rubric's schema with hostile leaves (huge,
negative, non-finite and fractional numbers, wrong types, nested structures where a number
belongs), and arbitrary JSON (deeply nested, huge integers, NaN/Infinity tokens, non-objects).
Runs are deterministic (``derandomize``) and bounded, so they fit CI; the example database is off
so a run leaves nothing behind.
"""

from __future__ import annotations

import json
import math
import tempfile
from pathlib import Path
from typing import Any

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from judge.core import paths
from judge.core.records import FORMAT_VERSION, VerdictRow
from judge.engine.runner import _fill, _tokens, _usd
from judge.inputs.rubrics import Rubric, select
from judge.inputs.verdicts import VerdictParser
from judge.stats.summary import SummarySettings, summarise
from judge.store.reader import read_verdicts
from judge.store.rundir import VERDICTS_LOG, VerdictLog, compact

RUBRICS: list[Rubric] = select(paths.rubrics_dir(), [])  # the latest version of every rubric
PARSERS = {r.id: VerdictParser(r) for r in RUBRICS}
PARSE_SETTINGS = settings(max_examples=400, deadline=None, derandomize=True, database=None,
                          suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large])  # fmt: skip
PIPELINE_SETTINGS = settings(max_examples=30, deadline=None, derandomize=True, database=None,
                             suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large])  # fmt: skip

HOSTILE_NUMBERS = st.one_of(
    st.integers(),
    st.integers(min_value=-(10**400), max_value=10**400),
    st.floats(allow_nan=True, allow_infinity=True),
    st.sampled_from([0, -0.0, 1e308, -1e308, 5e-324, 1e-300, 4.0000001, 1_000_001, 10**6, 2**63, float("nan")]),
)
LEAVES = st.one_of(st.none(), st.booleans(), HOSTILE_NUMBERS, st.text(max_size=12))
ANY_JSON = st.recursive(
    LEAVES,
    lambda children: st.lists(children, max_size=4) | st.dictionaries(st.text(max_size=6), children, max_size=4),
    max_leaves=25,
)


def shaped(schema: dict[str, Any], draw: Any, hostility: float, depth: int = 0) -> Any:
    """A value shaped like ``schema``: each leaf plausible (in range, extremes included) or, with
    probability ``hostility``, hostile (out of range, non-finite, a wrong type, a nested thing)."""

    def hostile() -> bool:
        return hostility > 0 and draw(st.floats(0, 1)) < hostility

    kind = schema.get("type")
    if isinstance(kind, list):
        kind = next((k for k in kind if k != "null"), "null")
    if depth > 6 or hostile():
        return draw(ANY_JSON)
    if "enum" in schema:
        return draw(st.sampled_from(schema["enum"]))
    if kind == "object" or "properties" in schema:
        props = schema.get("properties") or {}
        out = {name: shaped(sub, draw, hostility, depth + 1) for name, sub in props.items() if not hostile()}
        if hostile():
            out.update(draw(st.dictionaries(st.text(max_size=6), LEAVES, max_size=2)))
        return out
    if kind == "array":
        n = draw(st.integers(int(schema.get("minItems", 0)), max(int(schema.get("minItems", 0)), 4)))
        return [shaped(schema.get("items") or {}, draw, hostility, depth + 1) for _ in range(n)]
    if kind == "integer":
        lo, hi = int(schema.get("minimum", -(10**6))), int(schema.get("maximum", 10**6))
        return draw(st.integers(lo, hi) | st.sampled_from([lo, hi]))
    if kind == "number":
        lo, hi = schema.get("minimum", -1e6), schema.get("maximum", 1e6)
        return draw(st.floats(lo, hi) | st.sampled_from([lo, hi, 5e-324, 1e-300]).filter(lambda x: lo <= x <= hi))
    if kind == "boolean":
        return draw(st.booleans())
    return draw(st.text(max_size=20))


@st.composite
def replies(draw: Any) -> tuple[str, str]:
    """(rubric id, reply text)."""
    rubric = draw(st.sampled_from(RUBRICS))
    how = draw(st.sampled_from(["shaped", "shaped", "shaped", "any", "deep", "bigint"]))
    if how == "shaped":
        hostility = draw(st.sampled_from([0.0, 0.0, 0.02, 0.2]))
        text = json.dumps(shaped(rubric.schema, draw, hostility))  # NaN and Infinity come out as bare tokens
    elif how == "any":
        text = json.dumps(draw(ANY_JSON))
    elif how == "deep":
        depth = draw(st.sampled_from([50, 900, 5_000, 100_000]))
        text = '{"a": ' + "[" * depth + "]" * depth + "}"
    else:
        text = '{"severity": ' + "9" * draw(st.sampled_from([19, 309, 4_301, 6_000])) + "}"
    return rubric.id, text


def _check_parsed(parsed: Any) -> None:
    if parsed.status == "ok":
        assert parsed.score is not None and math.isfinite(parsed.score) and 0.0 <= parsed.score <= 1.0
        assert parsed.raw_score is None or math.isfinite(parsed.raw_score)
        json.dumps(parsed.verdict, allow_nan=False)  # the stored verdict holds no NaN either
    else:  # invalid, or abstained (a v3 judge declining with a reason): never scored
        assert parsed.status in ("invalid", "abstained") and parsed.score is None and parsed.raw_score is None
        assert parsed.error


@PARSE_SETTINGS
@given(replies())
def test_any_reply_parses_to_a_finite_severity_or_invalid(reply: tuple[str, str]) -> None:
    rubric_id, text = reply
    _check_parsed(PARSERS[rubric_id].parse(text))


def _walk_finite(value: Any, where: str = "") -> None:
    if isinstance(value, float):
        assert math.isfinite(value), f"{where}: {value}"
    elif isinstance(value, dict):
        for key, sub in value.items():
            _walk_finite(sub, f"{where}.{key}")
    elif isinstance(value, list):
        for i, sub in enumerate(value):
            _walk_finite(sub, f"{where}[{i}]")


def _row(rubric: Rubric, item: int, judge: str, text: str, cost: Any, tokens: Any) -> VerdictRow:
    row = VerdictRow(
        item_id=f"i{item}", task="news", model="m", source_id=None, rubric_id=rubric.id,
        rubric_version=rubric.version, rubric_hash=rubric.hash, prompt_hash="p", family=rubric.family,
        mechanism=rubric.mechanism, dimension="cognitive", judge=judge, judge_hash="h", repeat=0,
        raw_text=text, attempts=1, latency_ms=1.0, cost_usd=_usd(cost), prompt_tokens=_tokens(tokens),
        completion_tokens=_tokens(tokens), finished_at="2026-01-01T00:00:00Z",
    )  # fmt: skip
    parsed = PARSERS[rubric.id].parse(text)
    _check_parsed(parsed)
    _fill(row, parsed, None)
    return row


# A reply for item 0-4 from judge a, b or c, with whatever cost and token counts the provider said.
DRAWS = st.tuples(
    replies(), st.integers(0, 4), st.sampled_from(["a", "b", "c"]), HOSTILE_NUMBERS | st.none(),
    HOSTILE_NUMBERS | st.none(),
)


@PIPELINE_SETTINGS
@given(st.lists(DRAWS, min_size=1, max_size=14))
def test_any_replies_make_a_clean_log_table_and_summary(draws: list[Any]) -> None:
    by_id = {r.id: r for r in RUBRICS}
    with tempfile.TemporaryDirectory() as tmp:
        run_dir = Path(tmp)
        log = VerdictLog(run_dir / VERDICTS_LOG)
        for (rubric_id, text), item, judge, cost, tokens in draws:
            log.append(_row(by_id[rubric_id], item, judge, text, cost, tokens).to_dict())  # allow_nan=False
        log.close()
        assert compact(run_dir).set_aside == []  # every line written is a whole row
        verdicts = read_verdicts(run_dir)
        assert verdicts["score"].drop_nulls().is_between(0.0, 1.0).all()
        for name in ("score", "raw_score", "cost_usd", "latency_ms"):
            assert not verdicts[name].drop_nulls().is_nan().any()
        summary = summarise(verdicts, {"format_version": FORMAT_VERSION}, settings=SummarySettings(n_boot=25)).summary
    json.dumps(summary, allow_nan=False)
    _walk_finite(summary)
    for section in ("scores", "scores_by_model", "scores_by_model_overall"):
        for row in summary[section]:
            for key in ("mean", "ci_low", "ci_high"):
                assert row[key] is None or 0.0 <= row[key] <= 1.0, (section, row)
    for card in summary["judge_cards"]:
        assert card["mean_score"] is None or 0.0 <= card["mean_score"] <= 1.0
    assert summary["cost_usd"] is None or summary["cost_usd"] >= 0
