"""The project's vocabulary, defined once: mechanisms, dimensions, tasks, rubric families and the
statuses a verdict or a run can have. Every other module imports these names from here."""

from __future__ import annotations

# The four failure mechanisms of You, Huang and Yu (2026), by the ids rubrics and gold columns use.
MECHANISMS = (
    "sentiment_attenuation",
    "granularity_mismatch",
    "conflict_avoidance",
    "linguistic_distancing",
)
# The short codes rubric ids start with (sa-graded, egm-paper, ...).
MECHANISM_CODES = {
    "sentiment_attenuation": "sa",
    "granularity_mismatch": "egm",
    "conflict_avoidance": "ca",
    "linguistic_distancing": "ld",
}
DIMENSIONS = ("cognitive", "cultural", "relational")
FAMILIES = ("graded", "paper")

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
RUN_STATUSES = ("running", "completed", "interrupted", "budget_exhausted", "failed")

# The paper's three linguistic-distancing features and the spread that counts as one unit of
# distancing in the per-item severity (a response more passive, nominal or non-human than its
# baseline by this much scores 1 on that feature).
LD_FEATURE_SCALES = {"passive_share": 0.5, "nominalisation_density": 0.15, "nonhuman_subject_share": 0.5}
