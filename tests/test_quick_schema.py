"""The quick schema check only ever accepts what jsonschema accepts (it never decides an invalid
verdict, nor words an error), and it does accept the shipped rubrics' typical valid verdicts."""

from __future__ import annotations

import copy
import json
import random
from typing import Any

import jsonschema
import pytest

from judge.core.mechanisms import contract
from judge.inputs.quick_schema import compile_quick
from judge.inputs.rubric_check import example_verdict
from judge.inputs.rubrics import load_all, rubric_roots


def _schemas() -> list[tuple[str, dict[str, Any]]]:
    out = []
    for rubric in load_all(rubric_roots()):
        out.append((rubric.ref, rubric.schema))
        found = contract(rubric.family, rubric.mechanism)
        if found is not None and found.sentence_schema is not None:
            out.append((f"{rubric.ref} sentence", found.sentence_schema))
    return out


SCHEMAS = _schemas()
# Values that probe each keyword's corners: bool vs int, 1.0 as an integer, NaN, big numbers,
# wrong containers, strings that are near an enum's values.
ODD = [None, True, False, 0, 1, -1, 4, 5, 0.5, 1.0, 3.0, -0.0, 1e308, float("nan"), float("inf"), 10**30,
       "", "source", "response", "Source", "x" * 50, [], [1], [{}], {}, {"side": "source", "quote": "q"}]  # fmt: skip


def _mutations(value: Any, rng: random.Random) -> Any:
    """``value`` with one random change somewhere inside it (a field set, added or removed, a list
    item changed, added or dropped)."""
    value = copy.deepcopy(value)
    if isinstance(value, dict) and value and rng.random() < 0.7:
        key = rng.choice(sorted(value))
        roll = rng.random()
        if roll < 0.15:
            del value[key]
        elif roll < 0.25:
            value["extra_" + key] = rng.choice(ODD)
        elif roll < 0.6:
            value[key] = rng.choice(ODD)
        else:
            value[key] = _mutations(value[key], rng)
        return value
    if isinstance(value, list) and rng.random() < 0.7:
        roll = rng.random()
        if roll < 0.3 and value:
            value.pop(rng.randrange(len(value)))
        elif roll < 0.6:
            value.extend(copy.deepcopy(value[:1]) * rng.randint(1, 8) if value else [rng.choice(ODD)])
        elif value:
            i = rng.randrange(len(value))
            value[i] = _mutations(value[i], rng)
        return value
    return rng.choice(ODD)


@pytest.mark.parametrize(("ref", "schema"), SCHEMAS, ids=[ref for ref, _ in SCHEMAS])
def test_every_shipped_schema_compiles_and_accepts_its_example(ref: str, schema: dict[str, Any]) -> None:
    quick = compile_quick(schema)
    assert quick is not None, f"{ref}: the quick check does not cover this schema (every reply would pay jsonschema)"
    example = example_verdict(schema)
    assert jsonschema.Draft202012Validator(schema).is_valid(example)
    assert quick(example)


@pytest.mark.parametrize(("ref", "schema"), SCHEMAS, ids=[ref for ref, _ in SCHEMAS])
def test_the_quick_check_never_accepts_what_jsonschema_rejects(ref: str, schema: dict[str, Any]) -> None:
    quick = compile_quick(schema)
    assert quick is not None
    validator = jsonschema.Draft202012Validator(schema)
    rng = random.Random(ref)
    base = example_verdict(schema)
    accepted = rejected = 0
    for _ in range(3000):
        candidate = base
        for _ in range(rng.randint(1, 3)):
            candidate = _mutations(candidate, rng)
        # Round-trip through JSON as a reply would (NaN stays, as json.loads would let it in).
        candidate = json.loads(json.dumps(candidate))
        valid = validator.is_valid(candidate)
        if quick(candidate):
            assert valid, f"{ref}: quick check accepted an invalid verdict: {candidate!r}"
            accepted += 1
        elif not valid:
            rejected += 1
    assert accepted > 10 and rejected > 10  # both sides were exercised


@pytest.mark.parametrize(
    "schema",
    [
        {"type": "object", "patternProperties": {"^x": {"type": "string"}}},
        {"$ref": "#/$defs/a", "$defs": {"a": {"type": "string"}}},
        {"type": "object", "additionalProperties": {"type": "string"}},
        {"anyOf": [{"type": "string"}, {"type": "null"}]},
        {"type": "string", "pattern": "^a"},
        {"type": "array", "prefixItems": [{"type": "string"}]},
        {"type": "string", "format": "date"},
        {"type": "number", "exclusiveMinimum": 0},
        False,
    ],
)
def test_schemas_with_other_keywords_go_to_jsonschema_alone(schema: Any) -> None:
    assert compile_quick(schema) is None


def test_corners_are_declined_not_decided() -> None:
    integer = compile_quick({"type": "integer", "minimum": 0, "maximum": 4})
    number = compile_quick({"type": "number", "minimum": 0})
    choice = compile_quick({"enum": ["a", 1]})
    assert integer is not None and number is not None and choice is not None
    assert integer(3) and not integer(True) and not integer(5)
    assert not integer(3.0)  # valid to jsonschema (1.0 is an integer), but left to it to say so
    assert not number(float("nan")) and not number(False)
    assert choice("a") and choice(1) and not choice(True) and not choice(1.0) and not choice("b")
