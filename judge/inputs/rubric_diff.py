"""``empathy-judge rubrics diff ID@A ID@B``: what changed between two rubric versions.

Three parts, each a unified diff of the loaded rubrics (so a schema written out and one given as a
reference such as ``graded@2`` compare by content): the **instructions** (definition, description,
instructions), the **levels** of the scale (one block per level), and the verdict **schema**; then
every other field that differs (prompt template, severity mapping, dimensions, policies), one line
each.
"""

from __future__ import annotations

import difflib
import json
from typing import Any

from judge.inputs.rubrics import Rubric

TEXTS = ("definition", "description", "instructions")
FIELDS = ("title", "mechanism", "family", "dimensions", "tasks", "prompt", "severity", "strict", "on_invalid",
          "max_tokens")  # fmt: skip


def _lines(text: str) -> list[str]:
    return [line + "\n" for line in text.strip().splitlines()] if text.strip() else []


def _unified(a: str, b: str, name_a: str, name_b: str) -> str:
    return "".join(difflib.unified_diff(_lines(a), _lines(b), name_a, name_b, n=2))


def _levels(rubric: Rubric) -> dict[str, str]:
    levels = rubric.scale.get("levels") or {}
    return {str(k): str(v) for k, v in levels.items()} if isinstance(levels, dict) else {"levels": str(levels)}


def _show(value: Any) -> str:
    return json.dumps(value, sort_keys=True, ensure_ascii=False) if not isinstance(value, str) else value


def rubric_diff(a: Rubric, b: Rubric) -> str:
    """The changes from ``a`` to ``b`` as text (ends with a newline)."""
    out = [f"{a.ref} ({a.path}, hash {a.hash[:12]})\n-> {b.ref} ({b.path}, hash {b.hash[:12]})\n"]
    if a.hash == b.hash:
        return out[0] + "\nno change: the two versions hash the same\n"

    out.append("\n== instructions ==\n")
    parts = [_unified(getattr(a, f), getattr(b, f), f"{a.ref} {f}", f"{b.ref} {f}") for f in TEXTS]
    out.append("".join(parts) or "(unchanged)\n")

    out.append("\n== levels ==\n")
    la, lb = _levels(a), _levels(b)
    parts = [_unified(la.get(k, ""), lb.get(k, ""), f"{a.ref} level {k}", f"{b.ref} level {k}")
             for k in sorted(la.keys() | lb.keys())]  # fmt: skip
    scale_a = {k: v for k, v in a.scale.items() if k != "levels"}
    scale_b = {k: v for k, v in b.scale.items() if k != "levels"}
    if scale_a != scale_b:
        parts.append(f"scale: {_show(scale_a)} -> {_show(scale_b)}\n")
    out.append("".join(parts) or "(unchanged)\n")

    out.append("\n== schema ==\n")
    schema_a = json.dumps(a.schema, indent=1, sort_keys=True)
    schema_b = json.dumps(b.schema, indent=1, sort_keys=True)
    out.append(_unified(schema_a, schema_b, f"{a.ref} schema", f"{b.ref} schema") or "(unchanged)\n")

    changed = [f"{f}: {_show(getattr(a, f))} -> {_show(getattr(b, f))}\n" for f in FIELDS
               if getattr(a, f) != getattr(b, f)]  # fmt: skip
    out.append("\n== other fields ==\n")
    out.append("".join(changed) or "(unchanged)\n")
    return "".join(out)
