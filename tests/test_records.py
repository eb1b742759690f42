"""The typed run records (judge/core/records.py): one definition of the verdict row, checked JSON
records for the manifest and the summary."""

from __future__ import annotations

import dataclasses
import json
from typing import Any

import polars as pl
import pytest

from judge.core.records import (
    KEY_COLUMNS,
    VERDICT_COLUMNS,
    PlanIdentity,
    RecordError,
    RubricKey,
    Summary,
    VerdictRow,
    verdict_schema,
)


def test_the_verdict_columns_and_schema_come_from_the_row() -> None:
    names = [f.name for f in dataclasses.fields(VerdictRow)]
    assert list(VERDICT_COLUMNS) == names
    assert set(KEY_COLUMNS) <= set(names)
    schema = verdict_schema()
    assert list(schema) == names
    assert schema["score"] == pl.Float64 and schema["repeat"] == pl.Int64 and schema["cached"] == pl.Boolean
    row = VerdictRow("i", "news", "m", None, "r", 1, "rh", "ph", "graded", "sentiment_attenuation", "cognitive",
                     "j", "jh", 0, status="ok", score=0.25)
    frame = pl.DataFrame([row.to_dict()], schema=schema)
    assert frame.row(0, named=True) == row.to_dict()


def test_the_row_has_no_dict() -> None:
    row = VerdictRow("i", "news", "m", None, "r", 1, "rh", "ph", "graded", "ca", "cognitive", "j", "jh", 0)
    with pytest.raises(AttributeError):
        row.typo = 1  # type: ignore[attr-defined]  # slots: a misspelt column cannot be set


SUMMARY: dict[str, Any] = {"format_version": 2, "counts": {"ok": 1, "total": 1}, "cost_usd": 0, "agreement": {}}


@pytest.mark.parametrize(
    ("change", "message"),
    [
        pytest.param({"counts": {"ok": "1"}}, "counts.ok: must be an integer, got str '1'", id="str-for-int"),
        pytest.param({"counts": {"ok": True}}, "counts.ok: must be an integer, got bool", id="bool-for-int"),
        pytest.param({"cost_usd": "0.1"}, "cost_usd: must be a number", id="str-for-float"),
        pytest.param({"scores": {"a": 1}}, "scores: must be a list", id="object-for-list"),
        pytest.param({"agreement": {"sa": [1]}}, "agreement.sa: must be an object", id="list-for-object"),
        pytest.param({"format_version": None}, "format_version: must be an integer", id="null-for-int"),
    ],
)
def test_summary_types_are_checked(change: dict[str, Any], message: str) -> None:
    with pytest.raises(RecordError) as info:
        Summary.from_dict({**SUMMARY, **change})
    assert message in str(info.value)


def test_a_missing_required_field_is_named() -> None:
    with pytest.raises(RecordError, match="counts: missing"):
        Summary.from_dict({"format_version": 2})


def test_unknown_keys_survive_a_round_trip() -> None:
    data = {**SUMMARY, "added_later": {"x": [1, 2]}}
    summary = Summary.from_dict(data)
    assert summary.extra == {"added_later": {"x": [1, 2]}}
    assert summary.cost_usd == 0.0 and isinstance(summary.cost_usd, float)
    assert json.loads(json.dumps(summary.to_dict()))["added_later"] == {"x": [1, 2]}


def test_plan_identity_hash_covers_every_field_and_is_checked() -> None:
    plan = PlanIdentity(dataset="d", sample=10, seed=0, limit=None, repeats=1,
                        rubrics={"sa-graded": RubricKey(2, "h", "p")}, judges={"j": "jh"}, cache="on",
                        cache_dir="/c")
    data = plan.to_dict()
    assert PlanIdentity.from_dict(data) == plan
    hashes = {plan.hash}
    for name, value in [("sample", 40), ("seed", 7), ("limit", 5), ("repeats", 2), ("cache", "off"),
                        ("cache_dir", "/x"), ("dataset", "e"), ("judges", {"k": "jh"})]:
        hashes.add(dataclasses.replace(plan, **{name: value}).hash)
    assert len(hashes) == 9
    with pytest.raises(RecordError, match=r"plan\.hash: does not match"):
        PlanIdentity.from_dict({**data, "sample": 40}, where="plan")
    with pytest.raises(RecordError, match="cache: 'sometimes' must be one of on, off, replay"):
        PlanIdentity.from_dict({**data, "cache": "sometimes", "hash": None})
