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
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

from judge.core.errors import RubricError, TemplateError, did_you_mean
from judge.core.hashing import content_hash
from judge.inputs.rubrics import Rubric

_PLACEHOLDER = re.compile(r"\{\{\s*([A-Za-z_][A-Za-z0-9_]*)\s*\}\}")
# Runs of two or more angle brackets (ASCII or full-width) could imitate a block delimiter.
_ANGLE_RUNS = re.compile(r"[<＜]{2,}|[>＞]{2,}")

# Variables that hold an item's own texts (or a sentence of them): a text using any of them differs
# for every item, so its filled form is not kept.
_ITEM_VARIABLES = frozenset(
    {"source", "reference", "response", "baseline_sentences", "response_sentences", "sentence", "sentence_side"}
)
_MAX_FILLED = 512

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
    "amplification": "the rubric's amplification scale (the opposite error), definition and levels",
    "disambiguation": "the rule set that says which textual change belongs to which mechanism",
    "abstention": "when a judge abstains instead of judging, and how",
    "sentence": "one numbered sentence in a SENTENCE block (per-sentence calls)",
    "sentence_side": "which text the sentence comes from: the baseline or the response",
}
# Variables whose text comes from the template's rules file (``rules:`` in the template).
RULE_VARIABLES = ("disambiguation", "abstention")
REQUIRED_VARIABLES = (("response", "response_sentences", "sentence"),)  # each: one of these
NORMS = "task_norms"  # the default task norms file, for templates that name none
_FILE_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.-]*$")
# Files in the prompts folder that are not templates.
_NOT_TEMPLATES = ("task_norms", "disambiguation")
NO_REFERENCE = "(No reference text was given: compare the response with the source.)"


@dataclass(frozen=True)
class PromptTemplate:
    name: str
    system: str
    user: str
    path: Path
    hash: str
    norms: dict[str, str] = field(default_factory=dict)  # the task norms it renders
    rules: dict[str, str] = field(default_factory=dict)  # the rule texts it renders

    def variables(self) -> set[str]:
        return set(_PLACEHOLDER.findall(self.system)) | set(_PLACEHOLDER.findall(self.user))


def neutralise(text: str) -> str:
    """Replace delimiter look-alikes so dataset text cannot open or close a block."""
    return _ANGLE_RUNS.sub(lambda m: "‹" * len(m.group()) if m.group()[0] in "<＜" else "›" * len(m.group()), text)


def block(label: str, text: str) -> str:
    return f"<<<{label}>>>\n{neutralise(text)}\n<<<END {label}>>>"


def numbered_block(label: str, sentences: list[str], start: int = 1) -> str:
    lines = [f"[{i}] {neutralise(s)}" for i, s in enumerate(sentences, start)]
    return f"<<<{label}>>>\n" + ("\n".join(lines) if lines else "(no sentences)") + f"\n<<<END {label}>>>"


def render_scale(scale: dict[str, Any]) -> str:
    parts = [f"Scale type: {scale['type']}"]
    if "min" in scale and "max" in scale:
        parts[0] += f", from {scale['min']} to {scale['max']}"
    for key in ("levels", "anchors"):
        for level, text in (scale.get(key) or {}).items():
            parts.append(f"- {level}: {str(text).strip()}")
    return "\n".join(parts)


def render_amplification(block: dict[str, Any] | None) -> str:
    """The rubric's amplification scale, level by level (a note when the rubric has none)."""
    if not block:
        return "(This rubric has no amplification scale.)"
    parts = [str(block["definition"]).strip(), f"Amplification levels, from {block['min']} to {block['max']}:"]
    parts += [f"- {level}: {str(text).strip()}" for level, text in block["levels"].items()]
    return "\n".join(parts)


