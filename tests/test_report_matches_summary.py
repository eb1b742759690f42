"""Every number report.html shows is the one in summary.json.

One real run through the CLI: the two offline judges plus a loopback judge that sometimes fails
(HTTP 500, malformed replies), two repeats, the bundled sample's gold labels, graded and paper
rubrics. Then, from the page alone: every numeric table cell and every number drawn into the
heatmap must name its source in summary.json (a JSON pointer in ``data-key``), carry the full
value (``data-value``) equal to the summary's, and show it correctly rounded.
"""

from __future__ import annotations

import hashlib
import json
import re
from decimal import Decimal
from html.parser import HTMLParser
from pathlib import Path
from typing import Any

import pytest

from judge.cli.main import main
from judge.core import paths
from tests.fakeserver import FakeServer, FaultPlan, minimal_instance, request_schema

RUBRICS = ("sa-graded", "ca-graded", "egm-graded", "sa-paper", "ca-paper", "ld-paper")
NUMBER = re.compile(r"[-−]?\d+(?:\.\d+)?(?:e[-+]?\d+)?")


class Numbers(HTMLParser):
    """Collects keyed values, numeric cells and heatmap notes of a report page."""

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.keyed: list[dict[str, Any]] = []  # key, value, scale, text
        self.cells: list[dict[str, Any]] = []  # a numeric <td>: its origin, keys inside, text
        self.notes: list[dict[str, Any]] = []  # an SVG group named "summary:<pointer>|<pointer>"
        self._open: list[tuple[str, dict[str, Any] | None]] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        a = dict(attrs)
        record: dict[str, Any] | None = None
        if "data-key" in a:
            record = {"key": a["data-key"], "value": a["data-value"], "scale": a.get("data-scale"), "text": ""}
            self.keyed.append(record)
            for _, cell in self._open:
                if cell is not None and "keys" in cell:
                    cell["keys"].append(a["data-key"])
        elif tag == "td" and "num" in (a.get("class") or "").split():
            record = {"from": a.get("data-from"), "keys": [], "text": ""}
            self.cells.append(record)
        elif tag == "g" and (a.get("id") or "").startswith("summary:"):
            record = {"keys": (a["id"] or "")[len("summary:") :].split("|"), "text": ""}
            self.notes.append(record)
        self._open.append((tag, record))

    def handle_endtag(self, tag: str) -> None:
        while self._open:
            open_tag, _ = self._open.pop()
            if open_tag == tag:
                break

    def handle_data(self, data: str) -> None:
        for _, record in self._open:
            if record is not None:
                record["text"] += data


def resolve(summary: Any, pointer: str) -> Any:
    value = summary
    for part in pointer.split("/")[1:]:
        part = part.replace("~1", "/").replace("~0", "~")
        value = value[int(part)] if isinstance(value, list) else value[part]
    return value


def shown_equals(text: str, value: float, scale: float = 1.0) -> bool:
    """The displayed number is ``value * scale`` rounded to the digits shown."""
    match = NUMBER.search(text)
    assert match, f"no number in {text!r}"
    shown = Decimal(match.group().replace("−", "-"))
    last_digit = Decimal(1).scaleb(shown.as_tuple().exponent)  # type: ignore[arg-type]
    return abs(float(shown) - value * scale) <= float(last_digit) / 2 + 1e-12


def reply(body: dict[str, Any]) -> dict[str, Any]:
    """A valid verdict whose graded severity depends on the item, so judges disagree."""
    schema = request_schema(body) or {}
    verdict = minimal_instance(schema)
    if "severity" in verdict:
        digest = hashlib.sha256(body["messages"][-1]["content"].encode()).digest()
        verdict["severity"] = digest[0] % 5
        if "amplification" in verdict:  # graded v3: the opposite error, and now and then an abstention
            verdict["amplification"] = digest[1] % 5
            verdict["abstain_reason"] = "the response is not an attempt at the task" if digest[2] % 9 == 0 else None
    return verdict


@pytest.fixture(scope="module")
def run_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    tmp = tmp_path_factory.mktemp("report-summary")
    with FakeServer(responder=reply, fault_plan=FaultPlan(p500=0.04, p_malformed=0.08, seed=5)) as server:
        config = tmp / "judges.yaml"
        config.write_text(
            "judges:\n  - model: offline/lexicon\n  - model: offline/structure\n"
            f"  - model: openai/flaky\n    api_base: {server.base_url}\n    max_attempts: 1\n",
            encoding="utf-8",
        )
        run = tmp / "run"
        args = ["run", "--config", str(config), "--dataset", str(paths.sample_dataset()), "--sample", "16",
                "--seed", "3", "--repeats", "2", "--run-dir", str(run), "--quiet", "--no-cache"]  # fmt: skip
        assert main([*args, *[a for r in RUBRICS for a in ("--rubric", r)]]) == 0
    return run


