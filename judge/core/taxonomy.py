"""The project's vocabulary: mechanisms, dimensions, tasks, rubric families and the statuses a
verdict or a run can have. Every other module imports these names from here.

Mechanisms and families are declared in ``judge.core.mechanisms`` (with their verdict
contracts); the tuples below are views of those declarations, taken when this module loads.
Code that must also see mechanisms or families registered later (plugins, tests) calls
``mechanism_ids()`` / ``family_ids()`` there instead.
"""

from __future__ import annotations

from judge.core.mechanisms import (
    AVERSIVE_CATEGORIES,
    LD_FEATURE_SCALES,
    LD_FEATURES,
    family_ids,
    mechanism,
    mechanism_ids,
)

__all__ = [
    "AVERSIVE_CATEGORIES",
    "DIMENSIONS",
    "FAMILIES",
    "LD_FEATURES",
    "LD_FEATURE_SCALES",
    "MECHANISMS",
    "MECHANISM_CODES",
    "RESPONSE_FORMAT_MODES",
    "RUN_STATUSES",
    "TASK_DIMENSIONS",
    "VERDICT_STATUSES",
]

# The four failure mechanisms of You, Huang and Yu (2026), by the ids rubrics and gold columns use.
MECHANISMS = mechanism_ids()
# The short codes rubric ids start with (sa-graded, egm-paper, ...).
MECHANISM_CODES = {m: mechanism(m).code for m in MECHANISMS}
DIMENSIONS = ("cognitive", "cultural", "relational")
FAMILIES = family_ids()

# Known tasks and the empathy dimension an item of that task gets when its row names none.
TASK_DIMENSIONS = {
    "news": "cognitive",
    "translation": "cultural",
    "counselling": "relational",
    "workplace": "relational",
    "education": "cognitive",
}

# A verdict row's status: ok (scored), invalid (a reply that did not validate; kept, unscored),
# error (no usable reply), skipped (never judged: budget, a stopped judge, not applicable).
VERDICT_STATUSES = ("ok", "invalid", "error", "skipped")
# A run's status in manifest.json and summary.json.
# degraded: the run finished, but a judge produced no ok verdict or too many errors (exit code 5).
RUN_STATUSES = ("running", "completed", "degraded", "interrupted", "budget_exhausted", "failed")
# How a judge asks its server for structured output, strongest constraint first (the ladder that
# judge/judging/negotiation.py steps down): the JSON Schema as OpenAI's json_schema type; as
# llama.cpp's json_object with a schema; JSON of any shape; no response_format at all.
RESPONSE_FORMAT_MODES = ("json_schema", "json_object_schema", "json_object", "none")
