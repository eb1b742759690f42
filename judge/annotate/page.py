"""The annotation page: one self-contained HTML page, served by judge/annotate/server.py.

It shows the rubric (title, definition, instructions) and its five level descriptors, then one
item at a time: its task and texts, never its id, model or metadata. Keys: 0-4 give a label, x
"cannot judge", arrows (or j/k) move, n writes a note, ? shows the keys. A label counts as saved
only when the server confirms it is on disk; until then the page says so and keeps it.
"""

from __future__ import annotations

import json
from functools import cache
from importlib import resources
from typing import Any

from judge.report.assets import CSS
from judge.report.markup import esc, page

# The page may talk to its own server (connect-src 'self') and fetch nothing else.
CSP = "default-src 'none'; connect-src 'self'; style-src 'unsafe-inline'; script-src 'unsafe-inline'; img-src data:"


@cache
def static(name: str) -> str:
    return (resources.files("judge.annotate") / "static" / name).read_text(encoding="utf-8")


def render_page(rubric: dict[str, Any], state: dict[str, Any], token: str, annotator: str) -> str:
    levels = "".join(
        f'<button type="button" class="level" data-level="{k}" title="key {k}"><b>{k}</b> {esc(text)}</button>'
        for k, text in rubric["levels"]
    )
    if rubric["amplification"]:  # two-sided: a second key gives the opposite error's level
        buttons = "".join(
            f'<button type="button" class="level amp" data-amp="{k}" title="key {k}, after the severity"><b>{k}</b> '
            f"{esc(text)}</button>" for k, text in rubric["amplification"]
        )
        levels = (f'<p class="an-step" id="step-severity"><b>1. severity</b> (the loss)</p>'
                  f'<div class="an-levels">{levels}</div>'
                  f'<p class="an-step" id="step-amp"><b>2. amplification</b> (the opposite error: '
                  f'{esc(rubric["amplification_definition"])})</p><div class="an-levels">{buttons}</div>')  # fmt: skip
    else:
        levels = f'<div class="an-levels">{levels}</div>'
    config = json.dumps({"token": token, "state": state, "two_sided": bool(rubric["amplification"])}).replace(
        "<", "\\u003c")
    body = f"""
<div class="an-head"><div><b>{esc(rubric["title"])}</b> <span class="muted">({esc(rubric["ref"])}; labelling as
<b>{esc(annotator)}</b>)</span></div><div id="progress" class="muted"></div></div>
<details class="an-rubric"><summary>the rubric: definition and instructions</summary>
<p>{esc(rubric["definition"])}</p><div class="text">{esc(rubric["instructions"])}</div></details>
<div id="item" class="an-item"><p class="muted">Loading…</p></div>
{levels}
<div class="an-actions"><button type="button" id="prev">← previous</button>
<button type="button" id="skip" title="key x">cannot judge (x)</button><button type="button" id="next">next →</button>
<label class="an-note">note (n) <input type="text" id="note" maxlength="2000" autocomplete="off"></label></div>
<p id="status" class="an-status" role="status"></p>
<details class="an-keys"><summary>keys (?)</summary><p>0-4: label this item and go to the next (a two-sided
rubric takes two keys: the severity, then the amplification; Esc starts again) · x: cannot judge ·
→ or j: next · ← or k: previous · n: write a note (Enter saves it with the next label, Esc leaves the box) ·
?: this list. Items come in a random order fixed for you; nothing identifies the model that wrote a reply.
Each label is written to disk before it shows as saved; close the page or stop the server at any time and
start again to go on where you stopped.</p></details>
<script type="application/json" id="an-config">{config}</script>
"""
    return page(f"annotate: {rubric['title']}", "empathy-judge annotate", body, css=CSS + static("annotate.css"),
                scripts=(static("annotate.js"),), csp=CSP)  # fmt: skip
