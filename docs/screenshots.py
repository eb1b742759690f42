"""Screenshots for the README, taken with headless Chromium (tests/chromium.py): the report's item
browser and heatmap, and the annotation page.

    python docs/screenshots.py            # writes docs/img/item-browser.png, heatmap.png, annotate.png

Runs the default offline run on the bundled sample set into a temporary folder, opens its
report.html, opens one disputed item in the item browser, and captures it; then starts
``empathy-judge annotate`` on the sample set with a throwaway labels file, labels one item and
captures the page. PNGs are kept small (a clipped region, 8-bit palette when Pillow is there).
"""

from __future__ import annotations

import io
import os
import subprocess
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from tests.chromium import DevTools, launch  # noqa: E402

OUT = ROOT / "docs" / "img"
WIDTH = 1280


def _small(png: bytes) -> bytes:
    """A palette PNG when Pillow is installed (a third of the size), else the PNG as taken."""
    try:
        from PIL import Image
    except ImportError:
        return png
    image = Image.open(io.BytesIO(png)).convert("RGB").quantize(colors=128)
    out = io.BytesIO()
    image.save(out, format="PNG", optimize=True)
    return out.getvalue()


def _shoot(browser: DevTools, selector: str, path: Path, height: int) -> None:
    # A full-page capture drops the scrollbar, which re-wraps the text above: measure without it.
    browser.call("Emulation.setScrollbarsHidden", hidden=True)
    top = browser.evaluate(f"document.querySelector({selector!r}).getBoundingClientRect().top + window.scrollY")
    png = browser.screenshot(path, clip={"x": 0, "y": max(top - 8, 0), "width": WIDTH, "height": height})
    path.write_bytes(_small(png))
    print(f"wrote {path} ({path.stat().st_size // 1024} KiB)")


def report_shots(browser: DevTools, tmp: Path) -> None:
    run_dir = tmp / "run"
    subprocess.run([sys.executable, "-m", "judge", "run", "--run-dir", str(run_dir), "--quiet"], cwd=ROOT,
                   check=True, capture_output=True)  # fmt: skip
    browser.open((run_dir / "report.html").as_uri())
    _shoot(browser, "#heatmap", OUT / "heatmap.png", 640)
    # One disputed item opened in the browser, filtered to a graded rubric so quotes are marked.
    browser.evaluate("""(() => {
      const set = (name, value) => { const el = document.querySelector('#ib [name="' + name + '"]');
        el.value = value; el.dispatchEvent(new Event(el.tagName === 'INPUT' ? 'input' : 'change')); };
      const rubric = Array.from(document.querySelectorAll('#ib [name="rubric"] option'))
        .map(o => o.value).filter(v => v.startsWith('sa-graded@')).pop();
      set('rubric', rubric); set('model', 'sim-aligned'); set('q', 'counselling');
      document.querySelector('#ib tr.unit').click();
    })()""")
    _shoot(browser, "#items", OUT / "item-browser.png", 980)


def annotate_shot(browser: DevTools, tmp: Path) -> None:
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    args = [sys.executable, "-m", "judge", "annotate", "--dataset", str(ROOT / "judge" / "data" / "sample.jsonl"),
            "--rubric", "sa-graded", "--annotator", "demo", "--labels", str(tmp / "demo.labels.jsonl")]  # fmt: skip
    proc = subprocess.Popen(args, stdout=subprocess.PIPE, text=True, env=env)
    try:
        assert proc.stdout is not None
        url = next(line.split(" open ")[1].split()[0] for line in proc.stdout if " open http" in line)
        browser.open(url)
        browser.wait_until("document.querySelector('#item .an-texts') !== null")
        browser.key("2")  # severity, then (graded v3 is two-sided) the amplification
        browser.key("0")
        browser.wait_until("document.getElementById('status').textContent.startsWith('saved')")
        browser.wait_until("document.querySelector('#item .an-texts') !== null")
        _shoot(browser, "h1", OUT / "annotate.png", 760)
    finally:
        proc.terminate()
        proc.wait(timeout=10)


def main() -> int:
    OUT.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory() as tmp, launch(Path(tmp) / "profile", width=WIDTH, height=1000,
                                                      loopback=True) as browser:  # fmt: skip
        report_shots(browser, Path(tmp))
        annotate_shot(browser, Path(tmp))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
