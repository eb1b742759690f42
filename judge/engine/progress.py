"""Live progress of a run, fed one verdict row at a time by the runner's ``on_row`` callback.

On a terminal: one line redrawn in place, with a bar, done/total, a count per status, calls per
second, spend (against the budget when there is one) and an ETA. Elsewhere (CI logs, files):
the same facts as a plain log line every ``interval_s`` seconds, so logs stay readable.
``--quiet`` means no Progress at all.
"""

from __future__ import annotations

import sys
import time
from collections import Counter, deque
from collections.abc import Callable
from typing import TextIO

from judge.core.records import VerdictRow
from judge.core.taxonomy import NOT_APPLICABLE, VERDICT_STATUSES

STATUSES = VERDICT_STATUSES


def _duration(seconds: float) -> str:
    whole = max(0, round(seconds))
    hours, rest = divmod(whole, 3600)
    minutes, secs = divmod(rest, 60)
    return f"{hours}h{minutes:02d}m" if hours else f"{minutes}m{secs:02d}s" if minutes else f"{secs}s"


class Progress:
    """Counts finished verdict rows and reports them; call :meth:`close` when the run ends."""

    def __init__(
        self,
        total: int,
        *,
        stream: TextIO | None = None,
        budget_usd: float | None = None,
        tty: bool | None = None,
        interval_s: float = 10.0,
        redraw_s: float = 0.1,
        width: int = 24,
        window_s: float = 60.0,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.total = max(0, total)
        self.stream = stream if stream is not None else sys.stderr
        self.budget_usd = budget_usd
        self.tty = self.stream.isatty() if tty is None else tty
        # A terminal can take frequent redraws; a log wants a line only now and then.
        self.every_s = redraw_s if self.tty else interval_s
        self.width = width
        self.clock = clock
        self.counts: Counter[str] = Counter()
        self.done = 0
        self.calls = 0  # rows that needed a judge call (not cached, not skipped)
        self.spent_usd = 0.0
        self.window_s = window_s
        # (time, rows done, calls) at each finished row, over the last window_s seconds: rate and
        # ETA follow the recent pace, not the start-up (imports, first connections) or an early
        # burst of rate limiting.
        self._samples: deque[tuple[float, int, int]] = deque()
        self.started = clock()
        self._last_emit = self.started
        self._closed = False

    def update(self, row: VerdictRow) -> None:
        self.done += 1
        # Counted as the final table counts them: a rubric that does not apply is not skipped work.
        not_applicable = row.status == "skipped" and (row.error or "").startswith(NOT_APPLICABLE)
        self.counts[NOT_APPLICABLE if not_applicable else row.status or "error"] += 1
        if row.status != "skipped" and not row.cached:
            self.calls += 1
        if row.cost_usd:
            self.spent_usd += row.cost_usd
        now = self.clock()
        self._samples.append((now, self.done, self.calls))
        while len(self._samples) > 2 and now - self._samples[0][0] > self.window_s:
            self._samples.popleft()
        if now - self._last_emit >= self.every_s:
            self._last_emit = now
            self._emit()

    __call__ = update

    def _pace(self, index: int) -> float | None:
        """Rows (index 1) or calls (index 2) per second over the recent window."""
        if len(self._samples) < 2:
            return None
        first, last = self._samples[0], self._samples[-1]
        span = last[0] - first[0]
        return (last[index] - first[index]) / span if span > 0 else None

    def rate(self) -> float:
        """Judge calls per second (cached and skipped rows are not calls)."""
        return self._pace(2) or 0.0

    def eta_s(self) -> float | None:
        if self.done >= self.total:
            return 0.0
        pace = self._pace(1)
        return (self.total - self.done) / pace if pace else None

    def spend(self) -> str:
        if self.budget_usd is None:
            return f"${self.spent_usd:.4f}"
        share = 100 * self.spent_usd / self.budget_usd if self.budget_usd > 0 else 0.0
        return f"${self.spent_usd:.4f}/${self.budget_usd:.2f} ({share:.0f}%)"

    def line(self) -> str:
        """The status line (without bar): done/total, statuses, calls/s, spend, ETA."""
        pct = 100 * self.done / self.total if self.total else 100.0
        statuses = " ".join(f"{s} {self.counts[s]}" for s in STATUSES if self.counts[s] or s == "ok")
        extra = sorted(set(self.counts) - set(STATUSES))
        if extra:
            statuses += " " + " ".join(f"{s} {self.counts[s]}" for s in extra)
        eta = self.eta_s()
        eta_text = "--" if eta is None else _duration(eta)
        return (
            f"{self.done}/{self.total} ({pct:.0f}%) | {statuses} | {self.rate():.1f} calls/s | "
            f"{self.spend()} | ETA {eta_text}"
        )

    def bar(self) -> str:
        filled = int(self.width * self.done / self.total) if self.total else self.width
        filled = min(self.width, filled)
        return "[" + "#" * filled + "." * (self.width - filled) + "]"

    def _emit(self) -> None:
        if self.tty:
            # \r returns to the line start, \x1b[K clears what a longer previous line left behind.
            self.stream.write(f"\r{self.bar()} {self.line()}\x1b[K")
        else:
            self.stream.write(f"empathy-judge: progress {self.line()}\n")
        self.stream.flush()

    def note(self, text: str) -> None:
        """A line of its own (a batch submitted or polled), then the status line again."""
        if self._closed:
            return
        if self.tty:
            self.stream.write(f"\r{text}\x1b[K\n")
            self.stream.write(f"{self.bar()} {self.line()}\x1b[K")
        else:
            self.stream.write(f"{text}\n")
        self.stream.flush()

    def close(self) -> None:
        """Draw the final state once, and end the redrawn line."""
        if self._closed:
            return
        self._closed = True
        self._emit()
        if self.tty:
            self.stream.write("\n")
            self.stream.flush()
