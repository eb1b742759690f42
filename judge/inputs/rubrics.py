"""Rubric files: load, validate, select and hash them.

A rubric is one YAML file, ``rubrics/<id>/v<N>.yaml``. It names its mechanism, family and
dimensions, its scale, the prompt template that renders it, the JSON Schema its verdicts must match,
and how a valid verdict maps to the normalised severity in [0, 1] the pipeline aggregates.

The schema is written out, or refers to a version of the family's declared verdict schema
(``schema: graded@2``; see ``judge.core.mechanisms``), which the loader expands. Mechanisms,
families and severity mapping kinds are looked up in their registries in ``judge.core``.

The rubric hash covers the rubric's parsed content with the schema expanded, so a rubric that
refers to a schema hashes exactly as one that writes the same schema out; the prompt hash (see
``prompts.py``) covers the template it renders through. Both are stored on every verdict and key
the response cache.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

from judge.core import paths
from judge.core.errors import RubricError, did_you_mean
from judge.core.hashing import content_hash
from judge.core.mechanisms import AMPLIFICATION_FIELD, EVIDENCE_FIELD, contract, family_ids, mechanism_ids
from judge.core.severity import FIELD_KEYS, severity_kind, severity_kind_names
from judge.core.taxonomy import DIMENSIONS, NOT_APPLICABLE, TASK_DIMENSIONS

INVALID_POLICIES = ("none", "repair", "reask")

_REQUIRED = (
    "id",
    "version",
    "mechanism",
    "family",
    "title",
    "dimensions",
    "prompt",
    "definition",
    "scale",
    "schema",
    "severity",
)
_OPTIONAL = (
    "description",
    "tasks",
    "instructions",
    "amplification",
    "evidence",
    "calls",
    "opt_in",
    "strict",
    "on_invalid",
    "max_tokens",
    "notes",
)
# evidence: what an unfound quote does. record: the verdict keeps its status and records the share
# of quotes found; require_found: a verdict with an unfound quote is invalid.
EVIDENCE_POLICIES = ("record", "require_found")
# calls: per_item sends one call per item; per_sentence one call per numbered sentence of each
# text, assembled into one verdict (only for contracts that declare a per-sentence verdict).
CALL_MODES = ("per_item", "per_sentence")
_AMPLIFICATION_KEYS = ("field", "min", "max", "definition", "levels")
_SCALE_KEYS = ("type", "min", "max", "levels", "anchors")
_SCHEMA_REF = re.compile(r"^([a-z][a-z0-9_-]*)@(\d+)$")
_ID_RE = re.compile(r"^[a-z][a-z0-9-]*$")
_FILE_RE = re.compile(r"^v(\d+)\.ya?ml$")


@dataclass(frozen=True)
class Rubric:
    id: str
    version: int
    mechanism: str
    family: str
    title: str
    dimensions: tuple[str, ...]
    prompt: str
    definition: str
    scale: dict[str, Any]
    schema: dict[str, Any]
    severity: dict[str, Any]
    path: Path
    hash: str
    description: str = ""
    tasks: tuple[str, ...] = ()
    instructions: str = ""
    strict: bool = False
    on_invalid: dict[str, Any] = field(default_factory=lambda: {"policy": "none"})
    max_tokens: int | None = None
    # The opposite error's scale (field, min, max, definition, levels); None without one.
    amplification: dict[str, Any] | None = None
    evidence: str = "record"
    calls: str = "per_item"
    opt_in: bool = False  # never chosen as the latest version; select it as id@version

    @property
    def ref(self) -> str:
        return f"{self.id}@{self.version}"

    def applies_to(self, task: str, dimension: str) -> bool:
        return self.not_applicable(task, dimension) is None

    def not_applicable(self, task: str, dimension: str) -> str | None:
        """Why this rubric does not apply to an item of this task and dimension; None when it does."""
        if self.tasks and task not in self.tasks:
            return f"{NOT_APPLICABLE}: {self.ref} applies to tasks {', '.join(self.tasks)}, not {task}"
        if dimension not in self.dimensions:
            return f"{NOT_APPLICABLE}: {self.ref} applies to dimensions {', '.join(self.dimensions)}, not {dimension}"
        return None


def _fail(path: Path, where: str, message: str) -> RubricError:
    return RubricError(f"{path}: {where}: {message}" if where else f"{path}: {message}")


def _check_keys(path: Path, where: str, data: dict[str, Any], allowed: tuple[str, ...]) -> None:
    for key in data:
        if key not in allowed:
            hint = did_you_mean(str(key), allowed)
            raise _fail(path, where, f"unknown key '{key}'{hint}; allowed: {', '.join(allowed)}")


_SAFE_LOADER = getattr(yaml, "CSafeLoader", yaml.SafeLoader)


def _load_yaml(path: Path) -> Any:
    try:
        text = path.read_text(encoding="utf-8")
    except UnicodeDecodeError as exc:
        raise _fail(path, "", f"not valid UTF-8 (byte {exc.start}); save it as UTF-8") from None
    try:
        # libyaml's loader when present: same safe tags, about 10x faster (rubrics list, every run).
        return yaml.load(text, Loader=_SAFE_LOADER)
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        where = f"line {mark.line + 1}, column {mark.column + 1}" if mark else ""
        problem = getattr(exc, "problem", None) or str(exc)
        raise _fail(path, where, f"invalid YAML ({problem}); fix the syntax there") from None


def _check_schema(path: Path, schema: Any) -> None:
    import jsonschema

    if not isinstance(schema, dict) or schema.get("type") != "object":
        raise _fail(path, "schema", 'must be a JSON Schema object with "type": "object"')
    try:
        jsonschema.Draft202012Validator.check_schema(schema)
    except jsonschema.SchemaError as exc:
        loc = "/".join(str(p) for p in exc.absolute_path) or "(root)"
        raise _fail(path, f"schema.{loc}", f"not a valid JSON Schema: {exc.message}") from None


def _check_severity(path: Path, mapping: Any, schema: dict[str, Any]) -> None:
    kinds = severity_kind_names()
    if not isinstance(mapping, dict) or "kind" not in mapping:
        raise _fail(path, "severity", f"needs a 'kind', one of {', '.join(kinds)}")
    name = mapping["kind"]
    try:
        kind = severity_kind(name)
    except (KeyError, TypeError):
        raise _fail(path, "severity.kind", f"unknown kind '{name}'{did_you_mean(str(name), kinds)}") from None
    _check_keys(path, "severity", mapping, ("kind", *kind.required, *kind.optional))
    props = schema.get("properties", {})
    for key in kind.required:
        if key not in mapping:
            raise _fail(path, f"severity.{key}", f"missing; kind '{name}' needs {', '.join(kind.required)}")
        if key in FIELD_KEYS and mapping[key] not in props:
            raise _fail(
                path,
                f"severity.{key}",
                f"'{mapping[key]}' is not a property of the verdict schema ({', '.join(props)})",
            )
    problem = kind.check(mapping) if kind.check is not None else None
    if problem:
        raise _fail(path, "severity", problem)


def _check_amplification(path: Path, data: dict[str, Any]) -> dict[str, Any] | None:
    """The rubric's amplification scale: required exactly when the verdict schema has the field."""
    block = data.get("amplification")
    props = data["schema"].get("properties", {})
    if block is None:
        if AMPLIFICATION_FIELD in props:
            raise _fail(path, "amplification", f"the verdict schema has an '{AMPLIFICATION_FIELD}' field: describe "
                        f"its scale here ({', '.join(_AMPLIFICATION_KEYS)})")  # fmt: skip
        return None
    if not isinstance(block, dict):
        raise _fail(path, "amplification", f"must be a mapping with {', '.join(_AMPLIFICATION_KEYS)}")
    _check_keys(path, "amplification", block, _AMPLIFICATION_KEYS)
    for key in _AMPLIFICATION_KEYS:
        if key not in block:
            raise _fail(path, f"amplification.{key}", "missing required field")
    if block["field"] not in props:
        raise _fail(path, "amplification.field", f"'{block['field']}' is not a property of the verdict schema")
    lo, hi = block["min"], block["max"]
    if not all(isinstance(v, int) and not isinstance(v, bool) for v in (lo, hi)) or hi <= lo:
        raise _fail(path, "amplification", "min and max must be integers with max > min")
    levels = block["levels"]
    if not isinstance(levels, dict) or {int(k) for k in levels if str(k).isdigit()} != set(range(lo, hi + 1)):
        raise _fail(path, "amplification.levels", f"must describe every level from {lo} to {hi}")
    if not isinstance(block["definition"], str) or not block["definition"].strip():
        raise _fail(path, "amplification.definition", "must be a non-empty string")
    return dict(block)


