"""The annotation page (judge/annotate/) and labels files (judge/inputs/labels.py).

The browser test drives the real page in headless Chromium with the keyboard against the real
server (a child process), kills the server with SIGKILL part-way, starts it again, and checks the
page resumes where the annotator stopped and that the labels file holds every label given, once.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import urllib.error
import urllib.request
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import polars as pl
import pytest

from judge.annotate.server import TOKEN_HEADER, AnnotationServer
from judge.annotate.session import Session, order_ids
from judge.cli.main import main
from judge.core import paths
from judge.core.errors import DatasetError, InputError
from judge.inputs.dataset import open_dataset
from judge.inputs.labels import merge_labels, read_labels
from judge.inputs.rubrics import select
from judge.store.reader import read_run
from tests.chromium import DevTools, chromium_path, launch

ROOT = Path(__file__).resolve().parent.parent
ROWS = [
    {"id": f"i{k}", "task": ("news", "counselling")[k % 2], "model": f"writer-{k % 3}", "secret": f"by writer-{k % 3}",
     "source": f"Source {k}: three workers died when the scaffold collapsed.",
     "response": f"Response {k}: an incident occurred at a site."}
    for k in range(8)
]  # fmt: skip


def write(path: Path, rows: list[dict[str, Any]] = ROWS) -> Path:
    path.write_text("".join(json.dumps(r) + "\n" for r in rows), encoding="utf-8")
    return path


def session(tmp_path: Path, annotator: str = "alice", rubric: str = "sa-graded@2", **kw: Any) -> Session:
    (r,) = select(paths.rubrics_dir(), [rubric])
    data = tmp_path / "d.jsonl"
    if not data.exists():
        write(data)
    return Session(open_dataset(data), r, annotator, tmp_path / "labels.jsonl", **kw)


# ----------------------------------------------------------------------------- the session


def test_the_order_is_seeded_per_annotator_and_stable() -> None:
    ids = [f"i{k}" for k in range(50)]
    a, a_again, b = order_ids(ids, 0, "alice"), order_ids(list(reversed(ids)), 0, "alice"), order_ids(ids, 0, "bob")
    assert a == a_again and sorted(a) == sorted(ids)  # the file's order does not matter
    assert a != b and a != sorted(ids) and order_ids(ids, 1, "alice") != a


def test_items_are_shown_blind(tmp_path: Path) -> None:
    s = session(tmp_path)
    shown = s.item(0)
    assert set(shown) == {"position", "total", "task", "dimension", "source", "reference", "response", "label",
                          "labelled", "note", "amplification"}  # fmt: skip
    text = json.dumps([s.item(k) for k in range(len(ROWS))])
    assert "writer-" not in text and '"i1"' not in text  # neither the model, the metadata nor the id


def test_labels_resume_and_the_latest_wins(tmp_path: Path) -> None:
    s = session(tmp_path)
    s.record(0, 3, "too flat", 4.0)
    s.record(1, None, None, None)  # cannot judge: done, no label
    s.record(0, 2, None, 1.0)  # corrected
    again = session(tmp_path)
    assert again.done == 2 and again.resume_at() == 2
    assert again.item(0)["label"] == 2 and again.item(1)["labelled"] and again.item(1)["label"] is None
    assert session(tmp_path, annotator="bob").done == 0  # several annotators share one file
    lines = (tmp_path / "labels.jsonl").read_text().splitlines()
    assert len(lines) == 3 and json.loads(lines[0])["item_id"] == s.order[0]


def test_a_paper_rubric_is_refused(tmp_path: Path) -> None:
    with pytest.raises(InputError, match=r"ca-paper@\d+: a paper rubric with a binary scale.*--rubric ca-graded"):
        session(tmp_path, rubric="ca-paper")


@pytest.mark.parametrize(
    ("line", "message"),
    [
        pytest.param({"item_id": "i1", "mechanism": "sentiment", "annotator": "a", "label": 1}, "unknown mechanism",
                     id="mechanism"),
        pytest.param({"item_id": "i1", "mechanism": "sentiment_attenuation", "annotator": "a b", "label": 1},
                     "annotator 'a b' must be", id="annotator"),
        pytest.param({"item_id": "i1", "mechanism": "sentiment_attenuation", "annotator": "a__b", "label": 1},
                     "no '__'", id="double-underscore"),
        pytest.param({"item_id": "i1", "mechanism": "sentiment_attenuation", "annotator": "a", "label": 5},
                     "label must be an integer 0-4", id="range"),
        pytest.param({"item_id": "i1", "mechanism": "sentiment_attenuation", "annotator": "a", "label": 2.5},
                     "label must be an integer 0-4", id="fraction"),
        pytest.param({"item_id": "i1", "mechanism": "sentiment_attenuation", "annotator": "a"}, "missing field 'label'",
                     id="missing"),
    ],
)
def test_bad_labels_are_named(tmp_path: Path, line: dict[str, Any], message: str) -> None:
    path = tmp_path / "l.jsonl"
    path.write_text(json.dumps(line) + "\n")
    with pytest.raises(DatasetError, match=message):
        list(read_labels(path))


def test_a_torn_last_line_is_skipped_but_a_bad_middle_line_is_not(tmp_path: Path) -> None:
    good = json.dumps({"item_id": "i1", "mechanism": "sentiment_attenuation", "annotator": "a", "label": 1})
    path = tmp_path / "l.jsonl"
    path.write_text(good + "\n" + good[:20])
    assert len(list(read_labels(path))) == 1
    path.write_text(good[:20] + "\n" + good + "\n")
    with pytest.raises(DatasetError, match="line 1: not a JSON object"):
        list(read_labels(path))


# ----------------------------------------------------------------------------- the server


def _request(url: str, *, data: bytes | None = None, headers: dict[str, str] | None = None) -> tuple[int, Any]:
    req = urllib.request.Request(url, data=data, headers=headers or {}, method="POST" if data else "GET")
    try:
        with urllib.request.urlopen(req, timeout=10) as resp:
            return resp.status, json.loads(resp.read())
    except urllib.error.HTTPError as exc:
        return exc.code, json.loads(exc.read())


def test_the_server_is_loopback_only_and_wants_its_token(tmp_path: Path) -> None:
    import threading

    server = AnnotationServer(session(tmp_path))
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        assert server.server_address[0] == "127.0.0.1"
        base = server.url
        assert _request(base + "api/state") == (200, {"total": 8, "done": 0, "resume": 0})
        body = json.dumps({"position": 0, "label": 1}).encode()
        assert _request(base + "api/label", data=body)[0] == 403  # no token
        assert _request(base + "api/label", data=body, headers={TOKEN_HEADER: "guess"})[0] == 403
        assert _request(base + "api/state", headers={"Host": "attacker.example"})[0] == 403  # DNS rebinding
        status, state = _request(base + "api/label", data=body, headers={TOKEN_HEADER: server.token})
        assert status == 200 and state["done"] == 1
        bad = json.dumps({"position": 0, "label": 7}).encode()
        assert _request(base + "api/label", data=bad, headers={TOKEN_HEADER: server.token})[0] == 400
    finally:
        server.shutdown()
        server.server_close()


# ----------------------------------------------------------------------------- in the browser


class Annotating:
    """``empathy-judge annotate`` as a child process, as a user starts it."""

    def __init__(self, data: Path, labels: Path, annotator: str = "alice", rubric: str = "sa-graded@2") -> None:
        self.args = [sys.executable, "-m", "judge", "annotate", "--dataset", str(data), "--rubric", rubric,
                     "--annotator", annotator, "--labels", str(labels)]  # fmt: skip
        self.proc: subprocess.Popen[str] | None = None

    def start(self) -> str:
        env = {**os.environ, "PYTHONPATH": str(ROOT)}
        self.proc = subprocess.Popen(self.args, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=env)
        assert self.proc.stdout is not None
        for line in self.proc.stdout:
            if " open http://" in line:
                return line.split(" open ")[1].split()[0]
        raise AssertionError(f"annotate did not start: {self.proc.stderr.read() if self.proc.stderr else ''}")

    def kill(self) -> None:
        if self.proc is not None and self.proc.poll() is None:
            self.proc.send_signal(signal.SIGKILL)  # no clean-up, no flush: as a crash
            self.proc.wait(timeout=10)


@pytest.fixture
def browser(tmp_path: Path) -> Iterator[DevTools]:
    if chromium_path() is None:
        pytest.skip("Chromium is not installed (apt-get install chromium); the browser test needs it")
    pytest.importorskip("websockets", reason="the browser test talks to Chromium with the websockets package")
    with launch(tmp_path / "chromium-profile", loopback=True) as tools:
        yield tools


PROGRESS = "document.getElementById('progress').textContent"


def _label(browser: DevTools, key: str, item: int, done: int, then: str | None = None) -> None:
    """Press ``key`` (and ``then``, a two-sided rubric's amplification) on item ``item`` (1-based) and
    wait for the server's confirmation and the next item."""
    shown = "cannot judge" if key == "x" else key + (f"/{then}" if then is not None else "")
    browser.key(key)
    if then is not None:
        browser.key(then)
    browser.wait_until(f"document.getElementById('status').textContent === 'saved: item {item} = {shown}'")
    browser.wait_until(f"{PROGRESS} === '{done} of 8 labelled \u00b7 item {item + 1} of 8'")


def test_label_with_the_keyboard_kill_the_server_and_resume(browser: DevTools, tmp_path: Path) -> None:
    data, labels = write(tmp_path / "d.jsonl"), tmp_path / "alice.labels.jsonl"
    server = Annotating(data, labels)
    try:
        browser.open(server.start())
        browser.wait_until("document.querySelector('#item .an-texts') !== null")
        text = browser.evaluate("document.body.textContent")
        (one_sided,) = select(paths.rubrics_dir(), ["sa-graded@2"])
        for level in one_sided.scale["levels"].values():  # the rubric's level descriptors are on screen
            assert str(level) in text
        assert "writer-" not in text and "i0" not in text.split("empathy-judge annotate")[1]
        first = browser.evaluate("document.querySelector('#item .an-texts').textContent")
        _label(browser, "2", 1, 1)
        _label(browser, "4", 2, 2)
        browser.key("n")  # a note, then a label
        browser.call("Input.insertText", text="names no feeling")
        browser.key("Enter", code="Enter", text="")
        _label(browser, "0", 3, 3)
        _label(browser, "x", 4, 4)  # cannot judge
        browser.key("ArrowLeft", code="ArrowLeft", text="")  # back to item 4, then re-label it
        browser.wait_until(f"{PROGRESS}.endsWith('item 4 of 8')")
        _label(browser, "1", 4, 4)

        server.kill()  # mid-session, as a crash: the page must not count a label as saved
        browser.key("3")
        browser.wait_until("document.getElementById('status').textContent.startsWith('NOT saved')")
        assert browser.evaluate(f"{PROGRESS}.startsWith('4 of ')")

        browser.open(server.start())  # started again: the page resumes at the first item not done
        browser.wait_until(f"{PROGRESS}.endsWith('item 5 of 8')")
        browser.wait_until("document.querySelector('#item .an-texts') !== null")
        assert browser.evaluate(PROGRESS).startswith("4 of 8 labelled")
        assert browser.evaluate("document.querySelector('#item .an-texts').textContent") != first
        _label(browser, "3", 5, 5)
        # The only errors are the failed requests to the killed server, which the page reported.
        network = [e for e in browser.errors() if e.get("method") == "Log.entryAdded"
                   and e["params"]["entry"]["source"] == "network"]  # fmt: skip
        assert network and [e for e in browser.errors() if e not in network] == []
    finally:
        server.kill()

    records = [json.loads(line) for line in labels.read_text().splitlines()]
    assert [r["label"] for r in records] == [2, 4, 0, None, 1, 3]  # every label given, once, in order
    assert records[2]["note"] == "names no feeling" and records[3]["item_id"] == records[4]["item_id"]
    assert {r["annotator"] for r in records} == {"alice"} and {r["rubric"] for r in records} == {"sa-graded@2"}
    order = order_ids([r["id"] for r in ROWS], 0, "alice")
    assert [r["item_id"] for r in records] == [order[0], order[1], order[2], order[3], order[3], order[4]]
    final = {(lab.item_id, lab.annotator): lab.label for lab in read_labels(labels)}
    assert len({k for k in final}) == 5


def test_a_two_sided_rubric_takes_severity_then_amplification(browser: DevTools, tmp_path: Path) -> None:
    data, labels = write(tmp_path / "d.jsonl"), tmp_path / "bob.labels.jsonl"
    (two_sided,) = select(paths.rubrics_dir(), ["sa-graded@3"])
    assert two_sided.amplification, "graded v3 describes the amplification levels"
    server = Annotating(data, labels, annotator="bob", rubric="sa-graded@3")
    try:
        browser.open(server.start())
        browser.wait_until("document.querySelector('#item .an-texts') !== null")
        text = browser.evaluate("document.body.textContent")
        for level in two_sided.amplification["levels"].values():
            assert str(level) in text
        _label(browser, "3", 1, 1, then="1")
        browser.key("2")
        browser.key("Escape", code="Escape", text="")  # changed my mind: start the item again
        _label(browser, "0", 2, 2, then="4")
        _label(browser, "x", 3, 3)
    finally:
        server.kill()
    records = [json.loads(line) for line in labels.read_text().splitlines()]
    assert [(r["label"], r["amplification"]) for r in records] == [(3, 1), (0, 4), (None, None)]
    assert [lab.amplification for lab in read_labels(labels)] == [1, 4, None]


def test_a_two_sided_label_needs_its_amplification(tmp_path: Path) -> None:
    s = session(tmp_path, rubric="sa-graded@3")
    with pytest.raises(ValueError, match="two-sided"):
        s.record(0, 2, None, None)
    s.record(0, 2, None, None, amplification=0)
    assert session(tmp_path, rubric="sa-graded@3").item(0)["amplification"] == 0
    with pytest.raises(ValueError, match="no amplification scale"):
        session(tmp_path, rubric="sa-graded@2").record(1, 2, None, None, amplification=1)


# ----------------------------------------------------------------------------- merging


def test_merge_two_annotators_and_see_the_human_ceiling(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """Labels from the page (alice) and from a file written by another labelling pass (an AI pass, as
    CSV) become gold columns; the run's summary and report then show the pair beside the judges."""
    data = write(tmp_path / "d.jsonl")
    s = session(tmp_path)
    for position in range(len(ROWS)):
        s.record(position, position % 5, None, None)
    other = tmp_path / "ai-pass.csv"
    other.write_text("item_id,mechanism,annotator,label,note\n" + "".join(
        f"i{k},sentiment_attenuation,ai-pass-b,{(k + 1) % 5},\n" for k in range(8)))  # fmt: skip
    out = tmp_path / "labelled.jsonl"
    assert main(["labels", "merge", str(tmp_path / "labels.jsonl"), str(other), "--dataset", str(data),
                 "-o", str(out)]) == 0  # fmt: skip
    assert "gold_sentiment_attenuation__alice (8)" in capsys.readouterr().out
    merged = [json.loads(line) for line in out.read_text().splitlines()]
    assert [r["id"] for r in merged] == [r["id"] for r in ROWS] and merged[0]["secret"] == "by writer-0"
    assert {r["gold_sentiment_attenuation__ai-pass-b"] for r in merged} == {0, 1, 2, 3, 4}
    # Merging again into the merged file is refused unless asked; --replace rebuilds the column.
    assert main(["labels", "merge", str(other), "--dataset", str(out), "-o", str(tmp_path / "x.jsonl")]) == 2
    assert "already has column(s) gold_sentiment_attenuation__ai-pass-b" in capsys.readouterr().err
    run_dir = tmp_path / "run"
    assert main(["run", "--dataset", str(out), "--rubric", "sa-graded", "--run-dir", str(run_dir), "--quiet"]) == 0
    calibration = read_run(run_dir).summary.calibration  # type: ignore[union-attr]
    humans = [r for r in calibration if r["kind"] == "annotators"]
    assert [r["rater"] for r in humans] == ["ai-pass-b~alice"] and humans[0]["n"] == 8
    assert {r["kind"] for r in calibration} == {"annotators", "judge", "panel", "baseline"}
    page = (run_dir / "report.html").read_text(encoding="utf-8")
    assert "ai-pass-b~alice" in page and "annotator pair" in page


def test_merge_refuses_labels_for_items_it_does_not_have(tmp_path: Path) -> None:
    data = write(tmp_path / "d.jsonl")
    labels = tmp_path / "l.jsonl"
    labels.write_text(json.dumps({"item_id": "zz", "mechanism": "sentiment_attenuation", "annotator": "a",
                                  "label": 1}) + "\n")  # fmt: skip
    with pytest.raises(InputError, match=r"1 labelled item id\(s\) are not in the dataset: zz"):
        merge_labels(data, read_labels(labels), tmp_path / "o.jsonl")
    assert not (tmp_path / "o.jsonl").exists()


@pytest.mark.parametrize("suffix", [".csv", ".parquet", ".json"])
def test_merge_writes_the_output_format(tmp_path: Path, suffix: str) -> None:
    data = write(tmp_path / "d.jsonl")
    s = session(tmp_path)
    s.record(0, 3, "note", None)
    out = tmp_path / f"o{suffix}"
    merge_labels(data, read_labels(tmp_path / "labels.jsonl"), out)
    items = {i.id: i for i in open_dataset(out).items()}
    assert items[s.order[0]].gold == {"gold_sentiment_attenuation__alice": 3}
    assert items[s.order[0]].metadata["gold_note_sentiment_attenuation__alice"] == "note"
    if suffix == ".parquet":
        assert pl.read_parquet(out).height == len(ROWS)


def test_annotate_refuses_a_bad_annotator_name(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    data = write(tmp_path / "d.jsonl")
    assert main(["annotate", "--dataset", str(data), "--rubric", "sa-graded", "--annotator", "a__b"]) == 2
    assert "no '__'" in capsys.readouterr().err


def test_the_bundled_ai_labelling_passes_merge_into_the_realistic_set(tmp_path: Path) -> None:
    """judge/data/labels/ holds two labelling passes in the per-item form (one line per item, an
    object per mechanism with severity, amplification, abstain, note): they merge like the page's."""
    labels_dir = ROOT / "judge" / "data" / "labels"
    labels = [lab for name in ("labels-ai1.jsonl", "labels-ai2.jsonl") for lab in read_labels(labels_dir / name)]
    out = tmp_path / "realistic-labelled.jsonl"
    # the bundled file already holds these columns (tests/test_realistic_labels.py): rebuild them
    counts = merge_labels(ROOT / "judge" / "data" / "realistic.jsonl", labels, out, replace=True)
    assert set(counts) == {f"gold_{m}__{a}" for m in ("sentiment_attenuation", "granularity_mismatch",
                                                      "conflict_avoidance", "linguistic_distancing")
                           for a in ("ai1", "ai2")}  # fmt: skip
    items = list(open_dataset(out).items())
    assert len(items) == 180
    first = json.loads((labels_dir / "labels-ai1.jsonl").read_text().splitlines()[0])
    item = next(i for i in items if i.id == first["id"])
    for mechanism in ("sentiment_attenuation", "linguistic_distancing"):
        entry = first[mechanism]
        want = None if entry["abstain"] else entry["severity"]
        assert item.gold[f"gold_{mechanism}__ai1"] == want
        if entry["abstain"]:
            assert item.metadata[f"gold_note_{mechanism}__ai1"].startswith("abstained: ")
        else:
            # amplification labels are gold columns of their own (calibration's amplification scale)
            assert item.gold[f"amplification_{mechanism}__ai1"] == entry["amplification"]
