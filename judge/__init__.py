"""empathy-judge: LLM-as-judge evaluation of empathy failure mechanisms.

The public names below are loaded on first use (PEP 562), so ``import judge`` and the CLI's
start-up stay free of polars, numpy and LiteLLM.
"""

from __future__ import annotations

import importlib
from typing import Any

__version__ = "0.1.0"

_EXPORTS = {
    "Agreement": "judge.agreement",
    "CallContext": "judge.judges",
    "Completion": "judge.judges",
    "Dataset": "judge.dataset",
    "Item": "judge.dataset",
    "Judge": "judge.judges",
    "JudgeConfig": "judge.config",
    "JudgeError": "judge.errors",
    "Rubric": "judge.rubrics",
    "calibration": "judge.diagnostics",
    "cohen_kappa": "judge.agreement",
    "disagreement": "judge.diagnostics",
    "fleiss_kappa": "judge.agreement",
    "gwet_ac1": "judge.agreement",
    "judge_diagnostics": "judge.diagnostics",
    "kendall_tau_b": "judge.agreement",
    "krippendorff_alpha": "judge.agreement",
    "load_rubric": "judge.rubrics",
    "load_verdicts": "judge.store",
    "open_dataset": "judge.dataset",
    "panel_scores": "judge.scores",
    "percent_agreement": "judge.agreement",
    "rubric_agreement": "judge.scores",
    "spearman_rho": "judge.agreement",
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
