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


# The datasets that ship with the package, by the name ``--dataset`` (and a config's ``dataset:``)
# accepts in place of a path: the caricature sample set and the realistic set (see their datasheets).
BUNDLED_DATASETS = {"sample": "sample.jsonl", "realistic": "realistic.jsonl"}


def dataset_path(given: str | Path, base: Path | None = None) -> Path:
    """``given`` as a dataset path, relative to ``base`` when given (a config file's folder): a
    bundled set's bare name (``sample``, ``realistic``) is that set's file, unless a file of that
    name exists there (a file always wins, so a name never hides one)."""
    path = Path(given) if base is None else base / given
    if str(given) in BUNDLED_DATASETS and not path.is_file():
        return PACKAGE_DIR / "data" / BUNDLED_DATASETS[str(given)]
    return path


def default_runs_dir() -> Path:
    return Path("runs")
