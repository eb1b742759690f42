"""Checks on the labelled sample dataset shipped in judge/data (the default dataset).

The datasheet's tables are derived from the data; regenerate them after editing the JSONL with

    .venv/bin/python tests/test_sample_data.py

and paste the output over the tables in judge/data/DATASHEET.md.
"""

from __future__ import annotations

import json
import re
from collections import Counter
from itertools import combinations
from pathlib import Path
from statistics import correlation
from typing import Any

import pytest

MECHANISMS = (
    "sentiment_attenuation",
    "granularity_mismatch",
    "conflict_avoidance",
    "linguistic_distancing",
)
TASKS = ("news", "translation", "counselling", "workplace", "education")
DIMENSIONS = ("cognitive", "cultural", "relational")
LEVELS = range(5)
REQUIRED = ("id", "source_id", "task", "dimension", "model", "source", "response")

# Located from the repository so the module also runs as a plain script (see the docstring).
DATA_DIR = Path(__file__).resolve().parents[1] / "judge" / "data"
SAMPLE = DATA_DIR / "sample.jsonl"
DATASHEET = DATA_DIR / "DATASHEET.md"


def load_rows() -> list[dict[str, Any]]:
    with SAMPLE.open(encoding="utf-8") as fh:
        return [json.loads(line) for line in fh if line.strip()]


def _models(rows: list[dict[str, Any]]) -> list[str]:
    return sorted({row["model"] for row in rows})


def label_table(rows: list[dict[str, Any]]) -> list[list[str]]:
    """Counts of each gold level per mechanism, plus a total column."""
    table = [["mechanism", *(str(level) for level in LEVELS), "total"]]
    for mech in MECHANISMS:
        counts = Counter(row[f"gold_{mech}"] for row in rows)
        table.append([mech, *(str(counts[level]) for level in LEVELS), str(len(rows))])
    return table


def composition_table(rows: list[dict[str, Any]]) -> list[list[str]]:
    """Items per task and model, with source and total counts per task."""
    models = _models(rows)
    table = [["task", "sources", *models, "total"]]
    for task in (*TASKS, "all"):
        sub = rows if task == "all" else [row for row in rows if row["task"] == task]
        per_model = Counter(row["model"] for row in sub)
        table.append(
            [
                task,
                str(len({row["source_id"] for row in sub})),
                *(str(per_model[m]) for m in models),
                str(len(sub)),
            ]
        )
    return table


def dimension_table(rows: list[dict[str, Any]]) -> list[list[str]]:
    """Items per dimension and task."""
    table = [["dimension", *TASKS, "total"]]
    for dim in DIMENSIONS:
        sub = [row for row in rows if row["dimension"] == dim]
        per_task = Counter(row["task"] for row in sub)
        table.append([dim, *(str(per_task[t]) for t in TASKS), str(len(sub))])
    return table


def model_mean_table(rows: list[dict[str, Any]]) -> list[list[str]]:
    """Mean gold severity (0-4) per simulated model and mechanism."""
    table = [["model", "n", *MECHANISMS]]
    for model in _models(rows):
        sub = [row for row in rows if row["model"] == model]
        means = [sum(row[f"gold_{m}"] for row in sub) / len(sub) for m in MECHANISMS]
        table.append([model, str(len(sub)), *(f"{mean:.2f}" for mean in means)])
    return table


def correlation_table(rows: list[dict[str, Any]]) -> list[list[str]]:
    """Pearson r between the gold labels of each pair of mechanisms, over all items and over
    the items that fail somewhere (any label >= 2), where the good-versus-bad split that
    inflates the first column is removed."""
    failing = [row for row in rows if max(row[f"gold_{m}"] for m in MECHANISMS) >= 2]
    table = [["pair", "r_all", "r_failing"]]
    for a, b in combinations(MECHANISMS, 2):
        cells = [f"{a} / {b}"]
        for sub in (rows, failing):
            r = correlation([row[f"gold_{a}"] for row in sub], [row[f"gold_{b}"] for row in sub])
            cells.append(f"{r:.2f}")
        table.append(cells)
    table.append(["n", str(len(rows)), str(len(failing))])
    return table


TABLES = {
    "mechanism": label_table,
    "pair": correlation_table,
    "task": composition_table,
    "dimension": dimension_table,
    "model": model_mean_table,
}


def format_table(table: list[list[str]]) -> str:
    lines = ["| " + " | ".join(table[0]) + " |", "|" + "---|" * len(table[0])]
    lines += ["| " + " | ".join(row) + " |" for row in table[1:]]
    return "\n".join(lines)