class PromptLibrary:
    """Loads templates and task norms from a prompts folder, once per run."""

    def __init__(self, root: Path) -> None:
        self.root = root
        self._templates: dict[str, PromptTemplate] = {}
        self._schema_text: dict[str, str] = {}
        self._names: dict[str, tuple[str, ...]] = {}  # a template text's variables, in order
        self._filled: dict[tuple[str, ...], str] = {}  # filled texts that hold no item text
        self.task_norms = self._load_norms()

    def _load_norms(self, name: str = NORMS) -> dict[str, str]:
        path = self.root / f"{name}.yaml"
        if not path.exists():
            if name != NORMS:
                raise TemplateError(f"{path}: task norms file not found (named by a template's 'norms')")
            return {}
        return self._text_map(path, "must map each task name to a paragraph of norms")

    def _load_rules(self, name: str) -> dict[str, str]:
        path = self.root / f"{name}.yaml"
        if not path.exists():
            raise TemplateError(f"{path}: rules file not found (named by a template's 'rules')")
        rules = self._text_map(path, f"must map {', '.join(RULE_VARIABLES)} (and description) to text")
        missing = [k for k in RULE_VARIABLES if k not in rules]
        if missing:
            raise TemplateError(f"{path}: missing {', '.join(missing)}")
        return rules

    @staticmethod
    def _text_map(path: Path, shape: str) -> dict[str, str]:
        data = _read_yaml(path)
        if not isinstance(data, dict) or not all(isinstance(v, str) for v in data.values()):
            raise TemplateError(f"{path}: {shape}")
        return {str(k): v for k, v in data.items()}

    def template(self, name: str) -> PromptTemplate:
        if name not in self._templates:
            self._templates[name] = self._load(name)
        return self._templates[name]

    def _load(self, name: str) -> PromptTemplate:
        path = self.root / f"{name}.yaml"
        if not path.exists():
            have = sorted(p.stem for p in self.root.glob("*.yaml") if not p.stem.startswith(_NOT_TEMPLATES))
            raise RubricError(
                f"prompt template '{name}' not found in {self.root}{did_you_mean(name, have)}; "
                f"available: {', '.join(have)}"
            )
        data = _read_yaml(path)
        if not isinstance(data, dict):
            raise TemplateError(f"{path}: must be a mapping with 'system' and 'user' strings")
        keys = ("system", "user", "description", "norms", "rules")
        for key in data:
            if key not in keys:
                raise TemplateError(f"{path}: unknown key '{key}'{did_you_mean(str(key), keys)}")
        for key in ("system", "user"):
            if not isinstance(data.get(key), str) or not data[key].strip():
                raise TemplateError(f"{path}: '{key}' must be a non-empty string")
        for key in ("norms", "rules"):
            if key in data and (not isinstance(data[key], str) or not _FILE_NAME.match(data[key])):
                raise TemplateError(f"{path}: '{key}' must name a file in {self.root} (without .yaml)")
        # The hash covers the texts the template renders. Templates that name no norms or rules
        # file hash as they always did (system, user and the default task norms), so their hashes,
        # and the caches keyed on them, survive the addition of these keys.
        norms = self._load_norms(data["norms"]) if "norms" in data else self.task_norms
        rules = self._load_rules(data["rules"]) if "rules" in data else {}
        hashed: dict[str, Any] = {"system": data["system"], "user": data["user"], "task_norms": norms}
        for key in ("norms", "rules"):
            if key in data:
                hashed[key] = data[key]
        if rules:
            hashed["rule_texts"] = rules
        tpl = PromptTemplate(
            name=name,
            system=data["system"],
            user=data["user"],
            path=path,
            hash=content_hash(hashed),
            norms=norms,
            rules=rules,
        )
        used = tpl.variables()
        for var in sorted(used):
            if var not in VARIABLES:
                raise TemplateError(
                    f"{path}: unknown template variable '{{{{ {var} }}}}'{did_you_mean(var, VARIABLES)}; "
                    f"known: {', '.join(sorted(VARIABLES))}"
                )
        unruled = sorted(v for v in used if v in RULE_VARIABLES and not rules)
        if unruled:
            raise TemplateError(f"{path}: uses {', '.join(unruled)} but names no 'rules' file")
        missing = [group[0] for group in REQUIRED_VARIABLES if not used & set(group)]
        if missing:
            raise TemplateError(
                f"{path}: template never uses {', '.join('{{ ' + m + ' }}' for m in missing)}; "
                "the judge would not see the response"
            )
        return tpl

    def prompt_hash(self, rubric: Rubric) -> str:
        return self.template(rubric.prompt).hash

    def render(
        self, rubric: Rubric, item: Any, *, template: str | None = None, part: Any = None
    ) -> list[dict[str, str]]:
        """Render ``rubric`` for ``item`` (a dataset Item) into system and user messages.

        ``template`` renders through another template than the rubric's own (per-sentence calls);
        ``part`` is the sentence such a call judges (a ``judge.judging.protocol.CallPart``).
        """
        tpl = self.template(template or rubric.prompt)
        return [
            {"role": "system", "content": self._fill(tpl.system, rubric, item, tpl, part)},
            {"role": "user", "content": self._fill(tpl.user, rubric, item, tpl, part)},
        ]

    def _fill(self, text: str, rubric: Rubric, item: Any, tpl: PromptTemplate, part: Any) -> str:
        names = self._names.get(text)
        if names is None:
            names = self._names[text] = tuple(dict.fromkeys(_PLACEHOLDER.findall(text)))
        values = {name: self._value(name, rubric, item, tpl, part) for name in names}
        if not _ITEM_VARIABLES.isdisjoint(names):
            return _PLACEHOLDER.sub(lambda m: values[m.group(1)], text).strip()
        # A text without the item's own texts (a system prompt: ~12 KB with graded v3) fills the
        # same for every item of a task: the filled text is kept, keyed by the values themselves.
        key = (text, *values.values())
        filled = self._filled.get(key)
        if filled is None:
            if len(self._filled) >= _MAX_FILLED:
                self._filled.clear()
            filled = self._filled[key] = _PLACEHOLDER.sub(lambda m: values[m.group(1)], text).strip()
        return filled

    def first_call(self, rubric: Rubric, item: Any) -> list[dict[str, str]]:
        """The messages of the first call a unit makes: the whole item's, or for a per-sentence
        rubric its first sentence's (the response's when the baseline has none). For checks and
        examples; an item with no sentence at all renders a sentence call of an empty sentence."""
        if rubric.calls != "per_sentence":
            return self.render(rubric, item)
        from judge.inputs.parts import CallPart, sentence_parts, sentence_schema

        parts = sentence_parts(rubric, item)
        part = parts[0] if parts else CallPart("response", 1, "", sentence_schema(rubric))
        return self.render(rubric, item, part=part)

    def _value(self, name: str, rubric: Rubric, item: Any, tpl: PromptTemplate, part: Any = None) -> str:
        if name == "task":
            return item.task
        if name == "task_norms":
            return tpl.norms.get(item.task, tpl.norms.get("default", "")).strip()
        if name in RULE_VARIABLES:
            return tpl.rules[name].strip()
        if name == "amplification":
            return render_amplification(rubric.amplification)
        if name in ("sentence", "sentence_side"):
            if part is None:
                raise TemplateError(f"{tpl.path}: '{name}' is only defined in a per-sentence call")
            if name == "sentence_side":
                return part.side
            return numbered_block("SENTENCE", [part.text], start=part.index)
        if name == "dimension":
            return item.dimension
        if name in ("title", "mechanism", "definition", "instructions"):
            return str(getattr(rubric, name)).strip()
        if name == "scale":
            return render_scale(rubric.scale)
        if name == "schema":
            if part is not None:  # a per-sentence call answers one sentence's schema
                return json.dumps(part.schema, indent=1, sort_keys=True)
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
