"""A quick acceptance check for verdicts, compiled from a rubric's JSON schema.

jsonschema's validator costs about 35 us per verdict (it builds a validator object for every
subschema it descends into); over a 10,000-reply re-run from the cache that is a tenth of the
run's CPU (benchmarks/RESULTS.md). The rubrics' schemas use a handful of keywords (type,
properties, required, additionalProperties: false, items, maxItems, enum, minimum, maximum), so
:func:`compile_quick` turns such a schema into nested closures that answer "certainly valid" in a
few microseconds.

The check may only ever *accept*: ``True`` means jsonschema would find no error; ``False`` means
"not sure", and the caller asks jsonschema, which decides and words the errors. So a verdict's
status and error text are jsonschema's in every case. A schema with any keyword outside that set
(or a form of one not handled here) compiles to ``None``: every reply then goes to jsonschema.
Where a keyword's meaning has a corner (booleans are not numbers, ``1.0`` is an integer, enum
equality that tells ``True`` from ``1``), the check declines rather than decide.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

Check = Callable[[Any], bool]

# Annotations: they never make an instance invalid.
_ANNOTATIONS = frozenset({"description", "title", "$comment", "examples", "default", "$schema", "$id"})
_HANDLED = frozenset(
    {"type", "properties", "required", "additionalProperties", "items", "maxItems", "minItems", "enum",
     "minimum", "maximum"}
)  # fmt: skip


class _Unsupported(Exception):
    """The schema uses something the quick check does not handle: jsonschema validates alone."""


def compile_quick(schema: Any) -> Check | None:
    """A check that returns True only for instances valid under ``schema`` (Draft 2020-12), or
    None when the schema uses anything it does not handle."""
    try:
        return _compile(schema)
    except _Unsupported:
        return None


def _is_number(x: Any) -> bool:
    return (type(x) is int or type(x) is float) and x == x  # NaN (unequal to itself) declines


def _is_integer(x: Any) -> bool:
    return type(x) is int  # a float like 1.0 is an integer to jsonschema: declined, it decides


_TYPES: dict[str, Check] = {
    "object": lambda x: type(x) is dict,
    "array": lambda x: type(x) is list,
    "string": lambda x: type(x) is str,
    "null": lambda x: x is None,
    "boolean": lambda x: type(x) is bool,
    "number": _is_number,
    "integer": _is_integer,
}


def _compile(schema: Any) -> Check:
    if schema is True or schema == {}:
        return lambda x: True
    if not isinstance(schema, dict):
        raise _Unsupported("not an object schema")
    unknown = set(schema) - _HANDLED - _ANNOTATIONS
    if unknown:
        raise _Unsupported(", ".join(sorted(unknown)))
    checks: list[Check] = []
    if "type" in schema:
        checks.append(_type_check(schema["type"]))
    if "enum" in schema:
        checks.append(_enum_check(schema["enum"]))
    if "minimum" in schema or "maximum" in schema:
        checks.append(_bounds_check(schema.get("minimum"), schema.get("maximum")))
    if {"properties", "required", "additionalProperties"} & set(schema):
        checks.append(_object_check(schema))
    if {"items", "maxItems", "minItems"} & set(schema):
        checks.append(_array_check(schema))
    if len(checks) == 1:
        return checks[0]
    return lambda x: all(check(x) for check in checks)


def _type_check(spec: Any) -> Check:
    names = [spec] if isinstance(spec, str) else spec
    if not isinstance(names, list) or not names or any(n not in _TYPES for n in names):
        raise _Unsupported(f"type {spec!r}")
    tests = [_TYPES[n] for n in names]
    if len(tests) == 1:
        return tests[0]
    return lambda x: any(t(x) for t in tests)


def _enum_check(values: Any) -> Check:
    if not isinstance(values, list):
        raise _Unsupported("enum")
    # Only strings and plain integers are decided here, each against members of its own type
    # (jsonschema's equality tells True from 1 but not 1 from 1.0); anything else declines.
    strings = frozenset(v for v in values if type(v) is str)
    integers = frozenset(v for v in values if type(v) is int)
    return lambda x: (type(x) is str and x in strings) or (type(x) is int and x in integers)


def _bounds_check(low: Any, high: Any) -> Check:
    for bound in (low, high):
        if bound is not None and not _is_number(bound):
            raise _Unsupported("a minimum or maximum that is not a number")

    def check(x: Any) -> bool:
        if type(x) is bool or not isinstance(x, int | float):
            return True  # the bounds apply to numbers only (jsonschema: a boolean is not a number)
        if x != x:  # NaN: declined
            return False
        return (low is None or x >= low) and (high is None or x <= high)

    return check


def _object_check(schema: dict[str, Any]) -> Check:
    props = schema.get("properties", {})
    required = schema.get("required", [])
    extra = schema.get("additionalProperties", True)
    if not isinstance(props, dict) or not isinstance(required, list) or not all(isinstance(r, str) for r in required):
        raise _Unsupported("properties or required")
    if extra is not True and extra is not False:
        raise _Unsupported("additionalProperties other than true or false")
    fields = {name: _compile(sub) for name, sub in props.items()}
    needed = tuple(required)
    closed = extra is False

    def check(x: Any) -> bool:
        if type(x) is not dict:
            return not isinstance(x, dict)  # these keywords apply to objects only
        for name in needed:
            if name not in x:
                return False
        for name, value in x.items():
            field = fields.get(name)
            if field is None:
                if closed:
                    return False
            elif not field(value):
                return False
        return True

    return check


def _array_check(schema: dict[str, Any]) -> Check:
    items = schema.get("items", True)
    if isinstance(items, list):
        raise _Unsupported("items as a list")
    each = _compile(items)
    most, least = schema.get("maxItems"), schema.get("minItems", 0)
    for bound in (most, least):
        if bound is not None and type(bound) is not int:
            raise _Unsupported("maxItems or minItems that is not an integer")

    def check(x: Any) -> bool:
        if type(x) is not list:
            return not isinstance(x, list)  # these keywords apply to arrays only
        if (most is not None and len(x) > most) or len(x) < least:
            return False
        return all(each(v) for v in x)

    return check
