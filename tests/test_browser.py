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
import itertools
import json
import os
import shutil
import subprocess
import time
import urllib.request
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from judge.cli.main import main

REPO = Path(__file__).resolve().parent.parent
ARTIFACTS = REPO / "runs" / "browser-test"
SECTIONS = [
    "Run",
    "Severity: mechanism × dimension, per model under test",
    "Severity per mechanism, per model (95% CI)",
    "Paper metrics",
    "Inter-judge agreement per rubric",
    "Judge cards",
    "Score distributions per judge",
    "Calibration against gold labels",
    "Most disputed items",
    "Invalid and error verdicts",
]


def chromium_path() -> str | None:
    for name in ("chromium", "chromium-browser", "google-chrome"):
        found = shutil.which(name)
        if found:
            return found
    return None


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
]  # fmt: skip


def write_dataset(path: Path) -> Path:
    with path.open("w", encoding="utf-8") as fh:
        for item_id, task, model, source, response, gold in ITEMS:
            row = {"id": item_id, "task": task, "model": model, "source": source, "response": response}
            row.update({f"gold_{m}": gold for m in ("sentiment_attenuation", "conflict_avoidance")})
            fh.write(json.dumps(row, ensure_ascii=False) + "\n")
    return path


class DevTools:
    """A minimal Chrome DevTools Protocol client over one page's websocket."""

    def __init__(self, ws: Any) -> None:
        self.ws = ws
        self.ids = itertools.count(1)
        self.events: list[dict[str, Any]] = []

    def call(self, method: str, **params: Any) -> dict[str, Any]:
        msg_id = next(self.ids)
        self.ws.send(json.dumps({"id": msg_id, "method": method, "params": params}))
        while True:
            msg = json.loads(self.ws.recv(timeout=30))
            if msg.get("id") == msg_id:
                if "error" in msg:
                    raise RuntimeError(f"{method}: {msg['error']}")
                return msg.get("result", {})
            self.events.append(msg)

    def wait_for(self, method: str, timeout: float = 30) -> dict[str, Any]:
        for event in self.events:
            if event.get("method") == method:
                return event
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            msg = json.loads(self.ws.recv(timeout=max(0.1, deadline - time.monotonic())))
            self.events.append(msg)
            if msg.get("method") == method:
                return msg
        raise TimeoutError(method)

    def evaluate(self, expression: str) -> Any:
        result = self.call("Runtime.evaluate", expression=expression, returnByValue=True, awaitPromise=True)
        if "exceptionDetails" in result:
            raise RuntimeError(f"page script failed: {result['exceptionDetails']}")
        return result["result"].get("value")


@pytest.fixture
def browser(tmp_path: Path) -> Iterator[DevTools]:
    pytest.importorskip("websockets", reason="the browser test talks to Chromium with the websockets package")
    profile = tmp_path / "chromium-profile"
    args = [
        str(CHROMIUM), "--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
        "--disable-component-update", "--disable-sync", "--no-first-run", "--disable-extensions",
        "--disable-default-apps", "--mute-audio", f"--user-data-dir={profile}", "--remote-debugging-port=0",
        # Networking off for the page: any proxied request fails, and no host name resolves.
        "--proxy-server=http://127.0.0.1:9", "--host-resolver-rules=MAP * ~NOTFOUND",
        "--window-size=1366,900", "about:blank",
    ]  # fmt: skip
    proc = subprocess.Popen(args, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        port_file = profile / "DevToolsActivePort"
        deadline = time.monotonic() + 30
        while not (port_file.exists() and port_file.read_text().strip()):
            if proc.poll() is not None or time.monotonic() > deadline:
                pytest.fail(f"Chromium did not start (exit code {proc.poll()})")
            time.sleep(0.05)
        port = int(port_file.read_text().split()[0])
        with urllib.request.urlopen(f"http://127.0.0.1:{port}/json/list", timeout=10) as resp:
            targets = json.load(resp)
        page = next(t for t in targets if t.get("type") == "page")
        from websockets.sync.client import connect

        with connect(page["webSocketDebuggerUrl"], max_size=None, open_timeout=10) as ws:
            yield DevTools(ws)
    finally:
        proc.terminate()
        try:
            proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()


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
    for title in SECTIONS[1:3] + SECTIONS[4:8]:
        assert by_title[title]["nodata"] == 0, f"{title}: expected data in this run"
    if not GIVEN_REPORT:
        assert by_title["Paper metrics"]["nodata"] == 0 and by_title["Paper metrics"]["charts"] == 1
        assert by_title["Invalid and error verdicts"]["nodata"] == 1  # offline judges never fail

    # 2. Plots exist and are non-empty: a heatmap per model (2), severity, agreement, histograms,
    # calibration; each with a visible box and drawn marks.
    assert len(facts["charts"]) >= 6
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
