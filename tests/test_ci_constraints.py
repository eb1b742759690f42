""".ci/constraints.txt pins every package CI installs; it must keep up with pyproject.toml.

CI installs with ``-c .ci/constraints.txt`` (unpinned, the ``inspect`` extra's dependencies sent
pip backtracking until it gave up after 20 minutes). A dependency added to pyproject.toml without
a pin there would be resolved afresh on CI, and a pin that no longer satisfies pyproject's range
would make the install fail: both are caught here, before CI.
"""

from __future__ import annotations

import tomllib
from pathlib import Path

from packaging.requirements import Requirement
from packaging.utils import canonicalize_name

ROOT = Path(__file__).resolve().parent.parent
CI_EXTRAS = ("test", "inspect", "pandas")  # what .ci/run installs


def pins() -> dict[str, str]:
    found: dict[str, str] = {}
    for line in (ROOT / ".ci" / "constraints.txt").read_text(encoding="utf-8").splitlines():
        line = line.split("#", 1)[0].strip()
        if line:
            name, _, version = line.partition("==")
            # `name @ file:///...` (what pip freeze writes for a wheel installed from disk) names a
            # file CI does not have: vaderSentiment was pinned that way and would have failed CI.
            assert version, f".ci/constraints.txt: '{line}' is not an exact pin; write it as name==version"
            found[canonicalize_name(name)] = version
    return found


def test_ci_runs_with_the_constraints_file() -> None:
    assert "-c .ci/constraints.txt" in (ROOT / ".ci" / "run").read_text(encoding="utf-8")


def test_every_dependency_ci_installs_is_pinned_within_its_range() -> None:
    project = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))["project"]
    wanted = [*project["dependencies"], *(r for extra in CI_EXTRAS for r in project["optional-dependencies"][extra])]
    pinned = pins()
    problems = []
    for text in wanted:
        req = Requirement(text)
        version = pinned.get(canonicalize_name(req.name))
        if version is None:
            problems.append(f"{req.name}: not pinned")
        elif not req.specifier.contains(version, prereleases=True):
            problems.append(f"{req.name}=={version} is outside pyproject's '{req.specifier}'")
    assert not problems, (
        "; ".join(problems) + ". Refresh it: pip freeze --exclude-editable > .ci/constraints.txt, then run .ci/run"
    )
