"""report.html with its item browser at 10,000 verdicts: file size, drawing time and browser load time.

Two shapes of 10,000 verdicts, both judged by the offline panel (no network):

- ``panel``: 625 items (the bundled sample set's rows, cycled with new ids) x 8 rubrics x 2 judges;
- ``items``: 5,000 items x 1 rubric (sa-graded) x 2 judges: ten times the texts.

For each it runs ``empathy-judge run`` (not timed), then measures the page: its size and the
item browser's inline JSON; ``empathy-judge report RUN --html`` wall time (median of 3, each a
fresh process); and in headless Chromium (networking off, a fresh profile): the load time from
navigation to the load event (median of 5 navigations, the browser's own navigation timing), then,
in the page, the time to apply a text search and a model filter, and to open a row. The browser
part needs Chromium and the ``websockets`` package (tests/chromium.py); without them it says so.

    python benchmarks/report_browser.py [--out report_browser.json] [--quick]
"""

from __future__ import annotations

import argparse
import json
import re
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from benchmarks._common import PYTHON, ROOT

SAMPLE = ROOT / "judge" / "data" / "sample.jsonl"


def dataset(path: Path, n: int) -> Path:
    rows = [json.loads(line) for line in SAMPLE.read_text(encoding="utf-8").splitlines() if line.strip()]
    with path.open("w", encoding="utf-8") as fh:
        for k in range(n):
            row = dict(rows[k % len(rows)])
            row["id"] = f"{row['id']}-{k // len(rows)}"
            fh.write(json.dumps(row, ensure_ascii=False) + "\n")
    return path


def cli(*args: str) -> float:
    start = time.perf_counter()
    subprocess.run([PYTHON, "-m", "judge", *args], cwd=ROOT, check=True, capture_output=True, timeout=1800)
    return time.perf_counter() - start


IN_PAGE = """(() => {
  const t0 = performance.now();
  const q = document.querySelector('#ib [name="q"]'); q.value = 'fire'; q.dispatchEvent(new Event('input'));
  const t1 = performance.now();
  const m = document.querySelector('#ib [name="model"]');
  m.value = m.options[1].value; m.dispatchEvent(new Event('change'));
  const t2 = performance.now();
  document.querySelector('#ib tr.unit').click();
  const t3 = performance.now();
  const nav = performance.getEntriesByType('navigation')[0];
  return {load_ms: nav.loadEventEnd - nav.startTime, dom_ms: nav.domContentLoadedEventEnd - nav.startTime,
          search_ms: t1 - t0, filter_ms: t2 - t1, open_ms: t3 - t2,
          rows: document.querySelectorAll('#ib tr.unit').length,
          marks: document.querySelectorAll('#ib tr.ib-detail mark.q').length};
})()"""


def in_browser(page: Path, reps: int) -> dict[str, Any]:
    try:
        from tests.chromium import chromium_path, launch

        if chromium_path() is None:
            return {"skipped": "Chromium is not installed"}
        import websockets  # noqa: F401
    except ImportError as exc:
        return {"skipped": f"{exc}"}
    runs = []
    with tempfile.TemporaryDirectory() as tmp, launch(Path(tmp) / "profile") as browser:
        for _ in range(reps):
            start = time.perf_counter()
            browser.open(page.as_uri())
            wall = (time.perf_counter() - start) * 1000
            facts = browser.evaluate(IN_PAGE)
            facts["navigate_to_load_event_ms"] = wall
            runs.append(facts)
        errors = browser.errors()
    out: dict[str, Any] = {k: statistics.median(r[k] for r in runs) for k in runs[0] if k.endswith("_ms")}
    out.update(reps=reps, rows_after_filters=runs[0]["rows"], marks_in_opened_row=runs[0]["marks"],
               console_errors=len(errors), every_rep=runs)  # fmt: skip
    return out


def measure_shape(name: str, items: int, rubrics: list[str], tmp: Path, reps: int) -> dict[str, Any]:
    data = dataset(tmp / f"{name}.jsonl", items)
    run_dir = tmp / name
    args = ["run", "--dataset", str(data), "--run-dir", str(run_dir), "--quiet", "--no-cache"]
    cli(*args, *[a for r in rubrics for a in ("--rubric", r)])
    verdicts = sum(1 for line in (run_dir / "verdicts.jsonl").open() if line.strip())
    draws = [cli("report", str(run_dir), "--html", str(run_dir / "report.html")) for _ in range(3)]
    page = run_dir / "report.html"
    text = page.read_text(encoding="utf-8")
    blob = re.search(r'<script type="application/json" id="ib-data">(.*?)</script>', text, re.S)
    return {
        "shape": name, "items": items, "rubrics": len(rubrics), "judges": 2, "verdicts": verdicts,
        "report_bytes": len(text.encode("utf-8")), "browser_blob_bytes": len(blob.group(1).encode()) if blob else 0,
        "report_html_wall_s_median": statistics.median(draws), "report_html_wall_s": draws,
        "chromium": in_browser(page, reps),
    }  # fmt: skip


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", type=Path)
    parser.add_argument("--quick", action="store_true", help="1,000 verdicts per shape, 2 loads")
    args = parser.parse_args(argv)
    scale = 10 if args.quick else 1
    all_rubrics = ["sa-graded", "egm-graded", "ca-graded", "ld-graded", "sa-paper", "egm-paper", "ca-paper", "ld-paper"]
    with tempfile.TemporaryDirectory() as tmp:
        results = [
            measure_shape("panel", 625 // scale, all_rubrics, Path(tmp), 2 if args.quick else 5),
            measure_shape("items", 5000 // scale, ["sa-graded"], Path(tmp), 2 if args.quick else 5),
        ]
    text = json.dumps({"report_browser": results}, indent=2)
    if args.out:
        args.out.write_text(text + "\n", encoding="utf-8")
    print(text)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
