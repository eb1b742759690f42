"""The dependency rule between the package's stages, checked from the source.

Lower stages never import higher ones, and nothing imports the CLI. Imports inside functions count
too: a lazy import is still a dependency. The rule (each stage and what it may import):

    core      -
    inputs    core
    store     core
    stats     core
    offline   core, inputs
    judging   core, inputs, offline
    report    core, inputs, store, stats
    annotate  core, inputs, report
    engine    core, inputs, offline, judging, store, stats, report
    cli       everything

``judge/__init__.py`` (the public API, loaded lazily) and ``judge/__main__.py`` sit above all.
"""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

PACKAGE = Path(__file__).resolve().parents[1] / "judge"
ALLOWED: dict[str, set[str]] = {
    "core": set(),
    "inputs": {"core"},
    "store": {"core"},
    "stats": {"core"},
    "offline": {"core", "inputs"},
    "judging": {"core", "inputs", "offline"},
    "report": {"core", "inputs", "store", "stats"},
    "annotate": {"core", "inputs", "report"},
    "engine": {"core", "inputs", "offline", "judging", "store", "stats", "report"},
    "cli": {"core", "inputs", "offline", "judging", "store", "stats", "report", "annotate", "engine", "api"},
}


# Crossings that exist today and are being removed; this list may only shrink.
KNOWN_VIOLATIONS: set[tuple[str, str]] = set()


def _stage_of(module: str) -> str | None:
    parts = module.split(".")
    if parts[0] != "judge":
        return None
    return parts[1] if len(parts) > 1 else "judge"


def _imports(path: Path) -> list[tuple[int, str]]:
    tree = ast.parse(path.read_text(encoding="utf-8"), filename=str(path))
    found = []
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            found += [(node.lineno, alias.name) for alias in node.names]
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            if node.module == "judge":  # "from judge import x" names a stage or a public name
                found += [(node.lineno, f"judge.{alias.name}") for alias in node.names]
            else:
                found.append((node.lineno, node.module))
    return found


def _modules() -> list[Path]:
    return sorted(p for p in PACKAGE.rglob("*.py") if p.parent != PACKAGE)


def test_every_module_lives_in_a_stage() -> None:
    loose = sorted(p.name for p in PACKAGE.glob("*.py") if p.name not in ("__init__.py", "__main__.py", "api.py"))
    assert loose == [], f"modules outside a stage sub-package: {loose}"
    stages = {p.parent.relative_to(PACKAGE).parts[0] for p in _modules() if p.suffix == ".py"}
    assert stages - {"data", "_bundled"} <= set(ALLOWED), f"unknown stages: {stages - set(ALLOWED)}"


@pytest.mark.parametrize("path", _modules(), ids=lambda p: str(p.relative_to(PACKAGE)))
def test_stage_imports_only_lower_stages(path: Path) -> None:
    stage = path.relative_to(PACKAGE).parts[0]
    bad = []
    for line, module in _imports(path):
        target = _stage_of(module)
        if target is None or target == stage:
            continue
        if target == "__version__":  # the one version source, importable from anywhere
            continue
        if (str(path.relative_to(PACKAGE)), module) in KNOWN_VIOLATIONS:
            continue
        if target not in ALLOWED[stage]:
            bad.append(f"line {line}: {module}")
    assert not bad, f"{path.relative_to(PACKAGE)} ({stage}) imports a stage it may not: {bad}"


def test_nothing_imports_the_cli() -> None:
    users = [
        f"{p.relative_to(PACKAGE)}:{line}"
        for p in _modules()
        if p.relative_to(PACKAGE).parts[0] != "cli"
        for line, module in _imports(p)
        if _stage_of(module) == "cli"
    ]
    assert users == []