def parse_tables(markdown: str) -> dict[str, list[list[str]]]:
    """Markdown tables keyed by their first header cell (separator rows dropped)."""
    tables: dict[str, list[list[str]]] = {}
    current: list[list[str]] | None = None
    for line in markdown.splitlines():
        if not line.startswith("|"):
            current = None
            continue
        cells = [cell.strip() for cell in line.strip().strip("|").split("|")]
        if all(re.fullmatch(r":?-{3,}:?", cell) for cell in cells):
            continue
        if current is None:
            current = tables.setdefault(cells[0], [])
        current.append(cells)
    return tables


@pytest.fixture(scope="module")
def rows() -> list[dict[str, Any]]:
    return load_rows()


def test_size_and_unique_ids(rows: list[dict[str, Any]]) -> None:
    assert len(rows) >= 120
    ids = [row["id"] for row in rows]
    assert len(ids) == len(set(ids)), [i for i, n in Counter(ids).items() if n > 1]


def test_required_fields_are_non_empty_strings(rows: list[dict[str, Any]]) -> None:
    for row in rows:
        for field in REQUIRED:
            assert isinstance(row.get(field), str) and row[field].strip(), (row.get("id"), field)
        assert row["task"] in TASKS, row["id"]
        assert row["dimension"] in DIMENSIONS, row["id"]
        if "reference" in row:
            assert isinstance(row["reference"], str) and row["reference"].strip(), row["id"]


def test_translation_items_have_a_reference(rows: list[dict[str, Any]]) -> None:
    for row in rows:
        assert ("reference" in row) == (row["task"] == "translation"), row["id"]


def test_gold_labels_and_notes(rows: list[dict[str, Any]]) -> None:
    for row in rows:
        for mech in MECHANISMS:
            label = row.get(f"gold_{mech}")
            # bool is an int subclass; a stray true/false must not pass as 1/0.
            assert type(label) is int and label in LEVELS, (row["id"], mech, label)
            note = row.get(f"gold_note_{mech}")
            assert isinstance(note, str) and note.strip(), (row["id"], mech)


def test_every_task_is_well_represented(rows: list[dict[str, Any]]) -> None:
    counts = Counter(row["task"] for row in rows)
    assert set(counts) == set(TASKS)
    assert min(counts.values()) >= 20, counts


def test_every_source_has_several_responses(rows: list[dict[str, Any]]) -> None:
    by_source: dict[str, list[dict[str, Any]]] = {}
    for row in rows:
        by_source.setdefault(row["source_id"], []).append(row)
    for source_id, group in by_source.items():
        assert len(group) >= 3, source_id
        # Responses grouped under one source_id must share the same source text and task.
        assert len({(r["source"], r["task"], r.get("reference")) for r in group}) == 1, source_id
        assert len({r["model"] for r in group}) >= 3, source_id


def test_every_mechanism_uses_the_scale(rows: list[dict[str, Any]]) -> None:
    for mech in MECHANISMS:
        values = {row[f"gold_{mech}"] for row in rows}
        assert len(values) >= 4, (mech, sorted(values))


def test_text_lengths_stay_moderate(rows: list[dict[str, Any]]) -> None:
    for row in rows:
        assert 30 <= len(row["response"].split()) <= 200, row["id"]
        side = row["reference"] if "reference" in row else row["source"]
        assert 40 <= len(side.split()) <= 180, row["id"]


def test_no_prompt_delimiters_in_text(rows: list[dict[str, Any]]) -> None:
    for row in rows:
        for field in ("source", "response", "reference"):
            text = row.get(field, "")
            assert "<<<" not in text and ">>>" not in text, (row["id"], field)


@pytest.mark.parametrize("key", sorted(TABLES))
def test_datasheet_tables_match_data(rows: list[dict[str, Any]], key: str) -> None:
    documented = parse_tables(DATASHEET.read_text(encoding="utf-8"))
    assert key in documented, f"DATASHEET.md has no table whose first header cell is {key!r}"
    assert documented[key] == TABLES[key](rows), (
        f"DATASHEET.md table {key!r} is stale; regenerate with "
        "`.venv/bin/python tests/test_sample_data.py`"
    )


if __name__ == "__main__":
    data = load_rows()
    for name, build in TABLES.items():
        print(f"<!-- table: {name} -->")
        print(format_table(build(data)))
        print()
