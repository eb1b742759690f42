"""Live progress: the redrawn terminal line, periodic log lines, spend against budget, ETA."""

from __future__ import annotations

import io
from typing import Any

from judge.core.records import VerdictRow
from judge.engine.progress import Progress


def row(**fields: Any) -> VerdictRow:
    base = VerdictRow("i", "news", "m", None, "r", 1, "h", "p", "graded", "sentiment_attenuation", "cognitive",
                      "j", "jh", 0)
    for name, value in fields.items():
        setattr(base, name, value)
    return base


class Clock:
    def __init__(self) -> None:
        self.t = 100.0

    def __call__(self) -> float:
        return self.t


class Tty(io.StringIO):
    def isatty(self) -> bool:
        return True


def test_log_lines_every_interval_when_not_a_terminal() -> None:
    out, clock = io.StringIO(), Clock()
    p = Progress(10, stream=out, interval_s=5, clock=clock)
    assert not p.tty
    for k in range(4):
        clock.t += 2.0  # a row every 2 s: a line at 6 s (k=2), not before
        p.update(row(status="ok" if k != 1 else "invalid", cost_usd=0.01))
    lines = out.getvalue().splitlines()
    assert len(lines) == 1
    assert lines[0].startswith("empathy-judge: progress 3/10 (30%)")
    assert "ok 2 invalid 1" in lines[0] and "0.5 calls/s" in lines[0] and "$0.0300" in lines[0]
    assert "ETA 14s" in lines[0]  # 7 left at 2 s each
    p.close()
    assert out.getvalue().splitlines()[-1].startswith("empathy-judge: progress 4/10 (40%)")
    assert "\r" not in out.getvalue() and "\x1b" not in out.getvalue()


def test_terminal_line_is_redrawn_with_a_bar_and_budget() -> None:
    out, clock = Tty(), Clock()
    p = Progress(4, stream=out, budget_usd=1.0, clock=clock, width=8)
    assert p.tty
    for status in ("ok", "error", "skipped", "ok"):
        clock.t += 1.0
        p.update(row(status=status, cost_usd=0.25 if status == "ok" else None, cached=False))
    p.close()
    text = out.getvalue()
    assert text.count("\r") == 5 and text.endswith("\n")
    final = text.rstrip("\n").split("\r")[-1]
    assert final.startswith("[########] 4/4 (100%)")
    assert "ok 2 error 1 skipped 1" in final
    assert "$0.5000/$1.00 (50%)" in final
    assert "0.7 calls/s" in final  # the skipped row made no call: 2 calls between the 1st and 4th rows, 3 s
    assert "ETA 0s" in final


def test_cached_rows_are_not_calls_and_empty_plan_is_done() -> None:
    clock = Clock()
    p = Progress(0, stream=io.StringIO(), clock=clock)
    clock.t += 1
    p.update(row(status="ok", cached=True))
    assert p.calls == 0 and p.rate() == 0.0
    assert "(100%)" in p.line() and p.bar() == "[" + "#" * p.width + "]"


def test_rate_follows_the_recent_window_not_the_start_up() -> None:
    out, clock = io.StringIO(), Clock()
    p = Progress(1000, stream=out, clock=clock, window_s=10)
    clock.t += 30  # slow start-up: imports, first connection
    for _ in range(100):
        clock.t += 0.5  # then two rows a second
        p.update(row(status="ok"))
    assert p.rate() == 2.0
    assert p.eta_s() == 450.0  # 900 rows left at 2 per second


def test_not_applicable_rows_are_counted_apart_from_skipped_work() -> None:
    """As in the final table: 'skipped 0 ... not applicable 2', not 'skipped 2' live."""
    p = Progress(4, stream=io.StringIO(), clock=Clock())
    p.update(row(status="skipped", error="not applicable: conflict avoidance applies to counselling"))
    p.update(row(status="skipped", error="not applicable: other dimension"))
    p.update(row(status="skipped", error="budget exhausted"))
    p.update(row(status="ok"))
    line = p.line()
    assert "skipped 1" in line and "not applicable 2" in line and p.calls == 1
