"""Where the rubrics, prompts and sample dataset live, in a checkout and in an installed wheel."""

from __future__ import annotations

from pathlib import Path

PACKAGE_DIR = Path(__file__).resolve().parent.parent  # judge/, not judge/core/


def _resource_dir(name: str) -> Path:
    # A checkout (or editable install) has the folder at the repository root; a wheel carries a
    # copy under judge/_bundled (see pyproject's force-include).
    for candidate in (PACKAGE_DIR.parent / name, PACKAGE_DIR / "_bundled" / name):
        if candidate.is_dir():
            return candidate
    return PACKAGE_DIR.parent / name


def rubrics_dir() -> Path:
    return _resource_dir("rubrics")


def prompts_dir() -> Path:
    return _resource_dir("prompts")


def sample_dataset() -> Path:
    return PACKAGE_DIR / "data" / "sample.jsonl"


def default_runs_dir() -> Path:
    return Path("runs")
