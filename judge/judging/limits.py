"""Rate limits per judge: token buckets for rpm and tpm, and adaptive concurrency.

Every HTTP request a judge makes (retries included) passes through its ``JudgeLimiter``:

- ``max_concurrency`` bounds requests in flight. Under sustained 429s (several with no success
  between them) the bound is halved, at most once per cool-down window so one burst of
  concurrent 429s counts once; it is then raised by one
  after every ``limit`` successes in a row: additive increase, multiplicative decrease, so a run
  against a busy provider converges on what it accepts instead of hammering it.
- ``rpm`` and ``tpm`` are token buckets of our own (LiteLLM's Router limits were measured as
  unreliable; see shared/notes/litellm.md). A request reserves its tokens before it is sent; the
  balance may go negative, and a later request then waits until it is paid back, which keeps
  requests in arrival order without a lock.

Retry sleeps happen outside a slot, so a request backing off does not hold concurrency.
"""

from __future__ import annotations

import asyncio
import time
from collections import deque
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

# Token buckets hold this many seconds of their rate, so a run may start with a short burst.
BURST_S = 5.0
# Concurrency is halved after this many 429s with no success between them ("sustained": one
# random 429 in a busy minute is noise), and at most once per cool-down (or the Retry-After).
SUSTAINED_429 = 3
DECREASE_COOLDOWN_S = 1.0


class TokenBucket:
    """``rate`` tokens per second, holding at most ``capacity``; ``take`` waits for its share."""

    def __init__(self, rate: float, capacity: float, *, clock: Any = time.monotonic) -> None:
        if rate <= 0 or capacity <= 0:
            raise ValueError("a token bucket needs a positive rate and capacity")
        self.rate = rate
        self.capacity = capacity
        self._clock = clock
        self._tokens = capacity
        self._updated = clock()

    @classmethod
    def per_minute(cls, per_minute: float) -> TokenBucket:
        rate = per_minute / 60.0
        return cls(rate, max(1.0, rate * BURST_S))

    def _refill(self) -> None:
        now = self._clock()
        self._tokens = min(self.capacity, self._tokens + (now - self._updated) * self.rate)
        self._updated = now

    def reserve(self, n: float) -> float:
        """Take ``n`` tokens now (possibly into debt); return how long to wait before using them."""
        self._refill()
        self._tokens -= n
        return 0.0 if self._tokens >= 0 else -self._tokens / self.rate

    async def take(self, n: float = 1.0) -> None:
        delay = self.reserve(n)
        if delay > 0:
            await asyncio.sleep(delay)

    def give_back(self, n: float) -> None:
        """Return over-reserved tokens (or take more when ``n`` is negative)."""
        self._refill()
        self._tokens = min(self.capacity, self._tokens + n)


class AdaptiveConcurrency:
    """A semaphore whose size moves between 1 and ``maximum`` with the provider's 429s."""

    def __init__(self, maximum: int, *, clock: Any = time.monotonic) -> None:
        self.maximum = maximum
        self.limit = maximum
        self.in_flight = 0
        self.decreases = 0
        self._clock = clock
        self._successes = 0
        self._streak = 0
        self._quiet_until = 0.0
        self._waiters: deque[asyncio.Future[None]] = deque()

    async def acquire(self) -> None:
        while self.in_flight >= self.limit:
            future = asyncio.get_running_loop().create_future()
            self._waiters.append(future)
            try:
                await future
            finally:
                if future in self._waiters:
                    self._waiters.remove(future)
        self.in_flight += 1

    def release(self) -> None:
        self.in_flight -= 1
        self._wake()

    def _wake(self) -> None:
        free = self.limit - self.in_flight
        for future in list(self._waiters)[: max(0, free)]:
            if not future.done():
                future.set_result(None)

    def rate_limited(self, retry_after: float | None = None) -> None:
        now = self._clock()
        self._successes = 0
        self._streak += 1
        if self._streak < SUSTAINED_429 or now < self._quiet_until:
            return  # noise, or part of a burst already halved for
        self._streak = 0
        self.limit = max(1, self.limit // 2)
        self.decreases += 1
        self._quiet_until = now + max(DECREASE_COOLDOWN_S, retry_after or 0.0)

    def succeeded(self) -> bool:
        """Count a success; True when the limit grew by one."""
        self._streak = 0
        if self.limit >= self.maximum:
            return False
        self._successes += 1
        if self._successes >= self.limit:
            self._successes = 0
            self.limit += 1
            self._wake()
            return True
        return False


class JudgeLimiter:
    """Concurrency, rpm and tpm for one judge (see the module docstring)."""

    def __init__(self, max_concurrency: int, *, rpm: float | None = None, tpm: float | None = None) -> None:
        self.concurrency = AdaptiveConcurrency(max_concurrency)
        self.requests = TokenBucket.per_minute(rpm) if rpm else None
        self.tokens = TokenBucket.per_minute(tpm) if tpm else None

    @classmethod
    def for_config(cls, cfg: Any) -> JudgeLimiter:
        return cls(cfg.max_concurrency, rpm=cfg.rpm, tpm=cfg.tpm)

    @asynccontextmanager
    async def slot(self, estimated_tokens: int) -> AsyncIterator[None]:
        await self.concurrency.acquire()
        try:
            if self.requests is not None:
                await self.requests.take(1)
            if self.tokens is not None:
                # A prompt larger than the whole bucket still goes, after the bucket fills once.
                await self.tokens.take(min(float(estimated_tokens), self.tokens.capacity))
            yield
        finally:
            self.concurrency.release()

    def record(self, *, rate_limited: bool, retry_after: float | None = None) -> None:
        if rate_limited:
            self.concurrency.rate_limited(retry_after)
        else:
            self.concurrency.succeeded()

    def settle(self, estimated_tokens: int, actual_tokens: int) -> None:
        """Correct the tpm bucket once a reply reports its real usage."""
        if self.tokens is not None:
            self.tokens.give_back(min(float(estimated_tokens), self.tokens.capacity) - actual_tokens)
