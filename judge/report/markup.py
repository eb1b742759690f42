"""HTML building blocks of report.html: escaping, number formats, sortable tables, sections."""

from __future__ import annotations

import html
import json
from collections.abc import Iterable, Sequence
from typing import Any

TEXT_LIMIT = 1200


def esc(value: Any) -> str:
    return html.escape("" if value is None else str(value))


def fmt(value: Any, digits: int = 2) -> str:
    if value is None:
        return "–"
    if isinstance(value, bool):
        return "yes" if value else "no"
    if isinstance(value, float):
        return f"{value:.{digits}f}" if abs(value) >= 10**-digits or value == 0 else f"{value:.2g}"
    return str(value)


def ci_text(value: float | None, lo: float | None, hi: float | None) -> str:
    if value is None:
        return "–"
    if lo is None or hi is None:
        return fmt(value)
    return f"{fmt(value)} [{fmt(lo)}, {fmt(hi)}]"


def cell(value: Any, display: str | None = None) -> str:
    """A <td>; numbers right-aligned and sortable by value."""
    if isinstance(value, int | float) and not isinstance(value, bool):
        return f'<td class="num" data-v="{value}">{esc(display if display is not None else fmt(value))}</td>'
    return f"<td>{display if display is not None else esc(fmt(value))}</td>"


def table(headers: Sequence[str], rows: Iterable[Sequence[str]], *, sortable: bool = True, cls: str = "") -> str:
    """``rows`` hold ready-made <td> strings (see :func:`cell`)."""
    head = "".join(f"<th>{esc(h)}</th>" for h in headers)
    body = "".join("<tr>" + "".join(r) + "</tr>" for r in rows)
    classes = " ".join(c for c in ("sortable" if sortable else "", cls) if c)
    return (
        f'<div class="wrap"><table class="{classes}"><thead><tr>{head}</tr></thead><tbody>{body}</tbody></table></div>'
    )


def records_table(records: list[dict[str, Any]], *, sortable: bool = True) -> str:
    columns: list[str] = []
    for record in records:
        columns.extend(k for k in record if k not in columns)
    rows = [[cell(_plain(r.get(c))) for c in columns] for r in records]
    return table(columns, rows, sortable=sortable)


def _plain(value: Any) -> Any:
    if isinstance(value, dict | list):
        return json.dumps(value, sort_keys=True)
    return value


def generic(value: Any) -> str:
    """Render JSON data of unknown shape: records as a table, mappings as nested tables."""
    if isinstance(value, list) and value and all(isinstance(v, dict) for v in value):
        return records_table(value)
    if isinstance(value, dict) and value and all(isinstance(v, dict) for v in value.values()):
        flat = [v for v in value.values()]
        if all(not any(isinstance(x, dict) for x in v.values()) for v in flat):
            return records_table([{"key": k, **v} for k, v in value.items()])
        return "".join(f"<h3>{esc(k)}</h3>{generic(v)}" for k, v in value.items())
    if isinstance(value, dict) and value:
        return table(["key", "value"], [[cell(k), cell(_plain(v))] for k, v in value.items()], sortable=False, cls="kv")
    if value in (None, [], {}):
        return no_data("empty")
    return f"<p>{esc(fmt(value))}</p>"


def no_data(reason: str) -> str:
    return f'<p class="nodata">No data: {esc(reason)}.</p>'


def section(anchor: str, title: str, body: str) -> tuple[str, str, str]:
    return anchor, title, f'<section id="{anchor}"><h2>{esc(title)}</h2>{body}</section>'


def text_block(text: str | None, limit: int = TEXT_LIMIT) -> str:
    """Escaped text; beyond ``limit`` characters the rest folds into a <details>."""
    if not text:
        return '<span class="muted">–</span>'
    if len(text) <= limit:
        return f'<div class="text">{esc(text)}</div>'
    return (
        f'<div class="text">{esc(text[:limit])}…</div>'
        f'<details><summary>full text ({len(text)} characters)</summary><div class="text">{esc(text)}</div></details>'
    )
