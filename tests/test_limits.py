"""Rate limits: token buckets pace rpm/tpm; concurrency halves on sustained 429s and creeps back."""

from __future__ import annotations

import asyncio

import pytest

from judge.judging.limits import SUSTAINED_429, AdaptiveConcurrency, JudgeLimiter, TokenBucket


class Clock:
    def __init__(self) -> None:
        self.now = 100.0

    def __call__(self) -> float:
        return self.now


def test_bucket_allows_a_burst_then_paces_at_its_rate() -> None:
    clock = Clock()
    bucket = TokenBucket(rate=2.0, capacity=4.0, clock=clock)
    assert [bucket.reserve(1) for _ in range(4)] == [0.0, 0.0, 0.0, 0.0]
    # Debt queues later callers in order: the 5th waits 0.5 s, the 6th 1 s.
    assert bucket.reserve(1) == pytest.approx(0.5)
    assert bucket.reserve(1) == pytest.approx(1.0)
    clock.now += 10  # refills, but never past capacity
    assert bucket.reserve(4) == 0.0
    assert bucket.reserve(1) == pytest.approx(0.5)


def test_per_minute_bucket_and_give_back() -> None:
    clock = Clock()
    bucket = TokenBucket.per_minute(60)  # 1/s, 5 s burst
    assert bucket.rate == pytest.approx(1.0) and bucket.capacity == pytest.approx(5.0)
    tpm = TokenBucket(rate=100.0, capacity=1000.0, clock=clock)
    assert tpm.reserve(1000) == 0.0
    assert tpm.reserve(500) == pytest.approx(5.0)
    tpm.give_back(500)  # the reply used fewer tokens than estimated
    assert tpm.reserve(100) == pytest.approx(1.0)


def test_concurrency_halves_on_sustained_429_once_per_burst_then_recovers() -> None:
    clock = Clock()
    conc = AdaptiveConcurrency(8, clock=clock)
    conc.rate_limited()  # a single 429 is noise
    assert conc.limit == 8
    conc.succeeded()
    for _ in range(SUSTAINED_429):
        conc.rate_limited()
    assert conc.limit == 4
    for _ in range(10 * SUSTAINED_429):  # same burst, within the cool-down: no further halving
        conc.rate_limited()
    assert conc.limit == 4
    clock.now += 5
    for _ in range(SUSTAINED_429):
        conc.rate_limited()
    assert conc.limit == 2 and conc.decreases == 2
    # Additive increase: one step per `limit` successes in a row, up to the maximum.
    grown = []
    for _ in range(100):
        conc.succeeded()
        grown.append(conc.limit)
    assert grown[1] == 3 and max(grown) == 8 and grown[-1] == 8
    floor = AdaptiveConcurrency(1, clock=clock)
    for _ in range(5 * SUSTAINED_429):
        clock.now += 5
        floor.rate_limited()
    assert floor.limit == 1


async def peak_in_flight(limiter: JudgeLimiter, calls: int, hold_s: float, *, record: bool) -> int:
    """Run ``calls`` concurrent calls through the limiter; the most that held a slot at once."""
    peak = active = 0

    async def call() -> None:
        nonlocal peak, active
        async with limiter.slot(10):
            active += 1
            peak = max(peak, active)
            await asyncio.sleep(hold_s)
            active -= 1
        if record:
            limiter.record(rate_limited=False)

    await asyncio.gather(*(call() for _ in range(calls)))
    return peak


def test_limiter_bounds_requests_in_flight() -> None:
    assert asyncio.run(peak_in_flight(JudgeLimiter(3), 20, 0.01, record=True)) == 3


def test_limiter_lowered_by_429s_admits_fewer() -> None:
    limiter = JudgeLimiter(8)
    for _ in range(SUSTAINED_429):
        limiter.record(rate_limited=True, retry_after=60)
    assert asyncio.run(peak_in_flight(limiter, 12, 0.005, record=False)) == 4