def _resolve_schema(path: Path, data: dict[str, Any]) -> Any:
    """The verdict schema: as written, or the family's declared one a reference such as
    ``graded@2`` names (a fresh copy, expanded before hashing)."""
    ref = data["schema"]
    if not isinstance(ref, str):
        return ref
    match = _SCHEMA_REF.match(ref.strip())
    if not match:
        raise _fail(path, "schema", f"'{ref}' must be a JSON Schema mapping or a reference such as graded@2")
    fam, version = match.group(1), int(match.group(2))
    if fam != data["family"]:
        raise _fail(path, "schema", f"'{ref}' is a {fam} schema; this rubric's family is {data['family']}")
    found = contract(fam, data["mechanism"])
    if found is None:
        raise _fail(path, "schema", f"family {fam} declares no verdict schema for {data['mechanism']}")
    if version not in found.schemas:
        have = ", ".join(f"{fam}@{v}" for v in sorted(found.schemas))
        raise _fail(path, "schema", f"unknown version '{ref}'; declared: {have}")
    return found.schema(version)


def load_rubric(path: Path) -> Rubric:
    """Parse and validate one rubric file; every problem names the file and the field."""
    data = _load_yaml(path)
    if not isinstance(data, dict):
        raise _fail(path, "", "must be a YAML mapping of rubric fields")
    _check_keys(path, "", data, _REQUIRED + _OPTIONAL)
    for key in _REQUIRED:
        if key not in data:
            raise _fail(path, key, "missing required field")
    rid, version = data["id"], data["version"]
    if not isinstance(rid, str) or not _ID_RE.match(rid):
        raise _fail(path, "id", f"'{rid}' must be lower-case letters, digits and dashes")
    if not isinstance(version, int) or isinstance(version, bool) or version < 1:
        raise _fail(path, "version", f"'{version}' must be a positive integer")
    match = _FILE_RE.match(path.name)
    if not match:
        raise _fail(path, "", f"a rubric file is named after its version; rename it to v{version}.yaml")
    if path.parent.name != rid:
        raise _fail(path, "id", f"'{rid}', but the file is in the folder '{path.parent.name}'; set `id:` to "
                                f"{path.parent.name} or move the file to {rid}/v{version}.yaml")  # fmt: skip
    if int(match.group(1)) != version:
        raise _fail(path, "version", f"{version}, but the file is {path.name}; bump `version:` to {match.group(1)} "
                                     f"or move the file to {rid}/v{version}.yaml")  # fmt: skip
    mechanisms, families = mechanism_ids(), family_ids()
    if data["mechanism"] not in mechanisms:
        hint = did_you_mean(str(data["mechanism"]), mechanisms)
        raise _fail(path, "mechanism", f"unknown mechanism '{data['mechanism']}'{hint}")
    if data["family"] not in families:
        hint = did_you_mean(str(data["family"]), families)
        raise _fail(path, "family", f"'{data['family']}'{hint} must be one of {', '.join(families)}")
    dims = data["dimensions"]
    if not isinstance(dims, list) or not dims:
        raise _fail(path, "dimensions", f"must be a non-empty list drawn from {', '.join(DIMENSIONS)}")
    for dim in dims:
        if dim not in DIMENSIONS:
            raise _fail(path, "dimensions", f"unknown dimension '{dim}'{did_you_mean(str(dim), DIMENSIONS)}")
    scale = data["scale"]
    if not isinstance(scale, dict) or "type" not in scale:
        raise _fail(path, "scale", "must be a mapping with at least 'type'")
    _check_keys(path, "scale", scale, _SCALE_KEYS)
    data = {**data, "schema": _resolve_schema(path, data)}
    _check_schema(path, data["schema"])
    _check_severity(path, data["severity"], data["schema"])
    on_invalid = data.get("on_invalid", {"policy": "none"})
    if not isinstance(on_invalid, dict) or on_invalid.get("policy") not in INVALID_POLICIES:
        raise _fail(path, "on_invalid.policy", f"must be one of {', '.join(INVALID_POLICIES)}")
    _check_keys(path, "on_invalid", on_invalid, ("policy", "max_reasks"))
    reasks = on_invalid.get("max_reasks", 1)
    if isinstance(reasks, bool) or not isinstance(reasks, int) or not 1 <= reasks <= 3:
        # Each re-ask is a billed call; more than a few only pays for a judge that cannot comply.
        raise _fail(path, "on_invalid.max_reasks", f"{reasks!r} must be an integer from 1 to 3")
    for key in ("prompt", "definition", "title"):
        if not isinstance(data[key], str) or not data[key].strip():
            raise _fail(path, key, "must be a non-empty string")
    max_tokens = data.get("max_tokens")
    if max_tokens is not None and (not isinstance(max_tokens, int) or max_tokens < 16):
        raise _fail(path, "max_tokens", f"'{max_tokens}' must be an integer >= 16")
    tasks = data.get("tasks", [])
    if not isinstance(tasks, list) or not all(isinstance(t, str) and t.strip() for t in tasks):
        raise _fail(path, "tasks", "must be a list of task names (the tasks the rubric applies to)")
    for task in tasks:
        # Other task names are allowed (datasets may bring their own), but a near miss of a known
        # one is a typo that would silently skip every item of that task.
        hint = did_you_mean(task, TASK_DIMENSIONS) if task not in TASK_DIMENSIONS else ""
        if hint:
            raise _fail(path, "tasks", f"unknown task '{task}'{hint}")
    amplification = _check_amplification(path, data)
    evidence = data.get("evidence", "record")
    if evidence not in EVIDENCE_POLICIES:
        hint = did_you_mean(str(evidence), EVIDENCE_POLICIES)
        raise _fail(path, "evidence", f"'{evidence}'{hint} must be one of {', '.join(EVIDENCE_POLICIES)}")
    if evidence != "record" and EVIDENCE_FIELD not in data["schema"].get("properties", {}):
        raise _fail(path, "evidence", f"'{evidence}' needs an '{EVIDENCE_FIELD}' field in the verdict schema")
    calls = data.get("calls", "per_item")
    if calls not in CALL_MODES:
        hint = did_you_mean(str(calls), CALL_MODES)
        raise _fail(path, "calls", f"'{calls}'{hint} must be one of {', '.join(CALL_MODES)}")
    if calls == "per_sentence":
        found = contract(data["family"], data["mechanism"])
        if found is None or found.sentence_schema is None:
            raise _fail(path, "calls", f"{data['family']} {data['mechanism']} verdicts have no per-sentence form; "
                        "use per_item")  # fmt: skip
    opt_in = data.get("opt_in", False)
    if not isinstance(opt_in, bool):
        raise _fail(path, "opt_in", f"'{opt_in}' must be true or false")
    return Rubric(
        id=rid,
        version=version,
        mechanism=data["mechanism"],
        family=data["family"],
        title=data["title"],
        dimensions=tuple(dims),
        prompt=data["prompt"],
        definition=data["definition"],
        scale=scale,
        schema=data["schema"],
        severity=data["severity"],
        path=path,
        hash=content_hash(data),
        description=data.get("description", ""),
        tasks=tuple(tasks),
        instructions=data.get("instructions", ""),
        strict=bool(data.get("strict", False)),
        on_invalid=on_invalid,
        max_tokens=max_tokens,
        amplification=amplification,
        evidence=evidence,
        calls=calls,
        opt_in=opt_in,
    )


