"""The report's item browser: every item x rubric of the run, filterable, searchable, drawn on demand.

The page carries the data once, as one inline JSON blob (``<script type="application/json">``),
and a small script (judge/report/static/browser.js, inlined with its style sheet) draws only the
rows in view (a hundred at a time)
and an item's detail when it is opened, so a run of 10,000 verdicts stays one self-contained file
that opens quickly (benchmarks/report_browser.py measures both). The blob holds:

- ``items``: each judged item's id, task, dimension, model, texts, gold labels and metadata
  (from the run's items table);
- ``units``: each rubric x item: its panel score, the judges' range, the number of valid judges
  and each judge's item score (from ``judge.stats.diagnostics.item_spread``, the numbers the
  summary's disagreement ranking uses), and every verdict: judge, repeat, status, score,
  rationale or error, the verdict's other scalar fields, its evidence quotes placed in the texts
  (judge/report/quotes.py) and its over-correction or amplification flag.

Rows are arrays, not objects, to keep the file small (a 10,000-verdict run repeats each key
10,000 times); their fields, in order, are ``ITEM``, ``UNIT``, ``VERDICT`` and ``QUOTE`` below,
and the script reads them by those positions. A found quote carries its spans, not its text (the
script cuts the text out of the item); a quote not found carries its text.

The blob is escaped so that no text in it can close the script element (every ``<`` is written as
``\\u003c``), and the script builds the page with DOM text nodes, never HTML strings, so hostile
dataset text stays text.
"""

from __future__ import annotations

import json
import math
from functools import cache
from importlib import resources
from typing import Any

from judge.report.data import RunData
from judge.report.markup import esc, no_data, section
from judge.report.quotes import place


@cache
def static(name: str) -> str:
    """A file of judge/report/static (the browser's script and style sheet), to inline."""
    return (resources.files("judge.report") / "static" / name).read_text(encoding="utf-8")


# The blob's row layouts (browser.js reads these positions).
ITEM = ("id", "task", "dimension", "model", "source", "reference", "response", "gold", "meta")
UNIT = ("item", "rubric", "panel", "range", "n_valid_judges", "verdicts", "judge_scores")
VERDICT = ("judge", "repeat", "status", "score", "severity", "rationale_or_error", "fields", "flag", "quotes")
QUOTE = ("side", "text", "spans", "quote_if_not_found")  # side 0 source / 1 response; text 0 source,
# 1 reference, 2 response (null when not found)
TEXTS = ("source", "reference", "response")

# Verdict fields the detail shows in its own way (not in the list of other fields).
OWN_FIELDS = ("rationale", "evidence", "severity", "overcorrection", "amplification")


def _flag(fields: dict[str, Any]) -> str | None:
    """The verdict's over-correction or amplification, in words (None when it has neither)."""
    amplification = fields.get("amplification")
    if isinstance(amplification, int | float) and not isinstance(amplification, bool) and amplification > 0:
        return f"amplification {amplification:g}"
    if fields.get("overcorrection") is True:
        return "over-correction"
    return None


def _scalars(fields: dict[str, Any]) -> dict[str, Any]:
    """The verdict's other fields worth showing: scalars, and objects of scalars one level down."""
    out: dict[str, Any] = {}
    for key, value in fields.items():
        if key in OWN_FIELDS:
            continue
        if isinstance(value, dict):
            out.update({f"{key}.{k}": v for k, v in value.items() if not isinstance(v, dict | list)})
        elif not isinstance(value, list):
            out[key] = value
        else:
            out[key] = f"{len(value)} entries"
    return out


META_CHARS = 300  # a metadata text longer than this is cut in the page (the export has it whole)


