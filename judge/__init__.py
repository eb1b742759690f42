"""empathy-judge: LLM-as-judge evaluation of empathy failure mechanisms.

    import judge
    plan = judge.Plan("outputs.jsonl", judges=["openai/gpt-4o-mini"], rubrics=["sa-graded"])
    run = judge.evaluate(plan)            # or: await judge.evaluate_async(plan)
    run.status, run.summary, run.verdicts  # typed records and a polars frame
    judge.read_run("runs/<run-id>")        # any run directory, older formats upgraded

The public names below are loaded on first use (PEP 562), so ``import judge`` and the CLI's
start-up stay free of polars, numpy and LiteLLM.
"""

from __future__ import annotations

import importlib
from typing import Any

__version__ = "0.1.0"

_EXPORTS = {
    "Agreement": "judge.stats.agreement",
    "CallContext": "judge.judging.protocol",
    "Completion": "judge.judging.protocol",
    "Dataset": "judge.inputs.dataset",
    "Item": "judge.inputs.dataset",
    "Judge": "judge.judging.protocol",
    "JudgeConfig": "judge.inputs.config",
    "JudgeError": "judge.core.errors",
    "Rubric": "judge.inputs.rubrics",
    "calibration": "judge.stats.diagnostics",
    "cohen_kappa": "judge.stats.agreement",
    "disagreement": "judge.stats.diagnostics",
    "fleiss_kappa": "judge.stats.agreement",
    "gwet_ac1": "judge.stats.agreement",
    "judge_diagnostics": "judge.stats.diagnostics",
    "kendall_tau_b": "judge.stats.agreement",
    "krippendorff_alpha": "judge.stats.agreement",
    "Manifest": "judge.core.records",
    "Plan": "judge.engine.plan",
    "Run": "judge.core.records",
    "Summary": "judge.core.records",
    "VerdictRow": "judge.core.records",
    "evaluate": "judge.engine.session",
    "evaluate_async": "judge.engine.session",
    "export_table": "judge.store.export",
    "read_run": "judge.store.reader",
    "load_rubric": "judge.inputs.rubrics",
    "load_verdicts": "judge.store.rundir",
    "open_dataset": "judge.inputs.dataset",
    "panel_scores": "judge.stats.scores",
    "percent_agreement": "judge.stats.agreement",
    "rubric_agreement": "judge.stats.scores",
    "spearman_rho": "judge.stats.agreement",
}

__all__ = sorted([*_EXPORTS, "__version__"])


def __getattr__(name: str) -> Any:
    module = _EXPORTS.get(name)
    if module is None:
        raise AttributeError(f"module 'judge' has no attribute {name!r}")
    value = getattr(importlib.import_module(module), name)
    globals()[name] = value
    return value


def __dir__() -> list[str]:
    return __all__
