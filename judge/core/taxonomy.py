"""The project's vocabulary: mechanisms, dimensions, tasks, rubric families and the statuses a
verdict or a run can have. Every other module imports these names from here.

Mechanisms and families are declared in ``judge.core.mechanisms`` (with their verdict
contracts); the tuples below are views of those declarations, taken when this module loads.
Code that must also see mechanisms or families registered later (plugins, tests) calls
``mechanism_ids()`` / ``family_ids()`` there instead.
"""

from __future__ import annotations

from dataclasses import dataclass

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
    "GOLD_PREFIXES",
    "LD_FEATURES",
    "LD_FEATURE_SCALES",
    "MECHANISMS",
    "MECHANISM_CODES",
    "NOT_APPLICABLE",
    "REDO_STATUSES",
    "REDO_WITH_ERRORS",
    "REPLIED_STATUSES",
    "RESPONSE_FORMAT_MODES",
    "RUN_STATUSES",
    "SCORED_STATUSES",
    "STATUS_TABLE",
    "TASK_DIMENSIONS",
    "VALID_STATUSES",
    "VERDICT_STATUSES",
    "VerdictStatus",
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



@dataclass(frozen=True)
class VerdictStatus:
    """What a verdict row's status means for scoring, billing and resuming.

    ``scored``: the row has a score. ``replied``: a judge reply stands behind the row (it was
    billed unless cached). ``valid``: that reply validated, so no repair or re-ask is tried.
    ``redo``: ``--resume`` judges the row's key again (``redo_on_error``: only with
    ``--retry-errors``).
    """

    name: str
    scored: bool
    replied: bool
    redo: bool
    meaning: str
    redo_on_error: bool = False
    valid: bool = False


# Every status a verdict row can have, in display order. Code that lists or counts statuses reads
# them from here (the tuples below), never writes them out.
STATUS_TABLE = (
    VerdictStatus("ok", scored=True, replied=True, redo=False, valid=True, meaning="a valid verdict, scored"),
    VerdictStatus("invalid", scored=False, replied=True, redo=False,
                  meaning="a reply that did not validate (schema, evidence or structure); kept, unscored"),
    VerdictStatus("error", scored=False, replied=False, redo=False, redo_on_error=True,
                  meaning="no usable reply (the call failed)"),
    VerdictStatus("skipped", scored=False, replied=False, redo=True,
                  meaning="never judged: budget exhausted, a stopped judge, or the rubric does not apply"),
    VerdictStatus("abstained", scored=False, replied=True, redo=False, valid=True,
                  meaning="the judge declined this mechanism on these texts (empty, off-task, unreadable), "
                  "with a reason; terminal, unscored, its cost kept"),
)  # fmt: skip
VERDICT_STATUSES = tuple(s.name for s in STATUS_TABLE)
# Statuses whose rows carry a judge's reply (tokens and cost, completion sizes, the reply text).
REPLIED_STATUSES = tuple(s.name for s in STATUS_TABLE if s.replied)
SCORED_STATUSES = tuple(s.name for s in STATUS_TABLE if s.scored)
# Statuses of a reply that validated: the turn ends there (no repair, no re-ask).
VALID_STATUSES = tuple(s.name for s in STATUS_TABLE if s.valid)
# Statuses whose keys --resume judges again, without and with --retry-errors.
REDO_STATUSES = tuple(s.name for s in STATUS_TABLE if s.redo)
REDO_WITH_ERRORS = tuple(s.name for s in STATUS_TABLE if s.redo or s.redo_on_error)
# How the reason of a ``skipped`` row begins when the rubric does not apply to the item (its tasks
# or dimensions exclude it). Such a row is final: --resume does not judge it again.
NOT_APPLICABLE = "not applicable"
# Gold label columns of a dataset, 0-4 integers: ``gold_<mechanism>`` labels the severity (the
# graded scale), ``amplification_<mechanism>`` the opposite error (graded v3's amplification scale);
# either may be per annotator, ``<prefix><mechanism>__<annotator>``. A dataset's gold columns (the
# manifest's ``dataset.gold_columns``, the items table's Int64 columns) are both kinds.
GOLD_PREFIXES = ("gold_", "amplification_")
# A run's status in manifest.json and summary.json.
# degraded: the run finished, but a judge produced no ok verdict or too many errors (exit code 5).
RUN_STATUSES = ("running", "completed", "degraded", "interrupted", "budget_exhausted", "failed")
# How a judge asks its server for structured output, strongest constraint first (the ladder that
# judge/judging/negotiation.py steps down): the JSON Schema as OpenAI's json_schema type; as
# llama.cpp's json_object with a schema; JSON of any shape; no response_format at all.
RESPONSE_FORMAT_MODES = ("json_schema", "json_object_schema", "json_object", "none")
