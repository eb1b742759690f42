"""report.html in a real browser: headless Chromium, driven over the DevTools Protocol.

A run with the offline judges writes report.html; Chromium opens it from the file with its
network cut off (proxy to a dead port, every host name unresolvable) and the test checks that the
page renders all its sections, that every chart has drawn marks, that the console stays free of
errors, and that the page asked for nothing but file: and data: URLs. A full-page screenshot is
kept under runs/browser-test/ for people (and CI artifacts) to look at.

Skipped, with the reason, when Chromium or the ``websockets`` package is missing. CI installs
Debian's ``chromium`` package (CI-NOTES.md).
"""

from __future__ import annotations

import base64
import json
import os
from collections.abc import Iterator
from pathlib import Path

import pytest

from judge.cli.main import main
from tests.chromium import DevTools, chromium_path, launch

REPO = Path(__file__).resolve().parent.parent
ARTIFACTS = REPO / "runs" / "browser-test"
SECTIONS = [
    "Run",
    "Severity: mechanism × dimension, per model under test",
    "Severity per mechanism, per model (95% CI)",
    "Severity and amplification, per model (95% CI)",
    "Paper metrics",
    "Inter-judge agreement per rubric",
    "Judge cards",
    "Score distributions per judge",
    "Calibration against gold labels",
    "How the raters err against gold",
    "Abstentions",
    "Most disputed items",
    "Items",
    "Invalid and error verdicts",
]


CHROMIUM = chromium_path()
pytestmark = pytest.mark.skipif(
    CHROMIUM is None, reason="Chromium is not installed (apt-get install chromium); the browser test needs it"
)

ITEMS = [
    ("n1", "news", "m-a", "Three workers were killed when the scaffold collapsed; one was crushed under steel beams.",
     "An incident occurred at a construction site.", 3),
    ("n2", "news", "m-b", "Three workers were killed when the scaffold collapsed; one was crushed under steel beams.",
     "Three workers died when scaffolding collapsed, one crushed beneath falling steel beams.", 0),
    ("c1", "counselling", "m-a", "My manager mocks me in every meeting and I dread Mondays. I feel humiliated.",
     "Try to stay positive and talk to HR. Things will get better!", 3),
    ("c2", "counselling", "m-b", "My manager mocks me in every meeting and I dread Mondays. I feel humiliated.",
     "Being mocked in every meeting sounds humiliating. What happens in those meetings?", 0),
    ("t1", "translation", "m-a", "我的心碎了，我哭了一整夜。",
     "The individual experienced some emotional difficulty.", 3),
    ("t2", "translation", "m-b", "我的心碎了，我哭了一整夜。", "My heart broke, and I cried all night long.", 0),
    ("w1", "workplace", "m-a", "I was fired by text message after ten years. I am furious and scared.",
     "Employment transitions are a normal part of career development.", 4),
    ("e1", "education", "m-b", "I failed my exam again and I feel like a total failure. I cried in the library.",
     "Failing again hurts, and crying in the library shows how much it matters to you. What happened?", 1),
    # Hostile text: must stay text in the item browser (its blob and its DOM).
    ("x1", "news", "m-b", "A fire killed two. </script><script>window.__pwned = 1</script> Families grieve.",
     "<img src=x onerror=\"window.__pwned = 2\"> An incident occurred.", 2),
]  # fmt: skip


def write_dataset(path: Path) -> Path:
    with path.open("w", encoding="utf-8") as fh:
        for item_id, task, model, source, response, gold in ITEMS:
            row = {"id": item_id, "task": task, "model": model, "source": source, "response": response}
            row.update({f"gold_{m}": gold for m in ("sentiment_attenuation", "conflict_avoidance")})
            fh.write(json.dumps(row, ensure_ascii=False) + "\n")
    return path


@pytest.fixture
def browser(tmp_path: Path) -> Iterator[DevTools]:
    pytest.importorskip("websockets", reason="the browser test talks to Chromium with the websockets package")
    with launch(tmp_path / "chromium-profile") as tools:
        yield tools