def test_every_number_on_the_page_is_summary_json(run_dir: Path) -> None:
    summary = json.loads((run_dir / "summary.json").read_text(encoding="utf-8"))
    page = Numbers()
    page.feed((run_dir / "report.html").read_text(encoding="utf-8"))

    # Every numeric cell says where its number comes from: summary.json, or the manifest's run facts.
    unsourced = [c["text"] for c in page.cells if not c["keys"] and c["from"] != "manifest"]
    assert unsourced == [], f"numeric cells without a source in summary.json: {unsourced[:10]}"

    wrong = []
    for k in page.keyed:
        expected = resolve(summary, k["key"])
        if json.loads(k["value"]) != expected:
            wrong.append(f"{k['key']}: data-value {k['value']} != summary {expected!r}")
        elif expected is None:
            if k["text"].strip() != "–":
                wrong.append(f"{k['key']}: null shown as {k['text']!r}")
        elif not shown_equals(k["text"], expected, float(k["scale"] or 1)):
            wrong.append(f"{k['key']}: shown {k['text']!r}, summary {expected!r}")
    for note in page.notes:
        shown = NUMBER.findall(note["text"])
        assert len(shown) == len(note["keys"]), note
        for text, key in zip(shown, note["keys"], strict=True):
            if not shown_equals(text, resolve(summary, key)):
                wrong.append(f"{key}: heatmap shows {text!r}, summary {resolve(summary, key)!r}")
    assert wrong == [], "\n".join(wrong[:20])

    # The page really shows each kind of number (so the checks above are not vacuous).
    keys = [k["key"] for k in page.keyed]
    for prefix in ("/counts/", "/cost_usd", "/scores_by_model_overall/", "/paper_metrics/rows/", "/agreement/",
                   "/judge_cards/", "/judges/", "/calibration/", "/disagreement/", "/problems/",
                   "/abstentions/"):  # fmt: skip
        assert any(k.startswith(prefix) for k in keys), f"the page shows nothing from {prefix}"
    for prefix in ("/scores_by_model/", "/scores/"):  # the heatmap: every cell's mean, CI and n
        for field in ("mean", "ci_low", "ci_high", "n_scored"):
            assert any(k.startswith(prefix) and k.endswith("/" + field) for k in keys), f"heatmap: {prefix}*/{field}"
    # the two-sided figures and the calibration views, each of them
    for pattern in (r"/scores_by_model(_overall)?/\d+/amplification_rate(_ci_low)?", r"/counts/not_applicable",
                    r"/calibration/\d+/length_bias(_high)?", r"/calibration/\d+/confusion/\d/\d",
                    r"/calibration/\d+/level_bias/\d", r"/calibration/\d+/confidence_bins/\d/mean_abs_error",
                    r"/judge_cards/\d+/(abstention_rate|unfound_quote_rate)"):  # fmt: skip
        assert any(re.fullmatch(pattern, k) for k in keys), f"the page shows nothing matching {pattern}"
    raters = {(r["kind"], r["rater"]) for r in summary["calibration"]}
    assert {("baseline", "constant"), ("baseline", "length"), ("baseline", "model")} <= raters
    kappa = [k for k in page.keyed if re.fullmatch(r"/calibration/\d+/kappa_w", k["key"])]
    assert len(kappa) == len(summary["calibration"]) > 0  # every calibration row, from the summary


def test_disputed_items_are_the_summarys_in_its_order(run_dir: Path) -> None:
    summary = json.loads((run_dir / "summary.json").read_text(encoding="utf-8"))
    page = (run_dir / "report.html").read_text(encoding="utf-8")
    body = re.search(r'<section id="disputed">(.*?)</section>', page, re.S)
    assert body
    shown = [int(i) for i in re.findall(r'data-key="/disagreement/(\d+)/range"', body.group(1))]
    assert shown == list(range(len(summary["disagreement"]))) and shown
    ranked = [(f"{r['rubric_id']}@{r['rubric_version']}", r["item_id"]) for r in summary["disagreement"]]
    cells = re.findall(r"<td>([^<]*)</td><td>([^<(]*) \(", body.group(1))
    assert [(rubric, item) for rubric, item in cells] == ranked


def test_the_item_browsers_numbers_are_the_summarys(run_dir: Path) -> None:
    """The item browser's numbers (in its inline JSON) are the stats layer's: for every disputed item
    of summary.json, the browser's range and each judge's item score are the summary's."""
    summary = json.loads((run_dir / "summary.json").read_text(encoding="utf-8"))
    page = (run_dir / "report.html").read_text(encoding="utf-8")
    match = re.search(r'<script type="application/json" id="ib-data">(.*?)</script>', page, re.S)
    assert match
    data = json.loads(match.group(1))
    refs = [r["ref"] for r in data["rubrics"]]
    units = {(data["items"][u[0]][0], refs[u[1]]): u for u in data["units"]}
    assert summary["disagreement"]
    for row in summary["disagreement"]:
        unit = units[(row["item_id"], f"{row['rubric_id']}@{row['rubric_version']}")]
        assert unit[3] == pytest.approx(row["range"], abs=1e-12)
        shown = {data["judges"][j]: score for j, score in unit[6]}
        assert shown == pytest.approx({j["judge"]: j["score"] for j in row["judges"]}, abs=1e-12)
    # every verdict of the run is in the browser, once
    assert sum(len(u[5]) for u in data["units"]) == summary["counts"]["total"]