Roots = Path | Sequence[Path]


def rubric_roots(extra: str | Path | None = None) -> list[Path]:
    """Where rubrics are found: the built-in folder, and ``extra`` (``--rubrics-dir``) on top of it."""
    builtin = paths.rubrics_dir()
    if extra is None or Path(extra).resolve() == builtin.resolve():
        return [builtin]
    return [builtin, Path(extra)]


def discover(roots: Roots) -> dict[str, dict[int, Path]]:
    """Map rubric id -> version -> file, from the folder layout alone (no parsing). With several
    roots, each adds its rubrics; one id and version in two files is an error naming both."""
    found: dict[str, dict[int, Path]] = {}
    for root in [roots] if isinstance(roots, Path) else roots:
        if not root.is_dir():
            raise RubricError(f"{root}: rubric folder not found; check --rubrics-dir (a folder of <id>/v<N>.yaml)")
        for path in sorted(root.glob("*/v*.y*ml")):
            match = _FILE_RE.match(path.name)
            if not match:
                continue
            versions = found.setdefault(path.parent.name, {})
            version = int(match.group(1))
            if version in versions:
                free = max(versions) + 1
                raise RubricError(
                    f"rubric {path.parent.name}@{version} is defined twice: {versions[version]} and {path}; a rubric "
                    f"added with --rubrics-dir needs its own id or version (bump `version:` to {free} and name the "
                    f"file v{free}.yaml)"
                )
            versions[version] = path
    return found