# CI can also point the test at a report it made (e.g. the default offline run's):
# EMPATHY_JUDGE_REPORT=runs/<id>/report.html. Then only the generic checks apply.
GIVEN_REPORT = os.environ.get("EMPATHY_JUDGE_REPORT")


@pytest.fixture(scope="module")
def report(tmp_path_factory: pytest.TempPathFactory) -> Path:
    if GIVEN_REPORT:
        return Path(GIVEN_REPORT).resolve()
    tmp = tmp_path_factory.mktemp("browser-run")
    run_dir = tmp / "run"
    code = main(["run", "--dataset", str(write_dataset(tmp / "data.jsonl")), "--run-dir", str(run_dir), "--quiet"])
    assert code == 0
    return run_dir / "report.html"


PAGE_FACTS = """(() => {
  const charts = Array.from(document.querySelectorAll('svg.chart')).map(svg => {
    const box = svg.getBoundingClientRect();
    return {w: box.width, h: box.height, marks: svg.querySelectorAll('path, rect, use, image').length,
            label: svg.getAttribute('aria-label')};
  });
  const sections = Array.from(document.querySelectorAll('section')).map(s => ({
    title: s.querySelector('h2').textContent, charts: s.querySelectorAll('svg.chart').length,
    tables: s.querySelectorAll('table').length, nodata: s.querySelectorAll('.nodata').length,
    cards: s.querySelectorAll('.card').length}));
  return {title: document.title, charts, sections,
          overflow: document.documentElement.scrollWidth - window.innerWidth};
})()"""


def test_report_in_headless_chromium(browser: DevTools, report: Path) -> None:
    for domain in ("Page", "Runtime", "Log", "Network"):
        browser.call(f"{domain}.enable")
    browser.call("Emulation.setDeviceMetricsOverride", width=1366, height=900, deviceScaleFactor=1, mobile=False)
    browser.call("Page.navigate", url=report.as_uri())
    browser.wait_for("Page.loadEventFired")
    facts = browser.evaluate(PAGE_FACTS)

    # 1. The page renders: every section is there, in order, and each shows content or says "no data".
    titles = [s["title"] for s in facts["sections"]]
    assert titles[: len(SECTIONS)] == SECTIONS
    for s in facts["sections"]:
        assert s["charts"] + s["tables"] + s["cards"] > 0 or s["nodata"] > 0, s
        assert not (s["charts"] and s["nodata"] and s["title"] != "Run"), f"empty chart beside 'no data': {s}"
    by_title = {s["title"]: s for s in facts["sections"]}
    for title in [*SECTIONS[1:4], *SECTIONS[5:10], "Items"]:
        assert by_title[title]["nodata"] == 0, f"{title}: expected data in this run"
    if not GIVEN_REPORT:
        assert by_title["Paper metrics"]["nodata"] == 0 and by_title["Paper metrics"]["charts"] == 1
        assert by_title["Invalid and error verdicts"]["nodata"] == 1  # offline judges never fail

    # 2. Plots exist and are non-empty: severity, paper metrics, agreement, histograms, calibration;
    # each with a visible box and drawn marks. (The heatmap is a table: one per rubric family.)
    assert len(facts["charts"]) >= 5
    for chart in facts["charts"]:
        assert chart["w"] > 100 and chart["h"] > 50, chart
        assert chart["marks"] >= 5, chart
    # readable on a laptop screen: nothing forces sideways scrolling of the page
    assert facts["overflow"] <= 1

    # Sortable tables sort: clicking the "items" header of the severity table orders that column.
    order = browser.evaluate("""(() => {
      const t = document.querySelector('#severity table.sortable');
      const col = Array.from(t.tHead.rows[0].cells).findIndex(th => th.textContent === 'mean [95% CI]');
      t.tHead.rows[0].cells[col].click();
      return Array.from(t.tBodies[0].rows).map(r => +r.cells[col].getAttribute('data-v'));
    })()""")
    assert order == sorted(order) and len(order) >= 4

    shot = browser.call("Page.captureScreenshot", format="png", captureBeyondViewport=True)
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    png = base64.b64decode(shot["data"])
    (ARTIFACTS / ("given-report.png" if GIVEN_REPORT else "report.png")).write_bytes(png)
    assert png[:8] == b"\x89PNG\r\n\x1a\n" and len(png) > 10_000

    # 3. No console errors, no uncaught exceptions, no CSP or network errors in the log.
    errors = [
        e for e in browser.events
        if e.get("method") == "Runtime.exceptionThrown"
        or (e.get("method") == "Runtime.consoleAPICalled" and e["params"]["type"] in ("error", "assert"))
        or (e.get("method") == "Log.entryAdded" and e["params"]["entry"]["level"] == "error")
    ]  # fmt: skip
    assert errors == []

    # 4. No request leaves the file: only the page itself and inline data: URLs.
    urls = [e["params"]["request"]["url"] for e in browser.events if e.get("method") == "Network.requestWillBeSent"]
    assert urls, "the DevTools network log saw no request at all; the check would prove nothing"
    assert [u for u in urls if not u.startswith(("file:", "data:"))] == []
    failed = [e["params"] for e in browser.events if e.get("method") == "Network.loadingFailed"]
    assert failed == []