def _clipped(value: Any) -> Any:
    """Metadata for the page: long texts cut (a dataset's notes can outweigh its texts)."""
    if isinstance(value, str) and len(value) > META_CHARS:
        return value[:META_CHARS] + "…"
    if isinstance(value, dict):
        return {k: _clipped(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_clipped(v) for v in value]
    return value


def _number(value: Any) -> float | None:
    if value is None or (isinstance(value, float) and not math.isfinite(value)):
        return None
    return float(value)


def _quotes(fields: dict[str, Any], texts: dict[str, str | None]) -> list[list[Any]]:
    out: list[list[Any]] = []
    for quote in fields.get("evidence") or []:
        if not isinstance(quote, dict) or not isinstance(quote.get("quote"), str):
            continue
        side = quote.get("side")
        # "source" quotes are from the baseline side: the reference when the item has one.
        order = [("response", texts["response"])] if side == "response" else [
            ("reference", texts["reference"]), ("source", texts["source"])]  # fmt: skip
        where, spans = place(quote["quote"], order)
        code = 1 if side == "response" else 0
        if where is None:
            out.append([code, None, None, quote["quote"]])
        else:
            out.append([code, TEXTS.index(where), [list(span) for span in spans or []]])
    return out


def browser_data(data: RunData) -> dict[str, Any] | None:
    """The blob, or None when the run has no verdicts or no items table to show them with."""
    if data.items is None or data.spread is None or data.verdicts.height == 0:
        return None
    items = data.items
    gold = [c for c in items.columns if c.startswith("gold_")]
    index = {item_id: i for i, item_id in enumerate(items["item_id"].to_list())}
    out_items = []
    texts: list[dict[str, str | None]] = []
    for row in items.iter_rows(named=True):
        texts.append({k: row[k] for k in ("source", "reference", "response")})
        out_items.append([
            row["item_id"], row["task"], row["dimension"], row["model"], row["source"], row["reference"],
            row["response"], {c[5:]: row[c] for c in gold if row[c] is not None},
            _clipped(json.loads(row["meta"])) if row["meta"] else None,
        ])  # fmt: skip
    rubrics = data.spread.select("rubric_id", "rubric_version", "family", "mechanism").unique().sort(
        "rubric_id", "rubric_version")
    refs = [f"{r}@{v}" for r, v in rubrics.select("rubric_id", "rubric_version").iter_rows()]
    rubric_index = {ref: k for k, ref in enumerate(refs)}
    judges = sorted(set(data.verdicts["judge"].to_list()))
    judge_index = {j: k for k, j in enumerate(judges)}
    extra = [c for c in data.verdicts.columns if c.startswith("evidence")]
    verdicts: dict[tuple[str, str], list[list[Any]]] = {}
    # Item by item (each item's texts are normalised once for its quotes), judges and repeats in order.
    for v in data.verdicts.sort("item_id", "rubric_id", "rubric_version", "judge", "repeat").iter_rows(named=True):
        ref = f"{v['rubric_id']}@{v['rubric_version']}"
        i = index.get(v["item_id"])
        fields = json.loads(v["verdict"]) if v["verdict"] else {}
        fields = fields if isinstance(fields, dict) else {}
        shown = _scalars(fields)
        shown.update({c: v[c] for c in extra if v[c] is not None})
        entry = [
            judge_index[v["judge"]], v["repeat"], v["status"], _number(v["score"]), fields.get("severity"),
            v["rationale"] or v["error"] or "", shown or None, _flag(fields),
            _quotes(fields, texts[i]) if i is not None else [],
        ]  # fmt: skip
        verdicts.setdefault((ref, v["item_id"]), []).append(entry)
    units = []
    for u in data.spread.iter_rows(named=True):
        ref = f"{u['rubric_id']}@{u['rubric_version']}"
        i = index.get(u["item_id"])
        if i is None:
            continue  # verdicts for an item the items table lacks (a damaged run): nothing to show
        scores = [[judge_index[j["judge"]], _number(j["score"])] for j in u["judges"] or []
                  if j["judge"] in judge_index]  # fmt: skip
        units.append([i, rubric_index[ref], _number(u["panel"]), _number(u["range"]), u["n_valid_judges"],
                      verdicts.get((ref, u["item_id"]), []), scores])  # fmt: skip
    return {
        "items": out_items,
        "rubrics": [{"ref": ref, "id": r, "family": f, "mechanism": m}
                    for ref, (r, _, f, m) in zip(refs, rubrics.iter_rows(), strict=True)],
        "judges": judges,
        "units": units,
        "settings": {k: (data.summary.get("settings") or {}).get(k) for k in ("aggregate", "quorum")},
    }  # fmt: skip


def blob(value: Any) -> str:
    """JSON safe to inline in a <script> element: no ``<`` can close it."""
    return json.dumps(value, ensure_ascii=False, separators=(",", ":")).replace("<", "\\u003c")


def browser_section(data: RunData) -> tuple[str, str, str]:
    title = "Items"
    content = browser_data(data)
    if content is None:
        reason = data.texts_note or ("no verdicts" if data.verdicts.height == 0 else "the run has no items table")
        return section("items", title, no_data(reason))
    n_units, n_items = len(content["units"]), len(content["items"])
    intro = (
        f'<p class="muted">Every item x rubric of the run ({n_units:,} of them, {n_items:,} items): filter, search '
        "(ids, texts, rationales), and click a row to read the texts with each judge's evidence quotes marked "
        "in place, every verdict and rationale, and the gold labels. Panel = the panel score of the item "
        f"({esc(content['settings'].get('aggregate') or 'mean')} over judges of each judge's mean over repeats); "
        "range = the spread of the judges' item scores (the summary's disagreement measure).</p>"
    )
    return section(
        "items",
        title,
        f'{intro}<div id="ib" class="ib"><noscript><p class="nodata">The item browser needs JavaScript.</p>'
        f'</noscript></div><script type="application/json" id="ib-data">{blob(content)}</script>',
    )