def bump_version(text: str, version: int) -> str:
    """A rubric file's text with its ``version:`` line set to ``version`` (comments and layout kept)."""
    new, count = re.subn(r"(?m)^version:[ \t]*\d+", f"version: {version}", text, count=1)
    if not count:
        raise RubricError(f"no top-level `version:` line to bump (want version {version})")
    return new


def parse_selector(text: str) -> tuple[str, int | None]:
    """'sa-graded' -> ('sa-graded', None); 'sa-graded@2' -> ('sa-graded', 2)."""
    rid, _, version = text.partition("@")
    if version and not version.lstrip("v").isdigit():
        raise RubricError(f"rubric '{text}': version must be a number, as in {rid}@2")
    return rid, int(version.lstrip("v")) if version else None


def select(roots: Roots, selectors: list[str] | None = None) -> list[Rubric]:
    """Load the selected rubrics (latest version of each when no version is given); several
    versions of one rubric may be selected together (``sa-graded@2``, ``sa-graded@3``).

    With no selectors, the latest version of every rubric under ``roots``.
    """
    found = discover(roots)
    wanted = selectors or sorted(found)
    rubrics: list[Rubric] = []
    for text in wanted:
        rid, version = parse_selector(text)
        if rid not in found:
            raise RubricError(
                f"unknown rubric '{rid}'{did_you_mean(rid, found)}; available: {', '.join(sorted(found)) or '(none)'}"
            )
        versions = found[rid]
        if version is None:
            rubric = _latest(rid, versions)
        elif version not in versions:
            have = ", ".join(f"{rid}@{v}" for v in sorted(versions))
            raise RubricError(f"unknown version {rid}@{version}; available: {have}")
        else:
            rubric = load_rubric(versions[version])
        # Several versions of one rubric may share a run (rubric iteration); one version twice
        # would judge every item twice under one key.
        if any(r.ref == rubric.ref for r in rubrics):
            raise RubricError(f"rubric '{rubric.ref}' selected twice; give each version once")
        rubrics.append(rubric)
    return rubrics


def _latest(rid: str, versions: dict[int, Path]) -> Rubric:
    """The highest version that is not opt-in (opt-in versions are chosen only by number)."""
    for version in sorted(versions, reverse=True):
        rubric = load_rubric(versions[version])
        if not rubric.opt_in:
            return rubric
    raise RubricError(f"every version of rubric '{rid}' is opt-in; name one, as in {rid}@{max(versions)}")


def load_all(roots: Roots) -> list[Rubric]:
    """Every version of every rubric, for ``rubrics list`` and ``rubrics validate``."""
    return [load_rubric(path) for versions in discover(roots).values() for path in versions.values()]