def test_browser_catches_a_page_that_fetches(browser: DevTools, tmp_path: Path) -> None:
    """The checks above can fail: a page with a remote script and a console error is caught."""
    page = tmp_path / "bad.html"
    page.write_text(
        '<!DOCTYPE html><html><head><script src="https://cdn.example.com/x.js"></script></head>'
        "<body><script>console.error('boom')</script></body></html>",
        encoding="utf-8",
    )
    for domain in ("Page", "Runtime", "Network"):
        browser.call(f"{domain}.enable")
    browser.call("Page.navigate", url=page.as_uri())
    browser.wait_for("Page.loadEventFired")
    urls = [e["params"]["request"]["url"] for e in browser.events if e.get("method") == "Network.requestWillBeSent"]
    assert "https://cdn.example.com/x.js" in urls
    assert any(
        e.get("method") == "Runtime.consoleAPICalled" and e["params"]["type"] == "error" for e in browser.events
    )


def _expected_highlights(run_dir: Path, item_id: str, rubric: str) -> dict[str, str]:
    """What the item browser should mark for one item x rubric: per text, the characters covered by
    any judge's placed quote, in order (overlapping quotes merge into one run of marks)."""
    import polars as pl

    from judge.report.quotes import place
    from judge.store.items import read_items
    from judge.store.reader import read_run

    run = read_run(run_dir)
    items = read_items(run_dir, run.manifest.dataset.gold_columns)
    item = items.filter(pl.col("item_id") == item_id).row(0, named=True)
    covered: dict[str, set[int]] = {"source": set(), "reference": set(), "response": set()}
    rows = run.verdicts.filter((pl.col("item_id") == item_id) & (pl.col("rubric_id") == rubric))
    for verdict in rows["verdict"].to_list():
        for quote in json.loads(verdict).get("evidence", []):
            order = [("response", item["response"])] if quote["side"] == "response" else [
                ("reference", item["reference"]), ("source", item["source"])]  # fmt: skip
            where, spans = place(quote["quote"], order)
            for a, b in spans or []:
                covered[where or ""].update(range(a, b))
    return {name: "".join(item[name][p] for p in sorted(at)) for name, at in covered.items() if at}


BROWSER_STATE = """(() => {
  const rows = Array.from(document.querySelectorAll('#ib tr.unit'));
  return {count: document.querySelector('#ib .ib-count').textContent,
          rows: rows.map(r => Array.from(r.cells).map(c => c.textContent))};
})()"""


def _choose(browser: DevTools, name: str, value: str) -> None:
    browser.evaluate(f"""(() => {{ const el = document.querySelector('#ib [name="{name}"]');
      el.value = {json.dumps(value)}; el.dispatchEvent(new Event(el.tagName === 'INPUT' ? 'input' : 'change'));
    }})()""")


