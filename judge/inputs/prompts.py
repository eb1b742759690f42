"""Prompt templates: turn a rubric and a dataset item into chat messages.

A template is ``prompts/<name>.yaml`` with a ``system`` and a ``user`` string. Placeholders are
``{{ name }}``; only the names in ``VARIABLES`` exist, and an unknown or missing one is an error
that names the file. Task norms (what counts as a failure in news, translation, counselling...)
come from ``prompts/task_norms.yaml``.

Judged text is data, never instructions: source, reference and response go inside delimited
blocks, and delimiter look-alikes in the text are neutralised first, so a response cannot close
its block and speak to the judge.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml

from judge.core.errors import RubricError, TemplateError, did_you_mean
from judge.core.hashing import content_hash
from judge.inputs.rubrics import Rubric

_PLACEHOLDER = re.compile(r"\{\{\s*([A-Za-z_][A-Za-z0-9_]*)\s*\}\}")
# Runs of two or more angle brackets (ASCII or full-width) could imitate a block delimiter.
_ANGLE_RUNS = re.compile(r"[<＜]{2,}|[>＞]{2,}")

VARIABLES = {
    "task": "the item's task (news, translation, counselling, workplace, education)",
    "task_norms": "what the task's norms say counts as a failure",
    "dimension": "the item's empathy dimension",
    "title": "the rubric title",
    "mechanism": "the mechanism id",
    "definition": "the rubric's definition of the mechanism",
    "instructions": "the rubric's scoring instructions",
    "scale": "the rubric's scale, rendered level by level",
    "schema": "the verdict JSON Schema, as JSON text",
    "source": "the source text, in a SOURCE block",
    "reference": "the reference text in a REFERENCE block, or a note that there is none",
    "response": "the judged response, in a RESPONSE block",
    "baseline_sentences": "the reference (or source) split into numbered sentences, in a block",
    "response_sentences": "the response split into numbered sentences, in a block",
}
REQUIRED_VARIABLES = ("response",)
NO_REFERENCE = "(No reference text was given: compare the response with the source.)"


@dataclass(frozen=True)
class PromptTemplate:
    name: str
    system: str
    user: str
    path: Path
    hash: str

    def variables(self) -> set[str]:
        return set(_PLACEHOLDER.findall(self.system)) | set(_PLACEHOLDER.findall(self.user))


def neutralise(text: str) -> str:
    """Replace delimiter look-alikes so dataset text cannot open or close a block."""
    return _ANGLE_RUNS.sub(lambda m: "‹" * len(m.group()) if m.group()[0] in "<＜" else "›" * len(m.group()), text)


def block(label: str, text: str) -> str:
    return f"<<<{label}>>>\n{neutralise(text)}\n<<<END {label}>>>"


def numbered_block(label: str, sentences: list[str]) -> str:
    lines = [f"[{i}] {neutralise(s)}" for i, s in enumerate(sentences, 1)]
    return f"<<<{label}>>>\n" + ("\n".join(lines) if lines else "(no sentences)") + f"\n<<<END {label}>>>"


def render_scale(scale: dict[str, Any]) -> str:
    parts = [f"Scale type: {scale['type']}"]
    if "min" in scale and "max" in scale:
        parts[0] += f", from {scale['min']} to {scale['max']}"
    for key in ("levels", "anchors"):
        for level, text in (scale.get(key) or {}).items():
            parts.append(f"- {level}: {str(text).strip()}")
    return "\n".join(parts)


class PromptLibrary:
    """Loads templates and task norms from a prompts folder, once per run."""

    def __init__(self, root: Path) -> None:
        self.root = root
        self._templates: dict[str, PromptTemplate] = {}
        self._schema_text: dict[str, str] = {}
        self.task_norms = self._load_norms()

    def _load_norms(self) -> dict[str, str]:
        path = self.root / "task_norms.yaml"
        if not path.exists():
            return {}
        data = _read_yaml(path)
        if not isinstance(data, dict) or not all(isinstance(v, str) for v in data.values()):
            raise TemplateError(f"{path}: must map each task name to a paragraph of norms")
        return {str(k): v for k, v in data.items()}

    def template(self, name: str) -> PromptTemplate:
        if name not in self._templates:
            self._templates[name] = self._load(name)
        return self._templates[name]

    def _load(self, name: str) -> PromptTemplate:
        path = self.root / f"{name}.yaml"
        if not path.exists():
            have = sorted(p.stem for p in self.root.glob("*.yaml") if p.stem != "task_norms")
            raise RubricError(
                f"prompt template '{name}' not found in {self.root}{did_you_mean(name, have)}; "
                f"available: {', '.join(have)}"
            )
        data = _read_yaml(path)
        if not isinstance(data, dict):
            raise TemplateError(f"{path}: must be a mapping with 'system' and 'user' strings")
        for key in data:
            if key not in ("system", "user", "description"):
                raise TemplateError(f"{path}: unknown key '{key}'{did_you_mean(str(key), ('system', 'user'))}")
        for key in ("system", "user"):
            if not isinstance(data.get(key), str) or not data[key].strip():
                raise TemplateError(f"{path}: '{key}' must be a non-empty string")
        tpl = PromptTemplate(
            name=name,
            system=data["system"],
            user=data["user"],
            path=path,
            hash=content_hash({"system": data["system"], "user": data["user"], "task_norms": self.task_norms}),
        )
        used = tpl.variables()
        for var in sorted(used):
            if var not in VARIABLES:
                raise TemplateError(
                    f"{path}: unknown template variable '{{{{ {var} }}}}'{did_you_mean(var, VARIABLES)}; "
                    f"known: {', '.join(sorted(VARIABLES))}"
                )
        missing = [v for v in REQUIRED_VARIABLES if v not in used]
        if missing:
            raise TemplateError(
                f"{path}: template never uses {', '.join('{{ ' + m + ' }}' for m in missing)}; "
                "the judge would not see the response"
            )
        return tpl

    def prompt_hash(self, rubric: Rubric) -> str:
        return self.template(rubric.prompt).hash

    def render(self, rubric: Rubric, item: Any) -> list[dict[str, str]]:
        """Render ``rubric`` for ``item`` (a dataset Item) into system and user messages."""
        tpl = self.template(rubric.prompt)
        used = tpl.variables()
        values = {name: self._value(name, rubric, item) for name in used}

        def fill(text: str) -> str:
            return _PLACEHOLDER.sub(lambda m: values[m.group(1)], text)

        return [
            {"role": "system", "content": fill(tpl.system).strip()},
            {"role": "user", "content": fill(tpl.user).strip()},
        ]

    def _value(self, name: str, rubric: Rubric, item: Any) -> str:
        if name == "task":
            return item.task
        if name == "task_norms":
            return self.task_norms.get(item.task, self.task_norms.get("default", "")).strip()
        if name == "dimension":
            return item.dimension
        if name in ("title", "mechanism", "definition", "instructions"):
            return str(getattr(rubric, name)).strip()
        if name == "scale":
            return render_scale(rubric.scale)
        if name == "schema":
            # The same text for every item: rendered once per rubric (it costs ~0.1 ms a call).
            text = self._schema_text.get(rubric.hash)
            if text is None:
                text = self._schema_text[rubric.hash] = json.dumps(rubric.schema, indent=1, sort_keys=True)
            return text
        if name == "source":
            return block("SOURCE", item.source)
        if name == "reference":
            return block("REFERENCE", item.reference) if item.reference else NO_REFERENCE
        if name == "response":
            return block("RESPONSE", item.response)
        if name in ("baseline_sentences", "response_sentences"):
            from judge.core.text import split_sentences

            text = item.response if name == "response_sentences" else (item.reference or item.source)
            label = "RESPONSE SENTENCES" if name == "response_sentences" else "BASELINE SENTENCES"
            return numbered_block(label, split_sentences(text))
        raise TemplateError(f"template variable '{name}' has no value")  # guarded by _load


def _read_yaml(path: Path) -> Any:
    try:
        return yaml.safe_load(path.read_text(encoding="utf-8"))
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        where = f" line {mark.line + 1}" if mark else ""
        raise TemplateError(f"{path}:{where} invalid YAML ({getattr(exc, 'problem', exc)})") from None
    except UnicodeDecodeError:
        raise TemplateError(f"{path}: not valid UTF-8; save it as UTF-8") from None
