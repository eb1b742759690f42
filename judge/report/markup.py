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


def rubric_of(row: dict[str, Any]) -> str:
    """The rubric a summary row is about, as its ref (``sa-graded@2``): versions are kept apart."""
    version = row.get("rubric_version")
    return str(row.get("rubric_id")) if version is None else f"{row.get('rubric_id')}@{version}"


def pointer(*parts: str | int) -> str:
    """A JSON pointer (RFC 6901) into summary.json: ``pointer("agreement", "sa-graded", "alpha")``
    is ``/agreement/sa-graded/alpha``."""
    return "".join("/" + str(p).replace("~", "~0").replace("/", "~1") for p in parts)


def num(value: Any, key: str | None, digits: int = 2, *, scale: float = 1, prefix: str = "", suffix: str = "") -> str:
    """A number as the page shows it. With ``key`` (a JSON pointer into summary.json) it carries
    its source: ``data-key``, ``data-value`` (the full value) and ``data-scale`` when shown scaled
    (a share as a percentage), so every number on the page can be checked against summary.json."""
    shown = "–" if value is None else prefix + fmt(value * scale if scale != 1 else value, digits) + suffix
    if key is None:
        return esc(shown)
    scaled = f' data-scale="{scale}"' if scale != 1 else ""
    return f'<span data-key="{esc(key)}" data-value="{esc(json.dumps(value))}"{scaled}>{esc(shown)}</span>'


def ci_html(
    row: dict[str, Any], base: str | None, value: str = "mean", low: str = "ci_low", high: str = "ci_high"
) -> str:
    """``value [low, high]`` of a summary record at pointer ``base``; the value alone without a CI."""

    def part(field: str) -> str:
        return num(row.get(field), None if base is None else f"{base}/{field}")

    if row.get(value) is None or row.get(low) is None or row.get(high) is None:
        return part(value)
    return f"{part(value)} [{part(low)}, {part(high)}]"


def cell(value: Any, display: str | None = None, *, key: str | None = None, src: str | None = None) -> str:
    """A <td>; numbers right-aligned and sortable by value. ``display`` is ready HTML; ``key``
    points into summary.json (see :func:`num`); ``src`` names where an unkeyed number comes from
    (``manifest``: run facts, not statistics)."""
    if isinstance(value, int | float) and not isinstance(value, bool):
        inner = display if display is not None else num(value, key)
        origin = f' data-from="{esc(src)}"' if src else ""
        return f'<td class="num" data-v="{value}"{origin}>{inner}</td>'
    return f"<td>{display if display is not None else esc(fmt(value))}</td>"


def table(headers: Sequence[str], rows: Iterable[Sequence[str]], *, sortable: bool = True, cls: str = "") -> str:
    """``rows`` hold ready-made <td> strings (see :func:`cell`)."""
    head = "".join(f"<th>{esc(h)}</th>" for h in headers)
    body = "".join("<tr>" + "".join(r) + "</tr>" for r in rows)
    classes = " ".join(c for c in ("sortable" if sortable else "", cls) if c)
    return (
        f'<div class="wrap"><table class="{classes}"><thead><tr>{head}</tr></thead><tbody>{body}</tbody></table></div>'
    )


def records_table(records: list[dict[str, Any]], *, key: str | None = None, sortable: bool = True) -> str:
    """Records as a table; with ``key`` (the records' pointer in summary.json) numbers carry it."""
    columns: list[str] = []
    for record in records:
        columns.extend(k for k in record if k not in columns)
    rows = [
        [cell(_plain(r.get(c)), key=None if key is None else f"{key}/{i}{pointer(c)}") for c in columns]
        for i, r in enumerate(records)
    ]
    return table(columns, rows, sortable=sortable)


def _plain(value: Any) -> Any:
    if isinstance(value, dict | list):
        return json.dumps(value, sort_keys=True)
    return value


def _scalar(value: Any) -> bool:
    return not isinstance(value, dict | list) or value in ([], {})


def generic(value: Any, key: str | None = None) -> str:
    """Render JSON data of unknown shape (``key``: its pointer in summary.json): records as a
    table, a mapping's plain values as a key-value table and its nested values under headings."""
    if isinstance(value, list) and value and all(isinstance(v, dict) for v in value):
        return records_table(value, key=key)
    if isinstance(value, dict) and value and all(isinstance(v, dict) for v in value.values()):
        flat = [v for v in value.values()]
        if all(not any(isinstance(x, dict) for x in v.values()) for v in flat):
            # one row per entry, its name first; the pointer of row k's field is KEY/name/field
            columns = list(dict.fromkeys(c for v in flat for c in v))
            rows = [
                [cell(k)] + [cell(_plain(v.get(c)), key=_join(key, k, c)) for c in columns]
                for k, v in value.items()
            ]
            return table(["key", *columns], rows)
        return "".join(f"<h3>{esc(k)}</h3>{generic(v, _join(key, k))}" for k, v in value.items())
    if isinstance(value, dict) and value:
        plain = {k: v for k, v in value.items() if _scalar(v)}
        nested = {k: v for k, v in value.items() if not _scalar(v)}
        out = ""
        if plain:
            rows = [[cell(k), cell(_plain(v), key=_join(key, k))] for k, v in plain.items()]
            out += table(["key", "value"], rows, sortable=False, cls="kv")
        return out + "".join(f"<h4>{esc(k)}</h4>{generic(v, _join(key, k))}" for k, v in nested.items())
    if value in (None, [], {}):
        return no_data("empty")
    if isinstance(value, int | float) and not isinstance(value, bool):
        return f"<p>{num(value, key)}</p>"
    return f"<p>{esc(fmt(value))}</p>"


def _join(base: str | None, *parts: str | int) -> str | None:
    return None if base is None else base + pointer(*parts)


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


# The CSP is the guarantee behind "offline": the browser refuses any fetch the page might try.
CSP = "default-src 'none'; style-src 'unsafe-inline'; script-src 'unsafe-inline'; img-src data:"


def page(
    title: str, heading: str, body: str, *, css: str, scripts: tuple[str, ...] = (), nav: str = "", csp: str = CSP
) -> str:
    """A whole self-contained page: the CSP, the style sheet, ``body`` and the inline ``scripts``.
    ``heading`` is ready HTML; the report, the compare page and the annotation page share this
    shell and its style."""
    return (
        "<!DOCTYPE html>\n"
        f'<html lang="en"><head><meta charset="utf-8">'
        f'<meta http-equiv="Content-Security-Policy" content="{csp}">'
        '<meta name="viewport" content="width=device-width, initial-scale=1">'
        '<link rel="icon" href="data:,">'
        f"<title>{esc(title)}</title><style>{css}</style></head><body>"
        f"<h1>{heading}</h1>{f'<nav>{nav}</nav>' if nav else ''}{body}"
        + "".join(f"<script>{script}</script>" for script in scripts)
        + "</body></html>\n"
    )