def test_item_browser_filters_searches_and_highlights_quotes(browser: DevTools, report: Path) -> None:
    if GIVEN_REPORT:
        pytest.skip("needs the test's own run (its items and verdicts)")
    browser.open(report.as_uri())
    start = browser.evaluate(BROWSER_STATE)
    n_items, n_rubrics = len(ITEMS), 8
    assert start["count"].startswith(f"{n_items * n_rubrics} of ") or "of" in start["count"]
    assert len(start["rows"]) == min(100, int(start["count"].split()[0]))

    # Filter: one model, one mechanism's graded rubric.
    from judge.store.reader import read_manifest

    sa = next(r.ref for r in read_manifest(report.parent).rubrics if r.id == "sa-graded")  # its latest version
    _choose(browser, "model", "m-a")
    _choose(browser, "rubric", sa)
    state = browser.evaluate(BROWSER_STATE)
    ids = sorted(row[0] for row in state["rows"])
    assert ids == sorted(i[0] for i in ITEMS if i[2] == "m-a") and {row[3] for row in state["rows"]} == {sa}
    assert all(row[1] == "m-a" for row in state["rows"])

    # Search narrows further (texts are searched, case-insensitively).
    _choose(browser, "q", "SCAFFOLD")
    state = browser.evaluate(BROWSER_STATE)
    assert [row[0] for row in state["rows"]] == ["n1"]
    assert state["rows"][0][7] == "3"  # the gold label of the row's mechanism

    # Open the item: its texts with every placed quote marked, each verdict with its rationale.
    browser.evaluate("document.querySelector('#ib tr.unit').click()")
    detail = browser.evaluate("""(() => {
      const d = document.querySelector('#ib tr.ib-detail');
      const boxes = {};
      d.querySelectorAll('.ib-texts > div').forEach(div => {
        const marks = Array.from(div.querySelectorAll('mark.q'));
        boxes[div.querySelector('h4').textContent] = marks.map(m => m.textContent).join('');
      });
      return {boxes, verdicts: Array.from(d.querySelectorAll('.ib-v')).map(v => v.textContent),
              titles: Array.from(d.querySelectorAll('mark.q')).map(m => m.title), text: d.textContent};
    })()""")
    expected = _expected_highlights(report.parent, "n1", "sa-graded")
    assert expected, "the offline judges quoted nothing: the check would prove nothing"
    assert {k: v for k, v in detail["boxes"].items() if v} == expected
    assert len(detail["verdicts"]) == 2 and all("offline/" in t for t in detail["titles"])
    assert "gold (0-4):" in detail["text"] and "sentiment attenuation: 3" in detail["text"]

    # Clear the filters: the disagreement filter keeps only items the judges disputed.
    for name in ("model", "rubric", "q"):
        _choose(browser, name, "")
    _choose(browser, "dispute", "disputed")
    disputed = browser.evaluate(BROWSER_STATE)
    assert all(float(row[5]) > 0 for row in disputed["rows"]) and disputed["rows"]

    # Hostile dataset text stays text: nothing ran, and it is shown as written.
    _choose(browser, "dispute", "")
    _choose(browser, "q", "onerror")
    browser.evaluate("document.querySelector('#ib tr.unit').click()")
    text = browser.evaluate("document.querySelector('#ib tr.ib-detail').textContent")
    assert '<img src=x onerror="window.__pwned = 2">' in text and "</script><script>" in text
    assert browser.evaluate("typeof window.__pwned") == "undefined"

    # The most disputed items link into the browser: the linked unit opens.
    link = browser.evaluate("""(() => { const a = document.querySelector('#disputed a[data-ib-open]');
      a.click(); return a.getAttribute('data-ib-open'); })()""")
    item_id, ref = link.split("\n")
    opened = browser.evaluate("""(() => { const row = document.querySelector('#ib tr.unit.open');
      return row && [row.cells[0].textContent, row.cells[3].textContent,
                     !!(row.nextSibling && row.nextSibling.classList.contains('ib-detail'))]; })()""")
    assert opened == [item_id, ref, True]
    assert browser.errors() == []
